/*
 * Decimal text of an int64 without snprintf: ids and seqs are written into
 * every frame, SQL parameter and Redis argument, and printf's format parsing
 * and locale handling showed in the connect-storm profile.
 */
#ifndef CHATHUB_PROTO_NUM_H
#define CHATHUB_PROTO_NUM_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_I64_STR_MAX 21 /* "-9223372036854775808" and the NUL */

/* Write v in decimal, NUL-terminated, into buf; returns the length. */
static inline size_t
proto_i64_str(char buf[PROTO_I64_STR_MAX], int64_t v)
{
    char tmp[PROTO_I64_STR_MAX];
    /* Through uint64_t, so INT64_MIN negates without overflow. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        buf[len++] = '-';
    }
    while (n > 0) {
        buf[len++] = tmp[--n];
    }
    buf[len] = '\0';
    return len;
}

/* qsort/bsearch order of int64_t ids. */
static inline int
proto_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

#endif
