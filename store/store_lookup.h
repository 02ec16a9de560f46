/*
 * The host names of one connect attempt, looked up all at once through the
 * host's resolve hook (libpq would look them up with a blocking call). It
 * knows nothing of connections: store_pgconn.c starts one per attempt and
 * turns the answers into that attempt's target.
 */
#ifndef CHATHUB_STORE_LOOKUP_H
#define CHATHUB_STORE_LOOKUP_H

#include <stdbool.h>

#include "store.h"
#include "store_conninfo.h"

typedef struct store_lookup store_lookup_t;

/* Runs once, on a later loop turn, when the last lookup has answered. */
typedef void (*store_lookup_cb)(void *ud);

/*
 * Start a lookup of every name in hosts that needs one (hosts->lookup[i]),
 * through h->resolve. hosts must outlive the lookup. done(ud) runs once, when
 * the last one answers, and never after store_lookup_free(). NULL: a lookup
 * could not start (the ones started are cancelled) and done never runs.
 * Release with store_lookup_free(), also from inside done.
 */
store_lookup_t *store_lookup_new(const store_hooks_t *h, const store_hosts_t *hosts,
                                 store_lookup_cb done, void *ud);

/* The attempt's target from the answers so far (store_hosts_target()): the
 * hosts that did not resolve, or have not yet, are left out. false: none
 * resolved, and *t is empty. Clear *t with store_target_clear(). */
bool store_lookup_target(const store_lookup_t *l, store_target_t *t);

/* Why the last failed lookup failed, for the log; "unknown" before any did. */
const char *store_lookup_err(const store_lookup_t *l);

/* Cancel the lookups still in flight and free l; NULL is allowed. */
void store_lookup_free(store_lookup_t *l);

#endif
