/*
 * Client → server frames (PROTOCOL.md §3): parse and validate one complete
 * text message into a plain struct. Bytes in, values out; no I/O, no globals.
 */
#ifndef CHATHUB_PROTO_FRAME_H
#define CHATHUB_PROTO_FRAME_H

#include <cjson/cJSON.h>

#include "proto_err.h"
#include "proto_types.h"

typedef enum proto_in_type {
    PROTO_IN_CHAT_MESSAGE = 1,
    PROTO_IN_TYPING,
    PROTO_IN_MARK_READ,
    PROTO_IN_HISTORY,
    PROTO_IN_PING,
} proto_in_type_t;

typedef struct proto_in {
    proto_in_type_t type;
    /* chat_message: text is a NUL-terminated copy (text_len bytes, no NUL inside). */
    char *text;
    size_t text_len;
    bool has_room_id;
    int64_t room_id;
    /* Filled whenever the frame carries a usable client_id, even when parsing fails,
     * so the error frame can echo it. Empty string: none. */
    char client_id[PROTO_CLIENT_ID_MAX + 1];
    /* typing */
    bool is_typing;
    /* mark_read */
    int64_t seq;
    /* history: before_seq 0 means "from the newest"; limit clamped to 1..100. */
    int64_t before_seq;
    int limit;
    /* bad_request: what was wrong, for the error's message (a static string);
     * NULL: the code's generic text. */
    const char *why;
} proto_in_t;

/*
 * Parse one complete text message of len bytes (need not be NUL-terminated).
 * max_text caps the chat_message text in bytes (longer: PROTO_ERR_TOO_LARGE).
 * 0: *out is filled; release it with proto_in_clear().
 * -1: *err is the code the client must receive; *out holds at most a client_id
 *     and must still be cleared.
 * Rules: not JSON → invalid_json; not an object, no string "type" → bad_request;
 * unknown type → unknown_type; chat_message needs a non-blank string "message"
 * (NUL bytes inside are bad_request); room_id may be a number or a digit string;
 * client_id a string of 1..128 bytes; mark_read needs an integer seq >= 0;
 * history takes optional before_seq >= 0 and limit (clamped to 1..100, default 50).
 * Unknown fields are ignored.
 */
int proto_in_parse(const char *buf, size_t len, size_t max_text, proto_in_t *out, proto_err_t *err)
    __attribute__((warn_unused_result));

/* Whether s (n bytes) may be a client_id: 1..128 bytes, and no U+FFFD, which
 * is what a lone surrogate escape became (proto_surrogate.h): two different
 * ids would otherwise be one idempotency key, and the echo match neither. */
bool proto_client_id_valid(const char *s, size_t n);

/* Release what proto_in_parse allocated; safe on a zeroed or failed struct. */
void proto_in_clear(proto_in_t *in);

/* Whether any string of the JSON text (a key or a value, at any depth) holds a
 * \u0000 escape. cJSON ends a decoded string at its first NUL, so text after
 * one would be dropped without a word: callers refuse such input instead. The
 * text need not be valid JSON; the answer only has to be right when it is. */
bool proto_json_has_nul(const char *buf, size_t len);

/* len bytes as one JSON value, or NULL: not JSON, more than one value (only
 * whitespace may follow it), or a raw NUL byte. Release with cJSON_Delete(). */
cJSON *proto_json_parse(const char *buf, size_t len);

#endif
