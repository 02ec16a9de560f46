/*
 * Connections across nodes (hub_presence_connections in hub_presence.h): the
 * other live nodes' counts from their heartbeats, plus this node's own now.
 */
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "hub_log.h"
#include "hub_presence.h"
#include "hub_presence_eval.h"
#include "hub_presence_lua.h"
#include "xalloc.h"

typedef struct count_req {
    hub_t *hub;
    uint64_t id;
    hub_presence_count_cb cb;
    void *ud;
} count_req_t;

static void
on_connections(void *ud, void *reply, const char *err)
{
    count_req_t *q = ud;
    const redisReply *r = reply;
    int64_t others = 0;

    if (err == NULL && r != NULL && r->type == REDIS_REPLY_INTEGER) {
        others = r->integer;
    } else if (q->hub->presence != NULL) {
        log_warn("presence.redis_failed", "op=connections err=\"%s\"", err != NULL ? err : "reply");
    }
    /* This node's own count is read now, not from its last heartbeat. */
    q->cb(q->hub, q->id, (int64_t)q->hub->conns.count + others, q->ud);
    free(q);
}

void
hub_presence_connections(hub_t *hub, uint64_t id, hub_presence_count_cb cb, void *ud)
{
    count_req_t *q = xmalloc(sizeof(*q));
    const char *args[] = {hub->cfg->node_id};

    /* The script reads heartbeats, not presence: it need not wait for the
     * turn's queued changes as presence's other scripts do. */
    *q = (count_req_t){hub, id, cb, ud};
    if (hub_presence_eval_now(hub, hub_presence_connections_lua, 1, args, on_connections, q) < 0) {
        cb(hub, id, (int64_t)hub->conns.count, ud); /* Redis off or down: this node alone */
        free(q);
    }
}
