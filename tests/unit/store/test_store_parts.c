/* store_parts: the participant list of a join, parsed into one block (no server needed). */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "store_parts.h"

static proto_participant_t *
parse(const char *json, size_t *n)
{
    return store_parts_parse(json, strlen(json), n);
}

static void
rejects(const char *what, const char *json)
{
    size_t n = 99;
    proto_participant_t *p = parse(json, &n);

    ok(p == NULL && n == 0, "rejects %s", what);
    free(p);
}

/* One member, its name as given. */
static void
name_is(const char *what, const char *json, const char *want)
{
    size_t n = 0;
    proto_participant_t *p = parse(json, &n);

    ok(p != NULL && n == 1 && strcmp(p[0].user.full_name, want) == 0, "%s", what);
    free(p);
}

static void
test_shape(void)
{
    size_t n = 99;
    /* What json_agg(json_build_array(...)) prints, PostgreSQL 15. */
    proto_participant_t *p =
        parse("[[7, \"Ivan Petrov\", \"student\", 40], [9, \"Anna\", \"parent\", 0]]", &n);

    ok(p != NULL && n == 2, "two members");
    if (p == NULL || n != 2) {
        free(p);
        return;
    }
    ok(p[0].user.id == 7 && strcmp(p[0].user.full_name, "Ivan Petrov") == 0 &&
           strcmp(p[0].user.role, "student") == 0 && p[0].last_read_seq == 40 && !p[0].online,
       "the first member's fields");
    ok(p[1].user.id == 9 && strcmp(p[1].user.full_name, "Anna") == 0 &&
           strcmp(p[1].user.role, "parent") == 0 && p[1].last_read_seq == 0,
       "the second member's fields");
    ok(p[2].user.id == 0 && p[2].user.full_name == NULL, "a zeroed member after the last");
    free(p);

    p = parse("[]", &n);
    ok(p != NULL && n == 0 && p[0].user.id == 0, "an empty list");
    free(p);
    p = parse(" \n[\t[ 1 ,\"a\" , \"b\" , null ] ]\r\n", &n);
    ok(p != NULL && n == 1 && p[0].last_read_seq == 0, "whitespace anywhere, a null seq");
    free(p);
    p = parse("[[9007199254740991, \"\", \"\", 9223372036854775807]]", &n);
    ok(p != NULL && n == 1 && p[0].user.id == INT64_C(9007199254740991) &&
           p[0].last_read_seq == INT64_MAX && p[0].user.full_name[0] == '\0',
       "2^53 - 1, INT64_MAX and empty strings");
    free(p);
    p = parse("[[-5, \"x\", \"y\", -9223372036854775808]]", &n);
    ok(p != NULL && p[0].user.id == -5 && p[0].last_read_seq == INT64_MIN, "negatives, INT64_MIN");
    free(p);
}

static void
test_strings(void)
{
    name_is("escapes", "[[1, \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"r\", 0]]",
            "a\"b\\c/d\b\f\n\r\t");
    name_is("raw UTF-8 kept", "[[1, \"\xC3\xA9\xF0\x9F\x98\x80\", \"r\", 0]]",
            "\xC3\xA9\xF0\x9F\x98\x80");
    name_is("\\u escapes of 1, 2 and 3 bytes", "[[1, \"\\u0041\\u00e9\\u20AC\", \"r\", 0]]",
            "A\xC3\xA9\xE2\x82\xAC");
    name_is("a surrogate pair", "[[1, \"\\ud83d\\ude00\", \"r\", 0]]", "\xF0\x9F\x98\x80");
    name_is("a lone high surrogate", "[[1, \"\\ud83dx\", \"r\", 0]]", "\xEF\xBF\xBDx");
    name_is("a lone low surrogate", "[[1, \"\\ude00\", \"r\", 0]]", "\xEF\xBF\xBD");
    name_is("a high surrogate before another escape", "[[1, \"\\ud83d\\n\", \"r\", 0]]",
            "\xEF\xBF\xBD\n");
    name_is("a high surrogate before a \\u that is no low one",
            "[[1, \"\\ud83d\\u0041\", \"r\", 0]]",
            "\xEF\xBF\xBD"
            "A");
    name_is("U+0000 never cuts the name", "[[1, \"a\\u0000b\", \"r\", 0]]",
            "a\xEF\xBF\xBD"
            "b");
}

static void
test_rejects(void)
{
    rejects("nothing", "");
    rejects("an object", "{}");
    rejects("an unclosed list", "[[1, \"a\", \"b\", 0]");
    rejects("trailing bytes", "[[1, \"a\", \"b\", 0]] x");
    rejects("a trailing comma", "[[1, \"a\", \"b\", 0],]");
    rejects("three fields", "[[1, \"a\", \"b\"]]");
    rejects("five fields", "[[1, \"a\", \"b\", 0, 1]]");
    rejects("a string id", "[[\"1\", \"a\", \"b\", 0]]");
    rejects("a fraction", "[[1.5, \"a\", \"b\", 0]]");
    rejects("an exponent", "[[1e3, \"a\", \"b\", 0]]");
    rejects("a leading zero", "[[01, \"a\", \"b\", 0]]");
    rejects("an id past int64", "[[9223372036854775808, \"a\", \"b\", 0]]");
    rejects("a seq below int64", "[[1, \"a\", \"b\", -9223372036854775809]]");
    rejects("a null name", "[[1, null, \"b\", 0]]");
    rejects("a raw newline in a string", "[[1, \"a\nb\", \"b\", 0]]");
    rejects("an unknown escape", "[[1, \"a\\x\", \"b\", 0]]");
    rejects("a short \\u", "[[1, \"\\u12\", \"b\", 0]]");
    rejects("a bad hex digit", "[[1, \"\\u12G4\", \"b\", 0]]");
    rejects("an unterminated string", "[[1, \"abc");
    rejects("a lone minus", "[[-, \"a\", \"b\", 0]]");
    rejects("a truncated null", "[[1, \"a\", \"b\", nul]]");

    size_t n = 5;
    ok(store_parts_parse(NULL, 0, &n) == NULL && n == 0, "rejects NULL");
    /* Not NUL-terminated: only len bytes are read. */
    proto_participant_t *p = store_parts_parse("[]garbage", 2, &n);
    ok(p != NULL && n == 0, "reads len bytes only");
    free(p);
}

int
main(void)
{
    test_shape();
    test_strings();
    test_rejects();
    return tap_done();
}
