/*
 * Sockets checked again against the store (hub_recheck.h): the sockets are
 * listed by connection id, one statement asks which of them lost their
 * place, and the answer closes those still open. Nothing here keeps a
 * pointer to a socket across the query.
 */
#include "hub_recheck.h"

#include <inttypes.h>
#include <stdlib.h>

#include "hub_clock.h"
#include "hub_conn.h"
#include "hub_log.h"
#include "store_room.h"
#include "xalloc.h"

/* Sockets per statement: one array parameter each, a few hundred KiB at most. */
#define RECHECK_BATCH 4096
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

struct hub_recheck {
    hub_t *hub;
    uv_timer_t retry; /* a failed check: every socket again */
    uint64_t delay_ms;
};

/* One statement's sockets; the store's indexes point into ids. */
typedef struct recheck_batch {
    hub_t *hub;
    /* A kick's check (hub_recheck_kick): what closes the sockets when the
     * store cannot answer; PROTO_ERR_NONE: retried instead. */
    proto_err_t fallback;
    size_t n;
    uint64_t *ids;
    int64_t *users, *rooms;
    int64_t *opened_ms; /* the cluster clock */
    const char **keys;  /* borrowed from the sockets until the query is queued */
} recheck_batch_t;

static void
batch_free(recheck_batch_t *b)
{
    free(b->ids);
    free(b->users);
    free(b->rooms);
    free(b->opened_ms);
    free(b->keys);
    free(b);
}

static recheck_batch_t *
batch_new(hub_t *hub, proto_err_t fallback)
{
    recheck_batch_t *b = xcalloc(1, sizeof(*b));

    b->hub = hub;
    b->fallback = fallback;
    b->ids = xmalloc(RECHECK_BATCH * sizeof(*b->ids));
    b->users = xmalloc(RECHECK_BATCH * sizeof(*b->users));
    b->rooms = xmalloc(RECHECK_BATCH * sizeof(*b->rooms));
    b->opened_ms = xmalloc(RECHECK_BATCH * sizeof(*b->opened_ms));
    b->keys = xmalloc(RECHECK_BATCH * sizeof(*b->keys));
    return b;
}

static void on_retry(uv_timer_t *t);

/* A kick's check the store could not answer: its sockets go as the kick
 * said (the kick is news; that the user is back only the store could say). */
static void
close_all(recheck_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        hub_conn_t *c = hub_conn_lookup(b->hub, b->ids[i]);
        if (c == NULL || c->state == HUB_CONN_CLOSING) {
            continue;
        }
        log_info("ws.recheck_closed",
                 "conn=%" PRIu64 " user=%" PRId64 " room=%" PRId64 " err=\"store down\"", c->id,
                 c->user.id, c->room_id);
        c->kicked = true;
        hub_conn_fail(c, b->fallback, NULL);
    }
}

static void
retry_later(hub_recheck_t *r)
{
    if (uv_is_active((uv_handle_t *)&r->retry)) {
        return;
    }
    uv_timer_start(&r->retry, on_retry, r->delay_ms, 0);
    r->delay_ms = r->delay_ms * 2 < RETRY_MAX_MS ? r->delay_ms * 2 : RETRY_MAX_MS;
}

static void
on_checked(void *ud, const size_t *bad, const char *const *errs, size_t nbad, const char *err)
{
    recheck_batch_t *b = ud; /* ours to free */
    hub_t *hub = b->hub;
    hub_recheck_t *r = hub->recheck;

    if (r == NULL || hub->stopping) {
        goto done; /* stopped: the store fails what is in flight */
    }
    if (err != NULL && b->fallback != PROTO_ERR_NONE) {
        close_all(b);
        goto done;
    }
    if (err != NULL) {
        /* Once per outage of the store, not per retry. */
        if (r->delay_ms == RETRY_MIN_MS) {
            log_warn("recheck.failed", "sockets=%zu err=\"%s\"", b->n, err);
        }
        retry_later(r);
        goto done;
    }
    r->delay_ms = RETRY_MIN_MS;
    for (size_t i = 0; i < nbad; i++) {
        hub_conn_t *c = bad[i] < b->n ? hub_conn_lookup(hub, b->ids[bad[i]]) : NULL;
        if (c == NULL) {
            continue; /* closed meanwhile */
        }
        log_info("ws.recheck_closed",
                 "conn=%" PRIu64 " user=%" PRId64 " room=%" PRId64 " err=\"%s\"", c->id, c->user.id,
                 c->room_id, errs[i]);
        c->kicked = true;
        if (errs[i] == store_err_disconnected) {
            hub_conn_close(c, PROTO_CLOSE_NORMAL, "disconnected", false);
        } else {
            hub_conn_fail(
                c, errs[i] == store_err_unauthorized ? PROTO_ERR_UNAUTHORIZED : PROTO_ERR_FORBIDDEN,
                NULL);
        }
    }

done:
    batch_free(b);
}

/* Queue b's statement; b belongs to its callback from here. */
static void
batch_send(hub_t *hub, recheck_batch_t *b)
{
    if (store_room_check_members(hub->store, b->users, b->rooms, b->keys, b->opened_ms, b->n,
                                 on_checked, b) < 0) {
        on_checked(b, NULL, NULL, 0, store_err_shutdown); /* not queued: store closed */
    }
}

/* Whether the check covers c; a join still waiting for the store is marked
 * to ask again instead, as its answer may predate what was missed. */
static bool
covers(hub_conn_t *c, int64_t user_id, int64_t room_id)
{
    if (c->state == HUB_CONN_CLOSING) {
        return false;
    }
    if (c->user.id == 0) {
        if (user_id == 0 || c->auth.user_id == user_id) {
            c->recheck = true;
        }
        return false;
    }
    return (user_id == 0 || c->user.id == user_id) && (room_id == 0 || c->room_id == room_id);
}

static void
check(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t fallback)
{
    size_t i = 0, total = 0;
    uint64_t key;
    void *val;
    recheck_batch_t *b = NULL;
    uint64_t now;
    int64_t cluster_now;

    if (hub->recheck == NULL || hub->store == NULL) {
        return;
    }
    now = hub_now_ms(hub);
    cluster_now = hub_clock_ms(hub);
    while (hub_map_next(&hub->conns, &i, &key, &val)) {
        hub_conn_t *c = val;
        if (!covers(c, user_id, room_id)) {
            continue;
        }
        b = b != NULL ? b : batch_new(hub, fallback);
        b->ids[b->n] = c->id;
        b->users[b->n] = c->user.id;
        b->rooms[b->n] = c->room_id;
        /* On the cluster clock, as a disconnect's mark is made. */
        b->opened_ms[b->n] = cluster_now - (int64_t)(now - c->opened_ms);
        b->keys[b->n++] = c->auth.opaque;
        total++;
        if (b->n == RECHECK_BATCH) {
            batch_send(hub, b);
            b = NULL;
        }
    }
    if (b != NULL) {
        batch_send(hub, b);
    }
    if (total > 0) {
        log_info("recheck.start", "user=%" PRId64 " room=%" PRId64 " sockets=%zu", user_id, room_id,
                 total);
    }
}

void
hub_recheck_sockets(hub_t *hub, int64_t user_id, int64_t room_id)
{
    check(hub, user_id, room_id, PROTO_ERR_NONE);
}

void
hub_recheck_kick(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err)
{
    check(hub, user_id, room_id, err);
}

static void
on_retry(uv_timer_t *t)
{
    hub_recheck_t *r = t->data;

    hub_recheck_sockets(r->hub, 0, 0);
}

void
hub_recheck_start(hub_t *hub)
{
    hub_recheck_t *r = xcalloc(1, sizeof(*r));

    r->hub = hub;
    r->delay_ms = RETRY_MIN_MS;
    uv_timer_init(hub->loop, &r->retry);
    r->retry.data = r;
    hub->recheck = r;
}

static void
on_closed(uv_handle_t *h)
{
    free(h->data);
}

void
hub_recheck_stop(hub_t *hub)
{
    hub_recheck_t *r = hub->recheck;

    if (r == NULL) {
        return;
    }
    hub->recheck = NULL;
    uv_close((uv_handle_t *)&r->retry, on_closed);
}
