/*
 * GET /metrics: the node's counters and gauges in Prometheus text format.
 */
#ifndef CHATHUB_HUB_METRICS_H
#define CHATHUB_HUB_METRICS_H

#include "hub.h"
#include "hub_http.h"

void hub_metrics_reply(hub_t *hub, hub_http_req_t *req);

#endif
