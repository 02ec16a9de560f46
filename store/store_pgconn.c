/*
 * One libpq connection driven entirely by the host's loop: connected by
 * store_pgconn_connect.c, it sends with PQsendQuery* and reads with
 * PQconsumeInput/PQisBusy/PQgetResult, never a call that can block. One timer
 * serves the connect deadline, the in-flight statement's deadline, the oldest
 * queued statement's expiry and the backoff before a reconnect. It knows
 * nothing of pools or rooms: store_conn.c routes, this file runs statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_batch.h"
#include "store_internal.h"
#include "store_lookup.h"
#include "store_pgconn_impl.h"
#include "store_sqlstate.h"
#include "xalloc.h"

#define BACKOFF_MAX_MS 10000
#define NEVER UINT64_MAX

static void on_timer(void *ud);

static store_q_t *
pop_head(store_pgconn_t *pc)
{
    store_q_t *q = pc->head;

    if (q != NULL) {
        pc->head = q->next;
        if (pc->head == NULL) {
            pc->tail = NULL;
        }
        pc->nqueued--;
        q->next = NULL;
    }
    return q;
}

/* ---- events ---- */

static void
pc_event(store_pgconn_t *pc, const char *level, const char *event, const char *why)
{
    char msg[240], detail[320];

    if (why == NULL) {
        snprintf(detail, sizeof(detail), "%s", pc->name);
    } else {
        store_clean_msg(msg, sizeof(msg), why);
        snprintf(detail, sizeof(detail), "%s err=\"%s\"", pc->name, msg);
    }
    store_event(pc->st, level, event, detail);
}

/* SQLSTATE to store_err_*; anything unexpected, and the server's own
 * trouble (store_sqlstate_refusing), is reported here. */
static const char *
map_sqlstate(store_pgconn_t *pc, const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *err = store_sqlstate_err(state);
    char clean[200], detail[320];

    if (err != NULL && !store_sqlstate_refusing(state)) {
        return err;
    }
    store_clean_msg(clean, sizeof(clean), msg != NULL ? msg : "unknown");
    snprintf(detail, sizeof(detail), "%s sqlstate=%s err=\"%s\"", pc->name,
             state != NULL ? state : "none", clean);
    store_event_limited(pc->st, pgconn_now_ms(pc), "error", "store.query_failed", state, detail);
    return err != NULL ? err : store_err_internal;
}

/* ---- the timer ---- */

uint64_t
pgconn_now_ms(const store_pgconn_t *pc)
{
    return pc->h->now_ms(pc->h->ud);
}

/* Microseconds for the latency histogram: finer than the hooks' clock. */
static uint64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* xorshift64: jitter that differs between processes (seeded per connection). */
static uint64_t
next_rand(store_pgconn_t *pc)
{
    uint64_t x = pc->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pc->rng = x;
    return x;
}

/* The one timer fires at the earliest thing this connection waits for. */
static void
arm(store_pgconn_t *pc)
{
    uint64_t at = NEVER, now;

    if (pc->state == PC_CONNECTING || pc->state == PC_RESOLVING) {
        at = pc->connect_deadline;
    } else if (pc->state == PC_UP && pc->inflight != NULL) {
        at = pc->inflight_deadline;
    } else if (pc->state == PC_DOWN) {
        at = pc->retry_at;
    }
    if (pc->head != NULL && pc->head->expires_ms < at) {
        at = pc->head->expires_ms;
    }
    if (pc->broken) {
        at = 0;
    }
    if (at == NEVER) {
        pc->h->timer_stop(pc->timer);
        return;
    }
    now = pgconn_now_ms(pc);
    pc->h->timer_start(pc->timer, at > now ? at - now : 0);
}

/* Leave a loop callback; the last one out frees a connection freed meanwhile. */
void
pgconn_leave(store_pgconn_t *pc)
{
    if (!pc->freed) {
        arm(pc);
    }
    if (--pc->depth == 0 && pc->freed) {
        free(pc);
    }
}

/* ---- failure ---- */

void
pgconn_set_watch(store_pgconn_t *pc, int events)
{
    pc->h->watch_set(pc->watch, events);
}

static void
close_pg(store_pgconn_t *pc)
{
    store_lookup_free(pc->lookup);
    pc->lookup = NULL;
    if (pc->watch != NULL) {
        pc->h->watch_free(pc->watch); /* before PQfinish closes the socket */
        pc->watch = NULL;
    }
    if (pc->pg != NULL) {
        PQfinish(pc->pg);
        pc->pg = NULL;
    }
    if (pc->res != NULL) {
        PQclear(pc->res);
        pc->res = NULL;
    }
    pc->flushing = false;
    pc->broken = false;
    pc->nprepared = 0; /* a new session has none */
    pc->preparing = false;
}

/*
 * Answer the statement in flight with inflight_err and hand every queued one to
 * requeue (they were never sent, so they may run elsewhere) or fail it. One at a
 * time from the connection itself: a callback may free the store, and then
 * store_pgconn_free() answers what is left.
 */
static void
drain(store_pgconn_t *pc, const char *inflight_err)
{
    store_q_t *q = pc->inflight;

    pc->inflight = NULL;
    if (q != NULL) {
        store_q_fail(q, inflight_err);
    }
    while (!pc->freed && (q = pop_head(pc)) != NULL) {
        if (pc->requeue != NULL) {
            pc->requeue(pc->ud, q);
        } else {
            store_q_fail(q, store_err_unavailable);
        }
    }
}

void
pgconn_fail(store_pgconn_t *pc, const char *why, const char *inflight_err)
{
    pc->broken = false;
    if (pc->state != PC_DOWN) {
        if (why == NULL) {
            why = pc->pg != NULL ? PQerrorMessage(pc->pg) : "unknown";
        }
        if (pc->state == PC_UP) {
            pc_event(pc, "warn", "store.down", why);
            pc->failures = 1;
            pc->retry_reported = false;
        } else if (pc->failures++ % 10 == 0 || !pc->retry_reported) {
            /* The first attempt, the first after a loss (its reason, such as
             * "too many connections", is often not the loss's), then every
             * tenth: a long outage stays a few lines. */
            pc_event(pc, "warn", "store.connect_failed", why);
            pc->retry_reported = true;
        }
        close_pg(pc);
        pc->state = PC_DOWN;
        pc->retry_at = NEVER;
        if (pc->reconnect) {
            /* Equal jitter: half the backoff fixed, half random, so nodes that lost
             * the database together do not come back together. */
            unsigned half = pc->backoff_ms / 2;
            pc->retry_at = pgconn_now_ms(pc) + half + next_rand(pc) % (half + 1);
            pc->backoff_ms =
                pc->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pc->backoff_ms * 2;
        }
    }
    drain(pc, inflight_err);
}

/* ---- running statements ---- */

static bool
flush(store_pgconn_t *pc)
{
    int rc = PQflush(pc->pg);

    if (rc < 0) {
        return false;
    }
    pc->flushing = rc == 1;
    pgconn_set_watch(pc, STORE_EV_READ | (pc->flushing ? STORE_EV_WRITE : 0));
    return true;
}

/* How many statements of merge's kind are queued at the head, up to its max. */
static size_t
queued_alike(const store_pgconn_t *pc, const store_merge_t *m)
{
    size_t n = 0;

    for (const store_q_t *q = pc->head; q != NULL && q->merge == m && n < m->max; q = q->next) {
        n++;
    }
    return n;
}

/* Whether next may join parts under m's bound per affinity. */
static bool
affinity_fits(const store_merge_t *m, store_q_t *const *parts, size_t n, const store_q_t *next)
{
    size_t same = 0, bytes = next->param_bytes;

    for (size_t k = 0; m->max_affinity_bytes > 0 && k < n; k++) {
        if (parts[k]->affinity == next->affinity) {
            same++;
            bytes += parts[k]->param_bytes;
        }
    }
    return m->max_affinity_bytes == 0 || same == 0 || bytes <= m->max_affinity_bytes;
}

/* first and the statements of its kind queued right behind it, as one. It
 * stops at the first that does not fit, so the queue's order holds. */
static store_q_t *
combine_queued(store_pgconn_t *pc, store_q_t *first)
{
    const store_merge_t *m = first->merge;
    store_q_t **parts = xmalloc(m->max * sizeof(*parts));
    size_t n = 0;

    parts[n++] = first;
    while (n < m->max && pc->head != NULL && pc->head->merge == m &&
           affinity_fits(m, parts, n, pc->head)) {
        parts[n++] = pop_head(pc);
    }
    store_q_t *q = m->combine(parts, n);
    q->name = m->combined_name;
    free(parts);
    return q;
}

/* q's slot in the session's prepared statements, NULL when it has none. */
static bool *
prepared_slot(store_pgconn_t *pc, const store_q_t *q, bool *known)
{
    *known = false;
    if (q->name == NULL || q->nparams < 0) {
        return NULL;
    }
    for (size_t i = 0; i < pc->nprepared; i++) {
        if (strcmp(pc->prepared[i].name, q->name) == 0) {
            *known = true;
            return &pc->prepared[i].ok;
        }
    }
    return pc->nprepared < PREPARED_MAX ? &pc->prepared[pc->nprepared].ok : NULL;
}

/* Send the next statement. May run inside a caller of the store, so a failure
 * only marks the connection broken; the timer reports it on the next turn. */
void
pgconn_pump(store_pgconn_t *pc)
{
    store_q_t *q;
    bool known, *ok_slot;
    int ok;

    if (pc->state != PC_UP || pc->inflight != NULL || pc->broken || pc->head == NULL) {
        return;
    }
    q = pop_head(pc);
    if (q->merge != NULL && queued_alike(pc, q->merge) + 1 >= q->merge->min) {
        q = combine_queued(pc, q);
    }
    pc->inflight = q;
    pc->inflight_deadline = pgconn_now_ms(pc) + pc->deadline_ms;
    pc->inflight_sent_us = now_us();
    ok_slot = prepared_slot(pc, q, &known);
    if (ok_slot != NULL && !known) {
        /* First use on this session: prepare, then send q (complete()). */
        pc->prepared[pc->nprepared].name = q->name;
        pc->preparing = true;
        ok = PQsendPrepare(pc->pg, q->name, q->sql, q->nparams, NULL);
    } else if (ok_slot != NULL && *ok_slot) {
        ok = PQsendQueryPrepared(pc->pg, q->name, q->nparams, (const char *const *)q->params, NULL,
                                 NULL, 0);
    } else if (q->nparams < 0) {
        ok = PQsendQuery(pc->pg, q->sql);
    } else {
        ok = PQsendQueryParams(pc->pg, q->sql, q->nparams, NULL, (const char *const *)q->params,
                               NULL, NULL, 0);
    }
    if (!ok || !flush(pc)) {
        pc->broken = true;
    }
}

/* The PREPARE for the statement in flight answered: note how, and queue the
 * statement again at the head, where pgconn_pump() sends it next. */
static void
prepared(store_pgconn_t *pc)
{
    store_q_t *q = pc->inflight;
    bool ok = pc->res != NULL && PQresultStatus(pc->res) == PGRES_COMMAND_OK;

    pc->preparing = false;
    pc->prepared[pc->nprepared++].ok = ok;
    if (!ok) {
        store_event(pc->st, "warn", "store.prepare_failed", q->name);
    }
    PQclear(pc->res);
    pc->res = NULL;
    pc->inflight = NULL;
    q->next = pc->head;
    pc->head = q;
    if (pc->tail == NULL) {
        pc->tail = q;
    }
    pc->nqueued++;
}

/* A migration that changed a function's result type leaves the session's
 * plan unusable ("cached plan must not change result type", 0A000), and a
 * pooler may have lost the statement (26000): send it unnamed from now on. */
static void
forget_if_stale(store_pgconn_t *pc, const char *name, const PGresult *res)
{
    const char *code = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (code == NULL || (strcmp(code, "0A000") != 0 && strcmp(code, "26000") != 0)) {
        return;
    }
    for (size_t i = 0; i < pc->nprepared; i++) {
        if (strcmp(pc->prepared[i].name, name) == 0) {
            pc->prepared[i].ok = false;
        }
    }
}

/* Every queued statement gets its whole wait again: the one that just failed
 * held the connection for nothing, and a room queued behind a locked room's
 * statements should not fail for the time they took. */
static void
renew_deadlines(store_pgconn_t *pc)
{
    uint64_t expires = pgconn_now_ms(pc) + pc->deadline_ms;

    for (store_q_t *q = pc->head; q != NULL; q = q->next) {
        q->expires_ms = expires;
    }
}

/* Statements back to the head of the queue, in order, to be sent next. */
static void
requeue_head(store_pgconn_t *pc, store_q_t **qs, size_t n)
{
    for (size_t k = n; k-- > 0;) {
        qs[k]->next = pc->head;
        pc->head = qs[k];
        if (pc->tail == NULL) {
            pc->tail = qs[k];
        }
        pc->nqueued++;
    }
    renew_deadlines(pc);
}

/* How often a statement rolled back by a deadlock is sent again. */
#define RETRY_MAX 3

/* PostgreSQL rolled q back for another transaction's sake (a deadlock
 * between a message's insert and an enrollment's upsert, say): nothing of it
 * stayed, so it goes again, first in line. */
static bool
retry_rolled_back(store_pgconn_t *pc, store_q_t *q, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char detail[160];

    if (!store_sqlstate_retry(state) || q->retries >= RETRY_MAX || q->nparams < 0) {
        return false;
    }
    q->retries++;
    snprintf(detail, sizeof(detail), "%s sqlstate=%s try=%u", pc->name, state, q->retries + 1);
    store_event_limited(pc->st, pgconn_now_ms(pc), "warn", "store.retry", state, detail);
    requeue_head(pc, &q, 1);
    return true;
}

/* A merged statement that failed: its parts go back to the head of the queue,
 * in order, to be sent one by one. The statement was one transaction and
 * rolled back, so none of them was stored, and the failure may be one part's
 * alone: a row lock held elsewhere on one room's row, or a row the schema
 * refuses. The others then land, and only that part fails. */
static bool
split_failed(store_pgconn_t *pc, store_q_t *q, const char *err)
{
    store_q_t **parts;
    size_t n = store_batch_unmerge(q, &parts);
    char detail[160];

    if (n == 0) {
        return false;
    }
    requeue_head(pc, parts, n);
    free(parts);
    snprintf(detail, sizeof(detail), "%s parts=%zu err=%s", pc->name, n, err);
    store_event_limited(pc->st, pgconn_now_ms(pc), "warn", "store.batch_split", err, detail);
    store_q_free(q);
    return true;
}

/* A statement of one room timed out on the server alone (a row lock held
 * elsewhere, most likely): the room's statements queued behind it would each
 * wait out the timeout too, and every other room's behind them, so they fail
 * now, in order, as this one did. The other rooms' get their wait again (a
 * batch split over two locked rooms times out twice in front of them). */
static void
fail_room_queued(store_pgconn_t *pc, int64_t affinity)
{
    store_q_t *failed = NULL, **tail = &failed;

    for (store_q_t **link = &pc->head, *q; (q = *link) != NULL;) {
        if (q->affinity != affinity) {
            link = &q->next;
            continue;
        }
        *link = q->next;
        pc->nqueued--;
        q->next = NULL;
        *tail = q;
        tail = &q->next;
    }
    pc->tail = NULL;
    for (store_q_t *q = pc->head; q != NULL; q = q->next) {
        pc->tail = q;
    }
    renew_deadlines(pc);
    while (failed != NULL) {
        store_q_t *q = failed;
        failed = q->next;
        store_q_fail(q, store_err_timeout);
    }
}

static void
complete(store_pgconn_t *pc)
{
    store_q_t *q = pc->inflight;
    PGresult *res = pc->res;
    const char *err = NULL;

    if (pc->preparing) {
        prepared(pc);
        return;
    }
    pc->inflight = NULL;
    pc->res = NULL;
    if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR && retry_rolled_back(pc, q, res)) {
        PQclear(res);
        return;
    }
    if (res == NULL) {
        err = store_err_internal;
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = map_sqlstate(pc, res);
    }
    if (err != NULL && q->name != NULL) {
        forget_if_stale(pc, q->name, res);
    }
    store_pool_stats_t *stats = store_pool_stats_mut(pc->st);
    uint64_t t = now_us();
    stats->queries++;
    stats->failures += err != NULL;
    lat_hist_observe(&stats->latency, t > pc->inflight_sent_us ? t - pc->inflight_sent_us : 0);
    if (err == NULL || !split_failed(pc, q, err)) {
        int64_t affinity = q->affinity;
        q->fn(q->ctx, err == NULL ? res : NULL, err);
        store_q_free(q);
        if (err == store_err_timeout && affinity >= 0 && !pc->freed) {
            fail_room_queued(pc, affinity);
        }
    }
    PQclear(res);
}

static void
keep_result(store_pgconn_t *pc, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    bool kept_error = pc->res != NULL && PQresultStatus(pc->res) == PGRES_FATAL_ERROR;

    /* A multi-statement query (migrations) succeeds only if every part did. */
    if (kept_error || (s != PGRES_FATAL_ERROR && s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK &&
                       pc->res != NULL)) {
        PQclear(r);
        return;
    }
    PQclear(pc->res);
    pc->res = r;
}

static void
read_results(store_pgconn_t *pc)
{
    PGnotify *n;

    if (!PQconsumeInput(pc->pg)) {
        pgconn_fail(pc, NULL, store_err_unavailable);
        return;
    }
    /* PQgetResult() blocks while PQisBusy(): ask only when it will not. */
    while (pc->inflight != NULL && !PQisBusy(pc->pg)) {
        PGresult *r = PQgetResult(pc->pg);
        if (r != NULL) {
            keep_result(pc, r);
            continue;
        }
        complete(pc);
        if (pc->freed || pc->state != PC_UP) {
            return;
        }
        pgconn_pump(pc);
    }
    while ((n = PQnotifies(pc->pg)) != NULL) {
        PQfreemem(n); /* nobody LISTENs; drop strays */
    }
    if (PQstatus(pc->pg) == CONNECTION_BAD) {
        pgconn_fail(pc, NULL, store_err_unavailable);
    }
}

static void
io_up(store_pgconn_t *pc, int events)
{
    if (events & STORE_EV_READ) {
        read_results(pc);
    }
    /* libpq: with output pending, flush again after either readiness. */
    if (!pc->freed && pc->state == PC_UP && pc->flushing && !flush(pc)) {
        pgconn_fail(pc, NULL, store_err_unavailable);
    }
}

/* ---- loop entry points ---- */

void
pgconn_on_io(void *ud, int events)
{
    store_pgconn_t *pc = ud;

    pc->depth++;
    if (pc->state == PC_CONNECTING) {
        pgconn_connect_step(pc);
    } else if (pc->state == PC_UP) {
        io_up(pc, events);
    }
    pgconn_leave(pc);
}

static void
expire_queued(store_pgconn_t *pc, uint64_t now)
{
    while (!pc->freed && pc->head != NULL && pc->head->expires_ms <= now) {
        store_q_fail(pop_head(pc), store_err_timeout);
    }
}

static void
on_timer(void *ud)
{
    store_pgconn_t *pc = ud;
    uint64_t now = pgconn_now_ms(pc);

    pc->depth++;
    if (pc->broken) {
        pgconn_fail(pc, NULL, store_err_unavailable);
    } else if (pc->state == PC_CONNECTING && now >= pc->connect_deadline) {
        pgconn_fail(pc, "connect timeout", store_err_unavailable);
    } else if (pc->state == PC_RESOLVING && now >= pc->connect_deadline) {
        pgconn_connect_resolved(pc, "timeout"); /* with the hosts that did answer, if any */
    } else if (pc->state == PC_UP && pc->inflight != NULL && now >= pc->inflight_deadline) {
        /* No answer in time, not even the server's statement_timeout: the session
         * is stuck or the network is. The statement may still have run, so the
         * caller hears "timeout", and the session is replaced. */
        store_pool_stats_mut(pc->st)->failures++;
        pgconn_fail(pc, "query timeout", store_err_timeout);
    } else if (pc->state == PC_DOWN && now >= pc->retry_at) {
        pgconn_connect(pc);
    }
    if (!pc->freed) {
        expire_queued(pc, now);
    }
    pgconn_leave(pc);
}

/* ---- API ---- */

store_pgconn_t *
store_pgconn_new(store_t *st, const char *name, unsigned statement_timeout_ms, unsigned deadline_ms,
                 bool reconnect, store_requeue_fn requeue, void *ud)
{
    store_pgconn_t *pc = xcalloc(1, sizeof(*pc));

    pc->st = st;
    pc->h = store_hooks(st);
    snprintf(pc->name, sizeof(pc->name), "%s", name);
    pc->stmt_timeout_ms = statement_timeout_ms;
    pc->deadline_ms = deadline_ms;
    pc->reconnect = reconnect;
    pc->requeue = requeue;
    pc->ud = ud;
    pc->backoff_ms = BACKOFF_MIN_MS;
    pc->retry_at = NEVER;
    pc->rng = (pc->h->now_ms(pc->h->ud) << 20) ^ (uint64_t)(uintptr_t)pc ^
              ((uint64_t)getpid() << 40) ^ UINT64_C(0x9e3779b97f4a7c15);
    pc->timer = pc->h->timer_new(pc->h->ud, on_timer, pc);
    pgconn_connect(pc);
    arm(pc);
    return pc;
}

void
store_pgconn_push(store_pgconn_t *pc, store_q_t *q)
{
    q->next = NULL;
    if (pc->freed) {
        store_q_fail(q, store_err_shutdown); /* only while store_free() runs */
        return;
    }
    if (q->expires_ms == 0) {
        q->expires_ms = pgconn_now_ms(pc) + pc->deadline_ms;
    }
    if (pc->tail != NULL) {
        pc->tail->next = q;
    } else {
        pc->head = q;
    }
    pc->tail = q;
    pc->nqueued++;
    if (pc->state == PC_DOWN && !pc->reconnect) {
        pc->broken = true; /* it will never come back: fail on the next turn */
    }
    pgconn_pump(pc);
    arm(pc);
}

bool
store_pgconn_is_up(const store_pgconn_t *pc)
{
    return pc->state == PC_UP && !pc->broken;
}

/* Behind: this many statements wait, or the one in flight has run this long
 * (a lock wait, a slow plan, a core too busy to answer). */
#define BEHIND_QUEUED 64
#define BEHIND_US 10000

bool
store_pgconn_behind(const store_pgconn_t *pc)
{
    return pc->nqueued >= BEHIND_QUEUED ||
           (pc->inflight != NULL && now_us() - pc->inflight_sent_us > BEHIND_US);
}

bool
store_pgconn_holds(const store_pgconn_t *pc)
{
    return pc->state == PC_UP || store_pgconn_is_starting(pc);
}

bool
store_pgconn_is_starting(const store_pgconn_t *pc)
{
    return (pc->state == PC_CONNECTING || pc->state == PC_RESOLVING) && !pc->ever_up &&
           pc->failures == 0;
}

size_t
store_pgconn_load(const store_pgconn_t *pc)
{
    return pc->nqueued + (pc->inflight != NULL ? 1 : 0);
}

void
store_pgconn_free(store_pgconn_t *pc, const char *err)
{
    store_q_t *q;

    if (pc == NULL || pc->freed) {
        return;
    }
    pc->freed = true;
    close_pg(pc);
    pc->h->timer_free(pc->timer);
    pc->timer = NULL;
    pc->state = PC_DOWN;
    q = pc->inflight;
    pc->inflight = NULL;
    if (q != NULL) {
        store_q_fail(q, err);
    }
    while ((q = pop_head(pc)) != NULL) {
        store_q_fail(q, err);
    }
    if (pc->depth == 0) {
        free(pc);
    }
}
