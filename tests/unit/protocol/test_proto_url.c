/* proto_url: WebSocket paths, ids, bearer and subprotocol tokens, API routes
 * (PROTOCOL.md §1 and §6). */
#include <string.h>

#include "../tap.h"
#include "proto_url.h"

static void
ws(const char *path, proto_ws_kind_t want, int64_t want_id)
{
    int64_t id = -1;
    proto_ws_kind_t k = proto_ws_path_parse(path, &id);

    ok(k == want && id == want_id, "ws path %s -> kind %d id %lld (got %d, %lld)", path, (int)want,
       (long long)want_id, (int)k, (long long)id);
}

static void
api(const char *path, proto_api_route_t want, int64_t id, int64_t id2)
{
    proto_api_path_t p;

    memset(&p, 0xAB, sizeof(p)); /* every field must be written */
    proto_api_path_parse(path, &p);
    ok(p.route == want && p.id == id && p.id2 == id2 && (want == PROTO_API_TOKEN || p.key[0] == 0),
       "api %s -> %d %lld %lld (got %d, %lld, %lld)", path, (int)want, (long long)id,
       (long long)id2, (int)p.route, (long long)p.id, (long long)p.id2);
}

static void
id_ok(const char *s, int64_t want)
{
    int64_t v = -1;

    ok(proto_parse_id(s, strlen(s), &v) == 0 && v == want, "id '%s' is %lld (got %lld)", s,
       (long long)want, (long long)v);
}

static void
id_bad(const char *s)
{
    int64_t v = -7;

    ok(proto_parse_id(s, strlen(s), &v) < 0 && v == -7, "id '%s' refused, out untouched", s);
}

static void
bearer(const char *hdr, const char *want)
{
    size_t n = 0;
    const char *t = proto_bearer_token(hdr, &n);

    if (want == NULL) {
        ok(t == NULL, "bearer '%s' -> none", hdr);
        return;
    }
    ok(t != NULL && t >= hdr && t + n <= hdr + strlen(hdr) && n == strlen(want) &&
           strncmp(t, want, n) == 0,
       "bearer '%s' -> '%s' (got '%.*s')", hdr, want, t != NULL ? (int)n : 0, t != NULL ? t : "");
}

static void
subproto(const char *hdr, const char *want, bool want_v1)
{
    size_t n = 0;
    bool v1 = !want_v1;
    const char *t = proto_subprotocol_token(hdr, &n, &v1);

    if (want == NULL) {
        ok(t == NULL && v1 == want_v1, "subprotocol '%s' -> no token, v1 %d", hdr, want_v1);
        return;
    }
    ok(t != NULL && n == strlen(want) && strncmp(t, want, n) == 0 && v1 == want_v1 && t >= hdr &&
           t + n <= hdr + strlen(hdr),
       "subprotocol '%s' -> '%s', v1 %d (got '%.*s', %d)", hdr, want, want_v1,
       t != NULL ? (int)n : 0, t != NULL ? t : "", v1);
}

static void
test_ws_paths(void)
{
    ws("/ws/chat/12/", PROTO_WS_ROOM, 12);
    ws("/ws/chat/12", PROTO_WS_ROOM, 12);
    ws("/ws/chat/1", PROTO_WS_ROOM, 1);
    ws("/ws/chat/9007199254740991/", PROTO_WS_ROOM, INT64_C(9007199254740991));
    ws("/ws/chat", PROTO_WS_FALLBACK, 0);
    ws("/ws/chat/", PROTO_WS_FALLBACK, 0);
    ws("/ws/chat/general/", PROTO_WS_GENERAL, 0);
    ws("/ws/chat/general", PROTO_WS_GENERAL, 0);
}

static void
test_ws_bad_paths(void)
{
    static const char *const bad[] = {
        "/ws/chat/9007199254740992/",
        "/ws/chat/0/",
        "/ws/chat/00/",
        "/ws/chat/012/",
        "/ws/chat/-1/",
        "/ws/chat/+1/",
        "/ws/chat/1e3/",
        "/ws/chat/abc/",
        "/ws/chat/12/extra",
        "/ws/chat/12/extra/",
        "/ws/chat//12",
        "/ws/chat//",
        "/ws/chat/12//",
        "/ws/chat/ 12/",
        "/ws/chat/%31/",
        "/ws/chat/General/",
        "/ws/chat/general/x",
        "/ws/chat/generals/",
        "/ws/chats/",
        "/ws/other/",
        "/ws/",
        "/ws",
        "/ws//chat/12/",
        "/ws/chat/12?x=1",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ws(bad[i], PROTO_WS_BAD, 0);
    }
}

static void
test_not_ws_paths(void)
{
    ws("/health", PROTO_WS_NOT_WS, 0);
    ws("/", PROTO_WS_NOT_WS, 0);
    ws("", PROTO_WS_NOT_WS, 0);
    ws("/wsx/chat/1/", PROTO_WS_NOT_WS, 0);
    ws("/api/v1/rooms/1", PROTO_WS_NOT_WS, 0);
    ws("ws/chat/1/", PROTO_WS_NOT_WS, 0);
    ws("/client/chathub.js", PROTO_WS_NOT_WS, 0);
}

static void
test_parse_id(void)
{
    int64_t v = -1;

    id_ok("1", 1);
    id_ok("12", 12);
    id_ok("9007199254740991", INT64_C(9007199254740991));
    id_bad("0");
    id_bad("");
    id_bad("+5");
    id_bad("-5");
    id_bad("5 ");
    id_bad(" 5");
    id_bad("05");
    id_bad("0x10");
    id_bad("1e3");
    id_bad("1.0");
    id_bad("9007199254740992");
    id_bad("10000000000000000");
    id_bad("99999999999999999999");
    id_bad("18446744073709551617");
    ok(proto_parse_id("123", 2, &v) == 0 && v == 12, "only len bytes are read");
    ok(proto_parse_id("1\0"
                      "2",
                      3, &v) < 0,
       "a NUL inside len is not a digit");
}

static void
test_parse_u53(void)
{
    int64_t v = -1;

    ok(proto_parse_u53("0", 1, &v) == 0 && v == 0, "u53 takes 0");
    ok(proto_parse_u53("46", 2, &v) == 0 && v == 46, "u53 46");
    ok(proto_parse_u53("9007199254740991", 16, &v) == 0 && v == INT64_C(9007199254740991),
       "u53 2^53-1");
    ok(proto_parse_u53("9007199254740992", 16, &v) < 0, "u53 2^53 refused");
    ok(proto_parse_u53("00", 2, &v) < 0, "u53 00 refused");
    ok(proto_parse_u53("007", 3, &v) < 0, "u53 007 refused");
    ok(proto_parse_u53("-0", 2, &v) < 0, "u53 -0 refused");
    ok(proto_parse_u53("", 0, &v) < 0, "u53 empty refused");
    ok(proto_parse_u53("12x", 2, &v) == 0 && v == 12, "u53 reads len bytes only");
    ok(proto_parse_u53("12x", 3, &v) < 0, "u53 12x refused");
}

static void
test_bearer(void)
{
    bearer("Bearer abc.def", "abc.def");
    bearer("bearer tok", "tok");
    bearer("BEARER tok", "tok");
    bearer("BeArEr tok", "tok");
    bearer("  Bearer   tok  ", "tok");
    bearer("Bearer\ttok\t", "tok");
    bearer("Bearer eyJ.eyJ.sig-_", "eyJ.eyJ.sig-_");
    bearer("Basic dXNlcg==", NULL);
    bearer("Token abc", NULL);
    bearer("Bearer ", NULL);
    bearer("Bearer    ", NULL);
    bearer("Bearer", NULL);
    bearer("Bearerx tok", NULL);
    bearer("Bearertok", NULL);
    bearer("Bearer a b", NULL);
    bearer("", NULL);
    bearer("   ", NULL);
}

/* Only the Bearer scheme is ours: any other is skipped, a bad Bearer is not. */
static void
test_auth_is_bearer(void)
{
    ok(proto_auth_is_bearer("Bearer tok"), "'Bearer tok' is bearer");
    ok(proto_auth_is_bearer("  bEARER  tok"), "the scheme is case-insensitive");
    ok(proto_auth_is_bearer("Bearer"), "'Bearer' without credentials is a (bad) bearer");
    ok(proto_auth_is_bearer("Bearer a b"), "'Bearer a b' is a (bad) bearer");
    ok(!proto_auth_is_bearer("Basic dXNlcjpwYXNz"), "Basic is not bearer");
    ok(!proto_auth_is_bearer("Digest username=\"x\""), "Digest is not bearer");
    ok(!proto_auth_is_bearer("Bearertok"), "'Bearertok' is another scheme");
    ok(!proto_auth_is_bearer(""), "an empty header is not bearer");
}

static void
test_subprotocol(void)
{
    subproto("chathub.v1, bearer.abc", "abc", true);
    subproto("bearer.abc, chathub.v1", "abc", true);
    subproto("chathub.v1,bearer.abc", "abc", true);
    subproto("  chathub.v1 ,\tbearer.h.p.s  ", "h.p.s", true);
    subproto("bearer.xyz", "xyz", false);
    subproto("chathub.v1", NULL, true);
    subproto("bearer.", NULL, false);
    subproto("chathub.v1, bearer.", NULL, true);
    subproto("bearer.first, bearer.second", "first", false);
    subproto("bearer., bearer.second", "second", false);
    subproto("Bearer.abc, chathub.V1", NULL, false);
    subproto("chathub.v2, chathub.v10, xchathub.v1", NULL, false);
    subproto("bearer.a b", NULL, false);
    subproto("", NULL, false);
    subproto(",,, ,", NULL, false);
    subproto("chathub.v1,,bearer.t,", "t", true);
}

static void
test_api_routes(void)
{
    api("/api/v1/users/5", PROTO_API_USER, 5, 0);
    api("/api/v1/users/5/", PROTO_API_USER, 5, 0);
    api("/api/v1/users/5/disconnect", PROTO_API_USER_DISCONNECT, 5, 0);
    api("/api/v1/users/5/disconnect/", PROTO_API_USER_DISCONNECT, 5, 0);
    api("/api/v1/tokens", PROTO_API_TOKENS, 0, 0);
    api("/api/v1/tokens/", PROTO_API_TOKENS, 0, 0);
    api("/api/v1/students/3/parents/4", PROTO_API_STUDENT_PARENT, 3, 4);
    api("/api/v1/students/3/parents/4/", PROTO_API_STUDENT_PARENT, 3, 4);
    api("/api/v1/enrollments/9", PROTO_API_ENROLLMENT, 9, 0);
    api("/api/v1/rooms", PROTO_API_ROOMS, 0, 0);
    api("/api/v1/rooms/", PROTO_API_ROOMS, 0, 0);
    api("/api/v1/rooms/12", PROTO_API_ROOM, 12, 0);
    api("/api/v1/rooms/999999999999999", PROTO_API_ROOM, INT64_C(999999999999999), 0);
    api("/api/v1/rooms/12/participants/7", PROTO_API_ROOM_PARTICIPANT, 12, 7);
    api("/api/v1/rooms/12/messages", PROTO_API_ROOM_MESSAGES, 12, 0);
    api("/api/v1/rooms/12/messages/", PROTO_API_ROOM_MESSAGES, 12, 0);
    api("/api/v1/rooms/12/presence", PROTO_API_ROOM_PRESENCE, 12, 0);
    api("/api/v1/stats", PROTO_API_STATS, 0, 0);
    api("/api/v1/stats/", PROTO_API_STATS, 0, 0);
}

static void
test_api_unknown(void)
{
    static const char *const unknown[] = {
        "/api/v1",
        "/api/v1/",
        "/api/v1//rooms",
        "/api/v1/rooms//12",
        "/api/v1/rooms/abc",
        "/api/v1/rooms/012",
        "/api/v1/rooms/0",
        "/api/v1/rooms/12/nope",
        "/api/v1/rooms/12/participants",
        "/api/v1/rooms/12/participants/0",
        "/api/v1/rooms/12/participants/x",
        "/api/v1/rooms/12/messages/1",
        "/api/v1/rooms/9007199254740992",
        "/api/v1/users",
        "/api/v1/users/0",
        "/api/v1/users/5/kick",
        "/api/v1/users/5/disconnect/now",
        "/api/v1/students/3",
        "/api/v1/students/3/parents",
        "/api/v1/students/3/parent/4",
        "/api/v1/students/x/parents/4",
        "/api/v1/enrollments",
        "/api/v1/enrollments/9/x",
        "/api/v1/stats/x",
        "/api/v1/tokens/a/b",
        "/api/v1/tokens/a.b",
        "/api/v1/tokens/a%20b",
        "/api/v1/a/b/c/d/e",
        "/api/v1/rooms/1/participants/2/x",
        "/api/v1/ROOMS",
    };

    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        api(unknown[i], PROTO_API_UNKNOWN, 0, 0);
    }
}

static void
test_api_not_api(void)
{
    api("/health", PROTO_API_NONE, 0, 0);
    api("/", PROTO_API_NONE, 0, 0);
    api("", PROTO_API_NONE, 0, 0);
    api("/api", PROTO_API_NONE, 0, 0);
    api("/api/", PROTO_API_NONE, 0, 0);
    api("/api/v2/rooms", PROTO_API_NONE, 0, 0);
    api("/api/v10/rooms", PROTO_API_NONE, 0, 0);
    api("/api/v1x/rooms", PROTO_API_NONE, 0, 0);
    api("/ws/chat/1/", PROTO_API_NONE, 0, 0);
}

static void
test_api_token_key(void)
{
    proto_api_path_t p;
    char path[256], key[PROTO_API_KEY_MAX + 2];

    proto_api_path_parse("/api/v1/tokens/0123abcd", &p);
    ok(p.route == PROTO_API_TOKEN && strcmp(p.key, "0123abcd") == 0 && p.id == 0,
       "token key 0123abcd");
    proto_api_path_parse("/api/v1/tokens/Ab_9-z/", &p);
    ok(p.route == PROTO_API_TOKEN && strcmp(p.key, "Ab_9-z") == 0, "token key Ab_9-z, slash");
    memset(key, 'k', sizeof(key));
    key[PROTO_API_KEY_MAX] = '\0';
    snprintf(path, sizeof(path), "/api/v1/tokens/%s", key);
    proto_api_path_parse(path, &p);
    ok(p.route == PROTO_API_TOKEN && strlen(p.key) == PROTO_API_KEY_MAX, "128-byte key");
    key[PROTO_API_KEY_MAX] = 'k';
    key[PROTO_API_KEY_MAX + 1] = '\0';
    snprintf(path, sizeof(path), "/api/v1/tokens/%s", key);
    proto_api_path_parse(path, &p);
    ok(p.route == PROTO_API_UNKNOWN && p.key[0] == '\0', "129-byte key is unknown");
}

int
main(void)
{
    test_ws_paths();
    test_ws_bad_paths();
    test_not_ws_paths();
    test_parse_id();
    test_parse_u53();
    test_bearer();
    test_auth_is_bearer();
    test_subprotocol();
    test_api_routes();
    test_api_unknown();
    test_api_not_api();
    test_api_token_key();
    return tap_done();
}
