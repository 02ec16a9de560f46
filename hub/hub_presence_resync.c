/*
 * Presence resync (see hub_presence_resync.h): the rooms of a turn go to
 * Redis in one script call with the lists their sockets saw, and each room's
 * answer becomes local join and leave frames.
 */
#include "hub_presence_resync.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "hub_log.h"
#include "hub_presence_eval.h"
#include "hub_presence_lua.h"
#include "hub_presence_order.h"
#include "hub_presence_reply.h"
#include "hub_presence_settle.h"
#include "hub_redis.h"
#include "hub_room.h"
#include "proto_build.h"
#include "proto_num.h"
#include "xalloc.h"

/* Arguments per script call: a room with a longer list goes alone. */
#define RESYNC_ARGS_MAX 4096
/* A call Redis refused (BUSY, OOM …) is tried again after this long; a lost
 * link needs nothing: the next up confirms every subscription again. */
#define RESYNC_RETRY_MS 1000
#define RESYNC_RETRY_MAX_MS 30000 /* doubling up to this while Redis refuses */
/* Reads of a room in a row whose answer lacks a user that differs: then the
 * difference goes without them (a user Redis never had, online and gone
 * while it was away, has no JSON there at all). */
#define RESYNC_READS_MAX 3

struct hub_presence_resync {
    hub_t *hub;
    uv_prepare_t flush;
    uv_timer_t retry;
    int64_t *rooms, *again; /* queued for this turn; for the retry */
    size_t n, cap, nagain, againcap;
    uint64_t retry_ms; /* the next retry's delay */
    int open_handles;
};

static bool
has(const int64_t *sorted, size_t n, int64_t id)
{
    return n > 0 && bsearch(&id, sorted, n, sizeof(*sorted), proto_i64_cmp) != NULL;
}

static void
push(int64_t **a, size_t *n, size_t *cap, int64_t v)
{
    if (*n == *cap) {
        *cap = *cap > 0 ? *cap * 2 : 64;
        *a = xrealloc(*a, *cap * sizeof(int64_t));
    }
    (*a)[(*n)++] = v;
}

/* One event about user to the room's sockets here (never published: each
 * node reads Redis for itself). Returns the frame. */
static hub_buf_t *
deliver(hub_t *hub, hub_room_t *room, const char *event, int64_t user, const char *user_json,
        const int64_t *online, size_t n)
{
    size_t len;
    char *s = proto_build_presence(room->id, event, user_json, online, n, &len);
    hub_buf_t *b = hub_buf_take(s, len);

    hub_room_broadcast(hub, room->id, b, 0);
    hub_presence_touch(room, user); /* a newer read in flight must not send it again */
    hub_presence_settle_forget(room, user);
    return b;
}

/* A room's lists as Redis answered, sorted but for now (in Redis's order,
 * which the frames keep). */
typedef struct lists {
    int64_t version; /* 0: Redis has no number for the room's events */
    bool settled;    /* users missing from Redis are gone (hub_presence_settle.h) */
    int64_t *now, *sorted_now, *gone;
    size_t nnow, ngone;
} lists_t;

/* Whether the sockets should see user, whom they saw online, go: always
 * when Redis numbers the room's events; while it has no number (restarted
 * empty, the nodes still rewriting their entries) only a user marked gone
 * by the node they left, as a user missing then may be on a node not back
 * yet, until the room is read as settled. */
static bool
gone(const lists_t *l, int64_t user)
{
    return !has(l->sorted_now, l->nnow, user) &&
           (l->version > 0 || l->settled || has(l->gone, l->ngone, user));
}

/* The list the frames carry: Redis's, and the users the sockets saw who
 * are not gone. A new array in *out. */
static size_t
frame_list(const lists_t *l, const int64_t *seen, size_t nseen, int64_t **out)
{
    size_t n = l->nnow;

    *out = xmalloc((l->nnow + nseen + 1) * sizeof(int64_t));
    memcpy(*out, l->now, l->nnow * sizeof(int64_t));
    for (size_t i = 0; i < nseen; i++) {
        if (!has(l->sorted_now, l->nnow, seen[i]) && !gone(l, seen[i])) {
            (*out)[n++] = seen[i];
        }
    }
    return n;
}

/* The users of a room's answer: the JSON Redis has of each user online in
 * one list only, as written again, sorted by id. */
typedef struct user {
    int64_t id;
    char *json;
} user_t;

typedef struct users {
    size_t n;
    user_t *v;
} users_t;

static int
cmp_user(const void *a, const void *b)
{
    return proto_i64_cmp(&((const user_t *)a)->id, &((const user_t *)b)->id);
}

static const char *
user_of(const users_t *u, int64_t id)
{
    user_t key = {id, NULL};
    const user_t *f = u->n > 0 ? bsearch(&key, u->v, u->n, sizeof(key), cmp_user) : NULL;

    return f != NULL ? f->json : NULL;
}

/* The changes to send: leaves (seen, gone), then joins (online now, not
 * seen). False when one lacks its user: the lists moved since the request
 * (an event the read counts arrived meanwhile), so the answer does not carry
 * it. */
static bool
changes(const lists_t *l, const int64_t *seen, size_t nseen, const users_t *u, int64_t *out,
        size_t *nout, size_t *nleaves)
{
    *nout = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (gone(l, seen[i])) {
            out[(*nout)++] = seen[i];
        }
    }
    *nleaves = *nout;
    for (size_t i = 0; i < l->nnow; i++) {
        if (!has(seen, nseen, l->now[i])) {
            out[(*nout)++] = l->now[i];
        }
    }
    for (size_t i = 0; i < *nout; i++) {
        if (user_of(u, out[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* An answer older than an event the sockets got meanwhile: that event's list
 * already counts what they missed, so the difference is taken from the list
 * the read carried (t->base), less the users a frame went out about since,
 * and goes with the list the sockets see now (cur). A change that list
 * contradicts (a user who joined before the read and left after it) was
 * undone by an event it counts: nothing is said about that user. Either
 * way the user's events up to the newest delivered are settled, and are
 * dropped if they come later (hub_presence_cover). */
static void
late_answer(hub_t *hub, hub_room_t *room, const lists_t *l, const users_t *u,
            const hub_presence_track_t *t, const int64_t *cur, size_t ncur)
{
    size_t joins = 0, leaves = 0;
    int64_t *sorted = xmalloc((ncur + 1) * sizeof(int64_t));

    memcpy(sorted, cur, ncur * sizeof(int64_t));
    qsort(sorted, ncur, sizeof(int64_t), proto_i64_cmp);
    for (size_t i = 0; i < t->nbase; i++) {
        int64_t x = t->base[i];
        if (gone(l, x) && !hub_presence_track_touched(t, x) && user_of(u, x) != NULL) {
            if (!has(sorted, ncur, x)) {
                hub_buf_unref(deliver(hub, room, "leave", x, user_of(u, x), cur, ncur));
                leaves++;
            }
            hub_presence_cover(room, x, room->presence_version);
        }
    }
    for (size_t i = 0; i < l->nnow; i++) {
        int64_t x = l->now[i];
        if (!has(t->base, t->nbase, x) && !hub_presence_track_touched(t, x) &&
            user_of(u, x) != NULL) {
            if (has(sorted, ncur, x)) {
                hub_buf_unref(deliver(hub, room, "join", x, user_of(u, x), cur, ncur));
                joins++;
            }
            hub_presence_cover(room, x, room->presence_version);
        }
    }
    free(sorted);
    if (joins + leaves > 0) {
        log_info("presence.resync_late",
                 "room=%" PRId64 " version=%" PRId64 " newer=%" PRId64 " joins=%zu leaves=%zu",
                 room->id, l->version, room->presence_version, joins, leaves);
    }
}

static void on_flush(uv_prepare_t *h);
static void queue(hub_presence_resync_t *r, int64_t room_id);

/* The JSON the store gave of users a settled room names, for those Redis
 * lost (u has room for nseen more). */
static void
add_settle_users(const hub_room_t *room, const int64_t *seen, size_t nseen, users_t *u)
{
    size_t n0 = u->n;

    for (size_t i = 0; room->settle != NULL && i < nseen; i++) {
        const char *json = hub_presence_settle_user(room, seen[i]);
        if (json != NULL && user_of(u, seen[i]) == NULL) {
            u->v[u->n++] = (user_t){seen[i], xstrdup(json)};
        }
    }
    if (u->n > n0) {
        qsort(u->v, u->n, sizeof(user_t), cmp_user);
    }
}

/* A settled read whose leaves lack users' JSON: true while the store is
 * asked for it (the room is read again once it answers). */
static bool
wait_settle_json(hub_t *hub, hub_room_t *room, const lists_t *l, const users_t *u,
                 const int64_t *seen, size_t nseen)
{
    int64_t *need = xmalloc((nseen + 1) * sizeof(int64_t));
    size_t n = 0;
    bool wait;

    for (size_t i = 0; i < nseen; i++) {
        if (gone(l, seen[i]) && user_of(u, seen[i]) == NULL) {
            need[n++] = seen[i];
        }
    }
    wait = hub_presence_settle_wait_json(hub, room, need, n);
    free(need);
    return wait;
}

/* After a read went out: a settled one is over; one that kept users Redis
 * lacks (no number for the room yet) has the room read again as settled
 * later, and one that skipped a leave for want of the user's JSON (Redis
 * numbers the room, so they are gone) at once. */
static void
settle_next(hub_t *hub, hub_room_t *room, const lists_t *l, const users_t *u, const int64_t *seen,
            size_t nseen, bool skipped)
{
    int64_t *kept;
    size_t nkept = 0;

    if (l->settled) {
        hub_presence_settle_done(hub, room);
        return;
    }
    kept = xmalloc((nseen + 1) * sizeof(int64_t));
    for (size_t i = 0; i < nseen; i++) {
        if (!has(l->sorted_now, l->nnow, seen[i]) &&
            (!gone(l, seen[i]) || user_of(u, seen[i]) == NULL)) {
            kept[nkept++] = seen[i]; /* kept in the list, or skipped for want of JSON */
        }
    }
    if (skipped && l->version > 0) {
        hub_presence_settle_arm(hub, room, true, kept, nkept);
        if (hub_presence_settled(room)) {
            queue(hub->presence_resync, room->id);
        }
    } else if (nkept > 0) {
        hub_presence_settle_arm(hub, room, false, kept, nkept);
    }
    free(kept);
}

/* A settled read's seen list with the users the room kept when armed: a
 * frame since (a join, whose list is Redis's) may have dropped them without
 * a leave. seen is reallocated; returns its new length. */
static size_t
with_kept(const hub_room_t *room, int64_t **seen, size_t nseen)
{
    size_t nkept, n = nseen;
    const int64_t *kept = hub_presence_settle_kept(room, &nkept);

    *seen = xrealloc(*seen, (nseen + nkept + 1) * sizeof(int64_t));
    for (size_t i = 0; i < nkept; i++) {
        bool in = false;
        for (size_t j = 0; j < nseen && !in; j++) {
            in = (*seen)[j] == kept[i];
        }
        if (!in) {
            (*seen)[n++] = kept[i];
        }
    }
    return n;
}

/* room_id goes into this turn's call. */
static void
queue(hub_presence_resync_t *r, int64_t room_id)
{
    push(&r->rooms, &r->n, &r->cap, room_id);
    if (r->n == 1) {
        uv_prepare_start(&r->flush, on_flush);
    }
}

/* One room's answer to read gen: {room, version, "ids", "gone ids", user json…}. */
static void
resync_room(hub_t *hub, const redisReply *x, uint32_t gen)
{
    hub_room_t *room;
    hub_presence_track_t *track;
    int64_t *seen = NULL, *list = NULL, *diff = NULL;
    size_t nseen = 0, nlist, ndiff, nleaves;
    lists_t l = {0};
    users_t u = {0, NULL};
    hub_buf_t *last = NULL;
    bool late;

    if (x->type != REDIS_REPLY_ARRAY || x->elements < 4 ||
        x->element[0]->type != REDIS_REPLY_STRING || x->element[1]->type != REDIS_REPLY_INTEGER) {
        return;
    }
    room = hub_room_find(hub, strtoll(x->element[0]->str, NULL, 10));
    if (room == NULL) {
        return;
    }
    track = hub_presence_track_take(room, gen);
    l.version = x->element[1]->integer;
    /* A newer event than the read came meanwhile: only the read's own track
     * can tell what it adds. */
    late = l.version > 0 && l.version < room->presence_version;
    if ((late && (track == NULL || track->overflow)) ||
        hub_presence_seen(room, &seen, &nseen) < 0) {
        hub_presence_track_free(track);
        return;
    }
    if (hub_presence_parse_ids(x->element[2], &l.now, &l.nnow) < 0 ||
        hub_presence_parse_ids(x->element[3], &l.gone, &l.ngone) < 0) {
        free(l.now);
        free(seen);
        hub_presence_track_free(track);
        return;
    }
    size_t nkept;
    (void)hub_presence_settle_kept(room, &nkept);
    u.v = xmalloc((x->elements + nseen + nkept + 1) * sizeof(user_t));
    for (size_t i = 4; i < x->elements; i++) {
        if (x->element[i]->type == REDIS_REPLY_STRING &&
            (u.v[u.n].json = hub_presence_user_json(x->element[i]->str, &u.v[u.n].id)) != NULL) {
            u.n++;
        }
    }
    qsort(u.v, u.n, sizeof(user_t), cmp_user);
    add_settle_users(room, seen, nseen, &u);
    l.sorted_now = xmalloc((l.nnow + 1) * sizeof(int64_t));
    memcpy(l.sorted_now, l.now, l.nnow * sizeof(int64_t));
    qsort(l.sorted_now, l.nnow, sizeof(int64_t), proto_i64_cmp);
    qsort(l.gone, l.ngone, sizeof(int64_t), proto_i64_cmp);
    if (late) {
        if (hub_presence_settled(room)) {
            queue(hub->presence_resync, room->id); /* the settled read wants an answer of its own */
        }
        late_answer(hub, room, &l, &u, track, seen, nseen);
        goto out;
    }
    l.settled = hub_presence_settled(room);
    if (l.settled) {
        nseen = with_kept(room, &seen, nseen);
        add_settle_users(room, seen, nseen, &u);
        if (wait_settle_json(hub, room, &l, &u, seen, nseen)) {
            goto out;
        }
    }
    nlist = frame_list(&l, seen, nseen, &list);
    if (nseen > 0) {
        qsort(seen, nseen, sizeof(int64_t), proto_i64_cmp);
    }
    diff = xmalloc((nseen + l.nnow + 1) * sizeof(int64_t));
    if (!changes(&l, seen, nseen, &u, diff, &ndiff, &nleaves) &&
        room->resync_reads < RESYNC_READS_MAX) {
        room->resync_reads++;
        queue(hub->presence_resync, room->id); /* read again, with the list as it is now */
    } else {
        bool skipped = false;
        room->resync_reads = 0;
        for (size_t i = 0; i < ndiff; i++) {
            if (user_of(&u, diff[i]) == NULL) {
                skipped = true; /* Redis does not know them (lost in a restart) */
                continue;
            }
            hub_buf_unref(last);
            last = deliver(hub, room, i < nleaves ? "leave" : "join", diff[i], user_of(&u, diff[i]),
                           list, nlist);
        }
        /* A user skipped keeps their own events: no number counted. */
        hub_presence_resynced(room, skipped ? 0 : l.version, last);
        if (last != NULL) {
            log_info("presence.resync",
                     "room=%" PRId64 " version=%" PRId64 " joins=%zu leaves=%zu online=%zu%s",
                     room->id, l.version, ndiff - nleaves, nleaves, nlist,
                     l.settled ? " settled=1" : "");
        }
        settle_next(hub, room, &l, &u, seen, nseen, skipped);
    }
    hub_buf_unref(last);
out:
    for (size_t i = 0; i < u.n; i++) {
        free(u.v[i].json);
    }
    free(u.v);
    free(diff);
    free(list);
    free(l.now);
    free(l.sorted_now);
    free(l.gone);
    free(seen);
    hub_presence_track_free(track);
}

/* What a call asked for, to ask again if Redis refuses it. */
typedef struct sent_room {
    int64_t id;
    uint32_t gen; /* the read's number (hub_presence_track_start) */
} sent_room_t;

typedef struct sent {
    hub_t *hub;
    size_t n;
    sent_room_t rooms[];
} sent_t;

static void
on_retry(uv_timer_t *t)
{
    hub_presence_resync_t *r = t->data;
    size_t n = r->nagain;

    r->nagain = 0;
    for (size_t i = 0; i < n; i++) {
        hub_presence_resync(r->hub, r->again[i]);
    }
}

/* Read gen of room_id is over, answered or not: its track goes (an answer
 * took it already), and a read asked for meanwhile goes out now, or, when
 * Redis refused this one (again false), with the retry. */
static void
read_over(hub_t *hub, int64_t room_id, uint32_t gen, bool again)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    if (room == NULL) {
        return;
    }
    hub_presence_track_free(hub_presence_track_take(room, gen));
    if (room->resync_again && !hub_presence_track_busy(room)) {
        room->resync_again = false;
        if (again) {
            queue(hub->presence_resync, room_id);
        }
    }
}

static void
on_resync_reply(void *ud, void *reply, const char *err)
{
    sent_t *s = ud;
    hub_t *hub = s->hub;
    hub_presence_resync_t *r = hub->presence_resync;
    const redisReply *rep = reply;

    if (hub->stopping || r == NULL) {
        free(s);
        return;
    }
    if (err != NULL || rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        hub_redis_t *redis = hub_presence_redis(hub);
        log_warn("presence.redis_failed", "op=resync rooms=%zu err=\"%s\"", s->n,
                 err != NULL ? err : "reply");
        for (size_t i = 0; i < s->n; i++) {
            read_over(hub, s->rooms[i].id, s->rooms[i].gen, false);
            if (redis != NULL) {
                push(&r->again, &r->nagain, &r->againcap, s->rooms[i].id);
            }
        }
        if (r->nagain > 0 && !uv_is_active((uv_handle_t *)&r->retry)) {
            uv_timer_start(&r->retry, on_retry, r->retry_ms, 0);
            r->retry_ms =
                r->retry_ms * 2 < RESYNC_RETRY_MAX_MS ? r->retry_ms * 2 : RESYNC_RETRY_MAX_MS;
        }
        free(s);
        return;
    }
    r->retry_ms = RESYNC_RETRY_MS;
    for (size_t i = 0; i < rep->elements; i++) {
        resync_room(hub, rep->element[i], i < s->n ? s->rooms[i].gen : 0);
    }
    for (size_t i = 0; i < s->n; i++) {
        read_over(hub, s->rooms[i].id, s->rooms[i].gen, true);
    }
    free(s);
}

/* The arguments of one call: EVAL, the script, 0, then per room its id, k
 * and k ids, each number in its own slot of nums. */
typedef struct call {
    const char **argv;
    char (*nums)[PROTO_I64_STR_MAX];
    int argc, cap;
    sent_room_t *rooms;
    size_t nrooms, roomcap;
} call_t;

static void
call_num(call_t *c, int64_t v)
{
    proto_i64_str(c->nums[c->argc++], v);
}

static void
call_send(hub_t *hub, hub_redis_t *redis, call_t *c)
{
    sent_t *s;

    if (c->argc > 3) {
        for (int i = 3; i < c->argc; i++) {
            c->argv[i] = c->nums[i]; /* now: nums moves as it grows */
        }
        s = xmalloc(sizeof(*s) + c->nrooms * sizeof(sent_room_t));
        s->hub = hub;
        s->n = c->nrooms;
        memcpy(s->rooms, c->rooms, c->nrooms * sizeof(sent_room_t));
        if (hub_redis_command(redis, on_resync_reply, s, c->argc, c->argv, NULL) < 0) {
            log_debug("presence.resync_unsent", "rooms=%zu", c->nrooms);
            for (size_t i = 0; i < s->n; i++) {
                read_over(hub, s->rooms[i].id, s->rooms[i].gen, false);
            }
            free(s); /* the link is down: the next up confirms the rooms again */
        }
    }
    c->argc = 3;
    c->nrooms = 0;
}

/* room goes into the call with the n ids its sockets saw (taken: they
 * become the read's track). */
static void
call_room(hub_t *hub, hub_redis_t *redis, call_t *c, hub_room_t *room, int64_t *ids, size_t n)
{
    int need = 2 + (int)n;

    if (c->argc > 3 && c->argc + need > 3 + RESYNC_ARGS_MAX) {
        call_send(hub, redis, c);
    }
    if (c->argc + need > c->cap) {
        /* Grown as the rooms need: most turns carry a room or two. */
        c->cap = c->cap * 2 > c->argc + need ? c->cap * 2 : c->argc + need;
        c->argv = xrealloc(c->argv, (size_t)c->cap * sizeof(*c->argv));
        c->nums = xrealloc(c->nums, (size_t)c->cap * sizeof(*c->nums));
    }
    if (c->nrooms == c->roomcap) {
        c->roomcap = c->roomcap > 0 ? c->roomcap * 2 : 16;
        c->rooms = xrealloc(c->rooms, c->roomcap * sizeof(*c->rooms));
    }
    call_num(c, room->id);
    call_num(c, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        call_num(c, ids[i]);
    }
    c->rooms[c->nrooms++] = (sent_room_t){room->id, hub_presence_track_start(room, ids, n)};
}

static void
on_flush(uv_prepare_t *h)
{
    hub_presence_resync_t *r = h->data;
    hub_t *hub = r->hub;
    hub_redis_t *redis = hub_presence_redis(hub);
    call_t c = {.argc = 3, .cap = 16};

    uv_prepare_stop(h);
    if (redis == NULL || hub->stopping) {
        r->n = 0;
        return;
    }
    c.argv = xmalloc((size_t)c.cap * sizeof(*c.argv));
    c.nums = xmalloc((size_t)c.cap * sizeof(*c.nums));
    c.argv[0] = "EVAL";
    c.argv[1] = hub_presence_resync_lua;
    c.argv[2] = "0";
    qsort(r->rooms, r->n, sizeof(int64_t), proto_i64_cmp);
    for (size_t i = 0; i < r->n; i++) {
        hub_room_t *room = hub_room_find(hub, r->rooms[i]);
        int64_t *seen;
        size_t nseen;
        if ((i > 0 && r->rooms[i] == r->rooms[i - 1]) || room == NULL) {
            continue;
        }
        if (hub_presence_track_busy(room)) {
            /* A second read would take the track of the first, whose late
             * answer then could not tell what the sockets missed. */
            room->resync_again = true;
            continue;
        }
        if (hub_presence_seen(room, &seen, &nseen) < 0) {
            continue;
        }
        call_room(hub, redis, &c, room, seen, nseen);
    }
    call_send(hub, redis, &c);
    r->n = 0;
    free(c.argv);
    free(c.nums);
    free(c.rooms);
}

void
hub_presence_resync(hub_t *hub, int64_t room_id)
{
    hub_room_t *room = hub_room_find(hub, room_id);

    if (room != NULL && hub->presence_resync != NULL) {
        room->resync_reads = 0; /* a new reason to read: a fresh count of re-reads */
        queue(hub->presence_resync, room_id);
    }
}

hub_presence_resync_t *
hub_presence_resync_new(hub_t *hub)
{
    hub_presence_resync_t *r = xcalloc(1, sizeof(*r));

    r->hub = hub;
    uv_prepare_init(hub->loop, &r->flush);
    r->flush.data = r;
    uv_timer_init(hub->loop, &r->retry);
    r->retry.data = r;
    r->retry_ms = RESYNC_RETRY_MS;
    r->open_handles = 2;
    return r;
}

static void
on_closed(uv_handle_t *h)
{
    hub_presence_resync_t *r = h->data;

    if (--r->open_handles == 0) {
        free(r->rooms);
        free(r->again);
        free(r);
    }
}

void
hub_presence_resync_free(hub_presence_resync_t *r)
{
    if (r != NULL) {
        uv_close((uv_handle_t *)&r->flush, on_closed);
        uv_close((uv_handle_t *)&r->retry, on_closed);
    }
}
