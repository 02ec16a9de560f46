/*
 * Who is online, per room, across nodes (ARCHITECTURE.md "Presence").
 *
 * In Redis: chathub:p:<room> (user → sockets on all nodes), chathub:p:<room>:<node>
 * (user → sockets on that node), chathub:nr:<node> (rooms the node has entries
 * in), chathub:u (user → their JSON for events), chathub:hb:<node> (a heartbeat
 * key that expires 6 s after the node stops refreshing it; its value is the
 * node's open WebSocket connections at the last beat), chathub:nodes (the
 * nodes that wrote entries, until reaped), chathub:pv (room → the number of
 * its last presence event), chathub:pg:<room> (users a node's rewrite marked
 * gone while the room had no number; hub_presence_gone.h). Every change is a Lua script, never
 * read-modify-write from C; the joins, leaves and reads of
 * one turn of the loop share one call, in order, and any other call waits
 * behind them. Any
 * node reaps the entries of a node whose heartbeat expired and sends the
 * leave events.
 *
 * Locally: a count of sockets per (room, user). The first socket makes the
 * Redis join (a "join" event when it is the user's first on any node); the
 * last one starts a short grace timer, and only when it fires is the user
 * taken out (a "leave" when it was their last socket anywhere), so a page
 * reload or a hop to another node shows no leave/join flap. Without Redis
 * (HUB_REDIS=off, or Redis down) the same rules run on the local counts.
 */
#ifndef CHATHUB_HUB_PRESENCE_H
#define CHATHUB_HUB_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub_redis.h"
#include "proto_types.h"

typedef struct hub_presence hub_presence_t;

hub_presence_t *hub_presence_new(hub_t *hub);
void hub_presence_free(hub_presence_t *p); /* NULL is fine */

/* The channel layer is (again) up: rewrite this node's entries from its live
 * sockets (after a Redis restart they are gone), announce the leaves of users
 * gone meanwhile, tell the other nodes in which rooms the rewrite brought
 * someone online (hub_presence_resync.h), and start heartbeats. */
void hub_presence_on_redis_up(hub_t *hub);

/* The same rewrite; hold_reaping: none for the next 4 s, as after a
 * reconnect (the others may not be back yet). A rewrite that only answers
 * refused writes, on a link that stayed up, holds nothing back: refused
 * heartbeats do that themselves (hub_presence_refused), and a node whose
 * rewrites Redis keeps refusing must still reap. */
void hub_presence_rewrite(hub_t *hub, bool hold_reaping);

/* Redis answered one of this node's presence writes with an error while the
 * link stayed up (hub_presence_refusal.h): a rewrite is owed. A refused
 * heartbeat also has reaping wait 6 s past it: the other nodes' heartbeats
 * were refused too, and must not be taken for dead the moment writes pass
 * again. Other refusals do not: a node whose heartbeats pass still reaps. */
void hub_presence_refused(hub_t *hub, bool heartbeat);

/* Whether a rewrite is owed now (the heartbeat Redis took then runs it). */
bool hub_presence_rewrite_owed(hub_t *hub);

/* Take out the entries of every node whose heartbeat key expired and
 * announce their users' leaves; not in the first 4 s after this node's link
 * came back (the others may not be back yet). */
void hub_presence_reap(hub_t *hub);

/* online: the room's user ids (borrowed); NULL when the node stops before
 * there is an answer, and cb only releases ud. */
typedef void (*hub_presence_online_cb)(hub_t *hub, uint64_t id, const int64_t *online, size_t n,
                                       void *ud);

/*
 * A socket of user (copied) joins room: counts it, and calls cb(id, online, ud)
 * once, later or now, with the room's online users including this one. A join
 * event, when due, goes to the room after cb.
 */
void hub_presence_join(hub_t *hub, int64_t room_id, const proto_user_t *user, uint64_t id,
                       hub_presence_online_cb cb, void *ud);

/* A socket counted by hub_presence_join() is gone. kicked: the hub closed it
 * for good (removed, deactivated, token revoked): a leave is announced now,
 * without the grace period that spares a reload its leave and join. */
void hub_presence_leave(hub_t *hub, int64_t room_id, int64_t user_id, bool kicked);

/* users[0..n) (copied) were renamed: their joins and leaves carry the new
 * names and roles from now on. to_redis: Redis' copies (for the leaves a
 * reaper announces) are written too, in one call, where it has one. */
void hub_presence_rename(hub_t *hub, const proto_user_t *users, size_t n, bool to_redis);

/* fn(user, who, ud) for each entry (a room and user counted here); fn may
 * swap *who, the entry's reference (hub_presence_user.h). */
struct pres_user;
void hub_presence_each_entry(hub_t *hub, void (*fn)(int64_t user, struct pres_user **who, void *ud),
                             void *ud);

/* A script call that goes after the presence changes already queued, so
 * Redis sees them in the order they happened (hub_presence_eval.h). */
int hub_presence_eval(hub_t *hub, const char *script, size_t nargs, const char **args,
                      hub_redis_reply_cb cb, void *ud);

/* Users whose last socket here the drain closed (they were told to reconnect
 * elsewhere) and whose grace period still runs. */
size_t hub_presence_drain_leaving(const hub_t *hub);

/* Take this node out of presence now (drain), announcing the leaves that
 * causes; done(hub, ud) runs once, after Redis answered or failed. */
void hub_presence_remove_node(hub_t *hub, void (*done)(hub_t *hub, void *ud), void *ud);

/* The room's online users across nodes (GET /api/v1/rooms/{id}/presence). */
void hub_presence_online(hub_t *hub, int64_t room_id, uint64_t id, hub_presence_online_cb cb,
                         void *ud);

/* connections: open WebSocket connections across the live nodes, this node's
 * exact and the others' as of their last heartbeat; this node's alone when
 * Redis is off, down or fails. */
typedef void (*hub_presence_count_cb)(hub_t *hub, uint64_t id, int64_t connections, void *ud);

/* Count the connections (GET /api/v1/stats): cb(id, connections, ud) runs
 * once, later or now. */
void hub_presence_connections(hub_t *hub, uint64_t id, hub_presence_count_cb cb, void *ud);

#endif
