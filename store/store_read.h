/*
 * Read receipts: a participant's last_read_seq, which only moves forward.
 */
#ifndef CHATHUB_STORE_READ_H
#define CHATHUB_STORE_READ_H

#include "store.h"

/* advanced: the stored value moved forward to seq (false: it was already at or
 * past seq, seq is past the room's last message, or the user is no participant). */
typedef void (*store_read_cb)(void *ud, bool advanced, const char *err);

int store_mark_read(store_t *st, int64_t room_id, int64_t user_id, int64_t seq, store_read_cb cb,
                    void *ud) __attribute__((warn_unused_result));

#endif
