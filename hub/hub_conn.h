/*
 * One WebSocket connection: its handshake checks, its bounded outbound queue
 * and its close. Its asynchronous join (token and membership in the store) is
 * hub_join.c; the frames it receives are handled in hub_frames.c.
 */
#ifndef CHATHUB_HUB_CONN_H
#define CHATHUB_HUB_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub_buf.h"
#include "proto_err.h"
#include "proto_types.h"
#include "proto_url.h"

struct lws;
struct hub_hs;
struct hub_wsock;
typedef struct hub_room hub_room_t;

/* Past twice the message limit nothing is buffered: the socket is closed
 * with 1009. Up to it, a message over the limit gets an error frame. */
#define HUB_CONN_RX_MAX(cfg) ((size_t)(cfg)->max_message_bytes * 2)

/* Past this many bytes queued for a socket its input is not read until half
 * of them are out: a client that asks (history) and does not read the answers
 * cannot make the hub hold more than this and the answers already asked for
 * (HUB_CONN_HISTORY_ASKED_MAX). */
#define HUB_CONN_OUT_HIGH ((size_t)1 << 20)

typedef enum hub_conn_state {
    HUB_CONN_PENDING = 1, /* upgraded; waiting for the store to authorize */
    HUB_CONN_OPEN,        /* joined to its room */
    HUB_CONN_CLOSING,     /* a close frame is owed; nothing more is queued */
} hub_conn_state_t;

/* What the handshake carried, parsed without I/O. */
typedef struct hub_auth {
    proto_ws_kind_t kind;               /* ROOM, FALLBACK or GENERAL */
    int64_t room_id;                    /* ROOM */
    int64_t last_seq;                   /* ?last_seq=, -1 when absent */
    int64_t user_id;                    /* from a JWT; 0 for an opaque token */
    int64_t exp;                        /* JWT expiry, 0 for an opaque token */
    char opaque[PROTO_API_KEY_MAX + 1]; /* opaque token, "" for a JWT */
} hub_auth_t;

typedef struct hub_qitem {
    hub_buf_t *buf;
    uint64_t queued_ms;
} hub_qitem_t;

/* Live room traffic held while the socket catches up (hub_resume.h). */
typedef struct hub_kept {
    hub_buf_t *frame;
    int64_t seq; /* a message's; 0 for an event */
} hub_kept_t;

typedef struct hub_conn {
    uint64_t id;
    uint64_t opened_ms; /* the loop's clock */
    uint64_t ip_key;    /* counted in hub->ip_conns */
    hub_t *hub;
    struct lws *wsi;      /* served by lws, or */
    struct hub_wsock *ws; /* by the hub itself (hub_wsock.c) */
    hub_conn_state_t state;
    hub_auth_t auth;
    /* Set on join. */
    proto_user_t user; /* full_name and role owned (xstrdup) */
    int64_t room_id;
    bool in_presence; /* counted by hub_presence_join(): uncount on close */
    /* A kick for this user (or a Redis outage, which may have hidden one)
     * came while the store was answering the join: the answer may predate
     * it, so the store is asked again before the socket enters the room. */
    bool recheck;
    /* Users disconnected while the store was still looking up this socket's
     * opaque token, so whose they were is not known yet (NULL: none; at
     * most HUB_CONN_GONE_MAX, then gone_overflow). */
    int64_t *gone_users;
    size_t ngone_users;
    bool gone_overflow;
    hub_room_t *room; /* NULL when not joined */
    size_t room_index;
    int64_t last_seq;       /* highest seq queued to this socket */
    bool catching_up;       /* resuming from the store: the room does not deliver here */
    bool resume_parked;     /* catching up, the next page waits for the queue to drain */
    bool resume_ending;     /* parked until the whole replay has been written */
    uint32_t resume_unsent; /* the kernel's unsent bytes at the last sweep (hub_resume.c) */
    int64_t resume_to;      /* the room's last seq when the resume began */
    int resume_page;        /* messages the next page asks for (hub_resume.c) */
    hub_kept_t *held;       /* room traffic that came while catching up (hub_resume_hold) */
    size_t nheld;
    /* Outbound ring, bounded by HUB_CHANNEL_CAPACITY. */
    hub_qitem_t *q;
    size_t qhead, qlen, qcap;
    size_t qbytes;          /* the queued frames' bytes */
    bool out_paused;        /* input not read: qbytes went over HUB_CONN_OUT_HIGH */
    bool rx_off;            /* input not read, for rx_paused, out_paused or history_asked */
    unsigned history_asked; /* history requests the store is answering */
    bool corked;            /* listed for hub_wire's write at the end of this turn */
    int close_code;
    char close_reason[64];
    /* Closed by a server API command (a removal, a deactivation, a revoked
     * token, a disconnect): its user's leave is announced without the grace
     * period a reload gets (hub_presence_leave). */
    bool kicked;
    bool close_sent;  /* the close frame went to lws; input is read and dropped */
    bool peer_closed; /* the client's close frame came: later frames are dropped */
    bool write_shut;  /* FIN sent after the close frame (lingering close) */
    /* Inbound message being reassembled from fragments. */
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_binary;
    /* Whole messages that came before the join, handled after it. */
    struct hub_early *early, **early_tail;
    size_t early_bytes;
    int close_owed; /* the client's close code, answered after the early messages (0: none) */
    bool rx_paused; /* too much came early: lws reads nothing until the join */
    /* Token bucket (HUB_RATE_LIMIT, burst HUB_RATE_BURST). */
    double tokens;
    uint64_t tokens_ms;
    unsigned rate_rejections; /* in the window that began at rate_window_ms (hub_frames.c) */
    uint64_t rate_window_ms;
    uint64_t typing_ms; /* last typing event forwarded */
    /* Keepalive (hub_conn_sweep): any frame from the client, a pong included,
     * proves it alive; lws's own idle policy costs a sorted-list insert per frame. */
    uint64_t rx_ms;
    uint64_t ping_ms; /* last ping sent, 0: none since the last frame */
    bool overdue;     /* silent too long at the last sweep: dropped at the next */
} hub_conn_t;

/* The per-session memory lws keeps for each connection (HTTP or WebSocket). */
typedef struct hub_pss {
    hub_conn_t *conn;         /* WebSocket */
    struct hub_http_req *req; /* HTTP request still being answered */
} hub_pss_t;

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 allow; 1 a status was written. */
int hub_conn_on_confirm_upgrade(hub_t *hub, struct lws *wsi);
/* LWS_CALLBACK_WSI_DESTROY: frees what confirm_upgrade left for the filter. */
void hub_conn_on_wsi_destroy(struct lws *wsi);
/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: creates the connection. 0 accept. */
int hub_conn_on_filter(hub_t *hub, struct lws *wsi, hub_pss_t *pss);
/* LWS_CALLBACK_ESTABLISHED: starts the asynchronous join. */
int hub_conn_on_established(hub_t *hub, struct lws *wsi, hub_pss_t *pss);
/* LWS_CALLBACK_RECEIVE: reassembles and handles a message. -1 closes. */
int hub_conn_on_receive(hub_t *hub, struct lws *wsi, hub_pss_t *pss, const void *in, size_t len);
/* LWS_CALLBACK_SERVER_WRITEABLE: one write. -1 closes. */
int hub_conn_on_writeable(hub_t *hub, struct lws *wsi, hub_pss_t *pss);
/* LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: 0 lets lws answer it; -1 closes at once
 * (our close frame is already out, so the peer's is the answer to it). */
int hub_conn_on_peer_close(hub_pss_t *pss);
/* LWS_CALLBACK_CLOSED: forget and free the connection. */
void hub_conn_on_closed(hub_t *hub, hub_pss_t *pss);

/* What the callbacks above do, for either kind of socket. */

/* c (calloc'd, auth filled, its socket set) passed the handshake checks:
 * counted, numbered and known to the hub, PENDING until its join. */
void hub_conn_open(hub_t *hub, hub_conn_t *c, const struct hub_hs *hs);
/* A piece of a message from the client (final: its last). -1: past
 * HUB_CONN_RX_MAX, close with 1009. */
int hub_conn_rx(hub_conn_t *c, const void *in, size_t len, bool binary, bool final);
/* The socket can take bytes: write the queue, or the close. -1 hangs up. */
int hub_conn_writeable(hub_t *hub, hub_conn_t *c);
/* The client's close frame came. True when ours is out already: hang up. */
bool hub_conn_peer_closed(hub_conn_t *c);
/* The socket is gone: forget c everywhere and free it. */
void hub_conn_free(hub_t *hub, hub_conn_t *c);

/* The open connection with this id, or NULL (closed, closing or unknown). */
hub_conn_t *hub_conn_lookup(hub_t *hub, uint64_t id);

/* The open connection a store call's hub_ref_t (ud) names, or NULL; the ref
 * is freed either way. */
hub_conn_t *hub_conn_take_ref(void *ud);

/* Queue a frame (takes its own reference). Past capacity or expiry the
 * connection is closed with 4408 instead. No-op when closing. */
void hub_conn_send(hub_conn_t *c, hub_buf_t *frame);

/* The socket has joined (hub_join.c): what came before the join is handled
 * now, in order, and reading resumes if it was paused; then a close the
 * client sent behind it is answered. */
void hub_conn_release_early(hub_conn_t *c);

/* The client's close frame (code) came behind messages that wait for the
 * join: true when c answers it once they are handled, as it would have
 * answered it after them had they come after the join. */
bool hub_conn_close_after_early(hub_conn_t *c, int code);

/* A frame left the queue (hub_wire.c): counted out, and input read again
 * once the queue is down to half HUB_CONN_OUT_HIGH. */
void hub_conn_dequeued(hub_conn_t *c, size_t len);

/* A history request went to the store, or its answer came (or the store
 * failed it): while HUB_CONN_HISTORY_ASKED_MAX are out, input is not read, so
 * requests sent in one burst cannot have more answers made than that before
 * the queue's bound (HUB_CONN_OUT_HIGH) holds input back. */
#define HUB_CONN_HISTORY_ASKED_MAX 2
void hub_conn_history_asked(hub_conn_t *c, bool answered);

/* A frame (a pong included) came from the client: it is alive. */
void hub_conn_on_alive(hub_conn_t *c);

/* Queue an error frame; client_id may be NULL or "". */
void hub_conn_send_error(hub_conn_t *c, proto_err_t err, const char *message,
                         const char *client_id);

/* Stop queuing, leave the room, and close with code once queued frames are out.
 * drop_queue: discard what is queued (slow consumer). */
void hub_conn_close(hub_conn_t *c, int code, const char *reason, bool drop_queue);

/* Send an error frame for err, then close with its close code. */
void hub_conn_fail(hub_conn_t *c, proto_err_t err, const char *message);

/* Close every socket of user_id (room_id 0: any room) opened at or before
 * opened_by (the loop's clock; UINT64_MAX: all): with err's error frame and
 * close code, or with 1000 when err is PROTO_ERR_NONE. Returns how many. A
 * socket whose join the store has authorized counts even before it enters the
 * room; one whose join the store is still answering is closed too by a
 * disconnect (PROTO_ERR_NONE), and marked to ask again (hub_conn_t.recheck)
 * by a removal (4403) or a deactivation (4401). */
size_t hub_conn_close_user(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err,
                           uint64_t opened_by);

/* Whether a disconnect of user_id came while c's opaque token was being
 * looked up (the store has just said the token is user_id's). */
bool hub_conn_was_disconnected(const hub_conn_t *c, int64_t user_id);
#define HUB_CONN_GONE_MAX 32

/* Run each second: close with 4408 every socket whose oldest queued frame is
 * past HUB_CHANNEL_EXPIRY even though nothing new arrives for it, and with
 * 4401 every socket whose JWT has expired. */
void hub_conn_sweep(hub_t *hub);

/* Close every socket authenticated with the opaque token key, with 4401. */
size_t hub_conn_close_token(hub_t *hub, const char *key);

#endif
