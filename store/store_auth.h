/*
 * Authentication lookups: opaque tokens (Django REST framework authtoken
 * style, 40 hex characters) and their lifecycle.
 */
#ifndef CHATHUB_STORE_AUTH_H
#define CHATHUB_STORE_AUTH_H

#include "store.h"

/* user_id > 0 on success; err store_err_unauthorized for an unknown key. */
typedef void (*store_token_cb)(void *ud, int64_t user_id, const char *err);

int store_token_lookup(store_t *st, const char *key, size_t key_len, store_token_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Insert key for user_id (idempotent for the same pair). err store_err_invalid
 * when the user does not exist, store_err_conflict when key belongs to another user. */
int store_token_create(store_t *st, int64_t user_id, const char *key, store_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Delete key. user_id of its owner, or err store_err_not_found. */
int store_token_delete(store_t *st, const char *key, store_token_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
