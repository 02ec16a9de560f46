/* hub_uring: sends in one system call, each reported at once and exactly once,
 * bytes in order, short writes and full sockets told as they are. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "hub_uring.h"

#define MAX_RESULTS 4096

typedef struct results {
    int res[MAX_RESULTS];
    int calls[MAX_RESULTS];
    int total;
} results_t;

static void
on_done(void *ud, uint64_t tag, int res)
{
    results_t *r = ud;

    if (tag < MAX_RESULTS) {
        r->res[tag] = res;
        r->calls[tag]++;
    }
    r->total++;
}

/* A connected loopback TCP pair, both ends non-blocking. */
static int
tcp_pair(int fds[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) < 0) {
        return -1;
    }
    fds[1] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[1], (struct sockaddr *)&a, sizeof(a)) < 0) {
        return -1;
    }
    fds[0] = accept(l, NULL, NULL);
    close(l);
    return fds[0] < 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ? -1 : 0;
}

static size_t
read_all(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;

    while (got < cap && (n = recv(fd, buf + got, cap - got, MSG_DONTWAIT)) > 0) {
        got += (size_t)n;
    }
    return got;
}

static void
test_pieces_arrive_in_order(hub_uring_t *r)
{
    int fds[2];
    results_t res = {0};
    struct iovec one[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
    struct iovec two[1] = {{"ghij", 4}};
    unsigned char buf[64];

    ok(tcp_pair(fds) == 0, "a loopback pair");
    ok(hub_uring_send(r, fds[0], one, 3, 7), "three pieces queue as one send");
    ok(hub_uring_send(r, fds[0], two, 1, 9), "one piece queues");
    ok(hub_uring_pending(r) == 2, "two sends pending");
    ok(hub_uring_flush(r, on_done, &res) == 0, "flush succeeds");
    ok(hub_uring_pending(r) == 0, "nothing pending after the flush");
    ok(res.total == 2 && res.calls[7] == 1 && res.calls[9] == 1, "each send reported once");
    ok(res.res[7] == 6 && res.res[9] == 4, "each send wrote all its bytes");
    usleep(20000);
    size_t n = read_all(fds[1], buf, sizeof(buf));
    ok(n == 10 && memcmp(buf, "abcdefghij", 10) == 0, "the peer reads the bytes in order");
    ok(hub_uring_flush(r, on_done, &res) == 0 && res.total == 2, "an empty flush reports nothing");
    close(fds[0]);
    close(fds[1]);
}

/* Nobody reads: sends go whole, then one goes short, then none go, and what
 * the reports add up to is exactly what the peer can read. */
static void
test_full_socket_short_then_eagain(hub_uring_t *r)
{
    static unsigned char chunk[65536], got[64 << 20];
    results_t res = {0};
    size_t written = 0;
    int fds[2], rounds = 0, whole = 0, short_writes = 0, eagain = 0, other = 0;

    for (size_t i = 0; i < sizeof(chunk); i++) {
        chunk[i] = (unsigned char)(i * 7 + 3);
    }
    ok(tcp_pair(fds) == 0, "a loopback pair");
    struct iovec iov = {chunk, sizeof(chunk)};
    while (eagain < 3 && rounds < 1000) {
        memset(&res, 0, sizeof(res));
        hub_uring_send(r, fds[0], &iov, 1, 1);
        hub_uring_flush(r, on_done, &res);
        rounds++;
        if (res.calls[1] != 1) {
            other++;
        } else if (res.res[1] == (int)sizeof(chunk)) {
            whole++;
        } else if (res.res[1] > 0) {
            short_writes++;
        } else if (res.res[1] == -EAGAIN) {
            eagain++;
            continue;
        } else {
            other++;
        }
        if (res.res[1] > 0) {
            written += (size_t)res.res[1];
            /* Go on from where the kernel stopped, as the hub does. */
            iov.iov_base = chunk + written % sizeof(chunk);
            iov.iov_len = sizeof(chunk) - written % sizeof(chunk);
        }
    }
    ok(other == 0, "every send reported once, with bytes or -EAGAIN (%d others)", other);
    ok(whole > 0, "sends went whole while there was room (%d)", whole);
    ok(eagain == 3, "a full socket answers -EAGAIN at once");
    ok(short_writes <= rounds, "short writes are reported as such (%d)", short_writes);
    shutdown(fds[0], SHUT_WR);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof(got) && (k = recv(fds[1], got + n, sizeof(got) - n, 0)) > 0) {
        n += (size_t)k;
    }
    ok(n == written, "the peer reads exactly the bytes reported (%zu of %zu)", n, written);
    bool same = true;
    for (size_t i = 0; i < n && same; i++) {
        same = got[i] == chunk[i % sizeof(chunk)];
    }
    ok(same, "in order, with no byte repeated or skipped");
    close(fds[0]);
    close(fds[1]);
}

static void
test_full_ring_and_bad_fd(hub_uring_t *r)
{
    results_t res = {0};
    struct iovec iov = {"x", 1};
    unsigned n = 0;

    while (n < 5000 && hub_uring_send(r, -1, &iov, 1, n)) {
        n++;
    }
    ok(n == 8, "the ring takes as many sends as it has entries (%u)", n);
    ok(!hub_uring_send(r, -1, &iov, 1, 99), "then refuses more");
    ok(hub_uring_flush(r, on_done, &res) == 0, "a flush of failing sends is not a broken ring");
    bool all_bad = res.total == 8;
    for (unsigned i = 0; i < 8; i++) {
        all_bad = all_bad && res.calls[i] == 1 && res.res[i] == -EBADF;
    }
    ok(all_bad, "each send on a bad descriptor reports -EBADF");
    ok(hub_uring_send(r, -1, &iov, 1, 0), "the ring takes sends again after the flush");
    memset(&res, 0, sizeof(res));
    hub_uring_flush(r, on_done, &res);
    ok(!hub_uring_send(r, -1, &iov, 0, 0), "a send of no pieces is refused");
}

static void
test_bad_sizes_refused(void)
{
    const char *why = NULL;

    ok(hub_uring_new(0, &why) == NULL && why != NULL, "a ring of 0 entries is refused");
    ok(hub_uring_new(3, &why) == NULL, "a ring size that is not a power of two is refused");
    ok(hub_uring_new(8192, &why) == NULL, "a ring over 4096 entries is refused");
}

/* io_uring_enter refused with EPERM from here on, as a container's seccomp
 * profile may do while it lets io_uring_setup through. */
static bool
refuse_enter(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)__NR_io_uring_enter, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

/* In a child, so the filter stays there, with a ring of its own (the
 * parent's is mapped shared). Exit 0: a ring made before the filter reports
 * its send as not taken and the flush as -EPERM; a new ring is refused naming
 * the refused call. 2: no seccomp here. */
static void
test_enter_refused(void)
{
    pid_t pid = fork();
    int status = 0;

    if (pid == 0) {
        int fds[2];
        results_t res = {0};
        struct iovec iov = {"x", 1};
        const char *why = NULL;
        hub_uring_t *r = hub_uring_new(8, &why);

        if (r == NULL || tcp_pair(fds) < 0 || !refuse_enter()) {
            _exit(2);
        }
        hub_uring_send(r, fds[0], &iov, 1, 0);
        bool flush_ok = hub_uring_flush(r, on_done, &res) == -EPERM && res.calls[0] == 1 &&
                        res.res[0] == -EAGAIN;
        bool new_ok = hub_uring_new(8, &why) == NULL && why != NULL &&
                      strcmp(why, "io_uring_enter not permitted") == 0;
        _exit(flush_ok && new_ok ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        ok(1, "# SKIP no seccomp filter here");
        return;
    }
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "io_uring_enter refused: a flush says -EPERM with its send not taken, a new ring says why");
}

int
main(void)
{
    const char *why = NULL;
    hub_uring_t *r = hub_uring_new(8, &why);

    if (r == NULL) {
        printf("1..0 # SKIP no usable io_uring here: %s\n", why);
        return 0;
    }
    test_pieces_arrive_in_order(r);
    test_full_socket_short_then_eagain(r);
    test_full_ring_and_bad_fd(r);
    test_bad_sizes_refused();
    test_enter_refused();
    hub_uring_free(r);
    hub_uring_free(NULL);
    return tap_done();
}
