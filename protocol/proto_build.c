/*
 * Server frames. Each builder makes one compact JSON string; the hub
 * serializes a frame once and hands the same bytes to every socket, which is
 * what makes the message object identical for sender and receivers. Strings
 * and integers are written by hand (as cJSON raw items) because cJSON can do
 * neither exactly: it stops strings at NUL and rounds integers past 2^53.
 */
#include "proto_build.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

cJSON *
proto_json_int(int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cJSON_CreateRaw(buf);
}

/* The length of the well-formed UTF-8 sequence at p (n bytes left), 0 if the
 * bytes there are not one (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;

    if (p[0] < 0x80) {
        return 1;
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        len = 2;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        len = 3;
        lo = p[0] == 0xE0 ? 0xA0 : 0x80; /* overlong */
        hi = p[0] == 0xED ? 0x9F : 0xBF; /* surrogates */
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        lo = p[0] == 0xF0 ? 0x90 : 0x80; /* overlong */
        hi = p[0] == 0xF4 ? 0x8F : 0xBF; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

/* Write one ASCII byte as JSON wants it inside a string; returns the bytes
 * written. Same spelling as cJSON, so hand-built and cJSON-built text agree. */
static size_t
put_ascii(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    static const char short_esc[][3] = {
        ['"'] = "\\\"", ['\\'] = "\\\\", ['\b'] = "\\b", ['\f'] = "\\f",
        ['\n'] = "\\n", ['\r'] = "\\r",  ['\t'] = "\\t",
    };

    if (c < sizeof(short_esc) / sizeof(short_esc[0]) && short_esc[c][0] != '\0') {
        memcpy(out, short_esc[c], 2);
        return 2;
    }
    if (c < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
    out[0] = (char)c;
    return 1;
}

/*
 * A JSON string literal of s (len bytes, NUL allowed and written as \u0000).
 * Bytes that are not well-formed UTF-8 become U+FFFD, one per byte: a text
 * frame must be valid UTF-8 or the browser fails the whole connection.
 */
static cJSON *
json_str(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *buf, *o;
    cJSON *item;

    /* Worst case per byte: "\u00XX" (6) or U+FFFD (3); plus quotes and NUL. */
    if (len > (SIZE_MAX - 3) / 6) {
        abort(); /* unreachable: every input has a hard size cap */
    }
    buf = xmalloc(len * 6 + 3);
    o = buf;
    *o++ = '"';
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(p + i, len - i);
        if (n == 1) {
            o += put_ascii(p[i], o);
        } else if (n == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            memcpy(o, p + i, n);
            o += n;
        }
        i += n != 0 ? n : 1;
    }
    *o++ = '"';
    *o = '\0';
    item = cJSON_CreateRaw(buf);
    free(buf);
    return item;
}

static void
add_int(cJSON *o, const char *key, int64_t v)
{
    cJSON_AddItemToObject(o, key, proto_json_int(v));
}

/* A string field; NULL becomes JSON null. */
static void
add_str(cJSON *o, const char *key, const char *s)
{
    cJSON_AddItemToObject(o, key, s != NULL ? json_str(s, strlen(s)) : cJSON_CreateNull());
}

static char *
finish(cJSON *o, size_t *len)
{
    char *s = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    if (s == NULL) {
        abort(); /* only on OOM, and xmalloc aborts first */
    }
    *len = strlen(s);
    return s;
}

static cJSON *
frame(const char *type)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "type", type);
    return o;
}

cJSON *
proto_user_json(const proto_user_t *u)
{
    cJSON *o;

    if (u == NULL || u->id == 0) {
        return cJSON_CreateNull();
    }
    o = cJSON_CreateObject();
    add_int(o, "id", u->id);
    add_str(o, "full_name", u->full_name != NULL ? u->full_name : "");
    add_str(o, "role", u->role);
    return o;
}

cJSON *
proto_msg_json(const proto_msg_t *m)
{
    cJSON *o = cJSON_CreateObject();

    add_int(o, "id", m->id);
    add_int(o, "room_id", m->room_id);
    add_int(o, "seq", m->seq);
    cJSON_AddItemToObject(o, "sender", proto_user_json(&m->sender));
    /* content_len, not strlen: proto_msg_t content may hold NUL bytes. */
    cJSON_AddItemToObject(
        o, "content",
        json_str(m->content != NULL ? m->content : "", m->content != NULL ? m->content_len : 0));
    add_str(o, "created_at", m->created_at);
    add_str(o, "client_id", m->client_id != NULL && m->client_id[0] != '\0' ? m->client_id : NULL);
    return o;
}

static cJSON *
room_json(const proto_room_t *r)
{
    cJSON *o = cJSON_CreateObject();

    add_int(o, "id", r->id);
    add_str(o, "type", r->type);
    add_str(o, "name", r->name);
    return o;
}

char *
proto_build_established(const proto_room_t *room, const proto_user_t *user,
                        const proto_participant_t *parts, size_t nparts, int64_t last_seq,
                        int64_t resumed_from, bool resume_truncated, size_t *len)
{
    cJSON *o = frame("connection_established");
    cJSON *arr = cJSON_CreateArray();

    add_int(o, "room_id", room->id);
    cJSON_AddItemToObject(o, "room", room_json(room));
    cJSON_AddItemToObject(o, "user", proto_user_json(user));
    for (size_t i = 0; i < nparts; i++) {
        cJSON *p = proto_user_json(&parts[i].user);
        cJSON_AddBoolToObject(p, "online", parts[i].online);
        add_int(p, "last_read_seq", parts[i].last_read_seq);
        cJSON_AddItemToArray(arr, p);
    }
    cJSON_AddItemToObject(o, "participants", arr);
    add_int(o, "last_seq", last_seq);
    if (resumed_from < 0) {
        cJSON_AddNullToObject(o, "resumed_from");
    } else {
        add_int(o, "resumed_from", resumed_from);
    }
    if (resume_truncated) {
        cJSON_AddTrueToObject(o, "resume_truncated");
    }
    return finish(o, len);
}

char *
proto_build_chat_message(const proto_msg_t *m, size_t *len)
{
    cJSON *o = frame("chat_message");

    cJSON_AddItemToObject(o, "message", proto_msg_json(m));
    return finish(o, len);
}

char *
proto_build_history(int64_t room_id, const proto_msg_t *msgs, size_t n, bool has_more, size_t *len)
{
    cJSON *o = frame("history");
    cJSON *arr = cJSON_CreateArray();

    add_int(o, "room_id", room_id);
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, proto_msg_json(&msgs[i]));
    }
    cJSON_AddItemToObject(o, "messages", arr);
    cJSON_AddBoolToObject(o, "has_more", has_more);
    return finish(o, len);
}

char *
proto_build_presence(int64_t room_id, const char *event, const proto_user_t *user,
                     const int64_t *online, size_t nonline, size_t *len)
{
    cJSON *o = frame("presence");
    cJSON *arr = cJSON_CreateArray();

    add_int(o, "room_id", room_id);
    add_str(o, "event", event);
    cJSON_AddItemToObject(o, "user", proto_user_json(user));
    for (size_t i = 0; i < nonline; i++) {
        cJSON_AddItemToArray(arr, proto_json_int(online[i]));
    }
    cJSON_AddItemToObject(o, "online", arr);
    return finish(o, len);
}

char *
proto_build_typing(int64_t room_id, const proto_user_t *user, bool is_typing, size_t *len)
{
    cJSON *o = frame("typing");

    add_int(o, "room_id", room_id);
    cJSON_AddItemToObject(o, "user", proto_user_json(user));
    cJSON_AddBoolToObject(o, "is_typing", is_typing);
    return finish(o, len);
}

char *
proto_build_read(int64_t room_id, int64_t user_id, int64_t seq, size_t *len)
{
    cJSON *o = frame("read");

    add_int(o, "room_id", room_id);
    add_int(o, "user_id", user_id);
    add_int(o, "seq", seq);
    return finish(o, len);
}

char *
proto_build_pong(size_t *len)
{
    return finish(frame("pong"), len);
}

char *
proto_build_error(proto_err_t err, const char *message, const char *client_id, size_t *len)
{
    cJSON *o = frame("error");

    add_str(o, "code", proto_err_code(err));
    add_str(o, "message", message != NULL ? message : proto_err_message(err));
    if (client_id != NULL && client_id[0] != '\0') {
        add_str(o, "client_id", client_id);
    }
    return finish(o, len);
}
