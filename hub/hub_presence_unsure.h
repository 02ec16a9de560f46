/*
 * Rooms where the join of a user's first socket here went to Redis and its
 * answer was lost (the link dropped with it in flight). The script may have
 * run: the user is then online in Redis, and no node announced the join, so
 * the other nodes' sockets, and this node's, never showed the user online
 * (an audit, with a reply held past the link's timeout). Once this node's
 * entries are rewritten after the link is back, every node, this one too,
 * compares each such room's list with Redis's (hub_presence_resync.h).
 */
#ifndef CHATHUB_HUB_PRESENCE_UNSURE_H
#define CHATHUB_HUB_PRESENCE_UNSURE_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

typedef struct hub_presence_unsure {
    int64_t *rooms;
    size_t n, cap;
} hub_presence_unsure_t;

void hub_presence_unsure_note(hub_presence_unsure_t *u, int64_t room);

/* Ask every node to resync the rooms noted, then forget them. */
void hub_presence_unsure_resync(hub_t *hub, hub_presence_unsure_t *u);

void hub_presence_unsure_clear(hub_presence_unsure_t *u);

#endif
