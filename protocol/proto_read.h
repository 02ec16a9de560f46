/*
 * A read frame read back. Read receipts reach a node's sockets both from the
 * node itself and through Redis, as the JSON proto_build_read wrote; the hub
 * orders them by reader and seq (hub_read_order.h), so it needs those two
 * numbers back out of the frame it relays.
 */
#ifndef CHATHUB_PROTO_READ_H
#define CHATHUB_PROTO_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The reader and seq of a frame proto_build_read wrote; false when the frame
 * is not a read (typing and presence frames pass here too) or its numbers are
 * not a reader's and a seq's (1 to 2^53 - 1). */
bool proto_read_parse(const char *json, size_t len, int64_t *user_id, int64_t *seq);

#endif
