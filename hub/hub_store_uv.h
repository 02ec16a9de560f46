/*
 * The store's host hooks (store_hooks_t) on a libuv loop: uv_poll_t for its
 * sockets, uv_timer_t for its timers. Used by the hub and by the store's tests.
 */
#ifndef CHATHUB_HUB_STORE_UV_H
#define CHATHUB_HUB_STORE_UV_H

#include <uv.h>

#include "store.h"

typedef void (*hub_store_uv_event_fn)(void *ud, const char *level, const char *event,
                                      const char *detail);

/* Fill h for loop; event (may be NULL) receives the store's log events with event_ud. */
void hub_store_uv_hooks_init(store_hooks_t *h, uv_loop_t *loop, hub_store_uv_event_fn event,
                             void *event_ud);

#endif
