/*
 * The server's half of the opening handshake's proof (RFC 6455 §4.2.2): the
 * client's Sec-WebSocket-Key checked and answered with Sec-WebSocket-Accept.
 */
#ifndef CHATHUB_PROTO_WSACCEPT_H
#define CHATHUB_PROTO_WSACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#define PROTO_WS_KEY_LEN 24    /* base64 of 16 bytes */
#define PROTO_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* Whether key (len bytes, blanks trimmed) is what §4.1 says a client sends:
 * the base64 of 16 bytes, 24 characters. */
bool proto_ws_key_valid(const char *key, size_t len);

/* Sec-WebSocket-Accept for a key proto_ws_key_valid() took:
 * base64(SHA-1(key + the RFC's GUID)), written to out with a NUL. */
void proto_ws_accept(const char key[PROTO_WS_KEY_LEN], char out[PROTO_WS_ACCEPT_LEN + 1]);

#endif
