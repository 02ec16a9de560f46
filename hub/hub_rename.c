/*
 * Users read again after renames (hub_rename.h): the ids asked for wait in a
 * set while a read is in flight and go in the next one, so one read at a time
 * covers any number of renames.
 */
#include "hub_rename.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hub_conn.h"
#include "hub_log.h"
#include "hub_map.h"
#include "hub_presence.h"
#include "store_user.h"
#include "xalloc.h"

/* Users per read: one array parameter, a few KiB. */
#define RENAME_BATCH 1000
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

typedef struct hub_rename {
    hub_t *hub;
    hub_map_t wanted; /* user id -> (void *)1: read at the next read */
    bool all;         /* every user with a socket here, at the next read */
    bool in_flight;
    uv_timer_t retry; /* a failed read: the same users again */
    uint64_t delay_ms;
} hub_rename_t;

/* One read's users; its answer's callback frees it. */
typedef struct rename_read {
    hub_t *hub;
    size_t n;
    int64_t ids[];
} rename_read_t;

static void send_next(hub_rename_t *r);

/* A user's copy on a socket, when it differs. */
static void
copy_user(hub_conn_t *c, const proto_user_t *u)
{
    if (strcmp(c->user.full_name, u->full_name) != 0) {
        free((char *)c->user.full_name);
        c->user.full_name = xstrdup(u->full_name);
    }
    if (strcmp(c->user.role, u->role) != 0) {
        free((char *)c->user.role);
        c->user.role = xstrdup(u->role);
    }
}

void
hub_rename_apply(hub_t *hub, const proto_user_t *users, size_t n, bool to_redis)
{
    hub_map_t by_id;
    size_t i = 0;
    uint64_t k;
    void *val;

    hub_map_init(&by_id);
    for (size_t u = 0; u < n; u++) {
        hub_map_put(&by_id, (uint64_t)users[u].id, (void *)&users[u]);
    }
    while (hub_map_next(&hub->conns, &i, &k, &val)) {
        hub_conn_t *c = val;
        const proto_user_t *u = c->user.id != 0 ? hub_map_get(&by_id, (uint64_t)c->user.id) : NULL;
        if (u != NULL) {
            copy_user(c, u);
        }
    }
    hub_map_clear(&by_id);
    hub_presence_rename(hub, users, n, to_redis);
}

/* Joins the store is answering for user_id (0: anyone) may have read the
 * user before the rename: asked again, as a missed kick would have them. */
static void
recheck_joins(hub_t *hub, int64_t user_id)
{
    size_t i = 0;
    uint64_t k;
    void *val;

    while (hub_map_next(&hub->conns, &i, &k, &val)) {
        hub_conn_t *c = val;
        if (c->state == HUB_CONN_PENDING && c->user.id == 0 &&
            (user_id == 0 || c->auth.user_id == user_id)) {
            c->recheck = true;
        }
    }
}

void
hub_rename_refresh(hub_t *hub, int64_t user_id)
{
    hub_rename_t *r = hub->rename;

    if (r == NULL || hub->store == NULL) {
        return;
    }
    recheck_joins(hub, user_id);
    if (user_id == 0) {
        r->all = true;
    } else {
        hub_map_put(&r->wanted, (uint64_t)user_id, (void *)1);
    }
    if (!r->in_flight && !uv_is_active((uv_handle_t *)&r->retry)) {
        send_next(r);
    }
}

static void
on_retry(uv_timer_t *t)
{
    send_next(t->data);
}

static void
on_read(void *ud, const store_user_row_t *rows, size_t n, const char *err)
{
    rename_read_t *rd = ud;
    hub_t *hub = rd->hub;
    hub_rename_t *r = hub->rename;

    if (r == NULL || hub->stopping) {
        free(rd);
        return; /* stopped: the store fails what is in flight */
    }
    r->in_flight = false;
    if (err != NULL) {
        if (r->delay_ms == RETRY_MIN_MS) { /* once per outage of the store */
            log_warn("rename.read_failed", "users=%zu err=\"%s\"", rd->n, err);
        }
        for (size_t i = 0; i < rd->n; i++) {
            hub_map_put(&r->wanted, (uint64_t)rd->ids[i], (void *)1);
        }
        uv_timer_start(&r->retry, on_retry, r->delay_ms, 0);
        r->delay_ms = r->delay_ms * 2 < RETRY_MAX_MS ? r->delay_ms * 2 : RETRY_MAX_MS;
        free(rd);
        return;
    }
    r->delay_ms = RETRY_MIN_MS;
    proto_user_t *users = xcalloc(n + 1, sizeof(*users));
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].full_name != NULL && rows[i].role != NULL) {
            users[nu++] = (proto_user_t){rows[i].id, rows[i].full_name, rows[i].role};
        }
    }
    hub_rename_apply(hub, users, nu, true);
    free(users);
    free(rd);
    send_next(r);
}

/* Every user with a socket here into the wanted set. */
static void
want_all(hub_rename_t *r)
{
    size_t i = 0;
    uint64_t k;
    void *val;

    while (hub_map_next(&r->hub->conns, &i, &k, &val)) {
        const hub_conn_t *c = val;
        if (c->user.id != 0 && c->state != HUB_CONN_CLOSING) {
            hub_map_put(&r->wanted, (uint64_t)c->user.id, (void *)1);
        }
    }
    r->all = false;
}

/* The next read, of at most RENAME_BATCH of the users wanted. */
static void
send_next(hub_rename_t *r)
{
    size_t i = 0, n = 0;
    uint64_t k;
    void *val;

    if (r->all) {
        want_all(r);
    }
    if (r->wanted.count == 0) {
        return;
    }
    size_t cap = r->wanted.count < RENAME_BATCH ? r->wanted.count : RENAME_BATCH;
    rename_read_t *rd = xmalloc(sizeof(*rd) + cap * sizeof(rd->ids[0]));
    rd->hub = r->hub;
    while (n < cap && hub_map_next(&r->wanted, &i, &k, &val)) {
        rd->ids[n++] = (int64_t)k;
    }
    for (size_t j = 0; j < n; j++) {
        hub_map_del(&r->wanted, (uint64_t)rd->ids[j]);
    }
    rd->n = n;
    r->in_flight = true;
    if (store_users_read(r->hub->store, rd->ids, n, on_read, rd) < 0) {
        r->in_flight = false; /* the store is closing */
        free(rd);
    }
}

void
hub_rename_start(hub_t *hub)
{
    hub_rename_t *r = xcalloc(1, sizeof(*r));

    r->hub = hub;
    r->delay_ms = RETRY_MIN_MS;
    hub_map_init(&r->wanted);
    uv_timer_init(hub->loop, &r->retry);
    r->retry.data = r;
    hub->rename = r;
}

static void
on_closed(uv_handle_t *h)
{
    hub_rename_t *r = h->data;

    hub_map_clear(&r->wanted);
    free(r);
}

void
hub_rename_stop(hub_t *hub)
{
    hub_rename_t *r = hub->rename;

    if (r == NULL) {
        return;
    }
    hub->rename = NULL;
    uv_close((uv_handle_t *)&r->retry, on_closed);
}
