/* A growable bitmap of seqs; aborts on OOM like the rest of the tool. */
#include "lg_seqset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
lg_seqset_init(lg_seqset_t *s, int64_t base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->max = base;
}

void
lg_seqset_clear(lg_seqset_t *s)
{
    free(s->bits);
    s->bits = NULL;
    s->nwords = 0;
}

static void
grow(lg_seqset_t *s, size_t need)
{
    size_t n = s->nwords != 0 ? s->nwords : 16;

    while (n < need) {
        n *= 2;
    }
    uint64_t *b = realloc(s->bits, n * sizeof(*b));
    if (b == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        abort();
    }
    memset(b + s->nwords, 0, (n - s->nwords) * sizeof(*b));
    s->bits = b;
    s->nwords = n;
}

int
lg_seqset_add(lg_seqset_t *s, int64_t seq)
{
    if (seq <= s->base) {
        return -1;
    }
    uint64_t off = (uint64_t)(seq - s->base - 1);
    size_t w = (size_t)(off / 64);
    uint64_t bit = 1ull << (off % 64);

    if (w >= s->nwords) {
        grow(s, w + 1);
    }
    if (s->bits[w] & bit) {
        return 0;
    }
    s->bits[w] |= bit;
    if (seq > s->max) {
        s->max = seq;
    }
    return 1;
}

bool
lg_seqset_has(const lg_seqset_t *s, int64_t seq)
{
    if (seq <= s->base) {
        return false;
    }
    uint64_t off = (uint64_t)(seq - s->base - 1);
    size_t w = (size_t)(off / 64);

    return w < s->nwords && (s->bits[w] & (1ull << (off % 64))) != 0;
}
