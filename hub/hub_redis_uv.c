/*
 * One uv_poll per hiredis context. The poll handle is freed in its close
 * callback; hiredis' cleanup hook (called when the context is freed) starts
 * that close and detaches the context so a late poll event is ignored.
 */
#include "hub_redis_uv.h"

#include <stdlib.h>

#include "xalloc.h"

typedef struct redis_poll {
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    uv_poll_t handle;
    int events;
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

static void
update(redis_poll_t *p)
{
    if (p->events != 0) {
        uv_poll_start(&p->handle, p->events, on_poll);
    } else {
        uv_poll_stop(&p->handle);
    }
}

static void
add_read(void *privdata)
{
    redis_poll_t *p = privdata;

    p->events |= UV_READABLE;
    update(p);
}

static void
del_read(void *privdata)
{
    redis_poll_t *p = privdata;

    p->events &= ~UV_READABLE;
    update(p);
}

static void
add_write(void *privdata)
{
    redis_poll_t *p = privdata;

    p->events |= UV_WRITABLE;
    update(p);
}

static void
del_write(void *privdata)
{
    redis_poll_t *p = privdata;

    p->events &= ~UV_WRITABLE;
    update(p);
}

static void
on_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static void
cleanup(void *privdata)
{
    redis_poll_t *p = privdata;

    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, on_closed);
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
    p->ac = ac;
    p->handle.data = p;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return 0;
}
