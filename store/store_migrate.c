/*
 * Migrations on a private connection (not one of the pool's): poll
 * pg_try_advisory_lock until lock_wait_s has passed, so the wait is bounded and
 * never blocks the loop; read which versions are applied; apply each missing
 * one in its own transaction with statement and lock timeouts; unlock. Many
 * nodes starting at once: one applies, the others wait, then find nothing to
 * do. Migration files hold plain SQL and no transaction control of their own.
 */
#include "store_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_migrations.h"
#include "xalloc.h"

#define MIGRATE_LOCK_KEY "7270736901" /* any constant shared by every node */
#define LOCK_POLL_MS 200
/* A migration may rewrite a big table; it must not wait forever on a lock that
 * a long-running query holds, though, or every query queues behind it. */
#define MIGRATION_TIMEOUTS "SET LOCAL statement_timeout = '300s'; SET LOCAL lock_timeout = '30s';"
#define MIGRATION_DEADLINE_MS 310000

typedef enum { M_LOCKING, M_WORKING, M_FINISHING } m_phase_t;

struct store_migration_run {
    store_t *st;
    store_pgconn_t *pc; /* reconnects by itself until the lock is ours */
    void *timer;
    store_migrate_cb cb;
    void *ud;
    uint64_t lock_deadline;
    m_phase_t phase;
    bool told_waiting;
    unsigned next; /* index into store_migrations */
    bool *done;    /* per index: applied before this run */
    int applied;
    const char *err;
};

static void try_lock(store_migration_run_t *run);
static void apply_next(store_migration_run_t *run);

static uint64_t
now_ms(const store_migration_run_t *run)
{
    const store_hooks_t *h = store_hooks(run->st);

    return h->now_ms(h->ud);
}

static void
run_free(store_migration_run_t *run)
{
    store_migration_unregister(run->st, run);
    store_pgconn_free(run->pc, store_err_shutdown);
    run->pc = NULL;
    store_hooks(run->st)->timer_free(run->timer);
    free(run->done);
}

/* Ends on the next turn: statement callbacks run inside the connection, and the
 * host's callback must run outside every store frame. */
static void
finish(store_migration_run_t *run, const char *err)
{
    run->err = err;
    run->phase = M_FINISHING;
    store_hooks(run->st)->timer_start(run->timer, 0);
}

static void
finish_now(store_migration_run_t *run)
{
    store_migrate_cb cb = run->cb;
    void *ud = run->ud;
    int applied = run->applied;
    const char *err = run->err;

    run_free(run);
    free(run);
    cb(ud, applied, err);
}

static void
on_timer(void *ud)
{
    store_migration_run_t *run = ud;

    if (run->phase == M_FINISHING) {
        finish_now(run);
        return;
    }
    try_lock(run);
}

static void
on_unlocked(void *ctx, const PGresult *res, const char *err)
{
    store_migration_run_t *run = ctx;

    (void)res;
    /* Everything is committed; closing the session would release the lock anyway. */
    (void)err;
    finish(run, NULL);
}

static void
on_applied(void *ctx, const PGresult *res, const char *err)
{
    store_migration_run_t *run = ctx;
    const store_migration_t *m = &store_migrations[run->next];
    char detail[160];

    (void)res;
    if (err != NULL) {
        snprintf(detail, sizeof(detail), "version=%d name=%s err=\"%s\"", m->version, m->name, err);
        store_event(run->st, "error", "migrate.failed", detail);
        finish(run, err);
        return;
    }
    snprintf(detail, sizeof(detail), "version=%d name=%s", m->version, m->name);
    store_event(run->st, "info", "migrate.applied", detail);
    run->applied++;
    run->next++;
    apply_next(run);
}

static void
apply_next(store_migration_run_t *run)
{
    const store_migration_t *m;
    size_t cap;
    char *sql;

    while (run->next < store_migrations_count && run->done[run->next]) {
        run->next++;
    }
    if (run->next == store_migrations_count) {
        store_pgconn_push(run->pc,
                          store_q_new(-1, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0,
                                      NULL, on_unlocked, run));
        return;
    }
    m = &store_migrations[run->next];
    cap = strlen(m->sql) + strlen(m->name) + 256;
    sql = xmalloc(cap);
    /* One simple query: the file may hold many statements, and the version row
     * commits with them or not at all. Names come from file names ([a-z0-9_]). */
    snprintf(sql, cap,
             "BEGIN; " MIGRATION_TIMEOUTS "\n%s\n;\n"
             "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s'); COMMIT;",
             m->sql, m->version, m->name);
    store_pgconn_push(run->pc, store_q_new(-1, sql, -1, NULL, on_applied, run));
    free(sql);
}

static void
on_versions(void *ctx, const PGresult *res, const char *err)
{
    store_migration_run_t *run = ctx;

    if (err != NULL) {
        finish(run, err);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int v = (int)store_col_i64(res, i, 0);
        for (unsigned k = 0; k < store_migrations_count; k++) {
            run->done[k] = run->done[k] || store_migrations[k].version == v;
        }
    }
    apply_next(run);
}

static void
on_table(void *ctx, const PGresult *res, const char *err)
{
    store_migration_run_t *run = ctx;

    (void)res;
    if (err != NULL) {
        finish(run, err);
        return;
    }
    store_pgconn_push(run->pc, store_q_new(-1, "SELECT version FROM schema_migrations", 0, NULL,
                                           on_versions, run));
}

static void
on_lock(void *ctx, const PGresult *res, const char *err)
{
    store_migration_run_t *run = ctx;
    bool expired = now_ms(run) >= run->lock_deadline;

    if (err == store_err_unavailable && !expired) {
        /* The database may be starting with us: wait for the connection. */
        store_hooks(run->st)->timer_start(run->timer, LOCK_POLL_MS);
        return;
    }
    if (err != NULL) {
        finish(run, err);
        return;
    }
    if (!store_col_bool(res, 0, 0)) {
        if (expired) {
            store_event(run->st, "error", "migrate.lock_timeout", NULL);
            finish(run, store_err_timeout);
            return;
        }
        if (!run->told_waiting) {
            run->told_waiting = true;
            store_event(run->st, "info", "migrate.waiting",
                        "reason=\"another node holds the lock\"");
        }
        store_hooks(run->st)->timer_start(run->timer, LOCK_POLL_MS);
        return;
    }
    run->phase = M_WORKING;
    store_event(run->st, "info", "migrate.locked", NULL);
    store_pgconn_push(run->pc, store_q_new(-1,
                                           "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                           "version int PRIMARY KEY, name text NOT NULL, "
                                           "applied_at timestamptz NOT NULL DEFAULT now())",
                                           0, NULL, on_table, run));
}

/* Ask for the lock when the connection can take it; until then poll, and past
 * the wait give up with what kept us waiting. */
static void
try_lock(store_migration_run_t *run)
{
    if (store_pgconn_is_up(run->pc) || store_pgconn_is_starting(run->pc)) {
        store_pgconn_push(run->pc,
                          store_q_new(-1, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")", 0,
                                      NULL, on_lock, run));
    } else if (now_ms(run) >= run->lock_deadline) {
        finish(run, store_err_unavailable);
    } else {
        store_hooks(run->st)->timer_start(run->timer, LOCK_POLL_MS);
    }
}

void
store_migration_cancel(store_migration_run_t *run)
{
    store_migrate_cb cb = run->cb;
    void *ud = run->ud;
    int applied = run->applied;

    /* Statement callbacks answered by the free below only call finish(). */
    run->phase = M_FINISHING;
    run_free(run);
    free(run);
    cb(ud, applied, store_err_shutdown);
}

int
store_migrate(store_t *st, unsigned lock_wait_s, store_migrate_cb cb, void *ud)
{
    store_migration_run_t *run;
    const store_hooks_t *h;

    if (st == NULL || store_closing(st)) {
        return -1;
    }
    h = store_hooks(st);
    run = xcalloc(1, sizeof(*run));
    run->st = st;
    run->cb = cb;
    run->ud = ud;
    run->done = xcalloc(store_migrations_count + 1, sizeof(bool));
    run->lock_deadline = h->now_ms(h->ud) + (uint64_t)lock_wait_s * 1000;
    run->timer = h->timer_new(h->ud, on_timer, run);
    store_migration_register(st, run);
    /* Its own connection, not the pool's: session-level lock, long statements.
     * It reconnects like the pool's until the run ends, and fails nothing it
     * was not given. */
    run->pc = store_pgconn_new(st, "conn=migrate", 0, MIGRATION_DEADLINE_MS, true, NULL, run);
    try_lock(run);
    return 0;
}

int
store_schema_latest(void)
{
    return store_migrations_count > 0 ? store_migrations[store_migrations_count - 1].version : 0;
}

typedef struct version_ctx {
    store_t *st;
    store_version_cb cb;
    void *ud;
} version_ctx_t;

/* The table is there (its version failed for another reason, the server's)
 * or not: a database nothing was migrated into is behind, not down. */
static void
on_table_absent(void *ctx, const PGresult *res, const char *err)
{
    version_ctx_t *v = ctx;

    if (err == NULL && store_col_bool(res, 0, 0)) {
        v->cb(v->ud, 0, false, NULL);
    } else {
        v->cb(v->ud, 0, false, store_err_unavailable);
    }
    free(v);
}

static void
on_schema_version(void *ctx, const PGresult *res, const char *err)
{
    version_ctx_t *v = ctx;
    int have = err == NULL ? (int)store_col_i64(res, 0, 0) : 0;
    bool read_only = err == NULL && store_col_bool(res, 0, 1);

    /* A missing table reads as unavailable (store_sqlstate.c: a schema
     * behind the binary), as does a server that is down: ask which. */
    if (err == store_err_unavailable &&
        store_query(v->st, -1, "SELECT to_regclass('schema_migrations') IS NULL", 0, NULL,
                    on_table_absent, v) == 0) {
        return;
    }
    v->cb(v->ud, have, read_only, err);
    free(v);
}

int
store_schema_version(store_t *st, store_version_cb cb, void *ud)
{
    version_ctx_t *v = xmalloc(sizeof(*v));

    v->st = st;
    v->cb = cb;
    v->ud = ud;
    /* A server that takes no writes answers reads and refuses every send
     * (25006, unavailable): /ready says so rather than 200. */
    if (store_query(st, -1,
                    "SELECT coalesce(max(version), 0), pg_is_in_recovery() OR "
                    "current_setting('transaction_read_only') = 'on' FROM schema_migrations",
                    0, NULL, on_schema_version, v) < 0) {
        free(v);
        return -1;
    }
    return 0;
}
