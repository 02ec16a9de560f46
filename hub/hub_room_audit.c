/*
 * The rooms' audit (hub_room_audit.h). Two steps a hold apart so that a
 * busy room, always a few milliseconds behind the store while its messages
 * are on their way, costs nothing: the answer only notes each room's stored
 * seq, and the fill happens when delivery has not reached it a hold later.
 */
#include "hub_room_audit.h"

#include <inttypes.h>
#include <stdlib.h>

#include "hub_log.h"
#include "hub_room.h"
#include "store_room.h"
#include "xalloc.h"

/* A publication slower than this is as good as lost: the store is asked. */
#define AUDIT_HOLD_MS 1000

struct hub_room_audit {
    hub_t *hub;
    uv_timer_t tick; /* every room_audit_ms: read the rooms' last seqs */
    uv_timer_t hold; /* a hold after an answer that found rooms behind */
    bool asking;     /* a read is in flight */
    int closing;     /* handles still to close */
};

static void
on_hold(uv_timer_t *t)
{
    hub_room_audit_t *a = t->data;
    hub_t *hub = a->hub;
    size_t i = 0;
    uint64_t key;
    void *val;

    while (hub_map_next(&hub->rooms, &i, &key, &val)) {
        hub_room_t *room = val;
        int64_t stored = room->audit_seq;

        room->audit_seq = 0;
        if (stored > room->delivered_seq) {
            log_info("room.audit_behind",
                     "room=%" PRId64 " delivered_seq=%" PRId64 " stored_seq=%" PRId64, room->id,
                     room->delivered_seq, stored);
            hub->counters.audit_fills++;
            hub_room_fill_to(hub, room->id, stored);
        }
    }
}

static void
on_seqs(void *ud, const int64_t *ids, const int64_t *seqs, size_t n, const char *err)
{
    hub_t *hub = ud;
    hub_room_audit_t *a = hub->room_audit;
    size_t behind = 0;

    if (a == NULL || hub->stopping) {
        return; /* stopped: the store fails what is in flight */
    }
    a->asking = false;
    if (err != NULL) {
        log_debug("room.audit_failed", "err=\"%s\"", err); /* the next tick asks again */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        hub_room_t *room = hub_room_find(hub, ids[i]);
        if (room != NULL && seqs[i] > room->delivered_seq) {
            room->audit_seq = seqs[i];
            behind++;
        }
    }
    if (behind > 0 && !uv_is_active((uv_handle_t *)&a->hold)) {
        uv_timer_start(&a->hold, on_hold, AUDIT_HOLD_MS, 0);
    }
}

static void
on_tick(uv_timer_t *t)
{
    hub_room_audit_t *a = t->data;
    hub_t *hub = a->hub;
    size_t i = 0, n = 0;
    uint64_t key;
    void *val;
    int64_t *ids;

    /* A read still in flight (a slow store) or a hold still running covers this tick. */
    if (a->asking || uv_is_active((uv_handle_t *)&a->hold) || hub->rooms.count == 0 ||
        hub->store == NULL || !store_is_up(hub->store)) {
        return;
    }
    ids = xmalloc(hub->rooms.count * sizeof(*ids));
    while (hub_map_next(&hub->rooms, &i, &key, &val)) {
        ids[n++] = (int64_t)key;
    }
    a->asking = true;
    if (store_room_last_seqs(hub->store, ids, n, on_seqs, hub) < 0) {
        a->asking = false;
    }
    free(ids);
}

void
hub_room_audit_start(hub_t *hub)
{
    hub_room_audit_t *a;

    if (hub->cfg->room_audit_ms <= 0) {
        return;
    }
    a = xcalloc(1, sizeof(*a));
    a->hub = hub;
    uv_timer_init(hub->loop, &a->tick);
    uv_timer_init(hub->loop, &a->hold);
    a->tick.data = a->hold.data = a;
    uv_timer_start(&a->tick, on_tick, (uint64_t)hub->cfg->room_audit_ms,
                   (uint64_t)hub->cfg->room_audit_ms);
    hub->room_audit = a;
}

static void
on_closed(uv_handle_t *h)
{
    hub_room_audit_t *a = h->data;

    if (--a->closing == 0) {
        free(a);
    }
}

void
hub_room_audit_stop(hub_t *hub)
{
    hub_room_audit_t *a = hub->room_audit;

    if (a == NULL) {
        return;
    }
    hub->room_audit = NULL;
    a->closing = 2;
    uv_close((uv_handle_t *)&a->tick, on_closed);
    uv_close((uv_handle_t *)&a->hold, on_closed);
}
