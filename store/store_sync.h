/*
 * Participant and parent sync (issue 4): enrollments that own their forum
 * rooms, parent links, and the repair tools. Each call is one SQL function
 * that serializes on the student (a row lock), so any interleaving of calls
 * ends in the state of running them one by one.
 */
#ifndef CHATHUB_STORE_SYNC_H
#define CHATHUB_STORE_SYNC_H

#include "store.h"

/* A participant change: user_id joined or left room_id. */
typedef struct store_change {
    int64_t room_id;
    int64_t user_id;
} store_change_t;

/* changes borrowed until the callback returns. */
typedef void (*store_changes_cb)(void *ud, const store_change_t *changes, size_t n,
                                 const char *err);

/*
 * Upsert enrollment id: one FORUM_SUBJECT room (student, teacher, the
 * student's parents) and, with tutor_id > 0, one FORUM_TUTOR room (student,
 * tutor, parents); a replaced teacher or tutor leaves in the same transaction
 * (the changes are these removals); is_active 0 archives the rooms. subject
 * NULL and is_active STORE_KEEP keep what is stored (a new enrollment: no
 * subject, active). Unknown users or wrong roles: store_err_invalid; another
 * student for an existing enrollment: store_err_conflict.
 */
int store_enrollment_put(store_t *st, int64_t id, int64_t student_id, int64_t teacher_id,
                         int64_t tutor_id, const char *subject, int is_active, store_changes_cb cb,
                         void *ud) __attribute__((warn_unused_result));

/* Link (changes: forum rooms the parent joined) or unlink (rooms the parent
 * left). Wrong roles on link: store_err_invalid. Both idempotent. */
int store_parent_link(store_t *st, int64_t student_id, int64_t parent_id, bool link,
                      store_changes_cb cb, void *ud) __attribute__((warn_unused_result));

/* Add every missing parent to every forum room of their child (chathub sync-parents). */
int store_sync_parents(store_t *st, store_changes_cb cb, void *ud)
    __attribute__((warn_unused_result));

typedef struct store_problem {
    const char *problem; /* missing_parent, duplicate_direct, duplicate_forum */
    int64_t room_id;
    const char *detail;
} store_problem_t;

typedef void (*store_check_cb)(void *ud, const store_problem_t *problems, size_t n,
                               const char *err);

/* What breaks the hub's rules in this database (chathub check). */
int store_check(store_t *st, store_check_cb cb, void *ud) __attribute__((warn_unused_result));

typedef struct store_stats {
    int64_t rooms, messages, participants;
    const char *room_types_json; /* {"GROUP":3,...} */
} store_stats_t;

typedef void (*store_stats_cb)(void *ud, const store_stats_t *stats, const char *err);

int store_stats(store_t *st, store_stats_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
