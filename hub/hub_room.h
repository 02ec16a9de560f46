/*
 * Rooms as this node sees them: the local sockets joined to a room, and the
 * in-order delivery of its messages. Every seq up to delivered_seq has gone
 * to the room's sockets; a later seq that arrives early (another node's
 * publication overtaking ours, a message lost while Redis was away) is held
 * briefly and the gap is then filled from the store. A room exists here
 * while it has a local socket. Membership rules live in the store.
 */
#ifndef CHATHUB_HUB_ROOM_H
#define CHATHUB_HUB_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hub.h"
#include "hub_buf.h"
#include "hub_read_order.h"

typedef struct hub_conn hub_conn_t;

typedef struct hub_held {
    int64_t seq;
    hub_buf_t *frame;
} hub_held_t;

typedef struct hub_room {
    int64_t id;
    hub_t *hub;
    hub_conn_t **conns; /* each conn knows its index (swap-remove) */
    size_t nconns;
    size_t cap;
    int64_t delivered_seq;
    /* Writes refused here: the newest join's word, or a send's since. Typing
     * is then answered room_archived instead of relayed. */
    bool archived;
    hub_held_t *held; /* ascending seq, all > delivered_seq + 1 */
    size_t nheld, heldcap;
    bool filling;           /* a store fill is in flight */
    unsigned fill_failures; /* fills failed in a row (logged now and then) */
    bool refill;       /* fill again once the one in flight is done: it may have read too early */
    bool publish_fill; /* a send here may have committed unseen: publish what fills find */
    int64_t audit_seq; /* the store's last seq at the audit's last read, while it was ahead */
    hub_read_order_t reads;   /* each reader's highest read seq delivered here */
    int64_t presence_version; /* the newest presence event delivered here (hub_presence_order.h) */
    hub_buf_t *presence_last; /* and its frame */
    int64_t presence_floor;   /* events up to this number are in a resync's list already */
    /* The online list the room's sockets saw last: the last presence frame
     * delivered, or, until there is one, the online ids of the room's first
     * connection_established here (seen_ids; the frame is NULL then). */
    hub_buf_t *presence_seen;
    int64_t *seen_ids;
    size_t seen_n;
    int resync_reads; /* reads in a row that found the list moved (hub_presence_resync.c) */
    struct hub_presence_track
        *presence_track; /* while that read is in flight (hub_presence_order.h) */
    bool resync_again;   /* a read was asked for while one was in flight */
    /* Users a late read's answer settled for the sockets, sorted by user
     * (hub_presence_cover). */
    struct hub_presence_cover *cover;
    size_t ncover, covercap;
    /* Users kept while Redis lacks them, read again as settled later
     * (hub_presence_settle.h); NULL: none. */
    struct hub_presence_settle *settle;
    uv_timer_t gap_timer; /* the room is freed in this handle's close callback */
} hub_room_t;

/* The room or NULL. */
hub_room_t *hub_room_find(hub_t *hub, int64_t room_id);

/* Join c to the room (created when absent, delivered up to last_seq, which is
 * the store's last seq seen by c's join). c must not be in a room. */
void hub_room_join(hub_t *hub, int64_t room_id, int64_t last_seq, hub_conn_t *c);

/* Remove c from its room, if any; the room goes when it empties. */
void hub_room_remove_conn(hub_t *hub, hub_conn_t *c);

/* A committed chat message frame for room_id with this seq, from this node or
 * another: delivered to every local socket once and in seq order. */
void hub_room_offer_msg(hub_t *hub, int64_t room_id, int64_t seq, hub_buf_t *frame);

/* The sender's own socket c first, before the room's pass: when c is in the
 * frame's room and seq is the next it lacks, it gets the frame now and the
 * pass skips it. Its confirmation then waits for no other socket's send. */
void hub_room_offer_first(hub_conn_t *c, int64_t room_id, int64_t seq, hub_buf_t *frame);

/* Another node stored up to seq in room_id but may not have published it:
 * when this node has delivered less, fill the room from the store. */
void hub_room_fill_to(hub_t *hub, int64_t room_id, int64_t seq);

/* A send to room_id failed in a way that may have stored it (a timeout, a
 * connection lost in flight): fill the room from the store shortly, retrying
 * while the store is away, and publish what the fill finds so the other nodes
 * get it too. No local socket in the room: nothing to do. */
void hub_room_recover(hub_t *hub, int64_t room_id);

/* room_id's channel subscription was just confirmed: what was published
 * before it reached nobody here. The room's last seq is read from the store
 * (the rooms confirmed in one turn of the loop share one query, not a fill
 * each) and the room filled when the store is ahead of what it delivered.
 * No local socket in the room: nothing. */
void hub_room_on_subscribed(hub_t *hub, int64_t room_id);

/* The handle hub_room_on_subscribed() queues on; hub_room_free_all() closes it. */
void hub_room_checks_init(hub_t *hub);

/* Deliver any other frame (typing, read, presence) to every local socket of the
 * room except those of except_user (0: all). */
void hub_room_broadcast(hub_t *hub, int64_t room_id, hub_buf_t *frame, int64_t except_user);

/* True when user_id holds one of the room's first n sockets (n = nconns: any). */
bool hub_room_user_online_before(const hub_room_t *room, int64_t user_id, size_t n);

/* Forget every room (shutdown); their timers close asynchronously. */
void hub_room_free_all(hub_t *hub);

#endif
