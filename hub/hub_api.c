/*
 * Server API handlers: check the key, parse the body, make one store call,
 * answer. Types and ranges are checked here; the schema enforces the rest
 * and its refusals come back as store_err_* and become 4xx answers.
 */
#include "hub_api.h"
#include "hub_api_internal.h"
#include "hub_api_sync.h"
#include "hub_presence.h"

#include <libwebsockets.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_conn.h"
#include "hub_control.h"
#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_room.h"
#include "proto_blank.h"
#include "proto_build.h"
#include "proto_frame.h"
#include "proto_num.h"
#include "proto_utf8.h"
#include "store_msg.h"
#include "store_room.h"
#include "xalloc.h"

#define API_HISTORY_LIMIT_MAX 1000

#define MEMBERS_MAX 10000 /* named in error messages */
#define IDEMPOTENCY_KEY_MAX 255

typedef void (*api_fn)(hub_t *hub, hub_http_req_t *req);

typedef struct api_route {
    proto_api_route_t route;
    int method;
    api_fn fn;
} api_route_t;

/* JSON helpers: ids are integers in 1..2^53-1, as numbers or digit strings. */

int
hub_api_json_id(const cJSON *item, int64_t *out)
{
    if (cJSON_IsString(item)) {
        return proto_parse_id(item->valuestring, strlen(item->valuestring), out);
    }
    if (!cJSON_IsNumber(item) || item->valuedouble < 1 || item->valuedouble > 9007199254740991.0 ||
        floor(item->valuedouble) != item->valuedouble) {
        return -1;
    }
    *out = (int64_t)item->valuedouble;
    return 0;
}

/* members: an array of ids, at most MEMBERS_MAX. *out is malloc'd (free it). */
int
hub_api_json_ids(const cJSON *arr, int64_t **out, size_t *n)
{
    size_t i = 0;
    const cJSON *it;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > MEMBERS_MAX) {
        return -1;
    }
    *out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(int64_t));
    cJSON_ArrayForEach(it, arr)
    {
        if (hub_api_json_id(it, &(*out)[i++]) < 0) {
            free(*out);
            *out = NULL;
            return -1;
        }
    }
    *n = i;
    return 0;
}

/* An optional string field: NULL when absent; -1 when present but not a string or too long. */
int
hub_api_json_str(const cJSON *obj, const char *key, size_t max, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    if (!cJSON_IsString(it) || strlen(it->valuestring) > max) {
        return -1;
    }
    *out = it->valuestring;
    return 0;
}

/* POST /api/v1/rooms, PUT /api/v1/rooms/{id} */

/* 409 naming the room that already holds the DIRECT pair: a platform that
 * keeps its own ids learns which one the hub uses for these two users. */
static void
reply_direct_conflict(hub_http_req_t *req, int64_t room_id)
{
    char msg[96];
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");

    snprintf(msg, sizeof(msg), "these two users already have DIRECT room %lld", (long long)room_id);
    cJSON_AddStringToObject(e, "code", "conflict");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToObject(e, "room_id", proto_json_int(room_id));
    hub_http_reply_json(req, 409, j);
}

/* The answer to a room write; removed (PUT only, else NULL) is taken. */
static void
reply_room(hub_http_req_t *req, int64_t room_id, bool created, cJSON *removed, const char *err)
{
    if (err == store_err_conflict && room_id > 0) {
        reply_direct_conflict(req, room_id);
    } else if (!hub_api_reply_store_err(req, err)) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "id", proto_json_int((int64_t)room_id));
        cJSON_AddBoolToObject(j, "created", created);
        if (removed != NULL) {
            cJSON_AddItemToObject(j, "removed", removed);
            removed = NULL;
        }
        hub_http_reply_json(req, created ? 201 : 200, j);
    }
    cJSON_Delete(removed);
}

static void
on_room_done(void *ud, int64_t room_id, bool created, const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    if (req != NULL) {
        reply_room(req, room_id, created, NULL, err);
    }
}

static void
on_room_put_done(void *ud, int64_t room_id, bool created, const int64_t *removed, size_t nremoved,
                 const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);
    cJSON *ids = cJSON_CreateArray();

    for (size_t i = 0; i < nremoved; i++) {
        /* Not in the new member list: their live sockets in the room go on
         * every node (4403), even when the caller has gone. */
        hub_control_close_user(hub, removed[i], room_id, PROTO_ERR_FORBIDDEN);
        cJSON_AddItemToArray(ids, proto_json_int(removed[i]));
    }
    if (req != NULL) {
        reply_room(req, room_id, created, ids, err);
    } else {
        cJSON_Delete(ids);
    }
}

static int
room_fields(hub_http_req_t *req, const char **type, const char **name, int64_t **members, size_t *n)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(req->json, "members");

    *members = NULL;
    *n = 0;
    if (hub_api_json_str(req->json, "type", 32, type) < 0 || *type == NULL ||
        hub_api_json_str(req->json, "name", HUB_API_NAME_MAX, name) < 0) {
        hub_api_bad_request(req,
                            "type must be a room type and name a string of at most 1024 bytes");
        return -1;
    }
    if (m != NULL && hub_api_json_ids(m, members, n) < 0) {
        hub_api_bad_request(req, "members must be an array of at most 10000 user ids");
        return -1;
    }
    return 0;
}

/* DIRECT: exactly two distinct members, for POST and PUT alike (400 otherwise). */
static bool
direct_members_ok(hub_http_req_t *req, const char *type, const int64_t *members, size_t n)
{
    if (strcmp(type, "DIRECT") == 0 && (n != 2 || members[0] == members[1])) {
        hub_api_bad_request(req, "a DIRECT room has exactly two distinct members");
        return false;
    }
    return true;
}

/* The Idempotency-Key header into buf: 1 present, 0 absent, -1 answered 400
 * (empty, longer than IDEMPOTENCY_KEY_MAX or not visible ASCII). */
static int
idempotency_key(hub_http_req_t *req, char *buf, size_t len)
{
    static const char hdr[] = "idempotency-key:"; /* lws keeps custom names lower-case */
    int n = lws_hdr_custom_length(req->wsi, hdr, (int)sizeof(hdr) - 1);

    if (n < 0) {
        return 0;
    }
    if (n == 0 || (size_t)n >= len ||
        lws_hdr_custom_copy(req->wsi, buf, (int)len, hdr, (int)sizeof(hdr) - 1) != n) {
        hub_api_bad_request(req, "Idempotency-Key must be 1..255 visible ASCII characters");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (buf[i] < 0x21 || buf[i] > 0x7e) {
            hub_api_bad_request(req, "Idempotency-Key must be 1..255 visible ASCII characters");
            return -1;
        }
    }
    return 1;
}

static void
api_rooms_post(hub_t *hub, hub_http_req_t *req)
{
    const char *type, *name;
    int64_t *members;
    size_t n;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    int has_key = idempotency_key(req, key, sizeof(key));

    if (has_key < 0 || room_fields(req, &type, &name, &members, &n) < 0) {
        return;
    }
    if (strcmp(type, "GROUP") != 0 && strcmp(type, "DIRECT") != 0) {
        free(members);
        hub_api_bad_request(req, "type must be GROUP or DIRECT");
        return;
    }
    if (!direct_members_ok(req, type, members, n)) {
        free(members);
        return;
    }
    hub_ref_t *ref = hub_ref_new(hub, req->id);
    /* Without the header a request is as before: a GROUP room each time. */
    if (store_room_create_once(hub->store, has_key > 0 ? key : NULL, type, name != NULL ? name : "",
                               members, n, on_room_done, ref) < 0) {
        hub_api_not_queued(req, ref);
    }
    free(members);
}

static void
api_room_put(hub_t *hub, hub_http_req_t *req)
{
    const char *type, *name;
    int64_t *members;
    size_t n;

    if (room_fields(req, &type, &name, &members, &n) < 0) {
        return;
    }
    if (strcmp(type, "GENERAL") == 0 || req->api.id >= STORE_ROOM_HUB_ID_BASE) {
        free(members);
        hub_api_bad_request(req, "type must not be GENERAL and the id must be below 10^15");
        return;
    }
    if (strcmp(type, "GROUP") != 0 && strcmp(type, "DIRECT") != 0 &&
        strcmp(type, "FORUM_SUBJECT") != 0 && strcmp(type, "FORUM_TUTOR") != 0) {
        /* The store refused it too, but as a member it did not know. */
        free(members);
        hub_api_bad_request(req, "type must be GROUP, DIRECT, FORUM_SUBJECT or FORUM_TUTOR");
        return;
    }
    if (!direct_members_ok(req, type, members, n)) {
        free(members);
        return;
    }
    hub_ref_t *ref = hub_ref_new(hub, req->id);
    bool has_members = cJSON_GetObjectItemCaseSensitive(req->json, "members") != NULL;
    if (store_room_put(hub->store, req->api.id, type, name != NULL ? name : "", has_members,
                       members, n, on_room_put_done, ref) < 0) {
        hub_api_not_queued(req, ref);
    }
    free(members);
}

/* PUT/DELETE /api/v1/rooms/{id}/participants/{user_id} */

/* What the answer needs, also when the caller has gone by then; the ref
 * first, as hub_api_take_req() frees it. */
typedef struct participant_call {
    hub_ref_t ref;
    int64_t room_id, user_id;
    bool removing;
} participant_call_t;

static void
on_participant_done(void *ud, const char *err)
{
    participant_call_t call = *(participant_call_t *)ud; /* the take frees ud */
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    if (err == NULL && call.removing) {
        /* Removed: their live sockets in the room go now (4403), on every
         * node, even when the caller has gone. */
        hub_control_close_user(hub, call.user_id, call.room_id, PROTO_ERR_FORBIDDEN);
    }
    if (req == NULL) {
        return;
    }
    if (err == store_err_conflict) {
        hub_http_reply_error(req, 409, "conflict", "a DIRECT room is for its two users only");
        return;
    }
    if (err == store_err_invalid) {
        hub_http_reply_error(req, 404, NULL, "no such user"); /* the path's user_id */
        return;
    }
    if (hub_api_reply_store_err(req, err)) {
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "room_id", proto_json_int(call.room_id));
    cJSON_AddItemToObject(j, "user_id", proto_json_int(call.user_id));
    hub_http_reply_json(req, 200, j);
}

static void
api_participant(hub_t *hub, hub_http_req_t *req)
{
    participant_call_t *call = xcalloc(1, sizeof(*call));
    int rc;

    call->ref = (hub_ref_t){hub, req->id};
    call->room_id = (int64_t)req->api.id;
    call->user_id = (int64_t)req->api.id2;
    call->removing = req->method == LWSHUMETH_DELETE;
    rc = call->removing ? store_participant_remove(hub->store, call->room_id, call->user_id,
                                                   on_participant_done, call)
                        : store_participant_add(hub->store, call->room_id, call->user_id,
                                                on_participant_done, call);
    if (rc < 0) {
        hub_api_not_queued(req, &call->ref);
    }
}

/* POST/GET /api/v1/rooms/{id}/messages */

static void
on_api_sent(hub_t *hub, uint64_t id, const proto_msg_t *msg, hub_buf_t *frame, bool duplicate,
            const char *err, const char *client_id)
{
    hub_http_req_t *req = hub_http_lookup(hub, id);

    (void)frame;
    (void)client_id;
    if (req == NULL || hub_api_reply_store_err(req, err)) {
        return;
    }
    hub_http_reply_json(req, duplicate ? 200 : 201, proto_msg_json(msg));
}

static void
api_messages_post(hub_t *hub, hub_http_req_t *req)
{
    const cJSON *sender = cJSON_GetObjectItemCaseSensitive(req->json, "sender_id");
    const char *content = NULL, *client_id = NULL;
    store_msg_in_t in = {.room_id = req->api.id};

    if (sender != NULL && !cJSON_IsNull(sender) && hub_api_json_id(sender, &in.sender_id) < 0) {
        hub_api_bad_request(req, "sender_id must be a user id");
        return;
    }
    if (hub_api_json_str(req->json, "content", (size_t)hub->cfg->max_message_bytes, &content) < 0 ||
        content == NULL || proto_text_blank(content, strlen(content))) {
        hub_api_bad_request(req, "content must be a non-blank string within HUB_MAX_MESSAGE_BYTES");
        return;
    }
    if (hub_api_json_str(req->json, "client_id", PROTO_CLIENT_ID_MAX, &client_id) < 0 ||
        (client_id != NULL && !proto_client_id_valid(client_id, strlen(client_id)))) {
        hub_api_bad_request(
            req,
            "client_id must be a string of 1 to 128 bytes, without U+FFFD or a lone surrogate");
        return;
    }
    in.content = content;
    in.content_len = strlen(content);
    in.client_id = client_id;
    hub_deliver_send(hub, &in, on_api_sent, req->id);
}

static void
on_history(void *ud, const proto_msg_t *msgs, size_t n, bool has_more, const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    if (req == NULL || hub_api_reply_store_err(req, err)) {
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "room_id", proto_json_int((int64_t)req->api.id));
    cJSON *arr = cJSON_AddArrayToObject(j, "messages");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, proto_msg_json(&msgs[i]));
    }
    cJSON_AddBoolToObject(j, "has_more", has_more);
    hub_http_reply_json(req, 200, j);
}

/* An optional non-negative integer argument: 0 with *out set, 0 with *out
 * untouched when absent or empty ("?before_seq=&limit=" as PROTOCOL.md writes
 * it), -1 when it is not a number. */
static int
query_u53(hub_http_req_t *req, const char *name, int64_t *out)
{
    char buf[32];
    const char *v = hub_http_query(req, name, buf, sizeof(buf));

    return v == NULL || *v == '\0' ? 0 : proto_parse_u53(v, strlen(v), out);
}

static void
api_messages_get(hub_t *hub, hub_http_req_t *req)
{
    /* after_seq 0 is a value ("from the start"), so absence has its own. */
    int64_t before = 0, after = STORE_SEQ_NONE, limit = PROTO_HISTORY_LIMIT_DEFAULT;

    if (query_u53(req, "before_seq=", &before) < 0 || query_u53(req, "after_seq=", &after) < 0 ||
        query_u53(req, "limit=", &limit) < 0) {
        hub_api_bad_request(req, "before_seq, after_seq and limit must be non-negative integers");
        return;
    }
    /* The backend may page in bigger steps than a socket (PROTOCOL.md caps sockets at 100). */
    limit = limit < 1 ? 1 : limit > API_HISTORY_LIMIT_MAX ? API_HISTORY_LIMIT_MAX : limit;
    hub_ref_t *ref = hub_ref_new(hub, req->id);
    if (store_msg_history(hub->store, req->api.id, before, after, (int)limit, on_history, ref) <
        0) {
        hub_api_not_queued(req, ref);
    }
}

/* GET /api/v1/rooms/{id}/presence, POST /api/v1/users/{id}/disconnect */

static void
on_presence(hub_t *hub, uint64_t id, const int64_t *online, size_t n, void *ud)
{
    hub_http_req_t *req = hub_http_lookup(hub, id);

    (void)ud;
    if (req == NULL) {
        return;
    }
    if (online == NULL) {
        hub_http_reply_error(req, 503, NULL, "unavailable"); /* the node is stopping */
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "room_id", proto_json_int(req->api.id));
    cJSON *arr = cJSON_AddArrayToObject(j, "online");
    int64_t *sorted = xmalloc((n + 1) * sizeof(*sorted));
    memcpy(sorted, online, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), proto_i64_cmp); /* ascending, as presence frames list it */
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, proto_json_int(sorted[i]));
    }
    free(sorted);
    hub_http_reply_json(req, 200, j);
}

/* The room must exist, as for every room call; a store that does not answer
 * only skips that check, since the list itself is Redis's. */
static void
on_presence_room(void *ud, const int64_t *ids, const int64_t *seqs, size_t n, const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    (void)ids;
    (void)seqs;
    if (req == NULL) {
        return;
    }
    if (err == NULL && n == 0) {
        hub_api_reply_store_err(req, store_err_not_found);
        return;
    }
    hub_presence_online(hub, req->api.id, req->id, on_presence, NULL);
}

/* Across all nodes (Redis), or this node's when it runs alone. */
static void
api_presence_get(hub_t *hub, hub_http_req_t *req)
{
    int64_t room = req->api.id;
    hub_ref_t *ref = hub_ref_new(hub, req->id);

    if (store_room_last_seqs(hub->store, &room, 1, on_presence_room, ref) < 0) {
        free(ref);
        hub_presence_online(hub, room, req->id, on_presence, NULL);
    }
}

static const char *
method_name(int method)
{
    switch (method) {
    case LWSHUMETH_GET:
        return "GET";
    case LWSHUMETH_POST:
        return "POST";
    case LWSHUMETH_PUT:
        return "PUT";
    case LWSHUMETH_DELETE:
        return "DELETE";
    default:
        return NULL;
    }
}

static const api_route_t routes[] = {
    {PROTO_API_USER, LWSHUMETH_PUT, hub_api_user_put},
    {PROTO_API_USER_DISCONNECT, LWSHUMETH_POST, hub_api_user_disconnect},
    {PROTO_API_TOKENS, LWSHUMETH_POST, hub_api_tokens_post},
    {PROTO_API_TOKEN, LWSHUMETH_DELETE, hub_api_token_delete},
    {PROTO_API_ROOMS, LWSHUMETH_POST, api_rooms_post},
    {PROTO_API_ROOM, LWSHUMETH_PUT, api_room_put},
    {PROTO_API_ROOM_PARTICIPANT, LWSHUMETH_PUT, api_participant},
    {PROTO_API_ROOM_PARTICIPANT, LWSHUMETH_DELETE, api_participant},
    {PROTO_API_ROOM_MESSAGES, LWSHUMETH_POST, api_messages_post},
    {PROTO_API_ROOM_MESSAGES, LWSHUMETH_GET, api_messages_get},
    {PROTO_API_ROOM_PRESENCE, LWSHUMETH_GET, api_presence_get},
    {PROTO_API_STATS, LWSHUMETH_GET, hub_api_stats},
    {PROTO_API_ENROLLMENT, LWSHUMETH_PUT, hub_api_enrollment_put},
    {PROTO_API_STUDENT_PARENT, LWSHUMETH_PUT, hub_api_parent_link},
    {PROTO_API_STUDENT_PARENT, LWSHUMETH_DELETE, hub_api_parent_link},
};

bool
hub_api_key_ok(hub_t *hub, hub_http_req_t *req)
{
    char hdr[PROTO_API_KEY_MAX + 64];
    const char *key = hub->cfg->api_key;
    const char *tok;
    size_t tlen;

    if (key == NULL ||
        lws_hdr_copy(req->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0) {
        return false;
    }
    tok = proto_bearer_token(hdr, &tlen);
    return tok != NULL && tlen == strlen(key) && CRYPTO_memcmp(tok, key, tlen) == 0;
}

static bool
parse_body(hub_http_req_t *req)
{
    bool writes = req->method == LWSHUMETH_PUT || req->method == LWSHUMETH_POST;

    if (!writes) {
        return true;
    }
    if (req->body_len == 0) {
        req->json = cJSON_CreateObject(); /* an empty body is an empty object */
        return true;
    }
    if (!proto_utf8_valid(req->body, req->body_len)) {
        hub_http_reply_error(req, 400, "invalid_json", "the body must be UTF-8 (RFC 8259)");
        return false;
    }
    if (proto_json_has_nul(req->body, req->body_len)) {
        /* cJSON would cut the string at the NUL and we would store the rest
         * silently; the socket path refuses it the same way. */
        hub_http_reply_error(req, 400, "bad_request", "strings must not contain NUL (\\u0000)");
        return false;
    }
    req->json = proto_json_parse(req->body, req->body_len);
    if (!cJSON_IsObject(req->json)) {
        hub_http_reply_error(req, 400, "invalid_json", "the body must be one JSON object");
        return false;
    }
    return true;
}

/* A 405's Allow header (RFC 9110 §15.5.6): the methods req's path takes. */
static void
allow_methods(hub_http_req_t *req)
{
    char allow[64] = "";
    size_t n = 0;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const char *m = method_name(routes[i].method);
        if (routes[i].route == req->api.route && m != NULL) {
            n += (size_t)snprintf(allow + n, n < sizeof(allow) ? sizeof(allow) - n : 0, "%s%s",
                                  n > 0 ? ", " : "", m);
            if (routes[i].method == LWSHUMETH_GET) {
                n += (size_t)snprintf(allow + n, n < sizeof(allow) ? sizeof(allow) - n : 0,
                                      ", HEAD");
            }
        }
    }
    if (n > 0 && n < sizeof(allow)) {
        hub_http_add_header(req, "Allow", allow);
    }
}

void
hub_api_handle(hub_t *hub, hub_http_req_t *req)
{
    bool path_known = false;

    if (!hub_api_key_ok(hub, req)) {
        hub_http_reply_error(req, 401, NULL, "missing or wrong API key");
        return;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (routes[i].route != req->api.route) {
            continue;
        }
        path_known = true;
        /* HEAD is GET without the body (hub_http_reply() leaves it out). */
        if (routes[i].method == req->method ||
            (req->method == LWSHUMETH_HEAD && routes[i].method == LWSHUMETH_GET)) {
            if (parse_body(req)) {
                routes[i].fn(hub, req);
            }
            return;
        }
    }
    if (path_known) {
        allow_methods(req);
        hub_http_reply_error(req, 405, NULL, "method not allowed on this path");
    } else {
        hub_http_reply_error(req, 404, NULL, "no such API path");
    }
}
