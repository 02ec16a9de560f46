/*
 * libFuzzer target: the envelope another node publishes through Redis
 * (hub_envelope_parse, hub_channel.h). A node that shares Redis with a
 * broken or hostile publisher must drop what it cannot read, never crash.
 * Whatever parses is checked against the text it came from, then written
 * again in the canonical form the nodes publish and parsed once more: the
 * same kind, origin, ids and payload must come back.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub_channel.h"
#include "proto_num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool cond)
{
    if (!cond) {
        abort();
    }
}

static char *
put_field(char *p, int64_t v)
{
    *p++ = ' ';
    return p + proto_i64_str(p, v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data, *origin = NULL;
    size_t olen = 0;
    hub_envelope_t env;

    if (hub_envelope_parse(buf, size, &env, &origin, &olen) < 0) {
        return 0;
    }
    check(env.kind == HUB_ENV_MSG || env.kind == HUB_ENV_EVENT || env.kind == HUB_ENV_CONTROL ||
          env.kind == HUB_ENV_TAIL || env.kind == HUB_ENV_RESYNC);
    check(origin == buf + 2 && olen > 0 && memchr(origin, ' ', olen) == NULL &&
          memchr(origin, '\n', olen) == NULL);
    check(env.payload > origin + olen && env.payload[-1] == '\n' &&
          env.payload + env.len == buf + size);

    /* The head read again, independently: exactly five blank-separated
     * words, the last three decimal and equal to strtoll's reading. */
    const char *nl = env.payload - 1, *w = buf;
    int64_t want[3];
    int words = 0;
    while (w < nl) {
        const char *sp = memchr(w, ' ', (size_t)(nl - w));
        const char *end = sp != NULL ? sp : nl;
        check(end > w);
        if (words >= 2) {
            char num[256]; /* a head is at most 160 bytes */
            check(words < 5 && (size_t)(end - w) < sizeof(num));
            memcpy(num, w, (size_t)(end - w));
            num[end - w] = '\0';
            for (const char *d = num + (num[0] == '-'); *d != '\0'; d++) {
                check(*d >= '0' && *d <= '9');
            }
            errno = 0;
            want[words - 2] = strtoll(num, NULL, 10);
            check(errno == 0);
        }
        words++;
        w = sp != NULL ? sp + 1 : nl;
    }
    check(words == 5 && want[0] == env.room_id && want[1] == env.seq && want[2] == env.user);

    /* The canonical form: numbers as proto_i64_str writes them. */
    char *again = malloc(2 + olen + 3 * (1 + PROTO_I64_STR_MAX) + 1 + env.len + 1);
    char *p = again;
    *p++ = (char)env.kind;
    *p++ = ' ';
    memcpy(p, origin, olen);
    p = put_field(p + olen, env.room_id);
    p = put_field(p, env.seq);
    p = put_field(p, env.user);
    *p++ = '\n';
    memcpy(p, env.payload, env.len);
    p += env.len;

    hub_envelope_t env2;
    const char *origin2 = NULL;
    size_t olen2 = 0;
    check(hub_envelope_parse(again, (size_t)(p - again), &env2, &origin2, &olen2) == 0);
    check(env2.kind == env.kind && olen2 == olen && memcmp(origin2, origin, olen) == 0 &&
          env2.room_id == env.room_id && env2.seq == env.seq && env2.user == env.user &&
          env2.len == env.len && memcmp(env2.payload, env.payload, env.len) == 0);
    free(again);
    return 0;
}
