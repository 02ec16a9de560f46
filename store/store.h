/*
 * The store's lifecycle: a small pool of asynchronous libpq connections that
 * never blocks its caller. Like hiredis, the store does not own a loop: it asks
 * its host to watch file descriptors and run timers through store_hooks_t.
 * Queries live in store_*.h beside this file; all of them follow the contract
 * below.
 *
 * Async contract: a call returns 0 when queued, and its callback then runs
 * exactly once, later, on the host's loop, with a result xor an error (one of
 * the store_err_* strings below, compared by pointer), even at shutdown
 * (store_err_shutdown). -1 means nothing was queued and the callback never runs.
 * Data handed to a callback is borrowed until the callback returns.
 */
#ifndef CHATHUB_STORE_H
#define CHATHUB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lat_hist.h"

typedef struct store store_t; /* opaque */

/* Errors, compared by pointer and logged as they are. */
extern const char store_err_unavailable[];  /* no connection to PostgreSQL: retry later */
extern const char store_err_timeout[];      /* no answer in time; the query may have run */
extern const char store_err_shutdown[];     /* store_free() ran before the answer */
extern const char store_err_not_found[];    /* the addressed row does not exist */
extern const char store_err_forbidden[];    /* user not a participant of the room */
extern const char store_err_unauthorized[]; /* user unknown or inactive, token unknown */
extern const char store_err_archived[];     /* room archived: readable, not writable */
extern const char store_err_invalid[];  /* input the schema rejects (unknown member, bad role) */
extern const char store_err_conflict[]; /* a uniqueness rule refused the write */
extern const char store_err_disconnected[]; /* the user was disconnected after this opened */
extern const char store_err_internal[];     /* anything else; details went to the event hook */

/* A write's flag (an int of 1 or 0) the caller left out: what is stored stays. */
#define STORE_KEEP (-1)

/* I/O readiness bits for watches. */
enum { STORE_EV_READ = 1, STORE_EV_WRITE = 2 };

typedef void (*store_io_cb)(void *cb_ud, int events);
typedef void (*store_timer_cb)(void *cb_ud);
/* A host name's lookup: addr (numeric, borrowed until return) xor err (text for the log). */
typedef void (*store_resolve_cb)(void *cb_ud, const char *addr, const char *err);

/*
 * What the host provides. A watch or timer handle is opaque to the store.
 * watch_set(w, 0) stops watching; watch_free must be called before the fd is
 * closed. timer_start re-arms a one-shot timer. Frees may complete later (libuv
 * closes handles asynchronously) but the callback never fires after a free.
 */
typedef struct store_hooks {
    void *ud;
    void *(*watch_new)(void *ud, int fd, store_io_cb cb, void *cb_ud);
    void (*watch_set)(void *w, int events);
    void (*watch_free)(void *w);
    void *(*timer_new)(void *ud, store_timer_cb cb, void *cb_ud);
    void (*timer_start)(void *t, uint64_t ms);
    void (*timer_stop)(void *t);
    void (*timer_free)(void *t);
    /* One event for the host's log, e.g. ("store.down", "err=\"connection refused\"").
     * detail is key=value text without secrets; may be NULL. */
    void (*event)(void *ud, const char *level, const char *event, const char *detail);
    /* Milliseconds on a monotonic clock. */
    uint64_t (*now_ms)(void *ud);
    /* Look host up without blocking (libpq's own lookup would block the loop).
     * Returns a handle, and cb runs once, later, on the loop, unless
     * resolve_cancel(handle) ran first; NULL: nothing started, cb never runs.
     * The store asks before every connect attempt, so a database that moves
     * to a new address is followed. Both NULL: libpq looks names up itself. */
    void *(*resolve)(void *ud, const char *host, store_resolve_cb cb, void *cb_ud);
    void (*resolve_cancel)(void *handle);
} store_hooks_t;

typedef struct store_config {
    const char *conninfo; /* DATABASE_URL (URI or key=value); copied; never logged */
    const char *hostaddr; /* numeric address for conninfo's host, or NULL: resolved per connect */
    unsigned pool_size;   /* connections; 0 means 1 */
    unsigned query_timeout_ms;   /* per query; 0 means 5000; also sent as statement_timeout */
    unsigned connect_timeout_ms; /* 0 means 5000 */
} store_config_t;

/* Whether conninfo is a connection string libpq reads (URI or key=value)
 * with ports that are numbers from 1 to 65535: a mistake found at startup,
 * not as a connect that can never start. why says what is wrong, never
 * quoting the string (it may hold a password). */
bool store_conninfo_ok(const char *conninfo, char *why, size_t len);

/* A new store that starts connecting at once. hooks is copied. Free with store_free(). */
store_t *store_new(const store_config_t *cfg, const store_hooks_t *hooks);

/* Close every connection; pending callbacks run with store_err_shutdown before
 * this returns. NULL is a no-op. */
void store_free(store_t *st);

/* True while at least one connection is up. */
bool store_is_up(const store_t *st);

/* What /metrics reports about the store. */
typedef struct store_pool_stats {
    uint64_t queries;   /* statements PostgreSQL answered, failed ones included */
    uint64_t failures;  /* answered with an error, or timed out */
    uint64_t connects;  /* connections made: at startup and after every loss */
    lat_hist_t latency; /* each statement's round trip */
} store_pool_stats_t;

const store_pool_stats_t *store_pool_stats(const store_t *st);

typedef void (*store_done_cb)(void *ud, const char *err);

/* Round trip "SELECT 1" (for /ready). */
int store_ping(store_t *st, store_done_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
