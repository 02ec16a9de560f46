/* hub_map: put, get, delete with backward shift, iteration. */
#include <stdint.h>
#include <stdlib.h>

#include "../tap.h"
#include "hub_map.h"

static void
test_many_keys_survive_growth_and_deletes(void)
{
    hub_map_t m;
    int okall = 1;
    static int vals[5000];

    hub_map_init(&m);
    for (uint64_t k = 1; k <= 5000; k++) {
        hub_map_put(&m, k * 7919, &vals[k - 1]);
    }
    ok(m.count == 5000, "count after 5000 puts");
    for (uint64_t k = 1; k <= 5000; k += 2) {
        okall &= hub_map_del(&m, k * 7919) == &vals[k - 1];
    }
    ok(okall, "delete returns each value");
    ok(m.count == 2500, "count after deleting half");
    okall = 1;
    for (uint64_t k = 1; k <= 5000; k++) {
        void *v = hub_map_get(&m, k * 7919);
        okall &= (k % 2 == 1) ? v == NULL : v == &vals[k - 1];
    }
    ok(okall, "every remaining key is found and every deleted key is gone");
    ok(hub_map_del(&m, 123456789) == NULL, "deleting an absent key returns NULL");
    size_t i = 0, seen = 0;
    uint64_t key;
    void *val;
    while (hub_map_next(&m, &i, &key, &val)) {
        seen++;
    }
    ok(seen == 2500, "iteration visits every entry once");
    hub_map_put(&m, 2 * 7919, NULL);
    ok(m.count == 2500 && hub_map_get(&m, 2 * 7919) == NULL, "put on an existing key replaces");
    hub_map_clear(&m);
    ok(hub_map_get(&m, 4 * 7919) == NULL, "a cleared map is empty");
}

int
main(void)
{
    test_many_keys_survive_growth_and_deletes();
    return tap_done();
}
