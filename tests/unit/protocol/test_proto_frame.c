/* proto_frame: every client frame shape of PROTOCOL.md §3 and every error code. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_frame.h"

#define MAX_TEXT 100

static proto_in_t in;

/* Parse s into the global in (cleared first); the error code, NONE on success. */
static proto_err_t
parse_n(const char *s, size_t len)
{
    proto_err_t err = PROTO_ERR_NONE;

    proto_in_clear(&in);
    if (proto_in_parse(s, len, MAX_TEXT, &in, &err) == 0) {
        return err == PROTO_ERR_NONE ? PROTO_ERR_NONE : PROTO_ERR__COUNT;
    }
    /* Failure never leaves text behind and never reports NONE. */
    return in.text == NULL && err != PROTO_ERR_NONE ? err : PROTO_ERR__COUNT;
}

static proto_err_t
parse(const char *s)
{
    return parse_n(s, strlen(s));
}

static void
expect_err(const char *s, proto_err_t want, const char *client_id)
{
    proto_err_t err = parse(s);

    ok(err == want, "%s -> %s (got %s)", s, proto_err_code(want), proto_err_code(err));
    ok(strcmp(in.client_id, client_id != NULL ? client_id : "") == 0,
       "  and the client_id is '%s' (got '%s')", client_id != NULL ? client_id : "", in.client_id);
}

static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL) {
        abort();
    }
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void
test_chat_message_full_shape(void)
{
    ok(parse("{\"type\":\"chat_message\",\"message\":\"Hello\",\"room_id\":12,"
             "\"client_id\":\"c-17\"}") == PROTO_ERR_NONE,
       "full chat_message accepted");
    ok(in.type == PROTO_IN_CHAT_MESSAGE, "type chat_message");
    ok(in.text != NULL && strcmp(in.text, "Hello") == 0 && in.text_len == 5, "text Hello");
    ok(in.has_room_id && in.room_id == 12, "room_id 12");
    ok(strcmp(in.client_id, "c-17") == 0, "client_id c-17");
    proto_in_clear(&in);
    ok(in.text == NULL && in.text_len == 0, "clear releases the text");
    proto_in_clear(&in);
    ok(in.text == NULL, "clear twice is safe");
}

static void
test_chat_message_optional_fields(void)
{
    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\"}") == PROTO_ERR_NONE &&
           !in.has_room_id && in.room_id == 0 && in.client_id[0] == '\0',
       "room_id and client_id optional");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":null,\"client_id\":null}") ==
               PROTO_ERR_NONE &&
           !in.has_room_id && in.client_id[0] == '\0',
       "null room_id and client_id count as absent");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":\"7\"}") == PROTO_ERR_NONE &&
           in.has_room_id && in.room_id == 7,
       "room_id as a digit string");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":9007199254740991}") ==
               PROTO_ERR_NONE &&
           in.room_id == INT64_C(9007199254740991),
       "room_id 2^53-1");
    ok(parse("{\"room_id\":3,\"extra\":{\"a\":[1,{\"b\":null}]},\"message\":\"x\","
             "\"type\":\"chat_message\"}") == PROTO_ERR_NONE &&
           in.room_id == 3,
       "unknown fields ignored, any key order");
    ok(parse(" \n{\"type\":\"chat_message\",\"message\":\"x\"}\r\n\t ") == PROTO_ERR_NONE,
       "surrounding whitespace is fine");
}

static void
test_chat_message_text_decoding(void)
{
    ok(parse("{\"type\":\"chat_message\",\"message\":"
             "\"\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442\"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "Привет") == 0 && in.text_len == 12,
       "\\u escapes decode to UTF-8");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"\\ud83d\\ude00\"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "\xF0\x9F\x98\x80") == 0,
       "a surrogate pair decodes to one 4-byte character");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"say \\\"hi\\\"\\n\\\\\"}") ==
               PROTO_ERR_NONE &&
           strcmp(in.text, "say \"hi\"\n\\") == 0,
       "quote, newline and backslash escapes");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"  padded  \"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "  padded  ") == 0,
       "text kept verbatim, not trimmed");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"a\\\\u0000\"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "a\\u0000") == 0,
       "an escaped backslash then u0000 is plain text");
    /* A lone surrogate (JSON.stringify of a string cut inside an emoji) is
     * U+FFFD, so the send is stored and answered with its client_id. */
    ok(parse("{\"type\":\"chat_message\",\"message\":\"\\ud83d\",\"client_id\":\"k\"}") ==
               PROTO_ERR_NONE &&
           strcmp(in.text, "\xEF\xBF\xBD") == 0 && strcmp(in.client_id, "k") == 0,
       "a lone high surrogate reads as U+FFFD");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"\\uDC00abc\"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "\xEF\xBF\xBD"
                           "abc") == 0,
       "a lone low surrogate (upper-case hex) reads as U+FFFD");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"\\ud83dA\\ud83d\\ude00\\ude00\"}") ==
               PROTO_ERR_NONE &&
           strcmp(in.text, "\xEF\xBF\xBD"
                           "A\xF0\x9F\x98\x80\xEF\xBF\xBD") == 0,
       "lone surrogates around a pair: the pair stays one character");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"\\\\ud800\"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "\\ud800") == 0,
       "an escaped backslash then ud800 is plain text");
    /* Mended, two ids would be one key (c\ud800 and c\udc00): refused. */
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"c\\ud800\"}",
               PROTO_ERR_BAD_REQUEST, NULL);
    ok(in.why != NULL && strstr(in.why, "client_id") != NULL, "  a lone surrogate in client_id is "
                                                              "refused, and the error says so");
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"c\xEF\xBF\xBD\"}",
               PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"\\ud83", PROTO_ERR_INVALID_JSON, NULL);
}

static void
test_chat_message_size_limit(void)
{
    char frame[512];
    char *big = repeat('z', 300);

    snprintf(frame, sizeof(frame), "{\"type\":\"chat_message\",\"message\":\"%.*s\"}", MAX_TEXT,
             big);
    ok(parse(frame) == PROTO_ERR_NONE && in.text_len == MAX_TEXT, "exactly max_text bytes is fine");
    snprintf(frame, sizeof(frame),
             "{\"type\":\"chat_message\",\"message\":\"%.*s\",\"client_id\":\"t\"}", MAX_TEXT + 1,
             big);
    expect_err(frame, PROTO_ERR_TOO_LARGE, "t");
    /* 34 characters of \u escapes, but 102 bytes of text: bytes are what count. */
    snprintf(frame, sizeof(frame), "{\"type\":\"chat_message\",\"message\":\"");
    for (int i = 0; i < 34; i++) {
        strcat(frame, "\\u20ac"); /* € is 3 bytes */
    }
    strcat(frame, "\"}");
    expect_err(frame, PROTO_ERR_TOO_LARGE, NULL);
    free(big);
    big = repeat(' ', 150);
    snprintf(frame, sizeof(frame), "{\"type\":\"chat_message\",\"message\":\"%s\"}", big);
    expect_err(frame, PROTO_ERR_TOO_LARGE, NULL);
    {
        proto_err_t err;
        const char *s = "{\"type\":\"chat_message\",\"message\":\"x\"}";
        proto_in_clear(&in);
        ok(proto_in_parse(s, strlen(s), 0, &in, &err) < 0 && err == PROTO_ERR_TOO_LARGE,
           "max_text 0 refuses any text");
        proto_in_clear(&in);
    }
    free(big);
}

static void
test_chat_message_refusals(void)
{
    expect_err("{\"type\":\"chat_message\",\"client_id\":\"c2\"}", PROTO_ERR_BAD_REQUEST, "c2");
    expect_err("{\"type\":\"chat_message\",\"message\":7,\"client_id\":\"c3\"}",
               PROTO_ERR_BAD_REQUEST, "c3");
    expect_err("{\"type\":\"chat_message\",\"message\":null}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":[\"x\"]}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\" \\n\\t\\r \"}", PROTO_ERR_BAD_REQUEST,
               NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"a\\u0000b\",\"client_id\":\"n\"}",
               PROTO_ERR_BAD_REQUEST, "n");
    expect_err("{\"type\":\"chat_message\",\"message\":\"\\u0000\"}", PROTO_ERR_BAD_REQUEST, NULL);
}

static void
test_chat_message_bad_room_ids(void)
{
    static const char *const bad[] = {
        "-1",    "0",    "1.5",  "\"12a\"", "\"012\"",       "\"\"", "\"-3\"", "9007199254740992",
        "1e300", "true", "[12]", "{}",      "\"1\\u00002\"",
    };
    char frame[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(frame, sizeof(frame),
                 "{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":%s,\"client_id\":\"r\"}",
                 bad[i]);
        expect_err(frame, PROTO_ERR_BAD_REQUEST, "r");
    }
    ok(parse("{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":12.0}") == PROTO_ERR_NONE &&
           in.room_id == 12,
       "room_id 12.0 is the integer 12");
}

static void
test_client_id_rules(void)
{
    char frame[512];
    char *big = repeat('k', PROTO_CLIENT_ID_MAX + 1);

    snprintf(frame, sizeof(frame), "{\"type\":\"ping\",\"client_id\":\"%.*s\"}",
             PROTO_CLIENT_ID_MAX, big);
    ok(parse(frame) == PROTO_ERR_NONE && strlen(in.client_id) == PROTO_CLIENT_ID_MAX,
       "client_id of 128 bytes kept");
    snprintf(frame, sizeof(frame),
             "{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"%s\"}", big);
    expect_err(frame, PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"\"}",
               PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":17}",
               PROTO_ERR_BAD_REQUEST, NULL);
    ok(in.why != NULL && strcmp(in.why, "client_id must be a string of 1 to 128 bytes, without "
                                        "U+FFFD or a lone surrogate") == 0,
       "  the error names client_id");
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"a\\u0000b\"}",
               PROTO_ERR_BAD_REQUEST, NULL);
    ok(parse("{\"type\":\"ping\",\"client_id\":\"\\u00e9\"}") == PROTO_ERR_NONE &&
           strcmp(in.client_id, "\xC3\xA9") == 0,
       "client_id is decoded");
    expect_err("{\"type\":\"teleport\",\"client_id\":\"c1\"}", PROTO_ERR_UNKNOWN_TYPE, "c1");
    expect_err("{\"client_id\":\"c4\"}", PROTO_ERR_BAD_REQUEST, "c4");
    /* Only a send's client_id is a key; elsewhere a bad one is an ignored field. */
    ok(parse("{\"type\":\"ping\",\"client_id\":17}") == PROTO_ERR_NONE &&
           in.type == PROTO_IN_PING && in.client_id[0] == '\0',
       "a ping with a numeric client_id is a ping, without one");
    ok(parse("{\"type\":\"typing\",\"is_typing\":true,\"client_id\":\"\"}") == PROTO_ERR_NONE,
       "typing with an empty client_id is typing");
    snprintf(frame, sizeof(frame), "{\"type\":\"history\",\"client_id\":\"%s\"}", big);
    ok(parse(frame) == PROTO_ERR_NONE && in.type == PROTO_IN_HISTORY && in.client_id[0] == '\0',
       "history with a client_id over 128 bytes is history, without one");
    free(big);
}

/* Each refusal says what was wrong (the error frame's message). */
static void
test_refusals_say_why(void)
{
    static const struct {
        const char *frame, *why;
    } cases[] = {
        {"[1]", "a frame must be a JSON object"},
        {"{\"type\":7}", "type must be a string"},
        {"{\"type\":\"chat_message\",\"message\":\" \"}", "message must not be blank"},
        {"{\"type\":\"chat_message\",\"message\":\"\\u00a0\\u3000\\u200b\"}",
         "message must not be blank"},
        {"{\"type\":\"chat_message\",\"message\":7}", "message must be a string without \\u0000"},
        {"{\"type\":\"chat_message\",\"message\":\"x\",\"room_id\":-1}",
         "room_id must be a positive integer"},
        {"{\"type\":\"typing\",\"is_typing\":1}", "is_typing must be a boolean"},
        {"{\"type\":\"mark_read\"}", "seq must be an integer from 0"},
        {"{\"type\":\"history\",\"before_seq\":-1}", "before_seq must be an integer from 0"},
        {"{\"type\":\"history\",\"limit\":\"x\"}", "limit must be an integer from 0"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proto_err_t err = parse(cases[i].frame);
        ok(err == PROTO_ERR_BAD_REQUEST && in.why != NULL && strcmp(in.why, cases[i].why) == 0,
           "%s -> bad_request '%s' (got '%s')", cases[i].frame, cases[i].why,
           in.why != NULL ? in.why : "(none)");
    }
}

static void
test_typing(void)
{
    ok(parse("{\"type\":\"typing\",\"is_typing\":true}") == PROTO_ERR_NONE &&
           in.type == PROTO_IN_TYPING && in.is_typing,
       "typing true");
    ok(parse("{\"type\":\"typing\",\"is_typing\":false}") == PROTO_ERR_NONE && !in.is_typing,
       "typing false");
    ok(parse("{\"type\":\"typing\"}") == PROTO_ERR_NONE && in.is_typing,
       "typing without is_typing means true");
    ok(parse("{\"type\":\"typing\",\"is_typing\":null}") == PROTO_ERR_NONE && in.is_typing,
       "is_typing null means true");
    expect_err("{\"type\":\"typing\",\"is_typing\":\"yes\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"typing\",\"is_typing\":1}", PROTO_ERR_BAD_REQUEST, NULL);
}

static void
test_mark_read(void)
{
    ok(parse("{\"type\":\"mark_read\",\"seq\":46}") == PROTO_ERR_NONE &&
           in.type == PROTO_IN_MARK_READ && in.seq == 46,
       "mark_read 46");
    ok(parse("{\"type\":\"mark_read\",\"seq\":0}") == PROTO_ERR_NONE && in.seq == 0, "mark_read 0");
    ok(parse("{\"type\":\"mark_read\",\"seq\":9007199254740991}") == PROTO_ERR_NONE &&
           in.seq == INT64_C(9007199254740991),
       "mark_read 2^53-1");
    expect_err("{\"type\":\"mark_read\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":null}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":-4}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":4.5}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":\"46\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":9007199254740992}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"mark_read\",\"seq\":1e400}", PROTO_ERR_BAD_REQUEST, NULL);
}

static void
test_history(void)
{
    ok(parse("{\"type\":\"history\",\"before_seq\":46,\"limit\":50}") == PROTO_ERR_NONE &&
           in.type == PROTO_IN_HISTORY && in.before_seq == 46 && in.limit == 50,
       "history before_seq 46 limit 50");
    ok(parse("{\"type\":\"history\"}") == PROTO_ERR_NONE && in.before_seq == 0 &&
           in.limit == PROTO_HISTORY_LIMIT_DEFAULT,
       "history defaults: newest, 50");
    ok(parse("{\"type\":\"history\",\"before_seq\":null,\"limit\":null}") == PROTO_ERR_NONE &&
           in.before_seq == 0 && in.limit == 50,
       "null fields take the defaults");
    ok(parse("{\"type\":\"history\",\"limit\":5000}") == PROTO_ERR_NONE && in.limit == 100,
       "limit capped at 100");
    ok(parse("{\"type\":\"history\",\"limit\":100}") == PROTO_ERR_NONE && in.limit == 100,
       "limit 100 kept");
    ok(parse("{\"type\":\"history\",\"limit\":1}") == PROTO_ERR_NONE && in.limit == 1,
       "limit 1 kept");
    ok(parse("{\"type\":\"history\",\"limit\":0}") == PROTO_ERR_NONE && in.limit == 1,
       "limit 0 raised to 1");
    ok(parse("{\"type\":\"history\",\"limit\":-5}") == PROTO_ERR_BAD_REQUEST,
       "a negative limit is refused");
    expect_err("{\"type\":\"history\",\"limit\":2.5}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"history\",\"limit\":\"50\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"history\",\"limit\":1e300}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"history\",\"before_seq\":\"x\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"history\",\"before_seq\":-1}", PROTO_ERR_BAD_REQUEST, NULL);
}

static void
test_ping(void)
{
    ok(parse("{\"type\":\"ping\"}") == PROTO_ERR_NONE && in.type == PROTO_IN_PING, "ping");
    ok(parse("{\"type\":\"ping\",\"message\":7,\"seq\":\"x\"}") == PROTO_ERR_NONE &&
           in.type == PROTO_IN_PING,
       "ping ignores other frames' fields");
}

static void
test_invalid_json(void)
{
    expect_err("{not json", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("   ", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{\"type\":\"ping\"", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{\"type\":\"ping\",}", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{'type':'ping'}", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{\"type\":\"ping\"} trailing", PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{\"type\":\"ping\"}{\"type\":\"ping\"}", PROTO_ERR_INVALID_JSON, NULL);
    /* Not JSON, but its client_id is plain: the error names the send. */
    expect_err("{\"type\":\"chat_message\",\"message\":\"x\",\"client_id\":\"c\"",
               PROTO_ERR_INVALID_JSON, "c");
    expect_err("{\"type\":\"chat_message\",\"client_id\":\"c\\u0041\",\"message\":",
               PROTO_ERR_INVALID_JSON, NULL);
    expect_err("{\"type\":\"chat_message\",\"x\":{\"client_id\":\"n\"},\"message\":",
               PROTO_ERR_INVALID_JSON, NULL);
    ok(parse_n("{\"type\":\"ping\"}\0x", 17) == PROTO_ERR_INVALID_JSON, "a raw NUL is not JSON");
    {
        static const char raw[] = "{\"type\":\"chat_message\",\"message\":\"a\0b\"}";
        ok(parse_n(raw, sizeof(raw) - 1) == PROTO_ERR_INVALID_JSON,
           "a raw NUL inside a string is not JSON");
    }
}

static void
test_not_an_object_or_no_type(void)
{
    static const char *const cases[] = {
        "[1,2]",
        "\"chat_message\"",
        "5",
        "null",
        "true",
        "{}",
        "{\"message\":\"x\"}",
        "{\"type\":5}",
        "{\"type\":null}",
        "{\"type\":[\"ping\"]}",
        "{\"type\":{}}",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_err(cases[i], PROTO_ERR_BAD_REQUEST, NULL);
    }
}

static void
test_unknown_type(void)
{
    expect_err("{\"type\":\"teleport\"}", PROTO_ERR_UNKNOWN_TYPE, NULL);
    expect_err("{\"type\":\"PING\"}", PROTO_ERR_UNKNOWN_TYPE, NULL);
    expect_err("{\"type\":\"\"}", PROTO_ERR_UNKNOWN_TYPE, NULL);
    expect_err("{\"type\":\"ping \"}", PROTO_ERR_UNKNOWN_TYPE, NULL);
    expect_err("{\"type\":\"pong\"}", PROTO_ERR_UNKNOWN_TYPE, NULL);
}

/* cJSON stops a decoded string at \u0000; wherever that could change what we read,
 * the frame is refused, and where we do not read, it is ignored. */
static void
test_nul_escapes(void)
{
    /* A key holding \u0000 names none of ours (cJSON would read "type" or
     * "message" for it): its member is an unknown field, ignored. */
    ok(parse(
           "{\"type\":\"chat_message\",\"message\":\"hi\",\"client_id\":\"k1\",\"a\\u0000b\":1}") ==
               PROTO_ERR_NONE &&
           strcmp(in.text, "hi") == 0 && strcmp(in.client_id, "k1") == 0,
       "a member whose key holds \\u0000 is ignored");
    ok(parse("{\"message\\u0000\":\"evil\",\"type\\u0000\":\"ping\",\"type\":\"chat_message\","
             "\"message\":\"good\",\"client_id\\u0000\":\"z\",\"client_id\":\"k2\"}") ==
               PROTO_ERR_NONE &&
           in.type == PROTO_IN_CHAT_MESSAGE && strcmp(in.text, "good") == 0 &&
           strcmp(in.client_id, "k2") == 0,
       "  even when it would alias one of ours, placed first");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"hi\",\"client_id\":\"k3\",\"\\u0061bc\":"
             "\"q\\u0000\"}") == PROTO_ERR_NONE &&
           strcmp(in.client_id, "k3") == 0,
       "an escaped key that is not ours, with \\u0000 in its value, is ignored");
    {
        /* Only the first 64 members are placed; a NUL key past them is refused. */
        char s[1024];
        size_t n = (size_t)snprintf(s, sizeof(s), "{\"type\":\"ping\",\"client_id\":\"far\"");
        for (int i = 2; i < 63; i++) { /* members 0..62, the NUL key 63 */
            n += (size_t)snprintf(s + n, sizeof(s) - n, ",\"f%d\":%d", i, i);
        }
        snprintf(s + n, sizeof(s) - n, ",\"a\\u0000\":1}");
        expect_err(s, PROTO_ERR_NONE, "far");
        snprintf(s + n, sizeof(s) - n, ",\"b\":0,\"a\\u0000\":1}");
        expect_err(s, PROTO_ERR_BAD_REQUEST, "far");
    }

    ok(parse("{\"type\":\"ping\",\"note\":\"a\\u0000b\"}") == PROTO_ERR_NONE,
       "NUL in an unknown field is ignored");
    ok(parse("{\"type\":\"ping\",\"x\":{\"message\":\"\\u0000\"}}") == PROTO_ERR_NONE,
       "NUL in a nested field named like ours is ignored");
    expect_err("{\"type\":\"ping\\u0000x\"}", PROTO_ERR_BAD_REQUEST, NULL);
    expect_err("{\"type\":\"chat_message\",\"message\\u0000x\":\"hi\"}", PROTO_ERR_BAD_REQUEST,
               NULL);
    expect_err("{\"type\":\"chat_message\",\"mess\\u0061ge\":\"a\\u0000b\"}", PROTO_ERR_BAD_REQUEST,
               NULL);
    ok(parse("{\"type\":\"chat_message\",\"mess\\u0061ge\":\"ok\"}") == PROTO_ERR_NONE &&
           strcmp(in.text, "ok") == 0,
       "an escaped key still names the field");
    ok(parse("{\"type\":\"chat_message\",\"message\":\"q\\\"\\u0000\"}") == PROTO_ERR_BAD_REQUEST,
       "NUL after an escaped quote is still inside the string");
}

static void
test_json_has_nul(void)
{
    static const char nul_value[] = "{\"a\":\"x\\u0000y\"}";
    static const char nul_key[] = "{\"a\\u0000\":1}";
    static const char nul_deep[] = "{\"a\":[{\"b\":[\"\\u0000\"]}]}";
    static const char no_nul[] = "{\"a\":\"x\\\\u0000y\",\"b\":\"\\u0001\"}";
    static const char quote_then_nul[] = "{\"a\":\"q\\\"\\u0000\"}";
    static const char outside[] = "{\"a\":1} \\u0000";

    ok(proto_json_has_nul(nul_value, strlen(nul_value)), "a NUL in a value is found");
    ok(proto_json_has_nul(nul_key, strlen(nul_key)), "a NUL in a key is found");
    ok(proto_json_has_nul(nul_deep, strlen(nul_deep)), "a NUL at any depth is found");
    ok(!proto_json_has_nul(no_nul, strlen(no_nul)), "an escaped backslash before u0000 is text");
    ok(proto_json_has_nul(quote_then_nul, strlen(quote_then_nul)),
       "a NUL after an escaped quote is still inside the string");
    ok(!proto_json_has_nul(outside, strlen(outside)), "outside strings it is not a NUL");
    ok(!proto_json_has_nul(nul_value, 8), "only len bytes are read");
}

static char *
nested(int depth)
{
    /* {"type":"ping","x": then depth-1 arrays, then closers */
    size_t n = 0;
    char *s = malloc(64 + 2 * (size_t)depth);

    if (s == NULL) {
        abort();
    }
    n += (size_t)sprintf(s, "{\"type\":\"ping\",\"x\":");
    for (int i = 1; i < depth; i++) {
        s[n++] = '[';
    }
    for (int i = 1; i < depth; i++) {
        s[n++] = ']';
    }
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

static void
test_deep_nesting(void)
{
    char *s = nested(32);

    ok(parse(s) == PROTO_ERR_NONE, "32 levels are fine");
    free(s);
    s = nested(33);
    ok(parse(s) == PROTO_ERR_BAD_REQUEST, "33 levels are bad_request");
    free(s);
    expect_err("{\"type\":\"chat_message\",\"client_id\":\"deep\",\"message\":\"x\",\"m\":"
               "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
               PROTO_ERR_BAD_REQUEST, "deep");
    s = malloc(200001);
    if (s == NULL) {
        abort();
    }
    memset(s, '[', 100000);
    memset(s + 100000, ']', 100000);
    s[200000] = '\0';
    ok(parse(s) == PROTO_ERR_BAD_REQUEST, "100000 levels refused without recursion");
    s[100000] = '\0';
    ok(parse(s) == PROTO_ERR_BAD_REQUEST, "unterminated deep nesting refused too");
    free(s);
    ok(parse("{\"type\":\"ping\",\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}") ==
           PROTO_ERR_NONE,
       "brackets inside a string are not nesting");
}

static void
test_length_bounds_the_input(void)
{
    const char *s = "{\"type\":\"ping\"}{\"type\":\"chat_message\"}";

    ok(parse_n(s, 15) == PROTO_ERR_NONE && in.type == PROTO_IN_PING,
       "only len bytes are read (not NUL-terminated)");
    ok(parse_n(s, 14) == PROTO_ERR_INVALID_JSON, "a cut frame is invalid_json");
}

static void
test_clear_on_zeroed_struct(void)
{
    proto_in_t z;

    memset(&z, 0, sizeof(z));
    proto_in_clear(&z);
    ok(z.text == NULL, "clear on a zeroed struct is a no-op");
}

/* One value and nothing after it but whitespace: what an API body must be. */
static void
test_json_parse_whole_input(void)
{
    static const char *good[] = {"{}", " {\"a\":1}\r\n\t ", "[1,2]", "\"s\"", "0"};
    static const char *bad[] = {"", "   ", "{} x", "{\"a\":1} {\"b\":2}", "{\"a\":1}]", "{\"a\":"};
    static const char nul_after[] = {'{', '}', '\0', ' '};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        cJSON *j = proto_json_parse(good[i], strlen(good[i]));
        ok(j != NULL, "one JSON value is parsed: good[%zu]", i); /* one has a newline */
        cJSON_Delete(j);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(proto_json_parse(bad[i], strlen(bad[i])) == NULL, "refused: '%s'", bad[i]);
    }
    ok(proto_json_parse(nul_after, sizeof(nul_after)) == NULL,
       "refused: a raw NUL after the value");
}

int
main(void)
{
    memset(&in, 0, sizeof(in));
    test_chat_message_full_shape();
    test_chat_message_optional_fields();
    test_chat_message_text_decoding();
    test_chat_message_size_limit();
    test_chat_message_refusals();
    test_chat_message_bad_room_ids();
    test_client_id_rules();
    test_refusals_say_why();
    test_typing();
    test_mark_read();
    test_history();
    test_ping();
    test_invalid_json();
    test_not_an_object_or_no_type();
    test_unknown_type();
    test_nul_escapes();
    test_json_has_nul();
    test_deep_nesting();
    test_length_bounds_the_input();
    test_clear_on_zeroed_struct();
    test_json_parse_whole_input();
    proto_in_clear(&in);
    return tap_done();
}
