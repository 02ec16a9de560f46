/*
 * What a whole request head asks of the hub's upgrade path (hub_wsock.h):
 * whether it is an upgrade to one of the hub's WebSocket paths, whether it
 * is a sound one, and whether libwebsockets 4.1 could read it, for the
 * mode where lws serves WebSockets. Only looks; answers nothing.
 */
#include "hub_upgrade_head.h"

#include <string.h>

#include "proto_url.h"
#include "proto_wsaccept.h"

bool
hub_upgrade_is_one(const proto_request_t *req)
{
    char path[256];
    int64_t room;

    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
        return false;
    }
    /* Any upgrade: one to another protocol, one without Connection:
     * Upgrade, or one over HTTP/1.0, gets its 426 here
     * (hub_handshake_check_version), where lws would answer 400 or 403, hang
     * up, or upgrade what RFC 9110 §7.8 says to ignore. */
    if (!proto_request_has_header(req, "Upgrade")) {
        return false;
    }
    /* A path lws would answer (404 for anything else under /ws/, and the
     * pages and API) stays lws's. */
    return proto_request_path(req, path, sizeof(path)) > 0 &&
           proto_ws_path_parse(path, &room) != PROTO_WS_NOT_WS;
}

/* One Host line naming the server (RFC 9112 §3.2: none, an empty one for a
 * ws:// target, or two, is 400). Lines of a header are joined with ", ",
 * which no host name holds. */
bool
hub_upgrade_one_host(const proto_request_t *req)
{
    char v[512]; /* a 253-byte name, a port, brackets */
    int n = proto_request_header(req, "Host", v, sizeof(v));

    return n > 0 && memchr(v, ',', (size_t)n) == NULL;
}

/* One Sec-WebSocket-Key, 16 bytes in base64 (RFC 6455 §4.2.1). */
bool
hub_upgrade_one_key(const proto_request_t *req, char key[64])
{
    int n = proto_request_header(req, "Sec-WebSocket-Key", key, 64);

    return n > 0 && proto_ws_key_valid(key, (size_t)n);
}

/* An upgrade lws can serve as well as the hub: HTTP/1.1 with one Host, to
 * websocket, with Connection: Upgrade and one good key (RFC 6455 §4.1;
 * lws 4.1 hangs up on no Host, an empty one or a long key, and upgrades
 * two keys). */
bool
hub_upgrade_sound(const proto_request_t *req)
{
    char key[64];

    return req->minor >= 1 && hub_upgrade_one_host(req) &&
           proto_request_lists(req, "Upgrade", "websocket") &&
           proto_request_lists(req, "Connection", "upgrade") && hub_upgrade_one_key(req, key);
}

/* lws 4.1 reads Connection into 128 bytes and hangs up, without a status,
 * on a longer value: up to 126 bytes it upgrades. */
#define LWS_CONNECTION_MAX 126

bool
hub_upgrade_lws_reads(const proto_request_t *req)
{
    char v[LWS_CONNECTION_MAX + 1];

    return proto_request_header(req, "Connection", v, sizeof(v)) >= 0;
}
