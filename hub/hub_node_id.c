/*
 * One live process per HUB_NODE_ID (hub_node_id.h).
 */
#include "hub_node_id.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "hub_log.h"

/* Beats in a row (less the ones that read our own tag) that read another
 * process's tag before it counts as alive: a dead predecessor's is read
 * once. */
#define CLASH_BEATS 2
#define CLASH_LOG_MS 60000

void
hub_node_id_init(hub_t *hub)
{
    struct timeval tv;
    uint32_t rnd = 0;

    gettimeofday(&tv, NULL);
    if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1) {
        rnd = (uint32_t)tv.tv_usec ^ (uint32_t)getpid();
    }
    snprintf(hub->node_tag, sizeof(hub->node_tag), "%" PRId64 "-%08" PRIx32,
             (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, rnd);
}

void
hub_node_id_beat(const hub_t *hub, char *buf, size_t len)
{
    snprintf(buf, len, "%zu %s", hub->conns.count, hub->node_tag);
}

/* Whether tag a (ours) started after tag b: by the start time, then the
 * random part. */
static bool
started_after(const char *a, const char *b, size_t blen)
{
    char *end;
    int64_t ta = strtoll(a, NULL, 10), tb = strtoll(b, &end, 10);

    if (end == b || (size_t)(end - b) > blen) {
        return false; /* not a tag: an older node's value, not a twin we can rank */
    }
    if (ta != tb) {
        return ta > tb;
    }
    size_t alen = strlen(a);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c > 0 || (c == 0 && alen > blen);
}

void
hub_node_id_check(hub_t *hub, const char *prev, size_t len)
{
    const char *sp = prev != NULL ? memchr(prev, ' ', len) : NULL;
    const char *tag = sp != NULL ? sp + 1 : NULL;
    size_t tlen = tag != NULL ? len - (size_t)(tag - prev) : 0;
    bool foreign =
        tag != NULL && (tlen != strlen(hub->node_tag) || memcmp(tag, hub->node_tag, tlen) != 0);

    if (!foreign) {
        hub->node_clash_beats -= hub->node_clash_beats > 0;
        if (hub->node_clash_beats == 0 && hub->node_id_clash) {
            hub->node_id_clash = false;
            log_info("hub.node_id_alone", "node=%s", hub->cfg->node_id);
        }
        return;
    }
    if (hub->node_clash_beats < CLASH_BEATS) {
        hub->node_clash_beats++;
    }
    if (hub->node_clash_beats < CLASH_BEATS) {
        return;
    }
    uint64_t now = hub_now_ms(hub);
    bool intruder = started_after(hub->node_tag, tag, tlen);
    if (hub->node_clash_logged_ms == 0 || now - hub->node_clash_logged_ms >= CLASH_LOG_MS) {
        hub->node_clash_logged_ms = now;
        if (intruder) {
            log_error("hub.node_id_in_use",
                      "node=%s detail=\"another live process has this HUB_NODE_ID and started "
                      "first: give each node its own; /ready answers 503\"",
                      hub->cfg->node_id);
        } else {
            log_warn("hub.node_id_twin",
                     "node=%s detail=\"a process started later has this HUB_NODE_ID too\"",
                     hub->cfg->node_id);
        }
    }
    hub->node_id_clash = intruder;
}

bool
hub_node_id_clash(const hub_t *hub)
{
    return hub->node_id_clash;
}
