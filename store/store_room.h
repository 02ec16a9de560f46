/*
 * Room resolution at connect time and room/participant writes of the server
 * API. Every write is one statement (or one SQL function), so it is atomic and
 * idempotent; uniqueness lives in the schema, never in check-then-insert.
 */
#ifndef CHATHUB_STORE_ROOM_H
#define CHATHUB_STORE_ROOM_H

#include "proto_types.h"
#include "store.h"

typedef enum store_room_kind {
    STORE_ROOM_BY_ID = 1, /* the room named by id */
    STORE_ROOM_FALLBACK,  /* the user's first available room: latest activity, then lowest id */
    STORE_ROOM_GENERAL,   /* the single GENERAL room; the user becomes a participant */
} store_room_kind_t;

typedef struct store_join {
    proto_user_t user;
    proto_room_t room;
    bool archived;
    int64_t last_seq;
    const proto_participant_t *parts; /* every participant; online is always false here */
    size_t nparts;
} store_join_t;

/*
 * One round trip that authorizes a socket: the user exists and is active
 * (else store_err_unauthorized), the room exists (else store_err_not_found; for
 * FALLBACK also when the user has no room), the user is a participant (else
 * store_err_forbidden; GENERAL adds them). j is borrowed until cb returns.
 */
typedef void (*store_join_cb)(void *ud, const store_join_t *j, const char *err);

int store_room_join(store_t *st, int64_t user_id, store_room_kind_t kind, int64_t room_id,
                    store_join_cb cb, void *ud) __attribute__((warn_unused_result));

/* The last seqs of the rooms asked for that exist: n rows of ids[i] and
 * seqs[i] (borrowed until cb returns), in no particular order. */
typedef void (*store_seqs_cb)(void *ud, const int64_t *ids, const int64_t *seqs, size_t n,
                              const char *err);

/* The rooms' last seqs now, in one statement (a node checks the rooms whose
 * subscriptions Redis confirmed in one turn of its loop). */
int store_room_last_seqs(store_t *st, const int64_t *room_ids, size_t n, store_seqs_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Sockets a node re-checks (hub_recheck.c): user users[i] in room rooms[i],
 * signed in with opaque token keys[i] ("" for a JWT), opened at opened_ms[i]
 * (the cluster clock). cb gets the indexes of the ones no longer allowed,
 * bad[i], and why, errs[i]: store_err_unauthorized (user unknown or inactive,
 * token gone), store_err_forbidden (not a participant of the room any more)
 * or store_err_disconnected (the user was disconnected after it opened:
 * store_user_mark_disconnected); both borrowed until cb returns. */
typedef void (*store_members_cb)(void *ud, const size_t *bad, const char *const *errs, size_t nbad,
                                 const char *err);

/* One statement for all n (n >= 1). */
int store_room_check_members(store_t *st, const int64_t *users, const int64_t *rooms,
                             const char *const *keys, const int64_t *opened_ms, size_t n,
                             store_members_cb cb, void *ud) __attribute__((warn_unused_result));

/* Rooms created by the hub get ids from this value up, so that ids a platform
 * PUTs (below it) never collide with them. */
#define STORE_ROOM_HUB_ID_BASE INT64_C(1000000000000000)

/* created: false when the room already existed (DIRECT pair, PUT of an existing id). */
typedef void (*store_room_cb)(void *ud, int64_t room_id, bool created, const char *err);

/*
 * POST /api/v1/rooms: type GROUP or DIRECT (DIRECT: exactly two distinct members,
 * unique per pair: the existing room is returned). Unknown member: store_err_invalid.
 */
int store_room_create(store_t *st, const char *type, const char *name, const int64_t *members,
                      size_t nmembers, store_room_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* The key was first used for a request with another type, name or member set. */
extern const char store_err_key_reused[];

/*
 * POST /api/v1/rooms with an Idempotency-Key: as store_room_create, once per
 * key (kept 24 hours). The key's first call makes the room (created as for
 * store_room_create); a later or concurrent call with the same type, name and
 * member set gets that room with created false; with others, store_err_key_reused.
 * key NULL: exactly store_room_create.
 */
int store_room_create_once(store_t *st, const char *key, const char *type, const char *name,
                           const int64_t *members, size_t nmembers, store_room_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* store_room_put's answer: as store_room_cb's, and the users that members
 * took out of the room (removed, borrowed until the callback returns). */
typedef void (*store_room_put_cb)(void *ud, int64_t room_id, bool created, const int64_t *removed,
                                  size_t nremoved, const char *err);

/*
 * PUT /api/v1/rooms/{id}: upsert under the caller's id (id < STORE_ROOM_HUB_ID_BASE)
 * with type and name; with has_members, participants become exactly members,
 * and cb hears who was removed. A DIRECT room needs exactly two distinct
 * members (else store_err_invalid) and is unique per pair like
 * store_room_create's: when another room holds the pair, cb gets
 * store_err_conflict with that room's id as room_id, and nothing changed.
 */
int store_room_put(store_t *st, int64_t id, const char *type, const char *name, bool has_members,
                   const int64_t *members, size_t nmembers, store_room_put_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Add a participant (idempotent). Room missing: store_err_not_found; user missing:
 * store_err_invalid; a DIRECT room and a user not of its pair: store_err_conflict. */
int store_participant_add(store_t *st, int64_t room_id, int64_t user_id, store_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Remove a participant (idempotent). Room missing: store_err_not_found; user
 * missing: store_err_invalid. */
int store_participant_remove(store_t *st, int64_t room_id, int64_t user_id, store_done_cb cb,
                             void *ud) __attribute__((warn_unused_result));

#endif
