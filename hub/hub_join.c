/*
 * A connection's join, after the upgrade: the opaque token looked up, the
 * room and membership checked in the store, presence counted, then
 * connection_established (and, for ?last_seq=, the resume) and the frames
 * that came early.
 */
#include "hub_join.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hub_conn.h"
#include "hub_log.h"
#include "hub_presence.h"
#include "hub_presence_order.h"
#include "hub_resume.h"
#include "hub_room.h"
#include "proto_build.h"
#include "proto_num.h"
#include "store_auth.h"
#include "store_room.h"
#include "xalloc.h"

static proto_err_t
join_err(const char *err)
{
    if (err == store_err_unauthorized) {
        return PROTO_ERR_UNAUTHORIZED;
    }
    if (err == store_err_not_found) {
        return PROTO_ERR_NOT_FOUND;
    }
    if (err == store_err_forbidden) {
        return PROTO_ERR_FORBIDDEN;
    }
    if (err == store_err_unavailable || err == store_err_timeout || err == store_err_shutdown) {
        return PROTO_ERR_UNAVAILABLE;
    }
    return PROTO_ERR_INTERNAL;
}

/* What the store said at join, kept while presence answers (the store's copy
 * is borrowed only for its callback). One block: a connect storm makes one
 * per handshake, and a string apiece cost more than building the frame. */
typedef struct join_copy {
    proto_room_t room;
    int64_t last_seq;
    bool archived;
    proto_participant_t *parts;
    size_t nparts;
} join_copy_t;

/* Copy s (NULL: "") to *at and advance it; returns the copy. */
static const char *
put_str(char **at, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    char *p = *at;

    memcpy(p, s != NULL ? s : "", n);
    p[n] = '\0';
    *at = p + n + 1;
    return p;
}

static size_t
str_size(const char *s)
{
    return (s != NULL ? strlen(s) : 0) + 1;
}

static join_copy_t *
join_copy_new(const store_join_t *j)
{
    size_t head = sizeof(join_copy_t) + (j->nparts + 1) * sizeof(proto_participant_t);
    size_t size = head + str_size(j->room.type) + str_size(j->room.name);

    for (size_t i = 0; i < j->nparts; i++) {
        size += str_size(j->parts[i].user.full_name) + str_size(j->parts[i].user.role);
    }
    join_copy_t *jc = xmalloc(size);
    char *at = (char *)jc + head;

    jc->parts = (proto_participant_t *)(void *)(jc + 1);
    jc->room.id = j->room.id;
    jc->room.type = put_str(&at, j->room.type);
    jc->room.name = put_str(&at, j->room.name);
    jc->last_seq = j->last_seq;
    jc->archived = j->archived;
    jc->nparts = j->nparts;
    for (size_t i = 0; i < j->nparts; i++) {
        jc->parts[i] = j->parts[i];
        jc->parts[i].user.full_name = put_str(&at, j->parts[i].user.full_name);
        jc->parts[i].user.role = put_str(&at, j->parts[i].user.role);
    }
    memset(&jc->parts[j->nparts], 0, sizeof(proto_participant_t));
    return jc;
}

static void
join_copy_free(join_copy_t *jc)
{
    free(jc);
}

/* Marks who of the participants is online. A sorted copy of the online ids
 * and a binary search each: a join in a room of N costs N log N, where a
 * scan of the list per participant cost N² (in a 1,000-member room's connect
 * storm, a third of the hub's instructions). */
static void
mark_online(const hub_conn_t *c, const join_copy_t *jc, const int64_t *online, size_t nonline)
{
    int64_t *sorted = NULL;

    if (nonline > 0) {
        sorted = xmalloc(nonline * sizeof(*sorted));
        memcpy(sorted, online, nonline * sizeof(*sorted));
        qsort(sorted, nonline, sizeof(*sorted), proto_i64_cmp);
    }
    for (size_t i = 0; i < jc->nparts; i++) {
        int64_t id = jc->parts[i].user.id;
        jc->parts[i].online =
            id == c->user.id || (sorted != NULL && bsearch(&id, sorted, nonline, sizeof(*sorted),
                                                           proto_i64_cmp) != NULL);
    }
    free(sorted);
}

static void
send_established(hub_conn_t *c, const join_copy_t *jc, const int64_t *online, size_t nonline,
                 int64_t resumed_from, bool truncated)
{
    size_t len;
    char *s;

    mark_online(c, jc, online, nonline);
    s = proto_build_established(&jc->room, &c->user, jc->parts, jc->nparts, c->last_seq,
                                resumed_from, truncated, &len);
    hub_buf_t *b = hub_buf_take(s, len);
    hub_conn_send(c, b);
    hub_buf_unref(b);
}

/* connection_established, then, for ?last_seq=N, every message after N from
 * the store before live delivery resumes (the newest HUB_RESUME_MAX at most). */
static void
resume_or_start(hub_conn_t *c, const join_copy_t *jc, const int64_t *online, size_t n)
{
    int64_t from = c->auth.last_seq, now = c->last_seq;
    bool truncated = false;

    c->hub->counters.resumes += from >= 0;
    if (from < 0 || from >= now) {
        send_established(c, jc, online, n, from < 0 ? -1 : from, false);
        return;
    }
    if (now - from > HUB_RESUME_MAX) {
        from = now - HUB_RESUME_MAX;
        truncated = true;
    }
    send_established(c, jc, online, n, c->auth.last_seq, truncated);
    c->last_seq = from;
    c->resume_to = now;
    hub_resume_start(c);
}

/* Presence has counted the socket and knows who is online: join the room. */
static void
on_presence_joined(hub_t *hub, uint64_t id, const int64_t *online, size_t n, void *ud)
{
    join_copy_t *jc = ud;
    hub_conn_t *c = online != NULL ? hub_conn_lookup(hub, id) : NULL; /* NULL: stopping */

    if (c != NULL) {
        c->state = HUB_CONN_OPEN;
        hub_room_join(hub, c->room_id, jc->last_seq, c);
        c->room->archived = jc->archived;
        /* Messages the room delivered here before this socket joined were sent
         * before it connected: it starts after them, as established says. */
        if (c->room->delivered_seq > c->last_seq) {
            c->last_seq = c->room->delivered_seq;
        }
        resume_or_start(c, jc, online, n);
        hub_presence_seen_ids(c->room, online, n);
        log_info("ws.joined",
                 "conn=%" PRIu64 " user=%" PRId64 " room=%" PRId64 " last_seq=%" PRId64, c->id,
                 c->user.id, c->room_id, c->last_seq);
        hub_conn_release_early(c);
    }
    join_copy_free(jc);
}

/* A kick for this user, or a Redis outage, came while the store answered
 * (hub_conn_t.recheck): the answer may predate a removal, and a socket let in
 * on it would have missed the kick, so the same question goes to the store
 * again. That one is asked after the kick arrived, hence after its commit.
 * True when asked again (the answer goes to the same callback). */
static bool
ask_again(hub_conn_t *c)
{
    if (!c->recheck) {
        return false;
    }
    c->recheck = false;
    log_info("ws.join_recheck", "conn=%" PRIu64 " user=%" PRId64, c->id, c->auth.user_id);
    if (c->auth.opaque[0] != '\0') {
        c->auth.user_id = 0; /* the token may be the thing revoked: look it up again */
    }
    hub_join_start(c);
    return true;
}

static void
on_joined(void *ud, const store_join_t *j, const char *err)
{
    hub_conn_t *c = hub_conn_take_ref(ud);

    if (c == NULL) {
        return;
    }
    if (err != NULL) {
        log_info("ws.denied", "conn=%" PRIu64 " user=%" PRId64 " err=\"%s\"", c->id,
                 c->auth.user_id, err);
        hub_conn_fail(c, join_err(err), NULL);
        return;
    }
    if (ask_again(c)) {
        return;
    }
    c->user.id = j->user.id;
    c->user.full_name = xstrdup(j->user.full_name);
    c->user.role = xstrdup(j->user.role);
    c->room_id = j->room.id;
    c->last_seq = j->last_seq;
    c->in_presence = true;
    hub_presence_join(c->hub, c->room_id, &c->user, c->id, on_presence_joined, join_copy_new(j));
}

static void
join_room(hub_conn_t *c)
{
    static const store_room_kind_t kinds[] = {
        [PROTO_WS_ROOM] = STORE_ROOM_BY_ID,
        [PROTO_WS_FALLBACK] = STORE_ROOM_FALLBACK,
        [PROTO_WS_GENERAL] = STORE_ROOM_GENERAL,
    };
    hub_ref_t *ref = hub_ref_new(c->hub, c->id);

    if (store_room_join(c->hub->store, c->auth.user_id, kinds[c->auth.kind], c->auth.room_id,
                        on_joined, ref) < 0) {
        free(ref);
        hub_conn_fail(c, PROTO_ERR_UNAVAILABLE, NULL);
    }
}

static void
on_token(void *ud, int64_t user_id, const char *err)
{
    hub_conn_t *c = hub_conn_take_ref(ud);

    if (c == NULL) {
        return;
    }
    if (err != NULL) {
        log_info("ws.denied", "conn=%" PRIu64 " err=\"%s\"", c->id, err);
        hub_conn_fail(c, join_err(err), NULL);
        return;
    }
    if (ask_again(c)) {
        return;
    }
    if (hub_conn_was_disconnected(c, user_id)) {
        log_info("ws.disconnected_joining", "conn=%" PRIu64 " user=%" PRId64, c->id, user_id);
        hub_conn_close(c, PROTO_CLOSE_NORMAL, "disconnected", false);
        return;
    }
    if (c->gone_overflow) {
        /* More disconnects came than the socket kept: it may have been one
         * of them. The client comes back after its backoff, past them. */
        log_info("ws.disconnected_joining", "conn=%" PRIu64 " user=%" PRId64 " overflow=1", c->id,
                 user_id);
        hub_conn_fail(c, PROTO_ERR_UNAVAILABLE, "disconnects came while connecting, retry later");
        return;
    }
    c->auth.user_id = user_id;
    join_room(c);
}

void
hub_join_start(hub_conn_t *c)
{
    if (c->auth.user_id != 0) {
        join_room(c);
        return;
    }
    hub_ref_t *ref = hub_ref_new(c->hub, c->id);
    if (store_token_lookup(c->hub->store, c->auth.opaque, strlen(c->auth.opaque), on_token, ref) <
        0) {
        free(ref);
        hub_conn_fail(c, PROTO_ERR_UNAVAILABLE, NULL);
    }
}
