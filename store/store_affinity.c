/*
 * store_affinity.h as an open-addressing table: linear probing, grown at half
 * full, and deletion by shifting the probe run back, so no tombstones build up
 * as rooms come and go.
 */
#include "store_affinity.h"

#include <stdbool.h>
#include <stdlib.h>

#include "xalloc.h"

#define EMPTY (-1)
#define CAP_MIN 16

typedef struct slot {
    int64_t key; /* EMPTY: free */
    unsigned conn, count;
} slot_t;

struct store_affinity {
    slot_t *slots;
    size_t cap, n;  /* cap is a power of two */
    size_t pending; /* statements counted, over all keys */
    bool released;  /* freed when pending reaches 0 */
};

static size_t
home(const store_affinity_t *a, int64_t key)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & (a->cap - 1);
}

static slot_t *
find(const store_affinity_t *a, int64_t key)
{
    for (size_t i = home(a, key);; i = (i + 1) & (a->cap - 1)) {
        if (a->slots[i].key == key || a->slots[i].key == EMPTY) {
            return &a->slots[i];
        }
    }
}

static void
init_slots(store_affinity_t *a, size_t cap)
{
    a->cap = cap;
    a->slots = xmalloc(cap * sizeof(*a->slots));
    for (size_t i = 0; i < cap; i++) {
        a->slots[i].key = EMPTY;
    }
}

static void
grow(store_affinity_t *a)
{
    slot_t *old = a->slots;
    size_t cap = a->cap;

    init_slots(a, cap * 2);
    for (size_t i = 0; i < cap; i++) {
        if (old[i].key != EMPTY) {
            *find(a, old[i].key) = old[i];
        }
    }
    free(old);
}

store_affinity_t *
store_affinity_new(void)
{
    store_affinity_t *a = xcalloc(1, sizeof(*a));

    init_slots(a, CAP_MIN);
    return a;
}

static void
destroy(store_affinity_t *a)
{
    free(a->slots);
    free(a);
}

void
store_affinity_release(store_affinity_t *a)
{
    if (a == NULL) {
        return;
    }
    a->released = true;
    if (a->pending == 0) {
        destroy(a);
    }
}

int
store_affinity_conn(const store_affinity_t *a, int64_t key)
{
    const slot_t *s = key >= 0 ? find(a, key) : NULL;

    return s != NULL && s->key == key ? (int)s->conn : -1;
}

void
store_affinity_add(store_affinity_t *a, int64_t key, unsigned conn)
{
    if (key < 0) {
        return;
    }
    if ((a->n + 1) * 2 > a->cap) {
        grow(a);
    }
    slot_t *s = find(a, key);
    if (s->key == EMPTY) {
        *s = (slot_t){key, conn, 0};
        a->n++;
    }
    s->conn = conn;
    s->count++;
    a->pending++;
}

/* Empty slot i, then move back each later entry of the run that may live
 * nearer its home, so that every lookup still finds its key before a gap. */
static void
remove_at(store_affinity_t *a, size_t i)
{
    size_t mask = a->cap - 1;

    for (size_t j = (i + 1) & mask; a->slots[j].key != EMPTY; j = (j + 1) & mask) {
        size_t h = home(a, a->slots[j].key);
        /* j's entry may move to i when i lies on its probe path: h..j, cyclically. */
        if (((j - h) & mask) >= ((j - i) & mask)) {
            a->slots[i] = a->slots[j];
            i = j;
        }
    }
    a->slots[i].key = EMPTY;
    a->n--;
}

void
store_affinity_done(store_affinity_t *a, int64_t key)
{
    slot_t *s = key >= 0 ? find(a, key) : NULL;

    if (s == NULL || s->key != key) {
        return;
    }
    a->pending--;
    if (--s->count == 0) {
        remove_at(a, (size_t)(s - a->slots));
    }
    if (a->released && a->pending == 0) {
        destroy(a);
    }
}

unsigned
store_affinity_count(const store_affinity_t *a)
{
    return (unsigned)a->n;
}
