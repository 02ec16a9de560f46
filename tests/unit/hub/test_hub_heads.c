/* hub_heads: unfinished heads counted per address, refused past the limit,
 * counted down on the head, the socket's end, or its descriptor's reuse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "hub.h"
#include "hub_heads.h"
#include "hub_listen.h"

static hub_config_t cfg;
static hub_t hub;

/* wsi pointers are keys only: hub_heads never reads through one. */
#define WSI(n) ((struct lws *)(uintptr_t)(0x1000 * (n)))

static void
setup(long limit)
{
    memset(&hub, 0, sizeof(hub));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_pending_per_ip = limit;
    hub.cfg = &cfg;
    hub.npeers = 64;
    hub.peers = calloc(hub.npeers, sizeof(*hub.peers));
    hub_heads_init(&hub.heads);
}

static void
teardown(void)
{
    hub_heads_clear(&hub.heads);
    free(hub.peers);
}

/* fd accepted from addr and handed to lws as wsi; true when admitted. */
static bool
accept_fd(int fd, uint64_t addr, bool loopback, struct lws *wsi)
{
    hub_heads_forget_fd(&hub, fd);
    hub.peers[fd] = (hub_peer_t){.key = addr, .loopback = loopback, .known = true};
    if (!hub_heads_admit(&hub, fd)) {
        return false;
    }
    hub_heads_adopt_begin(&hub);
    hub_heads_adopt_end(&hub, fd, wsi);
    return true;
}

static void
test_limit_and_count_down(void)
{
    setup(2);
    ok(accept_fd(10, 7, false, WSI(1)) && accept_fd(11, 7, false, WSI(2)), "two heads admitted");
    ok(!accept_fd(12, 7, false, WSI(3)), "the third from the address is refused");
    ok(hub.counters.head_rejects == 1, "the refusal is counted");
    ok(accept_fd(12, 8, false, WSI(3)), "another address is not");
    ok(accept_fd(13, 7, true, WSI(4)) && accept_fd(14, 7, true, WSI(5)),
       "loopback peers are never counted");
    hub_heads_done(&hub, WSI(1)); /* its head arrived */
    ok(accept_fd(15, 7, false, WSI(6)), "a finished head makes room");
    hub_heads_done(&hub, WSI(6)); /* head */
    hub_heads_done(&hub, WSI(6)); /* then its end: counted down once */
    ok(accept_fd(16, 7, false, WSI(7)), "room again after one head");
    ok(!accept_fd(17, 7, false, WSI(8)), "and not twice: the limit holds");
    teardown();
}

static void
test_settled_inside_adopt_is_not_counted(void)
{
    setup(1);
    hub.peers[20] = (hub_peer_t){.key = 9, .known = true};
    ok(hub_heads_admit(&hub, 20), "admitted");
    hub_heads_adopt_begin(&hub);
    hub_heads_done(&hub, WSI(20)); /* lws served the read-ahead head in the call */
    hub_heads_adopt_end(&hub, 20, WSI(20));
    ok(accept_fd(21, 9, false, WSI(21)), "nothing was counted for it");
    hub_heads_adopt_begin(&hub);
    hub_heads_adopt_end(&hub, 22, NULL);
    ok(hub.heads.by_wsi.count == 1, "a failed adopt counts nothing");
    teardown();
}

static void
test_reused_descriptor_repairs_the_count(void)
{
    setup(1);
    ok(accept_fd(30, 5, false, WSI(30)), "admitted");
    /* lws let it go without our callback; the kernel hands fd 30 out again */
    ok(accept_fd(30, 5, false, WSI(31)), "the descriptor's reuse uncounts the old socket");
    ok(!accept_fd(31, 5, false, WSI(32)), "the new one is counted");
    hub_heads_done(&hub, WSI(30)); /* a late end of the old one changes nothing */
    ok(!accept_fd(31, 5, false, WSI(32)), "still counted once");
    teardown();
}

int
main(void)
{
    test_limit_and_count_down();
    test_settled_inside_adopt_is_not_counted();
    test_reused_descriptor_repairs_the_count();
    return tap_done();
}
