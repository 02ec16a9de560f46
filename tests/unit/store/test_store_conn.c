/*
 * The store's connections against a real PostgreSQL (TEST_DATABASE_URL;
 * skipped without it): statement timeouts and the store's own deadline,
 * sessions the server kills, prepared statements across a reconnect and a
 * changed function, a dead or silent server, a host looked up (through the
 * hooks, never by libpq) at every connect attempt, and store_free() at awkward
 * moments.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "store_harness.h"

/* The schema and the one room these tests write to: room 10, member 1. */
static void
seed(const char *url, PGconn *adm)
{
    harness_migrate(url);
    ok(admin(adm, "INSERT INTO users (id, full_name, role) VALUES (1, 'Ivan Petrov', 'student')") &&
           admin(adm, "INSERT INTO rooms (id, type, name) VALUES (10, 'GROUP', 'Room 10')") &&
           admin(adm, "INSERT INTO room_participants (room_id, user_id) VALUES (10, 1)"),
       "room 10 with member 1");
}

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

/* Run the loop until r's callback ran (at most 3 s); the ms since t0. */
static uint64_t
answered_after(const res_t *r, uint64_t t0)
{
    for (uint64_t end = now_ms() + 3000; r->at == 0 && now_ms() < end;) {
        run_for(10);
    }
    return r->at != 0 ? r->at - t0 : 3000;
}

/* Heavy statements (GENERAL's joins, /stats) stay off connection 0: two of
 * them took both connections of the default pool, and a room's send waited
 * behind them (an audit at scale). */
static void
test_heavy_off_first(const char *url)
{
    store_t *st = open_store(url, 2, 5000, 3000);
    res_t h1 = {0}, h2 = {0}, room = {0};
    uint64_t t0, ms;

    wait_ups(2);
    CALL(store_query(st, STORE_HEAVY, "SELECT pg_sleep(0.8)", 0, NULL, on_result, &h1));
    CALL(store_query(st, STORE_HEAVY, "SELECT pg_sleep(0.8)", 0, NULL, on_result, &h2));
    run_for(100);
    t0 = now_ms();
    CALL(store_query(st, 10, "SELECT 42", 0, NULL, on_result, &room));
    ms = answered_after(&room, t0);
    ok(room.err == NULL && room.id == 42 && ms < 400,
       "a room's statement runs at once beside two heavy ones (%llu ms)", (unsigned long long)ms);
    wait_all();
    ok(h1.err == NULL && h2.err == NULL, "  both heavy statements ran");
    ok(h2.at >= h1.at + 700, "  one after the other, on the same connection (%llu ms apart)",
       (unsigned long long)(h2.at - h1.at));
    /* But not behind a stuck one while the first connection idles (an
     * audit: /stats waited 3.5 s behind a GENERAL join held by a lock). */
    res_clear(&h1);
    res_clear(&h2);
    CALL(store_query(st, STORE_HEAVY, "SELECT pg_sleep(1.5)", 0, NULL, on_result, &h1));
    run_for(100);
    t0 = now_ms();
    CALL(store_query(st, STORE_HEAVY, "SELECT 43", 0, NULL, on_result, &h2));
    ms = answered_after(&h2, t0);
    ok(h2.err == NULL && h2.id == 43 && ms < 400,
       "a heavy statement takes the idle first connection beside a stuck one (%llu ms)",
       (unsigned long long)ms);
    wait_all();
    store_free(st);
}

/* With three connections, heavy statements pass one stuck on a lock on
 * another (an audit: ties by load sent half of them behind it). */
static void
test_heavy_pass_a_stuck_one(const char *url)
{
    store_t *st = open_store(url, 3, 5000, 3000);
    res_t stuck = {0}, h[4] = {{0}};
    uint64_t t0, slowest = 0;

    wait_ups(3);
    CALL(store_query(st, STORE_HEAVY, "SELECT pg_sleep(1.5)", 0, NULL, on_result, &stuck));
    run_for(100);
    t0 = now_ms();
    for (int i = 0; i < 4; i++) {
        CALL(store_query(st, STORE_HEAVY, "SELECT 44", 0, NULL, on_result, &h[i]));
    }
    for (int i = 0; i < 4; i++) {
        uint64_t ms = answered_after(&h[i], t0);
        slowest = ms > slowest ? ms : slowest;
    }
    ok(slowest < 500, "four heavy statements pass one stuck on another connection (%llu ms)",
       (unsigned long long)slowest);
    wait_all();
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
    ok(admin(adm, "ALTER FUNCTION chathub_msg_insert(bigint, bigint, text, text, text) "
                  "RENAME TO chathub_msg_insert_v0") &&
           admin(adm, "CREATE FUNCTION chathub_msg_insert(p_room bigint, p_sender bigint, "
                      "p_content text, p_client_id text, p_token text) RETURNS TABLE "
                      "(status text, id bigint, room_id bigint, seq bigint, sender_id bigint, "
                      "full_name text, role text, content text, created_at text, "
                      "client_id text, extra int) LANGUAGE sql AS $$ SELECT m.*, 1 FROM "
                      "chathub_msg_insert_v0(p_room, p_sender, p_content, p_client_id, "
                      "p_token) m $$"),
       "a migration adds a column to its result");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err != NULL, "  the prepared plan fails once (%s)", r.err != NULL ? r.err : "no error");
    CALL(store_msg_insert(st, &in, on_msg, &r));
    wait_all();
    ok(r.err == NULL && strncmp(r.text, "v1|", 3) == 0, "  then the statement goes unnamed");
    ok(admin(adm, "DROP FUNCTION chathub_msg_insert(bigint, bigint, text, text, text)") &&
           admin(adm, "ALTER FUNCTION chathub_msg_insert_v0(bigint, bigint, text, text, text) "
                      "RENAME TO chathub_msg_insert"),
       "the function is put back");
    ev.query_failed = failed0; /* the one failure above was the point */
    res_clear(&r);
    store_free(st);
}

/* A flood of one failure is one line per 10 s, the next saying how many
 * were held; another kind of failure meanwhile is never held behind it. */
static void
test_limited_events(const char *url)
{
    store_t *st = open_store(url, 1, 2000, 3000);
    int loud0 = ev.loud_failed, failed0 = ev.query_failed;

    for (int i = 0; i < 50; i++) {
        store_event_limited(st, 1000 + (uint64_t)i, "error", "store.query_failed", "25006",
                            "sqlstate=25006");
    }
    ok(ev.loud_failed == loud0 + 1, "50 of one kind in 10 s: one line (%d)",
       ev.loud_failed - loud0);
    store_event_limited(st, 2000, "error", "store.query_failed", "55P03", "sqlstate=55P03");
    ok(ev.loud_failed == loud0 + 2 && strcmp(ev.last_loud, "sqlstate=55P03") == 0,
       "  another kind meanwhile is logged at once");
    store_event_limited(st, 11000, "error", "store.query_failed", "25006", "sqlstate=25006");
    ok(ev.loud_failed == loud0 + 3 && strcmp(ev.last_loud, "sqlstate=25006 held=49") == 0,
       "  10 s on, the next says how many were held: %s", ev.last_loud);
    for (int k = 0; k < 20; k++) {
        char kind[8];
        snprintf(kind, sizeof(kind), "K%d", k);
        store_event_limited(st, 12000, "error", "store.query_failed", kind, kind);
    }
    ok(ev.loud_failed == loud0 + 10,
       "  20 new kinds at once: one line each while slots last, then one for the rest (%d)",
       ev.loud_failed - loud0 - 3);
    /* Nine kinds taking turns, 50 rounds, with every slot taken: they are
     * limited together, not logged at every turn. */
    int loud1 = ev.loud_failed;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 9; k++) {
            char kind[8];
            snprintf(kind, sizeof(kind), "R%d", k);
            store_event_limited(st, 13000 + (uint64_t)round, "error", "store.query_failed", kind,
                                kind);
        }
    }
    ok(ev.loud_failed - loud1 < 30, "  nine kinds with no slot free stay limited (%d lines)",
       ev.loud_failed - loud1);
    int held0 = ev.loud_held;
    store_event_limited(st, 30000, "error", "store.query_failed", "K19", "K19");
    ok(ev.loud_held == held0 + 1, "  what the shared slot held is said once its 10 s are over");
    ev.query_failed = failed0; /* these were the point */
    store_free(st);
    run_for(50);
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

/* The hooks' lookups, counted: the store must ask before every attempt. A
 * name under .hang.invalid is never answered: a lookup that hangs. */
static void *(*real_resolve)(void *ud, const char *host, store_resolve_cb cb, void *cb_ud);
static int lookups;
static void (*real_resolve_cancel)(void *handle);
static int hung, hung_cancelled;
static char hang_handle;

static void *
hanging_resolve(void *ud, const char *host, store_resolve_cb cb, void *cb_ud)
{
    size_t n = strlen(host), sfx = strlen(".hang.invalid");

    lookups++;
    if (n > sfx && strcmp(host + n - sfx, ".hang.invalid") == 0) {
        hung++;
        return &hang_handle;
    }
    return real_resolve(ud, host, cb, cb_ud);
}

static void
hanging_resolve_cancel(void *handle)
{
    if (handle == &hang_handle) {
        hung_cancelled++;
        return;
    }
    real_resolve_cancel(handle);
}

static store_t *
open_lookup_store(const char *url, unsigned connect_timeout_ms)
{
    store_hooks_t hooks;
    store_config_t cfg = {.conninfo = url,
                          .pool_size = 1,
                          .query_timeout_ms = 2000,
                          .connect_timeout_ms = connect_timeout_ms};

    hub_store_uv_hooks_init(&hooks, &loop, on_event, NULL);
    real_resolve = hooks.resolve;
    real_resolve_cancel = hooks.resolve_cancel;
    hooks.resolve = hanging_resolve;
    hooks.resolve_cancel = hanging_resolve_cancel;
    return store_new(&cfg, &hooks);
}

static store_t *
open_counting_store(const char *url)
{
    return open_lookup_store(url, 3000);
}

static void
test_host_looked_up_at_every_attempt(const char *url, PGconn *adm)
{
    char named[512], sql[256];
    const char *at = strstr(url, "@127.0.0.1:");
    res_t r = {0};
    int before;

    if (at == NULL) {
        ok(1, "# SKIP the database URL names no 127.0.0.1 host");
        return;
    }
    /* The same database by name: localhost. */
    snprintf(named, sizeof(named), "%.*s@localhost:%s", (int)(at - url), url,
             at + strlen("@127.0.0.1:"));
    lookups = 0;
    store_t *st = open_counting_store(named);
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == NULL && lookups == 1, "a host by name is looked up through the hooks (%d)",
       lookups);
    before = ev.up;
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
             "current_database() AND application_name = 'chathub' AND pid <> pg_backend_pid()");
    ok(admin(adm, sql), "the server ends the store's session");
    wait_ups(1);
    ok(ev.up > before && lookups == 2, "  the reconnect looks the host up again (%d)", lookups);
    store_free(st);

    lookups = 0;
    before = ev.connect_failed;
    st = open_counting_store("postgresql://postgres@db-does-not-exist.invalid:5432/postgres");
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == store_err_unavailable, "a host that does not resolve is store_err_unavailable");
    run_for(1500);
    ok(lookups >= 2, "  and the lookup is retried with the backoff (%d)", lookups);
    ok(ev.connect_failed == before + 1, "  reported once (%d)", ev.connect_failed - before);
    store_free(st);
    res_clear(&r);

    /* Several hosts, libpq's failover list: each name looked up, one that
     * does not resolve left out of the attempt, the rest tried in order. */
    snprintf(named, sizeof(named), "%.*s@db-does-not-exist.invalid:5432,localhost:%s",
             (int)(at - url), url, at + strlen("@127.0.0.1:"));
    lookups = 0;
    st = open_counting_store(named);
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == NULL && lookups == 2,
       "two hosts by name: both looked up, the one that resolves is used (%d)", lookups);
    store_free(st);
    res_clear(&r);
}

/* A lookup that never answers: the connect deadline goes on with the hosts
 * that did answer, or fails the attempt when none did, and cancels it. */
static void
test_lookup_deadline(const char *url)
{
    char named[512];
    const char *at = strstr(url, "@127.0.0.1:");
    res_t r = {0};
    uint64_t t0;
    int before;

    if (at == NULL) {
        ok(1, "# SKIP the database URL names no 127.0.0.1 host");
        return;
    }
    snprintf(named, sizeof(named), "%.*s@db.hang.invalid:5432,localhost:%s", (int)(at - url), url,
             at + strlen("@127.0.0.1:"));
    lookups = hung = hung_cancelled = 0;
    t0 = now_ms();
    store_t *st = open_lookup_store(named, 600);
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == NULL && hung == 1 && lookups == 2,
       "a hung lookup of one host: the deadline connects to the host that answered");
    ok(r.at - t0 >= 550, "  once the connect deadline came (%llu ms)",
       (unsigned long long)(r.at - t0));
    ok(hung_cancelled == 1, "  and the hung lookup is cancelled (%d)", hung_cancelled);
    store_free(st);
    res_clear(&r);

    lookups = hung = hung_cancelled = 0;
    before = ev.connect_failed;
    st = open_lookup_store("postgresql://postgres@db.hang.invalid:5432/postgres", 400);
    CALL(store_ping(st, on_done, &r));
    wait_all();
    ok(r.err == store_err_unavailable && ev.connect_failed == before + 1,
       "a lone hung lookup fails the attempt at the deadline (store_err_unavailable)");
    ok(hung_cancelled == hung, "  each hung lookup is cancelled (%d of %d)", hung_cancelled, hung);
    run_for(300); /* a retry starts another lookup, which store_free() must cancel */
    store_free(st);
    ok(hung_cancelled == hung, "store_free() cancels a lookup still hanging (%d of %d)",
       hung_cancelled, hung);
    res_clear(&r);
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
    char *url = harness_begin(base);

    if (url == NULL) {
        return 0;
    }
    PGconn *adm = admin_connect(url);
    seed(url, adm);
    test_statement_timeout(url, adm);
    test_deadline_and_requeue(url);
    test_heavy_off_first(url);
    test_heavy_pass_a_stuck_one(url);
    test_server_kills_sessions(url, adm);
    test_prepared_plan_change(url, adm);
    test_limited_events(url);
    test_host_looked_up_at_every_attempt(url, adm);
    test_lookup_deadline(url);
    PQfinish(adm);
    test_unavailable();
    test_connect_timeout();
    test_shutdown(url);
    return harness_end(base, url);
}
