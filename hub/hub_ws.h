/*
 * The one lws protocol callback of the hub ("chathub.v1", also serving HTTP).
 */
#ifndef CHATHUB_HUB_WS_H
#define CHATHUB_HUB_WS_H

#include <libwebsockets.h>

int hub_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

#endif
