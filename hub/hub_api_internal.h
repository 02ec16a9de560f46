/*
 * Helpers shared by the server API's handler files (hub_api*.c): JSON field
 * readers, the request an asynchronous answer belongs to, and store errors
 * as HTTP statuses.
 */
#ifndef CHATHUB_HUB_API_INTERNAL_H
#define CHATHUB_HUB_API_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub.h"
#include "hub_http.h"

/* The longest full_name or room name, in bytes (named in error messages). */
#define HUB_API_NAME_MAX 1024

/* A user or room id (number or digit string, 1..2^53-1). 0 or -1. */
int hub_api_json_id(const cJSON *item, int64_t *out);
/* An array of ids (a new array in *out, free() it). 0 or -1. */
int hub_api_json_ids(const cJSON *arr, int64_t **out, size_t *n);
/* An optional string of at most max bytes: *out NULL when absent. 0 or -1. */
int hub_api_json_str(const cJSON *obj, const char *key, size_t max, const char **out);
/* The request a hub_ref_t names, or NULL when its client has gone; frees ref. */
hub_http_req_t *hub_api_take_req(void *ud, hub_t **hub);
/* Answer err as a JSON error (true), or do nothing when err is NULL (false). */
bool hub_api_reply_store_err(hub_http_req_t *req, const char *err);
void hub_api_bad_request(hub_http_req_t *req, const char *message);
/* The store refused to queue (it is closing): 503, and ref is freed. */
void hub_api_not_queued(hub_http_req_t *req, hub_ref_t *ref);

/* Handlers in hub_api_users.c. */
void hub_api_user_put(hub_t *hub, hub_http_req_t *req);
void hub_api_tokens_post(hub_t *hub, hub_http_req_t *req);
void hub_api_token_delete(hub_t *hub, hub_http_req_t *req);
void hub_api_user_disconnect(hub_t *hub, hub_http_req_t *req);

#endif
