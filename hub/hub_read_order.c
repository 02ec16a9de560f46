/* Read receipts in order (hub_read_order.h). */
#include "hub_read_order.h"

#include <string.h>

#include "proto_jsonwalk.h"

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

typedef struct read_fields {
    bool is_read;
    double user_id, seq;
} read_fields_t;

static int
on_member(void *ud, const char *key, const proto_jv_t *v)
{
    read_fields_t *f = ud;
    char type[8];

    if (key == NULL) {
        return 0;
    }
    if (strcmp(key, "type") == 0) {
        f->is_read = proto_json_string(v, type, sizeof(type)) == 4 && memcmp(type, "read", 4) == 0;
    } else if (strcmp(key, "user_id") == 0) {
        (void)proto_json_number(v, &f->user_id);
    } else if (strcmp(key, "seq") == 0) {
        (void)proto_json_number(v, &f->seq);
    }
    return 0;
}

bool
hub_read_order_parse(const char *json, size_t len, int64_t *user_id, int64_t *seq)
{
    static const char prefix[] = "{\"type\":\"read\"";
    read_fields_t f = {0};

    /* Typing and presence frames pass here too: only a read is walked. */
    if (len < sizeof(prefix) - 1 || memcmp(json, prefix, sizeof(prefix) - 1) != 0 ||
        proto_json_walk_object(json, len, on_member, &f) < 0 || !f.is_read) {
        return false;
    }
    if (!(f.user_id >= 1 && f.user_id <= 9007199254740991.0 && f.seq >= 1 &&
          f.seq <= 9007199254740991.0)) {
        return false;
    }
    *user_id = (int64_t)f.user_id;
    *seq = (int64_t)f.seq;
    return true;
}
