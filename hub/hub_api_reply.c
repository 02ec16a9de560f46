/*
 * How the server API answers what it cannot do: a store error as an HTTP
 * status, an error code and a sentence for the route it came on, and the
 * request an asynchronous answer belongs to (see hub_api_internal.h).
 */
#include <libwebsockets.h>
#include <stdlib.h>

#include "hub_api_internal.h"
#include "store.h"
#include "store_room.h"

static int
store_status(const char *err)
{
    if (err == store_err_not_found) {
        return 404;
    }
    if (err == store_err_invalid) {
        return 400;
    }
    if (err == store_err_forbidden || err == store_err_unauthorized) {
        return 403;
    }
    if (err == store_err_conflict || err == store_err_archived) {
        return 409;
    }
    if (err == store_err_key_reused) {
        return 422;
    }
    if (err == store_err_unavailable || err == store_err_timeout || err == store_err_shutdown) {
        return 503;
    }
    return 500;
}

static const char *
store_code(const char *err)
{
    if (err == store_err_archived) {
        return "room_archived";
    }
    if (err == store_err_forbidden || err == store_err_unauthorized) {
        return "forbidden";
    }
    if (err == store_err_key_reused) {
        return "idempotency_key_reused";
    }
    return NULL; /* from the status */
}

/* The request a store reply belongs to, or NULL when its client left. */
hub_http_req_t *
hub_api_take_req(void *ud, hub_t **hub)
{
    hub_ref_t *ref = ud;
    hub_http_req_t *req = hub_http_lookup(ref->hub, ref->id);

    *hub = ref->hub;
    free(ref);
    return req;
}

/* What a store refusal means on this route, as a sentence for the caller. */
static const char *
store_message(const hub_http_req_t *req, const char *err)
{
    proto_api_route_t route = req->api.route;

    if (err == store_err_not_found) {
        return route == PROTO_API_TOKEN ? "no such token" : "no such room";
    }
    if (err == store_err_invalid) {
        if (route == PROTO_API_TOKENS) {
            return "user_id names no user";
        }
        if (route == PROTO_API_ROOMS || route == PROTO_API_ROOM) {
            return "every member must be an existing user";
        }
        return "a value is out of range";
    }
    if (err == store_err_forbidden) {
        return "the sender is not a participant of this room";
    }
    if (err == store_err_unauthorized) {
        return route == PROTO_API_ROOM_MESSAGES ? "the sender is not an active user" : err;
    }
    if (err == store_err_archived) {
        return "the room is archived: readable, not writable";
    }
    if (err == store_err_key_reused) {
        return "this Idempotency-Key was used with another body";
    }
    if (err == store_err_unavailable || err == store_err_timeout || err == store_err_shutdown) {
        if (req->method == LWSHUMETH_GET) {
            return "the store is unavailable; retry later";
        }
        /* Whether the write was made is unknown: only a keyed retry (an
         * Idempotency-Key, a client_id, a PUT) cannot make it twice. */
        return "the store is unavailable; the write may or may not have been made: retry it "
               "with the same Idempotency-Key or client_id, or as the same PUT";
    }
    return err;
}

bool
hub_api_reply_store_err(hub_http_req_t *req, const char *err)
{
    if (err == NULL) {
        return false;
    }
    hub_http_reply_error(req, store_status(err), store_code(err), store_message(req, err));
    return true;
}

void
hub_api_bad_request(hub_http_req_t *req, const char *message)
{
    hub_http_reply_error(req, 400, NULL, message);
}

/* Queue failed synchronously: the store is closed. */
void
hub_api_not_queued(hub_http_req_t *req, hub_ref_t *ref)
{
    free(ref);
    hub_http_reply_error(req, 503, NULL, store_err_unavailable);
}
