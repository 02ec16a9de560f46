/*
 * The socket side of the load generator: one level-triggered epoll set, one
 * shared read buffer (a connection keeps heap buffers only while it holds a
 * partial frame or unsent bytes, so tens of thousands of idle sockets stay
 * cheap), writes straight to the socket with a queue only on EAGAIN.
 */
#include "lg_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lg_time.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* Linux 4.2; pick the port at connect, per 4-tuple */
#endif

#define READ_CHUNK (256 * 1024)
#define READS_PER_EVENT 8              /* then let other sockets run */
#define MAX_MESSAGE (16 * 1024 * 1024) /* presence lists of big rooms are large */
#define MAX_RESPONSE_HEADER 16384
#define EVENTS 1024

struct lg_loop {
    int ep;
    lg_conn_cbs_t cbs;
    uint32_t first_src;
    unsigned nsrc, next_src;
    uint64_t rng;
    uint8_t *scratch;
    uint8_t *frame; /* encode buffer for outgoing frames */
    size_t frame_cap;
    lg_conn_t **conns;
    size_t nconns, conns_cap;
    int64_t real_minus_mono; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns, per poll */
};

static void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL && n != 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        abort();
    }
    return q;
}

/* Grow *buf to hold need bytes (doubling). */
static void
reserve(uint8_t **buf, size_t *cap, size_t need)
{
    size_t n = *cap != 0 ? *cap : 4096;

    if (need <= *cap) {
        return;
    }
    while (n < need) {
        n *= 2;
    }
    *buf = xrealloc(*buf, n);
    *cap = n;
}

int
lg_target_parse(const char *url, lg_target_t *t)
{
    char host[64];
    unsigned port = 0;
    int used = 0;

    memset(t, 0, sizeof(*t));
    if (sscanf(url, "ws://%63[^:/]:%u%n", host, &port, &used) != 2 || port == 0 || port > 65535) {
        return -1;
    }
    if (url[used] != '\0' && strcmp(url + used, "/") != 0) {
        return -1;
    }
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0) {
        t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &t->addr.sin_addr) != 1) {
        return -1;
    }
    snprintf(t->host, sizeof(t->host), "%s:%u", host, port);
    return 0;
}

lg_loop_t *
lg_loop_new(const lg_conn_cbs_t *cbs, uint32_t first_src, unsigned nsrc)
{
    lg_loop_t *l = xrealloc(NULL, sizeof(*l));

    memset(l, 0, sizeof(*l));
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        perror("loadgen: epoll_create1");
        abort();
    }
    l->cbs = *cbs;
    l->first_src = first_src;
    l->nsrc = nsrc;
    l->rng = lg_now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    l->scratch = xrealloc(NULL, READ_CHUNK);
    return l;
}

static void
conn_release(lg_conn_t *c)
{
    if (c->_fd >= 0) {
        close(c->_fd); /* also leaves the epoll set */
        c->_fd = -1;
    }
    free(c->_tx);
    free(c->_msg);
    c->_tx = c->_msg = NULL;
    c->_tx_len = c->_tx_off = c->_tx_cap = c->_msg_len = c->_msg_cap = 0;
}

void
lg_loop_free(lg_loop_t *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->nconns; i++) {
        conn_release(l->conns[i]);
        free(l->conns[i]->_rx);
        free(l->conns[i]);
    }
    free(l->conns);
    free(l->scratch);
    free(l->frame);
    close(l->ep);
    free(l);
}

/* End the connection now; _rx is freed later (it may be under iteration). */
static void
conn_fail(lg_conn_t *c, const char *why, int err)
{
    if (c->state == LG_CONN_CLOSED) {
        return;
    }
    c->state = LG_CONN_CLOSED;
    if (c->fail == NULL) {
        c->fail = why;
    }
    if (c->sys_errno == 0) {
        c->sys_errno = err;
    }
    if (c->close_code == 0) {
        c->close_code = 1006;
    }
    conn_release(c);
    if (c->_loop->cbs.on_closed != NULL) {
        c->_loop->cbs.on_closed(c);
    }
}

static void
want_out(lg_conn_t *c, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};

    if (c->_want_out == on) {
        return;
    }
    c->_want_out = on;
    epoll_ctl(c->_loop->ep, EPOLL_CTL_MOD, c->_fd, &ev);
}

/* Write raw bytes, queueing what the socket does not take now. */
static void
conn_write(lg_conn_t *c, const void *data, size_t len)
{
    ssize_t n = 0;

    if (c->_tx_len == c->_tx_off) {
        n = send(c->_fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_fail(c, "write failed", errno);
            return;
        }
        if (n < 0) {
            n = 0;
        }
        if ((size_t)n == len) {
            return;
        }
    }
    if (c->_tx_off > 0 && c->_tx_off == c->_tx_len) {
        c->_tx_off = c->_tx_len = 0;
    }
    reserve(&c->_tx, &c->_tx_cap, c->_tx_len + len - (size_t)n);
    memcpy(c->_tx + c->_tx_len, (const uint8_t *)data + n, len - (size_t)n);
    c->_tx_len += len - (size_t)n;
    want_out(c, true);
}

static void
send_frame(lg_conn_t *c, int opcode, const void *payload, size_t len)
{
    lg_loop_t *l = c->_loop;
    uint32_t mask = (uint32_t)lg_ws_rand(&l->rng);

    reserve(&l->frame, &l->frame_cap, len + LG_WS_HEADER_MAX);
    conn_write(c, l->frame, lg_ws_frame_encode(l->frame, opcode, payload, len, mask));
}

static lg_conn_t *
conn_new(lg_loop_t *l, void *ud)
{
    lg_conn_t *c = xrealloc(NULL, sizeof(*c));

    memset(c, 0, sizeof(*c));
    c->ud = ud;
    c->_loop = l;
    c->_fd = -1;
    c->state = LG_CONN_CONNECTING;
    c->t_start_ns = lg_now_ns();
    if (l->nconns == l->conns_cap) {
        l->conns_cap = l->conns_cap != 0 ? l->conns_cap * 2 : 1024;
        l->conns = xrealloc(l->conns, l->conns_cap * sizeof(*l->conns));
    }
    l->conns[l->nconns++] = c;
    return c;
}

/* The upgrade request is built now and waits in _tx for the TCP connect. */
static void
park_request(lg_conn_t *c, const lg_target_t *t, const char *path, const char *token)
{
    char key[LG_WS_KEY_LEN + 1], req[2048];
    size_t rlen;

    lg_ws_key_new(&c->_loop->rng, key);
    lg_ws_accept_for(key, c->_accept);
    rlen = lg_ws_request_build(req, sizeof(req), t->host, path, token, key);
    reserve(&c->_tx, &c->_tx_cap, rlen);
    memcpy(c->_tx, req, rlen);
    c->_tx_len = rlen;
}

/* Socket, source address, non-blocking connect, epoll. NULL, or what failed
 * (errno tells why). */
static const char *
start_connect(lg_conn_t *c, const lg_target_t *t)
{
    lg_loop_t *l = c->_loop;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    int one = 1;

    c->_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->_fd < 0) {
        return "socket failed";
    }
    setsockopt(c->_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->_fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (l->nsrc > 0) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(l->first_src + l->next_src++ % l->nsrc);
        setsockopt(c->_fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(c->_fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            return "bind failed";
        }
    }
    if (connect(c->_fd, (const struct sockaddr *)&t->addr, sizeof(t->addr)) < 0 &&
        errno != EINPROGRESS) {
        return "connect failed";
    }
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->_fd, &ev) < 0) {
        return "epoll_ctl failed";
    }
    return NULL;
}

lg_conn_t *
lg_conn_open(lg_loop_t *l, const lg_target_t *t, const char *path, const char *token, void *ud)
{
    lg_conn_t *c = conn_new(l, ud);
    const char *failed;

    park_request(c, t, path, token);
    failed = start_connect(c, t);
    if (failed != NULL) {
        conn_fail(c, failed, errno);
    }
    return c;
}

int
lg_conn_send_text(lg_conn_t *c, const void *text, size_t len)
{
    if (c->state != LG_CONN_OPEN) {
        return -1;
    }
    send_frame(c, LG_WS_TEXT, text, len);
    return 0;
}

void
lg_conn_close(lg_conn_t *c, int code)
{
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};

    if (c->state != LG_CONN_OPEN) {
        if (c->state != LG_CONN_CLOSING) {
            conn_fail(c, "closed before open", 0);
        }
        return;
    }
    c->state = LG_CONN_CLOSING;
    send_frame(c, LG_WS_CLOSE, payload, sizeof(payload));
}

size_t
lg_conn_pending(const lg_conn_t *c)
{
    return c->_tx_len - c->_tx_off;
}

static void
msg_append(lg_conn_t *c, const uint8_t *p, size_t len)
{
    reserve(&c->_msg, &c->_msg_cap, c->_msg_len + len);
    memcpy(c->_msg + c->_msg_len, p, len);
    c->_msg_len += len;
}

static void
on_close_frame(lg_conn_t *c, const lg_ws_frame_t *f)
{
    bool ours = c->state == LG_CONN_CLOSING;

    c->close_code = f->len >= 2 ? (f->payload[0] << 8 | f->payload[1]) : 1005;
    if (!ours) {
        uint8_t echo[2] = {(uint8_t)(c->close_code >> 8), (uint8_t)c->close_code};
        send_frame(c, LG_WS_CLOSE, echo, f->len >= 2 ? 2 : 0);
    }
    /* We answered (or started) the handshake, so the TCP connection may go now. */
    conn_fail(c, ours ? "closed" : "closed by server", 0);
}

/* One parsed frame; text messages reach the caller whole. */
static void
on_frame(lg_conn_t *c, const lg_ws_frame_t *f)
{
    switch (f->opcode) {
    case LG_WS_TEXT:
    case LG_WS_BINARY:
        if (c->_msg_op != 0) {
            conn_fail(c, "protocol error: data frame inside a fragmented message", 0);
        } else if (f->fin) {
            if (f->opcode == LG_WS_TEXT && c->_loop->cbs.on_text != NULL) {
                c->_loop->cbs.on_text(c, (char *)f->payload, f->len);
            }
        } else {
            c->_msg_op = f->opcode;
            msg_append(c, f->payload, f->len);
        }
        break;
    case LG_WS_CONT:
        if (c->_msg_op == 0 || c->_msg_len + f->len > MAX_MESSAGE) {
            conn_fail(c, "protocol error: bad continuation", 0);
            break;
        }
        msg_append(c, f->payload, f->len);
        if (f->fin) {
            int op = c->_msg_op;
            c->_msg_op = 0;
            if (op == LG_WS_TEXT && c->_loop->cbs.on_text != NULL) {
                c->_loop->cbs.on_text(c, (char *)c->_msg, c->_msg_len);
            }
            c->_msg_len = 0;
        }
        break;
    case LG_WS_PING:
        if (c->state == LG_CONN_OPEN) {
            send_frame(c, LG_WS_PONG, f->payload, f->len);
        }
        break;
    case LG_WS_CLOSE:
        on_close_frame(c, f);
        break;
    default: /* pong */
        break;
    }
}

/* Handle what buf holds; returns the bytes used (the rest is a partial frame). */
static size_t
consume(lg_conn_t *c, uint8_t *buf, size_t len)
{
    size_t off = 0;

    if (c->state == LG_CONN_UPGRADING) {
        int status = 0;
        long h = lg_ws_response_check((const char *)buf, len, c->_accept, &status);
        if (h == 0 && len > MAX_RESPONSE_HEADER) {
            conn_fail(c, "upgrade answer too long", 0);
            return len;
        }
        if (h == 0) {
            return 0;
        }
        if (h < 0) {
            c->http_status = status;
            conn_fail(c, "upgrade refused", 0);
            return len;
        }
        off = (size_t)h;
        c->state = LG_CONN_OPEN;
        if (c->_loop->cbs.on_open != NULL) {
            c->_loop->cbs.on_open(c);
        }
    }
    while (off < len && (c->state == LG_CONN_OPEN || c->state == LG_CONN_CLOSING)) {
        lg_ws_frame_t f;
        long n = lg_ws_frame_parse(buf + off, len - off, MAX_MESSAGE, &f);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            conn_fail(c, "protocol error", 0);
            return len;
        }
        off += (size_t)n;
        on_frame(c, &f);
    }
    return c->state == LG_CONN_CLOSED ? len : off;
}

/* New bytes: parse straight from the shared buffer unless a partial frame waits. */
static void
feed(lg_conn_t *c, uint8_t *data, size_t len)
{
    if (c->_rx_len == 0) {
        size_t used = consume(c, data, len);
        if (used < len) {
            reserve(&c->_rx, &c->_rx_cap, len - used);
            memcpy(c->_rx, data + used, len - used);
            c->_rx_len = len - used;
        }
    } else {
        reserve(&c->_rx, &c->_rx_cap, c->_rx_len + len);
        memcpy(c->_rx + c->_rx_len, data, len);
        c->_rx_len += len;
        size_t used = consume(c, c->_rx, c->_rx_len);
        memmove(c->_rx, c->_rx + used, c->_rx_len - used);
        c->_rx_len -= used;
    }
    if (c->_rx_len == 0 || c->state == LG_CONN_CLOSED) {
        free(c->_rx); /* idle sockets hold no buffer */
        c->_rx = NULL;
        c->_rx_len = c->_rx_cap = 0;
    }
}

/* recv() that also takes the kernel's arrival time of the bytes (with several
 * segments in one read, the newest: a late estimate, never an early one). */
static ssize_t
recv_stamped(lg_conn_t *c, uint8_t *buf, size_t cap)
{
    union {
        char raw[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.raw,
                         .msg_controllen = sizeof(ctl.raw)};
    ssize_t n = recvmsg(c->_fd, &msg, 0);

    c->rx_stamp_ns = 0;
    for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; h != NULL;
         h = CMSG_NXTHDR(&msg, h)) {
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(h), sizeof(ts));
            int64_t real = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            c->rx_stamp_ns =
                real > c->_loop->real_minus_mono ? (uint64_t)(real - c->_loop->real_minus_mono) : 0;
        }
    }
    return n;
}

static void
on_readable(lg_conn_t *c)
{
    lg_loop_t *l = c->_loop;

    for (int i = 0; i < READS_PER_EVENT && c->state != LG_CONN_CLOSED; i++) {
        ssize_t n = recv_stamped(c, l->scratch, READ_CHUNK);
        if (n > 0) {
            feed(c, l->scratch, (size_t)n);
            if ((size_t)n < READ_CHUNK) {
                return;
            }
        } else if (n == 0) {
            conn_fail(c, c->state == LG_CONN_CLOSING ? "closed" : "eof", 0);
            return;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                conn_fail(c, "read failed", errno);
            }
            return;
        }
    }
}

static void
flush(lg_conn_t *c)
{
    while (c->_tx_off < c->_tx_len) {
        ssize_t n = send(c->_fd, c->_tx + c->_tx_off, c->_tx_len - c->_tx_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                conn_fail(c, "write failed", errno);
            }
            return;
        }
        c->_tx_off += (size_t)n;
    }
    free(c->_tx);
    c->_tx = NULL;
    c->_tx_len = c->_tx_off = c->_tx_cap = 0;
    want_out(c, false);
}

static void
on_connected(lg_conn_t *c)
{
    int err = 0;
    socklen_t elen = sizeof(err);

    if (getsockopt(c->_fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
        conn_fail(c, "connect failed", err);
        return;
    }
    c->state = LG_CONN_UPGRADING;
    c->_want_out = true; /* registered for EPOLLOUT only; flush() switches to EPOLLIN */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(c->_loop->ep, EPOLL_CTL_MOD, c->_fd, &ev);
    flush(c);
}

void
lg_loop_poll(lg_loop_t *l, int timeout_ms)
{
    struct epoll_event ev[EVENTS];
    int n = epoll_wait(l->ep, ev, EVENTS, timeout_ms);
    struct timespec real;

    clock_gettime(CLOCK_REALTIME, &real);
    l->real_minus_mono = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (int64_t)lg_now_ns();

    for (int i = 0; i < n; i++) {
        lg_conn_t *c = ev[i].data.ptr;
        uint32_t e = ev[i].events;
        if (c->state == LG_CONN_CLOSED) {
            continue; /* closed earlier in this batch */
        }
        if (c->state == LG_CONN_CONNECTING) {
            on_connected(c);
            continue;
        }
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            on_readable(c);
        }
        if ((e & EPOLLOUT) && c->state != LG_CONN_CLOSED) {
            flush(c);
        }
    }
}
