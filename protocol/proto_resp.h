/*
 * A Redis command in RESP, as hiredis's redisAsyncFormattedCommand() takes
 * it: "*<argc>\r\n", then "$<len>\r\n<bytes>\r\n" per argument. hiredis
 * formats argv through sdscatfmt and a realloc per piece, which was some
 * 5,000 instructions per command in the connect storm's profile; this is a
 * length pass and one copy.
 */
#ifndef CHATHUB_PROTO_RESP_H
#define CHATHUB_PROTO_RESP_H

#include <stddef.h>

/* The bytes proto_resp_write() writes for these arguments. argvlen NULL, as
 * in hiredis: every argument is a C string, its length strlen()'s. */
size_t proto_resp_len(int argc, const char *const *argv, const size_t *argvlen);

/* Write the command into out (proto_resp_len() bytes, no NUL); returns its length. */
size_t proto_resp_write(char *out, int argc, const char *const *argv, const size_t *argvlen);

#endif
