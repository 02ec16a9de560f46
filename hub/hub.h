/*
 * The process state (struct hub) that every hub/ module is handed
 * explicitly, and the entry points main.c calls. There is one hub per
 * process and no global that points at it.
 */
#ifndef CHATHUB_HUB_H
#define CHATHUB_HUB_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "hub_config.h"
#include "hub_heads.h"
#include "hub_map.h"
#include "lat_hist.h"
#include "store.h"

struct lws_context;

typedef struct hub_counters {
    uint64_t connections_total;
    uint64_t messages_in;
    uint64_t messages_out;  /* frames written to sockets */
    uint64_t socket_writes; /* writes that carried them (hub_wire.c joins frames) */
    uint64_t slow_consumer_closes;
    uint64_t rate_limited;
    uint64_t resumes;      /* connections that asked for ?last_seq */
    uint64_t drain_closes; /* sockets closed with 1012 by a drain */
    uint64_t fd_rejects;   /* accepted sockets hung up: too close to the fd limit */
    uint64_t head_rejects; /* accepted sockets refused: their address has too many heads pending */
    uint64_t audit_fills;  /* rooms the audit found behind the store (hub_room_audit.c) */
    uint64_t room_held;    /* messages that came ahead of a missing seq and waited (hub_room.c) */
    uint64_t room_fills;   /* reads of a room's missing messages from the store */
    lat_hist_t delivery;   /* a message's arrival on this node → its local sockets */
} hub_counters_t;

/* The cluster's clock (hub_clock.h). */
typedef struct hub_clock {
    int64_t offset_ms;    /* Redis's clock minus ours */
    uint64_t asked_ms;    /* loop clock of the last TIME sent */
    bool synced, pending; /* an answer came; a TIME is in flight */
} hub_clock_t;

typedef struct hub {
    hub_config_t *cfg;
    uv_loop_t *loop;
    struct lws_context *lws;
    struct hub_listener *listener; /* our listening socket (hub_listen.c); NULL once closed */
    store_t *store;
    struct hub_channel *channel; /* fan-out to other nodes */
    struct hub_presence *presence;
    /* Rooms whose online list is compared with Redis's (hub_presence_resync.h). */
    struct hub_presence_resync *presence_resync;
    /* Rooms waiting to be read again as settled (hub_presence_settle.h). */
    struct hub_presence_settler *presence_settler;
    struct drain *drain;   /* while draining */
    size_t pending_writes; /* message inserts the store has not answered */
    hub_map_t conns;       /* conn id → hub_conn_t * */
    hub_map_t rooms;       /* room id → hub_room_t * (rooms with a local socket) */
    hub_map_t http_reqs;   /* request id → hub_http_req_t * (answers still owed) */
    hub_map_t ip_conns;    /* client address key → open sockets (as uintptr_t) */
    hub_heads_t heads;     /* unfinished request heads per address (hub_heads.h) */
    uint64_t next_id;      /* ids for connections and requests; never reused */
    hub_clock_t clock;
    /* By descriptor: what accept4() said of each client's peer (hub_listen.h). */
    struct hub_peer *peers;
    size_t npeers;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t sweep; /* once a second: stale outbound queues */
    /* Rooms whose subscription Redis confirmed this turn: their last seqs are
     * read in one query before the loop polls (hub_room.c). */
    uv_prepare_t room_checks;
    int64_t *checked_rooms;
    size_t nchecked, checked_cap;
    struct hub_room_audit *room_audit; /* NULL: off, or stopped */
    struct hub_recheck *recheck;       /* sockets checked after missed kicks; NULL: stopped */
    struct hub_rename *rename;         /* users read again after renames; NULL: stopped */
    struct hub_wsocks *wsocks;         /* WebSockets served without lws; NULL: off */
    struct hub_wire *wire;             /* one write per socket per turn of the loop */
    struct proto_jwt_key *jwt_key;     /* cfg->jwt_secret, ready for verifying; NULL: none */
    /* This process's tag in its heartbeat, and what the beats say of
     * another live process with the same HUB_NODE_ID (hub_node_id.h). */
    char node_tag[40];
    int node_clash_beats;
    bool node_id_clash;
    uint64_t node_clash_logged_ms;
    /* msg.store_failed for the store's own failures: one line per 10 s,
     * with how many went unlogged (an outage fails every send). */
    uint64_t store_failed_logged_ms;
    unsigned store_failed_unlogged;
    bool schema_behind;   /* the store lacks a migration this binary knows (hub_schema.h) */
    bool schema_ahead;    /* ... or has one this binary does not know */
    bool store_read_only; /* ... or takes no writes: a standby, or set read-only */
    bool stopping;
    bool draining;
    int exit_code;
    int fd_cap; /* highest descriptor a client socket may have; see hub_listen.c */
    hub_counters_t counters;
} hub_t;

/* Serve until SIGTERM/SIGINT. Returns the process exit code. */
int hub_serve(hub_config_t *cfg);

/* Apply migrations and exit (chathub migrate). Returns the process exit code. */
int hub_migrate(hub_config_t *cfg);

/* Run a one-shot command on the loop: start(hub) begins it (usually with
 * hub_open_store()), and it ends by setting hub->exit_code and uv_stop().
 * Returns the exit code. */
int hub_run_task(hub_config_t *cfg, void (*start)(hub_t *hub));
void hub_open_store(hub_t *hub);

/* A new id for a connection or a request. */
uint64_t hub_next_id(hub_t *hub);

/* Microseconds on a monotonic clock (not the loop's cached time). */
uint64_t hub_now_us(void);

/* Milliseconds on the loop's clock. */
uint64_t hub_now_ms(const hub_t *hub);

/* What an asynchronous call carries instead of a pointer to something that may
 * be gone when it completes: the hub and an id (STYLE.md "Ownership"). */
typedef struct hub_ref {
    hub_t *hub;
    uint64_t id;
} hub_ref_t;

hub_ref_t *hub_ref_new(hub_t *hub, uint64_t id); /* free() it in the callback */

#endif
