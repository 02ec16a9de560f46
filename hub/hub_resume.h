/*
 * Catching a socket up from the store (PROTOCOL.md §4): after ?last_seq=N the
 * socket gets every message after N in order, then live traffic, with no seq
 * skipped or repeated at the seam. While it catches up the room does not
 * deliver to it; it reads pages from the store until it has reached what the
 * room has delivered, and only then rejoins live delivery. A page is at most
 * half the socket's queue, and the next one is fetched only once it fits.
 * While it waits there the replay's expiry runs from the reader's last
 * progress, and live delivery waits until the kernel has sent all but a
 * little of it, so a client that keeps reading is not taken for a slow
 * consumer, nor are the live frames after the replay.
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

/* Live room traffic for a socket still catching up, a message (its seq) or
 * an event (presence, typing, read: seq 0): kept (its own reference) until
 * the replay is done, because the replayed messages come before live
 * traffic (PROTOCOL.md §4). More than HUB_CHANNEL_CAPACITY kept: closed with
 * 4408, as a full queue is. */
void hub_resume_hold(hub_conn_t *c, int64_t seq, hub_buf_t *frame);

/* Drop what hub_resume_hold() kept, sent or not. */
void hub_resume_drop_held(hub_conn_t *c);

/* Run each second (hub_conn_sweep) while c catches up, before its queue's
 * expiry is checked: a reader that reads keeps it from running out. */
void hub_resume_sweep(hub_conn_t *c, uint64_t now);

#endif
