/* hub_read_order: a reader's read frames never go back, and only reads are parsed. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "hub_read_order.h"
#include "proto_build.h"
#include "xalloc.h"

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

static void
test_parse(void)
{
    size_t len;
    char *s = proto_build_read(12, 7, 46, &len);
    int64_t user = 0, seq = 0;

    ok(hub_read_order_parse(s, len, &user, &seq) && user == 7 && seq == 46,
       "the built read frame parses to its reader and seq");
    ok(!hub_read_order_parse(s, len - 1, &user, &seq), "a cut one does not");
    free(s);
    static const char typing[] =
        "{\"type\":\"typing\",\"room_id\":1,\"user\":{\"id\":7},\"is_typing\":true}";
    ok(!hub_read_order_parse(typing, strlen(typing), &user, &seq), "typing is not a read");
    static const char spoof[] = "{\"type\":\"read\",\"type\":\"typing\",\"user_id\":7,\"seq\":3}";
    ok(!hub_read_order_parse(spoof, strlen(spoof), &user, &seq), "the last type wins");
    static const char negative[] = "{\"type\":\"read\",\"room_id\":1,\"user_id\":7,\"seq\":-1}";
    ok(!hub_read_order_parse(negative, strlen(negative), &user, &seq),
       "a seq below 1 is not a read's");
}

int
main(void)
{
    test_fresh();
    test_parse();
    return tap_done();
}
