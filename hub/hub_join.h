/*
 * A connection's asynchronous join (hub_join.c).
 */
#ifndef CHATHUB_HUB_JOIN_H
#define CHATHUB_HUB_JOIN_H

#include "hub_conn.h"

/* LWS_CALLBACK_ESTABLISHED: token, room and membership from the store, then
 * presence; the socket opens with connection_established, or fails with the
 * store's answer as its error and close code. */
void hub_join_start(hub_conn_t *c);

#endif
