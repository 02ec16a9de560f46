/*
 * Request heads libwebsockets 4.1 gets wrong (hub_lws_heads.h): it drops
 * them without an answer or waits for its 10 s timeout, so hub_listen.c
 * answers them itself before lws would serve them.
 */
#define _GNU_SOURCE /* memmem */
#include "hub_lws_heads.h"

#include <string.h>
#include <strings.h>

/* A %00 in the request line's target: lws 4.1 drops the connection without
 * an answer; it is a bad request. */
bool
hub_lws_heads_nul_target(const char *head, size_t n)
{
    const char *eol = memchr(head, '\n', n);
    size_t line = eol != NULL ? (size_t)(eol - head) : n;

    return memmem(head, line, "%00", 3) != NULL;
}

/* A header line whose name is one character ("X: a"): lws 4.1 misreads it,
 * taking the line after it (or, last, the head's end) into it, so the
 * request waits for the head timeout or loses a header. Only the head's
 * lines are looked at. */
bool
hub_lws_heads_short_name(const char *head, size_t n)
{
    const char *end = memmem(head, n, "\r\n\r\n", 4);
    const char *p = memchr(head, '\n', n);

    while (p != NULL && end != NULL && p < end + 2) {
        p++;
        if (p + 1 < end + 2 && p[0] != '\r' && p[1] == ':') {
            return true;
        }
        p = memchr(p, '\n', (size_t)(end + 2 - p));
    }
    return false;
}

/* The header names lws 4.1 parses (its lextable). A head whose last line's
 * name is the start of one of these and not one itself ("Hos", "Cache",
 * "X-A") is misread as well: lws waits for the rest of the name past the
 * head's end, and the request gets no answer until its 10 s timeout. */
static const char *const lws_names[] = {
    "host",
    "connection",
    "upgrade",
    "origin",
    "sec-websocket-draft",
    "sec-websocket-extensions",
    "sec-websocket-key1",
    "sec-websocket-key2",
    "sec-websocket-protocol",
    "sec-websocket-accept",
    "sec-websocket-nonce",
    "http2-settings",
    "accept",
    "access-control-request-headers",
    "if-modified-since",
    "if-none-match",
    "accept-encoding",
    "accept-language",
    "pragma",
    "cache-control",
    "authorization",
    "cookie",
    "content-length",
    "content-type",
    "date",
    "range",
    "referer",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-origin",
    "accept-charset",
    "accept-ranges",
    "access-control-allow-origin",
    "age",
    "allow",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-location",
    "content-range",
    "etag",
    "expect",
    "expires",
    "from",
    "if-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
    "x-real-ip",
    "x-forwarded-for",
    "te",
    "replay-nonce",
    "x-auth-token",
    "x-amzn-dss-signature",
};

bool
hub_lws_heads_cut_name(const char *head, size_t n)
{
    const char *end = memmem(head, n, "\r\n\r\n", 4);
    const char *line, *colon;
    bool prefix = false;

    if (end == NULL) {
        return false;
    }
    for (line = end; line > head && line[-1] != '\n'; line--) {
    }
    colon = memchr(line, ':', (size_t)(end - line));
    if (line == head || colon == NULL) {
        return false; /* the request line: no header at all */
    }
    size_t len = (size_t)(colon - line);
    for (size_t i = 0; i < sizeof(lws_names) / sizeof(lws_names[0]); i++) {
        size_t k = strlen(lws_names[i]);
        if (k == len && strncasecmp(line, lws_names[i], len) == 0) {
            return false; /* a name lws knows whole */
        }
        prefix = prefix || (k > len && strncasecmp(line, lws_names[i], len) == 0);
    }
    return prefix;
}
