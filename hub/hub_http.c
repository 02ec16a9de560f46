/*
 * HTTP requests: collect the body, route, and write the answer in one
 * lws_write from HTTP_WRITEABLE. Status lines are written by hand so every
 * answer is HTTP/1.1 with a reason phrase (PITFALLS.md: lws writes HTTP/1.0
 * on the upgrade path and has no phrase for 426).
 */
#include "hub_http.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hub_api.h"
#include "hub_channel.h"
#include "hub_handshake.h"
#include "hub_log.h"
#include "hub_node_id.h"
#include "hub_schema.h"
#include "hub_static.h"
#include "proto_build.h"
#include "proto_jwt.h"
#include "hub_metrics.h"
#include "xalloc.h"

static const char *
reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 426:
        return "Upgrade Required";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static const char *
status_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 411:
        return "length_required";
    case 413:
        return "too_large";
    case 426:
        return "upgrade_required";
    case 429:
        return "rate_limited";
    case 431:
        return "too_large";
    case 501:
        return "not_implemented";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

char *
hub_http_error_body(const char *code, const char *message, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    char *s;

    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message != NULL ? message : code);
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    *len = strlen(s);
    return s;
}

static const char www_authenticate[] = "WWW-Authenticate: Bearer realm=\"chathub\"\r\n";

/* The answer as text, after LWS_PRE bytes of headroom (*len bytes of it). */
static char *
status_text(int status, const char *why, const char *extra, size_t *len)
{
    size_t blen;
    char *body = hub_http_error_body(status_code(status), why, &blen);
    size_t cap = LWS_PRE + 256 + strlen(extra) + blen;
    char *buf = xmalloc(cap);
    int n = snprintf(buf + LWS_PRE, cap - LWS_PRE,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s%s\r\n%s",
                     status, reason_phrase(status), blen, status == 401 ? www_authenticate : "",
                     extra, body);

    free(body);
    *len = (size_t)n;
    return buf;
}

void
hub_http_write_raw_status(struct lws *wsi, int status, const char *why, const char *extra)
{
    size_t n;
    char *buf = status_text(status, why, extra, &n);

    if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) < 0) {
        log_debug("http.write_failed", "status=%d", status);
    }
    free(buf);
}

void
hub_http_refuse_fd(int fd, int status, const char *why, const char *extra, bool head)
{
    size_t n;
    char *buf = status_text(status, why, extra, &n);
    const char *end = head ? strstr(buf + LWS_PRE, "\r\n\r\n") : NULL;

    if (end != NULL) {
        n = (size_t)(end + 4 - (buf + LWS_PRE)); /* a HEAD's answer: no body (RFC 9110 9.3.2) */
    }
    (void)send(fd, buf + LWS_PRE, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    free(buf);
    shutdown(fd, SHUT_WR);
    close(fd);
}

hub_http_req_t *
hub_http_lookup(hub_t *hub, uint64_t id)
{
    return hub_map_get(&hub->http_reqs, id);
}

static void
free_handle(uv_handle_t *h)
{
    free(h);
}

static void
req_free(hub_t *hub, hub_http_req_t *req)
{
    if (req->deadline != NULL) {
        uv_close((uv_handle_t *)req->deadline, free_handle);
    }
    hub_map_del(&hub->http_reqs, req->id);
    hub_buf_unref(req->resp);
    cJSON_Delete(req->json);
    free(req->body);
    free(req);
}

/* The path as logs may show it, quoted (hub_log_quote): an opaque token's
 * key is a credential. */
static const char *
logged_path(const hub_http_req_t *req, char *out, size_t outlen)
{
    char cut[sizeof(req->path) + 8];
    const char *p = req->path;

    /* Anything after "tokens" may be a key: a near miss of the route too
     * ("/api/v1/TOKENS/<key>", "//api/v1/tokens/<key>" are not routes). */
    for (; *p != '\0' && strncasecmp(p, "tokens", 6) != 0; p++) {
    }
    if (*p != '\0' && p[6] != '\0') {
        snprintf(cut, sizeof(cut), "%.*s/<key>", (int)(p + 6 - req->path), req->path);
        p = cut;
    } else {
        p = req->path;
    }
    hub_log_quote(p, out, outlen);
    return out;
}

/* The method as written, for a log line (lws gives an index). */
static const char *
method_name(int method)
{
    static const char *const names[] = {
        [LWSHUMETH_GET] = "GET",         [LWSHUMETH_POST] = "POST",
        [LWSHUMETH_OPTIONS] = "OPTIONS", [LWSHUMETH_PUT] = "PUT",
        [LWSHUMETH_PATCH] = "PATCH",     [LWSHUMETH_DELETE] = "DELETE",
        [LWSHUMETH_CONNECT] = "CONNECT", [LWSHUMETH_HEAD] = "HEAD",
        [LWSHUMETH_COLON_PATH] = "PATH",
    };

    return method >= 0 && (size_t)method < sizeof(names) / sizeof(names[0]) ? names[method]
                                                                            : "other";
}

static int
write_answer(struct lws *wsi, const hub_http_req_t *req)
{
    int n =
        lws_write(wsi, hub_buf_payload(req->resp), hub_buf_len(req->resp), LWS_WRITE_HTTP_FINAL);

    if (hub_log_level <= HUB_LOG_DEBUG) {
        char path[256];
        log_debug("http.answer", "method=%s path=%s status=%d", method_name(req->method),
                  logged_path(req, path, sizeof(path)), req->status);
    }
    return n;
}

/* Whether lws closes the connection after this answer, by its own rule (lws
 * 4.1's server.c): HTTP/1.0 unless the client says keep-alive, HTTP/1.1
 * when it says close, the whole Connection value in any case. A head lws no
 * longer holds (an answer that waited on the store) reads as kept. */
static bool
lws_closes_after(struct lws *wsi)
{
    char ver[16] = "", conn[20] = "";
    int nver = lws_hdr_copy(wsi, ver, sizeof(ver), WSI_TOKEN_HTTP);
    int nconn = lws_hdr_copy(wsi, conn, sizeof(conn), WSI_TOKEN_CONNECTION);

    if (nconn > 0 && strcasecmp(conn, "keep-alive") == 0) {
        return false;
    }
    if (nconn > 0 && strcasecmp(conn, "close") == 0) {
        return true;
    }
    return nver > 7 && !(ver[5] == '1' && ver[7] == '1');
}

void
hub_http_reply(hub_http_req_t *req, int status, const char *content_type, const char *body,
               size_t len)
{
    char head[1024], keep[48] = "";
    const char *extra = req->extra_headers != NULL ? req->extra_headers : "";
    int n;

    if (req->answered) {
        return;
    }
    /* Keep-Alive only where the connection is kept; one that closes after
     * this answer says so (an audit found both said on a closing one). */
    if (req->close_after || req->stalled || lws_closes_after(req->wsi)) {
        snprintf(keep, sizeof(keep), "Connection: close\r\n");
        req->close_after = true; /* closed as said, whatever lws would do */
    } else {
        snprintf(keep, sizeof(keep), "Keep-Alive: timeout=%d\r\n", HUB_HTTP_KEEPALIVE_S);
    }
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n%s%s\r\n",
                 status, reason_phrase(status), content_type, len, keep, extra);
    if (req->method == LWSHUMETH_HEAD) {
        len = 0;
    }
    req->resp = hub_buf_new((size_t)n + len);
    memcpy(hub_buf_payload(req->resp), head, (size_t)n);
    if (len > 0) {
        memcpy(hub_buf_payload(req->resp) + n, body, len);
    }
    req->status = status;
    req->answered = true;
    if (req->stalled) {
        /* No writeable callback comes for it: written now, and the pipelined
         * requests behind it are dropped with the connection. */
        (void)write_answer(req->wsi, req);
        lws_set_timeout(req->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return;
    }
    lws_callback_on_writable(req->wsi);
}

void
hub_http_reply_json(hub_http_req_t *req, int status, cJSON *json)
{
    char *s = cJSON_PrintUnformatted(json);

    cJSON_Delete(json);
    hub_http_reply(req, status, "application/json", s, strlen(s));
    free(s);
}

void
hub_http_add_header(hub_http_req_t *req, const char *name, const char *value)
{
    size_t have = 0;

    if (req->extra_headers == req->extra_buf) {
        have = strlen(req->extra_buf);
    } else if (req->extra_headers != NULL) {
        have = (size_t)snprintf(req->extra_buf, sizeof(req->extra_buf), "%s", req->extra_headers);
    }
    if (have + strlen(name) + strlen(value) + 5 > sizeof(req->extra_buf)) {
        return;
    }
    snprintf(req->extra_buf + have, sizeof(req->extra_buf) - have, "%s: %s\r\n", name, value);
    req->extra_headers = req->extra_buf;
}

void
hub_http_reply_error(hub_http_req_t *req, int status, const char *code, const char *message)
{
    size_t len;
    char *s = hub_http_error_body(code != NULL ? code : status_code(status), message, &len);

    if (status == 401) {
        hub_http_add_header(req, "WWW-Authenticate",
                            "Bearer realm=\"chathub\""); /* RFC 9110 §15.5.2 */
    }

    hub_http_reply(req, status, "application/json", s, len);
    free(s);
}

const char *
hub_http_query(hub_http_req_t *req, const char *name, char *buf, size_t len)
{
    return lws_get_urlarg_by_name(req->wsi, name, buf, (int)len);
}

/* /ready answers within this even when the pool's statements are stuck
 * (a lock held on a table: its check would queue behind them for the query
 * timeout, past any probe's), as the store not ready. */
#define READY_DEADLINE_MS 1000

static void
reply_ready(hub_t *hub, hub_http_req_t *req, const char *err, bool schema_behind)
{
    const char *failed[5];
    int nfailed = 0;

    if (req->answered) {
        return; /* the deadline came first, or the store's answer did */
    }
    if (err != NULL || hub->store_read_only) {
        failed[nfailed++] = "store";
    } else if (schema_behind) {
        failed[nfailed++] = "schema"; /* a migration this binary needs is missing */
    }
    if (!hub_channel_is_up(hub->channel)) {
        failed[nfailed++] = "redis";
    }
    if (hub_node_id_clash(hub)) {
        failed[nfailed++] = "node_id";
    }
    if (hub->draining) {
        /* Its upgrades get 503 now: a load balancer's readiness probe
         * should stop sending them here, not learn it one 503 at a time. */
        failed[nfailed++] = "draining";
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", nfailed == 0 ? "ready" : "unavailable");
    cJSON_AddStringToObject(j, "store",
                            err == store_err_timeout ? "slow"
                            : err != NULL            ? "down"
                            : hub->store_read_only   ? "read_only"
                                                     : "up");
    cJSON_AddStringToObject(j, "redis",
                            hub_channel_is_local(hub->channel) ? "off"
                            : hub_channel_is_up(hub->channel)  ? "up"
                                                               : "down");
    if (nfailed > 0) {
        cJSON_AddItemToObject(j, "failed", cJSON_CreateStringArray(failed, nfailed));
    }
    hub_http_reply_json(req, nfailed == 0 ? 200 : 503, j);
}

static void
on_ready(hub_t *hub, void *ud, const char *err, bool schema_behind)
{
    hub_ref_t *ref = ud;
    hub_http_req_t *req = hub_http_lookup(hub, ref->id);

    free(ref);
    if (req != NULL) {
        reply_ready(hub, req, err, schema_behind);
    }
}

static void
on_ready_deadline(uv_timer_t *t)
{
    hub_http_req_t *req = t->data;

    reply_ready(req->hub, req, store_err_timeout, false);
}

static void
route_ready(hub_t *hub, hub_http_req_t *req)
{
    req->deadline = xmalloc(sizeof(*req->deadline));
    uv_timer_init(hub->loop, req->deadline);
    req->deadline->data = req;
    uv_timer_start(req->deadline, on_ready_deadline, READY_DEADLINE_MS, 0);
    hub_schema_check(hub, on_ready, hub_ref_new(hub, req->id));
}

/* GET /demo/token?user=ID: a JWT for one of HUB_DEMO_USERS, so the demo page
 * can pick a user. Development only: unset (the default), it is a 404. */
static void
demo_token(hub_t *hub, hub_http_req_t *req)
{
    char arg[32];
    int64_t uid;
    const char *v = hub_http_query(req, "user=", arg, sizeof(arg));
    const char *secret = hub->cfg->jwt_secret;

    if (hub->cfg->demo_users == NULL || secret == NULL) {
        hub_http_reply_error(req, 404, NULL, "no such path");
        return;
    }
    if (v == NULL || proto_parse_id(v, strlen(v), &uid) < 0 ||
        !hub_config_demo_user(hub->cfg, uid)) {
        hub_http_reply_error(req, 403, NULL, "not a demo user");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    char *tok =
        proto_jwt_sign(uid, now, now + 12 * 3600, (const unsigned char *)secret, strlen(secret));
    cJSON *j = cJSON_CreateObject();

    cJSON_AddItemToObject(j, "user_id", proto_json_int(uid));
    cJSON_AddStringToObject(j, "token", tok);
    free(tok);
    hub_http_reply_json(req, 200, j);
}

/* The Origin header when it is one HUB_ALLOWED_ORIGINS lets read our answers
 * (unset: any), else NULL. Only printable ASCII: it is echoed in a header. */
static const char *
readable_origin(hub_t *hub, hub_http_req_t *req, char *buf, size_t len)
{
    int n = lws_hdr_total_length(req->wsi, WSI_TOKEN_ORIGIN);

    if (n <= 0 || (size_t)n >= len || lws_hdr_copy(req->wsi, buf, (int)len, WSI_TOKEN_ORIGIN) < 0) {
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (buf[i] <= ' ' || buf[i] > '~') {
            return NULL;
        }
    }
    return hub_config_origin_allowed(hub->cfg, buf, (size_t)n) ? buf : NULL;
}

/* A WebSocket path fetched without an upgrade: 426, except that a token the
 * handshake refuses with 401 gets 401. A browser whose upgrade failed sees
 * only 1006; the client then fetches the same URL to learn whether the token
 * is dead (PROTOCOL.md §7). No token, or a good one, stays 426 (§1). */
static void
answer_ws_path(hub_t *hub, hub_http_req_t *req)
{
    hub_auth_t auth;
    const char *why = NULL;
    char origin[256];
    const char *allowed = readable_origin(hub, req, origin, sizeof(origin));
    hub_hs_t hs = hub_hs_lws(req->wsi);
    int status = hub_handshake_check(hub, &hs, &auth, &why);
    bool dead_token = status == 401 && why != NULL && strcmp(why, "no_token") != 0;

    snprintf(req->extra_buf, sizeof(req->extra_buf), "%s%s%s%s",
             dead_token ? "" : "Upgrade: websocket\r\nConnection: Upgrade\r\n",
             allowed != NULL ? "Access-Control-Allow-Origin: " : "", allowed != NULL ? allowed : "",
             allowed != NULL ? "\r\nVary: Origin\r\n" : "");
    req->extra_headers = req->extra_buf;
    if (dead_token) {
        hub_http_reply_error(req, 401, NULL, why);
    } else {
        hub_http_reply_error(req, 426, NULL, "this is a WebSocket endpoint");
    }
}

/* Paths that answer GET (and HEAD) only: another method gets 405, not 404. */
static bool
get_only_path(const char *path)
{
    return strcmp(path, "/health") == 0 || strcmp(path, "/ready") == 0 ||
           strcmp(path, "/metrics") == 0 || hub_static_find(path) != NULL;
}

static void
route(hub_t *hub, hub_http_req_t *req)
{
    int64_t room_id;
    proto_ws_kind_t ws = proto_ws_path_parse(req->path, &room_id);
    bool get = req->method == LWSHUMETH_GET || req->method == LWSHUMETH_HEAD;
    const hub_static_file_t *file;

    req->routed = true;
    if (ws == PROTO_WS_BAD) {
        hub_http_reply_error(req, 404, NULL, "no such path");
    } else if (ws != PROTO_WS_NOT_WS) {
        answer_ws_path(hub, req);
    } else if (strcmp(req->path, "/health") == 0 && get) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "status", "ok");
        hub_http_reply_json(req, 200, j);
    } else if (strcmp(req->path, "/ready") == 0 && get) {
        route_ready(hub, req);
    } else if (strcmp(req->path, "/metrics") == 0 && get) {
        /* Only /health and /ready are open (PROTOCOL.md 6): the counters say
         * how many are online and what they send. */
        if (hub_api_key_ok(hub, req)) {
            hub_metrics_reply(hub, req);
        } else {
            hub_http_reply_error(req, 401, NULL, "missing or wrong API key");
        }
    } else if (strcmp(req->path, "/demo/token") == 0 && get) {
        demo_token(hub, req);
    } else if (get && (file = hub_static_find(req->path)) != NULL) {
        hub_http_reply(req, 200, file->content_type, (const char *)file->data, file->len);
    } else if (req->api.route != PROTO_API_NONE) {
        hub_api_handle(hub, req);
    } else if (!get && get_only_path(req->path)) {
        hub_http_add_header(req, "Allow", "GET, HEAD");
        hub_http_reply_error(req, 405, NULL, "method not allowed on this path");
    } else {
        hub_http_reply_error(req, 404, NULL, "no such path");
    }
}

/*
 * Whether a body follows: 1 yes, 0 no, or an HTTP status for a body this hub
 * cannot read: 411 for one sent with Transfer-Encoding (lws 4.1 does not
 * decode a chunked request body; it would wait for one that never ends), 400
 * for a Content-Length that is not a decimal number, 413 for one over
 * HUB_HTTP_BODY_MAX, however many digits (answered before any of it is
 * read).
 */
static int
body_follows(struct lws *wsi)
{
    char cl[128];
    int n = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);

    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        return 411;
    }
    if (n <= 0) {
        return n == 0 ? 0 : 400; /* < 0: no decimal number is that long */
    }
    if (strspn(cl, "0123456789") != (size_t)n) {
        return 400;
    }
    if (n > 19) {
        return 413; /* a number, past what 64 bits hold */
    }
    unsigned long long len = strtoull(cl, NULL, 10);
    return len > HUB_HTTP_BODY_MAX ? 413 : len > 0;
}

/* Answer at once and close after: the body's bytes, never read, would
 * otherwise be taken for the next request on this connection. */
static void
refuse_body(hub_http_req_t *req, int status)
{
    req->routed = true;
    req->close_after = true; /* which says Connection: close */
    hub_http_reply_error(req, status, NULL,
                         status == 411   ? "send the body with a Content-Length"
                         : status == 413 ? "request body too large"
                                         : "Content-Length must be a decimal number");
}

int
hub_http_on_request(hub_t *hub, struct lws *wsi, hub_pss_t *pss, const char *uri)
{
    hub_http_req_t *req = xcalloc(1, sizeof(*req));
    char *muri = NULL;
    int mlen = 0;

    req->id = hub_next_id(hub);
    req->hub = hub;
    req->wsi = wsi;
    req->method = lws_http_get_uri_and_method(wsi, &muri, &mlen);
    snprintf(req->path, sizeof(req->path), "%s", uri != NULL ? uri : "/");
    proto_api_path_parse(req->path, &req->api);
    hub_map_put(&hub->http_reqs, req->id, req);
    pss->req = req;
    req->started_ms = hub_now_ms(hub);
    int body = body_follows(wsi);
    bool writes = req->method == LWSHUMETH_POST || req->method == LWSHUMETH_PUT ||
                  req->method == LWSHUMETH_PATCH;
    if (body > 1) {
        refuse_body(req, body);
    } else if (body == 1 && writes &&
               (req->api.route == PROTO_API_NONE || !hub_api_key_ok(hub, req))) {
        /* Nothing here reads a body without the API key: answered at once
         * (404, 401, …) and closed, the body never read. */
        req->close_after = true;
        route(hub, req);
    } else if (body == 1 && writes) {
        /* routed on BODY_COMPLETION */
    } else {
        route(hub, req);
    }
    return 0;
}

int
hub_http_on_body(hub_t *hub, hub_pss_t *pss, const void *in, size_t len)
{
    hub_http_req_t *req = pss->req;

    if (req == NULL || req->body_too_large || req->routed) {
        return 0;
    }
    if (hub_now_ms(hub) - req->started_ms > HUB_HTTP_BODY_DEADLINE_MS) {
        char path[256];
        log_info("http.body_too_slow", "path=%s received=%zu", logged_path(req, path, sizeof(path)),
                 req->body_len);
        return -1;
    }
    if (req->body_len + len > HUB_HTTP_BODY_MAX) {
        req->body_too_large = true;
        return 0;
    }
    if (len == 0) {
        return 0; /* lws passes no buffer then */
    }
    req->body = xrealloc(req->body, req->body_len + len + 1);
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

int
hub_http_on_body_done(hub_t *hub, struct lws *wsi, hub_pss_t *pss)
{
    hub_http_req_t *req = pss->req;

    if (req == NULL) {
        return -1;
    }
    if (req->body_done) {
        /* lws 4.1 reports a body complete again when pipelined bytes follow
         * it, and when those hold another body it does so for ever, servicing
         * nothing else: the whole node hung. So requests pipelined behind a
         * body are not served: this one is answered (now, or when the store
         * answers, with rx stopped, which stops these calls) and the
         * connection then closes, as RFC 9112 §9.3.2 lets a server do. */
        char path[256];
        log_info("http.pipelined_body", "path=%s answered=%d", logged_path(req, path, sizeof(path)),
                 req->answered);
        if (req->answered) {
            (void)write_answer(wsi, req);
            return -1;
        }
        req->stalled = true;
        lws_rx_flow_control(wsi, 0); /* which stops the calls */
        return 0;
    }
    req->body_done = true;
    if (req->routed) {
        return 0; /* Content-Length: 0 was routed at the request already */
    }
    if (req->body_too_large) {
        hub_http_reply_error(req, 413, NULL, "request body too large");
        return 0;
    }
    route(hub, req);
    return 0;
}

int
hub_http_on_writeable(hub_t *hub, struct lws *wsi, hub_pss_t *pss)
{
    hub_http_req_t *req = pss->req;

    if (req == NULL || !req->answered) {
        return 0;
    }
    int n = write_answer(wsi, req);
    bool close_after = req->close_after;
    /* Unlink before lws resets the session for the next request. */
    pss->req = NULL;
    req_free(hub, req);
    if (n < 0 || close_after) {
        return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void
hub_http_on_closed(hub_t *hub, hub_pss_t *pss)
{
    if (pss->req != NULL) {
        req_free(hub, pss->req);
        pss->req = NULL;
    }
}
