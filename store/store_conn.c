/*
 * The store's pool: pool_size connections (store_pgconn.c), statement routing
 * by room affinity, and the rule every caller relies on: a callback never runs
 * inside the call that queued it. Failures known at queue time wait for a 0 ms
 * timer. It runs no SQL of its own beyond store_ping().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_affinity.h"
#include "store_conninfo.h"
#include "store_internal.h"
#include "xalloc.h"

const char store_err_unavailable[] = "unavailable";
const char store_err_timeout[] = "timeout";
const char store_err_shutdown[] = "shutdown";
const char store_err_not_found[] = "not_found";
const char store_err_forbidden[] = "forbidden";
const char store_err_unauthorized[] = "unauthorized";
const char store_err_archived[] = "archived";
const char store_err_invalid[] = "invalid";
const char store_err_conflict[] = "conflict";
const char store_err_disconnected[] = "disconnected";
const char store_err_internal[] = "internal";

#define CONNECT_TIMEOUT_DEFAULT_MS 5000
#define QUERY_TIMEOUT_DEFAULT_MS 5000
/* The server's statement_timeout fires first; ours catches a stuck session or network. */
#define DEADLINE_SLACK_MS 1000

typedef struct deferred {
    struct deferred *next;
    store_result_fn fn;
    void *ctx;
    const char *err;
} deferred_t;

struct store {
    store_config_t cfg;   /* strings owned */
    store_hosts_t *hosts; /* see store_hosts() */
    store_hooks_t hooks;
    store_pgconn_t **conns;
    unsigned n;
    unsigned rr;
    store_affinity_t *pending; /* where each room's pending statements are */
    deferred_t *deferred, *deferred_tail;
    void *deferred_timer;
    store_migration_run_t **migs;
    size_t nmigs;
    bool closing;     /* store_free() has begun: nothing new is queued */
    bool in_deferred; /* run_deferred() is on the stack and frees the store itself */
    store_pool_stats_t stats;
    struct {
        const char *event, *level; /* string constants of the store's own; NULL: free */
        char kind[16];
        uint64_t logged_ms;
        unsigned held;
    } limited[8];
};

const store_pool_stats_t *
store_pool_stats(const store_t *st)
{
    return &st->stats;
}

store_pool_stats_t *
store_pool_stats_mut(store_t *st)
{
    return &st->stats;
}

const store_hooks_t *
store_hooks(const store_t *st)
{
    return &st->hooks;
}

const store_config_t *
store_config(const store_t *st)
{
    return &st->cfg;
}

const store_hosts_t *
store_hosts(const store_t *st)
{
    return st->hosts;
}

bool
store_closing(const store_t *st)
{
    return st->closing;
}

void
store_event(store_t *st, const char *level, const char *event, const char *detail)
{
    if (st->hooks.event != NULL) {
        st->hooks.event(st->hooks.ud, level, event, detail);
    }
}

#define LIMITED_EVERY_MS 10000

void
store_event_limited(store_t *st, uint64_t now_ms, const char *level, const char *event,
                    const char *kind, const char *detail)
{
    /* The last slot is shared by the kinds that find none free: more than
     * seven at once within 10 s are limited together. */
    size_t n = sizeof(st->limited) / sizeof(st->limited[0]) - 1, i, spare = n;
    char line[400];

    if (kind == NULL) {
        kind = "";
    }
    for (i = 0; i < n; i++) {
        if (st->limited[i].event != NULL && strcmp(st->limited[i].event, event) == 0 &&
            strncmp(st->limited[i].kind, kind, sizeof(st->limited[i].kind) - 1) == 0) {
            break;
        }
        if (spare == n && (st->limited[i].event == NULL ||
                           now_ms - st->limited[i].logged_ms >= LIMITED_EVERY_MS)) {
            spare = i; /* free, or its 10 s are over */
        }
    }
    if (st->limited[n].held > 0 && now_ms - st->limited[n].logged_ms >= LIMITED_EVERY_MS) {
        snprintf(line, sizeof(line), "kind=* held=%u", st->limited[n].held);
        store_event(st, st->limited[n].level, st->limited[n].event, line);
        st->limited[n].held = 0; /* the shared slot's count, said once its 10 s are over */
    }
    if (i == n && spare < n) {
        i = spare;
        if (st->limited[i].event != NULL && st->limited[i].held > 0) {
            snprintf(line, sizeof(line), "kind=%s held=%u", st->limited[i].kind,
                     st->limited[i].held); /* what it held is not lost */
            store_event(st, st->limited[i].level, st->limited[i].event, line);
        }
        st->limited[i].event = NULL;
    } else if (i == n) {
        kind = "*"; /* the shared slot: n itself */
    }
    if (st->limited[i].event != NULL && now_ms - st->limited[i].logged_ms < LIMITED_EVERY_MS) {
        st->limited[i].held++;
        store_event(st, "debug", event, detail);
        return;
    }
    if (st->limited[i].event != NULL && st->limited[i].held > 0) {
        snprintf(line, sizeof(line), "%s held=%u", detail, st->limited[i].held);
        detail = line;
    }
    st->limited[i].event = event;
    st->limited[i].level = level;
    snprintf(st->limited[i].kind, sizeof(st->limited[i].kind), "%s", kind);
    st->limited[i].logged_ms = now_ms;
    st->limited[i].held = 0;
    store_event(st, level, event, detail);
}

void
store_migration_register(store_t *st, store_migration_run_t *run)
{
    st->migs = xrealloc(st->migs, (st->nmigs + 1) * sizeof(*st->migs));
    st->migs[st->nmigs++] = run;
}

void
store_migration_unregister(store_t *st, store_migration_run_t *run)
{
    for (size_t i = 0; i < st->nmigs; i++) {
        if (st->migs[i] == run) {
            st->migs[i] = st->migs[--st->nmigs];
            return;
        }
    }
}

/* ---- deferred failures ---- */

/* One at a time from the store itself, so that a callback may free the store:
 * store_free() then answers the rest with store_err_shutdown. */
static void
run_deferred(void *ud)
{
    store_t *st = ud;

    st->in_deferred = true;
    while (!st->closing && st->deferred != NULL) {
        deferred_t *d = st->deferred;
        st->deferred = d->next;
        if (st->deferred == NULL) {
            st->deferred_tail = NULL;
        }
        d->fn(d->ctx, NULL, d->err);
        free(d);
    }
    st->in_deferred = false;
    if (st->closing) {
        free(st);
    }
}

static void
defer(store_t *st, store_result_fn fn, void *ctx, const char *err)
{
    deferred_t *d = xcalloc(1, sizeof(*d));

    d->fn = fn;
    d->ctx = ctx;
    d->err = err;
    if (st->deferred_tail != NULL) {
        st->deferred_tail->next = d;
    } else {
        st->deferred = d;
    }
    st->deferred_tail = d;
    st->hooks.timer_start(st->deferred_timer, 0);
}

/* ---- routing ---- */

/* Of the up connections but the first, the least busy that keeps up
 * (store_pgconn_behind), else the least busy; -1 when none is up. Ties are
 * taken in turn from start. */
static int
least_busy_but_first(const store_t *st, unsigned start)
{
    int keeps = -1, lags = -1;

    for (unsigned k = 0; k < st->n; k++) {
        unsigned i = (start + k) % st->n;
        if (i == 0 || !store_pgconn_is_up(st->conns[i])) {
            continue;
        }
        int *best = store_pgconn_behind(st->conns[i]) ? &lags : &keeps;
        if (*best < 0 || store_pgconn_load(st->conns[i]) < store_pgconn_load(st->conns[*best])) {
            *best = (int)i;
        }
    }
    return keeps >= 0 ? keeps : lags;
}

/*
 * A room's statements go where its pending ones are (store_affinity.h), while
 * that connection still holds them in order. A room with none pending goes to
 * the first up connection that is not behind: rooms then share statements
 * (one round trip and one transaction for many; spread over every connection
 * at 60,000-80,000/s the bench's PostgreSQL took 12-35 % more CPU), and the
 * next connection takes rooms only while the first lags or waits on a lock.
 * Other statements go to the least busy up connection, ties taken in turn.
 * Heavy ones (STORE_HEAVY) go to one other than the first, one that keeps up
 * if any: an audit at scale had two GENERAL joins or /stats calls of a
 * second each take both connections of the default pool, and every room's
 * sends waited a second or more behind them. The first still takes a heavy
 * one while it is idle and every other lags (a second audit: one stuck there
 * held /stats 3.5 s with the first idle), so sends wait behind one at most.
 * With none up, only a store that has not finished its first connect queues
 * (startup); otherwise the caller hears store_err_unavailable at once rather
 * than waiting on a backoff.
 */
static int
pick(store_t *st, int64_t affinity)
{
    int held = store_affinity_conn(st->pending, affinity), best = -1;
    unsigned start = st->rr++ % st->n;

    if (held >= 0 && store_pgconn_holds(st->conns[held])) {
        return held;
    }
    for (unsigned i = 0; affinity >= 0 && i < st->n; i++) {
        if (store_pgconn_is_up(st->conns[i]) && !store_pgconn_behind(st->conns[i])) {
            return (int)i;
        }
    }
    if (affinity == STORE_HEAVY && st->n > 1) {
        best = least_busy_but_first(st, start);
        if (store_pgconn_is_up(st->conns[0]) &&
            (best < 0 ||
             (store_pgconn_behind(st->conns[best]) && store_pgconn_load(st->conns[0]) == 0))) {
            best = 0; /* the only one up, or idle while the others lag */
        }
    } else {
        for (unsigned k = 0; k < st->n; k++) {
            unsigned i = (start + k) % st->n;
            if (store_pgconn_is_up(st->conns[i]) &&
                (best < 0 ||
                 store_pgconn_load(st->conns[i]) < store_pgconn_load(st->conns[best]))) {
                best = (int)i;
            }
        }
    }
    for (unsigned k = 0; best < 0 && k < st->n; k++) {
        unsigned i = (start + k) % st->n;
        if (store_pgconn_is_starting(st->conns[i])) {
            best = (int)i;
        }
    }
    return best;
}

static void
dispatch(store_t *st, store_q_t *q)
{
    if (q->pending != NULL) {
        /* Handed back by a failed connection: counted again where it goes. */
        store_affinity_done(q->pending, q->affinity);
        q->pending = NULL;
    }
    int i = pick(st, q->affinity);
    if (i < 0) {
        defer(st, q->fn, q->ctx, store_err_unavailable);
        store_q_free(q);
        return;
    }
    if (q->affinity >= 0) {
        store_affinity_add(st->pending, q->affinity, (unsigned)i);
        q->pending = st->pending;
    }
    store_pgconn_push(st->conns[i], q);
}

/* A failing connection hands back what it never sent. */
static void
on_requeue(void *ud, store_q_t *q)
{
    dispatch(ud, q);
}

int
store_query(store_t *st, int64_t affinity, const char *sql, int nparams, const char *const *params,
            store_result_fn fn, void *ctx)
{
    if (st == NULL || st->closing) {
        return -1;
    }
    dispatch(st, store_q_new(affinity, sql, nparams, params, fn, ctx));
    return 0;
}

int
store_query_merge(store_t *st, const store_merge_t *merge, int64_t affinity, const char *sql,
                  int nparams, const char *const *params, store_result_fn fn, void *ctx)
{
    if (st == NULL || st->closing) {
        return -1;
    }
    store_q_t *q = store_q_new(affinity, sql, nparams, params, fn, ctx);
    q->merge = merge;
    q->name = merge->name;
    dispatch(st, q);
    return 0;
}

int
store_fail(store_t *st, store_result_fn fn, void *ctx, const char *err)
{
    if (st == NULL || st->closing) {
        return -1;
    }
    defer(st, fn, ctx, err);
    return 0;
}

/* ---- lifecycle ---- */

store_t *
store_new(const store_config_t *cfg, const store_hooks_t *hooks)
{
    store_t *st = xcalloc(1, sizeof(*st));
    char name[32];

    st->hooks = *hooks;
    st->cfg.conninfo = xstrdup(cfg->conninfo != NULL ? cfg->conninfo : "");
    st->cfg.hostaddr = cfg->hostaddr != NULL ? xstrdup(cfg->hostaddr) : NULL;
    st->hosts = store_hosts_parse(&st->cfg);
    st->cfg.pool_size = cfg->pool_size == 0 ? 1 : cfg->pool_size;
    st->cfg.query_timeout_ms =
        cfg->query_timeout_ms == 0 ? QUERY_TIMEOUT_DEFAULT_MS : cfg->query_timeout_ms;
    st->cfg.connect_timeout_ms =
        cfg->connect_timeout_ms == 0 ? CONNECT_TIMEOUT_DEFAULT_MS : cfg->connect_timeout_ms;
    st->deferred_timer = st->hooks.timer_new(st->hooks.ud, run_deferred, st);
    st->n = st->cfg.pool_size;
    st->pending = store_affinity_new();
    st->conns = xcalloc(st->n, sizeof(*st->conns));
    for (unsigned i = 0; i < st->n; i++) {
        snprintf(name, sizeof(name), "conn=%u", i);
        st->conns[i] =
            store_pgconn_new(st, name, st->cfg.query_timeout_ms,
                             st->cfg.query_timeout_ms + DEADLINE_SLACK_MS, true, on_requeue, st);
    }
    return st;
}

void
store_free(store_t *st)
{
    if (st == NULL || st->closing) {
        return;
    }
    st->closing = true;
    while (st->nmigs > 0) {
        store_migration_cancel(st->migs[st->nmigs - 1]);
    }
    for (unsigned i = 0; i < st->n; i++) {
        store_pgconn_free(st->conns[i], store_err_shutdown);
    }
    st->hooks.timer_free(st->deferred_timer);
    while (st->deferred != NULL) {
        deferred_t *d = st->deferred;
        st->deferred = d->next;
        d->fn(d->ctx, NULL, store_err_shutdown);
        free(d);
    }
    free(st->conns);
    store_affinity_release(st->pending);
    free(st->migs);
    free((char *)st->cfg.conninfo);
    free((char *)st->cfg.hostaddr);
    store_hosts_free(st->hosts);
    if (!st->in_deferred) {
        free(st);
    }
}

bool
store_is_up(const store_t *st)
{
    for (unsigned i = 0; st != NULL && !st->closing && i < st->n; i++) {
        if (store_pgconn_is_up(st->conns[i])) {
            return true;
        }
    }
    return false;
}

typedef struct ping_ctx {
    store_done_cb cb;
    void *ud;
} ping_ctx_t;

static void
on_ping(void *ctx, const PGresult *res, const char *err)
{
    ping_ctx_t *p = ctx;

    (void)res;
    p->cb(p->ud, err);
    free(p);
}

int
store_ping(store_t *st, store_done_cb cb, void *ud)
{
    ping_ctx_t *p = xmalloc(sizeof(*p));

    p->cb = cb;
    p->ud = ud;
    if (store_query(st, -1, "SELECT 1", 0, NULL, on_ping, p) < 0) {
        free(p);
        return -1;
    }
    return 0;
}
