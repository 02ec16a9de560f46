/*
 * Handshake checks that need no I/O. Token precedence: Authorization: Bearer
 * header, then the "bearer.<t>" subprotocol, then ?token=. A token that is
 * present but bad is refused; we never fall through to a weaker source.
 */
#include "hub_handshake.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_http.h"
#include "hub_listen.h"
#include "hub_log.h"
#include "proto_jwt.h"
#include "proto_request.h"
#include "xalloc.h"

hub_hs_t
hub_hs_lws(struct lws *wsi)
{
    return (hub_hs_t){.wsi = wsi, .fd = lws_get_socket_fd(wsi)};
}

/* The headers the checks read, by lws's index and by name. */
typedef struct hdr {
    enum lws_token_indexes token;
    const char *name;
} hdr_t;

static const hdr_t H_ORIGIN = {WSI_TOKEN_ORIGIN, "Origin"};
static const hdr_t H_PROTOCOL = {WSI_TOKEN_PROTOCOL, "Sec-WebSocket-Protocol"};
static const hdr_t H_AUTHORIZATION = {WSI_TOKEN_HTTP_AUTHORIZATION, "Authorization"};
static const hdr_t H_VERSION = {WSI_TOKEN_VERSION, "Sec-WebSocket-Version"};
static const hdr_t H_FORWARDED_FOR = {WSI_TOKEN_X_FORWARDED_FOR, "X-Forwarded-For"};
static const hdr_t H_UPGRADE = {WSI_TOKEN_UPGRADE, "Upgrade"};
static const hdr_t H_CONNECTION = {WSI_TOKEN_CONNECTION, "Connection"};

/* A header's value with a NUL: its length, 0 absent (or empty), -1 too long. */
static int
copy_hdr(const hub_hs_t *hs, hdr_t h, char *buf, size_t len)
{
    if (hs->req != NULL) {
        return proto_request_header(hs->req, h.name, buf, len);
    }
    int n = lws_hdr_total_length(hs->wsi, h.token);
    if (n <= 0) {
        return 0;
    }
    if ((size_t)n >= len || lws_hdr_copy(hs->wsi, buf, (int)len, h.token) < 0) {
        return -1;
    }
    return n;
}

/* The request's path, decoded: its length, or <= 0 when there is none usable. */
static int
copy_path(const hub_hs_t *hs, char *buf, size_t len)
{
    static const hdr_t uri = {WSI_TOKEN_GET_URI, NULL}; /* lws's decoded path */

    return hs->req != NULL ? proto_request_path(hs->req, buf, len) : copy_hdr(hs, uri, buf, len);
}

/* lws copies each query fragment into the buffer while it looks for name, and
 * stops at the first that does not fit: the buffer must fit the longest
 * fragment (a JWT in ?token=), not just the value wanted. */
#define URLARG_BUF (PROTO_JWT_MAX_LEN + 64)

/* The first query argument called name, decoded, in buf; NULL when none. */
static const char *
urlarg(const hub_hs_t *hs, const char *name, char *buf, size_t len)
{
    char eq[32];

    if (hs->req != NULL) {
        return proto_request_arg(hs->req, name, buf, len);
    }
    snprintf(eq, sizeof(eq), "%s=", name);
    return lws_get_urlarg_by_name(hs->wsi, eq, buf, (int)len);
}

static int
parse_target(const hub_hs_t *hs, hub_auth_t *a, const char **why)
{
    char path[256], arg[URLARG_BUF];
    const char *v;

    if (copy_path(hs, path, sizeof(path)) <= 0) {
        *why = "not_found";
        return 404;
    }
    a->kind = proto_ws_path_parse(path, &a->room_id);
    if (a->kind == PROTO_WS_NOT_WS || a->kind == PROTO_WS_BAD) {
        *why = "not_found";
        return 404;
    }
    /* An empty argument is an absent one, as on the server API: a client
     * writing ?room_id=${id ?? ''} asks for the fallback room. */
    v = urlarg(hs, "room_id", arg, sizeof(arg));
    if (v != NULL && *v != '\0' && a->kind == PROTO_WS_FALLBACK) {
        if (proto_parse_id(v, strlen(v), &a->room_id) < 0) {
            *why = "bad_room_id";
            return 404;
        }
        a->kind = PROTO_WS_ROOM;
    }
    a->last_seq = -1;
    v = urlarg(hs, "last_seq", arg, sizeof(arg));
    if (v != NULL && *v != '\0' && proto_parse_u53(v, strlen(v), &a->last_seq) < 0) {
        *why = "bad_last_seq";
        return 400;
    }
    return 0;
}

static int
check_origin(hub_t *hub, const hub_hs_t *hs, const char **why)
{
    char origin[256];
    int n = copy_hdr(hs, H_ORIGIN, origin, sizeof(origin));

    /* No Origin: not a browser, so no cross-site risk to police. */
    if (n == 0 || hub->cfg->allowed_origins == NULL) {
        return 0;
    }
    if (n < 0 || !hub_config_origin_allowed(hub->cfg, origin, (size_t)n)) {
        *why = "origin_not_allowed";
        return 403;
    }
    return 0;
}

/* A Sec-WebSocket-Protocol header must offer chathub.v1. Without it lws 4.1
 * finds no protocol it serves and hangs up without a status; accepting
 * without selecting one is no way out either, since browsers and the ws
 * package fail a handshake whose answer selects none of the offered ones. */
static int
check_subprotocol(const hub_hs_t *hs, char *buf, size_t cap, const char **why)
{
    size_t tlen;
    bool has_v1 = false;
    int n = copy_hdr(hs, H_PROTOCOL, buf, cap);

    if (n == 0) {
        return 0;
    }
    if (n < 0) {
        *why = "subprotocol_too_long"; /* longer than any JWT could make it */
        return 431;
    }
    (void)proto_subprotocol_token(buf, &tlen, &has_v1);
    if (!has_v1) {
        *why = "chathub.v1_not_offered";
        return 400;
    }
    return 0;
}

static int
token_from_opaque(const char *t, size_t len, hub_auth_t *a)
{
    if (len == 0 || len > PROTO_API_KEY_MAX) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = t[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '_' || ch == '-')) {
            return -1;
        }
    }
    memcpy(a->opaque, t, len);
    a->opaque[len] = '\0';
    return 0;
}

static int
verify_token(hub_t *hub, const char *t, size_t len, hub_auth_t *a, const char **why)
{
    proto_jwt_claims_t claims;

    if (!proto_jwt_is_jwt(t, len)) {
        *why = "malformed_token";
        return token_from_opaque(t, len, a) == 0 ? 0 : 401;
    }
    if (hub->jwt_key == NULL) {
        *why = "jwt_disabled";
        return 401;
    }
    if (proto_jwt_verify_key(t, len, hub->jwt_key, (int64_t)time(NULL), hub->cfg->jwt_leeway,
                             &claims, why) < 0) {
        return 401;
    }
    a->user_id = claims.user_id;
    a->exp = claims.exp;
    return 0;
}

/* "Bearer" and nothing after it (hdr passed proto_auth_is_bearer()). */
static bool
bearer_is_blank(const char *hdr)
{
    const char *s = hdr + strspn(hdr, " \t") + 6;

    return s[strspn(s, " \t")] == '\0';
}

/* How many lines of h a head lws parsed has: lws keeps each as a fragment,
 * an empty one too (its copy is 0 bytes, a missing one's -1). */
static size_t
lws_lines(const hub_hs_t *hs, hdr_t h)
{
    char one[1];
    int n = 0;

    while (lws_hdr_fragment_length(hs->wsi, h.token, n) > 0 ||
           lws_hdr_copy_fragment(hs->wsi, one, sizeof(one), h.token, n) == 0) {
        n++;
    }
    return (size_t)n;
}

/* 0 with *tok, -1 no token anywhere, -2 an Authorization header that cannot
 * hold one we read (too long to copy, or not "Bearer <token>"). */
static int
find_token(const hub_hs_t *hs, char *buf, size_t buflen, const char **tok, size_t *tlen)
{
    bool has_v1 = false;
    int n;

    n = copy_hdr(hs, H_AUTHORIZATION, buf, buflen);
    /* Authorization is one line (RFC 9110 §11.6.2): of two, which to trust
     * cannot be told (a Basic or an empty line first hid a bad Bearer, and
     * ?token= decided), whoever parsed the head (lws: TLS, or one that came
     * in pieces). */
    if ((hs->req != NULL ? proto_request_lines(hs->req, "Authorization")
                         : lws_lines(hs, H_AUTHORIZATION)) > 1) {
        return -2;
    }
    /* Only a Bearer header is a token source: browsers send Basic credentials
     * they cached for a site behind HTTP auth, and those are not meant for us.
     * A header too long to copy is refused: its scheme is unknown. A blank
     * Bearer carries no token, like an empty bearer. entry: the next source
     * decides. */
    if (n < 0 || (n > 0 && proto_auth_is_bearer(buf) && !bearer_is_blank(buf))) {
        *tok = n > 0 ? proto_bearer_token(buf, tlen) : NULL;
        return *tok != NULL ? 0 : -2;
    }
    n = copy_hdr(hs, H_PROTOCOL, buf, buflen);
    if (n > 0 && (*tok = proto_subprotocol_token(buf, tlen, &has_v1)) != NULL) {
        return 0;
    }
    *tok = urlarg(hs, "token", buf, buflen);
    if (*tok == NULL) {
        return -1;
    }
    *tlen = strlen(*tok);
    return 0;
}

uint64_t
hub_handshake_addr_key(const char *addr)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */

    for (const char *p = addr; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
    }
    return h;
}

bool
hub_handshake_is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

uint64_t
hub_handshake_ip_key(const hub_t *hub, const hub_hs_t *hs)
{
    /* Every client socket is accepted by hub_listen.c, which keeps its peer. */
    const hub_peer_t *peer = hub_listen_peer(hub, hs->fd);
    uint64_t key = peer != NULL ? peer->key : hub_handshake_addr_key("");
    char xff[256];

    /* Behind our nginx every peer is a loopback address: the client is the
     * last X-Forwarded-For entry, the one nginx added. Never trusted from others. */
    if (peer != NULL && peer->loopback && copy_hdr(hs, H_FORWARDED_FOR, xff, sizeof(xff)) > 0) {
        const char *last = strrchr(xff, ',');
        const char *who = last != NULL ? last + 1 : xff;
        while (*who == ' ') {
            who++;
        }
        key = hub_handshake_addr_key(who);
    }
    return key;
}

/* The reasons a refused upgrade gets; hub_handshake_reply knows them by address. */
static const char why_not_websocket[] = "upgrade_required";
static const char why_no_version[] = "no_websocket_version";
static const char why_bad_version[] = "unsupported_websocket_version";

/* An upgrade to anything but WebSocket (h2c, say) is a plain GET to this path:
 * 426 and what to ask for (PROTOCOL.md §1). RFC 6455 §4.2.2: a version the
 * server does not speak gets 426 and the one it does (hub_handshake_reply adds
 * the headers). lws 4.1 upgrades whatever the version header says, and
 * without one. */
/* Whether header h lists token, however long its value (a Connection of
 * 600 bytes is a sound one). */
static bool
hdr_lists(const hub_hs_t *hs, hdr_t h, const char *token)
{
    if (hs->req != NULL) {
        return proto_request_lists(hs->req, h.name, token);
    }
    int n = lws_hdr_total_length(hs->wsi, h.token);
    if (n <= 0) {
        return false;
    }
    char *v = xmalloc((size_t)n + 1);
    bool has = lws_hdr_copy(hs->wsi, v, n + 1, h.token) >= 0 &&
               proto_request_has_token(v, (size_t)n, token);
    free(v);
    return has;
}

int
hub_handshake_check_version(const hub_hs_t *hs, const char **why)
{
    char v[128];
    int n;
    size_t len;

    if (!hdr_lists(hs, H_UPGRADE, "websocket")) {
        *why = why_not_websocket;
        return 426;
    }
    /* Upgrade without Connection: Upgrade is no upgrade (RFC 9110 7.8):
     * lws 4.1 hung up on it without a status. */
    if (!hdr_lists(hs, H_CONNECTION, "upgrade")) {
        *why = why_not_websocket;
        return 426;
    }
    n = copy_hdr(hs, H_VERSION, v, sizeof(v));
    len = n > 0 ? (size_t)n : 0;
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }
    if (n == 0) {
        *why = why_no_version;
        return 400;
    }
    if (len != 2 || memcmp(v, "13", 2) != 0) {
        *why = why_bad_version;
        return 426;
    }
    return 0;
}

int
hub_handshake_check(hub_t *hub, const hub_hs_t *hs, hub_auth_t *auth, const char **why)
{
    char buf[PROTO_JWT_MAX_LEN + 64];
    const char *tok = NULL;
    size_t tlen = 0;
    int status;

    memset(auth, 0, sizeof(*auth));
    if ((status = parse_target(hs, auth, why)) != 0) {
        return status;
    }
    if (hub->draining || hub->stopping) {
        *why = "draining";
        return 503;
    }
    if ((status = check_origin(hub, hs, why)) != 0) {
        return status;
    }
    if (hub->cfg->max_conns_per_ip > 0 &&
        (uintptr_t)hub_map_get(&hub->ip_conns, hub_handshake_ip_key(hub, hs)) >=
            (uintptr_t)hub->cfg->max_conns_per_ip) {
        *why = "too_many_connections";
        return 429;
    }
    /* Past this lws drops the connection without a word (a long bearer entry
     * was already moved to the query at accept): say so with a real status.
     * Our own reader takes what buf holds, a JWT included. */
    if (hs->req == NULL &&
        lws_hdr_total_length(hs->wsi, WSI_TOKEN_PROTOCOL) >= HUB_SUBPROTOCOL_MAX) {
        *why = "subprotocol_too_long";
        return 431;
    }
    if ((status = check_subprotocol(hs, buf, sizeof(buf), why)) != 0) {
        return status;
    }
    if ((status = find_token(hs, buf, sizeof(buf), &tok, &tlen)) < 0) {
        *why = status == -2 ? "malformed_token" : "no_token";
        return 401;
    }
    return verify_token(hub, tok, tlen, auth, why);
}

static const char *
reply_extra(const char *why)
{
    if (why == why_not_websocket) {
        return "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    }
    return why == why_no_version || why == why_bad_version ? "Sec-WebSocket-Version: 13\r\n" : "";
}

void
hub_handshake_reply(struct lws *wsi, int status, const char *why)
{
    hub_http_write_raw_status(wsi, status, why, reply_extra(why));
}

void
hub_handshake_refuse_fd(int fd, int status, const char *why)
{
    hub_http_refuse_fd(fd, status, why, reply_extra(why), false); /* an upgrade is a GET */
}
