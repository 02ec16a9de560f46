/*
 * Strict UTF-8 (RFC 3629): what PostgreSQL stores and JSON text must be
 * (RFC 8259 §8.1). Checked on API bodies before they are parsed, so a bad byte
 * is the caller's 400 and never a store error that names some other field.
 */
#ifndef CHATHUB_PROTO_UTF8_H
#define CHATHUB_PROTO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s (len bytes) is well-formed UTF-8: no overlong forms, no UTF-16
 * surrogates, nothing past U+10FFFF, no truncated sequence. */
bool proto_utf8_valid(const char *s, size_t len);

#endif
