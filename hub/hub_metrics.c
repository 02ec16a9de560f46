/*
 * Metrics are read from hub_t at scrape time; nothing here keeps state.
 */
#include "hub_metrics.h"

#include <inttypes.h>
#include <stdio.h>

typedef struct metric {
    const char *name;
    const char *type;
    const char *help;
    uint64_t value;
} metric_t;

void
hub_metrics_reply(hub_t *hub, hub_http_req_t *req)
{
    const hub_counters_t *k = &hub->counters;
    const metric_t rows[] = {
        {"chathub_connections", "gauge", "open WebSocket connections", hub->conns.count},
        {"chathub_rooms", "gauge", "rooms with a local socket", hub->rooms.count},
        {"chathub_connections_total", "counter", "WebSocket connections accepted",
         k->connections_total},
        {"chathub_messages_in_total", "counter", "chat messages received from sockets",
         k->messages_in},
        {"chathub_frames_out_total", "counter", "frames written to sockets", k->messages_out},
        {"chathub_slow_consumer_closes_total", "counter", "sockets closed with 4408",
         k->slow_consumer_closes},
        {"chathub_rate_limited_total", "counter", "frames refused by the rate limit",
         k->rate_limited},
        {"chathub_store_up", "gauge", "1 when PostgreSQL is reachable",
         store_is_up(hub->store) ? 1u : 0u},
    };
    char buf[4096];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < sizeof(buf); i++) {
        int w = snprintf(buf + n, sizeof(buf) - n, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
                         rows[i].name, rows[i].help, rows[i].name, rows[i].type, rows[i].name,
                         rows[i].value);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n > sizeof(buf)) {
        n = sizeof(buf);
    }
    hub_http_reply(req, 200, "text/plain; version=0.0.4", buf, n);
}
