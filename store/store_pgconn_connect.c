/*
 * Connecting one libpq session without blocking the loop: the hosts are
 * looked up through the host's resolver first (libpq would resolve a name
 * with a blocking call), then PQconnectStartParams/PQconnectPoll step on the
 * socket's readiness until the session is up or fails. store_pgconn.c runs
 * statements on it once it is up.
 */
#include <stdio.h>

#include "store_conninfo.h"
#include "store_internal.h"
#include "store_lookup.h"
#include "store_pgconn_impl.h"

static void rewatch(store_pgconn_t *pc, int events);

/* Server notices ("relation already exists, skipping") are not ours to print. */
static void
ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void
on_up(store_pgconn_t *pc)
{
    char detail[64];

    if (PQsetnonblocking(pc->pg, 1) != 0) {
        pgconn_fail(pc, "cannot make the connection non-blocking", store_err_unavailable);
        return;
    }
    PQsetNoticeProcessor(pc->pg, ignore_notice, NULL);
    pc->state = PC_UP;
    pc->ever_up = true;
    pc->backoff_ms = BACKOFF_MIN_MS;
    snprintf(detail, sizeof(detail), "%s attempts=%u", pc->name, pc->failures + 1);
    pc->failures = 0;
    rewatch(pc, STORE_EV_READ);
    if (pc->state != PC_UP) {
        return;
    }
    store_pool_stats_mut(pc->st)->connects++;
    store_event(pc->st, "info", "store.up", detail);
    pgconn_pump(pc);
}

/* libpq may swap its socket during the connect, even for one with the same
 * number: a fresh watch per step keeps the loop's registration honest. */
static void
rewatch(store_pgconn_t *pc, int events)
{
    if (pc->watch != NULL) {
        pc->h->watch_free(pc->watch);
    }
    pc->watch = pc->h->watch_new(pc->h->ud, PQsocket(pc->pg), pgconn_on_io, pc);
    if (pc->watch == NULL) {
        pgconn_fail(pc, "cannot watch the socket", store_err_unavailable);
        return;
    }
    pgconn_set_watch(pc, events);
}

void
pgconn_connect_step(store_pgconn_t *pc)
{
    switch (PQconnectPoll(pc->pg)) {
    case PGRES_POLLING_OK:
        on_up(pc);
        break;
    case PGRES_POLLING_READING:
        rewatch(pc, STORE_EV_READ);
        break;
    case PGRES_POLLING_WRITING:
        rewatch(pc, STORE_EV_WRITE);
        break;
    default:
        pgconn_fail(pc, NULL, store_err_unavailable);
        break;
    }
}

/* Start libpq's connect, to target (NULL: the conninfo's own hosts). */
static void
connect_to(store_pgconn_t *pc, const store_target_t *target)
{
    store_conninfo_t ci;

    store_conninfo_fill(&ci, store_config(pc->st), target, pc->stmt_timeout_ms);
    pc->state = PC_CONNECTING;
    pc->pg = PQconnectStartParams(ci.keys, ci.vals, 1);
    if (pc->pg == NULL || PQstatus(pc->pg) == CONNECTION_BAD) {
        /* libpq's text here may quote the connection string: say less. */
        pgconn_fail(pc, "cannot start connecting (bad DATABASE_URL or host?)",
                    store_err_unavailable);
        return;
    }
    rewatch(pc, STORE_EV_WRITE);
}

/* The lookups are over (all answered, or the deadline came): connect to the
 * hosts that resolved, in the conninfo's order, leaving out the others.
 * none_why: what to log when none did. */
void
pgconn_connect_resolved(store_pgconn_t *pc, const char *none_why)
{
    store_target_t t;
    char why[200];
    bool any = store_lookup_target(pc->lookup, &t);

    snprintf(why, sizeof(why), "cannot resolve the database host: %s", none_why);
    store_lookup_free(pc->lookup);
    pc->lookup = NULL;
    if (!any) {
        pgconn_fail(pc, why, store_err_unavailable);
        return;
    }
    /* A fresh deadline: a slow lookup must not leave the connect no time. */
    pc->connect_deadline = pgconn_now_ms(pc) + store_config(pc->st)->connect_timeout_ms;
    connect_to(pc, &t);
    store_target_clear(&t);
}

static void
on_resolved(void *ud)
{
    store_pgconn_t *pc = ud;

    pc->depth++;
    pgconn_connect_resolved(pc, store_lookup_err(pc->lookup));
    pgconn_leave(pc);
}

/* A connect attempt: look the host names up first (again at every attempt,
 * so a failover to a new address is followed), never handing libpq a name it
 * would resolve with a blocking call. With several hosts (libpq tries them in
 * turn), all are looked up at once, and one that does not resolve is left out
 * of this attempt as libpq would skip it. */
void
pgconn_connect(store_pgconn_t *pc)
{
    const store_config_t *cfg = store_config(pc->st);
    const store_hosts_t *hosts = store_hosts(pc->st);

    pc->connect_deadline = pgconn_now_ms(pc) + cfg->connect_timeout_ms;
    if (hosts == NULL || pc->h->resolve == NULL) {
        connect_to(pc, NULL);
        return;
    }
    pc->state = PC_RESOLVING;
    pc->lookup = store_lookup_new(pc->h, hosts, on_resolved, pc);
    if (pc->lookup == NULL) {
        pgconn_fail(pc, "cannot start resolving the database host", store_err_unavailable);
    }
}
