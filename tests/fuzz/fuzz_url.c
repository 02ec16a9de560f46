/*
 * libFuzzer target: WebSocket and API path routing, ids, bearer and subprotocol
 * tokens. The input is one C string, as lws hands paths and headers over; the
 * checks are the promises of proto_url.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define JS_SAFE_MAX INT64_C(9007199254740991)

static void
check(bool cond)
{
    if (!cond) {
        abort();
    }
}

/* A returned token lies inside s and holds no blank. */
static void
check_token(const char *s, const char *t, size_t tlen)
{
    if (t == NULL) {
        return;
    }
    check(t >= s && t + tlen <= s + strlen(s) && tlen > 0);
    check(memchr(t, ' ', tlen) == NULL && memchr(t, '\t', tlen) == NULL);
}

static void
check_ids(const char *s, size_t size)
{
    int64_t id = -1;

    if (proto_ws_path_parse(s, &id) == PROTO_WS_ROOM) {
        check(id > 0 && id <= JS_SAFE_MAX);
    }
    if (proto_parse_id(s, size, &id) == 0) {
        check(id > 0 && id <= JS_SAFE_MAX && size <= 16 && s[0] != '0');
    }
    if (proto_parse_u53(s, size, &id) == 0) {
        check(id >= 0 && id <= JS_SAFE_MAX);
    }
}

static void
check_api(const char *s)
{
    proto_api_path_t api;

    proto_api_path_parse(s, &api);
    check(api.route >= PROTO_API_NONE && api.route <= PROTO_API_STATS);
    check(api.id >= 0 && api.id <= JS_SAFE_MAX && api.id2 >= 0 && api.id2 <= JS_SAFE_MAX);
    check(strlen(api.key) <= PROTO_API_KEY_MAX);
    check((api.route == PROTO_API_TOKEN) == (api.key[0] != '\0'));
    if (api.route == PROTO_API_NONE) {
        check(strncmp(s, "/api/v1/", 8) != 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    size_t tlen = 0;
    bool v1;
    const char *t;

    memcpy(s, data, size);
    s[size] = '\0';
    size = strlen(s); /* an embedded NUL ends the string, as it would in a header */
    check_ids(s, size);
    t = proto_bearer_token(s, &tlen);
    check_token(s, t, tlen);
    t = proto_subprotocol_token(s, &tlen, &v1);
    check_token(s, t, tlen);
    check_api(s);
    free(s);
    return 0;
}
