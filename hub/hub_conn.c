/*
 * A WebSocket connection's life: handshake checks that need no I/O (path,
 * Origin, token), the frames that come before the join (hub_join.c) finishes,
 * the bounded outbound queue (written by hub_wire.c), and the close,
 * whose frame we write ourselves (PITFALLS.md: lws sends none from WRITEABLE)
 * before a lingering close drains the client's input.
 */
#include "hub_conn.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "hub_frames.h"
#include "hub_handshake.h"
#include "hub_join.h"
#include "hub_log.h"
#include "hub_presence.h"
#include "hub_resume.h"
#include "hub_room.h"
#include "hub_sock.h"
#include "hub_wire.h"
#include "proto_build.h"
#include "xalloc.h"

hub_conn_t *
hub_conn_lookup(hub_t *hub, uint64_t id)
{
    hub_conn_t *c = hub_map_get(&hub->conns, id);

    return c != NULL && c->state != HUB_CONN_CLOSING ? c : NULL;
}

hub_conn_t *
hub_conn_take_ref(void *ud)
{
    hub_ref_t *ref = ud;
    hub_conn_t *c = hub_conn_lookup(ref->hub, ref->id);

    free(ref);
    return c;
}

/* The checks run once, here. Their result waits on the wsi for
 * FILTER_PROTOCOL_CONNECTION (lws reallocates the session memory between the
 * two callbacks, so it cannot wait there); lws calls both in the same
 * handshake, with no loop turn between. */
int
hub_conn_on_confirm_upgrade(hub_t *hub, struct lws *wsi)
{
    hub_conn_t *c = xcalloc(1, sizeof(*c));
    const char *why = NULL;
    hub_hs_t hs = hub_hs_lws(wsi);
    int status = hub_handshake_check_version(&hs, &why);

    if (status == 0) {
        status = hub_handshake_check(hub, &hs, &c->auth, &why);
    }
    if (status == 0) {
        free(lws_get_opaque_user_data(wsi));
        lws_set_opaque_user_data(wsi, c);
        return 0;
    }
    free(c);
    log_info("ws.refused", "status=%d why=%s", status, why);
    hub_handshake_reply(wsi, status, why);
    return 1;
}

void
hub_conn_on_wsi_destroy(struct lws *wsi)
{
    /* An upgrade lws refused after we confirmed it. */
    free(lws_get_opaque_user_data(wsi));
    lws_set_opaque_user_data(wsi, NULL);
}

void
hub_conn_open(hub_t *hub, hub_conn_t *c, const hub_hs_t *hs)
{
    c->id = hub_next_id(hub);
    c->ip_key = hub_handshake_ip_key(hub, hs);
    hub_map_put(&hub->ip_conns, c->ip_key,
                (void *)((uintptr_t)hub_map_get(&hub->ip_conns, c->ip_key) + 1));
    c->hub = hub;
    c->state = HUB_CONN_PENDING;
    c->tokens = (double)hub->cfg->rate_burst;
    c->tokens_ms = hub_now_ms(hub);
    c->rx_ms = c->tokens_ms;
    c->opened_ms = c->tokens_ms;
    hub_map_put(&hub->conns, c->id, c);
    hub->counters.connections_total++;
}

int
hub_conn_on_filter(hub_t *hub, struct lws *wsi, hub_pss_t *pss)
{
    const char *why = NULL;
    hub_conn_t *c = lws_get_opaque_user_data(wsi);
    hub_hs_t hs = hub_hs_lws(wsi);

    lws_set_opaque_user_data(wsi, NULL);
    if (c == NULL) {
        /* Not confirmed first (lws always does): check now. */
        c = xcalloc(1, sizeof(*c));
        if (hub_handshake_check_version(&hs, &why) != 0 ||
            hub_handshake_check(hub, &hs, &c->auth, &why) != 0) {
            free(c);
            return 1;
        }
    }
    c->wsi = wsi;
    hub_conn_open(hub, c, &hs);
    pss->conn = c;
    return 0;
}

int
hub_conn_on_established(hub_t *hub, struct lws *wsi, hub_pss_t *pss)
{
    hub_conn_t *c = pss->conn;

    if (c == NULL) {
        return -1;
    }
    log_debug("ws.open", "conn=%" PRIu64, c->id);
    hub_join_start(c);
    return 0;
}

/* The hub holds the client's input back for what it asked: its queue is
 * full, or its history requests are at the store. */
static bool
input_held(const hub_conn_t *c)
{
    return c->out_paused || c->history_asked >= HUB_CONN_HISTORY_ASKED_MAX;
}

/* Input is read unless early messages or the queue hold too much. Only a
 * change costs a call (epoll_ctl, or lws's flow control). */
static void
rx_update(hub_conn_t *c)
{
    bool off = c->rx_paused || input_held(c);

    if (off != c->rx_off) {
        c->rx_off = off;
        hub_sock_rx_flow(c, !off);
    }
}

void
hub_conn_history_asked(hub_conn_t *c, bool answered)
{
    if (answered) {
        c->history_asked -= c->history_asked > 0;
    } else {
        c->history_asked++;
    }
    rx_update(c);
}

void
hub_conn_dequeued(hub_conn_t *c, size_t len)
{
    c->qbytes -= len;
    if (c->out_paused && c->qbytes <= HUB_CONN_OUT_HIGH / 2) {
        c->out_paused = false;
        rx_update(c);
    }
}

/* A message that came before the store answered the join. */
struct hub_early {
    struct hub_early *next;
    size_t len;
    bool binary;
    char data[];
};

/* The message reassembled in c->rx, whole: handled, or held until the join. */
static void
handle_rx(hub_conn_t *c)
{
    if (c->state == HUB_CONN_PENDING) {
        struct hub_early *h = xmalloc(sizeof(*h) + c->rx_len + 1);
        h->next = NULL;
        h->len = c->rx_len;
        h->binary = c->rx_binary;
        memcpy(h->data, c->rx != NULL ? c->rx : "", c->rx_len);
        h->data[c->rx_len] = '\0';
        if (c->early == NULL) {
            c->early_tail = &c->early;
        }
        *c->early_tail = h;
        c->early_tail = &h->next;
        c->early_bytes += c->rx_len + 1;
    } else {
        if (c->rx == NULL) {
            c->rx = xrealloc(NULL, 1); /* an empty message */
        }
        c->rx[c->rx_len] = '\0';
        hub_frames_handle(c, c->rx, c->rx_len, c->rx_binary);
    }
    c->rx_len = 0;
    c->rx_binary = false;
    if (c->rx_cap > 4096) {
        /* Keep idle sockets small: a big message's buffer is not kept. */
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
}

void
hub_conn_release_early(hub_conn_t *c)
{
    while (c->early != NULL) {
        struct hub_early *h = c->early;
        c->early = h->next;
        if (c->state == HUB_CONN_OPEN) {
            hub_frames_handle(c, h->data, h->len, h->binary);
        }
        free(h);
    }
    c->early_bytes = 0;
    c->rx_paused = false;
    rx_update(c);
    if (c->close_owed != 0) {
        int code = c->close_owed;
        c->close_owed = 0;
        hub_conn_close(c, code, "", false);
    }
}

bool
hub_conn_close_after_early(hub_conn_t *c, int code)
{
    if (c->state != HUB_CONN_PENDING || c->early == NULL) {
        return false;
    }
    c->close_owed = code;
    return true;
}

static void
free_early(hub_conn_t *c)
{
    while (c->early != NULL) {
        struct hub_early *h = c->early;
        c->early = h->next;
        free(h);
    }
}

void
hub_conn_on_alive(hub_conn_t *c)
{
    c->rx_ms = hub_now_ms(c->hub);
    c->ping_ms = 0;
    c->overdue = false;
}

int
hub_conn_rx(hub_conn_t *c, const void *in, size_t len, bool binary, bool final)
{
    size_t cap = HUB_CONN_RX_MAX(c->hub->cfg);

    hub_conn_on_alive(c);
    if ((c->state != HUB_CONN_OPEN && c->state != HUB_CONN_PENDING) || c->peer_closed) {
        return 0;
    }
    if (c->rx_len + len > cap) {
        log_info("ws.too_large", "conn=%" PRIu64 " bytes=%zu", c->id, c->rx_len + len);
        return -1;
    }
    if (c->rx_len + len > c->rx_cap) {
        c->rx_cap = c->rx_len + len;
        c->rx = xrealloc(c->rx, c->rx_cap + 1);
    }
    if (len > 0) {
        memcpy(c->rx + c->rx_len, in, len);
    }
    c->rx_len += len;
    c->rx_binary = c->rx_binary || binary;
    if (!final) {
        return 0;
    }
    handle_rx(c);
    if (c->early_bytes > cap && !c->rx_paused) {
        /* Only a client that does not wait for connection_established gets
         * here. Not paused at every open: that costs three epoll_ctl calls. */
        c->rx_paused = true;
        rx_update(c);
    }
    return 0;
}

int
hub_conn_on_receive(hub_t *hub, struct lws *wsi, hub_pss_t *pss, const void *in, size_t len)
{
    hub_conn_t *c = pss->conn;

    (void)hub;
    if (c == NULL) {
        return 0;
    }
    if (hub_conn_rx(c, in, len, lws_frame_is_binary(wsi),
                    lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) < 0) {
        lws_close_reason(wsi, (enum lws_close_status)PROTO_CLOSE_TOO_LARGE,
                         (unsigned char *)"message too large", 17);
        return -1;
    }
    return 0;
}

/* How long a socket whose close frame is out keeps draining its input (s). */
#define LINGER_SECONDS 2

/* The lingering close of HTTP servers: once the close frame is all out, send
 * FIN and keep reading (and dropping) until the peer hangs up or the linger
 * timeout fires. Hanging up at once with the client's frames unread (a flood
 * being rate limited) makes the kernel answer with a reset, and the client's
 * kernel then drops our close frame with everything before it: 1006. */
static int
linger(hub_conn_t *c)
{
    if (hub_sock_partial(c)) {
        /* Part of the close frame is still held: a FIN now would cut it. */
        hub_sock_want_write(c);
        return 0;
    }
    if (shutdown(hub_sock_fd(c), SHUT_WR) < 0) {
        return -1; /* the peer is gone already */
    }
    c->write_shut = true;
    return 0;
}

static int
write_close(hub_conn_t *c)
{
    unsigned char buf[HUB_SOCK_PRE + 2 + sizeof(c->close_reason)];
    size_t rlen = strlen(c->close_reason);

    buf[HUB_SOCK_PRE] = (unsigned char)(c->close_code >> 8);
    buf[HUB_SOCK_PRE + 1] = (unsigned char)(c->close_code & 0xff);
    memcpy(buf + HUB_SOCK_PRE + 2, c->close_reason, rlen);
    if (hub_sock_write(c, buf + HUB_SOCK_PRE, 2 + rlen, HUB_SOCK_CLOSE) < 0) {
        return -1;
    }
    /* Before its join the socket has only its token's user (ws.denied's). */
    log_info("ws.close", "conn=%" PRIu64 " user=%" PRId64 " code=%d", c->id,
             c->user.id != 0 ? c->user.id : c->auth.user_id, c->close_code);
    c->close_sent = true;
    /* Bounds the linger, and frees a peer that never reads the frame at all. */
    hub_sock_close_after(c, LINGER_SECONDS);
    /* Paused input would never drain: the peer's FIN could not be seen. */
    c->rx_paused = c->out_paused = false;
    c->history_asked = 0;
    rx_update(c);
    return linger(c);
}

int
hub_conn_on_writeable(hub_t *hub, struct lws *wsi, hub_pss_t *pss)
{
    (void)wsi;
    return pss->conn != NULL ? hub_conn_writeable(hub, pss->conn) : -1;
}

int
hub_conn_writeable(hub_t *hub, hub_conn_t *c)
{
    if (c->close_sent) {
        return c->write_shut ? 0 : linger(c);
    }
    if (c->qlen == 0 && (c->state == HUB_CONN_CLOSING || !c->resume_parked)) {
        return c->state == HUB_CONN_CLOSING ? write_close(c) : 0;
    }
    if (hub_wire_write(hub, c) < 0) { /* a parked resume goes on from there */
        return -1;
    }
    if (c->qlen > 0 || c->state == HUB_CONN_CLOSING) {
        hub_sock_want_write(c);
    }
    return 0;
}

int
hub_conn_on_peer_close(hub_pss_t *pss)
{
    return pss->conn != NULL && hub_conn_peer_closed(pss->conn) ? -1 : 0;
}

bool
hub_conn_peer_closed(hub_conn_t *c)
{
    /* After our close frame lws cannot echo theirs (our side may be shut), and
     * a peer that sent its close frame sends nothing more: done. Whatever lws
     * still hands us after it is dropped (RFC 6455 §5.5.1): a message that
     * follows a close must not be stored unanswered. */
    c->peer_closed = true;
    return c->close_sent;
}

static void
queue_clear(hub_conn_t *c)
{
    while (c->qlen > 0) {
        hub_conn_dequeued(c, hub_buf_len(c->q[c->qhead].buf));
        hub_buf_unref(c->q[c->qhead].buf);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    c->qhead = 0;
}

void
hub_conn_on_closed(hub_t *hub, hub_pss_t *pss)
{
    hub_conn_t *c = pss->conn;

    if (c == NULL) {
        return; /* refused in FILTER: nothing was made */
    }
    pss->conn = NULL;
    hub_conn_free(hub, c);
}

void
hub_conn_free(hub_t *hub, hub_conn_t *c)
{
    uintptr_t n = (uintptr_t)hub_map_get(&hub->ip_conns, c->ip_key);
    if (n <= 1) {
        hub_map_del(&hub->ip_conns, c->ip_key);
    } else {
        hub_map_put(&hub->ip_conns, c->ip_key, (void *)(n - 1));
    }
    hub_room_remove_conn(hub, c);
    if (c->in_presence) {
        hub_presence_leave(hub, c->room_id, c->user.id, c->kicked);
    }
    hub_map_del(&hub->conns, c->id);
    hub_wire_forget(hub, c);
    queue_clear(c);
    hub_resume_drop_held(c);
    log_debug("ws.closed", "conn=%" PRIu64 " user=%" PRId64, c->id, c->user.id);
    free(c->q);
    free(c->rx);
    free(c->gone_users);
    free_early(c);
    free((char *)c->user.full_name);
    free((char *)c->user.role);
    free(c);
}

static bool
queue_is_stale(const hub_conn_t *c, uint64_t now)
{
    const hub_t *hub = c->hub;

    if (c->qlen >= (size_t)hub->cfg->channel_capacity) {
        return true;
    }
    return c->qlen > 0 &&
           now - c->q[c->qhead].queued_ms > (uint64_t)hub->cfg->channel_expiry * 1000;
}

static void
queue_grow(hub_conn_t *c)
{
    size_t cap = c->qcap == 0 ? 4 : c->qcap * 2;
    hub_qitem_t *q = xmalloc(cap * sizeof(*q));

    for (size_t i = 0; i < c->qlen; i++) {
        q[i] = c->q[(c->qhead + i) % c->qcap];
    }
    free(c->q);
    c->q = q;
    c->qcap = cap;
    c->qhead = 0;
}

/* Frames a socket gathers in one turn before they are written anyway. */
#define CORK_FRAMES_MAX 32

void
hub_conn_send(hub_conn_t *c, hub_buf_t *frame)
{
    uint64_t now = hub_now_ms(c->hub);

    if (c->state == HUB_CONN_CLOSING) {
        return;
    }
    if (queue_is_stale(c, now)) {
        /* A slow consumer is closed, never silently skipped: it resumes from
         * its last seq and loses nothing. */
        log_warn("ws.slow_consumer", "conn=%" PRIu64 " user=%" PRId64 " queued=%zu", c->id,
                 c->user.id, c->qlen);
        c->hub->counters.slow_consumer_closes++;
        hub_conn_close(c, PROTO_CLOSE_SLOW_CONSUMER, "slow consumer", true);
        return;
    }
    bool first = c->qlen == 0;
    if (c->qlen == c->qcap) {
        queue_grow(c);
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = (hub_qitem_t){hub_buf_ref(frame), now};
    c->qlen++;
    c->qbytes += hub_buf_len(frame);
    if (c->qbytes > HUB_CONN_OUT_HIGH && !c->out_paused) {
        c->out_paused = true;
        rx_update(c);
    }
    if (c->corked) {
        /* Joins the frames waiting for this turn's write; a long turn writes
         * early, so a burst never counts against the queue bound. */
        if (c->qlen >= CORK_FRAMES_MAX || c->qlen * 2 >= (size_t)c->hub->cfg->channel_capacity) {
            if (hub_wire_write(c->hub, c) < 0) {
                hub_conn_close(c, PROTO_CLOSE_INTERNAL, "write failed", true);
            }
        }
        return;
    }
    /* A first frame on an open socket is written at the end of this turn of
     * the loop, with whatever else comes for it meanwhile, not through a
     * writeable callback: that costs four epoll_ctl calls (libuv re-adds the
     * descriptor on each change of its events). Behind a short write's held
     * bytes, the queue waits for writeable and its bounds hold. */
    if (first && c->state == HUB_CONN_OPEN && !hub_sock_partial(c) && hub_wire_cork(c->hub, c)) {
        return;
    }
    hub_sock_want_write(c);
}

void
hub_conn_send_error(hub_conn_t *c, proto_err_t err, const char *message, const char *client_id)
{
    size_t len;
    char *s = proto_build_error(err, message, client_id, &len);
    hub_buf_t *b = hub_buf_take(s, len);

    hub_conn_send(c, b);
    hub_buf_unref(b);
}

void
hub_conn_close(hub_conn_t *c, int code, const char *reason, bool drop_queue)
{
    if (c->state == HUB_CONN_CLOSING) {
        return;
    }
    c->state = HUB_CONN_CLOSING;
    c->close_code = code;
    /* A bounded copy; snprintf's "%s" was some 500 instructions a close. */
    size_t rlen = reason != NULL ? strnlen(reason, sizeof(c->close_reason) - 1) : 0;
    memcpy(c->close_reason, reason != NULL ? reason : "", rlen);
    c->close_reason[rlen] = '\0';
    hub_room_remove_conn(c->hub, c);
    if (drop_queue) {
        queue_clear(c);
    }
    /* Behind bytes a client never reads the close frame would never get out:
     * it may wait twice as long as a queued frame may, then the socket is
     * hung up (write_close() starts the linger's shorter bound instead). */
    hub_sock_close_after(c, 2 * (unsigned)c->hub->cfg->channel_expiry);
    hub_sock_want_write(c);
}

void
hub_conn_fail(hub_conn_t *c, proto_err_t err, const char *message)
{
    hub_conn_send_error(c, err, message, NULL);
    hub_conn_close(c, proto_err_close_code(err), proto_err_code(err), false);
}

bool
hub_conn_was_disconnected(const hub_conn_t *c, int64_t user_id)
{
    for (size_t i = 0; i < c->ngone_users; i++) {
        if (c->gone_users[i] == user_id) {
            return true;
        }
    }
    return false;
}

/* A socket whose join the store is still answering, maybe user_id's and in
 * room_id. After a removal or a deactivation it asks again
 * (hub_conn_t.recheck): the answer may have been read before the commit. A
 * disconnect changes nothing in the store: it closes the socket like one in
 * the room, since it was the user's when the call came; one whose opaque
 * token is still being looked up keeps the user to close on the answer
 * (hub_join.c). True when closed. */
static bool
kick_joining(hub_conn_t *c, int64_t user_id, int64_t room_id, proto_err_t err, uint64_t opened_by)
{
    bool room_may_match =
        room_id == 0 || c->auth.kind != PROTO_WS_ROOM || c->auth.room_id == room_id;

    if (c->auth.user_id == 0 && err == PROTO_ERR_NONE && c->opened_ms <= opened_by &&
        !hub_conn_was_disconnected(c, user_id)) {
        if (c->ngone_users == HUB_CONN_GONE_MAX) {
            c->gone_overflow = true; /* a disconnect storm: the answer closes it, 1013 */
            return false;
        }
        c->gone_users = xrealloc(c->gone_users, (c->ngone_users + 1) * sizeof(*c->gone_users));
        c->gone_users[c->ngone_users++] = user_id;
        return false;
    }
    if (c->auth.user_id != user_id || !room_may_match) {
        return false;
    }
    if (err != PROTO_ERR_NONE) {
        c->recheck = true;
        return false;
    }
    if (c->opened_ms > opened_by) {
        return false;
    }
    hub_conn_close(c, PROTO_CLOSE_NORMAL, "disconnected", false);
    return true;
}

size_t
hub_conn_close_user(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err,
                    uint64_t opened_by)
{
    size_t i = 0, n = 0;
    uint64_t key;
    void *val;

    while (hub_map_next(&hub->conns, &i, &key, &val)) {
        hub_conn_t *c = val;
        if (c->state == HUB_CONN_PENDING && c->user.id == 0) {
            n += kick_joining(c, user_id, room_id, err, opened_by) ? 1 : 0;
            continue;
        }
        /* user.id is set once the store authorized the join: a socket still
         * waiting for presence is as good as in the room. */
        if (c->state != HUB_CONN_CLOSING && c->user.id == user_id &&
            (room_id == 0 || c->room_id == room_id) && c->opened_ms <= opened_by) {
            c->kicked = true;
            if (err == PROTO_ERR_NONE) {
                hub_conn_close(c, PROTO_CLOSE_NORMAL, "disconnected", false);
            } else {
                hub_conn_fail(c, err, NULL);
            }
            n++;
        }
    }
    return n;
}

size_t
hub_conn_close_token(hub_t *hub, const char *key)
{
    size_t i = 0, n = 0;
    uint64_t k;
    void *val;

    while (hub_map_next(&hub->conns, &i, &k, &val)) {
        hub_conn_t *c = val;
        if (c->state != HUB_CONN_CLOSING && c->auth.opaque[0] != '\0' &&
            strcmp(c->auth.opaque, key) == 0) {
            c->kicked = true;
            hub_conn_fail(c, PROTO_ERR_UNAUTHORIZED, "token revoked");
            n++;
        }
    }
    return n;
}

/* Silent for ping_interval: ping (again each interval). Silent for twice that:
 * overdue, and dropped at the next sweep unless a frame comes first. Not at
 * once, because libuv runs timers before it polls: after a stall of the hub
 * its first sweep finds every socket silent, their pongs still unread. */
static void
keepalive(hub_conn_t *c, uint64_t now)
{
    uint64_t interval = (uint64_t)c->hub->cfg->ping_interval * 1000;
    unsigned char ping[HUB_SOCK_PRE + 1];

    if (input_held(c)) {
        /* The hub holds its input back (rx_update): a client it does not
         * read is not silent by its own doing. Its output is the queue
         * bounds' business (4408). */
        hub_conn_on_alive(c);
        return;
    }
    if (c->state == HUB_CONN_CLOSING || now - c->rx_ms < interval) {
        return;
    }
    if (c->overdue) {
        log_info("ws.idle_timeout", "conn=%" PRIu64 " user=%" PRId64 " silent_ms=%" PRIu64, c->id,
                 c->user.id, now - c->rx_ms);
        hub_conn_close(c, PROTO_CLOSE_GOING_AWAY, "idle timeout", true);
        return;
    }
    if (now - c->rx_ms >= 2 * interval) {
        c->overdue = true;
        c->ping_ms = 0; /* a last ping, for a hub that was the one stalled */
    }
    if (c->ping_ms != 0 && now - c->ping_ms < interval) {
        return;
    }
    /* Only on an idle pipe: a socket with output waiting is the queue
     * bounds' business (4408), and a ping must not overtake a frame. */
    if (c->qlen == 0 && !hub_sock_partial(c)) {
        /* With a payload: lws 4.1 does not report an empty pong. */
        ping[HUB_SOCK_PRE] = 'k';
        if (hub_sock_write(c, ping + HUB_SOCK_PRE, 1, HUB_SOCK_PING) < 0) {
            hub_conn_close(c, PROTO_CLOSE_INTERNAL, "write failed", true);
            return;
        }
        c->ping_ms = now;
    }
}

void
hub_conn_sweep(hub_t *hub)
{
    size_t i = 0;
    uint64_t key, now = hub_now_ms(hub);
    void *val;
    int64_t wall = (int64_t)time(NULL);

    while (hub_map_next(&hub->conns, &i, &key, &val)) {
        hub_conn_t *c = val;
        /* Expired from exp on, as at the handshake; the sweep runs every
         * second, so the close comes within a second of it. */
        if (c->state == HUB_CONN_OPEN && c->auth.exp != 0 &&
            wall >= c->auth.exp + hub->cfg->jwt_leeway) {
            /* Closed "token_expired", not "unauthorized": a new token is all
             * the client needs. */
            log_info("ws.token_expired", "conn=%" PRIu64 " user=%" PRId64, c->id, c->user.id);
            hub_conn_send_error(c, PROTO_ERR_UNAUTHORIZED, "token expired", NULL);
            hub_conn_close(c, PROTO_CLOSE_UNAUTHORIZED, "token_expired", false);
            continue;
        }
        if (c->catching_up) {
            hub_resume_sweep(c, now);
        }
        if (c->state != HUB_CONN_CLOSING && queue_is_stale(c, now)) {
            log_warn("ws.slow_consumer", "conn=%" PRIu64 " user=%" PRId64 " queued=%zu", c->id,
                     c->user.id, c->qlen);
            c->hub->counters.slow_consumer_closes++;
            hub_conn_close(c, PROTO_CLOSE_SLOW_CONSUMER, "slow consumer", true);
            continue;
        }
        if (c->qlen > 0 || (c->close_sent && !c->write_shut)) {
            /* lws may spend a writeable event on flushing the rest of a short
             * write and not report it: ask again, so a stall lasts a second. */
            hub_sock_want_write(c);
        }
        keepalive(c, now);
    }
}
