/* proto_err: every code's wire name, message and close code (PROTOCOL.md §2, §5). */
#include <string.h>

#include "../tap.h"
#include "proto_err.h"

int
main(void)
{
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

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(strcmp(proto_err_code(cases[i].err), cases[i].code) == 0, "code %s", cases[i].code);
        ok(proto_err_close_code(cases[i].err) == cases[i].close_code, "close code of %s is %d",
           cases[i].code, cases[i].close_code);
        ok(strlen(proto_err_message(cases[i].err)) > 0, "message of %s", cases[i].code);
    }
    ok(strcmp(proto_err_code((proto_err_t)999), "internal") == 0, "out of range is internal");
    ok(strcmp(proto_err_code((proto_err_t)-1), "internal") == 0, "negative is internal");
    return tap_done();
}
