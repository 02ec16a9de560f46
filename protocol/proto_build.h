/*
 * Server → client frames (PROTOCOL.md §2), written as JSON text directly. Each builder
 * returns a new NUL-terminated string (compact JSON) that the caller frees with
 * free(), and stores its length in *len. Never NULL (OOM aborts).
 */
#ifndef CHATHUB_PROTO_BUILD_H
#define CHATHUB_PROTO_BUILD_H

#include <cjson/cJSON.h>

#include "proto_err.h"
#include "proto_types.h"

/* An integer as JSON, printed exactly. cJSON prints doubles with %.15g and an
 * approximate round-trip check, which mangles ids past 15 digits. */
cJSON *proto_json_int(int64_t v);

/* {"id","full_name","role"}, the same bytes as the user in frames; a user with
 * id 0 is null. Caller frees it. */
char *proto_build_user(const proto_user_t *u, size_t *len);

/* The message object of a chat_message frame ({"id","room_id","seq","sender",
 * "content","created_at","client_id"}). Caller owns the returned tree. */
cJSON *proto_msg_json(const proto_msg_t *m);

/* resumed_from < 0: "resumed_from":null. resume_truncated is only written when true. */
char *proto_build_established(const proto_room_t *room, const proto_user_t *user,
                              const proto_participant_t *parts, size_t nparts, int64_t last_seq,
                              int64_t resumed_from, bool resume_truncated, size_t *len);

char *proto_build_chat_message(const proto_msg_t *m, size_t *len);

/* msgs in ascending seq order. client_id: the request's, echoed; NULL or "": none. */
char *proto_build_history(int64_t room_id, const proto_msg_t *msgs, size_t n, bool has_more,
                          const char *client_id, size_t *len);

/* event is "join" or "leave"; user_json is the user as proto_build_user()
 * wrote it (presence keeps users that way); online is the full current list
 * of user ids, in any order: the frame lists them ascending. */
char *proto_build_presence(int64_t room_id, const char *event, const char *user_json,
                           const int64_t *online, size_t nonline, size_t *len);

char *proto_build_typing(int64_t room_id, const proto_user_t *user, bool is_typing, size_t *len);

char *proto_build_read(int64_t room_id, int64_t user_id, int64_t seq, size_t *len);

char *proto_build_pong(size_t *len);

/* message NULL: proto_err_message(err). client_id NULL or "": no "client_id" key. */
char *proto_build_error(proto_err_t err, const char *message, const char *client_id, size_t *len);

#endif
