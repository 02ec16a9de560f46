/*
 * Presence frames put in Redis's order (see hub_presence_order.h). The online
 * list is the frame's last field (proto_build_presence), and its key cannot
 * occur unescaped inside the user object's strings, so the last "online": of
 * a frame starts it.
 */
#include "hub_presence_order.h"

#include <stdlib.h>
#include <string.h>

#include "hub_presence_settle.h"
#include "proto_num.h"
#include "xalloc.h"

static const char online_key[] = "\"online\":";
static const char user_key[] = "\"user\":{\"id\":";

/* Users of frames delivered while a read is in flight that a track keeps. */
#define TRACK_TOUCHED_MAX 1024

/* Reads are numbered across rooms: a room freed and made again while its
 * old read is in flight must not take that read's answer for its own. */
static uint32_t track_gen;

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

/* The user a presence frame is about (proto_build_presence writes the user
 * object's id first); 0 when there is none. */
static int64_t
frame_user(hub_buf_t *frame)
{
    const char *p = (const char *)hub_buf_payload(frame);
    size_t len = hub_buf_len(frame), k = sizeof(user_key) - 1;
    int64_t id = 0;

    for (size_t i = 0; i + k < len; i++) {
        if (memcmp(p + i, user_key, k) == 0) {
            for (i += k; i < len && p[i] >= '0' && p[i] <= '9' && id < INT64_MAX / 10 - 9; i++) {
                id = id * 10 + (p[i] - '0');
            }
            return id;
        }
    }
    return 0;
}

/* Where user is, or would go, in a sorted array of n ids. */
static size_t
slot(const int64_t *ids, size_t n, int64_t user)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < user) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static size_t
cover_slot(const hub_room_t *room, int64_t user)
{
    size_t lo = 0, hi = room->ncover;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (room->cover[mid].user < user) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void
cover_del(hub_room_t *room, size_t i)
{
    memmove(room->cover + i, room->cover + i + 1, (room->ncover - i - 1) * sizeof(*room->cover));
    room->ncover--;
}

void
hub_presence_cover(hub_room_t *room, int64_t user, int64_t version)
{
    size_t i = cover_slot(room, user);

    if (version <= room->presence_floor) {
        return;
    }
    if (i < room->ncover && room->cover[i].user == user) {
        if (version > room->cover[i].version) {
            room->cover[i].version = version;
        }
        return;
    }
    if (room->ncover == room->covercap) {
        room->covercap = room->covercap > 0 ? room->covercap * 2 : 8;
        room->cover = xrealloc(room->cover, room->covercap * sizeof(*room->cover));
    }
    memmove(room->cover + i + 1, room->cover + i, (room->ncover - i) * sizeof(*room->cover));
    room->cover[i] = (hub_presence_cover_t){user, version};
    room->ncover++;
}

/* Whether numbered event version about user is settled by a late answer
 * already; a newer one ends the cover. */
static bool
covered(hub_room_t *room, int64_t user, int64_t version)
{
    size_t i = cover_slot(room, user);

    if (i == room->ncover || room->cover[i].user != user) {
        return false;
    }
    if (version <= room->cover[i].version) {
        return true;
    }
    cover_del(room, i);
    return false;
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
    if (version > 0 && room->ncover > 0 && covered(room, frame_user(frame), version)) {
        return NULL;
    }
    hub_buf_t *b = ordered(room, version, frame);
    seen_frame(room, b);
    if (room->presence_track != NULL) {
        hub_presence_touch(room, frame_user(frame));
    }
    if (room->settle != NULL) {
        hub_presence_settle_forget(room, frame_user(frame));
    }
    return b;
}

uint32_t
hub_presence_track_start(hub_room_t *room, int64_t *base, size_t n)
{
    hub_presence_track_t *t = room->presence_track;

    if (t == NULL) {
        t = room->presence_track = xcalloc(1, sizeof(*t));
    }
    free(t->base);
    t->gen = ++track_gen != 0 ? track_gen : ++track_gen; /* 0 names no read */
    t->base = base;
    t->nbase = n;
    t->ntouched = 0;
    t->overflow = false;
    if (n > 1) {
        qsort(base, n, sizeof(int64_t), proto_i64_cmp);
    }
    return t->gen;
}

bool
hub_presence_track_busy(const hub_room_t *room)
{
    return room->presence_track != NULL;
}

void
hub_presence_touch(hub_room_t *room, int64_t user)
{
    hub_presence_track_t *t = room->presence_track;
    size_t i;

    if (t == NULL) {
        return;
    }
    i = slot(t->touched, t->ntouched, user);
    if (i < t->ntouched && t->touched[i] == user) {
        return;
    }
    if (t->ntouched == TRACK_TOUCHED_MAX) {
        t->overflow = true;
        return;
    }
    if (t->ntouched == t->cap) {
        t->cap = t->cap > 0 ? t->cap * 2 : 16;
        t->touched = xrealloc(t->touched, t->cap * sizeof(int64_t));
    }
    memmove(t->touched + i + 1, t->touched + i, (t->ntouched - i) * sizeof(int64_t));
    t->touched[i] = user;
    t->ntouched++;
}

hub_presence_track_t *
hub_presence_track_take(hub_room_t *room, uint32_t gen)
{
    hub_presence_track_t *t = room->presence_track;

    if (t == NULL || t->gen != gen) {
        return NULL;
    }
    room->presence_track = NULL;
    return t;
}

bool
hub_presence_track_touched(const hub_presence_track_t *t, int64_t user)
{
    size_t i = slot(t->touched, t->ntouched, user);

    return i < t->ntouched && t->touched[i] == user;
}

void
hub_presence_track_free(hub_presence_track_t *t)
{
    if (t != NULL) {
        free(t->base);
        free(t->touched);
        free(t);
    }
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

bool
hub_presence_seen_has(const hub_room_t *room, int64_t user, bool unknown)
{
    int64_t *seen;
    size_t n;
    bool has = false;

    if (room == NULL || hub_presence_seen(room, &seen, &n) < 0) {
        return unknown;
    }
    for (size_t i = 0; i < n && !has; i++) {
        has = seen[i] == user;
    }
    free(seen);
    return has;
}

bool
hub_presence_seen_newer(const hub_room_t *room, int64_t user, int64_t last, int64_t **ids,
                        size_t *n)
{
    int64_t *seen;
    size_t nseen, i = 0;

    if (room == NULL || last <= 0 || last >= room->presence_version ||
        hub_presence_seen(room, &seen, &nseen) < 0) {
        return false;
    }
    seen = xrealloc(seen, (nseen + 1) * sizeof(int64_t));
    while (i < nseen && seen[i] != user) {
        i++;
    }
    if (i == nseen && user > 0) { /* 0: the server API's read, no socket's user */
        seen[nseen++] = user;
    }
    free(*ids);
    *ids = seen;
    *n = nseen;
    return true;
}

void
hub_presence_resynced(hub_room_t *room, int64_t version, hub_buf_t *last)
{
    if (version > room->presence_floor) {
        room->presence_floor = version;
        for (size_t i = room->ncover; i > 0; i--) {
            if (room->cover[i - 1].version <= version) {
                cover_del(room, i - 1); /* the floor drops those events now */
            }
        }
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
