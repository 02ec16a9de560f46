/*
 * Opaque tokens (Django REST framework authtoken style): lookup at connect
 * time, and their lifecycle for the API. Token format is the caller's business;
 * the store only caps the length it will look up.
 */
#include "store_auth.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "xalloc.h"

#define TOKEN_MAX_BYTES 256

typedef struct token_ctx {
    store_token_cb token_cb;
    store_done_cb done_cb;
    void *ud;
} token_ctx_t;

static token_ctx_t *
ctx_new(store_token_cb tcb, store_done_cb dcb, void *ud)
{
    token_ctx_t *c = xcalloc(1, sizeof(*c));

    c->token_cb = tcb;
    c->done_cb = dcb;
    c->ud = ud;
    return c;
}

/* sql NULL: answer with err instead, on the next turn. */
static int
run(store_t *st, const char *sql, int n, const char *const *params, store_result_fn fn,
    token_ctx_t *c, const char *err)
{
    int rc = sql != NULL ? store_query(st, -1, sql, n, params, fn, c) : store_fail(st, fn, c, err);

    if (rc < 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* A user id from the first column of the first row, or the "no row" error. */
static void
on_user_row(void *ctx, const PGresult *res, const char *err, const char *no_row)
{
    token_ctx_t *c = ctx;

    if (err == NULL && PQntuples(res) == 0) {
        err = no_row;
    }
    c->token_cb(c->ud, err == NULL ? store_col_i64(res, 0, 0) : 0, err);
    free(c);
}

static void
on_lookup(void *ctx, const PGresult *res, const char *err)
{
    on_user_row(ctx, res, err, store_err_unauthorized);
}

int
store_token_lookup(store_t *st, const char *key, size_t key_len, store_token_cb cb, void *ud)
{
    /* A key no one could have issued (empty, huge, with a NUL) is simply unknown. */
    bool plausible = key != NULL && key_len > 0 && key_len <= TOKEN_MAX_BYTES &&
                     memchr(key, '\0', key_len) == NULL;
    char *k = plausible ? xstrndup(key, key_len) : NULL;
    const char *params[] = {k};
    int rc = run(st,
                 plausible ? "SELECT t.user_id FROM auth_tokens t JOIN users u ON u.id = t.user_id "
                             "WHERE t.key = $1 AND u.is_active"
                           : NULL,
                 1, params, on_lookup, ctx_new(cb, NULL, ud), store_err_unauthorized);

    free(k);
    return rc;
}

static void
on_create(void *ctx, const PGresult *res, const char *err)
{
    token_ctx_t *c = ctx;

    /* No row back: the key exists and belongs to someone else. */
    if (err == NULL && PQntuples(res) == 0) {
        err = store_err_conflict;
    }
    c->done_cb(c->ud, err);
    free(c);
}

int
store_token_create(store_t *st, int64_t user_id, const char *key, store_done_cb cb, void *ud)
{
    char uid[24];
    const char *params[] = {key, store_i64_str(uid, sizeof(uid), user_id)};
    bool valid = key != NULL && key[0] != '\0' && strlen(key) <= TOKEN_MAX_BYTES;

    /* The no-op update makes the row come back for its own user (idempotent) and
     * not for another one (conflict), in one statement. */
    return run(st,
               valid ? "INSERT INTO auth_tokens (key, user_id) VALUES ($1, $2) "
                       "ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key "
                       "WHERE auth_tokens.user_id = EXCLUDED.user_id RETURNING user_id"
                     : NULL,
               2, params, on_create, ctx_new(NULL, cb, ud), store_err_invalid);
}

static void
on_delete(void *ctx, const PGresult *res, const char *err)
{
    on_user_row(ctx, res, err, store_err_not_found);
}

int
store_token_delete(store_t *st, const char *key, store_token_cb cb, void *ud)
{
    const char *params[] = {key};

    return run(st, key != NULL ? "DELETE FROM auth_tokens WHERE key = $1 RETURNING user_id" : NULL,
               1, params, on_delete, ctx_new(cb, NULL, ud), store_err_not_found);
}
