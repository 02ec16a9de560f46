/*
 * The seqs one receiver has seen in one room, as a bitmap above the room's
 * last_seq at connect time. Grows on demand; a run is bounded in time, so it
 * stays small (one bit per message of the room).
 */
#ifndef CHATHUB_LG_SEQSET_H
#define CHATHUB_LG_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lg_seqset {
    int64_t base; /* seqs <= base predate the run */
    int64_t max;  /* highest seq added, base when none */
    uint64_t *bits;
    size_t nwords;
} lg_seqset_t;

void lg_seqset_init(lg_seqset_t *s, int64_t base);
void lg_seqset_clear(lg_seqset_t *s);

/* Record seq. 1: new; 0: seen before (a duplicate); -1: seq <= base. */
int lg_seqset_add(lg_seqset_t *s, int64_t seq);
bool lg_seqset_has(const lg_seqset_t *s, int64_t seq);

#endif
