/*
 * Reading what presence's Lua scripts return (hub_presence_lua.c): a room's
 * online ids as one string, users as some node wrote their JSON into Redis,
 * and the leaves of a reap or a rewrite.
 */
#ifndef CHATHUB_HUB_PRESENCE_REPLY_H
#define CHATHUB_HUB_PRESENCE_REPLY_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"

/* "7,9,12" → a new array (never NULL on success). -1: not a string. */
int hub_presence_parse_ids(const redisReply *s, int64_t **ids, size_t *n);

/* Change i of the change script's flat reply ({ev, "ids", version, last
 * version} each): ev, the ids (a new array), the event's number, and the
 * room's last event number when Redis answered. -1: not such a reply. */
int hub_presence_parse_change(const redisReply *r, size_t i, int *ev, int64_t **ids, size_t *n,
                              int64_t *version, int64_t *last);

/* A user's JSON as another node left it in Redis, checked and written again
 * (never passed on as it came): a new string, its id in *id. NULL when it
 * names no user. */
char *hub_presence_user_json(const char *json, int64_t *id);

/* The leaves a reap or a rewrite returned ({room, user json, online ids,
 * event number} each), announced on every node: here only to a room whose
 * sockets saw the user online (a leave that went out here while Redis was
 * away is not shown again). */
void hub_presence_announce_leaves(hub_t *hub, const redisReply *r);

#endif
