/*
 * What a node's sockets show of their users (typing and presence frames are
 * built from the socket's copy; messages and connection_established are read
 * from the store) kept up with renames made anywhere (PUT /api/v1/users):
 * the origin's answer and another node's envelope are applied at once, and
 * the user is then read again from the store, which settles what an envelope
 * alone cannot. Two renames made on two nodes may arrive in either order;
 * one published while this node's Redis link was down never arrives (so,
 * once the control channel is subscribed again, every user here is read);
 * and a join the store is answering may have read the name from before.
 *
 * Reads are made one at a time, each after the previous answered, so a
 * later answer is never older than an earlier one: what sockets show ends
 * as the store has it, in the order PostgreSQL committed the renames.
 */
#ifndef CHATHUB_HUB_RENAME_H
#define CHATHUB_HUB_RENAME_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "proto_types.h"

/* Create hub->rename (idle until asked). */
void hub_rename_start(hub_t *hub);

/* Free it; answers the store still owes are ignored. */
void hub_rename_stop(hub_t *hub);

/* users[0..n) as they are now: this node's sockets and presence entries of
 * them take the new names and roles. to_redis: Redis' copies too. */
void hub_rename_apply(hub_t *hub, const proto_user_t *users, size_t n, bool to_redis);

/* Read user_id (0: every user with a socket here) again from the store and
 * apply what it says. A join the store is answering for that user is asked
 * again (hub_conn_t.recheck). A read that fails is retried after 1 s
 * doubling to 30 s. */
void hub_rename_refresh(hub_t *hub, int64_t user_id);

#endif
