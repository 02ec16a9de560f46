/*
 * Schema migrations: the SQL files of store/migrations/ (embedded at build
 * time), applied in order under a PostgreSQL advisory lock so that many nodes
 * starting at once apply each version exactly once.
 */
#ifndef CHATHUB_STORE_MIGRATE_H
#define CHATHUB_STORE_MIGRATE_H

#include "store.h"

/* applied: how many versions this call applied (0 when another node did). */
typedef void (*store_migrate_cb)(void *ud, int applied, const char *err);

/*
 * Apply missing migrations. Waits at most lock_wait_s seconds for the advisory
 * lock (then store_err_timeout); each migration runs in its own transaction with
 * a statement_timeout. Emits "migrate.applied" events per version.
 */
int store_migrate(store_t *st, unsigned lock_wait_s, store_migrate_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* have: the highest version applied (0 when none is, or when the table is
 * missing: nothing was migrated, which is not an error). read_only: the
 * server takes no writes (a standby, or default_transaction_read_only). */
typedef void (*store_version_cb)(void *ud, int have, bool read_only, const char *err);

/* The highest migration version this binary knows. */
int store_schema_latest(void);

/* Read the highest version applied, through the pool (for /ready: a node
 * started before `chathub migrate` ran reports it, not the first query that
 * needs a newer column). */
int store_schema_version(store_t *st, store_version_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
