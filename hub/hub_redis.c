/*
 * Two contexts, one state: the link is up when both are connected and have
 * answered their handshake (AUTH, SELECT on the command context, PING). Any
 * failure (a failed lookup, connect refused, a refused handshake, watchdog, a
 * command past its timeout, a dropped socket) tears both down and schedules a
 * reconnect; a hung context is torn down with shutdown(2) on its socket so
 * hiredis sees an error and runs its own teardown (hiredis 0.14 cannot be
 * freed from inside its callbacks).
 */
#include "hub_redis.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub_log.h"
#include "hub_resolve.h"
#include "hub_redis_uv.h"
#include "proto_resp.h"
#include "xalloc.h"

#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 2000
#define WATCH_INTERVAL_MS 250
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
/* The backoff starts over only once a link has held this long: a server that
 * accepts and then drops us (or refuses every command) must not be retried
 * at the minimum delay forever. */
#define STABLE_MS 10000
/* Attempts logged one by one while the delay still grows; then every tenth. */
#define LOGGED_ATTEMPTS 6

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
    hub_redis_target_t target; /* holds the password: never logged whole */
    char ip[INET6_ADDRSTRLEN]; /* target.host as resolved for the current attempt */
    hub_redis_msg_cb on_msg;
    hub_redis_subscribed_cb on_subscribed;
    hub_redis_state_cb on_state;
    void *ud;
    redisAsyncContext *cmd; /* NULL when not connecting or connected */
    redisAsyncContext *sub;
    bool cmd_up, sub_up, up;
    unsigned handshake_left;  /* AUTH/SELECT/PING replies still owed on both contexts */
    bool attempt_logged;      /* this attempt's failure went to the log already */
    hub_resolve_t *resolving; /* the lookup in flight, or NULL */
    uint64_t up_since_ms;
    bool freeing;
    int open_timers;        /* closed timers still to report; r is freed at 0 */
    pending_t *head, *tail; /* commands in flight on cmd, FIFO like Redis replies */
    uv_timer_t watch;       /* watchdog: connect and command timeouts */
    uv_timer_t retry;       /* reconnect backoff */
    uint64_t connect_started_ms;
    uint64_t error_logged_ms; /* when an error reply was last logged */
    unsigned errors_unlogged; /* error replies since then */
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
        log_info("redis.up", "host=%s addr=%s:%d db=%d", r->target.host, r->ip, r->target.port,
                 r->target.db);
        r->stats.connects++;
        r->up_since_ms = now_ms(r); /* the backoff resets in on_watch() once this holds */
    } else if (r->freeing) {
        /* the node's own stop: nothing is wrong */
        log_info("redis.down", "host=%s addr=%s:%d", r->target.host, r->ip, r->target.port);
    } else {
        log_warn("redis.down", "host=%s addr=%s:%d", r->target.host, r->ip, r->target.port);
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

    if (r->freeing || r->cmd != NULL || r->sub != NULL || r->resolving != NULL) {
        return; /* wait until both contexts are gone */
    }
    base = r->backoff_ms == 0 ? BACKOFF_MIN_MS : r->backoff_ms * 2;
    r->backoff_ms = base > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base;
    /* Full jitter in [base/2, base] keeps a fleet of nodes from reconnecting in step. */
    uint64_t delay = r->backoff_ms / 2 + (uint64_t)rand() % (r->backoff_ms / 2 + 1);
    if (++r->failures <= LOGGED_ATTEMPTS || r->failures % 10 == 0) {
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

/* Redis's (or libuv's) words, fit for a quoted log value: quotes are
 * replaced so the line stays key=value. */
static void
clean_copy(char *out, size_t size, const char *why)
{
    size_t i = 0;

    for (; why != NULL && why[i] != '\0' && i + 1 < size; i++) {
        out[i] = why[i] == '"' ? '\'' : (unsigned char)why[i] < 0x20 ? ' ' : why[i];
    }
    out[i] = '\0';
}

/* Log why this attempt failed, once per attempt: the backoff bounds the lines.
 * why comes from Redis or libuv (never holds the password). */
static void
log_attempt_failed(hub_redis_t *r, const char *event, const char *step, const char *why)
{
    char clean[128];

    if (r->attempt_logged) {
        return;
    }
    r->attempt_logged = true;
    clean_copy(clean, sizeof(clean), why);
    log_warn(event, "host=%s port=%d step=%s attempt=%u err=\"%s\"", r->target.host, r->target.port,
             step, r->failures + 1, clean);
}

/* An error reply to a command (OOM, READONLY, BUSY): its callback only
 * learns that there was one, so Redis's words go to the log here, once every
 * 10 s at most, as a refusing Redis refuses every command. */
static void
log_error_reply(hub_redis_t *r, const char *why)
{
    char clean[128];

    if (r->error_logged_ms != 0 && now_ms(r) - r->error_logged_ms < 10000) {
        r->errors_unlogged++;
        return;
    }
    clean_copy(clean, sizeof(clean), why);
    log_warn("redis.error_reply", "err=\"%s\" since_last=%u", clean, r->errors_unlogged);
    r->error_logged_ms = now_ms(r);
    r->errors_unlogged = 0;
}

static void
on_handshake(redisAsyncContext *ac, void *reply, void *privdata)
{
    hub_redis_t *r = ac->data;
    redisReply *rep = reply;
    const char *step = privdata;

    /* NULL: the context is being torn down, ctx_gone() has it. */
    if (rep == NULL || r->freeing || (ac != r->cmd && ac != r->sub)) {
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        bool auth = strcmp(step, "auth") == 0 || strncmp(rep->str, "NOAUTH", 6) == 0;
        log_attempt_failed(r, auth ? "redis.auth_failed" : "redis.handshake_failed", step,
                           rep->str);
        kill_ctx(r->cmd); /* down, and reconnect after the backoff */
        kill_ctx(r->sub);
        return;
    }
    if (--r->handshake_left == 0 && r->cmd_up && r->sub_up) {
        set_up(r, true);
    }
}

/* AUTH, SELECT (the command context only: channels ignore the db) and PING,
 * before anything else is sent: a pub/sub context must AUTH before SUBSCRIBE,
 * and the PING proves a server without a password configured here lets us in. */
static int
send_handshake(hub_redis_t *r, redisAsyncContext *ac)
{
    const hub_redis_target_t *t = &r->target;
    int rc = REDIS_OK;

    if (t->pass[0] != '\0' && t->user[0] != '\0') {
        rc |= redisAsyncCommand(ac, on_handshake, "auth", "AUTH %s %s", t->user, t->pass);
        r->handshake_left++;
    } else if (t->pass[0] != '\0') {
        rc |= redisAsyncCommand(ac, on_handshake, "auth", "AUTH %s", t->pass);
        r->handshake_left++;
    }
    if (ac == r->cmd && t->db != 0) {
        rc |= redisAsyncCommand(ac, on_handshake, "select", "SELECT %d", t->db);
        r->handshake_left++;
    }
    rc |= redisAsyncCommand(ac, on_handshake, "ping", "PING");
    r->handshake_left++;
    return rc == REDIS_OK ? 0 : -1;
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
    /* hiredis hands callbacks a const context; its commands need it mutable. */
    if (send_handshake(r, (redisAsyncContext *)ac) < 0) {
        kill_ctx(r->cmd);
        kill_ctx(r->sub);
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
    redisAsyncContext *ac = redisAsyncConnect(r->ip, r->target.port);

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
open_both(hub_redis_t *r)
{
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
on_resolved(void *ud, const char *ip, const char *err)
{
    hub_redis_t *r = ud;

    r->resolving = NULL;
    if (ip == NULL) {
        log_attempt_failed(r, "redis.resolve_failed", "resolve", err);
        schedule_reconnect(r);
        return;
    }
    snprintf(r->ip, sizeof(r->ip), "%s", ip);
    open_both(r);
}

/* hiredis resolves a name with a blocking lookup of its own: hand it an address.
 * Looked up at every attempt so a failover to a new address is followed. */
static void
resolve_then_open(hub_redis_t *r)
{
    struct in6_addr probe;
    const char *err;

    if (inet_pton(AF_INET, r->target.host, &probe) == 1 ||
        inet_pton(AF_INET6, r->target.host, &probe) == 1) {
        /* A numeric address fits: inet_pton() accepted it. */
        snprintf(r->ip, sizeof(r->ip), "%.*s", (int)sizeof(r->ip) - 1, r->target.host);
        open_both(r);
        return;
    }
    r->resolving = hub_resolve_start(r->loop, r->target.host, on_resolved, r, &err);
    if (r->resolving == NULL) {
        log_attempt_failed(r, "redis.resolve_failed", "resolve", err);
        schedule_reconnect(r);
    }
}

static void
connect_both(hub_redis_t *r)
{
    if (r->freeing || r->cmd != NULL || r->sub != NULL || r->resolving != NULL) {
        return;
    }
    r->connect_started_ms = now_ms(r);
    r->handshake_left = 0;
    r->attempt_logged = false;
    resolve_then_open(r);
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
    if (r->up && r->failures > 0 && now - r->up_since_ms >= STABLE_MS) {
        r->backoff_ms = 0;
        r->failures = 0;
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
hub_redis_new(uv_loop_t *loop, const hub_redis_target_t *target, hub_redis_msg_cb on_msg,
              hub_redis_subscribed_cb on_subscribed, hub_redis_state_cb on_state, void *ud)
{
    hub_redis_t *r = xcalloc(1, sizeof(*r));

    r->loop = loop;
    r->target = *target;
    r->on_msg = on_msg;
    r->on_subscribed = on_subscribed;
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
    hub_resolve_cancel(r->resolving); /* its answer, if any, reaches nobody */
    r->resolving = NULL;
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
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
        log_error_reply(r, rep->str);
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
    /* Formatted here (proto_resp.h): hiredis copies it into its output buffer. */
    char stack[512];
    size_t need = proto_resp_len(argc, argv, argvlen);
    char *cmd = need <= sizeof(stack) ? stack : xmalloc(need);
    size_t len = proto_resp_write(cmd, argc, argv, argvlen);
    int rc = redisAsyncFormattedCommand(r->cmd, on_reply, p, cmd, len);

    if (cmd != stack) {
        free(cmd);
    }
    if (rc != REDIS_OK) {
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
    } else if (strcmp(rep->element[0]->str, "subscribe") == 0 &&
               rep->element[1]->type == REDIS_REPLY_STRING) {
        r->on_subscribed(r->ud, rep->element[1]->str, rep->element[1]->len);
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
