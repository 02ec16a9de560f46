/*
 * Plain value types shared by protocol/, store/ and hub/: users, rooms,
 * messages and participants as the wire shows them. All strings are borrowed
 * unless a function says otherwise.
 */
#ifndef CHATHUB_PROTO_TYPES_H
#define CHATHUB_PROTO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_CLIENT_ID_MAX 128 /* bytes; longer client_id is bad_request */
#define PROTO_HISTORY_LIMIT_MAX 100
#define PROTO_HISTORY_LIMIT_DEFAULT 50

typedef struct proto_user {
    int64_t id;            /* 0: no user (a system message's sender is null) */
    const char *full_name; /* never NULL when id != 0 */
    const char *role;      /* student, teacher, tutor, parent, admin */
} proto_user_t;

typedef struct proto_room {
    int64_t id;
    const char *type; /* GENERAL, FORUM_SUBJECT, FORUM_TUTOR, GROUP, DIRECT */
    const char *name;
} proto_room_t;

typedef struct proto_msg {
    int64_t id;
    int64_t room_id;
    int64_t seq;
    proto_user_t sender; /* sender.id == 0: "sender":null */
    const char *content; /* UTF-8, content_len bytes, may contain NUL */
    size_t content_len;
    const char *created_at; /* "2026-11-22T10:15:30.123Z" */
    const char *client_id;  /* NULL: "client_id":null */
} proto_msg_t;

typedef struct proto_participant {
    proto_user_t user;
    bool online;
    int64_t last_read_seq;
} proto_participant_t;

#endif
