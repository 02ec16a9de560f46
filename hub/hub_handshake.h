/*
 * The checks a WebSocket upgrade gets before any I/O (PROTOCOL.md §1): path,
 * drain state, Origin, and the token (JWT verified here; an opaque token only
 * shaped here and looked up after the upgrade), and the HTTP status written
 * when one fails.
 */
#ifndef CHATHUB_HUB_HANDSHAKE_H
#define CHATHUB_HUB_HANDSHAKE_H

#include "hub.h"
#include "hub_conn.h"

struct lws;
struct proto_request;

/* A request head the checks read: the one lws parsed (wsi), or ours (req, a
 * socket hub_wsock.c serves without lws); fd its socket. */
typedef struct hub_hs {
    struct lws *wsi;
    const struct proto_request *req;
    int fd;
} hub_hs_t;

/* The head of an lws connection. */
hub_hs_t hub_hs_lws(struct lws *wsi);

/* Debian's lws 4.1 copies Sec-WebSocket-Protocol into a 128-byte buffer and
 * drops the connection when the header has this many bytes or more (127: it
 * wants a byte spare past the NUL): hub_listen.c moves a long "bearer.<t>"
 * entry out of it first, and what is still too long gets 431. */
#define HUB_SUBPROTOCOL_MAX 127

/* 0 when the upgrade is to WebSocket, version 13; else 426 (an upgrade to
 * another protocol, another version) or 400 (no version). */
int hub_handshake_check_version(const hub_hs_t *hs, const char **why);

/* 0 with *auth filled, or the HTTP status to answer (401, 403, 404, 400, 503)
 * with *why a static reason for the log and the body. */
int hub_handshake_check(hub_t *hub, const hub_hs_t *hs, hub_auth_t *auth, const char **why);

/* Write "HTTP/1.1 <status> <reason>" with a small JSON body on wsi; a refused
 * version also names the one this hub speaks. */
void hub_handshake_reply(struct lws *wsi, int status, const char *why);

/* The same answer on a socket lws does not serve, which is then closed. */
void hub_handshake_refuse_fd(int fd, int status, const char *why);

/* The client address a per-IP limit counts (a hash of it): the peer's, or
 * the last X-Forwarded-For entry when the peer is a loopback proxy. */
uint64_t hub_handshake_ip_key(const hub_t *hub, const hub_hs_t *hs);

/* The hash of an address's text, as hub_handshake_ip_key keys it. */
uint64_t hub_handshake_addr_key(const char *addr);

/* True for 127.0.0.0/8 and ::1 written as text (an IPv4-mapped address is
 * written as IPv4 first: hub_listen.c). */
bool hub_handshake_is_loopback(const char *addr);

#endif
