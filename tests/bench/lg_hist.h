/*
 * A log-linear latency histogram (64 sub-buckets per power of two, so a
 * reported percentile is within 1.6% of the true value), fixed size, no
 * allocation after lg_hist_init.
 */
#ifndef CHATHUB_LG_HIST_H
#define CHATHUB_LG_HIST_H

#include <stdint.h>

#define LG_HIST_BUCKETS 3776

typedef struct lg_hist {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[LG_HIST_BUCKETS];
} lg_hist_t;

void lg_hist_init(lg_hist_t *h);
void lg_hist_add(lg_hist_t *h, uint64_t v);

/* The value at quantile q in [0, 1] (the bucket's midpoint), 0 when empty. */
uint64_t lg_hist_quantile(const lg_hist_t *h, double q);

#endif
