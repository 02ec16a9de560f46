/*
 * The drain, one 100 ms tick at a time: close the next slice of sockets, and
 * once none is left, no message write is in flight and the presence grace
 * of every user whose socket it closed has run out (or the deadline came),
 * take the node out of presence and hand over to the stop. The grace is what
 * lets a user it sent to another node show no leave/join.
 */
#include "hub_drain.h"

#include <stdlib.h>

#include "hub_conn.h"
#include "hub_listen.h"
#include "hub_log.h"
#include "hub_presence.h"
#include "xalloc.h"

#define TICK_MS 100
#define SPREAD_MS 3000   /* sockets close over this long */
#define DEADLINE_MS 8500 /* stop by then whatever is pending: the spread, then a 5 s grace */

typedef struct drain {
    hub_t *hub;
    uv_timer_t tick;
    void (*done)(hub_t *hub);
    uint64_t started;
    size_t per_tick;
    hub_conn_t **batch; /* per_tick slots: the tick's slice, collected before it closes */
    bool presence_asked;
    bool presence_gone;
} drain_t;

static void
close_some(drain_t *d)
{
    size_t i = 0, n = 0;
    uint64_t key;
    void *val;

    /* Collect first: closing changes the map we walk. The slice is not
     * capped: with a fixed cap of 256 a tick, a node over 7,680 sockets
     * took longer than the spread (65,536 took 26 s, past a 15 s stop). */
    while (n < d->per_tick && hub_map_next(&d->hub->conns, &i, &key, &val)) {
        hub_conn_t *c = val;
        if (c->state != HUB_CONN_CLOSING) {
            d->batch[n++] = c;
        }
    }
    for (size_t k = 0; k < n; k++) {
        hub_conn_close(d->batch[k], PROTO_CLOSE_RESTART, "node draining", false);
    }
    d->hub->counters.drain_closes += n;
}

static size_t
open_conns(hub_t *hub)
{
    size_t i = 0, n = 0;
    uint64_t key;
    void *val;

    while (hub_map_next(&hub->conns, &i, &key, &val)) {
        n += ((hub_conn_t *)val)->state != HUB_CONN_CLOSING;
    }
    return n;
}

static void
on_presence_gone(hub_t *hub, void *ud)
{
    drain_t *d = ud;

    (void)hub;
    d->presence_gone = true;
}

static void
on_tick(uv_timer_t *t)
{
    drain_t *d = t->data;
    hub_t *hub = d->hub;
    uint64_t elapsed = uv_now(hub->loop) - d->started;
    size_t left = open_conns(hub);

    if (left > 0) {
        close_some(d);
        return;
    }
    if (elapsed < DEADLINE_MS &&
        (hub->pending_writes > 0 || hub->conns.count > 0 || hub_presence_drain_leaving(hub) > 0)) {
        return; /* sends in flight finish; close frames go out; graces end */
    }
    if (!d->presence_asked) {
        d->presence_asked = true;
        hub_presence_remove_node(hub, on_presence_gone, d);
        return;
    }
    if (!d->presence_gone && elapsed < DEADLINE_MS + 1000) {
        return;
    }
    uv_timer_stop(t);
    log_info("hub.drained", "ms=%" PRIu64 " pending_writes=%zu", elapsed, hub->pending_writes);
    d->done(hub);
}

void
hub_drain_start(hub_t *hub, void (*done)(hub_t *hub))
{
    drain_t *d = xcalloc(1, sizeof(*d));
    size_t n = open_conns(hub);
    size_t ticks = SPREAD_MS / TICK_MS;

    hub->draining = true;
    hub->drain = d;
    d->hub = hub;
    d->done = done;
    d->started = uv_now(hub->loop);
    d->per_tick = n > 0 ? (n + ticks - 1) / ticks : 1;
    d->batch = xcalloc(d->per_tick, sizeof(*d->batch));
    if (hub->cfg->reuseport) {
        /* The port's other nodes take every new connection from now on.
         * Alone on the port, the listener stays and upgrades get 503. */
        hub_listen_close(hub);
    }
    log_info("hub.draining", "sockets=%zu listener=%s", n,
             hub->listener != NULL ? "open" : "closed");
    uv_timer_init(hub->loop, &d->tick);
    d->tick.data = d;
    uv_timer_start(&d->tick, on_tick, 0, TICK_MS);
}

static void
on_closed(uv_handle_t *h)
{
    drain_t *d = h->data;

    free(d->batch);
    free(d);
}

void
hub_drain_free(hub_t *hub)
{
    drain_t *d = hub->drain;

    if (d != NULL) {
        hub->drain = NULL;
        uv_close((uv_handle_t *)&d->tick, on_closed);
    }
}
