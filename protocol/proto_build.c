/*
 * Server frames. Each builder makes one compact JSON string; the hub
 * serializes a frame once and hands the same bytes to every socket, which is
 * what makes the message object identical for sender and receivers.
 */
#include "proto_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

cJSON *
proto_json_int(int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return cJSON_CreateRaw(buf);
}

static void
add_int(cJSON *o, const char *key, int64_t v)
{
    cJSON_AddItemToObject(o, key, proto_json_int(v));
}

/* A string field; NULL becomes JSON null. */
static void
add_str(cJSON *o, const char *key, const char *s)
{
    cJSON_AddItemToObject(o, key, s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static char *
finish(cJSON *o, size_t *len)
{
    char *s = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    if (s == NULL) {
        abort(); /* only on OOM, and xmalloc aborts first */
    }
    *len = strlen(s);
    return s;
}

static cJSON *
frame(const char *type)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "type", type);
    return o;
}

cJSON *
proto_user_json(const proto_user_t *u)
{
    cJSON *o;

    if (u == NULL || u->id == 0) {
        return cJSON_CreateNull();
    }
    o = cJSON_CreateObject();
    add_int(o, "id", u->id);
    add_str(o, "full_name", u->full_name != NULL ? u->full_name : "");
    add_str(o, "role", u->role);
    return o;
}

cJSON *
proto_msg_json(const proto_msg_t *m)
{
    cJSON *o = cJSON_CreateObject();
    /* Content is UTF-8 without NUL (the frame parser and the store refuse NUL). */
    char *content = xstrndup(m->content != NULL ? m->content : "", m->content_len);

    add_int(o, "id", m->id);
    add_int(o, "room_id", m->room_id);
    add_int(o, "seq", m->seq);
    cJSON_AddItemToObject(o, "sender", proto_user_json(&m->sender));
    add_str(o, "content", content);
    add_str(o, "created_at", m->created_at);
    add_str(o, "client_id", m->client_id != NULL && m->client_id[0] != '\0' ? m->client_id : NULL);
    free(content);
    return o;
}

static cJSON *
room_json(const proto_room_t *r)
{
    cJSON *o = cJSON_CreateObject();

    add_int(o, "id", r->id);
    add_str(o, "type", r->type);
    add_str(o, "name", r->name);
    return o;
}

char *
proto_build_established(const proto_room_t *room, const proto_user_t *user,
                        const proto_participant_t *parts, size_t nparts, int64_t last_seq,
                        int64_t resumed_from, bool resume_truncated, size_t *len)
{
    cJSON *o = frame("connection_established");
    cJSON *arr = cJSON_CreateArray();

    add_int(o, "room_id", room->id);
    cJSON_AddItemToObject(o, "room", room_json(room));
    cJSON_AddItemToObject(o, "user", proto_user_json(user));
    for (size_t i = 0; i < nparts; i++) {
        cJSON *p = proto_user_json(&parts[i].user);
        cJSON_AddBoolToObject(p, "online", parts[i].online);
        add_int(p, "last_read_seq", parts[i].last_read_seq);
        cJSON_AddItemToArray(arr, p);
    }
    cJSON_AddItemToObject(o, "participants", arr);
    add_int(o, "last_seq", last_seq);
    if (resumed_from < 0) {
        cJSON_AddNullToObject(o, "resumed_from");
    } else {
        add_int(o, "resumed_from", resumed_from);
    }
    if (resume_truncated) {
        cJSON_AddTrueToObject(o, "resume_truncated");
    }
    return finish(o, len);
}

char *
proto_build_chat_message(const proto_msg_t *m, size_t *len)
{
    cJSON *o = frame("chat_message");

    cJSON_AddItemToObject(o, "message", proto_msg_json(m));
    return finish(o, len);
}

char *
proto_build_history(int64_t room_id, const proto_msg_t *msgs, size_t n, bool has_more, size_t *len)
{
    cJSON *o = frame("history");
    cJSON *arr = cJSON_CreateArray();

    add_int(o, "room_id", room_id);
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, proto_msg_json(&msgs[i]));
    }
    cJSON_AddItemToObject(o, "messages", arr);
    cJSON_AddBoolToObject(o, "has_more", has_more);
    return finish(o, len);
}

char *
proto_build_presence(int64_t room_id, const char *event, const proto_user_t *user,
                     const int64_t *online, size_t nonline, size_t *len)
{
    cJSON *o = frame("presence");
    cJSON *arr = cJSON_CreateArray();

    add_int(o, "room_id", room_id);
    add_str(o, "event", event);
    cJSON_AddItemToObject(o, "user", proto_user_json(user));
    for (size_t i = 0; i < nonline; i++) {
        cJSON_AddItemToArray(arr, proto_json_int(online[i]));
    }
    cJSON_AddItemToObject(o, "online", arr);
    return finish(o, len);
}

char *
proto_build_typing(int64_t room_id, const proto_user_t *user, bool is_typing, size_t *len)
{
    cJSON *o = frame("typing");

    add_int(o, "room_id", room_id);
    cJSON_AddItemToObject(o, "user", proto_user_json(user));
    cJSON_AddBoolToObject(o, "is_typing", is_typing);
    return finish(o, len);
}

char *
proto_build_read(int64_t room_id, int64_t user_id, int64_t seq, size_t *len)
{
    cJSON *o = frame("read");

    add_int(o, "room_id", room_id);
    add_int(o, "user_id", user_id);
    add_int(o, "seq", seq);
    return finish(o, len);
}

char *
proto_build_pong(size_t *len)
{
    return finish(frame("pong"), len);
}

char *
proto_build_error(proto_err_t err, const char *message, const char *client_id, size_t *len)
{
    cJSON *o = frame("error");

    add_str(o, "code", proto_err_code(err));
    add_str(o, "message", message != NULL ? message : proto_err_message(err));
    if (client_id != NULL && client_id[0] != '\0') {
        add_str(o, "client_id", client_id);
    }
    return finish(o, len);
}
