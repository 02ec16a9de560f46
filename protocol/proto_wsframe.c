/* The shortest length encoding, as §5.2 requires. */
#include "proto_wsframe.h"

#include <stdint.h>

size_t
proto_ws_frame_header(unsigned char h[PROTO_WS_HEADER_MAX], unsigned opcode, size_t len)
{
    h[0] = (unsigned char)(0x80 | (opcode & 0x0F)); /* FIN */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++) {
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    return 10;
}
