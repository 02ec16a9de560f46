/*
 * Presence: local socket counts per (room, user) with a grace period, and
 * calls of the Redis side's scripts (hub_presence_lua.c; the keys are in
 * hub_presence.h). The joins, leaves and reads of one turn of the loop are
 * one script call. The connection count across nodes is hub_presence_count.c.
 */
#include "hub_presence.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_channel.h"
#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_presence_beat.h"
#include "hub_presence_eval.h"
#include "hub_presence_gone.h"
#include "hub_presence_lua.h"
#include "hub_presence_order.h"
#include "hub_presence_refusal.h"
#include "hub_presence_reply.h"
#include "hub_presence_unsure.h"
#include "hub_presence_user.h"
#include "hub_redis.h"
#include "proto_build.h"
#include "proto_num.h"
#include "xalloc.h"

#define GRACE_MS 3000 /* a reload or a hop to another node: no leave/join */
/* A draining node's users: all of them reconnect elsewhere at once, and in
 * such a storm a reconnect took over 3 s (an audit: 615 of 3,920 users left
 * and joined again). hub_drain.c's deadline leaves room for it. */
#define DRAIN_GRACE_MS 5000
#define HEARTBEAT_MS 2000     /* refresh this node's heartbeat key, reap dead nodes */
#define ONLINE_LOCAL_MAX 4096 /* users listed from local counts alone */
#define CHANGE_BATCH_MAX 128  /* changes per script call */
#define GRACE_TICK_MS 50      /* grace periods end on these ticks */

typedef struct pres {
    struct pres *next; /* same hash key */
    hub_presence_t *p;
    int64_t room, user;
    int count;     /* live local sockets */
    bool in_redis; /* counted there by this node */
    bool leaving;  /* the grace timer runs */
    bool drained;  /* ... for a socket the drain closed (hub_presence_drain_leaving) */
    /* Joined here with Redis down while the room's sockets showed the user
     * online already (a tab on another node): no join was shown, so no
     * leave either while Redis stays down. */
    bool shown_elsewhere;
    uv_timer_t grace;
    pres_user_t *who;
} pres_t;

typedef struct change change_t;

struct hub_presence {
    hub_t *hub;
    hub_map_t entries; /* key(room, user) → chain of pres_t */
    uv_timer_t beat;
    /* No reaping before then: after a Redis stall every node's link drops
     * and comes back, and the first one back must not take the others,
     * whose heartbeats lapsed in the stall, for dead (a leave and a join for
     * each of their users) before they are back too. */
    uint64_t reap_from_ms;
    /* The changes of this turn of the loop, sent as one script call before
     * the loop polls: a connect or disconnect storm costs Redis one call
     * per turn, not one per socket. */
    uv_prepare_t flush;
    change_t *queued[CHANGE_BATCH_MAX];
    size_t nqueued;
    hub_presence_gone_t gone;       /* leaves Redis has not heard */
    hub_presence_unsure_t unsure;   /* rooms of joins whose answer was lost */
    hub_presence_refusal_t refusal; /* writes Redis refused: a rewrite is owed */
    int open_handles;
};

static uint64_t
key(int64_t room, int64_t user)
{
    return (uint64_t)room * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)user;
}

static pres_t *
find(hub_presence_t *p, int64_t room, int64_t user)
{
    for (pres_t *e = hub_map_get(&p->entries, key(room, user)); e != NULL; e = e->next) {
        if (e->room == room && e->user == user) {
            return e;
        }
    }
    return NULL;
}

/* Users of the room this node counts (sockets or grace), for the no-Redis path. */
static size_t
local_online(hub_presence_t *p, int64_t room, int64_t *out, size_t max)
{
    size_t i = 0, n = 0;
    uint64_t k;
    void *v;

    while (hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v; e != NULL; e = e->next) {
            if (e->room == room && n < max) {
                out[n++] = e->user;
            }
        }
    }
    return n;
}

static void
announce(hub_t *hub, int64_t room, const char *event, int64_t user, const char *user_json,
         const int64_t *online, size_t n, int64_t version)
{
    size_t len;
    char *s;

    if (hub->presence == NULL) {
        return; /* stopping: rooms and the channel are gone */
    }
    s = proto_build_presence(room, event, user_json, online, n, &len);

    log_debug("presence.event", "room=%" PRId64 " user=%" PRId64 " kind=%s", room, user, event);
    hub_deliver_presence(hub, room, s, len, version, true);
}

static void flush_changes(hub_presence_t *p);

/* Every other script goes after the changes already queued, so Redis sees
 * presence changes in the order they happened. */
static int
eval(hub_t *hub, const char *script, size_t nargs, const char **args, hub_redis_reply_cb cb,
     void *ud)
{
    flush_changes(hub->presence);
    return hub_presence_eval_now(hub, script, nargs, args, cb, ud);
}

/* ---- the change queue: a turn's joins, leaves and reads in one call ---- */

typedef enum { CHANGE_JOIN, CHANGE_LEAVE, CHANGE_READ } change_kind_t;

static const char *const change_delta[] = {"1", "-1", "0"};

struct change {
    hub_t *hub;
    change_kind_t kind;
    int64_t room, user;
    pres_user_t *who; /* joins and leaves; NULL for a read */
    /* Answered from this node's counts alone (Redis down), the change is an
     * event: a join of this node's first socket of the user, every leave. */
    bool local_event;
    uint64_t id; /* joins and reads: cb(id, online, ud) */
    hub_presence_online_cb cb;
    void *ud;
    char room_s[PROTO_I64_STR_MAX], user_s[PROTO_I64_STR_MAX];
};

static void
change_free(change_t *c)
{
    pres_user_unref(c->who);
    free(c);
}

/* The answer: cb with the room's online users, then the event when ev. */
static void
change_answer(change_t *c, bool ev, const int64_t *ids, size_t n, int64_t version)
{
    if (c->cb != NULL) {
        c->cb(c->hub, c->id, ids, n, c->ud);
    }
    if (ev) {
        announce(c->hub, c->room, c->kind == CHANGE_JOIN ? "join" : "leave", c->user, c->who->json,
                 ids, n, version);
    }
}

/* Who is online as far as this node can tell without Redis: its own users,
 * and those of the other nodes its sockets saw online last (not known to
 * have gone), less the user a leave is about. *ids: a new array. */
static size_t
local_view(const change_t *c, int64_t **ids)
{
    hub_room_t *room = hub_room_find(c->hub, c->room);
    int64_t *seen = NULL, *out;
    size_t nseen = 0, n;

    /* Single node (HUB_REDIS=off): its own users are all there is. */
    if (room == NULL || c->hub->channel == NULL || hub_channel_is_local(c->hub->channel) ||
        hub_presence_seen(room, &seen, &nseen) < 0) {
        nseen = 0;
    }
    out = xcalloc(ONLINE_LOCAL_MAX + nseen, sizeof(int64_t));
    n = local_online(c->hub->presence, c->room, out, ONLINE_LOCAL_MAX);
    qsort(out, n, sizeof(int64_t), proto_i64_cmp);
    for (size_t i = 0, local = n; i < nseen; i++) {
        bool gone = c->kind == CHANGE_LEAVE && seen[i] == c->user;
        if (!gone && bsearch(&seen[i], out, local, sizeof(int64_t), proto_i64_cmp) == NULL) {
            out[n++] = seen[i];
        }
    }
    free(seen);
    *ids = out;
    return n;
}

/* The answer from this node's counts alone, when Redis is down or failed. */
static void
change_local(change_t *c, bool ev)
{
    hub_presence_t *p = c->hub->presence;
    int64_t *ids;
    size_t n;

    if (p == NULL) {
        if (c->cb != NULL) {
            c->cb(c->hub, c->id, NULL, 0, c->ud); /* stopping: no answer */
        }
        return;
    }
    if (c->cb == NULL && !ev) {
        return;
    }
    n = local_view(c, &ids);
    change_answer(c, ev, ids, n, 0); /* one node's own count: no order to keep */
    free(ids);
}

/* A leave answered here alone: Redis may not have heard it (a Redis that
 * restarted empty never will), so the rewrite after the outage tells it. */
static void
note_gone(change_t *c)
{
    if (c->kind == CHANGE_LEAVE && c->hub->presence != NULL) {
        hub_presence_gone_note(&c->hub->presence->gone, c->room, c->user, c->who->json);
    }
}

typedef struct change_batch {
    size_t n;
    change_t *changes[];
} change_batch_t;

static void
on_changes_reply(void *ud, void *reply, const char *err)
{
    change_batch_t *b = ud;
    bool logged = false;

    for (size_t i = 0; i < b->n; i++) {
        change_t *c = b->changes[i];
        int ev = 0;
        int64_t *ids = NULL, version = 0, last = 0;
        size_t n = 0;

        if (err != NULL || c->hub->presence == NULL ||
            hub_presence_parse_change(reply, i, &ev, &ids, &n, &version, &last) < 0) {
            if (!logged && c->hub->presence != NULL) {
                log_warn("presence.redis_failed", "op=change changes=%zu err=\"%s\"", b->n,
                         err != NULL ? err : "reply");
                logged = true;
            }
            /* The script may have run: no event, which could come twice;
             * the rewrite once the link is back (or Redis takes writes
             * again) has the room resynced. */
            if (err == hub_redis_err_reply) {
                hub_presence_refused(c->hub, false);
            }
            change_local(c, false);
            note_gone(c);
            if (c->kind == CHANGE_JOIN && c->hub->presence != NULL) {
                hub_presence_unsure_note(&c->hub->presence->unsure, c->room);
            }
        } else if (ev != 1 && c->cb != NULL && c->kind != CHANGE_LEAVE &&
                   hub_presence_seen_newer(hub_room_find(c->hub, c->room), c->user, last, &ids,
                                           &n)) {
            change_answer(c, false, ids, n, 0);
        } else {
            if (ev < 0) {
                note_gone(c); /* no entry here: the next rewrite tells it (hub_presence_lua.c) */
            }
            change_answer(c, ev == 1, ids, n, version);
        }
        free(ids);
        change_free(c);
    }
    free(b);
}

static void
flush_changes(hub_presence_t *p)
{
    size_t n = p != NULL ? p->nqueued : 0;
    const char **args;
    change_batch_t *b;

    if (n == 0) {
        return;
    }
    uv_prepare_stop(&p->flush);
    p->nqueued = 0;
    b = xmalloc(sizeof(*b) + n * sizeof(b->changes[0]));
    b->n = n;
    memcpy(b->changes, p->queued, n * sizeof(b->changes[0]));
    args = xcalloc(1 + 4 * n, sizeof(char *));
    args[0] = p->hub->cfg->node_id;
    for (size_t i = 0; i < n; i++) {
        change_t *c = b->changes[i];
        args[1 + 4 * i] = c->room_s;
        args[2 + 4 * i] = c->user_s;
        args[3 + 4 * i] = change_delta[c->kind];
        args[4 + 4 * i] = c->kind == CHANGE_JOIN ? c->who->json : "";
    }
    if (hub_presence_eval_now(p->hub, hub_presence_change_lua, 1 + 4 * n, args, on_changes_reply,
                              b) < 0) {
        /* Redis went down within this turn: answer from the local counts,
         * with the events Redis would have made. */
        for (size_t i = 0; i < n; i++) {
            change_local(b->changes[i], b->changes[i]->local_event);
            note_gone(b->changes[i]);
            change_free(b->changes[i]);
        }
        free(b);
    }
    free(args);
}

static void
on_flush(uv_prepare_t *h)
{
    flush_changes(h->data);
}

/* c goes to Redis with the rest of this turn's changes, or now when Redis
 * is down. */
static void
submit(hub_t *hub, change_t *c)
{
    hub_presence_t *p = hub->presence;

    if (p == NULL || hub_presence_redis(hub) == NULL) {
        change_local(c, c->local_event);
        note_gone(c);
        change_free(c);
        return;
    }
    proto_i64_str(c->room_s, c->room);
    proto_i64_str(c->user_s, c->user);
    p->queued[p->nqueued++] = c;
    if (p->nqueued == 1) {
        uv_prepare_start(&p->flush, on_flush);
    } else if (p->nqueued == CHANGE_BATCH_MAX) {
        flush_changes(p);
    }
}

static change_t *
change_new(hub_t *hub, change_kind_t kind, int64_t room, int64_t user)
{
    change_t *c = xcalloc(1, sizeof(*c));

    c->hub = hub;
    c->kind = kind;
    c->room = room;
    c->user = user;
    return c;
}

/* ---- join ---- */

void
hub_presence_join(hub_t *hub, int64_t room_id, const proto_user_t *user, uint64_t id,
                  hub_presence_online_cb cb, void *ud)
{
    hub_presence_t *p = hub->presence;
    pres_t *e = find(p, room_id, user->id);
    bool first = false;
    change_t *c;

    if (e == NULL) {
        e = xcalloc(1, sizeof(*e));
        e->p = p;
        e->room = room_id;
        e->user = user->id;
        e->who = pres_user_new(user);
        uv_timer_init(hub->loop, &e->grace);
        e->grace.data = e;
        e->next = hub_map_get(&p->entries, key(room_id, user->id));
        hub_map_put(&p->entries, key(room_id, user->id), e);
    }
    if (e->count == 0 && e->leaving) {
        uv_timer_stop(&e->grace); /* back within the grace period: no flap */
        e->leaving = false;
    } else if (e->count == 0) {
        first = true;
    }
    e->count++;
    if (first) {
        e->shown_elsewhere = hub_presence_redis(hub) == NULL &&
                             hub_presence_seen_has(hub_room_find(hub, room_id), user->id, false);
    }
    /* Only a first socket changes Redis; the others just read the room. */
    c = change_new(hub, first ? CHANGE_JOIN : CHANGE_READ, room_id, user->id);
    c->who = pres_user_ref(e->who);
    c->local_event = first && !e->shown_elsewhere;
    c->id = id;
    c->cb = cb;
    c->ud = ud;
    e->in_redis = e->in_redis || (first && hub_presence_redis(hub) != NULL);
    submit(p->hub, c);
}

/* ---- leave ---- */

static void
unlink_entry(hub_presence_t *p, pres_t *e)
{
    uint64_t k = key(e->room, e->user);
    pres_t *head = hub_map_get(&p->entries, k);

    if (head == e) {
        if (e->next != NULL) {
            hub_map_put(&p->entries, k, e->next);
        } else {
            hub_map_del(&p->entries, k);
        }
        return;
    }
    for (pres_t *x = head; x != NULL; x = x->next) {
        if (x->next == e) {
            x->next = e->next;
            return;
        }
    }
}

static void
on_entry_closed(uv_handle_t *h)
{
    pres_t *e = h->data;

    pres_user_unref(e->who);
    free(e);
}

static void
on_grace(uv_timer_t *t)
{
    pres_t *e = t->data;
    hub_presence_t *p = e->p;
    change_t *c = change_new(p->hub, CHANGE_LEAVE, e->room, e->user);

    e->leaving = false;
    unlink_entry(p, e);
    c->who = pres_user_ref(e->who);
    c->local_event = !e->shown_elsewhere;
    if (e->in_redis) {
        submit(p->hub, c);
    } else {
        change_local(c, c->local_event);
        change_free(c);
    }
    uv_close((uv_handle_t *)&e->grace, on_entry_closed);
}

/* The grace period, ending on a GRACE_TICK_MS boundary of the loop's clock:
 * the leaves of sockets closed together (a node's restart, a network drop)
 * then fire in one turn and share one script call. */
static uint64_t
grace_ms(hub_t *hub)
{
    uint64_t grace = hub->draining ? DRAIN_GRACE_MS : GRACE_MS;

    return hub->stopping ? 0 : grace + GRACE_TICK_MS - uv_now(hub->loop) % GRACE_TICK_MS;
}

void
hub_presence_leave(hub_t *hub, int64_t room_id, int64_t user_id, bool kicked)
{
    pres_t *e = hub->presence != NULL ? find(hub->presence, room_id, user_id) : NULL;

    if (e == NULL || e->count == 0) {
        return;
    }
    if (--e->count == 0) {
        e->leaving = true;
        e->drained = hub->draining;
        uv_timer_start(&e->grace, on_grace, kicked ? 0 : grace_ms(hub), 0);
    }
}

void
hub_presence_each_entry(hub_t *hub, void (*fn)(int64_t user, pres_user_t **who, void *ud), void *ud)
{
    hub_presence_t *p = hub->presence;
    size_t i = 0;
    uint64_t k;
    void *v;

    while (p != NULL && hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v; e != NULL; e = e->next) {
            fn(e->user, &e->who, ud);
        }
    }
}

int
hub_presence_eval(hub_t *hub, const char *script, size_t nargs, const char **args,
                  hub_redis_reply_cb cb, void *ud)
{
    return eval(hub, script, nargs, args, cb, ud);
}

size_t
hub_presence_drain_leaving(const hub_t *hub)
{
    const hub_presence_t *p = hub->presence;
    size_t i = 0, n = 0;
    uint64_t k;
    void *v;

    while (p != NULL && hub_map_next(&p->entries, &i, &k, &v)) {
        for (const pres_t *e = v; e != NULL; e = e->next) {
            n += e->leaving && e->drained;
        }
    }
    return n;
}

/* ---- online query ---- */

void
hub_presence_online(hub_t *hub, int64_t room_id, uint64_t id, hub_presence_online_cb cb, void *ud)
{
    change_t *c = change_new(hub, CHANGE_READ, room_id, 0);

    c->id = id;
    c->cb = cb;
    c->ud = ud;
    submit(hub, c);
}

/* ---- heartbeat, reaping, restore ---- */

static void
on_reaped(void *ud, void *reply, const char *err)
{
    hub_t *hub = ud;

    if (err == NULL && hub->presence != NULL) { /* NULL: stopping, rooms are gone */
        hub_presence_announce_leaves(hub, reply);
    }
}

typedef struct remove_req {
    hub_t *hub;
    void (*done)(hub_t *hub, void *ud);
    void *ud;
} remove_req_t;

static void
on_removed(void *ud, void *reply, const char *err)
{
    remove_req_t *rr = ud;

    on_reaped(rr->hub, reply, err);
    rr->done(rr->hub, rr->ud);
    free(rr);
}

void
hub_presence_remove_node(hub_t *hub, void (*done)(hub_t *hub, void *ud), void *ud)
{
    hub_presence_t *p = hub->presence;
    remove_req_t *rr = xmalloc(sizeof(*rr));
    const char *args[] = {hub->cfg->node_id};
    size_t i = 0;
    uint64_t k;
    void *v;

    /* Our entries are about to go: a grace timer firing later must not touch Redis. */
    while (p != NULL && hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v; e != NULL; e = e->next) {
            e->in_redis = false;
        }
    }
    *rr = (remove_req_t){hub, done, ud};
    if (eval(hub, hub_presence_remove_lua, 1, args, on_removed, rr) < 0) {
        free(rr);
        done(hub, ud);
    }
}

void
hub_presence_refused(hub_t *hub, bool heartbeat)
{
    hub_presence_t *p = hub->presence;
    uint64_t until = hub_now_ms(hub) + 3 * HEARTBEAT_MS;

    if (p == NULL) {
        return;
    }
    hub_presence_refusal_note(&p->refusal, hub->cfg->node_id);
    if (heartbeat && p->reap_from_ms < until) {
        p->reap_from_ms = until;
    }
}

bool
hub_presence_rewrite_owed(hub_t *hub)
{
    return hub->presence != NULL &&
           hub_presence_refusal_due(&hub->presence->refusal, hub_now_ms(hub));
}

void
hub_presence_reap(hub_t *hub)
{
    if (hub->presence != NULL && hub_now_ms(hub) >= hub->presence->reap_from_ms) {
        (void)eval(hub, hub_presence_reap_lua, 0, NULL, on_reaped, hub);
    }
}

static void
on_beat(uv_timer_t *t)
{
    hub_presence_heartbeat(t->data, true);
}

typedef struct restore_req {
    hub_t *hub;
    uint64_t gone_upto; /* the leaves noted that this rewrite tells Redis */
} restore_req_t;

static void
on_restored(void *ud, void *reply, const char *err)
{
    restore_req_t *rr = ud;
    const redisReply *r = reply;

    if (err == NULL && r != NULL && r->type == REDIS_REPLY_ARRAY && rr->hub->presence != NULL) {
        hub_presence_gone_done(&rr->hub->presence->gone, rr->gone_upto);
        hub_presence_unsure_resync(rr->hub, &rr->hub->presence->unsure);
    }
    if (rr->hub->presence != NULL && err != hub_redis_err_down && err != hub_redis_err_timeout) {
        /* Refused: owed again, after a backoff (a lost answer waits for the
         * reconnect, which rewrites anyway). */
        hub_presence_refusal_rewritten(&rr->hub->presence->refusal, err != NULL,
                                       hub_now_ms(rr->hub), rr->hub->cfg->node_id);
    }
    on_reaped(rr->hub, reply, err);
    free(rr);
}

void
hub_presence_on_redis_up(hub_t *hub)
{
    hub_presence_rewrite(hub, true);
}

void
hub_presence_rewrite(hub_t *hub, bool hold_reaping)
{
    hub_presence_t *p = hub->presence;
    size_t cap, nargs = 0, nlive = 0, i = 0;
    const char **args;
    char(*nums)[24];
    restore_req_t *rr;
    uint64_t k;
    void *v;

    /* Our heartbeat first, so nobody reaps what we are about to write; then
     * the changes queued, which could note leaves while args points at them. */
    if (hold_reaping && p->reap_from_ms < hub_now_ms(hub) + 2 * HEARTBEAT_MS) {
        p->reap_from_ms = hub_now_ms(hub) + 2 * HEARTBEAT_MS; /* not sooner than a refusal said */
    }
    hub_presence_refusal_rewriting(&p->refusal); /* what the refusals were owed */
    hub_presence_heartbeat(hub, false);
    flush_changes(p);
    while (hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v; e != NULL; e = e->next) {
            nlive++; /* a key's chain may hold several entries */
        }
    }
    cap = 2 + 4 * nlive + 3 * p->gone.n;
    args = xcalloc(cap + 1, sizeof(char *));
    nums = xcalloc(cap + 1, sizeof(*nums));
    rr = xmalloc(sizeof(*rr));
    i = 0;
    nlive = 0;
    args[nargs++] = hub->cfg->node_id;
    args[nargs++] = nums[1]; /* the live entries' count, written below */
    while (hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v; e != NULL; e = e->next) {
            proto_i64_str(nums[nargs], e->room);
            args[nargs] = nums[nargs];
            nargs++;
            proto_i64_str(nums[nargs], e->user);
            args[nargs] = nums[nargs];
            nargs++;
            /* 1, as a join writes, whatever the number of sockets (or none
             * left, in grace): only the last leave takes it away. The
             * number of sockets stayed as n - 1 in Redis for good. */
            args[nargs++] = "1";
            args[nargs++] = e->who->json;
            e->in_redis = true;
            e->shown_elsewhere = false; /* Redis counts them now: its events decide */
            nlive++;
        }
    }
    snprintf(nums[1], 24, "%zu", nlive);
    *rr = (restore_req_t){hub, 0};
    nargs += hub_presence_gone_args(&p->gone, args + nargs, &rr->gone_upto);
    if (hub_presence_eval_now(hub, hub_presence_restore_lua, nargs, args, on_restored, rr) < 0) {
        free(rr);
    }
    free(args);
    free(nums);
}

hub_presence_t *
hub_presence_new(hub_t *hub)
{
    hub_presence_t *p = xcalloc(1, sizeof(*p));

    p->hub = hub;
    hub_map_init(&p->entries);
    uv_timer_init(hub->loop, &p->beat);
    p->beat.data = hub;
    uv_timer_start(&p->beat, on_beat, HEARTBEAT_MS, HEARTBEAT_MS);
    uv_prepare_init(hub->loop, &p->flush);
    p->flush.data = p;
    p->open_handles = 2;
    return p;
}

static void
on_presence_closed(uv_handle_t *h)
{
    hub_presence_t *p = h->data;

    if (--p->open_handles == 0) {
        free(p);
    }
}

void
hub_presence_free(hub_presence_t *p)
{
    size_t i = 0;
    uint64_t k;
    void *v;

    if (p == NULL) {
        return;
    }
    while (hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v, *next; e != NULL; e = next) {
            next = e->next;
            uv_close((uv_handle_t *)&e->grace, on_entry_closed);
        }
    }
    hub_map_clear(&p->entries);
    hub_presence_gone_clear(&p->gone);
    hub_presence_unsure_clear(&p->unsure);
    /* The node is going away: changes never sent get no answer. */
    for (size_t j = 0; j < p->nqueued; j++) {
        change_t *c = p->queued[j];
        if (c->cb != NULL) {
            c->cb(c->hub, c->id, NULL, 0, c->ud);
        }
        change_free(c);
    }
    p->nqueued = 0;
    p->beat.data = p;
    uv_close((uv_handle_t *)&p->beat, on_presence_closed);
    uv_close((uv_handle_t *)&p->flush, on_presence_closed);
}
