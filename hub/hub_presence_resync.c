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

#include "hub_channel.h"
#include "hub_log.h"
#include "hub_presence_lua.h"
#include "hub_presence_order.h"
#include "hub_presence_reply.h"
#include "hub_redis.h"
#include "hub_room.h"
#include "proto_build.h"
#include "proto_num.h"
#include "xalloc.h"

/* Arguments per script call: a room with a longer list goes alone. */
#define RESYNC_ARGS_MAX 4096

struct hub_presence_resync {
    hub_t *hub;
    uv_prepare_t flush;
    int64_t *rooms;
    size_t n, cap;
};

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static bool
has(const int64_t *sorted, size_t n, int64_t id)
{
    return n > 0 && bsearch(&id, sorted, n, sizeof(*sorted), cmp_id) != NULL;
}

/* One event to the room's sockets here (never published: each node reads
 * Redis for itself). Returns the frame. */
static hub_buf_t *
deliver(hub_t *hub, int64_t room_id, const char *event, const char *user_json,
        const int64_t *online, size_t n)
{
    size_t len;
    char *s = proto_build_presence(room_id, event, user_json, online, n, &len);
    hub_buf_t *b = hub_buf_take(s, len);

    hub_room_broadcast(hub, room_id, b, 0);
    return b;
}

/* One room's answer: {room, version, "ids", user json…}. */
static void
resync_room(hub_t *hub, const redisReply *x)
{
    hub_room_t *room;
    int64_t *now = NULL, *seen = NULL, *sorted_now = NULL, version;
    size_t nnow = 0, nseen = 0, joins = 0, leaves = 0;
    hub_buf_t *last = NULL;

    if (x->type != REDIS_REPLY_ARRAY || x->elements < 3 ||
        x->element[0]->type != REDIS_REPLY_STRING || x->element[1]->type != REDIS_REPLY_INTEGER) {
        return;
    }
    room = hub_room_find(hub, strtoll(x->element[0]->str, NULL, 10));
    version = x->element[1]->integer;
    /* Gone, or a newer event than the read came meanwhile: its list is newer. */
    if (room == NULL || (version > 0 && version < room->presence_version) ||
        hub_presence_seen(room, &seen, &nseen) < 0) {
        return;
    }
    if (hub_presence_parse_ids(x->element[2], &now, &nnow) < 0) {
        free(seen);
        return;
    }
    sorted_now = xmalloc((nnow + 1) * sizeof(int64_t));
    memcpy(sorted_now, now, nnow * sizeof(int64_t));
    qsort(sorted_now, nnow, sizeof(int64_t), cmp_id);
    if (nseen > 0) {
        qsort(seen, nseen, sizeof(int64_t), cmp_id);
    }
    for (size_t i = 3; i < x->elements; i++) {
        int64_t id;
        char *json = x->element[i]->type == REDIS_REPLY_STRING
                         ? hub_presence_user_json(x->element[i]->str, &id)
                         : NULL;
        if (json == NULL) {
            continue;
        }
        /* The lists may have moved since the request: only what still differs. */
        bool was = has(seen, nseen, id), is = has(sorted_now, nnow, id);
        if (was != is && (is || version > 0)) {
            hub_buf_unref(last);
            last = deliver(hub, room->id, is ? "join" : "leave", json, now, nnow);
            joins += is;
            leaves += !is;
        }
        free(json);
    }
    hub_presence_resynced(room, version, last);
    if (last != NULL) {
        log_info("presence.resync",
                 "room=%" PRId64 " version=%" PRId64 " joins=%zu leaves=%zu online=%zu", room->id,
                 version, joins, leaves, nnow);
    }
    hub_buf_unref(last);
    free(now);
    free(sorted_now);
    free(seen);
}

static void
on_resync_reply(void *ud, void *reply, const char *err)
{
    hub_t *hub = ud;
    const redisReply *r = reply;

    if (hub->stopping || hub->presence_resync == NULL) {
        return;
    }
    if (err != NULL || r == NULL || r->type != REDIS_REPLY_ARRAY) {
        log_warn("presence.redis_failed", "op=resync err=\"%s\"", err != NULL ? err : "reply");
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        resync_room(hub, r->element[i]);
    }
}

/* The arguments of one call: EVAL, the script, 0, then per room its id, k
 * and k ids, each number in its own slot of nums. */
typedef struct call {
    const char **argv;
    char (*nums)[PROTO_I64_STR_MAX];
    int argc, cap;
} call_t;

static void
call_num(call_t *c, int64_t v)
{
    proto_i64_str(c->nums[c->argc++], v);
}

static void
call_send(hub_t *hub, hub_redis_t *redis, call_t *c)
{
    for (int i = 3; i < c->argc; i++) {
        c->argv[i] = c->nums[i]; /* now: nums moves as it grows */
    }
    if (c->argc > 3 && hub_redis_command(redis, on_resync_reply, hub, c->argc, c->argv, NULL) < 0) {
        log_debug("presence.resync_unsent", "args=%d", c->argc);
    }
    c->argc = 3;
}

static void
call_room(hub_t *hub, hub_redis_t *redis, call_t *c, int64_t room_id, const int64_t *ids, size_t n)
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
    call_num(c, room_id);
    call_num(c, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        call_num(c, ids[i]);
    }
}

static void
on_flush(uv_prepare_t *h)
{
    hub_presence_resync_t *r = h->data;
    hub_t *hub = r->hub;
    hub_redis_t *redis = hub_channel_redis(hub->channel);
    call_t c = {NULL, NULL, 3, 16};

    uv_prepare_stop(h);
    if (redis == NULL || !hub_redis_is_up(redis) || hub->stopping) {
        r->n = 0;
        return;
    }
    c.argv = xmalloc((size_t)c.cap * sizeof(*c.argv));
    c.nums = xmalloc((size_t)c.cap * sizeof(*c.nums));
    c.argv[0] = "EVAL";
    c.argv[1] = hub_presence_resync_lua;
    c.argv[2] = "0";
    qsort(r->rooms, r->n, sizeof(int64_t), cmp_id);
    for (size_t i = 0; i < r->n; i++) {
        hub_room_t *room = hub_room_find(hub, r->rooms[i]);
        int64_t *seen;
        size_t nseen;
        if ((i > 0 && r->rooms[i] == r->rooms[i - 1]) || room == NULL ||
            hub_presence_seen(room, &seen, &nseen) < 0) {
            continue;
        }
        call_room(hub, redis, &c, room->id, seen, nseen);
        free(seen);
    }
    call_send(hub, redis, &c);
    r->n = 0;
    free(c.argv);
    free(c.nums);
}

void
hub_presence_resync(hub_t *hub, int64_t room_id)
{
    hub_presence_resync_t *r = hub->presence_resync;

    if (r == NULL || hub_room_find(hub, room_id) == NULL) {
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap > 0 ? r->cap * 2 : 64;
        r->rooms = xrealloc(r->rooms, r->cap * sizeof(int64_t));
    }
    r->rooms[r->n++] = room_id;
    if (r->n == 1) {
        uv_prepare_start(&r->flush, on_flush);
    }
}

hub_presence_resync_t *
hub_presence_resync_new(hub_t *hub)
{
    hub_presence_resync_t *r = xcalloc(1, sizeof(*r));

    r->hub = hub;
    uv_prepare_init(hub->loop, &r->flush);
    r->flush.data = r;
    return r;
}

static void
on_closed(uv_handle_t *h)
{
    hub_presence_resync_t *r = h->data;

    free(r->rooms);
    free(r);
}

void
hub_presence_resync_free(hub_presence_resync_t *r)
{
    if (r != NULL) {
        uv_close((uv_handle_t *)&r->flush, on_closed);
    }
}
