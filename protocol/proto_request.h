/*
 * An HTTP/1.1 request head (RFC 9112 §2-5) read in place, for a WebSocket
 * upgrade served without libwebsockets: the request line, the header lines
 * as slices of the caller's buffer, and the lookups a handshake makes
 * (a header by name, all its lines joined; a token in a list; a query
 * argument, percent-decoded). Nothing is allocated and nothing copied until
 * a lookup asks for it.
 */
#ifndef CHATHUB_PROTO_REQUEST_H
#define CHATHUB_PROTO_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* More header lines than this and the head is refused (431): nginx and
 * Node take about 100, and a request through a CDN and a proxy with its
 * cookies and tracing headers can carry over 48. */
#define PROTO_REQUEST_HEADERS_MAX 100

typedef struct proto_header {
    const char *name, *value; /* value without the blanks around it */
    size_t name_len, value_len;
} proto_header_t;

typedef struct proto_request {
    const char *method, *target; /* target: the path and query as sent */
    size_t method_len, target_len;
    int minor; /* HTTP/1.<minor> */
    proto_header_t headers[PROTO_REQUEST_HEADERS_MAX];
    size_t nheaders;
    size_t head_len; /* bytes up to and including the blank line */
} proto_request_t;

typedef enum proto_request_status {
    PROTO_REQUEST_PARTIAL = 0, /* no blank line yet: read more */
    PROTO_REQUEST_OK,
    PROTO_REQUEST_BAD,      /* not an HTTP/1.x request head: 400 */
    PROTO_REQUEST_TOO_MANY, /* over PROTO_REQUEST_HEADERS_MAX header lines: 431 */
} proto_request_status_t;

/* Parse the head at the start of buf (len bytes; what follows it is not
 * looked at). The slices in *req point into buf. */
proto_request_status_t proto_request_parse(const char *buf, size_t len, proto_request_t *req);

/* Header name's value (case-insensitive name) copied into buf with a NUL,
 * several lines of it joined with ", " (RFC 9110 §5.3). Its length; 0 when
 * absent; -1 when it does not fit in cap bytes. */
int proto_request_header(const proto_request_t *req, const char *name, char *buf, size_t cap);

/* Whether a comma-separated header value (v, len bytes) lists token,
 * case-insensitively ("Connection: keep-alive, Upgrade"). */
bool proto_request_has_token(const char *v, size_t len, const char *token);

/* Whether any line of header name lists token, however long the lines are
 * (nothing is copied). */
bool proto_request_lists(const proto_request_t *req, const char *name, const char *token);

/* Whether the head has a line of header name (empty or not). */
bool proto_request_has_header(const proto_request_t *req, const char *name);

/* How many lines of header name the head has (empty ones too). */
size_t proto_request_lines(const proto_request_t *req, const char *name);

/* The target's path (up to '?'), percent-decoded into buf with a NUL. Its
 * length, or -1 when it does not fit or holds a bad escape or a NUL. */
int proto_request_path(const proto_request_t *req, char *buf, size_t cap);

/* The first query argument called name, percent-decoded ('+' is a space)
 * into buf with a NUL: buf, or NULL when there is none, it does not fit, or
 * it holds a bad escape or a NUL. "name" alone, without '=', is "". */
const char *proto_request_arg(const proto_request_t *req, const char *name, char *buf, size_t cap);

/* Percent-decode s (n bytes) into buf (cap bytes, with a NUL); '+' becomes a
 * space when plus is set (a query's form encoding). The length, or -1 on a
 * bad escape, an escaped NUL (it would cut the C string short) or when it
 * does not fit. */
int proto_percent_decode(const char *s, size_t n, bool plus, char *buf, size_t cap);

#endif
