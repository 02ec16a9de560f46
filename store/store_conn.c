/*
 * The store's pool: pool_size connections (store_pgconn.c), statement routing
 * by room affinity, and the one rule every caller relies on: a callback never
 * runs inside the call that queued it. Failures found at queue time wait for a
 * 0 ms timer.
 */
#include <stdlib.h>
#include <string.h>

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
const char store_err_internal[] = "internal";

typedef struct deferred {
    struct deferred *next;
    store_result_fn fn;
    void *ctx;
    const char *err;
} deferred_t;

struct store {
    store_config_t cfg; /* strings owned */
    store_hooks_t hooks;
    store_pgconn_t **conns;
    unsigned n;
    unsigned rr;
    deferred_t *deferred, *deferred_tail;
    void *deferred_timer;
    store_migration_run_t *migrating;
};

void
store_set_migration(store_t *st, store_migration_run_t *run)
{
    st->migrating = run;
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

void
store_event(store_t *st, const char *level, const char *event, const char *detail)
{
    if (st->hooks.event != NULL) {
        st->hooks.event(st->hooks.ud, level, event, detail);
    }
}

static void
run_deferred(void *ud)
{
    store_t *st = ud;
    deferred_t *d = st->deferred;

    st->deferred = st->deferred_tail = NULL;
    while (d != NULL) {
        deferred_t *next = d->next;
        d->fn(d->ctx, NULL, d->err);
        free(d);
        d = next;
    }
}

static void
defer_failure(store_t *st, store_result_fn fn, void *ctx, const char *err)
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

static void
on_conn_state(void *ud, store_pgconn_t *pc, bool up)
{
    (void)ud;
    (void)pc;
    (void)up; /* each connection logs its own transitions */
}

store_t *
store_new(const store_config_t *cfg, const store_hooks_t *hooks)
{
    store_t *st = xcalloc(1, sizeof(*st));

    st->hooks = *hooks;
    st->cfg.conninfo = xstrdup(cfg->conninfo != NULL ? cfg->conninfo : "");
    st->cfg.hostaddr = cfg->hostaddr != NULL ? xstrdup(cfg->hostaddr) : NULL;
    st->cfg.pool_size = cfg->pool_size == 0 ? 1 : cfg->pool_size;
    st->cfg.query_timeout_ms = cfg->query_timeout_ms == 0 ? 5000 : cfg->query_timeout_ms;
    st->cfg.connect_timeout_ms = cfg->connect_timeout_ms == 0 ? 5000 : cfg->connect_timeout_ms;
    st->deferred_timer = st->hooks.timer_new(st->hooks.ud, run_deferred, st);
    st->n = st->cfg.pool_size;
    st->conns = xcalloc(st->n, sizeof(*st->conns));
    for (unsigned i = 0; i < st->n; i++) {
        /* The server gives up a little before we do, so a slow statement is
         * cancelled server-side rather than left running behind a dead session. */
        st->conns[i] = store_pgconn_new(st, (int)i, st->cfg.query_timeout_ms,
                                        st->cfg.query_timeout_ms + 1000, true, on_conn_state, st);
    }
    return st;
}

void
store_free(store_t *st)
{
    if (st == NULL) {
        return;
    }
    if (st->migrating != NULL) {
        store_migration_cancel(st->migrating);
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
    free((char *)st->cfg.conninfo);
    free((char *)st->cfg.hostaddr);
    free(st);
}

bool
store_is_up(const store_t *st)
{
    for (unsigned i = 0; st != NULL && i < st->n; i++) {
        if (store_pgconn_is_up(st->conns[i])) {
            return true;
        }
    }
    return false;
}

/* The connection for a statement: the room's own when it can take work, else
 * the least busy up one, else one still connecting (startup), else none. */
static store_pgconn_t *
pick(store_t *st, int64_t affinity)
{
    store_pgconn_t *best = NULL;

    if (affinity >= 0) {
        store_pgconn_t *pc = st->conns[(uint64_t)affinity % st->n];
        if (store_pgconn_is_up(pc)) {
            return pc;
        }
    }
    for (unsigned k = 0; k < st->n; k++) {
        store_pgconn_t *pc = st->conns[(st->rr + k) % st->n];
        if (store_pgconn_is_up(pc) &&
            (best == NULL || store_pgconn_load(pc) < store_pgconn_load(best))) {
            best = pc;
        }
    }
    st->rr++;
    if (best != NULL) {
        return best;
    }
    for (unsigned k = 0; k < st->n; k++) {
        if (store_pgconn_is_connecting(st->conns[k])) {
            return st->conns[k];
        }
    }
    return NULL;
}

int
store_query(store_t *st, int64_t affinity, const char *sql, int nparams, const char *const *params,
            store_result_fn fn, void *ctx)
{
    store_pgconn_t *pc;

    if (st == NULL) {
        return -1;
    }
    pc = pick(st, affinity);
    if (pc == NULL) {
        defer_failure(st, fn, ctx, store_err_unavailable);
        return 0;
    }
    store_pgconn_query(pc, sql, nparams, params, fn, ctx);
    return 0;
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
