/* proto_frame: every client frame shape of PROTOCOL.md §3 and every error code. */
#include <string.h>

#include "../tap.h"
#include "proto_frame.h"

static proto_err_t
parse(const char *s, proto_in_t *in)
{
    proto_err_t err = PROTO_ERR_NONE;

    if (proto_in_parse(s, strlen(s), 100, in, &err) == 0) {
        return PROTO_ERR_NONE;
    }
    return err;
}

static void
expect_err(const char *s, proto_err_t want, const char *client_id)
{
    proto_in_t in;
    proto_err_t err = parse(s, &in);

    ok(err == want, "%s -> %s (got %s)", s, proto_err_code(want), proto_err_code(err));
    ok(strcmp(in.client_id, client_id != NULL ? client_id : "") == 0, "  client_id '%s'",
       in.client_id);
    proto_in_clear(&in);
}

int
main(void)
{
    proto_in_t in;
    char big[300];

    ok(parse("{\"type\":\"chat_message\",\"message\":\"Hello\",\"room_id\":12,\"client_id\":\"c-"
             "17\"}",
             &in) == PROTO_ERR_NONE,
       "full chat_message");
    ok(in.type == PROTO_IN_CHAT_MESSAGE && strcmp(in.text, "Hello") == 0 && in.text_len == 5,
       "text");
    ok(in.has_room_id && in.room_id == 12, "room_id");
    ok(strcmp(in.client_id, "c-17") == 0, "client_id");
    proto_in_clear(&in);
    ok(in.text == NULL, "cleared");

    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":\"7\"}", &in) ==
               PROTO_ERR_NONE &&
           in.room_id == 7,
       "room_id as a digit string");
    proto_in_clear(&in);
    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\",\"extra\":{\"a\":[1]}}", &in) ==
               PROTO_ERR_NONE &&
           !in.has_room_id && in.client_id[0] == '\0',
       "unknown fields ignored, room_id optional");
    proto_in_clear(&in);
    ok(parse(
           "{\"type\":\"chat_message\",\"message\":\"\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442\"}",
           &in) == PROTO_ERR_NONE &&
           strcmp(in.text, "Привет") == 0,
       "unicode escapes decode to UTF-8");
    proto_in_clear(&in);

    ok(parse("{\"type\":\"typing\",\"is_typing\":true}", &in) == PROTO_ERR_NONE &&
           in.type == PROTO_IN_TYPING && in.is_typing,
       "typing true");
    ok(parse("{\"type\":\"typing\",\"is_typing\":false}", &in) == PROTO_ERR_NONE && !in.is_typing,
       "typing false");
    ok(parse("{\"type\":\"mark_read\",\"seq\":46}", &in) == PROTO_ERR_NONE &&
           in.type == PROTO_IN_MARK_READ && in.seq == 46,
       "mark_read");
    ok(parse("{\"type\":\"history\",\"before_seq\":46,\"limit\":50}", &in) == PROTO_ERR_NONE &&
           in.type == PROTO_IN_HISTORY && in.before_seq == 46 && in.limit == 50,
       "history");
    ok(parse("{\"type\":\"history\"}", &in) == PROTO_ERR_NONE && in.before_seq == 0 &&
           in.limit == PROTO_HISTORY_LIMIT_DEFAULT,
       "history defaults");
    ok(parse("{\"type\":\"history\",\"limit\":5000}", &in) == PROTO_ERR_NONE &&
           in.limit == PROTO_HISTORY_LIMIT_MAX,
       "history limit capped at 100");
    ok(parse("{\"type\":\"history\",\"limit\":0}", &in) == PROTO_ERR_NONE && in.limit == 1,
       "history limit at least 1");
    ok(parse("{\"type\":\"ping\"}", &in) == PROTO_ERR_NONE && in.type == PROTO_IN_PING, "ping");

    expect_err("{not json", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{\"type\":\"ping\"} trailing", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("[1,2]", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("\"chat_message\"", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"message\":\"x\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":5}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"teleport\",\"client_id\":\"c1\"}", PROTO_ERR_UNKNOWN_TYPE, "c1");
    expect_err("{\"type\":\"chat_message\",\"client_id\":\"c2\"}", PROTO_ERR_BAD_REQUEST, "c2");
    expect_err("{\"type\":\"chat_message\",\"message\":7}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\" \\n\\t \"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"a\\u0000b\",\"client_id\":\"n\"}",
               PROTO_ERR_BAD_REQUEST, "n");
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":-1}",
               PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":1.5}",
               PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":\"12a\"}",
               PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"\"}",
               PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":17}",
               PROTO_ERR_BAD_REQUEST, NULL);
    memset(big, 'z', sizeof(big));
    {
        char frame[512];
        snprintf(frame, sizeof(frame),
                 "{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"%.*s\"}",
                 PROTO_CLIENT_ID_MAX + 1, big);
        expect_err(frame, PROTO_ERR_BAD_REQUEST, NULL);
        snprintf(frame, sizeof(frame),
                 "{\"type\":\"chat_message\",\"message\":\"%.*s\",\"client_id\":\"t\"}", 101, big);
        expect_err(frame, PROTO_ERR_TOO_LARGE, "t");
        snprintf(frame, sizeof(frame), "{\"type\":\"chat_message\",\"message\":\"%.*s\"}", 100,
                 big);
        ok(parse(frame, &in) == PROTO_ERR_NONE && in.text_len == 100, "exactly the limit is fine");
        proto_in_clear(&in);
    }
    expect_err("{\"type\":\"typing\",\"is_typing\":\"yes\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":-4}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"history\",\"before_seq\":\"x\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"history\",\"limit\":2.5}", PROTO_ERR_BAD_REQUEST, NULL);

    /* Deep nesting is refused without crashing. */
    {
        static char deep[20010];
        size_t n = 0;
        for (int i = 0; i < 10000; i++) {
            deep[n++] = '[';
        }
        for (int i = 0; i < 10000; i++) {
            deep[n++] = ']';
        }
        deep[n] = '\0';
        proto_err_t err = parse(deep, &in);
        ok(err == PROTO_ERR_INVALID_JSON || err == PROTO_ERR_BAD_REQUEST, "deep nesting refused");
        proto_in_clear(&in);
    }
    /* A raw NUL inside the buffer is not JSON. */
    {
        proto_err_t err;
        ok(proto_in_parse("{\"type\":\"ping\"}\0x", 17, 100, &in, &err) < 0 &&
               err == PROTO_ERR_INVALID_JSON,
           "raw NUL refused");
        proto_in_clear(&in);
    }
    /* An escaped backslash before u0000 is text, not a NUL. */
    ok(parse("{\"type\":\"chat_message\",\"message\":\"a\\\\u0000\"}", &in) == PROTO_ERR_NONE &&
           strcmp(in.text, "a\\u0000") == 0,
       "escaped backslash then u0000 is plain text");
    proto_in_clear(&in);
    return tap_done();
}
