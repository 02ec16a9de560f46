/* hub_read_order: a reader's read frames never go back. */
#include "../tap.h"
#include "hub_read_order.h"

static void
test_fresh(void)
{
    hub_read_order_t o;

    hub_map_init(&o);
    ok(hub_read_order_fresh(&o, 7, 6), "a first read is fresh");
    ok(!hub_read_order_fresh(&o, 7, 5), "one behind it, arriving later, is not");
    ok(!hub_read_order_fresh(&o, 7, 6), "nor the same one again");
    ok(hub_read_order_fresh(&o, 9, 5), "another reader has its own");
    ok(hub_read_order_fresh(&o, 7, 7), "the next one is");
    ok(!hub_read_order_fresh(&o, 7, 6), "and holds from then on");
    ok(hub_read_order_fresh(&o, 0, 1) && hub_read_order_fresh(&o, 7, 0),
       "no reader or no seq: nothing to order by");
    hub_map_clear(&o);
}

int
main(void)
{
    test_fresh();
    return tap_done();
}
