/*
 * What libpq is given for one connect attempt: the keywords that keep it from
 * blocking the loop or hanging on a dead peer, and the host names the store
 * must look up itself (libpq would resolve them with a blocking call).
 */
#ifndef CHATHUB_STORE_CONNINFO_H
#define CHATHUB_STORE_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define STORE_CONNINFO_KEYS 14

/* The host settings of one attempt; each NULL: the conninfo's own. */
typedef struct store_target {
    char *host, *hostaddr, *port;
} store_target_t;

/* Keywords and values for PQconnectStartParams(keys, vals, 1); the values
 * point into cfg, target and the struct itself. */
typedef struct store_conninfo {
    const char *keys[STORE_CONNINFO_KEYS], *vals[STORE_CONNINFO_KEYS];
    char opts[64], ctimeout[16];
} store_conninfo_t;

/* Fill ci for cfg, to target (NULL: cfg->hostaddr, if any) and with a
 * server-side statement_timeout when stmt_timeout_ms > 0. */
void store_conninfo_fill(store_conninfo_t *ci, const store_config_t *cfg,
                         const store_target_t *target, unsigned stmt_timeout_ms);

/* conninfo's hosts (one, or libpq's comma-separated list, tried in turn),
 * when the store must look at least one up itself: a name, with no hostaddr
 * anywhere (socket directories and numeric addresses need no lookup). */
typedef struct store_hosts {
    size_t n;
    char **name;  /* each as written */
    char **port;  /* one per host when the conninfo lists one per host, else NULL */
    bool *lookup; /* a name to look up */
} store_hosts_t;

/* NULL: nothing to look up, libpq is given the conninfo as it is. */
store_hosts_t *store_hosts_parse(const store_config_t *cfg);
void store_hosts_free(store_hosts_t *h);

/* The target for one attempt from its lookups: addr[i] host i's address, ""
 * for one that needs no lookup, NULL for one that did not resolve, which is
 * left out (with its port). false: every host was left out. */
bool store_hosts_target(const store_hosts_t *h, char *const *addr, store_target_t *t);
void store_target_clear(store_target_t *t);

#endif
