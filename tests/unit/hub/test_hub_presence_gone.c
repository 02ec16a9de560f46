/* hub_presence_gone: the leaves Redis has not heard, kept in the order noted
 * until a rewrite that told Redis of them succeeds. */
#include <stdint.h>
#include <string.h>

#include "../tap.h"
#include "hub_presence_gone.h"

static void
test_args_in_order_and_done_forgets_what_was_sent(void)
{
    hub_presence_gone_t g = {0};
    const char *args[9];
    uint64_t upto;

    hub_presence_gone_done(&g, 5); /* a rewrite with nothing noted, ever */
    ok(g.n == 0 && g.v == NULL, "nothing noted: nothing to forget");
    hub_presence_gone_note(&g, 12, 7, "{\"id\":7}");
    hub_presence_gone_note(&g, 13, 9, "{\"id\":9}");
    ok(hub_presence_gone_args(&g, args, &upto) == 6, "three slots per leave");
    ok(strcmp(args[0], "12") == 0 && strcmp(args[1], "7") == 0 &&
           strcmp(args[2], "{\"id\":7}") == 0,
       "room, user, json of the first");
    ok(strcmp(args[3], "13") == 0 && strcmp(args[4], "9") == 0, "then the second");
    /* A leave noted while the rewrite is in flight is not in it. */
    hub_presence_gone_note(&g, 14, 11, "{\"id\":11}");
    hub_presence_gone_done(&g, upto);
    ok(g.n == 1 && strcmp(g.v[0].room, "14") == 0, "done forgets only what the rewrite carried");
    hub_presence_gone_done(&g, upto);
    ok(g.n == 1, "a second answer of the same rewrite forgets nothing more");
    ok(hub_presence_gone_args(&g, args, &upto) == 3 && strcmp(args[1], "11") == 0,
       "the next rewrite carries the rest");
    hub_presence_gone_done(&g, upto);
    ok(g.n == 0, "and forgets it once it succeeds");
    ok(hub_presence_gone_args(&g, args, &upto) == 0 && upto == 0, "nothing left: no slots");
    hub_presence_gone_clear(&g);
}

static void
test_capped(void)
{
    hub_presence_gone_t g = {0};

    for (int i = 0; i < 70000; i++) {
        hub_presence_gone_note(&g, 1, i + 1, "{}");
    }
    ok(g.n == 65536 && g.dropped == 70000 - 65536, "a long outage keeps at most 65536 leaves");
    hub_presence_gone_clear(&g);
    ok(g.n == 0 && g.v == NULL, "clear frees them");
}

int
main(void)
{
    test_args_in_order_and_done_forgets_what_was_sent();
    test_capped();
    return tap_done();
}
