/*
 * Calling a presence script in Redis (hub_presence_lua.h): the node's Redis
 * when it is up, and one EVAL with the script's arguments. Shared by
 * presence's parts so each states its call once.
 */
#ifndef CHATHUB_HUB_PRESENCE_EVAL_H
#define CHATHUB_HUB_PRESENCE_EVAL_H

#include <stddef.h>

#include "hub.h"
#include "hub_redis.h"

/* The node's Redis connection when it is up; NULL when Redis is off or down. */
hub_redis_t *hub_presence_redis(hub_t *hub);

/* EVAL script with no keys and args as ARGV; cb(ud, reply, err) runs once.
 * -1 (cb never runs) when Redis is not up or refuses the command. */
int hub_presence_eval_now(hub_t *hub, const char *script, size_t nargs, const char **args,
                          hub_redis_reply_cb cb, void *ud);

#endif
