/*
 * Request heads libwebsockets 4.1 gets wrong, looked at in a peeked head
 * (head, n bytes) before lws would serve it: each true is a 400.
 */
#ifndef CHATHUB_HUB_LWS_HEADS_H
#define CHATHUB_HUB_LWS_HEADS_H

#include <stdbool.h>
#include <stddef.h>

/* A %00 in the request line's target. */
bool hub_lws_heads_nul_target(const char *head, size_t n);

/* A header name of one character ("X: a"). */
bool hub_lws_heads_short_name(const char *head, size_t n);

/* A last header whose name starts a longer one lws knows ("Cache: v"). */
bool hub_lws_heads_cut_name(const char *head, size_t n);

#endif
