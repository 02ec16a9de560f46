/*
 * Presence frames put in Redis's order (see hub_presence_order.h). The online
 * list is the frame's last field (proto_build_presence), and its key cannot
 * occur unescaped inside the user object's strings, so the last "online": of
 * a frame starts it.
 */
#include "hub_presence_order.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char online_key[] = "\"online\":";

static const unsigned char *
online_field(const unsigned char *s, size_t len)
{
    size_t k = sizeof(online_key) - 1;

    for (size_t i = len >= k ? len - k + 1 : 0; i > 0; i--) {
        if (memcmp(s + i - 1, online_key, k) == 0) {
            return s + i - 1;
        }
    }
    return NULL;
}

static void
seen_frame(hub_room_t *room, hub_buf_t *frame)
{
    hub_buf_unref(room->presence_seen);
    room->presence_seen = hub_buf_ref(frame);
    free(room->seen_ids);
    room->seen_ids = NULL;
    room->seen_n = 0;
}

static hub_buf_t *
ordered(hub_room_t *room, int64_t version, hub_buf_t *frame)
{
    if (version <= 0) {
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

hub_buf_t *
hub_presence_order(hub_room_t *room, int64_t version, hub_buf_t *frame)
{
    if (room == NULL) {
        return hub_buf_ref(frame);
    }
    if (version > 0 && version <= room->presence_floor) {
        return NULL;
    }
    hub_buf_t *b = ordered(room, version, frame);
    seen_frame(room, b);
    return b;
}

void
hub_presence_order_note(hub_room_t *room, int64_t version, hub_buf_t *frame)
{
    if (room != NULL && version > 0) {
        hub_buf_unref(ordered(room, version, frame));
    }
}

void
hub_presence_seen_ids(hub_room_t *room, const int64_t *ids, size_t n)
{
    /* A later socket's answer is its own view, not the room's: it may count
     * an event the others have not had yet, or (Redis away) fewer users. */
    if (room->presence_seen != NULL || room->seen_ids != NULL) {
        return;
    }
    room->seen_ids = xmalloc((n > 0 ? n : 1) * sizeof(int64_t));
    if (n > 0) {
        memcpy(room->seen_ids, ids, n * sizeof(int64_t));
    }
    room->seen_n = n;
}

/* "[7,9,12]" at s (len bytes) → a new array. */
static int
parse_list(const unsigned char *s, size_t len, int64_t **ids, size_t *n)
{
    size_t max = 0, k = 0;

    if (len == 0 || s[0] != '[') {
        return -1;
    }
    for (size_t i = 0; i < len && s[i] != ']'; i++) {
        max += s[i] == ',';
    }
    *ids = xcalloc(max + 1, sizeof(int64_t));
    for (size_t i = 1; i < len && s[i] != ']' && k <= max;) {
        uint64_t v = 0; /* unsigned: an overlong number wraps, never overflows */
        bool digits = false;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (uint64_t)(s[i++] - '0');
            digits = true;
        }
        if (digits) {
            (*ids)[k++] = (int64_t)v;
        }
        if (i < len && s[i] == ',') {
            i++;
        } else if (!digits) {
            break;
        }
    }
    *n = k;
    if (k == 0) {
        free(*ids);
        *ids = NULL;
    }
    return 0;
}

int
hub_presence_seen(const hub_room_t *room, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if (room->seen_ids != NULL) {
        if (room->seen_n > 0) {
            *ids = xmalloc(room->seen_n * sizeof(int64_t));
            memcpy(*ids, room->seen_ids, room->seen_n * sizeof(int64_t));
            *n = room->seen_n;
        }
        return 0;
    }
    if (room->presence_seen == NULL) {
        return -1;
    }
    hub_buf_t *f = room->presence_seen;
    const unsigned char *p = hub_buf_payload(f), *o = online_field(p, hub_buf_len(f));
    if (o == NULL) {
        return -1;
    }
    o += sizeof(online_key) - 1;
    return parse_list(o, (size_t)(p + hub_buf_len(f) - o), ids, n);
}

void
hub_presence_resynced(hub_room_t *room, int64_t version, hub_buf_t *last)
{
    if (version > room->presence_floor) {
        room->presence_floor = version;
    }
    if (last == NULL) {
        return;
    }
    if (version > room->presence_version) {
        room->presence_version = version;
    }
    if (version > 0) {
        hub_buf_unref(room->presence_last);
        room->presence_last = hub_buf_ref(last);
    }
    seen_frame(room, last);
}
