/* libFuzzer target: JWT verification never crashes and never accepts a forgery. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char secret[] = "fuzz-secret";
    proto_jwt_claims_t claims;
    const char *why = NULL;

    if (proto_jwt_verify((const char *)data, size, secret, sizeof(secret) - 1, 1800000000, 30,
                         &claims, &why) == 0 &&
        claims.user_id <= 0) {
        abort(); /* accepted claims are always a positive user id */
    }
    (void)proto_jwt_is_jwt((const char *)data, size);
    return 0;
}
