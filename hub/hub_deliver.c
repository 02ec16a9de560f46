/*
 * Store, then deliver. Delivery happens in the store's callback, so a frame
 * is never sent for a message that is not committed, and the sender sees its
 * message in the same pass as everyone else in the room, first.
 */
#include "hub_deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_channel.h"
#include "hub_control.h"
#include "hub_log.h"
#include "hub_presence_order.h"
#include "hub_presence_resync.h"
#include "hub_room.h"
#include "proto_build.h"
#include "proto_read.h"
#include "xalloc.h"

typedef struct pending_send {
    hub_t *hub;
    hub_sent_cb cb;
    uint64_t id;
    int64_t room_id;
    uint64_t born_us; /* when the send reached the node */
    char client_id[PROTO_CLIENT_ID_MAX + 1];
} pending_send_t;

proto_err_t
hub_deliver_store_err(const char *err)
{
    if (err == store_err_archived) {
        return PROTO_ERR_ROOM_ARCHIVED;
    }
    if (err == store_err_forbidden) {
        return PROTO_ERR_FORBIDDEN;
    }
    if (err == store_err_not_found) {
        return PROTO_ERR_NOT_FOUND;
    }
    if (err == store_err_invalid) {
        return PROTO_ERR_BAD_REQUEST;
    }
    if (err == store_err_unauthorized) {
        return PROTO_ERR_UNAUTHORIZED;
    }
    if (err == store_err_unavailable || err == store_err_timeout || err == store_err_shutdown) {
        return PROTO_ERR_UNAVAILABLE;
    }
    return PROTO_ERR_INTERNAL;
}

/* Offer a committed message to this node's sockets and to the other nodes. */
static void
deliver(hub_t *hub, const proto_msg_t *msg, hub_buf_t *frame, size_t len)
{
    hub_room_offer_msg(hub, msg->room_id, msg->seq, frame);
    hub_channel_publish(hub->channel, HUB_ENV_MSG, msg->room_id, msg->seq, 0,
                        hub_buf_payload(frame), len);
}

/* A send the store refused for its sender (an archived room, a removed
 * participant) is the client's business, answered with an error frame: a
 * debug line, as a client could otherwise write warnings at its rate. The
 * store's own failures are warnings, one per 10 s with a count of the
 * others, which are debug lines. */
static void
log_store_failed(hub_t *hub, int64_t room_id, const char *err)
{
    uint64_t now = uv_now(hub->loop);

    if (err != store_err_timeout && err != store_err_unavailable && err != store_err_internal) {
        log_debug("msg.store_failed", "room=%" PRId64 " err=\"%s\"", room_id, err);
        return;
    }
    if (hub->store_failed_logged_ms != 0 && now - hub->store_failed_logged_ms < 10000) {
        hub->store_failed_unlogged++;
        log_debug("msg.store_failed", "room=%" PRId64 " err=\"%s\"", room_id, err);
        return;
    }
    log_warn("msg.store_failed", "room=%" PRId64 " err=\"%s\" since_last=%u", room_id, err,
             hub->store_failed_unlogged);
    hub->store_failed_logged_ms = now;
    hub->store_failed_unlogged = 0;
}

static void
on_stored(void *ud, const proto_msg_t *msg, bool duplicate, const char *err)
{
    pending_send_t *ps = ud;
    hub_room_t *room = hub_room_find(ps->hub, ps->room_id);
    hub_buf_t *frame = NULL;
    size_t len;

    ps->hub->pending_writes--;
    if (room != NULL && (err == store_err_archived || (err == NULL && !duplicate))) {
        room->archived = err != NULL; /* the store's newest word on it */
    }
    if (err != NULL) {
        log_store_failed(ps->hub, ps->room_id, err);
        if (err == store_err_timeout || err == store_err_unavailable) {
            /* The insert may have committed with its answer lost: the room must
             * get it even if the sender never retries. */
            hub_room_recover(ps->hub, ps->room_id);
        }
        ps->cb(ps->hub, ps->id, NULL, NULL, false, err, ps->client_id);
        free(ps);
        return;
    }
    char *s = proto_build_chat_message(msg, &len);
    frame = hub_buf_take(s, len);
    hub_buf_set_born(frame, ps->born_us);
    /* The sender is answered first. A fresh message goes to its own socket
     * ahead of the room's pass (a 1,000-member room's pass takes
     * milliseconds). A retry's answer is the original when the socket has it;
     * when the first answer was lost this may be the first the room hears of
     * the message, and the offer then skips every socket that has it, here
     * and on the other nodes. Committed: delivered even if the sender has
     * left; others must see it. */
    ps->cb(ps->hub, ps->id, msg, frame, duplicate, NULL, ps->client_id);
    deliver(ps->hub, msg, frame, len);
    hub_buf_unref(frame);
    free(ps);
}

/* An unnumbered event (typing, read) to the room's sockets here. A read behind
 * one already delivered for its reader, from this node or another, is
 * dropped (hub_read_order.h, proto_read.h). */
static void
broadcast_event(hub_t *hub, int64_t room_id, hub_buf_t *b, int64_t except_user)
{
    hub_room_t *room = hub_room_find(hub, room_id);
    int64_t user, seq;

    if (room == NULL ||
        (proto_read_parse((const char *)hub_buf_payload(b), hub_buf_len(b), &user, &seq) &&
         !hub_read_order_fresh(&room->reads, user, seq))) {
        return;
    }
    hub_room_broadcast(hub, room_id, b, except_user);
}

void
hub_deliver_event(hub_t *hub, int64_t room_id, char *frame, size_t len, int64_t except_user)
{
    hub_buf_t *b = hub_buf_take(frame, len);

    broadcast_event(hub, room_id, b, except_user);
    hub_channel_publish(hub->channel, HUB_ENV_EVENT, room_id, 0, except_user, hub_buf_payload(b),
                        len);
    hub_buf_unref(b);
}

void
hub_deliver_presence(hub_t *hub, int64_t room_id, char *frame, size_t len, int64_t version,
                     bool here)
{
    hub_buf_t *b = hub_buf_take(frame, len);
    hub_buf_t *ordered = NULL;

    if (here) {
        ordered = hub_presence_order(hub_room_find(hub, room_id), version, b);
    } else {
        hub_presence_order_note(hub_room_find(hub, room_id), version, b);
    }

    if (ordered != NULL) {
        hub_room_broadcast(hub, room_id, ordered, 0);
    }
    /* The event as Redis numbered it: each node orders it for itself. */
    hub_channel_publish(hub->channel, HUB_ENV_EVENT, room_id, version, 0, hub_buf_payload(b), len);
    hub_buf_unref(ordered);
    hub_buf_unref(b);
}

void
hub_deliver_on_envelope(hub_t *hub, const hub_envelope_t *env)
{
    hub_buf_t *b;

    if (env->kind == HUB_ENV_CONTROL) {
        hub_control_apply(hub, env);
        return;
    }
    if (hub_room_find(hub, env->room_id) == NULL) {
        return; /* no local socket in the room (an unsubscribe still in flight) */
    }
    if (env->kind == HUB_ENV_TAIL) {
        hub_room_fill_to(hub, env->room_id, env->seq);
        return;
    }
    if (env->kind == HUB_ENV_RESYNC) {
        hub_presence_resync(hub, env->room_id);
        return;
    }
    /* One copy into a buffer with headroom, then the same bytes for every socket. */
    b = hub_buf_from(env->payload, env->len);
    hub_buf_set_born(b, hub_now_us());
    if (env->kind == HUB_ENV_MSG) {
        hub_room_offer_msg(hub, env->room_id, env->seq, b);
    } else if (env->seq > 0) { /* a numbered presence event */
        hub_buf_t *ordered = hub_presence_order(hub_room_find(hub, env->room_id), env->seq, b);
        if (ordered != NULL) {
            hub_room_broadcast(hub, env->room_id, ordered, env->user);
            hub_buf_unref(ordered);
        }
    } else {
        broadcast_event(hub, env->room_id, b, env->user);
    }
    hub_buf_unref(b);
}

void
hub_deliver_send(hub_t *hub, const store_msg_in_t *in, hub_sent_cb cb, uint64_t id)
{
    pending_send_t *ps = xcalloc(1, sizeof(*ps));

    ps->hub = hub;
    ps->cb = cb;
    ps->id = id;
    ps->room_id = in->room_id;
    ps->born_us = hub_now_us();
    if (in->client_id != NULL) {
        snprintf(ps->client_id, sizeof(ps->client_id), "%s", in->client_id);
    }
    hub->pending_writes++;
    if (store_msg_insert(hub->store, in, on_stored, ps) < 0) {
        hub->pending_writes--;
        /* Nothing was queued (the store is closed): answer now. */
        ps->cb(hub, id, NULL, NULL, false, store_err_unavailable, ps->client_id);
        free(ps);
    }
}
