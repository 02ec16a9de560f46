/*
 * WebSockets the hub serves itself, without libwebsockets (HUB_WS_NATIVE=1):
 * the upgrade of a plain socket hub_listen.c accepted, then its frames read
 * with proto_wsread and written by hub_wire.c as for lws's sockets. What lws
 * costs per socket (its header parser, five epoll_ctl per adoption, an 8 KB
 * header buffer, a walk of its whole descriptor table at every close) is
 * not paid; hub_conn.c sees the same calls either way (hub_sock.h).
 *
 * Everything else goes to lws as before: TLS, the HTTP API and pages, and
 * a request that is not a whole WebSocket upgrade when it is accepted.
 */
#ifndef CHATHUB_HUB_WSOCK_H
#define CHATHUB_HUB_WSOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "hub.h"
#include "hub_sock.h"

typedef struct hub_wsock hub_wsock_t;

/* The module's handles; hub_wsock_stop() hangs up every socket it serves
 * (their connections freed at once, as lws's are by its context's end). */
void hub_wsock_init(hub_t *hub);
void hub_wsock_stop(hub_t *hub);

/* fd was accepted and head (n bytes) peeked from it. When it is a whole
 * upgrade to a WebSocket path, the hub serves it (answers it, refused or
 * upgraded) and returns true; otherwise false, and fd is untouched, with
 * *bad_head the status a head that is no HTTP/1.x head deserves (400, 431;
 * 0 for a sound or partial one). Without the module (HUB_WS_NATIVE=0) it
 * answers only the upgrades lws would get wrong: to another protocol, over
 * HTTP/1.0, without a Host. */
bool hub_wsock_take(hub_t *hub, int fd, const char *head, size_t n, int *bad_head);

/* hub_sock.h's calls, for a socket served here. */
int hub_wsock_fd(const hub_wsock_t *ws);
bool hub_wsock_direct(const hub_wsock_t *ws);
bool hub_wsock_partial(const hub_wsock_t *ws);
void hub_wsock_want_write(hub_wsock_t *ws);
void hub_wsock_rx_flow(hub_wsock_t *ws, bool on);
int hub_wsock_write(hub_wsock_t *ws, unsigned char *buf, size_t len, hub_sock_kind_t kind);
void hub_wsock_close_after(hub_wsock_t *ws, unsigned seconds);

#endif
