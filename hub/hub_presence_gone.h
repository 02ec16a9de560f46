/*
 * Leaves Redis has not heard: a user's last socket here closed while Redis
 * was away (or its answer was lost), after this node had counted them there.
 *
 * A Redis that kept its data still holds this node's entry for the user, and
 * the rewrite after the outage finds it and publishes the leave. A Redis that
 * restarted empty holds nothing, and the other nodes' sockets would keep the
 * user online until the room's next event. So the node keeps these leaves and
 * hands them to its rewrite: in a room Redis has no event number for, the
 * script marks each user who is online nowhere as gone, and the other nodes'
 * resyncs (hub_presence_resync.h) send their sockets the leave.
 */
#ifndef CHATHUB_HUB_PRESENCE_GONE_H
#define CHATHUB_HUB_PRESENCE_GONE_H

#include <stddef.h>
#include <stdint.h>

#include "proto_num.h"

typedef struct hub_presence_gone_entry {
    uint64_t serial; /* in the order noted */
    char room[PROTO_I64_STR_MAX], user[PROTO_I64_STR_MAX];
    char *json; /* the user as frames carry them */
} hub_presence_gone_entry_t;

typedef struct hub_presence_gone {
    hub_presence_gone_entry_t *v;
    size_t n, cap;
    uint64_t next_serial;
    uint64_t dropped; /* past the cap, never noted */
} hub_presence_gone_t;

/* Note the leave of user (as user_json) from room. */
void hub_presence_gone_note(hub_presence_gone_t *g, int64_t room, int64_t user,
                            const char *user_json);

/* Appends room, user, json of each leave noted to args (room for 3 * g->n);
 * returns how many slots it used, and in *upto what a reply that succeeds
 * then passes to hub_presence_gone_done. */
size_t hub_presence_gone_args(const hub_presence_gone_t *g, const char **args, uint64_t *upto);

/* Redis has the leaves noted up to upto: forget them. */
void hub_presence_gone_done(hub_presence_gone_t *g, uint64_t upto);

void hub_presence_gone_clear(hub_presence_gone_t *g);

#endif
