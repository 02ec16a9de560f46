/*
 * Users as the platform pushes them (PUT /api/v1/users/{id}).
 */
#ifndef CHATHUB_STORE_USER_H
#define CHATHUB_STORE_USER_H

#include "store.h"

/* The user as stored after the upsert; full_name borrowed until the callback
 * returns (NULL on error). renamed: an existing user's full_name or role
 * changed (what their open sockets show of them is now stale). */
typedef void (*store_user_cb)(void *ud, const char *full_name, bool is_active, bool renamed,
                              const char *err);

/*
 * Upsert user id. role must be student, teacher, tutor, parent or admin (else
 * store_err_invalid). full_name is stored as given (UTF-8); NULL keeps the
 * stored one ("" for a new user). is_active is 1, 0 or STORE_KEEP (a new
 * user is active), so a call that leaves a field out never resets it.
 */
int store_user_upsert(store_t *st, int64_t id, const char *full_name, const char *role,
                      int is_active, store_user_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* One user as stored; strings borrowed until the callback returns. */
typedef struct store_user_row {
    int64_t id;
    const char *full_name;
    const char *role;
} store_user_row_t;

typedef void (*store_users_cb)(void *ud, const store_user_row_t *rows, size_t n, const char *err);

/* The users of ids (n >= 1) as stored now, in one statement; ids unknown to
 * the store are left out (hub_rename.c reads renamed users again). */
int store_users_read(store_t *st, const int64_t *ids, size_t n, store_users_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* User id was disconnected (POST /api/v1/users/{id}/disconnect) at made_ms,
 * the cluster clock: sockets opened before it are closed by a re-check
 * (store_room_check_members). A later mark replaces an earlier one; an
 * unknown user is no error. */
int store_user_mark_disconnected(store_t *st, int64_t id, int64_t made_ms, store_done_cb cb,
                                 void *ud) __attribute__((warn_unused_result));

#endif
