/*
 * JWT HS256 verification and signing (PROTOCOL.md §1): the algorithm is pinned
 * to HS256, the signature compared in constant time, exp required, nbf honoured,
 * the user id taken from "user_id" (Django simplejwt) or "sub".
 */
#ifndef CHATHUB_PROTO_JWT_H
#define CHATHUB_PROTO_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_JWT_MAX_LEN 4096 /* longer tokens are rejected unparsed */

typedef struct proto_jwt_claims {
    int64_t user_id; /* > 0 */
    int64_t exp;     /* seconds since the epoch */
} proto_jwt_claims_t;

/*
 * Verify token (len bytes) against secret at time now (seconds) allowing
 * leeway seconds on exp and nbf. 0: *out holds the claims. -1: *why is a static
 * reason for the log ("bad_signature", "expired", "alg", "malformed", "claims",
 * "not_yet_valid"). user_id/sub may be a positive integer or a digit string.
 */
int proto_jwt_verify(const char *token, size_t len, const unsigned char *secret, size_t secret_len,
                     int64_t now, int64_t leeway, proto_jwt_claims_t *out, const char **why)
    __attribute__((warn_unused_result));

/* A secret made ready for many verifications; one per secret, not thread-safe. */
typedef struct proto_jwt_key proto_jwt_key_t;

proto_jwt_key_t *proto_jwt_key_new(const unsigned char *secret, size_t secret_len);
void proto_jwt_key_free(proto_jwt_key_t *key);

/* proto_jwt_verify() with a prepared key: the hub's path, one HMAC key setup
 * for all handshakes instead of one each. */
int proto_jwt_verify_key(const char *token, size_t len, proto_jwt_key_t *key, int64_t now,
                         int64_t leeway, proto_jwt_claims_t *out, const char **why)
    __attribute__((warn_unused_result));

/*
 * Sign a token {"user_id":user_id,"sub":"<user_id>","iat":now,"exp":exp,
 * "token_type":"access"} with HS256. Returns a new string; free() it.
 */
char *proto_jwt_sign(int64_t user_id, int64_t now, int64_t exp, const unsigned char *secret,
                     size_t secret_len);

/* True when token has the shape header.payload.signature (two dots), false for
 * an opaque token. */
bool proto_jwt_is_jwt(const char *token, size_t len);

#endif
