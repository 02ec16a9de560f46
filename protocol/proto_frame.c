/*
 * Client frames: JSON in, a validated proto_in_t out. A raw pass over the text
 * runs before cJSON (nesting cap, \u0000 escapes cJSON would silently cut a
 * string at), and the client_id is read before anything else can fail, so even
 * a refused send is answered with it: from cJSON's tree, or, when the frame
 * never gets one (too deep, not JSON), from the raw pass when it is written
 * plainly. No I/O, no globals.
 */
#define _GNU_SOURCE /* memmem */
#include "proto_frame.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "proto_blank.h"
#include "proto_surrogate.h"
#include "proto_url.h"
#include "proto_utf8.h"
#include "xalloc.h"

/* Client frames are flat objects; 32 levels leave room for unknown fields while
 * keeping cJSON (which recurses once per level, up to 1000) far from deep stacks. */
#define DEPTH_MAX 32
#define JS_SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */

/* Top-level fields whose string value is read, one bit each. */
enum {
    F_TYPE = 1u << 0,
    F_MESSAGE = 1u << 1,
    F_CLIENT_ID = 1u << 2,
    F_ROOM_ID = 1u << 3,
    F_ALL = F_TYPE | F_MESSAGE | F_CLIENT_ID | F_ROOM_ID,
};

static const struct {
    const char *name;
    unsigned bit;
} fields[] = {
    {"type", F_TYPE},
    {"message", F_MESSAGE},
    {"client_id", F_CLIENT_ID},
    {"room_id", F_ROOM_ID},
};

static const struct {
    const char *name;
    proto_in_type_t type;
} types[] = {
    {"chat_message", PROTO_IN_CHAT_MESSAGE},
    {"typing", PROTO_IN_TYPING},
    {"mark_read", PROTO_IN_MARK_READ},
    {"history", PROTO_IN_HISTORY},
    {"ping", PROTO_IN_PING},
};

/* Top-level members whose key holds \u0000 are known by their place among
 * the members, up to this many; one further on makes the frame bad_request. */
#define NUL_MEMBERS_MAX 64

/* What the raw pass found. */
typedef struct scan {
    bool too_deep;
    /* Top-level members whose key holds \u0000 (bit i: the i-th member).
     * cJSON cuts such a key at the NUL, where it could alias one of ours, so
     * they are taken out of the tree unread, as unknown fields. */
    uint64_t nul_members;
    bool nul_member_far; /* one past NUL_MEMBERS_MAX */
    unsigned nul_vals;   /* F_* of top-level fields whose value holds \u0000 */
    /* The first top-level client_id's raw string value, for a frame cJSON
     * never reads. */
    const char *cid;
    size_t cid_len;
    /* walk state */
    int depth;
    bool root_obj;
    bool expect_key;
    unsigned member; /* top-level members seen */
    unsigned key;    /* F_* of the current top-level key */
} scan_t;

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A raw key's escapes undone into name (cap bytes), as cJSON will read it:
 * its length, or -1 when it cannot be one of ours (longer than name, an
 * escape of U+0000 or past ASCII) or is no JSON string at all, which cJSON
 * refuses afterwards. The raw pass has not checked the text. */
static int
decode_key(const char *raw, size_t n, char *name, size_t cap)
{
    static const char plain[] = "\"\\/bfnrt", undone[] = "\"\\/\b\f\n\r\t";
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (c == '\\' && i + 1 < n && raw[i + 1] == 'u') {
            unsigned cp = 0;
            if (i + 5 >= n) { /* \uXXXX is raw[i..i+5] */
                return -1;
            }
            for (size_t d = i + 2; d < i + 6; d++) {
                int h = hex_digit(raw[d]);
                if (h < 0) {
                    return -1;
                }
                cp = cp * 16 + (unsigned)h;
            }
            if (cp == 0 || cp >= 0x80) {
                return -1;
            }
            c = (char)cp;
            i += 5;
        } else if (c == '\\') {
            const char *m = i + 1 < n && raw[i + 1] != '\0' ? strchr(plain, raw[i + 1]) : NULL;
            if (m == NULL) {
                return -1;
            }
            c = undone[m - plain];
            i++;
        }
        if (k + 1 >= cap) {
            return -1;
        }
        name[k++] = c;
    }
    return (int)k;
}

/* The F_* bit of a raw (still escaped) key without \u0000, decoded as cJSON
 * will: an escaped spelling ("mess\u0061ge") names the field too. */
static unsigned
field_bit(const char *raw, size_t n)
{
    char name[16];
    int len = decode_key(raw, n, name, sizeof(name));

    for (size_t i = 0; len >= 0 && i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].name) == (size_t)len &&
            memcmp(fields[i].name, name, (size_t)len) == 0) {
            return fields[i].bit;
        }
    }
    return 0;
}

/* From i (just past an opening quote), the index of the closing quote (len
 * when unterminated); *nul tells whether a \u0000 escape occurs. */
static size_t
string_end(const char *buf, size_t len, size_t i, bool *nul)
{
    *nul = false;
    while (i < len) {
        if (buf[i] == '"') {
            return i;
        }
        if (buf[i] == '\\') {
            if (i + 5 < len && buf[i + 1] == 'u' && memcmp(buf + i + 2, "0000", 4) == 0) {
                *nul = true;
            }
            i += 2; /* the escaped character can never close the string */
            continue;
        }
        i++;
    }
    return len;
}

static void
on_string(scan_t *sc, const char *raw, size_t n, bool nul)
{
    if (sc->depth == 1 && sc->root_obj && sc->expect_key) {
        unsigned i = sc->member++;
        sc->key = nul ? 0 : field_bit(raw, n);
        if (nul && i < NUL_MEMBERS_MAX) {
            sc->nul_members |= UINT64_C(1) << i;
        } else if (nul) {
            sc->nul_member_far = true;
        }
        sc->expect_key = false;
        return;
    }
    if (sc->depth == 1 && sc->key == F_CLIENT_ID && sc->cid == NULL) {
        sc->cid = raw;
        sc->cid_len = n;
    }
    if (nul && sc->depth >= 1) {
        sc->nul_vals |= sc->key;
    }
}

static void
on_punct(scan_t *sc, char c)
{
    if (c == '{' || c == '[') {
        if (++sc->depth > DEPTH_MAX) {
            sc->too_deep = true;
        }
        if (sc->depth == 1) {
            sc->root_obj = c == '{';
            sc->expect_key = sc->root_obj;
        }
    } else if ((c == '}' || c == ']') && sc->depth > 0) {
        sc->depth--; /* stray closers are cJSON's to refuse; keep depth sane */
    } else if (sc->depth == 1 && c == ',') {
        sc->expect_key = sc->root_obj;
    } else if (sc->depth == 1 && c == ':') {
        sc->expect_key = false;
    }
}

/* One linear pass with no recursion; the text need not be valid JSON (cJSON
 * decides that afterwards), this only has to be right when it is. */
static void
scan_json(const char *buf, size_t len, scan_t *sc)
{
    size_t i = 0;

    memset(sc, 0, sizeof(*sc));
    while (i < len && !sc->too_deep) {
        if (buf[i] == '"') {
            bool nul;
            size_t q = string_end(buf, len, i + 1, &nul);
            on_string(sc, buf + i + 1, q - (i + 1), nul);
            i = q < len ? q + 1 : len;
            continue;
        }
        on_punct(sc, buf[i]);
        i++;
    }
}

bool
proto_json_has_nul(const char *buf, size_t len)
{
    size_t i = 0;

    while (i < len) {
        if (buf[i] == '"') {
            bool nul;
            size_t q = string_end(buf, len, i + 1, &nul);
            if (nul) {
                return true;
            }
            i = q < len ? q + 1 : len;
            continue;
        }
        i++;
    }
    return false;
}

/* A JSON number that is a whole number in min..max (both within ±(2^53-1)). */
static bool
as_int(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
    double d;

    if (!cJSON_IsNumber(v)) {
        return false;
    }
    d = v->valuedouble;
    /* Range first: converting an out-of-range double to int64_t is undefined. */
    if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d) {
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static bool
present(const cJSON *v)
{
    return v != NULL && !cJSON_IsNull(v);
}

/* A bad_request and what was wrong with the frame. */
static proto_err_t
bad(proto_in_t *out, const char *why)
{
    out->why = why;
    return PROTO_ERR_BAD_REQUEST;
}

static const char why_client_id[] =
    "client_id must be a string of 1 to 128 bytes, without U+FFFD or a lone surrogate";

bool
proto_client_id_valid(const char *s, size_t n)
{
    return n > 0 && n <= PROTO_CLIENT_ID_MAX && memmem(s, n, "\xef\xbf\xbd", 3) == NULL;
}

static proto_err_t
parse_client_id(const cJSON *root, const scan_t *sc, proto_in_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "client_id");
    size_t n;

    if (!present(v)) {
        return PROTO_ERR_NONE;
    }
    if (!cJSON_IsString(v) || (sc->nul_vals & F_CLIENT_ID) != 0) {
        return bad(out, why_client_id);
    }
    n = strlen(v->valuestring);
    if (!proto_client_id_valid(v->valuestring, n)) {
        return bad(out, why_client_id);
    }
    memcpy(out->client_id, v->valuestring, n + 1);
    return PROTO_ERR_NONE;
}

/* room_id: a positive id as a JSON number or a digit string. */
static proto_err_t
parse_room_id(const cJSON *root, const scan_t *sc, proto_in_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "room_id");
    bool ok;

    if (!present(v)) {
        return PROTO_ERR_NONE;
    }
    if (cJSON_IsString(v)) {
        ok = (sc->nul_vals & F_ROOM_ID) == 0 &&
             proto_parse_id(v->valuestring, strlen(v->valuestring), &out->room_id) == 0;
    } else {
        ok = as_int(v, 1, JS_SAFE_MAX, &out->room_id);
    }
    if (!ok) {
        return bad(out, "room_id must be a positive integer");
    }
    out->has_room_id = true;
    return PROTO_ERR_NONE;
}

static proto_err_t
parse_chat(const cJSON *root, const scan_t *sc, size_t max_text, proto_in_t *out)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
    size_t n;

    /* A NUL would end the C string early and silently drop the rest. */
    if (!cJSON_IsString(msg) || (sc->nul_vals & F_MESSAGE) != 0) {
        return bad(out, "message must be a string without \\u0000");
    }
    n = strlen(msg->valuestring);
    /* Size before blankness: an over-long send is too_large whatever it holds. */
    if (n > max_text) {
        return PROTO_ERR_TOO_LARGE;
    }
    if (proto_text_blank(msg->valuestring, n)) {
        return bad(out, "message must not be blank");
    }
    if (parse_room_id(root, sc, out) != PROTO_ERR_NONE) {
        return PROTO_ERR_BAD_REQUEST;
    }
    out->text = xstrndup(msg->valuestring, n);
    out->text_len = n;
    return PROTO_ERR_NONE;
}

/* is_typing is optional and defaults to true: the frame itself says "typing". */
static proto_err_t
parse_typing(const cJSON *root, proto_in_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "is_typing");

    if (present(v) && !cJSON_IsBool(v)) {
        return bad(out, "is_typing must be a boolean");
    }
    out->is_typing = !present(v) || cJSON_IsTrue(v);
    return PROTO_ERR_NONE;
}

static proto_err_t
parse_mark_read(const cJSON *root, proto_in_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "seq");

    return as_int(v, 0, JS_SAFE_MAX, &out->seq) ? PROTO_ERR_NONE
                                                : bad(out, "seq must be an integer from 0");
}

/* limit is clamped rather than refused: asking for 0 or 5000 has an obvious
 * meaning. A negative one has none and is refused, as the API refuses it. */
static proto_err_t
parse_history(const cJSON *root, proto_in_t *out)
{
    const cJSON *before = cJSON_GetObjectItemCaseSensitive(root, "before_seq");
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(root, "limit");
    int64_t lim = PROTO_HISTORY_LIMIT_DEFAULT;

    if (present(before) && !as_int(before, 0, JS_SAFE_MAX, &out->before_seq)) {
        return bad(out, "before_seq must be an integer from 0");
    }
    if (present(limit) && !as_int(limit, 0, JS_SAFE_MAX, &lim)) {
        return bad(out, "limit must be an integer from 0");
    }
    if (lim < 1) {
        lim = 1;
    } else if (lim > PROTO_HISTORY_LIMIT_MAX) {
        lim = PROTO_HISTORY_LIMIT_MAX;
    }
    out->limit = (int)lim;
    return PROTO_ERR_NONE;
}

static proto_err_t
parse_fields(const cJSON *root, const scan_t *sc, size_t max_text, proto_in_t *out)
{
    switch (out->type) {
    case PROTO_IN_CHAT_MESSAGE:
        return parse_chat(root, sc, max_text, out);
    case PROTO_IN_TYPING:
        return parse_typing(root, out);
    case PROTO_IN_MARK_READ:
        return parse_mark_read(root, out);
    case PROTO_IN_HISTORY:
        return parse_history(root, out);
    case PROTO_IN_PING:
        return PROTO_ERR_NONE;
    }
    return PROTO_ERR_UNKNOWN_TYPE;
}

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Exactly one JSON value, with nothing after it but whitespace. NULL: invalid_json. */
cJSON *
proto_json_parse(const char *buf, size_t len)
{
    const char *end = NULL;
    cJSON *root;

    /* A raw NUL is never valid JSON, and cJSON would stop reading at it. */
    if (len == 0 || memchr(buf, '\0', len) != NULL) {
        return NULL;
    }
    char *mended = proto_json_mend_surrogates(buf, len);
    if (mended != NULL) {
        buf = mended;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    if (root != NULL) {
        while (end < buf + len && is_ws(*end)) {
            end++;
        }
        if (end != buf + len) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    free(mended);
    return root;
}

static proto_err_t
parse_object(const cJSON *root, const scan_t *sc, size_t max_text, proto_in_t *out)
{
    const cJSON *type;

    if (!cJSON_IsObject(root)) {
        return bad(out, "a frame must be a JSON object");
    }
    /* A send's client_id is its idempotency key, so a bad one is refused; on
     * any other frame it only labels the answer, and a bad one is ignored as
     * an unknown field would be (PROTOCOL.md §3). */
    bool bad_id = parse_client_id(root, sc, out) != PROTO_ERR_NONE;
    type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type) || (sc->nul_vals & F_TYPE) != 0) {
        return bad(out, "type must be a string");
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(type->valuestring, types[i].name) == 0) {
            out->type = types[i].type;
            if (bad_id && out->type == PROTO_IN_CHAT_MESSAGE) {
                return bad(out, why_client_id);
            }
            return parse_fields(root, sc, max_text, out);
        }
    }
    return PROTO_ERR_UNKNOWN_TYPE;
}

/* The raw pass's client_id for a frame refused before cJSON reads it: only
 * one written plainly (no escape, no control byte, UTF-8, not too long). */
static void
raw_client_id(const scan_t *sc, proto_in_t *out)
{
    if (sc->cid == NULL || !proto_client_id_valid(sc->cid, sc->cid_len) ||
        !proto_utf8_valid(sc->cid, sc->cid_len)) {
        return;
    }
    for (size_t i = 0; i < sc->cid_len; i++) {
        if (sc->cid[i] == '\\' || (unsigned char)sc->cid[i] < 0x20) {
            return;
        }
    }
    memcpy(out->client_id, sc->cid, sc->cid_len);
    out->client_id[sc->cid_len] = '\0';
}

/* Members whose key holds \u0000 leave the tree unread, last first so the
 * places of the others hold. */
static void
drop_nul_members(cJSON *root, uint64_t members)
{
    for (int i = NUL_MEMBERS_MAX - 1; i >= 0; i--) {
        if ((members >> i & 1) != 0) {
            cJSON_DeleteItemFromArray(root, i);
        }
    }
}

int
proto_in_parse(const char *buf, size_t len, size_t max_text, proto_in_t *out, proto_err_t *err)
{
    scan_t sc;
    cJSON *root;

    memset(out, 0, sizeof(*out));
    *err = PROTO_ERR_NONE;
    scan_json(buf, len, &sc);
    /* Decided before cJSON runs, so it never recurses on hostile depth. */
    if (sc.too_deep || sc.nul_member_far) {
        raw_client_id(&sc, out);
        *err = bad(out, sc.too_deep ? "the frame is nested too deeply" : "a key holds \\u0000");
        return -1;
    }
    root = proto_json_parse(buf, len);
    if (root == NULL) {
        raw_client_id(&sc, out);
        *err = PROTO_ERR_INVALID_JSON;
        return -1;
    }
    if (cJSON_IsObject(root)) {
        drop_nul_members(root, sc.nul_members);
    }
    *err = parse_object(root, &sc, max_text, out);
    cJSON_Delete(root);
    if (*err != PROTO_ERR_NONE) {
        proto_in_clear(out);
        return -1;
    }
    return 0;
}

void
proto_in_clear(proto_in_t *in)
{
    free(in->text);
    in->text = NULL;
    in->text_len = 0;
}
