/*
 * A message's path after validation (ARCHITECTURE.md): persist it, and on
 * commit serialize the frame once and deliver it to the room's local
 * sockets. Used by socket sends and by the server API alike, so both give
 * every receiver the same bytes.
 */
#ifndef CHATHUB_HUB_DELIVER_H
#define CHATHUB_HUB_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "hub.h"
#include "hub_buf.h"
#include "hub_channel.h"
#include "proto_err.h"
#include "store_msg.h"

/*
 * Called once when the store answered: msg and frame (the serialized
 * chat_message) xor err. A new message was delivered to the room before the
 * call. On a duplicate client_id the call comes first and the room is offered
 * the original right after (sockets that have its seq skip it): the caller
 * answers its sender when the sender already has that seq. client_id is the
 * send's key ("" when none). All arguments are borrowed.
 */
typedef void (*hub_sent_cb)(hub_t *hub, uint64_t id, const proto_msg_t *msg, hub_buf_t *frame,
                            bool duplicate, const char *err, const char *client_id);

/* Store in->room_id's message and deliver it; cb(hub, id, …) reports. in is copied. */
void hub_deliver_send(hub_t *hub, const store_msg_in_t *in, hub_sent_cb cb, uint64_t id);

/* A non-message frame (typing, read, presence; frame is a malloc'd string, taken):
 * to the room's sockets here and on every node, except except_user's (0: all). */
void hub_deliver_event(hub_t *hub, int64_t room_id, char *frame, size_t len, int64_t except_user);

/* A presence frame (a malloc'd string, taken) numbered version by Redis (0:
 * none), published, and with here delivered to this node's sockets in Redis's
 * order (hub_presence_order.h). */
void hub_deliver_presence(hub_t *hub, int64_t room_id, char *frame, size_t len, int64_t version,
                          bool here);

/* What another node published (hub_channel_hooks_t.on_envelope). */
void hub_deliver_on_envelope(hub_t *hub, const hub_envelope_t *env);

/* The error code a client gets for a store error. */
proto_err_t hub_deliver_store_err(const char *err);

#endif
