/*
 * The local room registry and in-order delivery. Delivery is one pass over
 * an array, each socket's queue taking a reference to the one serialized
 * frame; each socket also skips any seq it already has (its join saw it).
 */
#include "hub_room.h"

#include <stdlib.h>
#include <string.h>

#include "hub_channel.h"
#include "hub_conn.h"
#include "hub_log.h"
#include "hub_presence_order.h"
#include "hub_presence_settle.h"
#include "hub_resume.h"
#include "proto_build.h"
#include "store_msg.h"
#include "store_room.h"
#include "xalloc.h"

/* How long an early message waits for the missing ones before the store is asked. */
#define GAP_HOLD_MS 150
/* Held messages past which the store is asked at once. */
#define HELD_MAX 4096
#define FILL_PAGE 500

static void start_fill(hub_room_t *room);

hub_room_t *
hub_room_find(hub_t *hub, int64_t room_id)
{
    return hub_map_get(&hub->rooms, (uint64_t)room_id);
}

static void
on_gap_timer(uv_timer_t *t)
{
    start_fill(t->data);
}

static hub_room_t *
room_add(hub_t *hub, int64_t room_id, int64_t last_seq)
{
    hub_room_t *room = xcalloc(1, sizeof(*room));

    room->id = room_id;
    room->hub = hub;
    room->delivered_seq = last_seq;
    hub_map_init(&room->reads);
    uv_timer_init(hub->loop, &room->gap_timer);
    room->gap_timer.data = room;
    hub_map_put(&hub->rooms, (uint64_t)room_id, room);
    hub_channel_room_open(hub->channel, room_id);
    return room;
}

static void
on_room_closed(uv_handle_t *h)
{
    hub_room_t *room = h->data;

    for (size_t i = 0; i < room->nheld; i++) {
        hub_buf_unref(room->held[i].frame);
    }
    free(room->held);
    free(room->conns);
    hub_map_clear(&room->reads);
    hub_buf_unref(room->presence_last);
    hub_buf_unref(room->presence_seen);
    free(room->seen_ids);
    hub_presence_track_free(room->presence_track);
    free(room->cover);
    hub_presence_settle_free(room->settle);
    free(room);
}

static void
room_free(hub_t *hub, hub_room_t *room)
{
    hub_map_del(&hub->rooms, (uint64_t)room->id);
    if (!hub->stopping) {
        hub_channel_room_close(hub->channel, room->id);
    }
    uv_close((uv_handle_t *)&room->gap_timer, on_room_closed);
}

void
hub_room_join(hub_t *hub, int64_t room_id, int64_t last_seq, hub_conn_t *c)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    if (room == NULL) {
        room = room_add(hub, room_id, last_seq);
    }
    if (room->nconns == room->cap) {
        room->cap = room->cap == 0 ? 4 : room->cap * 2;
        room->conns = xrealloc(room->conns, room->cap * sizeof(*room->conns));
    }
    c->room = room;
    c->room_index = room->nconns;
    room->conns[room->nconns++] = c;
}

void
hub_room_remove_conn(hub_t *hub, hub_conn_t *c)
{
    hub_room_t *room = c->room;

    if (room == NULL) {
        return;
    }
    size_t last = room->nconns - 1;
    if (c->room_index != last) {
        room->conns[c->room_index] = room->conns[last];
        room->conns[c->room_index]->room_index = c->room_index;
    }
    room->nconns--;
    c->room = NULL;
    if (room->nconns == 0) {
        room_free(hub, room);
    }
}

/* Send to every socket that lacks seq. Backwards: a send may close a slow
 * consumer, which swap-removes it; the element moved in was already visited. */
static void
deliver_now(hub_room_t *room, int64_t seq, hub_buf_t *frame)
{
    uint64_t born = hub_buf_born(frame);

    if (born != 0) {
        uint64_t now = hub_now_us();
        lat_hist_observe(&room->hub->counters.delivery, now > born ? now - born : 0);
    }
    room->delivered_seq = seq;
    for (size_t i = room->nconns; i > 0; i--) {
        if (i > room->nconns) {
            continue;
        }
        hub_conn_t *c = room->conns[i - 1];
        if (seq > c->last_seq && c->catching_up) {
            hub_resume_hold(c, seq, frame); /* after the replay, which may have it too */
        } else if (seq > c->last_seq) {
            c->last_seq = seq;
            hub_conn_send(c, frame);
        }
    }
}

static void
drain_held(hub_room_t *room)
{
    size_t k = 0;

    while (k < room->nheld && room->held[k].seq <= room->delivered_seq + 1) {
        if (room->held[k].seq == room->delivered_seq + 1) {
            deliver_now(room, room->held[k].seq, room->held[k].frame);
        }
        hub_buf_unref(room->held[k].frame);
        k++;
    }
    if (k > 0) {
        room->nheld -= k;
        memmove(room->held, room->held + k, room->nheld * sizeof(*room->held));
    }
    if (room->nheld == 0) {
        uv_timer_stop(&room->gap_timer);
    }
}

static void
hold(hub_room_t *room, int64_t seq, hub_buf_t *frame)
{
    size_t at = room->nheld;

    while (at > 0 && room->held[at - 1].seq >= seq) {
        if (room->held[at - 1].seq == seq) {
            return; /* already held */
        }
        at--;
    }
    if (room->nheld == room->heldcap) {
        room->heldcap = room->heldcap == 0 ? 8 : room->heldcap * 2;
        room->held = xrealloc(room->held, room->heldcap * sizeof(*room->held));
    }
    memmove(room->held + at + 1, room->held + at, (room->nheld - at) * sizeof(*room->held));
    room->held[at] = (hub_held_t){seq, hub_buf_ref(frame)};
    room->nheld++;
    room->hub->counters.room_held++;
    if (room->nheld > HELD_MAX) {
        start_fill(room);
    } else if (!room->filling && !uv_is_active((uv_handle_t *)&room->gap_timer)) {
        uv_timer_start(&room->gap_timer, on_gap_timer, GAP_HOLD_MS, 0);
    }
}

void
hub_room_offer_msg(hub_t *hub, int64_t room_id, int64_t seq, hub_buf_t *frame)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    if (room == NULL || seq <= room->delivered_seq) {
        return;
    }
    if (seq == room->delivered_seq + 1) {
        deliver_now(room, seq, frame);
        drain_held(room);
        return;
    }
    hold(room, seq, frame);
}

void
hub_room_offer_first(hub_conn_t *c, int64_t room_id, int64_t seq, hub_buf_t *frame)
{
    /* seq - 1 is what c holds, so c's order is kept however far the room's
     * own delivery has got (it may hold seq behind a gap). */
    if (c->state != HUB_CONN_OPEN || c->room == NULL || c->room->id != room_id || c->catching_up ||
        c->last_seq != seq - 1) {
        return;
    }
    c->last_seq = seq;
    hub_conn_send(c, frame);
}

/* Deliver a fill's page: the seqs that continue delivered_seq, in order. */
static void
deliver_page(hub_room_t *room, const proto_msg_t *msgs, size_t n)
{
    int64_t from = room->delivered_seq;
    size_t len;

    for (size_t i = 0; i < n; i++) {
        if (msgs[i].seq != room->delivered_seq + 1) {
            continue;
        }
        char *s = proto_build_chat_message(&msgs[i], &len);
        hub_buf_t *frame = hub_buf_take(s, len);
        deliver_now(room, msgs[i].seq, frame);
        if (room->publish_fill) {
            /* Maybe never published (its sender heard a timeout); receivers
             * skip seqs they have, so a second publication costs nothing. */
            hub_channel_publish(room->hub->channel, HUB_ENV_MSG, room->id, msgs[i].seq, 0,
                                hub_buf_payload(frame), len);
        }
        hub_buf_unref(frame);
    }
    if (room->delivered_seq > from) {
        log_debug("room.filled", "room=%" PRId64 " from_seq=%" PRId64 " to_seq=%" PRId64, room->id,
                  from + 1, room->delivered_seq);
    }
}

static void
on_fill(void *ud, const proto_msg_t *msgs, size_t n, bool has_more, const char *err)
{
    hub_ref_t *ref = ud;
    hub_room_t *room = hub_room_find(ref->hub, (int64_t)ref->id);

    free(ref);
    if (room == NULL) {
        return;
    }
    room->filling = false;
    if (err != NULL) {
        /* Retried every second: through a store outage, one line at the
         * start and one every 30 tries, not one a second per room. */
        if (room->fill_failures++ % 30 == 0) {
            log_warn("room.fill_failed", "room=%" PRId64 " tries=%u err=\"%s\"", room->id,
                     room->fill_failures, err);
        }
        uv_timer_start(&room->gap_timer, on_gap_timer, 1000, 0); /* try again */
        return;
    }
    room->fill_failures = 0;
    deliver_page(room, msgs, n);
    drain_held(room);
    if (has_more || room->refill) {
        start_fill(room);
        return;
    }
    room->publish_fill = false;
    if (room->nheld > 0) {
        uv_timer_start(&room->gap_timer, on_gap_timer, GAP_HOLD_MS, 0);
    }
}

static void
start_fill(hub_room_t *room)
{
    hub_ref_t *ref;

    if (room->filling) {
        return;
    }
    uv_timer_stop(&room->gap_timer);
    ref = hub_ref_new(room->hub, (uint64_t)room->id);
    room->filling = true;
    room->refill = false; /* this fill reads everything committed before it */
    room->hub->counters.room_fills++;
    log_debug("room.fill", "room=%" PRId64 " after_seq=%" PRId64, room->id, room->delivered_seq);
    if (store_msg_history(room->hub->store, room->id, 0, room->delivered_seq, FILL_PAGE, on_fill,
                          ref) < 0) {
        free(ref);
        room->filling = false;
        uv_timer_start(&room->gap_timer, on_gap_timer, 1000, 0); /* refused at once: later */
    }
}

void
hub_room_fill_to(hub_t *hub, int64_t room_id, int64_t seq)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    if (room == NULL || seq <= room->delivered_seq) {
        return;
    }
    if (room->filling) {
        /* The fill in flight may have read the store before seq committed. */
        room->refill = true;
        return;
    }
    start_fill(room);
}

void
hub_room_recover(hub_t *hub, int64_t room_id)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    if (room == NULL) {
        return;
    }
    room->publish_fill = true;
    if (room->filling) {
        room->refill = true; /* the fill in flight may have read before the commit */
        return;
    }
    /* Through the gap timer: a fill already due covers this one, and the store
     * has a moment to replace the connection that timed out. */
    if (!uv_is_active((uv_handle_t *)&room->gap_timer)) {
        uv_timer_start(&room->gap_timer, on_gap_timer, GAP_HOLD_MS, 0);
    }
}

typedef struct room_check {
    hub_t *hub;
    size_t n;
    int64_t ids[];
} room_check_t;

static void
on_last_seqs(void *ud, const int64_t *ids, const int64_t *seqs, size_t n, const char *err)
{
    room_check_t *k = ud;

    if (err != NULL) {
        /* Not known: fill each room, which retries while the store is away. */
        for (size_t i = 0; i < k->n; i++) {
            hub_room_fill_to(k->hub, k->ids[i], INT64_MAX);
        }
    }
    for (size_t i = 0; i < n; i++) {
        hub_room_fill_to(k->hub, ids[i], seqs[i]);
    }
    free(k);
}

static void
on_room_checks(uv_prepare_t *h)
{
    hub_t *hub = h->data;
    room_check_t *k = xmalloc(sizeof(*k) + hub->nchecked * sizeof(k->ids[0]));

    uv_prepare_stop(h);
    k->hub = hub;
    k->n = hub->nchecked;
    memcpy(k->ids, hub->checked_rooms, k->n * sizeof(k->ids[0]));
    hub->nchecked = 0;
    if (hub->store == NULL || store_room_last_seqs(hub->store, k->ids, k->n, on_last_seqs, k) < 0) {
        on_last_seqs(k, NULL, NULL, 0, store_err_unavailable);
    }
}

void
hub_room_on_subscribed(hub_t *hub, int64_t room_id)
{
    if (hub_room_find(hub, room_id) == NULL || hub->stopping) {
        return;
    }
    if (hub->nchecked == hub->checked_cap) {
        hub->checked_cap = hub->checked_cap > 0 ? hub->checked_cap * 2 : 64;
        hub->checked_rooms = xrealloc(hub->checked_rooms, hub->checked_cap * sizeof(int64_t));
    }
    hub->checked_rooms[hub->nchecked++] = room_id;
    if (hub->nchecked == 1) {
        uv_prepare_start(&hub->room_checks, on_room_checks);
    }
}

void
hub_room_checks_init(hub_t *hub)
{
    uv_prepare_init(hub->loop, &hub->room_checks);
    hub->room_checks.data = hub;
}

void
hub_room_broadcast(hub_t *hub, int64_t room_id, hub_buf_t *frame, int64_t except_user)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    for (size_t i = room != NULL ? room->nconns : 0; i > 0; i--) {
        if (i > room->nconns) {
            continue;
        }
        hub_conn_t *c = room->conns[i - 1];
        if (except_user != 0 && c->user.id == except_user) {
            continue;
        }
        if (c->catching_up) {
            hub_resume_hold(c, 0, frame); /* after the replayed messages */
        } else {
            hub_conn_send(c, frame);
        }
    }
}

bool
hub_room_user_online_before(const hub_room_t *room, int64_t user_id, size_t n)
{
    for (size_t i = 0; room != NULL && i < n && i < room->nconns; i++) {
        if (room->conns[i]->user.id == user_id) {
            return true;
        }
    }
    return false;
}

void
hub_room_free_all(hub_t *hub)
{
    size_t i = 0;
    uint64_t key;
    void *val;

    uv_close((uv_handle_t *)&hub->room_checks, NULL);
    free(hub->checked_rooms);
    hub->checked_rooms = NULL;
    hub->nchecked = hub->checked_cap = 0;

    while (hub_map_next(&hub->rooms, &i, &key, &val)) {
        hub_room_t *room = val;
        for (size_t k = 0; k < room->nconns; k++) {
            room->conns[k]->room = NULL;
        }
        uv_close((uv_handle_t *)&room->gap_timer, on_room_closed);
    }
    hub_map_clear(&hub->rooms);
}
