/*
 * Workload sequencing and reporting: one JSON line per result on stdout,
 * progress on stderr. The pass rule for a fanout step (no loss, no failed or
 * missing echo, no socket closed, p99 under the limit, the target rate
 * actually sent) lives here and only here.
 */
#include "lg_modes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lg_bench.h"
#include "lg_metrics.h"
#include "lg_proc.h"

#define EXIT_CONNECT_FAILED 2
#define EXIT_TIMEOUT 3
#define EXIT_CLOSED_BY_HUB 4
#define JSON_MAX 4096
#define SETTLE_QUIET_MS 500
#define CLOSE_STORM_MAX_S 60
#define CLOSE_QUIET_MS 300

static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* Print the line and flush, so a runner reading a pipe sees it at once. */
static void
emit(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* The servers on either side of a step: CPU from /proc, the hubs' counters
 * from /metrics. The requests for /metrics stay outside the CPU window. */
typedef struct servers {
    lg_proc_sample_t proc;
    lg_metrics_sample_t metrics;
} servers_t;

static void
sample_before(const lg_opts_t *o, servers_t *s)
{
    lg_metrics_sample(o->targets, o->ntargets, &s->metrics);
    lg_proc_sample(&o->watch, &s->proc);
}

static void
sample_after(const lg_opts_t *o, servers_t *s)
{
    lg_proc_sample(&o->watch, &s->proc);
    lg_metrics_sample(o->targets, o->ntargets, &s->metrics);
}

/* Connect every socket and report it; 0, or the exit code to give up with. */
static int
connect_all(lg_bench_t *b, const lg_opts_t *o, const char *workload)
{
    lg_connect_result_t *r = malloc(sizeof(*r));
    lg_proc_sample_t before, after;
    char line[JSON_MAX], why[1024], cpu[512];
    int rc;

    if (r == NULL) {
        abort();
    }
    lg_proc_sample(&o->watch, &before);
    rc = lg_bench_connect(b, r);
    lg_proc_sample(&o->watch, &after);
    lg_proc_cpu_json(&o->watch, &before, &after, cpu, sizeof(cpu));
    lg_bench_reasons(b, why, sizeof(why));
    fprintf(stderr, "loadgen: %s: %zu/%zu sockets in %.2f s%s%s\n", workload, r->established,
            r->wanted, r->seconds, why[0] != '\0' ? "; failures: " : "", why);
    snprintf(line, sizeof(line),
             "{\"workload\":\"%s_connect\",\"connections\":%zu,\"established\":%zu,"
             "\"failed\":%zu,\"seconds\":%.3f,\"handshakes_per_s\":%.0f,"
             "\"handshake_p50_ms\":%.2f,\"handshake_p99_ms\":%.2f,\"cpu_s\":%s,"
             "\"loadgen_cpu_s\":%.2f}",
             workload, r->wanted, r->established, r->failed, r->seconds,
             r->seconds > 0 ? (double)r->established / r->seconds : 0,
             ms(lg_hist_quantile(&r->handshake, 0.5)), ms(lg_hist_quantile(&r->handshake, 0.99)),
             cpu, r->loadgen_cpu_s);
    if (o->mode != LG_IDLE) {
        emit(line);
    }
    free(r);
    if (rc == 0) {
        return 0;
    }
    return lg_bench_expired(b) ? EXIT_TIMEOUT : EXIT_CONNECT_FAILED;
}

/* Sockets the hub closed while the room filled up (a presence storm can
 * overflow a socket's queue: 4408) come back the way a client would, so the
 * steps measure the steady state; the closes are reported on their own line. */
static void
reopen_closed(lg_bench_t *b)
{
    const lg_opts_t *o = lg_bench_opts(b);
    size_t closed = lg_bench_closed(b);
    char line[JSON_MAX], why[1024];

    if (closed == 0) {
        return;
    }
    lg_bench_reasons(b, why, sizeof(why));
    size_t n = lg_bench_reopen_closed(b);
    lg_bench_settle(b, SETTLE_QUIET_MS, o->settle_s);
    fprintf(stderr, "loadgen: %s: the hub closed %zu sockets while connecting (%s); reopened %zu\n",
            o->label, closed, why, n);
    snprintf(line, sizeof(line),
             "{\"workload\":\"%s_connect_closed\",\"closed\":%zu,\"reopened\":%zu,"
             "\"reasons\":\"%s\"}",
             o->label, closed, n, why);
    emit(line);
}

/* Why a step failed, or "" when it passed. */
static const char *
step_failure(const lg_opts_t *o, const lg_step_result_t *s)
{
    double sent_rate = s->seconds > 0 ? (double)s->sent / s->seconds : 0;

    if (s->closed > 0) {
        return "sockets closed";
    }
    if (s->lost > 0 || s->unacked > 0 || s->errors > 0) {
        return "loss";
    }
    if (ms(lg_hist_quantile(&s->latency, 0.99)) >= o->p99_limit_ms) {
        return "p99";
    }
    if (s->target_sends_per_s > 0 && sent_rate < 0.95 * s->target_sends_per_s) {
        return "rate not reached";
    }
    return "";
}

/* [n0,n1,...]: late deliveries per node the receivers were on. */
static void
late_json(const lg_opts_t *o, const lg_step_result_t *s, char *out, size_t cap)
{
    size_t len = 0;

    out[len++] = '[';
    for (size_t i = 0; i < o->ntargets && len + 24 < cap; i++) {
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRIu64, i > 0 ? "," : "",
                                s->late_by_node[i]);
    }
    snprintf(out + len, cap - len, "]");
}

/* One step's JSON line; returns the failure ("" when it passed). */
static const char *
report_step(const lg_bench_t *b, const char *workload, double rate, const lg_step_result_t *s,
            const servers_t *before, const servers_t *after)
{
    const lg_opts_t *o = lg_bench_opts(b);
    char line[JSON_MAX], cpu[512], why[1024], fpw[32] = "null", late_nodes[24 * LG_TARGETS_MAX];
    const char *fail = step_failure(o, s);
    double secs = s->seconds > 0 ? s->seconds : 1;
    double cpu_total =
        o->watch.n > 0 ? lg_proc_cpu_total(&o->watch, &before->proc, &after->proc) : 0;
    double per_write = lg_metrics_frames_per_write(&before->metrics, &after->metrics);

    lg_proc_cpu_json(&o->watch, &before->proc, &after->proc, cpu, sizeof(cpu));
    late_json(o, s, late_nodes, sizeof(late_nodes));
    if (per_write >= 0) {
        snprintf(fpw, sizeof(fpw), "%.2f", per_write);
    }
    snprintf(
        line, sizeof(line),
        "{\"workload\":\"%s\",\"rooms\":%zu,\"members\":%zu,\"rate\":%.0f,"
        "\"send_rate\":%.1f,\"seconds\":%.2f,\"drain_seconds\":%.2f,\"sent\":%" PRIu64
        ",\"sent_per_s\":%.1f,\"acked\":%" PRIu64 ",\"unacked\":%" PRIu64 ",\"errors\":%" PRIu64
        ",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
        ",\"delivered_per_s\":%.0f,\"lost\":%" PRIu64 ",\"dups\":%" PRIu64
        ",\"out_of_order\":%" PRIu64 ",\"closed\":%" PRIu64
        ",\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"p999_ms\":%.2f,\"max_ms\":%.2f,"
        "\"arrival_p50_ms\":%.2f,\"arrival_p99_ms\":%.2f,\"arrival_p999_ms\":%.2f,"
        "\"ack_p50_ms\":%.2f,\"ack_p99_ms\":%.2f,\"msg_first_p50_ms\":%.2f,"
        "\"msg_first_p99_ms\":%.2f,\"msg_spread_p50_ms\":%.2f,\"msg_spread_p99_ms\":%.2f,"
        "\"cpu_s\":%s,\"cpu_s_total\":%.2f,"
        "\"cpu_s_per_100k\":%.3f,\"frames_per_write\":%s,\"loadgen_cpu_s\":%.2f,"
        "\"loadgen_busy\":%.2f,\"send_lag_max_ms\":%.2f,\"max_at_s\":%.2f,\"late\":%" PRIu64
        ",\"late_rooms\":%zu,\"late_top_room\":%" PRIu64 ",\"late_top_room_node\":%zu,"
        "\"late_by_node\":%s,\"late_mean_ms\":%.1f,\"late_stored_ms\":%.1f,\"ok\":%s,\"fail\":\"%"
        "s\"}",
        workload, o->rooms, o->members, rate, s->target_sends_per_s, s->seconds, s->drain_seconds,
        s->sent, (double)s->sent / secs, s->acked, s->unacked, s->errors, s->expected, s->delivered,
        (double)s->delivered / secs, s->lost, s->dups, s->out_of_order, s->closed,
        ms(lg_hist_quantile(&s->latency, 0.5)), ms(lg_hist_quantile(&s->latency, 0.99)),
        ms(lg_hist_quantile(&s->latency, 0.999)), ms(s->latency.max),
        ms(lg_hist_quantile(&s->arrival, 0.5)), ms(lg_hist_quantile(&s->arrival, 0.99)),
        ms(lg_hist_quantile(&s->arrival, 0.999)), ms(lg_hist_quantile(&s->ack, 0.5)),
        ms(lg_hist_quantile(&s->ack, 0.99)), ms(lg_hist_quantile(&s->msg_first, 0.5)),
        ms(lg_hist_quantile(&s->msg_first, 0.99)), ms(lg_hist_quantile(&s->msg_spread, 0.5)),
        ms(lg_hist_quantile(&s->msg_spread, 0.99)), cpu, cpu_total,
        s->delivered > 0 ? cpu_total * 1e5 / (double)s->delivered : 0, fpw, s->loadgen_cpu_s,
        s->loadgen_cpu_s / (s->seconds + s->drain_seconds > 0 ? s->seconds + s->drain_seconds : 1),
        ms(s->send_lag_max_ns), s->latency_max_at_s, s->late, s->late_rooms, s->late_top_room,
        s->late_top_room_node, late_nodes, s->late > 0 ? s->late_ns_sum / (double)s->late / 1e6 : 0,
        s->late_stored_n > 0 ? s->late_stored_ns_sum / (double)s->late_stored_n / 1e6 : 0,
        fail[0] == '\0' ? "true" : "false", fail);
    emit(line);
    fprintf(stderr,
            "loadgen: %s rate %.0f: delivered %.0f/s, lost %" PRIu64 ", dups %" PRIu64
            ", p99 %.1f ms%s%s\n",
            workload, rate, (double)s->delivered / secs, s->lost, s->dups,
            ms(lg_hist_quantile(&s->latency, 0.99)), fail[0] != '\0' ? ": FAIL " : "", fail);
    lg_bench_reasons(b, why, sizeof(why));
    if (why[0] != '\0') {
        fprintf(stderr, "loadgen: %s so far: %s\n", workload, why);
    }
    return fail;
}

/* The exit code after the workload ran: sockets the hub closed are a failure. */
static int
finish(lg_bench_t *b)
{
    char why[1024];
    int rc = 0;

    if (lg_bench_expired(b)) {
        fprintf(stderr, "loadgen: hard timeout\n");
        rc = EXIT_TIMEOUT;
    } else if (lg_bench_closed(b) > 0) {
        lg_bench_reasons(b, why, sizeof(why));
        fprintf(stderr, "loadgen: the hub closed %zu sockets: %s\n", lg_bench_closed(b), why);
        rc = EXIT_CLOSED_BY_HUB;
    }
    lg_bench_free(b);
    return rc;
}

static lg_step_result_t *
new_step(void)
{
    lg_step_result_t *s = malloc(sizeof(*s));

    if (s == NULL) {
        abort();
    }
    return s;
}

int
lg_mode_fanout(const lg_opts_t *o)
{
    lg_bench_t *b = lg_bench_new(o, true);
    lg_step_result_t *s = new_step();
    servers_t ca, cb;
    char line[JSON_MAX];
    double best = 0, best_delivered = 0, stopped_at = 0;
    const char *why = "all steps passed";
    int rc = connect_all(b, o, o->label);

    if (rc == 0) {
        lg_bench_settle(b, SETTLE_QUIET_MS, o->settle_s);
        reopen_closed(b);
        for (size_t i = 0; i < o->nrates && !lg_bench_expired(b); i++) {
            sample_before(o, &ca);
            lg_bench_step(b, o->rates[i] / (double)o->members, o->step_s, o->outstanding, s);
            sample_after(o, &cb);
            const char *fail = report_step(b, o->label, o->rates[i], s, &ca, &cb);
            if (fail[0] != '\0') {
                why = fail;
                stopped_at = o->rates[i];
                break;
            }
            best = o->rates[i];
            best_delivered = (double)s->delivered / (s->seconds > 0 ? s->seconds : 1);
        }
        snprintf(line, sizeof(line),
                 "{\"workload\":\"%s_max\",\"rooms\":%zu,\"members\":%zu,"
                 "\"max_rate\":%.0f,\"max_delivered_per_s\":%.0f,\"stopped_at\":%.0f,"
                 "\"stopped_because\":\"%s\"}",
                 o->label, o->rooms, o->members, best, best_delivered, stopped_at, why);
        emit(line);
        rc = finish(b);
    } else {
        lg_bench_free(b);
    }
    free(s);
    return rc;
}

int
lg_mode_bigroom(const lg_opts_t *o)
{
    lg_bench_t *b = lg_bench_new(o, true);
    lg_step_result_t *s = new_step();
    servers_t ca, cb;
    int rc = connect_all(b, o, o->label);

    if (rc == 0) {
        lg_bench_settle(b, SETTLE_QUIET_MS, o->settle_s);
        reopen_closed(b);
        sample_before(o, &ca);
        lg_bench_step(b, o->send_rate, o->step_s, o->outstanding, s);
        sample_after(o, &cb);
        report_step(b, o->label, o->send_rate * (double)o->members, s, &ca, &cb);
        rc = finish(b);
    } else {
        lg_bench_free(b);
    }
    free(s);
    return rc;
}

int
lg_mode_persist(const lg_opts_t *o)
{
    lg_bench_t *b = lg_bench_new(o, true);
    lg_step_result_t *s = new_step();
    lg_proc_sample_t ca, cb;
    char line[JSON_MAX], cpu[512];
    int rc = connect_all(b, o, o->label);

    if (rc == 0) {
        lg_proc_sample(&o->watch, &ca);
        lg_bench_step(b, 0, o->step_s, o->outstanding, s);
        lg_proc_sample(&o->watch, &cb);
        double secs = s->seconds + s->drain_seconds;
        lg_proc_cpu_json(&o->watch, &ca, &cb, cpu, sizeof(cpu));
        snprintf(line, sizeof(line),
                 "{\"workload\":\"%s\",\"senders\":%zu,\"outstanding\":%zu,"
                 "\"seconds\":%.2f,\"sent\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"unacked\":%" PRIu64
                 ",\"errors\":%" PRIu64 ",\"closed\":%" PRIu64
                 ",\"stored_per_s\":%.0f,\"ack_p50_ms\":%.2f,\"ack_p99_ms\":%.2f,"
                 "\"ack_p999_ms\":%.2f,\"room_first\":%" PRId64 ",\"room_last\":%" PRId64
                 ",\"cpu_s\":%s,\"loadgen_cpu_s\":%.2f}",
                 o->label, o->rooms, o->outstanding, secs, s->sent, s->acked, s->unacked, s->errors,
                 s->closed, (double)s->acked / secs, ms(lg_hist_quantile(&s->ack, 0.5)),
                 ms(lg_hist_quantile(&s->ack, 0.99)), ms(lg_hist_quantile(&s->ack, 0.999)),
                 o->room_base, o->room_base + (int64_t)o->rooms - 1, cpu, s->loadgen_cpu_s);
        emit(line);
        fprintf(stderr, "loadgen: persist: %.0f messages/s acknowledged\n",
                (double)s->acked / secs);
        rc = finish(b);
    } else {
        lg_bench_free(b);
    }
    free(s);
    return rc;
}

static void
pause_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int
lg_mode_idle(const lg_opts_t *o)
{
    lg_bench_t *b = lg_bench_new(o, false);
    lg_connect_result_t *r = malloc(sizeof(*r));
    lg_proc_sample_t before, after, gone, left;
    char line[JSON_MAX], rss_a[512], rss_b[512], cpu[512], close_cpu[512], leave_cpu[512] = "null";
    size_t closed_by_hub;
    int rc;

    if (r == NULL) {
        abort();
    }
    lg_proc_sample(&o->watch, &before);
    rc = lg_bench_connect(b, r);
    lg_bench_hold(b, o->hold_s);
    lg_proc_sample(&o->watch, &after);
    long growth = o->watch.n > 0 ? lg_proc_rss_growth(&o->watch, &before, &after, "hub") : 0;
    lg_proc_rss_json(&o->watch, NULL, &before, rss_a, sizeof(rss_a));
    lg_proc_rss_json(&o->watch, NULL, &after, rss_b, sizeof(rss_b));
    lg_proc_cpu_json(&o->watch, &before, &after, cpu, sizeof(cpu));
    /* The disconnect storm: every socket asks to close at once, as when a
     * load balancer or a network drops them all. Counted until the hub has
     * closed the last one and gone quiet. */
    closed_by_hub = lg_bench_closed(b);
    double close_s = lg_bench_close_all(b, CLOSE_STORM_MAX_S);
    pause_ms(CLOSE_QUIET_MS);
    lg_proc_sample(&o->watch, &gone);
    lg_proc_cpu_json(&o->watch, &after, &gone, close_cpu, sizeof(close_cpu));
    /* The leaves come a grace period after the closes (presence waits for a
     * reload or a hop to another node): the servers' CPU until then is theirs. */
    if (o->leave_wait_s > 0) {
        pause_ms((unsigned)(o->leave_wait_s * 1000));
        lg_proc_sample(&o->watch, &left);
        lg_proc_cpu_json(&o->watch, &gone, &left, leave_cpu, sizeof(leave_cpu));
    }
    snprintf(line, sizeof(line),
             "{\"workload\":\"%s\",\"connections\":%zu,\"members\":%zu,\"established\":%zu,"
             "\"failed\":%zu,\"handshake_seconds\":%.3f,\"handshakes_per_s\":%.0f,"
             "\"handshake_p50_ms\":%.2f,\"handshake_p99_ms\":%.2f,\"held_s\":%.1f,"
             "\"closed\":%zu,\"rss_before_kb\":%s,\"rss_after_kb\":%s,"
             "\"rss_per_conn_kb\":%.2f,\"cpu_s\":%s,\"loadgen_cpu_s\":%.2f,"
             "\"close_seconds\":%.3f,\"closes_per_s\":%.0f,\"close_cpu_s\":%s,"
             "\"leave_cpu_s\":%s}",
             o->label, r->wanted, o->members, r->established, r->failed, r->seconds,
             r->seconds > 0 ? (double)r->established / r->seconds : 0,
             ms(lg_hist_quantile(&r->handshake, 0.5)), ms(lg_hist_quantile(&r->handshake, 0.99)),
             o->hold_s, closed_by_hub, rss_a, rss_b,
             r->established > 0 ? (double)growth / (double)r->established : 0, cpu,
             r->loadgen_cpu_s, close_s, close_s > 0 ? (double)r->established / close_s : 0,
             close_cpu, leave_cpu);
    emit(line);
    fprintf(stderr, "loadgen: idle: %zu/%zu open, %.0f handshakes/s, %.2f KB RSS per socket\n",
            r->established, r->wanted, r->seconds > 0 ? (double)r->established / r->seconds : 0,
            r->established > 0 ? (double)growth / (double)r->established : 0);
    free(r);
    if (rc != 0) {
        char why[1024];
        lg_bench_reasons(b, why, sizeof(why));
        fprintf(stderr, "loadgen: idle: failures: %s\n", why);
        rc = lg_bench_expired(b) ? EXIT_TIMEOUT : EXIT_CONNECT_FAILED;
        lg_bench_free(b);
        return rc;
    }
    return finish(b);
}
