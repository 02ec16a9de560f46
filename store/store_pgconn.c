/*
 * One libpq connection driven entirely by the host's loop: connect with
 * PQconnectStartParams/PQconnectPoll, send with PQsendQuery*, read with
 * PQconsumeInput/PQisBusy/PQgetResult, never a call that can block. Its own
 * timer bounds the connect, each statement's round trip, and the backoff
 * before a reconnect (the three never overlap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "xalloc.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

typedef struct pq_item {
    struct pq_item *next;
    char *sql;
    int nparams;
    char **params;
    store_result_fn fn;
    void *ctx;
} pq_item_t;

typedef enum { PC_DOWN, PC_CONNECTING, PC_UP } pc_state_t;

struct store_pgconn {
    store_t *st;
    int index;
    unsigned stmt_timeout_ms;
    unsigned deadline_ms;
    bool reconnect;
    store_pgconn_state_fn on_state;
    void *ud;
    PGconn *pg;
    void *watch;
    void *timer;
    pc_state_t state;
    pq_item_t *head, *tail;
    size_t nqueued;
    pq_item_t *inflight;
    PGresult *res; /* the statement's result so far: the first error, else the last */
    unsigned backoff_ms;
};

static void on_io(void *ud, int events);
static void pc_connect(store_pgconn_t *pc);

static void
item_free(pq_item_t *it)
{
    for (int i = 0; i < it->nparams; i++) {
        free(it->params[i]);
    }
    free(it->params);
    free(it->sql);
    free(it);
}

static const char *
map_sqlstate(store_pgconn_t *pc, const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    char detail[320];

    if (state != NULL) {
        if (strcmp(state, "23503") == 0 || strcmp(state, "23514") == 0 ||
            strcmp(state, "22P02") == 0 || strcmp(state, "22023") == 0 ||
            strcmp(state, "23502") == 0 || strcmp(state, "22003") == 0) {
            return store_err_invalid;
        }
        if (strcmp(state, "23505") == 0) {
            return store_err_conflict;
        }
        if (strcmp(state, "57014") == 0) {
            return store_err_timeout;
        }
        if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0) {
            return store_err_unavailable;
        }
    }
    snprintf(detail, sizeof(detail), "conn=%d sqlstate=%s err=\"%.200s\"", pc->index,
             state != NULL ? state : "none", msg != NULL ? msg : "unknown");
    store_event(pc->st, "error", "store.query_failed", detail);
    return store_err_internal;
}

/* Detach everything queued and in flight, then answer each with err. Detaching
 * first lets a callback queue new work without disturbing the walk. */
static void
fail_all(store_pgconn_t *pc, const char *inflight_err, const char *queued_err)
{
    pq_item_t *inflight = pc->inflight, *it = pc->head;

    pc->inflight = NULL;
    pc->head = pc->tail = NULL;
    pc->nqueued = 0;
    if (pc->res != NULL) {
        PQclear(pc->res);
        pc->res = NULL;
    }
    if (inflight != NULL) {
        inflight->fn(inflight->ctx, NULL, inflight_err);
        item_free(inflight);
    }
    while (it != NULL) {
        pq_item_t *next = it->next;
        it->fn(it->ctx, NULL, queued_err);
        item_free(it);
        it = next;
    }
}

static void
close_pg(store_pgconn_t *pc)
{
    const store_hooks_t *h = store_hooks(pc->st);

    h->timer_stop(pc->timer);
    if (pc->watch != NULL) {
        h->watch_free(pc->watch); /* before PQfinish closes the socket */
        pc->watch = NULL;
    }
    if (pc->pg != NULL) {
        PQfinish(pc->pg);
        pc->pg = NULL;
    }
}

static void
pc_fail(store_pgconn_t *pc, const char *why, const char *inflight_err)
{
    char detail[320];
    const char *msg = why;
    bool was_up = pc->state == PC_UP;
    size_t n;

    if (msg == NULL && pc->pg != NULL) {
        msg = PQerrorMessage(pc->pg);
    }
    snprintf(detail, sizeof(detail), "conn=%d err=\"%.200s", pc->index,
             msg != NULL ? msg : "unknown");
    /* libpq's messages end in a newline and may hold quotes: one clean line. */
    for (char *p = detail; *p != '\0'; p++) {
        if (*p == '\n' || *p == '"' || *p == '\r') {
            *p = ' ';
        }
    }
    n = strlen(detail);
    while (n > 0 && detail[n - 1] == ' ') {
        detail[--n] = '\0';
    }
    snprintf(detail + n, sizeof(detail) - n, "\"");
    store_event(pc->st, "warn", was_up ? "store.down" : "store.connect_failed", detail);
    close_pg(pc);
    pc->state = PC_DOWN;
    if (pc->reconnect) {
        unsigned jitter = pc->backoff_ms / 2 > 0 ? (unsigned)rand() % (pc->backoff_ms / 2 + 1) : 0;
        store_hooks(pc->st)->timer_start(pc->timer, pc->backoff_ms / 2 + jitter + 1);
        pc->backoff_ms = pc->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pc->backoff_ms * 2;
    }
    pc->on_state(pc->ud, pc, false);
    fail_all(pc, inflight_err, store_err_unavailable);
}

static void
set_watch(store_pgconn_t *pc, int events)
{
    store_hooks(pc->st)->watch_set(pc->watch, events);
}

static void
pump(store_pgconn_t *pc)
{
    pq_item_t *it;
    int ok, rc;

    if (pc->state != PC_UP || pc->inflight != NULL || pc->head == NULL) {
        return;
    }
    it = pc->head;
    pc->head = it->next;
    if (pc->head == NULL) {
        pc->tail = NULL;
    }
    pc->nqueued--;
    it->next = NULL;
    pc->inflight = it;
    if (it->nparams < 0) {
        ok = PQsendQuery(pc->pg, it->sql);
    } else {
        ok = PQsendQueryParams(pc->pg, it->sql, it->nparams, NULL, (const char *const *)it->params,
                               NULL, NULL, 0);
    }
    if (!ok) {
        pc_fail(pc, NULL, store_err_unavailable);
        return;
    }
    rc = PQflush(pc->pg);
    if (rc < 0) {
        pc_fail(pc, NULL, store_err_unavailable);
        return;
    }
    set_watch(pc, STORE_EV_READ | (rc == 1 ? STORE_EV_WRITE : 0));
    store_hooks(pc->st)->timer_start(pc->timer, pc->deadline_ms);
}

static void
complete(store_pgconn_t *pc)
{
    pq_item_t *it = pc->inflight;
    PGresult *res = pc->res;
    const char *err = NULL;

    pc->inflight = NULL;
    pc->res = NULL;
    store_hooks(pc->st)->timer_stop(pc->timer);
    if (res == NULL) {
        err = store_err_internal;
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = map_sqlstate(pc, res);
    }
    it->fn(it->ctx, err == NULL ? res : NULL, err);
    item_free(it);
    PQclear(res);
}

static void
keep_result(store_pgconn_t *pc, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    bool kept_error = pc->res != NULL && PQresultStatus(pc->res) == PGRES_FATAL_ERROR;

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
    if (!PQconsumeInput(pc->pg)) {
        pc_fail(pc, NULL, store_err_unavailable);
        return;
    }
    while (pc->state == PC_UP && pc->inflight != NULL && !PQisBusy(pc->pg)) {
        PGresult *r = PQgetResult(pc->pg);
        if (r == NULL) {
            complete(pc);
            pump(pc);
        } else {
            keep_result(pc, r);
        }
    }
    /* Notices and stray notifications are consumed and dropped. */
    PGnotify *n;
    while (pc->pg != NULL && (n = PQnotifies(pc->pg)) != NULL) {
        PQfreemem(n);
    }
}

/* Server notices ("relation already exists, skipping") are not ours to print. */
static void
ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void
on_up(store_pgconn_t *pc)
{
    char detail[64];

    PQsetnonblocking(pc->pg, 1);
    PQsetNoticeProcessor(pc->pg, ignore_notice, NULL);
    pc->state = PC_UP;
    pc->backoff_ms = BACKOFF_MIN_MS;
    store_hooks(pc->st)->timer_stop(pc->timer);
    set_watch(pc, STORE_EV_READ);
    snprintf(detail, sizeof(detail), "conn=%d", pc->index);
    store_event(pc->st, "info", "store.up", detail);
    pc->on_state(pc->ud, pc, true);
    pump(pc);
}

/* During the connect libpq may swap its socket, even for one with the same
 * number: a fresh watch per step keeps the loop's registration honest. */
static void
rewatch(store_pgconn_t *pc, int events)
{
    const store_hooks_t *h = store_hooks(pc->st);

    if (pc->watch != NULL) {
        h->watch_free(pc->watch);
    }
    pc->watch = h->watch_new(h->ud, PQsocket(pc->pg), on_io, pc);
    if (pc->watch == NULL) {
        pc_fail(pc, "cannot watch the socket", store_err_unavailable);
        return;
    }
    set_watch(pc, events);
}

static void
connect_step(store_pgconn_t *pc)
{
    switch (PQconnectPoll(pc->pg)) {
    case PGRES_POLLING_OK:
        on_up(pc);
        break;
    case PGRES_POLLING_READING:
        rewatch(pc, STORE_EV_READ);
        break;
    case PGRES_POLLING_WRITING:
        rewatch(pc, STORE_EV_WRITE);
        break;
    default:
        pc_fail(pc, NULL, store_err_unavailable);
        break;
    }
}

static void
on_io(void *ud, int events)
{
    store_pgconn_t *pc = ud;

    if (pc->state == PC_CONNECTING) {
        connect_step(pc);
        return;
    }
    if (pc->state != PC_UP) {
        return;
    }
    if (events & STORE_EV_WRITE) {
        int rc = PQflush(pc->pg);
        if (rc < 0) {
            pc_fail(pc, NULL, store_err_unavailable);
            return;
        }
        set_watch(pc, STORE_EV_READ | (rc == 1 ? STORE_EV_WRITE : 0));
    }
    if (events & STORE_EV_READ) {
        read_results(pc);
    }
}

static void
on_timer(void *ud)
{
    store_pgconn_t *pc = ud;

    switch (pc->state) {
    case PC_DOWN:
        pc_connect(pc);
        break;
    case PC_CONNECTING:
        pc_fail(pc, "connect timeout", store_err_unavailable);
        break;
    case PC_UP:
        if (pc->inflight != NULL) {
            /* No answer in time: the statement may still have run, so the
             * caller hears "timeout", and the session is replaced. */
            pc_fail(pc, "query timeout", store_err_timeout);
        }
        break;
    }
}

static void
pc_connect(store_pgconn_t *pc)
{
    const store_config_t *cfg = store_config(pc->st);
    const char *keys[6], *vals[6];
    char opts[64];
    int n = 0;

    keys[n] = "dbname";
    vals[n++] = cfg->conninfo;
    if (cfg->hostaddr != NULL) {
        keys[n] = "hostaddr";
        vals[n++] = cfg->hostaddr;
    }
    if (pc->stmt_timeout_ms > 0) {
        snprintf(opts, sizeof(opts), "-c statement_timeout=%u", pc->stmt_timeout_ms);
        keys[n] = "options";
        vals[n++] = opts;
    }
    keys[n] = "application_name";
    vals[n++] = "chathub";
    keys[n] = NULL;
    vals[n] = NULL;
    pc->pg = PQconnectStartParams(keys, vals, 1);
    if (pc->pg == NULL || PQstatus(pc->pg) == CONNECTION_BAD) {
        pc->state = PC_CONNECTING;
        pc_fail(pc, pc->pg == NULL ? "out of memory" : NULL, store_err_unavailable);
        return;
    }
    pc->state = PC_CONNECTING;
    /* connect_timeout is ignored under PQconnectPoll (PITFALLS.md): our timer. */
    store_hooks(pc->st)->timer_start(pc->timer, cfg->connect_timeout_ms);
    rewatch(pc, STORE_EV_WRITE);
}

store_pgconn_t *
store_pgconn_new(store_t *st, int index, unsigned statement_timeout_ms, unsigned deadline_ms,
                 bool reconnect, store_pgconn_state_fn on_state, void *ud)
{
    store_pgconn_t *pc = xcalloc(1, sizeof(*pc));
    const store_hooks_t *h = store_hooks(st);

    pc->st = st;
    pc->index = index;
    pc->stmt_timeout_ms = statement_timeout_ms;
    pc->deadline_ms = deadline_ms;
    pc->reconnect = reconnect;
    pc->on_state = on_state;
    pc->ud = ud;
    pc->backoff_ms = BACKOFF_MIN_MS;
    pc->timer = h->timer_new(h->ud, on_timer, pc);
    pc_connect(pc);
    return pc;
}

void
store_pgconn_query(store_pgconn_t *pc, const char *sql, int nparams, const char *const *params,
                   store_result_fn fn, void *ctx)
{
    pq_item_t *it;

    if (pc->state == PC_DOWN && !pc->reconnect) {
        fn(ctx, NULL, store_err_unavailable); /* it will never come back */
        return;
    }
    it = xcalloc(1, sizeof(*it));
    it->sql = xstrdup(sql);
    it->nparams = nparams;
    it->fn = fn;
    it->ctx = ctx;
    if (nparams > 0) {
        it->params = xcalloc((size_t)nparams, sizeof(char *));
        for (int i = 0; i < nparams; i++) {
            it->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
        }
    }
    if (pc->tail != NULL) {
        pc->tail->next = it;
    } else {
        pc->head = it;
    }
    pc->tail = it;
    pc->nqueued++;
    pump(pc);
}

bool
store_pgconn_is_up(const store_pgconn_t *pc)
{
    return pc->state == PC_UP;
}

bool
store_pgconn_is_connecting(const store_pgconn_t *pc)
{
    return pc->state == PC_CONNECTING;
}

size_t
store_pgconn_load(const store_pgconn_t *pc)
{
    return pc->nqueued + (pc->inflight != NULL ? 1 : 0);
}

void
store_pgconn_free(store_pgconn_t *pc, const char *err)
{
    if (pc == NULL) {
        return;
    }
    close_pg(pc);
    pc->state = PC_DOWN;
    store_hooks(pc->st)->timer_free(pc->timer);
    fail_all(pc, err, err);
    free(pc);
}

int64_t
store_col_i64(const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);

    return v != NULL ? strtoll(v, NULL, 10) : 0;
}

const char *
store_col_str(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

bool
store_col_bool(const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);

    return v != NULL && v[0] == 't';
}
