/*
 * A latency histogram cheap enough to update on every message: power-of-two
 * microsecond buckets (bucket k counts observations <= 2^(k + LAT_HIST_MIN_LOG2)
 * µs; the last one is +Inf), a count and a sum. The hub and the store both fill
 * one; /metrics turns it into a Prometheus histogram in seconds.
 */
#ifndef CHATHUB_LAT_HIST_H
#define CHATHUB_LAT_HIST_H

#include <stdint.h>

#define LAT_HIST_MIN_LOG2 7 /* first bound: 128 µs */
#define LAT_HIST_BOUNDS 17  /* up to 2^23 µs, about 8.4 s */

typedef struct lat_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[LAT_HIST_BOUNDS + 1]; /* not cumulative; the last is +Inf */
} lat_hist_t;

static inline void
lat_hist_observe(lat_hist_t *h, uint64_t us)
{
    unsigned k = 0;

    while (k < LAT_HIST_BOUNDS && us > (UINT64_C(1) << (k + LAT_HIST_MIN_LOG2))) {
        k++;
    }
    h->buckets[k]++;
    h->count++;
    h->sum_us += us;
}

/* The upper bound of bucket k (< LAT_HIST_BOUNDS) in microseconds. */
static inline uint64_t
lat_hist_bound_us(unsigned k)
{
    return UINT64_C(1) << (k + LAT_HIST_MIN_LOG2);
}

#endif
