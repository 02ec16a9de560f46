/*
 * Client frames: JSON in, a validated proto_in_t out. The client_id is read
 * before anything else can fail, so even a refused send is answered with it.
 */
#include "proto_frame.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "proto_url.h"
#include "xalloc.h"

#define JS_SAFE_MAX 9007199254740991.0

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

/* A JSON number that is a whole number in 0..2^53-1. */
static bool
as_u53(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > JS_SAFE_MAX ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

/* cJSON decodes \u0000 into a NUL that silently ends its C string, so a NUL
 * escape is found in the raw text: one preceded by an even run of backslashes. */
static bool
has_nul_escape(const char *buf, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++) {
        if (buf[i] != '\\' || buf[i + 1] != 'u' || strncmp(buf + i + 2, "0000", 4) != 0) {
            continue;
        }
        size_t run = 0;
        while (run < i && buf[i - 1 - run] == '\\') {
            run++;
        }
        if (run % 2 == 0) {
            return true;
        }
    }
    return false;
}

static bool
is_blank(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
            return false;
        }
    }
    return true;
}

static proto_err_t
parse_client_id(const cJSON *root, proto_in_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "client_id");
    size_t n;

    if (v == NULL || cJSON_IsNull(v)) {
        return PROTO_ERR_NONE;
    }
    if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) == 0 || n > PROTO_CLIENT_ID_MAX) {
        return PROTO_ERR_BAD_REQUEST;
    }
    memcpy(out->client_id, v->valuestring, n + 1);
    return PROTO_ERR_NONE;
}

static proto_err_t
parse_chat(const cJSON *root, const char *buf, size_t len, size_t max_text, proto_in_t *out)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(root, "room_id");
    size_t n;

    if (!cJSON_IsString(msg) || has_nul_escape(buf, len)) {
        return PROTO_ERR_BAD_REQUEST;
    }
    n = strlen(msg->valuestring);
    if (n > max_text) {
        return PROTO_ERR_TOO_LARGE;
    }
    if (is_blank(msg->valuestring)) {
        return PROTO_ERR_BAD_REQUEST;
    }
    if (room != NULL && !cJSON_IsNull(room)) {
        bool ok =
            cJSON_IsString(room)
                ? proto_parse_id(room->valuestring, strlen(room->valuestring), &out->room_id) == 0
                : as_u53(room, &out->room_id) && out->room_id > 0;
        if (!ok) {
            return PROTO_ERR_BAD_REQUEST;
        }
        out->has_room_id = true;
    }
    out->text = xstrndup(msg->valuestring, n);
    out->text_len = n;
    return PROTO_ERR_NONE;
}

static proto_err_t
parse_history(const cJSON *root, proto_in_t *out)
{
    const cJSON *before = cJSON_GetObjectItemCaseSensitive(root, "before_seq");
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(root, "limit");
    int64_t lim = PROTO_HISTORY_LIMIT_DEFAULT;

    if (before != NULL && !cJSON_IsNull(before) && !as_u53(before, &out->before_seq)) {
        return PROTO_ERR_BAD_REQUEST;
    }
    if (limit != NULL && !cJSON_IsNull(limit) && !as_u53(limit, &lim)) {
        return PROTO_ERR_BAD_REQUEST;
    }
    out->limit = lim < 1 ? 1 : lim > PROTO_HISTORY_LIMIT_MAX ? PROTO_HISTORY_LIMIT_MAX : (int)lim;
    return PROTO_ERR_NONE;
}

static proto_err_t
parse_fields(const cJSON *root, const char *buf, size_t len, size_t max_text, proto_in_t *out)
{
    const cJSON *v;

    switch (out->type) {
    case PROTO_IN_CHAT_MESSAGE:
        return parse_chat(root, buf, len, max_text, out);
    case PROTO_IN_TYPING:
        v = cJSON_GetObjectItemCaseSensitive(root, "is_typing");
        if (v != NULL && !cJSON_IsBool(v)) {
            return PROTO_ERR_BAD_REQUEST;
        }
        out->is_typing = v == NULL || cJSON_IsTrue(v);
        return PROTO_ERR_NONE;
    case PROTO_IN_MARK_READ:
        v = cJSON_GetObjectItemCaseSensitive(root, "seq");
        return as_u53(v, &out->seq) ? PROTO_ERR_NONE : PROTO_ERR_BAD_REQUEST;
    case PROTO_IN_HISTORY:
        return parse_history(root, out);
    case PROTO_IN_PING:
        return PROTO_ERR_NONE;
    }
    return PROTO_ERR_UNKNOWN_TYPE;
}

static proto_err_t
parse(const char *buf, size_t len, size_t max_text, proto_in_t *out)
{
    cJSON *root;
    const cJSON *type;
    proto_err_t err = PROTO_ERR_UNKNOWN_TYPE;

    const char *end = NULL;

    if (len == 0 || memchr(buf, '\0', len) != NULL ||
        (root = cJSON_ParseWithLengthOpts(buf, len, &end, false)) == NULL) {
        return PROTO_ERR_INVALID_JSON;
    }
    /* One value and nothing after it but whitespace. */
    while (end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) {
        end++;
    }
    if (end != buf + len) {
        cJSON_Delete(root);
        return PROTO_ERR_INVALID_JSON;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return PROTO_ERR_BAD_REQUEST;
    }
    if (parse_client_id(root, out) != PROTO_ERR_NONE) {
        cJSON_Delete(root);
        return PROTO_ERR_BAD_REQUEST;
    }
    type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type)) {
        cJSON_Delete(root);
        return PROTO_ERR_BAD_REQUEST;
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(type->valuestring, types[i].name) == 0) {
            out->type = types[i].type;
            err = parse_fields(root, buf, len, max_text, out);
            break;
        }
    }
    cJSON_Delete(root);
    return err;
}

int
proto_in_parse(const char *buf, size_t len, size_t max_text, proto_in_t *out, proto_err_t *err)
{
    memset(out, 0, sizeof(*out));
    *err = parse(buf, len, max_text, out);
    if (*err != PROTO_ERR_NONE) {
        free(out->text);
        out->text = NULL;
        out->text_len = 0;
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
