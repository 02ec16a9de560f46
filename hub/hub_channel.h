/*
 * The channel layer between hub nodes (ARCHITECTURE.md "A message's path"):
 * one Redis channel per room, subscribed while this node has a socket in the
 * room, carrying already-serialized frames in a small envelope (origin node,
 * room, seq) so other nodes forward the bytes without parsing them and a node
 * skips its own publications. With HUB_REDIS=off the layer is in-process:
 * a single node, where local delivery is all there is.
 */
#ifndef CHATHUB_HUB_CHANNEL_H
#define CHATHUB_HUB_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "hub.h"
#include "hub_buf.h"

typedef struct hub_channel hub_channel_t;

/* A room's channel is this prefix and the room id. A publication is an
 * envelope, "<kind> <origin node> <room> <seq> <user>\n<payload>" (a Lua
 * script that publishes one writes the same). */
#define HUB_ROOM_CHANNEL_PREFIX "chathub:room:"

typedef enum hub_envelope_kind {
    HUB_ENV_MSG = 'm',     /* a chat_message frame with its seq */
    HUB_ENV_EVENT = 'e',   /* typing / read / presence: forwarded as is, except to `user` */
    HUB_ENV_CONTROL = 'c', /* node-wide command (close a user's sockets …) */
    /* No payload: the origin stored up to seq in the room but may not have
     * published it (its Redis link was down); a receiver behind fills from the
     * store. Nodes that predate it drop it as a bad envelope (a warn log). */
    HUB_ENV_TAIL = 't',
    /* No payload: the room's online list changed in Redis without presence
     * events (a node rewrote its entries after an outage); a receiver
     * compares it with what its sockets saw (hub_presence_resync.h). Older
     * nodes drop it as a bad envelope. */
    HUB_ENV_RESYNC = 'p',
} hub_envelope_kind_t;

/* What arrives from another node. payload is borrowed. */
typedef struct hub_envelope {
    hub_envelope_kind_t kind;
    int64_t room_id; /* 0 for control */
    int64_t seq;     /* HUB_ENV_MSG, HUB_ENV_TAIL */
    int64_t user;    /* HUB_ENV_EVENT: not to this user's sockets; CONTROL: argument */
    const char *payload;
    size_t len;
} hub_envelope_t;

typedef struct hub_channel_hooks {
    void (*on_envelope)(hub_t *hub, const hub_envelope_t *env);
    /* Redis confirmed the subscription to room_id's channel (its first socket
     * here, or again after Redis came back): what was published before may be
     * missing, so the room must be filled from the store. */
    void (*on_room_subscribed)(hub_t *hub, int64_t room_id);
    /* The layer is up, the first time or again (presence rewrites its entries). */
    void (*on_up)(hub_t *hub);
    /* Redis confirmed the subscription to the control channel (the first
     * time, or again after the link was down): control envelopes published
     * before may never have reached this node. */
    void (*on_control_subscribed)(hub_t *hub);
} hub_channel_hooks_t;

/* Redis at target (copied), else (NULL: HUB_REDIS=off) in-process. With a
 * target the layer stays Redis even while Redis cannot be reached or its name
 * not resolved: hub_channel_is_up() says false until the link is up. */
hub_channel_t *hub_channel_new(hub_t *hub, const hub_redis_target_t *target,
                               const hub_channel_hooks_t *hooks);
void hub_channel_free(hub_channel_t *ch); /* NULL is fine */

/* True when fan-out to other nodes works now (/ready). */
bool hub_channel_is_up(const hub_channel_t *ch);
bool hub_channel_is_local(const hub_channel_t *ch);

/* The Redis link for other Redis users on the hub (presence), or NULL when local. */
struct hub_redis *hub_channel_redis(const hub_channel_t *ch);

/* First local socket joined / last one left this room. */
void hub_channel_room_open(hub_channel_t *ch, int64_t room_id);
void hub_channel_room_close(hub_channel_t *ch, int64_t room_id);

/* A control envelope Redis did not take (the link was down, or went down
 * with the PUBLISH unanswered) is published again once the link is up, its
 * payload behind "late <ms> ", ms being the origin's cluster clock
 * (hub_clock.h) when the envelope was made: it may be old news by then
 * (hub_control.c). At most HUB_CHANNEL_LATE_MAX wait; later ones are dropped
 * with a warn log. */
#define HUB_CHANNEL_LATE "late "
#define HUB_CHANNEL_LATE_MAX 4096

/* Whether *payload is marked late. If so, *payload and *len are moved past
 * the mark and *made_ms is when the origin made it (0 from an older node,
 * whose mark says no time). */
bool hub_channel_late_strip(const unsigned char **payload, size_t *len, int64_t *made_ms);

/* Publish to the other nodes (this node delivered locally already). A failed
 * publish is not retried (control envelopes aside, above), but a HUB_ENV_MSG whose PUBLISH Redis
 * did not acknowledge (the link was down, or went down with it in flight) leaves its room and seq
 * behind: when the link is next up, after the re-subscriptions, one HUB_ENV_TAIL per such room
 * tells the other nodes to fill from the store. */
void hub_channel_publish(hub_channel_t *ch, hub_envelope_kind_t kind, int64_t room_id, int64_t seq,
                         int64_t user, const unsigned char *payload, size_t len);

/* Parse "<kind> <node> <room> <seq> <user>\n<payload>". 0 and *env filled (payload
 * points into buf), and *origin, *origin_len the node id; -1 when malformed. */
int hub_envelope_parse(const char *buf, size_t len, hub_envelope_t *env, const char **origin,
                       size_t *origin_len) __attribute__((warn_unused_result));

#endif
