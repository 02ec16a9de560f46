/*
 * Leaves Redis has not heard, kept for the rewrite after an outage (see
 * hub_presence_gone.h).
 */
#include "hub_presence_gone.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hub_log.h"
#include "xalloc.h"

/* Leaves kept at most: a long outage of a busy node; the rest are not sent
 * (their users may stay online elsewhere until the room's next event). */
#define GONE_MAX 65536

void
hub_presence_gone_note(hub_presence_gone_t *g, int64_t room, int64_t user, const char *user_json)
{
    hub_presence_gone_entry_t *e;

    if (g->n == GONE_MAX) {
        if (g->dropped++ == 0) {
            log_warn("presence.gone_full", "kept=%d room=%" PRId64, GONE_MAX, room);
        }
        return;
    }
    if (g->n == g->cap) {
        g->cap = g->cap > 0 ? g->cap * 2 : 16;
        g->v = xrealloc(g->v, g->cap * sizeof(*g->v));
    }
    e = &g->v[g->n++];
    e->serial = ++g->next_serial;
    proto_i64_str(e->room, room);
    proto_i64_str(e->user, user);
    e->json = xstrdup(user_json);
}

size_t
hub_presence_gone_args(const hub_presence_gone_t *g, const char **args, uint64_t *upto)
{
    for (size_t i = 0; i < g->n; i++) {
        args[3 * i] = g->v[i].room;
        args[3 * i + 1] = g->v[i].user;
        args[3 * i + 2] = g->v[i].json;
    }
    *upto = g->n > 0 ? g->v[g->n - 1].serial : 0;
    return 3 * g->n;
}

void
hub_presence_gone_done(hub_presence_gone_t *g, uint64_t upto)
{
    size_t k = 0;

    while (k < g->n && g->v[k].serial <= upto) {
        free(g->v[k++].json);
    }
    if (k > 0) { /* v is NULL while nothing was ever noted */
        memmove(g->v, g->v + k, (g->n - k) * sizeof(*g->v));
        g->n -= k;
    }
    g->dropped = 0;
}

void
hub_presence_gone_clear(hub_presence_gone_t *g)
{
    hub_presence_gone_done(g, UINT64_MAX);
    free(g->v);
    *g = (hub_presence_gone_t){0};
}
