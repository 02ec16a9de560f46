/* proto_utf8: the well-formed sequences of RFC 3629, and everything else refused. */
#include <string.h>

#include "../tap.h"
#include "proto_utf8.h"

/* Fed in two pieces split at every byte, and one byte at a time: the same
 * verdict as the whole, since a frame or a read may end anywhere. */
static bool
split_agrees(const char *s, size_t len, bool want)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t cut = 0; cut <= len; cut++) {
        proto_utf8_stream_t st = {0};
        bool v = proto_utf8_feed(&st, p, cut) && proto_utf8_feed(&st, p + cut, len - cut) &&
                 proto_utf8_complete(&st);
        if (v != want) {
            return false;
        }
    }
    proto_utf8_stream_t st = {0};
    bool v = true;
    for (size_t i = 0; i < len && v; i++) {
        v = proto_utf8_feed(&st, p + i, 1);
    }
    return (v && proto_utf8_complete(&st)) == want;
}

static void
check(const char *s, size_t len, bool want, const char *what)
{
    ok(proto_utf8_valid(s, len) == want, "%s is %s", what, want ? "valid" : "refused");
    ok(split_agrees(s, len, want), "%s: the same in pieces", what);
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
    {
        /* A prefix that can still become a character is not refused yet. */
        proto_utf8_stream_t st = {0};
        ok(proto_utf8_feed(&st, (const unsigned char *)"\xF0\x9F", 2) && !proto_utf8_complete(&st),
           "half an emoji: fine so far, not complete");
        ok(proto_utf8_feed(&st, (const unsigned char *)"\x98\x80", 2) && proto_utf8_complete(&st),
           "its second half completes it");
        ok(!proto_utf8_feed(&st, (const unsigned char *)"\xED\xA0", 2),
           "a surrogate is refused at its second byte");
    }
    return tap_done();
}
