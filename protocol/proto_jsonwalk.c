/*
 * The JSON object walk (see proto_jsonwalk.h): a recursive descent over the
 * text that checks the grammar and hands the top level's members out.
 */
#include "proto_jsonwalk.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto_num.h"

#define NUMBER_MAX 63 /* cJSON's limit too: a longer number fails there */

typedef struct reader {
    const char *p, *end;
    int depth;
} reader_t;

static void
skip_blank(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A \u escape at p (its backslash) that starts a valid code point: how many
 * bytes it and a low surrogate after a high one take, or 0. */
static size_t
unicode_escape(const char *p, const char *end, unsigned *cp)
{
    long hi = end - p >= 6 ? proto_hex4(p + 2) : -1, lo;

    if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) {
        return 0;
    }
    *cp = (unsigned)hi;
    if (hi < 0xD800 || hi > 0xDBFF) {
        return 6;
    }
    lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? proto_hex4(p + 8) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) {
        return 0;
    }
    *cp = 0x10000 + (((unsigned)hi - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
    return 12;
}

/* A string whose opening quote r->p is past: to after its closing quote. */
static int
scan_string(reader_t *r, proto_jv_t *v)
{
    v->kind = PROTO_JV_STRING;
    v->text = r->p;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            v->len = (size_t)(r->p - v->text);
            r->p++;
            return 0;
        }
        if (c < 0x20) {
            return -1;
        }
        if (c != '\\') {
            r->p++;
            continue;
        }
        if (r->end - r->p < 2) {
            return -1;
        }
        if (r->p[1] == 'u') {
            unsigned cp;
            size_t n = unicode_escape(r->p, r->end, &cp);
            if (n == 0) {
                return -1;
            }
            r->p += n;
        } else if (r->p[1] != '\0' && strchr("\"\\/bfnrt", r->p[1]) != NULL) {
            r->p += 2;
        } else {
            return -1;
        }
    }
    return -1;
}

static void
digits(reader_t *r)
{
    while (r->p < r->end && is_digit(*r->p)) {
        r->p++;
    }
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
scan_number(reader_t *r, proto_jv_t *v)
{
    v->kind = PROTO_JV_NUMBER;
    v->text = r->p;
    if (r->p < r->end && *r->p == '-') {
        r->p++;
    }
    if (r->p >= r->end || !is_digit(*r->p)) {
        return -1;
    }
    if (*r->p == '0') {
        r->p++;
    } else {
        digits(r);
    }
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || !is_digit(*r->p)) {
            return -1;
        }
        digits(r);
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) {
            r->p++;
        }
        if (r->p >= r->end || !is_digit(*r->p)) {
            return -1;
        }
        digits(r);
    }
    v->len = (size_t)(r->p - v->text);
    return v->len <= NUMBER_MAX ? 0 : -1;
}

static int
scan_literal(reader_t *r, proto_jv_t *v, const char *word, proto_jv_kind_t kind)
{
    size_t n = strlen(word);

    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
        return -1;
    }
    v->kind = kind;
    v->text = r->p;
    v->len = n;
    r->p += n;
    return 0;
}

static int scan_value(reader_t *r, proto_jv_t *v);

/* Past a container's opener: true, and past close, when it holds nothing. */
static bool
empty_container(reader_t *r, char close)
{
    skip_blank(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return true;
    }
    return false;
}

/* After an item: 1, and past close, when the container ends there; 0, and
 * past the comma and the blanks after it, when another item follows; -1 when
 * neither does. */
static int
next_item(reader_t *r, char close)
{
    skip_blank(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 1;
    }
    if (r->p >= r->end || *r->p != ',') {
        return -1;
    }
    r->p++;
    skip_blank(r);
    return 0;
}

/* An object's members from after its '{' to after its '}'; fn sees each
 * member when it is not NULL (the top level). */
static int
scan_members(reader_t *r, proto_json_member_cb fn, void *ud)
{
    int next = empty_container(r, '}') ? 1 : 0;

    while (next == 0) {
        proto_jv_t key, v;
        char name[PROTO_JSON_KEY_MAX];
        if (r->p >= r->end || *r->p != '"') {
            return -1;
        }
        r->p++;
        if (scan_string(r, &key) < 0) {
            return -1;
        }
        skip_blank(r);
        if (r->p >= r->end || *r->p != ':') {
            return -1;
        }
        r->p++;
        skip_blank(r);
        if (scan_value(r, &v) < 0) {
            return -1;
        }
        if (fn != NULL &&
            fn(ud, proto_json_string(&key, name, sizeof(name)) >= 0 ? name : NULL, &v) != 0) {
            return -1;
        }
        next = next_item(r, '}');
    }
    return next > 0 ? 0 : -1;
}

/* An array's elements from after its '[' to after its ']'. */
static int
scan_elements(reader_t *r)
{
    int next = empty_container(r, ']') ? 1 : 0;

    while (next == 0) {
        proto_jv_t v;
        if (scan_value(r, &v) < 0) {
            return -1;
        }
        next = next_item(r, ']');
    }
    return next > 0 ? 0 : -1;
}

static int
scan_container(reader_t *r, proto_jv_t *v, proto_jv_kind_t kind)
{
    int rc;

    if (++r->depth > PROTO_JSON_DEPTH_MAX) {
        return -1;
    }
    v->kind = kind;
    v->text = r->p;
    r->p++;
    rc = kind == PROTO_JV_OBJECT ? scan_members(r, NULL, NULL) : scan_elements(r);
    v->len = (size_t)(r->p - v->text);
    r->depth--;
    return rc;
}

static int
scan_value(reader_t *r, proto_jv_t *v)
{
    if (r->p >= r->end) {
        return -1;
    }
    switch (*r->p) {
    case '"':
        r->p++;
        return scan_string(r, v);
    case '{':
        return scan_container(r, v, PROTO_JV_OBJECT);
    case '[':
        return scan_container(r, v, PROTO_JV_ARRAY);
    case 't':
        return scan_literal(r, v, "true", PROTO_JV_TRUE);
    case 'f':
        return scan_literal(r, v, "false", PROTO_JV_FALSE);
    case 'n':
        return scan_literal(r, v, "null", PROTO_JV_NULL);
    default:
        return scan_number(r, v);
    }
}

int
proto_json_walk_object(const char *text, size_t len, proto_json_member_cb fn, void *ud)
{
    reader_t r = {text, text + len, 1};

    skip_blank(&r);
    if (r.p >= r.end || *r.p != '{') {
        return -1;
    }
    r.p++;
    if (scan_members(&r, fn, ud) < 0) {
        return -1;
    }
    skip_blank(&r);
    return r.p == r.end ? 0 : -1;
}

int
proto_json_string(const proto_jv_t *v, char *out, size_t cap)
{
    static const char plain[] = "\"\\/bfnrt", undone[] = "\"\\/\b\f\n\r\t";
    const char *p = v->text, *end = v->text + v->len;
    size_t n = 0;

    if (v->kind != PROTO_JV_STRING) {
        return -1;
    }
    while (p < end) {
        char c = *p++;
        if (c == '\\' && *p == 'u') {
            unsigned cp = 0;
            p += unicode_escape(p - 1, end, &cp) - 1; /* scan_string checked it */
            c = cp > 0 && cp < 0x80 ? (char)cp : (char)0xFF;
        } else if (c == '\\') {
            c = undone[strchr(plain, *p++) - plain];
        }
        if (n + 1 >= cap) {
            return -1;
        }
        out[n++] = c;
    }
    if (cap == 0) {
        return -1;
    }
    out[n] = '\0';
    return (int)n;
}

int
proto_json_number(const proto_jv_t *v, double *out)
{
    char buf[NUMBER_MAX + 1];

    if (v->kind != PROTO_JV_NUMBER || v->len > NUMBER_MAX) {
        return -1;
    }
    memcpy(buf, v->text, v->len);
    buf[v->len] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}
