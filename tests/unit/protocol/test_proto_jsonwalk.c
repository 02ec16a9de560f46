/* proto_jsonwalk: what it takes and refuses, against cJSON on the same text. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "proto_jsonwalk.h"

typedef struct seen {
    int n;
    char keys[8][PROTO_JSON_KEY_MAX];
    proto_jv_t v[8];
} seen_t;

static int
collect(void *ud, const char *key, const proto_jv_t *v)
{
    seen_t *s = ud;

    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key != NULL ? key : "(null)");
        s->v[s->n] = *v;
    }
    s->n++;
    return 0;
}

static int
walk(const char *text, seen_t *s)
{
    memset(s, 0, sizeof(*s));
    return proto_json_walk_object(text, strlen(text), collect, s);
}

/* cJSON reads text as one object with only blanks after it. */
static bool
cjson_takes(const char *text)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, strlen(text), &end, false);
    bool ok = cJSON_IsObject(j) && end != NULL && strspn(end, " \t\r\n") == strlen(end);

    cJSON_Delete(j);
    return ok;
}

static const char *const taken[] = {
    "{}",
    " \t\r\n{ } \n",
    "{\"user_id\":7,\"exp\":1900000000}",
    "{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
    "{\"n\":[1,-0,0.5,-1.5e10,2E+3,3e-2,[],{},[{\"x\":[null,true,false]}]]}",
    "{\"a\":{\"b\":{\"c\":{}}},\"d\":\"\"}",
    "{\"\":1}",
    "{\"dup\":1,\"dup\":2}",
    "{\"raw\":\"\xc3\xa9 \xf0\x9f\x98\x80\"}",
};

static const char *const refused[] = {
    "",
    "[]",
    "\"x\"",
    "{",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\":1 \"b\":2}",
    "{'a':1}",
    "{a:1}",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":.5}",
    "{\"a\":+1}",
    "{\"a\":1e}",
    "{\"a\":-}",
    "{\"a\":0x10}",
    "{\"a\":NaN}",
    "{\"a\":tru}",
    "{\"a\":nul}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12\"}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}",
    "{\"a\":\"tab\there\"}",
    "{\"a\":\"unterminated}",
    "{\"a\":[1,2}",
    "{\"a\":[1,]}",
    "{} {}",
    "{}x",
    "\xef\xbb\xbf{}",
    "\x01{}",
    "{\"a\":1}\x0b",
    "{\"a\":/*c*/1}",
    "{\"a\":1234567890123456789012345678901234567890123456789012345678901234}",
};

static void
test_grammar(void)
{
    seen_t s;
    int wrong = 0;

    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        if (walk(taken[i], &s) != 0 || !cjson_takes(taken[i])) {
            printf("# not taken by both: %s\n", taken[i]);
            wrong++;
        }
    }
    ok(wrong == 0, "objects of every value kind, escapes, blanks and nesting are taken");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (walk(refused[i], &s) == 0) {
            printf("# taken: %s\n", refused[i]);
            wrong++;
        }
    }
    ok(wrong == 0, "broken grammar, lone surrogates, control bytes, a BOM, "
                   "trailing text and 64-character numbers are refused");

    char deep[200] = "{\"a\":";
    for (int i = 0; i < PROTO_JSON_DEPTH_MAX - 1; i++) {
        strcat(deep, "[");
    }
    for (int i = 0; i < PROTO_JSON_DEPTH_MAX - 1; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    ok(walk(deep, &s) == 0, "nesting of PROTO_JSON_DEPTH_MAX levels is taken");
    memmove(deep + 6, deep + 5, strlen(deep + 5) + 1);
    deep[5] = '[';
    char *close = strrchr(deep, '}');
    memmove(close + 1, close, strlen(close) + 1);
    *close = ']';
    ok(walk(deep, &s) < 0, "one level more is refused");
    ok(proto_json_walk_object("{\"a\":1}", 6, collect, &s) < 0,
       "the length given is where the text ends");
}

static void
test_members(void)
{
    seen_t s;
    char buf[32];
    double d = 0;

    ok(walk("{ \"user_id\" : 7 , \"sub\":\"42\",\"x\":{\"exp\":1},\"t\":[true]}", &s) == 0 &&
           s.n == 4 && strcmp(s.keys[0], "user_id") == 0 && s.v[0].kind == PROTO_JV_NUMBER &&
           s.v[0].len == 1 && strcmp(s.keys[1], "sub") == 0 && s.v[1].kind == PROTO_JV_STRING &&
           strcmp(s.keys[2], "x") == 0 && s.v[2].kind == PROTO_JV_OBJECT && s.v[2].len == 9 &&
           s.v[3].kind == PROTO_JV_ARRAY,
       "the top level's members come in order, nested ones are not members");
    ok(walk("{\"user\\u005fid\":1,\"a\\u0000b\":2,\"\\u00e9\":3}", &s) == 0 &&
           strcmp(s.keys[0], "user_id") == 0 &&
           strcmp(s.keys[1], "a\xff"
                             "b") == 0 &&
           strcmp(s.keys[2], "\xff") == 0,
       "keys are decoded; U+0000 and past ASCII become 0xFF");
    ok(walk("{\"0123456789012345678901234567890\":1,\"01234567890123456789012345678901\":2}", &s) ==
               0 &&
           strcmp(s.keys[0], "0123456789012345678901234567890") == 0 &&
           strcmp(s.keys[1], "(null)") == 0,
       "a key of 31 bytes is passed, one of 32 is NULL");

    walk("{\"s\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\ud83d\\ude00z\"}", &s);
    ok(proto_json_string(&s.v[0], buf, sizeof(buf)) == 12 && memcmp(buf,
                                                                    "a\"\\/\b\f\n\r\tA\xff"
                                                                    "z",
                                                                    13) == 0,
       "a string's escapes are undone");
    ok(proto_json_string(&s.v[0], buf, 12) < 0 && proto_json_string(&s.v[0], buf, 13) == 12,
       "a string that does not fit is -1");
    walk("{\"n\":-12.5e1,\"s\":\"1\"}", &s);
    ok(proto_json_number(&s.v[0], &d) == 0 && d == -125.0 && proto_json_number(&s.v[1], &d) < 0 &&
           proto_json_string(&s.v[0], buf, sizeof(buf)) < 0,
       "a number reads as strtod reads it, and only a number does");
}

static int
stop_at_b(void *ud, const char *key, const proto_jv_t *v)
{
    (void)v;
    ++*(int *)ud;
    return strcmp(key, "b") == 0;
}

static void
test_stop(void)
{
    int calls = 0;

    ok(proto_json_walk_object("{\"a\":1,\"b\":2,\"c\":3}", 19, stop_at_b, &calls) < 0 && calls == 2,
       "a callback's non-zero stops the walk and fails it");
}

int
main(void)
{
    test_grammar();
    test_members();
    test_stop();
    return tap_done();
}
