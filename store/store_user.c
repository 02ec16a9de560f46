/*
 * Users as the platform pushes them: one idempotent upsert.
 */
#include "store_user.h"

#include <stdlib.h>

#include "store_internal.h"
#include "xalloc.h"

typedef struct user_ctx {
    store_user_cb cb;
    store_users_cb rows_cb;
    store_done_cb done_cb;
    void *ud;
} user_ctx_t;

static void
on_upsert(void *ctx, const PGresult *res, const char *err)
{
    user_ctx_t *c = ctx;

    if (err == NULL && PQntuples(res) != 1) {
        err = store_err_internal;
    }
    if (err != NULL) {
        c->cb(c->ud, NULL, false, false, err);
    } else {
        c->cb(c->ud, store_col_str(res, 0, 0), store_col_bool(res, 0, 1), store_col_bool(res, 0, 2),
              NULL);
    }
    free(c);
}

int
store_user_upsert(store_t *st, int64_t id, const char *full_name, const char *role, int is_active,
                  store_user_cb cb, void *ud)
{
    char sid[24];
    const char *params[] = {store_i64_str(sid, sizeof(sid), id), full_name, role,
                            store_flag_param(is_active)};
    user_ctx_t *c = xcalloc(1, sizeof(*c));
    int rc;

    c->cb = cb;
    c->ud = ud;
    /* The schema's CHECKs refuse unknown roles and ids out of range
     * (store_err_invalid). A NULL parameter is a field left out: kept. prev
     * reads the row as the statement's snapshot has it, before up's write. */
    rc =
        role == NULL
            ? store_fail(st, on_upsert, c, store_err_invalid)
            : store_query(st, -1,
                          "WITH prev AS (SELECT full_name, role FROM users WHERE id = $1), "
                          "up AS (INSERT INTO users (id, full_name, role, is_active) "
                          "VALUES ($1, COALESCE($2, ''), $3, COALESCE($4::boolean, true)) "
                          "ON CONFLICT (id) DO UPDATE SET "
                          "full_name = COALESCE($2, users.full_name), role = EXCLUDED.role, "
                          "is_active = COALESCE($4::boolean, users.is_active), "
                          "updated_at = now() RETURNING full_name, role, is_active) "
                          "SELECT up.full_name, up.is_active, "
                          "COALESCE(prev.full_name <> up.full_name OR prev.role <> up.role, false) "
                          "FROM up LEFT JOIN prev ON true",
                          4, params, on_upsert, c);
    if (rc < 0) {
        free(c);
        return -1;
    }
    return 0;
}

static void
on_read(void *ctx, const PGresult *res, const char *err)
{
    user_ctx_t *c = ctx;
    size_t n = err == NULL ? (size_t)PQntuples(res) : 0;
    store_user_row_t *rows = xcalloc(n + 1, sizeof(*rows));

    for (size_t i = 0; i < n; i++) {
        rows[i] = (store_user_row_t){store_col_i64(res, (int)i, 0), store_col_str(res, (int)i, 1),
                                     store_col_str(res, (int)i, 2)};
    }
    c->rows_cb(c->ud, rows, n, err);
    free(rows);
    free(c);
}

int
store_users_read(store_t *st, const int64_t *ids, size_t n, store_users_cb cb, void *ud)
{
    char *arr = store_id_array(ids, n);
    const char *params[] = {arr};
    user_ctx_t *c = xcalloc(1, sizeof(*c));
    int rc;

    c->rows_cb = cb;
    c->ud = ud;
    rc = store_query(st, -1, "SELECT id, full_name, role FROM users WHERE id = ANY($1::bigint[])",
                     1, params, on_read, c);
    free(arr);
    if (rc < 0) {
        free(c);
    }
    return rc;
}

static void
on_marked(void *ctx, const PGresult *res, const char *err)
{
    user_ctx_t *c = ctx;

    c->done_cb(c->ud, err);
    free(c);
}

int
store_user_mark_disconnected(store_t *st, int64_t id, int64_t made_ms, store_done_cb cb, void *ud)
{
    char sid[24], sms[24];
    const char *params[] = {store_i64_str(sid, sizeof(sid), id),
                            store_i64_str(sms, sizeof(sms), made_ms)};
    user_ctx_t *c = xcalloc(1, sizeof(*c));

    c->done_cb = cb;
    c->ud = ud;
    if (store_query(st, -1,
                    "UPDATE users SET disconnected_ms = GREATEST(disconnected_ms, $2::bigint) "
                    "WHERE id = $1",
                    2, params, on_marked, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}
