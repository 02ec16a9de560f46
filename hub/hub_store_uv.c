/*
 * libuv handles behind the store's hooks. A handle is freed in its close
 * callback (libuv closes asynchronously), and its callback pointer is cleared
 * at free time, so the store never hears from a handle it has let go. The
 * small host record (loop, event sink) lives as long as any handle made from it.
 */
#include "hub_store_uv.h"

#include <stdlib.h>

#include "hub_resolve.h"
#include "xalloc.h"

typedef struct uv_host {
    uv_loop_t *loop;
    hub_store_uv_event_fn event;
    void *event_ud;
    size_t handles; /* open or closing; the record goes with the last one */
} uv_host_t;

typedef struct watch {
    uv_poll_t poll;
    uv_host_t *host;
    store_io_cb cb;
    void *cb_ud;
    int uv_events; /* what the poll watches now (0: stopped) */
} watch_t;

typedef struct timer {
    uv_timer_t timer;
    uv_host_t *host;
    store_timer_cb cb;
    void *cb_ud;
} store_timer_t;

static void
host_hold(uv_host_t *host)
{
    host->handles++;
}

static void
host_release(uv_host_t *host)
{
    if (--host->handles == 0) {
        free(host);
    }
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
    watch_t *w = p->data;
    int ev = 0;

    /* On an error libuv stops the poll; the store must still read or write to
     * see the error from libpq (PITFALLS.md), so report both. */
    if (status < 0) {
        ev = STORE_EV_READ | STORE_EV_WRITE;
        w->uv_events = 0; /* so the next watch_set() starts it again */
    } else {
        ev |= (events & UV_READABLE) ? STORE_EV_READ : 0;
        ev |= (events & UV_WRITABLE) ? STORE_EV_WRITE : 0;
    }
    if (w->cb != NULL) {
        w->cb(w->cb_ud, ev);
    }
}

static void
on_watch_closed(uv_handle_t *h)
{
    watch_t *w = h->data;
    uv_host_t *host = w->host;

    free(w);
    host_release(host);
}

static void *
watch_new(void *ud, int fd, store_io_cb cb, void *cb_ud)
{
    uv_host_t *host = ud;
    watch_t *w = xcalloc(1, sizeof(*w));

    /* A failed init leaves no handle behind, so plain free() is right. */
    if (fd < 0 || uv_poll_init(host->loop, &w->poll, fd) != 0) {
        free(w);
        return NULL;
    }
    host_hold(host);
    w->host = host;
    w->poll.data = w;
    w->cb = cb;
    w->cb_ud = cb_ud;
    return w;
}

static void
watch_set(void *wp, int events)
{
    watch_t *w = wp;
    int uvev = ((events & STORE_EV_READ) ? UV_READABLE : 0) |
               ((events & STORE_EV_WRITE) ? UV_WRITABLE : 0);

    /* libuv's uv_poll_start() takes the descriptor out of epoll and puts it
     * back even for the same events, and the store asks for reading after
     * every statement it sends: only a real change is passed on. */
    if (w == NULL || uvev == w->uv_events) {
        return;
    }
    w->uv_events = uvev;
    if (uvev == 0) {
        uv_poll_stop(&w->poll);
    } else {
        uv_poll_start(&w->poll, uvev, on_poll);
    }
}

static void
watch_free(void *wp)
{
    watch_t *w = wp;

    if (w == NULL) {
        return;
    }
    w->cb = NULL;
    uv_close((uv_handle_t *)&w->poll, on_watch_closed);
}

static void
on_timer(uv_timer_t *t)
{
    store_timer_t *tm = t->data;

    if (tm->cb != NULL) {
        tm->cb(tm->cb_ud);
    }
}

static void
on_timer_closed(uv_handle_t *h)
{
    store_timer_t *t = h->data;
    uv_host_t *host = t->host;

    free(t);
    host_release(host);
}

static void *
timer_new(void *ud, store_timer_cb cb, void *cb_ud)
{
    uv_host_t *host = ud;
    store_timer_t *t = xcalloc(1, sizeof(*t));

    uv_timer_init(host->loop, &t->timer);
    host_hold(host);
    t->host = host;
    t->timer.data = t;
    t->cb = cb;
    t->cb_ud = cb_ud;
    return t;
}

static void
timer_start(void *tp, uint64_t ms)
{
    store_timer_t *t = tp;

    uv_timer_start(&t->timer, on_timer, ms, 0);
}

static void
timer_stop(void *tp)
{
    store_timer_t *t = tp;

    uv_timer_stop(&t->timer);
}

static void
timer_free(void *tp)
{
    store_timer_t *t = tp;

    if (t == NULL) {
        return;
    }
    t->cb = NULL;
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, on_timer_closed);
}

static void *
resolve(void *ud, const char *name, store_resolve_cb cb, void *cb_ud)
{
    uv_host_t *host = ud;
    const char *err;

    return hub_resolve_start(host->loop, name, cb, cb_ud, &err);
}

static void
resolve_cancel(void *rs)
{
    hub_resolve_cancel(rs);
}

static void
event(void *ud, const char *level, const char *ev, const char *detail)
{
    uv_host_t *host = ud;

    if (host->event != NULL) {
        host->event(host->event_ud, level, ev, detail);
    }
}

static uint64_t
now_ms(void *ud)
{
    (void)ud;
    /* Not uv_now(): that is the time the loop last woke, and the store measures
     * deadlines from inside long loop turns too. */
    return uv_hrtime() / 1000000;
}

void
hub_store_uv_hooks_init(store_hooks_t *h, uv_loop_t *loop, hub_store_uv_event_fn ev, void *event_ud)
{
    uv_host_t *host = xcalloc(1, sizeof(*host));

    host->loop = loop;
    host->event = ev;
    host->event_ud = event_ud;
    *h = (store_hooks_t){
        .ud = host,
        .watch_new = watch_new,
        .watch_set = watch_set,
        .watch_free = watch_free,
        .timer_new = timer_new,
        .timer_start = timer_start,
        .timer_stop = timer_stop,
        .timer_free = timer_free,
        .event = event,
        .now_ms = now_ms,
        .resolve = resolve,
        .resolve_cancel = resolve_cancel,
    };
}
