/*
 * The benchmark engine every mode drives: rooms of members, each member one
 * WebSocket, optionally one sender per room (member 0). It connects them,
 * sends paced or pipelined chat_message frames, and counts every delivery by
 * (room, seq) per receiver. It prints nothing on stdout; lg_modes.c reports.
 */
#ifndef CHATHUB_LG_BENCH_H
#define CHATHUB_LG_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lg_hist.h"
#include "lg_opts.h"

typedef struct lg_bench lg_bench_t;

typedef struct lg_connect_result {
    size_t wanted, established, failed;
    double seconds;       /* first connect to the last connection_established */
    lg_hist_t handshake;  /* per socket, connect() to connection_established, ns */
    double loadgen_cpu_s; /* this process's CPU time meanwhile */
} lg_connect_result_t;

typedef struct lg_step_result {
    double target_sends_per_s; /* 0: closed loop (as fast as acks allow) */
    double seconds;            /* time spent sending */
    double drain_seconds;      /* then waiting for the last echoes and deliveries */
    uint64_t sent, acked, errors, unacked;
    uint64_t expected;  /* acked seqs x members of their room */
    uint64_t delivered; /* of those, received (each once) */
    uint64_t lost, dups, out_of_order;
    uint64_t closed;   /* sockets the hub closed during the step */
    lg_hist_t latency; /* send to receipt of each first delivery, ns, the sender's echo too */
    lg_hist_t arrival; /* the same, to the kernel's arrival stamp (rx_stamp_ns) */
    lg_hist_t ack;     /* send to the sender's own echo, ns */
    /* Per message that reached its whole room (lg_spans.h): send to its first
     * arrival, and its first arrival to its last (the room's burst), ns. */
    lg_hist_t msg_first, msg_spread;
    double loadgen_cpu_s; /* this process's CPU time during the step and its drain */
    /* Whether a bad tail is the servers' or the load generator's own: how far
     * behind its schedule a send went out at worst (a stalled load generator
     * sends a burst when it resumes), and when the slowest delivery was sent,
     * in seconds from the step's start. */
    uint64_t send_lag_max_ns;
    double latency_max_at_s;
    uint64_t start_ns;
    /* Where a bad tail sits: deliveries at or over the p99 limit, how many
     * rooms they fell in, the worst room's share and the node its sender is
     * on, and per node the receivers were on. One room's backlog and a node's
     * stall look alike in p99 and not here. */
    uint64_t late, late_top_room;
    /* Of the late ones, the mean time from the send to the store's
     * transaction (created_at): a backlog before the store or after it. */
    double late_stored_ns_sum, late_ns_sum;
    uint64_t late_stored_n;
    size_t late_rooms, late_top_room_node;
    uint64_t late_by_node[LG_TARGETS_MAX];
} lg_step_result_t;

/* The engine for o->rooms x o->members sockets (idle: o->connections in all);
 * with senders, member 0 of each room sends. Free with lg_bench_free. */
lg_bench_t *lg_bench_new(const lg_opts_t *o, bool senders);

/* Gracefully close every socket (bounded wait) and free everything. NULL is fine. */
void lg_bench_free(lg_bench_t *b);

/* Send every open socket a close frame at once, then wait up to max_s for
 * the hub to close them all. Returns the seconds that took, or -1. */
double lg_bench_close_all(lg_bench_t *b, double max_s);

/* Open every socket, at most o->concurrency handshakes at a time, until each
 * has its connection_established or failed. 0: all in; -1: some failed or the
 * hard timeout hit. r is filled either way. */
int lg_bench_connect(lg_bench_t *b, lg_connect_result_t *r) __attribute__((warn_unused_result));

/* Poll until no frame has arrived for quiet_ms (presence after a connect
 * storm), at most max_s seconds. */
void lg_bench_settle(lg_bench_t *b, unsigned quiet_ms, double max_s);

/* Open a new socket for every member whose socket the hub closed (the way a
 * client reconnects), and wait (at most 30 s) for them. Returns how many.
 * The closes still count in lg_bench_closed. */
size_t lg_bench_reopen_closed(lg_bench_t *b);

/* Keep the sockets open (answering pings) for seconds. */
void lg_bench_hold(lg_bench_t *b, double seconds);

/*
 * One step: each room's sender sends sends_per_s / rooms messages per second
 * (0: closed loop) with at most max_out unacknowledged, for seconds; then wait
 * up to o->drain_s for every echo and delivery, and count.
 */
void lg_bench_step(lg_bench_t *b, double sends_per_s, double seconds, size_t max_out,
                   lg_step_result_t *res);

/* Sockets the hub closed after their connection_established, so far. */
size_t lg_bench_closed(const lg_bench_t *b);

/* The options b was made with. */
const lg_opts_t *lg_bench_opts(const lg_bench_t *b);

/* The hard timeout (o->timeout_s from lg_bench_new) has passed. */
bool lg_bench_expired(const lg_bench_t *b);

/* Write why sockets failed or closed ("http 429 x3, close 4403 x1") into out. */
void lg_bench_reasons(const lg_bench_t *b, char *out, size_t cap);

#endif
