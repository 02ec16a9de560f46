/*
 * Many sends in one system call: a minimal io_uring of our own (the kernel's
 * interface, no library). On this kind of machine a system call costs about
 * 1 µs, and a 1,000-member room is 1,000 sends; the ring submits a turn's
 * sends together and the kernel does each one at once, inline, as send()
 * would.
 *
 * Every send carries MSG_DONTWAIT, so the kernel never parks one to finish
 * later: it completes (whole, short, or -EAGAIN) before hub_uring_flush()
 * returns. A send that finished later could land behind bytes written after
 * it, so hub_uring_new() checks that the kernel behaves so before the ring is
 * used, and refuses the ring otherwise.
 */
#ifndef CHATHUB_HUB_URING_H
#define CHATHUB_HUB_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct hub_uring hub_uring_t;

/* A ring of `entries` sends (a power of two, at most 4096). NULL when the
 * kernel has no io_uring, refuses it (seccomp, a sysctl), or would complete
 * a non-blocking send later; *why then says which, for the log. */
hub_uring_t *hub_uring_new(unsigned entries, const char **why);
void hub_uring_free(hub_uring_t *r);

/* Queue one send of iov[0..niov) on fd, reported to flush's callback with
 * tag. iov and the bytes it points at must stay as they are until
 * hub_uring_flush() returns. false: the ring is full, flush first. */
bool hub_uring_send(hub_uring_t *r, int fd, const struct iovec *iov, int niov, uint64_t tag);

/* Sends queued and not flushed yet. */
unsigned hub_uring_pending(const hub_uring_t *r);

/* The result of one send: bytes written (possibly fewer than asked), or
 * -errno (-EAGAIN: the socket's buffer is full, nothing written). */
typedef void (*hub_uring_done_cb)(void *ud, uint64_t tag, int res);

/* Submit every queued send and report each one to done, in no particular
 * order. A send the kernel did not take is reported as -EAGAIN (nothing
 * written). Negative: the ring broke, and the caller stops using it: -errno
 * of a failed io_uring_enter, or -EIO when a send the kernel took went
 * unreported in time. Such a send is reported as -EIO: its socket's bytes
 * are in an unknown state, and the kernel may still read the send's memory,
 * so the caller must keep that memory and must not free the ring. */
int hub_uring_flush(hub_uring_t *r, hub_uring_done_cb done, void *ud);

#endif
