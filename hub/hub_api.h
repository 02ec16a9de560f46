/*
 * The server API (PROTOCOL.md §6): the platform's backend pushes users,
 * tokens, rooms, participants and messages. Every call is one store call,
 * so every write is atomic and idempotent.
 */
#ifndef CHATHUB_HUB_API_H
#define CHATHUB_HUB_API_H

#include "hub.h"
#include "hub_http.h"

/* Answer req (an /api/v1/ path), now or when the store replies. */
void hub_api_handle(hub_t *hub, hub_http_req_t *req);

/* Whether the request carries Authorization: Bearer <HUB_API_KEY>. */
bool hub_api_key_ok(hub_t *hub, hub_http_req_t *req);

#endif
