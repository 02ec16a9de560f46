/*
 * What a statement carries in and out: the queued statement with its own
 * copies of SQL and parameters, integers as parameter text, and typed reads
 * of result columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_num.h"
#include "store_affinity.h"
#include "store_internal.h"
#include "xalloc.h"

store_q_t *
store_q_new(int64_t affinity, const char *sql, int nparams, const char *const *params,
            store_result_fn fn, void *ctx)
{
    store_q_t *q = xcalloc(1, sizeof(*q));

    q->affinity = affinity;
    q->sql = xstrdup(sql);
    q->nparams = nparams;
    q->fn = fn;
    q->ctx = ctx;
    if (nparams > 0) {
        q->params = xcalloc((size_t)nparams, sizeof(char *));
        for (int i = 0; i < nparams; i++) {
            q->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
            q->param_bytes += params[i] != NULL ? strlen(params[i]) : 0;
        }
    }
    return q;
}

void
store_q_free(store_q_t *q)
{
    if (q->pending != NULL) {
        store_affinity_done(q->pending, q->affinity);
    }
    for (int i = 0; i < q->nparams; i++) {
        free(q->params[i]);
    }
    free(q->params);
    free(q->sql);
    free(q);
}

void
store_q_fail(store_q_t *q, const char *err)
{
    q->fn(q->ctx, NULL, err);
    store_q_free(q);
}

/* ---- result columns ---- */

int64_t
store_col_i64(const PGresult *res, int row, int col)
{
    const char *text = PQgetvalue(res, row, col);
    int64_t v = 0;

    /* NULL and text that is not an int8 (never sent) read as 0. */
    if (!PQgetisnull(res, row, col) &&
        proto_i64_parse(text, text + PQgetlength(res, row, col), &v) == NULL) {
        v = 0;
    }
    return v;
}

const char *
store_col_str(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

bool
store_col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

const char *
store_flag_param(int flag)
{
    return flag == STORE_KEEP ? NULL : flag ? "true" : "false";
}

char *
store_i64_str(char *buf, size_t len, int64_t v)
{
    char tmp[PROTO_I64_STR_MAX];
    size_t n = proto_i64_str(tmp, v);

    if (len > 0) {
        n = n < len ? n : len - 1;
        memcpy(buf, tmp, n);
        buf[n] = '\0';
    }
    return buf;
}

char *
store_id_array(const int64_t *ids, size_t n)
{
    char *s = xmalloc(n * 21 + 3);
    size_t off = 0;

    s[off++] = '{';
    for (size_t i = 0; i < n; i++) {
        off += (size_t)sprintf(s + off, "%s%lld", i > 0 ? "," : "", (long long)ids[i]);
    }
    s[off++] = '}';
    s[off] = '\0';
    return s;
}
