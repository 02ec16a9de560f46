/*
 * Connections whose request head has not arrived, counted per client
 * address. A connection that sends part of a head and then dribbles holds
 * a descriptor for the 10 s head timeout; from one address, at a couple of
 * thousand connects a second, that was all of a node's descriptors
 * (HUB_MAX_CONNS_PER_IP counts WebSockets, which these are not yet). Past
 * HUB_MAX_PENDING_PER_IP such connections an address's next one gets 429
 * at accept.
 *
 * What is counted: a socket handed to lws (hub_listen.c) from then until
 * lws has its first head (an HTTP request or an upgrade) or lets it go.
 * A socket the hub's own WebSocket server takes had its whole head at
 * accept and is never counted. Loopback peers are not counted: that is our
 * nginx, which sends a head whole and speaks for many clients.
 */
#ifndef CHATHUB_HUB_HEADS_H
#define CHATHUB_HUB_HEADS_H

#include <stdbool.h>

#include "hub_map.h"

struct hub;
struct lws;

typedef struct hub_heads {
    hub_map_t by_wsi;  /* counted wsi → its descriptor + 1 */
    hub_map_t by_addr; /* address key → connections counted (as uintptr_t) */
    bool adopting;     /* inside an lws adopt call (hub_heads_adopt_begin) */
    bool settled;      /* a head was had, or a wsi let go, during that call */
} hub_heads_t;

void hub_heads_init(hub_heads_t *h);
void hub_heads_clear(hub_heads_t *h);

/* At accept, before fd's peer is recorded: a counted connection that had
 * this descriptor is gone (lws closed it without our callback seeing it). */
void hub_heads_forget_fd(struct hub *hub, int fd);

/* At accept, after fd's peer is recorded: false when its address is at the
 * limit (the caller refuses it with 429). */
bool hub_heads_admit(struct hub *hub, int fd);

/* Around handing fd to lws: wsi is what the adopt call returned (NULL: lws
 * closed fd). lws may serve the head, or drop the socket, inside the call;
 * then nothing is counted. */
void hub_heads_adopt_begin(struct hub *hub);
void hub_heads_adopt_end(struct hub *hub, int fd, struct lws *wsi);

/* lws has wsi's head (HTTP request, upgrade), or let wsi go: it stops counting. */
void hub_heads_done(struct hub *hub, struct lws *wsi);

#endif
