/*
 * Presence writes Redis refused (hub_presence_refusal.h).
 */
#include "hub_presence_refusal.h"

#include "hub_log.h"

#define RETRY_FIRST_MS 2000
#define RETRY_MAX_MS 30000

void
hub_presence_refusal_note(hub_presence_refusal_t *r, const char *node)
{
    if (!r->logged) {
        log_warn("presence.redis_refused", "node=%s", node);
        r->logged = true;
    }
    r->due = true;
}

bool
hub_presence_refusal_due(const hub_presence_refusal_t *r, uint64_t now)
{
    return r->due && now >= r->not_before;
}

void
hub_presence_refusal_rewriting(hub_presence_refusal_t *r)
{
    r->due = false;
}

void
hub_presence_refusal_rewritten(hub_presence_refusal_t *r, bool refused, uint64_t now,
                               const char *node)
{
    if (refused) {
        r->backoff_ms = r->backoff_ms == 0                  ? RETRY_FIRST_MS
                        : r->backoff_ms >= RETRY_MAX_MS / 2 ? RETRY_MAX_MS
                                                            : r->backoff_ms * 2;
        r->not_before = now + r->backoff_ms;
        hub_presence_refusal_note(r, node);
        return;
    }
    if (r->logged) {
        log_info("presence.redis_accepting", "node=%s", node);
    }
    /* A write refused while this rewrite was out is still owed one. */
    *r = (hub_presence_refusal_t){.due = r->due};
}
