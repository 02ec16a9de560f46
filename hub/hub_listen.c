/*
 * The listening socket and its accept loop (hub_listen.h says why it is
 * ours). Accepting stays on the loop: the socket is non-blocking and each
 * readable event takes what is queued, up to a bound, so one storm of
 * connects cannot starve the sockets already open.
 */
#define _GNU_SOURCE /* accept4 */
#include "hub_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hub_handshake.h"
#include "hub_heads.h"
#include "hub_http.h"
#include "hub_log.h"
#include "hub_lws_heads.h"
#include "hub_wsock.h"
#include "proto_head.h"
#include "proto_num.h"
#include "xalloc.h"

#define BACKLOG 4096    /* what lws asked for */
#define ACCEPT_BATCH 64 /* sockets taken per readable event */
#define PAUSE_MS 100    /* out of descriptors: wait before accepting again */
#define HEAD_MAX 8192   /* a request head larger than this gets 431 (lws would drop it) */
/* Seconds the kernel holds a connection that has sent nothing before handing
 * it over anyway: a request's head is there when it is accepted. */
#define DEFER_ACCEPT_S 5

typedef struct hub_listener {
    hub_t *hub;
    uv_poll_t poll;
    uv_timer_t pause; /* after EMFILE: polling at once would spin */
    int fd;
    bool tls;
    struct lws_vhost *vhost; /* lws's default vhost, which serves what we accept */
    int handles;             /* poll and pause, until both are closed */
} listener_t;

/* A socket with a descriptor above the cap is hung up at once. Descriptors
 * are handed out lowest first, so the number is the count of open ones:
 * refusing here keeps headroom for PostgreSQL, Redis and files. */
static bool
over_cap(hub_t *hub, int fd)
{
    if (hub->fd_cap <= 0 || fd <= hub->fd_cap) {
        return false;
    }
    if (hub->counters.fd_rejects++ % 1000 == 0) {
        log_warn("conn.fd_limit", "fd=%d cap=%d rejected=%llu", fd, hub->fd_cap,
                 (unsigned long long)hub->counters.fd_rejects);
    }
    return true;
}

static void on_readable(uv_poll_t *p, int status, int events);

const hub_peer_t *
hub_listen_peer(const hub_t *hub, int fd)
{
    if (fd < 0 || (size_t)fd >= hub->npeers || !hub->peers[fd].known) {
        return NULL;
    }
    return &hub->peers[fd];
}

/* Keep what accept4() said of fd's peer: the per-IP limit reads it at the
 * handshake instead of asking the kernel (getpeername) again. An IPv4
 * client of a dual-stack socket is written as IPv4, as proxies write it in
 * X-Forwarded-For, so both ways in count as one address. */
static void
record_peer(hub_t *hub, int fd, const struct sockaddr_storage *ss)
{
    char text[INET6_ADDRSTRLEN] = "";

    hub->peers = xgrow_zeroed(hub->peers, &hub->npeers, (size_t)fd, sizeof(*hub->peers));
    if (ss->ss_family == AF_INET) {
        proto_ipv4_str(text, (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            proto_ipv4_str(text, &a->s6_addr[12]);
        } else {
            inet_ntop(AF_INET6, a, text, sizeof(text));
        }
    }
    hub->peers[fd] = (hub_peer_t){.key = hub_handshake_addr_key(text),
                                  .loopback = hub_handshake_is_loopback(text),
                                  .known = true};
}

static void
on_resume(uv_timer_t *t)
{
    listener_t *l = t->data;

    uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

/* Answer fd with status and close it. What the client sent is read first:
 * a close with unread bytes would reset the answer away. */
static void
refuse(int fd, int status, const char *why)
{
    char buf[4096];
    ssize_t n;
    bool head = false;

    for (int i = 0; i < 64 && (n = recv(fd, buf, sizeof(buf), 0)) > 0; i++) {
        head = head || (i == 0 && n >= 5 && memcmp(buf, "HEAD ", 5) == 0);
    }
    hub_http_refuse_fd(fd, status, why, "", head);
}

/* A head that fills HEAD_MAX without ending: lws would drop it without a
 * word (a browser sees 1006), so it gets 431 here. */
static void
refuse_head(int fd, int status, const char *event, const char *why)
{
    log_info(event, "fd=%d", fd);
    refuse(fd, status, why);
}

/*
 * The head is peeked. A whole WebSocket upgrade may be the hub's own to
 * serve (hub_wsock_take). For lws, a "bearer.<t>" subprotocol entry long
 * enough to make it drop the connection (any JWT) is moved into the query
 * first (proto_head.h): only when the head is rewritten is it read off the
 * socket and handed to lws as the socket's first bytes. A head too large
 * for lws is refused here (refuse_head). True when fd was dealt with here,
 * handed over or refused.
 */
static bool
hand_over_peeked(listener_t *l, int fd)
{
    char in[HEAD_MAX], out[HEAD_MAX];
    size_t used = 0, outlen = 0;
    ssize_t n = recv(fd, in, sizeof(in), MSG_PEEK);

    if (n == (ssize_t)sizeof(in) && memmem(in, sizeof(in), "\r\n\r\n", 4) == NULL) {
        refuse_head(fd, 431, "http.head_too_large", "request head over 8 KiB");
        return true;
    }
    if (n > 0 && hub_lws_heads_nul_target(in, (size_t)n)) {
        refuse_head(fd, 400, "http.nul_in_target", "a %00 in the path or query");
        return true;
    }
    int bad_head = 0;

    if (n > 0 && hub_wsock_take(l->hub, fd, in, (size_t)n, &bad_head)) {
        return true;
    }
    if (bad_head != 0) {
        refuse_head(fd, bad_head, "http.bad_head",
                    bad_head == 431 ? "too many header lines" : "not an HTTP/1.1 request head");
        return true;
    }
    if (n > 0 && hub_lws_heads_short_name(in, (size_t)n)) {
        refuse_head(fd, 400, "http.short_header_name", "a header name of one character");
        return true;
    }
    if (n > 0 && hub_lws_heads_cut_name(in, (size_t)n)) {
        refuse_head(fd, 400, "http.lws_misread_header",
                    "a last header whose name starts a longer one (send another after it)");
        return true;
    }
    if (n <= 0 || proto_head_lift(in, (size_t)n, HUB_SUBPROTOCOL_MAX, out, sizeof(out), &used,
                                  &outlen) != PROTO_HEAD_LIFTED) {
        return false;
    }
    if (recv(fd, in, used, 0) != (ssize_t)used) {
        log_warn("conn.head_read_failed", "fd=%d errno=%d", fd, errno);
        close(fd);
        return true;
    }
    /* lws serves the head at once; NULL also when that refused it (a bad
     * token's 401), so it is not worth a warning. lws has closed fd. */
    hub_heads_adopt_begin(l->hub);
    struct lws *wsi = lws_adopt_socket_vhost_readbuf(l->vhost, fd, out, outlen);
    hub_heads_adopt_end(l->hub, fd, wsi);
    if (wsi == NULL) {
        log_debug("conn.adopt_closed", "fd=%d", fd);
    }
    return true;
}

static void
hand_to_lws(listener_t *l, int fd)
{
    lws_sock_file_fd_type desc = {.sockfd = fd};
    lws_adoption_type type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP;

    if (l->tls) {
        type |= LWS_ADOPT_ALLOW_SSL;
    } else if (hand_over_peeked(l, fd)) {
        return;
    }
    hub_heads_adopt_begin(l->hub);
    struct lws *wsi = lws_adopt_descriptor_vhost(l->vhost, type, desc, NULL, NULL);
    hub_heads_adopt_end(l->hub, fd, wsi);
    if (wsi == NULL) {
        log_warn("conn.adopt_failed", "fd=%d", fd); /* lws has closed fd */
    }
}

static void
on_readable(uv_poll_t *p, int status, int events)
{
    listener_t *l = p->data;

    (void)events;
    if (status < 0) {
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("conn.accept_paused", "errno=%d ms=%d", errno, PAUSE_MS);
                uv_poll_stop(&l->poll);
                uv_timer_start(&l->pause, on_resume, PAUSE_MS, 0);
                return;
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return; /* EAGAIN: the queue is empty */
        }
        if (over_cap(l->hub, fd)) {
            close(fd);
            continue;
        }
        hub_heads_forget_fd(l->hub, fd);
        record_peer(l->hub, fd, &ss);
        if (!hub_heads_admit(l->hub, fd)) {
            /* Logged there, once per thousand: a flood would be a line each.
             * A TLS client could not read a plain 429: hung up on. */
            if (l->tls) {
                close(fd);
            } else {
                refuse(fd, 429, "too many unfinished requests from this address");
            }
            continue;
        }
        hand_to_lws(l, fd);
    }
}

/* The socket bound to addr:port, or -1 with err. */
static int
bind_socket(const char *addr, int port, bool reuseport, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int one = 1, zero = 0, defer = DEFER_ACCEPT_S, fd;

    memset(&ss, 0, sizeof(ss));
    if (addr != NULL && addr[0] != '\0' &&
        inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        sslen = sizeof(struct sockaddr_in);
    } else if (addr == NULL || addr[0] == '\0' ||
               inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ss.ss_family = AF_INET6; /* in6addr_any when addr is empty: all of v6 and v4 */
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        sslen = sizeof(struct sockaddr_in6);
    } else {
        snprintf(err, errlen, "not a numeric address");
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && ss.ss_family == AF_INET6 && (addr == NULL || addr[0] == '\0')) {
        /* No IPv6 on this host: every IPv4 interface instead. */
        memset(&ss, 0, sizeof(ss));
        ss.ss_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        sslen = sizeof(struct sockaddr_in);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* SO_REUSEADDR: a restart binds despite the old node's TIME_WAITs.
     * TCP_NODELAY is inherited by every accepted socket, one setsockopt for
     * all (lws's listener made one per socket): a frame goes out at once.
     * TCP_DEFER_ACCEPT: the request has arrived when accept4() returns it, so
     * hand_over_peeked() sees the head it may have to rewrite, and a client
     * that connects and says nothing costs no descriptor while it is silent. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
    if (ss.ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
        bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, BACKLOG) < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int
hub_listen_open(hub_t *hub, const char *addr, int port, bool reuseport, bool tls, char *err,
                size_t errlen)
{
    struct lws_vhost *vhost = lws_get_vhost_by_name(hub->lws, "default");
    listener_t *l;
    int fd;

    if (vhost == NULL) {
        snprintf(err, errlen, "no lws vhost");
        return -1;
    }
    fd = bind_socket(addr, port, reuseport, err, errlen);
    if (fd < 0) {
        return -1;
    }
    l = xcalloc(1, sizeof(*l));
    l->hub = hub;
    l->fd = fd;
    l->tls = tls;
    l->vhost = vhost;
    if (uv_poll_init(hub->loop, &l->poll, fd) != 0) {
        snprintf(err, errlen, "uv_poll_init");
        close(fd);
        free(l);
        return -1;
    }
    uv_timer_init(hub->loop, &l->pause);
    l->poll.data = l->pause.data = l;
    l->handles = 2;
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
    hub->listener = l;
    return 0;
}

static void
on_handle_closed(uv_handle_t *h)
{
    listener_t *l = h->data;

    if (--l->handles == 0) {
        close(l->fd); /* only now: libuv may not see a descriptor closed under its poll */
        free(l);
    }
}

void
hub_listen_close(hub_t *hub)
{
    listener_t *l = hub->listener;

    if (l == NULL) {
        return;
    }
    hub->listener = NULL;
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
    uv_close((uv_handle_t *)&l->pause, on_handle_closed);
}
