/* proto_err: every code's wire name, message and close code (PROTOCOL.md §2, §5). */
#include <string.h>

#include "../tap.h"
#include "proto_err.h"

static const struct {
    proto_err_t err;
    const char *code;
    int close_code;
} cases[] = {
    {PROTO_ERR_INVALID_JSON, "invalid_json", 1011},
    {PROTO_ERR_UNKNOWN_TYPE, "unknown_type", 1011},
    {PROTO_ERR_BAD_REQUEST, "bad_request", 1011},
    {PROTO_ERR_TOO_LARGE, "too_large", 1009},
    {PROTO_ERR_RATE_LIMITED, "rate_limited", 4429},
    {PROTO_ERR_UNAUTHORIZED, "unauthorized", 4401},
    {PROTO_ERR_FORBIDDEN, "forbidden", 4403},
    {PROTO_ERR_NOT_FOUND, "not_found", 4404},
    {PROTO_ERR_ROOM_ARCHIVED, "room_archived", 1011},
    {PROTO_ERR_UNAVAILABLE, "unavailable", 1013},
    {PROTO_ERR_INTERNAL, "internal", 1011},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
test_every_code_has_its_wire_name_message_and_close_code(void)
{
    for (size_t i = 0; i < NCASES; i++) {
        ok(strcmp(proto_err_code(cases[i].err), cases[i].code) == 0, "code %s", cases[i].code);
        ok(proto_err_close_code(cases[i].err) == cases[i].close_code, "close code of %s is %d",
           cases[i].code, cases[i].close_code);
        ok(strlen(proto_err_message(cases[i].err)) > 0, "message of %s", cases[i].code);
    }
}

static void
test_table_covers_every_enum_value(void)
{
    ok(NCASES == PROTO_ERR__COUNT - 1, "one case per code but NONE");
    for (size_t i = 0; i < NCASES; i++) {
        for (size_t j = i + 1; j < NCASES; j++) {
            ok(strcmp(proto_err_message(cases[i].err), proto_err_message(cases[j].err)) != 0,
               "messages of %s and %s differ", cases[i].code, cases[j].code);
        }
    }
}

static void
test_close_code_constants_match_protocol(void)
{
    ok(PROTO_CLOSE_NORMAL == 1000 && PROTO_CLOSE_GOING_AWAY == 1001, "1000 / 1001");
    ok(PROTO_CLOSE_INVALID_UTF8 == 1007 && PROTO_CLOSE_TOO_LARGE == 1009, "1007 / 1009");
    ok(PROTO_CLOSE_INTERNAL == 1011 && PROTO_CLOSE_RESTART == 1012 && PROTO_CLOSE_TRY_AGAIN == 1013,
       "1011 / 1012 / 1013");
    ok(PROTO_CLOSE_UNAUTHORIZED == 4401 && PROTO_CLOSE_FORBIDDEN == 4403 &&
           PROTO_CLOSE_NOT_FOUND == 4404,
       "4401 / 4403 / 4404");
    ok(PROTO_CLOSE_SLOW_CONSUMER == 4408 && PROTO_CLOSE_RATE_LIMITED == 4429, "4408 / 4429");
}

static void
test_out_of_range_is_internal(void)
{
    ok(strcmp(proto_err_code((proto_err_t)999), "internal") == 0, "999 is internal");
    ok(strcmp(proto_err_code((proto_err_t)-1), "internal") == 0, "-1 is internal");
    ok(strcmp(proto_err_code(PROTO_ERR__COUNT), "internal") == 0, "__COUNT is internal");
    ok(strcmp(proto_err_message((proto_err_t)999), proto_err_message(PROTO_ERR_INTERNAL)) == 0,
       "999 has the internal message");
    ok(proto_err_close_code((proto_err_t)999) == 1011, "999 closes with 1011");
}

static void
test_none_is_not_a_close_reason(void)
{
    ok(proto_err_close_code(PROTO_ERR_NONE) == 1011, "NONE closes with 1011 (anything else)");
    ok(proto_err_code(PROTO_ERR_NONE) != NULL && proto_err_message(PROTO_ERR_NONE) != NULL,
       "NONE has a code and a message");
}

int
main(void)
{
    test_every_code_has_its_wire_name_message_and_close_code();
    test_table_covers_every_enum_value();
    test_close_code_constants_match_protocol();
    test_out_of_range_is_internal();
    test_none_is_not_a_close_reason();
    return tap_done();
}
