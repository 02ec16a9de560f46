/*
 * The request head's grammar, strict where a lax reading could be abused
 * (RFC 9112 §11: no blank before a header's colon, no folded lines, no
 * control bytes) and lenient where clients differ harmlessly (a bare LF
 * ends a line, §2.2; blanks after the version are dropped, as lws and nginx
 * do). An empty line before the request line (§2.2 says it SHOULD be
 * skipped) is refused: lws 4.1, which serves such a head otherwise, never
 * answers it.
 */
#include "proto_request.h"

#include <string.h>
#include <strings.h>

#include "proto_num.h"

/* What each byte may be: a tchar (RFC 9110 §5.6.2, what a method or a
 * header name is made of) and a byte of a field value (anything but the
 * control bytes other than HTAB). One load a byte: a request head is some
 * 300 bytes at every connect. Sixteen bytes a row. */
enum { TCHAR = 1, FIELD = 2 };
/* clang-format off */
static const unsigned char byte_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,
    2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};
/* clang-format on */

static bool
is_tchar(unsigned char c)
{
    return (byte_class[c] & TCHAR) != 0;
}

/* The end of the line that starts at p: the offset of its LF from buf, with
 * *eol the offset where its content ends (before a CR). -1: no LF yet. */
static long
line_end(const char *buf, size_t len, size_t p, size_t *eol)
{
    const char *lf = memchr(buf + p, '\n', len - p);

    if (lf == NULL) {
        return -1;
    }
    *eol = (size_t)(lf - buf);
    if (*eol > p && buf[*eol - 1] == '\r') {
        (*eol)--;
    }
    return lf - buf;
}

static proto_request_status_t
parse_request_line(const char *buf, size_t eol, proto_request_t *req)
{
    size_t p = 0;

    while (p < eol && is_tchar((unsigned char)buf[p])) {
        p++;
    }
    if (p == 0 || p >= eol || buf[p] != ' ') {
        return PROTO_REQUEST_BAD;
    }
    req->method = buf;
    req->method_len = p++;
    req->target = buf + p;
    while (p < eol && (unsigned char)buf[p] > ' ' && buf[p] != 0x7F) {
        p++;
    }
    req->target_len = (size_t)(buf + p - req->target);
    while (eol > p + 9 && (buf[eol - 1] == ' ' || buf[eol - 1] == '\t')) {
        eol--;
    }
    if (req->target_len == 0 || p + 9 != eol || memcmp(buf + p, " HTTP/1.", 8) != 0 ||
        buf[p + 8] < '0' || buf[p + 8] > '9') {
        return PROTO_REQUEST_BAD;
    }
    req->minor = buf[p + 8] - '0';
    return PROTO_REQUEST_OK;
}

static proto_request_status_t
parse_header(const char *line, size_t n, proto_header_t *h)
{
    size_t p = 0, end = n;

    while (p < n && is_tchar((unsigned char)line[p])) {
        p++;
    }
    if (p == 0 || p == n || line[p] != ':') {
        return PROTO_REQUEST_BAD; /* a folded line or a blank before the colon included */
    }
    h->name = line;
    h->name_len = p++;
    while (p < n && (line[p] == ' ' || line[p] == '\t')) {
        p++;
    }
    while (end > p && (line[end - 1] == ' ' || line[end - 1] == '\t')) {
        end--;
    }
    for (size_t i = p; i < end; i++) {
        if ((byte_class[(unsigned char)line[i]] & FIELD) == 0) {
            return PROTO_REQUEST_BAD;
        }
    }
    h->value = line + p;
    h->value_len = end - p;
    return PROTO_REQUEST_OK;
}

proto_request_status_t
proto_request_parse(const char *buf, size_t len, proto_request_t *req)
{
    size_t eol, p;
    long lf;
    proto_request_status_t st;

    /* Not the header array: 3 KB to clear at every connect, read only up
     * to nheaders. */
    req->method = req->target = NULL;
    req->method_len = req->target_len = req->nheaders = req->head_len = 0;
    req->minor = 0;
    if ((lf = line_end(buf, len, 0, &eol)) < 0) {
        return PROTO_REQUEST_PARTIAL;
    }
    if ((st = parse_request_line(buf, eol, req)) != PROTO_REQUEST_OK) {
        return st;
    }
    for (p = (size_t)lf + 1;; p = (size_t)lf + 1) {
        if ((lf = line_end(buf, len, p, &eol)) < 0) {
            return PROTO_REQUEST_PARTIAL;
        }
        if (eol == p) {
            req->head_len = (size_t)lf + 1;
            return PROTO_REQUEST_OK;
        }
        if (req->nheaders == PROTO_REQUEST_HEADERS_MAX) {
            return PROTO_REQUEST_TOO_MANY;
        }
        st = parse_header(buf + p, eol - p, &req->headers[req->nheaders++]);
        if (st != PROTO_REQUEST_OK) {
            return st;
        }
    }
}

int
proto_request_header(const proto_request_t *req, const char *name, char *buf, size_t cap)
{
    size_t nlen = strlen(name), out = 0;
    bool found = false;

    for (size_t i = 0; i < req->nheaders; i++) {
        const proto_header_t *h = &req->headers[i];
        if (h->name_len != nlen || strncasecmp(h->name, name, nlen) != 0) {
            continue;
        }
        size_t need = (found ? 2 : 0) + h->value_len;
        if (out + need + 1 > cap) {
            return -1;
        }
        if (found) {
            memcpy(buf + out, ", ", 2);
            out += 2;
        }
        memcpy(buf + out, h->value, h->value_len);
        out += h->value_len;
        found = true;
    }
    if (cap > 0) {
        buf[out] = '\0';
    }
    return found ? (int)out : 0;
}

bool
proto_request_has_token(const char *v, size_t len, const char *token)
{
    size_t tlen = strlen(token), p = 0;

    while (p < len) {
        size_t start, end;
        while (p < len && (v[p] == ' ' || v[p] == '\t' || v[p] == ',')) {
            p++;
        }
        start = p;
        while (p < len && v[p] != ',') {
            p++;
        }
        end = p;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
            end--;
        }
        if (end - start == tlen && tlen > 0 && strncasecmp(v + start, token, tlen) == 0) {
            return true;
        }
    }
    return false;
}

static const proto_header_t *
next_line(const proto_request_t *req, const char *name, size_t *i)
{
    size_t nlen = strlen(name);

    for (; *i < req->nheaders; (*i)++) {
        const proto_header_t *h = &req->headers[*i];
        if (h->name_len == nlen && strncasecmp(h->name, name, nlen) == 0) {
            (*i)++;
            return h;
        }
    }
    return NULL;
}

bool
proto_request_lists(const proto_request_t *req, const char *name, const char *token)
{
    const proto_header_t *h;

    for (size_t i = 0; (h = next_line(req, name, &i)) != NULL;) {
        if (proto_request_has_token(h->value, h->value_len, token)) {
            return true;
        }
    }
    return false;
}

bool
proto_request_has_header(const proto_request_t *req, const char *name)
{
    return proto_request_lines(req, name) > 0;
}

size_t
proto_request_lines(const proto_request_t *req, const char *name)
{
    size_t i = 0, n = 0;

    while (next_line(req, name, &i) != NULL) {
        n++;
    }
    return n;
}

int
proto_percent_decode(const char *s, size_t n, bool plus, char *buf, size_t cap)
{
    size_t out = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (n - i < 3) {
                return -1;
            }
            int hi = proto_hex_digit(s[i + 1]), lo = proto_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
            if (c == '\0') {
                return -1;
            }
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (out + 1 >= cap) {
            return -1;
        }
        buf[out++] = c;
    }
    if (cap == 0) {
        return -1;
    }
    buf[out] = '\0';
    return (int)out;
}

int
proto_request_path(const proto_request_t *req, char *buf, size_t cap)
{
    const char *q = memchr(req->target, '?', req->target_len);
    size_t n = q != NULL ? (size_t)(q - req->target) : req->target_len;

    return proto_percent_decode(req->target, n, false, buf, cap);
}

const char *
proto_request_arg(const proto_request_t *req, const char *name, char *buf, size_t cap)
{
    const char *q = memchr(req->target, '?', req->target_len);
    const char *end = req->target + req->target_len;
    size_t nlen = strlen(name);

    if (q == NULL) {
        return NULL;
    }
    for (const char *p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        size_t flen = (size_t)(stop - p);
        if (flen >= nlen && memcmp(p, name, nlen) == 0 && (flen == nlen || p[nlen] == '=')) {
            const char *v = flen == nlen ? stop : p + nlen + 1;
            return proto_percent_decode(v, (size_t)(stop - v), true, buf, cap) < 0 ? NULL : buf;
        }
        p = stop + 1;
    }
    return NULL;
}
