/*
 * WebSocket client connections on one epoll loop: non-blocking connects from
 * rotating 127.0.0.x source addresses, the upgrade, frame reassembly, pongs
 * and the close handshake. What a text message means is the caller's business
 * (lg_rooms.c, lg_idle.c); this file never parses JSON.
 */
#ifndef CHATHUB_LG_CONN_H
#define CHATHUB_LG_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lg_ws.h"

typedef struct lg_loop lg_loop_t;
typedef struct lg_conn lg_conn_t;

typedef enum lg_conn_state {
    LG_CONN_CONNECTING, /* TCP connect in flight */
    LG_CONN_UPGRADING,  /* request sent, waiting for the 101 */
    LG_CONN_OPEN,
    LG_CONN_CLOSING, /* our close frame sent, waiting for the server's */
    LG_CONN_CLOSED,
} lg_conn_state_t;

/* Callbacks run on the loop. text is borrowed until on_text returns. */
typedef struct lg_conn_cbs {
    void (*on_open)(lg_conn_t *c);
    void (*on_text)(lg_conn_t *c, char *text, size_t len);
    void (*on_closed)(lg_conn_t *c); /* once per connection, whatever ended it */
} lg_conn_cbs_t;

/* A hub node: ws://a.b.c.d:port (localhost is 127.0.0.1). */
typedef struct lg_target {
    struct sockaddr_in addr;
    char host[80]; /* for the Host header: address:port */
} lg_target_t;

struct lg_conn {
    void *ud; /* the caller's */
    lg_conn_state_t state;
    int http_status;  /* of a refused upgrade, else 0 */
    int close_code;   /* from the server's close frame; 1006 when the TCP just ended */
    const char *fail; /* why it closed, a static string, NULL while fine */
    int sys_errno;    /* of a failed socket call, else 0 */
    uint64_t t_start_ns;
    /* When the kernel queued the newest bytes on_text is handed (SO_TIMESTAMPNS,
     * on lg_now_ns()'s clock), 0 when it gave none. On loopback that is the
     * moment the server's send() finished: latency to it leaves out this
     * process's own queueing, which is not the server's. */
    uint64_t rx_stamp_ns;
    /* private to lg_conn.c */
    lg_loop_t *_loop;
    int _fd;
    bool _want_out;
    char _accept[LG_WS_ACCEPT_LEN + 1];
    uint8_t *_rx;
    size_t _rx_len, _rx_cap;
    uint8_t *_msg; /* a fragmented message being reassembled */
    size_t _msg_len, _msg_cap;
    int _msg_op; /* 0: none in progress */
    uint8_t *_tx;
    size_t _tx_len, _tx_off, _tx_cap;
};

/* Parse url into t. Returns 0, or -1 when it is not ws://IPv4-or-localhost:port. */
int lg_target_parse(const char *url, lg_target_t *t) __attribute__((warn_unused_result));

/*
 * A loop whose connections bind to nsrc source addresses starting at
 * first_src (host order, e.g. 127.0.0.2), round-robin. Aborts on failure.
 */
lg_loop_t *lg_loop_new(const lg_conn_cbs_t *cbs, uint32_t first_src, unsigned nsrc);

/* Close every connection's socket and free the loop and all its connections. */
void lg_loop_free(lg_loop_t *l);

/* Wait up to timeout_ms for socket events and dispatch them. */
void lg_loop_poll(lg_loop_t *l, int timeout_ms);

/*
 * Start connecting to t and upgrading on path, with token as a bearer (NULL:
 * none). The connection belongs to the loop (freed by lg_loop_free). A socket
 * that fails at once comes back CLOSED with fail set, and on_closed has run.
 */
lg_conn_t *lg_conn_open(lg_loop_t *l, const lg_target_t *t, const char *path, const char *token,
                        void *ud);

/* Send one text message. 0: sent or queued; -1: the connection is not open. */
int lg_conn_send_text(lg_conn_t *c, const void *text, size_t len)
    __attribute__((warn_unused_result));

/* Start the close handshake with code (1000: normal); a no-op unless open. */
void lg_conn_close(lg_conn_t *c, int code);

/* Bytes queued but not yet written to the socket. */
size_t lg_conn_pending(const lg_conn_t *c);

#endif
