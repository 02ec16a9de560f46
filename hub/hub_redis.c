/*
 * Two contexts, one state: the link is up when both are connected. Any
 * failure (connect refused, watchdog, a command past its timeout, a dropped
 * socket) tears both down and schedules a reconnect; a hung context is torn
 * down with shutdown(2) on its socket so hiredis sees an error and runs its
 * own teardown (hiredis 0.14 cannot be freed from inside its callbacks).
 */
#include "hub_redis.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub_log.h"
#include "hub_redis_uv.h"
#include "xalloc.h"

#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 2000
#define WATCH_INTERVAL_MS 250
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

const char hub_redis_err_down[] = "redis down";
const char hub_redis_err_timeout[] = "redis timed out";
const char hub_redis_err_reply[] = "redis error reply";

typedef struct pending {
    struct pending *next;
    hub_redis_t *r;
    hub_redis_reply_cb cb;
    void *ud;
    uint64_t sent_ms;
    uint64_t sent_us; /* for the latency histogram */
} pending_t;

struct hub_redis {
    uv_loop_t *loop;
    char ip[64];
    int port;
    hub_redis_msg_cb on_msg;
    hub_redis_state_cb on_state;
    void *ud;
    redisAsyncContext *cmd; /* NULL when not connecting or connected */
    redisAsyncContext *sub;
    bool cmd_up, sub_up, up;
    bool freeing;
    int open_timers;        /* closed timers still to report; r is freed at 0 */
    pending_t *head, *tail; /* commands in flight on cmd, FIFO like Redis replies */
    uv_timer_t watch;       /* watchdog: connect and command timeouts */
    uv_timer_t retry;       /* reconnect backoff */
    uint64_t connect_started_ms;
    unsigned backoff_ms;
    unsigned failures;
    hub_redis_stats_t stats;
};

static void connect_both(hub_redis_t *r);

static void
on_retry(uv_timer_t *t)
{
    connect_both(t->data);
}

static uint64_t
now_ms(const hub_redis_t *r)
{
    return uv_now(r->loop);
}

static void
set_up(hub_redis_t *r, bool up)
{
    if (r->up == up) {
        return;
    }
    r->up = up;
    if (up) {
        log_info("redis.up", "addr=%s:%d", r->ip, r->port);
        r->stats.connects++;
        r->backoff_ms = 0;
        r->failures = 0;
    } else {
        log_warn("redis.down", "addr=%s:%d", r->ip, r->port);
    }
    if (!r->freeing) {
        r->on_state(r->ud, up);
    }
}

/* Force a context's teardown from anywhere: hiredis notices on its next read. */
static void
kill_ctx(redisAsyncContext *ac)
{
    if (ac != NULL && ac->c.fd >= 0) {
        shutdown(ac->c.fd, SHUT_RDWR);
    }
}

static void
fail_pending(hub_redis_t *r, const char *err)
{
    pending_t *p = r->head;

    /* hiredis also calls each reply callback with NULL on teardown; those find
     * the pending already answered (cb cleared) and only free it. */
    for (; p != NULL; p = p->next) {
        if (p->cb != NULL) {
            hub_redis_reply_cb cb = p->cb;
            p->cb = NULL;
            cb(p->ud, NULL, err);
        }
    }
}

static void
schedule_reconnect(hub_redis_t *r)
{
    unsigned base;

    if (r->freeing || r->cmd != NULL || r->sub != NULL) {
        return; /* wait until both contexts are gone */
    }
    base = r->backoff_ms == 0 ? BACKOFF_MIN_MS : r->backoff_ms * 2;
    r->backoff_ms = base > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base;
    /* Full jitter in [base/2, base] keeps a fleet of nodes from reconnecting in step. */
    uint64_t delay = r->backoff_ms / 2 + (uint64_t)rand() % (r->backoff_ms / 2 + 1);
    if (++r->failures == 1 || r->failures % 10 == 0) {
        log_info("redis.reconnect", "attempt=%u delay_ms=%" PRIu64, r->failures, delay);
    }
    uv_timer_start(&r->retry, on_retry, delay, 0);
}

static void
ctx_gone(hub_redis_t *r, const redisAsyncContext *ac)
{
    if (ac == r->cmd) {
        r->cmd = NULL;
        r->cmd_up = false;
        fail_pending(r, hub_redis_err_down);
    } else if (ac == r->sub) {
        r->sub = NULL;
        r->sub_up = false;
    }
    set_up(r, false);
    kill_ctx(r->cmd); /* one down takes the other with it: one state */
    kill_ctx(r->sub);
    schedule_reconnect(r);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
    hub_redis_t *r = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees a context whose connect failed and calls nothing else. */
        log_debug("redis.connect_failed", "err=\"%s\"", ac->errstr);
        ctx_gone(r, ac);
        return;
    }
    if (ac == r->cmd) {
        r->cmd_up = true;
    } else {
        r->sub_up = true;
    }
    if (r->cmd_up && r->sub_up) {
        set_up(r, true);
    }
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
    hub_redis_t *r = ac->data;

    log_debug("redis.disconnect", "status=%d err=\"%s\"", status,
              ac->errstr != NULL ? ac->errstr : "");
    ctx_gone(r, ac);
}

static redisAsyncContext *
open_ctx(hub_redis_t *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->ip, r->port);

    if (ac == NULL) {
        return NULL;
    }
    if (ac->err != 0 || hub_redis_uv_attach(ac, r->loop) < 0) {
        redisAsyncFree(ac); /* never connected: no callback runs */
        return NULL;
    }
    ac->data = r;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

static void
connect_both(hub_redis_t *r)
{
    if (r->freeing || r->cmd != NULL || r->sub != NULL) {
        return;
    }
    r->connect_started_ms = now_ms(r);
    r->cmd = open_ctx(r);
    r->sub = r->cmd != NULL ? open_ctx(r) : NULL;
    if (r->cmd == NULL || r->sub == NULL) {
        kill_ctx(r->cmd);
        if (r->cmd == NULL) {
            schedule_reconnect(r);
        }
    }
}

static void
on_watch(uv_timer_t *t)
{
    hub_redis_t *r = t->data;
    uint64_t now = now_ms(r);

    if ((r->cmd != NULL || r->sub != NULL) && !r->up &&
        now - r->connect_started_ms > CONNECT_TIMEOUT_MS) {
        log_debug("redis.connect_timeout", "after_ms=%d", CONNECT_TIMEOUT_MS);
        kill_ctx(r->cmd);
        kill_ctx(r->sub);
        r->connect_started_ms = now; /* once per attempt */
    }
    for (pending_t *p = r->head; p != NULL; p = p->next) {
        if (p->cb != NULL && now - p->sent_ms > COMMAND_TIMEOUT_MS) {
            log_warn("redis.timeout", "after_ms=%d", COMMAND_TIMEOUT_MS);
            fail_pending(r, hub_redis_err_timeout);
            kill_ctx(r->cmd);
            kill_ctx(r->sub);
            break;
        }
    }
}

hub_redis_t *
hub_redis_new(uv_loop_t *loop, const char *ip, int port, hub_redis_msg_cb on_msg,
              hub_redis_state_cb on_state, void *ud)
{
    hub_redis_t *r = xcalloc(1, sizeof(*r));

    r->loop = loop;
    snprintf(r->ip, sizeof(r->ip), "%s", ip);
    r->port = port;
    r->on_msg = on_msg;
    r->on_state = on_state;
    r->ud = ud;
    uv_timer_init(loop, &r->watch);
    uv_timer_init(loop, &r->retry);
    r->watch.data = r->retry.data = r;
    uv_timer_start(&r->watch, on_watch, WATCH_INTERVAL_MS, WATCH_INTERVAL_MS);
    connect_both(r);
    return r;
}

static void
on_timer_closed(uv_handle_t *h)
{
    hub_redis_t *r = h->data;

    /* libuv runs close callbacks in no promised order: free r only after
     * both timers embedded in it have reported. */
    if (--r->open_timers == 0) {
        free(r);
    }
}

void
hub_redis_free(hub_redis_t *r)
{
    if (r == NULL) {
        return;
    }
    r->freeing = true;
    fail_pending(r, hub_redis_err_down);
    redisAsyncContext *cmd = r->cmd, *sub = r->sub;
    r->cmd = r->sub = NULL; /* a never-connected context calls nothing on free */
    if (cmd != NULL) {
        redisAsyncFree(cmd);
    }
    if (sub != NULL) {
        redisAsyncFree(sub);
    }
    r->open_timers = 2;
    uv_close((uv_handle_t *)&r->watch, on_timer_closed);
    uv_close((uv_handle_t *)&r->retry, on_timer_closed);
}

bool
hub_redis_is_up(const hub_redis_t *r)
{
    return r != NULL && r->up;
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    pending_t *p = privdata;
    hub_redis_t *r = p->r;
    redisReply *rep = reply;

    (void)ac;
    r->stats.commands += rep != NULL;
    r->stats.failures += rep == NULL || rep->type == REDIS_REPLY_ERROR;
    if (rep != NULL) {
        uint64_t t = uv_hrtime() / 1000;
        lat_hist_observe(&r->stats.latency, t > p->sent_us ? t - p->sent_us : 0);
    }
    /* Replies come in order, so p is the head. */
    r->head = p->next;
    if (r->head == NULL) {
        r->tail = NULL;
    }
    if (p->cb != NULL) {
        const char *err = rep == NULL                      ? hub_redis_err_down
                          : rep->type == REDIS_REPLY_ERROR ? hub_redis_err_reply
                                                           : NULL;
        p->cb(p->ud, err == NULL ? reply : NULL, err);
    }
    free(p);
}

const hub_redis_stats_t *
hub_redis_stats(const hub_redis_t *r)
{
    return &r->stats;
}

int
hub_redis_command(hub_redis_t *r, hub_redis_reply_cb cb, void *ud, int argc, const char **argv,
                  const size_t *argvlen)
{
    pending_t *p;

    if (!r->up) {
        return -1;
    }
    p = xcalloc(1, sizeof(*p));
    p->r = r;
    p->cb = cb;
    p->ud = ud;
    p->sent_ms = now_ms(r);
    p->sent_us = uv_hrtime() / 1000;
    if (redisAsyncCommandArgv(r->cmd, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
        free(p);
        return -1;
    }
    if (r->tail != NULL) {
        r->tail->next = p;
    } else {
        r->head = p;
    }
    r->tail = p;
    return 0;
}

static void
on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    hub_redis_t *r = ac->data;
    redisReply *rep = reply;

    (void)privdata;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 || r->freeing) {
        return;
    }
    if (strcmp(rep->element[0]->str, "message") == 0) {
        r->on_msg(r->ud, rep->element[1]->str, rep->element[1]->len, rep->element[2]->str,
                  rep->element[2]->len);
    }
}

int
hub_redis_subscribe(hub_redis_t *r, const char *channel)
{
    if (!r->up) {
        return -1;
    }
    return redisAsyncCommand(r->sub, on_sub_reply, NULL, "SUBSCRIBE %s", channel) == REDIS_OK ? 0
                                                                                              : -1;
}

int
hub_redis_unsubscribe(hub_redis_t *r, const char *channel)
{
    if (!r->up) {
        return -1;
    }
    return redisAsyncCommand(r->sub, NULL, NULL, "UNSUBSCRIBE %s", channel) == REDIS_OK ? 0 : -1;
}
