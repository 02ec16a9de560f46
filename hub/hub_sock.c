/* Each call goes to lws or to hub_wsock.c, by what c has. */
#include "hub_sock.h"

#include <libwebsockets.h>

#include "hub_wsock.h"

_Static_assert(HUB_SOCK_PRE == LWS_PRE, "the headroom is lws's");

/* lws 4.1 hides the close opcode (its lws_close_reason() path sends nothing
 * from WRITEABLE under libuv, PITFALLS.md); 4 is the value it uses internally. */
#define WRITE_CLOSE ((enum lws_write_protocol)4)

int
hub_sock_fd(const hub_conn_t *c)
{
    return c->ws != NULL ? hub_wsock_fd(c->ws) : lws_get_socket_fd(c->wsi);
}

bool
hub_sock_direct(const hub_conn_t *c)
{
    return c->ws != NULL ? hub_wsock_direct(c->ws) : !lws_is_ssl(c->wsi);
}

bool
hub_sock_partial(const hub_conn_t *c)
{
    return c->ws != NULL ? hub_wsock_partial(c->ws) : lws_partial_buffered(c->wsi);
}

void
hub_sock_want_write(hub_conn_t *c)
{
    if (c->ws != NULL) {
        hub_wsock_want_write(c->ws);
    } else {
        lws_callback_on_writable(c->wsi);
    }
}

void
hub_sock_rx_flow(hub_conn_t *c, bool on)
{
    if (c->ws != NULL) {
        hub_wsock_rx_flow(c->ws, on);
        return;
    }
    lws_rx_flow_control(c->wsi, on ? 1 : 0);
    if (on) {
        /* Input lws read and held while paused is handed over only when its
         * loop next runs a service pass; on libuv that waits for I/O on some
         * socket of lws's, and a client that sent everything before the
         * pause sends nothing more: wake the loop now. */
        lws_cancel_service(lws_get_context(c->wsi));
    }
}

int
hub_sock_write(hub_conn_t *c, unsigned char *buf, size_t len, hub_sock_kind_t kind)
{
    static const enum lws_write_protocol lws_kind[] = {
        [HUB_SOCK_RAW] = LWS_WRITE_HTTP,
        [HUB_SOCK_TEXT] = LWS_WRITE_TEXT,
        [HUB_SOCK_PING] = LWS_WRITE_PING,
        [HUB_SOCK_CLOSE] = WRITE_CLOSE,
    };

    if (c->ws != NULL) {
        return hub_wsock_write(c->ws, buf, len, kind);
    }
    return lws_write(c->wsi, buf, len, lws_kind[kind]) < 0 ? -1 : 0;
}

void
hub_sock_close_after(hub_conn_t *c, unsigned seconds)
{
    if (c->ws != NULL) {
        hub_wsock_close_after(c->ws, seconds);
    } else {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, (int)seconds);
    }
}
