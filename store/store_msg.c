/*
 * Messages: insert through chathub_msg_insert (seq and idempotency in one
 * statement), and history pages in ascending seq.
 */
#include "store_msg.h"

#include <stdlib.h>
#include <string.h>

#include "store_batch.h"
#include "store_internal.h"
#include "xalloc.h"

#define HISTORY_LIMIT_MAX 1000

/* Columns shared by the insert and history results, after any leading ones. */
enum { C_ID, C_ROOM, C_SEQ, C_SENDER, C_NAME, C_ROLE, C_CONTENT, C_CREATED, C_CLIENT };

static void
row_msg(const PGresult *res, int row, int off, proto_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    m->id = store_col_i64(res, row, off + C_ID);
    m->room_id = store_col_i64(res, row, off + C_ROOM);
    m->seq = store_col_i64(res, row, off + C_SEQ);
    if (store_col_str(res, row, off + C_SENDER) != NULL) {
        m->sender.id = store_col_i64(res, row, off + C_SENDER);
        m->sender.full_name = store_col_str(res, row, off + C_NAME);
        m->sender.role = store_col_str(res, row, off + C_ROLE);
        if (m->sender.full_name == NULL) {
            m->sender.full_name = "";
        }
    }
    m->content = PQgetvalue(res, row, off + C_CONTENT);
    m->content_len = (size_t)PQgetlength(res, row, off + C_CONTENT);
    m->created_at = store_col_str(res, row, off + C_CREATED);
    m->client_id = store_col_str(res, row, off + C_CLIENT);
}

typedef struct msg_ctx {
    store_msg_cb msg_cb;
    store_history_cb history_cb;
    void *ud;
    int limit;
    bool newest; /* history before a seq: rows come newest first */
} msg_ctx_t;

static const char *
insert_status(const char *status, bool *duplicate)
{
    *duplicate = false;
    if (status == NULL) {
        return store_err_internal;
    }
    if (strcmp(status, "ok") == 0) {
        return NULL;
    }
    if (strcmp(status, "duplicate") == 0) {
        *duplicate = true;
        return NULL;
    }
    if (strcmp(status, "not_found") == 0) {
        return store_err_not_found;
    }
    if (strcmp(status, "forbidden") == 0) {
        return store_err_forbidden;
    }
    if (strcmp(status, "unauthorized") == 0) {
        return store_err_unauthorized; /* the sender was deactivated */
    }
    if (strcmp(status, "archived") == 0) {
        return store_err_archived;
    }
    return store_err_internal;
}

/* Answer c from row of res, whose status column is col (row < 0: no row). */
static void
answer_insert(msg_ctx_t *c, const PGresult *res, int row, int col, const char *err)
{
    proto_msg_t m;
    bool duplicate = false;

    if (err == NULL) {
        err =
            row >= 0 ? insert_status(store_col_str(res, row, col), &duplicate) : store_err_internal;
    }
    if (err == NULL) {
        row_msg(res, row, col + 1, &m);
    }
    c->msg_cb(c->ud, err == NULL ? &m : NULL, duplicate, err);
    free(c);
}

static void
on_insert(void *ctx, const PGresult *res, const char *err)
{
    answer_insert(ctx, res, err == NULL && PQntuples(res) == 1 ? 0 : -1, 0, err);
}

/* ---- group commit: inserts queued back to back on one connection ---- */

/* A batch's messages land in every socket of their room at once, so one
 * room's share of a batch is bounded in bytes (a reader that keeps up must
 * not overflow a small HUB_CHANNEL_CAPACITY on large messages: 57fd106),
 * while small ones go many at a time: a room whose inserts fell behind,
 * with at most one statement in flight, catches up only if a statement may
 * carry more of it than arrive per round trip. */
#define BATCH_MAX 64
#define BATCH_ROOM_BYTES 65536

static void
answer_batched_insert(void *ctx, const PGresult *res, int row, const char *err)
{
    answer_insert(ctx, res, row, 1, err);
}

/* The parts' five parameters become five arrays of one statement. */
static store_q_t *
combine_inserts(store_q_t **parts, size_t n)
{
    static const int cols[] = {0, 1, 2, 3, 4};

    return store_batch_query(parts, n,
                             "SELECT * FROM chathub_msg_insert_batch($1::bigint[], $2::bigint[], "
                             "$3::text[], $4::text[], $5::text[])",
                             cols, 5, answer_batched_insert);
}

static const store_merge_t insert_merge = {
    2, BATCH_MAX, BATCH_ROOM_BYTES, combine_inserts, "chathub_insert", "chathub_insert_batch"};

/* What the store refuses before asking: PostgreSQL text holds no NUL, and a
 * message without content or with an over-long client_id is the caller's bug. */
static bool
insert_valid(const store_msg_in_t *in)
{
    return in->content != NULL && in->content_len > 0 &&
           memchr(in->content, '\0', in->content_len) == NULL &&
           (in->client_id == NULL || strlen(in->client_id) <= PROTO_CLIENT_ID_MAX);
}

int
store_msg_insert(store_t *st, const store_msg_in_t *in, store_msg_cb cb, void *ud)
{
    char rid[24], sid[24];
    char *content = NULL;
    const char *params[5];
    msg_ctx_t *c = xcalloc(1, sizeof(*c));
    int rc;

    c->msg_cb = cb;
    c->ud = ud;
    if (!insert_valid(in)) {
        rc = store_fail(st, on_insert, c, store_err_invalid);
    } else {
        content = xstrndup(in->content, in->content_len);
        params[0] = store_i64_str(rid, sizeof(rid), in->room_id);
        params[1] = in->sender_id > 0 ? store_i64_str(sid, sizeof(sid), in->sender_id) : NULL;
        params[2] = content;
        params[3] = in->client_id != NULL && in->client_id[0] != '\0' ? in->client_id : NULL;
        params[4] = in->token != NULL && in->token[0] != '\0' ? in->token : NULL;
        /* The room's affinity keeps one room's inserts in queue order. */
        rc = store_query_merge(st, &insert_merge, in->room_id,
                               "SELECT * FROM chathub_msg_insert($1, $2, $3, $4, $5)", 5, params,
                               on_insert, c);
    }
    if (rc < 0) {
        free(c);
    }
    free(content);
    return rc;
}

static void
on_history(void *ctx, const PGresult *res, const char *err)
{
    msg_ctx_t *c = ctx;
    proto_msg_t *msgs = NULL;
    size_t n = 0;
    bool has_more = false;

    if (err == NULL && PQntuples(res) == 0) {
        err = store_err_not_found;
    }
    if (err == NULL) {
        int rows = PQntuples(res);
        /* One row with NULL message columns: the room exists and is empty here. */
        if (rows == 1 && store_col_str(res, 0, 0) == NULL) {
            rows = 0;
        }
        has_more = rows > c->limit;
        n = has_more ? (size_t)c->limit : (size_t)rows;
        msgs = xcalloc(n + 1, sizeof(*msgs));
        for (size_t i = 0; i < n; i++) {
            /* Newest-first pages are reversed into ascending seq. */
            int row = c->newest ? (int)(n - 1 - i) : (int)i;
            row_msg(res, row, 0, &msgs[i]);
        }
    }
    c->history_cb(c->ud, msgs, n, has_more, err);
    free(msgs);
    free(c);
}

/* The first rows after $2 (below $4 unless it is 0), oldest first. */
static const char history_after_sql[] =
    "SELECT m.* FROM rooms r LEFT JOIN LATERAL ("
    "SELECT m.id, m.room_id, m.seq, m.sender_id, u.full_name, u.role, m.content, "
    "chathub_ts(m.created_at), m.client_id FROM messages m "
    "LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.room_id = r.id AND m.seq > $4::bigint AND ($2::bigint = 0 OR m.seq < $2::bigint) "
    "ORDER BY m.seq LIMIT $3::int"
    ") m ON true WHERE r.id = $1";

/* The newest rows below $2 (no bound when it is 0), newest first. */
static const char history_newest_sql[] =
    "SELECT m.* FROM rooms r LEFT JOIN LATERAL ("
    "SELECT m.id, m.room_id, m.seq, m.sender_id, u.full_name, u.role, m.content, "
    "chathub_ts(m.created_at), m.client_id FROM messages m "
    "LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.room_id = r.id AND ($2::bigint = 0 OR m.seq < $2::bigint) "
    "ORDER BY m.seq DESC LIMIT $3::int"
    ") m ON true WHERE r.id = $1";

int
store_msg_history(store_t *st, int64_t room_id, int64_t before_seq, int64_t after_seq, int limit,
                  store_history_cb cb, void *ud)
{
    char rid[24], before[24], lim[24], after[24];
    /* One row more than asked tells whether more remain. */
    const char *params[] = {store_i64_str(rid, sizeof(rid), room_id),
                            store_i64_str(before, sizeof(before), before_seq),
                            store_i64_str(lim, sizeof(lim), (int64_t)limit + 1),
                            store_i64_str(after, sizeof(after), after_seq)};
    msg_ctx_t *c = xcalloc(1, sizeof(*c));
    bool newest = after_seq == STORE_SEQ_NONE;

    c->history_cb = cb;
    c->ud = ud;
    c->limit = limit;
    c->newest = newest;
    if (limit < 1 || limit > HISTORY_LIMIT_MAX || before_seq < 0 || after_seq < STORE_SEQ_NONE) {
        if (store_fail(st, on_history, c, store_err_invalid) < 0) {
            free(c);
            return -1;
        }
        return 0;
    }
    /* The LEFT JOIN LATERAL from rooms: no row at all means no such room. The
     * newest page passes no $4: Postgres cannot type a parameter it never uses. */
    if (store_query(st, room_id, newest ? history_newest_sql : history_after_sql, newest ? 3 : 4,
                    params, on_history, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}
