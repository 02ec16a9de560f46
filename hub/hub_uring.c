/*
 * The ring (see hub_uring.h): the submission and completion queues mapped
 * once, a send per submission entry, the entry's slot as its user_data.
 * Only the loop's thread uses a ring, so the one ordering that matters is
 * the kernel's: the tail we publish (release) and the tail we read (acquire).
 */
#include "hub_uring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xalloc.h"

#define ENTRIES_MAX 4096u

struct hub_uring {
    int fd;
    unsigned entries;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    void *rings;
    size_t rings_len;
    size_t sqes_len;
    unsigned tail;      /* our submission tail, published at flush */
    unsigned queued;    /* entries since the last flush */
    uint64_t *tags;     /* the caller's tag of each slot */
    bool *reported;     /* slot's result given to the caller this flush */
    struct msghdr *msg; /* each slot's header, for sends of several pieces */
};

static int
ring_setup(unsigned entries, struct io_uring_params *p)
{
    /* SUBMIT_ALL: one refused send does not hold back the rest; COOP_TASKRUN
     * and SINGLE_ISSUER: no interrupts for work only the loop's thread reads.
     * Kernels before 6.0 know none of them. */
    static const unsigned flag_sets[] = {
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER, 0};

    for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
        memset(p, 0, sizeof(*p));
        p->flags = flag_sets[i];
        int fd = (int)syscall(__NR_io_uring_setup, entries, p);
        if (fd >= 0 || errno != EINVAL) {
            return fd;
        }
    }
    return -1;
}

static bool
ring_map(hub_uring_t *r, const struct io_uring_params *p)
{
    size_t sq_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    size_t cq_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    char *rings;

    r->rings_len = sq_len > cq_len ? sq_len : cq_len;
    rings = mmap(NULL, r->rings_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                 IORING_OFF_SQ_RING);
    if (rings == MAP_FAILED) {
        return false;
    }
    r->rings = rings;
    r->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                   IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) {
        r->sqes = NULL;
        return false;
    }
    r->sq_head = (unsigned *)(void *)(rings + p->sq_off.head);
    r->sq_tail = (unsigned *)(void *)(rings + p->sq_off.tail);
    r->sq_mask = (unsigned *)(void *)(rings + p->sq_off.ring_mask);
    r->sq_array = (unsigned *)(void *)(rings + p->sq_off.array);
    r->cq_head = (unsigned *)(void *)(rings + p->cq_off.head);
    r->cq_tail = (unsigned *)(void *)(rings + p->cq_off.tail);
    r->cq_mask = (unsigned *)(void *)(rings + p->cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(void *)(rings + p->cq_off.cqes);
    for (unsigned i = 0; i < p->sq_entries; i++) {
        r->sq_array[i] = i; /* slot i is always entry i */
    }
    r->tail = *r->sq_tail;
    return true;
}

void
hub_uring_free(hub_uring_t *r)
{
    if (r == NULL) {
        return;
    }
    if (r->sqes != NULL) {
        munmap(r->sqes, r->sqes_len);
    }
    if (r->rings != NULL) {
        munmap(r->rings, r->rings_len);
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    free(r->tags);
    free(r->reported);
    free(r->msg);
    free(r);
}

bool
hub_uring_send(hub_uring_t *r, int fd, const struct iovec *iov, int niov, uint64_t tag)
{
    if (r->queued == r->entries || niov < 1) {
        return false;
    }
    unsigned slot = r->tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[slot];

    memset(sqe, 0, sizeof(*sqe));
    sqe->fd = fd;
    sqe->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    sqe->user_data = slot;
    if (niov == 1) {
        sqe->opcode = IORING_OP_SEND;
        sqe->addr = (uint64_t)(uintptr_t)iov[0].iov_base;
        sqe->len = (uint32_t)iov[0].iov_len;
    } else {
        r->msg[slot] = (struct msghdr){.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov};
        sqe->opcode = IORING_OP_SENDMSG;
        sqe->addr = (uint64_t)(uintptr_t)&r->msg[slot];
        sqe->len = 1;
    }
    r->tags[slot] = tag;
    r->reported[slot] = false;
    r->tail++;
    r->queued++;
    return true;
}

unsigned
hub_uring_pending(const hub_uring_t *r)
{
    return r->queued;
}

static unsigned
reap(hub_uring_t *r, hub_uring_done_cb done, void *ud)
{
    unsigned head = *r->cq_head, n = 0;
    unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);

    for (; head != tail; head++) {
        const struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
        unsigned slot = (unsigned)cqe->user_data;
        if (slot < r->entries && !r->reported[slot]) {
            r->reported[slot] = true;
            done(ud, r->tags[slot], cqe->res);
            n++;
        }
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    return n;
}

static int
enter(hub_uring_t *r, unsigned to_submit, unsigned flags)
{
    int n;

    do {
        n = (int)syscall(__NR_io_uring_enter, r->fd, to_submit, 0, flags, NULL, 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

int
hub_uring_flush(hub_uring_t *r, hub_uring_done_cb done, void *ud)
{
    unsigned first = r->tail - r->queued, submitted, reported;
    int rc = 0;

    if (r->queued == 0) {
        return 0;
    }
    __atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
    if (enter(r, r->queued, 0) < 0) {
        rc = -errno; /* seccomp, a sysctl, memory: whatever the kernel took is still reaped */
    }
    /* Entries the kernel did not take stay behind the head; it never runs them
     * once the ring is given up, so they wrote nothing. */
    submitted = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) - first;
    if (submitted > r->queued) {
        submitted = r->queued;
    }
    reported = reap(r, done, ud);
    if (reported < submitted) {
        /* Completions the kernel left as deferred work: one more call runs it. */
        enter(r, 0, IORING_ENTER_GETEVENTS);
        reported += reap(r, done, ud);
    }
    for (unsigned i = 0; i < r->queued; i++) {
        unsigned slot = (first + i) & *r->sq_mask;
        if (!r->reported[slot]) {
            r->reported[slot] = true;
            done(ud, r->tags[slot], i < submitted ? -EIO : -EAGAIN);
            rc = rc < 0 ? rc : -EIO;
        }
    }
    r->queued = 0;
    return rc;
}

struct probe {
    int res;
    int calls;
};

static void
on_probe(void *ud, uint64_t tag, int res)
{
    struct probe *got = ud;

    (void)tag;
    got->res = res;
    got->calls++;
}

/* What the ring is for: a send that cannot go now fails at once. */
static const char *
check_nonblocking(hub_uring_t *r)
{
    static const char fill[4096];
    struct probe got = {0, 0};
    struct iovec iov = {(void *)fill, 1};
    const char *why = NULL;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        return "socketpair failed";
    }
    while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
    hub_uring_send(r, sv[0], &iov, 1, 0);
    int rc = hub_uring_flush(r, on_probe, &got);
    if (rc == -EPERM || rc == -EACCES) {
        why = "io_uring_enter not permitted";
    } else if (rc < 0 && rc != -EIO) {
        why = "io_uring_enter failed";
    } else if (rc < 0 || got.calls != 1) {
        why = "a send on a full socket did not complete at once";
    } else if (got.res != -EAGAIN) {
        why = got.res == -EINVAL || got.res == -EOPNOTSUPP ? "no send operation"
                                                           : "a send on a full socket did not fail";
    }
    close(sv[0]);
    close(sv[1]);
    return why;
}

hub_uring_t *
hub_uring_new(unsigned entries, const char **why)
{
    struct io_uring_params p;
    hub_uring_t *r;

    if (entries == 0 || entries > ENTRIES_MAX || (entries & (entries - 1)) != 0) {
        *why = "bad ring size";
        return NULL;
    }
    r = xcalloc(1, sizeof(*r));
    r->fd = ring_setup(entries, &p);
    if (r->fd < 0) {
        *why = errno == ENOSYS                     ? "no io_uring in this kernel"
               : errno == EPERM || errno == EACCES ? "io_uring not permitted"
                                                   : "io_uring_setup failed";
        hub_uring_free(r);
        return NULL;
    }
    fcntl(r->fd, F_SETFD, FD_CLOEXEC);
    if ((p.features & IORING_FEAT_SINGLE_MMAP) == 0 || (p.features & IORING_FEAT_NODROP) == 0) {
        *why = "kernel too old (needs 5.5)";
        hub_uring_free(r);
        return NULL;
    }
    r->entries = p.sq_entries < entries ? p.sq_entries : entries;
    r->tags = xcalloc(p.sq_entries, sizeof(*r->tags));
    r->reported = xcalloc(p.sq_entries, sizeof(*r->reported));
    r->msg = xcalloc(p.sq_entries, sizeof(*r->msg));
    if (!ring_map(r, &p)) {
        *why = "mmap of the ring failed";
        hub_uring_free(r);
        return NULL;
    }
    *why = check_nonblocking(r);
    if (*why != NULL) {
        hub_uring_free(r);
        return NULL;
    }
    return r;
}
