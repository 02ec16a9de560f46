/*
 * Rooms: the connect-time join (one SQL function, one round trip) and the
 * room and participant writes of the server API, each one statement.
 */
#include "store_room.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "xalloc.h"

typedef struct room_ctx {
    store_join_cb join_cb;
    store_room_cb room_cb;
    store_done_cb done_cb;
    void *ud;
} room_ctx_t;

static room_ctx_t *
ctx_new(void *ud)
{
    room_ctx_t *c = xcalloc(1, sizeof(*c));

    c->ud = ud;
    return c;
}

static int
run(store_t *st, int64_t affinity, const char *sql, int n, const char *const *params,
    store_result_fn fn, room_ctx_t *c)
{
    if (store_query(st, affinity, sql, n, params, fn, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}

static const char *
status_err(const char *status)
{
    if (status == NULL || strcmp(status, "ok") == 0) {
        return NULL;
    }
    if (strcmp(status, "unauthorized") == 0) {
        return store_err_unauthorized;
    }
    if (strcmp(status, "not_found") == 0) {
        return store_err_not_found;
    }
    if (strcmp(status, "forbidden") == 0) {
        return store_err_forbidden;
    }
    return store_err_internal;
}

/* parts is [[id, full_name, role, last_read_seq], ...]; strings stay in the tree. */
static proto_participant_t *
parse_parts(const cJSON *arr, size_t *n)
{
    size_t cap = (size_t)cJSON_GetArraySize(arr);
    proto_participant_t *parts = xcalloc(cap + 1, sizeof(*parts));
    const cJSON *p;

    *n = 0;
    cJSON_ArrayForEach(p, arr)
    {
        const cJSON *id = cJSON_GetArrayItem(p, 0), *name = cJSON_GetArrayItem(p, 1);
        const cJSON *role = cJSON_GetArrayItem(p, 2), *seq = cJSON_GetArrayItem(p, 3);
        if (!cJSON_IsNumber(id) || !cJSON_IsString(name) || !cJSON_IsString(role)) {
            continue;
        }
        parts[*n].user.id = (int64_t)id->valuedouble;
        parts[*n].user.full_name = name->valuestring;
        parts[*n].user.role = role->valuestring;
        parts[*n].last_read_seq = cJSON_IsNumber(seq) ? (int64_t)seq->valuedouble : 0;
        (*n)++;
    }
    return parts;
}

typedef struct join_ctx {
    room_ctx_t base;
    int64_t user_id;
} join_ctx_t;

static void
on_join(void *ctx, const PGresult *res, const char *err)
{
    join_ctx_t *c = ctx;
    store_join_t j;
    cJSON *tree = NULL;
    proto_participant_t *parts = NULL;

    memset(&j, 0, sizeof(j));
    if (err == NULL && PQntuples(res) != 1) {
        err = store_err_internal;
    }
    if (err == NULL) {
        err = status_err(store_col_str(res, 0, 0));
    }
    if (err == NULL) {
        j.user.id = c->user_id;
        j.user.full_name = store_col_str(res, 0, 1);
        j.user.role = store_col_str(res, 0, 2);
        j.room.id = store_col_i64(res, 0, 3);
        j.room.type = store_col_str(res, 0, 4);
        j.room.name = store_col_str(res, 0, 5);
        j.archived = store_col_bool(res, 0, 6);
        j.last_seq = store_col_i64(res, 0, 7);
        tree = cJSON_Parse(store_col_str(res, 0, 8));
        parts = parse_parts(tree, &j.nparts);
        j.parts = parts;
    }
    c->base.join_cb(c->base.ud, err == NULL ? &j : NULL, err);
    cJSON_Delete(tree);
    free(parts);
    free(c);
}

int
store_room_join(store_t *st, int64_t user_id, store_room_kind_t kind, int64_t room_id,
                store_join_cb cb, void *ud)
{
    char uid[24], k[4], rid[24];
    const char *params[] = {uid, k, rid};
    join_ctx_t *c = xcalloc(1, sizeof(*c));

    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    snprintf(k, sizeof(k), "%d", (int)kind);
    snprintf(rid, sizeof(rid), "%lld", (long long)room_id);
    c->base.join_cb = cb;
    c->base.ud = ud;
    c->user_id = user_id;
    if (store_query(st, kind == STORE_ROOM_BY_ID ? room_id : -1,
                    "SELECT * FROM chathub_join($1, $2, $3)", 3, params, on_join, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* "{1,2,3}": a bigint[] literal. */
static char *
id_array(const int64_t *ids, size_t n)
{
    char *s = xmalloc(n * 21 + 3);
    size_t off = 0;

    s[off++] = '{';
    for (size_t i = 0; i < n; i++) {
        off += (size_t)sprintf(s + off, "%s%lld", i > 0 ? "," : "", (long long)ids[i]);
    }
    s[off++] = '}';
    s[off] = '\0';
    return s;
}

static void
on_room(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;
    int64_t id = 0;
    bool created = false;

    if (err == NULL && PQntuples(res) == 1) {
        id = store_col_i64(res, 0, 0);
        created = store_col_bool(res, 0, 1);
    } else if (err == NULL) {
        err = store_err_internal;
    }
    c->room_cb(c->ud, id, created, err);
    free(c);
}

int
store_room_create(store_t *st, const char *type, const char *name, const int64_t *members,
                  size_t nmembers, store_room_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud);
    char *arr = id_array(members, nmembers);
    char a[24], b[24];
    int rc;

    c->room_cb = cb;
    if (strcmp(type, "DIRECT") == 0) {
        if (nmembers != 2 || members[0] == members[1]) {
            free(arr);
            free(c);
            return -1;
        }
        snprintf(a, sizeof(a), "%lld", (long long)members[0]);
        snprintf(b, sizeof(b), "%lld", (long long)members[1]);
        const char *params[] = {a, b, name};
        rc = run(st, -1, "SELECT room_id, created FROM chathub_room_direct($1, $2, $3)", 3, params,
                 on_room, c);
    } else {
        const char *params[] = {type, name != NULL ? name : "", arr};
        /* One statement: an unknown member fails it whole (foreign key). */
        rc = run(st, -1,
                 "WITH r AS (INSERT INTO rooms (type, name) VALUES ($1, $2) RETURNING id), "
                 "p AS (INSERT INTO room_participants (room_id, user_id) "
                 "SELECT r.id, m FROM r, unnest($3::bigint[]) AS m ON CONFLICT DO NOTHING) "
                 "SELECT id, true FROM r",
                 3, params, on_room, c);
    }
    free(arr);
    return rc;
}

typedef struct put_ctx {
    room_ctx_t base;
    int64_t id;
} put_ctx_t;

static void
on_put_id(void *ctx, const PGresult *res, const char *err)
{
    put_ctx_t *c = ctx;
    store_room_cb cb = c->base.room_cb;
    void *ud = c->base.ud;
    int64_t id = c->id;
    bool created = false;

    if (err == NULL && PQntuples(res) == 1) {
        created = store_col_bool(res, 0, 0);
    } else if (err == NULL) {
        err = store_err_internal;
    }
    free(c);
    cb(ud, id, created, err);
}

int
store_room_put(store_t *st, int64_t id, const char *type, const char *name, bool has_members,
               const int64_t *members, size_t nmembers, store_room_cb cb, void *ud)
{
    put_ctx_t *c = xcalloc(1, sizeof(*c));
    char sid[24];
    char *arr = id_array(members, has_members ? nmembers : 0);
    const char *params[] = {sid, type, name != NULL ? name : "", has_members ? "true" : "false",
                            arr};
    int rc;

    if (id <= 0 || id >= STORE_ROOM_HUB_ID_BASE) {
        free(arr);
        free(c);
        return -1;
    }
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    c->base.room_cb = cb;
    c->base.ud = ud;
    c->id = id;
    rc = store_query(st, id, "SELECT created FROM chathub_room_put($1, $2, $3, $4, $5)", 5, params,
                     on_put_id, c);
    if (rc < 0) {
        free(c);
    }
    free(arr);
    return rc;
}

static void
on_participant(void *ctx, const PGresult *res, const char *err)
{
    room_ctx_t *c = ctx;

    if (err == NULL) {
        err = PQntuples(res) == 1 ? status_err(store_col_str(res, 0, 0)) : store_err_internal;
        if (err == store_err_unauthorized) {
            err = store_err_invalid;
        }
    }
    c->done_cb(c->ud, err);
    free(c);
}

int
store_participant_add(store_t *st, int64_t room_id, int64_t user_id, store_done_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud);
    char rid[24], uid[24];
    const char *params[] = {rid, uid};

    c->done_cb = cb;
    snprintf(rid, sizeof(rid), "%lld", (long long)room_id);
    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    return run(st, room_id,
               "WITH ins AS (INSERT INTO room_participants (room_id, user_id) "
               "SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = $1) "
               "AND EXISTS (SELECT 1 FROM users WHERE id = $2) ON CONFLICT DO NOTHING) "
               "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM rooms WHERE id = $1) THEN 'not_found' "
               "WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = $2) THEN 'unauthorized' "
               "ELSE 'ok' END",
               2, params, on_participant, c);
}

int
store_participant_remove(store_t *st, int64_t room_id, int64_t user_id, store_done_cb cb, void *ud)
{
    room_ctx_t *c = ctx_new(ud);
    char rid[24], uid[24];
    const char *params[] = {rid, uid};

    c->done_cb = cb;
    snprintf(rid, sizeof(rid), "%lld", (long long)room_id);
    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    return run(st, room_id,
               "WITH d AS (DELETE FROM room_participants WHERE room_id = $1 AND user_id = $2) "
               "SELECT CASE WHEN EXISTS (SELECT 1 FROM rooms WHERE id = $1) THEN 'ok' "
               "ELSE 'not_found' END",
               2, params, on_participant, c);
}
