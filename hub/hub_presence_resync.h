/*
 * Presence resync: a room's sockets told what changed while presence events
 * could not reach them.
 *
 * Events travel over the room's channel, so a node misses those published
 * while it was not subscribed: before its subscription to a room's channel was
 * confirmed (the room's first socket here, or after a Redis outage, when a
 * node back on Redis earlier published the leave of a user gone meanwhile).
 * A node's rewrite of its entries after an outage also brings users online
 * without any event. So, once a room's subscription is confirmed, and when
 * another node says a rewrite changed the room (HUB_ENV_RESYNC), the node
 * reads the room's online list from Redis and sends its sockets a `leave` for
 * each user they saw online who is not, and a `join` for each user online
 * they did not see, each with the full list: nothing for a room whose list
 * they saw already, so no event is ever shown twice for one change. The
 * events a read already counts are dropped when they arrive later
 * (hub_presence_order.h); an answer older than an event the sockets got
 * meanwhile is compared with the list the read carried, less the users a
 * frame went out about since (the read's track). While Redis has no number for the room's events
 * (it restarted empty and the nodes are still rewriting their entries) a
 * user missing may just be on a node not back yet: the users the sockets saw
 * stay in the list, and only those the node they left marked gone
 * (hub_presence_gone.h) get a leave, until the room is read again as
 * settled (hub_presence_settle.h).
 */
#ifndef CHATHUB_HUB_PRESENCE_RESYNC_H
#define CHATHUB_HUB_PRESENCE_RESYNC_H

#include <stdint.h>

#include "hub.h"

typedef struct hub_presence_resync hub_presence_resync_t;

hub_presence_resync_t *hub_presence_resync_new(hub_t *hub);
void hub_presence_resync_free(hub_presence_resync_t *r); /* NULL is fine */

/* Compare room_id's list with Redis's before the loop polls next (the rooms
 * of one turn share one script call). No local socket in it, Redis down: nothing. */
void hub_presence_resync(hub_t *hub, int64_t room_id);

#endif
