/*
 * hiredis' six event hooks on libuv, replacing hiredis' own adapter, which
 * returns early on a poll error so a refused connect never reaches hiredis
 * and the context hangs (PITFALLS.md). Here an error status still lets
 * hiredis read and write, so it sees the socket error and reports it.
 */
#ifndef CHATHUB_HUB_REDIS_UV_H
#define CHATHUB_HUB_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attach ac to loop. 0 on success; -1 when ac is already attached or the poll
 * cannot be made (then ac is untouched and must be freed by the caller). */
int hub_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop) __attribute__((warn_unused_result));

#endif
