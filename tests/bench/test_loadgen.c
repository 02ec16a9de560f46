/*
 * The load generator's own checks (TAP): frames of every length class both
 * ways, the upgrade answer, fragmented messages and pings through a real
 * socket, JWTs the hub's verifier accepts, and the counting helpers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "lg_conn.h"
#include "lg_hist.h"
#include "lg_jwt.h"
#include "lg_metrics.h"
#include "lg_scan.h"
#include "lg_seqset.h"
#include "lg_spans.h"
#include "lg_time.h"
#include "lg_ws.h"
#include "proto_jwt.h"

/* A server frame (never masked) with the header for len's length class. */
static size_t
server_frame(uint8_t *out, bool fin, int op, const void *p, size_t len)
{
    size_t h = 0;

    out[h++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (len < 126) {
        out[h++] = (uint8_t)len;
    } else if (len <= 0xffff) {
        out[h++] = 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 127;
        for (int i = 7; i >= 0; i--) {
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
        }
    }
    memcpy(out + h, p, len);
    return h + len;
}

static void
test_client_frames_round_trip_in_every_length_class(void)
{
    static const size_t lens[] = {0, 125, 126, 65535, 65536, 200000};
    uint8_t *src = malloc(200000), *buf = malloc(200000 + LG_WS_HEADER_MAX);

    for (size_t i = 0; i < 200000; i++) {
        src[i] = (uint8_t)(i * 7);
    }
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lg_ws_frame_encode(buf, LG_WS_TEXT, src, lens[k], 0xa1b2c3d4);
        lg_ws_frame_t f;
        ok((buf[1] & 0x80) != 0, "client frame of %zu bytes is masked", lens[k]);
        ok(lg_ws_frame_parse(buf, n - 1, 1 << 20, &f) == 0, "%zu bytes minus one: incomplete",
           lens[k]);
        ok(lg_ws_frame_parse(buf, n, 1 << 20, &f) == (long)n && f.len == lens[k] &&
               memcmp(f.payload, src, lens[k]) == 0 && f.fin && f.opcode == LG_WS_TEXT,
           "%zu bytes round-trip", lens[k]);
    }
    free(src);
    free(buf);
}

static void
test_bad_frames_are_protocol_errors(void)
{
    uint8_t rsv[] = {0xC1, 0x00};
    uint8_t frag_ping[] = {0x09, 0x00};
    uint8_t long_ping[] = {0x89, 126, 0, 200};
    uint8_t bad_op[] = {0x83, 0x00};
    uint8_t huge[] = {0x81, 127, 0, 0, 0, 0, 0, 0x20, 0, 0}; /* 2 MiB */
    lg_ws_frame_t f;

    ok(lg_ws_frame_parse(rsv, 2, 100, &f) == -1, "reserved bit set");
    ok(lg_ws_frame_parse(frag_ping, 2, 100, &f) == -1, "fragmented ping");
    ok(lg_ws_frame_parse(long_ping, 4, 1000, &f) == -1, "ping over 125 bytes");
    ok(lg_ws_frame_parse(bad_op, 2, 100, &f) == -1, "unknown opcode");
    ok(lg_ws_frame_parse(huge, sizeof(huge), 1 << 20, &f) == -1, "payload over the cap");
}

static void
test_upgrade_answer_is_checked(void)
{
    char key[LG_WS_KEY_LEN + 1], accept[LG_WS_ACCEPT_LEN + 1], resp[256];
    uint64_t rng = 12345;
    int status = 0;

    /* RFC 6455 section 1.3's example. */
    lg_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept);
    ok(strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "accept of the RFC example");
    lg_ws_key_new(&rng, key);
    ok(strlen(key) == LG_WS_KEY_LEN, "key is 24 characters");
    lg_ws_accept_for(key, accept);
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "connection: Upgrade\r\nsec-websocket-accept: %s\r\n\r\n\x81",
                     accept);
    ok(lg_ws_response_check(resp, (size_t)n - 3, accept, &status) == 0, "headers incomplete");
    ok(lg_ws_response_check(resp, (size_t)n, accept, &status) == n - 1, "101 accepted");
    ok(lg_ws_response_check(resp, (size_t)n, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", &status) == -1,
       "wrong accept refused");
    n = snprintf(resp, sizeof(resp), "HTTP/1.1 429 Too Many Requests\r\n\r\n");
    ok(lg_ws_response_check(resp, (size_t)n, accept, &status) == -1 && status == 429,
       "429 refused with its status");
}

static void
test_jwt_passes_the_hubs_verifier(void)
{
    char tok[LG_JWT_MAX];
    proto_jwt_claims_t claims;
    const char *why = NULL;
    const char *secret = "s3cret-for-bench";

    ok(lg_jwt_sign(secret, 4242, 60, tok) == 0, "signed");
    ok(proto_jwt_verify(tok, strlen(tok), (const unsigned char *)secret, strlen(secret),
                        (int64_t)time(NULL), 0, &claims, &why) == 0 &&
           claims.user_id == 4242,
       "proto_jwt_verify accepts it");
    ok(proto_jwt_verify(tok, strlen(tok), (const unsigned char *)"other", 5, (int64_t)time(NULL), 0,
                        &claims, &why) == -1,
       "another secret refuses it");
}

static void
test_scan_reads_the_hubs_frames(void)
{
    static const char msg[] =
        "{\"type\":\"chat_message\",\"message\":{\"id\":9,\"room_id\":12,\"seq\":46,"
        "\"sender\":{\"id\":7,\"full_name\":\"A \\\"q\\\" B\",\"role\":\"student\"},"
        "\"content\":\"lg 00000000000000001234 "
        "xx\",\"created_at\":\"2026\",\"client_id\":\"lg-1-5\"}}";
    static const char est[] = "{\"type\":\"connection_established\",\"room_id\":1,"
                              "\"participants\":[{\"id\":1,\"last_read_seq\":3}],\"last_seq\":45}";
    int64_t v = 0;
    size_t n = 0;
    const char *s;

    ok(lg_scan_type_is(msg, strlen(msg), "chat_message"), "type chat_message");
    ok(!lg_scan_type_is(msg, strlen(msg), "chat"), "type prefix is not a match");
    ok(lg_scan_int(msg, strlen(msg), "seq", &v) == 0 && v == 46, "seq");
    s = lg_scan_str(msg, strlen(msg), "full_name", &n);
    ok(s != NULL && n == 9, "string with escaped quotes");
    s = lg_scan_str(msg, strlen(msg), "client_id", &n);
    ok(s != NULL && n == 6 && memcmp(s, "lg-1-5", 6) == 0, "client_id");
    ok(lg_scan_int(est, strlen(est), "last_seq", &v) == 0 && v == 45,
       "last_seq, not last_read_seq");
}

static void
test_seqset_and_hist_count(void)
{
    lg_seqset_t s;
    lg_hist_t *h = malloc(sizeof(*h));

    lg_seqset_init(&s, 10);
    ok(lg_seqset_add(&s, 10) == -1, "seq at the base predates the run");
    ok(lg_seqset_add(&s, 11) == 1 && lg_seqset_add(&s, 11) == 0, "new then duplicate");
    ok(lg_seqset_add(&s, 5000) == 1 && lg_seqset_has(&s, 5000) && !lg_seqset_has(&s, 4999),
       "grows");
    lg_seqset_clear(&s);
    lg_hist_init(h);
    for (uint64_t i = 1; i <= 100000; i++) {
        lg_hist_add(h, i * 1000);
    }
    uint64_t p50 = lg_hist_quantile(h, 0.5), p99 = lg_hist_quantile(h, 0.99);
    ok(p50 > 49000000 && p50 < 51000000, "p50 within 2%% (%llu)", (unsigned long long)p50);
    ok(p99 > 97000000 && p99 < 101000000, "p99 within 2%% (%llu)", (unsigned long long)p99);
    free(h);
}

static void
test_spans_split_the_way_from_the_burst(void)
{
    lg_spans_t sp = {0};
    lg_hist_t *first = malloc(sizeof(*first)), *spread = malloc(sizeof(*spread));
    const uint64_t ms = 1000000;

    lg_hist_init(first);
    lg_hist_init(spread);
    /* Seq 7, sent at 100 ms, reaches three receivers at 101, 104 and 102 ms;
     * seq 8 reaches two of the three; seq 6 predates the first added. */
    lg_spans_add(&sp, 7, 100 * ms, 101 * ms);
    lg_spans_add(&sp, 7, 100 * ms, 104 * ms);
    lg_spans_add(&sp, 7, 100 * ms, 102 * ms);
    lg_spans_add(&sp, 8, 200 * ms, 201 * ms);
    lg_spans_add(&sp, 8, 200 * ms, 202 * ms);
    lg_spans_add(&sp, 6, 0, 1 * ms);
    lg_spans_add(&sp, 7 + (1 << 22), 0, 1 * ms);
    ok(sp.n == 2, "a slot per seq from the first added; stray seqs ignored (%zu)", sp.n);
    lg_spans_observe(&sp, 3, first, spread);
    ok(first->count == 1 && spread->count == 1, "only the message that reached the whole room");
    uint64_t f = lg_hist_quantile(first, 0.5), w = lg_hist_quantile(spread, 0.5);
    ok(f > 0.97 * ms && f < 1.03 * ms, "first arrival 1 ms after the send (%llu)",
       (unsigned long long)f);
    ok(w > 2.9 * ms && w < 3.1 * ms, "last arrival 3 ms after the first (%llu)",
       (unsigned long long)w);
    lg_spans_reset(&sp);
    lg_spans_add(&sp, 3, 0, 5 * ms);
    ok(sp.n == 1 && sp.base == 3, "a reset starts from the next seq added");
    lg_spans_free(&sp);
    free(first);
    free(spread);
}

/* ---- one connection against a scripted server on a loopback socket ---- */

typedef struct seen {
    int opened, texts, closed;
    size_t last_len;
    bool last_ok;
} seen_t;

static uint8_t *big;

static void
on_open(lg_conn_t *c)
{
    ((seen_t *)c->ud)->opened++;
}

static void
on_text(lg_conn_t *c, char *text, size_t len)
{
    seen_t *s = c->ud;

    s->texts++;
    s->last_len = len;
    s->last_ok = len == 3 ? memcmp(text, "abc", 3) == 0 : memcmp(text, big, len) == 0;
}

static void
on_closed(lg_conn_t *c)
{
    ((seen_t *)c->ud)->closed++;
}

/* Poll the client while the server side writes all of buf (non-blocking). */
static void
server_send(lg_loop_t *l, int fd, const uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno != EAGAIN) {
            return;
        }
        lg_loop_poll(l, 1);
    }
}

/* Read from the server side until pred-length bytes arrived or a second passed. */
static size_t
server_read(lg_loop_t *l, int fd, uint8_t *buf, size_t cap, size_t want)
{
    size_t got = 0;
    uint64_t until = lg_now_ns() + LG_SEC;

    while (got < want && lg_now_ns() < until) {
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n > 0) {
            got += (size_t)n;
        }
        lg_loop_poll(l, 1);
    }
    return got;
}

static void
test_connection_reassembles_answers_pings_and_closes(void)
{
    static const lg_conn_cbs_t cbs = {on_open, on_text, on_closed};
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int ls = socket(AF_INET, SOCK_STREAM, 0), fd = -1;
    seen_t seen = {0};
    lg_target_t t;
    char url[64], req[4096], want_accept[LG_WS_ACCEPT_LEN + 1], resp[256];
    uint8_t *out = malloc(300000), in[256];
    size_t n = 0, got;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(ls, (struct sockaddr *)&a, sizeof(a));
    listen(ls, 4);
    getsockname(ls, (struct sockaddr *)&a, &alen);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%u", ntohs(a.sin_port));
    ok(lg_target_parse(url, &t) == 0, "target %s", url);
    big = malloc(200000);
    for (size_t i = 0; i < 200000; i++) {
        big[i] = (uint8_t)('a' + i % 26);
    }
    lg_loop_t *l = lg_loop_new(&cbs, 0x7f000002, 3);
    lg_conn_t *c = lg_conn_open(l, &t, "/ws/chat/1/", "tok", &seen);
    for (int i = 0; i < 1000 && fd < 0; i++) {
        lg_loop_poll(l, 1);
        fd = accept(ls, NULL, NULL);
    }
    ok(fd >= 0, "accepted");
    fcntl(fd, F_SETFL, O_NONBLOCK);
    got = server_read(l, fd, (uint8_t *)req, sizeof(req) - 1, 1);
    lg_loop_poll(l, 5);
    ssize_t more = recv(fd, req + got, sizeof(req) - 1 - got, 0);
    got += more > 0 ? (size_t)more : 0;
    req[got] = '\0';
    ok(strstr(req, "GET /ws/chat/1/ HTTP/1.1\r\n") == req &&
           strstr(req, "Authorization: Bearer tok\r\n") != NULL,
       "upgrade request with the bearer token");
    char *k = strstr(req, "Sec-WebSocket-Key: ");
    ok(k != NULL, "has a key");
    if (k == NULL) {
        return;
    }
    k[19 + LG_WS_KEY_LEN] = '\0';
    lg_ws_accept_for(k + 19, want_accept);
    int rl = snprintf(resp, sizeof(resp), "HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                      want_accept);
    /* The 101, then: "abc" in three fragments with a ping in the middle, one
     * 200000-byte message (64-bit length) in two fragments, then a close. */
    memcpy(out, resp, (size_t)rl);
    n = (size_t)rl;
    n += server_frame(out + n, false, LG_WS_TEXT, "a", 1);
    n += server_frame(out + n, true, LG_WS_PING, "hi", 2);
    n += server_frame(out + n, false, LG_WS_CONT, "b", 1);
    n += server_frame(out + n, true, LG_WS_CONT, "c", 1);
    n += server_frame(out + n, false, LG_WS_TEXT, big, 70000);
    n += server_frame(out + n, true, LG_WS_CONT, big + 70000, 130000);
    server_send(l, fd, out, n);
    for (int i = 0; i < 200 && seen.texts < 2; i++) {
        lg_loop_poll(l, 1);
    }
    ok(seen.opened == 1, "opened");
    ok(seen.texts == 2 && seen.last_len == 200000 && seen.last_ok,
       "both messages reassembled (%d, last %zu bytes)", seen.texts, seen.last_len);
    got = server_read(l, fd, in, sizeof(in), 8);
    ok(got == 8 && in[0] == 0x8A && in[1] == (0x80 | 2) && (in[6] ^ in[2]) == 'h' &&
           (in[7] ^ in[3]) == 'i',
       "ping answered by a masked pong");
    n = server_frame(out, true, LG_WS_CLOSE, "\x0f\xa0", 2);
    server_send(l, fd, out, n);
    for (int i = 0; i < 200 && seen.closed == 0; i++) {
        lg_loop_poll(l, 1);
    }
    ok(seen.closed == 1 && c->close_code == 4000 && c->state == LG_CONN_CLOSED,
       "server close 4000 seen");
    got = server_read(l, fd, in, sizeof(in), 8);
    ok(got == 8 && in[0] == 0x88 && (in[6] ^ in[2]) == 0x0f && (in[7] ^ in[3]) == 0xa0,
       "close echoed with its code");
    lg_loop_free(l);
    close(fd);
    close(ls);
    free(out);
    free(big);
}

static void
test_metrics_counters_are_read(void)
{
    const char *page = "# HELP chathub_frames_out_total frames written to sockets\n"
                       "# TYPE chathub_frames_out_total counter\n"
                       "chathub_frames_out_total_x 99\n"
                       "chathub_frames_out_total 1500\n"
                       "chathub_socket_writes_totally 7\n"
                       "\n"
                       "chathub_socket_writes_total 1200\n";
    double frames = -1, writes = -1;
    lg_metrics_sample_t a = {100, 50, 2, 2}, b = {400, 150, 2, 2}, half = {400, 150, 2, 1};

    ok(lg_metrics_parse(page, &frames, &writes) == 2 && frames == 1500 && writes == 1200,
       "both counters, not the names that only start like them (%.0f, %.0f)", frames, writes);
    frames = writes = -1;
    ok(lg_metrics_parse("chathub_frames_out_total 3\n", &frames, &writes) == 1 && frames == 3 &&
           writes == -1,
       "a page without the writes counter finds one");
    ok(lg_metrics_parse("chathub_socket_writes_total \n", &frames, &writes) == 0,
       "a counter without a value is not read");
    ok(lg_metrics_frames_per_write(&a, &b) == 3.0, "300 frames in 100 writes: 3 per write");
    ok(lg_metrics_frames_per_write(&a, &half) < 0, "a hub that did not answer: no figure");
    ok(lg_metrics_frames_per_write(&a, &a) < 0, "no writes: no figure");
}

int
main(void)
{
    test_client_frames_round_trip_in_every_length_class();
    test_bad_frames_are_protocol_errors();
    test_upgrade_answer_is_checked();
    test_jwt_passes_the_hubs_verifier();
    test_scan_reads_the_hubs_frames();
    test_seqset_and_hist_count();
    test_spans_split_the_way_from_the_burst();
    test_metrics_counters_are_read();
    test_connection_reassembles_answers_pings_and_closes();
    return tap_done();
}
