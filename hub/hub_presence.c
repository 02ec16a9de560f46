/*
 * Presence: local socket counts per (room, user) with a grace period, and the
 * Redis side as Lua scripts (see hub_presence.h for the keys).
 */
#include "hub_presence.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_channel.h"
#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_redis.h"
#include "proto_build.h"
#include "proto_num.h"
#include "xalloc.h"

#define GRACE_MS 3000     /* a reload or a hop to another node: no leave/join */
#define HEARTBEAT_MS 2000 /* refresh this node's heartbeat key, reap dead nodes */
#define HEARTBEAT_TTL_MS "6000"
#define ONLINE_LOCAL_MAX 4096 /* users listed from local counts alone */

/* ARGV: room, user, node, delta (1 join, 0 just read), user json.
 * Returns {1 if this was the user's first socket anywhere, online ids}. */
static const char join_lua[] =
    "local room, user, node = ARGV[1], ARGV[2], ARGV[3]\n"
    "local ev = 0\n"
    "if tonumber(ARGV[4]) > 0 then\n"
    "  redis.call('HINCRBY', 'chathub:p:'..room..':'..node, user, 1)\n"
    "  redis.call('SADD', 'chathub:nr:'..node, room)\n"
    "  redis.call('SADD', 'chathub:nodes', node)\n"
    "  redis.call('HSET', 'chathub:u', user, ARGV[5])\n"
    "  if redis.call('HINCRBY', 'chathub:p:'..room, user, 1) == 1 then ev = 1 end\n"
    "end\n"
    "return {ev, redis.call('HKEYS', 'chathub:p:'..room)}\n";

/* ARGV: room, user, node. Returns {1 if that was the user's last socket, online ids}. */
static const char leave_lua[] =
    "local room, user, node = ARGV[1], ARGV[2], ARGV[3]\n"
    "local k = 'chathub:p:'..room..':'..node\n"
    "if redis.call('HINCRBY', k, user, -1) <= 0 then redis.call('HDEL', k, user) end\n"
    "local ev = 0\n"
    "if redis.call('HINCRBY', 'chathub:p:'..room, user, -1) <= 0 then\n"
    "  redis.call('HDEL', 'chathub:p:'..room, user)\n"
    "  ev = 1\n"
    "end\n"
    "return {ev, redis.call('HKEYS', 'chathub:p:'..room)}\n";

/* Take a node's entries out of the room totals; with emit, collect the users
 * that went offline as {room, user json, online ids}. */
#define REMOVE_NODE_LUA                                                                            \
    "local function remove_node(node, out)\n"                                                      \
    "  for _, room in ipairs(redis.call('SMEMBERS', 'chathub:nr:'..node)) do\n"                    \
    "    local k = 'chathub:p:'..room..':'..node\n"                                                \
    "    local h = redis.call('HGETALL', k)\n"                                                     \
    "    for i = 1, #h, 2 do\n"                                                                    \
    "      local total = redis.call('HINCRBY', 'chathub:p:'..room, h[i], -tonumber(h[i+1]))\n"     \
    "      if total <= 0 then\n"                                                                   \
    "        redis.call('HDEL', 'chathub:p:'..room, h[i])\n"                                       \
    "        if out then\n"                                                                        \
    "          table.insert(out, {room, redis.call('HGET', 'chathub:u', h[i]) or '',\n"            \
    "                             redis.call('HKEYS', 'chathub:p:'..room)})\n"                     \
    "        end\n"                                                                                \
    "      end\n"                                                                                  \
    "    end\n"                                                                                    \
    "    redis.call('DEL', k)\n"                                                                   \
    "  end\n"                                                                                      \
    "  redis.call('DEL', 'chathub:nr:'..node)\n"                                                   \
    "end\n"

/* Reap every node whose heartbeat key expired. Returns the leaves to announce. */
static const char reap_lua[] =
    REMOVE_NODE_LUA "local out = {}\n"
                    "for _, node in ipairs(redis.call('SMEMBERS', 'chathub:nodes')) do\n"
                    "  if redis.call('EXISTS', 'chathub:hb:'..node) == 0 then\n"
                    "    remove_node(node, out)\n"
                    "    redis.call('SREM', 'chathub:nodes', node)\n"
                    "  end\n"
                    "end\n"
                    "return out\n";

/* ARGV: node. Takes the node out (drain) and returns the leaves to announce. */
static const char remove_lua[] = REMOVE_NODE_LUA "local out = {}\n"
                                                 "remove_node(ARGV[1], out)\n"
                                                 "redis.call('SREM', 'chathub:nodes', ARGV[1])\n"
                                                 "redis.call('DEL', 'chathub:hb:'..ARGV[1])\n"
                                                 "return out\n";

/* ARGV: node, then room, user, count, user json per live entry. Rewrites this
 * node's entries (idempotent: after a blip or a Redis restart alike), silently. */
static const char restore_lua[] =
    REMOVE_NODE_LUA "local node = ARGV[1]\n"
                    "remove_node(node, nil)\n"
                    "redis.call('SADD', 'chathub:nodes', node)\n"
                    "for i = 2, #ARGV, 4 do\n"
                    "  local room, user, n = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2])\n"
                    "  redis.call('HSET', 'chathub:p:'..room..':'..node, user, n)\n"
                    "  redis.call('SADD', 'chathub:nr:'..node, room)\n"
                    "  redis.call('HSET', 'chathub:u', user, ARGV[i+3])\n"
                    "  redis.call('HINCRBY', 'chathub:p:'..room, user, n)\n"
                    "end\n"
                    "return 0\n";

typedef struct pres {
    struct pres *next; /* same hash key */
    hub_presence_t *p;
    int64_t room, user;
    int count;     /* live local sockets */
    bool in_redis; /* counted there by this node */
    bool leaving;  /* the grace timer runs */
    uv_timer_t grace;
    char *user_json;
} pres_t;

struct hub_presence {
    hub_t *hub;
    hub_map_t entries; /* key(room, user) → chain of pres_t */
    uv_timer_t beat;
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

static hub_redis_t *
redis_of(hub_t *hub)
{
    hub_redis_t *r = hub_channel_redis(hub->channel);

    return r != NULL && hub_redis_is_up(r) ? r : NULL;
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
announce(hub_t *hub, int64_t room, const char *event, const char *user_json, const int64_t *online,
         size_t n)
{
    cJSON *u = cJSON_Parse(user_json);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(u, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(u, "full_name");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(u, "role");
    proto_user_t user = {cJSON_IsNumber(id) ? (int64_t)id->valuedouble : 0,
                         cJSON_IsString(name) ? name->valuestring : "",
                         cJSON_IsString(role) ? role->valuestring : ""};
    size_t len;

    if (user.id != 0) {
        char *s = proto_build_presence(room, event, &user, online, n, &len);
        log_debug("presence.event", "room=%" PRId64 " user=%" PRId64 " event=%s", room, user.id,
                  event);
        hub_deliver_event(hub, room, s, len, 0);
    }
    cJSON_Delete(u);
}

/* {ev, {ids...}} → ev, ids (a new array). */
static int
parse_ev_online(const redisReply *r, int *ev, int64_t **ids, size_t *n)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_ARRAY) {
        return -1;
    }
    *ev = (int)r->element[0]->integer;
    *n = r->element[1]->elements;
    *ids = xcalloc(*n + 1, sizeof(int64_t));
    for (size_t i = 0; i < *n; i++) {
        const redisReply *s = r->element[1]->element[i];
        (*ids)[i] = s->type == REDIS_REPLY_STRING ? strtoll(s->str, NULL, 10) : 0;
    }
    return 0;
}

static int
eval(hub_t *hub, const char *script, int nargs, const char **args, hub_redis_reply_cb cb, void *ud)
{
    hub_redis_t *r = redis_of(hub);
    const char **argv;
    int argc = 0, rc;

    if (r == NULL) {
        return -1;
    }
    argv = xcalloc((size_t)nargs + 4, sizeof(char *));
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = "0";
    for (int i = 0; i < nargs; i++) {
        argv[argc++] = args[i];
    }
    rc = hub_redis_command(r, cb, ud, argc, argv, NULL);
    free(argv);
    return rc;
}

/* ---- join ---- */

typedef struct join_req {
    hub_t *hub;
    int64_t room;
    uint64_t id;
    hub_presence_online_cb cb;
    void *ud;
    char *user_json;
} join_req_t;

static void
join_local(join_req_t *jr, bool first)
{
    hub_presence_t *p = jr->hub->presence;
    int64_t *ids = xcalloc(ONLINE_LOCAL_MAX, sizeof(int64_t));
    size_t n = local_online(p, jr->room, ids, ONLINE_LOCAL_MAX);

    jr->cb(jr->hub, jr->id, ids, n, jr->ud);
    if (first) {
        announce(jr->hub, jr->room, "join", jr->user_json, ids, n);
    }
    free(ids);
}

static void
on_join_reply(void *ud, void *reply, const char *err)
{
    join_req_t *jr = ud;
    int ev = 0;
    int64_t *ids = NULL;
    size_t n = 0;

    if (err != NULL || parse_ev_online(reply, &ev, &ids, &n) < 0) {
        log_warn("presence.redis_failed", "op=join err=\"%s\"", err != NULL ? err : "reply");
        join_local(jr, false);
    } else {
        jr->cb(jr->hub, jr->id, ids, n, jr->ud);
        if (ev == 1) {
            announce(jr->hub, jr->room, "join", jr->user_json, ids, n);
        }
    }
    free(ids);
    free(jr->user_json);
    free(jr);
}

static char *
user_json(const proto_user_t *u)
{
    cJSON *j = proto_user_json(u);
    char *s = cJSON_PrintUnformatted(j);

    cJSON_Delete(j);
    return s;
}

void
hub_presence_join(hub_t *hub, int64_t room_id, const proto_user_t *user, uint64_t id,
                  hub_presence_online_cb cb, void *ud)
{
    hub_presence_t *p = hub->presence;
    pres_t *e = find(p, room_id, user->id);
    bool first = false;
    char rs[24], us[24];
    join_req_t *jr = xcalloc(1, sizeof(*jr));

    if (e == NULL) {
        e = xcalloc(1, sizeof(*e));
        e->p = p;
        e->room = room_id;
        e->user = user->id;
        e->user_json = user_json(user);
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
    *jr = (join_req_t){hub, room_id, id, cb, ud, xstrdup(e->user_json)};
    proto_i64_str(rs, room_id);
    proto_i64_str(us, user->id);
    const char *args[] = {rs, us, hub->cfg->node_id, first ? "1" : "0", e->user_json};
    if (eval(hub, join_lua, 5, args, on_join_reply, jr) == 0) {
        e->in_redis = e->in_redis || first;
        return;
    }
    join_local(jr, first);
    free(jr->user_json);
    free(jr);
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

    free(e->user_json);
    free(e);
}

typedef struct leave_req {
    hub_t *hub;
    int64_t room;
    char *user_json;
} leave_req_t;

static void
on_leave_reply(void *ud, void *reply, const char *err)
{
    leave_req_t *lr = ud;
    int ev = 0;
    int64_t *ids = NULL;
    size_t n = 0;

    if (err == NULL && parse_ev_online(reply, &ev, &ids, &n) == 0 && ev == 1) {
        announce(lr->hub, lr->room, "leave", lr->user_json, ids, n);
    } else if (err != NULL) {
        log_warn("presence.redis_failed", "op=leave err=\"%s\"", err);
    }
    free(ids);
    free(lr->user_json);
    free(lr);
}

static void
on_grace(uv_timer_t *t)
{
    pres_t *e = t->data;
    hub_presence_t *p = e->p;
    hub_t *hub = p->hub;
    char rs[24], us[24];
    leave_req_t *lr = xcalloc(1, sizeof(*lr));

    e->leaving = false;
    unlink_entry(p, e);
    *lr = (leave_req_t){hub, e->room, xstrdup(e->user_json)};
    proto_i64_str(rs, e->room);
    proto_i64_str(us, e->user);
    const char *args[] = {rs, us, hub->cfg->node_id};
    if (!(e->in_redis && eval(hub, leave_lua, 3, args, on_leave_reply, lr) == 0)) {
        int64_t *ids = xcalloc(ONLINE_LOCAL_MAX, sizeof(int64_t));
        size_t n = local_online(p, e->room, ids, ONLINE_LOCAL_MAX);
        announce(hub, e->room, "leave", lr->user_json, ids, n);
        free(ids);
        free(lr->user_json);
        free(lr);
    }
    uv_close((uv_handle_t *)&e->grace, on_entry_closed);
}

void
hub_presence_leave(hub_t *hub, int64_t room_id, int64_t user_id)
{
    pres_t *e = hub->presence != NULL ? find(hub->presence, room_id, user_id) : NULL;

    if (e == NULL || e->count == 0) {
        return;
    }
    if (--e->count == 0) {
        e->leaving = true;
        uv_timer_start(&e->grace, on_grace, hub->stopping ? 0 : GRACE_MS, 0);
    }
}

/* ---- online query ---- */

typedef struct online_req {
    hub_t *hub;
    int64_t room;
    uint64_t id;
    hub_presence_online_cb cb;
    void *ud;
} online_req_t;

static void
online_local(online_req_t *q)
{
    int64_t *ids = xcalloc(ONLINE_LOCAL_MAX, sizeof(int64_t));
    size_t n = local_online(q->hub->presence, q->room, ids, ONLINE_LOCAL_MAX);

    q->cb(q->hub, q->id, ids, n, q->ud);
    free(ids);
}

static void
on_online_reply(void *ud, void *reply, const char *err)
{
    online_req_t *q = ud;
    int ev;
    int64_t *ids = NULL;
    size_t n;

    if (err != NULL || parse_ev_online(reply, &ev, &ids, &n) < 0) {
        online_local(q);
    } else {
        q->cb(q->hub, q->id, ids, n, q->ud);
    }
    free(ids);
    free(q);
}

void
hub_presence_online(hub_t *hub, int64_t room_id, uint64_t id, hub_presence_online_cb cb, void *ud)
{
    online_req_t *q = xcalloc(1, sizeof(*q));
    char rs[24];
    const char *args[] = {rs, "0", hub->cfg->node_id, "0", ""};

    *q = (online_req_t){hub, room_id, id, cb, ud};
    proto_i64_str(rs, room_id);
    if (eval(hub, join_lua, 5, args, on_online_reply, q) < 0) {
        online_local(q);
        free(q);
    }
}

/* ---- heartbeat, reaping, restore ---- */

static void
on_reaped(void *ud, void *reply, const char *err)
{
    hub_t *hub = ud;
    const redisReply *r = reply;

    if (err != NULL || r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *x = r->element[i];
        if (x->type != REDIS_REPLY_ARRAY || x->elements != 3 ||
            x->element[0]->type != REDIS_REPLY_STRING || x->element[2]->type != REDIS_REPLY_ARRAY) {
            continue;
        }
        int64_t room = strtoll(x->element[0]->str, NULL, 10);
        size_t n = x->element[2]->elements;
        int64_t *ids = xcalloc(n + 1, sizeof(int64_t));
        for (size_t k = 0; k < n; k++) {
            const redisReply *s = x->element[2]->element[k];
            ids[k] = s->type == REDIS_REPLY_STRING ? strtoll(s->str, NULL, 10) : 0;
        }
        log_info("presence.reaped", "room=%" PRId64, room);
        announce(hub, room, "leave",
                 x->element[1]->type == REDIS_REPLY_STRING ? x->element[1]->str : "{}", ids, n);
        free(ids);
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
    if (eval(hub, remove_lua, 1, args, on_removed, rr) < 0) {
        free(rr);
        done(hub, ud);
    }
}

static void
heartbeat(hub_t *hub)
{
    hub_redis_t *r = redis_of(hub);
    char hb[160];

    if (r == NULL) {
        return;
    }
    snprintf(hb, sizeof(hb), "chathub:hb:%s", hub->cfg->node_id);
    const char *set[] = {"SET", hb, "1", "PX", HEARTBEAT_TTL_MS};
    if (hub_redis_command(r, NULL, NULL, 5, set, NULL) == 0) {
        (void)eval(hub, reap_lua, 0, NULL, on_reaped, hub);
    }
}

static void
on_beat(uv_timer_t *t)
{
    heartbeat(t->data);
}

void
hub_presence_on_redis_up(hub_t *hub)
{
    hub_presence_t *p = hub->presence;
    size_t cap = 1 + 4 * p->entries.count * 2, nargs = 0;
    const char **args = xcalloc(cap + 1, sizeof(char *));
    char(*nums)[24] = xcalloc(cap + 1, sizeof(*nums));
    size_t i = 0;
    uint64_t k;
    void *v;

    /* Our heartbeat first, so nobody reaps what we are about to write. */
    heartbeat(hub);
    args[nargs++] = hub->cfg->node_id;
    while (hub_map_next(&p->entries, &i, &k, &v)) {
        for (pres_t *e = v; e != NULL && nargs + 4 <= cap; e = e->next) {
            int count = e->count > 0 ? e->count : 1; /* in grace: still counted */
            proto_i64_str(nums[nargs], e->room);
            args[nargs] = nums[nargs];
            nargs++;
            proto_i64_str(nums[nargs], e->user);
            args[nargs] = nums[nargs];
            nargs++;
            snprintf(nums[nargs], 24, "%d", count);
            args[nargs] = nums[nargs];
            nargs++;
            args[nargs++] = e->user_json;
            e->in_redis = true;
        }
    }
    (void)eval(hub, restore_lua, (int)nargs, args, NULL, NULL);
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
    return p;
}

static void
on_presence_closed(uv_handle_t *h)
{
    free(h->data);
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
    p->beat.data = p;
    uv_close((uv_handle_t *)&p->beat, on_presence_closed);
}
