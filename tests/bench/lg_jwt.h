/*
 * HS256 JWTs the way the platform (Django simplejwt) issues them, so the hub
 * does its real signature and expiry check on every benchmark handshake.
 */
#ifndef CHATHUB_LG_JWT_H
#define CHATHUB_LG_JWT_H

#include <stddef.h>
#include <stdint.h>

#define LG_JWT_MAX 512

/*
 * Sign {"user_id":user_id,"exp":now+ttl_s,"iat":now,"token_type":"access"}
 * with secret into out[LG_JWT_MAX], NUL-terminated.
 * Returns 0, or -1 when OpenSSL fails (then out is empty).
 */
int lg_jwt_sign(const char *secret, int64_t user_id, long ttl_s, char *out)
    __attribute__((warn_unused_result));

#endif
