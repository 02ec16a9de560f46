/*
 * The catch-up loop. Single-threaded, so the check "have we reached the room's
 * delivered seq?" and clearing catching_up happen with no delivery in between:
 * the next live message is exactly the next seq this socket needs.
 */
#include "hub_resume.h"

#include <linux/sockios.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_room.h"
#include "hub_sock.h"
#include "proto_build.h"
#include "store_msg.h"
#include "xalloc.h"

#define PAGE 500
#define PAGE_BYTES ((size_t)1 << 20) /* about, once the room's message sizes are known */
#define RETRY_MS 1000
/* The kernel's unsent bytes a catch-up may end with: live frames that come
 * next must not wait behind megabytes of replay a slow reader has yet to
 * take, past HUB_CHANNEL_EXPIRY. */
#define UNSENT_MAX (128 * 1024)

static void fetch(hub_conn_t *c);

/* Half the socket's queue at most, so that a page never fills it, and about
 * PAGE_BYTES: the first page asks for as many messages of the largest size
 * as make PAGE_BYTES, each next one for as many as the last page's average
 * size does. A page of big messages is built whole for this socket alone. */
static int
page_size(const hub_conn_t *c)
{
    int half = c->hub->cfg->channel_capacity / 2;
    int n = half < PAGE ? half : PAGE;

    if (c->resume_page > 0 && c->resume_page < n) {
        n = c->resume_page;
    }
    return n < 1 ? 1 : n;
}

static void
next_page_size(hub_conn_t *c, size_t n, size_t bytes)
{
    size_t avg = n > 0 ? bytes / n : 0;
    size_t next = PAGE_BYTES / (avg > 0 ? avg : 1);

    if (n > 0) {
        c->resume_page = next > PAGE ? PAGE : next < 1 ? 1 : (int)next;
    }
}

/* Room for a page in the queue's frames, and its bytes down to half the
 * bound past which input is paused (hub_conn.h). */
static bool
page_fits(const hub_conn_t *c)
{
    return c->qlen + (size_t)page_size(c) <= (size_t)c->hub->cfg->channel_capacity &&
           c->qbytes <= HUB_CONN_OUT_HIGH / 2;
}

/* The kernel's bytes not yet sent, or 0 when it cannot say. */
static size_t
kernel_unsent(const hub_conn_t *c)
{
    int n = 0;

    return ioctl(hub_sock_fd(c), SIOCOUTQNSD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

/* The whole replay has reached the kernel, which has sent all but at most
 * UNSENT_MAX of it: live frames from now on find room there. */
static bool
replay_gone(const hub_conn_t *c)
{
    return c->qlen == 0 && !hub_sock_partial(c) && kernel_unsent(c) <= UNSENT_MAX;
}

/* Wait for the drain: the queue's next write calls hub_resume_on_drain. With
 * nothing queued, the end of a short write says so only when asked to, and
 * the kernel's unsent bytes never do: the sweep looks each second. */
static void
park(hub_conn_t *c, bool ending)
{
    c->resume_parked = true;
    c->resume_ending = ending;
    if (c->qlen == 0 && hub_sock_partial(c)) {
        hub_sock_want_write(c);
    }
}

void
hub_resume_drop_held(hub_conn_t *c)
{
    for (size_t i = 0; i < c->nheld; i++) {
        hub_buf_unref(c->held[i].frame);
    }
    free(c->held);
    c->held = NULL;
    c->nheld = 0;
}

void
hub_resume_hold(hub_conn_t *c, int64_t seq, hub_buf_t *frame)
{
    size_t n = c->nheld;

    if (c->state == HUB_CONN_CLOSING) {
        return;
    }
    if (n >= (size_t)c->hub->cfg->channel_capacity) {
        log_warn("ws.slow_consumer", "conn=%" PRIu64 " user=%" PRId64 " held=%zu", c->id,
                 c->user.id, n);
        c->hub->counters.slow_consumer_closes++;
        hub_conn_close(c, PROTO_CLOSE_SLOW_CONSUMER, "slow consumer", true);
        return;
    }
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) { /* 4 slots, then doubled when full */
        c->held = xrealloc(c->held, (n == 0 ? 4 : n * 2) * sizeof(*c->held));
    }
    c->held[c->nheld++] = (hub_kept_t){hub_buf_ref(frame), seq};
}

/* The first live message held, or 0: from it on the room's own delivery,
 * held here in order with no gap, has what the replay would read. */
static int64_t
held_from(const hub_conn_t *c)
{
    for (size_t i = 0; i < c->nheld; i++) {
        if (c->held[i].seq > 0) {
            return c->held[i].seq;
        }
    }
    return 0;
}

/* The replay is done: what was held goes out, in order, but for the
 * messages the replay has sent already (live before the first held one). */
static void
release_held(hub_conn_t *c)
{
    for (size_t i = 0; i < c->nheld && c->state == HUB_CONN_OPEN; i++) {
        const hub_kept_t *h = &c->held[i];
        if (h->seq > 0 && h->seq <= c->last_seq) {
            continue;
        }
        if (h->seq > 0) {
            c->last_seq = h->seq;
        }
        hub_conn_send(c, h->frame);
    }
    hub_resume_drop_held(c);
}

static void
finish(hub_conn_t *c)
{
    c->catching_up = false;
    log_debug("ws.resumed", "conn=%" PRIu64 " at=%" PRId64, c->id, c->last_seq);
    release_held(c);
}

/* After a page, or a wait: read on, wait, or end. The replay is complete once
 * it reaches the live messages held since it began (a catch-up that had to
 * reach the room's delivered seq itself never ended while a busy room
 * delivered faster than a loaded store answered: an audit's reconnect
 * storm), or, with none held, the room's delivered seq. */
static void
step(hub_conn_t *c, bool has_more)
{
    int64_t from = held_from(c);
    bool more = from != 0 ? c->last_seq + 1 < from
                          : has_more || (c->room != NULL && c->room->delivered_seq > c->last_seq);

    if (more ? !page_fits(c) : !replay_gone(c)) {
        park(c, !more); /* the end waits for the replay to leave */
        return;
    }
    if (more) {
        fetch(c);
        return;
    }
    finish(c);
}

static void
on_page(void *ud, const proto_msg_t *msgs, size_t n, bool has_more, const char *err)
{
    hub_conn_t *c = hub_conn_take_ref(ud);
    size_t len;

    if (c == NULL || !c->catching_up) {
        return;
    }
    if (err != NULL) {
        /* The store is away: the client reconnects and resumes from what it has. */
        log_warn("ws.resume_failed", "conn=%" PRIu64 " err=\"%s\"", c->id, err);
        hub_conn_fail(c, hub_deliver_store_err(err), NULL);
        return;
    }
    size_t bytes = 0;
    int64_t from = held_from(c);
    for (size_t i = 0; i < n; i++) {
        bytes += msgs[i].content_len;
        if (from != 0 && msgs[i].seq >= from) {
            break; /* held, with the events that came between them live */
        }
        if (msgs[i].seq != c->last_seq + 1) {
            continue; /* never a repeat; a hole cannot happen under seq's lock */
        }
        char *s = proto_build_chat_message(&msgs[i], &len);
        hub_buf_t *b = hub_buf_take(s, len);
        c->last_seq = msgs[i].seq;
        hub_conn_send(c, b);
        hub_buf_unref(b);
        if (c->state != HUB_CONN_OPEN) {
            return; /* closed as a slow consumer */
        }
    }
    next_page_size(c, n, bytes);
    step(c, has_more);
}

static void
fetch(hub_conn_t *c)
{
    hub_ref_t *ref = hub_ref_new(c->hub, c->id);
    int rc;

    if (c->last_seq > 0) {
        rc = store_msg_history(c->hub->store, c->room_id, 0, c->last_seq, page_size(c), on_page,
                               ref);
    } else {
        /* From the very start: everything up to resume_to, which is at most
         * HUB_RESUME_MAX (or we would have truncated and not started at 0). */
        int limit = c->resume_to > 0 ? (int)c->resume_to : 1;
        rc = store_msg_history(c->hub->store, c->room_id, c->resume_to + 1, 0,
                               limit > page_size(c) ? page_size(c) : limit, on_page, ref);
    }
    if (rc < 0) {
        free(ref);
        hub_conn_fail(c, PROTO_ERR_UNAVAILABLE, NULL);
    }
}

void
hub_resume_start(hub_conn_t *c)
{
    size_t first = PAGE_BYTES / (size_t)c->hub->cfg->max_message_bytes;

    c->resume_page = first < 1 ? 1 : first > PAGE ? PAGE : (int)first;
    c->catching_up = true;
    c->resume_unsent = 0;
    fetch(c);
}

void
hub_resume_on_drain(hub_conn_t *c)
{
    if (!c->resume_parked || !c->catching_up || c->state != HUB_CONN_OPEN) {
        return;
    }
    if (c->resume_ending ? replay_gone(c) : page_fits(c)) {
        c->resume_parked = false;
        if (c->resume_ending) {
            step(c, false); /* the room may have delivered meanwhile */
        } else {
            fetch(c);
        }
    } else if (c->qlen == 0 && hub_sock_partial(c)) {
        hub_sock_want_write(c); /* a short write's end still to come */
    }
}

/* Behind a full kernel buffer the queue's next frame goes in only once the
 * reader has taken a third of it, which a slow reader may take longer than
 * HUB_CHANNEL_EXPIRY to do: the unsent bytes going down since the last sweep
 * say it reads, and a replay waits on the reader alone, so the queue's expiry
 * runs from then. One that stops reading leaves them where they are. */
void
hub_resume_sweep(hub_conn_t *c, uint64_t now)
{
    size_t unsent = kernel_unsent(c);

    if (c->qlen > 0 && unsent < c->resume_unsent) {
        c->q[c->qhead].queued_ms = now;
    }
    c->resume_unsent = unsent > UINT32_MAX ? UINT32_MAX : (uint32_t)unsent;
    hub_resume_on_drain(c); /* an end that waits for the kernel */
}
