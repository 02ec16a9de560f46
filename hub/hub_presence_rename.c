/*
 * A rename reaching presence (hub_presence_rename in hub_presence.h): each
 * entry of a renamed user takes the new JSON, shared by all of that user's
 * entries, and Redis's copy, which a reaper's leaves carry, is written too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hub_map.h"
#include "hub_presence.h"
#include "hub_presence_eval.h"
#include "hub_presence_lua.h"
#include "hub_presence_user.h"
#include "proto_num.h"
#include "xalloc.h"

typedef struct renaming {
    const proto_user_t *users;
    pres_user_t **w; /* the new JSON per user, made when first needed */
    hub_map_t by_id; /* user id → its index plus one: a map value is never NULL */
} renaming_t;

static void
swap_user(int64_t user, pres_user_t **who, void *ud)
{
    renaming_t *r = ud;
    size_t at = (size_t)(uintptr_t)hub_map_get(&r->by_id, (uint64_t)user);

    if (at == 0) {
        return;
    }
    if (r->w[at - 1] == NULL) {
        r->w[at - 1] = pres_user_new(&r->users[at - 1]);
    }
    pres_user_unref(*who);
    *who = pres_user_ref(r->w[at - 1]);
}

void
hub_presence_rename(hub_t *hub, const proto_user_t *users, size_t n, bool to_redis)
{
    renaming_t r = {users, NULL, {0}};

    if (hub->presence == NULL || n == 0) {
        return;
    }
    r.w = xcalloc(n, sizeof(*r.w));
    hub_map_init(&r.by_id);
    for (size_t u = 0; u < n; u++) {
        hub_map_put(&r.by_id, (uint64_t)users[u].id, (void *)(uintptr_t)(u + 1));
    }
    hub_presence_each_entry(hub, swap_user, &r);
    if (to_redis && hub_presence_redis(hub) != NULL) {
        const char **args = xmalloc(2 * n * sizeof(*args));
        char(*ids)[PROTO_I64_STR_MAX] = xmalloc(n * sizeof(*ids));
        for (size_t u = 0; u < n; u++) {
            if (r.w[u] == NULL) {
                r.w[u] = pres_user_new(&users[u]);
            }
            proto_i64_str(ids[u], users[u].id);
            args[2 * u] = ids[u];
            args[2 * u + 1] = r.w[u]->json;
        }
        /* No answer wanted: a write lost with Redis, the user's next join makes. */
        (void)hub_presence_eval(hub, hub_presence_rename_lua, 2 * n, args, NULL, NULL);
        free(args);
        free(ids);
    }
    for (size_t u = 0; u < n; u++) {
        pres_user_unref(r.w[u]);
    }
    free(r.w);
    hub_map_clear(&r.by_id);
}
