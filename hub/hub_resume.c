/*
 * The catch-up loop. Single-threaded, so the check "have we reached the room's
 * delivered seq?" and clearing catching_up happen with no delivery in between:
 * the next live message is exactly the next seq this socket needs.
 */
#include "hub_resume.h"

#include <stdbool.h>
#include <stdlib.h>

#include "hub_deliver.h"
#include "hub_log.h"
#include "hub_room.h"
#include "proto_build.h"
#include "store_msg.h"
#include "xalloc.h"

#define PAGE 500
#define RETRY_MS 1000

static void fetch(hub_conn_t *c);

/* Half the socket's queue at most, so that a page never fills it. */
static int
page_size(const hub_conn_t *c)
{
    int half = c->hub->cfg->channel_capacity / 2;

    return half < 1 ? 1 : half < PAGE ? half : PAGE;
}

static bool
page_fits(const hub_conn_t *c)
{
    return c->qlen + (size_t)page_size(c) <= (size_t)c->hub->cfg->channel_capacity;
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
    for (size_t i = 0; i < n; i++) {
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
    if (has_more || (c->room != NULL && c->room->delivered_seq > c->last_seq)) {
        if (!page_fits(c)) {
            c->resume_parked = true; /* hub_resume_on_drain fetches it */
            return;
        }
        fetch(c);
        return;
    }
    c->catching_up = false;
    log_debug("ws.resumed", "conn=%" PRIu64 " at=%" PRId64, c->id, c->last_seq);
    hub_conn_release_held(c);
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
    c->catching_up = true;
    fetch(c);
}

void
hub_resume_on_drain(hub_conn_t *c)
{
    if (c->resume_parked && c->catching_up && c->state == HUB_CONN_OPEN && page_fits(c)) {
        c->resume_parked = false;
        fetch(c);
    }
}
