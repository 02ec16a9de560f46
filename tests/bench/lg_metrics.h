/*
 * The hubs' own counters, read from their GET /metrics before and after a
 * step: how many frames one socket write carried. It says how much the
 * hubs could join per write at a rate, which the CPU figures alone do not.
 */
#ifndef CHATHUB_LG_METRICS_H
#define CHATHUB_LG_METRICS_H

#include <stddef.h>

#include "lg_conn.h"

typedef struct lg_metrics_sample {
    double frames_out, socket_writes; /* summed over the hubs that answered */
    size_t hubs, answered;
} lg_metrics_sample_t;

/*
 * Read every distinct hub among targets now: one blocking request each, of
 * at most a second, made between steps so that no step's timing holds it.
 */
void lg_metrics_sample(const lg_target_t *targets, size_t n, lg_metrics_sample_t *out);

/* Frames per write between a and b; a negative value when a hub did not
 * answer both times or nothing was written. */
double lg_metrics_frames_per_write(const lg_metrics_sample_t *a, const lg_metrics_sample_t *b);

/* chathub_frames_out_total and chathub_socket_writes_total from Prometheus
 * text. Returns how many of the two it found. */
int lg_metrics_parse(const char *text, double *frames_out, double *socket_writes);

#endif
