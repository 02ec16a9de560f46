/*
 * One uv_poll per hiredis context. The poll handle is freed in its close
 * callback; hiredis' cleanup hook (called when the context is freed) starts
 * that close and detaches the context so a late poll event is ignored.
 */
#include "hub_redis_uv.h"

#include <stdbool.h>
#include <stdlib.h>

#include "xalloc.h"

typedef struct redis_poll {
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    uv_poll_t handle;
    uv_prepare_t flush; /* writes this turn's commands before the loop polls */
    uv_idle_t wake;     /* keeps that poll from blocking if the flush missed the turn */
    int events;         /* what the poll watches */
    bool flushing;      /* inside the flush: an add_write means a short write */
    int open_handles;
} redis_poll_t;

static void
on_poll(uv_poll_t *handle, int status, int events)
{
    redis_poll_t *p = handle->data;

    /* On an error, let hiredis try both directions: its read or write fails
     * with the socket's error and it tears the context down properly. */
    if (status < 0) {
        events = p->events;
    }
    if (p->ac != NULL && (events & UV_READABLE)) {
        redisAsyncHandleRead(p->ac);
    }
    if (p->ac != NULL && (events & UV_WRITABLE)) {
        redisAsyncHandleWrite(p->ac);
    }
}

/* libuv's uv_poll_start() removes the descriptor from epoll and adds it back,
 * even for the same events: only a real change is passed on. */
static void
watch(redis_poll_t *p, int events)
{
    if (events == p->events) {
        return;
    }
    p->events = events;
    if (events != 0) {
        uv_poll_start(&p->handle, events, on_poll);
    } else {
        uv_poll_stop(&p->handle);
    }
}

static void
on_flush(uv_prepare_t *h)
{
    redis_poll_t *p = h->data;

    uv_prepare_stop(&p->flush);
    uv_idle_stop(&p->wake);
    if (p->ac != NULL) {
        p->flushing = true;
        redisAsyncHandleWrite(p->ac);
        p->flushing = false;
    }
}

static void
on_wake(uv_idle_t *h)
{
    on_flush(&((redis_poll_t *)h->data)->flush);
}

static void
add_read(void *privdata)
{
    redis_poll_t *p = privdata;

    watch(p, p->events | UV_READABLE);
}

static void
del_read(void *privdata)
{
    redis_poll_t *p = privdata;

    watch(p, p->events & ~UV_READABLE);
}

/* hiredis asks for this at every command. A connected socket can almost
 * always take the bytes, so they are written at the end of this turn of the
 * loop, all of its commands in one write, without asking epoll. Only a short
 * write (hiredis asks again from inside the flush) or a connect in progress
 * (hiredis learns of its end from writability) waits for the poll. */
static void
add_write(void *privdata)
{
    redis_poll_t *p = privdata;

    if (p->flushing || !(p->ac->c.flags & REDIS_CONNECTED)) {
        watch(p, p->events | UV_WRITABLE);
        return;
    }
    if (!(p->events & UV_WRITABLE) && !uv_is_active((uv_handle_t *)&p->flush)) {
        uv_prepare_start(&p->flush, on_flush);
        uv_idle_start(&p->wake, on_wake);
    }
}

static void
del_write(void *privdata)
{
    redis_poll_t *p = privdata;

    watch(p, p->events & ~UV_WRITABLE);
}

static void
on_closed(uv_handle_t *handle)
{
    redis_poll_t *p = handle->data;

    if (--p->open_handles == 0) {
        free(p);
    }
}

static void
cleanup(void *privdata)
{
    redis_poll_t *p = privdata;

    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, on_closed);
    uv_close((uv_handle_t *)&p->flush, on_closed);
    uv_close((uv_handle_t *)&p->wake, on_closed);
}

int
hub_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    redis_poll_t *p;

    if (ac->ev.data != NULL) {
        return -1;
    }
    p = xcalloc(1, sizeof(*p));
    if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    uv_prepare_init(loop, &p->flush);
    uv_idle_init(loop, &p->wake);
    p->open_handles = 3;
    p->ac = ac;
    p->handle.data = p;
    p->flush.data = p;
    p->wake.data = p;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return 0;
}
