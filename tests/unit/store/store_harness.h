/*
 * What the store tests share (test_store.c, test_store_conn.c): a libuv loop
 * driven in small steps, the store's events counted, callbacks that record
 * into a small result struct, an admin connection, and a database of each
 * run's own (dropped at the end; TEST_STORE_KEEP=1 keeps it). Header-only,
 * like tap.h: each test binary is one translation unit.
 */
#ifndef CHATHUB_TEST_STORE_HARNESS_H
#define CHATHUB_TEST_STORE_HARNESS_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "../tap.h"
#include "hub_store_uv.h"
#include "store_auth.h"
#include "store_internal.h"
#include "store_migrate.h"
#include "store_migrations.h"
#include "store_msg.h"
#include "store_room.h"
#include "store_user.h"

static uv_loop_t loop;
static uv_timer_t tick; /* keeps the loop from sleeping past a check */
static int pending;     /* callbacks still to come */
static int fired;       /* callbacks so far: a call must never bump it itself */

/* ---- events ---- */

static struct {
    int up, down, connect_failed, applied, query_failed, lock_timeout, batch_split, retry;
    int loud_failed;     /* store.query_failed above debug */
    int loud_held;       /* of which said how many were held */
    char last_loud[400]; /* its last detail */
    int leaked;          /* details that held the password or the whole conninfo */
} ev;
static const char *secret_password;
static const char *secret_conninfo;

static inline void
on_event(void *ud, const char *level, const char *event, const char *detail)
{
    (void)ud;
    (void)level;
    if (getenv("TEST_STORE_VERBOSE") != NULL) {
        printf("# event %s %s %s\n", level, event, detail != NULL ? detail : "");
    }
    ev.up += strcmp(event, "store.up") == 0;
    ev.down += strcmp(event, "store.down") == 0;
    ev.connect_failed += strcmp(event, "store.connect_failed") == 0;
    ev.applied += strcmp(event, "migrate.applied") == 0;
    ev.query_failed += strcmp(event, "store.query_failed") == 0;
    if (strcmp(event, "store.query_failed") == 0 && strcmp(level, "debug") != 0) {
        ev.loud_failed++;
        ev.loud_held += detail != NULL && strstr(detail, "held=") != NULL;
        snprintf(ev.last_loud, sizeof(ev.last_loud), "%s", detail != NULL ? detail : "");
    }
    ev.lock_timeout += strcmp(event, "migrate.lock_timeout") == 0;
    ev.batch_split += strcmp(event, "store.batch_split") == 0;
    ev.retry += strcmp(event, "store.retry") == 0;
    if (detail != NULL && ((secret_password != NULL && strstr(detail, secret_password) != NULL) ||
                           (secret_conninfo != NULL && strstr(detail, secret_conninfo) != NULL))) {
        ev.leaked++;
    }
}

/* ---- the loop ---- */

static inline uint64_t
now_ms(void)
{
    return uv_hrtime() / 1000000;
}

static inline void
on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Run the loop for ms milliseconds. */
static inline void
run_for(uint64_t ms)
{
    uint64_t end = now_ms() + ms;

    uv_timer_start(&tick, on_tick, 10, 10);
    while (now_ms() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&tick);
}

/* Run the loop until every pending callback has fired (or 20 s passed). */
static inline void
wait_all(void)
{
    uint64_t end = now_ms() + 20000;

    uv_timer_start(&tick, on_tick, 100, 100);
    while (pending > 0 && now_ms() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&tick);
    ok(pending == 0, "  callbacks all arrived (%d missing)", pending);
    pending = 0;
}

/* Queue expr; it must return 0 and run no callback inside the call. */
#define CALL(expr)                                                                                 \
    do {                                                                                           \
        int fired_before_ = fired;                                                                 \
        int rc_ = (expr);                                                                          \
        ok(rc_ == 0 && fired == fired_before_, "queued, no callback inside: %s", #expr);           \
        pending += rc_ == 0;                                                                       \
    } while (0)

static inline store_t *
open_store(const char *url, unsigned pool, unsigned query_timeout_ms, unsigned connect_timeout_ms)
{
    store_hooks_t hooks;
    store_config_t cfg = {.conninfo = url,
                          .pool_size = pool,
                          .query_timeout_ms = query_timeout_ms,
                          .connect_timeout_ms = connect_timeout_ms};

    hub_store_uv_hooks_init(&hooks, &loop, on_event, NULL);
    return store_new(&cfg, &hooks);
}

/* Wait until the store has a connection up (or 5 s passed). */
static inline void
wait_up(store_t *st)
{
    uint64_t end = now_ms() + 5000;

    while (!store_is_up(st) && now_ms() < end) {
        run_for(20);
    }
}

/* Run the loop until n more store.up events arrived (or 5 s passed). */
static inline void
wait_ups(int n)
{
    uint64_t end = now_ms() + 5000;
    int target = ev.up + n;

    while (ev.up < target && now_ms() < end) {
        run_for(20);
    }
}

/* ---- callbacks that record into a small result struct ---- */

typedef struct res {
    const char *err;
    int applied;
    int64_t id;
    bool flag;
    bool renamed; /* on_user */
    bool archived;
    int64_t seq;
    char text[256];
    int64_t seqs[128];
    int64_t ids[16];
    size_t n;
    int64_t removed[16];
    size_t nremoved;
    char *content; /* first message's content (history) or the message's (insert) */
    size_t content_len;
    char created_at[40];
    uint64_t at; /* when the callback ran */
} res_t;

static inline void
res_clear(res_t *r)
{
    free(r->content);
    memset(r, 0, sizeof(*r));
}

static inline void
got(void)
{
    fired++;
    pending--;
}

static inline void
on_done(void *ud, const char *err)
{
    res_t *r = ud;

    r->err = err;
    r->at = now_ms();
    got();
}

static inline void
on_user(void *ud, const char *full_name, bool is_active, bool renamed, const char *err)
{
    res_t *r = ud;

    snprintf(r->text, sizeof(r->text), "%s", full_name != NULL ? full_name : "");
    r->flag = is_active;
    r->renamed = renamed;
    on_done(ud, err);
}

static inline void
on_migrated(void *ud, int applied, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->applied = applied;
    r->err = err;
    got();
}

static inline void
on_token(void *ud, int64_t user_id, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->id = user_id;
    r->err = err;
    got();
}

static inline void
on_room(void *ud, int64_t id, bool created, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->id = id;
    r->flag = created;
    r->err = err;
    got();
}

static inline void
on_room_put(void *ud, int64_t id, bool created, const int64_t *removed, size_t nremoved,
            const char *err)
{
    res_t *r = ud;

    on_room(ud, id, created, err);
    r->nremoved = 0;
    for (size_t i = 0; i < nremoved && i < sizeof(r->removed) / sizeof(r->removed[0]); i++) {
        r->removed[r->nremoved++] = removed[i];
    }
}

/* Of n answers to racing room PUTs: how many created the room, how many failed. */
static inline void
count_created(const res_t *rs, int n, int *created, int *errs)
{
    *created = *errs = 0;
    for (int i = 0; i < n; i++) {
        *created += rs[i].flag;
        *errs += rs[i].err != NULL;
    }
}

static inline void
on_join(void *ud, const store_join_t *j, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->err = err;
    if (j != NULL) {
        r->id = j->room.id;
        r->n = j->nparts;
        r->seq = j->last_seq;
        r->archived = j->archived;
        snprintf(r->text, sizeof(r->text), "%s|%s|%s|%s", j->user.full_name, j->user.role,
                 j->room.type, j->room.name);
        for (size_t i = 0; i < j->nparts && i < 16; i++) {
            r->ids[i] = j->parts[i].user.id;
        }
    }
    got();
}

static inline void
keep_content(res_t *r, const proto_msg_t *m)
{
    free(r->content);
    r->content = malloc(m->content_len + 1);
    memcpy(r->content, m->content, m->content_len);
    r->content[m->content_len] = '\0';
    r->content_len = m->content_len;
    snprintf(r->created_at, sizeof(r->created_at), "%s", m->created_at);
}

static inline void
on_msg(void *ud, const proto_msg_t *m, bool duplicate, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->err = err;
    r->flag = duplicate;
    if (m != NULL) {
        r->id = m->id;
        r->seq = m->seq;
        snprintf(r->text, sizeof(r->text), "%.*s|%s|%s|%s",
                 (int)(m->content_len < 40 ? m->content_len : 40), m->content,
                 m->sender.id != 0 ? m->sender.full_name : "-",
                 m->sender.id != 0 ? m->sender.role : "-",
                 m->client_id != NULL ? m->client_id : "-");
        keep_content(r, m);
    }
    got();
}

static inline void
on_history(void *ud, const proto_msg_t *msgs, size_t n, bool has_more, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->err = err;
    r->flag = has_more;
    r->n = n;
    for (size_t i = 0; i < n && i < 128; i++) {
        r->seqs[i] = msgs[i].seq;
    }
    if (n > 0) {
        keep_content(r, &msgs[0]);
    }
    got();
}

static inline void
on_result(void *ctx, const PGresult *res, const char *err)
{
    res_t *r = ctx;

    r->at = now_ms();
    r->err = err;
    if (res != NULL && PQntuples(res) > 0) {
        r->id = store_col_i64(res, 0, 0);
    }
    got();
}

/* ---- the database for this run (test setup may block; the store never does) ---- */

/* base with its database replaced by name, for a URI or a key=value string. */
static inline char *
with_dbname(const char *base, const char *name)
{
    size_t cap = strlen(base) + strlen(name) + 16;
    char *url = malloc(cap);
    const char *scheme = strstr(base, "://");

    if (scheme == NULL) {
        snprintf(url, cap, "%s dbname=%s", base, name); /* later keys win */
        return url;
    }
    const char *auth = scheme + 3;
    const char *end = auth + strcspn(auth, "/?");
    const char *query = *end == '/' ? strchr(end, '?') : (*end == '?' ? end : NULL);
    snprintf(url, cap, "%.*s/%s%s", (int)(end - base), base, name, query != NULL ? query : "");
    return url;
}

static inline void
quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static inline PGconn *
admin_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);

    if (PQstatus(c) != CONNECTION_OK) {
        printf("Bail out! cannot connect: %s", PQerrorMessage(c));
        exit(1);
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

/* Run sql on c; true when it succeeded. */
static inline bool
admin(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    bool good = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

    if (!good) {
        printf("# admin: %s", PQerrorMessage(c));
    }
    PQclear(r);
    return good;
}

/* Migrate url's database (the files whose tests need the schema, not the race). */
static inline void
harness_migrate(const char *url)
{
    store_t *st = open_store(url, 1, 5000, 3000);
    res_t r = {0};

    CALL(store_migrate(st, 30, on_migrated, &r));
    wait_all();
    ok(r.err == NULL && r.applied == (int)store_migrations_count, "the database is migrated");
    store_free(st);
}

static char dbname[64];

static inline char *
fresh_database(const char *base)
{
    char sql[128];
    PGconn *c = admin_connect(base);

    snprintf(dbname, sizeof(dbname), "chathub_store_test_%ld_%d", (long)time(NULL), (int)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0", dbname);
    if (!admin(c, sql)) {
        printf("Bail out! cannot create a database\n");
        exit(1);
    }
    PQfinish(c);
    return with_dbname(base, dbname);
}

static inline void
drop_database(const char *base)
{
    char sql[160];
    PGconn *c;

    if (getenv("TEST_STORE_KEEP") != NULL) {
        printf("# kept database %s\n", dbname);
        return;
    }
    c = admin_connect(base);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    admin(c, sql);
    PQfinish(c);
}

/* ---- migrations ---- */

/* ---- a run ---- */

static PQconninfoOption *harness_opts;

/* The loop and a fresh database for this run; NULL (the skip printed) when
 * TEST_DATABASE_URL is unset. */
static inline char *
harness_begin(const char *base)
{
    char *url;

    if (base == NULL || base[0] == '\0') {
        printf("1..0 # SKIP no TEST_DATABASE_URL\n");
        return NULL;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    url = fresh_database(base);
    secret_conninfo = url;
    harness_opts = PQconninfoParse(url, NULL);
    for (PQconninfoOption *o = harness_opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0') {
            secret_password = o->val;
        }
    }
    return url;
}

/* The checks every run ends with, then the database dropped; the exit code. */
static inline int
harness_end(const char *base, char *url)
{
    ok(ev.leaked == 0, "no event carried the password or the connection string");
    ok(ev.query_failed == 0, "no unexpected SQL error was reported (%d)", ev.query_failed);
    /* Every handle the store made is closed by now; the loop must close clean. */
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ok(uv_loop_close(&loop) == 0, "the loop closes: no handle left behind");
    PQconninfoFree(harness_opts);
    drop_database(base);
    free(url);
    return tap_done();
}

#endif
