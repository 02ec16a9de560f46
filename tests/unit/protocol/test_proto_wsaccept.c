/* proto_wsaccept: RFC 6455's own example, and the keys a client may not send. */
#include <string.h>

#include "../tap.h"
#include "proto_wsaccept.h"

#define KEY(lit) proto_ws_key_valid(lit, sizeof(lit) - 1)

int
main(void)
{
    char out[PROTO_WS_ACCEPT_LEN + 1];

    proto_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
    ok(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "RFC 6455 §1.3's example (%s)", out);
    ok(KEY("dGhlIHNhbXBsZSBub25jZQ=="), "the example's key is valid");
    ok(!KEY("dGhlIHNhbXBsZSBub25jZQ="), "one '=' short");
    ok(!KEY("dGhlIHNhbXBsZSBub25jZQ==x"), "a character too many");
    ok(!KEY("dGhlIHNhbXBsZSBub25j*Q=="), "a character base64 does not have");
    ok(!KEY("dGhlIHNhbXBsZSBub25jZQAA"), "18 bytes, not 16");
    ok(!KEY(""), "empty");
    return tap_done();
}
