/*
 * What a connection does with each complete client message (PROTOCOL.md §3):
 * rate limit, parse, then one handler per frame type.
 */
#ifndef CHATHUB_HUB_FRAMES_H
#define CHATHUB_HUB_FRAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "hub_conn.h"

/* buf is NUL-terminated at len and borrowed. Answers bad input with an error
 * frame; may close the connection (4429). */
void hub_frames_handle(hub_conn_t *c, const char *buf, size_t len, bool binary);

#endif
