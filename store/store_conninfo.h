/*
 * What libpq is given for one connect attempt: the keywords that keep it from
 * blocking the loop or hanging on a dead peer, and the host name the store
 * must look up itself (libpq would resolve it with a blocking call).
 */
#ifndef CHATHUB_STORE_CONNINFO_H
#define CHATHUB_STORE_CONNINFO_H

#include "store.h"

#define STORE_CONNINFO_KEYS 12

/* Keywords and values for PQconnectStartParams(keys, vals, 1); the values
 * point into cfg, hostaddr and the struct itself. */
typedef struct store_conninfo {
    const char *keys[STORE_CONNINFO_KEYS], *vals[STORE_CONNINFO_KEYS];
    char opts[64], ctimeout[16];
} store_conninfo_t;

/* Fill ci for cfg, to hostaddr (numeric; NULL or "": none) and with a
 * server-side statement_timeout when stmt_timeout_ms > 0. */
void store_conninfo_fill(store_conninfo_t *ci, const store_config_t *cfg, const char *hostaddr,
                         unsigned stmt_timeout_ms);

/* cfg's host when libpq would have to look it up (a single name, with no
 * hostaddr anywhere, not a socket directory or a numeric address), as a new
 * string; else NULL. */
char *store_conninfo_lookup_host(const store_config_t *cfg);

#endif
