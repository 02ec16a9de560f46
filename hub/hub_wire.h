/*
 * Writing a socket's queued frames: every frame queued for a socket in one
 * turn of the loop goes out in one write, just before the loop polls again.
 * A frame costs the sender a syscall, a TCP segment and a wakeup of the
 * reader; under load several frames per socket arrive in one turn (a Redis
 * read, a batch of inserts) and share them.
 */
#ifndef CHATHUB_HUB_WIRE_H
#define CHATHUB_HUB_WIRE_H

#include "hub.h"
#include "hub_conn.h"

/* The prepare handle and the scratch buffer; hub_wire_close() before the loop ends. */
void hub_wire_init(hub_t *hub);
void hub_wire_close(hub_t *hub);

/* c (open, nothing held for its socket) has a first frame queued: write it, and
 * whatever joins it, before this turn of the loop ends. false while the hub
 * shuts down: ask for a writeable call instead (hub_sock_want_write). */
bool hub_wire_cork(hub_t *hub, hub_conn_t *c);

/* c is being freed: forget it. */
void hub_wire_forget(hub_t *hub, hub_conn_t *c);

/* Write c's queue while the kernel takes it whole, several frames per write.
 * -1: the socket failed (the caller hangs it up). */
int hub_wire_write(hub_t *hub, hub_conn_t *c);

#endif
