/*
 * Users a room's sockets saw online whom Redis no longer lists while it has
 * no number for the room's events (it restarted empty): they may be on a
 * node not back yet, so a resync keeps them (hub_presence_resync.h). A node
 * that died while Redis was away never comes back to rewrite its entries nor
 * marks its users gone, though, and its users stayed online on the other
 * nodes' sockets for good (an audit). So such a room is read again as
 * settled once every live node has had time to reconnect and rewrite
 * (HUB_PRESENCE_SETTLE_MS, 40 s, past the Redis link's longest backoff): whoever
 * is missing then gets a leave. Redis lost their JSON with the restart, so
 * a leave that lacks it waits for the store's (asked again after 1 s,
 * doubling to 30 s, while the store fails).
 */
#ifndef CHATHUB_HUB_PRESENCE_SETTLE_H
#define CHATHUB_HUB_PRESENCE_SETTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub_room.h"

typedef struct hub_presence_settler hub_presence_settler_t;
typedef struct hub_presence_settle hub_presence_settle_t; /* a room's, in hub_room_t */

hub_presence_settler_t *hub_presence_settler_new(hub_t *hub);
void hub_presence_settler_free(hub_presence_settler_t *s); /* NULL is fine */

/* The room keeps users[0..n) Redis lacks: read it again as settled after
 * HUB_PRESENCE_SETTLE_MS (nothing when already waiting or settled). now:
 * settled at once (Redis numbers the room's events, so the missing are gone;
 * only their JSON is missing). */
void hub_presence_settle_arm(hub_t *hub, hub_room_t *room, bool now, const int64_t *users,
                             size_t n);

/* The users the room kept when armed (sorted): a settled read counts them as
 * seen even when a later frame's list dropped them (an event after Redis
 * came back empty lists who Redis has, without a leave for the rest). */
const int64_t *hub_presence_settle_kept(const hub_room_t *room, size_t *n);

/* A frame about user went to the room's sockets: the settled read leaves
 * them to what the sockets saw (a second leave would repeat one). */
void hub_presence_settle_forget(hub_room_t *room, int64_t user);

/* Whether the room is read as settled: users missing from Redis are gone. */
bool hub_presence_settled(const hub_room_t *room);

/* Of a settled room, users ids[0..n) need JSON Redis does not have: true
 * while the store is asked (the room is read again once it answers), false
 * once it has answered (hub_presence_settle_user() then has what it had). */
bool hub_presence_settle_wait_json(hub_t *hub, hub_room_t *room, const int64_t *ids, size_t n);

/* A user's JSON as the store gave it, or NULL. */
const char *hub_presence_settle_user(const hub_room_t *room, int64_t id);

/* The settled read went out: the room is as any other again, but is not
 * armed again for HUB_PRESENCE_SETTLE_MS (a user the store does not know
 * either stays missing). */
void hub_presence_settle_done(hub_t *hub, hub_room_t *room);

/* With the room. NULL is fine. */
void hub_presence_settle_free(struct hub_presence_settle *s);

#endif
