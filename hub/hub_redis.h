/*
 * A Redis link that survives Redis: two hiredis async contexts on the hub's
 * loop (one SUBSCRIBEd, one for commands, since a subscribed context cannot
 * PUBLISH), a connect watchdog and per-command timeouts (hiredis 0.14 has
 * none), and reconnect with jittered backoff (1 s doubling to 30 s) that
 * reports each transition so the caller can re-subscribe. Every attempt
 * resolves the host anew (uv_getaddrinfo: a failover to a new address is
 * followed) and runs AUTH, SELECT and PING before the link counts as up.
 */
#ifndef CHATHUB_HUB_REDIS_H
#define CHATHUB_HUB_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "hub_config.h"
#include "lat_hist.h"

typedef struct hub_redis hub_redis_t;

/* What /metrics reports about the link. */
typedef struct hub_redis_stats {
    uint64_t commands;  /* replies received, error replies included */
    uint64_t failures;  /* error replies, and commands lost to a reset */
    uint64_t connects;  /* times the link came up */
    lat_hist_t latency; /* each command's round trip */
} hub_redis_stats_t;

/* A message on a subscribed channel; data borrowed until return. */
typedef void (*hub_redis_msg_cb)(void *ud, const char *channel, size_t chlen, const char *data,
                                 size_t len);
/* Redis confirmed a SUBSCRIBE: from now on the channel's messages arrive
 * (those published before may not have). channel borrowed until return. */
typedef void (*hub_redis_subscribed_cb)(void *ud, const char *channel, size_t chlen);
/* up: both contexts connected; the caller then (re)subscribes what it needs,
 * since a reconnect starts with no subscription. */
typedef void (*hub_redis_state_cb)(void *ud, bool up);
/* A command's reply: the hiredis reply (borrowed) xor err. */
typedef void (*hub_redis_reply_cb)(void *ud, void *reply, const char *err);

extern const char hub_redis_err_down[];    /* not connected */
extern const char hub_redis_err_timeout[]; /* no reply in time; the link is reset */
extern const char hub_redis_err_reply[];   /* Redis answered with an error */

/* Connect to target (copied; its host may be a name) and keep connecting.
 * Free with hub_redis_free(). */
hub_redis_t *hub_redis_new(uv_loop_t *loop, const hub_redis_target_t *target,
                           hub_redis_msg_cb on_msg, hub_redis_subscribed_cb on_subscribed,
                           hub_redis_state_cb on_state, void *ud);

/* Disconnect; pending command callbacks run with hub_redis_err_down. NULL is fine. */
void hub_redis_free(hub_redis_t *r);

bool hub_redis_is_up(const hub_redis_t *r);
const hub_redis_stats_t *hub_redis_stats(const hub_redis_t *r);

/* SUBSCRIBE / UNSUBSCRIBE one channel on the subscriber context. -1 when down
 * (the caller subscribes again on the next up). */
int hub_redis_subscribe(hub_redis_t *r, const char *channel);
int hub_redis_unsubscribe(hub_redis_t *r, const char *channel);

/* Send a command (argv form, binary safe). 0 queued: cb (may be NULL) runs once.
 * -1: not connected, cb never runs. */
int hub_redis_command(hub_redis_t *r, hub_redis_reply_cb cb, void *ud, int argc, const char **argv,
                      const size_t *argvlen) __attribute__((warn_unused_result));

#endif
