/*
 * Unfinished request heads per client address (hub_heads.h says why).
 * wsi pointers are keys only: this file never reads through one.
 */
#include "hub_heads.h"

#include <stdint.h>

#include "hub.h"
#include "hub_listen.h"
#include "hub_log.h"

void
hub_heads_init(hub_heads_t *h)
{
    hub_map_init(&h->by_wsi);
    hub_map_init(&h->by_addr);
    h->adopting = h->settled = false;
}

void
hub_heads_clear(hub_heads_t *h)
{
    hub_map_clear(&h->by_wsi);
    hub_map_clear(&h->by_addr);
}

static uintptr_t
count_of(const hub_heads_t *h, uint64_t addr)
{
    return (uintptr_t)hub_map_get(&h->by_addr, addr);
}

static void
add(hub_heads_t *h, uint64_t addr, int delta)
{
    uintptr_t n = count_of(h, addr);

    if (delta < 0 && n <= 1) {
        hub_map_del(&h->by_addr, addr);
    } else {
        hub_map_put(&h->by_addr, addr, (void *)(n + (uintptr_t)(intptr_t)delta));
    }
}

/* Stop counting the connection on fd, which wsi was. */
static void
uncount(hub_t *hub, int fd, struct lws *wsi)
{
    hub_peer_t *p = &hub->peers[fd];

    hub_map_del(&hub->heads.by_wsi, (uint64_t)(uintptr_t)wsi);
    if (p->head_wsi == wsi) {
        p->head_wsi = NULL;
        add(&hub->heads, p->key, -1);
    }
}

void
hub_heads_forget_fd(hub_t *hub, int fd)
{
    if (fd >= 0 && (size_t)fd < hub->npeers && hub->peers[fd].head_wsi != NULL) {
        uncount(hub, fd, hub->peers[fd].head_wsi);
    }
}

bool
hub_heads_admit(hub_t *hub, int fd)
{
    const hub_peer_t *p = hub_listen_peer(hub, fd);
    long limit = hub->cfg->max_pending_per_ip;

    if (limit <= 0 || p == NULL || p->loopback ||
        count_of(&hub->heads, p->key) < (uintptr_t)limit) {
        return true;
    }
    if (hub->counters.head_rejects++ % 1000 == 0) {
        log_warn("conn.pending_limit", "fd=%d limit=%ld rejected=%llu", fd, limit,
                 (unsigned long long)hub->counters.head_rejects);
    }
    return false;
}

void
hub_heads_adopt_begin(hub_t *hub)
{
    hub->heads.adopting = true;
    hub->heads.settled = false;
}

void
hub_heads_adopt_end(hub_t *hub, int fd, struct lws *wsi)
{
    hub_heads_t *h = &hub->heads;
    hub_peer_t *p = fd >= 0 && (size_t)fd < hub->npeers ? &hub->peers[fd] : NULL;
    bool settled = h->settled;

    h->adopting = h->settled = false;
    if (wsi == NULL || settled || p == NULL || !p->known || p->loopback ||
        hub->cfg->max_pending_per_ip <= 0) {
        return;
    }
    p->head_wsi = wsi;
    hub_map_put(&h->by_wsi, (uint64_t)(uintptr_t)wsi, (void *)(uintptr_t)(fd + 1));
    add(h, p->key, 1);
}

void
hub_heads_done(hub_t *hub, struct lws *wsi)
{
    uintptr_t fd1 = (uintptr_t)hub_map_get(&hub->heads.by_wsi, (uint64_t)(uintptr_t)wsi);

    if (fd1 == 0) {
        /* Not counted. Inside an adopt call it is the socket being adopted
         * (lws serves a read-ahead head at once): not to be counted after. */
        hub->heads.settled |= hub->heads.adopting;
        return;
    }
    uncount(hub, (int)(fd1 - 1), wsi);
}
