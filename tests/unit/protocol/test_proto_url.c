/* proto_url: WebSocket paths, ids, bearer and subprotocol tokens, API routes. */
#include <string.h>

#include "../tap.h"
#include "proto_url.h"

static void
ws(const char *path, proto_ws_kind_t want, int64_t want_id)
{
    int64_t id = 0;
    proto_ws_kind_t k = proto_ws_path_parse(path, &id);

    ok(k == want && (want != PROTO_WS_ROOM || id == want_id), "ws path %s -> %d (got %d)", path,
       (int)want, (int)k);
}

static void
api(const char *path, proto_api_route_t want, int64_t id, int64_t id2)
{
    proto_api_path_t p;

    proto_api_path_parse(path, &p);
    ok(p.route == want && p.id == id && p.id2 == id2, "api %s -> %d (got %d, %lld, %lld)", path,
       (int)want, (int)p.route, (long long)p.id, (long long)p.id2);
}

int
main(void)
{
    int64_t v;
    size_t n;
    bool v1;
    const char *t;

    ws("/ws/chat/12/", PROTO_WS_ROOM, 12);
    ws("/ws/chat/12", PROTO_WS_ROOM, 12);
    ws("/ws/chat", PROTO_WS_FALLBACK, 0);
    ws("/ws/chat/", PROTO_WS_FALLBACK, 0);
    ws("/ws/chat/general/", PROTO_WS_GENERAL, 0);
    ws("/ws/chat/general", PROTO_WS_GENERAL, 0);
    ws("/ws/chat/9007199254740991/", PROTO_WS_ROOM, INT64_C(9007199254740991));
    ws("/ws/chat/9007199254740992/", PROTO_WS_BAD, 0);
    ws("/ws/chat/0/", PROTO_WS_BAD, 0);
    ws("/ws/chat/-1/", PROTO_WS_BAD, 0);
    ws("/ws/chat/abc/", PROTO_WS_BAD, 0);
    ws("/ws/chat/12/extra", PROTO_WS_BAD, 0);
    ws("/ws/chat//12", PROTO_WS_BAD, 0);
    ws("/ws/chat/12//", PROTO_WS_BAD, 0);
    ws("/ws/other/", PROTO_WS_BAD, 0);
    ws("/ws", PROTO_WS_BAD, 0);
    ws("/health", PROTO_WS_NOT_WS, 0);
    ws("/", PROTO_WS_NOT_WS, 0);

    ok(proto_parse_id("1", 1, &v) == 0 && v == 1, "id 1");
    ok(proto_parse_id("0", 1, &v) < 0, "id 0 refused");
    ok(proto_parse_id("", 0, &v) < 0, "empty refused");
    ok(proto_parse_id("+5", 2, &v) < 0, "sign refused");
    ok(proto_parse_id("5 ", 2, &v) < 0, "space refused");
    ok(proto_parse_id("99999999999999999999", 20, &v) < 0, "overflow refused");
    ok(proto_parse_u53("0", 1, &v) == 0 && v == 0, "u53 takes 0");
    ok(proto_parse_u53("12x", 2, &v) == 0 && v == 12, "u53 reads len bytes only");

    t = proto_bearer_token("Bearer abc.def", &n);
    ok(t != NULL && n == 7 && strncmp(t, "abc.def", n) == 0, "bearer");
    t = proto_bearer_token("  bearer   tok  ", &n);
    ok(t != NULL && n == 3 && strncmp(t, "tok", 3) == 0, "bearer: case and spaces");
    ok(proto_bearer_token("Basic dXNlcg==", &n) == NULL, "basic is not bearer");
    ok(proto_bearer_token("Bearer ", &n) == NULL, "empty bearer");
    ok(proto_bearer_token("Bearerx tok", &n) == NULL, "no separator");

    t = proto_subprotocol_token("chathub.v1, bearer.abc", &n, &v1);
    ok(t != NULL && n == 3 && strncmp(t, "abc", 3) == 0 && v1, "subprotocol token and v1");
    t = proto_subprotocol_token("bearer.xyz", &n, &v1);
    ok(t != NULL && n == 3 && !v1, "token without v1");
    ok(proto_subprotocol_token("chathub.v1", &n, &v1) == NULL && v1, "v1 without token");
    ok(proto_subprotocol_token("bearer.", &n, &v1) == NULL, "empty token");

    api("/api/v1/users/5", PROTO_API_USER, 5, 0);
    api("/api/v1/users/5/", PROTO_API_USER, 5, 0);
    api("/api/v1/users/5/disconnect", PROTO_API_USER_DISCONNECT, 5, 0);
    api("/api/v1/tokens", PROTO_API_TOKENS, 0, 0);
    api("/api/v1/students/3/parents/4", PROTO_API_STUDENT_PARENT, 3, 4);
    api("/api/v1/enrollments/9", PROTO_API_ENROLLMENT, 9, 0);
    api("/api/v1/rooms", PROTO_API_ROOMS, 0, 0);
    api("/api/v1/rooms/", PROTO_API_ROOMS, 0, 0);
    api("/api/v1/rooms/12", PROTO_API_ROOM, 12, 0);
    api("/api/v1/rooms/12/participants/7", PROTO_API_ROOM_PARTICIPANT, 12, 7);
    api("/api/v1/rooms/12/messages", PROTO_API_ROOM_MESSAGES, 12, 0);
    api("/api/v1/rooms/12/presence", PROTO_API_ROOM_PRESENCE, 12, 0);
    api("/api/v1/stats", PROTO_API_STATS, 0, 0);
    api("/api/v1/rooms/abc", PROTO_API_UNKNOWN, 0, 0);
    api("/api/v1/rooms/12/nope", PROTO_API_UNKNOWN, 0, 0);
    api("/api/v1/users/0", PROTO_API_UNKNOWN, 0, 0);
    api("/api/v1/a/b/c/d/e", PROTO_API_UNKNOWN, 0, 0);
    api("/api/v2/rooms", PROTO_API_UNKNOWN, 0, 0);
    api("/health", PROTO_API_NONE, 0, 0);
    {
        proto_api_path_t p;
        proto_api_path_parse("/api/v1/tokens/0123abcd", &p);
        ok(p.route == PROTO_API_TOKEN && strcmp(p.key, "0123abcd") == 0, "token key");
    }
    return tap_done();
}
