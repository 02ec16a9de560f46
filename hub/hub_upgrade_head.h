/*
 * What a whole request head asks of the hub's upgrade path: the checks
 * hub_wsock_take() makes before it serves, refuses or hands a head to lws.
 */
#ifndef CHATHUB_HUB_UPGRADE_HEAD_H
#define CHATHUB_HUB_UPGRADE_HEAD_H

#include <stdbool.h>

#include "proto_request.h"

/* A GET with an Upgrade header (any protocol, any HTTP/1.x) to one of the
 * hub's WebSocket paths: the hub answers it (a path lws would 404 stays
 * lws's). */
bool hub_upgrade_is_one(const proto_request_t *req);

/* One Host line naming the server (RFC 9112 §3.2). */
bool hub_upgrade_one_host(const proto_request_t *req);

/* One Sec-WebSocket-Key, 16 bytes in base64 (RFC 6455 §4.2.1), copied into key. */
bool hub_upgrade_one_key(const proto_request_t *req, char key[64]);

/* An upgrade lws can serve as well as the hub: HTTP/1.1, one Host, to
 * websocket, Connection: Upgrade, one good key. */
bool hub_upgrade_sound(const proto_request_t *req);

/* Whether lws 4.1 can read the head's Connection (up to 126 bytes). */
bool hub_upgrade_lws_reads(const proto_request_t *req);

#endif
