/*
 * The socket under a WebSocket connection: lws's (c->wsi), or one the hub
 * serves itself (c->ws, hub_wsock.c). One call for each thing hub_conn.c and
 * hub_wire.c ask of it, so neither knows which one it has.
 */
#ifndef CHATHUB_HUB_SOCK_H
#define CHATHUB_HUB_SOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "hub_conn.h"

typedef enum hub_sock_kind {
    HUB_SOCK_RAW,   /* bytes as they are: whole frames, or the rest of one */
    HUB_SOCK_TEXT,  /* a text frame's payload */
    HUB_SOCK_PING,  /* a ping's payload */
    HUB_SOCK_CLOSE, /* a close frame's payload: code and reason */
} hub_sock_kind_t;

/* The headroom before a buffer given to hub_sock_write: lws's LWS_PRE, into
 * which a frame's header is written. */
#define HUB_SOCK_PRE 16

int hub_sock_fd(const hub_conn_t *c);
/* Whether c's frames may be written to its descriptor directly (the ring of
 * hub_wire.c): not through TLS, and nothing of the socket's own to go first
 * (the 101 the hub's own server holds for the first frame). */
bool hub_sock_direct(const hub_conn_t *c);

/* Bytes of an earlier write are still held for the kernel: write nothing
 * else until they are out (a frame would overtake them). */
bool hub_sock_partial(const hub_conn_t *c);

/* Call hub_conn_writeable() for c soon, when the socket can take bytes. */
void hub_sock_want_write(hub_conn_t *c);

/* Stop (false) or resume (true) reading c's socket. */
void hub_sock_rx_flow(hub_conn_t *c, bool on);

/* Write len bytes at buf (HUB_SOCK_PRE bytes of headroom before it) as kind;
 * what the kernel does not take is kept and written first later. -1: the
 * socket failed. */
int hub_sock_write(hub_conn_t *c, unsigned char *buf, size_t len, hub_sock_kind_t kind);

/* Hang up c's socket in seconds whatever happens: the bound of a lingering
 * close. */
void hub_sock_close_after(hub_conn_t *c, unsigned seconds);

#endif
