/*
 * Presence events of a room in the order Redis made them. Each change script
 * numbers the room's events (hub_presence_lua.c). A node delivers its own
 * events at once and another node's when they come over the channel, so two
 * events of a room can reach a node in the other order, and the older one,
 * arriving last, would leave its stale "online" list as the room's last word
 * (PROTOCOL.md §2: "online" is the full current list). An event older than
 * one already delivered here goes out with that newer event's list, which
 * already counts it.
 *
 * The room also keeps the online list its sockets saw last, so that a resync
 * (hub_presence_resync.h) can tell them what changed while events could not
 * reach them; an event a resync's list already counts is dropped.
 */
#ifndef CHATHUB_HUB_PRESENCE_ORDER_H
#define CHATHUB_HUB_PRESENCE_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_buf.h"
#include "hub_room.h"

/* The frame to deliver for presence event number version (0: unnumbered, as
 * from a node without Redis) in room (NULL: no socket here): frame itself, or
 * a new buffer with the newest online list; a reference either way. NULL: the
 * event is counted by a resync delivered here already, drop it. */
hub_buf_t *hub_presence_order(hub_room_t *room, int64_t version, hub_buf_t *frame);

/* Event number version, with frame, happened but was not delivered here (the
 * sockets saw the change already): an older event that arrives later still
 * goes out with its newer list. room may be NULL. */
void hub_presence_order_note(hub_room_t *room, int64_t version, hub_buf_t *frame);

/* A connection_established with these online ids went to a socket of room:
 * the room's list when it has none yet (its first socket here). */
void hub_presence_seen_ids(hub_room_t *room, const int64_t *ids, size_t n);

/* The online list room's sockets saw last, as a new array (*ids NULL when
 * n is 0). -1: not known (no presence frame nor connect answer yet). */
int hub_presence_seen(const hub_room_t *room, int64_t **ids, size_t *n);

/* Whether the list room's sockets saw last has user online; unknown when
 * nothing is known (no room, no list yet). */
bool hub_presence_seen_has(const hub_room_t *room, int64_t user, bool unknown);

/* A read Redis answered when the room's last event was number last, older
 * than the newest one delivered here (the command link's reply came after
 * the event on the subscription's): its ids miss that event, and a socket
 * opened on them kept the old list for good. Then *ids (freed) becomes the
 * list the sockets here saw last, with user in it (unless 0), and it
 * returns true. */
bool hub_presence_seen_newer(const hub_room_t *room, int64_t user, int64_t last, int64_t **ids,
                             size_t *n);

/* What a room's sockets were shown while a resync read was in flight: the
 * list the read carried (what they had seen), and the users of every
 * presence frame they got since. An answer older than an event delivered
 * meanwhile cannot be compared with the list they see now, which already
 * counts what they missed; it is compared with this instead. A room has one
 * read in flight at most (hub_presence_resync.c), so a track is never
 * replaced by another read's. */
typedef struct hub_presence_track {
    uint32_t gen;  /* the read's */
    int64_t *base; /* sorted */
    size_t nbase;
    int64_t *touched; /* users of frames delivered since, sorted, each once */
    size_t ntouched, cap;
    bool overflow; /* more users than kept: the answer cannot be compared */
} hub_presence_track_t;

/* A resync read of room asking with base (n ids, taken) went out: returns
 * its number, which its answer passes to hub_presence_track_take. */
uint32_t hub_presence_track_start(hub_room_t *room, int64_t *base, size_t n);

/* Whether a read of room is in flight. */
bool hub_presence_track_busy(const hub_room_t *room);

/* A presence frame about user went to room's sockets. */
void hub_presence_touch(hub_room_t *room, int64_t user);

/* The track of read gen, now the caller's (NULL: a newer read replaced it). */
hub_presence_track_t *hub_presence_track_take(hub_room_t *room, uint32_t gen);

/* Whether a frame about user went out since the read. */
bool hub_presence_track_touched(const hub_presence_track_t *t, int64_t user);

void hub_presence_track_free(hub_presence_track_t *t); /* NULL is fine */

/* A late answer (one older than an event delivered meanwhile) settled what
 * room's sockets know of user as of event number version: user's own events
 * up to it, which may still be on their way from the node that made them,
 * are dropped when they come (a join shown by the answer must not be shown
 * again). The cover ends at a newer event about user, or once a resync's
 * list counts version. */
typedef struct hub_presence_cover {
    int64_t user, version;
} hub_presence_cover_t;

void hub_presence_cover(hub_room_t *room, int64_t user, int64_t version);

/* A resync read Redis's list as of event number version (0: Redis has none)
 * and delivered frames (the last one: last, NULL when the list was the one
 * the sockets saw): events up to version are counted. */
void hub_presence_resynced(hub_room_t *room, int64_t version, hub_buf_t *last);

#endif
