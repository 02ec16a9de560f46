/*
 * The server's side of RFC 6455 framing (§5): a client's bytes in, in pieces
 * of any size, and out the events a hub acts on. Every rule a server must
 * enforce is here, so that a connection served without libwebsockets is held
 * to them as one served by it: frames masked, no extension bits, known
 * opcodes, control frames whole and short, continuations only inside a
 * message, text that is UTF-8 as it arrives (split characters included), a
 * close frame's code and reason, and a bound on a message's size checked
 * from each frame's header, before its payload is read.
 *
 * No allocation and no copy of a message: its payload is unmasked in the
 * caller's buffer and handed back piece by piece. Only a control frame's
 * payload (at most 125 bytes) is gathered here, since it must be answered
 * whole.
 */
#ifndef CHATHUB_PROTO_WSREAD_H
#define CHATHUB_PROTO_WSREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_utf8.h"

/* Close codes of RFC 6455 §7.4.1 the reader fails a connection with, and the
 * one a close frame without a code stands for. */
#define PROTO_WS_CLOSE_PROTOCOL 1002
#define PROTO_WS_CLOSE_NO_STATUS 1005
#define PROTO_WS_CLOSE_BAD_DATA 1007
#define PROTO_WS_CLOSE_TOO_BIG 1009

#define PROTO_WS_CONTROL_MAX 125

typedef enum proto_wsread_event {
    PROTO_WSREAD_MORE = 0, /* all the bytes given were taken; nothing whole yet */
    PROTO_WSREAD_DATA,     /* a piece of a message: data/len, binary, message_end */
    PROTO_WSREAD_PING,     /* data/len: the payload, for the pong */
    PROTO_WSREAD_PONG,
    PROTO_WSREAD_CLOSE, /* the peer's close: code (1005: none), data/len its reason */
    PROTO_WSREAD_FAIL,  /* fail the connection with code; why says what broke */
} proto_wsread_event_t;

typedef struct proto_wsread_out {
    proto_wsread_event_t event;
    const uint8_t *data; /* DATA: into the caller's buffer; control frames: into the reader */
    size_t len;
    bool binary;      /* DATA: the message's opcode was binary */
    bool message_end; /* DATA: the last piece of its message (len may be 0) */
    int code;         /* CLOSE: the peer's code; FAIL: the code to close with */
    const char *why;  /* FAIL: a short reason, fit for the close frame */
} proto_wsread_out_t;

typedef struct proto_wsread {
    uint64_t max_message; /* bytes of a whole message, all its frames */
    /* The frame being read. */
    uint8_t head[14]; /* 2 bytes, up to 8 of length, 4 of mask */
    uint8_t head_len, head_need;
    uint8_t opcode;
    bool fin;
    uint64_t left; /* payload bytes of this frame still to come */
    uint8_t mask[4];
    uint8_t mask_at; /* the mask byte the next payload byte takes */
    /* The message, across its frames. */
    bool in_message;
    bool binary;
    uint64_t message_len;
    proto_utf8_stream_t utf8;
    /* A control frame's payload, gathered whole. */
    uint8_t ctl[PROTO_WS_CONTROL_MAX];
    uint8_t ctl_len;
    bool failed; /* every later call fails again */
    bool closed; /* the peer's close came: what follows is not read */
} proto_wsread_t;

/* A reader at the start of a connection's frames. max_message bounds a whole
 * message (1009 past it); 0 means no bound. */
void proto_wsread_init(proto_wsread_t *r, uint64_t max_message);

/*
 * Read from buf (len bytes, unmasked in place) up to the end of the next
 * event, which is written to *out; returns the bytes taken. Call again with
 * the rest while it is not all taken: one DATA event covers at most the part
 * of one frame that is in buf, and must be used before the next call (its
 * data points into buf, a control frame's into the reader). After FAIL every
 * call fails again; after CLOSE the rest is taken and ignored (MORE), since
 * nothing may follow a close frame.
 */
size_t proto_wsread_feed(proto_wsread_t *r, uint8_t *buf, size_t len, proto_wsread_out_t *out);

/* Whether code may be sent in a close frame (RFC 6455 §7.4, IANA registry). */
bool proto_ws_close_code_valid(int code);

#endif
