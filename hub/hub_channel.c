/*
 * The channel layer: envelopes, subscriptions and the two implementations
 * (Redis through hub_redis, or in-process where publishing is a no-op since
 * the only node already delivered locally), the tails that repair what
 * this node stored but could not publish, and the control envelopes it
 * publishes again when its link is back.
 */
#include "hub_channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_clock.h"
#include "hub_log.h"
#include "hub_redis.h"
#include "proto_num.h"
#include "xalloc.h"

#define ENVELOPE_HEAD_MAX 160
#define CONTROL_CHANNEL "chathub:control"

struct hub_channel {
    hub_t *hub;
    hub_channel_hooks_t hooks;
    hub_redis_t *redis; /* NULL: in-process */
    /* room -> int64_t *: the last seq stored here whose PUBLISH Redis did not
     * acknowledge. One entry per room, emptied when the tails go out. */
    hub_map_t unpublished;
    /* Control envelopes Redis did not take, oldest first, for the next up. */
    struct late_control **late;
    size_t nlate, late_cap;
};

/* A control envelope to publish again; payload without the late mark. */
typedef struct late_control {
    int64_t room_id, seq, user;
    int64_t made_ms; /* cluster clock (hub_clock.h), for the mark */
    size_t len;
    unsigned char payload[];
} late_control_t;

/* A message or control PUBLISH waiting for Redis' answer. */
typedef struct publish_ack {
    hub_channel_t *ch;
    int64_t room_id;
    int64_t seq;
    late_control_t *control; /* control: what to keep if Redis does not answer */
} publish_ack_t;

static void publish(hub_channel_t *ch, hub_envelope_kind_t kind, int64_t room_id, int64_t seq,
                    int64_t user, const unsigned char *payload, size_t len);

/* Without snprintf: every publish names its channel. buf holds the prefix and
 * PROTO_I64_STR_MAX more; returns the name's length. */
static size_t
room_channel(int64_t room_id, char *buf)
{
    size_t n = sizeof(HUB_ROOM_CHANNEL_PREFIX) - 1;

    memcpy(buf, HUB_ROOM_CHANNEL_PREFIX, n);
    return n + proto_i64_str(buf + n, room_id);
}

static int
next_field(const char **p, const char *end, int64_t *out)
{
    const char *stop;

    if (*p >= end || **p != ' ') {
        return -1;
    }
    stop = proto_i64_parse(*p + 1, end, out);
    if (stop == NULL) {
        return -1;
    }
    *p = stop;
    return 0;
}

int
hub_envelope_parse(const char *buf, size_t len, hub_envelope_t *env, const char **origin,
                   size_t *origin_len)
{
    const char *nl = memchr(buf, '\n', len < ENVELOPE_HEAD_MAX ? len : ENVELOPE_HEAD_MAX);
    const char *p = buf + 1;

    if (nl == NULL || len < 3 || buf[1] != ' ') {
        return -1;
    }
    env->kind = (hub_envelope_kind_t)buf[0];
    if (env->kind != HUB_ENV_MSG && env->kind != HUB_ENV_EVENT && env->kind != HUB_ENV_CONTROL &&
        env->kind != HUB_ENV_TAIL && env->kind != HUB_ENV_RESYNC) {
        return -1;
    }
    p++;
    *origin = p;
    while (p < nl && *p != ' ') {
        p++;
    }
    *origin_len = (size_t)(p - *origin);
    if (*origin_len == 0 || next_field(&p, nl, &env->room_id) < 0 ||
        next_field(&p, nl, &env->seq) < 0 || next_field(&p, nl, &env->user) < 0 || p != nl) {
        return -1;
    }
    env->payload = nl + 1;
    env->len = len - (size_t)(nl + 1 - buf);
    return 0;
}

static void
on_redis_msg(void *ud, const char *channel, size_t chlen, const char *data, size_t len)
{
    hub_channel_t *ch = ud;
    hub_envelope_t env;
    const char *origin;
    size_t olen;

    (void)channel;
    (void)chlen;
    if (hub_envelope_parse(data, len, &env, &origin, &olen) < 0) {
        log_warn("channel.bad_envelope", "bytes=%zu", len);
        return;
    }
    /* Our own publication: delivered locally already. Not so a resync: the
     * reaper names the node it reaped as the origin, and a rewrite's script
     * (hub_presence_lua.c) names ours; our sockets saw the leaves the
     * others sent meanwhile, and only this resync brings them the joins. */
    if (olen == strlen(ch->hub->cfg->node_id) && memcmp(origin, ch->hub->cfg->node_id, olen) == 0 &&
        env.kind != HUB_ENV_RESYNC) {
        return;
    }
    ch->hooks.on_envelope(ch->hub, &env);
}

static void
on_redis_subscribed(void *ud, const char *channel, size_t chlen)
{
    hub_channel_t *ch = ud;
    size_t plen = strlen(HUB_ROOM_CHANNEL_PREFIX);
    char digits[24];
    char *end = NULL;
    long long room_id;

    if (chlen == strlen(CONTROL_CHANNEL) && memcmp(channel, CONTROL_CHANNEL, chlen) == 0) {
        if (ch->hooks.on_control_subscribed != NULL) {
            ch->hooks.on_control_subscribed(ch->hub);
        }
        return;
    }
    if (chlen <= plen || chlen - plen >= sizeof(digits) ||
        memcmp(channel, HUB_ROOM_CHANNEL_PREFIX, plen) != 0) {
        return; /* not a room's channel */
    }
    memcpy(digits, channel + plen, chlen - plen);
    digits[chlen - plen] = '\0';
    room_id = strtoll(digits, &end, 10);
    if (*end == '\0' && room_id > 0) {
        ch->hooks.on_room_subscribed(ch->hub, (int64_t)room_id);
    }
}

static void
subscribe_all(hub_channel_t *ch)
{
    size_t i = 0;
    uint64_t key;
    void *val;
    char name[64];

    if (hub_redis_subscribe(ch->redis, CONTROL_CHANNEL) < 0) {
        return;
    }
    while (hub_map_next(&ch->hub->rooms, &i, &key, &val)) {
        room_channel((int64_t)key, name);
        if (hub_redis_subscribe(ch->redis, name) < 0) {
            return;
        }
    }
}

/* Other nodes may lack everything up to seq in room_id: remember the highest. */
static void
note_unpublished(hub_channel_t *ch, int64_t room_id, int64_t seq)
{
    int64_t *last = hub_map_get(&ch->unpublished, (uint64_t)room_id);

    if (last == NULL) {
        last = xmalloc(sizeof(*last));
        *last = seq;
        hub_map_put(&ch->unpublished, (uint64_t)room_id, last);
        log_debug("channel.unpublished", "room=%" PRId64 " seq=%" PRId64, room_id, seq);
    } else if (seq > *last) {
        *last = seq;
    }
}

bool
hub_channel_late_strip(const unsigned char **payload, size_t *len, int64_t *made_ms)
{
    size_t plen = strlen(HUB_CHANNEL_LATE), i;
    const unsigned char *p = *payload;
    int64_t ms = 0;

    if (*len < plen || memcmp(p, HUB_CHANNEL_LATE, plen) != 0) {
        return false;
    }
    /* At most 15 digits: wall-clock milliseconds until the year 33658. */
    for (i = plen; i < *len && i < plen + 15 && p[i] >= '0' && p[i] <= '9'; i++) {
        ms = ms * 10 + (p[i] - '0');
    }
    if (i > plen && i < *len && p[i] == ' ') {
        *made_ms = ms;
        i++;
    } else {
        *made_ms = 0; /* "late <verb>": an older node's mark */
        i = plen;
    }
    *payload = p + i;
    *len -= i;
    return true;
}

static late_control_t *
late_new(hub_t *hub, int64_t room_id, int64_t seq, int64_t user, const unsigned char *payload,
         size_t len)
{
    int64_t made_ms = 0;

    /* Late twice is late once, and keeps the first time. */
    if (!hub_channel_late_strip(&payload, &len, &made_ms)) {
        made_ms = hub_clock_ms(hub);
    }
    late_control_t *l = xmalloc(sizeof(*l) + len);
    l->room_id = room_id;
    l->seq = seq;
    l->user = user;
    l->made_ms = made_ms;
    l->len = len;
    memcpy(l->payload, payload, len);
    return l;
}

/* Redis did not take l: it goes out again on the next up (the list owns it). */
static void
keep_late(hub_channel_t *ch, late_control_t *l)
{
    if (ch->nlate == HUB_CHANNEL_LATE_MAX) {
        log_warn("channel.control_dropped", "room=%" PRId64 " user=%" PRId64 " kept=%zu",
                 l->room_id, l->user, ch->nlate);
        free(l);
        return;
    }
    if (ch->nlate == ch->late_cap) {
        ch->late_cap = ch->late_cap > 0 ? 2 * ch->late_cap : 16;
        ch->late = xrealloc(ch->late, ch->late_cap * sizeof(*ch->late));
    }
    ch->late[ch->nlate++] = l;
}

static void
on_published(void *ud, void *reply, const char *err)
{
    publish_ack_t *ack = ud;

    (void)reply;
    /* No answer means Redis may never have had it (a reply lost after Redis
     * ran the PUBLISH only costs the receivers a fill that finds nothing, or
     * a kick they apply twice). */
    if (err != NULL && ack->control != NULL) {
        keep_late(ack->ch, ack->control);
        ack->control = NULL;
    } else if (err != NULL) {
        note_unpublished(ack->ch, ack->room_id, ack->seq);
    }
    free(ack->control);
    free(ack);
}

/* The control envelopes Redis did not take, in their order, marked late. The
 * list is taken first: one that fails again goes into a fresh one. */
static void
publish_late(hub_channel_t *ch)
{
    late_control_t **late = ch->late;
    size_t n = ch->nlate;

    if (n == 0) {
        return;
    }
    ch->late = NULL;
    ch->nlate = ch->late_cap = 0;
    log_info("channel.control_late", "envelopes=%zu", n);
    for (size_t i = 0; i < n; i++) {
        char mark[48];
        int mlen = snprintf(mark, sizeof(mark), HUB_CHANNEL_LATE "%" PRId64 " ", late[i]->made_ms);
        unsigned char *payload = xmalloc((size_t)mlen + late[i]->len);
        memcpy(payload, mark, (size_t)mlen);
        memcpy(payload + mlen, late[i]->payload, late[i]->len);
        publish(ch, HUB_ENV_CONTROL, late[i]->room_id, late[i]->seq, late[i]->user, payload,
                (size_t)mlen + late[i]->len);
        free(payload);
        free(late[i]);
    }
    free(late);
}

static void
forget_late(hub_channel_t *ch)
{
    for (size_t i = 0; i < ch->nlate; i++) {
        free(ch->late[i]);
    }
    free(ch->late);
    ch->late = NULL;
    ch->nlate = ch->late_cap = 0;
}

/* One tail per room left behind. The map is taken first: a tail that fails
 * goes back into the fresh one for the next up. */
static void
publish_tails(hub_channel_t *ch)
{
    hub_map_t tails = ch->unpublished;
    size_t i = 0;
    uint64_t key;
    void *val;

    if (tails.count == 0) {
        return;
    }
    hub_map_init(&ch->unpublished);
    log_info("channel.tails", "rooms=%zu", tails.count);
    while (hub_map_next(&tails, &i, &key, &val)) {
        publish(ch, HUB_ENV_TAIL, (int64_t)key, *(int64_t *)val, 0, NULL, 0);
        free(val);
    }
    hub_map_clear(&tails);
}

static void
forget_unpublished(hub_channel_t *ch)
{
    size_t i = 0;
    uint64_t key;
    void *val;

    while (hub_map_next(&ch->unpublished, &i, &key, &val)) {
        free(val);
    }
    hub_map_clear(&ch->unpublished);
}

static void
on_redis_state(void *ud, bool up)
{
    hub_channel_t *ch = ud;

    if (!up) {
        return;
    }
    /* Anything published while we were away is in the store: each room fills
     * from it once Redis confirms its subscription (on_redis_subscribed), not
     * now, or what is published in between would be missed. */
    subscribe_all(ch);
    publish_tails(ch);
    publish_late(ch);
    if (ch->hooks.on_up != NULL) {
        ch->hooks.on_up(ch->hub);
    }
}

hub_channel_t *
hub_channel_new(hub_t *hub, const hub_redis_target_t *target, const hub_channel_hooks_t *hooks)
{
    hub_channel_t *ch = xcalloc(1, sizeof(*ch));

    ch->hub = hub;
    ch->hooks = *hooks;
    hub_map_init(&ch->unpublished);
    if (target != NULL) {
        ch->redis =
            hub_redis_new(hub->loop, target, on_redis_msg, on_redis_subscribed, on_redis_state, ch);
    }
    return ch;
}

void
hub_channel_free(hub_channel_t *ch)
{
    if (ch == NULL) {
        return;
    }
    hub_redis_free(ch->redis); /* fails the PUBLISHes in flight: they note into the map */
    forget_unpublished(ch);
    forget_late(ch);
    free(ch);
}

bool
hub_channel_is_up(const hub_channel_t *ch)
{
    return ch->redis == NULL || hub_redis_is_up(ch->redis);
}

struct hub_redis *
hub_channel_redis(const hub_channel_t *ch)
{
    return ch != NULL ? ch->redis : NULL;
}

bool
hub_channel_is_local(const hub_channel_t *ch)
{
    return ch->redis == NULL;
}

void
hub_channel_room_open(hub_channel_t *ch, int64_t room_id)
{
    char name[64];

    if (ch->redis == NULL) {
        return;
    }
    room_channel(room_id, name);
    /* Down: subscribe_all() covers it on the next up. */
    (void)hub_redis_subscribe(ch->redis, name);
}

void
hub_channel_room_close(hub_channel_t *ch, int64_t room_id)
{
    char name[64];

    if (ch->redis == NULL) {
        return;
    }
    room_channel(room_id, name);
    (void)hub_redis_unsubscribe(ch->redis, name);
}

/* " <v>" at p; returns the end. */
static char *
put_field(char *p, int64_t v)
{
    *p++ = ' ';
    return p + proto_i64_str(p, v);
}

/* "<kind> <node> <room> <seq> <user>\n<payload>", malloc'd; *total its length.
 * Without snprintf: a connect storm publishes one per join. */
static char *
envelope_new(const hub_channel_t *ch, hub_envelope_kind_t kind, int64_t room_id, int64_t seq,
             int64_t user, const unsigned char *payload, size_t len, size_t *total)
{
    const char *node = ch->hub->cfg->node_id;
    size_t nlen = strlen(node);
    /* One copy per publication (not per receiver): hiredis needs one buffer per argument. */
    char *data = xmalloc(2 + nlen + 3 * (1 + PROTO_I64_STR_MAX) + 1 + len);
    char *p = data;

    *p++ = (char)kind;
    *p++ = ' ';
    memcpy(p, node, nlen);
    p = put_field(p + nlen, room_id);
    p = put_field(p, seq);
    p = put_field(p, user);
    *p++ = '\n';
    if (len > 0) {
        memcpy(p, payload, len);
    }
    *total = (size_t)(p - data) + len;
    return data;
}

static void
publish(hub_channel_t *ch, hub_envelope_kind_t kind, int64_t room_id, int64_t seq, int64_t user,
        const unsigned char *payload, size_t len)
{
    char name[64];
    const char *argv[3] = {"PUBLISH", name, NULL};
    size_t argvlen[3] = {7, 0, 0};
    /* Messages and commands must reach the other nodes; events are of the moment. */
    bool control = kind == HUB_ENV_CONTROL;
    bool tracked = kind == HUB_ENV_MSG || kind == HUB_ENV_TAIL || control;
    publish_ack_t *ack = NULL;

    if (!hub_redis_is_up(ch->redis)) {
        if (control) {
            keep_late(ch, late_new(ch->hub, room_id, seq, user, payload, len));
        } else if (tracked) {
            note_unpublished(ch, room_id, seq);
        }
        return;
    }
    if (kind == HUB_ENV_CONTROL) {
        snprintf(name, sizeof(name), "%s", CONTROL_CHANNEL);
    } else {
        room_channel(room_id, name);
    }
    argvlen[1] = strlen(name);
    char *data = envelope_new(ch, kind, room_id, seq, user, payload, len, &argvlen[2]);
    argv[2] = data;
    if (tracked) {
        ack = xmalloc(sizeof(*ack));
        *ack = (publish_ack_t){ch, room_id, seq, NULL};
        if (control) {
            ack->control = late_new(ch->hub, room_id, seq, user, payload, len);
        }
    }
    if (hub_redis_command(ch->redis, tracked ? on_published : NULL, ack, 3, argv, argvlen) < 0) {
        log_debug("channel.publish_failed", "room=%" PRId64 " seq=%" PRId64, room_id, seq);
        if (control) {
            keep_late(ch, ack->control);
        } else if (tracked) {
            note_unpublished(ch, room_id, seq);
        }
        free(ack); /* the callback never runs */
    }
    free(data);
}

void
hub_channel_publish(hub_channel_t *ch, hub_envelope_kind_t kind, int64_t room_id, int64_t seq,
                    int64_t user, const unsigned char *payload, size_t len)
{
    if (ch->redis == NULL) {
        return;
    }
    publish(ch, kind, room_id, seq, user, payload, len);
}
