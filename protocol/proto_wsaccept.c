/* Sec-WebSocket-Accept, with OpenSSL's SHA-1 and base64. */
#include "proto_wsaccept.h"

#include <openssl/evp.h>
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

void
proto_ws_accept(const char key[PROTO_WS_KEY_LEN], char out[PROTO_WS_ACCEPT_LEN + 1])
{
    unsigned char in[PROTO_WS_KEY_LEN + sizeof(GUID) - 1], digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    memcpy(in, key, PROTO_WS_KEY_LEN);
    memcpy(in + PROTO_WS_KEY_LEN, GUID, sizeof(GUID) - 1);
    (void)EVP_Digest(in, sizeof(in), digest, &dlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen);
}
