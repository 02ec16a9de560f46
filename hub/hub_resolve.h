/*
 * A host name looked up without blocking the loop (uv_getaddrinfo on libuv's
 * thread pool). hiredis and libpq would each resolve a name with a blocking
 * call of their own, so the hub hands them the address instead, looked up
 * again before every connect attempt so that a failover is followed.
 */
#ifndef CHATHUB_HUB_RESOLVE_H
#define CHATHUB_HUB_RESOLVE_H

#include <uv.h>

/* ip: the first IPv4 address, as text; NULL with err (libuv's words) on failure. */
typedef void (*hub_resolve_cb)(void *ud, const char *ip, const char *err);

typedef struct hub_resolve hub_resolve_t;

/* Look name up; cb(ud, ...) runs once, on a later turn, unless
 * hub_resolve_cancel() came first. NULL (with *err set): nothing started and
 * cb never runs. */
hub_resolve_t *hub_resolve_start(uv_loop_t *loop, const char *name, hub_resolve_cb cb, void *ud,
                                 const char **err);

/* cb will not run; the lookup's memory goes when libuv reports it. NULL is fine. */
void hub_resolve_cancel(hub_resolve_t *rs);

#endif
