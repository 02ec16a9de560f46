/*
 * The request head rewrite (proto_head.h): a bounded scan of the head's
 * lines, then one pass that copies it with two edits, each checked against
 * the output's capacity.
 */
#include "proto_head.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "proto_url.h"

#define HEADER_NAME "sec-websocket-protocol:"
#define HEADER_NAME_LEN (sizeof(HEADER_NAME) - 1)
/* The longest header value looked at; lws refuses longer heads anyway. */
#define VALUE_MAX 8192

typedef struct out {
    char *p;
    size_t len, cap;
    bool over;
} out_t;

static void
put(out_t *o, const char *s, size_t n)
{
    if (o->over || n > o->cap - o->len) {
        o->over = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static const char *
find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++) {
        if (p[0] == '\r' && p[1] == '\n') {
            return p;
        }
    }
    return NULL;
}

static bool
plain_token(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '_' || c == '~' || c == '-')) {
            return false;
        }
    }
    return n > 0;
}

/* The header's entries without the "bearer." ones, joined with ", ". */
static void
put_entries(out_t *o, const char *v, size_t n)
{
    const char *end = v + n;
    bool first = true;

    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *stop = comma != NULL ? comma : end;
        const char *s = v, *e = stop;

        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (e > s && !((size_t)(e - s) >= 7 && memcmp(s, "bearer.", 7) == 0)) {
            if (!first) {
                put(o, ", ", 2);
            }
            put(o, s, (size_t)(e - s));
            first = false;
        }
        v = comma != NULL ? comma + 1 : end;
    }
}

/* The header's value: leading blanks skipped, as lws does; trailing ones too
 * in *trimmed_len (for reading its entries). */
static const char *
header_value(const char *hdr, const char *hdr_end, size_t *trimmed_len)
{
    const char *v = hdr + HEADER_NAME_LEN, *ve = hdr_end;

    while (v < ve && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
        ve--;
    }
    *trimmed_len = (size_t)(ve - v);
    return v;
}

/* The head's length (through the blank line) and its one Sec-WebSocket-Protocol
 * line in *hdr..*hdr_end; 0 when the head is incomplete, folded, or has none
 * or two of them. */
static size_t
scan_head(const char *in, const char *end, const char **hdr, const char **hdr_end)
{
    const char *line_end = find_crlf(in, end);

    *hdr = *hdr_end = NULL;
    if (line_end == NULL) {
        return 0;
    }
    for (const char *p = line_end + 2;; p = line_end + 2) {
        line_end = find_crlf(p, end);
        if (line_end == NULL || *p == ' ' || *p == '\t') {
            return 0; /* not the whole head, or obsolete line folding */
        }
        if (line_end == p) {
            return *hdr != NULL ? (size_t)(line_end + 2 - in) : 0;
        }
        if ((size_t)(line_end - p) >= HEADER_NAME_LEN &&
            strncasecmp(p, HEADER_NAME, HEADER_NAME_LEN) == 0) {
            if (*hdr != NULL) {
                return 0; /* two of them: lws joins them its own way */
            }
            *hdr = p;
            *hdr_end = line_end;
        }
    }
}

proto_head_lift_t
proto_head_lift(const char *in, size_t len, size_t min_len, char *out, size_t cap, size_t *used,
                size_t *outlen)
{
    const char *end = in + len, *hdr, *hdr_end, *v, *tok, *line_end, *sp1, *sp2, *q;
    char value[VALUE_MAX + 1];
    size_t head_len, vlen, tlen = 0, entries;
    bool has_v1 = false;
    out_t o = {out, 0, cap, false};

    head_len = scan_head(in, end, &hdr, &hdr_end);
    if (head_len == 0) {
        return PROTO_HEAD_AS_IS;
    }
    v = header_value(hdr, hdr_end, &vlen);
    if ((size_t)(hdr_end - v) < min_len || vlen > VALUE_MAX || memchr(v, '\0', vlen) != NULL) {
        return PROTO_HEAD_AS_IS;
    }
    memcpy(value, v, vlen);
    value[vlen] = '\0';
    tok = proto_subprotocol_token(value, &tlen, &has_v1);
    if (tok == NULL || !has_v1 || !plain_token(tok, tlen)) {
        return PROTO_HEAD_AS_IS;
    }
    tok = v + (tok - value);
    /* "GET <target> HTTP/1.1": the token goes first in the target's query. */
    line_end = find_crlf(in, end);
    sp1 = memchr(in, ' ', (size_t)(line_end - in));
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (sp2 == NULL || sp2 == sp1 + 1) {
        return PROTO_HEAD_AS_IS;
    }
    q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
    if (q != NULL) {
        put(&o, in, (size_t)(q + 1 - in));
        put(&o, "token=", 6);
        put(&o, tok, tlen);
        put(&o, "&", 1);
        put(&o, q + 1, (size_t)(hdr - q - 1));
    } else {
        put(&o, in, (size_t)(sp2 - in));
        put(&o, "?token=", 7);
        put(&o, tok, tlen);
        put(&o, sp2, (size_t)(hdr - sp2));
    }
    put(&o, "Sec-WebSocket-Protocol: ", 24);
    entries = o.len;
    put_entries(&o, v, vlen);
    entries = o.len - entries;
    put(&o, hdr_end, (size_t)(in + head_len - hdr_end));
    if (o.over || entries >= min_len) {
        return PROTO_HEAD_AS_IS; /* no room, or still too long for lws */
    }
    *used = head_len;
    *outlen = o.len;
    return PROTO_HEAD_LIFTED;
}
