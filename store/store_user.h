/*
 * Users as the platform pushes them (PUT /api/v1/users/{id}).
 */
#ifndef CHATHUB_STORE_USER_H
#define CHATHUB_STORE_USER_H

#include "store.h"

/* Upsert. role must be student, teacher, tutor, parent or admin (else store_err_invalid).
 * full_name is stored as given (UTF-8). */
int store_user_upsert(store_t *st, int64_t id, const char *full_name, const char *role,
                      bool is_active, store_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
