/*
 * Joins whose answer was lost (hub_presence_unsure.h): a short list of rooms,
 * each once, resynced on every node after the rewrite.
 */
#include "hub_presence_unsure.h"

#include <stdlib.h>

#include "hub_channel.h"
#include "hub_log.h"
#include "hub_presence_resync.h"
#include "xalloc.h"

/* Past this many rooms in one outage, the rest are left to the rooms' next
 * events, as before. */
#define UNSURE_MAX 4096

void
hub_presence_unsure_note(hub_presence_unsure_t *u, int64_t room)
{
    for (size_t i = 0; i < u->n; i++) {
        if (u->rooms[i] == room) {
            return;
        }
    }
    if (u->n == UNSURE_MAX) {
        return;
    }
    if (u->n == u->cap) {
        u->cap = u->cap > 0 ? u->cap * 2 : 8;
        u->rooms = xrealloc(u->rooms, u->cap * sizeof(*u->rooms));
    }
    u->rooms[u->n++] = room;
}

void
hub_presence_unsure_resync(hub_t *hub, hub_presence_unsure_t *u)
{
    for (size_t i = 0; i < u->n; i++) {
        log_info("presence.unsure_resync", "room=%" PRId64, u->rooms[i]);
        hub_channel_publish(hub->channel, HUB_ENV_RESYNC, u->rooms[i], 0, 0,
                            (const unsigned char *)"", 0);
        hub_presence_resync(hub, u->rooms[i]);
    }
    u->n = 0;
}

void
hub_presence_unsure_clear(hub_presence_unsure_t *u)
{
    free(u->rooms);
    *u = (hub_presence_unsure_t){0};
}
