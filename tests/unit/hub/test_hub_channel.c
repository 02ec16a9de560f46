/* hub_channel: envelopes read from Redis, and the late mark on control
 * envelopes published again. */
#include <stdint.h>
#include <string.h>

#include "../tap.h"
#include "hub_channel.h"

static int
strip(const char *in, int64_t *made_ms, const char **rest, size_t *rest_len)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t len = strlen(in);
    int late = hub_channel_late_strip(&p, &len, made_ms);

    *rest = (const char *)p;
    *rest_len = len;
    return late;
}

static void
test_late_mark(void)
{
    int64_t ms = -1;
    const char *rest;
    size_t len;

    ok(!strip("close_user", &ms, &rest, &len) && ms == -1 && len == 10,
       "an envelope made now is not late and is left as it is");
    ok(strip("late 1764950000123 close_user", &ms, &rest, &len) && ms == 1764950000123 &&
           len == 10 && memcmp(rest, "close_user", 10) == 0,
       "a late one gives the time it was made and the verb");
    ok(strip("late close_user", &ms, &rest, &len) && ms == 0 && len == 10 &&
           memcmp(rest, "close_user", 10) == 0,
       "an older node's mark has no time: 0");
    ok(strip("late 123close_user", &ms, &rest, &len) && ms == 0 && len == 13,
       "digits not followed by a space are not a time");
    ok(strip("late 1234567890123456 close_user", &ms, &rest, &len) && ms == 0,
       "more than 15 digits are not a time (no overflow)");
    ok(strip("late ", &ms, &rest, &len) && ms == 0 && len == 0, "a bare mark leaves nothing");
    ok(!strip("lat", &ms, &rest, &len), "a short payload is not late");
}

static int
parse(const char *in, hub_envelope_t *env, size_t *olen)
{
    const char *origin;

    memset(env, 0, sizeof(*env));
    return hub_envelope_parse(in, strlen(in), env, &origin, olen);
}

static void
test_envelope_parse(void)
{
    hub_envelope_t e;
    size_t olen = 0;

    ok(parse("m node-1 12 46 7\n{\"type\":\"chat_message\"}", &e, &olen) == 0 &&
           e.kind == HUB_ENV_MSG && olen == 6 && e.room_id == 12 && e.seq == 46 && e.user == 7 &&
           e.len == 23 && memcmp(e.payload, "{\"type\"", 7) == 0,
       "a message's envelope gives its kind, node, room, seq, user and payload");
    ok(parse("c n 0 0 -9223372036854775808\nclose_user", &e, &olen) == 0 && e.user == INT64_MIN &&
           e.len == 10,
       "a negative field reads to INT64_MIN");
    ok(parse("t n 9223372036854775807 5 0\n", &e, &olen) == 0 && e.room_id == INT64_MAX &&
           e.len == 0,
       "an empty payload after the head is one");
    ok(parse("m n 12 46\nx", &e, &olen) < 0, "a missing field is malformed");
    ok(parse("m n 12 46 7 8\nx", &e, &olen) < 0, "an extra field is malformed");
    ok(parse("m n 12 46x 7\nx", &e, &olen) < 0, "a field with a letter is malformed");
    ok(parse("m n 9223372036854775808 1 1\nx", &e, &olen) < 0, "an overflowing field is malformed");
    ok(parse("m n 12  46 7\nx", &e, &olen) < 0 && parse("m n +12 46 7\nx", &e, &olen) < 0,
       "two spaces or a '+' are malformed");
    ok(parse("x n 1 1 1\n", &e, &olen) < 0 && parse("m  1 1 1\n", &e, &olen) < 0 &&
           parse("m n 1 1 1", &e, &olen) < 0,
       "an unknown kind, an empty node or no newline is malformed");
}

int
main(void)
{
    test_envelope_parse();
    test_late_mark();
    return tap_done();
}
