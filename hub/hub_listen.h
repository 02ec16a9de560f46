/*
 * The listening socket. It is the hub's own, not lws's: Debian's lws 4.1
 * sets SO_REUSEPORT only for several service threads, gives no error when
 * its bind fails, and answers EMFILE by polling the listener again at once.
 * An accepted socket whose first bytes are a whole WebSocket upgrade is
 * served by the hub itself (hub_wsock.h, HUB_WS_NATIVE); the others are
 * handed to lws (lws_adopt_descriptor_vhost), which serves HTTP and
 * WebSocket on them as on its own.
 */
#ifndef CHATHUB_HUB_LISTEN_H
#define CHATHUB_HUB_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"

/*
 * Bind and listen on addr (a numeric IPv4 or IPv6 address; NULL or "" for
 * every interface, IPv6 and IPv4) and port, sharing the port with other
 * processes when reuseport, and start handing what connects to lws's
 * default vhost (TLS when tls). 0, or -1 with the reason in err.
 */
int hub_listen_open(hub_t *hub, const char *addr, int port, bool reuseport, bool tls, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* A socket's peer as accept4() gave it: the hash of its address's text
 * (hub_handshake_addr_key) and whether that is a loopback address, where a
 * proxy's X-Forwarded-For names the client instead. */
typedef struct hub_peer {
    uint64_t key;
    bool loopback;
    bool known;           /* false: not accepted here (or not yet) */
    struct lws *head_wsi; /* counted by hub_heads.c: lws has not had its head yet */
} hub_peer_t;

/* The peer of the socket fd, or NULL when it was not accepted here. */
const hub_peer_t *hub_listen_peer(const hub_t *hub, int fd);

/* Stop accepting and close the socket: with SO_REUSEPORT the kernel sends
 * new connections to the port's other nodes. Safe to call twice. */
void hub_listen_close(hub_t *hub);

#endif
