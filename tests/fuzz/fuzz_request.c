/*
 * libFuzzer target: the request head parser (proto_request.h). Any bytes: a
 * parsed head's slices lie inside it and end at its blank line, and every
 * lookup stays inside the buffer it is given, whatever its size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void
inside(const char *buf, size_t len, const char *p, size_t n)
{
    check(p >= buf && p + n <= buf + len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"Sec-WebSocket-Protocol", "Authorization", "Upgrade",
                                        "Connection", "x"};
    proto_request_t r;
    size_t cap;
    char *in, *out;

    if (size < 1) {
        return 0;
    }
    cap = data[0] % 64; /* small buffers, so that "does not fit" is reached */
    in = malloc(size - 1 + 1);
    out = malloc(cap + 1);
    memcpy(in, data + 1, size - 1);
    if (proto_request_parse(in, size - 1, &r) == PROTO_REQUEST_OK) {
        check(r.head_len >= 2 && r.head_len <= size - 1 && in[r.head_len - 1] == '\n');
        inside(in, r.head_len, r.method, r.method_len);
        inside(in, r.head_len, r.target, r.target_len);
        check(r.nheaders <= PROTO_REQUEST_HEADERS_MAX);
        for (size_t i = 0; i < r.nheaders; i++) {
            inside(in, r.head_len, r.headers[i].name, r.headers[i].name_len);
            inside(in, r.head_len, r.headers[i].value, r.headers[i].value_len);
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            int n = proto_request_header(&r, names[i], out, cap);
            check(n < 0 || (size_t)n < cap || (n == 0 && cap == 0));
            if (n > 0) {
                (void)proto_request_has_token(out, (size_t)n, "upgrade"); /* reads inside n */
            }
            check(proto_request_has_header(&r, names[i]) || n == 0);
            check(!proto_request_lists(&r, names[i], "upgrade") || n != 0);
        }
        int n = proto_request_path(&r, out, cap);
        check(n < 0 || ((size_t)n < cap && strlen(out) == (size_t)n));
        const char *v = proto_request_arg(&r, "token", out, cap);
        check(v == NULL || (v == out && strlen(out) < cap));
    }
    free(in);
    free(out);
    return 0;
}
