/*
 * Metrics are read from hub_t, the store and the Redis link at scrape time;
 * nothing here keeps state. Latencies are histograms in seconds.
 */
#include "hub_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub_channel.h"
#include "hub_redis.h"
#include "xalloc.h"

typedef struct text {
    char *s;
    size_t len, cap;
} text_t;

static void __attribute__((format(printf, 2, 3))) put(text_t *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (n > 0 ? (size_t)n : 0);
        t->s = xrealloc(t->s, t->cap);
    }
}

static void
metric(text_t *t, const char *name, const char *type, const char *help, uint64_t value)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, value);
}

static void
histogram(text_t *t, const char *name, const char *help, const lat_hist_t *h)
{
    uint64_t cum = 0;

    put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (unsigned k = 0; k < LAT_HIST_BOUNDS; k++) {
        cum += h->buckets[k];
        put(t, "%s_bucket{le=\"%.7g\"} %" PRIu64 "\n", name, (double)lat_hist_bound_us(k) / 1e6,
            cum);
    }
    put(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
    put(t, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, (double)h->sum_us / 1e6, name, h->count);
}

static void
store_metrics(text_t *t, const store_t *st)
{
    const store_pool_stats_t *s = store_pool_stats(st);

    metric(t, "chathub_store_up", "gauge", "1 when PostgreSQL is reachable", store_is_up(st));
    metric(t, "chathub_store_queries_total", "counter", "statements PostgreSQL answered",
           s->queries);
    metric(t, "chathub_store_failures_total", "counter", "statements failed or timed out",
           s->failures);
    metric(t, "chathub_store_connects_total", "counter",
           "PostgreSQL connections made (startup and reconnects)", s->connects);
    histogram(t, "chathub_store_query_seconds", "round trip of one statement", &s->latency);
}

static void
redis_metrics(text_t *t, const struct hub_redis *r)
{
    const hub_redis_stats_t *s = hub_redis_stats(r);

    metric(t, "chathub_redis_up", "gauge", "1 when the Redis channel layer is connected",
           hub_redis_is_up(r));
    metric(t, "chathub_redis_commands_total", "counter", "Redis replies received", s->commands);
    metric(t, "chathub_redis_failures_total", "counter",
           "Redis error replies and commands lost to a reset", s->failures);
    metric(t, "chathub_redis_connects_total", "counter",
           "times the Redis link came up (startup and reconnects)", s->connects);
    histogram(t, "chathub_redis_command_seconds", "round trip of one Redis command", &s->latency);
}

void
hub_metrics_reply(hub_t *hub, hub_http_req_t *req)
{
    const hub_counters_t *k = &hub->counters;
    text_t t = {xmalloc(8192), 0, 8192};
    struct hub_redis *redis = hub->channel != NULL ? hub_channel_redis(hub->channel) : NULL;

    metric(&t, "chathub_connections", "gauge", "open WebSocket connections", hub->conns.count);
    metric(&t, "chathub_rooms", "gauge", "rooms with a local socket", hub->rooms.count);
    metric(&t, "chathub_connections_accepted_total", "counter", "WebSocket connections accepted",
           k->connections_total);
    metric(&t, "chathub_resumes_total", "counter", "reconnections that resumed with ?last_seq",
           k->resumes);
    metric(&t, "chathub_messages_in_total", "counter", "chat messages received from sockets",
           k->messages_in);
    metric(&t, "chathub_frames_out_total", "counter", "frames written to sockets", k->messages_out);
    metric(&t, "chathub_socket_writes_total", "counter",
           "writes to sockets (frames queued in one turn of the loop share one)", k->socket_writes);
    metric(&t, "chathub_pending_writes", "gauge", "message inserts awaiting the store",
           hub->pending_writes);
    metric(&t, "chathub_slow_consumer_closes_total", "counter", "sockets closed with 4408",
           k->slow_consumer_closes);
    metric(&t, "chathub_rate_limited_total", "counter", "frames refused by the rate limit",
           k->rate_limited);
    metric(&t, "chathub_draining", "gauge", "1 while the node drains (SIGTERM)", hub->draining);
    metric(&t, "chathub_drain_closes_total", "counter", "sockets closed with 1012 by a drain",
           k->drain_closes);
    metric(&t, "chathub_fd_limit_rejects_total", "counter",
           "sockets hung up at accept: too close to the descriptor limit", k->fd_rejects);
    metric(&t, "chathub_pending_limit_rejects_total", "counter",
           "connections refused with 429 at accept: their address had HUB_MAX_PENDING_PER_IP "
           "request heads unfinished",
           k->head_rejects);
    metric(&t, "chathub_room_audit_fills_total", "counter",
           "rooms found behind the store a second after the audit read them (messages stored "
           "but not published: filled from the store)",
           k->audit_fills);
    metric(&t, "chathub_room_held_total", "counter",
           "chat messages that came ahead of a missing seq and waited for it", k->room_held);
    metric(&t, "chathub_room_fills_total", "counter",
           "reads of a room's missing messages from the store (a gap, a node's tail "
           "announcement, the audit)",
           k->room_fills);
    histogram(&t, "chathub_delivery_seconds",
              "a chat message's arrival on this node (from a socket or Redis) until its local "
              "sockets are handed the frame",
              &k->delivery);
    if (hub->store != NULL) {
        store_metrics(&t, hub->store);
    }
    if (redis != NULL) {
        redis_metrics(&t, redis);
        put(&t,
            "# HELP chathub_clock_offset_seconds Redis's clock minus this node's, as its TIME "
            "last said (0 until it answered)\n# TYPE chathub_clock_offset_seconds gauge\n"
            "chathub_clock_offset_seconds %.3f\n",
            (double)hub->clock.offset_ms / 1000.0);
    }
    hub_http_reply(req, 200, "text/plain; version=0.0.4", t.s, t.len);
    free(t.s);
}
