/*
 * Catching a socket up from the store (PROTOCOL.md §4): after ?last_seq=N the
 * socket gets every message after N in order, then live traffic, with no seq
 * skipped or repeated at the seam. While it catches up the room does not
 * deliver to it; it reads pages from the store until it has reached what the
 * room has delivered, and only then rejoins live delivery. A page is at most
 * half the socket's queue, and the next one is fetched only once it fits; the
 * kernel takes the replay only as the reader reads (TCP_NOTSENT_LOWAT), and
 * live delivery waits until all of it is there, so a client that keeps
 * reading, at any pace, is never taken for a slow consumer.
 */
#ifndef CHATHUB_HUB_RESUME_H
#define CHATHUB_HUB_RESUME_H

#include "hub_conn.h"

#define HUB_RESUME_MAX 1000 /* more missed: the newest 1000 and resume_truncated */

/* c has joined its room with c->last_seq at the client's position; fetch from there. */
void hub_resume_start(hub_conn_t *c);

/* c's queue was written: a page the queue had no room for is fetched now if
 * it fits (see resume_parked). */
void hub_resume_on_drain(hub_conn_t *c);

#endif
