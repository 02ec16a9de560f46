/*
 * libuv handles behind the store's hooks. A handle is freed in its close
 * callback (libuv closes asynchronously), and the callback pointer is cleared
 * at free time, so the store never hears from a handle it has let go.
 */
#include "hub_store_uv.h"

#include <stdlib.h>

#include "xalloc.h"

typedef struct uv_host {
    uv_loop_t *loop;
    hub_store_uv_event_fn event;
    void *event_ud;
} uv_host_t;

typedef struct watch {
    uv_poll_t poll;
    store_io_cb cb;
    void *cb_ud;
} watch_t;

typedef struct timer {
    uv_timer_t timer;
    store_timer_cb cb;
    void *cb_ud;
} timer_t_;

static void
on_poll(uv_poll_t *p, int status, int events)
{
    watch_t *w = p->data;
    int ev = 0;

    /* On an error the store must still read or write to see it (PITFALLS.md). */
    if (status < 0) {
        ev = STORE_EV_READ | STORE_EV_WRITE;
    } else {
        ev |= (events & UV_READABLE) ? STORE_EV_READ : 0;
        ev |= (events & UV_WRITABLE) ? STORE_EV_WRITE : 0;
    }
    if (w->cb != NULL) {
        w->cb(w->cb_ud, ev);
    }
}

static void *
watch_new(void *ud, int fd, store_io_cb cb, void *cb_ud)
{
    uv_host_t *host = ud;
    watch_t *w = xcalloc(1, sizeof(*w));

    if (uv_poll_init(host->loop, &w->poll, fd) != 0) {
        free(w);
        return NULL;
    }
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

    if (w == NULL) {
        return;
    }
    if (uvev == 0) {
        uv_poll_stop(&w->poll);
    } else {
        uv_poll_start(&w->poll, uvev, on_poll);
    }
}

static void
on_handle_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
watch_free(void *wp)
{
    watch_t *w = wp;

    if (w == NULL) {
        return;
    }
    w->cb = NULL;
    uv_close((uv_handle_t *)&w->poll, on_handle_closed);
}

static void
on_timer(uv_timer_t *t)
{
    timer_t_ *tm = t->data;

    if (tm->cb != NULL) {
        tm->cb(tm->cb_ud);
    }
}

static void *
timer_new(void *ud, store_timer_cb cb, void *cb_ud)
{
    uv_host_t *host = ud;
    timer_t_ *t = xcalloc(1, sizeof(*t));

    uv_timer_init(host->loop, &t->timer);
    t->timer.data = t;
    t->cb = cb;
    t->cb_ud = cb_ud;
    return t;
}

static void
timer_start(void *tp, uint64_t ms)
{
    timer_t_ *t = tp;

    uv_timer_start(&t->timer, on_timer, ms, 0);
}

static void
timer_stop(void *tp)
{
    timer_t_ *t = tp;

    uv_timer_stop(&t->timer);
}

static void
timer_free(void *tp)
{
    timer_t_ *t = tp;

    if (t == NULL) {
        return;
    }
    t->cb = NULL;
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, on_handle_closed);
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
    uv_host_t *host = ud;

    return uv_now(host->loop);
}

void
hub_store_uv_hooks_init(store_hooks_t *h, uv_loop_t *loop, hub_store_uv_event_fn ev, void *event_ud)
{
    /* One host record per store, kept for the process's life: stores are few. */
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
    };
}
