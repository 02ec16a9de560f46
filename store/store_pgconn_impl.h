/*
 * Internal to store_pgconn.c (running statements, the timer, the API) and
 * store_pgconn_connect.c (the connect path): the connection's state and the
 * few steps each file takes from the other. Nothing else includes it.
 */
#ifndef CHATHUB_STORE_PGCONN_IMPL_H
#define CHATHUB_STORE_PGCONN_IMPL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"
#include "store_lookup.h"

#define BACKOFF_MIN_MS 250

/* PC_RESOLVING: the hosts' addresses are being looked up (hooks.resolve), the
 * first step of every connect attempt. */
typedef enum { PC_DOWN, PC_RESOLVING, PC_CONNECTING, PC_UP } pc_state_t;

#define PREPARED_MAX 8 /* names per session; more are sent unnamed */

struct store_pgconn {
    store_t *st;
    const store_hooks_t *h; /* the store's; only used while !freed */
    char name[32];
    unsigned stmt_timeout_ms;
    unsigned deadline_ms;
    bool reconnect;
    store_requeue_fn requeue;
    void *ud;
    PGconn *pg;
    store_lookup_t *lookup; /* PC_RESOLVING: the hosts of store_hosts(), all at once */
    void *watch;
    void *timer;
    pc_state_t state;
    bool ever_up;
    bool flushing; /* PQflush left output pending: watch for writable */
    bool broken;   /* a send failed inside a caller: fail on the next timer tick */
    store_q_t *head, *tail;
    size_t nqueued;
    store_q_t *inflight;
    PGresult *res; /* the statement's result so far: the first error, else the last */
    uint64_t connect_deadline, inflight_deadline, retry_at;
    uint64_t inflight_sent_us; /* for the latency histogram */
    unsigned backoff_ms;
    unsigned failures;   /* connect failures in a row: the first and every tenth are reported */
    bool retry_reported; /* a failure since the last loss (store.down) was reported */
    uint64_t rng;
    /* Statements prepared on this session (see store_merge_t), and whether
     * the one in flight is a PREPARE for the statement queued behind it. */
    struct {
        const char *name;
        bool ok; /* false: preparing failed, the statement goes unnamed here */
    } prepared[PREPARED_MAX];
    size_t nprepared;
    bool preparing;
    int depth;  /* loop callbacks of this connection on the stack */
    bool freed; /* store_pgconn_free() ran inside one of them: free at depth 0 */
};

/* store_pgconn.c */
uint64_t pgconn_now_ms(const store_pgconn_t *pc);
void pgconn_set_watch(store_pgconn_t *pc, int events);
/* Close the session, schedule the reconnect and answer what it held. */
void pgconn_fail(store_pgconn_t *pc, const char *why, const char *inflight_err);
/* Send the next queued statement, if the connection is free to. */
void pgconn_pump(store_pgconn_t *pc);
/* Leave a loop callback (pc->depth was raised on entry). */
void pgconn_leave(store_pgconn_t *pc);
/* The socket's watch callback, connecting or up. */
void pgconn_on_io(void *ud, int events);

/* store_pgconn_connect.c */
/* Start a connect attempt: resolve the hosts, then hand libpq addresses. */
void pgconn_connect(store_pgconn_t *pc);
/* The socket is ready while connecting: one PQconnectPoll step. */
void pgconn_connect_step(store_pgconn_t *pc);
/* The lookups are over: connect to the hosts that resolved. */
void pgconn_connect_resolved(store_pgconn_t *pc, const char *none_why);

#endif
