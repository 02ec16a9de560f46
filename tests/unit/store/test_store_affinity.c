/* store_affinity: where a room's pending statements are, against a plain
 * array model over a long random run (no server needed). */
#include <stdint.h>
#include <stdlib.h>

#include "../tap.h"
#include "store_affinity.h"

enum { KEYS = 300, STEPS = 200000 };

static void
test_basics(void)
{
    store_affinity_t *a = store_affinity_new();

    ok(store_affinity_conn(a, 7) == -1, "nothing pending: no connection");
    store_affinity_add(a, 7, 1);
    store_affinity_add(a, 7, 1);
    ok(store_affinity_conn(a, 7) == 1 && store_affinity_count(a) == 1, "two of room 7 on conn 1");
    store_affinity_done(a, 7);
    ok(store_affinity_conn(a, 7) == 1, "  one answered: still there");
    store_affinity_done(a, 7);
    ok(store_affinity_conn(a, 7) == -1 && store_affinity_count(a) == 0, "  both: forgotten");
    store_affinity_done(a, 7);
    store_affinity_add(a, -1, 0);
    ok(store_affinity_count(a) == 0 && store_affinity_conn(a, -1) == -1,
       "a stray done and affinity -1 change nothing");
    store_affinity_add(a, 9, 0);
    store_affinity_release(a); /* one still counted: freed by its done */
    store_affinity_done(a, 9);
    ok(1, "released with one pending, freed by its done (ASan checks)");
}

/* Keys that collide in a small table, added and done at random: every lookup
 * agrees with the model, so deletion never hides a key behind a gap. */
static void
test_against_model(void)
{
    static unsigned count[KEYS], conn[KEYS];
    store_affinity_t *a = store_affinity_new();
    unsigned seed = 12345, bad = 0, live = 0;

    for (int step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % KEYS;
        int64_t key = (int64_t)k * 64; /* multiples of 64 share low bits */
        if ((seed >> 20) % 2 == 0 || count[k] == 0) {
            conn[k] = (seed >> 4) % 4;
            live += count[k] == 0;
            count[k]++;
            store_affinity_add(a, key, conn[k]);
        } else {
            count[k]--;
            live -= count[k] == 0;
            store_affinity_done(a, key);
        }
        unsigned probe = (seed >> 12) % KEYS;
        int want = count[probe] > 0 ? (int)conn[probe] : -1;
        bad += store_affinity_conn(a, (int64_t)probe * 64) != want;
        bad += store_affinity_count(a) != live;
    }
    ok(bad == 0, "%d random adds and dones over %d keys agree with the model (%u bad)", STEPS, KEYS,
       bad);
    for (unsigned k = 0; k < KEYS; k++) {
        while (count[k]-- > 0) {
            store_affinity_done(a, (int64_t)k * 64);
        }
    }
    ok(store_affinity_count(a) == 0, "every key forgotten once all are answered");
    store_affinity_release(a);
}

int
main(void)
{
    test_basics();
    test_against_model();
    return tap_done();
}
