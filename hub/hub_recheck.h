/*
 * Sockets checked again against the store, for kicks that may never have
 * reached this node: after its own Redis link was down (what other nodes
 * published meanwhile is gone), and when another node's kick arrives late
 * (published again once that node's link was back, hub_control.c). A socket
 * whose user is no longer an active participant of its room, or whose opaque
 * token is gone, is closed as the kick would have closed it (4403, 4401);
 * one opened before its user's last disconnect (the store keeps its time)
 * with 1000.
 */
#ifndef CHATHUB_HUB_RECHECK_H
#define CHATHUB_HUB_RECHECK_H

#include <stdint.h>

#include "hub.h"
#include "proto_err.h"

typedef struct hub_recheck hub_recheck_t;

/* Create hub->recheck (idle until asked). */
void hub_recheck_start(hub_t *hub);

/* Free it; answers the store still owes are ignored. */
void hub_recheck_stop(hub_t *hub);

/* Check the sockets of user_id (0: every socket here) in room_id (0: any
 * room), in statements of at most a few thousand sockets each. A join the
 * store is still answering is asked again instead (hub_conn_t.recheck). A
 * check the store cannot answer is retried as a check of every socket, after
 * 1 s doubling to 30 s. */
void hub_recheck_sockets(hub_t *hub, int64_t user_id, int64_t room_id);

/* The same for a fresh kick (err: 4403 or 4401) whose sockets may postdate
 * it (hub_control.c): when the store cannot answer, they are closed with
 * err rather than checked again later. */
void hub_recheck_kick(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err);

#endif
