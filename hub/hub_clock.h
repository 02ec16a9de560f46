/*
 * The cluster's clock: this node's wall clock moved by what Redis's TIME
 * last said of it. A late disconnect carries the time it was made on one
 * node and another node compares it with when its sockets opened; on this
 * clock the two agree even when the nodes' own clocks do not (Redis is the
 * one clock every node reads). Until the first answer from Redis it is the
 * node's own wall clock.
 */
#ifndef CHATHUB_HUB_CLOCK_H
#define CHATHUB_HUB_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "hub.h"

/* Milliseconds since the epoch on the cluster's clock. */
int64_t hub_clock_ms(const hub_t *hub);

/* Ask Redis's TIME now (the link just came up), unless a TIME is in flight
 * or Redis is not up. */
void hub_clock_sample(hub_t *hub);

/* Once a second: ask again when the last ask is old enough, so the offset
 * follows a node clock that NTP slews. */
void hub_clock_tick(hub_t *hub);

#endif
