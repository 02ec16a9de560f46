/*
 * JWT HS256. The order is the point: the header is checked for alg first, the
 * signature is compared in constant time next, and only then is the payload
 * decoded and trusted. Nothing here reads a clock; the caller passes now.
 */
#include "proto_jwt.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_hmac.h"
#include "proto_jsonwalk.h"
#include "proto_url.h"
#include "xalloc.h"

#define MAC_LEN PROTO_HMAC_LEN
#define HEADER_MAX 128  /* the longest header segment remembered as checked */
#define MAC_B64_LEN 43  /* 32 bytes in unpadded base64url */
#define TIME_MAX 1e15   /* claims past this are nonsense, and keep the arithmetic in range */
#define LEEWAY_MAX 3600 /* a larger skew is a misconfiguration, not a clock */

struct proto_jwt_key {
    proto_hmac_t *mac; /* NULL for an empty secret: nothing verifies */
    /* The last header segment that passed check_header(): an issuer's tokens
     * all carry the same one, so it is compared, not decoded, next time. */
    char header[HEADER_MAX];
    size_t header_len;
};

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Each byte's 6-bit value plus one, 0 outside the alphabet (generated from
 * b64url above): one load a character where four range tests were, and
 * every connect decodes a token. Sixteen bytes a row. */
/* clang-format off */
static const unsigned char b64_plus1[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 63,  0,  0,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62,  0,  0,  0,  0,  0,  0,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,  0,  0,  0,  0, 64,
     0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
    42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};
/* clang-format on */

static int
b64_value(unsigned char c)
{
    return (int)b64_plus1[c] - 1;
}

/* Decode unpadded base64url into out (room for len*3/4+1 bytes), NUL-terminated.
 * -1 on padding, a character outside the alphabet, or an impossible length. */
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
    /* Leftover bits must be zero, or two spellings would carry one signature. */
    if ((acc & ((1u << bits) - 1)) != 0) {
        return -1;
    }
    out[n] = '\0';
    *outlen = n;
    return 0;
}

/* Unpadded base64url of in; a new string, free() it. */
static char *
b64url_encode(const unsigned char *in, size_t len)
{
    char *out = xmalloc(len / 3 * 4 + 5);
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
    const char *end = token + len;
    const char *p = token;
    int dots = 0;

    /* memchr from dot to dot: a byte loop over the whole token was 1,200
     * instructions a connect. */
    while (dots < 3 && (p = memchr(p, '.', (size_t)(end - p))) != NULL) {
        dots++;
        p++;
    }
    return dots == 2;
}

/* The members of a token's JSON segment that it reads, each at most once
 * (RFC 7519 §4: a claim named twice is refused, not read one way or the other). */
enum { M_ALG, M_CRIT, M_USER_ID, M_SUB, M_EXP, M_NBF, M_TOKEN_TYPE, M_COUNT };

static const char *const member_names[M_COUNT] = {"alg", "crit", "user_id",   "sub",
                                                  "exp", "nbf",  "token_type"};

typedef struct members {
    proto_jv_t v[M_COUNT];
    unsigned seen; /* bit i: member_names[i] was there */
} members_t;

static int
on_member(void *ud, const char *key, const proto_jv_t *v)
{
    members_t *m = ud;

    for (int i = 0; key != NULL && i < M_COUNT; i++) {
        if (strcmp(key, member_names[i]) == 0) {
            if (m->seen & 1u << i) {
                return -1;
            }
            m->seen |= 1u << i;
            m->v[i] = *v;
            break;
        }
    }
    return 0;
}

static const proto_jv_t *
member(const members_t *m, int i)
{
    return m->seen & 1u << i ? &m->v[i] : NULL;
}

/* A base64url segment holding exactly one JSON object and nothing after it,
 * its members we read in *m. buf has room for len / 4 * 3 + 3 bytes (a
 * segment of a token of at most PROTO_JWT_MAX_LEN) and keeps the decoded text
 * the members point into. */
static int
decode_members(const char *s, size_t len, unsigned char *buf, members_t *m)
{
    size_t n;

    memset(m, 0, sizeof(*m));
    if (b64url_decode(s, len, buf, &n) < 0) {
        return -1;
    }
    return proto_json_walk_object((const char *)buf, n, on_member, m);
}

/* A string member equal to want. */
static bool
string_is(const proto_jv_t *v, const char *want)
{
    char buf[16];

    return v != NULL && proto_json_string(v, buf, sizeof(buf)) >= 0 && strcmp(buf, want) == 0;
}

/* The header pins the algorithm: exactly HS256, never "none" or another alg a
 * forger could pick. "typ" is not required; "crit" names extensions we do not
 * implement, and RFC 7515 says such a token must be refused. */
static int
check_header(proto_jwt_key_t *key, const char *s, size_t len, unsigned char *buf, const char **why)
{
    members_t m;

    if (key->header_len == len && memcmp(key->header, s, len) == 0) {
        return 0;
    }
    if (decode_members(s, len, buf, &m) < 0) {
        *why = "malformed";
        return -1;
    }
    if (!string_is(member(&m, M_ALG), "HS256") || member(&m, M_CRIT) != NULL) {
        *why = "alg";
        return -1;
    }
    if (len <= sizeof(key->header)) {
        memcpy(key->header, s, len);
        key->header_len = len;
    }
    return 0;
}

static bool
signature_ok(proto_jwt_key_t *key, const char *signed_part, size_t len, const char *sig,
             size_t siglen)
{
    unsigned char want[MAC_LEN], got[MAC_LEN + 4];
    size_t n;

    /* An empty secret would let anyone sign; nothing verifies against it. */
    if (key->mac == NULL || siglen != MAC_B64_LEN || b64url_decode(sig, siglen, got, &n) < 0 ||
        n != MAC_LEN) {
        return false;
    }
    if (proto_hmac_sha256(key->mac, signed_part, len, want) < 0) {
        return false;
    }
    return CRYPTO_memcmp(want, got, MAC_LEN) == 0;
}

/* A positive JS-safe integer, as a JSON number or a digit string. */
static int
claim_id(const proto_jv_t *v, int64_t *out)
{
    char digits[24];
    double d;
    int n;

    if (v != NULL && v->kind == PROTO_JV_STRING) {
        n = proto_json_string(v, digits, sizeof(digits));
        return n < 0 ? -1 : proto_parse_id(digits, (size_t)n, out);
    }
    if (v == NULL || proto_json_number(v, &d) < 0) {
        return -1;
    }
    if (!(d >= 1 && d <= 9007199254740991.0) || d != (double)(int64_t)d) {
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* A NumericDate (RFC 7519: seconds, fractions allowed and truncated). */
static int
claim_time(const proto_jv_t *v, int64_t *out)
{
    double d;

    if (v == NULL || proto_json_number(v, &d) < 0 || !(d >= 0 && d <= TIME_MAX)) {
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* user_id (Django simplejwt) wins over sub; a present but bad user_id is not
 * skipped for sub, so a token never means two different users. */
static int
read_claims(const members_t *m, int64_t *uid, int64_t *exp, bool *has_nbf, int64_t *nbf)
{
    const proto_jv_t *id = member(m, M_USER_ID);
    const proto_jv_t *n = member(m, M_NBF);
    const proto_jv_t *tt = member(m, M_TOKEN_TYPE);

    if (id == NULL) {
        id = member(m, M_SUB);
    }
    if (claim_id(id, uid) < 0 || claim_time(member(m, M_EXP), exp) < 0) {
        return -1;
    }
    *has_nbf = n != NULL;
    if (*has_nbf && claim_time(n, nbf) < 0) {
        return -1;
    }
    /* simplejwt also signs refresh tokens with the same key; only an access
     * token may open a socket. */
    if (tt != NULL && !string_is(tt, "access")) {
        return -1;
    }
    return 0;
}

static int
check_claims(const members_t *m, int64_t now, int64_t leeway, proto_jwt_claims_t *out,
             const char **why)
{
    int64_t uid, exp, nbf = 0;
    bool has_nbf;

    if (read_claims(m, &uid, &exp, &has_nbf, &nbf) < 0) {
        *why = "claims";
        return -1;
    }
    leeway = leeway < 0 ? 0 : leeway > LEEWAY_MAX ? LEEWAY_MAX : leeway;
    /* exp and nbf are at most 1e15 and leeway at most an hour: no overflow. RFC
     * 7519: the token is valid strictly before exp. */
    if (now >= exp + leeway) {
        *why = "expired";
        return -1;
    }
    if (has_nbf && nbf - leeway > now) {
        *why = "not_yet_valid";
        return -1;
    }
    out->user_id = uid;
    out->exp = exp;
    return 0;
}

/* Split header.payload.signature at its two dots; -1 if the header or payload
 * is empty. An empty signature is let through so that an alg "none" token is
 * logged as "alg", the reason that tells an operator what happened. */
static int
split_token(const char *token, size_t len, size_t *dot1, size_t *dot2)
{
    const char *d1 = memchr(token, '.', len);
    const char *d2;

    if (d1 == NULL) {
        return -1;
    }
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2 == NULL || d1 == token || d2 == d1 + 1) {
        return -1;
    }
    *dot1 = (size_t)(d1 - token);
    *dot2 = (size_t)(d2 - token);
    return 0;
}

proto_jwt_key_t *
proto_jwt_key_new(const unsigned char *secret, size_t secret_len)
{
    proto_jwt_key_t *key = xcalloc(1, sizeof(*key));

    if (secret_len > 0) {
        key->mac = proto_hmac_new(secret, secret_len);
        if (key->mac == NULL) {
            abort(); /* only a broken libcrypto gets here */
        }
    }
    return key;
}

void
proto_jwt_key_free(proto_jwt_key_t *key)
{
    if (key != NULL) {
        proto_hmac_free(key->mac);
        free(key);
    }
}

int
proto_jwt_verify_key(const char *token, size_t len, proto_jwt_key_t *key, int64_t now,
                     int64_t leeway, proto_jwt_claims_t *out, const char **why)
{
    unsigned char buf[PROTO_JWT_MAX_LEN / 4 * 3 + 3];
    size_t dot1, dot2;
    members_t m;

    *why = "malformed";
    if (token == NULL || len == 0 || len > PROTO_JWT_MAX_LEN || !proto_jwt_is_jwt(token, len) ||
        split_token(token, len, &dot1, &dot2) < 0) {
        return -1;
    }
    if (check_header(key, token, dot1, buf, why) < 0) {
        return -1;
    }
    /* The payload stays undecoded until the signature over it checks out. */
    if (!signature_ok(key, token, dot2, token + dot2 + 1, len - dot2 - 1)) {
        *why = "bad_signature";
        return -1;
    }
    if (decode_members(token + dot1 + 1, dot2 - dot1 - 1, buf, &m) < 0) {
        *why = "malformed";
        return -1;
    }
    return check_claims(&m, now, leeway, out, why);
}

int
proto_jwt_verify(const char *token, size_t len, const unsigned char *secret, size_t secret_len,
                 int64_t now, int64_t leeway, proto_jwt_claims_t *out, const char **why)
{
    proto_jwt_key_t *key = proto_jwt_key_new(secret, secret_len);
    int rc = proto_jwt_verify_key(token, len, key, now, leeway, out, why);

    proto_jwt_key_free(key);
    return rc;
}

char *
proto_jwt_sign(int64_t user_id, int64_t now, int64_t exp, const unsigned char *secret,
               size_t secret_len)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char payload[160]; /* four int64s and the fixed text fit in under 150 bytes */
    unsigned char mac[MAC_LEN];
    int n = snprintf(payload, sizeof(payload),
                     "{\"user_id\":%" PRId64 ",\"sub\":\"%" PRId64 "\",\"iat\":%" PRId64
                     ",\"exp\":%" PRId64 ",\"token_type\":\"access\"}",
                     user_id, user_id, now, exp);
    char *h = b64url_encode((const unsigned char *)header, sizeof(header) - 1);
    char *p = b64url_encode((const unsigned char *)payload, (size_t)n);
    size_t signed_len = strlen(h) + 1 + strlen(p);
    char *tok = xmalloc(signed_len + 1 + MAC_B64_LEN + 1);
    char *s;

    snprintf(tok, signed_len + 1, "%s.%s", h, p);
    proto_hmac_t *key = proto_hmac_new(secret, secret_len);
    if (key == NULL || proto_hmac_sha256(key, tok, signed_len, mac) < 0) {
        abort(); /* only a broken libcrypto gets here */
    }
    proto_hmac_free(key);
    s = b64url_encode(mac, sizeof(mac));
    snprintf(tok + signed_len, MAC_B64_LEN + 2, ".%s", s);
    free(h);
    free(p);
    free(s);
    return tok;
}
