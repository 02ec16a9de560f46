/*
 * Presence scripts' replies → ids and users (see hub_presence_reply.h).
 */
#include "hub_presence_reply.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "proto_build.h"
#include "xalloc.h"

int
hub_presence_parse_ids(const redisReply *s, int64_t **ids, size_t *n)
{
    const char *p;

    if (s == NULL || s->type != REDIS_REPLY_STRING) {
        return -1;
    }
    *n = s->len > 0 ? 1 : 0;
    for (size_t k = 0; k < s->len; k++) {
        *n += s->str[k] == ',';
    }
    *ids = xcalloc(*n + 1, sizeof(int64_t));
    p = s->str;
    for (size_t k = 0; k < *n; k++) {
        char *end;
        (*ids)[k] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

char *
hub_presence_user_json(const char *json, int64_t *id)
{
    cJSON *u = cJSON_Parse(json);
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(u, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(u, "full_name");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(u, "role");
    proto_user_t user = {cJSON_IsNumber(jid) ? (int64_t)jid->valuedouble : 0,
                         cJSON_IsString(name) ? name->valuestring : "",
                         cJSON_IsString(role) ? role->valuestring : ""};
    char *out = NULL;
    size_t len;

    if (user.id != 0) {
        out = proto_build_user(&user, &len);
    }
    *id = user.id;
    cJSON_Delete(u);
    return out;
}
