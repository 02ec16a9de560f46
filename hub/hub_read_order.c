/* Read receipts in order (hub_read_order.h). */
#include "hub_read_order.h"

bool
hub_read_order_fresh(hub_read_order_t *o, int64_t user_id, int64_t seq)
{
    if (user_id <= 0 || seq <= 0) {
        return true; /* nothing to order it by */
    }
    if ((uintptr_t)seq <= (uintptr_t)hub_map_get(o, (uint64_t)user_id)) {
        return false;
    }
    hub_map_put(o, (uint64_t)user_id, (void *)(uintptr_t)seq);
    return true;
}
