/*
 * chathub's load generator (issue 9): a minimal RFC 6455 client on epoll,
 * no libwebsockets, for the workloads fanout, idle, bigroom and persist.
 * See tests/bench/README.md; main only raises limits and dispatches.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "lg_modes.h"
#include "lg_opts.h"

#define FD_SPARE 64

/* As many descriptors as allowed: the hard limit, or more when privileged.
 * Returns the soft limit now in force. */
static long
raise_nofile(void)
{
    struct rlimit rl;
    long nr_open = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld", &nr_open) != 1) {
            nr_open = 0;
        }
        fclose(f);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        return 1024;
    }
    if (nr_open > 0 && (rlim_t)nr_open > rl.rlim_max) {
        struct rlimit up = {(rlim_t)nr_open, (rlim_t)nr_open};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            return nr_open;
        }
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        perror("loadgen: setrlimit");
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

int
main(int argc, char **argv)
{
    lg_opts_t o;

    if (lg_opts_parse(&o, argc, argv) < 0) {
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    long nofile = raise_nofile();
    size_t sockets = o.mode == LG_IDLE ? o.connections : o.rooms * o.members;
    /* Keep descriptors spare for /proc reads: a run that cannot open every
     * socket is refused up front rather than measured wrong. */
    if ((long)sockets + FD_SPARE > nofile) {
        printf("{\"workload\":\"%s\",\"error\":\"%zu sockets need more than RLIMIT_NOFILE %ld\"}\n",
               o.label, sockets, nofile);
        fprintf(stderr, "loadgen: %zu sockets, but the descriptor limit is %ld\n", sockets, nofile);
        return 1;
    }
    switch (o.mode) {
    case LG_FANOUT:
        return lg_mode_fanout(&o);
    case LG_IDLE:
        return lg_mode_idle(&o);
    case LG_BIGROOM:
        return lg_mode_bigroom(&o);
    default:
        return lg_mode_persist(&o);
    }
}
