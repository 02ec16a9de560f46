/* proto_build: the exact JSON of every server frame (PROTOCOL.md §2). */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_build.h"
#include "proto_num.h"

#define IVAN "{\"id\":7,\"full_name\":\"Ivan Petrov\",\"role\":\"student\"}"
#define CREATED "2026-11-22T10:15:30.123Z"

static const proto_user_t ivan = {7, "Ivan Petrov", "student"};

/* Compare a builder's output and its reported length with want, then free it.
 * len is a pointer because the builder writes it while the arguments are evaluated. */
static void
expect(char *got, const size_t *len, const char *want, const char *what)
{
    ok(strcmp(got, want) == 0 && *len == strlen(want), "%s\n#   got  %s\n#   want %s", what, got,
       want);
    free(got);
}

static proto_msg_t
sample_msg(void)
{
    proto_msg_t m = {981, 12, 46, {7, "Ivan Petrov", "student"}, "Hello", 5, CREATED, "c-17"};

    return m;
}

/* The "content" of a chat_message frame built from bytes (len of them). */
static void
expect_content(const char *bytes, size_t n, const char *want_literal, const char *what)
{
    proto_msg_t m = sample_msg();
    size_t len;
    char *got, want[512];

    m.content = bytes;
    m.content_len = n;
    got = proto_build_chat_message(&m, &len);
    snprintf(want, sizeof(want),
             "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
             "\"sender\":" IVAN ",\"content\":%s,\"created_at\":\"" CREATED
             "\",\"client_id\":\"c-17\"}}",
             want_literal);
    expect(got, &len, want, what);
}

static void
test_chat_message_exact(void)
{
    proto_msg_t m = sample_msg();
    size_t len;

    expect(proto_build_chat_message(&m, &len), &len,
           "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
           "\"sender\":" IVAN ",\"content\":\"Hello\",\"created_at\":\"" CREATED
           "\",\"client_id\":\"c-17\"}}",
           "chat_message as in PROTOCOL.md");
    m.sender.id = 0;
    m.client_id = NULL;
    expect(proto_build_chat_message(&m, &len), &len,
           "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
           "\"sender\":null,\"content\":\"Hello\",\"created_at\":\"" CREATED
           "\",\"client_id\":null}}",
           "system message: null sender and null client_id");
    m.client_id = "";
    m.created_at = NULL;
    expect(proto_build_chat_message(&m, &len), &len,
           "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
           "\"sender\":null,\"content\":\"Hello\",\"created_at\":null,\"client_id\":null}}",
           "empty client_id is null; missing created_at is null");
    m.content = NULL;
    m.content_len = 3;
    expect(proto_build_chat_message(&m, &len), &len,
           "{\"type\":\"chat_message\",\"message\":{\"id\":981,\"room_id\":12,\"seq\":46,"
           "\"sender\":null,\"content\":\"\",\"created_at\":null,\"client_id\":null}}",
           "NULL content is the empty string");
}

static void
test_content_escaping(void)
{
    expect_content("say \"hi\"\n\\ / \t\r\b\f", 17, "\"say \\\"hi\\\"\\n\\\\ / \\t\\r\\b\\f\"",
                   "quote, backslash and short escapes; slash left alone");
    expect_content("a\0b", 3, "\"a\\u0000b\"", "NUL inside content is \\u0000, not the end");
    expect_content("\0", 1, "\"\\u0000\"", "content that is only NUL");
    expect_content("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"", "control bytes; DEL as is");
    expect_content("Hello", 3, "\"Hel\"", "content_len, not strlen, decides");
    expect_content("é Привет 👋 €", strlen("é Привет 👋 €"), "\"é Привет 👋 €\"",
                   "UTF-8 passes through unescaped");
    expect_content("\xEF\xBF\xBF\xF4\x8F\xBF\xBF", 7, "\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"",
                   "U+FFFF and U+10FFFF are valid");
}

#define FFFD "\xEF\xBF\xBD"

static void
test_invalid_utf8_becomes_replacement(void)
{
    expect_content("a\xFF"
                   "b",
                   3, "\"a" FFFD "b\"", "stray byte 0xFF");
    expect_content("\xC0\x80", 2, "\"" FFFD FFFD "\"", "overlong NUL");
    expect_content("\xE0\x80\xAF", 3, "\"" FFFD FFFD FFFD "\"", "overlong slash");
    expect_content("\xED\xA0\x80", 3, "\"" FFFD FFFD FFFD "\"", "UTF-16 surrogate");
    expect_content("\xF4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"", "past U+10FFFF");
    expect_content("x\xE2\x82", 3, "\"x" FFFD FFFD "\"", "sequence cut at the end");
    expect_content("\x80\"", 2, "\"" FFFD "\\\"\"", "lone continuation byte, then a quote");
}

static void
test_strings_in_every_field_are_escaped(void)
{
    proto_user_t u = {5, "O\"Brien\n\x01", NULL};
    size_t len;
    int differ = 0;

    /* Each ASCII byte in a name is spelled as cJSON spells it. */
    for (int b = 1; b < 0x80; b++) {
        char name[4] = {'x', (char)b, 'y', '\0'}, *built, *theirs;
        proto_user_t one = {5, name, "student"};
        cJSON *str = cJSON_CreateString(name);
        built = proto_build_user(&one, &len);
        theirs = cJSON_PrintUnformatted(str);
        differ += strstr(built, theirs) == NULL;
        free(built);
        free(theirs);
        cJSON_Delete(str);
    }
    ok(differ == 0, "every ASCII byte is escaped as cJSON escapes it (%d differ)", differ);

    expect(proto_build_typing(3, &u, false, &len), &len,
           "{\"type\":\"typing\",\"room_id\":3,\"user\":{\"id\":5,\"full_name\":"
           "\"O\\\"Brien\\n\\u0001\",\"role\":null},\"is_typing\":false}",
           "user name escaped, NULL role is null");
    u.full_name = NULL;
    expect(
        proto_build_typing(3, &u, true, &len), &len,
        "{\"type\":\"typing\",\"room_id\":3,\"user\":{\"id\":5,\"full_name\":\"\",\"role\":null},"
        "\"is_typing\":true}",
        "NULL full_name is the empty string");
}

static void
test_established(void)
{
    proto_room_t room = {12, "FORUM_SUBJECT", "Math: Ivan Petrov"};
    proto_participant_t parts[] = {{{7, "Ivan Petrov", "student"}, true, 40},
                                   {{9, "Anna \"T\"", "teacher"}, false, 0}};
    size_t len;

    expect(proto_build_established(&room, &ivan, parts, 1, 45, -1, false, &len), &len,
           "{\"type\":\"connection_established\",\"room_id\":12,"
           "\"room\":{\"id\":12,\"type\":\"FORUM_SUBJECT\",\"name\":\"Math: Ivan Petrov\"},"
           "\"user\":" IVAN ",\"participants\":[{\"id\":7,\"full_name\":\"Ivan Petrov\","
           "\"role\":\"student\",\"online\":true,\"last_read_seq\":40}],"
           "\"last_seq\":45,\"resumed_from\":null}",
           "connection_established as in PROTOCOL.md");
    expect(proto_build_established(&room, &ivan, parts, 2, 0, 0, false, &len), &len,
           "{\"type\":\"connection_established\",\"room_id\":12,"
           "\"room\":{\"id\":12,\"type\":\"FORUM_SUBJECT\",\"name\":\"Math: Ivan Petrov\"},"
           "\"user\":" IVAN ",\"participants\":[{\"id\":7,\"full_name\":\"Ivan Petrov\","
           "\"role\":\"student\",\"online\":true,\"last_read_seq\":40},{\"id\":9,\"full_name\":"
           "\"Anna \\\"T\\\"\",\"role\":\"teacher\",\"online\":false,\"last_read_seq\":0}],"
           "\"last_seq\":0,\"resumed_from\":0}",
           "two participants; resumed_from 0 is a number");
    expect(proto_build_established(&room, &ivan, NULL, 0, 1045, 30, true, &len), &len,
           "{\"type\":\"connection_established\",\"room_id\":12,"
           "\"room\":{\"id\":12,\"type\":\"FORUM_SUBJECT\",\"name\":\"Math: Ivan Petrov\"},"
           "\"user\":" IVAN ",\"participants\":[],\"last_seq\":1045,\"resumed_from\":30,"
           "\"resume_truncated\":true}",
           "resumed and truncated");
}

static void
test_presence_typing_read_pong(void)
{
    int64_t online[] = {7, 9};
    size_t len;

    expect(proto_build_presence(12, "join", IVAN, online, 2, &len), &len,
           "{\"type\":\"presence\",\"room_id\":12,\"event\":\"join\",\"user\":" IVAN
           ",\"online\":[7,9]}",
           "presence join");
    expect(proto_build_presence(12, "leave", IVAN, NULL, 0, &len), &len,
           "{\"type\":\"presence\",\"room_id\":12,\"event\":\"leave\",\"user\":" IVAN
           ",\"online\":[]}",
           "presence leave, nobody online");
    int64_t joined[] = {12, 3, 9000000000, 7}; /* as Redis lists them: the order they came */
    expect(proto_build_presence(12, "join", IVAN, joined, 4, &len), &len,
           "{\"type\":\"presence\",\"room_id\":12,\"event\":\"join\",\"user\":" IVAN
           ",\"online\":[3,7,12,9000000000]}",
           "presence: online ascending whatever the order given");
    ok(joined[0] == 12 && joined[3] == 7, "the caller's list is left as it was");
    expect(proto_build_typing(12, &ivan, true, &len), &len,
           "{\"type\":\"typing\",\"room_id\":12,\"user\":" IVAN ",\"is_typing\":true}", "typing");
    expect(proto_build_read(12, 7, 46, &len), &len,
           "{\"type\":\"read\",\"room_id\":12,\"user_id\":7,\"seq\":46}", "read");
    expect(proto_build_pong(&len), &len, "{\"type\":\"pong\"}", "pong");
    expect(proto_build_user(&ivan, &len), &len, IVAN, "a user alone, as in the frames");
    expect(proto_build_user(&(proto_user_t){0}, &len), &len, "null", "user id 0 is null");
}

static void
test_history(void)
{
    proto_msg_t m[2] = {sample_msg(), sample_msg()};
    size_t len;

    expect(proto_build_history(12, NULL, 0, false, NULL, &len), &len,
           "{\"type\":\"history\",\"room_id\":12,\"messages\":[],\"has_more\":false}",
           "empty history");
    expect(proto_build_history(12, NULL, 0, false, "", &len), &len,
           "{\"type\":\"history\",\"room_id\":12,\"messages\":[],\"has_more\":false}",
           "an empty client_id is no client_id");
    expect(proto_build_history(12, NULL, 0, true, "h-\"1", &len), &len,
           "{\"type\":\"history\",\"room_id\":12,\"messages\":[],\"has_more\":true,"
           "\"client_id\":\"h-\\\"1\"}",
           "the request's client_id is echoed last, escaped");
    m[0].seq = 1;
    m[0].id = 5;
    m[0].client_id = NULL;
    m[1].sender.id = 0;
    expect(proto_build_history(12, m, 2, true, NULL, &len), &len,
           "{\"type\":\"history\",\"room_id\":12,\"messages\":["
           "{\"id\":5,\"room_id\":12,\"seq\":1,\"sender\":" IVAN ",\"content\":\"Hello\","
           "\"created_at\":\"" CREATED "\",\"client_id\":null},"
           "{\"id\":981,\"room_id\":12,\"seq\":46,\"sender\":null,\"content\":\"Hello\","
           "\"created_at\":\"" CREATED "\",\"client_id\":\"c-17\"}],\"has_more\":true}",
           "history keeps the given order");
}

static void
test_message_object_is_the_same_everywhere(void)
{
    proto_msg_t m = sample_msg();
    size_t len1, len2;
    char *frame = proto_build_chat_message(&m, &len1);
    char *hist = proto_build_history(12, &m, 1, false, NULL, &len2);
    cJSON *tree = proto_msg_json(&m);
    char *obj = cJSON_PrintUnformatted(tree);

    ok(strstr(frame, obj) != NULL && strstr(hist, obj) != NULL,
       "chat_message and history carry the same message object");
    free(frame);
    free(hist);
    free(obj);
    cJSON_Delete(tree);
}

static void
test_integers_exact(void)
{
    proto_msg_t m = sample_msg();
    size_t len;
    char *s;
    cJSON *j;

    m.id = INT64_C(9007199254740993); /* 2^53 + 1: a double would print ...992 */
    m.seq = INT64_MAX;
    m.room_id = INT64_MIN;
    s = proto_build_chat_message(&m, &len);
    ok(strstr(s, "\"id\":9007199254740993,") != NULL, "2^53+1 printed exactly");
    ok(strstr(s, "\"seq\":9223372036854775807,") != NULL, "INT64_MAX printed exactly");
    ok(strstr(s, "\"room_id\":-9223372036854775808,") != NULL, "INT64_MIN printed exactly");
    free(s);
    j = proto_json_int(-42);
    s = cJSON_PrintUnformatted(j);
    ok(strcmp(s, "-42") == 0, "proto_json_int(-42)");
    free(s);
    cJSON_Delete(j);

    /* proto_i64_str against printf at every power of ten and its neighbours. */
    int bad = 0;
    int64_t p = 1;
    for (int i = 0; i < 19; i++) { /* 10^0 .. 10^18 */
        int64_t vs[] = {p - 1, p, p + 1, -(p - 1), -p, -(p + 1)};
        for (size_t k = 0; k < sizeof(vs) / sizeof(vs[0]); k++) {
            char want[32], got[PROTO_I64_STR_MAX];
            snprintf(want, sizeof(want), "%" PRId64, vs[k]);
            bad += proto_i64_str(got, vs[k]) != strlen(want) || strcmp(got, want) != 0;
        }
        p = i < 18 ? p * 10 : p;
    }
    char buf[PROTO_I64_STR_MAX];
    ok(bad == 0 && proto_i64_str(buf, INT64_MIN) == 20 && strcmp(buf, "-9223372036854775808") == 0,
       "proto_i64_str matches printf from 0 to INT64_MIN and INT64_MAX");

    /* proto_i64_parse reads back what proto_i64_str wrote, and what strtoll
     * reads of the same text, at the same values and the ends of the range. */
    bad = 0;
    p = 1;
    for (int i = 0; i < 19; i++) {
        int64_t vs[] = {p - 1, p, p + 1, -(p - 1), -p, -(p + 1), INT64_MAX, INT64_MIN};
        for (size_t k = 0; k < sizeof(vs) / sizeof(vs[0]); k++) {
            char text[PROTO_I64_STR_MAX + 1];
            size_t n = proto_i64_str(text, vs[k]);
            int64_t got = 0;
            text[n] = ',';
            const char *after = proto_i64_parse(text, text + n + 1, &got);
            bad += after != text + n || got != vs[k] || got != strtoll(text, NULL, 10);
        }
        p = i < 18 ? p * 10 : p;
    }
    ok(bad == 0, "proto_i64_parse reads back every value proto_i64_str writes");
    static const char *const refused[] = {"",
                                          "-",
                                          "x1",
                                          " 1",
                                          "+1",
                                          "9223372036854775808",
                                          "-9223372036854775809",
                                          "99999999999999999999"};
    int took = 0;
    for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
        int64_t v = 77;
        took += proto_i64_parse(refused[k], refused[k] + strlen(refused[k]), &v) != NULL || v != 77;
    }
    int64_t v = 0;
    bad = 0;
    for (unsigned x = 0; x < 256; x++) {
        unsigned char a[4] = {(unsigned char)x, (unsigned char)(255 - x), (unsigned char)(x * 7),
                              (unsigned char)(x / 3)};
        char want[INET_ADDRSTRLEN], got[PROTO_IPV4_STR_MAX];
        inet_ntop(AF_INET, a, want, sizeof(want));
        bad += proto_ipv4_str(got, a) != strlen(want) || strcmp(got, want) != 0;
    }
    ok(bad == 0, "proto_ipv4_str writes what inet_ntop writes, every byte value in every place");
    ok(took == 0, "proto_i64_parse refuses no digits, a sign alone, spaces, '+' and overflow");
    static const char minus0[] = "-0", n123[] = "123";
    ok(proto_i64_parse(minus0, minus0 + 2, &v) != NULL && v == 0 &&
           proto_i64_parse(n123, n123 + 2, &v) != NULL && v == 12,
       "proto_i64_parse reads \"-0\" as 0 and stops at the end it is given");
}

static void
test_error_frames(void)
{
    size_t len;

    expect(proto_build_error(PROTO_ERR_TOO_LARGE, "too big", "c-17", &len), &len,
           "{\"type\":\"error\",\"code\":\"too_large\",\"message\":\"too big\","
           "\"client_id\":\"c-17\"}",
           "error with a message and client_id");
    expect(proto_build_error(PROTO_ERR_UNKNOWN_TYPE, NULL, "", &len), &len,
           "{\"type\":\"error\",\"code\":\"unknown_type\",\"message\":\"unknown frame type\"}",
           "default message, empty client_id omitted");
    expect(proto_build_error(PROTO_ERR_BAD_REQUEST, "a \"b\"", "q\"", &len), &len,
           "{\"type\":\"error\",\"code\":\"bad_request\",\"message\":\"a \\\"b\\\"\","
           "\"client_id\":\"q\\\"\"}",
           "message and client_id escaped");
    for (int e = PROTO_ERR_INVALID_JSON; e < PROTO_ERR__COUNT; e++) {
        char want[256];
        snprintf(want, sizeof(want), "{\"type\":\"error\",\"code\":\"%s\",\"message\":\"%s\"}",
                 proto_err_code((proto_err_t)e), proto_err_message((proto_err_t)e));
        expect(proto_build_error((proto_err_t)e, NULL, NULL, &len), &len, want,
               proto_err_code((proto_err_t)e));
    }
}

/* Every frame is valid JSON that cJSON reads back to the same values. */
static void
test_output_round_trips(void)
{
    proto_msg_t m = sample_msg();
    size_t len;
    char *s;
    cJSON *j, *msg;

    m.content = "a\0\"b\xFF";
    m.content_len = 5;
    s = proto_build_chat_message(&m, &len);
    j = cJSON_Parse(s);
    msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    ok(j != NULL && cJSON_IsObject(msg), "tricky content still parses");
    ok(cJSON_GetObjectItemCaseSensitive(msg, "seq") != NULL &&
           cJSON_GetObjectItemCaseSensitive(msg, "seq")->valuedouble == 46,
       "seq reads back as 46");
    ok(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "content")) &&
           strcmp(cJSON_GetObjectItemCaseSensitive(msg, "content")->valuestring, "a") == 0,
       "content reads back up to the NUL (cJSON's own limit)");
    cJSON_Delete(j);
    free(s);
}

/* Every byte against the rule as written, and four digits against strtol. */
static void
test_hex_digits(void)
{
    static const char digits[] = "0123456789abcdef";
    int bad = 0;

    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        const char *at = b != 0 ? strchr(digits, b >= 'A' && b <= 'F' ? b + 32 : b) : NULL;
        bad += proto_hex_digit(c) != (at != NULL ? (int)(at - digits) : -1);
    }
    ok(bad == 0, "proto_hex_digit: 0-9, a-f and A-F, every other byte -1 (%d bad)", bad);
    static const char *const fours[] = {"0000", "ffff", "FFFF", "d83D", "DE00", "00e9", "1234"};
    bad = 0;
    for (size_t k = 0; k < sizeof(fours) / sizeof(fours[0]); k++) {
        bad += proto_hex4(fours[k]) != strtol(fours[k], NULL, 16);
    }
    ok(bad == 0, "proto_hex4 reads four digits as strtol does");
    ok(proto_hex4("12g4") == -1 && proto_hex4("-123") == -1 && proto_hex4(" 123") == -1 &&
           proto_hex4("12\0") == -1,
       "proto_hex4: a sign, a blank or a non-digit anywhere is -1");
}

int
main(void)
{
    test_hex_digits();
    test_chat_message_exact();
    test_content_escaping();
    test_invalid_utf8_becomes_replacement();
    test_strings_in_every_field_are_escaped();
    test_established();
    test_presence_typing_read_pong();
    test_history();
    test_message_object_is_the_same_everywhere();
    test_integers_exact();
    test_error_frames();
    test_output_round_trips();
    return tap_done();
}
