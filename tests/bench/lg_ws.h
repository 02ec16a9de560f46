/*
 * The client half of RFC 6455 as pure functions on buffers: the upgrade
 * request and its answer, masked frames out, server frames in. No sockets
 * here (lg_conn.c owns those) and no extensions: permessage-deflate is never
 * offered, so RSV bits are always an error.
 */
#ifndef CHATHUB_LG_WS_H
#define CHATHUB_LG_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    LG_WS_CONT = 0x0,
    LG_WS_TEXT = 0x1,
    LG_WS_BINARY = 0x2,
    LG_WS_CLOSE = 0x8,
    LG_WS_PING = 0x9,
    LG_WS_PONG = 0xA,
};

#define LG_WS_KEY_LEN 24    /* base64 of 16 random bytes */
#define LG_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define LG_WS_HEADER_MAX 14 /* 2 + 8 (64-bit length) + 4 (mask) */

/* A tiny xorshift generator for masks and keys; *state must start non-zero. */
uint64_t lg_ws_rand(uint64_t *state);

/* A fresh Sec-WebSocket-Key into key[LG_WS_KEY_LEN + 1], NUL-terminated. */
void lg_ws_key_new(uint64_t *rng, char *key);

/* The Sec-WebSocket-Accept the server must answer for key, into
 * accept[LG_WS_ACCEPT_LEN + 1], NUL-terminated. */
void lg_ws_accept_for(const char *key, char *accept);

/*
 * The upgrade request for path on host, with "Authorization: Bearer token"
 * when token is not NULL. Returns the length written to out (NUL-terminated),
 * or 0 when it does not fit in cap.
 */
size_t lg_ws_request_build(char *out, size_t cap, const char *host, const char *path,
                           const char *token, const char *key);

/*
 * Check the server's answer to the upgrade in buf[0..len).
 * 0: the header block is not complete yet.
 * >0: the header block's length; it is a 101 whose accept matches.
 * -1: anything else; *status is the HTTP status (0 when unparseable).
 */
long lg_ws_response_check(const char *buf, size_t len, const char *accept, int *status);

/*
 * One frame from the client: header plus payload masked with mask, written
 * to out, which needs len + LG_WS_HEADER_MAX bytes. Returns the bytes written.
 */
size_t lg_ws_frame_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask);

typedef struct lg_ws_frame {
    bool fin;
    int opcode;
    uint8_t *payload; /* points into the parsed buffer, unmasked in place */
    size_t len;
} lg_ws_frame_t;

/*
 * Parse one frame at buf[0..len); payloads over max_payload are an error.
 * 0: incomplete, read more. >0: the frame's total length, *f filled.
 * -1: a protocol error (reserved bits, bad opcode, a fragmented or long
 * control frame, a payload over max_payload).
 */
long lg_ws_frame_parse(uint8_t *buf, size_t len, size_t max_payload, lg_ws_frame_t *f);

#endif
