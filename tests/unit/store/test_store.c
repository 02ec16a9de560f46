/*
 * The store's data against a real PostgreSQL (TEST_DATABASE_URL; skipped
 * without it), on a libuv loop through hub_store_uv: migrations under
 * concurrency, users, tokens, rooms, joins with every error, gapless seq under
 * concurrent inserts, client_id idempotency and history pages. Batched
 * inserts and their routing are test_store_batch.c's, the connection's
 * behaviour (timeouts, reconnects, dead servers, shutdown) test_store_conn.c's.
 */
#include "store_harness.h"

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

/* ids, and "full_name/role;" per row in id order (ids below 100). */
static void
on_users_read(void *ud, const store_user_row_t *rows, size_t n, const char *err)
{
    res_t *r = ud;
    size_t off = 0;

    r->n = n;
    r->text[0] = '\0';
    for (size_t i = 0; i < n && i < 16; i++) {
        r->ids[i] = rows[i].id;
    }
    for (int64_t want = 0; want < 100; want++) { /* rows come in no set order */
        for (size_t i = 0; i < n; i++) {
            if (rows[i].id == want && off < sizeof(r->text)) {
                off += (size_t)snprintf(r->text + off, sizeof(r->text) - off, "%s/%s;",
                                        rows[i].full_name, rows[i].role);
            }
        }
    }
    on_done(ud, err);
}

static void
test_users_tokens(store_t *st)
{
    res_t r = {0}, r2 = {0}, r3 = {0};

    CALL(store_user_upsert(st, 1, "Ivan Petrov", "student", true, on_user, &r));
    CALL(store_user_upsert(st, 2, "Maria Ivanova", "teacher", true, on_user, &r2));
    CALL(store_user_upsert(st, 3, "Olga \"O'Brien\" Petrova", "parent", true, on_user, &r3));
    wait_all();
    ok(r.err == NULL && r2.err == NULL && r3.err == NULL, "user upserts");
    CALL(store_user_upsert(st, 4, "Gone User", "student", false, on_user, &r));
    CALL(store_user_upsert(st, 5, "Lonely Tutor", "tutor", true, on_user, &r2));
    CALL(store_user_upsert(st, 6, "Admin", "admin", true, on_user, &r3));
    wait_all();
    CALL(store_user_upsert(st, 1, "Ivan Petrov", "student", true, on_user, &r));
    wait_all();
    ok(r.err == NULL && !r.renamed, "an identical upsert is fine, and no rename");
    CALL(store_user_upsert(st, 5, "Lonely Tutor Renamed", "tutor", true, on_user, &r));
    CALL(store_user_upsert(st, 6, NULL, "teacher", STORE_KEEP, on_user, &r2));
    wait_all();
    ok(r.err == NULL && r.renamed && r2.err == NULL && r2.renamed && strcmp(r2.text, "Admin") == 0,
       "a new name, or a new role, is a rename");
    CALL(store_user_upsert(st, 6, "Admin", "admin", true, on_user, &r3));
    wait_all();
    ok(r3.err == NULL && r3.renamed, "  and back again too");
    CALL(store_user_upsert(st, 4, NULL, "student", STORE_KEEP, on_user, &r));
    wait_all();
    ok(r.err == NULL && !r.flag && strcmp(r.text, "Gone User") == 0,
       "fields left out keep what is stored: still inactive, same name (%s)", r.text);
    CALL(store_user_upsert(st, 8, NULL, "student", STORE_KEEP, on_user, &r));
    wait_all();
    ok(r.err == NULL && r.flag && r.text[0] == '\0' && !r.renamed,
       "a new user left without them: active, no name, no rename");
    CALL(store_user_upsert(st, 8, "Eight", "student", false, on_user, &r));
    wait_all();
    ok(r.err == NULL && !r.flag && strcmp(r.text, "Eight") == 0, "  given, they are stored");
    CALL(store_user_upsert(st, 7, "X", "wizard", true, on_user, &r));
    wait_all();
    ok(r.err == store_err_invalid, "unknown role is store_err_invalid");
    CALL(store_user_upsert(st, -3, "X", "student", true, on_user, &r));
    wait_all();
    ok(r.err == store_err_invalid, "a negative id is store_err_invalid");
    const int64_t read_ids[] = {6, 5, 99, 5};
    CALL(store_users_read(st, read_ids, 4, on_users_read, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && strcmp(r.text, "Lonely Tutor Renamed/tutor;Admin/admin;") == 0,
       "users read again: as stored now, an unknown id left out (%s)", r.text);

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

    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math", true, members, 3, on_room_put, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && r.flag, "room put creates");
    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math 2", true, pair, 2, on_room_put, &r));
    wait_all();
    ok(r.err == NULL && r.id == 10 && !r.flag, "room put again updates (created=false)");
    ok(r.nremoved == 1 && r.removed[0] == 3, "  and names the member it took out (%zu)",
       r.nremoved);
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.ids[0] == 1 && r.ids[1] == 2,
       "members replaced exactly: 1, 2 (%zu)", r.n);
    CALL(store_room_put(st, 10, "FORUM_SUBJECT", "Math 2", false, NULL, 0, on_room_put, &r));
    wait_all();
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 10, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2, "a put without members leaves them alone");
    CALL(store_room_put(st, 11, "GROUP", "Ghosts", true, ghost, 2, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_invalid, "an unknown member is store_err_invalid");
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, 11, on_join, &r));
    wait_all();
    ok(r.err == store_err_not_found, "  and nothing was written");
    CALL(store_room_put(st, STORE_ROOM_HUB_ID_BASE, "GROUP", "x", false, NULL, 0, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_invalid, "a put in the hub's id range is store_err_invalid");
    CALL(store_room_put(st, 12, "SALON", "x", false, NULL, 0, on_room_put, &r));
    wait_all();
    ok(r.err == store_err_invalid, "an unknown room type is store_err_invalid");

    /* Racing puts of one new id from two stores: one creates, the rest update. */
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 8; i++) {
        CALL(store_room_put(i % 2 ? st : st2, 20, "GROUP", "Race", true, pair, 2, on_room_put,
                            &rs[i]));
    }
    wait_all();
    {
        int created, errs;
        count_created(rs, 8, &created, &errs);
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
    CALL(store_participant_remove(st, 10, 999, on_done, &r));
    wait_all();
    ok(r.err == store_err_invalid, "remove a missing user is store_err_invalid, as add is");
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
    /* By its id, alone and in a batch of joins (which only reads): joined too. */
    CALL(store_room_join(st, 1, STORE_ROOM_BY_ID, STORE_ROOM_HUB_ID_BASE, on_join, &r));
    wait_all();
    ok(r.err == NULL && r.id == STORE_ROOM_HUB_ID_BASE && r.n == 3,
       "GENERAL by its id joins the user as well (%zu)", r.n);
    {
        res_t g[6];
        int64_t who[] = {1, 2, 3, 4, 5, 6};

        memset(g, 0, sizeof(g));
        for (int i = 0; i < 6; i++) {
            CALL(store_room_join(st, who[i], STORE_ROOM_BY_ID, STORE_ROOM_HUB_ID_BASE, on_join,
                                 &g[i]));
        }
        wait_all();
        int good = 0;
        for (int i = 0; i < 6; i++) {
            good += (who[i] == 4 ? g[i].err == store_err_unauthorized : g[i].err == NULL);
        }
        ok(good == 6, "  six at once, one inactive: five joined, one refused (%d right)", good);
        CALL(store_room_join(st, 6, STORE_ROOM_BY_ID, STORE_ROOM_HUB_ID_BASE, on_join, &r));
        wait_all();
        ok(r.err == NULL && r.n == 5, "  all five in the room now (%zu)", r.n);
    }
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

    /* A socket's opaque token must still be there (revoked on another node
     * while its kick is on the way); alone and in a batch alike. */
    ok(admin(adm, "INSERT INTO auth_tokens (key, user_id) VALUES ('tok-1', 1), ('tok-2', 2)"),
       "two opaque tokens");
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < 6; i++) {
        static const char *const toks[] = {"tok-1", "gone", "tok-2", "tok-2", NULL, "tok-1"};
        store_msg_in_t m = {.room_id = 10,
                            .sender_id = i == 3 ? 1 : 1 + (i == 2),
                            .content = "t",
                            .content_len = 1,
                            .token = toks[i]};
        CALL(store_msg_insert(st, &m, on_msg, &rs[i]));
    }
    wait_all();
    ok(rs[0].err == NULL && rs[2].err == NULL && rs[4].err == NULL && rs[5].err == NULL,
       "a sender's own token, or none, stores");
    ok(rs[1].err == store_err_unauthorized, "a token no longer there is store_err_unauthorized");
    ok(rs[3].err == store_err_unauthorized, "  and so is another user's token");
    for (int i = 0; i < 6; i++) {
        res_clear(&rs[i]);
    }
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
    ok(r.err == NULL && r.archived && r.seq == 68, "  and the room can be joined, archived");
    ok(admin(adm, "UPDATE rooms SET is_archived = false WHERE id = 10"), "unarchive room 10");
    res_clear(&r);
    res_clear(&r2);
    res_clear(&r3);
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

    CALL(store_msg_history(st, 10, 0, STORE_SEQ_NONE, 5, on_history, &r));
    wait_all();
    last = r.n == 5 ? r.seqs[4] : -1;
    ok(r.err == NULL && r.n == 5 && r.seqs[0] == last - 4 && r.flag,
       "the newest page, ascending, with has_more (last %lld)", (long long)last);
    CALL(store_msg_history(st, 10, 3, STORE_SEQ_NONE, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == 1 && r.seqs[1] == 2 && !r.flag,
       "before_seq 3: seqs 1, 2 and nothing older");
    CALL(store_msg_history(st, 10, 10, STORE_SEQ_NONE, 3, on_history, &r));
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
    CALL(store_msg_history(st, 10, 0, 0, 3, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 3 && r.seqs[0] == 1 && r.seqs[2] == 3 && r.flag,
       "after_seq 0 limit 3: 1..3 from the start, more newer");
    CALL(store_msg_history(st, 10, 6, 2, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 3 && r.seqs[0] == 3 && r.seqs[2] == 5 && !r.flag,
       "after_seq 2 before_seq 6: 3..5 and no more in between");
    CALL(store_msg_history(st, 10, 6, 2, 2, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 2 && r.seqs[0] == 3 && r.seqs[1] == 4 && r.flag,
       "after_seq 2 before_seq 6 limit 2: 3, 4, more in between");
    CALL(store_msg_history(st, 10, 3, 5, 5, on_history, &r));
    wait_all();
    ok(r.err == NULL && r.n == 0 && !r.flag, "after_seq 5 before_seq 3: empty");
    CALL(store_msg_history(st, 10, 0, -2, 5, on_history, &r));
    wait_all();
    ok(r.err == store_err_invalid, "after_seq below STORE_SEQ_NONE is store_err_invalid");
    CALL(store_msg_history(st, 11111, 0, STORE_SEQ_NONE, 5, on_history, &r));
    wait_all();
    ok(r.err == store_err_not_found, "history of a missing room is store_err_not_found");
    CALL(store_msg_history(st, STORE_ROOM_HUB_ID_BASE, 0, STORE_SEQ_NONE, 5, on_history, &r));
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

/* Run the migrations after version from, up to and including upto, on c. */
static bool
migrate_range(PGconn *c, int from, int upto)
{
    bool good = true;

    for (unsigned i = 0; good && i < store_migrations_count; i++) {
        if (store_migrations[i].version > from && store_migrations[i].version <= upto) {
            good = admin(c, "BEGIN") && admin(c, store_migrations[i].sql) && admin(c, "COMMIT");
        }
    }
    return good;
}

/* The text of one value, or "" for NULL / an error; static storage. */
static const char *
value_of(PGconn *c, const char *sql)
{
    static char buf[128];
    PGresult *res = PQexec(c, sql);

    snprintf(buf, sizeof(buf), "%s",
             PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)
                                                                           : "");
    PQclear(res);
    return buf;
}

/* A database written before 0009 may hold several DIRECT rooms per pair (PUT
 * made them keyless): 0009 still applies, and gives each pair's key to one
 * room, the one POST made or else the oldest. */
static void
test_direct_backfill(const char *base)
{
    char name[64], sql[160], keys[128];
    PGconn *root = admin_connect(base), *c;
    char *url;

    snprintf(name, sizeof(name), "chathub_store_backfill_%ld_%d", (long)time(NULL), (int)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0", name);
    ok(admin(root, sql), "a database for the backfill");
    url = with_dbname(base, name);
    c = admin_connect(url);
    ok(migrate_range(c, 0, 8), "  migrated to 0008");
    ok(admin(c, "INSERT INTO users (id, full_name, role) VALUES (1, 'a', 'student'), "
                "(2, 'b', 'student'), (3, 'c', 'student')") &&
           admin(c, "INSERT INTO rooms (id, type, created_at) VALUES "
                    "(100, 'DIRECT', now() - interval '1 day'), "
                    "(101, 'DIRECT', now() - interval '2 days'), (102, 'DIRECT', now()), "
                    "(103, 'DIRECT', now())") &&
           admin(c, "INSERT INTO rooms (id, type, direct_key, created_at) VALUES "
                    "(1000000000000005, 'DIRECT', '2:3', now())") &&
           admin(c, "INSERT INTO room_participants (room_id, user_id) VALUES (100, 1), (100, 2), "
                    "(101, 2), (101, 1), (102, 3), (102, 2), (1000000000000005, 2), "
                    "(1000000000000005, 3), (103, 1), (103, 2), (103, 3)"),
       "  two keyless rooms for 1:2, one for 2:3 beside POST's, one of three users");
    ok(migrate_range(c, 8, 9), "  0009 applies over them");
    snprintf(keys, sizeof(keys), "%s",
             value_of(c, "SELECT string_agg(id || '=' || COALESCE(direct_key, '-'), ' ' "
                         "ORDER BY id) FROM rooms WHERE type = 'DIRECT'"));
    ok(strcmp(keys, "100=- 101=1:2 102=- 103=- 1000000000000005=2:3") == 0,
       "  keys only on the oldest 1:2 room and POST's 2:3 room: %s", keys);
    ok(strcmp(value_of(c, "SELECT status || ' ' || room_id FROM "
                          "chathub_room_put(100, 'DIRECT', '', true, '{1,2}')"),
              "conflict 101") == 0,
       "  a PUT of a keyless duplicate is a conflict naming the keyed room");
    PQfinish(c);
    free(url);
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", name);
    ok(admin(root, sql), "  dropped");
    PQfinish(root);
}

int
main(void)
{
    const char *base = getenv("TEST_DATABASE_URL");
    char *url = harness_begin(base);

    if (url == NULL) {
        return 0;
    }
    test_migrations(url);
    test_migration_lock_timeout(url);
    test_direct_backfill(base);
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
    store_free(st);
    store_free(st2);
    store_free(st3);
    PQfinish(adm);
    return harness_end(base, url);
}
