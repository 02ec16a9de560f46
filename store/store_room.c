/*
 * Rooms: the connect-time join (one SQL function, one round trip) and the
 * room and participant writes of the server API, each one statement, so each
 * is atomic. The SQL functions live in migrations/; this file maps their
 * status columns to store_err_* and their rows to proto_* views.
 */
#include "store_room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_batch.h"
#include "store_internal.h"
#include "store_parts.h"
#include "xalloc.h"

const char store_err_key_reused[] = "key_reused";

typedef struct room_ctx {
    store_join_cb join_cb;
    store_room_cb room_cb;
    store_room_put_cb put_cb;
    store_done_cb done_cb;
    store_seqs_cb seqs_cb;
    store_members_cb members_cb;
    void *ud;
    int64_t id;  /* the room (put) or the user (join) the call is about */
    store_t *st; /* a join's store, for the GENERAL room a batch cannot join */
} room_ctx_t;

static room_ctx_t *
ctx_new(void *ud, int64_t id)
{
    room_ctx_t *c = xcalloc(1, sizeof(*c));

    c->ud = ud;
    c->id = id;
    return c;
}

/* sql NULL: the input was refused; answer err on the next turn. */
static int
run(store_t *st, int64_t affinity, const char *sql, int n, const char *const *params,
    store_result_fn fn, room_ctx_t *c, const char *err)
{
    int rc =
        sql != NULL ? store_query(st, affinity, sql, n, params, fn, c) : store_fail(st, fn, c, err);

    if (rc < 0) {
        free(c);
    }
    return rc;
}

static const char *
status_err(const char *status)
{
    static const struct {
        const char *status;
        const char *err;
    } map[] = {
        {"ok", NULL},
        {"unauthorized", store_err_unauthorized},
        {"not_found", store_err_not_found},
        {"forbidden", store_err_forbidden},
        {"invalid", store_err_invalid},
        {"conflict", store_err_conflict},
        {"disconnected", store_err_disconnected},
        {"mismatch", store_err_key_reused},
    };

    for (size_t i = 0; status != NULL && i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(status, map[i].status) == 0) {
            return map[i].err;
        }
    }
    return store_err_internal;
}

/* ---- join ---- */

/* The last participant list parsed, kept with its text: the rows of one
 * batched join carry their room's list each, and a connect storm's joins come
 * room by room, so most rows parse what the row before did (a tenth of a
 * handshake's instructions in the idle bench). One entry, used only from the
 * loop's thread; what it answers is a pure function of the text. */
static struct {
    char *text;
    size_t len, n;
    proto_participant_t *parts;
} parsed;

static const proto_participant_t *
parts_of(const char *text, size_t len, size_t *n)
{
    proto_participant_t *parts;

    if (parsed.parts == NULL || parsed.len != len || memcmp(parsed.text, text, len) != 0) {
        parts = store_parts_parse(text, len, n);
        if (parts == NULL) {
            return NULL;
        }
        free(parsed.text);
        free(parsed.parts);
        parsed.text = xmalloc(len + 1);
        memcpy(parsed.text, text, len);
        parsed.len = len;
        parsed.n = *n;
        parsed.parts = parts;
    }
    *n = parsed.n;
    return parsed.parts;
}

/* Answer c from row of res, whose status column is col (row < 0: no row). */
static void
answer_join(room_ctx_t *c, const PGresult *res, int row, int col, const char *err)
{
    store_join_t j;
    const proto_participant_t *parts = NULL;

    memset(&j, 0, sizeof(j));
    if (err == NULL) {
        err = row >= 0 ? status_err(store_col_str(res, row, col)) : store_err_internal;
    }
    if (err == NULL) {
        parts = parts_of(PQgetvalue(res, row, col + 8), (size_t)PQgetlength(res, row, col + 8),
                         &j.nparts);
        err = parts != NULL ? NULL : store_err_internal;
    }
    if (err == NULL) {
        j.user.id = c->id;
        j.user.full_name = store_col_str(res, row, col + 1);
        j.user.role = store_col_str(res, row, col + 2);
        j.room.id = store_col_i64(res, row, col + 3);
        j.room.type = store_col_str(res, row, col + 4);
        j.room.name = store_col_str(res, row, col + 5);
        j.archived = store_col_bool(res, row, col + 6);
        j.last_seq = store_col_i64(res, row, col + 7);
        j.parts = parts;
    }
    c->join_cb(c->ud, err == NULL ? &j : NULL, err);
    free(c);
}

static void
on_join(void *ctx, const PGresult *res, const char *err)
{
    answer_join(ctx, res, err == NULL && PQntuples(res) == 1 ? 0 : -1, 0, err);
}

/* ---- joins by id queued back to back on one connection: one statement ---- */

/* A row the batch answers 'general' is the GENERAL room by id for a user not
 * yet in it: the batch only reads, so chathub_join joins that user alone. */
static void
answer_batched_join(void *ctx, const PGresult *res, int row, const char *err)
{
    room_ctx_t *c = ctx;
    const char *status = err == NULL && row >= 0 ? store_col_str(res, row, 1) : NULL;

    if (status != NULL && strcmp(status, "general") == 0) {
        char uid[24], kind[24];
        const char *params[] = {store_i64_str(uid, sizeof(uid), c->id),
                                store_i64_str(kind, sizeof(kind), STORE_ROOM_GENERAL), "0"};

        if (store_query(c->st, STORE_HEAVY, "SELECT * FROM chathub_join($1, $2, $3)", 3, params,
                        on_join, c) == 0) {
            return;
        }
        err = store_err_unavailable;
    }
    answer_join(c, res, row, 1, err);
}

/* The parts' user (param 0) and room (param 2) become two arrays. */
static store_q_t *
combine_joins(store_q_t **parts, size_t n)
{
    static const int cols[] = {0, 2};

    return store_batch_query(parts, n,
                             "SELECT * FROM chathub_join_rooms($1::bigint[], $2::bigint[])", cols,
                             2, answer_batched_join);
}

/* Below 4 a merged statement costs more than the single ones (measured). */
static const store_merge_t join_merge = {
    4, 64, 0, combine_joins, "chathub_join", "chathub_join_batch"};

int
store_room_join(store_t *st, int64_t user_id, store_room_kind_t kind, int64_t room_id,
                store_join_cb cb, void *ud)
{
    char uid[24], k[24], rid[24];
    const char *params[] = {store_i64_str(uid, sizeof(uid), user_id),
                            store_i64_str(k, sizeof(k), (int64_t)kind),
                            store_i64_str(rid, sizeof(rid), room_id)};
    room_ctx_t *c = ctx_new(ud, user_id);
    bool valid =
        kind == STORE_ROOM_BY_ID || kind == STORE_ROOM_FALLBACK || kind == STORE_ROOM_GENERAL;

    c->join_cb = cb;
    c->st = st;
    if (kind == STORE_ROOM_BY_ID) {
        int rc = store_query_merge(st, &join_merge, room_id,
                                   "SELECT * FROM chathub_join($1, $2, $3)", 3, params, on_join, c);
        if (rc < 0) {
            free(c);
        }
        return rc;
    }
    /* GENERAL's list names every user, and the fallback may land there. */
    return run(st, STORE_HEAVY, valid ? "SELECT * FROM chathub_join($1, $2, $3)" : NULL, 3, params,
               on_join, c, store_err_invalid);
}

/* ---- rooms' last seqs ---- */

static void
on_last_seqs(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;
    size_t n = err == NULL ? (size_t)PQntuples(res) : 0;
    int64_t *ids = xcalloc(n + 1, sizeof(int64_t)), *seqs = xcalloc(n + 1, sizeof(int64_t));

    for (size_t i = 0; i < n; i++) {
        ids[i] = store_col_i64(res, (int)i, 0);
        seqs[i] = store_col_i64(res, (int)i, 1);
    }
    c->seqs_cb(c->ud, ids, seqs, n, err);
    free(ids);
    free(seqs);
    free(c);
}

int
store_room_last_seqs(store_t *st, const int64_t *room_ids, size_t n, store_seqs_cb cb, void *ud)
{
    char *arr = store_id_array(room_ids, n);
    const char *params[] = {arr};
    room_ctx_t *c = ctx_new(ud, 0);
    int rc;

    c->seqs_cb = cb;
    rc = run(st, -1, "SELECT id, last_seq FROM rooms WHERE id = ANY($1::bigint[])", 1, params,
             on_last_seqs, c, NULL);
    free(arr);
    return rc;
}

/* ---- sockets re-checked ---- */

/* Rows of (index, status) for the sockets no longer allowed. */
static void
on_members(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;
    size_t n = err == NULL ? (size_t)PQntuples(res) : 0;
    size_t *bad = xcalloc(n + 1, sizeof(*bad));
    const char **errs = xcalloc(n + 1, sizeof(*errs));

    for (size_t i = 0; i < n; i++) {
        bad[i] = (size_t)store_col_i64(res, (int)i, 0);
        errs[i] = status_err(store_col_str(res, (int)i, 1));
    }
    c->members_cb(c->ud, bad, errs, n, err);
    free(bad);
    free(errs);
    free(c);
}

/* {"a",""}: a text[] literal; free() it. Keys are quoted whole, so an
 * empty one (a JWT socket) stays an element. */
static char *
key_array(const char *const *keys, size_t n)
{
    size_t size = 3, off = 0;

    for (size_t i = 0; i < n; i++) {
        size += 2 * strlen(keys[i]) + 3;
    }
    char *s = xmalloc(size);
    s[off++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            s[off++] = ',';
        }
        s[off++] = '"';
        for (const char *k = keys[i]; *k != '\0'; k++) {
            if (*k == '"' || *k == '\\') {
                s[off++] = '\\';
            }
            s[off++] = *k;
        }
        s[off++] = '"';
    }
    s[off++] = '}';
    s[off] = '\0';
    return s;
}

/* The same conditions as chathub_join's and the token lookup's, for many
 * sockets at once, and a disconnect made after the socket opened; only the
 * ones that fail come back. Each socket's user, token and membership are
 * index probes (LATERAL ... OFFSET 0): as NOT EXISTS the planner hashed all
 * of users and all of auth_tokens for every batch (an audit at scale: 300 ms
 * per 4,096 sockets at 100,000 users and tokens, 49 ms now, whatever the
 * tables' size). */
#define CHECK_MEMBERS_SQL                                                                          \
    "SELECT t.i - 1, CASE WHEN u.id IS NULL OR NOT u.is_active OR (t.k <> '' AND a.ok IS NULL) "   \
    "THEN 'unauthorized' WHEN p.ok IS NULL THEN 'forbidden' ELSE 'disconnected' END "              \
    "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[]) WITH ORDINALITY "           \
    "AS t(u, r, k, o, i) "                                                                         \
    "LEFT JOIN LATERAL (SELECT x.id, x.is_active, x.disconnected_ms FROM users x "                 \
    "WHERE x.id = t.u OFFSET 0) u ON true "                                                        \
    "LEFT JOIN LATERAL (SELECT true AS ok FROM auth_tokens x WHERE t.k <> '' AND x.key = t.k "     \
    "AND x.user_id = t.u OFFSET 0) a ON true "                                                     \
    "LEFT JOIN LATERAL (SELECT true AS ok FROM room_participants x WHERE x.room_id = t.r "         \
    "AND x.user_id = t.u OFFSET 0) p ON true "                                                     \
    "WHERE u.id IS NULL OR NOT u.is_active OR (t.k <> '' AND a.ok IS NULL) OR p.ok IS NULL "       \
    "OR u.disconnected_ms > t.o"

int
store_room_check_members(store_t *st, const int64_t *users, const int64_t *rooms,
                         const char *const *keys, const int64_t *opened_ms, size_t n,
                         store_members_cb cb, void *ud)
{
    char *u = store_id_array(users, n), *r = store_id_array(rooms, n), *k = key_array(keys, n);
    char *o = store_id_array(opened_ms, n);
    const char *params[] = {u, r, k, o};
    room_ctx_t *c = ctx_new(ud, 0);
    int rc;

    c->members_cb = cb;
    rc = run(st, -1, n > 0 ? CHECK_MEMBERS_SQL : NULL, 4, params, on_members, c, store_err_invalid);
    free(u);
    free(r);
    free(k);
    free(o);
    return rc;
}

/* ---- room writes ---- */

/* Rows of (room_id, created). */
static void
on_room(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;
    int64_t id = 0;
    bool created = false;

    if (err == NULL && PQntuples(res) == 1) {
        id = store_col_i64(res, 0, 0);
        created = store_col_bool(res, 0, 1);
    } else if (err == NULL) {
        err = store_err_internal;
    }
    c->room_cb(c->ud, err == NULL ? id : 0, created, err);
    free(c);
}

int
store_room_create(store_t *st, const char *type, const char *name, const int64_t *members,
                  size_t nmembers, store_room_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud, 0);
    bool direct = type != NULL && strcmp(type, "DIRECT") == 0;
    bool group = type != NULL && strcmp(type, "GROUP") == 0;
    char *arr = store_id_array(members, nmembers);
    char a[24], b[24];
    const char *sql = NULL;
    int rc;

    c->room_cb = cb;
    if (direct && nmembers == 2 && members[0] != members[1]) {
        const char *params[] = {store_i64_str(a, sizeof(a), members[0]),
                                store_i64_str(b, sizeof(b), members[1]), name};
        rc = run(st, -1, "SELECT room_id, created FROM chathub_room_direct($1, $2, $3)", 3, params,
                 on_room, c, NULL);
    } else {
        const char *params[] = {type, name != NULL ? name : "", arr};
        /* One statement: an unknown member fails it whole (foreign key). */
        if (group) {
            sql = "WITH r AS (INSERT INTO rooms (type, name) VALUES ($1, $2) RETURNING id), "
                  "p AS (INSERT INTO room_participants (room_id, user_id) "
                  "SELECT r.id, m FROM r, unnest($3::bigint[]) AS m ON CONFLICT DO NOTHING) "
                  "SELECT id, true FROM r";
        }
        rc = run(st, -1, sql, 3, params, on_room, c, store_err_invalid);
    }
    free(arr);
    return rc;
}

/* One row of (status, room_id, created); a conflict names the pair's room. */
static void
on_room_row(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;
    int64_t id = 0;
    bool created = false;

    if (err == NULL && PQntuples(res) == 1) {
        err = status_err(store_col_str(res, 0, 0));
        id = store_col_i64(res, 0, 1);
        created = store_col_bool(res, 0, 2);
    } else if (err == NULL) {
        err = store_err_internal;
    }
    c->room_cb(c->ud, err == NULL || err == store_err_conflict ? id : 0, created, err);
    free(c);
}

int
store_room_create_once(store_t *st, const char *key, const char *type, const char *name,
                       const int64_t *members, size_t nmembers, store_room_cb cb, void *ud)
{
    room_ctx_t *c;
    char *arr;
    int rc;

    if (key == NULL) {
        return store_room_create(st, type, name, members, nmembers, cb, ud);
    }
    c = ctx_new(ud, 0);
    c->room_cb = cb;
    arr = store_id_array(members, nmembers);
    const char *params[] = {key, type, name != NULL ? name : "", arr};
    bool direct = type != NULL && strcmp(type, "DIRECT") == 0;
    bool valid = type != NULL && (strcmp(type, "GROUP") == 0 ||
                                  (direct && nmembers == 2 && members[0] != members[1]));

    rc = run(st, -1,
             valid ? "SELECT status, room_id, created FROM chathub_room_create_once($1, $2, $3, $4)"
                   : NULL,
             4, params, on_room_row, c, store_err_invalid);
    free(arr);
    return rc;
}

/* Rows of (status, room_id, created, removed user or NULL): the first says
 * how it went, and each names one user the members took out, if any. */
static void
on_room_put_rows(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;
    int rows = err == NULL ? PQntuples(res) : 0;
    int64_t id = 0, *removed = NULL;
    size_t nremoved = 0;
    bool created = false;

    if (err == NULL && rows >= 1) {
        err = status_err(store_col_str(res, 0, 0));
        id = store_col_i64(res, 0, 1);
        created = store_col_bool(res, 0, 2);
        removed = xcalloc((size_t)rows, sizeof(*removed));
        for (int i = 0; i < rows; i++) {
            if (!PQgetisnull(res, i, 3)) {
                removed[nremoved++] = store_col_i64(res, i, 3);
            }
        }
    } else if (err == NULL) {
        err = store_err_internal;
    }
    c->put_cb(c->ud, err == NULL || err == store_err_conflict ? id : 0, created, removed,
              err == NULL ? nremoved : 0, err);
    free(removed);
    free(c);
}

int
store_room_put(store_t *st, int64_t id, const char *type, const char *name, bool has_members,
               const int64_t *members, size_t nmembers, store_room_put_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud, id);
    char sid[24];
    char *arr = store_id_array(members, has_members ? nmembers : 0);
    const char *params[] = {store_i64_str(sid, sizeof(sid), id), type, name != NULL ? name : "",
                            has_members ? "true" : "false", arr};
    /* Ids from 10^15 up are the hub's own (rooms_id_seq). */
    bool valid = id > 0 && id < STORE_ROOM_HUB_ID_BASE && type != NULL;
    int rc;

    c->put_cb = cb;
    rc = run(st, id,
             valid ? "SELECT p.status, p.room_id, p.created, u.id "
                     "FROM chathub_room_put($1, $2, $3, $4, $5) p "
                     "LEFT JOIN LATERAL unnest(p.removed) AS u(id) ON true"
                   : NULL,
             5, params, on_room_put_rows, c, store_err_invalid);
    free(arr);
    return rc;
}

/* ---- participants ---- */

static void
on_participant(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;

    if (err == NULL) {
        err = PQntuples(res) == 1 ? status_err(store_col_str(res, 0, 0)) : store_err_internal;
    }
    c->done_cb(c->ud, err);
    free(c);
}

int
store_participant_add(store_t *st, int64_t room_id, int64_t user_id, store_done_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud, room_id);
    char rid[24], uid[24];
    const char *params[] = {store_i64_str(rid, sizeof(rid), room_id),
                            store_i64_str(uid, sizeof(uid), user_id)};

    c->done_cb = cb;
    /* A DIRECT room takes only its pair (the users of its direct_key, or,
     * for one from before keys, anyone while it has fewer than two). The
     * room is read FOR KEY SHARE: a PUT giving it another pair waits for
     * this insert, or this reads the pair that PUT committed (migration
     * 0022). */
    return run(st, room_id,
               "WITH r AS (SELECT r.type <> 'DIRECT' OR CASE WHEN r.direct_key IS NOT NULL "
               "THEN $2::bigint::text IN (split_part(r.direct_key, ':', 1), "
               "split_part(r.direct_key, ':', 2)) ELSE (SELECT count(*) FROM room_participants "
               "p WHERE p.room_id = r.id AND p.user_id <> $2) < 2 END AS fits "
               "FROM rooms r WHERE r.id = $1 FOR KEY SHARE), "
               "ins AS (INSERT INTO room_participants (room_id, user_id) "
               "SELECT $1, $2 FROM r WHERE r.fits "
               "AND EXISTS (SELECT 1 FROM users WHERE id = $2) ON CONFLICT DO NOTHING) "
               "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM r) THEN 'not_found' "
               "WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = $2) THEN 'invalid' "
               "WHEN NOT (SELECT fits FROM r) THEN 'conflict' ELSE 'ok' END",
               2, params, on_participant, c, NULL);
}

int
store_participant_remove(store_t *st, int64_t room_id, int64_t user_id, store_done_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud, room_id);
    char rid[24], uid[24];
    const char *params[] = {store_i64_str(rid, sizeof(rid), room_id),
                            store_i64_str(uid, sizeof(uid), user_id)};

    c->done_cb = cb;
    return run(st, room_id,
               "WITH d AS (DELETE FROM room_participants WHERE room_id = $1 AND user_id = $2) "
               "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM rooms WHERE id = $1) THEN 'not_found' "
               "WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = $2) THEN 'invalid' "
               "ELSE 'ok' END",
               2, params, on_participant, c, NULL);
}
