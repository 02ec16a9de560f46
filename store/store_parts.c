/*
 * The participant list in one block (see store_parts.h). Two passes over the
 * same reader: the first checks the shape and counts members and string
 * bytes, the second fills a block of exactly that size.
 */
#include "store_parts.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_num.h"
#include "xalloc.h"

typedef struct reader {
    const char *p, *end;
    proto_participant_t *parts; /* NULL while counting */
    char *out;                  /* where the next string byte goes; NULL while counting */
    size_t n, str_bytes;
} reader_t;

static void
skip_ws(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

static bool
expect(reader_t *r, char c)
{
    skip_ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return true;
    }
    return false;
}

/* A JSON integer: -?(0|[1-9][0-9]*), within int64_t. */
static bool
read_int(reader_t *r, int64_t *v)
{
    bool neg = false;
    uint64_t acc = 0, limit = (uint64_t)INT64_MAX;

    skip_ws(r);
    if (r->p < r->end && *r->p == '-') {
        neg = true;
        limit++;
        r->p++;
    }
    if (r->p == r->end || *r->p < '0' || *r->p > '9') {
        return false;
    }
    if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9') {
        return false; /* no leading zeros in JSON */
    }
    for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++) {
        unsigned d = (unsigned)(*r->p - '0');
        if (acc > (limit - d) / 10) {
            return false;
        }
        acc = acc * 10 + d;
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return true;
}

static bool
read_seq(reader_t *r, int64_t *v)
{
    skip_ws(r);
    if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) {
        r->p += 4;
        *v = 0;
        return true;
    }
    return read_int(r, v);
}

static void
put_byte(reader_t *r, unsigned char c)
{
    if (r->out != NULL) {
        *r->out++ = (char)c;
    }
    r->str_bytes++;
}

static void
put_utf8(reader_t *r, uint32_t cp)
{
    if (cp < 0x80) {
        put_byte(r, (unsigned char)cp);
    } else if (cp < 0x800) {
        put_byte(r, (unsigned char)(0xC0 | cp >> 6));
        put_byte(r, (unsigned char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        put_byte(r, (unsigned char)(0xE0 | cp >> 12));
        put_byte(r, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        put_byte(r, (unsigned char)(0x80 | (cp & 0x3F)));
    } else {
        put_byte(r, (unsigned char)(0xF0 | cp >> 18));
        put_byte(r, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
        put_byte(r, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        put_byte(r, (unsigned char)(0x80 | (cp & 0x3F)));
    }
}

/* Four hex digits after "\u"; r->p is on the first. */
static bool
read_hex4(reader_t *r, uint32_t *v)
{
    long u = r->end - r->p >= 4 ? proto_hex4(r->p) : -1;

    if (u < 0) {
        return false;
    }
    r->p += 4;
    *v = (uint32_t)u;
    return true;
}

/* The code point of a \u escape (r->p just past the 'u'), pairs joined. */
static bool
read_unicode(reader_t *r, uint32_t *cp)
{
    uint32_t lo;

    if (!read_hex4(r, cp)) {
        return false;
    }
    if (*cp >= 0xD800 && *cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
        const char *save = r->p;
        r->p += 2;
        if (read_hex4(r, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
            return true;
        }
        r->p = save; /* not a pair: the next escape is read on its own */
    }
    if ((*cp >= 0xD800 && *cp <= 0xDFFF) || *cp == 0) {
        *cp = 0xFFFD; /* a lone surrogate is no character; NUL would cut the C string */
    }
    return true;
}

/* A JSON string, unescaped and NUL-terminated into r->out; *s is where it starts. */
static bool
read_str(reader_t *r, const char **s)
{
    static const char simple[][2] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},  {'b', '\b'},
                                     {'f', '\f'}, {'n', '\n'},  {'r', '\r'}, {'t', '\t'}};

    if (!expect(r, '"')) {
        return false;
    }
    *s = r->out;
    while (r->p < r->end && *r->p != '"') {
        /* A run of bytes that stand for themselves (names mostly are), at once. */
        const char *run = r->p;
        while (run < r->end && *run != '"' && *run != '\\' && (unsigned char)*run >= 0x20) {
            run++;
        }
        if (run > r->p) {
            size_t n = (size_t)(run - r->p);
            if (r->out != NULL) {
                memcpy(r->out, r->p, n);
                r->out += n;
            }
            r->str_bytes += n;
            r->p = run;
            continue;
        }
        unsigned char c = (unsigned char)*r->p++;
        if (c < 0x20) {
            return false; /* control characters are escaped in JSON */
        }
        if (c != '\\') {
            put_byte(r, c);
            continue;
        }
        if (r->p == r->end) {
            return false;
        }
        char e = *r->p++;
        bool known = false;
        for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
            if (e == simple[i][0]) {
                put_byte(r, (unsigned char)simple[i][1]);
                known = true;
                break;
            }
        }
        if (!known) {
            uint32_t cp;
            if (e != 'u' || !read_unicode(r, &cp)) {
                return false;
            }
            put_utf8(r, cp);
        }
    }
    if (r->p == r->end) {
        return false;
    }
    r->p++; /* the closing quote */
    put_byte(r, '\0');
    return true;
}

/* [id, "full_name", "role", last_read_seq] */
static bool
read_member(reader_t *r)
{
    proto_participant_t m = {0};

    if (!expect(r, '[') || !read_int(r, &m.user.id) || !expect(r, ',') ||
        !read_str(r, &m.user.full_name) || !expect(r, ',') || !read_str(r, &m.user.role) ||
        !expect(r, ',') || !read_seq(r, &m.last_read_seq) || !expect(r, ']')) {
        return false;
    }
    if (r->parts != NULL) {
        r->parts[r->n] = m;
    }
    r->n++;
    return true;
}

static bool
read_list(reader_t *r)
{
    if (!expect(r, '[')) {
        return false;
    }
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
    } else {
        do {
            if (!read_member(r)) {
                return false;
            }
        } while (expect(r, ','));
        if (!expect(r, ']')) {
            return false;
        }
    }
    skip_ws(r);
    return r->p == r->end;
}

proto_participant_t *
store_parts_parse(const char *json, size_t len, size_t *n)
{
    reader_t r = {.p = json, .end = json + len};
    size_t head;
    proto_participant_t *parts;

    *n = 0;
    if (json == NULL || !read_list(&r)) {
        return NULL;
    }
    /* Both counts are below len (a member spends at least 11 bytes of it, and
     * no string yields more bytes than it spends), so the sum cannot wrap. */
    head = (r.n + 1) * sizeof(*parts);
    parts = xmalloc(head + r.str_bytes);
    memset(&parts[r.n], 0, sizeof(*parts));
    r = (reader_t){.p = json, .end = json + len, .parts = parts, .out = (char *)parts + head};
    if (!read_list(&r)) {
        free(parts); /* unreachable: the same bytes passed the first pass */
        return NULL;
    }
    *n = r.n;
    return parts;
}
