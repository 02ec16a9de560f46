/*
 * Server API calls of the participant and parent sync (PROTOCOL.md §6,
 * issue 4): enrollments, parent links, stats. Each removal they cause closes
 * the removed user's sockets in that room with 4403 on every node.
 */
#ifndef CHATHUB_HUB_API_SYNC_H
#define CHATHUB_HUB_API_SYNC_H

#include "hub.h"
#include "hub_http.h"

void hub_api_enrollment_put(hub_t *hub, hub_http_req_t *req); /* PUT /enrollments/{id} */
void hub_api_parent_link(hub_t *hub,
                         hub_http_req_t *req);       /* PUT, DELETE /students/{id}/parents/{id} */
void hub_api_stats(hub_t *hub, hub_http_req_t *req); /* GET /stats */

#endif
