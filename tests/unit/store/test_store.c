/*
 * The store against a real PostgreSQL (TEST_DATABASE_URL; skipped without it):
 * migrations under concurrency, users, tokens, rooms, joins with every error,
 * gapless seq under concurrent inserts, client_id idempotency, history pages,
 * and a dead server answered quickly with store_err_unavailable.
 */
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
#include "store_migrate.h"
#include "store_msg.h"
#include "store_room.h"
#include "store_user.h"

static uv_loop_t loop;
static int pending;

/* Run the loop until every pending callback has fired (or 20 s passed). */
static void
wait_all(void)
{
    uint64_t deadline = uv_now(&loop) + 20000;

    while (pending > 0 && uv_now(&loop) < deadline) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    ok(pending == 0, "  callbacks all arrived");
    pending = 0;
}

static store_t *
open_store(const char *url, unsigned pool)
{
    store_hooks_t hooks;
    store_config_t cfg = {
        .conninfo = url, .pool_size = pool, .query_timeout_ms = 5000, .connect_timeout_ms = 3000};

    hub_store_uv_hooks_init(&hooks, &loop, NULL, NULL);
    return store_new(&cfg, &hooks);
}

/* ---- callbacks that record into small result structs ---- */

typedef struct res {
    const char *err;
    int applied;
    int64_t id;
    bool flag;
    int64_t seq;
    char text[256];
    int64_t seqs[16];
    size_t n;
} res_t;

static void
on_done(void *ud, const char *err)
{
    ((res_t *)ud)->err = err;
    pending--;
}

static void
on_migrated(void *ud, int applied, const char *err)
{
    res_t *r = ud;
    r->applied = applied;
    r->err = err;
    pending--;
}

static void
on_token(void *ud, int64_t user_id, const char *err)
{
    res_t *r = ud;
    r->id = user_id;
    r->err = err;
    pending--;
}

static void
on_room(void *ud, int64_t id, bool created, const char *err)
{
    res_t *r = ud;
    r->id = id;
    r->flag = created;
    r->err = err;
    pending--;
}

static void
on_join(void *ud, const store_join_t *j, const char *err)
{
    res_t *r = ud;
    r->err = err;
    if (j != NULL) {
        r->id = j->room.id;
        r->n = j->nparts;
        r->seq = j->last_seq;
        snprintf(r->text, sizeof(r->text), "%s|%s|%s|%s", j->user.full_name, j->user.role,
                 j->room.type, j->room.name);
    }
    pending--;
}

static void
on_msg(void *ud, const proto_msg_t *m, bool duplicate, const char *err)
{
    res_t *r = ud;
    r->err = err;
    r->flag = duplicate;
    if (m != NULL) {
        r->id = m->id;
        r->seq = m->seq;
        snprintf(r->text, sizeof(r->text), "%.*s|%s|%s", (int)m->content_len, m->content,
                 m->sender.full_name != NULL ? m->sender.full_name : "-", m->created_at);
    }
    pending--;
}

static void
on_history(void *ud, const proto_msg_t *msgs, size_t n, bool has_more, const char *err)
{
    res_t *r = ud;
    r->err = err;
    r->flag = has_more;
    r->n = n;
    for (size_t i = 0; i < n && i < 16; i++) {
        r->seqs[i] = msgs[i].seq;
    }
    pending--;
}

#define CALL(expr)                                                                                 \
    do {                                                                                           \
        ok((expr) == 0, "queued: %s", #expr);                                                      \
        pending++;                                                                                 \
    } while (0)

/* A fresh database on the test server, so reruns start empty. */
static char *
fresh_database(const char *base)
{
    char name[64], sql[128];
    PGconn *c = PQconnectdb(base); /* test setup may block; the store never does */
    PGresult *r;

    snprintf(name, sizeof(name), "store_test_%ld_%d", (long)time(NULL), (int)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "# %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
    size_t cap = strlen(base) + 80;
    char *url = malloc(cap);
    const char *slash = strrchr(base, '/');
    snprintf(url, cap, "%.*s/%s", (int)(slash - base), base, name);
    return url;
}

static void
test_migrations(const char *url)
{
    store_t *st[3];
    res_t r[3];

    memset(r, 0, sizeof(r));
    for (int i = 0; i < 3; i++) {
        st[i] = open_store(url, 1);
    }
    for (int i = 0; i < 3; i++) {
        CALL(store_migrate(st[i], 30, on_migrated, &r[i]));
    }
    wait_all();
    ok(r[0].err == NULL && r[1].err == NULL && r[2].err == NULL, "three concurrent migrations");
    ok((r[0].applied > 0) + (r[1].applied > 0) + (r[2].applied > 0) == 1,
       "exactly one applied (%d %d %d)", r[0].applied, r[1].applied, r[2].applied);
    CALL(store_migrate(st[0], 5, on_migrated, &r[0]));
    wait_all();
    ok(r[0].err == NULL && r[0].applied == 0, "a second run applies nothing");
    for (int i = 0; i < 3; i++) {
        store_free(st[i]);
    }
}

static void
test_users_tokens(store_t *st)
{
    res_t r = {0};

    CALL(store_user_upsert(st, 1, "Ivan Petrov", "student", true, on_done, &r));
    wait_all();
    ok(r.err == NULL, "user upsert");
    CALL(store_user_upsert(st, 2, "Maria Ivanova", "teacher", true, on_done, &r));
    CALL(store_user_upsert(st, 3, "Olga Petrova", "parent", true, on_done, &r));
    CALL(store_user_upsert(st, 4, "Gone User", "student", false, on_done, &r));
    wait_all();
    CALL(store_user_upsert(st, 5, "X", "wizard", true, on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "unknown role is invalid");

    CALL(store_token_create(st, 1, "abc123", on_done, &r));
    wait_all();
    ok(r.err == NULL, "token create");
    CALL(store_token_create(st, 1, "abc123", on_done, &r));
    wait_all();
    ok(r.err == NULL, "token create is idempotent for the same user");
    CALL(store_token_create(st, 2, "abc123", on_done, &r));
    wait_all();
    ok(r.err == store_err_conflict, "someone else's key conflicts");
    CALL(store_token_create(st, 99, "zzz", on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "token for an unknown user is invalid");
    CALL(store_token_lookup(st, "abc123", 6, on_token, &r));
    wait_all();
    ok(r.err == NULL && r.id == 1, "token lookup");
    CALL(store_token_lookup(st, "nope", 4, on_token, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "unknown token is unauthorized");
    CALL(store_token_delete(st, "abc123", on_token, &r));
    wait_all();
    ok(r.err == NULL && r.id == 1, "token delete names the owner");
    CALL(store_token_delete(st, "abc123", on_token, &r));
    wait_all();
    ok(r.err == store_err_not_found, "deleting again is not_found");
}

static void
test_rooms_and_joins(store_t *st)
{
    res_t r = {0}, r2 = {0};
    int64_t members[] = {1, 2, 3}, pair[] = {1, 2}, rpair[] = {2, 1}, ghost[] = {1, 99};

    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math", true, members, 3, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && r.flag, "room put creates");
    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math 2", true, pair, 2, on_room, &r));
    wait_all();
    ok(r.err == NULL && !r.flag, "room put again updates");
    CALL(store_room_put(st, 11, "GROUP", "Ghosts", true, ghost, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "unknown member is invalid");
    CALL(store_room_create(st, "DIRECT", "", pair, 2, on_room, &r));
    CALL(store_room_create(st, "DIRECT", "", rpair, 2, on_room, &r2));
    wait_all();
    ok(r.err == NULL && r2.err == NULL && r.id == r2.id && r.id >= STORE_ROOM_HUB_ID_BASE,
       "one DIRECT room per pair, hub ids from 10^15");
    ok(r.flag != r2.flag, "exactly one of the two created it");
    CALL(store_room_create(st, "GROUP", "Club", members, 3, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.id > r2.id, "GROUP room");

    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && r.n == 2, "join by id (%zu participants)", r.n);
    ok(strcmp(r.text, "Ivan Petrov|student|FORUM_SUBJECT|Math 2") == 0, "join data: %s", r.text);
    CALL(store_room_join(st, 3, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == store_err_forbidden, "removed member is forbidden");
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 12345, on_join, &r));
    wait_all();
    ok(r.err == store_err_not_found, "missing room");
    CALL(store_room_join(st, 4, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "inactive user");
    CALL(store_room_join(st, 77, STORE_ROOM_GENERAL, 0, on_join, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "unknown user");
    CALL(store_room_join(st, 3, STORE_ROOM_GENERAL, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == STORE_ROOM_HUB_ID_BASE && r.n == 1, "GENERAL joins the user");
    CALL(store_room_join(st, 2, STORE_ROOM_FALLBACK, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10, "fallback: lowest id when no activity (%lld)", (long long)r.id);

    CALL(store_participant_add(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant add");
    CALL(store_participant_add(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant add is idempotent");
    CALL(store_participant_add(st, 999, 3, on_done, &r));
    wait_all();
    ok(r.err == store_err_not_found, "add to a missing room");
    CALL(store_participant_add(st, 10, 999, on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "add a missing user");
    CALL(store_participant_remove(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant remove");
    CALL(store_participant_remove(st, 999, 3, on_done, &r));
    wait_all();
    ok(r.err == store_err_not_found, "remove from a missing room");
}

static void
test_messages(store_t *st, store_t *st2)
{
    res_t r = {0}, rs[40];
    char text[16], cid[16];
    store_msg_in_t in = {
        .room_id = 10, .sender_id = 1, .content = "hello", .content_len = 5, .client_id = "c-1"};

    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.seq == 1 && !r.flag, "first message has seq 1");
    ok(strncmp(r.text, "hello|Ivan Petrov|20", 20) == 0 && strlen(r.text) == 42 &&
           r.text[strlen(r.text) - 1] == 'Z',
       "content, sender and created_at: %s", r.text);
    int64_t first_id = r.id;
    CALL(store_msg_insert(st2, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.seq == 1 && r.id == first_id, "retry returns the original");

    /* 40 inserts from two stores (4 connections) at once: seqs 2..41, no gaps. */
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        snprintf(cid, sizeof(cid), "k%d", i);
        store_msg_in_t m = {.room_id = 10,
                            .sender_id = i % 2 ? 1 : 2,
                            .content = text,
                            .content_len = strlen(text),
                            .client_id = cid};
        CALL(store_msg_insert(i % 2 ? st : st2, &m, on_msg, &rs[i]));
    }
    wait_all();
    {
        bool seen[42] = {false};
        int errs = 0;
        for (int i = 0; i < 40; i++) {
            if (rs[i].err != NULL || rs[i].seq < 2 || rs[i].seq > 41 || seen[rs[i].seq]) {
                errs++;
            } else {
                seen[rs[i].seq] = true;
            }
        }
        ok(errs == 0, "concurrent inserts got seqs 2..41 exactly once");
    }
    store_msg_in_t sys = {.room_id = 10, .content = "notice", .content_len = 6};
    CALL(store_msg_insert(st, &sys, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.seq == 42 && strncmp(r.text, "notice|-|", 9) == 0, "system message");
    store_msg_in_t outsider = {.room_id = 10, .sender_id = 3, .content = "x", .content_len = 1};
    CALL(store_msg_insert(st, &outsider, on_msg, &r));
    wait_all();
    ok(r.err == store_err_forbidden, "non-participant is forbidden");
    store_msg_in_t nowhere = {.room_id = 4242, .sender_id = 1, .content = "x", .content_len = 1};
    CALL(store_msg_insert(st, &nowhere, on_msg, &r));
    wait_all();
    ok(r.err == store_err_not_found, "missing room");
    ok(store_msg_insert(
           st,
           &(store_msg_in_t){.room_id = 10, .sender_id = 1, .content = "a\0b", .content_len = 3},
           on_msg, &r) < 0,
       "NUL in content is refused before queueing");

    CALL(store_msg_history(st, 10, 0, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 5 && r.seqs[0] == 38 && r.seqs[4] == 42 && r.flag,
       "newest page ascending with has_more");
    CALL(store_msg_history(st, 10, 3, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == 1 && r.seqs[1] == 2 && !r.flag,
       "before_seq 3: seqs 1, 2 and nothing older");
    CALL(store_msg_history(st, 10, 0, 40, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == 41 && !r.flag, "after_seq 40");
    CALL(store_msg_history(st, 11111, 0, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == store_err_not_found, "history of a missing room");
    CALL(store_msg_history(st, STORE_ROOM_HUB_ID_BASE, 0, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 0 && !r.flag, "history of an empty room");
}

static void
test_unavailable(void)
{
    res_t r = {0};
    store_t *st = open_store("postgresql://postgres@127.0.0.1:1/postgres", 1);
    uint64_t t0 = uv_now(&loop);
    store_msg_in_t in = {.room_id = 1, .sender_id = 1, .content = "x", .content_len = 1};

    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == store_err_unavailable, "a dead server answers unavailable");
    ok(uv_now(&loop) - t0 < 5000, "  and quickly");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == store_err_unavailable, "again while reconnecting");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    store_free(st);
    ok(r.err == store_err_shutdown || r.err == store_err_unavailable, "store_free answers pending");
    pending = 0;
}

int
main(void)
{
    const char *base = getenv("TEST_DATABASE_URL");

    if (base == NULL || base[0] == '\0') {
        printf("1..0 # SKIP no TEST_DATABASE_URL\n");
        return 0;
    }
    uv_loop_init(&loop);
    char *url = fresh_database(base);
    test_migrations(url);
    store_t *st = open_store(url, 2), *st2 = open_store(url, 2);
    test_users_tokens(st);
    test_rooms_and_joins(st);
    test_messages(st, st2);
    store_free(st);
    store_free(st2);
    test_unavailable();
    uv_run(&loop, UV_RUN_NOWAIT);
    free(url);
    return tap_done();
}
