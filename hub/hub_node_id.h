/*
 * One live process per HUB_NODE_ID. Two nodes given the same id (an
 * environment file copied to a second host) share their presence entries
 * and skip each other's publications as their own: messages between them
 * wait for the room audit, and presence flaps. Nothing in Redis tells them
 * apart but what each writes: every heartbeat carries this process's tag
 * (when it started, and a random part), and the key's value the beat
 * replaces (SET ... GET) says who wrote it last. A predecessor that died
 * (a restart under the same id) wrote it once more at most; a live twin
 * writes it between any two of our beats. The one that started later is
 * the intruder: it logs an error every minute and its /ready answers 503
 * (`failed: ["node_id"]`), so a load balancer takes it out; the first one
 * logs a warning.
 */
#ifndef CHATHUB_HUB_NODE_ID_H
#define CHATHUB_HUB_NODE_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "hub.h"

/* Give this process its tag (once, at start). */
void hub_node_id_init(hub_t *hub);

/* The heartbeat key's value: "<connections> <tag>". */
void hub_node_id_beat(const hub_t *hub, char *buf, size_t len);

/* What the beat replaced (prev NULL: the key had expired). */
void hub_node_id_check(hub_t *hub, const char *prev, size_t len);

/* Whether another live process with this id started first (/ready). */
bool hub_node_id_clash(const hub_t *hub);

#endif
