/*
 * JWT signing with OpenSSL's HMAC, mirroring signJwt() in tests/lib/hub.js:
 * base64url without padding, header {"alg":"HS256","typ":"JWT"}.
 */
#include "lg_jwt.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* base64url (RFC 4648 section 5) without '=' padding; returns the length. */
static size_t
b64url(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;

    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

int
lg_jwt_sign(const char *secret, int64_t user_id, long ttl_s, char *out)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char body[160];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    long now = (long)time(NULL);
    size_t o;
    int n = snprintf(body, sizeof(body),
                     "{\"user_id\":%" PRId64 ",\"exp\":%ld,\"iat\":%ld,\"token_type\":\"access\"}",
                     user_id, now + ttl_s, now);

    out[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(body)) {
        return -1;
    }
    /* 4/3 expansion of both parts plus the signature stays far below LG_JWT_MAX. */
    o = b64url((const unsigned char *)header, sizeof(header) - 1, out);
    out[o++] = '.';
    o += b64url((const unsigned char *)body, (size_t)n, out + o);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out, o, mac,
             &maclen) == NULL) {
        out[0] = '\0';
        return -1;
    }
    out[o++] = '.';
    b64url(mac, maclen, out + o);
    return 0;
}
