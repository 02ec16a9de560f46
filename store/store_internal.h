/*
 * What the store's files share, private to store/: one way to run a statement
 * on the pool and get its result back on the loop (store_conn.c), and the
 * single asynchronous libpq connection underneath it (store_pgconn.c).
 */
#ifndef CHATHUB_STORE_INTERNAL_H
#define CHATHUB_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "store.h"

/*
 * The answer to one statement: res is the final result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) when err is NULL; otherwise err is a store_err_* string and
 * res is NULL. Called exactly once, always from the loop, never from inside the
 * call that queued it (store_free() is the exception: store_err_shutdown).
 * res is borrowed until fn returns. ctx belongs to fn, which frees it.
 */
typedef void (*store_result_fn)(void *ctx, const PGresult *res, const char *err);

/*
 * Queue sql with nparams text parameters (copied; NULL is SQL NULL) on the
 * pool. affinity >= 0 (a room id) keeps the statements of that affinity on
 * one connection while any of them is pending, so they run in the order
 * queued (store_affinity.h); otherwise it goes to the first connection that
 * is not behind, and -1 to the least busy one. STORE_HEAVY is -1 for a
 * statement whose time grows with the tables rather than with its answer
 * (GENERAL's participant list of every user, /stats): it stays off the
 * first connection while another is up, so rooms' sends, which go there
 * first, never wait behind it. With no connection up, fn gets
 * store_err_unavailable on the next loop turn.
 * Returns 0, or -1 when st is NULL or closing (nothing queued, fn never runs).
 */
#define STORE_HEAVY (-2)
int store_query(store_t *st, int64_t affinity, const char *sql, int nparams,
                const char *const *params, store_result_fn fn, void *ctx);

/*
 * Statements of one kind that a connection may send as one when it finds
 * several queued back to back (group commit: one round trip and one
 * transaction for all). combine gets the parts (2 to max, in queue order;
 * the statements become its own, the array stays the caller's) and returns
 * the one statement whose callback answers each of them.
 */
typedef struct store_q store_q_t;
typedef struct store_merge {
    size_t min; /* fewer queued: each goes alone */
    size_t max;
    /* At most this many bytes of parameters of one affinity (0: no limit;
     * the first part always fits). An insert batch's messages reach their
     * room's sockets in one burst, so the bound is per room and in bytes:
     * small messages may go many at a time, so that a room behind catches
     * up, and large ones few. */
    size_t max_affinity_bytes;
    store_q_t *(*combine)(store_q_t **parts, size_t n);
    /* Names under which each connection prepares the single and the combined
     * statement at first use: these run at every message and every join, and
     * a prepared statement skips parsing and planning (pgbench: 8-19 % more
     * single inserts per second). */
    const char *name, *combined_name;
} store_merge_t;

/* store_query() for a statement that merge may combine with its neighbours. */
int store_query_merge(store_t *st, const store_merge_t *merge, int64_t affinity, const char *sql,
                      int nparams, const char *const *params, store_result_fn fn, void *ctx);

/* Answer fn with err on the next loop turn, as if a query had failed: for input
 * the store refuses before asking PostgreSQL. Same return as store_query(). */
int store_fail(store_t *st, store_result_fn fn, void *ctx, const char *err);

/* The store's counters, for its connections to update. */
store_pool_stats_t *store_pool_stats_mut(store_t *st);

/* True once store_free() has begun. */
bool store_closing(const store_t *st);

/* Emit an event through the host's hook (detail may be NULL). */
void store_event(store_t *st, const char *level, const char *event, const char *detail);

/* store_event() for failures that come once per statement (a read-only or
 * full server refuses every write; nodes retry): one line per event and
 * kind (its SQLSTATE, say; may be NULL) every 10 s at level, the others in
 * between at debug, and the next line at level says how many those were
 * (held=N). A new kind is never held back behind another's. */
void store_event_limited(store_t *st, uint64_t now_ms, const char *level, const char *event,
                         const char *kind, const char *detail);

/* The store's hooks and config, for the migration's private connection. */
const store_hooks_t *store_hooks(const store_t *st);
const store_config_t *store_config(const store_t *st);

/* conninfo's hosts when some are names to look up through hooks.resolve
 * before each connect (store_hosts_parse()), else NULL. */
typedef struct store_hosts store_hosts_t;
const store_hosts_t *store_hosts(const store_t *st);

/* A migration in progress, registered so that store_free() can end it. */
typedef struct store_migration_run store_migration_run_t;
void store_migration_register(store_t *st, store_migration_run_t *run);
void store_migration_unregister(store_t *st, store_migration_run_t *run);
/* Ends a run from store_free(): it unregisters, and its callback gets store_err_shutdown. */
void store_migration_cancel(store_migration_run_t *run);

/* ---- one queued statement ---- */

struct store_q {
    struct store_q *next;
    int64_t affinity;
    char *sql;
    int nparams; /* < 0: simple query protocol, sql may hold several statements */
    char **params;
    size_t param_bytes;         /* the params' lengths summed */
    uint64_t expires_ms;        /* while still queued: give up then (0: not yet queued) */
    const store_merge_t *merge; /* NULL: always sent alone */
    const char *name;           /* prepared under this name per connection; NULL: never */
    unsigned retries;           /* sent again after a deadlock (store_sqlstate_retry()) */
    store_result_fn fn;
    void *ctx;
    /* Where the pool counts it pending while it is queued or in flight:
     * store_q_free() counts it answered. NULL when not counted. */
    struct store_affinity *pending;
};

/* A statement with copies of sql and params. Free with store_q_free() or store_q_fail(). */
store_q_t *store_q_new(int64_t affinity, const char *sql, int nparams, const char *const *params,
                       store_result_fn fn, void *ctx);
void store_q_free(store_q_t *q);
/* Answer q's callback with err, then free q. */
void store_q_fail(store_q_t *q, const char *err);

/* ---- one asynchronous connection, used by the pool and by migrations ---- */

typedef struct store_pgconn store_pgconn_t;

/* Takes back a statement that a failing connection never sent, to run it elsewhere.
 * Called from the loop, outside any caller of the store. */
typedef void (*store_requeue_fn)(void *ud, store_q_t *q);

/*
 * A connection that starts connecting at once; name ("conn=0") prefixes its
 * events. statement_timeout_ms (0: the server's default) is set for its session;
 * deadline_ms bounds each statement's round trip and each statement's wait in the
 * queue (then store_err_timeout; for a round trip also a reconnect). reconnect:
 * after a failure, connect again with backoff (250 ms doubling to 10 s, jittered);
 * otherwise the connection stays down and fails what it is given. requeue (may
 * be NULL: fail with store_err_unavailable) gets the statements still queued when
 * the connection fails.
 */
store_pgconn_t *store_pgconn_new(store_t *st, const char *name, unsigned statement_timeout_ms,
                                 unsigned deadline_ms, bool reconnect, store_requeue_fn requeue,
                                 void *ud);
/* Queue q (ownership moves). Its callback never runs inside this call. */
void store_pgconn_push(store_pgconn_t *pc, store_q_t *q);
bool store_pgconn_is_up(const store_pgconn_t *pc);
/* Up (even if its next turn will find it broken: it then hands back what it
 * holds, in order) or starting: what is pushed now stays behind what it
 * holds. A connection that is down has handed everything back. */
bool store_pgconn_holds(const store_pgconn_t *pc);
/* Many statements wait on it, or the one in flight has run long. */
bool store_pgconn_behind(const store_pgconn_t *pc);
/* On its very first connect attempt: worth queueing on at startup. */
bool store_pgconn_is_starting(const store_pgconn_t *pc);
size_t store_pgconn_load(const store_pgconn_t *pc);
/* Close; what is queued or in flight gets err before this returns. Safe from
 * inside one of this connection's callbacks. NULL is a no-op. */
void store_pgconn_free(store_pgconn_t *pc, const char *err);

/* Parse a decimal column value (0 when NULL). */
int64_t store_col_i64(const PGresult *res, int row, int col);
/* A column's text, or NULL when SQL NULL. */
const char *store_col_str(const PGresult *res, int row, int col);
bool store_col_bool(const PGresult *res, int row, int col);
/* Decimal text of v into buf (at least 24 bytes); returns buf. */
char *store_i64_str(char *buf, size_t len, int64_t v);
/* A flag of 1, 0 or STORE_KEEP as a boolean parameter: "true", "false" or
 * NULL, which the statement reads as "what is stored". */
const char *store_flag_param(int flag);
/* "{1,2,3}": ids as a bigint[] parameter; free() it. */
char *store_id_array(const int64_t *ids, size_t n);

#endif
