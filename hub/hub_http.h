/*
 * Plain HTTP on the hub's port: /health, /ready, /metrics, the 426 for a
 * WebSocket path fetched without an upgrade, and the request plumbing the
 * server API (hub_api.c) answers through. Answers may be deferred: a request
 * is found again by id when the store replies, and forgotten when its
 * connection closes.
 */
#ifndef CHATHUB_HUB_HTTP_H
#define CHATHUB_HUB_HTTP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "hub.h"
#include "hub_buf.h"
#include "hub_conn.h"
#include "proto_url.h"

struct lws;

#define HUB_HTTP_BODY_MAX (1024 * 1024) /* request bodies past this get 413 */
/* An idle keep-alive connection is closed after this (lws's
 * keepalive_timeout); each answer that keeps its connection says so in a
 * Keep-Alive header, so that a client's pool drops it first rather than
 * send a request into the close (an audit: Node's fetch then failed a POST). */
#define HUB_HTTP_KEEPALIVE_S 5
/* A body still incomplete this long after its head is dropped with the
 * connection: lws's 10 s idle timer restarts at every byte, so a body sent a
 * byte at a time would hold its slot for ever. */
#define HUB_HTTP_BODY_DEADLINE_MS 30000

typedef struct hub_http_req {
    uint64_t id;
    hub_t *hub;
    struct lws *wsi;
    int method; /* LWSHUMETH_* */
    char path[512];
    proto_api_path_t api;
    char *body;
    size_t body_len;
    bool body_too_large;
    uint64_t started_ms; /* when the head was read: a body has a deadline from it */
    bool routed; /* handed to route() once: lws 4.1 still reports a body for Content-Length: 0 */
    bool close_after; /* a body was left unread: the connection ends with the answer */
    bool body_done;   /* lws reported the body complete (see hub_http_on_body_done) */
    bool stalled;     /* lws stalled on its pipelined bytes: answer at once, then close */
    cJSON *json;      /* the parsed body, owned, or NULL */
    /* The answer, once known. */
    bool answered;
    bool headers_sent;
    int status;
    const char *content_type;
    const char *extra_headers; /* "Name: value\r\n" lines (static or extra_buf) or NULL */
    char extra_buf[384];       /* per-request extra_headers (an echoed Origin) */
    hub_buf_t *resp;
    uv_timer_t *deadline; /* /ready's: answered 503 when the store is this slow */
} hub_http_req_t;

int hub_http_on_request(hub_t *hub, struct lws *wsi, hub_pss_t *pss, const char *uri);
int hub_http_on_body(hub_t *hub, hub_pss_t *pss, const void *in, size_t len);
int hub_http_on_body_done(hub_t *hub, struct lws *wsi, hub_pss_t *pss);
int hub_http_on_writeable(hub_t *hub, struct lws *wsi, hub_pss_t *pss);
void hub_http_on_closed(hub_t *hub, hub_pss_t *pss);

/* Adds "name: value" to the answer's head (kept when it does not fit). */
void hub_http_add_header(hub_http_req_t *req, const char *name, const char *value);

/* The request still owed an answer, or NULL (its connection closed). */
hub_http_req_t *hub_http_lookup(hub_t *hub, uint64_t id);

/* Answer with body (len bytes, copied). */
void hub_http_reply(hub_http_req_t *req, int status, const char *content_type, const char *body,
                    size_t len);
/* Answer with json (freed here). */
void hub_http_reply_json(hub_http_req_t *req, int status, cJSON *json);
/* Answer {"error":{"code":code,"message":message}}. */
void hub_http_reply_error(hub_http_req_t *req, int status, const char *code, const char *message);

/* A query argument's value (name includes '='), or NULL. */
const char *hub_http_query(hub_http_req_t *req, const char *name, char *buf, size_t len);

/* {"error":{"code":code,"message":message}} (message NULL: the code), malloc'd. */
char *hub_http_error_body(const char *code, const char *message, size_t *len);

/* Write a complete status response on wsi at once (handshake refusals), with
 * extra header lines ("" for none) before the body. */
/* The same answer on a socket no one serves (its request already read),
 * which is then shut and closed; head: the request was a HEAD, and the
 * answer has no body. */
void hub_http_refuse_fd(int fd, int status, const char *why, const char *extra, bool head);
void hub_http_write_raw_status(struct lws *wsi, int status, const char *why, const char *extra);

#endif
