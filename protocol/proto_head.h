/*
 * A WebSocket request head rewritten before libwebsockets parses it, for the
 * one case Debian's lws 4.1 cannot take: a Sec-WebSocket-Protocol header of
 * 127 bytes or more, which it copies into a 128-byte buffer and, past that,
 * drops the connection. A JWT offered as "chathub.v1, bearer.<jwt>"
 * (PROTOCOL.md §1, the only token source a browser has besides the URL) is
 * always that long.
 */
#ifndef CHATHUB_PROTO_HEAD_H
#define CHATHUB_PROTO_HEAD_H

#include <stddef.h>

typedef enum proto_head_lift {
    PROTO_HEAD_AS_IS = 0, /* leave the request alone */
    PROTO_HEAD_LIFTED,    /* out holds the rewritten head */
} proto_head_lift_t;

/*
 * in/len: the first bytes of a request. When they hold its whole head (up to
 * the blank line), with exactly one Sec-WebSocket-Protocol header whose value
 * is at least min_len bytes, offers "chathub.v1", and carries a "bearer.<t>"
 * entry whose token is plain (letters, digits, "._~-"): the head is rewritten
 * into out (cap bytes) with every "bearer." entry taken out of that header
 * and the token put first in the query as token=<t>. The hub reads ?token=
 * right after the subprotocol and lws returns the first argument of a name,
 * so which token wins (PROTOCOL.md §1: Authorization, subprotocol, query) is
 * unchanged. *used is the length of the original head, *outlen the new one's.
 * Anything else, a rewrite that would not fit or still be too long
 * included: PROTO_HEAD_AS_IS, and lws sees the request as it came.
 */
proto_head_lift_t proto_head_lift(const char *in, size_t len, size_t min_len, char *out, size_t cap,
                                  size_t *used, size_t *outlen);

#endif
