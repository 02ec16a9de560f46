/* proto_request: a browser's upgrade head, heads that are not ones, and the
 * lookups a handshake makes. */
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "proto_request.h"

#define HEAD(lit) (lit), sizeof(lit) - 1

static const char UPGRADE[] = "GET /ws/chat/12/?token=a%2Eb&last_seq=4&flag&x=1+2 HTTP/1.1\r\n"
                              "Host: chat.example.org\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: keep-alive, Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Protocol: chathub.v1\r\n"
                              "sec-websocket-protocol:  bearer.abc \t\r\n"
                              "X-Empty:\r\n"
                              "\r\n"
                              "\x81\x80";

static void
test_upgrade(void)
{
    proto_request_t r;
    char buf[128];

    ok(proto_request_parse(HEAD(UPGRADE), &r) == PROTO_REQUEST_OK, "a browser's upgrade parses");
    ok(r.head_len == sizeof(UPGRADE) - 1 - 2, "the head ends at the blank line (%zu)", r.head_len);
    ok(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0 && r.minor == 1, "GET, HTTP/1.1");
    ok(r.nheaders == 7, "seven header lines (%zu)", r.nheaders);
    ok(proto_request_header(&r, "upgrade", buf, sizeof(buf)) == 9 && strcmp(buf, "websocket") == 0,
       "a header by name, any case");
    ok(proto_request_header(&r, "Sec-WebSocket-Protocol", buf, sizeof(buf)) > 0 &&
           strcmp(buf, "chathub.v1, bearer.abc") == 0,
       "two lines of a header joined, blanks trimmed (%s)", buf);
    ok(proto_request_header(&r, "Sec-WebSocket-Protocol", buf, 10) == -1, "too long to copy: -1");
    ok(proto_request_header(&r, "Origin", buf, sizeof(buf)) == 0, "absent: 0");
    ok(proto_request_header(&r, "X-Empty", buf, sizeof(buf)) == 0 && buf[0] == '\0',
       "an empty value reads as absent");
    ok(proto_request_has_token(HEAD("keep-alive, Upgrade"), "upgrade"), "a token in a list");
    ok(!proto_request_has_token(HEAD("keep-alive, Upgrades"), "upgrade"), "not a longer word");
    ok(!proto_request_has_token(HEAD(""), "upgrade"), "not in an empty list");
    ok(proto_request_lists(&r, "connection", "upgrade"), "a header's line lists a token");
    ok(proto_request_lists(&r, "Sec-WebSocket-Protocol", "bearer.abc"), "so does its second line");
    ok(!proto_request_lists(&r, "Connection", "close"), "a token no line lists");
    ok(!proto_request_lists(&r, "Origin", "x"), "an absent header lists nothing");
    ok(proto_request_has_header(&r, "X-Empty") && proto_request_has_header(&r, "host"),
       "a header is there, empty or not");
    ok(!proto_request_has_header(&r, "Origin"), "an absent one is not");
    ok(proto_request_lines(&r, "sec-websocket-protocol") == 2 &&
           proto_request_lines(&r, "X-Empty") == 1 && proto_request_lines(&r, "Origin") == 0,
       "a header's lines are counted, empty ones too");
    ok(proto_request_path(&r, buf, sizeof(buf)) == 12 && strcmp(buf, "/ws/chat/12/") == 0,
       "the path without the query");
    ok(proto_request_arg(&r, "token", buf, sizeof(buf)) != NULL && strcmp(buf, "a.b") == 0,
       "an argument, percent-decoded");
    ok(proto_request_arg(&r, "last_seq", buf, sizeof(buf)) != NULL && strcmp(buf, "4") == 0,
       "the second argument");
    ok(proto_request_arg(&r, "flag", buf, sizeof(buf)) != NULL && buf[0] == '\0',
       "an argument without '=' is empty");
    ok(proto_request_arg(&r, "x", buf, sizeof(buf)) != NULL && strcmp(buf, "1 2") == 0,
       "'+' is a space in the query");
    ok(proto_request_arg(&r, "last", buf, sizeof(buf)) == NULL, "a name's prefix is not it");
    ok(proto_request_arg(&r, "token", buf, 3) == NULL, "too long to copy: NULL");
}

static void
test_partial(void)
{
    proto_request_t r;
    size_t end = strstr(UPGRADE, "\r\n\r\n") + 4 - UPGRADE;

    for (size_t n = 0; n < end; n++) {
        if (proto_request_parse(UPGRADE, n, &r) != PROTO_REQUEST_PARTIAL) {
            ok(0, "a head cut at %zu is partial", n);
            return;
        }
    }
    ok(1, "a head cut anywhere before its end is partial");
    ok(proto_request_parse(HEAD("GET / HTTP/1.1\n\n"), &r) == PROTO_REQUEST_OK && r.head_len == 16,
       "bare LFs end lines");
}

static void
test_bad(void)
{
    proto_request_t r;
    char many[PROTO_REQUEST_HEADERS_MAX * 8 + 64];
    size_t n;

    ok(proto_request_parse(HEAD("GET /x HTTP/2.0\r\n\r\n"), &r) == PROTO_REQUEST_BAD, "HTTP/2.0");
    ok(proto_request_parse(HEAD("GET  /x HTTP/1.1\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "two spaces after the method");
    ok(proto_request_parse(HEAD("GET /x HTTP/1.1 \t\r\n\r\n"), &r) == PROTO_REQUEST_OK &&
           r.minor == 1,
       "blanks after the version are dropped (as lws took them)");
    ok(proto_request_parse(HEAD("GET /x HTTP/1.1x\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "but not anything else");
    ok(proto_request_parse(HEAD("\r\nGET /x HTTP/1.1\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "an empty line before the request line");
    ok(proto_request_parse(HEAD("G(T /x HTTP/1.1\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "a method that is not a token");
    ok(proto_request_parse(HEAD("GET /x HTTP/1.1\r\nHost : a\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "a blank before a header's colon");
    ok(proto_request_parse(HEAD("GET /x HTTP/1.1\r\nA: b\r\n  c\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "a folded line");
    ok(proto_request_parse(HEAD("GET /x HTTP/1.1\r\nA: b\x01\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "a control byte in a value");
    ok(proto_request_parse(HEAD("GET /x HTTP/1.1\r\nNoColon\r\n\r\n"), &r) == PROTO_REQUEST_BAD,
       "a line without a colon");
    ok(proto_request_parse(HEAD("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n"), &r) == PROTO_REQUEST_BAD,
       "a TLS hello");
    n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= PROTO_REQUEST_HEADERS_MAX; i++) {
        n += (size_t)snprintf(many + n, sizeof(many) - n, "A: b\r\n");
    }
    n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
    ok(proto_request_parse(many, n, &r) == PROTO_REQUEST_TOO_MANY, "too many header lines");

    char buf[64];
    ok(proto_request_parse(HEAD("GET /a%2 HTTP/1.1\r\n\r\n"), &r) == PROTO_REQUEST_OK &&
           proto_request_path(&r, buf, sizeof(buf)) == -1,
       "a cut escape in the path");
    ok(proto_request_parse(HEAD("GET /a?t=%00 HTTP/1.1\r\n\r\n"), &r) == PROTO_REQUEST_OK &&
           proto_request_arg(&r, "t", buf, sizeof(buf)) == NULL,
       "an escaped NUL in an argument");
    ok(proto_request_parse(HEAD("GET /a?t=%zz HTTP/1.1\r\n\r\n"), &r) == PROTO_REQUEST_OK &&
           proto_request_arg(&r, "t", buf, sizeof(buf)) == NULL,
       "a non-hex escape");
}

/* Every byte value in a header's name and in its value, against RFC 9110's
 * tchar and field-value rules written out here. */
static void
test_every_byte(void)
{
    int wrong = 0;

    for (int b = 1; b < 256; b++) {
        char head[64];
        proto_request_t req;
        bool tchar = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                     strchr("!#$%&'*+-.^_`|~", b) != NULL;
        bool field = (b >= ' ' || b == '\t') && b != 0x7F;

        if (b == '\n' || b == '\r' || b == ':') {
            continue; /* they end the line or the name, tested elsewhere */
        }
        snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nX%cY: v\r\n\r\n", b);
        wrong += (proto_request_parse(head, strlen(head), &req) == PROTO_REQUEST_OK) != tchar;
        snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nX: a%cb\r\n\r\n", b);
        wrong += (proto_request_parse(head, strlen(head), &req) == PROTO_REQUEST_OK) != field;
    }
    ok(wrong == 0, "each byte value is let into a name and a value as RFC 9110 says (%d not)",
       wrong);
}

static void
test_percent_decode(void)
{
    char buf[16];

    ok(proto_percent_decode("a%2Fb%2fc+d", 11, false, buf, sizeof(buf)) == 7 &&
           strcmp(buf, "a/b/c+d") == 0,
       "percent-decoding: either case of hex, '+' kept without plus");
    ok(proto_percent_decode("a+b%20c", 7, true, buf, sizeof(buf)) == 5 && strcmp(buf, "a b c") == 0,
       "  with plus, '+' is a space");
    ok(proto_percent_decode("a%00b", 5, false, buf, sizeof(buf)) == -1,
       "  an escaped NUL is refused (it would cut the string)");
    ok(proto_percent_decode("a%2", 3, false, buf, sizeof(buf)) == -1 &&
           proto_percent_decode("%g0", 3, false, buf, sizeof(buf)) == -1 &&
           proto_percent_decode("%", 1, false, buf, sizeof(buf)) == -1,
       "  a cut or non-hex escape is refused");
    ok(proto_percent_decode("abcd", 4, false, buf, 5) == 4 &&
           proto_percent_decode("abcd", 4, false, buf, 4) == -1 &&
           proto_percent_decode("", 0, false, buf, 0) == -1,
       "  the NUL must fit as well");
}

int
main(void)
{
    test_percent_decode();
    test_upgrade();
    test_partial();
    test_bad();
    test_every_byte();
    return tap_done();
}
