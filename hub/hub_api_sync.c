/*
 * The sync calls of the server API. The store does the work in one
 * transaction; here we validate the body, close the sockets of whoever was
 * removed (on every node, through the control channel), and answer.
 */
#include "hub_api_sync.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "hub_api_internal.h"
#include "hub_control.h"
#include "hub_presence.h"
#include "proto_build.h"
#include "store_sync.h"
#include "xalloc.h"

#define SUBJECT_MAX 200 /* bytes; named in the error message */

static cJSON *
changes_json(const store_change_t *ch, size_t n)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "room_id", proto_json_int(ch[i].room_id));
        cJSON_AddItemToObject(o, "user_id", proto_json_int(ch[i].user_id));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void
close_removed(hub_t *hub, const store_change_t *ch, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hub_control_close_user(hub, ch[i].user_id, ch[i].room_id, PROTO_ERR_FORBIDDEN);
    }
}

static void
on_enrollment(void *ud, const store_change_t *ch, size_t n, const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    if (req != NULL && err == store_err_invalid) {
        hub_api_bad_request(req, "student_id, teacher_id and tutor_id must be users with the "
                                 "roles student, teacher and tutor");
        return;
    }
    if (req != NULL && err == store_err_conflict) {
        hub_http_reply_error(req, 409, "conflict", "an enrollment never changes its student");
        return;
    }
    if (req != NULL && hub_api_reply_store_err(req, err)) {
        return;
    }
    if (err == NULL) {
        close_removed(hub, ch, n); /* even when the caller has gone */
    }
    if (req == NULL) {
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "id", proto_json_int(req->api.id));
    cJSON_AddItemToObject(j, "removed", changes_json(ch, n));
    hub_http_reply_json(req, 200, j);
}

/* An optional id field: 0 when absent or null. */
static int
opt_id(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = 0;
    return it == NULL || cJSON_IsNull(it) ? 0 : hub_api_json_id(it, out);
}

void
hub_api_enrollment_put(hub_t *hub, hub_http_req_t *req)
{
    const cJSON *j = req->json;
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(j, "is_active");
    const char *subject = NULL;
    int64_t student, teacher, tutor;

    if (opt_id(j, "student_id", &student) < 0 || student == 0 ||
        opt_id(j, "teacher_id", &teacher) < 0 || teacher == 0 ||
        opt_id(j, "tutor_id", &tutor) < 0 ||
        hub_api_json_str(j, "subject", SUBJECT_MAX, &subject) < 0 ||
        (active != NULL && !cJSON_IsBool(active))) {
        hub_api_bad_request(req, "student_id and teacher_id must be user ids, tutor_id an id or "
                                 "null, subject a string of at most 200 bytes, is_active a "
                                 "boolean");
        return;
    }
    hub_ref_t *ref = hub_ref_new(hub, req->id);
    if (store_enrollment_put(hub->store, req->api.id, student, teacher, tutor, subject,
                             active == NULL ? STORE_KEEP : cJSON_IsTrue(active), on_enrollment,
                             ref) < 0) {
        hub_api_not_queued(req, ref);
    }
}

/* hub_api_take_req() frees the ref, so it comes first in the allocation. */
typedef struct parent_ctx {
    hub_ref_t ref;
    bool link;
} parent_ctx_t;

static void
on_parent(void *ud, const store_change_t *ch, size_t n, const char *err)
{
    bool unlink = !((parent_ctx_t *)ud)->link;
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    if (req != NULL && err == store_err_not_found) {
        hub_http_reply_error(req, 404, NULL, "student or parent not found");
        return;
    }
    if (req != NULL && err == store_err_invalid) {
        hub_api_bad_request(req, "the student must have role student and the parent role parent");
        return;
    }
    if (req != NULL && hub_api_reply_store_err(req, err)) {
        return;
    }
    /* An unlink closes the parent's sockets even when the caller has gone. */
    if (err == NULL && unlink) {
        close_removed(hub, ch, n);
    }
    if (req == NULL) {
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "student_id", proto_json_int(req->api.id));
    cJSON_AddItemToObject(j, "parent_id", proto_json_int(req->api.id2));
    cJSON_AddItemToObject(j, unlink ? "left" : "joined", changes_json(ch, n));
    hub_http_reply_json(req, 200, j);
}

void
hub_api_parent_link(hub_t *hub, hub_http_req_t *req)
{
    parent_ctx_t *pc = xmalloc(sizeof(*pc));

    pc->ref = (hub_ref_t){hub, req->id};
    pc->link = req->method == LWSHUMETH_PUT;
    if (store_parent_link(hub->store, req->api.id, req->api.id2, pc->link, on_parent, pc) < 0) {
        hub_api_not_queued(req, &pc->ref);
    }
}

/* The reply the store's counts began (ud, ours to free), completed with the
 * connections across nodes. */
static void
on_connections(hub_t *hub, uint64_t id, int64_t connections, void *ud)
{
    cJSON *j = ud;
    hub_http_req_t *req = hub_http_lookup(hub, id);

    if (req == NULL) {
        cJSON_Delete(j);
        return;
    }
    cJSON_AddItemToObject(j, "connections", proto_json_int(connections));
    hub_http_reply_json(req, 200, j);
}

static void
on_stats(void *ud, const store_stats_t *s, const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    if (req == NULL || hub_api_reply_store_err(req, err)) {
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "rooms", proto_json_int(s->rooms));
    cJSON_AddItemToObject(j, "messages", proto_json_int(s->messages));
    cJSON_AddItemToObject(j, "participants", proto_json_int(s->participants));
    cJSON *types = cJSON_Parse(s->room_types_json != NULL ? s->room_types_json : "{}");
    cJSON_AddItemToObject(j, "room_types", types != NULL ? types : cJSON_CreateObject());
    hub_presence_connections(hub, req->id, on_connections, j);
}

void
hub_api_stats(hub_t *hub, hub_http_req_t *req)
{
    hub_ref_t *ref = hub_ref_new(hub, req->id);

    if (store_stats(hub->store, on_stats, ref) < 0) {
        hub_api_not_queued(req, ref);
    }
}
