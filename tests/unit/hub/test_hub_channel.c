/* hub_channel: the late mark on control envelopes published again. */
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

int
main(void)
{
    test_late_mark();
    return tap_done();
}
