/*
 * Server API handlers for users and their credentials: upsert a user
 * (deactivating closes their sockets), issue and revoke opaque tokens, and
 * disconnect a user's sockets on every node.
 */
#include "hub_api_internal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_clock.h"
#include "hub_control.h"
#include "hub_log.h"
#include "proto_build.h"
#include "proto_jwt.h"
#include "store_auth.h"
#include "store_user.h"
#include "xalloc.h"

/* PUT /api/v1/users/{id} */

/* The user a PUT is about, for the answer even when the caller has gone.
 * hub_api_take_req() frees the ref, so it comes first in the allocation. */
typedef struct user_call {
    hub_ref_t ref;
    int64_t user_id;
    char role[33]; /* as given: the store keeps it as it is */
} user_call_t;

static void
on_user_done(void *ud, const char *full_name, bool is_active, bool renamed, const char *err)
{
    int64_t user_id = ((user_call_t *)ud)->user_id;
    char role[33];
    hub_t *hub;
    hub_http_req_t *req;

    snprintf(role, sizeof(role), "%s", ((user_call_t *)ud)->role);
    req = hub_api_take_req(ud, &hub); /* frees ud */
    if (err == NULL && !is_active) {
        /* A deactivated user's sockets go at once (PROTOCOL.md §5: 4401). */
        hub_control_close_user(hub, user_id, 0, PROTO_ERR_UNAUTHORIZED);
    } else if (err == NULL && renamed) {
        /* Their open sockets' typing and presence frames name them anew. */
        hub_control_rename_user(hub, user_id, full_name, role);
    }
    if (req == NULL || hub_api_reply_store_err(req, err)) {
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "id", proto_json_int((int64_t)req->api.id));
    cJSON_AddStringToObject(j, "full_name", full_name);
    cJSON_AddStringToObject(j, "role", role);
    cJSON_AddBoolToObject(j, "is_active", is_active);
    hub_http_reply_json(req, 200, j);
}

/* The roles the schema's CHECK allows, checked here to say which ones. */
static bool
role_known(const char *role)
{
    static const char *const roles[] = {"student", "teacher", "tutor", "parent", "admin"};

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(role, roles[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A field left out keeps what is stored: a rename never reactivates. */
void
hub_api_user_put(hub_t *hub, hub_http_req_t *req)
{
    const char *name = NULL, *role = NULL;
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(req->json, "is_active");

    if (hub_api_json_str(req->json, "full_name", HUB_API_NAME_MAX, &name) < 0 ||
        hub_api_json_str(req->json, "role", 32, &role) < 0 || role == NULL) {
        hub_api_bad_request(req, "full_name must be a string of at most 1024 bytes and role one of "
                                 "student, teacher, tutor, parent, admin");
        return;
    }
    if (!role_known(role)) {
        hub_api_bad_request(req, "role must be one of student, teacher, tutor, parent, admin");
        return;
    }
    if (active != NULL && !cJSON_IsBool(active)) {
        hub_api_bad_request(req, "is_active must be a boolean");
        return;
    }
    user_call_t *call = xmalloc(sizeof(*call));
    call->ref = (hub_ref_t){hub, req->id};
    call->user_id = (int64_t)req->api.id;
    snprintf(call->role, sizeof(call->role), "%s", role);
    if (store_user_upsert(hub->store, call->user_id, name, role,
                          active == NULL ? STORE_KEEP : cJSON_IsTrue(active), on_user_done,
                          call) < 0) {
        hub_api_not_queued(req, &call->ref);
    }
}

/* POST /api/v1/tokens, DELETE /api/v1/tokens/{key} */

typedef struct token_create {
    hub_ref_t ref;
    int64_t user_id;
    char key[PROTO_API_KEY_MAX + 1];
} token_create_t;

static void
on_token_created(void *ud, const char *err)
{
    token_create_t *tc = ud;
    hub_http_req_t *req = hub_http_lookup(tc->ref.hub, tc->ref.id);

    if (req != NULL && !hub_api_reply_store_err(req, err)) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "token", tc->key);
        cJSON_AddItemToObject(j, "user_id", proto_json_int((int64_t)tc->user_id));
        hub_http_reply_json(req, 201, j);
    }
    OPENSSL_cleanse(tc->key, sizeof(tc->key));
    free(tc);
}

void
hub_api_tokens_post(hub_t *hub, hub_http_req_t *req)
{
    token_create_t *tc = xcalloc(1, sizeof(*tc));
    unsigned char raw[20];
    const char *given = NULL;
    proto_api_path_t shape;
    char path[PROTO_API_KEY_MAX + 32];

    tc->ref = (hub_ref_t){hub, req->id};
    if (hub_api_json_id(cJSON_GetObjectItemCaseSensitive(req->json, "user_id"), &tc->user_id) < 0) {
        free(tc);
        hub_api_bad_request(req, "user_id must be a user id");
        return;
    }
    if (hub_api_json_str(req->json, "token", PROTO_API_KEY_MAX, &given) < 0) {
        free(tc);
        hub_api_bad_request(req, "token must be 1..128 characters of A-Z a-z 0-9 _ -");
        return;
    }
    if (given != NULL) {
        /* A platform importing its existing keys: same charset as the path form. */
        snprintf(path, sizeof(path), "/api/v1/tokens/%s", given);
        proto_api_path_parse(path, &shape);
        if (shape.route != PROTO_API_TOKEN || proto_jwt_is_jwt(given, strlen(given))) {
            free(tc);
            hub_api_bad_request(req, "token must be 1..128 characters of A-Z a-z 0-9 _ -");
            return;
        }
        snprintf(tc->key, sizeof(tc->key), "%s", given);
    } else if (RAND_bytes(raw, sizeof(raw)) != 1) {
        free(tc);
        hub_http_reply_error(req, 500, NULL, "no randomness");
        return;
    } else {
        for (size_t i = 0; i < sizeof(raw); i++) {
            snprintf(tc->key + 2 * i, 3, "%02x", raw[i]);
        }
    }
    if (store_token_create(hub->store, tc->user_id, tc->key, on_token_created, tc) < 0) {
        free(tc);
        hub_http_reply_error(req, 503, NULL, store_err_unavailable);
    }
}

static void
on_token_deleted(void *ud, int64_t user_id, const char *err)
{
    hub_t *hub;
    hub_http_req_t *req = hub_api_take_req(ud, &hub);

    (void)user_id;
    if (req == NULL || hub_api_reply_store_err(req, err)) {
        return;
    }
    hub_control_close_token(hub, req->api.key);
    hub_http_reply(req, 204, "application/json", "", 0);
}

void
hub_api_token_delete(hub_t *hub, hub_http_req_t *req)
{
    hub_ref_t *ref = hub_ref_new(hub, req->id);

    if (store_token_delete(hub->store, req->api.key, on_token_deleted, ref) < 0) {
        hub_api_not_queued(req, ref);
    }
}

static void
on_disconnect_marked(void *ud, const char *err)
{
    int64_t *user_id = ud;

    if (err != NULL) {
        log_warn("api.disconnect_unmarked", "user=%" PRId64 " err=\"%s\"", *user_id, err);
    }
    free(user_id);
}

/* POST /api/v1/users/{id}/disconnect: this node counts only its own sockets.
 * Its time goes to the store too, for a node whose Redis link is down now:
 * it re-checks its sockets against the store once the link is back
 * (hub_recheck.h). The answer does not wait for that write. */
void
hub_api_user_disconnect(hub_t *hub, hub_http_req_t *req)
{
    int64_t made_ms = hub_clock_ms(hub);
    size_t n = hub_control_close_user(hub, req->api.id, 0, PROTO_ERR_NONE);
    cJSON *j = cJSON_CreateObject();
    int64_t *user_id = xmalloc(sizeof(*user_id));

    *user_id = req->api.id;
    if (store_user_mark_disconnected(hub->store, req->api.id, made_ms, on_disconnect_marked,
                                     user_id) < 0) {
        free(user_id);
    }

    cJSON_AddItemToObject(j, "closed", proto_json_int((int64_t)n));
    hub_http_reply_json(req, 200, j);
}
