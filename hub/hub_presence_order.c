/*
 * Presence frames put in Redis's order (see hub_presence_order.h). The online
 * list is the frame's last field (proto_build_presence), and its key cannot
 * occur unescaped inside the user object's strings, so the last "online": of
 * a frame starts it.
 */
#include "hub_presence_order.h"

#include <string.h>

static const unsigned char *
online_field(const unsigned char *s, size_t len)
{
    static const char key[] = "\"online\":";
    size_t k = sizeof(key) - 1;

    for (size_t i = len >= k ? len - k + 1 : 0; i > 0; i--) {
        if (memcmp(s + i - 1, key, k) == 0) {
            return s + i - 1;
        }
    }
    return NULL;
}

hub_buf_t *
hub_presence_order(hub_room_t *room, int64_t version, hub_buf_t *frame)
{
    if (version <= 0 || room == NULL) {
        return hub_buf_ref(frame);
    }
    if (version > room->presence_version) {
        room->presence_version = version;
        hub_buf_unref(room->presence_last);
        room->presence_last = hub_buf_ref(frame);
        return hub_buf_ref(frame);
    }
    const unsigned char *old = hub_buf_payload(frame);
    const unsigned char *newer = hub_buf_payload(room->presence_last);
    size_t olen = hub_buf_len(frame), nlen = hub_buf_len(room->presence_last);
    const unsigned char *o = online_field(old, olen), *n = online_field(newer, nlen);
    if (o == NULL || n == NULL) {
        return hub_buf_ref(frame);
    }
    size_t head = (size_t)(o - old), tail = (size_t)(newer + nlen - n);
    hub_buf_t *b = hub_buf_new(head + tail);
    memcpy(hub_buf_payload(b), old, head);
    memcpy(hub_buf_payload(b) + head, n, tail);
    return b;
}
