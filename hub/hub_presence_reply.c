/*
 * Presence scripts' replies → ids and users (see hub_presence_reply.h).
 */
#include "hub_presence_reply.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>

#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_presence_order.h"
#include "hub_room.h"
#include "proto_build.h"
#include "proto_num.h"
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
        const char *end = proto_i64_parse(p, s->str + s->len, &(*ids)[k]);
        if (end == NULL) {
            free(*ids);
            *ids = NULL;
            return -1;
        }
        p = end < s->str + s->len && *end == ',' ? end + 1 : end;
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

void
hub_presence_announce_leaves(hub_t *hub, const redisReply *r)
{
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *x = r->element[i];
        int64_t *ids = NULL, id;
        size_t n = 0, len;
        char *json;
        if (x->type != REDIS_REPLY_ARRAY || x->elements != 4 ||
            x->element[0]->type != REDIS_REPLY_STRING ||
            x->element[1]->type != REDIS_REPLY_STRING ||
            x->element[3]->type != REDIS_REPLY_INTEGER ||
            (json = hub_presence_user_json(x->element[1]->str, &id)) == NULL) {
            continue;
        }
        if (hub_presence_parse_ids(x->element[2], &ids, &n) == 0) {
            int64_t room = strtoll(x->element[0]->str, NULL, 10);
            char *frame = proto_build_presence(room, "leave", json, ids, n, &len);
            log_info("presence.reaped", "room=%" PRId64 " user=%" PRId64, room, id);
            hub_deliver_presence(hub, room, frame, len, x->element[3]->integer,
                                 hub_presence_seen_has(hub_room_find(hub, room), id, true));
            free(ids);
        }
        free(json);
    }
}

int
hub_presence_parse_change(const redisReply *r, size_t i, int *ev, int64_t **ids, size_t *n,
                          int64_t *version, int64_t *last)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 4 * i + 4 ||
        r->element[4 * i]->type != REDIS_REPLY_INTEGER ||
        r->element[4 * i + 2]->type != REDIS_REPLY_INTEGER ||
        r->element[4 * i + 3]->type != REDIS_REPLY_INTEGER) {
        return -1;
    }
    *ev = (int)r->element[4 * i]->integer;
    *version = r->element[4 * i + 2]->integer;
    *last = r->element[4 * i + 3]->integer;
    return hub_presence_parse_ids(r->element[4 * i + 1], ids, n);
}
