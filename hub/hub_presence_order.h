/*
 * Presence events of a room in the order Redis made them. Each change script
 * numbers the room's events (hub_presence_lua.c). A node delivers its own
 * events at once and another node's when they come over the channel, so two
 * events of a room can reach a node in the other order, and the older one,
 * arriving last, would leave its stale "online" list as the room's last word
 * (PROTOCOL.md §2: "online" is the full current list). An event older than
 * one already delivered here goes out with that newer event's list, which
 * already counts it.
 */
#ifndef CHATHUB_HUB_PRESENCE_ORDER_H
#define CHATHUB_HUB_PRESENCE_ORDER_H

#include <stdint.h>

#include "hub_buf.h"
#include "hub_room.h"

/* The frame to deliver for presence event number version (0: unnumbered, as
 * from a node without Redis) in room (NULL: no socket here): frame itself, or
 * a new buffer with the newest online list; a reference either way. */
hub_buf_t *hub_presence_order(hub_room_t *room, int64_t version, hub_buf_t *frame);

#endif
