/*
 * Path and header parsing for routing, as pure functions over bytes. Every
 * parser takes the exact shapes PROTOCOL.md names and refuses anything else,
 * so a surprising URL is a 404, never a guess.
 */
#include "proto_url.h"

#include <strings.h>
#include <string.h>

#define JS_SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */

int
proto_parse_u53(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;

    if (len == 0 || len > 16) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
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

/* Split the next segment off *p (which starts after a '/'); NULL at the end. */
static const char *
next_segment(const char **p, size_t *len)
{
    const char *s = *p;

    if (*s == '\0') {
        return NULL;
    }
    const char *slash = strchr(s, '/');
    *len = slash != NULL ? (size_t)(slash - s) : strlen(s);
    *p = slash != NULL ? slash + 1 : s + *len;
    return s;
}

/* The segments of path after prefix (which ends in '/'), at most max of them.
 * A trailing slash is allowed; an empty segment ("//") makes it -1. */
static int
split(const char *path, const char *prefix, const char **seg, size_t *seglen, int max)
{
    size_t plen = strlen(prefix);
    const char *p;
    int n = 0;

    if (strncmp(path, prefix, plen) != 0) {
        return -1;
    }
    p = path + plen;
    while (*p != '\0') {
        size_t len;
        const char *s = next_segment(&p, &len);
        if (len == 0 || n == max) {
            return -1;
        }
        seg[n] = s;
        seglen[n] = len;
        n++;
    }
    return n;
}

proto_ws_kind_t
proto_ws_path_parse(const char *path, int64_t *room_id)
{
    const char *seg[2];
    size_t seglen[2];
    int n;

    if (strcmp(path, "/ws/chat") == 0 || strcmp(path, "/ws/chat/") == 0) {
        return PROTO_WS_FALLBACK;
    }
    if (strncmp(path, "/ws/", 4) != 0 && strcmp(path, "/ws") != 0) {
        return PROTO_WS_NOT_WS;
    }
    n = split(path, "/ws/chat/", seg, seglen, 1);
    if (n != 1) {
        return PROTO_WS_BAD;
    }
    if (seglen[0] == 7 && memcmp(seg[0], "general", 7) == 0) {
        return PROTO_WS_GENERAL;
    }
    return proto_parse_id(seg[0], seglen[0], room_id) == 0 ? PROTO_WS_ROOM : PROTO_WS_BAD;
}

static const char *
trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t')) {
        (*len)--;
    }
    return s;
}

const char *
proto_bearer_token(const char *hdr, size_t *tlen)
{
    size_t len = strlen(hdr);
    const char *s = trim(hdr, &len);

    if (len < 7 || strncasecmp(s, "bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t')) {
        return NULL;
    }
    s += 7;
    len -= 7;
    s = trim(s, &len);
    if (len == 0) {
        return NULL;
    }
    *tlen = len;
    return s;
}

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
        if (len == 10 && memcmp(s, "chathub.v1", 10) == 0) {
            *has_v1 = true;
        } else if (len > 7 && memcmp(s, "bearer.", 7) == 0 && tok == NULL) {
            tok = s + 7;
            *tlen = len - 7;
        }
        p = next;
    }
    return tok;
}

static bool
seg_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

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

static void
route(const char **seg, const size_t *seglen, int n, proto_api_path_t *out)
{
    if (seg_is(seg[0], seglen[0], "rooms")) {
        route_rooms(seg, seglen, n, out);
    } else if (seg_is(seg[0], seglen[0], "users") && n >= 2 &&
               proto_parse_id(seg[1], seglen[1], &out->id) == 0) {
        if (n == 2) {
            out->route = PROTO_API_USER;
        } else if (n == 3 && seg_is(seg[2], seglen[2], "disconnect")) {
            out->route = PROTO_API_USER_DISCONNECT;
        }
    } else if (seg_is(seg[0], seglen[0], "tokens")) {
        if (n == 1) {
            out->route = PROTO_API_TOKENS;
        } else if (n == 2 && seglen[1] <= PROTO_API_KEY_MAX) {
            memcpy(out->key, seg[1], seglen[1]);
            out->key[seglen[1]] = '\0';
            out->route = PROTO_API_TOKEN;
        }
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
    const char *seg[4];
    size_t seglen[4];
    int n;

    memset(out, 0, sizeof(*out));
    if (strncmp(path, "/api/v1/", 8) != 0) {
        out->route = strcmp(path, "/api/v1") == 0 || strncmp(path, "/api/", 5) == 0
                         ? PROTO_API_UNKNOWN
                         : PROTO_API_NONE;
        return;
    }
    out->route = PROTO_API_UNKNOWN;
    n = split(path, "/api/v1/", seg, seglen, 4);
    if (n <= 0) {
        return;
    }
    route(seg, seglen, n, out);
    if (out->route == PROTO_API_UNKNOWN) {
        out->id = out->id2 = 0;
        out->key[0] = '\0';
    }
}
