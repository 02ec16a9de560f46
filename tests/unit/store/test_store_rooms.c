/*
 * Room writes and room SQL added after test_store.c's walk through the data
 * (TEST_DATABASE_URL; skipped without it): DIRECT rooms through PUT (0009),
 * create-once keys (0010), rooms' last seqs in one statement, sockets
 * re-checked in one statement, the join
 * batch's plan (0006) and rooms' id and type rules as a trigger (0008).
 */
#include "store_harness.h"

/* The DIRECT room POST made for users 1 and 2 (seed). */
static int64_t direct_room;

/* Users 1 and 2 with their POST-made DIRECT room; room 10 at seq 7. */
static void
seed(store_t *st, PGconn *adm)
{
    res_t r = {0};
    int64_t pair[] = {1, 2};

    ok(admin(adm, "INSERT INTO users (id, full_name, role) VALUES (1, 'Ivan Petrov', 'student'), "
                  "(2, 'Maria Ivanova', 'teacher')") &&
           admin(adm, "INSERT INTO rooms (id, type, name, last_seq) VALUES (10, 'GROUP', 'R', 7)"),
       "users 1 and 2, room 10 at seq 7");
    CALL(store_room_create(st, "DIRECT", "", pair, 2, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.flag, "POST DIRECT for users 1 and 2: room %lld", (long long)r.id);
    direct_room = r.id;
}

/* PUT of a DIRECT room holds the pair's key as POST's rooms do (0009). */
static void
test_direct_put(store_t *st, store_t *st2)
{
    res_t r = {0}, rs[8];
    int64_t users[] = {8, 9, 11}, pair[] = {1, 2}, p89[] = {8, 9}, p98[] = {9, 8};
    int64_t p811[] = {8, 11}, p911[] = {9, 11}, three[] = {8, 9, 11}, same[] = {8, 8};

    for (size_t i = 0; i < 3; i++) {
        CALL(store_user_upsert(st, users[i], "Pair User", "student", true, on_user, &r));
        wait_all();
    }
    CALL(store_room_put(st, 30, "DIRECT", "", true, pair, 2, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_conflict && r.id == direct_room,
       "PUT DIRECT of a pair POST made is store_err_conflict naming its room (%lld)",
       (long long)r.id);
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 30, on_join, &r));
    wait_all();
    ok(r.err == store_err_not_found, "  and room 30 was not made");
    CALL(store_room_put(st, 31, "DIRECT", "", true, p89, 2, on_room_put, &r));
    wait_all();
    ok(r.err == NULL && r.id == 31 && r.flag, "PUT DIRECT of a new pair creates");
    CALL(store_room_put(st, 31, "DIRECT", "renamed", true, p98, 2, on_room_put, &r));
    wait_all();
    ok(r.err == NULL && r.id == 31 && !r.flag, "  PUT of the same id again updates");
    CALL(store_room_create(st, "DIRECT", "", p98, 2, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.id == 31 && !r.flag, "  POST of the pair finds the PUT room");
    CALL(store_room_put(st, 32, "DIRECT", "", true, p89, 2, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_conflict && r.id == 31, "  PUT of another id is a conflict naming 31");
    CALL(store_room_put(st, 33, "DIRECT", "", true, three, 3, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_invalid, "PUT DIRECT with three members is store_err_invalid");
    CALL(store_room_put(st, 33, "DIRECT", "", true, same, 2, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_invalid, "PUT DIRECT with oneself is store_err_invalid");
    CALL(store_room_put(st, 33, "DIRECT", "", false, NULL, 0, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_invalid, "PUT DIRECT without members is store_err_invalid");

    /* Eight ids for one pair from two stores at once: the index lets one in. */
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 8; i++) {
        CALL(store_room_put(i % 2 ? st : st2, 40 + i, "DIRECT", "", true, p811, 2, on_room_put,
                            &rs[i]));
    }
    wait_all();
    {
        int created = 0, conflicts = 0;
        int64_t winner = 0;
        for (int i = 0; i < 8; i++) {
            if (rs[i].err == NULL && rs[i].flag) {
                created++;
                winner = 40 + i;
            }
        }
        for (int i = 0; i < 8; i++) {
            conflicts += rs[i].err == store_err_conflict && rs[i].id == winner;
        }
        ok(created == 1 && conflicts == 7,
           "racing PUTs of eight ids for one pair: one created (%d), seven conflicts naming it "
           "(%d)",
           created, conflicts);
    }
    /* One new id for one pair from two stores at once: one creates, the rest update. */
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 8; i++) {
        CALL(
            store_room_put(i % 2 ? st : st2, 50, "DIRECT", "", true, p911, 2, on_room_put, &rs[i]));
    }
    wait_all();
    {
        int created, errs;
        count_created(rs, 8, &created, &errs);
        ok(errs == 0 && created == 1,
           "racing PUTs of one id for one pair: one created (%d), no "
           "error (%d)",
           created, errs);
    }
    CALL(store_room_put(st, 31, "GROUP", "not direct", true, p89, 2, on_room_put, &r));
    wait_all();
    CALL(store_room_put(st, 32, "DIRECT", "", true, p89, 2, on_room_put, &r));
    wait_all();
    ok(r.err == NULL && r.flag, "a room PUT as GROUP frees its pair");
}

/* POST /rooms with an Idempotency-Key (0010): once per key, even racing. */
static void
test_room_once(store_t *st, store_t *st2, PGconn *adm)
{
    res_t r = {0}, first = {0}, rs[8];
    int64_t club[] = {8, 9, 11}, shuffled[] = {11, 8, 9, 8}, pair[] = {8, 9};

    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 8; i++) {
        CALL(store_room_create_once(i % 2 ? st : st2, "k-race", "GROUP", "Once", club, 3, on_room,
                                    &rs[i]));
    }
    wait_all();
    {
        int created = 0, same = 0;
        for (int i = 0; i < 8; i++) {
            created += rs[i].err == NULL && rs[i].flag;
            same += rs[i].err == NULL && rs[i].id == rs[0].id;
        }
        ok(created == 1 && same == 8 && rs[0].id > STORE_ROOM_HUB_ID_BASE,
           "eight racing creates with one key: one room (%d created, %d same)", created, same);
    }
    first = rs[0];
    CALL(store_room_create_once(st, "k-race", "GROUP", "Once", shuffled, 4, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.id == first.id && !r.flag, "  the same member set in another order too");
    CALL(store_room_create_once(st, "k-race", "GROUP", "Twice", club, 3, on_room, &r));
    wait_all();
    ok(r.err == store_err_key_reused, "  another name under the key is store_err_key_reused");
    CALL(store_room_create_once(st, "k-race", "GROUP", "Once", pair, 2, on_room, &r));
    wait_all();
    ok(r.err == store_err_key_reused, "  other members under the key too");
    CALL(store_room_create_once(st, "k-other", "GROUP", "Once", club, 3, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.id != first.id, "another key makes another room");
    CALL(store_room_create_once(st, NULL, "GROUP", "Once", club, 3, on_room, &r));
    CALL(store_room_create_once(st, NULL, "GROUP", "Once", club, 3, on_room, &rs[0]));
    wait_all();
    ok(r.err == NULL && rs[0].err == NULL && r.flag && rs[0].flag && r.id != rs[0].id,
       "no key: a room each time, as store_room_create");
    CALL(store_room_create_once(st, "k-ghost", "GROUP", "Ghosts", (int64_t[]){8, 99}, 2, on_room,
                                &r));
    wait_all();
    ok(r.err == store_err_invalid, "an unknown member is store_err_invalid");
    CALL(store_room_create_once(st, "k-ghost", "GROUP", "Ghosts", pair, 2, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.flag, "  and the failed call left its key unclaimed");
    ok(admin(adm, "UPDATE room_idempotency_keys SET created_at = now() - interval '25 hours' "
                  "WHERE key = 'k-race'"),
       "the first key is made 25 hours old");
    CALL(store_room_create_once(st, "k-race", "GROUP", "Once", club, 3, on_room, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.id != first.id, "  an expired key counts as new");
    CALL(store_room_create_once(st, "k-dm", "DIRECT", "", pair, 2, on_room, &r));
    CALL(store_room_create_once(st2, "k-dm2", "DIRECT", "", pair, 2, on_room, &rs[0]));
    wait_all();
    ok(r.err == NULL && rs[0].err == NULL && r.id == rs[0].id && r.id == 32,
       "DIRECT under a key is still the pair's room (%lld)", (long long)r.id);
}

/* A batch of joins must read the participants it needs by index, however
 * many the table holds: with 0004's plan PostgreSQL scanned all of
 * room_participants twice per batch once it held a few thousand rows. The
 * scans are counted in the transaction's own statistics, which the rollback
 * throws away with the rows. */
static void
test_join_plan(PGconn *adm)
{
    PGresult *res;
    long scans = -1;

    ok(admin(adm, "BEGIN") &&
           admin(adm, "INSERT INTO users (id, full_name, role) SELECT g, 'u' || g, 'student' "
                      "FROM generate_series(100000, 104999) g") &&
           admin(adm, "INSERT INTO rooms (id, type, name) SELECT 900000 + r, 'GROUP', 'g' || r "
                      "FROM generate_series(0, 499) r") &&
           admin(adm, "INSERT INTO room_participants (room_id, user_id) "
                      "SELECT 900000 + g / 10, 100000 + g FROM generate_series(0, 4999) g") &&
           admin(adm, "ANALYZE users, rooms, room_participants"),
       "5,000 participants in 500 rooms");
    res = PQexec(adm,
                 "SELECT count(*) FILTER (WHERE status = 'ok' AND json_array_length(parts) = 10) "
                 "FROM chathub_join_rooms("
                 "  ARRAY(SELECT 100000 + g * 7 FROM generate_series(0, 62) g)::bigint[],"
                 "  ARRAY(SELECT 900000 + g * 7 / 10 FROM generate_series(0, 62) g)::bigint[])");
    ok(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "63") == 0,
       "63 joins in one batch, each with its room's 10 participants");
    PQclear(res);
    res = PQexec(adm, "SELECT seq_scan FROM pg_stat_xact_user_tables "
                      "WHERE relname = 'room_participants'");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        scans = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    ok(scans == 0, "  and no sequential scan of room_participants (%ld)", scans);
    ok(admin(adm, "ROLLBACK"), "  rolled back");
}

/* The SQLSTATE sql fails with, and the constraint it names, or "" for both
 * when it succeeds. Runs under a savepoint, so the caller's transaction
 * survives a failure. */
static bool
fails_with(PGconn *adm, const char *sql, const char *state, const char *constraint)
{
    PGresult *res;
    const char *got, *name;
    bool match;

    if (!admin(adm, "SAVEPOINT f")) {
        return false;
    }
    res = PQexec(adm, sql);
    got = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    name = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    match = strcmp(got != NULL ? got : "", state) == 0 &&
            strcmp(name != NULL ? name : "", constraint) == 0;
    if (!match) {
        printf("# %s: %s %s\n", sql, got != NULL ? got : "ok", name != NULL ? name : "");
    }
    PQclear(res);
    return admin(adm, "ROLLBACK TO SAVEPOINT f") && match;
}

/* rooms' id and type rules are a trigger since 0008, so that a seq bump does
 * not re-prepare them: every way to write either column still meets them,
 * with the errors the CHECK constraints raised. */
static void
test_room_checks(PGconn *adm)
{
    PGresult *res;
    static const char *const bad[][2] = {
        {"INSERT INTO rooms (id, type) VALUES (0, 'GROUP')", "rooms_id_check"},
        {"INSERT INTO rooms (id, type) VALUES (9007199254740992, 'GROUP')", "rooms_id_check"},
        {"INSERT INTO rooms (id, type) VALUES (910001, 'CLUB')", "rooms_type_check"},
        {"INSERT INTO rooms (type) VALUES ('group')", "rooms_type_check"},
        {"UPDATE rooms SET type = 'CLUB' WHERE id = 910000", "rooms_type_check"},
        {"UPDATE rooms SET id = -910000 WHERE id = 910000", "rooms_id_check"},
        {"INSERT INTO rooms (id, type) VALUES (910000, 'GROUP') "
         "ON CONFLICT (id) DO UPDATE SET type = 'CLUB'",
         "rooms_type_check"},
    };

    ok(admin(adm, "BEGIN") && admin(adm, "INSERT INTO rooms (id, type) VALUES (910000, 'GROUP')"),
       "a room with a good id and type is stored");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(fails_with(adm, bad[i][0], "23514", bad[i][1]), "  %s: 23514 %s", bad[i][0], bad[i][1]);
    }
    ok(fails_with(adm, "INSERT INTO rooms (id, type) VALUES (910003, NULL)", "23502", ""),
       "  a NULL type is still NOT NULL's error");
    ok(fails_with(adm, "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = 910000", "", "") &&
           fails_with(adm, "UPDATE rooms SET type = 'DIRECT', id = 910004 WHERE id = 910000", "",
                      ""),
       "  a seq bump, and a good id and type, are written");
    ok(admin(adm, "ROLLBACK"), "  rolled back");
    res = PQexec(adm, "SELECT count(*) FROM pg_constraint "
                      "WHERE conrelid = 'rooms'::regclass AND contype = 'c'");
    ok(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "0") == 0,
       "rooms has no CHECK constraint for a seq bump to re-prepare");
    PQclear(res);
}

static void
on_last_seqs(void *ud, const int64_t *ids, const int64_t *seqs, size_t n, const char *err)
{
    res_t *r = ud;

    r->err = err;
    r->n = n;
    for (size_t i = 0; i < n && i < 16; i++) {
        r->ids[i] = ids[i];
        r->seqs[i] = seqs[i];
    }
    got();
}

/* Rooms' last seqs in one statement; a missing room has no row. */
static void
test_last_seqs(store_t *st, PGconn *adm)
{
    static const int64_t ids[] = {10, 4242, 10};
    res_t r = {0};
    PGresult *res = PQexec(adm, "SELECT last_seq FROM rooms WHERE id = 10");
    int64_t want = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

    PQclear(res);
    CALL(store_room_last_seqs(st, ids, 3, on_last_seqs, &r));
    wait_all();
    ok(r.err == NULL && r.n == 1 && r.ids[0] == 10 && r.seqs[0] == want && want > 0,
       "rooms 10, 4242, 10: one row, room 10 at %lld (want %lld)", (long long)r.seqs[0],
       (long long)want);
    CALL(store_room_last_seqs(st, ids + 1, 1, on_last_seqs, &r));
    wait_all();
    ok(r.err == NULL && r.n == 0, "only a missing room: no row");
}

/* The failing indexes in ids, their errors' codes in seqs (1 forbidden, 2 unauthorized,
 * 3 disconnected). */
static void
on_members(void *ud, const size_t *bad, const char *const *errs, size_t nbad, const char *err)
{
    res_t *r = ud;

    r->err = err;
    r->n = nbad;
    for (size_t i = 0; i < nbad && i < 16; i++) {
        r->ids[i] = (int64_t)bad[i];
        r->seqs[i] = errs[i] == store_err_forbidden      ? 1
                     : errs[i] == store_err_unauthorized ? 2
                     : errs[i] == store_err_disconnected ? 3
                                                         : 0;
    }
    got();
}

/* Sockets re-checked after a missed kick: only the ones that lost their place
 * come back, each with why (the order of the rows is not promised). */
static void
test_check_members(store_t *st, PGconn *adm)
{
    int64_t users[] = {1, 2, 3, 1, 1};
    int64_t rooms[] = {direct_room, 10, 11, direct_room, direct_room};
    const char *keys[] = {"", "", "", "gone", "key-of-1"};
    int64_t opened[] = {1000, 1000, 1000, 1000, 1000};
    int64_t want[5] = {0, 1, 2, 2, 0};
    int64_t seen[5] = {0};
    res_t r = {0}, d = {0};

    ok(admin(adm, "INSERT INTO users (id, full_name, role, is_active) VALUES "
                  "(3, 'Left', 'student', false)") &&
           admin(adm, "INSERT INTO rooms (id, type, name) VALUES (11, 'GROUP', 'R11')") &&
           admin(adm, "INSERT INTO room_participants (room_id, user_id) VALUES (11, 3)") &&
           admin(adm, "INSERT INTO auth_tokens (key, user_id) VALUES ('key-of-1', 1)"),
       "an inactive participant of room 11, a token of user 1");
    CALL(store_room_check_members(st, users, rooms, keys, opened, 5, on_members, &r));
    wait_all();
    for (size_t i = 0; i < r.n && i < 16; i++) {
        if (r.ids[i] >= 0 && r.ids[i] < 5) {
            seen[r.ids[i]] = r.seqs[i];
        }
    }
    ok(r.err == NULL && r.n == 3 && memcmp(seen, want, sizeof(want)) == 0,
       "not a participant: forbidden; inactive or token gone: unauthorized; the rest pass (%zu)",
       r.n);

    /* User 1 disconnected at 2000: its sockets opened before go, the one
     * opened at 2001 stays; a forbidden one says forbidden, not disconnected. */
    int64_t u1[] = {1, 1, 1};
    int64_t r1[] = {direct_room, direct_room, 10};
    const char *k1[] = {"", "", ""};
    int64_t o1[] = {1999, 2001, 1500};
    CALL(store_user_mark_disconnected(st, 1, 2000, on_done, &d));
    CALL(
        store_user_mark_disconnected(st, 1, 1500, on_done, &d)); /* an older mark changes nothing */
    CALL(store_user_mark_disconnected(st, 4242, 1500, on_done,
                                      &d)); /* an unknown user is no error */
    wait_all();
    ok(d.err == NULL, "disconnects marked");
    memset(seen, 0, sizeof(seen));
    CALL(store_room_check_members(st, u1, r1, k1, o1, 3, on_members, &r));
    wait_all();
    for (size_t i = 0; i < r.n && i < 16; i++) {
        if (r.ids[i] >= 0 && r.ids[i] < 3) {
            seen[r.ids[i]] = r.seqs[i];
        }
    }
    ok(r.err == NULL && r.n == 2 && seen[0] == 3 && seen[1] == 0 && seen[2] == 1,
       "opened before the user's last disconnect: disconnected; after it: passes (%zu)", r.n);
}

int
main(void)
{
    const char *base = getenv("TEST_DATABASE_URL");
    char *url = harness_begin(base);

    if (url == NULL) {
        return 0;
    }
    harness_migrate(url);
    PGconn *adm = admin_connect(url);
    store_t *st = open_store(url, 2, 5000, 3000);
    store_t *st2 = open_store(url, 2, 5000, 3000);
    seed(st, adm);
    test_direct_put(st, st2);
    test_room_once(st, st2, adm);
    test_last_seqs(st, adm);
    test_check_members(st, adm);
    test_join_plan(adm);
    test_room_checks(adm);
    store_free(st);
    store_free(st2);
    PQfinish(adm);
    return harness_end(base, url);
}
