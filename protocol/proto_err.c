/*
 * Error and close codes (PROTOCOL.md §2, §5) as tables indexed by proto_err_t.
 */
#include "proto_err.h"

#include <stddef.h>

static const struct {
    const char *code;
    const char *message;
    int close_code;
} errs[PROTO_ERR__COUNT] = {
    /* NONE is never sent; asking for its close code is a caller bug, so 1011. */
    [PROTO_ERR_NONE] = {"none", "no error", PROTO_CLOSE_INTERNAL},
    [PROTO_ERR_INVALID_JSON] = {"invalid_json", "the frame is not valid JSON",
                                PROTO_CLOSE_INTERNAL},
    [PROTO_ERR_UNKNOWN_TYPE] = {"unknown_type", "unknown frame type", PROTO_CLOSE_INTERNAL},
    [PROTO_ERR_BAD_REQUEST] = {"bad_request", "the frame is malformed", PROTO_CLOSE_INTERNAL},
    [PROTO_ERR_TOO_LARGE] = {"too_large", "the message is too large", PROTO_CLOSE_TOO_LARGE},
    [PROTO_ERR_RATE_LIMITED] = {"rate_limited", "too many messages, slow down",
                                PROTO_CLOSE_RATE_LIMITED},
    [PROTO_ERR_UNAUTHORIZED] = {"unauthorized", "authentication failed", PROTO_CLOSE_UNAUTHORIZED},
    [PROTO_ERR_FORBIDDEN] = {"forbidden", "not a participant of this room", PROTO_CLOSE_FORBIDDEN},
    [PROTO_ERR_NOT_FOUND] = {"not_found", "room not found", PROTO_CLOSE_NOT_FOUND},
    [PROTO_ERR_ROOM_ARCHIVED] = {"room_archived", "the room is archived and read-only",
                                 PROTO_CLOSE_INTERNAL},
    [PROTO_ERR_UNAVAILABLE] = {"unavailable", "the store is unavailable, retry later",
                               PROTO_CLOSE_TRY_AGAIN},
    [PROTO_ERR_INTERNAL] = {"internal", "internal error", PROTO_CLOSE_INTERNAL},
};

static proto_err_t
clamp(proto_err_t err)
{
    return (unsigned)err < PROTO_ERR__COUNT ? err : PROTO_ERR_INTERNAL;
}

const char *
proto_err_code(proto_err_t err)
{
    return errs[clamp(err)].code;
}

const char *
proto_err_message(proto_err_t err)
{
    return errs[clamp(err)].message;
}

int
proto_err_close_code(proto_err_t err)
{
    return errs[clamp(err)].close_code;
}
