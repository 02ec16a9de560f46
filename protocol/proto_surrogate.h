/*
 * JSON text may escape a UTF-16 surrogate on its own ("\ud800"): RFC 8259
 * allows it, and JavaScript's JSON.stringify writes one for a string cut in
 * the middle of an emoji. No UTF-8 holds such a code point, so cJSON refuses
 * the whole text, and a send's answer would lose its client_id. A lone
 * surrogate is read as U+FFFD instead, as a browser's TextEncoder does.
 */
#ifndef CHATHUB_PROTO_SURROGATE_H
#define CHATHUB_PROTO_SURROGATE_H

#include <stddef.h>

/* NULL when buf (len bytes) escapes no lone surrogate; else a copy (len bytes
 * and a NUL, to free) with each lone "\uXXXX" surrogate escape rewritten in
 * place as "\ufffd", which has the same length. */
char *proto_json_mend_surrogates(const char *buf, size_t len);

#endif
