/*
 * Request routing as pure functions: WebSocket paths (PROTOCOL.md §1), server
 * API paths (§6), ids, and the places a token can hide (Authorization header,
 * Sec-WebSocket-Protocol list).
 */
#ifndef CHATHUB_PROTO_URL_H
#define CHATHUB_PROTO_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum proto_ws_kind {
    PROTO_WS_NOT_WS = 0, /* not a WebSocket path at all */
    PROTO_WS_ROOM,       /* /ws/chat/<id>/ */
    PROTO_WS_FALLBACK,   /* /ws/chat or /ws/chat/ (a ?room_id= may still name the room) */
    PROTO_WS_GENERAL,    /* /ws/chat/general/ */
    PROTO_WS_BAD,        /* under /ws/ but not a valid chat path: 404 */
} proto_ws_kind_t;

/*
 * Classify a request path (no query string). For PROTO_WS_ROOM, *room_id is the
 * id. Trailing slash optional; "//" and anything after the id is PROTO_WS_BAD.
 */
proto_ws_kind_t proto_ws_path_parse(const char *path, int64_t *room_id);

/* Parse a decimal id in 1..2^53-1 (JavaScript-safe), digits only, len bytes.
 * 0 on success, -1 otherwise. */
int proto_parse_id(const char *s, size_t len, int64_t *out) __attribute__((warn_unused_result));

/* Same for a non-negative integer (0 allowed), e.g. last_seq. */
int proto_parse_u53(const char *s, size_t len, int64_t *out) __attribute__((warn_unused_result));

/*
 * From an Authorization header value, the token after "Bearer " (case-insensitive
 * scheme, surrounding spaces trimmed). Returns a pointer into hdr and its length
 * in *tlen, or NULL when the header is not a bearer token.
 */
const char *proto_bearer_token(const char *hdr, size_t *tlen);

/*
 * Whether an Authorization header value uses the Bearer scheme at all (the
 * scheme is its first word, case-insensitive, RFC 7235), well formed or not.
 * Any other scheme (Basic, which browsers send with cached credentials) is
 * not meant for us.
 */
bool proto_auth_is_bearer(const char *hdr);

/*
 * From a Sec-WebSocket-Protocol header value ("chathub.v1, bearer.<t>"), the
 * token of the "bearer.<t>" entry (pointer into hdr, length in *tlen) or NULL.
 * *has_v1 tells whether "chathub.v1" was offered.
 */
const char *proto_subprotocol_token(const char *hdr, size_t *tlen, bool *has_v1);

/* Server API routes (PROTOCOL.md §6). */
typedef enum proto_api_route {
    PROTO_API_NONE = 0,         /* not under /api/v1/: not an API path */
    PROTO_API_UNKNOWN,          /* under /api/v1/ but no such route: 404 */
    PROTO_API_USER,             /* /api/v1/users/{id} */
    PROTO_API_USER_DISCONNECT,  /* /api/v1/users/{id}/disconnect */
    PROTO_API_TOKENS,           /* /api/v1/tokens */
    PROTO_API_TOKEN,            /* /api/v1/tokens/{key}  (key in the key buffer) */
    PROTO_API_STUDENT_PARENT,   /* /api/v1/students/{id}/parents/{id2} */
    PROTO_API_ENROLLMENT,       /* /api/v1/enrollments/{id} */
    PROTO_API_ROOMS,            /* /api/v1/rooms */
    PROTO_API_ROOM,             /* /api/v1/rooms/{id} */
    PROTO_API_ROOM_PARTICIPANT, /* /api/v1/rooms/{id}/participants/{id2} */
    PROTO_API_ROOM_MESSAGES,    /* /api/v1/rooms/{id}/messages */
    PROTO_API_ROOM_PRESENCE,    /* /api/v1/rooms/{id}/presence */
    PROTO_API_STATS,            /* /api/v1/stats */
} proto_api_route_t;

#define PROTO_API_KEY_MAX 128

typedef struct proto_api_path {
    proto_api_route_t route;
    int64_t id;                      /* first id in the path, 0 if none */
    int64_t id2;                     /* second id, 0 if none */
    char key[PROTO_API_KEY_MAX + 1]; /* PROTO_API_TOKEN: the token key */
} proto_api_path_t;

/* Classify a request path (no query string; trailing slash optional). A path
 * under /api/v1/ with a malformed id is PROTO_API_UNKNOWN. */
void proto_api_path_parse(const char *path, proto_api_path_t *out);

#endif
