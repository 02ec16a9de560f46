/* proto_head: a long "bearer.<t>" subprotocol entry moves into the query
 * before lws parses the head; every other request stays as it came. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_head.h"

#define MIN_LEN 128

static char out[8192];
static size_t used, outlen;

static proto_head_lift_t
lift(const char *head)
{
    used = outlen = 0;
    memset(out, 0, sizeof(out));
    return proto_head_lift(head, strlen(head), MIN_LEN, out, sizeof(out) - 1, &used, &outlen);
}

/* A token long enough to push the header past 127 bytes, like any JWT. */
static char tok[200];

static char *
head_with(const char *target, const char *proto_line, const char *extra)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf),
             "GET %s HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "%s%sSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
             target, proto_line, extra);
    return buf;
}

/* A head offering chathub.v1 and the long token. */
static char *
bearer_head(const char *target, const char *extra)
{
    char line[512];

    snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: chathub.v1, bearer.%s\r\n", tok);
    return head_with(target, line, extra);
}

static void
test_a_long_bearer_entry_moves_into_the_query(void)
{
    char want[4096];
    const char *h = bearer_head("/ws/chat/12/", "");

    ok(lift(h) == PROTO_HEAD_LIFTED, "lifted");
    ok(used == strlen(h), "the whole head is used (%zu of %zu)", used, strlen(h));
    ok(outlen == strlen(out), "outlen is the rewritten head's length");
    snprintf(want, sizeof(want), "GET /ws/chat/12/?token=%s HTTP/1.1\r\n", tok);
    ok(strncmp(out, want, strlen(want)) == 0, "the token is the query: %.60s", out);
    ok(strstr(out, "\r\nSec-WebSocket-Protocol: chathub.v1\r\n") != NULL,
       "only chathub.v1 is left in the header");
    ok(strstr(out, "bearer.") == NULL, "no bearer entry is left");
    ok(strstr(out, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n") != NULL &&
           strstr(out, "\r\nHost: hub\r\n") != NULL,
       "the other headers are kept");
    ok(outlen >= 4 && memcmp(out + outlen - 4, "\r\n\r\n", 4) == 0, "it ends with the blank line");
}

static void
test_an_existing_query_keeps_its_arguments_after_the_token(void)
{
    char line[512], want[512];

    snprintf(line, sizeof(line), "sec-websocket-protocol:   bearer.%s ,chathub.v1 , other\r\n",
             tok);
    ok(lift(head_with("/ws/chat?room_id=4&token=older&last_seq=9", line, "")) == PROTO_HEAD_LIFTED,
       "lifted with a query and a lower-case name");
    snprintf(want, sizeof(want), "GET /ws/chat?token=%s&room_id=4&token=older&last_seq=9 HTTP/1.1",
             tok);
    ok(strncmp(out, want, strlen(want)) == 0, "ours first, theirs after: %.80s", out);
    ok(strstr(out, "\r\nSec-WebSocket-Protocol: chathub.v1, other\r\n") != NULL,
       "the other entries stay, in order");
}

static void
test_requests_lws_can_read_stay_as_they_are(void)
{
    char line[512];

    ok(lift(head_with("/ws/chat/1/", "Sec-WebSocket-Protocol: chathub.v1, bearer.abc\r\n", "")) ==
           PROTO_HEAD_AS_IS,
       "a short header");
    ok(lift(head_with("/ws/chat/1/", "", "")) == PROTO_HEAD_AS_IS, "no header");
    snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: other.v2, bearer.%s\r\n", tok);
    ok(lift(head_with("/ws/chat/1/", line, "")) == PROTO_HEAD_AS_IS,
       "no chathub.v1: refused either way, so not touched");
    snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: chathub.v1, x%s\r\n", tok);
    ok(lift(head_with("/ws/chat/1/", line, "")) == PROTO_HEAD_AS_IS, "long but no token");
    snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: chathub.v1, bearer.%s%%26x\r\n", tok);
    ok(lift(head_with("/ws/chat/1/", line, "")) == PROTO_HEAD_AS_IS,
       "a token that would change the query's meaning");
    ok(lift(bearer_head("/ws/chat/1/", "Sec-WebSocket-Protocol: chathub.v1\r\n")) ==
           PROTO_HEAD_AS_IS,
       "the header twice");
    ok(lift(bearer_head("/ws/chat/1/", "X-Folded: a\r\n b\r\n")) == PROTO_HEAD_AS_IS,
       "obsolete line folding");
    snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: chathub.v1, %s, bearer.%s\r\n", tok, tok);
    ok(lift(head_with("/ws/chat/1/", line, "")) == PROTO_HEAD_AS_IS,
       "still too long without the token");
}

static void
test_incomplete_or_odd_heads_stay_as_they_are(void)
{
    const char *h = bearer_head("/ws/chat/1/", "");
    size_t n = strlen(h);

    for (size_t cut = 0; cut < n; cut++) {
        if (proto_head_lift(h, cut, MIN_LEN, out, sizeof(out), &used, &outlen) !=
            PROTO_HEAD_AS_IS) {
            ok(0, "a head cut at %zu bytes is left alone", cut);
            return;
        }
    }
    ok(1, "a head cut anywhere is left alone");
    ok(proto_head_lift(h, n, MIN_LEN, out, 64, &used, &outlen) == PROTO_HEAD_AS_IS,
       "no room for the rewrite");
    ok(lift("GET\r\nSec-WebSocket-Protocol: chathub.v1, bearer.x\r\n\r\n") == PROTO_HEAD_AS_IS,
       "no target");
}

static void
test_bytes_after_the_head_are_not_used(void)
{
    char buf[8192];
    const char *h = bearer_head("/ws/chat/1/", "");

    memcpy(buf, h, strlen(h));
    memcpy(buf + strlen(h), "NEXT", 5);
    ok(lift(buf) == PROTO_HEAD_LIFTED && used == strlen(buf) - 4, "used stops at the blank line");
}

int
main(void)
{
    memset(tok, 'a', 150);
    memcpy(tok, "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo3fQ.", 40);
    tok[150] = '\0';
    test_a_long_bearer_entry_moves_into_the_query();
    test_an_existing_query_keeps_its_arguments_after_the_token();
    test_requests_lws_can_read_stay_as_they_are();
    test_incomplete_or_odd_heads_stay_as_they_are();
    test_bytes_after_the_head_are_not_used();
    return tap_done();
}
