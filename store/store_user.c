/*
 * Users as the platform pushes them: one idempotent upsert.
 */
#include "store_user.h"

#include <stdlib.h>

#include "store_internal.h"
#include "xalloc.h"

typedef struct user_ctx {
    store_done_cb cb;
    void *ud;
} user_ctx_t;

static void
on_upsert(void *ctx, const PGresult *res, const char *err)
{
    user_ctx_t *c = ctx;

    (void)res;
    c->cb(c->ud, err);
    free(c);
}

int
store_user_upsert(store_t *st, int64_t id, const char *full_name, const char *role, bool is_active,
                  store_done_cb cb, void *ud)
{
    char sid[24];
    const char *params[] = {store_i64_str(sid, sizeof(sid), id), full_name, role,
                            is_active ? "true" : "false"};
    user_ctx_t *c = xmalloc(sizeof(*c));
    int rc;

    c->cb = cb;
    c->ud = ud;
    /* The schema's CHECKs refuse unknown roles and ids out of range (store_err_invalid). */
    rc = full_name == NULL || role == NULL
             ? store_fail(st, on_upsert, c, store_err_invalid)
             : store_query(st, -1,
                           "INSERT INTO users (id, full_name, role, is_active) "
                           "VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, "
                           "role = EXCLUDED.role, is_active = EXCLUDED.is_active, "
                           "updated_at = now()",
                           4, params, on_upsert, c);
    if (rc < 0) {
        free(c);
        return -1;
    }
    return 0;
}
