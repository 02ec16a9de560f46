/*
 * libFuzzer target: JWT verification never crashes, never accepts claims it
 * should not, and every token proto_jwt_sign makes verifies to the same claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW INT64_C(1800000000)
#define LEEWAY 30
#define JS_SAFE_MAX INT64_C(9007199254740991)

static const unsigned char secret[] = "fuzz-secret";

static void
check(bool cond)
{
    if (!cond) {
        abort();
    }
}

static void
verify_input(const uint8_t *data, size_t size)
{
    proto_jwt_claims_t c;
    const char *why = NULL;

    if (proto_jwt_verify((const char *)data, size, secret, sizeof(secret) - 1, NOW, LEEWAY, &c,
                         &why) == 0) {
        check(c.user_id > 0 && c.user_id <= JS_SAFE_MAX);
        check(NOW < c.exp + LEEWAY);
        check(proto_jwt_is_jwt((const char *)data, size) && size <= PROTO_JWT_MAX_LEN);
    } else {
        check(why != NULL && why[0] != '\0');
    }
    /* No key, no acceptance. */
    check(proto_jwt_verify((const char *)data, size, (const unsigned char *)"", 0, NOW, LEEWAY, &c,
                           &why) < 0);
}

/* The first bytes as a user id and a lifetime: sign, then verify. */
static void
sign_round_trip(const uint8_t *data, size_t size)
{
    uint64_t raw = 0;
    proto_jwt_claims_t c;
    const char *why = NULL;
    int64_t uid, exp;
    char *tok;

    memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
    uid = (int64_t)(raw % (uint64_t)JS_SAFE_MAX) + 1;
    exp = NOW + 1 + (int64_t)((raw >> 11) % 1000000);
    tok = proto_jwt_sign(uid, NOW, exp, secret, sizeof(secret) - 1);
    check(proto_jwt_verify(tok, strlen(tok), secret, sizeof(secret) - 1, NOW, LEEWAY, &c, &why) ==
          0);
    check(c.user_id == uid && c.exp == exp);
    free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    verify_input(data, size);
    sign_round_trip(data, size);
    return 0;
}
