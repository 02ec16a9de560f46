/*
 * Server frames. Each builder makes one compact JSON string; the hub
 * serializes a frame once and hands the same bytes to every socket, which is
 * what makes the message object identical for sender and receivers. The
 * JSON is written straight into one growing buffer, not through a cJSON tree
 * (a tree costs an allocation per value, and a frame is built per message and
 * per join); cJSON could not write strings and integers exactly anyway: it
 * stops strings at NUL and rounds integers past 2^53. The cJSON views for the
 * server API are raw items holding the same bytes.
 */
#include "proto_build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_num.h"
#include "xalloc.h"

cJSON *
proto_json_int(int64_t v)
{
    char buf[PROTO_I64_STR_MAX];

    proto_i64_str(buf, v);
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

/* 1 for the bytes a JSON string holds as they are: printable ASCII but '"'
 * and '\\'. One load a byte in jw_str's runs, where four comparisons were.
 * Sixteen bytes a row. */
/* clang-format off */
static const unsigned char json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

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
/* A growing JSON text. */
typedef struct jw {
    char *s;
    size_t len, cap;
} jw_t;

/* The first buffer: most frames fit, so most are built without a realloc (a
 * join's frames took seven each when this started at the first piece's
 * size), and it stays under the 1,008 bytes below which glibc serves a
 * request from its small bins without consolidating. */
#define JW_FIRST 960

static __attribute__((noinline)) void
jw_grow(jw_t *w, size_t n)
{
    size_t want = (w->len + n + 1) * 2;

    w->cap = w->cap == 0 && want < JW_FIRST ? JW_FIRST : want;
    w->s = xrealloc(w->s, w->cap);
}

/* Room for n more bytes and the NUL that jw_finish writes. */
static inline char *
jw_room(jw_t *w, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        jw_grow(w, n);
    }
    return w->s + w->len;
}

/* Inlined at every call, so that a literal's memcpy of known length is a
 * few moves: a join's frames make some 150 of these. */
static inline __attribute__((always_inline)) void
jw_raw(jw_t *w, const char *p, size_t n)
{
    memcpy(jw_room(w, n), p, n);
    w->len += n;
}

/* A literal fragment of the frame: keys, punctuation. */
#define JW_LIT(w, lit) jw_raw((w), (lit), sizeof(lit) - 1)

/* A JSON string of len bytes: escaped, and invalid UTF-8 replaced by U+FFFD. */
static void
jw_str(jw_t *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    /* Worst case per byte: "\u00XX" (6) or U+FFFD (3); plus the quotes. */
    if (len > (SIZE_MAX - 3) / 6) {
        abort(); /* unreachable: every input has a hard size cap */
    }
    char *o = jw_room(w, len * 6 + 2), *start = o;
    *o++ = '"';
    for (size_t i = 0; i < len;) {
        /* A run of printable ASCII needing no escape (most text), at once. */
        size_t run = i;
        while (run < len && json_plain[p[run]]) {
            run++;
        }
        if (run > i) {
            memcpy(o, p + i, run - i);
            o += run - i;
            i = run;
            continue;
        }
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
    w->len += (size_t)(o - start);
}

/* A C string, or null. */
static void
jw_cstr(jw_t *w, const char *s)
{
    if (s == NULL) {
        JW_LIT(w, "null");
    } else {
        jw_str(w, s, strlen(s));
    }
}

static void
jw_int(jw_t *w, int64_t v)
{
    w->len += proto_i64_str(jw_room(w, PROTO_I64_STR_MAX), v);
}

static void
jw_bool(jw_t *w, bool v)
{
    if (v) {
        JW_LIT(w, "true");
    } else {
        JW_LIT(w, "false");
    }
}

/* {"id","full_name","role"}, or null for a user with id 0. Leaves the object
 * open when open is true (the caller adds keys and the closing brace). */
static void
jw_user(jw_t *w, const proto_user_t *u, bool open)
{
    if (u == NULL || u->id == 0) {
        JW_LIT(w, "null");
        return;
    }
    JW_LIT(w, "{\"id\":");
    jw_int(w, u->id);
    JW_LIT(w, ",\"full_name\":");
    jw_cstr(w, u->full_name != NULL ? u->full_name : "");
    JW_LIT(w, ",\"role\":");
    jw_cstr(w, u->role);
    if (!open) {
        JW_LIT(w, "}");
    }
}

static void
jw_msg(jw_t *w, const proto_msg_t *m)
{
    JW_LIT(w, "{\"id\":");
    jw_int(w, m->id);
    JW_LIT(w, ",\"room_id\":");
    jw_int(w, m->room_id);
    JW_LIT(w, ",\"seq\":");
    jw_int(w, m->seq);
    JW_LIT(w, ",\"sender\":");
    jw_user(w, &m->sender, false);
    JW_LIT(w, ",\"content\":");
    /* content_len, not strlen: proto_msg_t content may hold NUL bytes. */
    jw_str(w, m->content != NULL ? m->content : "", m->content != NULL ? m->content_len : 0);
    JW_LIT(w, ",\"created_at\":");
    jw_cstr(w, m->created_at);
    JW_LIT(w, ",\"client_id\":");
    jw_cstr(w, m->client_id != NULL && m->client_id[0] != '\0' ? m->client_id : NULL);
    JW_LIT(w, "}");
}

/* Every builder writes something, so w->s is there, with room for the NUL. */
static char *
jw_finish(jw_t *w, size_t *len)
{
    w->s[w->len] = '\0';
    *len = w->len;
    return w->s;
}

static cJSON *
jw_raw_item(jw_t *w)
{
    w->s[w->len] = '\0';
    cJSON *item = cJSON_CreateRaw(w->s);

    free(w->s);
    return item;
}

char *
proto_build_user(const proto_user_t *u, size_t *len)
{
    jw_t w = {0};

    jw_user(&w, u, false);
    return jw_finish(&w, len);
}

cJSON *
proto_msg_json(const proto_msg_t *m)
{
    jw_t w = {0};

    jw_msg(&w, m);
    return jw_raw_item(&w);
}

char *
proto_build_established(const proto_room_t *room, const proto_user_t *user,
                        const proto_participant_t *parts, size_t nparts, int64_t last_seq,
                        int64_t resumed_from, bool resume_truncated, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"connection_established\",\"room_id\":");
    jw_int(&w, room->id);
    JW_LIT(&w, ",\"room\":{\"id\":");
    jw_int(&w, room->id);
    JW_LIT(&w, ",\"type\":");
    jw_cstr(&w, room->type);
    JW_LIT(&w, ",\"name\":");
    jw_cstr(&w, room->name);
    JW_LIT(&w, "},\"user\":");
    jw_user(&w, user, false);
    JW_LIT(&w, ",\"participants\":[");
    for (size_t i = 0; i < nparts; i++) {
        if (i > 0) {
            JW_LIT(&w, ",");
        }
        if (parts[i].user.id == 0) {
            /* cJSON could not add keys to null: such an entry stayed null. */
            JW_LIT(&w, "null");
            continue;
        }
        jw_user(&w, &parts[i].user, true);
        JW_LIT(&w, ",\"online\":");
        jw_bool(&w, parts[i].online);
        JW_LIT(&w, ",\"last_read_seq\":");
        jw_int(&w, parts[i].last_read_seq);
        JW_LIT(&w, "}");
    }
    JW_LIT(&w, "],\"last_seq\":");
    jw_int(&w, last_seq);
    JW_LIT(&w, ",\"resumed_from\":");
    if (resumed_from < 0) {
        JW_LIT(&w, "null");
    } else {
        jw_int(&w, resumed_from);
    }
    if (resume_truncated) {
        JW_LIT(&w, ",\"resume_truncated\":true");
    }
    JW_LIT(&w, "}");
    return jw_finish(&w, len);
}

char *
proto_build_chat_message(const proto_msg_t *m, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"chat_message\",\"message\":");
    jw_msg(&w, m);
    JW_LIT(&w, "}");
    return jw_finish(&w, len);
}

char *
proto_build_history(int64_t room_id, const proto_msg_t *msgs, size_t n, bool has_more,
                    const char *client_id, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"history\",\"room_id\":");
    jw_int(&w, room_id);
    JW_LIT(&w, ",\"messages\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            JW_LIT(&w, ",");
        }
        jw_msg(&w, &msgs[i]);
    }
    JW_LIT(&w, "],\"has_more\":");
    jw_bool(&w, has_more);
    if (client_id != NULL && client_id[0] != '\0') {
        JW_LIT(&w, ",\"client_id\":");
        jw_cstr(&w, client_id);
    }
    JW_LIT(&w, "}");
    return jw_finish(&w, len);
}

char *
proto_build_presence(int64_t room_id, const char *event, const char *user_json,
                     const int64_t *online, size_t nonline, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"presence\",\"room_id\":");
    jw_int(&w, room_id);
    JW_LIT(&w, ",\"event\":");
    jw_cstr(&w, event);
    JW_LIT(&w, ",\"user\":");
    jw_raw(&w, user_json, strlen(user_json));
    JW_LIT(&w, ",\"online\":[");
    /* Ascending, wherever the list came from: Redis keeps a room's users in
     * the order they came, a node's own counts do not. */
    int64_t *sorted = xmalloc((nonline + 1) * sizeof(*sorted));
    if (nonline > 0) {
        memcpy(sorted, online, nonline * sizeof(*sorted));
        qsort(sorted, nonline, sizeof(*sorted), proto_i64_cmp);
    }
    for (size_t i = 0; i < nonline; i++) {
        if (i > 0) {
            JW_LIT(&w, ",");
        }
        jw_int(&w, sorted[i]);
    }
    free(sorted);
    JW_LIT(&w, "]}");
    return jw_finish(&w, len);
}

char *
proto_build_typing(int64_t room_id, const proto_user_t *user, bool is_typing, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"typing\",\"room_id\":");
    jw_int(&w, room_id);
    JW_LIT(&w, ",\"user\":");
    jw_user(&w, user, false);
    JW_LIT(&w, ",\"is_typing\":");
    jw_bool(&w, is_typing);
    JW_LIT(&w, "}");
    return jw_finish(&w, len);
}

char *
proto_build_read(int64_t room_id, int64_t user_id, int64_t seq, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"read\",\"room_id\":");
    jw_int(&w, room_id);
    JW_LIT(&w, ",\"user_id\":");
    jw_int(&w, user_id);
    JW_LIT(&w, ",\"seq\":");
    jw_int(&w, seq);
    JW_LIT(&w, "}");
    return jw_finish(&w, len);
}

char *
proto_build_pong(size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"pong\"}");
    return jw_finish(&w, len);
}

char *
proto_build_error(proto_err_t err, const char *message, const char *client_id, size_t *len)
{
    jw_t w = {0};

    JW_LIT(&w, "{\"type\":\"error\",\"code\":");
    jw_cstr(&w, proto_err_code(err));
    JW_LIT(&w, ",\"message\":");
    jw_cstr(&w, message != NULL ? message : proto_err_message(err));
    if (client_id != NULL && client_id[0] != '\0') {
        JW_LIT(&w, ",\"client_id\":");
        jw_cstr(&w, client_id);
    }
    JW_LIT(&w, "}");
    return jw_finish(&w, len);
}
