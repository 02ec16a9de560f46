/*
 * Messages: insert with a gapless per-room seq assigned in the same statement,
 * client_id idempotency, and history pages.
 */
#ifndef CHATHUB_STORE_MSG_H
#define CHATHUB_STORE_MSG_H

#include "proto_types.h"
#include "store.h"

typedef struct store_msg_in {
    int64_t room_id;
    int64_t sender_id;   /* 0: a system message with no sender */
    const char *content; /* content_len bytes of UTF-8 */
    size_t content_len;
    const char *client_id; /* NULL or "": not idempotent */
    const char *token;     /* the opaque token the sender's socket was let in with, or NULL */
} store_msg_in_t;

/*
 * duplicate: true when (room, sender, client_id) was stored before and msg is
 * that original. Errors: store_err_not_found (room), store_err_forbidden (sender
 * not a participant), store_err_unauthorized (sender deactivated, or token no
 * longer there), store_err_archived, store_err_unavailable/timeout (it may
 * have been stored: retry with the same client_id).
 */
typedef void (*store_msg_cb)(void *ud, const proto_msg_t *msg, bool duplicate, const char *err);

int store_msg_insert(store_t *st, const store_msg_in_t *in, store_msg_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* after_seq of store_msg_history() when there is none: the newest page. */
#define STORE_SEQ_NONE (-1)

/*
 * A page of at most limit (1..1000) of a room's messages, in ascending seq.
 * after_seq >= 0: the first messages with seq > after_seq (0: from the start),
 * and seq < before_seq when before_seq > 0; has_more: more remain in that range.
 * after_seq STORE_SEQ_NONE: the newest messages with seq < before_seq (before_seq
 * 0: no bound); has_more: older ones remain. Room missing: store_err_not_found.
 */
typedef void (*store_history_cb)(void *ud, const proto_msg_t *msgs, size_t n, bool has_more,
                                 const char *err);

int store_msg_history(store_t *st, int64_t room_id, int64_t before_seq, int64_t after_seq,
                      int limit, store_history_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
