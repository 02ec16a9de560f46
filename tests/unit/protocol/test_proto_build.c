/* proto_build: the exact JSON of every server frame (PROTOCOL.md §2). */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_build.h"

static void
expect(char *got, const size_t *len, const char *want, const char *what)
{
    ok(strcmp(got, want) == 0 && *len == strlen(want), "%s\n#   got  %s\n#   want %s", what, got,
       want);
    free(got);
}

int
main(void)
{
    size_t len;
    proto_user_t ivan = {7, "Ivan Petrov", "student"};
    proto_room_t room = {12, "FORUM_SUBJECT", "Math: Ivan Petrov"};
    proto_msg_t m = {
        981, 12, 46, {7, "Ivan Petrov", "student"}, "Hello", 5, "2026-11-22T10:15:30.123Z", "c-17"};
    proto_participant_t parts[] = {{{7, "Ivan Petrov", "student"}, true, 40}};

    expect(proto_build_chat_message(&m, &len), &len,
           "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
           "\"sender\":{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\"},"
           "\"content\":\"Hello\",\"created_at\":\"2026-11-22T10:15:30.123Z\",\"client_id\":\"c-"
           "17\"}}",
           "chat_message");
    m.sender.id = 0;
    m.client_id = NULL;
    m.content = "say \"hi\"\n\\ é 👋";
    m.content_len = strlen(m.content);
    expect(proto_build_chat_message(&m, &len), &len,
           "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
           "\"sender\":null,\"content\":\"say \\\"hi\\\"\\n\\\\ é 👋\","
           "\"created_at\":\"2026-11-22T10:15:30.123Z\",\"client_id\":null}}",
           "system message with escapes, null sender and client_id");
    m.id = INT64_C(9007199254740991);
    m.content = "x";
    m.content_len = 1;
    {
        char *s = proto_build_chat_message(&m, &len);
        ok(strstr(s, "\"id\":9007199254740991") != NULL, "2^53-1 printed exactly");
        free(s);
    }
    expect(proto_build_established(&room, &ivan, parts, 1, 45, -1, false, &len), &len,
           "{\"type\":\"connection_established\",\"room_id\":12,"
           "\"room\":{\"id\":12,\"type\":\"FORUM_SUBJECT\",\"name\":\"Math: Ivan Petrov\"},"
           "\"user\":{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\"},"
           "\"participants\":[{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\","
           "\"online\":true,\"last_read_seq\":40}],\"last_seq\":45,\"resumed_from\":null}",
           "connection_established");
    expect(proto_build_established(&room, &ivan, NULL, 0, 1045, 30, true, &len), &len,
           "{\"type\":\"connection_established\",\"room_id\":12,"
           "\"room\":{\"id\":12,\"type\":\"FORUM_SUBJECT\",\"name\":\"Math: Ivan Petrov\"},"
           "\"user\":{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\"},"
           "\"participants\":[],\"last_seq\":1045,\"resumed_from\":30,\"resume_truncated\":true}",
           "connection_established resumed and truncated");
    {
        int64_t online[] = {7, 9};
        expect(proto_build_presence(12, "join", &ivan, online, 2, &len), &len,
               "{\"type\":\"presence\",\"room_id\":12,\"event\":\"join\","
               "\"user\":{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\"},"
               "\"online\":[7,9]}",
               "presence");
    }
    expect(proto_build_typing(12, &ivan, true, &len), &len,
           "{\"type\":\"typing\",\"room_id\":12,"
           "\"user\":{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\"},"
           "\"is_typing\":true}",
           "typing");
    expect(proto_build_read(12, 7, 46, &len), &len,
           "{\"type\":\"read\",\"room_id\":12,\"user_id\":7,\"seq\":46}", "read");
    expect(proto_build_pong(&len), &len, "{\"type\":\"pong\"}", "pong");
    expect(proto_build_history(12, NULL, 0, false, &len), &len,
           "{\"type\":\"history\",\"room_id\":12,\"messages\":[],\"has_more\":false}",
           "empty history");
    m.id = 1;
    expect(proto_build_history(12, &m, 1, true, &len), &len,
           "{\"type\":\"history\",\"room_id\":12,\"messages\":[{\"id\":1,\"room_id\":12,\"seq\":46,"
           "\"sender\":null,\"content\":\"x\",\"created_at\":\"2026-11-22T10:15:30.123Z\","
           "\"client_id\":null}],\"has_more\":true}",
           "history");
    expect(proto_build_error(PROTO_ERR_TOO_LARGE, "too big", "c-17", &len), &len,
           "{\"type\":\"error\",\"code\":\"too_large\",\"message\":\"too "
           "big\",\"client_id\":\"c-17\"}",
           "error with client_id");
    expect(proto_build_error(PROTO_ERR_UNKNOWN_TYPE, NULL, "", &len), &len,
           "{\"type\":\"error\",\"code\":\"unknown_type\",\"message\":\"unknown frame type\"}",
           "error with the default message and no client_id");
    for (int e = PROTO_ERR_INVALID_JSON; e < PROTO_ERR__COUNT; e++) {
        char *s = proto_build_error((proto_err_t)e, NULL, NULL, &len);
        char want[64];
        snprintf(want, sizeof(want), "\"code\":\"%s\"", proto_err_code((proto_err_t)e));
        ok(strstr(s, want) != NULL, "error frame for %s", proto_err_code((proto_err_t)e));
        free(s);
    }
    return tap_done();
}
