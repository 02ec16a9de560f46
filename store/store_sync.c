/*
 * The sync calls of store_sync.h: each runs one SQL function of
 * migrations/0002_sync.sql and maps its status column and change rows.
 */
#include "store_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "xalloc.h"

typedef struct sync_ctx {
    store_changes_cb changes_cb;
    store_check_cb check_cb;
    store_stats_cb stats_cb;
    void *ud;
    int64_t user_id; /* link/unlink rows name only the room */
} sync_ctx_t;

static sync_ctx_t *
ctx_new(void *ud)
{
    sync_ctx_t *c = xcalloc(1, sizeof(*c));

    c->ud = ud;
    return c;
}

static int
run(store_t *st, int64_t affinity, const char *sql, int n, const char *const *params,
    store_result_fn fn, sync_ctx_t *c)
{
    if (store_query(st, affinity, sql, n, params, fn, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}

static const char *
status_err(const char *status)
{
    if (status == NULL || strcmp(status, "ok") == 0) {
        return NULL;
    }
    if (strcmp(status, "invalid") == 0) {
        return store_err_invalid;
    }
    if (strcmp(status, "conflict") == 0) {
        return store_err_conflict;
    }
    if (strcmp(status, "not_found") == 0) {
        return store_err_not_found;
    }
    return store_err_internal;
}

/* Rows (status, room_id[, user_id]): the status is on every row; rows with a
 * room are changes. */
static void
on_changes(void *ctx, const PGresult *res, const char *err)
{
    sync_ctx_t *c = ctx;
    store_change_t *ch = NULL;
    size_t n = 0;
    int rows = err == NULL ? PQntuples(res) : 0;

    if (err == NULL && rows == 0) {
        err = store_err_internal;
    }
    if (err == NULL) {
        err = status_err(store_col_str(res, rows - 1, 0));
    }
    if (err == NULL) {
        ch = xcalloc((size_t)rows + 1, sizeof(*ch));
        for (int i = 0; i < rows; i++) {
            if (store_col_str(res, i, 1) == NULL) {
                continue;
            }
            ch[n].room_id = store_col_i64(res, i, 1);
            ch[n].user_id = PQnfields(res) > 2 ? store_col_i64(res, i, 2) : c->user_id;
            n++;
        }
    }
    c->changes_cb(c->ud, ch, n, err);
    free(ch);
    free(c);
}

static void
fmt_id(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%lld", (long long)v);
}

int
store_enrollment_put(store_t *st, int64_t id, int64_t student_id, int64_t teacher_id,
                     int64_t tutor_id, const char *subject, int is_active, store_changes_cb cb,
                     void *ud)
{
    char sid[24], stu[24], tea[24], tut[24];
    const char *params[] = {
        sid, stu, tea, tutor_id > 0 ? tut : NULL, subject, store_flag_param(is_active)};
    sync_ctx_t *c = ctx_new(ud);

    fmt_id(sid, sizeof(sid), id);
    fmt_id(stu, sizeof(stu), student_id);
    fmt_id(tea, sizeof(tea), teacher_id);
    fmt_id(tut, sizeof(tut), tutor_id);
    c->changes_cb = cb;
    return run(
        st, -1,
        "SELECT status, room_id, user_id FROM chathub_enrollment_put($1, $2, $3, $4, $5, $6)", 6,
        params, on_changes, c);
}

int
store_parent_link(store_t *st, int64_t student_id, int64_t parent_id, bool link,
                  store_changes_cb cb, void *ud)
{
    char stu[24], par[24];
    const char *params[] = {stu, par};
    sync_ctx_t *c = ctx_new(ud);

    fmt_id(stu, sizeof(stu), student_id);
    fmt_id(par, sizeof(par), parent_id);
    c->changes_cb = cb;
    c->user_id = parent_id;
    return run(st, -1,
               link ? "SELECT status, room_id FROM chathub_parent_link($1, $2)"
                    : "SELECT status, room_id FROM chathub_parent_unlink($1, $2)",
               2, params, on_changes, c);
}

int
store_sync_parents(store_t *st, store_changes_cb cb, void *ud)
{
    sync_ctx_t *c = ctx_new(ud);

    c->changes_cb = cb;
    /* One status row first, so an empty repair still has a status. */
    return run(st, -1,
               "SELECT 'ok', NULL::bigint, NULL::bigint UNION ALL "
               "SELECT * FROM (SELECT 'ok', room_id, user_id FROM chathub_sync_parents()) s",
               0, NULL, on_changes, c);
}

static void
on_check(void *ctx, const PGresult *res, const char *err)
{
    sync_ctx_t *c = ctx;
    store_problem_t *p = NULL;
    size_t n = err == NULL ? (size_t)PQntuples(res) : 0;

    if (err == NULL) {
        p = xcalloc(n + 1, sizeof(*p));
        for (size_t i = 0; i < n; i++) {
            p[i].problem = store_col_str(res, (int)i, 0);
            p[i].room_id = store_col_i64(res, (int)i, 1);
            p[i].detail = store_col_str(res, (int)i, 2);
        }
    }
    c->check_cb(c->ud, p, n, err);
    free(p);
    free(c);
}

int
store_check(store_t *st, store_check_cb cb, void *ud)
{
    sync_ctx_t *c = ctx_new(ud);

    c->check_cb = cb;
    return run(st, -1, "SELECT problem, room_id, detail FROM chathub_check()", 0, NULL, on_check,
               c);
}

static void
on_stats(void *ctx, const PGresult *res, const char *err)
{
    sync_ctx_t *c = ctx;
    store_stats_t s;

    memset(&s, 0, sizeof(s));
    if (err == NULL && PQntuples(res) != 1) {
        err = store_err_internal;
    }
    if (err == NULL) {
        s.rooms = store_col_i64(res, 0, 0);
        s.messages = store_col_i64(res, 0, 1);
        s.participants = store_col_i64(res, 0, 2);
        s.room_types_json = store_col_str(res, 0, 3);
    }
    c->stats_cb(c->ud, err == NULL ? &s : NULL, err);
    free(c);
}

int
store_stats(store_t *st, store_stats_cb cb, void *ud)
{
    sync_ctx_t *c = ctx_new(ud);

    c->stats_cb = cb;
    return run(st, STORE_HEAVY, "SELECT * FROM chathub_stats()", 0, NULL, on_stats, c);
}
