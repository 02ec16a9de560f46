/*
 * When each message of one room first and last arrived, over all of the
 * room's receivers. A delivery's latency mixes two things: the message's way
 * to the first socket (the store's transaction, Redis) and its place in the
 * room's burst of sends. Per message, first arrival minus send time is the
 * first, last minus first the second (in a 1,000-member room, the burst).
 */
#ifndef CHATHUB_LG_SPANS_H
#define CHATHUB_LG_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "lg_hist.h"

typedef struct lg_span {
    uint64_t sent_ns, first_ns, last_ns;
    uint32_t arrivals;
} lg_span_t;

/* Indexed by seq - base, base being the first seq added since the reset. */
typedef struct lg_spans {
    lg_span_t *v;
    size_t n, cap;
    int64_t base; /* 0: none added yet */
} lg_spans_t;

/* Forget every message (the start of a step); keeps the memory. */
void lg_spans_reset(lg_spans_t *sp);
void lg_spans_free(lg_spans_t *sp);

/* One receiver's first copy of seq, sent at sent_ns, arrived at arrival_ns.
 * Seqs below the first one added, or absurdly far above it, are ignored. */
void lg_spans_add(lg_spans_t *sp, int64_t seq, uint64_t sent_ns, uint64_t arrival_ns);

/* For each message that reached all `receivers`: first arrival minus send
 * time into first, last arrival minus first into spread (ns). */
void lg_spans_observe(const lg_spans_t *sp, size_t receivers, lg_hist_t *first, lg_hist_t *spread);

#endif
