/* proto_jwt: HS256 accepted; alg none, expired, nbf, bad signature, tampered
 * payload, missing or wrong claims rejected (PROTOCOL.md §1). Tokens are made
 * here independently of proto_jwt_sign, so a bug in one does not hide in both. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_jwt.h"

#define NOW INT64_C(1800000000)
#define LEEWAY 30
#define TOK_MAX 8192

static const unsigned char secret[] = "test-secret";
#define SLEN (sizeof(secret) - 1)

static const char *HS = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

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

/* header.payload signed with key, or with an empty signature when key is NULL.
 * Returns a static buffer that the next call overwrites. */
static char *
make(const char *header, const char *payload, const unsigned char *key, size_t klen)
{
    static char tok[TOK_MAX];
    static char h[1024], p[TOK_MAX / 2];
    char s[64];
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

/* A payload with user_id 7 and the given exp. */
static char *
payload_exp(int64_t exp)
{
    static char p[128];

    snprintf(p, sizeof(p), "{\"user_id\":7,\"exp\":%lld}", (long long)exp);
    return p;
}

static int
verify(const char *tok, proto_jwt_claims_t *c, const char **why)
{
    return proto_jwt_verify(tok, strlen(tok), secret, SLEN, NOW, LEEWAY, c, why);
}

static void
accepted(const char *tok, int64_t want_uid, const char *what)
{
    proto_jwt_claims_t c = {0, 0};
    const char *why = "unset";
    int rc = verify(tok, &c, &why);

    ok(rc == 0 && c.user_id == want_uid, "%s accepted as user %lld (rc %d, why %s, uid %lld)", what,
       (long long)want_uid, rc, rc == 0 ? "-" : why, (long long)c.user_id);
}

static void
rejected(const char *tok, const char *want_why, const char *what)
{
    proto_jwt_claims_t c;
    const char *why = NULL;
    int rc = verify(tok, &c, &why);

    ok(rc < 0 && why != NULL && strcmp(why, want_why) == 0, "%s rejected as %s (got %s)", what,
       want_why,
       rc == 0       ? "accepted"
       : why != NULL ? why
                     : "(null)");
}

static void
test_accepts_simplejwt_and_sub(void)
{
    char p[256];
    proto_jwt_claims_t c;
    const char *why;

    ok(verify(make(HS, payload_exp(NOW + 60), secret, SLEN), &c, &why) == 0 && c.user_id == 7 &&
           c.exp == NOW + 60,
       "simplejwt user_id: claims filled");
    snprintf(p, sizeof(p),
             "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"abc\",\"user_id\":8}",
             (long long)(NOW + 300), (long long)NOW);
    accepted(make(HS, p, secret, SLEN), 8, "full simplejwt access token");
    snprintf(p, sizeof(p), "{\"sub\":\"42\",\"exp\":%lld}", (long long)(NOW + 60));
    accepted(make(HS, p, secret, SLEN), 42, "sub as a digit string");
    snprintf(p, sizeof(p), "{\"sub\":43,\"exp\":%lld}", (long long)(NOW + 60));
    accepted(make(HS, p, secret, SLEN), 43, "sub as a number");
    snprintf(p, sizeof(p), "{\"user_id\":\"8\",\"exp\":%lld}", (long long)(NOW + 60));
    accepted(make("{\"alg\":\"HS256\"}", p, secret, SLEN), 8, "digit string user_id, no typ");
    snprintf(p, sizeof(p), "{\"user_id\":5,\"sub\":\"ivan@example.org\",\"exp\":%lld}",
             (long long)(NOW + 60));
    accepted(make(HS, p, secret, SLEN), 5, "user_id wins over a non-numeric sub");
    snprintf(p, sizeof(p), "{\"user_id\":9007199254740991,\"exp\":%lld}", (long long)(NOW + 60));
    accepted(make(HS, p, secret, SLEN), INT64_C(9007199254740991), "user id 2^53-1");
    snprintf(p, sizeof(p), "{\"user_id\":7,\"exp\":%lld.75}", (long long)(NOW + 60));
    accepted(make(HS, p, secret, SLEN), 7, "fractional exp");
    accepted(make("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"k1\"}", payload_exp(NOW + 60),
                  secret, SLEN),
             7, "extra header fields, any order");
    accepted(make(HS, " {\"user_id\":7,\"exp\":1900000000} ", secret, SLEN), 7,
             "whitespace around the payload object");
}

static void
test_time_claims(void)
{
    char p[256];

    accepted(make(HS, payload_exp(NOW - LEEWAY + 1), secret, SLEN), 7,
             "expired 29 s ago, within 30 s leeway");
    rejected(make(HS, payload_exp(NOW - LEEWAY), secret, SLEN), "expired",
             "expired exactly leeway ago");
    rejected(make(HS, payload_exp(NOW - 3600), secret, SLEN), "expired", "expired an hour ago");
    rejected(make(HS, payload_exp(0), secret, SLEN), "expired", "exp 0");
    snprintf(p, sizeof(p), "{\"user_id\":7,\"exp\":%lld,\"nbf\":%lld}", (long long)(NOW + 600),
             (long long)(NOW + LEEWAY));
    accepted(make(HS, p, secret, SLEN), 7, "nbf exactly leeway ahead");
    snprintf(p, sizeof(p), "{\"user_id\":7,\"exp\":%lld,\"nbf\":%lld}", (long long)(NOW + 600),
             (long long)(NOW + LEEWAY + 1));
    rejected(make(HS, p, secret, SLEN), "not_yet_valid", "nbf past the leeway");
    snprintf(p, sizeof(p), "{\"user_id\":7,\"exp\":%lld,\"nbf\":%lld}", (long long)(NOW + 600),
             (long long)(NOW - 600));
    accepted(make(HS, p, secret, SLEN), 7, "nbf in the past");
    {
        proto_jwt_claims_t c;
        const char *why;
        const char *tok = make(HS, payload_exp(NOW - 10), secret, SLEN);
        ok(proto_jwt_verify(tok, strlen(tok), secret, SLEN, NOW, 0, &c, &why) < 0 &&
               strcmp(why, "expired") == 0,
           "no leeway: 10 s past exp is expired");
        ok(proto_jwt_verify(tok, strlen(tok), secret, SLEN, NOW, -100, &c, &why) < 0 &&
               strcmp(why, "expired") == 0,
           "negative leeway counts as 0");
        ok(proto_jwt_verify(tok, strlen(tok), secret, SLEN, NOW, INT64_MAX, &c, &why) == 0,
           "a huge leeway is capped, not overflowed");
        ok(proto_jwt_verify(tok, strlen(tok), secret, SLEN, INT64_MAX, INT64_MAX, &c, &why) < 0 &&
               strcmp(why, "expired") == 0,
           "now at INT64_MAX is after any exp");
    }
}

static void
test_rejects_other_algorithms(void)
{
    const char *p = payload_exp(NOW + 60);

    rejected(make("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, 0), "alg", "alg none, no sig");
    rejected(make("{\"alg\":\"none\"}", p, secret, SLEN), "alg", "alg none with a signature");
    rejected(make("{\"alg\":\"HS512\"}", p, secret, SLEN), "alg", "alg HS512");
    rejected(make("{\"alg\":\"RS256\"}", p, secret, SLEN), "alg", "alg RS256");
    rejected(make("{\"alg\":\"hs256\"}", p, secret, SLEN), "alg", "alg in lower case");
    rejected(make("{\"alg\":\"HS256 \"}", p, secret, SLEN), "alg", "alg with a space");
    rejected(make("{\"alg\":null}", p, secret, SLEN), "alg", "alg null");
    rejected(make("{\"alg\":256}", p, secret, SLEN), "alg", "alg a number");
    rejected(make("{\"typ\":\"JWT\"}", p, secret, SLEN), "alg", "missing alg");
    rejected(make("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", p, secret, SLEN), "alg",
             "crit extensions");
    rejected(make("[\"HS256\"]", p, secret, SLEN), "malformed", "header an array");
    rejected(make("{\"alg\":\"HS256\"} x", p, secret, SLEN), "malformed",
             "header with trailing garbage");
}

static void
test_rejects_bad_signatures(void)
{
    const char *p = payload_exp(NOW + 60);
    char good[TOK_MAX], tmp[TOK_MAX];
    size_t n;

    rejected(make(HS, p, (const unsigned char *)"other", 5), "bad_signature", "wrong secret");
    rejected(make(HS, p, NULL, 0), "bad_signature", "empty signature");
    snprintf(good, sizeof(good), "%s", make(HS, p, secret, SLEN));
    n = strlen(good);

    snprintf(tmp, sizeof(tmp), "%.*s", (int)(n - 1), good);
    rejected(tmp, "bad_signature", "signature one character short");
    snprintf(tmp, sizeof(tmp), "%sA", good);
    rejected(tmp, "bad_signature", "signature one character long");
    snprintf(tmp, sizeof(tmp), "%s=", good);
    rejected(tmp, "bad_signature", "padded signature");
    snprintf(tmp, sizeof(tmp), "%s", good);
    tmp[n - 5] = tmp[n - 5] == 'A' ? 'B' : 'A';
    rejected(tmp, "bad_signature", "one flipped signature character");
    snprintf(tmp, sizeof(tmp), "%s", good);
    tmp[n - 3] = '+';
    rejected(tmp, "bad_signature", "standard base64 '+' in the signature");
    /* 43 characters carry 258 bits; the last 2 must be zero, or one MAC would
     * have four spellings. */
    {
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        snprintf(tmp, sizeof(tmp), "%s", good);
        const char *pos = strchr(t, tmp[n - 1]);
        tmp[n - 1] = t[(pos - t) ^ 1];
        rejected(tmp, "bad_signature", "signature with non-zero padding bits");
    }
    {
        proto_jwt_claims_t c;
        const char *why;
        ok(proto_jwt_verify(good, n, (const unsigned char *)"", 0, NOW, LEEWAY, &c, &why) < 0 &&
               strcmp(why, "bad_signature") == 0,
           "an empty secret verifies nothing");
        ok(proto_jwt_verify(good, n, secret, SLEN - 1, NOW, LEEWAY, &c, &why) < 0 &&
               strcmp(why, "bad_signature") == 0,
           "a prefix of the secret is another secret");
    }
}

/* A token whose payload or header is swapped for another's keeps a signature
 * that no longer matches. */
static void
test_rejects_tampering(void)
{
    char good[TOK_MAX], evil[TOK_MAX], mixed[TOK_MAX];
    char p2[128];
    char *g1, *g2, *e1, *e2;

    snprintf(good, sizeof(good), "%s", make(HS, payload_exp(NOW + 60), secret, SLEN));
    snprintf(p2, sizeof(p2), "{\"user_id\":1,\"exp\":%lld}", (long long)(NOW + 60));
    snprintf(evil, sizeof(evil), "%s", make(HS, p2, (const unsigned char *)"attacker", 8));
    g1 = strchr(good, '.');
    g2 = strrchr(good, '.');
    e1 = strchr(evil, '.');
    e2 = strrchr(evil, '.');
    snprintf(mixed, sizeof(mixed), "%.*s%.*s%s", (int)(g1 - good), good, (int)(e2 - e1), e1, g2);
    rejected(mixed, "bad_signature", "payload swapped, signature kept");
    snprintf(mixed, sizeof(mixed), "%s", good);
    mixed[(g1 - good) + 3] ^= 1; /* one bit of the payload text */
    rejected(mixed, "bad_signature", "payload with one changed character");
    snprintf(evil, sizeof(evil), "%s", make("{\"alg\":\"HS256\"}", "{}", NULL, 0));
    e1 = strchr(evil, '.');
    snprintf(mixed, sizeof(mixed), "%.*s%s", (int)(e1 - evil), evil, g1);
    rejected(mixed, "bad_signature", "header swapped, signature kept");
}

static void
test_rejects_bad_claims(void)
{
    static const char *const bad[] = {
        "{\"exp\":1900000000}",
        "{\"user_id\":7}",
        "{\"user_id\":0,\"exp\":1900000000}",
        "{\"user_id\":-3,\"exp\":1900000000}",
        "{\"user_id\":1.5,\"exp\":1900000000}",
        "{\"user_id\":true,\"exp\":1900000000}",
        "{\"user_id\":null,\"sub\":\"7\",\"exp\":1900000000}",
        "{\"user_id\":\"abc\",\"sub\":\"7\",\"exp\":1900000000}",
        "{\"user_id\":\"007\",\"exp\":1900000000}",
        "{\"user_id\":\"\",\"exp\":1900000000}",
        "{\"user_id\":9007199254740992,\"exp\":1900000000}",
        "{\"user_id\":[7],\"exp\":1900000000}",
        "{\"sub\":\"ivan\",\"exp\":1900000000}",
        "{\"user_id\":7,\"exp\":\"soon\"}",
        "{\"user_id\":7,\"exp\":null}",
        "{\"user_id\":7,\"exp\":-5}",
        "{\"user_id\":7,\"exp\":1e300}",
        "{\"user_id\":7,\"exp\":1900000000,\"nbf\":\"now\"}",
        "{\"user_id\":7,\"exp\":1900000000,\"nbf\":null}",
        "{\"user_id\":7,\"exp\":1900000000,\"token_type\":\"refresh\"}",
        "{\"user_id\":7,\"exp\":1900000000,\"token_type\":1}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rejected(make(HS, bad[i], secret, SLEN), "claims", bad[i]);
    }
}

static void
test_rejects_malformed(void)
{
    rejected(make(HS, "[1,2]", secret, SLEN), "malformed", "payload not an object");
    rejected(make(HS, "{\"user_id\":7,\"exp\":1900000000}x", secret, SLEN), "malformed",
             "payload with trailing garbage");
    rejected(make(HS, "{\"user_id\":7,", secret, SLEN), "malformed", "payload cut short");
    rejected("abc", "malformed", "no dots");
    rejected("a.b", "malformed", "one dot");
    rejected("a.b.c.d", "malformed", "three dots");
    rejected("a.b.c", "malformed", "header not base64 JSON");
    rejected("..", "malformed", "empty segments");
    rejected(".eyJ1c2VyX2lkIjo3fQ.sig", "malformed", "empty header");
    rejected("eyJhbGciOiJIUzI1NiJ9..sig", "malformed", "empty payload");
    rejected("eyJhbGciOiJIUzI1NiJ9=.e30.sig", "malformed", "padded header");
    rejected("eyJhbGciOiJIUzI1NiJ9.!!!.abc", "bad_signature", "payload never read before the MAC");
    rejected("", "malformed", "empty token");
    /* RFC 7519 §4: a claim named twice is refused, not read either way. */
    rejected(make(HS, "{\"user_id\":7,\"user_id\":8,\"exp\":1900000000}", secret, SLEN),
             "malformed", "user_id named twice");
    rejected(make(HS, "{\"user_id\":7,\"exp\":1,\"exp\":1900000000}", secret, SLEN), "malformed",
             "exp named twice");
    rejected(make("{\"alg\":\"HS256\",\"alg\":\"none\"}", payload_exp(NOW + 60), secret, SLEN),
             "malformed", "alg named twice");
    rejected(make(HS, "{\"user_id\\u0000\":7,\"exp\":1900000000}", secret, SLEN), "claims",
             "a key that only starts with user_id is not user_id");
    accepted(
        make(HS, "{\"user\\u005fid\":7,\"exp\":1900000000,\"x\":{\"user_id\":8}}", secret, SLEN), 7,
        "an escaped key, and a nested user_id that is not a claim");
    accepted(make("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"a-key-id-long-enough-to-take-the-"
                  "header-past-the-128-characters-the-key-remembers\"}",
                  payload_exp(NOW + 60), secret, SLEN),
             7, "a header too long to be remembered is still checked");
    {
        proto_jwt_claims_t c;
        const char *why = NULL;
        const char *tok = make(HS, payload_exp(NOW + 60), secret, SLEN);
        ok(proto_jwt_verify(tok, strlen(tok) - 44, secret, SLEN, NOW, LEEWAY, &c, &why) < 0 &&
               why != NULL && strcmp(why, "malformed") == 0,
           "len is honoured: header.payload alone is malformed");
    }
}

/* Find a padding that makes make(HS, ...) exactly want bytes long. */
static char *
token_of_len(size_t want)
{
    static char p[TOK_MAX];

    for (size_t pad = 2900; pad < 3100; pad++) {
        snprintf(p, sizeof(p), "{\"user_id\":7,\"exp\":%lld,\"pad\":\"%0*d\"}",
                 (long long)(NOW + 60), (int)pad, 0);
        char *tok = make(HS, p, secret, SLEN);
        if (strlen(tok) == want) {
            return tok;
        }
    }
    return NULL;
}

static void
test_length_cap(void)
{
    char *tok = token_of_len(PROTO_JWT_MAX_LEN);

    ok(tok != NULL, "a token of exactly PROTO_JWT_MAX_LEN bytes exists");
    if (tok != NULL) {
        accepted(tok, 7, "a token of exactly PROTO_JWT_MAX_LEN bytes");
    }
    tok = token_of_len(PROTO_JWT_MAX_LEN + 1);
    ok(tok != NULL, "a token just over the cap exists");
    if (tok != NULL) {
        rejected(tok, "malformed", "a validly signed token over the cap");
    }
    {
        char *huge = malloc(PROTO_JWT_MAX_LEN + 10);
        if (huge == NULL) {
            abort();
        }
        memset(huge, 'a', PROTO_JWT_MAX_LEN + 9);
        huge[10] = '.';
        huge[20] = '.';
        huge[PROTO_JWT_MAX_LEN + 9] = '\0';
        rejected(huge, "malformed", "garbage over the cap");
        free(huge);
    }
}

static void
test_sign_round_trip(void)
{
    proto_jwt_claims_t c;
    const char *why = NULL;
    char *tok = proto_jwt_sign(99, NOW, NOW + 3600, secret, SLEN);

    ok(proto_jwt_is_jwt(tok, strlen(tok)), "signed token has the JWT shape");
    ok(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
       "header is {\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    ok(strchr(tok, '=') == NULL && strchr(tok, '+') == NULL && strchr(tok, '/') == NULL,
       "unpadded base64url");
    ok(verify(tok, &c, &why) == 0 && c.user_id == 99 && c.exp == NOW + 3600,
       "proto_jwt_sign round-trips");
    ok(proto_jwt_verify(tok, strlen(tok), (const unsigned char *)"x", 1, NOW, 30, &c, &why) < 0 &&
           strcmp(why, "bad_signature") == 0,
       "signed token fails under another secret");
    ok(proto_jwt_verify(tok, strlen(tok), secret, SLEN, NOW + 3600, 0, &c, &why) < 0 &&
           strcmp(why, "expired") == 0,
       "signed token expires at exp");
    free(tok);
    tok = proto_jwt_sign(INT64_C(9007199254740991), NOW, NOW + 60, secret, SLEN);
    ok(verify(tok, &c, &why) == 0 && c.user_id == INT64_C(9007199254740991),
       "largest id round-trips");
    free(tok);
    tok = proto_jwt_sign(7, NOW, NOW + 60, secret, SLEN);
    {
        char *same = make(HS,
                          "{\"user_id\":7,\"sub\":\"7\",\"iat\":1800000000,\"exp\":1800000060,"
                          "\"token_type\":\"access\"}",
                          secret, SLEN);
        ok(strcmp(tok, same) == 0, "signed bytes are exactly the documented payload");
    }
    free(tok);
}

static void
test_is_jwt(void)
{
    ok(proto_jwt_is_jwt("a.b.c", 5), "two dots: JWT");
    ok(proto_jwt_is_jwt("..", 2), "two dots, empty segments: JWT shape");
    ok(!proto_jwt_is_jwt("a.b", 3), "one dot: opaque");
    ok(!proto_jwt_is_jwt("a.b.c.d", 7), "three dots: opaque");
    ok(!proto_jwt_is_jwt("0123456789abcdef0123456789abcdef01234567", 40), "40 hex: opaque");
    ok(!proto_jwt_is_jwt("a.b.c", 3), "only len bytes count");
    ok(!proto_jwt_is_jwt("", 0), "empty: opaque");
}

/* Every one of the 64 symbols decodes to its value (the tokens verify and
 * name their user), and every other byte value makes the segment malformed. */
static void
test_every_symbol(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bool seen[256] = {false};
    int bad = 0, missing = 0, wrong = 0;

    for (int i = 0; i < 96; i++) {
        char p[256], x[128];
        for (int k = 0; k < i; k++) {
            x[k] = (char)(' ' + 1 + (k * 7 + i) % 94); /* printable, never '"' twice */
            if (x[k] == '"' || x[k] == '\\') {
                x[k] = 'q';
            }
        }
        x[i] = '\0';
        snprintf(p, sizeof(p), "{\"user_id\":%d,\"exp\":%lld,\"x\":\"%s\"}", 100 + i,
                 (long long)(NOW + 600), x);
        const char *tok = make(HS, p, secret, SLEN);
        proto_jwt_claims_t c = {0, 0};
        const char *why;
        bad += verify(tok, &c, &why) != 0 || c.user_id != 100 + i;
        for (const char *t = tok; *t != '\0'; t++) {
            seen[(unsigned char)*t] = true;
        }
    }
    for (const char *a = alphabet; *a != '\0'; a++) {
        missing += !seen[(unsigned char)*a];
    }
    ok(bad == 0 && missing == 0, "96 tokens using all 64 symbols verify (%d failed, %d unused)",
       bad, missing);
    for (int b = 1; b < 256; b++) {
        char tok[TOK_MAX];
        proto_jwt_claims_t c;
        const char *why = NULL;
        if (b == '.' || memchr(alphabet, b, sizeof(alphabet) - 1) != NULL) {
            continue;
        }
        snprintf(tok, sizeof(tok), "%s", make(HS, payload_exp(NOW + 600), secret, SLEN));
        tok[0] = (char)b;
        wrong += verify(tok, &c, &why) == 0 || why == NULL || strcmp(why, "malformed") != 0;
    }
    ok(wrong == 0, "a byte outside the alphabet in the header is malformed (%d were not)", wrong);
}

/* The hub's path: one prepared key for every handshake, with the last good
 * header remembered. The remembered header must never let another through. */
static void
test_prepared_key(void)
{
    proto_jwt_key_t *key = proto_jwt_key_new(secret, SLEN);
    proto_jwt_claims_t c;
    const char *why;
    char *tok;

    tok = make(HS, payload_exp(NOW + 60), secret, SLEN);
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) == 0 && c.user_id == 7,
       "a prepared key verifies a good token");
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) == 0,
       "  and the same token again, its header remembered");
    tok = make("{\"alg\":\"none\"}", payload_exp(NOW + 60), NULL, 0);
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) < 0 &&
           strcmp(why, "alg") == 0,
       "  alg none is still refused after a good header was remembered");
    tok = make("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", payload_exp(NOW + 60), secret, SLEN);
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) == 0,
       "  another spelling of an HS256 header verifies");
    tok = make(HS, payload_exp(NOW + 60), (const unsigned char *)"other", 5);
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) < 0 &&
           strcmp(why, "bad_signature") == 0,
       "  a remembered header does not skip the signature");
    proto_jwt_key_free(key);

    /* Keys past SHA-256's 64-byte block are hashed first (RFC 2104). */
    unsigned char longkey[100];
    memset(longkey, 'k', sizeof(longkey));
    tok = make(HS, payload_exp(NOW + 60), longkey, sizeof(longkey));
    key = proto_jwt_key_new(longkey, sizeof(longkey));
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) == 0,
       "a 100-byte secret verifies like OpenSSL's HMAC");
    proto_jwt_key_free(key);
    longkey[99] = 'x';
    key = proto_jwt_key_new(longkey, sizeof(longkey));
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) < 0,
       "  and its last byte counts");
    proto_jwt_key_free(key);
    key = proto_jwt_key_new(secret, 0);
    tok = make(HS, payload_exp(NOW + 60), (const unsigned char *)"", 0);
    ok(proto_jwt_verify_key(tok, strlen(tok), key, NOW, LEEWAY, &c, &why) < 0 &&
           strcmp(why, "bad_signature") == 0,
       "an empty secret verifies nothing, even a token signed with it");
    proto_jwt_key_free(key);
}

int
main(void)
{
    test_accepts_simplejwt_and_sub();
    test_time_claims();
    test_rejects_other_algorithms();
    test_rejects_bad_signatures();
    test_rejects_tampering();
    test_rejects_bad_claims();
    test_rejects_malformed();
    test_length_cap();
    test_sign_round_trip();
    test_is_jwt();
    test_every_symbol();
    test_prepared_key();
    return tap_done();
}
