/*
 * A socket served without lws (hub_wsock.h): its upgrade, its input read
 * into one buffer the whole node shares and fed to proto_wsread, its output
 * sent at once and only what the kernel does not take kept, and its end.
 *
 * A socket with nothing held for the kernel is taken as writable: a
 * writeable call it is owed runs on the next turn of the loop (a 0 ms
 * timer) instead of waiting for epoll to say so, which would cost two
 * epoll_ctl calls each time. Only a socket with bytes held is polled for
 * writing.
 *
 * The sockets are watched by an epoll set of this module's, which libuv
 * watches as one descriptor, not by a uv_poll each: uv_poll_init() probes
 * every descriptor with an epoll_ctl ADD and DEL and an ioctl, a change of
 * events is a DEL and an ADD, and uv_close() walks libuv's pending events;
 * here a socket costs one epoll_ctl when it comes and none when it goes
 * (close() takes it out of the set).
 */
#include "hub_wsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "hub_conn.h"
#include "hub_handshake.h"
#include "hub_join.h"
#include "hub_log.h"
#include "hub_upgrade_head.h"
#include "proto_request.h"
#include "proto_url.h"
#include "proto_wsaccept.h"
#include "proto_wsframe.h"
#include "proto_wsread.h"
#include "xalloc.h"

#define READ_BUF (64 * 1024)
#define READS_PER_EVENT 4 /* reads per readable event, so one socket cannot hold the loop */
#define SWEEP_MS 1000
#define EVENTS_PER_WAKE 256 /* sockets served per wake-up; the rest on the next turn */

struct hub_wsock {
    hub_t *hub;
    hub_conn_t *conn;                   /* NULL once hung up */
    hub_wsock_t *prev, *next;           /* all sockets, or once hung up the dead ones */
    hub_wsock_t *soon_prev, *soon_next; /* owed a call: in hub_wsocks.soon_head */
    int fd;
    uint32_t events; /* what the epoll set watches for it (EPOLLIN, EPOLLOUT); 0: not in it */
    bool rx_off;
    bool want_write;  /* hub_conn_writeable() is owed */
    bool want_rx;     /* input held while paused waits to be read */
    bool answer_held; /* the 101 waits in out for the first frame (see start()) */
    bool in_soon;
    uint64_t close_at_ms; /* hang up then; 0: no deadline */
    unsigned char *out;   /* bytes the kernel has not taken: out[out_off..out_len) */
    size_t out_off, out_len;
    /* A pong queued in out behind other bytes, out[pong_at..pong_end), not
     * yet begun while out_off <= pong_at < pong_end (both 0: none). out
     * holds one write of the queue and a few control frames, far below 4 GiB. */
    uint32_t pong_at, pong_end;
    unsigned char *in; /* input that came while reading was paused */
    size_t in_len;
    proto_wsread_t rd;
};

struct hub_wsocks {
    hub_t *hub;
    int epfd;         /* the sockets' epoll set */
    uv_poll_t ep;     /* libuv's watch on it */
    uv_timer_t soon;  /* 0 ms: the calls sockets are owed, and the dead freed */
    uv_timer_t sweep; /* each second: deadlines */
    hub_wsock_t *all;
    hub_wsock_t *soon_head;
    hub_wsock_t *dead;   /* hung up, freed on the next turn (a caller may still hold one) */
    hub_wsock_t **by_fd; /* the socket of each descriptor: what an event names */
    size_t by_fd_cap;
    int handles; /* open libuv handles */
    unsigned char rbuf[READ_BUF];
};

static void on_soon(uv_timer_t *t);

/* ---- the end of a socket ---- */

static void
free_dead(struct hub_wsocks *all)
{
    hub_wsock_t *ws = all->dead;

    all->dead = NULL;
    while (ws != NULL) {
        hub_wsock_t *next = ws->next;
        free(ws);
        ws = next;
    }
}

/* Forget the connection, then the socket. */
static void
hangup(hub_wsock_t *ws)
{
    struct hub_wsocks *all = ws->hub->wsocks;
    hub_conn_t *c = ws->conn;

    if (c == NULL) {
        return;
    }
    ws->conn = NULL;
    if (ws->prev != NULL) {
        ws->prev->next = ws->next;
    } else {
        all->all = ws->next;
    }
    if (ws->next != NULL) {
        ws->next->prev = ws->prev;
    }
    /* Out of the calls owed. One that on_soon() is walking stays readable
     * until the loop's closing handles free it, after the walk. */
    if (ws->in_soon) {
        if (ws->soon_prev != NULL) {
            ws->soon_prev->soon_next = ws->soon_next;
        } else if (all->soon_head == ws) {
            all->soon_head = ws->soon_next;
        }
        if (ws->soon_next != NULL) {
            ws->soon_next->soon_prev = ws->soon_prev;
        }
    }
    hub_conn_free(ws->hub, c);
    free(ws->out);
    free(ws->in);
    ws->out = ws->in = NULL;
    /* close() takes it out of the epoll set (no descriptor is ever dup'ed),
     * events of this turn for the number find no socket, and a socket
     * accepted with the same number later is another entry. */
    all->by_fd[ws->fd] = NULL;
    close(ws->fd);
    ws->next = all->dead;
    all->dead = ws;
    if (!uv_is_active((uv_handle_t *)&all->soon)) {
        uv_timer_start(&all->soon, on_soon, 0, 0);
    }
}

/* ---- output ---- */

/* Watch for what the socket needs: input, unless reading is paused or what
 * came during a pause is still to be read (it comes first); writability
 * while bytes are held. */
static void
watch(hub_wsock_t *ws)
{
    bool reading = !ws->rx_off && !ws->want_rx;
    uint32_t events = (reading ? EPOLLIN : 0) | (hub_wsock_partial(ws) ? EPOLLOUT : 0);
    struct epoll_event ev = {.events = events, .data.fd = ws->fd};
    int op;

    if (events == ws->events) {
        return;
    }
    /* Out of the set when nothing is wanted: EPOLLHUP would still be told,
     * again at every turn, of a paused socket whose client left. */
    op = ws->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(ws->hub->wsocks->epfd, op, ws->fd, &ev) < 0) {
        /* Out of kernel memory or of max_user_watches. Not hung up here: the
         * caller may be in the middle of the connection; the sweep does it. */
        log_warn("ws.epoll_failed", "fd=%d errno=%d", ws->fd, errno);
        ws->close_at_ms = 1;
        return;
    }
    ws->events = events;
}

static void
soon(hub_wsock_t *ws)
{
    struct hub_wsocks *all = ws->hub->wsocks;

    if (ws->in_soon) {
        return;
    }
    ws->in_soon = true;
    ws->soon_prev = NULL;
    ws->soon_next = all->soon_head;
    if (ws->soon_next != NULL) {
        ws->soon_next->soon_prev = ws;
    }
    all->soon_head = ws;
    if (ws->soon_next == NULL) {
        uv_timer_start(&all->soon, on_soon, 0, 0);
    }
}

static int flush(hub_wsock_t *ws);

/* Send p (n bytes) after what is held, keeping what the kernel leaves. The
 * first frame joins the held 101 and both go in one send. */
static int
send_or_keep(hub_wsock_t *ws, const unsigned char *p, size_t n)
{
    size_t done = 0;

    if (ws->out_len == ws->out_off) {
        ssize_t r = send(ws->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
        done = r > 0 ? (size_t)r : 0;
        if (done == n) {
            return 0;
        }
        ws->out_off = ws->out_len = 0;
        ws->pong_at = ws->pong_end = 0;
    }
    ws->out = xrealloc(ws->out, ws->out_len + (n - done));
    memcpy(ws->out + ws->out_len, p + done, n - done);
    ws->out_len += n - done;
    if (ws->answer_held) {
        ws->answer_held = false;
        if (flush(ws) < 0) {
            return -1;
        }
    }
    watch(ws);
    return 0;
}

/* Send what is held. -1: the socket failed. */
static int
flush(hub_wsock_t *ws)
{
    while (ws->out_off < ws->out_len) {
        ssize_t r = send(ws->fd, ws->out + ws->out_off, ws->out_len - ws->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        }
        ws->out_off += (size_t)r;
    }
    free(ws->out); /* an idle socket keeps no buffer */
    ws->out = NULL;
    ws->out_off = ws->out_len = 0;
    ws->pong_at = ws->pong_end = 0;
    return 0;
}

int
hub_wsock_write(hub_wsock_t *ws, unsigned char *buf, size_t len, hub_sock_kind_t kind)
{
    static const unsigned opcode[] = {
        [HUB_SOCK_TEXT] = PROTO_WS_OP_TEXT,
        [HUB_SOCK_PING] = PROTO_WS_OP_PING,
        [HUB_SOCK_CLOSE] = PROTO_WS_OP_CLOSE,
    };
    unsigned char h[PROTO_WS_HEADER_MAX];

    if (ws->conn == NULL) {
        return -1;
    }
    if (kind == HUB_SOCK_RAW) {
        return send_or_keep(ws, buf, len);
    }
    /* The header goes into the headroom, as lws writes it: the same bytes
     * for every receiver of a shared frame. */
    size_t hl = proto_ws_frame_header(h, opcode[kind], len);
    memcpy(buf - hl, h, hl);
    return send_or_keep(ws, buf - hl, len + hl);
}

int
hub_wsock_fd(const hub_wsock_t *ws)
{
    return ws->fd;
}

bool
hub_wsock_direct(const hub_wsock_t *ws)
{
    return !ws->answer_held;
}

bool
hub_wsock_partial(const hub_wsock_t *ws)
{
    /* A held 101 is not owed to the kernel yet: it waits for a frame. */
    return ws->out_len > ws->out_off && !ws->answer_held;
}

void
hub_wsock_want_write(hub_wsock_t *ws)
{
    if (ws->conn == NULL) {
        return;
    }
    ws->want_write = true;
    if (!hub_wsock_partial(ws)) {
        soon(ws); /* else the poll says when */
    }
}

void
hub_wsock_close_after(hub_wsock_t *ws, unsigned seconds)
{
    ws->close_at_ms = hub_now_ms(ws->hub) + (uint64_t)seconds * 1000;
}

/* The writeable call owed, once nothing is held. */
static void
writeable(hub_wsock_t *ws)
{
    if (ws->conn == NULL || !ws->want_write || hub_wsock_partial(ws)) {
        return;
    }
    ws->want_write = false;
    if (hub_conn_writeable(ws->hub, ws->conn) < 0) {
        hangup(ws);
    }
}

/* ---- input ---- */

/* Behind held bytes a pong waits in line, and the next ping's takes the place
 * of one not yet begun (§5.5.3: only the latest ping need be answered), so a
 * client that pings and never reads holds one pong here, not one per ping. */
static void
pong(hub_wsock_t *ws, const uint8_t *payload, size_t len)
{
    unsigned char buf[HUB_SOCK_PRE + PROTO_WS_CONTROL_MAX];
    unsigned char h[PROTO_WS_HEADER_MAX];
    size_t hl = proto_ws_frame_header(h, PROTO_WS_OP_PONG, len);
    bool behind;

    if (hub_wsock_partial(ws) && ws->pong_at >= ws->out_off && ws->pong_end > ws->pong_at) {
        memmove(ws->out + ws->pong_at, ws->out + ws->pong_end, ws->out_len - ws->pong_end);
        ws->out_len -= ws->pong_end - ws->pong_at;
        ws->pong_at = ws->pong_end = 0;
    }
    behind = hub_wsock_partial(ws);
    size_t at = ws->out_len;
    memcpy(buf + HUB_SOCK_PRE - hl, h, hl);
    memcpy(buf + HUB_SOCK_PRE, payload, len);
    if (send_or_keep(ws, buf + HUB_SOCK_PRE - hl, hl + len) < 0) {
        hangup(ws);
        return;
    }
    if (behind) {
        ws->pong_at = (uint32_t)at;
        ws->pong_end = (uint32_t)ws->out_len;
    }
}

/* The client's close frame: answered with the same code (1000 for none),
 * then the socket lingers until the client hangs up (hub_conn.c). */
static void
peer_close(hub_wsock_t *ws, int code)
{
    hub_conn_t *c = ws->conn;

    if (code == PROTO_WS_CLOSE_NO_STATUS) {
        code = 1000;
    }
    if (hub_conn_peer_closed(c)) {
        hangup(ws); /* it answers ours */
        return;
    }
    if (!hub_conn_close_after_early(c, code)) {
        hub_conn_close(c, code, "", true);
    }
}

/* A frame broke RFC 6455 or the size bound: close with its code. */
static void
fail(hub_wsock_t *ws, int code, const char *why)
{
    hub_conn_t *c = ws->conn;

    log_info("ws.protocol_error", "conn=%" PRIu64 " code=%d why=\"%s\"", c->id, code, why);
    hub_conn_close(c, code, why, true); /* no second close if one is under way */
}

static void
hold_input(hub_wsock_t *ws, const unsigned char *p, size_t n)
{
    ws->in = xrealloc(ws->in, ws->in_len + n);
    memcpy(ws->in + ws->in_len, p, n);
    ws->in_len += n;
}

/* Feed n bytes at buf to the reader and act on each event. */
static void
consume(hub_wsock_t *ws, unsigned char *buf, size_t n)
{
    size_t off = 0;

    while (off < n && ws->conn != NULL) {
        proto_wsread_out_t o;
        hub_conn_t *c = ws->conn;

        if (ws->rd.failed) {
            return; /* read and dropped while the close lingers */
        }
        if (ws->rx_off) {
            hold_input(ws, buf + off, n - off); /* read again on resume */
            return;
        }
        off += proto_wsread_feed(&ws->rd, buf + off, n - off, &o);
        switch (o.event) {
        case PROTO_WSREAD_MORE:
            break;
        case PROTO_WSREAD_DATA:
            if (hub_conn_rx(c, o.data, o.len, o.binary, o.message_end) < 0) {
                fail(ws, PROTO_WS_CLOSE_TOO_BIG, "message too large");
                return;
            }
            break;
        case PROTO_WSREAD_PING:
            hub_conn_on_alive(c);
            if (c->state != HUB_CONN_CLOSING) {
                pong(ws, o.data, o.len);
            }
            break;
        case PROTO_WSREAD_PONG:
            hub_conn_on_alive(c);
            break;
        case PROTO_WSREAD_CLOSE:
            peer_close(ws, o.code);
            return; /* nothing may follow */
        case PROTO_WSREAD_FAIL:
            fail(ws, o.code, o.why);
            return;
        }
    }
}

static void
read_some(hub_wsock_t *ws)
{
    unsigned char *buf = ws->hub->wsocks->rbuf;

    for (int i = 0; i < READS_PER_EVENT && ws->conn != NULL && !ws->rx_off; i++) {
        ssize_t n = recv(ws->fd, buf, READ_BUF, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            hangup(ws); /* the client is gone */
            return;
        }
        if (n < 0) {
            return;
        }
        consume(ws, buf, (size_t)n);
        if ((size_t)n < READ_BUF) {
            return;
        }
    }
}

void
hub_wsock_rx_flow(hub_wsock_t *ws, bool on)
{
    if (ws->conn == NULL || ws->rx_off == !on) {
        return;
    }
    ws->rx_off = !on;
    if (on && ws->in_len > 0) {
        ws->want_rx = true; /* read on the next turn, not inside the caller */
        soon(ws);
    }
    watch(ws);
}

/* Input held while reading was paused, read now. */
static void
resume_input(hub_wsock_t *ws)
{
    unsigned char *in = ws->in;
    size_t n = ws->in_len;

    ws->want_rx = false;
    ws->in = NULL;
    ws->in_len = 0;
    if (n > 0 && ws->conn != NULL) {
        consume(ws, in, n);
    }
    free(in);
}

/* What epoll told of ws. An error or hangup is found by the send or the
 * read it leads to, as libuv reports it: as whatever the socket waits for. */
static void
on_events(hub_wsock_t *ws, uint32_t events)
{
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
        events |= ws->events;
    }
    if ((events & ws->events & EPOLLOUT) != 0) {
        if (flush(ws) < 0) {
            hangup(ws);
            return;
        }
        writeable(ws);
    }
    if (ws->conn != NULL && (events & EPOLLIN) != 0 && !ws->rx_off && !ws->want_rx) {
        read_some(ws); /* never before input held from a pause */
    }
    if (ws->conn != NULL) {
        watch(ws);
    }
}

/* The set has events: serve a batch of them. More than a batch wakes the
 * loop again at once (libuv's watch on the set is level-triggered), after
 * the loop's other descriptors have had their turn. */
static void
on_epoll(uv_poll_t *p, int status, int events)
{
    struct hub_wsocks *all = p->data;
    struct epoll_event ev[EVENTS_PER_WAKE];
    int n;

    (void)status;
    (void)events;
    n = epoll_wait(all->epfd, ev, EVENTS_PER_WAKE, 0);
    for (int i = 0; i < n; i++) {
        hub_wsock_t *ws = all->by_fd[ev[i].data.fd]; /* NULL: hung up this turn */
        if (ws != NULL && ws->conn != NULL) {
            on_events(ws, ev[i].events);
        }
    }
}

/* ---- the module's timers ---- */

static void
on_soon(uv_timer_t *t)
{
    struct hub_wsocks *all = t->data;
    hub_wsock_t *ws = all->soon_head;

    all->soon_head = NULL;
    while (ws != NULL) {
        hub_wsock_t *next = ws->soon_next;
        /* ws leaves the walk, which goes on from next: a socket hung up
         * before its turn unlinks itself from what is left of it. */
        if (next != NULL) {
            next->soon_prev = NULL;
        }
        ws->soon_prev = ws->soon_next = NULL;
        ws->in_soon = false;
        if (ws->want_rx && !ws->rx_off) {
            resume_input(ws);
        }
        writeable(ws);
        if (ws->conn != NULL) {
            watch(ws);
        }
        ws = next;
    }
    free_dead(all); /* after the walk, which may have passed sockets that died in it */
}

static void
on_sweep(uv_timer_t *t)
{
    struct hub_wsocks *all = t->data;
    uint64_t now = hub_now_ms(all->hub);

    for (hub_wsock_t *ws = all->all, *next; ws != NULL; ws = next) {
        next = ws->next;
        if (ws->close_at_ms != 0 && now >= ws->close_at_ms) {
            hangup(ws);
        }
    }
}

void
hub_wsock_init(hub_t *hub)
{
    struct hub_wsocks *all;

    if (!hub->cfg->ws_native) {
        return;
    }
    all = xcalloc(1, sizeof(*all));
    all->hub = hub;
    all->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (all->epfd < 0 || uv_poll_init(hub->loop, &all->ep, all->epfd) != 0) {
        log_warn("ws.native_unavailable", "errno=%d", errno); /* lws serves every socket */
        if (all->epfd >= 0) {
            close(all->epfd);
        }
        free(all);
        return;
    }
    uv_timer_init(hub->loop, &all->soon);
    uv_timer_init(hub->loop, &all->sweep);
    all->ep.data = all->soon.data = all->sweep.data = all;
    all->handles = 3;
    uv_poll_start(&all->ep, UV_READABLE, on_epoll);
    uv_timer_start(&all->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    hub->wsocks = all;
    log_info("ws.native", "on=1");
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct hub_wsocks *all = h->data;

    if (--all->handles == 0) {
        close(all->epfd); /* only now: libuv must not see it closed under its poll */
        free(all->by_fd);
        free(all);
    }
}

void
hub_wsock_stop(hub_t *hub)
{
    struct hub_wsocks *all = hub->wsocks;

    if (all == NULL) {
        return;
    }
    while (all->all != NULL) {
        hangup(all->all);
    }
    free_dead(all);
    hub->wsocks = NULL;
    uv_close((uv_handle_t *)&all->ep, on_handle_closed);
    uv_close((uv_handle_t *)&all->soon, on_handle_closed);
    uv_close((uv_handle_t *)&all->sweep, on_handle_closed);
}

/* ---- the upgrade ---- */

static void
refuse(int fd, int status, const char *why)
{
    log_info("ws.refused", "status=%d why=%s", status, why);
    hub_handshake_refuse_fd(fd, status, why);
}

/* The 101 answer, with the one subprotocol we speak when any was offered,
 * put together with memcpy (snprintf was some 900 instructions a connect). */
#define SWITCHING_HEAD                                                                             \
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"                                   \
    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
#define SWITCHING_PROTOCOL "\r\nSec-WebSocket-Protocol: chathub.v1"
#define SWITCHING_MAX                                                                              \
    (sizeof(SWITCHING_HEAD) + PROTO_WS_ACCEPT_LEN + sizeof(SWITCHING_PROTOCOL) + 4)

static size_t
switching(char buf[SWITCHING_MAX], const char *key, bool protocol)
{
    char *p = buf;

    memcpy(p, SWITCHING_HEAD, sizeof(SWITCHING_HEAD) - 1);
    p += sizeof(SWITCHING_HEAD) - 1;
    proto_ws_accept(key, p); /* writes its NUL, overwritten next */
    p += PROTO_WS_ACCEPT_LEN;
    if (protocol) {
        memcpy(p, SWITCHING_PROTOCOL, sizeof(SWITCHING_PROTOCOL) - 1);
        p += sizeof(SWITCHING_PROTOCOL) - 1;
    }
    memcpy(p, "\r\n\r\n", 4);
    return (size_t)(p + 4 - buf);
}

/* The socket's life starts: known to the hub, polled, joining its room. */
static void
start(hub_t *hub, int fd, hub_conn_t *c, const hub_hs_t *hs, const char *answer, size_t alen)
{
    struct hub_wsocks *all = hub->wsocks;
    hub_wsock_t *ws = xcalloc(1, sizeof(*ws));

    all->by_fd = xgrow_zeroed(all->by_fd, &all->by_fd_cap, (size_t)fd, sizeof(*all->by_fd));
    all->by_fd[fd] = ws;
    ws->hub = hub;
    ws->fd = fd;
    ws->conn = c;
    proto_wsread_init(&ws->rd, HUB_CONN_RX_MAX(hub->cfg));
    ws->next = all->all;
    if (all->all != NULL) {
        all->all->prev = ws;
    }
    all->all = ws;
    c->ws = ws;
    hub_conn_open(hub, c, hs);
    /* The 101 waits for the first frame (connection_established, or the
     * join's error and close) and goes out with it in one send: the join
     * takes a round trip to the store anyway (PROTOCOL.md lets its checks run
     * after the upgrade), and so a connect costs one send and wakes the
     * client once, not twice. */
    ws->out = xmalloc(alen);
    memcpy(ws->out, answer, alen);
    ws->out_len = alen;
    ws->answer_held = true;
    watch(ws);
    log_debug("ws.open", "conn=%" PRIu64 " native=1", c->id);
    hub_join_start(c);
}

bool
hub_wsock_take(hub_t *hub, int fd, const char *head, size_t n, int *bad_head)
{
    proto_request_t req;
    char key[64], answer[SWITCHING_MAX], offered[8], sink[1024];
    const char *why = NULL;
    hub_hs_t hs = {.req = &req, .fd = fd};
    hub_conn_t *c;
    int status;
    size_t alen;
    size_t left;
    proto_request_status_t st = proto_request_parse(head, n, &req);

    /* A head that is no HTTP/1.x head, or has too many lines: lws 4.1 held
     * it without a word until its 10 s timeout. */
    *bad_head = st == PROTO_REQUEST_BAD ? 400 : st == PROTO_REQUEST_TOO_MANY ? 431 : 0;
    /* With lws serving WebSocket (HUB_WS_NATIVE=0), only an upgrade lws
     * would get wrong is taken here, to be refused (lws 4.1 answers 403,
     * hangs up, or upgrades HTTP/1.0). */
    if (st != PROTO_REQUEST_OK || !hub_upgrade_is_one(&req) ||
        (hub->wsocks == NULL && hub_upgrade_sound(&req) && hub_upgrade_lws_reads(&req) &&
         proto_request_lines(&req, "Authorization") < 2)) {
        return false;
    }
    /* The head is ours: off the socket (its bytes stay in head, where req
     * points); frames sent right behind it stay for the reader. */
    for (left = req.head_len; left > 0;) {
        ssize_t r = recv(fd, sink, left < sizeof(sink) ? left : sizeof(sink), 0);
        if (r <= 0) {
            close(fd);
            return true;
        }
        left -= (size_t)r;
    }
    status = hub_handshake_check_version(&hs, &why);
    if (status == 0 && req.minor < 1) {
        status = 426; /* RFC 9110 §7.8: an HTTP/1.0 Upgrade is ignored, a plain GET */
        why = "upgrade_over_http_1_0";
    } else if (status == 0 && !hub_upgrade_one_host(&req)) {
        status = 400;
        why = "bad_host";
    }
    if (status == 0 && !hub_upgrade_one_key(&req, key)) {
        status = 400;
        why = "bad_websocket_key";
    }
    c = xcalloc(1, sizeof(*c));
    if (status == 0) {
        status = hub_handshake_check(hub, &hs, &c->auth, &why);
    }
    if (status == 0 && hub->wsocks == NULL) {
        status = 431; /* sound, but lws cannot read it: see hub_upgrade_lws_reads() */
        why = "connection_header_too_long";
    }
    if (status != 0) {
        free(c);
        refuse(fd, status, why);
        return true;
    }
    alen = switching(
        answer, key,
        proto_request_header(&req, "Sec-WebSocket-Protocol", offered, sizeof(offered)) != 0);
    start(hub, fd, c, &hs, answer, alen);
    return true;
}
