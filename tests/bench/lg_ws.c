/*
 * RFC 6455 framing for the client side: build the upgrade, check the 101,
 * mask outgoing frames, parse incoming ones. Reassembly of fragmented
 * messages is the connection's job (it owns the buffers).
 */
#include "lg_ws.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

uint64_t
lg_ws_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

void
lg_ws_key_new(uint64_t *rng, char *key)
{
    unsigned char raw[16];
    uint64_t a = lg_ws_rand(rng), b = lg_ws_rand(rng);

    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
}

void
lg_ws_accept_for(const char *key, char *accept)
{
    char buf[LG_WS_KEY_LEN + sizeof(WS_GUID)];
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned int shalen = 0;
    int n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);

    EVP_Digest(buf, (size_t)n, sha, &shalen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)accept, sha, (int)shalen);
}

size_t
lg_ws_request_build(char *out, size_t cap, const char *host, const char *path, const char *token,
                    const char *key)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%s%s"
                     "\r\n",
                     path, host, key, token != NULL ? "Authorization: Bearer " : "",
                     token != NULL ? token : "", token != NULL ? "\r\n" : "");

    if (n < 0 || (size_t)n >= cap) {
        return 0;
    }
    return (size_t)n;
}

/* The value of header name (case-insensitive) inside hdrs[0..len), or NULL. */
static const char *
find_header(const char *hdrs, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = hdrs, *end = hdrs + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            break;
        }
        if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) {
                ve--;
            }
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

long
lg_ws_response_check(const char *buf, size_t len, const char *accept, int *status)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    const char *v;
    size_t vlen = 0;

    *status = 0;
    if (end == NULL) {
        return 0;
    }
    size_t hlen = (size_t)(end - buf) + 4;
    if (hlen < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0) {
        return -1;
    }
    *status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (*status != 101) {
        return -1;
    }
    v = find_header(buf, hlen, "Sec-WebSocket-Accept", &vlen);
    if (v == NULL || vlen != LG_WS_ACCEPT_LEN || memcmp(v, accept, vlen) != 0) {
        return -1;
    }
    return (long)hlen;
}

size_t
lg_ws_frame_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask)
{
    size_t h = 0;
    uint8_t key[4];
    const uint8_t *src = payload;

    out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) {
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
        }
    }
    memcpy(key, &mask, 4);
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < len; i++) {
        out[h + i] = src[i] ^ key[i & 3];
    }
    return h + len;
}

static bool
opcode_known(int op)
{
    return op == LG_WS_CONT || op == LG_WS_TEXT || op == LG_WS_BINARY || op == LG_WS_CLOSE ||
           op == LG_WS_PING || op == LG_WS_PONG;
}

long
lg_ws_frame_parse(uint8_t *buf, size_t len, size_t max_payload, lg_ws_frame_t *f)
{
    size_t h = 2;
    uint64_t plen;
    bool masked;

    if (len < 2) {
        return 0;
    }
    f->fin = (buf[0] & 0x80) != 0;
    f->opcode = buf[0] & 0x0f;
    if ((buf[0] & 0x70) != 0 || !opcode_known(f->opcode)) {
        return -1;
    }
    masked = (buf[1] & 0x80) != 0;
    plen = buf[1] & 0x7f;
    if (f->opcode >= LG_WS_CLOSE && (!f->fin || plen > 125)) {
        return -1; /* control frames are never fragmented and carry <= 125 bytes */
    }
    if (plen == 126) {
        if (len < 4) {
            return 0;
        }
        plen = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (plen == 127) {
        if (len < 10) {
            return 0;
        }
        plen = 0;
        for (int i = 0; i < 8; i++) {
            plen = plen << 8 | buf[2 + i];
        }
        h = 10;
        if (plen >> 63) {
            return -1;
        }
    }
    if (plen > max_payload) {
        return -1;
    }
    size_t mh = masked ? 4 : 0; /* servers must not mask; accept it anyway */
    if (len < h + mh + plen) {
        return 0;
    }
    f->payload = buf + h + mh;
    f->len = (size_t)plen;
    if (masked) {
        const uint8_t *key = buf + h;
        for (size_t i = 0; i < f->len; i++) {
            f->payload[i] ^= key[i & 3];
        }
    }
    return (long)(h + mh + plen);
}
