/*
 * libFuzzer target: the JSON object walk never crashes, never takes text that
 * cJSON refuses (it is the stricter of the two), and hands out the members
 * cJSON reads, in order, each value's text inside the input.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_jsonwalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEPT 64 /* members compared; the rest are only counted */

typedef struct walked {
    const char *text;
    size_t len;
    size_t n;
    char keys[KEPT][PROTO_JSON_KEY_MAX];
    bool key_null[KEPT];
    proto_jv_t v[KEPT];
} walked_t;

static void
check(bool cond)
{
    if (!cond) {
        abort();
    }
}

static int
on_member(void *ud, const char *key, const proto_jv_t *v)
{
    walked_t *w = ud;

    check(v->text >= w->text && v->len <= w->len && v->text + v->len <= w->text + w->len);
    if (w->n < KEPT) {
        w->key_null[w->n] = key == NULL;
        if (key != NULL) {
            strcpy(w->keys[w->n], key);
        }
        w->v[w->n] = *v;
    }
    w->n++;
    return 0;
}

/* Member i as the walk gave it against cJSON's reading of the same text. */
static void
compare(const walked_t *w, size_t i, const cJSON *c)
{
    const proto_jv_t *v = &w->v[i];
    char buf[64];
    double d;

    /* A key decoded with no 0xFF stand-in is cJSON's, byte for byte. */
    if (!w->key_null[i] && strchr(w->keys[i], '\xff') == NULL) {
        check(strcmp(w->keys[i], c->string) == 0);
    }
    switch (v->kind) {
    case PROTO_JV_STRING:
        check(cJSON_IsString(c));
        if (proto_json_string(v, buf, sizeof(buf)) >= 0 && strchr(buf, '\xff') == NULL) {
            check(strcmp(buf, c->valuestring) == 0);
        }
        break;
    case PROTO_JV_NUMBER:
        check(cJSON_IsNumber(c) && proto_json_number(v, &d) == 0 && d == c->valuedouble);
        break;
    case PROTO_JV_TRUE:
        check(cJSON_IsTrue(c));
        break;
    case PROTO_JV_FALSE:
        check(cJSON_IsFalse(c));
        break;
    case PROTO_JV_NULL:
        check(cJSON_IsNull(c));
        break;
    case PROTO_JV_OBJECT:
        check(cJSON_IsObject(c) && v->text[0] == '{' && v->text[v->len - 1] == '}');
        break;
    case PROTO_JV_ARRAY:
        check(cJSON_IsArray(c) && v->text[0] == '[' && v->text[v->len - 1] == ']');
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *end = NULL;
    walked_t *w = calloc(1, sizeof(*w));
    const cJSON *c;
    cJSON *j;
    size_t i;

    w->text = text;
    w->len = size;
    if (proto_json_walk_object(text, size, on_member, w) < 0) {
        free(w);
        return 0;
    }
    /* Taken: no NUL anywhere (cJSON would stop there), and cJSON takes it too,
     * as one object with only blanks after it, with the same members. */
    check(memchr(data, '\0', size) == NULL);
    j = cJSON_ParseWithLengthOpts(text, size, &end, false);
    check(cJSON_IsObject(j) && end != NULL && end >= text && end <= text + size);
    for (const char *p = end; p < text + size; p++) {
        check(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n');
    }
    for (i = 0, c = j->child; c != NULL; i++, c = c->next) {
        check(i < w->n);
        if (i < KEPT) {
            compare(w, i, c);
        }
    }
    check(i == w->n);
    cJSON_Delete(j);
    free(w);
    return 0;
}
