/*
 * The store's host hooks (store_hooks_t) on a libuv loop: uv_poll_t for its
 * sockets, uv_timer_t for its timers, uv_hrtime() for its clock. Used by the hub
 * and by the store's tests.
 */
#ifndef CHATHUB_HUB_STORE_UV_H
#define CHATHUB_HUB_STORE_UV_H

#include <uv.h>

#include "store.h"

typedef void (*hub_store_uv_event_fn)(void *ud, const char *level, const char *event,
                                      const char *detail);

/*
 * Fill h for loop; event (may be NULL) receives the store's log events with
 * event_ud. Give h to one store_new(): the hooks' private record is freed when
 * the last watch or timer made through it has closed, i.e. on the loop turn
 * after store_free(). Freed handles are closed asynchronously, so run the loop
 * once more after store_free() before uv_loop_close().
 */
void hub_store_uv_hooks_init(store_hooks_t *h, uv_loop_t *loop, hub_store_uv_event_fn event,
                             void *event_ud);

#endif
