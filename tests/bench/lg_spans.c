#include "lg_spans.h"

#include <stdlib.h>
#include <string.h>

/* A step is bounded in time; this only stops a corrupt seq from allocating. */
#define SPANS_MAX (1u << 22)

void
lg_spans_reset(lg_spans_t *sp)
{
    sp->n = 0;
    sp->base = 0;
}

void
lg_spans_free(lg_spans_t *sp)
{
    free(sp->v);
    *sp = (lg_spans_t){0};
}

void
lg_spans_add(lg_spans_t *sp, int64_t seq, uint64_t sent_ns, uint64_t arrival_ns)
{
    if (seq <= 0) {
        return;
    }
    if (sp->base == 0) {
        sp->base = seq;
    }
    if (seq < sp->base || (uint64_t)(seq - sp->base) >= SPANS_MAX) {
        return;
    }
    size_t i = (size_t)(seq - sp->base);
    if (i >= sp->cap) {
        size_t cap = sp->cap != 0 ? sp->cap : 256;
        while (cap <= i) {
            cap *= 2;
        }
        lg_span_t *v = realloc(sp->v, cap * sizeof(*v));
        if (v == NULL) {
            abort();
        }
        sp->v = v;
        sp->cap = cap;
    }
    if (i >= sp->n) {
        memset(sp->v + sp->n, 0, (i + 1 - sp->n) * sizeof(*sp->v));
        sp->n = i + 1;
    }
    lg_span_t *s = &sp->v[i];
    if (s->arrivals == 0) {
        s->sent_ns = sent_ns;
        s->first_ns = s->last_ns = arrival_ns;
    } else if (arrival_ns < s->first_ns) {
        s->first_ns = arrival_ns;
    } else if (arrival_ns > s->last_ns) {
        s->last_ns = arrival_ns;
    }
    s->arrivals++;
}

void
lg_spans_observe(const lg_spans_t *sp, size_t receivers, lg_hist_t *first, lg_hist_t *spread)
{
    for (size_t i = 0; i < sp->n; i++) {
        const lg_span_t *s = &sp->v[i];
        if (s->arrivals != receivers || receivers == 0) {
            continue;
        }
        lg_hist_add(first, s->first_ns > s->sent_ns ? s->first_ns - s->sent_ns : 0);
        lg_hist_add(spread, s->last_ns - s->first_ns);
    }
}
