/*
 * Redis answering this node's presence writes with an error while the link
 * stays up (out of memory under noeviction, a read-only replica, a busy
 * script, a key of the wrong type): the write may be missing, and no
 * reconnect will come to rewrite it. The next heartbeat Redis takes has the
 * node rewrite its entries (hub_presence_on_redis_up), as after a reconnect;
 * a rewrite refused too is tried again after 2 s, doubling to 30 s, so a
 * Redis that refuses for good costs one script call a while, not one a beat.
 * Logged once a spell: presence.redis_refused, then presence.redis_accepting
 * when a rewrite passes.
 */
#ifndef CHATHUB_HUB_PRESENCE_REFUSAL_H
#define CHATHUB_HUB_PRESENCE_REFUSAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hub_presence_refusal {
    bool due;            /* a rewrite is owed */
    bool logged;         /* this spell's first refusal went to the log */
    uint64_t not_before; /* ms: the next rewrite after a refused one */
    unsigned backoff_ms;
} hub_presence_refusal_t;

/* A presence write was refused. */
void hub_presence_refusal_note(hub_presence_refusal_t *r, const char *node);

/* Whether the rewrite owed may run at now (ms). */
bool hub_presence_refusal_due(const hub_presence_refusal_t *r, uint64_t now);

/* The rewrite begins: it is what the refusals were owed. */
void hub_presence_refusal_rewriting(hub_presence_refusal_t *r);

/* The rewrite's answer: passed, or refused too (then owed again later). */
void hub_presence_refusal_rewritten(hub_presence_refusal_t *r, bool refused, uint64_t now,
                                    const char *node);

#endif
