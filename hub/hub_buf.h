/*
 * Refcounted frame buffers: a server frame is serialized once, with LWS_PRE
 * bytes of headroom for the WebSocket header, and every receiver's queue holds
 * a reference to the same bytes.
 */
#ifndef CHATHUB_HUB_BUF_H
#define CHATHUB_HUB_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct hub_buf hub_buf_t;

/* A buffer of payload_len bytes (uninitialized), refcount 1. Aborts on OOM. */
hub_buf_t *hub_buf_new(size_t payload_len);

/* A buffer holding a copy of len bytes of data, refcount 1. */
hub_buf_t *hub_buf_from(const void *data, size_t len);

/* A buffer that takes over s (a malloc'd string of len bytes): copies it once and frees s. */
hub_buf_t *hub_buf_take(char *s, size_t len);

hub_buf_t *hub_buf_ref(hub_buf_t *b); /* returns b */
void hub_buf_unref(hub_buf_t *b);     /* frees at 0; NULL is fine */

/* When the message this frame carries reached the node (uv_hrtime() in µs),
 * for the delivery latency histogram; 0 (the default): not measured. */
void hub_buf_set_born(hub_buf_t *b, uint64_t us);
uint64_t hub_buf_born(const hub_buf_t *b);

/* The payload; LWS_PRE writable bytes precede it. */
unsigned char *hub_buf_payload(hub_buf_t *b);
size_t hub_buf_len(const hub_buf_t *b);

#endif
