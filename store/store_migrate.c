/*
 * Migrations on a private connection: wait for a session advisory lock
 * (polling pg_try_advisory_lock, so the wait is bounded by lock_wait_s and
 * never blocks the loop), read which versions are applied, apply each missing
 * one in its own transaction with a statement_timeout. Closing the session
 * releases the lock. Many nodes starting at once: one applies, the others
 * wait, then find nothing to do.
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
#define MIGRATION_TIMEOUT "'300s'"

struct store_migration_run {
    store_t *st;
    store_pgconn_t *pc;
    void *timer;
    store_migrate_cb cb;
    void *ud;
    uint64_t lock_deadline;
    unsigned next; /* index into store_migrations */
    bool *applied_versions;
    int applied;
    const char *err;
    bool finishing;
};

static void try_lock(store_migration_run_t *run);

/* Runs on the timer, outside any libpq callback, so the connection can go. */
static void
finish_now(store_migration_run_t *run)
{
    const store_hooks_t *h = store_hooks(run->st);

    store_set_migration(run->st, NULL);
    store_pgconn_free(run->pc, store_err_shutdown);
    h->timer_free(run->timer);
    run->cb(run->ud, run->applied, run->err);
    free(run->applied_versions);
    free(run);
}

static void
finish(store_migration_run_t *run, const char *err)
{
    run->err = err;
    run->finishing = true;
    store_hooks(run->st)->timer_start(run->timer, 0);
}

static void
on_timer(void *ud)
{
    store_migration_run_t *run = ud;

    if (run->finishing) {
        finish_now(run);
    } else {
        try_lock(run);
    }
}

static void apply_next(store_migration_run_t *run);

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
    while (run->next < store_migrations_count && run->applied_versions[run->next]) {
        run->next++;
    }
    if (run->next == store_migrations_count) {
        finish(run, NULL);
        return;
    }
    const store_migration_t *m = &store_migrations[run->next];
    size_t cap = strlen(m->sql) + 512;
    char *sql = xmalloc(cap);
    /* Names come from file names ([a-z0-9_]), so quoting them is safe. */
    snprintf(sql, cap,
             "BEGIN; SET LOCAL statement_timeout = " MIGRATION_TIMEOUT ";\n%s\n;"
             "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s'); COMMIT;",
             m->sql, m->version, m->name);
    store_pgconn_query(run->pc, sql, -1, NULL, on_applied, run);
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
            if (store_migrations[k].version == v) {
                run->applied_versions[k] = true;
            }
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
    store_pgconn_query(run->pc, "SELECT version FROM schema_migrations", 0, NULL, on_versions, run);
}

static void
on_lock(void *ctx, const PGresult *res, const char *err)
{
    store_migration_run_t *run = ctx;
    const store_hooks_t *h = store_hooks(run->st);

    if (err != NULL) {
        finish(run, err);
        return;
    }
    if (!store_col_bool(res, 0, 0)) {
        if (h->now_ms(h->ud) >= run->lock_deadline) {
            store_event(run->st, "error", "migrate.lock_timeout", NULL);
            finish(run, store_err_timeout);
            return;
        }
        h->timer_start(run->timer, LOCK_POLL_MS);
        return;
    }
    store_event(run->st, "info", "migrate.locked", NULL);
    store_pgconn_query(run->pc,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "version int PRIMARY KEY, name text NOT NULL, "
                       "applied_at timestamptz NOT NULL DEFAULT now())",
                       0, NULL, on_table, run);
}

static void
try_lock(store_migration_run_t *run)
{
    store_pgconn_query(run->pc, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL,
                       on_lock, run);
}

static void
on_state(void *ud, store_pgconn_t *pc, bool up)
{
    (void)ud;
    (void)pc;
    (void)up; /* a failure reaches the queued statement's callback */
}

void
store_migration_cancel(store_migration_run_t *run)
{
    const store_hooks_t *h = store_hooks(run->st);

    /* Detach first: the failing statement's callback must not start more work. */
    run->finishing = true;
    store_pgconn_free(run->pc, store_err_shutdown);
    run->pc = NULL;
    h->timer_free(run->timer);
    run->cb(run->ud, run->applied, store_err_shutdown);
    free(run->applied_versions);
    free(run);
}

int
store_migrate(store_t *st, unsigned lock_wait_s, store_migrate_cb cb, void *ud)
{
    store_migration_run_t *run;
    const store_hooks_t *h;

    if (st == NULL) {
        return -1;
    }
    h = store_hooks(st);
    run = xcalloc(1, sizeof(*run));
    run->st = st;
    run->cb = cb;
    run->ud = ud;
    run->applied_versions = xcalloc(store_migrations_count + 1, sizeof(bool));
    run->lock_deadline = h->now_ms(h->ud) + (uint64_t)lock_wait_s * 1000;
    run->timer = h->timer_new(h->ud, on_timer, run);
    run->pc = store_pgconn_new(st, -1, 0, 310000, false, on_state, run);
    store_set_migration(st, run);
    try_lock(run);
    return 0;
}
