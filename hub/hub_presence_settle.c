/*
 * Rooms read again as settled (hub_presence_settle.h): one timer for the
 * node, the rooms waiting in a list by id (a room may be gone when it
 * fires), and the store's JSON of the users a settled room must name.
 */
#include "hub_presence_settle.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "hub_log.h"
#include "hub_presence_resync.h"
#include "hub_presence_user.h"
#include "proto_num.h"
#include "store_user.h"
#include "xalloc.h"

struct hub_presence_settle {
    uint64_t due_ms;   /* the loop's clock */
    uint64_t done_ms;  /* the settled read went out then (0: not yet) */
    uint64_t retry_ms; /* the store failed the JSON: wait this long, doubling */
    bool settled;
    bool reading;   /* the store is asked for JSON */
    bool json_read; /* and answered */
    size_t n;
    int64_t *ids;
    char **json;
    int64_t *kept; /* sorted */
    size_t nkept;
};

struct hub_presence_settler {
    hub_t *hub;
    uv_timer_t timer;
    int64_t *rooms; /* waiting (a room may be listed twice: armed again) */
    size_t nrooms, cap;
};

static void on_timer(uv_timer_t *t);
static void wait_for(hub_presence_settler_t *s, hub_room_t *room, uint64_t ms);

/* The rooms due now are read as settled; the rest wait for the timer. */
static void
sweep(hub_presence_settler_t *s)
{
    uint64_t now = hub_now_ms(s->hub), next = UINT64_MAX;
    size_t kept = 0;

    for (size_t i = 0; i < s->nrooms; i++) {
        hub_room_t *room = hub_room_find(s->hub, s->rooms[i]);
        hub_presence_settle_t *st = room != NULL ? room->settle : NULL;
        if (st == NULL || st->settled) {
            continue; /* gone, or read as settled already */
        }
        if (st->due_ms > now) {
            next = st->due_ms < next ? st->due_ms : next;
            s->rooms[kept++] = s->rooms[i];
            continue;
        }
        st->settled = true;
        hub_presence_resync(s->hub, room->id);
    }
    s->nrooms = kept;
    if (next != UINT64_MAX) {
        uv_timer_start(&s->timer, on_timer, next - now, 0);
    }
}

static void
on_timer(uv_timer_t *t)
{
    sweep(t->data);
}

hub_presence_settler_t *
hub_presence_settler_new(hub_t *hub)
{
    hub_presence_settler_t *s = xcalloc(1, sizeof(*s));

    s->hub = hub;
    uv_timer_init(hub->loop, &s->timer);
    s->timer.data = s;
    return s;
}

static void
on_closed(uv_handle_t *h)
{
    hub_presence_settler_t *s = h->data;

    free(s->rooms);
    free(s);
}

void
hub_presence_settler_free(hub_presence_settler_t *s)
{
    if (s != NULL) {
        uv_close((uv_handle_t *)&s->timer, on_closed);
    }
}

void
hub_presence_settle_arm(hub_t *hub, hub_room_t *room, bool now, const int64_t *users, size_t n)
{
    hub_presence_settler_t *s = hub->presence_settler;

    if (s == NULL) {
        return;
    }
    if (room->settle != NULL) {
        if (room->settle->done_ms == 0 ||
            hub_now_ms(hub) - room->settle->done_ms < (uint64_t)hub->cfg->presence_settle_ms) {
            return; /* waiting or settled, or settled a moment ago */
        }
        hub_presence_settle_free(room->settle);
    }
    room->settle = xcalloc(1, sizeof(*room->settle));
    room->settle->kept = xmalloc((n + 1) * sizeof(int64_t));
    memcpy(room->settle->kept, users, n * sizeof(int64_t));
    room->settle->nkept = n;
    qsort(room->settle->kept, n, sizeof(int64_t), proto_i64_cmp);
    if (now) {
        room->settle->settled = true;
        return;
    }
    wait_for(s, room, (uint64_t)hub->cfg->presence_settle_ms);
    log_info("presence.settle_armed", "room=%" PRId64 " in_ms=%ld", room->id,
             hub->cfg->presence_settle_ms);
}

/* room (with its settle) is read as settled in ms. */
static void
wait_for(hub_presence_settler_t *s, hub_room_t *room, uint64_t ms)
{
    room->settle->settled = false;
    room->settle->due_ms = hub_now_ms(s->hub) + ms;
    if (s->nrooms == s->cap) {
        s->cap = s->cap > 0 ? s->cap * 2 : 16;
        s->rooms = xrealloc(s->rooms, s->cap * sizeof(*s->rooms));
    }
    s->rooms[s->nrooms++] = room->id;
    uv_timer_stop(&s->timer);
    sweep(s);
}

bool
hub_presence_settled(const hub_room_t *room)
{
    return room->settle != NULL && room->settle->settled && room->settle->done_ms == 0;
}

/* What a read of the store carries: the room by id (it may go meanwhile). */
typedef struct json_read {
    hub_t *hub;
    int64_t room_id;
} json_read_t;

static void
on_users(void *ud, const store_user_row_t *rows, size_t n, const char *err)
{
    json_read_t *jr = ud;
    hub_room_t *room = jr->hub->stopping ? NULL : hub_room_find(jr->hub, jr->room_id);
    hub_presence_settle_t *st = room != NULL ? room->settle : NULL;

    if (st != NULL && st->reading && st->done_ms == 0) {
        st->reading = false;
        if (err != NULL && jr->hub->presence_settler != NULL) {
            /* The leaves wait for the store: read as settled again later. */
            st->retry_ms = st->retry_ms == 0 ? 1000 : st->retry_ms * 2;
            st->retry_ms = st->retry_ms < 30000 ? st->retry_ms : 30000;
            log_warn("presence.settle_read_failed", "room=%" PRId64 " err=\"%s\" retry_ms=%" PRIu64,
                     room->id, err, st->retry_ms);
            wait_for(jr->hub->presence_settler, room, st->retry_ms);
            free(jr);
            return;
        }
        st->json_read = true;
        st->ids = xmalloc((n + 1) * sizeof(*st->ids));
        st->json = xmalloc((n + 1) * sizeof(*st->json));
        for (size_t i = 0; i < n; i++) {
            proto_user_t u = {rows[i].id, rows[i].full_name, rows[i].role};
            pres_user_t *w = pres_user_new(&u);
            st->ids[st->n] = rows[i].id;
            st->json[st->n++] = xstrdup(w->json);
            pres_user_unref(w);
        }
        hub_presence_resync(jr->hub, room->id);
    }
    free(jr);
}

bool
hub_presence_settle_wait_json(hub_t *hub, hub_room_t *room, const int64_t *ids, size_t n)
{
    hub_presence_settle_t *st = room->settle;

    if (st == NULL || st->done_ms != 0 || st->json_read || n == 0 || hub->store == NULL) {
        return false;
    }
    if (!st->reading) {
        json_read_t *jr = xmalloc(sizeof(*jr));
        *jr = (json_read_t){hub, room->id};
        if (store_users_read(hub->store, ids, n, on_users, jr) < 0) {
            free(jr);
            st->json_read = true;
            return false;
        }
        st->reading = true;
    }
    return true;
}

const int64_t *
hub_presence_settle_kept(const hub_room_t *room, size_t *n)
{
    *n = room->settle != NULL ? room->settle->nkept : 0;
    return *n > 0 ? room->settle->kept : NULL;
}

void
hub_presence_settle_forget(hub_room_t *room, int64_t user)
{
    hub_presence_settle_t *st = room->settle;
    int64_t *at = st != NULL && st->nkept > 0
                      ? bsearch(&user, st->kept, st->nkept, sizeof(int64_t), proto_i64_cmp)
                      : NULL;

    if (at != NULL) {
        memmove(at, at + 1, (size_t)(st->kept + st->nkept - at - 1) * sizeof(int64_t));
        st->nkept--;
    }
}

const char *
hub_presence_settle_user(const hub_room_t *room, int64_t id)
{
    const hub_presence_settle_t *st = room->settle;

    for (size_t i = 0; st != NULL && i < st->n; i++) {
        if (st->ids[i] == id) {
            return st->json[i];
        }
    }
    return NULL;
}

void
hub_presence_settle_done(hub_t *hub, hub_room_t *room)
{
    hub_presence_settle_t *st = room->settle;

    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->n; i++) {
        free(st->json[i]);
    }
    st->n = 0;
    st->done_ms = hub_now_ms(hub);
    st->done_ms += st->done_ms == 0; /* 0 means not yet */
}

void
hub_presence_settle_free(hub_presence_settle_t *st)
{
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->n; i++) {
        free(st->json[i]);
    }
    free(st->ids);
    free(st->json);
    free(st->kept);
    free(st);
}
