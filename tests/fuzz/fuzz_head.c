/*
 * libFuzzer target: the request head rewrite (proto_head.h). Any bytes, any
 * threshold and output size; a rewrite must stay inside its buffers, keep
 * the head's end, and leave no bearer entry behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}

/* The rewritten Sec-WebSocket-Protocol line holds no "bearer." entry. */
static void
check_header(const char *out, size_t n, size_t min_len)
{
    static const char name[] = "\r\nSec-WebSocket-Protocol: ";
    const char *end = out + n;
    const char *p = out;
    int found = 0;

    for (; p + sizeof(name) - 1 <= end; p++) {
        if (memcmp(p, name, sizeof(name) - 1) == 0) {
            const char *v = p + sizeof(name) - 1;
            const char *e = v;
            while (e + 1 < end && !(e[0] == '\r' && e[1] == '\n')) {
                e++;
            }
            check((size_t)(e - v) < min_len);
            /* Each comma-separated entry, blanks trimmed, is not a bearer one. */
            for (const char *b = v; b < e;) {
                const char *c = memchr(b, ',', (size_t)(e - b));
                const char *stop = c != NULL ? c : e;
                while (b < stop && (*b == ' ' || *b == '\t')) {
                    b++;
                }
                check((size_t)(stop - b) < 7 || memcmp(b, "bearer.", 7) != 0);
                b = c != NULL ? c + 1 : e;
            }
            found = 1;
            break;
        }
    }
    check(found);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t min_len, cap, used = 0, outlen = 0;
    char *in, *out;

    if (size < 2) {
        return 0;
    }
    min_len = data[0] % 160;
    cap = (size_t)data[1] * 16;
    in = malloc(size - 2 + 1); /* exact size: ASan sees any read past it */
    out = malloc(cap + 1);
    memcpy(in, data + 2, size - 2);
    if (proto_head_lift(in, size - 2, min_len, out, cap, &used, &outlen) == PROTO_HEAD_LIFTED) {
        check(used >= 4 && used <= size - 2 && memcmp(in + used - 4, "\r\n\r\n", 4) == 0);
        check(outlen >= 4 && outlen <= cap && memcmp(out + outlen - 4, "\r\n\r\n", 4) == 0);
        {
            const char *sp = memchr(out, ' ', outlen); /* the target starts after it */
            const char *q = sp != NULL ? memchr(sp, '?', (size_t)(out + outlen - sp)) : NULL;
            check(q != NULL && (size_t)(out + outlen - q) > 7 && memcmp(q, "?token=", 7) == 0);
        }
        check_header(out, outlen, min_len);
    }
    free(in);
    free(out);
    return 0;
}
