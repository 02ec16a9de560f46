/*
 * Whether the store's schema has every migration this binary knows. A node
 * started before `chathub migrate` ran served on, and failed only the
 * queries that needed a newer column (a removal's re-check kept a removed
 * user's socket open): /ready now answers 503 with "schema", and the log
 * says so once each time it changes.
 */
#ifndef CHATHUB_HUB_SCHEMA_H
#define CHATHUB_HUB_SCHEMA_H

#include <stdbool.h>

#include "hub.h"

/* store_err: why the store could not answer (then behind is the last known
 * answer); NULL when it did. */
typedef void (*hub_schema_cb)(hub_t *hub, void *ud, const char *store_err, bool behind);

/* Ask the store; cb (may be NULL) gets the answer. */
void hub_schema_check(hub_t *hub, hub_schema_cb cb, void *ud);

#endif
