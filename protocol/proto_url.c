/*
 * Path and header parsing for routing, as pure functions over bytes. Every
 * parser takes the exact shapes PROTOCOL.md names and refuses anything else,
 * so a surprising URL is a 404, never a guess. Query strings are not parsed
 * here: the hub reads arguments through lws, which percent-decodes them.
 */
#include "proto_url.h"

#include <string.h>
#include <strings.h>

#define JS_SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */
#define JS_SAFE_DIGITS 16                     /* digits of 2^53 - 1 */
#define MAX_SEGMENTS 4                        /* the longest API path after /api/v1/ */

/* Canonical decimal only: no sign, no spaces, no leading zero (except "0"
 * itself), so each id has one spelling and "/ws/chat/012/" is not an alias. */
int
proto_parse_u53(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;

    if (s == NULL || len == 0 || len > JS_SAFE_DIGITS || (len > 1 && s[0] == '0')) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0'); /* 16 digits stay far below INT64_MAX */
    }
    if (v > JS_SAFE_MAX) {
        return -1;
    }
    *out = v;
    return 0;
}

int
proto_parse_id(const char *s, size_t len, int64_t *out)
{
    int64_t v;

    if (proto_parse_u53(s, len, &v) < 0 || v == 0) {
        return -1;
    }
    *out = v;
    return 0;
}

static bool
seg_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/*
 * The segments of path after prefix (which ends in '/'), at most max of them.
 * A trailing slash is allowed; an empty segment ("//") or more than max
 * segments makes it -1.
 */
static int
split(const char *path, const char *prefix, const char **seg, size_t *seglen, int max)
{
    size_t plen = strlen(prefix);
    const char *p;
    int n = 0;

    if (strncmp(path, prefix, plen) != 0) {
        return -1;
    }
    for (p = path + plen; *p != '\0';) {
        size_t len = strcspn(p, "/");
        if (len == 0 || n == max) {
            return -1;
        }
        seg[n] = p;
        seglen[n] = len;
        n++;
        p += len;
        if (*p == '/') {
            p++;
        }
    }
    return n;
}

proto_ws_kind_t
proto_ws_path_parse(const char *path, int64_t *room_id)
{
    const char *seg[1];
    size_t seglen[1];

    *room_id = 0;
    if (strcmp(path, "/ws/chat") == 0 || strcmp(path, "/ws/chat/") == 0) {
        return PROTO_WS_FALLBACK;
    }
    /* "/ws" itself and everything below "/ws/" belongs to the WebSocket side. */
    if (strncmp(path, "/ws/", 4) != 0 && strcmp(path, "/ws") != 0) {
        return PROTO_WS_NOT_WS;
    }
    if (split(path, "/ws/chat/", seg, seglen, 1) != 1) {
        return PROTO_WS_BAD;
    }
    if (seg_is(seg[0], seglen[0], "general")) {
        return PROTO_WS_GENERAL;
    }
    return proto_parse_id(seg[0], seglen[0], room_id) == 0 ? PROTO_WS_ROOM : PROTO_WS_BAD;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

static const char *
trim(const char *s, size_t *len)
{
    while (*len > 0 && is_space(*s)) {
        s++;
        (*len)--;
    }
    while (*len > 0 && is_space(s[*len - 1])) {
        (*len)--;
    }
    return s;
}

/* Two memchr scans: a token is some 200 bytes, and a byte loop over it was
 * most of a connect's bearer parsing. */
static bool
has_space(const char *s, size_t len)
{
    return len > 0 && (memchr(s, ' ', len) != NULL || memchr(s, '\t', len) != NULL);
}

/* RFC 6750: the credentials are one token68 word, so "Bearer a b" is not a
 * bearer token at all rather than the token "a b". */
const char *
proto_bearer_token(const char *hdr, size_t *tlen)
{
    size_t len = strlen(hdr);
    const char *s = trim(hdr, &len);

    if (len < 7 || strncasecmp(s, "bearer", 6) != 0 || !is_space(s[6])) {
        return NULL;
    }
    s += 7;
    len -= 7;
    s = trim(s, &len);
    if (len == 0 || has_space(s, len)) {
        return NULL;
    }
    *tlen = len;
    return s;
}

bool
proto_auth_is_bearer(const char *hdr)
{
    size_t len = strlen(hdr);
    const char *s = trim(hdr, &len);

    return len >= 6 && strncasecmp(s, "bearer", 6) == 0 && (len == 6 || is_space(s[6]));
}

/* Subprotocol names are case-sensitive tokens (RFC 6455 4.1); the first
 * non-empty bearer entry wins. */
const char *
proto_subprotocol_token(const char *hdr, size_t *tlen, bool *has_v1)
{
    const char *tok = NULL;
    const char *p = hdr;

    *has_v1 = false;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        const char *next = p + len + (p[len] == ',' ? 1 : 0);
        const char *s = trim(p, &len);
        if (seg_is(s, len, "chathub.v1")) {
            *has_v1 = true;
        } else if (tok == NULL && len > 7 && memcmp(s, "bearer.", 7) == 0 &&
                   !has_space(s + 7, len - 7)) {
            tok = s + 7;
            *tlen = len - 7;
        }
        p = next;
    }
    return tok;
}

/* An opaque token key: the charset the hub issues and accepts, 1..128 bytes. */
static bool
is_key(const char *s, size_t len)
{
    if (len == 0 || len > PROTO_API_KEY_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* /rooms, /rooms/{id}, /rooms/{id}/messages|presence, /rooms/{id}/participants/{id2} */
static void
route_rooms(const char **seg, const size_t *seglen, int n, proto_api_path_t *out)
{
    if (n == 1) {
        out->route = PROTO_API_ROOMS;
        return;
    }
    if (proto_parse_id(seg[1], seglen[1], &out->id) < 0) {
        return;
    }
    if (n == 2) {
        out->route = PROTO_API_ROOM;
    } else if (n == 3 && seg_is(seg[2], seglen[2], "messages")) {
        out->route = PROTO_API_ROOM_MESSAGES;
    } else if (n == 3 && seg_is(seg[2], seglen[2], "presence")) {
        out->route = PROTO_API_ROOM_PRESENCE;
    } else if (n == 4 && seg_is(seg[2], seglen[2], "participants") &&
               proto_parse_id(seg[3], seglen[3], &out->id2) == 0) {
        out->route = PROTO_API_ROOM_PARTICIPANT;
    }
}

/* /users/{id}, /users/{id}/disconnect */
static void
route_users(const char **seg, const size_t *seglen, int n, proto_api_path_t *out)
{
    if (n < 2 || proto_parse_id(seg[1], seglen[1], &out->id) < 0) {
        return;
    }
    if (n == 2) {
        out->route = PROTO_API_USER;
    } else if (n == 3 && seg_is(seg[2], seglen[2], "disconnect")) {
        out->route = PROTO_API_USER_DISCONNECT;
    }
}

/* /tokens, /tokens/{key} */
static void
route_tokens(const char **seg, const size_t *seglen, int n, proto_api_path_t *out)
{
    if (n == 1) {
        out->route = PROTO_API_TOKENS;
    } else if (n == 2 && is_key(seg[1], seglen[1])) {
        memcpy(out->key, seg[1], seglen[1]);
        out->key[seglen[1]] = '\0';
        out->route = PROTO_API_TOKEN;
    }
}

static void
route(const char **seg, const size_t *seglen, int n, proto_api_path_t *out)
{
    if (seg_is(seg[0], seglen[0], "rooms")) {
        route_rooms(seg, seglen, n, out);
    } else if (seg_is(seg[0], seglen[0], "users")) {
        route_users(seg, seglen, n, out);
    } else if (seg_is(seg[0], seglen[0], "tokens")) {
        route_tokens(seg, seglen, n, out);
    } else if (seg_is(seg[0], seglen[0], "students") && n == 4 &&
               seg_is(seg[2], seglen[2], "parents") &&
               proto_parse_id(seg[1], seglen[1], &out->id) == 0 &&
               proto_parse_id(seg[3], seglen[3], &out->id2) == 0) {
        out->route = PROTO_API_STUDENT_PARENT;
    } else if (seg_is(seg[0], seglen[0], "enrollments") && n == 2 &&
               proto_parse_id(seg[1], seglen[1], &out->id) == 0) {
        out->route = PROTO_API_ENROLLMENT;
    } else if (seg_is(seg[0], seglen[0], "stats") && n == 1) {
        out->route = PROTO_API_STATS;
    }
}

void
proto_api_path_parse(const char *path, proto_api_path_t *out)
{
    const char *seg[MAX_SEGMENTS];
    size_t seglen[MAX_SEGMENTS];
    int n;

    memset(out, 0, sizeof(*out));
    if (strcmp(path, "/api/v1") != 0 && strncmp(path, "/api/v1/", 8) != 0) {
        return; /* PROTO_API_NONE: some other part of the server, or a 404 */
    }
    out->route = PROTO_API_UNKNOWN;
    n = split(path, "/api/v1/", seg, seglen, MAX_SEGMENTS);
    if (n <= 0) {
        return;
    }
    route(seg, seglen, n, out);
    /* A half-matched path keeps no ids: UNKNOWN means "nothing here". */
    if (out->route == PROTO_API_UNKNOWN) {
        out->id = out->id2 = 0;
        out->key[0] = '\0';
    }
}
