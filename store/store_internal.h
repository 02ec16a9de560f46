/*
 * What the store's query files share: one way to run a statement on the pool
 * and get its result back on the loop. Private to store/.
 */
#ifndef CHATHUB_STORE_INTERNAL_H
#define CHATHUB_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "store.h"

/*
 * The answer to one statement: res is the final result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) when err is NULL; otherwise err is a store_err_* string
 * and res may be NULL. Called exactly once, always from the loop, never from
 * inside store_query() (except with store_err_shutdown from store_free()).
 * ctx belongs to fn, which frees it.
 */
typedef void (*store_result_fn)(void *ctx, const PGresult *res, const char *err);

/*
 * Queue sql with nparams text parameters (copied; NULL is SQL NULL) on the
 * pool. affinity >= 0 keeps statements about one room on one connection, so
 * they run in the order they were queued; -1 picks the least busy one.
 * Returns 0, or -1 when st is NULL (nothing queued, fn never runs).
 */
int store_query(store_t *st, int64_t affinity, const char *sql, int nparams,
                const char *const *params, store_result_fn fn, void *ctx);

/* Emit an event through the host's hook (detail may be NULL). */
void store_event(store_t *st, const char *level, const char *event, const char *detail);

/* The store's hooks and config, for the migration's private connection. */
const store_hooks_t *store_hooks(const store_t *st);
const store_config_t *store_config(const store_t *st);

/* A migration in progress, registered so that store_free() can end it. */
typedef struct store_migration_run store_migration_run_t;
void store_set_migration(store_t *st, store_migration_run_t *run);
/* Ends a run at store_free(): its callback gets store_err_shutdown. */
void store_migration_cancel(store_migration_run_t *run);

/* ---- one asynchronous connection, used by the pool and by migrations ---- */

typedef struct store_pgconn store_pgconn_t;

/* Called when the connection comes up or goes down. */
typedef void (*store_pgconn_state_fn)(void *ud, store_pgconn_t *pc, bool up);

/*
 * A connection that connects at once. statement_timeout_ms (0: the server's
 * default) is set for its session; deadline_ms bounds each statement's round
 * trip here (then store_err_timeout and a reconnect). reconnect: after a
 * failure, connect again with backoff (250 ms doubling to 10 s, jittered).
 */
store_pgconn_t *store_pgconn_new(store_t *st, int index, unsigned statement_timeout_ms,
                                 unsigned deadline_ms, bool reconnect,
                                 store_pgconn_state_fn on_state, void *ud);
/* Queue a statement (nparams < 0: a simple query that may hold several
 * statements). Queued statements wait while connecting and fail when the
 * connection fails. */
void store_pgconn_query(store_pgconn_t *pc, const char *sql, int nparams, const char *const *params,
                        store_result_fn fn, void *ctx);
bool store_pgconn_is_up(const store_pgconn_t *pc);
bool store_pgconn_is_connecting(const store_pgconn_t *pc);
size_t store_pgconn_load(const store_pgconn_t *pc);
/* Fail what is queued with err (synchronously) and close. */
void store_pgconn_free(store_pgconn_t *pc, const char *err);

/* Parse a decimal column value. */
int64_t store_col_i64(const PGresult *res, int row, int col);
/* A column's text, or NULL when SQL NULL. */
const char *store_col_str(const PGresult *res, int row, int col);
bool store_col_bool(const PGresult *res, int row, int col);

#endif
