/*
 * Client frame handlers. A chat message is stored first and delivered on
 * commit (hub_deliver.c); nothing here waits: the store answers later and the
 * answer finds the connection again by id.
 */
#include "hub_frames.h"

#include <stdlib.h>
#include <string.h>

#include "hub_buf.h"
#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_room.h"
#include "proto_build.h"
#include "proto_frame.h"
#include "store_msg.h"
#include "store_read.h"
#include "xalloc.h"

/* More rejections than this within one window close a socket with 4429: a
 * flood, or a client that keeps sending faster than the rate even with some
 * frames let through (twice the rate: within 3 s). One that only brushes the
 * limit now and then never gets there. */
#define RATE_ABUSE_REJECTIONS 50
#define RATE_ABUSE_WINDOW_MS 10000
#define TYPING_INTERVAL_MS 1000

static bool
take_token(hub_conn_t *c)
{
    const hub_config_t *cfg = c->hub->cfg;
    uint64_t now = hub_now_ms(c->hub);

    c->tokens += (double)(now - c->tokens_ms) * (double)cfg->rate_limit / 1000.0;
    c->tokens_ms = now;
    if (c->tokens > (double)cfg->rate_burst) {
        c->tokens = (double)cfg->rate_burst;
    }
    if (c->tokens < 1.0) {
        return false;
    }
    c->tokens -= 1.0;
    return true;
}

static void
send_frame(hub_conn_t *c, char *s, size_t len)
{
    hub_buf_t *b = hub_buf_take(s, len);

    hub_conn_send(c, b);
    hub_buf_unref(b);
}

/* A request's client_id comes back on its answer, history or error, so a
 * client with several requests in flight knows which one was answered. */
typedef struct history_req {
    hub_ref_t ref; /* the connection the answer goes to */
    char client_id[PROTO_CLIENT_ID_MAX + 1];
} history_req_t;

static void
on_history(void *ud, const proto_msg_t *msgs, size_t n, bool has_more, const char *err)
{
    history_req_t *hr = ud;
    hub_conn_t *c = hub_conn_lookup(hr->ref.hub, hr->ref.id);
    size_t len;

    if (c != NULL && err != NULL) {
        hub_conn_send_error(c, hub_deliver_store_err(err), NULL, hr->client_id);
    } else if (c != NULL) {
        char *s = proto_build_history(c->room_id, msgs, n, has_more, hr->client_id, &len);
        send_frame(c, s, len);
    }
    if (c != NULL) {
        hub_conn_history_asked(c, true); /* after the answer: its bytes count first */
    }
    free(hr);
}

static void
handle_history(hub_conn_t *c, const proto_in_t *in)
{
    history_req_t *hr = xmalloc(sizeof(*hr));

    hr->ref = (hub_ref_t){c->hub, c->id};
    memcpy(hr->client_id, in->client_id, sizeof(hr->client_id));
    if (store_msg_history(c->hub->store, c->room_id, in->before_seq, STORE_SEQ_NONE, in->limit,
                          on_history, hr) < 0) {
        free(hr);
        hub_conn_send_error(c, PROTO_ERR_UNAVAILABLE, NULL, in->client_id);
        return;
    }
    hub_conn_history_asked(c, false);
}

static void
handle_typing(hub_conn_t *c, const proto_in_t *in)
{
    uint64_t now = hub_now_ms(c->hub);
    size_t len;

    /* At most one forwarded "typing" per socket per second; a stop always goes. */
    if (in->is_typing && c->typing_ms != 0 && now - c->typing_ms < TYPING_INTERVAL_MS) {
        return;
    }
    if (c->room != NULL && c->room->archived) {
        /* Readable, not writable (PROTOCOL.md 6): nobody can answer. */
        hub_conn_send_error(c, PROTO_ERR_ROOM_ARCHIVED, NULL, NULL);
        return;
    }
    c->typing_ms = in->is_typing ? now : 0;
    char *s = proto_build_typing(c->room_id, &c->user, in->is_typing, &len);
    hub_deliver_event(c->hub, c->room_id, s, len, c->user.id);
}

typedef struct read_req {
    hub_ref_t ref; /* first: freed as a hub_ref_t would be */
    int64_t room_id;
    int64_t user_id;
    int64_t seq;
    char client_id[PROTO_CLIENT_ID_MAX + 1]; /* echoed on an error, as for history */
} read_req_t;

static void
on_read_stored(void *ud, bool advanced, const char *err)
{
    read_req_t *rr = ud;
    hub_conn_t *c = hub_conn_lookup(rr->ref.hub, rr->ref.id);
    size_t len;

    if (err != NULL && c != NULL) {
        hub_conn_send_error(c, hub_deliver_store_err(err), NULL, rr->client_id);
    } else if (advanced) {
        /* Stored: every socket of the room hears it, the reader's other tabs too. */
        char *s = proto_build_read(rr->room_id, rr->user_id, rr->seq, &len);
        hub_deliver_event(rr->ref.hub, rr->room_id, s, len, 0);
    }
    free(rr);
}

static void
handle_mark_read(hub_conn_t *c, const proto_in_t *in)
{
    read_req_t *rr;

    if (in->seq > c->last_seq) {
        hub_conn_send_error(c, PROTO_ERR_BAD_REQUEST, "seq is beyond the room's last message",
                            in->client_id);
        return;
    }
    rr = xmalloc(sizeof(*rr));
    *rr = (read_req_t){{c->hub, c->id}, c->room_id, c->user.id, in->seq, {0}};
    memcpy(rr->client_id, in->client_id, sizeof(rr->client_id));
    /* Never backwards: a stale or repeated mark_read stores and sends nothing. */
    if (store_mark_read(c->hub->store, c->room_id, c->user.id, in->seq, on_read_stored, rr) < 0) {
        free(rr);
        hub_conn_send_error(c, PROTO_ERR_UNAVAILABLE, NULL, in->client_id);
    }
}

static void
on_sent(hub_t *hub, uint64_t id, const proto_msg_t *msg, hub_buf_t *frame, bool duplicate,
        const char *err, const char *client_id)
{
    hub_conn_t *c = hub_conn_lookup(hub, id);

    if (c == NULL) {
        return;
    }
    if (err != NULL) {
        proto_err_t e = hub_deliver_store_err(err);

        hub_conn_send_error(c, e, NULL, client_id);
        /* The store knew first that the sender lost its place (removed,
         * deactivated, its token revoked): the kick may still be on its way
         * here through Redis, and the socket must not read on meanwhile. */
        if (e == PROTO_ERR_FORBIDDEN || e == PROTO_ERR_UNAUTHORIZED) {
            hub_conn_close(c, proto_err_close_code(e), proto_err_code(e), false);
        }
        return;
    }
    if (duplicate && c->last_seq >= msg->seq) {
        /* A retry of a message this socket has: the original is the answer.
         * Otherwise the room's offer that follows brings it, in seq order. */
        hub_conn_send(c, frame);
    } else if (!duplicate) {
        hub_room_offer_first(c, msg->room_id, msg->seq, frame);
    }
}

static void
handle_send(hub_conn_t *c, const proto_in_t *in)
{
    if (in->has_room_id && in->room_id != c->room_id) {
        hub_conn_send_error(c, PROTO_ERR_BAD_REQUEST, "room_id does not match this connection",
                            in->client_id);
        return;
    }
    c->hub->counters.messages_in++;
    store_msg_in_t msg = {
        .room_id = c->room_id,
        .sender_id = c->user.id, /* always the token's user, never the frame's */
        .content = in->text,
        .content_len = in->text_len,
        .client_id = in->client_id,
        .token =
            c->auth.opaque[0] != '\0' ? c->auth.opaque : NULL, /* a revoked one stores nothing */
    };
    hub_deliver_send(c->hub, &msg, on_sent, c->id);
}

static void
dispatch(hub_conn_t *c, const proto_in_t *in)
{
    size_t len;
    char *s;

    switch (in->type) {
    case PROTO_IN_CHAT_MESSAGE:
        handle_send(c, in);
        break;
    case PROTO_IN_TYPING:
        handle_typing(c, in);
        break;
    case PROTO_IN_MARK_READ:
        handle_mark_read(c, in);
        break;
    case PROTO_IN_HISTORY:
        handle_history(c, in);
        break;
    case PROTO_IN_PING:
        s = proto_build_pong(&len);
        send_frame(c, s, len);
        break;
    }
}

/* Whether the frame may be served; a refused one is answered here. */
static bool
rate_ok(hub_conn_t *c, const char *client_id)
{
    uint64_t now;

    if (take_token(c)) {
        return true;
    }
    now = hub_now_ms(c->hub);
    c->hub->counters.rate_limited++;
    if (c->rate_rejections == 0 || now - c->rate_window_ms >= RATE_ABUSE_WINDOW_MS) {
        c->rate_window_ms = now; /* this rejection opens a window */
        c->rate_rejections = 0;
    }
    if (++c->rate_rejections > RATE_ABUSE_REJECTIONS) {
        log_warn("ws.rate_abuse", "conn=%" PRIu64 " user=%" PRId64, c->id, c->user.id);
        hub_conn_send_error(c, PROTO_ERR_RATE_LIMITED, NULL, client_id);
        hub_conn_close(c, proto_err_close_code(PROTO_ERR_RATE_LIMITED),
                       proto_err_code(PROTO_ERR_RATE_LIMITED), false);
        return false;
    }
    if (c->state == HUB_CONN_OPEN) {
        hub_conn_send_error(c, PROTO_ERR_RATE_LIMITED, NULL, client_id);
    }
    return false;
}

void
hub_frames_handle(hub_conn_t *c, const char *buf, size_t len, bool binary)
{
    proto_in_t in;
    proto_err_t err = PROTO_ERR_NONE;
    size_t max = (size_t)c->hub->cfg->max_message_bytes;
    int parsed = -1;

    memset(&in, 0, sizeof(in));
    if (binary) {
        err = PROTO_ERR_BAD_REQUEST;
    } else {
        /* Parsed even when over the limit (it is at most twice the limit here),
         * so the too_large error can carry the send's client_id. */
        parsed = proto_in_parse(buf, len, max, &in, &err);
        if (len > max) {
            /* A frame over the limit closes with 1009 (PROTOCOL.md §5); the
             * error first tells the client which send it was, so it does not
             * send it again after reconnecting. */
            log_info("ws.too_large", "conn=%" PRIu64 " bytes=%zu", c->id, len);
            hub_conn_send_error(c, PROTO_ERR_TOO_LARGE, NULL, in.client_id);
            hub_conn_close(c, PROTO_CLOSE_TOO_LARGE, "message too large", false);
            proto_in_clear(&in);
            return;
        }
    }
    /* Every frame costs a token, bad ones too; parsed first so that a refused
     * send is answered with its client_id (rate_ok answers its own). */
    if (rate_ok(c, in.client_id)) {
        if (parsed < 0) {
            hub_conn_send_error(c, err, binary ? "binary frames are not supported" : in.why,
                                in.client_id);
        } else {
            dispatch(c, &in);
        }
    }
    proto_in_clear(&in);
}
