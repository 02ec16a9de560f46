/*
 * The schema check (hub_schema.h): the highest version applied against the
 * highest this binary knows. An older binary on a newer schema is the
 * normal middle of a rolling upgrade (migrate first, then replace the
 * nodes), so only a schema behind the binary fails /ready; a schema ahead
 * of it (that middle, or a rollback) is one warning, so that an operator
 * who rolled back knows the database did not.
 */
#include "hub_schema.h"

#include <stdlib.h>

#include "hub_log.h"
#include "store_migrate.h"
#include "xalloc.h"

typedef struct schema_ask {
    hub_t *hub;
    hub_schema_cb cb;
    void *ud;
} schema_ask_t;

static bool
store_down(const char *err)
{
    return err == store_err_unavailable || err == store_err_timeout || err == store_err_shutdown;
}

static void
on_version(void *ud, int have, bool read_only, const char *err)
{
    schema_ask_t *a = ud;
    hub_t *hub = a->hub;
    int want = store_schema_latest();

    if (!store_down(err)) {
        /* Any other error: no schema_migrations table, nothing migrated. */
        bool behind = err != NULL || have < want;
        if (behind && !hub->schema_behind) {
            log_error("store.schema_behind", "have=%d want=%d hint=\"run chathub migrate\"", have,
                      want);
        } else if (!behind && hub->schema_behind) {
            log_info("store.schema_ok", "have=%d", have);
        }
        hub->schema_behind = behind;
        if (err == NULL && have > want && !hub->schema_ahead) {
            log_warn("store.schema_ahead",
                     "have=%d know=%d hint=\"a newer release migrated the database; this node "
                     "runs as before, roll forward to finish\"",
                     have, want);
        }
        hub->schema_ahead = err == NULL && have > want;
        if (read_only != hub->store_read_only) {
            if (read_only) {
                log_error("store.read_only",
                          "hint=\"a standby, or default_transaction_read_only: every send is "
                          "unavailable until a primary takes writes\"");
            } else {
                log_info("store.writable", "have=%d", have);
            }
        }
        hub->store_read_only = read_only;
    }
    if (a->cb != NULL) {
        a->cb(hub, a->ud, store_down(err) ? err : NULL, hub->schema_behind);
    }
    free(a);
}

void
hub_schema_check(hub_t *hub, hub_schema_cb cb, void *ud)
{
    schema_ask_t *a = xmalloc(sizeof(*a));

    *a = (schema_ask_t){hub, cb, ud};
    if (store_schema_version(hub->store, on_version, a) < 0) {
        on_version(a, 0, false, store_err_unavailable);
    }
}
