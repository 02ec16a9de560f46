/*
 * A strict walk over the members of one JSON object (RFC 8259) that builds no
 * tree and allocates nothing: every connect's token is read for five claims,
 * and cJSON's tree (a node and a copy of the key for each member) was most of
 * that read. Stricter than cJSON, never laxer: only JSON's four blanks, no
 * byte order mark, no raw control byte in a string, no lone surrogate escape,
 * numbers as the grammar spells them and at most 63 characters long, and at
 * most PROTO_JSON_DEPTH_MAX levels of nesting.
 */
#ifndef CHATHUB_PROTO_JSONWALK_H
#define CHATHUB_PROTO_JSONWALK_H

#include <stddef.h>

#define PROTO_JSON_DEPTH_MAX 32
#define PROTO_JSON_KEY_MAX 32 /* a longer key is passed as NULL: it names nothing we read */

typedef enum proto_jv_kind {
    PROTO_JV_STRING,
    PROTO_JV_NUMBER,
    PROTO_JV_TRUE,
    PROTO_JV_FALSE,
    PROTO_JV_NULL,
    PROTO_JV_OBJECT,
    PROTO_JV_ARRAY,
} proto_jv_kind_t;

/* A member's value: its kind and its text, for a string the part between the
 * quotes, escapes and all. Points into the walked text. */
typedef struct proto_jv {
    proto_jv_kind_t kind;
    const char *text;
    size_t len;
} proto_jv_t;

/* Called for each member in order with its key decoded (proto_json_string's
 * rules), or NULL when the key does not fit PROTO_JSON_KEY_MAX. Non-zero stops
 * the walk. */
typedef int (*proto_json_member_cb)(void *ud, const char *key, const proto_jv_t *v);

/* 0 when text (len bytes) is one JSON object with only blanks around it and
 * fn returned 0 for every member; -1 otherwise. */
int proto_json_walk_object(const char *text, size_t len, proto_json_member_cb fn, void *ud);

/* A string value decoded into out (cap bytes, NUL included): escapes undone,
 * and a \u escape of U+0000 or of a code point past ASCII written as the byte
 * 0xFF, so that a decoded string equals an ASCII one only when it spells it.
 * The length, or -1 when v is not a string or does not fit. */
int proto_json_string(const proto_jv_t *v, char *out, size_t cap);

/* A number value as strtod reads it (the hub never sets a locale): 0, or -1
 * when v is not a number. */
int proto_json_number(const proto_jv_t *v, double *out);

#endif
