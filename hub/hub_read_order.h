/*
 * Read receipts in order. A user's last_read_seq only moves forward in the
 * store, but the read frames of two tabs on two nodes reach a third socket in
 * either order: one node delivers its own at once, the other's comes through
 * Redis. Each room keeps the highest seq it delivered per reader and drops a
 * frame at or below it, so no socket sees a read position go back.
 */
#ifndef CHATHUB_HUB_READ_ORDER_H
#define CHATHUB_HUB_READ_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "hub_map.h"

/* A room's readers: user id → the highest seq delivered (as a pointer). */
typedef hub_map_t hub_read_order_t;

/* True when seq is past what the room delivered for user_id (and notes it). */
bool hub_read_order_fresh(hub_read_order_t *o, int64_t user_id, int64_t seq);

#endif
