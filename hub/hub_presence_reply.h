/*
 * Reading what presence's Lua scripts return (hub_presence_lua.c): a room's
 * online ids as one string, and users as some node wrote their JSON into
 * Redis.
 */
#ifndef CHATHUB_HUB_PRESENCE_REPLY_H
#define CHATHUB_HUB_PRESENCE_REPLY_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* "7,9,12" → a new array (never NULL on success). -1: not a string. */
int hub_presence_parse_ids(const redisReply *s, int64_t **ids, size_t *n);

/* A user's JSON as another node left it in Redis, checked and written again
 * (never passed on as it came): a new string, its id in *id. NULL when it
 * names no user. */
char *hub_presence_user_json(const char *json, int64_t *id);

#endif
