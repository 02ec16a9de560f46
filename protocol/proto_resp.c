/* RESP for a command's arguments (see proto_resp.h). */
#include "proto_resp.h"

#include <stdint.h>
#include <string.h>

#include "proto_num.h"

static size_t
digits(size_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static size_t
arg_len(const char *const *argv, const size_t *argvlen, int i)
{
    return argvlen != NULL ? argvlen[i] : strlen(argv[i]);
}

size_t
proto_resp_len(int argc, const char *const *argv, const size_t *argvlen)
{
    size_t n = 1 + digits((size_t)argc) + 2;

    for (int i = 0; i < argc; i++) {
        size_t len = arg_len(argv, argvlen, i);

        n += 1 + digits(len) + 2 + len + 2;
    }
    return n;
}

/* "<c><v>\r\n" at p; returns the end. */
static char *
put_head(char *p, char c, size_t v)
{
    *p++ = c;
    p += proto_i64_str(p, (int64_t)v);
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

size_t
proto_resp_write(char *out, int argc, const char *const *argv, const size_t *argvlen)
{
    char *p = put_head(out, '*', (size_t)argc);

    for (int i = 0; i < argc; i++) {
        size_t len = arg_len(argv, argvlen, i);

        p = put_head(p, '$', len);
        if (len > 0) {
            memcpy(p, argv[i], len);
        }
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    return (size_t)(p - out);
}
