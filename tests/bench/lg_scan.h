/*
 * Just enough JSON reading for the hub's frames, without a parser: the hub
 * writes compact JSON, and every string the benchmark puts in a message is
 * its own ASCII, so a key's first occurrence is the field wanted. A quote
 * inside a string value is always escaped, so "key":" never matches inside one.
 */
#ifndef CHATHUB_LG_SCAN_H
#define CHATHUB_LG_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The frame's "type" is type. */
bool lg_scan_type_is(const char *s, size_t len, const char *type);

/* The integer after "key": into *out. 0, or -1 when absent or not a number. */
int lg_scan_int(const char *s, size_t len, const char *key, int64_t *out)
    __attribute__((warn_unused_result));

/* The string value of "key" (escapes left as they are): a pointer into s and
 * its length, or NULL when absent or not a string. */
const char *lg_scan_str(const char *s, size_t len, const char *key, size_t *vlen);

#endif
