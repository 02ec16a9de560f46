/* proto_utf8: the well-formed sequences of RFC 3629, and everything else refused. */
#include <string.h>

#include "../tap.h"
#include "proto_utf8.h"

static void
check(const char *s, size_t len, bool want, const char *what)
{
    ok(proto_utf8_valid(s, len) == want, "%s is %s", what, want ? "valid" : "refused");
}

#define CHECK(lit, want, what) check(lit, sizeof(lit) - 1, want, what)

int
main(void)
{
    CHECK("", true, "empty");
    CHECK("plain ASCII {\"a\":1}", true, "ASCII");
    CHECK("\xD0\x9F\xD1\x80\xD0\xB8", true, "Cyrillic (2 bytes)");
    CHECK("\xE2\x82\xAC \xEF\xBF\xBD", true, "euro sign and U+FFFD (3 bytes)");
    CHECK("\xF0\x9F\x98\x80", true, "an emoji (4 bytes)");
    CHECK("\xF4\x8F\xBF\xBF", true, "U+10FFFF, the last code point");
    CHECK("\xFF", false, "0xFF");
    CHECK("\x80", false, "a lone continuation byte");
    CHECK("\xC0\x80", false, "overlong NUL");
    CHECK("\xC1\xBF", false, "overlong 2-byte");
    CHECK("\xE0\x80\xAF", false, "overlong 3-byte");
    CHECK("\xF0\x8F\xBF\xBF", false, "overlong 4-byte");
    CHECK("\xED\xA0\x80", false, "a UTF-16 surrogate (CESU)");
    CHECK("\xF4\x90\x80\x80", false, "past U+10FFFF");
    CHECK("\xF5\x80\x80\x80", false, "lead byte 0xF5");
    CHECK("\xE2\x82", false, "a truncated sequence at the end");
    CHECK("\xE2\x82x", false, "a truncated sequence before ASCII");
    CHECK("a\xC3", false, "a lead byte at the very end");
    return tap_done();
}
