/*
 * Graceful drain (SIGTERM, SIGINT): new upgrades get 503, open sockets close
 * with 1012 spread over a few seconds so their reconnects do not arrive as one
 * herd, message writes already sent to the store finish, the node's presence
 * entries go, and the process exits within 10 s. A second signal stops at once.
 */
#ifndef CHATHUB_HUB_DRAIN_H
#define CHATHUB_HUB_DRAIN_H

#include "hub.h"

/* Begin draining; calls done(hub) when it is time to stop. */
void hub_drain_start(hub_t *hub, void (*done)(hub_t *hub));

/* Forget the drain's timer (shutdown). */
void hub_drain_free(hub_t *hub);

#endif
