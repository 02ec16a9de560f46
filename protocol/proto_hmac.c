/*
 * HMAC (RFC 2104) over EVP SHA-256: H((K ^ opad) || H((K ^ ipad) || data)).
 * The two states after the key pads are computed once; each MAC copies them
 * into a scratch context, which OpenSSL reuses without a new fetch.
 */
#include "proto_hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define BLOCK 64 /* SHA-256's block size */

struct proto_hmac {
    EVP_MD_CTX *inner, *outer, *work;
};

static int
absorb_pad(EVP_MD_CTX *ctx, const unsigned char key[BLOCK], unsigned char pad)
{
    unsigned char block[BLOCK];
    int ok;

    for (size_t i = 0; i < BLOCK; i++) {
        block[i] = key[i] ^ pad;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, block, BLOCK);
    OPENSSL_cleanse(block, sizeof(block));
    return ok ? 0 : -1;
}

proto_hmac_t *
proto_hmac_new(const unsigned char *key, size_t len)
{
    proto_hmac_t *h = xcalloc(1, sizeof(*h));
    unsigned char k[BLOCK] = {0};
    unsigned int klen;
    int rc = -1;

    h->inner = EVP_MD_CTX_new();
    h->outer = EVP_MD_CTX_new();
    h->work = EVP_MD_CTX_new();
    if (h->inner != NULL && h->outer != NULL && h->work != NULL) {
        /* A key longer than a block is replaced by its hash (RFC 2104 §2). */
        if (len > BLOCK) {
            rc = EVP_Digest(key, len, k, &klen, EVP_sha256(), NULL) ? 0 : -1;
        } else {
            if (len > 0) {
                memcpy(k, key, len);
            }
            rc = 0;
        }
        if (rc == 0) {
            rc = absorb_pad(h->inner, k, 0x36) == 0 && absorb_pad(h->outer, k, 0x5c) == 0 ? 0 : -1;
        }
    }
    OPENSSL_cleanse(k, sizeof(k));
    if (rc < 0) {
        proto_hmac_free(h);
        return NULL;
    }
    return h;
}

int
proto_hmac_sha256(proto_hmac_t *h, const void *data, size_t len, unsigned char mac[PROTO_HMAC_LEN])
{
    unsigned char inner[PROTO_HMAC_LEN];
    unsigned int n = 0, m = 0;

    if (!EVP_MD_CTX_copy_ex(h->work, h->inner) || !EVP_DigestUpdate(h->work, data, len) ||
        !EVP_DigestFinal_ex(h->work, inner, &n) || n != PROTO_HMAC_LEN ||
        !EVP_MD_CTX_copy_ex(h->work, h->outer) || !EVP_DigestUpdate(h->work, inner, n) ||
        !EVP_DigestFinal_ex(h->work, mac, &m) || m != PROTO_HMAC_LEN) {
        return -1;
    }
    return 0;
}

void
proto_hmac_free(proto_hmac_t *h)
{
    if (h == NULL) {
        return;
    }
    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    EVP_MD_CTX_free(h->work);
    free(h);
}
