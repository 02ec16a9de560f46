/* hub_presence_order: Redis's order of presence events, the list a room's
 * sockets saw last, and the events a resync already counts. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "hub_presence_order.h"
#include "proto_build.h"

static hub_buf_t *
frame(const char *event, int64_t user, const int64_t *online, size_t n)
{
    proto_user_t u = {user, "User", "student"};
    size_t len;
    char *json = proto_build_user(&u, &len);
    char *s = proto_build_presence(12, event, json, online, n, &len);

    free(json);
    return hub_buf_take(s, len);
}

static int
seen_is(const hub_room_t *room, const int64_t *want, size_t n)
{
    int64_t *ids;
    size_t got;
    int same;

    if (hub_presence_seen(room, &ids, &got) < 0) {
        return 0;
    }
    same = got == n && (n == 0 || memcmp(ids, want, n * sizeof(int64_t)) == 0);
    free(ids);
    return same;
}

static void
test_seen_follows_frames_and_the_first_connect_answer(void)
{
    hub_room_t room = {.id = 12};
    int64_t *ids;
    size_t n;
    const int64_t a[] = {7, 9}, b[] = {7, 9, 1234567890123}, none[] = {0};

    ok(hub_presence_seen(&room, &ids, &n) < 0, "nothing delivered yet: not known");
    hub_presence_seen_ids(&room, b, 3);
    ok(seen_is(&room, b, 3), "the room's first connect answer is its list");
    hub_presence_seen_ids(&room, a, 2);
    ok(seen_is(&room, b, 3), "a later socket's answer is its own view, not the room's");
    hub_buf_t *f = frame("join", 9, a, 2), *out = hub_presence_order(&room, 0, f);
    ok(out == f, "an unnumbered event goes as it is");
    ok(seen_is(&room, a, 2), "the frame's online list is what they saw");
    hub_buf_unref(out);
    hub_buf_unref(f);
    f = frame("leave", 9, none, 0);
    out = hub_presence_order(&room, 0, f);
    ok(seen_is(&room, none, 0), "an empty online list parses as empty");
    hub_buf_unref(out);
    hub_buf_unref(f);
    f = hub_buf_from("{\"online\":[99999999999999999999999,5]}", 38);
    out = hub_presence_order(&room, 0, f);
    ok(hub_presence_seen(&room, &ids, &n) == 0 && n == 2 && ids[1] == 5,
       "an overlong number does not stop the list");
    free(ids);
    hub_buf_unref(out);
    hub_buf_unref(f);
    hub_buf_unref(room.presence_seen);
    hub_buf_unref(room.presence_last);
    free(room.seen_ids);
}

static void
test_older_event_carries_newer_list(void)
{
    hub_room_t room = {.id = 12};
    const int64_t newer[] = {7}, older[] = {7, 9};
    hub_buf_t *n = frame("leave", 9, newer, 1), *o = frame("leave", 8, older, 2);
    hub_buf_t *a = hub_presence_order(&room, 5, n), *b = hub_presence_order(&room, 4, o);

    ok(a == n && room.presence_version == 5, "the newest event goes as it is");
    ok(b != o && strstr((const char *)hub_buf_payload(b), "\"online\":[7]}") != NULL &&
           strstr((const char *)hub_buf_payload(b), "\"id\":8") != NULL,
       "an older one keeps its user and takes the newer list");
    ok(seen_is(&room, newer, 1), "and the sockets saw the newer list");
    hub_buf_unref(a);
    hub_buf_unref(b);
    hub_buf_unref(n);
    hub_buf_unref(o);
    hub_buf_unref(room.presence_seen);
    hub_buf_unref(room.presence_last);
}

static void
test_a_noted_event_orders_without_being_seen(void)
{
    hub_room_t room = {.id = 12};
    const int64_t before[] = {7, 8, 9}, after[] = {7, 9}, stale[] = {7, 8, 9, 5};
    hub_buf_t *first = frame("join", 9, before, 3), *noted = frame("leave", 8, after, 2);
    hub_buf_t *old = frame("join", 5, stale, 4);
    hub_buf_t *a = hub_presence_order(&room, 3, first);

    hub_presence_order_note(&room, 5, noted);
    ok(room.presence_version == 5, "an event not delivered here still counts");
    ok(seen_is(&room, before, 3), "but the sockets did not see its list");
    hub_buf_t *b = hub_presence_order(&room, 4, old);
    ok(b != old && strstr((const char *)hub_buf_payload(b), "\"online\":[7,9]}") != NULL,
       "an older event arriving later goes with the noted event's list");
    hub_presence_order_note(NULL, 6, noted);
    ok(room.presence_version == 5, "no room: nothing to note");
    hub_buf_unref(a);
    hub_buf_unref(b);
    hub_buf_unref(first);
    hub_buf_unref(noted);
    hub_buf_unref(old);
    hub_buf_unref(room.presence_seen);
    hub_buf_unref(room.presence_last);
}

static void
test_a_read_tracks_the_frames_sent_while_in_flight(void)
{
    hub_room_t room = {.id = 12};
    const int64_t online[] = {7, 9};
    int64_t *base = malloc(2 * sizeof(int64_t));
    hub_buf_t *f = frame("join", 9, online, 2), *out;

    base[0] = 9;
    base[1] = 7;
    out = hub_presence_order(&room, 1, f);
    hub_buf_unref(out);
    ok(room.presence_track == NULL, "no read in flight: nothing tracked");
    uint32_t gen = hub_presence_track_start(&room, base, 2);
    ok(gen != 0 && room.presence_track->base[0] == 7 && room.presence_track->base[1] == 9,
       "a read's list is kept, sorted");
    out = hub_presence_order(&room, 2, f);
    hub_buf_unref(out);
    hub_presence_touch(&room, 4);
    ok(hub_presence_track_take(&room, gen + 1) == NULL, "a newer read's answer does not take it");
    hub_presence_track_t *t = hub_presence_track_take(&room, gen);
    ok(t != NULL && room.presence_track == NULL, "its own answer does");
    ok(hub_presence_track_touched(t, 9) && hub_presence_track_touched(t, 4) &&
           !hub_presence_track_touched(t, 7),
       "the users of the frames sent since, from the frame's user object");
    hub_presence_track_free(t);
    uint32_t next = hub_presence_track_start(&room, NULL, 0);
    for (int i = 0; i < 1025; i++) {
        hub_presence_touch(&room, i + 1);
    }
    ok(room.presence_track->overflow, "past 1,024 frames the read cannot be compared");
    ok(next == gen + 1 && hub_presence_track_take(&room, gen) == NULL,
       "reads are numbered: an older read's answer does not take a newer track");
    hub_presence_track_free(room.presence_track);
    hub_buf_unref(f);
    hub_buf_unref(room.presence_seen);
    hub_buf_unref(room.presence_last);
}

static void
test_resync_counts_older_events(void)
{
    hub_room_t room = {.id = 12};
    const int64_t now[] = {3, 7}, later[] = {3, 4, 7};
    hub_buf_t *r = frame("join", 3, now, 2), *late = frame("leave", 9, now, 2);
    hub_buf_t *next = frame("join", 4, later, 3);

    hub_presence_resynced(&room, 10, r);
    ok(room.presence_floor == 10 && room.presence_version == 10, "a resync's number is counted");
    ok(seen_is(&room, now, 2), "its frame is what the sockets saw");
    ok(hub_presence_order(&room, 10, late) == NULL, "an event the read counted is dropped");
    ok(hub_presence_order(&room, 3, late) == NULL, "an older one too");
    hub_buf_t *out = hub_presence_order(&room, 11, next);
    ok(out == next, "a newer event goes");
    ok(seen_is(&room, later, 3), "and its list is seen");
    hub_presence_resynced(&room, 0, NULL);
    ok(room.presence_floor == 10 && room.presence_version == 11,
       "a read of a Redis without numbers changes no number");
    hub_buf_unref(out);
    hub_buf_unref(r);
    hub_buf_unref(late);
    hub_buf_unref(next);
    hub_buf_unref(room.presence_seen);
    hub_buf_unref(room.presence_last);
}

int
main(void)
{
    test_seen_follows_frames_and_the_first_connect_answer();
    test_older_event_carries_newer_list();
    test_a_noted_event_orders_without_being_seen();
    test_a_read_tracks_the_frames_sent_while_in_flight();
    test_resync_counts_older_events();
    return tap_done();
}
