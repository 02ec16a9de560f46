/*
 * Decimal text of an int64 without snprintf or strtoll: ids and seqs are
 * written into every frame, SQL parameter and Redis argument and read back
 * from every result and reply, and printf's format parsing and strtoll's
 * locale handling showed in the connect-storm profile.
 */
#ifndef CHATHUB_PROTO_NUM_H
#define CHATHUB_PROTO_NUM_H

#include <stdbool.h>
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

/* Read an optional '-' and decimal digits from [p, end) into *out; returns
 * the first byte after them, or NULL when there is no digit or the value does
 * not fit an int64_t. No spaces or '+': the texts it reads are PostgreSQL's
 * int8 output and the hub's own replies and envelopes. */
static inline const char *
proto_i64_parse(const char *p, const char *end, int64_t *out)
{
    bool neg = p < end && *p == '-';
    const char *digits = p + neg;
    uint64_t u = 0;

    for (p = digits; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (u > (UINT64_MAX - d) / 10) {
            return NULL;
        }
        u = u * 10 + d;
    }
    if (p == digits || u > (uint64_t)INT64_MAX + neg) {
        return NULL;
    }
    /* -(u - 1) - 1 reaches INT64_MIN without a signed overflow. */
    *out = !neg ? (int64_t)u : u == 0 ? 0 : -(int64_t)(u - 1) - 1;
    return p;
}

#define PROTO_IPV4_STR_MAX 16 /* "255.255.255.255" and the NUL */

/* a.b.c.d of the 4 bytes of an IPv4 address, as inet_ntop writes it (which
 * took some 1,700 instructions a connect through sprintf); returns the length. */
static inline size_t
proto_ipv4_str(char buf[PROTO_IPV4_STR_MAX], const unsigned char a[4])
{
    char *p = buf;

    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100) {
            *p++ = (char)('0' + v / 100);
        }
        if (v >= 10) {
            *p++ = (char)('0' + v / 10 % 10);
        }
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
    return (size_t)(p - buf - 1);
}

/* One hex digit of either case: its value, or -1. */
static inline int
proto_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The four hex digits at p (a JSON "\uXXXX" escape's), or -1. */
static inline long
proto_hex4(const char *p)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        int d = proto_hex_digit(p[i]);
        if (d < 0) {
            return -1;
        }
        v = v << 4 | d;
    }
    return v;
}

/* qsort/bsearch order of int64_t ids. */
static inline int
proto_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

#endif
