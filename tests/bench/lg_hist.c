/*
 * Bucket index: values below 128 map to themselves; above, the top 7 bits
 * (leading one plus 6 sub-bucket bits) and the exponent pick the bucket.
 */
#include "lg_hist.h"

#include <string.h>

#define SUB_BITS 6
#define SUB (1u << SUB_BITS)

static unsigned
bucket_of(uint64_t v)
{
    if (v < 2 * SUB) {
        return (unsigned)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - SUB_BITS;
    return (shift + 1) * SUB + (unsigned)(v >> shift) - SUB;
}

static uint64_t
value_of(unsigned idx)
{
    if (idx < 2 * SUB) {
        return idx;
    }
    unsigned shift = idx / SUB - 1;
    uint64_t lo = (uint64_t)(idx % SUB + SUB) << shift;
    return lo + ((1ull << shift) >> 1); /* the middle of [lo, lo + 2^shift) */
}

void
lg_hist_init(lg_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

void
lg_hist_add(lg_hist_t *h, uint64_t v)
{
    h->buckets[bucket_of(v)]++;
    h->count++;
    if (v > h->max) {
        h->max = v;
    }
}

uint64_t
lg_hist_quantile(const lg_hist_t *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->count == 0) {
        return 0;
    }
    rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count) {
        rank = h->count - 1;
    }
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen > rank) {
            uint64_t v = value_of(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
