/*
 * The load generator's command line: one mode and its knobs. Defaults are
 * the issue 9 setups; lg_opts_parse applies the mode's own defaults first.
 */
#ifndef CHATHUB_LG_OPTS_H
#define CHATHUB_LG_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lg_conn.h"
#include "lg_proc.h"

#define LG_TARGETS_MAX 16
#define LG_RATES_MAX 32

typedef enum lg_mode { LG_FANOUT, LG_IDLE, LG_BIGROOM, LG_PERSIST } lg_mode_t;

typedef struct lg_opts {
    lg_mode_t mode;
    const char *mode_name;
    const char *label; /* "workload" in the JSON lines; the mode name by default */
    lg_target_t targets[LG_TARGETS_MAX];
    size_t ntargets;
    const char *secret;
    uint32_t src_first; /* host order */
    unsigned nsrc;
    int64_t room_base, user_base;
    size_t rooms, members;      /* members per room, the sender included */
    size_t connections;         /* idle: total sockets (rooms = ceil(connections / members)) */
    double rates[LG_RATES_MAX]; /* fanout: delivered msgs/s per step */
    size_t nrates;
    double send_rate; /* bigroom: sends/s */
    double step_s, drain_s, hold_s, settle_s;
    double leave_wait_s; /* idle: wait for the leaves after the disconnect storm */
    size_t outstanding;  /* unacknowledged sends per sender */
    size_t concurrency;  /* handshakes in flight */
    size_t msg_bytes;    /* message text length */
    double p99_limit_ms; /* a step passes below this */
    double timeout_s;    /* hard limit for the whole run */
    size_t spin;         /* 1: steps poll without sleeping (see --spin) */
    lg_watch_t watch;
} lg_opts_t;

/* Print the usage text to f. */
void lg_opts_usage(FILE *f);

/* Fill o from argv. 0, or -1 after printing the problem to stderr. */
int lg_opts_parse(lg_opts_t *o, int argc, char **argv) __attribute__((warn_unused_result));

#endif
