/*
 * Array literals and row lookup for merged statements (store_batch.h).
 */
#include "store_batch.h"

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

char *
store_batch_array(store_q_t *const *parts, size_t n, int p)
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

int *
store_batch_rows(const PGresult *res, size_t n)
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
