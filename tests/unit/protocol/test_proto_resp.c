/* proto_resp: byte for byte what hiredis's own formatter makes of the same argv. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_resp.h"

/* Ours and hiredis's for one argv; 1 when they are the same bytes. */
static int
same_as_hiredis(int argc, const char **argv, const size_t *argvlen)
{
    char *want = NULL;
    long long wlen = redisFormatCommandArgv(&want, argc, argv, argvlen);
    size_t len = proto_resp_len(argc, argv, argvlen);
    char *got = malloc(len + 1);
    size_t n = proto_resp_write(got, argc, argv, argvlen);
    int same = wlen >= 0 && n == len && (size_t)wlen == n && memcmp(got, want, n) == 0;

    free(got);
    redisFreeCommand(want);
    return same;
}

int
main(void)
{
    const char *pub[] = {"PUBLISH", "room:42", "m n1 42 7 3\n{\"type\":\"chat_message\"}"};
    size_t publen[] = {7, 7, strlen(pub[2])};
    char out[128];
    size_t n = proto_resp_write(out, 2, (const char *[]){"GET", "k"}, (size_t[]){3, 1});

    ok(n == proto_resp_len(2, (const char *[]){"GET", "k"}, (size_t[]){3, 1}) &&
           memcmp(out, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", n) == 0,
       "GET k");
    ok(same_as_hiredis(3, pub, publen), "a PUBLISH of an envelope");
    ok(same_as_hiredis(3, pub, NULL), "no lengths: C strings");
    ok(same_as_hiredis(2, (const char *[]){"SET", ""}, (size_t[]){3, 0}), "an empty argument");
    ok(same_as_hiredis(3, (const char *[]){"SET", "a\r\nb", "\0\1\2"}, (size_t[]){3, 4, 3}),
       "binary arguments, CR LF and NUL inside");

    /* Lengths across every count of digits, and argc past 9. */
    char *big = calloc(1, 123457);
    const char *argv[12];
    size_t argvlen[12];
    int all = 1;

    for (size_t len = 0; len <= 123456; len = len * 10 + 9) {
        for (int i = 0; i < 12; i++) {
            argv[i] = big;
            argvlen[i] = (len + (size_t)i) % 123457;
        }
        all &= same_as_hiredis(12, argv, argvlen);
    }
    ok(all, "12 arguments of 0 to 123,456 bytes");
    free(big);
    return tap_done();
}
