/*
 * One write for all the frames a socket got in one turn of the loop (see
 * hub_wire.h). Server frames are never masked, so a frame's header depends
 * on its length alone: several frames are laid out back to back in a scratch
 * buffer and given to the socket (hub_sock.h) as raw bytes, which it writes,
 * or keeps the rest of after a short write (hub_sock_partial()), exactly as
 * it does for one.
 */
#include "hub_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "hub_log.h"
#include "hub_resume.h"
#include "hub_sock.h"
#include "hub_uring.h"
#include "proto_wsframe.h"
#include "xalloc.h"

/* A write holds at most this many bytes of frames (one bigger frame goes alone). */
#define WIRE_SCRATCH (64 * 1024)
/* Writes per socket per turn, so one socket cannot hold the loop. */
#define WIRE_WRITES_MAX 8
/* The ring's sends per system call, and frames per send. */
#define RING_ENTRIES 1024
#define RING_FRAMES_MAX 8

/* A socket's send in the ring: its first nframes queued frames, held here
 * too, so that a close of the socket before the ring is flushed (a slow
 * consumer found by a frame another socket's close sent it) cannot free
 * bytes the kernel is about to read. */
typedef struct ring_send {
    hub_conn_t *c;
    size_t nframes;
    int res;
    hub_buf_t *bufs[RING_FRAMES_MAX];
} ring_send_t;

struct hub_wire {
    uv_prepare_t prepare;
    bool closing;
    hub_conn_t **corked;
    size_t ncorked, cap;
    hub_uring_t *ring;    /* NULL: send() per socket */
    hub_uring_t *retired; /* a ring that broke, kept while it may run sends */
    ring_send_t *sends;
    struct iovec *iov; /* RING_FRAMES_MAX per send */
    unsigned char scratch[HUB_SOCK_PRE + WIRE_SCRATCH];
};

static hub_buf_t *
pop(hub_conn_t *c)
{
    hub_buf_t *b = c->q[c->qhead].buf;

    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    if (c->catching_up && c->qlen > 0) {
        /* A replay waits on the reader, not on live traffic (hub_resume.c):
         * its expiry runs from the last frame the reader took. */
        c->q[c->qhead].queued_ms = hub_now_ms(c->hub);
    }
    hub_conn_dequeued(c, hub_buf_len(b));
    return b;
}

/* One write: the head frame alone, or as many whole frames as fit the scratch. */
static int
write_some(hub_t *hub, hub_conn_t *c)
{
    struct hub_wire *w = hub->wire;
    hub_buf_t *first = c->q[c->qhead].buf;
    size_t used = 0, n = 0;

    for (size_t i = 0; i < c->qlen; i++) {
        size_t len = hub_buf_len(c->q[(c->qhead + i) % c->qcap].buf);
        if (used + 10 + len > WIRE_SCRATCH) {
            break;
        }
        used += 10 + len; /* a bound: headers are 2 to 10 bytes */
        n++;
    }
    if (n <= 1) {
        /* Nothing to join: the header goes into the shared buffer's
         * headroom, the same bytes for every receiver. */
        pop(c);
        int r = hub_sock_write(c, hub_buf_payload(first), hub_buf_len(first), HUB_SOCK_TEXT);
        hub_buf_unref(first);
        hub->counters.messages_out++;
        hub->counters.socket_writes++;
        return r < 0 ? -1 : 0;
    }
    unsigned char *p = w->scratch + HUB_SOCK_PRE;
    for (size_t i = 0; i < n; i++) {
        hub_buf_t *b = pop(c);
        size_t len = hub_buf_len(b);
        p += proto_ws_frame_header(p, PROTO_WS_OP_TEXT, len);
        memcpy(p, hub_buf_payload(b), len);
        p += len;
        hub_buf_unref(b);
    }
    hub->counters.messages_out += n;
    hub->counters.socket_writes++;
    size_t total = (size_t)(p - (w->scratch + HUB_SOCK_PRE));
    return hub_sock_write(c, w->scratch + HUB_SOCK_PRE, total, HUB_SOCK_RAW);
}

int
hub_wire_write(hub_t *hub, hub_conn_t *c)
{
    /* Never behind bytes still held: frames would overtake them. */
    for (int i = 0; i < WIRE_WRITES_MAX && c->qlen > 0 && !hub_sock_partial(c); i++) {
        if (write_some(hub, c) < 0) {
            return -1;
        }
    }
    if (c->resume_parked) {
        hub_resume_on_drain(c);
    }
    return 0;
}

/* ---- the ring: a turn's first writes in one system call (hub_uring.h) ---- */

/* Writes the frame's header into b's headroom, where a TEXT write puts it
 * too: the same bytes for every receiver. Returns where the frame starts. */
static unsigned char *
frame_in_place(hub_buf_t *b, size_t *whole)
{
    unsigned char h[10];
    size_t len = hub_buf_len(b), hlen = proto_ws_frame_header(h, PROTO_WS_OP_TEXT, len);
    unsigned char *start = hub_buf_payload(b) - hlen;

    memcpy(start, h, hlen);
    *whole = hlen + len;
    return start;
}

static bool
ring_takes(const struct hub_wire *w, hub_conn_t *c)
{
    return w->ring != NULL && c->qlen > 0 && !hub_sock_partial(c) && hub_sock_direct(c);
}

/* c's head frames, as many as a plain write would join, as one ring send.
 * false: the ring is full. */
static bool
ring_queue(struct hub_wire *w, hub_conn_t *c)
{
    unsigned k = hub_uring_pending(w->ring);
    struct iovec *iov = &w->iov[(size_t)k * RING_FRAMES_MAX];
    ring_send_t *s = &w->sends[k];
    size_t bytes = 0;

    if (k == RING_ENTRIES) {
        return false;
    }
    s->c = c;
    s->nframes = 0;
    s->res = 0;
    while (s->nframes < c->qlen && s->nframes < RING_FRAMES_MAX) {
        size_t n = s->nframes;
        hub_buf_t *b = c->q[(c->qhead + n) % c->qcap].buf;
        if (n > 0 && bytes + 10 + hub_buf_len(b) > WIRE_SCRATCH) {
            break;
        }
        iov[n].iov_base = frame_in_place(b, &iov[n].iov_len);
        bytes += iov[n].iov_len;
        s->bufs[n] = hub_buf_ref(b);
        s->nframes++;
    }
    if (!hub_uring_send(w->ring, hub_sock_fd(c), iov, (int)s->nframes, k)) {
        for (size_t i = 0; i < s->nframes; i++) {
            hub_buf_unref(s->bufs[i]);
        }
        return false;
    }
    return true;
}

static void
on_ring_done(void *ud, uint64_t tag, int res)
{
    struct hub_wire *w = ud;

    w->sends[tag].res = res;
}

/* Drop what the kernel took from the queue. A short write hands the rest of
 * its frame to the socket, which writes or keeps it (hub_sock_partial()), as
 * after any short write; the frames behind it wait for writeable. The
 * frames come from the send's own references: a close meanwhile may have
 * dropped the queue, and a frame begun must still be finished. */
static int
ring_consume(hub_t *hub, hub_conn_t *c, const ring_send_t *s, size_t written)
{
    for (size_t i = 0; i < s->nframes && written > 0; i++) {
        size_t whole;
        unsigned char *start = frame_in_place(s->bufs[i], &whole);

        if (c->qlen > 0 && c->q[c->qhead].buf == s->bufs[i]) {
            hub_buf_unref(pop(c));
        }
        hub->counters.messages_out++;
        if (written >= whole) {
            written -= whole;
            continue;
        }
        hub_buf_t *rest = hub_buf_from(start + written, whole - written);
        int r = hub_sock_write(c, hub_buf_payload(rest), whole - written, HUB_SOCK_RAW);
        hub_buf_unref(rest);
        return r;
    }
    return 0;
}

/* Write c's queue now, as much as the kernel takes; the rest waits for
 * writeable. */
static void
write_plain(hub_t *hub, hub_conn_t *c)
{
    if (hub_wire_write(hub, c) < 0) {
        hub_conn_close(c, PROTO_CLOSE_INTERNAL, "write failed", true);
        return;
    }
    if (c->qlen > 0) {
        hub_sock_want_write(c);
    }
}

static void
ring_finish(hub_t *hub, const ring_send_t *s)
{
    hub_conn_t *c = s->c;
    bool open = c->state == HUB_CONN_OPEN;

    /* What went out leaves the queue even if the socket closed meanwhile, so
     * a close that flushes its queue does not write it twice. */
    if (s->res > 0) {
        hub->counters.socket_writes++;
        if (ring_consume(hub, c, s, (size_t)s->res) < 0 && open) {
            hub_conn_close(c, PROTO_CLOSE_INTERNAL, "write failed", true);
            return;
        }
    } else if (s->res < 0 && s->res != -EAGAIN && open) {
        hub_conn_close(c, PROTO_CLOSE_INTERNAL, "write failed", true);
        return;
    }
    if (!open) {
        return; /* its close asked for a writeable callback of its own */
    }
    if (s->res <= 0) {
        hub_sock_want_write(c); /* nothing written */
        return;
    }
    write_plain(hub, c); /* the rest of a long queue, bounded as ever; a parked resume goes on */
}

static void
ring_flush(hub_t *hub)
{
    struct hub_wire *w = hub->wire;
    unsigned n = w->ring != NULL ? hub_uring_pending(w->ring) : 0;

    if (n == 0) {
        return;
    }
    int rc = hub_uring_flush(w->ring, on_ring_done, w);
    if (rc < 0) {
        /* Never seen: the probe at start checked the kernel completes each
         * send at once. The node goes on with send(); the ring is kept, not
         * freed, as the kernel may still run a send it took. */
        log_error("wire.uring_failed", "sends=%u err=\"%s\"", n, strerror(-rc));
        w->retired = w->ring;
        w->ring = NULL;
    }
    for (unsigned i = 0; i < n; i++) {
        ring_send_t *s = &w->sends[i];
        bool unknown = s->res == -EIO;
        if (unknown) {
            /* What reached the peer is unknown and the kernel may still
             * write these frames: no close frame or later bytes could be
             * framed right, so the stream just ends, and the frames stay
             * allocated (once per process: the ring is given up). */
            shutdown(hub_sock_fd(s->c), SHUT_RDWR);
        }
        ring_finish(hub, s);
        for (size_t k = 0; k < s->nframes && !unknown; k++) {
            hub_buf_unref(s->bufs[k]);
        }
    }
}

static void
on_prepare(uv_prepare_t *h)
{
    hub_t *hub = h->data;
    struct hub_wire *w = hub->wire;
    size_t i = 0;

    /* Entries added while flushing (a resume's next page; a failed write
     * closing a socket does not queue) are flushed in this same pass. */
    do {
        for (; i < w->ncorked; i++) {
            hub_conn_t *c = w->corked[i];
            if (c == NULL) {
                continue;
            }
            c->corked = false;
            if (c->state != HUB_CONN_OPEN) {
                continue; /* a close asked for its own writeable callback */
            }
            if (!ring_takes(w, c)) {
                write_plain(hub, c);
            } else if (!ring_queue(w, c)) {
                ring_flush(hub); /* full: send these, then queue c again */
                if (!ring_takes(w, c) || !ring_queue(w, c)) {
                    write_plain(hub, c);
                }
            }
        }
        ring_flush(hub);
    } while (i < w->ncorked);
    w->ncorked = 0;
    uv_prepare_stop(h);
}

bool
hub_wire_cork(hub_t *hub, hub_conn_t *c)
{
    struct hub_wire *w = hub->wire;

    if (w == NULL || w->closing) {
        return false;
    }
    if (w->ncorked == w->cap) {
        w->cap = w->cap == 0 ? 64 : w->cap * 2;
        w->corked = xrealloc(w->corked, w->cap * sizeof(*w->corked));
    }
    w->corked[w->ncorked++] = c;
    c->corked = true;
    if (w->ncorked == 1) {
        uv_prepare_start(&w->prepare, on_prepare);
    }
    return true;
}

void
hub_wire_forget(hub_t *hub, hub_conn_t *c)
{
    struct hub_wire *w = hub->wire;

    if (w == NULL || !c->corked) {
        return;
    }
    for (size_t i = 0; i < w->ncorked; i++) {
        if (w->corked[i] == c) {
            w->corked[i] = NULL;
        }
    }
    c->corked = false;
}

void
hub_wire_init(hub_t *hub)
{
    struct hub_wire *w = xcalloc(1, sizeof(*w));
    const char *why = "HUB_IO_URING=0";

    uv_prepare_init(hub->loop, &w->prepare);
    w->prepare.data = hub;
    hub->wire = w;
    if (hub->cfg->io_uring) {
        w->ring = hub_uring_new(RING_ENTRIES, &why);
    }
    if (w->ring == NULL) {
        log_info("wire.uring_off", "why=\"%s\"", why);
        return;
    }
    w->sends = xcalloc(RING_ENTRIES, sizeof(*w->sends));
    w->iov = xcalloc((size_t)RING_ENTRIES * RING_FRAMES_MAX, sizeof(*w->iov));
    log_info("wire.uring", "entries=%d", RING_ENTRIES);
}

static void
on_wire_closed(uv_handle_t *h)
{
    hub_t *hub = h->data;
    struct hub_wire *w = hub->wire;

    hub->wire = NULL;
    hub_uring_free(w->ring);
    /* After a broken ring the kernel may still read these: they go with the
     * process, which is ending. */
    if (w->retired == NULL) {
        free(w->sends);
        free(w->iov);
    }
    free(w->corked);
    free(w);
}

void
hub_wire_close(hub_t *hub)
{
    if (hub->wire != NULL && !hub->wire->closing) {
        hub->wire->closing = true;
        uv_close((uv_handle_t *)&hub->wire->prepare, on_wire_closed);
    }
}
