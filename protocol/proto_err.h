/*
 * The error codes and close codes of PROTOCOL.md §2 and §5, and the mapping
 * between them. Pure tables, no I/O.
 */
#ifndef CHATHUB_PROTO_ERR_H
#define CHATHUB_PROTO_ERR_H

typedef enum proto_err {
    PROTO_ERR_NONE = 0,
    PROTO_ERR_INVALID_JSON,
    PROTO_ERR_UNKNOWN_TYPE,
    PROTO_ERR_BAD_REQUEST,
    PROTO_ERR_TOO_LARGE,
    PROTO_ERR_RATE_LIMITED,
    PROTO_ERR_UNAUTHORIZED,
    PROTO_ERR_FORBIDDEN,
    PROTO_ERR_NOT_FOUND,
    PROTO_ERR_ROOM_ARCHIVED,
    PROTO_ERR_UNAVAILABLE,
    PROTO_ERR_INTERNAL,
    PROTO_ERR__COUNT
} proto_err_t;

/* WebSocket close codes (PROTOCOL.md §5). */
enum {
    PROTO_CLOSE_NORMAL = 1000,
    PROTO_CLOSE_GOING_AWAY = 1001,
    PROTO_CLOSE_INVALID_UTF8 = 1007,
    PROTO_CLOSE_TOO_LARGE = 1009,
    PROTO_CLOSE_INTERNAL = 1011,
    PROTO_CLOSE_RESTART = 1012,
    PROTO_CLOSE_TRY_AGAIN = 1013,
    PROTO_CLOSE_UNAUTHORIZED = 4401,
    PROTO_CLOSE_FORBIDDEN = 4403,
    PROTO_CLOSE_NOT_FOUND = 4404,
    PROTO_CLOSE_SLOW_CONSUMER = 4408,
    PROTO_CLOSE_RATE_LIMITED = 4429,
};

/* The wire code, e.g. "too_large". Never NULL ("internal" for out-of-range values). */
const char *proto_err_code(proto_err_t err);

/* The default human-readable message for err. Never NULL. */
const char *proto_err_message(proto_err_t err);

/*
 * The close code that ends a connection refused at connect time for err
 * (unauthorized → 4401, forbidden → 4403, not_found → 4404, unavailable → 1013,
 * too_large → 1009, rate_limited → 4429, anything else → 1011).
 */
int proto_err_close_code(proto_err_t err);

#endif
