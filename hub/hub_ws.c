/*
 * The libwebsockets callback: a thin switch, each case one call into the
 * module that owns the event (STYLE.md). HTTP and WebSocket share the
 * protocol, so the session memory is one hub_pss_t for both.
 */
#include "hub_ws.h"

#include "hub_conn.h"
#include "hub_heads.h"
#include "hub_http.h"
#include "hub_log.h"

int
hub_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    hub_t *hub = lws_context_user(lws_get_context(wsi));
    hub_pss_t *pss = user;

    if (reason == LWS_CALLBACK_WSI_DESTROY) {
        hub_heads_done(hub, wsi);
        hub_conn_on_wsi_destroy(wsi);
        return 0;
    }
    if (reason == LWS_CALLBACK_HTTP || reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) {
        hub_heads_done(hub, wsi); /* its head is here */
    }
    /* lws calls some reasons without session memory (a request that overflowed
     * the header space is closed before any was allocated): nothing of ours
     * exists for it, so there is nothing to do but let it go. */
    if (pss == NULL && reason != LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) {
        switch (reason) {
        case LWS_CALLBACK_HTTP:
        case LWS_CALLBACK_HTTP_BODY:
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        case LWS_CALLBACK_HTTP_WRITEABLE:
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        case LWS_CALLBACK_ESTABLISHED:
        case LWS_CALLBACK_RECEIVE:
        case LWS_CALLBACK_SERVER_WRITEABLE:
            return -1;
        default:
            return 0;
        }
    }
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return hub_http_on_request(hub, wsi, pss, in);
    case LWS_CALLBACK_HTTP_BODY:
        /* lws 4.1 on libuv reads a TLS record's text 4 KiB at a time and does
         * not come back for what OpenSSL still holds (no new bytes on the
         * socket wake it): a body stalled until lws's timeout, and the
         * request was dropped unanswered (an audit: API bodies of 15 to
         * 16 KB over TLS). A service pass reads on. */
        if (lws_is_ssl(wsi)) {
            lws_cancel_service(lws_get_context(wsi));
        }
        return hub_http_on_body(hub, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return hub_http_on_body_done(hub, wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return hub_http_on_writeable(hub, wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        hub_http_on_closed(hub, pss);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return hub_conn_on_confirm_upgrade(hub, wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return hub_conn_on_filter(hub, wsi, pss);
    case LWS_CALLBACK_ESTABLISHED:
        return hub_conn_on_established(hub, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return hub_conn_on_receive(hub, wsi, pss, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->conn != NULL) {
            hub_conn_on_alive(pss->conn);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return hub_conn_on_writeable(hub, wsi, pss);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return hub_conn_on_peer_close(pss);
    case LWS_CALLBACK_CLOSED:
        hub_conn_on_closed(hub, pss);
        return 0;
    default:
        return 0;
    }
}
