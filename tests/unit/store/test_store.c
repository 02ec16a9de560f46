/*
 * The store against a real PostgreSQL (TEST_DATABASE_URL; skipped without it),
 * on a libuv loop through hub_store_uv: migrations under concurrency, users,
 * tokens, rooms, joins with every error, gapless seq under concurrent inserts,
 * client_id idempotency, history pages, timeouts, reconnects, a dead or silent
 * server, and store_free() at awkward moments. Each run works in a database of
 * its own, dropped at the end (TEST_STORE_KEEP=1 keeps it).
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
    int up, down, connect_failed, applied, query_failed, lock_timeout;
    int leaked; /* details that held the password or the whole conninfo */
} ev;
static const char *secret_password;
static const char *secret_conninfo;

static void
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
    ev.lock_timeout += strcmp(event, "migrate.lock_timeout") == 0;
    if (detail != NULL && ((secret_password != NULL && strstr(detail, secret_password) != NULL) ||
                           (secret_conninfo != NULL && strstr(detail, secret_conninfo) != NULL))) {
        ev.leaked++;
    }
}

/* ---- the loop ---- */

static uint64_t
now_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void
on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Run the loop for ms milliseconds. */
static void
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
static void
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

static store_t *
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
static void
wait_up(store_t *st)
{
    uint64_t end = now_ms() + 5000;

    while (!store_is_up(st) && now_ms() < end) {
        run_for(20);
    }
}

/* Run the loop until n more store.up events arrived (or 5 s passed). */
static void
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
    bool archived;
    int64_t seq;
    char text[256];
    int64_t seqs[128];
    int64_t ids[16];
    size_t n;
    char *content; /* first message's content (history) or the message's (insert) */
    size_t content_len;
    char created_at[40];
    uint64_t at; /* when the callback ran */
} res_t;

static void
res_clear(res_t *r)
{
    free(r->content);
    memset(r, 0, sizeof(*r));
}

static void
got(void)
{
    fired++;
    pending--;
}

static void
on_done(void *ud, const char *err)
{
    res_t *r = ud;

    r->err = err;
    r->at = now_ms();
    got();
}

static void
on_migrated(void *ud, int applied, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->applied = applied;
    r->err = err;
    got();
}

static void
on_token(void *ud, int64_t user_id, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->id = user_id;
    r->err = err;
    got();
}

static void
on_room(void *ud, int64_t id, bool created, const char *err)
{
    res_t *r = ud;

    r->at = now_ms();
    r->id = id;
    r->flag = created;
    r->err = err;
    got();
}

static void
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

static void
keep_content(res_t *r, const proto_msg_t *m)
{
    free(r->content);
    r->content = malloc(m->content_len + 1);
    memcpy(r->content, m->content, m->content_len);
    r->content[m->content_len] = '\0';
    r->content_len = m->content_len;
    snprintf(r->created_at, sizeof(r->created_at), "%s", m->created_at);
}

static void
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

static void
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

static void
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
static char *
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

static void
quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *
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
static bool
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

static char dbname[64];

static char *
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

static void
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

static void
test_migrations(const char *url)
{
    store_t *st[3];
    res_t r[3];
    int applied_events;

    memset(r, 0, sizeof(r));
    ev.applied = 0;
    for (int i = 0; i < 3; i++) {
        st[i] = open_store(url, 1, 5000, 3000);
    }
    for (int i = 0; i < 3; i++) {
        CALL(store_migrate(st[i], 30, on_migrated, &r[i]));
    }
    wait_all();
    ok(r[0].err == NULL && r[1].err == NULL && r[2].err == NULL,
       "three stores migrate an empty database at once without error");
    ok((r[0].applied > 0) + (r[1].applied > 0) + (r[2].applied > 0) == 1 &&
           r[0].applied + r[1].applied + r[2].applied == (int)store_migrations_count,
       "exactly one applied all %u migrations (%d %d %d)", store_migrations_count, r[0].applied,
       r[1].applied, r[2].applied);
    applied_events = ev.applied;
    ok(applied_events == (int)store_migrations_count, "one migrate.applied event per version");
    CALL(store_migrate(st[0], 5, on_migrated, &r[0]));
    wait_all();
    ok(r[0].err == NULL && r[0].applied == 0 && ev.applied == applied_events,
       "a second run applies nothing");
    for (int i = 0; i < 3; i++) {
        store_free(st[i]);
    }
}

static void
test_migration_lock_timeout(const char *url)
{
    PGconn *holder = admin_connect(url);
    store_t *st = open_store(url, 1, 5000, 3000);
    res_t r = {0};
    uint64_t t0;

    ok(admin(holder, "SELECT pg_advisory_lock(7270736901)"), "another session holds the lock");
    ev.lock_timeout = 0;
    t0 = now_ms();
    CALL(store_migrate(st, 1, on_migrated, &r));
    wait_all();
    ok(r.err == store_err_timeout && ev.lock_timeout == 1,
       "waiting longer than lock_wait_s is store_err_timeout");
    ok(r.at - t0 >= 900 && r.at - t0 < 3000, "  after about a second (%llu ms)",
       (unsigned long long)(r.at - t0));
    PQfinish(holder);
    CALL(store_migrate(st, 5, on_migrated, &r));
    wait_all();
    ok(r.err == NULL && r.applied == 0, "with the lock free again it finds nothing to do");
    store_free(st);
}

/* ---- users and tokens ---- */

static void
test_users_tokens(store_t *st)
{
    res_t r = {0}, r2 = {0}, r3 = {0};

    CALL(store_user_upsert(st, 1, "Ivan Petrov", "student", true, on_done, &r));
    CALL(store_user_upsert(st, 2, "Maria Ivanova", "teacher", true, on_done, &r2));
    CALL(store_user_upsert(st, 3, "Olga \"O'Brien\" Petrova", "parent", true, on_done, &r3));
    wait_all();
    ok(r.err == NULL && r2.err == NULL && r3.err == NULL, "user upserts");
    CALL(store_user_upsert(st, 4, "Gone User", "student", false, on_done, &r));
    CALL(store_user_upsert(st, 5, "Lonely Tutor", "tutor", true, on_done, &r2));
    CALL(store_user_upsert(st, 6, "Admin", "admin", true, on_done, &r3));
    wait_all();
    CALL(store_user_upsert(st, 1, "Ivan Petrov", "student", true, on_done, &r));
    wait_all();
    ok(r.err == NULL, "an identical upsert is fine");
    CALL(store_user_upsert(st, 7, "X", "wizard", true, on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "unknown role is store_err_invalid");
    CALL(store_user_upsert(st, -3, "X", "student", true, on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "a negative id is store_err_invalid");

    CALL(store_token_create(st, 1, "abc123", on_done, &r));
    wait_all();
    ok(r.err == NULL, "token create");
    CALL(store_token_create(st, 1, "abc123", on_done, &r));
    wait_all();
    ok(r.err == NULL, "token create is idempotent for the same user");
    CALL(store_token_create(st, 2, "abc123", on_done, &r));
    wait_all();
    ok(r.err == store_err_conflict, "someone else's key is store_err_conflict");
    CALL(store_token_create(st, 99, "zzz", on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "a token for an unknown user is store_err_invalid");
    CALL(store_token_create(st, 4, "inactive-key", on_done, &r));
    wait_all();
    CALL(store_token_lookup(st, "abc123xyz", 6, on_token, &r));
    wait_all();
    ok(r.err == NULL && r.id == 1, "token lookup uses key_len bytes");
    CALL(store_token_lookup(st, "nope", 4, on_token, &r));
    wait_all();
    ok(r.err == store_err_unauthorized && r.id == 0, "unknown token is store_err_unauthorized");
    CALL(store_token_lookup(st, "inactive-key", 12, on_token, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "an inactive user's token is store_err_unauthorized");
    CALL(store_token_lookup(st, "", 0, on_token, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "an empty token is store_err_unauthorized");
    CALL(store_token_delete(st, "abc123", on_token, &r));
    wait_all();
    ok(r.err == NULL && r.id == 1, "token delete names the owner");
    CALL(store_token_delete(st, "abc123", on_token, &r));
    wait_all();
    ok(r.err == store_err_not_found, "deleting again is store_err_not_found");
    CALL(store_token_lookup(st, "abc123", 6, on_token, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "a deleted token no longer authenticates");
}

/* ---- rooms, participants, joins ---- */

static int64_t direct_room;

static void
test_rooms(store_t *st, store_t *st2)
{
    res_t r = {0}, r2 = {0}, rs[8];
    int64_t members[] = {1, 2, 3}, pair[] = {1, 2}, rpair[] = {2, 1}, ghost[] = {1, 99};
    int64_t three[] = {1, 2, 3}, same[] = {1, 1};

    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math", true, members, 3, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && r.flag, "room put creates");
    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math 2", true, pair, 2, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && !r.flag, "room put again updates (created=false)");
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.ids[0] == 1 && r.ids[1] == 2,
       "members replaced exactly: 1, 2 (%zu)", r.n);
    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math 2", false, NULL, 0, on_room, &r));
    wait_all();
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2, "a put without members leaves them alone");
    CALL(store_room_put(st, 11, "GROUP", "Ghosts", true, ghost, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "an unknown member is store_err_invalid");
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 11, on_join, &r));
    wait_all();
    ok(r.err == store_err_not_found, "  and nothing was written");
    CALL(store_room_put(st, STORE_ROOM_HUB_ID_BASE, "GROUP", "x", false, NULL, 0, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "a put in the hub's id range is store_err_invalid");
    CALL(store_room_put(st, 12, "SALON", "x", false, NULL, 0, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "an unknown room type is store_err_invalid");

    /* Racing puts of one new id from two stores: one creates, the rest update. */
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 8; i++) {
        CALL(store_room_put(i % 2 ? st : st2, 20, "GROUP", "Race", true, pair, 2, on_room, &rs[i]));
    }
    wait_all();
    {
        int created = 0, errs = 0;
        for (int i = 0; i < 8; i++) {
            created += rs[i].flag;
            errs += rs[i].err != NULL;
        }
        ok(errs == 0 && created == 1, "racing puts of one id: one created (%d), no error (%d)",
           created, errs);
    }

    CALL(store_room_create(st, "DIRECT", "", pair, 2, on_room, &r));
    CALL(store_room_create(st2, "DIRECT", "", rpair, 2, on_room, &r2));
    wait_all();
    ok(r.err == NULL && r2.err == NULL && r.id == r2.id && r.id > STORE_ROOM_HUB_ID_BASE,
       "one DIRECT room per pair, in the hub's id range (%lld)", (long long)r.id);
    ok(r.flag != r2.flag, "  exactly one of the two created it");
    direct_room = r.id;
    CALL(store_room_create(st, "DIRECT", "", three, 3, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "DIRECT with three members is store_err_invalid");
    CALL(store_room_create(st, "DIRECT", "", same, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "DIRECT with oneself is store_err_invalid");
    CALL(store_room_create(st, "DIRECT", "", ghost, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "DIRECT with an unknown user is store_err_invalid");
    CALL(store_room_create(st, "FORUM_TUTOR", "x", pair, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "only GROUP and DIRECT can be created");
    CALL(store_room_create(st, "GROUP", "Club", members, 3, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.id > direct_room, "GROUP room");
    CALL(store_room_join(st, 3, STORE_ROOM_BY_ID, r.id, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 3 &&
           strcmp(r.text, "Olga \"O'Brien\" Petrova|parent|GROUP|Club") == 0,
       "GROUP members and names: %s", r.text);
    CALL(store_room_create(st, "GROUP", "Ghost club", ghost, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_invalid, "GROUP with an unknown member is store_err_invalid");

    CALL(store_participant_add(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant add");
    CALL(store_participant_add(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant add is idempotent");
    CALL(store_participant_add(st, 999, 3, on_done, &r));
    wait_all();
    ok(r.err == store_err_not_found, "add to a missing room is store_err_not_found");
    CALL(store_participant_add(st, 10, 999, on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "add a missing user is store_err_invalid");
    CALL(store_participant_remove(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant remove");
    CALL(store_participant_remove(st, 10, 3, on_done, &r));
    wait_all();
    ok(r.err == NULL, "participant remove is idempotent");
    CALL(store_participant_remove(st, 999, 3, on_done, &r));
    wait_all();
    ok(r.err == store_err_not_found, "remove from a missing room is store_err_not_found");
}

static void
test_joins(store_t *st)
{
    res_t r = {0};

    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && r.n == 2 && !r.archived && r.seq == 0,
       "join by id (%zu participants)", r.n);
    ok(strcmp(r.text, "Ivan Petrov|student|FORUM_SUBJECT|Math 2") == 0, "join data: %s", r.text);
    CALL(store_room_join(st, 3, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == store_err_forbidden, "a removed member is store_err_forbidden");
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 12345, on_join, &r));
    wait_all();
    ok(r.err == store_err_not_found, "a missing room is store_err_not_found");
    CALL(store_room_join(st, 4, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "an inactive user is store_err_unauthorized");

    /* Joins by id queued at once go as one statement, each answered as alone. */
    enum { NJ = 24 };
    static res_t js[NJ];
    static const struct {
        int64_t user, room;
    } cases[] = {{1, 10}, {2, 10}, {3, 10}, {1, 12345}, {4, 10}, {77, 10}};
    uint64_t before = store_pool_stats(st)->queries;
    int bad = 0;

    memset(js, 0, sizeof(js));
    for (int i = 0; i < NJ; i++) {
        CALL(store_room_join(st, cases[i % 6].user, STORE_ROOM_BY_ID, cases[i % 6].room, on_join,
                             &js[i]));
    }
    wait_all();
    uint64_t after = store_pool_stats(st)->queries;
    for (int i = 0; i < NJ; i++) {
        const char *want[] = {NULL,
                              NULL,
                              store_err_forbidden,
                              store_err_not_found,
                              store_err_unauthorized,
                              store_err_unauthorized};
        bad += js[i].err != want[i % 6];
        if (i % 6 < 2) {
            bad +=
                js[i].id != 10 || js[i].n != 2 || js[i].archived || js[i].ids[0] != 1 ||
                js[i].ids[1] != 2 ||
                strcmp(js[i].text, i % 6 == 0 ? "Ivan Petrov|student|FORUM_SUBJECT|Math 2"
                                              : "Maria Ivanova|teacher|FORUM_SUBJECT|Math 2") != 0;
        }
    }
    ok(bad == 0, "%d joins queued at once: each its own answer (%d bad)", NJ, bad);
    ok(after - before < NJ / 2, "  and they took %llu statements, not %d",
       (unsigned long long)(after - before), NJ);
    CALL(store_room_join(st, 77, STORE_ROOM_GENERAL, 0, on_join, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "an unknown user is store_err_unauthorized (GENERAL)");
    CALL(store_room_join(st, 77, STORE_ROOM_FALLBACK, 0, on_join, &r));
    wait_all();
    ok(r.err == store_err_unauthorized, "an unknown user is store_err_unauthorized (FALLBACK)");
    CALL(store_room_join(st, 5, STORE_ROOM_FALLBACK, 0, on_join, &r));
    wait_all();
    ok(r.err == store_err_not_found, "FALLBACK for a user in no room is store_err_not_found");
    CALL(store_room_join(st, 3, STORE_ROOM_GENERAL, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == STORE_ROOM_HUB_ID_BASE && r.n == 1 &&
           strstr(r.text, "|GENERAL|") != NULL,
       "GENERAL: the single room %lld, and the user joined it", (long long)r.id);
    CALL(store_room_join(st, 3, STORE_ROOM_GENERAL, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 1, "  joining GENERAL again adds no duplicate");
    CALL(store_room_join(st, 5, STORE_ROOM_GENERAL, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2, "  a second user makes two");
    CALL(store_room_join(st, 2, STORE_ROOM_FALLBACK, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10, "FALLBACK without activity: the lowest id (%lld)",
       (long long)r.id);
    CALL(store_room_join(st, 1, (store_room_kind_t)9, 0, on_join, &r));
    wait_all();
    ok(r.err == store_err_invalid, "an unknown join kind is store_err_invalid");
}

/* ---- messages ---- */

static void
test_messages(store_t *st, store_t *st2, store_t *st3, PGconn *adm)
{
    res_t r = {0}, r2 = {0}, r3 = {0};
    static res_t rs[60];
    char text[32], cid[32];
    store_t *stores[] = {st, st2, st3};
    store_msg_in_t in = {
        .room_id = 10, .sender_id = 1, .content = "hello", .content_len = 5, .client_id = "c-1"};
    int64_t first_id;

    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.seq == 1 && !r.flag, "the first message has seq 1");
    ok(strcmp(r.text, "hello|Ivan Petrov|student|c-1") == 0, "content, sender, client_id: %s",
       r.text);
    ok(strlen(r.created_at) == 24 && r.created_at[10] == 'T' && r.created_at[19] == '.' &&
           r.created_at[23] == 'Z',
       "created_at is UTC with milliseconds: %s", r.created_at);
    first_id = r.id;
    ok(admin(adm, "CREATE TEMP TABLE room10 AS SELECT last_seq, last_message_at FROM rooms "
                  "WHERE id = 10"),
       "note room 10's last_seq and last_message_at");
    CALL(store_msg_insert(st2, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.seq == 1 && r.id == first_id,
       "a retry with the same client_id returns the original, duplicate=true");
    ok(admin(adm, "DO $$ BEGIN IF (SELECT (last_seq, last_message_at) FROM rooms WHERE id = 10) "
                  "IS DISTINCT FROM (SELECT (last_seq, last_message_at) FROM room10) "
                  "THEN RAISE 'moved'; END IF; END $$"),
       "  and leaves the room's last_seq and last_message_at as they were");
    in.sender_id = 2;
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && !r.flag && r.seq == 2, "the same client_id from another sender is new");

    /* One client_id racing from three stores at once: stored once. */
    store_msg_in_t race = {
        .room_id = 10, .sender_id = 1, .content = "race", .content_len = 4, .client_id = "race"};
    CALL(store_msg_insert(st, &race, on_msg, &r));
    CALL(store_msg_insert(st2, &race, on_msg, &r2));
    CALL(store_msg_insert(st3, &race, on_msg, &r3));
    wait_all();
    ok(r.err == NULL && r2.err == NULL && r3.err == NULL && r.id == r2.id && r2.id == r3.id &&
           r.seq == 3 && !r.flag + !r2.flag + !r3.flag == 1,
       "a client_id raced from three connections is stored once (seq %lld)", (long long)r.seq);

    /* 60 inserts from three stores (six connections), half without client_id. */
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 60; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        snprintf(cid, sizeof(cid), "k%d", i);
        store_msg_in_t m = {.room_id = 10,
                            .sender_id = i % 2 ? 1 : 2,
                            .content = text,
                            .content_len = strlen(text),
                            .client_id = i % 4 < 2 ? cid : NULL};
        CALL(store_msg_insert(stores[i % 3], &m, on_msg, &rs[i]));
    }
    wait_all();
    {
        bool seen[64] = {false};
        int bad = 0;
        for (int i = 0; i < 60; i++) {
            int64_t s = rs[i].seq;
            if (rs[i].err != NULL || rs[i].flag || s < 4 || s > 63 || seen[s]) {
                bad++;
            } else {
                seen[s] = true;
            }
            res_clear(&rs[i]);
        }
        ok(bad == 0, "60 concurrent inserts got seqs 4..63, each once (%d bad)", bad);
    }
    CALL(store_msg_history(st, 10, 0, 3, 100, on_history, &r));
    wait_all();
    {
        bool gapless = r.n == 60;
        for (size_t i = 0; gapless && i < r.n; i++) {
            gapless = r.seqs[i] == (int64_t)i + 4;
        }
        ok(r.err == NULL && gapless && !r.flag, "history after_seq 3 holds 4..63 without gaps");
    }

    store_msg_in_t sys = {.room_id = 10, .content = "notice", .content_len = 6};
    CALL(store_msg_insert(st, &sys, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.seq == 64 && strcmp(r.text, "notice|-|-|-") == 0,
       "a system message (sender 0) needs no participant: %s", r.text);
    store_msg_in_t outsider = {.room_id = 10, .sender_id = 3, .content = "x", .content_len = 1};
    CALL(store_msg_insert(st, &outsider, on_msg, &r));
    wait_all();
    ok(r.err == store_err_forbidden, "a non-participant is store_err_forbidden");
    store_msg_in_t nowhere = {.room_id = 4242, .sender_id = 1, .content = "x", .content_len = 1};
    CALL(store_msg_insert(st, &nowhere, on_msg, &r));
    wait_all();
    ok(r.err == store_err_not_found, "a missing room is store_err_not_found");
    store_msg_in_t nul = {.room_id = 10, .sender_id = 1, .content = "a\0b", .content_len = 3};
    CALL(store_msg_insert(st, &nul, on_msg, &r));
    wait_all();
    ok(r.err == store_err_invalid, "NUL in content is store_err_invalid");
    store_msg_in_t empty = {.room_id = 10, .sender_id = 1, .content = "", .content_len = 0};
    CALL(store_msg_insert(st, &empty, on_msg, &r));
    wait_all();
    ok(r.err == store_err_invalid, "empty content is store_err_invalid");
    char longid[PROTO_CLIENT_ID_MAX + 2];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    store_msg_in_t longcid = {
        .room_id = 10, .sender_id = 1, .content = "x", .content_len = 1, .client_id = longid};
    CALL(store_msg_insert(st, &longcid, on_msg, &r));
    wait_all();
    ok(r.err == store_err_invalid, "an over-long client_id is store_err_invalid");
    store_msg_in_t badutf = {
        .room_id = 10, .sender_id = 1, .content = "\xff\xfe", .content_len = 2};
    CALL(store_msg_insert(st, &badutf, on_msg, &r));
    wait_all();
    ok(r.err == store_err_invalid, "invalid UTF-8 is store_err_invalid");

    /* Archived: readable, not writable; a retry of what was stored still answers. */
    ok(admin(adm, "UPDATE rooms SET is_archived = true WHERE id = 10"), "archive room 10");
    store_msg_in_t late = {.room_id = 10, .sender_id = 1, .content = "late", .content_len = 4};
    CALL(store_msg_insert(st, &late, on_msg, &r));
    wait_all();
    ok(r.err == store_err_archived, "a send to an archived room is store_err_archived");
    in.sender_id = 1;
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.id == first_id, "  a retry of a stored message still answers");
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.archived && r.seq == 64, "  and the room can be joined, archived");
    ok(admin(adm, "UPDATE rooms SET is_archived = false WHERE id = 10"), "unarchive room 10");
    res_clear(&r);
    res_clear(&r2);
    res_clear(&r3);
}

/* Inserts queued in one turn go to PostgreSQL as one statement (group commit):
 * each still gets its own answer, byte for byte, in queue order, with the
 * single insert's errors and idempotency. */
static void
test_group_commit(store_t *st)
{
    enum { N = 40 };
    static res_t rs[N];
    static char texts[N][64];
    static const char *const tricky[] = {
        "a\"b\\c", "{x,y}", "NULL", "\"\"", "Привет 😀", "'; DROP TABLE messages; --", " ,\t\n"};
    uint64_t before = store_pool_stats(st)->queries;
    int bad = 0;

    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof(texts[i]), "%s#%d", tricky[i % 7], i);
        store_msg_in_t m = {.room_id = 10,
                            .sender_id = 1 + i % 2,
                            .content = texts[i],
                            .content_len = strlen(texts[i])};
        if (i == 7) {
            m.sender_id = 3; /* not a participant */
        } else if (i == 11) {
            m.room_id = 4242; /* no such room */
        } else if (i == 20 || i == 21) {
            m.client_id = "batch-dup"; /* the second is the first's duplicate */
            m.sender_id = 1;
        }
        CALL(store_msg_insert(st, &m, on_msg, &rs[i]));
    }
    wait_all();
    uint64_t after = store_pool_stats(st)->queries;
    int64_t last = 0;
    for (int i = 0; i < N; i++) {
        if (i == 7 || i == 11) {
            bad += rs[i].err != (i == 7 ? store_err_forbidden : store_err_not_found);
            continue;
        }
        if (i == 21) {
            bad += rs[i].err != NULL || !rs[i].flag || rs[i].id != rs[20].id;
            continue;
        }
        bad += rs[i].err != NULL || rs[i].flag || rs[i].seq != (last == 0 ? rs[i].seq : last + 1) ||
               rs[i].content_len != strlen(texts[i]) || strcmp(rs[i].content, texts[i]) != 0;
        last = rs[i].seq;
    }
    ok(bad == 0, "%d inserts queued at once: each its own answer, seqs in queue order (%d bad)", N,
       bad);
    ok(after - before < N / 2, "  and they took %llu statements, not %d (group commit)",
       (unsigned long long)(after - before), N);
    for (int i = 0; i < N; i++) {
        res_clear(&rs[i]);
    }
}

static void
test_content_round_trip(store_t *st)
{
    static const char unit[] = "Привет, \"мир\" \\ \n\t😀 <b>&amp;' é漢 ";
    size_t ulen = strlen(unit), len = 0;
    char *big = malloc(65536);
    res_t r = {0}, h = {0};

    while (len + ulen <= 65536) {
        memcpy(big + len, unit, ulen);
        len += ulen;
    }
    store_msg_in_t in = {.room_id = 10, .sender_id = 2, .content = big, .content_len = len};
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.content_len == len && memcmp(r.content, big, len) == 0,
       "%zu bytes of UTF-8 come back byte for byte from the insert", len);
    CALL(store_msg_history(st, 10, 0, r.seq - 1, 1, on_history, &h));
    wait_all();
    ok(h.err == NULL && h.n == 1 && h.content_len == len && memcmp(h.content, big, len) == 0,
       "  and from history");
    res_clear(&r);
    res_clear(&h);
    free(big);
}

static void
test_history(store_t *st)
{
    res_t r = {0};
    int64_t last;

    CALL(store_msg_history(st, 10, 0, 0, 5, on_history, &r));
    wait_all();
    last = r.n == 5 ? r.seqs[4] : -1;
    ok(r.err == NULL && r.n == 5 && r.seqs[0] == last - 4 && r.flag,
       "the newest page, ascending, with has_more (last %lld)", (long long)last);
    CALL(store_msg_history(st, 10, 3, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == 1 && r.seqs[1] == 2 && !r.flag,
       "before_seq 3: seqs 1, 2 and nothing older");
    CALL(store_msg_history(st, 10, 10, 0, 3, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 3 && r.seqs[0] == 7 && r.seqs[2] == 9 && r.flag,
       "before_seq 10 limit 3: 7..9, more older");
    CALL(store_msg_history(st, 10, 0, last - 2, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == last - 1 && !r.flag,
       "after_seq: the rest, nothing newer");
    CALL(store_msg_history(st, 10, 0, 1, 2, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == 2 && r.seqs[1] == 3 && r.flag,
       "after_seq 1 limit 2: 2, 3, more newer");
    CALL(store_msg_history(st, 11111, 0, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == store_err_not_found, "history of a missing room is store_err_not_found");
    CALL(store_msg_history(st, STORE_ROOM_HUB_ID_BASE, 0, 0, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 0 && !r.flag, "history of an empty room is empty");
    CALL(store_msg_history(st, 10, 0, 0, 0, on_history, &r));
    wait_all();
    ok(r.err == store_err_invalid, "limit 0 is store_err_invalid");
    CALL(store_msg_history(st, 10, 0, 0, 1001, on_history, &r));
    wait_all();
    ok(r.err == store_err_invalid, "limit 1001 is store_err_invalid");
    res_clear(&r);
}

static void
test_fallback_activity(store_t *st)
{
    res_t r = {0};
    store_msg_in_t in = {
        .room_id = direct_room, .sender_id = 2, .content = "psst", .content_len = 4};

    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    CALL(store_room_join(st, 2, STORE_ROOM_FALLBACK, 0, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == direct_room && r.seq == 1,
       "FALLBACK: the room with the latest message");
    res_clear(&r);
}

/* ---- timeouts, failures, shutdown ---- */

static void
test_statement_timeout(const char *url, PGconn *adm)
{
    store_t *st = open_store(url, 1, 300, 3000);
    res_t r = {0};
    uint64_t t0;
    store_msg_in_t in = {.room_id = 10, .sender_id = 1, .content = "slow", .content_len = 4};

    wait_up(st);
    /* Another session holds room 10's row: the insert waits on the lock. */
    ok(admin(adm, "BEGIN") && admin(adm, "SELECT 1 FROM rooms WHERE id = 10 FOR UPDATE"),
       "another session locks room 10");
    t0 = now_ms();
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == store_err_timeout, "a statement over query_timeout_ms is store_err_timeout");
    ok(r.at - t0 < 1200, "  from the server's statement_timeout (%llu ms)",
       (unsigned long long)(r.at - t0));
    admin(adm, "ROLLBACK");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && r.seq > 0, "  the same connection goes on working");
    store_free(st);
    res_clear(&r);
}

static void
test_deadline_and_requeue(const char *url)
{
    store_t *st = open_store(url, 2, 300, 3000);
    res_t set = {0}, slow = {0}, next = {0}, ping = {0};
    uint64_t t0;
    int down0, up0;

    wait_ups(2);
    down0 = ev.down;
    up0 = ev.up;
    /* Affinity 0 pins all three to connection 0. With the server's timeout off,
     * only the store's own deadline (300 + 1000 ms) can end the sleep. */
    CALL(store_query(st, 0, "SET statement_timeout = 0", 0, NULL, on_result, &set));
    CALL(store_query(st, 0, "SELECT pg_sleep(3)", 0, NULL, on_result, &slow));
    t0 = now_ms();
    run_for(700);
    CALL(store_query(st, 0, "SELECT 42", 0, NULL, on_result, &next));
    wait_all();
    ok(set.err == NULL, "statement_timeout switched off on connection 0");
    ok(slow.err == store_err_timeout, "a stuck statement ends with store_err_timeout");
    ok(slow.at - t0 >= 1200 && slow.at - t0 < 2500, "  at the deadline (%llu ms)",
       (unsigned long long)(slow.at - t0));
    ok(next.err == NULL && next.id == 42,
       "the statement queued behind it ran on the other connection");
    ok(ev.down == down0 + 1, "store.down reported once");
    {
        uint64_t end = now_ms() + 3000;
        while (ev.up == up0 && now_ms() < end) {
            run_for(20);
        }
    }
    ok(ev.up == up0 + 1, "the stuck connection was replaced (store.up)");
    CALL(store_query(st, 0, "SELECT 7", 0, NULL, on_result, &ping));
    wait_all();
    ok(ping.err == NULL && ping.id == 7, "connection 0 serves again");
    store_free(st);
}

static void
test_server_kills_sessions(const char *url, PGconn *adm)
{
    store_t *st = open_store(url, 2, 2000, 3000);
    res_t r = {0};
    int down0, up0;

    store_msg_in_t in = {.room_id = 10, .sender_id = 1, .content = "after", .content_len = 5};

    wait_ups(2);
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL, "an insert prepares its statement on the session");
    down0 = ev.down;
    up0 = ev.up;
    ok(admin(adm, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = current_database() AND application_name = 'chathub'"),
       "the server terminates the store's sessions");
    {
        uint64_t end = now_ms() + 5000;
        while ((ev.down < down0 + 2 || ev.up < up0 + 2) && now_ms() < end) {
            run_for(20);
        }
    }
    ok(ev.down == down0 + 2 && ev.up == up0 + 2, "both idle connections saw it and came back");
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == NULL, "ping after the reconnect");
    /* The new sessions have none of the old one's prepared statements. */
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && !r.flag, "an insert after the reconnect prepares afresh");
    res_clear(&r);
    store_free(st);
}

/* A migration that changes a function's result type while nodes run: the
 * session's prepared plan fails once (0A000), then the store sends the
 * statement unnamed and goes on. */
static void
test_prepared_plan_change(const char *url, PGconn *adm)
{
    store_t *st = open_store(url, 1, 2000, 3000);
    store_msg_in_t in = {.room_id = 10, .sender_id = 1, .content = "v1", .content_len = 2};
    res_t r = {0};
    int failed0 = ev.query_failed;

    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL, "an insert prepares chathub_msg_insert");
    ok(admin(adm, "ALTER FUNCTION chathub_msg_insert(bigint, bigint, text, text) "
                  "RENAME TO chathub_msg_insert_v0") &&
           admin(adm, "CREATE FUNCTION chathub_msg_insert(p_room bigint, p_sender bigint, "
                      "p_content text, p_client_id text) RETURNS TABLE (status text, id bigint, "
                      "room_id bigint, seq bigint, sender_id bigint, full_name text, role text, "
                      "content text, created_at text, client_id text, extra int) "
                      "LANGUAGE sql AS $$ SELECT m.*, 1 FROM "
                      "chathub_msg_insert_v0(p_room, p_sender, p_content, p_client_id) m $$"),
       "a migration adds a column to its result");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err != NULL, "  the prepared plan fails once (%s)", r.err != NULL ? r.err : "no error");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && strncmp(r.text, "v1|", 3) == 0, "  then the statement goes unnamed");
    ok(admin(adm, "DROP FUNCTION chathub_msg_insert(bigint, bigint, text, text)") &&
           admin(adm, "ALTER FUNCTION chathub_msg_insert_v0(bigint, bigint, text, text) "
                      "RENAME TO chathub_msg_insert"),
       "the function is put back");
    ev.query_failed = failed0; /* the one failure above was the point */
    res_clear(&r);
    store_free(st);
}

static void
test_unavailable(void)
{
    res_t r = {0};
    store_t *st = open_store("postgresql://postgres@127.0.0.1:1/postgres", 2, 1000, 3000);
    uint64_t t0 = now_ms();
    store_msg_in_t in = {.room_id = 1, .sender_id = 1, .content = "x", .content_len = 1};

    ev.connect_failed = 0;
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == store_err_unavailable, "a dead server is store_err_unavailable");
    ok(r.at - t0 < 1000, "  quickly (%llu ms)", (unsigned long long)(r.at - t0));
    ok(!store_is_up(st), "  and the store is not up");
    run_for(1200); /* several reconnect attempts */
    t0 = now_ms();
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == store_err_unavailable && r.at - t0 < 50,
       "while reconnecting, new queries fail at once (%llu ms)", (unsigned long long)(r.at - t0));
    ok(ev.connect_failed == 2, "one store.connect_failed per connection, not per retry (%d)",
       ev.connect_failed);
    t0 = now_ms();
    CALL(store_migrate(st, 1, on_migrated, &r));
    wait_all();
    ok(r.err == store_err_unavailable && r.at - t0 >= 900 && r.at - t0 < 2500,
       "a migration keeps trying for lock_wait_s, then store_err_unavailable (%llu ms)",
       (unsigned long long)(r.at - t0));
    ok(ev.connect_failed == 3, "  reporting its connection's failure once (%d)", ev.connect_failed);
    store_free(st);
}

static void
test_connect_timeout(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[96];
    res_t r = {0};
    uint64_t t0;

    /* A server that accepts (in the kernel's backlog) and never says a word. */
    ok(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0 &&
           getsockname(fd, (struct sockaddr *)&sa, &salen) == 0,
       "a silent listener");
    snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/postgres?sslmode=disable",
             ntohs(sa.sin_port));
    t0 = now_ms();
    store_t *st = open_store(url, 1, 1000, 400);
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == store_err_unavailable, "a silent server is store_err_unavailable");
    ok(r.at - t0 >= 350 && r.at - t0 < 1500, "  after connect_timeout_ms (%llu ms)",
       (unsigned long long)(r.at - t0));
    store_free(st);
    close(fd);
}

static void
on_free_store(void *ud, const char *err)
{
    store_t **st = ud;

    (void)err;
    got();
    store_free(*st); /* from inside the store's own callback */
    *st = NULL;
}

static void
test_shutdown(const char *url)
{
    res_t r = {0}, r2 = {0};
    store_t *st = open_store(url, 1, 2000, 3000);
    int fired_before;

    wait_up(st);
    CALL(store_ping(st, on_done, &r));
    CALL(store_query(st, -1, "SELECT pg_sleep(0.2)", 0, NULL, on_result, &r2));
    fired_before = fired;
    store_free(st);
    ok(fired == fired_before + 2 && r.err == store_err_shutdown && r2.err == store_err_shutdown,
       "store_free answers what is in flight and queued, with store_err_shutdown, before it "
       "returns");
    pending = 0;

    /* store_free from inside a result callback, with more queued behind it. */
    st = open_store(url, 1, 2000, 3000);
    wait_up(st);
    store_t *victim = st;
    CALL(store_ping(st, on_free_store, &victim));
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(victim == NULL && r.err == store_err_shutdown,
       "store_free inside a callback answers the rest with store_err_shutdown");

    /* ... and from inside a deferred failure. */
    st = open_store("postgresql://postgres@127.0.0.1:1/postgres", 1, 1000, 1000);
    run_for(100);
    victim = st;
    CALL(store_ping(st, on_free_store, &victim));
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(victim == NULL && r.err == store_err_shutdown,
       "  also from inside a deferred store_err_unavailable");

    /* A migration in progress ends with store_err_shutdown. */
    st = open_store(url, 1, 2000, 3000);
    CALL(store_migrate(st, 5, on_migrated, &r));
    fired_before = fired;
    store_free(st);
    ok(fired == fired_before + 1 && r.err == store_err_shutdown,
       "store_free ends a running migration with store_err_shutdown");
    pending = 0;
    ok(store_ping(NULL, on_done, &r) == -1, "a NULL store queues nothing");
}

int
main(void)
{
    const char *base = getenv("TEST_DATABASE_URL");
    PQconninfoOption *opts;
    char *url;

    if (base == NULL || base[0] == '\0') {
        printf("1..0 # SKIP no TEST_DATABASE_URL\n");
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    url = fresh_database(base);
    secret_conninfo = url;
    opts = PQconninfoParse(url, NULL);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0') {
            secret_password = o->val;
        }
    }

    test_migrations(url);
    test_migration_lock_timeout(url);
    {
        PGconn *adm = admin_connect(url);
        store_t *st = open_store(url, 2, 5000, 3000);
        store_t *st2 = open_store(url, 2, 5000, 3000);
        store_t *st3 = open_store(url, 2, 5000, 3000);
        test_users_tokens(st);
        test_rooms(st, st2);
        test_joins(st);
        test_messages(st, st2, st3, adm);
        test_content_round_trip(st);
        test_history(st);
        test_fallback_activity(st);
        test_group_commit(st);
        store_free(st);
        store_free(st2);
        store_free(st3);
        test_statement_timeout(url, adm);
        test_deadline_and_requeue(url);
        test_server_kills_sessions(url, adm);
        test_prepared_plan_change(url, adm);
        PQfinish(adm);
    }
    test_unavailable();
    test_connect_timeout();
    test_shutdown(url);
    ok(ev.leaked == 0, "no event carried the password or the connection string");
    ok(ev.query_failed == 0, "no unexpected SQL error was reported (%d)", ev.query_failed);

    /* Every handle the store made is closed by now; the loop must close clean. */
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ok(uv_loop_close(&loop) == 0, "the loop closes: no handle left behind");
    PQconninfoFree(opts);
    drop_database(base);
    free(url);
    return tap_done();
}
