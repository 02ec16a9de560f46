/*
 * Allocation wrappers that abort on out of memory (see xalloc.h for why that
 * is the right answer here).
 */
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n)
{
    fprintf(stderr, "level=error event=oom bytes=%zu\n", n);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL) {
        oom(n);
    }
    return p;
}

void *
xcalloc(size_t n, size_t sz)
{
    void *p;

    if (sz != 0 && n > SIZE_MAX / sz) {
        oom(SIZE_MAX); /* the product itself does not fit */
    }
    p = calloc(n == 0 ? 1 : n, sz == 0 ? 1 : sz);
    if (p == NULL) {
        oom(n * sz);
    }
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);

    if (q == NULL) {
        oom(n);
    }
    return q;
}

void *
xgrow_zeroed(void *p, size_t *n, size_t i, size_t sz)
{
    size_t cap = *n > 0 ? *n : 1024;

    if (i < *n) {
        return p;
    }
    while (cap <= i) {
        cap *= 2;
    }
    p = xrealloc(p, cap * sz);
    memset((char *)p + *n * sz, 0, (cap - *n) * sz);
    *n = cap;
    return p;
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void
xalloc_init_cjson(void)
{
    cJSON_Hooks hooks = {.malloc_fn = xmalloc, .free_fn = free};

    cJSON_InitHooks(&hooks);
}
