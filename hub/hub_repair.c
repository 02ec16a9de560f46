/*
 * The repair commands: one store call each; the report goes to stdout (one
 * line per change or problem, then a summary), the exit code says whether
 * the database keeps the rules.
 */
#include "hub_repair.h"

#include <inttypes.h>
#include <stdio.h>

#include "hub_log.h"
#include "store_sync.h"

static void
finish(hub_t *hub, int code)
{
    hub->exit_code = code;
    uv_stop(hub->loop);
}

static void
on_synced(void *ud, const store_change_t *ch, size_t n, const char *err)
{
    hub_t *hub = ud;

    if (err != NULL) {
        fprintf(stderr, "chathub sync-parents: %s\n", err);
        finish(hub, 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        printf("added parent=%" PRId64 " room=%" PRId64 "\n", ch[i].user_id, ch[i].room_id);
    }
    printf("sync-parents: %zu added\n", n);
    fflush(stdout);
    finish(hub, 0);
}

void
hub_repair_sync_parents(hub_t *hub)
{
    hub_open_store(hub);
    if (store_sync_parents(hub->store, on_synced, hub) < 0) {
        finish(hub, 1);
    }
}

static void
on_checked(void *ud, const store_problem_t *p, size_t n, const char *err)
{
    hub_t *hub = ud;

    if (err != NULL) {
        fprintf(stderr, "chathub check: %s\n", err);
        finish(hub, 2);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s room=%" PRId64 " %s\n", p[i].problem, p[i].room_id,
               p[i].detail != NULL ? p[i].detail : "");
    }
    printf("check: %zu problem%s\n", n, n == 1 ? "" : "s");
    fflush(stdout);
    finish(hub, n == 0 ? 0 : 1);
}

void
hub_repair_check(hub_t *hub)
{
    hub_open_store(hub);
    if (store_check(hub->store, on_checked, hub) < 0) {
        finish(hub, 2);
    }
}
