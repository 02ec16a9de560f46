/*
 * A node's heartbeat (hub_presence.h: the key chathub:hb:<node>, which
 * expires 6 s after the node stops refreshing it), sent every 2 s with a
 * reap of the nodes whose key expired.
 */
#ifndef CHATHUB_HUB_PRESENCE_BEAT_H
#define CHATHUB_HUB_PRESENCE_BEAT_H

#include <stdbool.h>

#include "hub.h"

/* Refresh the key, then reap (hub_presence_reap). checked: a lapse is put
 * right; not for the beat that opens a rewrite, whose key is new after a
 * reconnect. Redis down: nothing. */
void hub_presence_heartbeat(hub_t *hub, bool checked);

#endif
