/* Sec-WebSocket-Accept, with OpenSSL's SHA-1 and base64. */
#include "proto_wsaccept.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool
proto_ws_key_valid(const char *key, size_t len)
{
    unsigned char raw[18];

    /* 16 bytes encode to 22 characters and "==". */
    if (len != PROTO_WS_KEY_LEN || key[22] != '=' || key[23] != '=') {
        return false;
    }
    for (size_t i = 0; i < 22; i++) {
        char c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/')) {
            return false;
        }
    }
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

/* SHA-1 fetched once: EVP_sha1() in EVP_Digest() looks the algorithm up in
 * the provider tables at every call, most of a handshake's hashing cost.
 * The hub calls this from its loop's one thread only. */
static EVP_MD *sha1;
static EVP_MD_CTX *sha1_ctx;

void
proto_ws_accept(const char key[PROTO_WS_KEY_LEN], char out[PROTO_WS_ACCEPT_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (sha1 == NULL) {
        sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
        sha1_ctx = EVP_MD_CTX_new();
    }
    if (sha1 == NULL || sha1_ctx == NULL || !EVP_DigestInit_ex(sha1_ctx, sha1, NULL) ||
        !EVP_DigestUpdate(sha1_ctx, key, PROTO_WS_KEY_LEN) ||
        !EVP_DigestUpdate(sha1_ctx, GUID, sizeof(GUID) - 1) ||
        !EVP_DigestFinal_ex(sha1_ctx, digest, &dlen)) {
        abort(); /* out of memory, or no SHA-1 in this OpenSSL: nothing can be answered */
    }
    EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen);
}
