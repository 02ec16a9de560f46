/*
 * Rooms, members and the counting. Receivers record each seq in a bitmap;
 * senders record the seqs of their own echoes (the hub's acknowledgement).
 * After a step, every acked seq is looked up in every member's bitmap: that is
 * the loss. Nothing here decides whether a step passed; lg_modes.c does.
 */
#include "lg_bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lg_conn.h"
#include "lg_jwt.h"
#include "lg_scan.h"
#include "lg_seqset.h"
#include "lg_spans.h"
#include "lg_time.h"

#define JWT_TTL_S 7200 /* longer than any run: expiry must not close sockets */
#define REASONS_MAX 16
#define CLIENT_ID_PREFIX "lg-"

typedef struct room room_t;

typedef struct member {
    lg_bench_t *bench;
    room_t *room;
    size_t index; /* in the room; 0 is the sender */
    lg_conn_t *c;
    bool established;
    lg_seqset_t seen;
} member_t;

struct room {
    int64_t id;
    member_t *members;
    size_t n;
    uint64_t next_send_ns;
    size_t outstanding;
    uint64_t client_n;
    int64_t *acked; /* seqs acknowledged in the current step */
    size_t nacked, acked_cap;
    uint64_t late;    /* deliveries at or over the p99 limit in the current step */
    lg_spans_t spans; /* the current step's messages: first and last arrival */
};

typedef struct reason {
    char text[96];
    size_t count;
} reason_t;

struct lg_bench {
    const lg_opts_t *o;
    lg_loop_t *loop;
    room_t *rooms;
    size_t nrooms;
    member_t *members; /* all rooms' members, room after room */
    size_t nmembers;
    bool senders, closing;
    size_t opened, established, failed, closed;
    uint64_t t_first_open, t_last_established, deadline;
    lg_hist_t handshake;
    uint64_t frames;
    lg_step_result_t *step; /* NULL between steps */
    unsigned step_id;
    uint32_t run_id; /* in every client_id: the hub dedupes on (room, sender, client_id) */
    int64_t real_minus_mono_ns; /* to read created_at on the load generator's clock */
    char *txt;
    size_t txt_cap;
    reason_t reasons[REASONS_MAX];
    size_t nreasons;
};

static int64_t
real_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU seconds this process has used: shows when the load generator is the ceiling. */
static double
self_cpu_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0) {
        return 0;
    }
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);

    if (p == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        abort();
    }
    return p;
}

static void
add_reason(lg_bench_t *b, const char *text)
{
    for (size_t i = 0; i < b->nreasons; i++) {
        if (strcmp(b->reasons[i].text, text) == 0) {
            b->reasons[i].count++;
            return;
        }
    }
    if (b->nreasons < REASONS_MAX) {
        snprintf(b->reasons[b->nreasons].text, sizeof(b->reasons[0].text), "%s", text);
        b->reasons[b->nreasons++].count = 1;
    }
}

void
lg_bench_reasons(const lg_bench_t *b, char *out, size_t cap)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < b->nreasons && o < cap; i++) {
        o += (size_t)snprintf(out + o, cap - o, "%s%s x%zu", i > 0 ? ", " : "", b->reasons[i].text,
                              b->reasons[i].count);
    }
}

/* Why c ended, as one short line. */
static void
describe_close(const lg_conn_t *c, char *out, size_t cap)
{
    if (c->http_status != 0) {
        snprintf(out, cap, "http %d", c->http_status);
    } else if (c->sys_errno != 0) {
        snprintf(out, cap, "%s: %s", c->fail, strerror(c->sys_errno));
    } else if (c->close_code != 1006 && c->close_code != 0) {
        snprintf(out, cap, "close %d", c->close_code);
    } else {
        snprintf(out, cap, "%s", c->fail != NULL ? c->fail : "closed");
    }
}

static void
on_established(member_t *m, const char *text, size_t len)
{
    lg_bench_t *b = m->bench;
    int64_t last_seq = 0;
    uint64_t now = lg_now_ns();

    if (lg_scan_int(text, len, "last_seq", &last_seq) < 0) {
        last_seq = 0;
    }
    lg_seqset_init(&m->seen, last_seq);
    m->established = true;
    b->established++;
    b->t_last_established = now;
    lg_hist_add(&b->handshake, now - m->c->t_start_ns);
}

/* The send time the sender wrote into the text: "lg <ns> xxx...". */
static uint64_t
sent_at(const char *text, size_t len)
{
    size_t clen = 0;
    const char *content = lg_scan_str(text, len, "content", &clen);
    uint64_t ns = 0;

    if (content == NULL || clen < 4 || memcmp(content, "lg ", 3) != 0) {
        return 0;
    }
    for (size_t i = 3; i < clen && content[i] >= '0' && content[i] <= '9'; i++) {
        ns = ns * 10 + (uint64_t)(content[i] - '0');
    }
    return ns;
}

static void
on_ack(member_t *m, int64_t seq, uint64_t latency)
{
    room_t *r = m->room;
    lg_step_result_t *s = m->bench->step;

    if (r->outstanding > 0) {
        r->outstanding--;
    }
    if (r->nacked == r->acked_cap) {
        r->acked_cap = r->acked_cap != 0 ? r->acked_cap * 2 : 1024;
        r->acked = realloc(r->acked, r->acked_cap * sizeof(*r->acked));
        if (r->acked == NULL) {
            abort();
        }
    }
    r->acked[r->nacked++] = seq;
    if (s != NULL) {
        s->acked++;
        lg_hist_add(&s->ack, latency);
    }
}

/* The target a member connects to: nodes alternate within a room, and each
 * room starts one node further, so senders are spread over the nodes too. */
static size_t
member_node(const lg_bench_t *b, const member_t *m)
{
    return ((size_t)(m->room - b->rooms) + m->index) % b->o->ntargets;
}

/* created_at ("2026-11-22T10:15:30.123Z", PostgreSQL's transaction start)
 * on the load generator's clock, in ns; 0 when absent or malformed. */
static uint64_t
created_at_mono(const lg_bench_t *b, const char *text, size_t len)
{
    size_t n = 0;
    const char *p = lg_scan_str(text, len, "created_at", &n);
    char iso[32];
    struct tm tm = {0};
    int ms = 0;

    if (p == NULL || n >= sizeof(iso)) {
        return 0;
    }
    memcpy(iso, p, n);
    iso[n] = '\0';
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t real = (int64_t)timegm(&tm) * 1000000000 + (int64_t)ms * 1000000;
    return real > b->real_minus_mono_ns ? (uint64_t)(real - b->real_minus_mono_ns) : 0;
}

/* A delivery at or over the p99 limit: where, and how long after its send
 * the store's transaction began (created_at has whole milliseconds). */
static void
count_late(member_t *m, lg_step_result_t *s, uint64_t t0, uint64_t latency, const char *text,
           size_t len)
{
    if ((double)latency < m->bench->o->p99_limit_ms * 1e6) {
        return;
    }
    m->room->late++;
    s->late++;
    s->late_ns_sum += (double)latency;
    s->late_by_node[member_node(m->bench, m)]++;
    uint64_t stored = created_at_mono(m->bench, text, len);
    if (stored != 0) {
        s->late_stored_ns_sum += stored > t0 ? (double)(stored - t0) : 0;
        s->late_stored_n++;
    }
}

static void
on_chat(member_t *m, const char *text, size_t len)
{
    lg_step_result_t *s = m->bench->step;
    int64_t seq = 0, before = m->seen.max;
    uint64_t t0 = sent_at(text, len), now = lg_now_ns();
    uint64_t latency = t0 != 0 && now > t0 ? now - t0 : 0;
    size_t cidlen = 0;
    const char *cid;
    int fresh;

    if (lg_scan_int(text, len, "seq", &seq) < 0) {
        return;
    }
    fresh = lg_seqset_add(&m->seen, seq);
    if (s != NULL && fresh == 0) {
        s->dups++;
    }
    if (fresh != 1) {
        return;
    }
    if (s != NULL) {
        s->out_of_order += seq < before ? 1 : 0;
        if (latency > s->latency.max && t0 > s->start_ns) {
            s->latency_max_at_s = (double)(t0 - s->start_ns) / 1e9;
        }
        lg_hist_add(&s->latency, latency);
        count_late(m, s, t0, latency, text, len);
        if (t0 != 0 && m->c->rx_stamp_ns > t0) {
            lg_hist_add(&s->arrival, m->c->rx_stamp_ns - t0);
        }
        if (t0 != 0) {
            lg_spans_add(&m->room->spans, seq, t0,
                         m->c->rx_stamp_ns > t0 ? m->c->rx_stamp_ns : now);
        }
    }
    cid = lg_scan_str(text, len, "client_id", &cidlen);
    if (m->index == 0 && m->bench->senders && cid != NULL &&
        strncmp(cid, CLIENT_ID_PREFIX, strlen(CLIENT_ID_PREFIX)) == 0) {
        on_ack(m, seq, latency);
    }
}

/* An error frame: before the connect completed it explains the close that follows;
 * on a sender it answers one send. */
static void
on_error_frame(member_t *m, const char *text, size_t len)
{
    char why[96];
    size_t clen = 0, cidlen = 0;
    const char *code = lg_scan_str(text, len, "code", &clen);

    snprintf(why, sizeof(why), "%s %.*s", m->established ? "send error" : "connect error",
             (int)(code != NULL ? clen : 1), code != NULL ? code : "?");
    add_reason(m->bench, why);
    if (m->established && lg_scan_str(text, len, "client_id", &cidlen) != NULL) {
        if (m->room->outstanding > 0) {
            m->room->outstanding--;
        }
        if (m->bench->step != NULL) {
            m->bench->step->errors++;
        }
    }
}

static void
on_text(lg_conn_t *c, char *text, size_t len)
{
    member_t *m = c->ud;

    m->bench->frames++;
    if (!m->established) {
        if (lg_scan_type_is(text, len, "connection_established")) {
            on_established(m, text, len);
        } else if (lg_scan_type_is(text, len, "error")) {
            on_error_frame(m, text, len);
        }
        return;
    }
    if (lg_scan_type_is(text, len, "chat_message")) {
        on_chat(m, text, len);
    } else if (lg_scan_type_is(text, len, "error")) {
        on_error_frame(m, text, len);
    }
}

static void
on_closed(lg_conn_t *c)
{
    member_t *m = c->ud;
    lg_bench_t *b = m->bench;
    char why[128];

    if (b->closing) {
        return;
    }
    describe_close(c, why, sizeof(why));
    add_reason(b, why);
    if (!m->established) {
        b->failed++;
        return;
    }
    b->closed++;
    if (b->step != NULL) {
        b->step->closed++;
    }
}

static const lg_conn_cbs_t cbs = {
    .on_text = on_text,
    .on_closed = on_closed,
};

lg_bench_t *
lg_bench_new(const lg_opts_t *o, bool senders)
{
    lg_bench_t *b = xcalloc(1, sizeof(*b));
    size_t total = o->mode == LG_IDLE ? o->connections : o->rooms * o->members;

    b->o = o;
    b->senders = senders;
    b->loop = lg_loop_new(&cbs, o->src_first, o->nsrc);
    b->deadline = lg_now_ns() + (uint64_t)(o->timeout_s * 1e9);
    /* Runs against the same rooms must never repeat a client_id, or the hub
     * answers with the earlier run's message instead of storing a new one. */
    b->run_id = (uint32_t)(time(NULL) * 2654435761u) ^ (uint32_t)getpid() ^ (uint32_t)lg_now_ns();
    b->real_minus_mono_ns = real_now_ns() - (int64_t)lg_now_ns();
    b->nrooms = o->rooms;
    b->rooms = xcalloc(b->nrooms, sizeof(*b->rooms));
    b->nmembers = total;
    b->members = xcalloc(total, sizeof(*b->members));
    lg_hist_init(&b->handshake);
    for (size_t r = 0; r < b->nrooms; r++) {
        room_t *room = &b->rooms[r];
        room->id = o->room_base + (int64_t)r;
        room->members = &b->members[r * o->members];
        room->n = r + 1 < b->nrooms ? o->members : total - r * o->members;
        for (size_t i = 0; i < room->n; i++) {
            member_t *m = &room->members[i];
            m->bench = b;
            m->room = room;
            m->index = i;
        }
    }
    return b;
}

double
lg_bench_close_all(lg_bench_t *b, double max_s)
{
    uint64_t start = lg_now_ns(), until = start + (uint64_t)(max_s * 1e9);
    size_t open = 1;

    b->closing = true;
    for (size_t i = 0; i < b->nmembers; i++) {
        if (b->members[i].c != NULL) {
            lg_conn_close(b->members[i].c, 1000);
        }
    }
    while (open > 0 && lg_now_ns() < until) {
        lg_loop_poll(b->loop, 10);
        open = 0;
        for (size_t i = 0; i < b->nmembers; i++) {
            open += b->members[i].c != NULL && b->members[i].c->state != LG_CONN_CLOSED;
        }
    }
    return open == 0 ? (double)(lg_now_ns() - start) / 1e9 : -1;
}

void
lg_bench_free(lg_bench_t *b)
{
    if (b == NULL) {
        return;
    }
    /* Let the hub see clean closes, but never wait long for it. */
    lg_bench_close_all(b, 2);
    lg_loop_free(b->loop);
    for (size_t i = 0; i < b->nmembers; i++) {
        lg_seqset_clear(&b->members[i].seen);
    }
    for (size_t r = 0; r < b->nrooms; r++) {
        free(b->rooms[r].acked);
        lg_spans_free(&b->rooms[r].spans);
    }
    free(b->rooms);
    free(b->members);
    free(b->txt);
    free(b);
}

const lg_opts_t *
lg_bench_opts(const lg_bench_t *b)
{
    return b->o;
}

bool
lg_bench_expired(const lg_bench_t *b)
{
    return lg_now_ns() >= b->deadline;
}

size_t
lg_bench_closed(const lg_bench_t *b)
{
    return b->closed;
}

static void
open_member(lg_bench_t *b, member_t *m)
{
    const lg_opts_t *o = b->o;
    size_t r = (size_t)(m->room - b->rooms);
    int64_t user = o->user_base + (int64_t)(r * o->members + m->index);
    char token[LG_JWT_MAX], path[64];

    if (lg_jwt_sign(o->secret, user, JWT_TTL_S, token) < 0) {
        fprintf(stderr, "loadgen: JWT signing failed\n");
        abort();
    }
    snprintf(path, sizeof(path), "/ws/chat/%" PRId64 "/", m->room->id);
    const lg_target_t *t = &o->targets[member_node(b, m)];
    if (b->opened == 0) {
        b->t_first_open = lg_now_ns();
    }
    b->opened++;
    m->c = lg_conn_open(b->loop, t, path, token, m);
}

int
lg_bench_connect(lg_bench_t *b, lg_connect_result_t *r)
{
    size_t next = 0;
    double cpu0 = self_cpu_s();

    while (b->established + b->failed < b->nmembers && !lg_bench_expired(b)) {
        while (next < b->nmembers && b->opened - b->established - b->failed < b->o->concurrency) {
            open_member(b, &b->members[next++]);
        }
        lg_loop_poll(b->loop, 5);
    }
    memset(r, 0, sizeof(*r));
    r->wanted = b->nmembers;
    r->established = b->established;
    r->failed = b->nmembers - b->established;
    r->seconds = b->established > 0 ? (double)(b->t_last_established - b->t_first_open) / 1e9 : 0;
    r->handshake = b->handshake;
    r->loadgen_cpu_s = self_cpu_s() - cpu0;
    return r->failed == 0 ? 0 : -1;
}

size_t
lg_bench_reopen_closed(lg_bench_t *b)
{
    size_t n = 0;
    uint64_t until = lg_now_ns() + 30 * LG_SEC;

    for (size_t i = 0; i < b->nmembers; i++) {
        member_t *m = &b->members[i];
        if (m->c == NULL || m->c->state != LG_CONN_CLOSED || !m->established) {
            continue;
        }
        m->established = false; /* a new socket, a new base seq */
        lg_seqset_clear(&m->seen);
        b->established--;
        open_member(b, m);
        n++;
    }
    while (b->established + b->failed < b->nmembers && lg_now_ns() < until &&
           !lg_bench_expired(b)) {
        lg_loop_poll(b->loop, 5);
    }
    return n;
}

void
lg_bench_settle(lg_bench_t *b, unsigned quiet_ms, double max_s)
{
    uint64_t start = lg_now_ns(), last_change = start, seen = b->frames;

    while (!lg_bench_expired(b) && lg_now_ns() - start < (uint64_t)(max_s * 1e9)) {
        lg_loop_poll(b->loop, 20);
        if (b->frames != seen) {
            seen = b->frames;
            last_change = lg_now_ns();
        } else if (lg_now_ns() - last_change >= quiet_ms * LG_MS) {
            return;
        }
    }
}

void
lg_bench_hold(lg_bench_t *b, double seconds)
{
    uint64_t until = lg_now_ns() + (uint64_t)(seconds * 1e9);

    while (lg_now_ns() < until && !lg_bench_expired(b)) {
        lg_loop_poll(b->loop, 50);
    }
}

/* One chat_message from room r's sender; the text carries the send time. */
static void
send_one(lg_bench_t *b, room_t *r)
{
    size_t need = b->o->msg_bytes + 160;
    uint64_t now = lg_now_ns();
    member_t *s = &r->members[0];
    int n;

    if (b->txt_cap < need) {
        b->txt = realloc(b->txt, need);
        b->txt_cap = need;
        if (b->txt == NULL) {
            abort();
        }
    }
    n = snprintf(b->txt, need, "{\"type\":\"chat_message\",\"message\":\"lg %020" PRIu64 " ", now);
    /* Pad the text to msg_bytes: "lg " + 20 digits + " " is 24 of them. */
    memset(b->txt + n, 'x', b->o->msg_bytes - 24);
    n += (int)(b->o->msg_bytes - 24);
    n += snprintf(b->txt + n, need - (size_t)n,
                  "\",\"room_id\":%" PRId64 ",\"client_id\":\"" CLIENT_ID_PREFIX "%08" PRIx32
                  "-%u-%" PRIu64 "\"}",
                  r->id, b->run_id, b->step_id, r->client_n++);
    if (lg_conn_send_text(s->c, b->txt, (size_t)n) < 0) {
        return;
    }
    r->outstanding++;
    b->step->sent++;
}

static void
send_due(lg_bench_t *b, room_t *r, uint64_t now, uint64_t interval, size_t max_out)
{
    if (r->members[0].c == NULL || r->members[0].c->state != LG_CONN_OPEN) {
        return;
    }
    if (interval == 0) {
        while (r->outstanding < max_out && r->members[0].c->state == LG_CONN_OPEN) {
            send_one(b, r);
        }
        return;
    }
    while (r->next_send_ns <= now && r->outstanding < max_out &&
           r->members[0].c->state == LG_CONN_OPEN) {
        if (now - r->next_send_ns > b->step->send_lag_max_ns) {
            b->step->send_lag_max_ns = now - r->next_send_ns;
        }
        send_one(b, r);
        r->next_send_ns += interval;
    }
}

/* Every echo is back and every member holds every acked seq. */
static bool
drained(const lg_bench_t *b)
{
    for (size_t i = 0; i < b->nrooms; i++) {
        const room_t *r = &b->rooms[i];
        if (r->outstanding > 0 && r->members[0].c != NULL &&
            r->members[0].c->state == LG_CONN_OPEN) {
            return false;
        }
        for (size_t k = 0; k < r->n; k++) {
            const member_t *m = &r->members[k];
            if (m->c != NULL && m->c->state == LG_CONN_OPEN && r->nacked > 0 &&
                !lg_seqset_has(&m->seen, r->acked[r->nacked - 1])) {
                return false;
            }
        }
    }
    return true;
}

static void
count_step(lg_bench_t *b, lg_step_result_t *s)
{
    for (size_t i = 0; i < b->nrooms; i++) {
        room_t *r = &b->rooms[i];
        s->unacked += r->outstanding;
        r->outstanding = 0; /* a late echo must not block the next step */
        s->late_rooms += r->late > 0 ? 1 : 0;
        if (r->late > s->late_top_room) {
            s->late_top_room = r->late;
            s->late_top_room_node = member_node(b, &r->members[0]);
        }
        s->expected += r->nacked * r->n;
        lg_spans_observe(&r->spans, r->n, &s->msg_first, &s->msg_spread);
        for (size_t k = 0; k < r->n; k++) {
            for (size_t j = 0; j < r->nacked; j++) {
                if (lg_seqset_has(&r->members[k].seen, r->acked[j])) {
                    s->delivered++;
                } else {
                    s->lost++;
                }
            }
        }
    }
}

void
lg_bench_step(lg_bench_t *b, double sends_per_s, double seconds, size_t max_out,
              lg_step_result_t *s)
{
    uint64_t start = lg_now_ns(), end = start + (uint64_t)(seconds * 1e9);
    uint64_t interval = sends_per_s > 0 ? (uint64_t)((double)b->nrooms * 1e9 / sends_per_s) : 0;

    double cpu0 = self_cpu_s();

    memset(s, 0, sizeof(*s));
    s->start_ns = start;
    lg_hist_init(&s->latency);
    lg_hist_init(&s->arrival);
    lg_hist_init(&s->ack);
    lg_hist_init(&s->msg_first);
    lg_hist_init(&s->msg_spread);
    s->target_sends_per_s = sends_per_s;
    b->step = s;
    b->step_id++;
    for (size_t i = 0; i < b->nrooms; i++) {
        b->rooms[i].nacked = 0;
        b->rooms[i].late = 0;
        lg_spans_reset(&b->rooms[i].spans);
        b->rooms[i].next_send_ns = start + interval * i / b->nrooms; /* staggered */
    }
    for (uint64_t now = start; now < end && !lg_bench_expired(b); now = lg_now_ns()) {
        for (size_t i = 0; i < b->nrooms; i++) {
            send_due(b, &b->rooms[i], now, interval, max_out);
        }
        lg_loop_poll(b->loop, b->o->spin ? 0 : 1);
    }
    s->seconds = (double)(lg_now_ns() - start) / 1e9;
    uint64_t drain_start = lg_now_ns(), drain_end = drain_start + (uint64_t)(b->o->drain_s * 1e9);
    while (!drained(b) && lg_now_ns() < drain_end && !lg_bench_expired(b)) {
        lg_loop_poll(b->loop, b->o->spin ? 0 : 2);
    }
    s->drain_seconds = (double)(lg_now_ns() - drain_start) / 1e9;
    count_step(b, s);
    s->loadgen_cpu_s = self_cpu_s() - cpu0;
    b->step = NULL;
}
