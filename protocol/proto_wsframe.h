/*
 * A server frame's header (RFC 6455 §5.2): never masked, so it depends on the
 * opcode and the payload's length alone, and one header serves every
 * receiver of the same payload.
 */
#ifndef CHATHUB_PROTO_WSFRAME_H
#define CHATHUB_PROTO_WSFRAME_H

#include <stddef.h>

#define PROTO_WS_OP_TEXT 0x1
#define PROTO_WS_OP_CLOSE 0x8
#define PROTO_WS_OP_PING 0x9
#define PROTO_WS_OP_PONG 0xA

#define PROTO_WS_HEADER_MAX 10

/* Write the header of a final frame of opcode with len bytes of payload
 * into h; returns its length, 2 to 10 bytes. */
size_t proto_ws_frame_header(unsigned char h[PROTO_WS_HEADER_MAX], unsigned opcode, size_t len);

#endif
