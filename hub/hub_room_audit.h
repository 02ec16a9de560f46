/*
 * The rooms' audit: a message a node stored but never published (the node
 * died between the commit and the PUBLISH, or stopped while its Redis link
 * was down) would reach this node's sockets only when a later message in the
 * room showed the gap, or never in a room that goes quiet. Every
 * HUB_ROOM_AUDIT_MS the last seqs of all local rooms are read in one
 * statement; a room the store is still ahead of a second later, when any
 * publication in flight has long arrived, is filled from the store.
 */
#ifndef CHATHUB_HUB_ROOM_AUDIT_H
#define CHATHUB_HUB_ROOM_AUDIT_H

#include "hub.h"

typedef struct hub_room_audit hub_room_audit_t;

/* Start the periodic audit (nothing when cfg->room_audit_ms is 0). */
void hub_room_audit_start(hub_t *hub);

/* Stop it; an answer still owed by the store is ignored. */
void hub_room_audit_stop(hub_t *hub);

#endif
