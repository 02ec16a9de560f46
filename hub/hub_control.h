/*
 * Node-wide commands that must reach every node's sockets: close a user's
 * sockets (removed participant: 4403, deactivated: 4401, disconnect: 1000) and
 * close the sockets of a revoked opaque token. Applied here, then published;
 * one Redis did not take goes out again, marked late, once the link is back
 * (hub_channel.h), and a late removal or deactivation is checked against the
 * store where it arrives (hub_recheck.h) rather than applied blindly.
 */
#ifndef CHATHUB_HUB_CONTROL_H
#define CHATHUB_HUB_CONTROL_H

#include <stdint.h>

#include "hub.h"
#include "hub_channel.h"
#include "proto_err.h"

/* On every node: close user_id's sockets (room_id 0: in every room) with err's
 * error frame and close code, or 1000 for PROTO_ERR_NONE. Returns the local count. */
size_t hub_control_close_user(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err);

/* On every node: close the sockets authenticated with opaque token key (4401).
 * Only a digest of the key crosses Redis. */
void hub_control_close_token(hub_t *hub, const char *key);

/* On every node: user_id's open sockets and presence show full_name and role
 * from now on (PUT /api/v1/users renamed them). */
void hub_control_rename_user(hub_t *hub, int64_t user_id, const char *full_name, const char *role);

/* Apply a control envelope from another node. */
void hub_control_apply(hub_t *hub, const hub_envelope_t *env);

#endif
