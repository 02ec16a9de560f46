/*
 * Strict UTF-8 (RFC 3629): what PostgreSQL stores and JSON text must be
 * (RFC 8259 §8.1). Checked on API bodies before they are parsed, so a bad byte
 * is the caller's 400 and never a store error that names some other field;
 * and on WebSocket text piece by piece as it arrives (RFC 6455 §8.1), where a
 * character may be split between two frames or two reads.
 */
#ifndef CHATHUB_PROTO_UTF8_H
#define CHATHUB_PROTO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s (len bytes) is well-formed UTF-8: no overlong forms, no UTF-16
 * surrogates, nothing past U+10FFFF, no truncated sequence. */
bool proto_utf8_valid(const char *s, size_t len);

/* Where a check of text that comes in pieces stands between two of them: the
 * continuation bytes the last character still needs, and the range the next
 * one must be in. Zeroed: at the start of a text. */
typedef struct proto_utf8_stream {
    unsigned char need;
    unsigned char lo, hi;
} proto_utf8_stream_t;

/* Check the next len bytes of a text. False at the first byte that cannot
 * be UTF-8 whatever follows; st is then undefined. */
bool proto_utf8_feed(proto_utf8_stream_t *st, const unsigned char *p, size_t len);

/* Whether the text fed so far ends on a whole character. */
static inline bool
proto_utf8_complete(const proto_utf8_stream_t *st)
{
    return st->need == 0;
}

#endif
