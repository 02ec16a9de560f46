/*
 * The heartbeat (hub_presence_beat.h): its value carries this node's
 * connection count, for the others' stats, and this process's tag
 * (hub_node_id.h).
 */
#include "hub_presence_beat.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#include "hub_log.h"
#include "hub_node_id.h"
#include "hub_presence.h"
#include "hub_presence_eval.h"
#include "hub_redis.h"

#define HEARTBEAT_TTL_MS "6000"

/* The beat's SET answers the key's old value: none means it had expired, so
 * the others may have reaped this node's entries (the node was stopped, or
 * its Redis stalled, past the key's 6 s) while its sockets stayed open. They
 * are written again as after a reconnect; so they are when Redis had refused
 * a presence write (hub_presence_refused) and takes this beat. */
static void
on_beat_set(void *ud, void *reply, const char *err)
{
    hub_t *hub = ud;
    const redisReply *r = reply;

    if (err == hub_redis_err_reply) {
        hub_presence_refused(hub, true);
        return;
    }
    if (err == NULL && r != NULL && hub->presence != NULL) {
        bool lapsed = r->type == REDIS_REPLY_NIL;

        if (lapsed) {
            log_warn("presence.heartbeat_lapsed", "node=%s", hub->cfg->node_id);
        }
        if (lapsed || hub_presence_rewrite_owed(hub)) {
            hub_presence_rewrite(hub, lapsed);
        }
    }
    if (err == NULL && r != NULL) {
        hub_node_id_check(hub, r->type == REDIS_REPLY_STRING ? r->str : NULL,
                          r->type == REDIS_REPLY_STRING ? r->len : 0);
    }
}

void
hub_presence_heartbeat(hub_t *hub, bool checked)
{
    hub_redis_t *r = hub_presence_redis(hub);
    char hb[160], value[80];

    if (r == NULL) {
        return;
    }
    snprintf(hb, sizeof(hb), "chathub:hb:%s", hub->cfg->node_id);
    hub_node_id_beat(hub, value, sizeof(value));
    const char *set[] = {"SET", hb, value, "PX", HEARTBEAT_TTL_MS, "GET"};
    if (hub_redis_command(r, checked ? on_beat_set : NULL, hub, 6, set, NULL) == 0) {
        hub_presence_reap(hub);
    }
}
