/*
 * Inserts in batches against a real PostgreSQL (TEST_DATABASE_URL; skipped
 * without it): group commit with every answer its own, several rooms per
 * statement under a per-room byte bound, and a room's statements kept on the
 * connection holding its pending ones while other rooms go past a lock.
 */
#include "store_harness.h"

/* Users 1 and 2 in room 10; user 3 exists and is in no room. */
static void
seed(const char *url, PGconn *adm)
{
    harness_migrate(url);
    ok(admin(adm, "INSERT INTO users (id, full_name, role) VALUES (1, 'Ivan Petrov', 'student'), "
                  "(2, 'Anna Smirnova', 'teacher'), (3, 'Oleg Ivanov', 'parent')") &&
           admin(adm, "INSERT INTO rooms (id, type, name) VALUES (10, 'GROUP', 'Room 10'), "
                      "(30, 'GROUP', 'Room 30'), (40, 'GROUP', 'Room 40')") &&
           admin(adm, "INSERT INTO room_participants (room_id, user_id) VALUES (10, 1), (10, 2), "
                      "(30, 1), (40, 1)"),
       "rooms 10 (members 1 and 2), 30 and 40 (member 1), user 3 outside");
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

/* A batch may hold several rooms' messages, and many small ones of one room,
 * but at most 64 KB of one room's (they reach the room's sockets in one
 * burst): a connection behind on many rooms catches up in few statements. */
static void
test_group_commit_rooms(store_t *st)
{
    enum { ROOMS = 5, EACH = 8, SMALL = 40, BIG = 12, BIG_BYTES = 20000 };
    static const int64_t ids[ROOMS] = {10, 20, 30, 40, 50};
    static res_t rs[SMALL];
    int64_t pair[] = {1, 2};
    char *big = malloc(BIG_BYTES + 1);
    res_t r = {0};
    int bad = 0;

    for (int k = 1; k < ROOMS; k++) {
        CALL(store_room_put(st, ids[k], "GROUP", "batch", true, pair, 2, on_room_put, &r));
        wait_all();
        bad += r.err != NULL;
    }
    ok(bad == 0, "rooms 20..50 for the batches");
    memset(rs, 0, sizeof(rs));
    uint64_t before = store_pool_stats(st)->queries;
    for (int i = 0; i < ROOMS * EACH; i++) {
        store_msg_in_t m = {
            .room_id = ids[i % ROOMS], .sender_id = 1, .content = "spread", .content_len = 6};
        CALL(store_msg_insert(st, &m, on_msg, &rs[i]));
    }
    wait_all();
    uint64_t taken = store_pool_stats(st)->queries - before;
    for (int i = 0; i < ROOMS * EACH; i++) {
        int64_t prev = i >= ROOMS ? rs[i - ROOMS].seq : rs[i].seq - 1;
        bad += rs[i].err != NULL || rs[i].seq != prev + 1;
    }
    ok(bad == 0, "%d inserts in %d rooms queued at once: seqs in queue order per room (%d bad)",
       ROOMS * EACH, ROOMS, bad);
    ok(taken <= 4, "  in %llu statements: a batch holds several rooms", (unsigned long long)taken);

    for (int i = 0; i < SMALL; i++) {
        res_clear(&rs[i]);
    }
    before = store_pool_stats(st)->queries;
    for (int i = 0; i < SMALL; i++) {
        store_msg_in_t m = {.room_id = 10, .sender_id = 2, .content = "one", .content_len = 3};
        CALL(store_msg_insert(st, &m, on_msg, &rs[i]));
    }
    wait_all();
    taken = store_pool_stats(st)->queries - before;
    for (int i = 1; i < SMALL; i++) {
        bad += rs[i].err != NULL || rs[i].seq != rs[i - 1].seq + 1;
    }
    ok(bad == 0 && taken == 2, "%d small inserts in one room: in order, in %llu statements (2)",
       SMALL, (unsigned long long)taken);

    memset(big, 'b', BIG_BYTES);
    big[BIG_BYTES] = '\0';
    for (int i = 0; i < SMALL; i++) {
        res_clear(&rs[i]);
    }
    before = store_pool_stats(st)->queries;
    for (int i = 0; i < BIG; i++) {
        store_msg_in_t m = {
            .room_id = 10, .sender_id = 2, .content = big, .content_len = BIG_BYTES};
        CALL(store_msg_insert(st, &m, on_msg, &rs[i]));
    }
    wait_all();
    taken = store_pool_stats(st)->queries - before;
    for (int i = 1; i < BIG; i++) {
        bad += rs[i].err != NULL || rs[i].seq != rs[i - 1].seq + 1;
    }
    /* The first alone, then 3 of 20 KB per statement. */
    ok(bad == 0 && taken == 1 + (BIG - 1 + 2) / 3,
       "%d inserts of 20 KB in one room: in order, in %llu statements of at most 64 KB", BIG,
       (unsigned long long)taken);
    for (int i = 0; i < SMALL; i++) {
        res_clear(&rs[i]);
    }
    free(big);
}

/* A room waits behind its own pending statements only: with room 10's insert
 * stuck on a row lock, room 20's (the same connection by id parity, once)
 * goes to the other connection and lands, and room 10's next waits in order. */
static void
test_routing(store_t *st, PGconn *adm)
{
    res_t r10 = {0}, r20 = {0}, r10b = {0};
    store_msg_in_t m10 = {.room_id = 10, .sender_id = 1, .content = "held", .content_len = 4};
    store_msg_in_t m20 = {.room_id = 20, .sender_id = 1, .content = "free", .content_len = 4};

    ok(admin(adm, "BEGIN") && admin(adm, "SELECT 1 FROM rooms WHERE id = 10 FOR UPDATE"),
       "room 10's row locked by another session");
    CALL(store_msg_insert(st, &m10, on_msg, &r10));
    run_for(200);
    CALL(store_msg_insert(st, &m20, on_msg, &r20));
    CALL(store_msg_insert(st, &m10, on_msg, &r10b));
    run_for(1000);
    ok(r20.at != 0 && r20.err == NULL && r10.at == 0 && r10b.at == 0,
       "  room 20's insert landed while room 10's two wait");
    ok(admin(adm, "COMMIT"), "  unlocked");
    wait_all();
    ok(r10.err == NULL && r10b.err == NULL && r10b.seq == r10.seq + 1,
       "  then room 10's two, in order (%lld, %lld)", (long long)r10.seq, (long long)r10b.seq);
    res_clear(&r10);
    res_clear(&r20);
    res_clear(&r10b);
}

/* A statement holding two rooms' inserts fails when one room's row is locked
 * elsewhere past the statement timeout (1 s here). It rolled back, so its
 * parts are sent again one by one: the locked room's insert fails alone and
 * the other room's lands, once. The locked room's statements queued behind
 * fail with it rather than each waiting out the timeout in front of the other
 * rooms'. */
static void
test_split(const char *url, PGconn *adm)
{
    store_t *st = open_store(url, 1, 1000, 3000);
    res_t first = {0}, held = {0}, other = {0}, held2 = {0}, other2 = {0};
    store_msg_in_t m10 = {.room_id = 10, .sender_id = 1, .content = "held", .content_len = 4};
    store_msg_in_t m30 = {.room_id = 30, .sender_id = 1, .content = "free", .content_len = 4};
    int splits = ev.batch_split;

    wait_up(st);
    ok(admin(adm, "BEGIN") && admin(adm, "SELECT 1 FROM rooms WHERE id = 10 FOR UPDATE"),
       "room 10's row locked by another session");
    /* Queued in one turn, the three go as one statement. */
    CALL(store_msg_insert(st, &m30, on_msg, &first));
    CALL(store_msg_insert(st, &m10, on_msg, &held));
    CALL(store_msg_insert(st, &m30, on_msg, &other));
    run_for(100);
    /* Queued behind the statement in flight: room 10's next, then room 30's. */
    CALL(store_msg_insert(st, &m10, on_msg, &held2));
    CALL(store_msg_insert(st, &m30, on_msg, &other2));
    uint64_t end = now_ms() + 8000;
    while ((held.at == 0 || other.at == 0 || held2.at == 0 || other2.at == 0) && now_ms() < end) {
        run_for(20);
    }
    ok(admin(adm, "COMMIT"), "  unlocked");
    ok(first.err == NULL && other.err == NULL && other.seq == first.seq + 1,
       "  room 30's insert in the failed statement landed after all (%s, seq %lld after %lld)",
       other.err != NULL ? other.err : "ok", (long long)other.seq, (long long)first.seq);
    ok(held.err == store_err_timeout, "  room 10's failed alone: %s", held.err);
    ok(held2.err == store_err_timeout && held2.at - held.at < 500,
       "  room 10's next, queued, failed with it (%s, %llu ms later), not after a timeout of its "
       "own",
       held2.err != NULL ? held2.err : "ok", (unsigned long long)(held2.at - held.at));
    ok(other2.err == NULL && other2.seq == other.seq + 1, "  room 30's next landed (%s)",
       other2.err != NULL ? other2.err : "ok");
    ok(ev.batch_split == splits + 1, "  one split reported");
    PGresult *r =
        PQexec(adm, "SELECT count(*) FROM messages WHERE room_id = 30 AND content = 'free'");
    ok(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "3") == 0,
       "  room 30 holds its three messages, no more");
    PQclear(r);
    res_clear(&first);
    res_clear(&held);
    res_clear(&other);
    res_clear(&held2);
    res_clear(&other2);
    store_free(st);
}

/* A deadlock between a message's insert and another transaction: PostgreSQL
 * rolls the insert back (it waited first, so its check finds the cycle), and
 * the store sends it again, which lands once the other commits. */
static void
test_deadlock_retry(const char *url, PGconn *adm)
{
    store_t *st = open_store(url, 1, 5000, 3000);
    res_t r = {0};
    store_msg_in_t m = {.room_id = 10, .sender_id = 1, .content = "cycle", .content_len = 5};
    int retries = ev.retry;

    wait_up(st);
    ok(admin(adm, "BEGIN") && admin(adm, "SELECT 1 FROM users WHERE id = 1 FOR UPDATE"),
       "user 1's row locked by another session");
    /* The insert takes room 10's row, then waits for user 1's (its foreign key). */
    CALL(store_msg_insert(st, &m, on_msg, &r));
    run_for(300);
    /* Room 10's row now closes the cycle; PostgreSQL breaks it within 1 s. */
    ok(admin(adm, "UPDATE rooms SET name = name WHERE id = 10"),
       "  the other session's update ran");
    ok(admin(adm, "COMMIT"), "  and committed");
    wait_all();
    ok(r.err == NULL && r.seq > 0, "  the insert landed after all (%s)",
       r.err != NULL ? r.err : "ok");
    ok(ev.retry == retries + 1, "  sent again once");
    res_clear(&r);
    store_free(st);
}

/* A deactivated sender's insert is refused by the store itself, alone or
 * batched, so no message of theirs lands after the deactivation committed,
 * whatever node their socket is on; a retry of one stored before gets its
 * original. */
static void
test_inactive_sender(store_t *st, PGconn *adm)
{
    res_t before = {0}, retry = {0}, r1 = {0}, r2 = {0}, r3 = {0};
    store_msg_in_t kept = {
        .room_id = 10, .sender_id = 2, .content = "kept", .content_len = 4, .client_id = "inact-1"};
    store_msg_in_t by1 = {.room_id = 10, .sender_id = 1, .content = "one", .content_len = 3};
    store_msg_in_t by2 = {.room_id = 10, .sender_id = 2, .content = "two", .content_len = 3};

    CALL(store_msg_insert(st, &kept, on_msg, &before));
    wait_all();
    ok(before.err == NULL, "user 2's message stored while active");
    ok(admin(adm, "UPDATE users SET is_active = false WHERE id = 2"), "user 2 deactivated");
    CALL(store_msg_insert(st, &by2, on_msg, &r2));
    wait_all();
    ok(r2.err == store_err_unauthorized, "  alone: store_err_unauthorized (%s)",
       r2.err != NULL ? r2.err : "stored");
    res_clear(&r2);
    CALL(store_msg_insert(st, &by1, on_msg, &r1));
    CALL(store_msg_insert(st, &by2, on_msg, &r2));
    CALL(store_msg_insert(st, &by1, on_msg, &r3));
    wait_all();
    ok(r1.err == NULL && r3.err == NULL && r2.err == store_err_unauthorized,
       "  in a batch: refused, the others stored");
    CALL(store_msg_insert(st, &kept, on_msg, &retry));
    wait_all();
    ok(retry.err == NULL && retry.flag && retry.id == before.id,
       "  a retry of one stored before gets its original");
    ok(admin(adm, "UPDATE users SET is_active = true WHERE id = 2"), "user 2 active again");
    res_clear(&before);
    res_clear(&retry);
    res_clear(&r1);
    res_clear(&r2);
    res_clear(&r3);
}

/* Two rooms' rows locked, a third free, all in one statement: after the
 * split each locked room's insert times out alone (1 s each), and the free
 * room's, queued behind both, still lands: its wait starts again after each. */
static void
test_split_two_locked(const char *url, PGconn *adm)
{
    store_t *st = open_store(url, 1, 1000, 3000);
    res_t free1 = {0}, held10 = {0}, held30 = {0}, free2 = {0};
    store_msg_in_t m10 = {.room_id = 10, .sender_id = 1, .content = "ten", .content_len = 3};
    store_msg_in_t m30 = {.room_id = 30, .sender_id = 1, .content = "thirty", .content_len = 6};
    store_msg_in_t m40 = {.room_id = 40, .sender_id = 1, .content = "forty", .content_len = 5};

    wait_up(st);
    ok(admin(adm, "BEGIN") && admin(adm, "SELECT 1 FROM rooms WHERE id IN (10, 30) FOR UPDATE"),
       "rooms 10 and 30 locked by another session");
    CALL(store_msg_insert(st, &m40, on_msg, &free1));
    CALL(store_msg_insert(st, &m10, on_msg, &held10));
    CALL(store_msg_insert(st, &m30, on_msg, &held30));
    CALL(store_msg_insert(st, &m40, on_msg, &free2));
    uint64_t end = now_ms() + 8000;
    while (free2.at == 0 && now_ms() < end) {
        run_for(20);
    }
    ok(admin(adm, "COMMIT"), "  unlocked");
    ok(held10.err == store_err_timeout && held30.err == store_err_timeout,
       "  both locked rooms' inserts timed out");
    ok(free1.err == NULL && free2.err == NULL && free2.seq == free1.seq + 1,
       "  room 40's two landed, the second behind both timeouts (%s)",
       free2.err != NULL ? free2.err : "ok");
    res_clear(&free1);
    res_clear(&held10);
    res_clear(&held30);
    res_clear(&free2);
    store_free(st);
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
    store_t *st = open_store(url, 2, 5000, 3000);
    test_group_commit(st);
    test_group_commit_rooms(st);
    test_routing(st, adm);
    test_inactive_sender(st, adm);
    store_free(st);
    test_split(url, adm);
    test_split_two_locked(url, adm);
    test_deadlock_retry(url, adm);
    PQfinish(adm);
    return harness_end(base, url);
}
