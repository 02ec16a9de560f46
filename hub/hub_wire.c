/*
 * One write for all the frames a socket got in one turn of the loop (see
 * hub_wire.h). Server frames are never masked, so a frame's header depends
 * on its length alone: several frames are laid out back to back in a scratch
 * buffer and given to lws as raw bytes, which it writes, or keeps the rest of
 * after a short write (lws_partial_buffered()), exactly as it does for one.
 */
#include "hub_wire.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "hub_resume.h"
#include "xalloc.h"

/* A write holds at most this many bytes of frames (one bigger frame goes alone). */
#define WIRE_SCRATCH (64 * 1024)
/* Writes per socket per turn, so one socket cannot hold the loop. */
#define WIRE_WRITES_MAX 8

struct hub_wire {
    uv_prepare_t prepare;
    bool closing;
    hub_conn_t **corked;
    size_t ncorked, cap;
    unsigned char scratch[LWS_PRE + WIRE_SCRATCH];
};

static size_t
frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81; /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++) {
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    return 10;
}

static hub_buf_t *
pop(hub_conn_t *c)
{
    hub_buf_t *b = c->q[c->qhead].buf;

    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
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
        /* Nothing to join: lws writes the header into the shared buffer's
         * headroom, the same bytes for every receiver. */
        pop(c);
        int r = lws_write(c->wsi, hub_buf_payload(first), hub_buf_len(first), LWS_WRITE_TEXT);
        hub_buf_unref(first);
        hub->counters.messages_out++;
        hub->counters.socket_writes++;
        return r < 0 ? -1 : 0;
    }
    unsigned char *p = w->scratch + LWS_PRE;
    for (size_t i = 0; i < n; i++) {
        hub_buf_t *b = pop(c);
        size_t len = hub_buf_len(b);
        p += frame_header(p, len);
        memcpy(p, hub_buf_payload(b), len);
        p += len;
        hub_buf_unref(b);
    }
    hub->counters.messages_out += n;
    hub->counters.socket_writes++;
    size_t total = (size_t)(p - (w->scratch + LWS_PRE));
    return lws_write(c->wsi, w->scratch + LWS_PRE, total, LWS_WRITE_HTTP) < 0 ? -1 : 0;
}

int
hub_wire_write(hub_t *hub, hub_conn_t *c)
{
    /* Never behind bytes lws still holds: frames would overtake them. */
    for (int i = 0; i < WIRE_WRITES_MAX && c->qlen > 0 && !lws_partial_buffered(c->wsi); i++) {
        if (write_some(hub, c) < 0) {
            return -1;
        }
    }
    if (c->resume_parked) {
        hub_resume_on_drain(c);
    }
    return 0;
}

static void
on_prepare(uv_prepare_t *h)
{
    hub_t *hub = h->data;
    struct hub_wire *w = hub->wire;

    /* Entries added while flushing (a failed write closing a socket does not
     * queue) are flushed in this same pass. */
    for (size_t i = 0; i < w->ncorked; i++) {
        hub_conn_t *c = w->corked[i];
        if (c == NULL) {
            continue;
        }
        c->corked = false;
        if (c->state != HUB_CONN_OPEN) {
            continue; /* a close asked for its own writeable callback */
        }
        if (hub_wire_write(hub, c) < 0) {
            hub_conn_close(c, PROTO_CLOSE_INTERNAL, "write failed", true);
            continue;
        }
        if (c->qlen > 0) {
            lws_callback_on_writable(c->wsi);
        }
    }
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

    uv_prepare_init(hub->loop, &w->prepare);
    w->prepare.data = hub;
    hub->wire = w;
}

static void
on_wire_closed(uv_handle_t *h)
{
    hub_t *hub = h->data;
    struct hub_wire *w = hub->wire;

    hub->wire = NULL;
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
