/* proto_jwt: HS256 accepted; alg none, expired, nbf, bad signature, tampered
 * payload, missing or wrong claims rejected (PROTOCOL.md §1). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_jwt.h"

#define NOW INT64_C(1800000000)
static const unsigned char secret[] = "test-secret";
#define SLEN (sizeof(secret) - 1)

static void
b64url(const char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | (unsigned char)in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = t[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[o++] = t[(acc << (6 - bits)) & 63];
    }
    out[o] = '\0';
}

/* header.payload signed with key (or an empty signature when key is NULL). */
static char *
make(const char *header, const char *payload, const unsigned char *key, size_t klen)
{
    static char tok[2048];
    char h[512], p[1024], s[64];
    unsigned char mac[32];
    unsigned int maclen = 32;

    b64url(header, strlen(header), h);
    b64url(payload, strlen(payload), p);
    snprintf(tok, sizeof(tok), "%s.%s", h, p);
    s[0] = '\0';
    if (key != NULL) {
        HMAC(EVP_sha256(), key, (int)klen, (unsigned char *)tok, strlen(tok), mac, &maclen);
        b64url((char *)mac, 32, s);
    }
    strncat(tok, ".", sizeof(tok) - strlen(tok) - 1);
    strncat(tok, s, sizeof(tok) - strlen(tok) - 1);
    return tok;
}

static const char *HS = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static int
verify(const char *tok, proto_jwt_claims_t *c, const char **why)
{
    return proto_jwt_verify(tok, strlen(tok), secret, SLEN, NOW, 30, c, why);
}

static void
rejected(const char *tok, const char *want_why, const char *what)
{
    proto_jwt_claims_t c;
    const char *why = NULL;
    int rc = verify(tok, &c, &why);

    ok(rc < 0 && why != NULL && strcmp(why, want_why) == 0, "%s rejected (%s, got %s)", what,
       want_why, why != NULL ? why : "accepted");
}

int
main(void)
{
    proto_jwt_claims_t c;
    const char *why = NULL;
    char payload[256], *tok;

    snprintf(payload, sizeof(payload), "{\"user_id\":7,\"exp\":%lld}", (long long)(NOW + 60));
    ok(verify(make(HS, payload, secret, SLEN), &c, &why) == 0 && c.user_id == 7 &&
           c.exp == NOW + 60,
       "simplejwt style user_id accepted");
    snprintf(payload, sizeof(payload), "{\"sub\":\"42\",\"exp\":%lld}", (long long)(NOW + 60));
    ok(verify(make(HS, payload, secret, SLEN), &c, &why) == 0 && c.user_id == 42, "sub accepted");
    snprintf(payload, sizeof(payload), "{\"user_id\":\"8\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)(NOW + 60), (long long)(NOW + 10));
    ok(verify(make("{\"alg\":\"HS256\"}", payload, secret, SLEN), &c, &why) == 0 && c.user_id == 8,
       "digit string id, nbf within leeway, no typ");
    snprintf(payload, sizeof(payload), "{\"user_id\":7,\"exp\":%lld}", (long long)(NOW - 10));
    ok(verify(make(HS, payload, secret, SLEN), &c, &why) == 0, "expired within leeway accepted");

    snprintf(payload, sizeof(payload), "{\"user_id\":7,\"exp\":%lld}", (long long)(NOW - 31));
    rejected(make(HS, payload, secret, SLEN), "expired", "expired");
    snprintf(payload, sizeof(payload), "{\"user_id\":7,\"exp\":%lld,\"nbf\":%lld}",
             (long long)(NOW + 600), (long long)(NOW + 300));
    rejected(make(HS, payload, secret, SLEN), "not_yet_valid", "nbf in the future");
    snprintf(payload, sizeof(payload), "{\"user_id\":7,\"exp\":%lld}", (long long)(NOW + 60));
    rejected(make("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, 0), "alg", "alg none");
    rejected(make("{\"alg\":\"HS512\"}", payload, secret, SLEN), "alg", "alg HS512");
    rejected(make("{\"alg\":\"RS256\"}", payload, secret, SLEN), "alg", "alg RS256");
    rejected(make("{\"typ\":\"JWT\"}", payload, secret, SLEN), "alg", "missing alg");
    rejected(make(HS, payload, (const unsigned char *)"other", 5), "bad_signature", "wrong secret");
    rejected(make(HS, payload, NULL, 0), "bad_signature", "empty signature");
    /* Tampered payload: a valid token whose payload is swapped for another's. */
    {
        char good[2048], evil[2048];
        char p2[256];
        snprintf(good, sizeof(good), "%s", make(HS, payload, secret, SLEN));
        snprintf(p2, sizeof(p2), "{\"user_id\":1,\"exp\":%lld}", (long long)(NOW + 60));
        snprintf(evil, sizeof(evil), "%s", make(HS, p2, secret, SLEN));
        char *g1 = strchr(good, '.'), *g2 = strrchr(good, '.');
        char *e1 = strchr(evil, '.'), *e2 = strrchr(evil, '.');
        char mixed[4096];
        snprintf(mixed, sizeof(mixed), "%.*s%.*s%s", (int)(g1 - good), good, (int)(e2 - e1), e1,
                 g2);
        rejected(mixed, "bad_signature", "tampered payload");
    }
    snprintf(payload, sizeof(payload), "{\"exp\":%lld}", (long long)(NOW + 60));
    rejected(make(HS, payload, secret, SLEN), "claims", "missing user id");
    rejected(make(HS, "{\"user_id\":7}", secret, SLEN), "claims", "missing exp");
    snprintf(payload, sizeof(payload), "{\"user_id\":0,\"exp\":%lld}", (long long)(NOW + 60));
    rejected(make(HS, payload, secret, SLEN), "claims", "user id 0");
    snprintf(payload, sizeof(payload), "{\"user_id\":-3,\"exp\":%lld}", (long long)(NOW + 60));
    rejected(make(HS, payload, secret, SLEN), "claims", "negative user id");
    snprintf(payload, sizeof(payload), "{\"user_id\":true,\"exp\":%lld}", (long long)(NOW + 60));
    rejected(make(HS, payload, secret, SLEN), "claims", "boolean user id");
    rejected(make(HS, "{\"user_id\":7,\"exp\":\"soon\"}", secret, SLEN), "claims", "string exp");
    rejected(make(HS, "[1,2]", secret, SLEN), "malformed", "payload not an object");
    rejected("abc", "malformed", "no dots");
    rejected("a.b.c", "alg", "garbage segments");
    rejected("..", "malformed", "empty segments");
    rejected("eyJhbGciOiJIUzI1NiJ9.!!!.abc", "bad_signature", "bad base64 in payload");
    {
        char *huge = malloc(PROTO_JWT_MAX_LEN + 10);
        memset(huge, 'a', PROTO_JWT_MAX_LEN + 9);
        huge[10] = '.';
        huge[20] = '.';
        huge[PROTO_JWT_MAX_LEN + 9] = '\0';
        rejected(huge, "malformed", "over the length cap");
        free(huge);
    }

    tok = proto_jwt_sign(99, NOW, NOW + 3600, secret, SLEN);
    ok(proto_jwt_is_jwt(tok, strlen(tok)), "signed token has the JWT shape");
    ok(verify(tok, &c, &why) == 0 && c.user_id == 99 && c.exp == NOW + 3600,
       "proto_jwt_sign round-trips");
    ok(proto_jwt_verify(tok, strlen(tok), (const unsigned char *)"x", 1, NOW, 30, &c, &why) < 0,
       "signed token fails under another secret");
    free(tok);
    ok(!proto_jwt_is_jwt("0123456789abcdef0123456789abcdef01234567", 40), "opaque is not a JWT");
    return tap_done();
}
