/*
 * JWT HS256. The order matters: the header is checked for alg first, the
 * signature is compared in constant time next, and only then is the payload
 * decoded and trusted.
 */
#include "proto_jwt.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_url.h"
#include "xalloc.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_value(unsigned char c)
{
    const char *p = c != '\0' ? strchr(b64url, c) : NULL;

    return p != NULL ? (int)(p - b64url) : -1;
}

/* Decode unpadded base64url into out (room for len*3/4+1 bytes). -1 on a bad
 * character or an impossible length. */
static int
b64url_decode(const char *s, size_t len, unsigned char *out, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    if (len % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, or two encodings would verify alike. */
    if ((acc & ((1u << bits) - 1)) != 0) {
        return -1;
    }
    out[n] = '\0';
    *outlen = n;
    return 0;
}

static char *
b64url_encode(const unsigned char *in, size_t len)
{
    char *out = xmalloc(len * 4 / 3 + 4);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[n++] = b64url[(acc << (6 - bits)) & 63];
    }
    out[n] = '\0';
    return out;
}

bool
proto_jwt_is_jwt(const char *token, size_t len)
{
    size_t dots = 0;

    for (size_t i = 0; i < len; i++) {
        dots += token[i] == '.';
    }
    return dots == 2;
}

static cJSON *
decode_json(const char *s, size_t len)
{
    unsigned char *buf = xmalloc(len * 3 / 4 + 2);
    size_t n;
    cJSON *j = NULL;

    if (b64url_decode(s, len, buf, &n) == 0 && memchr(buf, '\0', n) == NULL) {
        j = cJSON_ParseWithLength((const char *)buf, n);
    }
    free(buf);
    if (j != NULL && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

static bool
header_ok(const char *s, size_t len)
{
    cJSON *h = decode_json(s, len);
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    bool ok = cJSON_IsString(alg) && strcmp(alg->valuestring, "HS256") == 0;

    cJSON_Delete(h);
    return ok;
}

static void
hmac(const unsigned char *secret, size_t slen, const char *data, size_t len, unsigned char mac[32])
{
    unsigned int maclen = 32;

    HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)data, len, mac, &maclen);
}

static bool
signature_ok(const char *signed_part, size_t len, const char *sig, size_t siglen,
             const unsigned char *secret, size_t slen)
{
    unsigned char want[32], got[48];
    size_t n;

    if (siglen != 43 || b64url_decode(sig, siglen, got, &n) < 0 || n != 32) {
        return false;
    }
    hmac(secret, slen, signed_part, len, want);
    return CRYPTO_memcmp(want, got, 32) == 0;
}

/* A positive JS-safe integer, as a JSON number or a digit string. */
static int
claim_id(const cJSON *v, int64_t *out)
{
    if (cJSON_IsString(v)) {
        return proto_parse_id(v->valuestring, strlen(v->valuestring), out);
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 9007199254740991.0 &&
        v->valuedouble == (double)(int64_t)v->valuedouble) {
        *out = (int64_t)v->valuedouble;
        return 0;
    }
    return -1;
}

static int
claim_time(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15) {
        return -1;
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int
check_claims(const cJSON *p, int64_t now, int64_t leeway, proto_jwt_claims_t *out, const char **why)
{
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(p, "user_id");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(p, "nbf");
    int64_t exp, t;

    if (uid == NULL) {
        uid = cJSON_GetObjectItemCaseSensitive(p, "sub");
    }
    if (claim_id(uid, &out->user_id) < 0 ||
        claim_time(cJSON_GetObjectItemCaseSensitive(p, "exp"), &exp) < 0) {
        *why = "claims";
        return -1;
    }
    if (nbf != NULL && claim_time(nbf, &t) < 0) {
        *why = "claims";
        return -1;
    }
    if (now > exp + leeway) {
        *why = "expired";
        return -1;
    }
    if (nbf != NULL && now + leeway < t) {
        *why = "not_yet_valid";
        return -1;
    }
    out->exp = exp;
    return 0;
}

int
proto_jwt_verify(const char *token, size_t len, const unsigned char *secret, size_t secret_len,
                 int64_t now, int64_t leeway, proto_jwt_claims_t *out, const char **why)
{
    const char *dot1, *dot2;
    cJSON *payload;
    int rc;

    *why = "malformed";
    if (len == 0 || len > PROTO_JWT_MAX_LEN || !proto_jwt_is_jwt(token, len)) {
        return -1;
    }
    dot1 = memchr(token, '.', len);
    dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (dot1 == token || dot2 == dot1 + 1) {
        return -1;
    }
    if (!header_ok(token, (size_t)(dot1 - token))) {
        *why = "alg";
        return -1;
    }
    if (!signature_ok(token, (size_t)(dot2 - token), dot2 + 1, len - (size_t)(dot2 + 1 - token),
                      secret, secret_len)) {
        *why = "bad_signature";
        return -1;
    }
    payload = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (payload == NULL) {
        return -1;
    }
    rc = check_claims(payload, now, leeway, out, why);
    cJSON_Delete(payload);
    return rc;
}

char *
proto_jwt_sign(int64_t user_id, int64_t now, int64_t exp, const unsigned char *secret,
               size_t secret_len)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char payload[256];
    unsigned char mac[32];
    int n = snprintf(payload, sizeof(payload),
                     "{\"user_id\":%lld,\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,"
                     "\"token_type\":\"access\"}",
                     (long long)user_id, (long long)user_id, (long long)now, (long long)exp);
    char *h = b64url_encode((const unsigned char *)header, sizeof(header) - 1);
    char *p = b64url_encode((const unsigned char *)payload, (size_t)n);
    size_t signed_len = strlen(h) + 1 + strlen(p);
    char *tok = xmalloc(signed_len + 1 + 44);

    snprintf(tok, signed_len + 1, "%s.%s", h, p);
    hmac(secret, secret_len, tok, signed_len, mac);
    char *s = b64url_encode(mac, sizeof(mac));
    snprintf(tok + signed_len, 45, ".%s", s);
    free(h);
    free(p);
    free(s);
    return tok;
}
