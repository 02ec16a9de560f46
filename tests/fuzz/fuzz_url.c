/* libFuzzer target: WebSocket and API path routing, ids, bearer and subprotocol tokens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    int64_t id = 0;
    size_t tlen;
    bool v1;
    proto_api_path_t api;

    memcpy(s, data, size);
    s[size] = '\0'; /* the parsers take C strings, as lws hands them over */
    if (proto_ws_path_parse(s, &id) == PROTO_WS_ROOM && id <= 0) {
        abort();
    }
    if (proto_parse_id(s, size, &id) == 0 && id <= 0) {
        abort();
    }
    if (proto_parse_u53(s, size, &id) == 0 && id < 0) {
        abort();
    }
    const char *t = proto_bearer_token(s, &tlen);
    if (t != NULL && (t < s || t + tlen > s + strlen(s))) {
        abort();
    }
    t = proto_subprotocol_token(s, &tlen, &v1);
    if (t != NULL && (t < s || t + tlen > s + strlen(s))) {
        abort();
    }
    proto_api_path_parse(s, &api);
    free(s);
    return 0;
}
