/*
 * HMAC-SHA256 with the key absorbed once. OpenSSL's one-shot HMAC() fetches
 * the algorithm and hashes the key pads on every call; a hub checks one
 * secret's signature at every handshake, so the keyed states are kept and
 * copied instead.
 */
#ifndef CHATHUB_PROTO_HMAC_H
#define CHATHUB_PROTO_HMAC_H

#include <stddef.h>

#define PROTO_HMAC_LEN 32

typedef struct proto_hmac proto_hmac_t;

/* A keyed HMAC-SHA256; NULL only when libcrypto fails. */
proto_hmac_t *proto_hmac_new(const unsigned char *key, size_t len);

/* mac = HMAC-SHA256(key, data). 0, or -1 when libcrypto fails. */
int proto_hmac_sha256(proto_hmac_t *h, const void *data, size_t len,
                      unsigned char mac[PROTO_HMAC_LEN]) __attribute__((warn_unused_result));

void proto_hmac_free(proto_hmac_t *h);

#endif
