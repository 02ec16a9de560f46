/*
 * Merged statements (store_batch.h): array literals of the parts' parameters,
 * and each part answered from its row.
 */
#include "store_batch.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

typedef struct text {
    char *s;
    size_t len, cap;
} text_t;

static void
text_add(text_t *t, const char *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = xrealloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, p, n);
    t->len += n;
    t->s[t->len] = '\0';
}

/* One element: NULL, or quoted with \ and " escaped. */
static void
text_add_elem(text_t *t, const char *v)
{
    if (v == NULL) {
        text_add(t, "NULL", 4);
        return;
    }
    text_add(t, "\"", 1);
    for (const char *p = v; *p != '\0';) {
        size_t run = strcspn(p, "\\\"");
        text_add(t, p, run);
        p += run;
        if (*p != '\0') {
            char esc[2] = {'\\', *p++};
            text_add(t, esc, 2);
        }
    }
    text_add(t, "\"", 1);
}

static char *
batch_array(store_q_t *const *parts, size_t n, int p)
{
    text_t t = {0};

    text_add(&t, "{", 1);
    for (size_t k = 0; k < n; k++) {
        if (k > 0) {
            text_add(&t, ",", 1);
        }
        text_add_elem(&t, parts[k]->params[p]);
    }
    text_add(&t, "}", 1);
    return t.s;
}

static int *
batch_rows(const PGresult *res, size_t n)
{
    int *row = xmalloc((n > 0 ? n : 1) * sizeof(*row));

    for (size_t k = 0; k < n; k++) {
        row[k] = -1;
    }
    for (int r = 0; res != NULL && r < PQntuples(res); r++) {
        int64_t i = store_col_i64(res, r, 0);
        if (i >= 1 && (size_t)i <= n) {
            row[i - 1] = r;
        }
    }
    return row;
}

typedef struct batch {
    size_t n;
    store_q_t **parts; /* the single statements, each with its own ctx */
    store_batch_answer_fn *answer;
} batch_t;

static void
on_batch(void *ctx, const PGresult *res, const char *err)
{
    batch_t *b = ctx;
    int *row = batch_rows(err == NULL ? res : NULL, b->n);

    for (size_t k = 0; k < b->n; k++) {
        b->answer(b->parts[k]->ctx, res, row[k], err);
        b->parts[k]->ctx = NULL;
        store_q_free(b->parts[k]);
    }
    free(row);
    free(b->parts);
    free(b);
}

size_t
store_batch_unmerge(store_q_t *q, store_q_t ***parts)
{
    batch_t *b = q->ctx;
    size_t n;

    if (q->fn != on_batch) {
        return 0;
    }
    for (size_t k = 0; k < b->n; k++) {
        b->parts[k]->merge = NULL;
    }
    *parts = b->parts;
    n = b->n;
    free(b);
    q->ctx = NULL;
    return n;
}

store_q_t *
store_batch_query(store_q_t **parts, size_t n, const char *sql, const int *cols, int ncols,
                  store_batch_answer_fn *answer)
{
    batch_t *b = xmalloc(sizeof(*b));
    char **arr = xmalloc((size_t)ncols * sizeof(*arr));

    b->n = n;
    b->parts = xmalloc(n * sizeof(*b->parts));
    memcpy(b->parts, parts, n * sizeof(*parts));
    b->answer = answer;
    for (int p = 0; p < ncols; p++) {
        arr[p] = batch_array(parts, n, cols[p]);
    }
    store_q_t *q =
        store_q_new(parts[0]->affinity, sql, ncols, (const char *const *)arr, on_batch, b);
    for (int p = 0; p < ncols; p++) {
        free(arr[p]);
    }
    free(arr);
    return q;
}
