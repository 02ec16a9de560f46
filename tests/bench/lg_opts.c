/*
 * Command-line parsing: a table of numeric flags plus the few flags with a
 * shape of their own (--url, --rates, --src, --watch). Mode defaults are set
 * before the flags are read, so every flag overrides them.
 */
#include "lg_opts.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

typedef enum { NUM_SIZE, NUM_DOUBLE, NUM_I64 } num_kind_t;

typedef struct num_flag {
    const char *flag;
    num_kind_t kind;
    size_t offset;
} num_flag_t;

static const num_flag_t num_flags[] = {
    {"--rooms", NUM_SIZE, offsetof(lg_opts_t, rooms)},
    {"--members", NUM_SIZE, offsetof(lg_opts_t, members)},
    {"--connections", NUM_SIZE, offsetof(lg_opts_t, connections)},
    {"--room-base", NUM_I64, offsetof(lg_opts_t, room_base)},
    {"--user-base", NUM_I64, offsetof(lg_opts_t, user_base)},
    {"--send-rate", NUM_DOUBLE, offsetof(lg_opts_t, send_rate)},
    {"--step", NUM_DOUBLE, offsetof(lg_opts_t, step_s)},
    {"--drain", NUM_DOUBLE, offsetof(lg_opts_t, drain_s)},
    {"--hold", NUM_DOUBLE, offsetof(lg_opts_t, hold_s)},
    {"--settle", NUM_DOUBLE, offsetof(lg_opts_t, settle_s)},
    {"--leave-wait", NUM_DOUBLE, offsetof(lg_opts_t, leave_wait_s)},
    {"--outstanding", NUM_SIZE, offsetof(lg_opts_t, outstanding)},
    {"--concurrency", NUM_SIZE, offsetof(lg_opts_t, concurrency)},
    {"--size", NUM_SIZE, offsetof(lg_opts_t, msg_bytes)},
    {"--p99-limit", NUM_DOUBLE, offsetof(lg_opts_t, p99_limit_ms)},
    {"--timeout", NUM_DOUBLE, offsetof(lg_opts_t, timeout_s)},
    {"--spin", NUM_SIZE, offsetof(lg_opts_t, spin)},
};

void
lg_opts_usage(FILE *f)
{
    fputs("usage: loadgen fanout|idle|bigroom|persist --url ws://127.0.0.1:PORT [--url ...]\n"
          "               [--secret S] [options]\n"
          "  --secret S          HS256 secret (default: $HUB_JWT_SECRET)\n"
          "  --src A-B|none      source addresses, round-robin (default 127.0.0.2-127.0.0.20)\n"
          "  --room-base N       first room id (default 1); room r is N+r\n"
          "  --user-base N       first user id (default 1); member m of room r is N+r*M+m\n"
          "  --rooms R --members M   rooms and members per room, the sender included\n"
          "  --connections N     idle: sockets in all (rooms of --members each)\n"
          "  --rates a,b,...     fanout: delivered msgs/s per step (sends/s = rate / M)\n"
          "  --send-rate X       bigroom: sends/s\n"
          "  --step S            seconds of sending per step\n"
          "  --drain S           max seconds to wait for echoes and deliveries after a step\n"
          "  --hold S            idle: seconds to keep the sockets open\n"
          "  --settle S          max seconds to wait for presence traffic to stop\n"
          "  --leave-wait S      idle: seconds to wait after the disconnect storm for the\n"
          "                      hubs' presence leaves (their grace period), reported as\n"
          "                      leave_cpu_s (default 0: not measured)\n"
          "  --outstanding K     unacknowledged sends per sender\n"
          "  --concurrency C     handshakes in flight\n"
          "  --size B            message text bytes (>= 32)\n"
          "  --p99-limit MS      fanout: a step passes with p99 below this (default 100)\n"
          "  --timeout S         hard limit for the whole run\n"
          "  --spin 1            poll without sleeping during measured steps, so the hub's\n"
          "                      sends never have to wake the load generator (a diagnostic:\n"
          "                      it costs the load generator its whole core)\n"
          "  --watch LABEL=PID   sample CPU and RSS of PID and its descendants (repeatable);\n"
          "                      idle reports RSS growth per socket of the processes labelled hub\n"
          "  --label NAME        the \"workload\" of the JSON lines (default: the mode)\n"
          "One JSON line per result on stdout, logs on stderr. Exit 0 when the run finished\n"
          "(loss is reported, not fatal), 1 on usage errors or too few descriptors, 2 when\n"
          "sockets failed to connect, 3 on the hard timeout, 4 when the hub closed sockets\n"
          "that were open (e.g. 4408, slow consumer).\n",
          f);
}

static void
set_mode_defaults(lg_opts_t *o)
{
    static const double fanout_rates[] = {2500, 5000, 10000, 20000, 40000, 80000, 150000};

    o->room_base = o->user_base = 1;
    o->drain_s = 5;
    o->settle_s = 30;
    o->concurrency = 500;
    o->msg_bytes = 64;
    o->p99_limit_ms = 100;
    o->timeout_s = 300;
    o->hold_s = 5;
    o->step_s = 10;
    o->outstanding = 1000;
    if (o->mode == LG_FANOUT) {
        o->rooms = 10;
        o->members = 50;
        o->nrates = sizeof(fanout_rates) / sizeof(fanout_rates[0]);
        memcpy(o->rates, fanout_rates, sizeof(fanout_rates));
    } else if (o->mode == LG_IDLE) {
        o->connections = 10000;
        o->members = 10;
    } else if (o->mode == LG_BIGROOM) {
        o->rooms = 1;
        o->members = 1000;
        o->send_rate = 5;
        o->step_s = 20;
    } else {
        o->rooms = 20;
        o->members = 1;
        o->outstanding = 32;
        o->step_s = 20;
    }
}

static int
parse_mode(lg_opts_t *o, const char *m)
{
    static const char *const names[] = {"fanout", "idle", "bigroom", "persist"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(m, names[i]) == 0) {
            o->mode = (lg_mode_t)i;
            o->mode_name = o->label = names[i];
            return 0;
        }
    }
    fprintf(stderr, "loadgen: unknown mode %s\n", m);
    return -1;
}

static int
parse_rates(lg_opts_t *o, const char *v)
{
    char *end = NULL;

    o->nrates = 0;
    while (*v != '\0' && o->nrates < LG_RATES_MAX) {
        double r = strtod(v, &end);
        if (end == v || r <= 0 || (*end != ',' && *end != '\0')) {
            return -1;
        }
        o->rates[o->nrates++] = r;
        v = *end == ',' ? end + 1 : end;
    }
    return o->nrates > 0 && *v == '\0' ? 0 : -1;
}

static int
parse_src(lg_opts_t *o, const char *v)
{
    char a[32], b[32];
    struct in_addr ia, ib;

    if (strcmp(v, "none") == 0) {
        o->nsrc = 0;
        return 0;
    }
    if (sscanf(v, "%31[0-9.]-%31[0-9.]", a, b) != 2 || inet_pton(AF_INET, a, &ia) != 1 ||
        inet_pton(AF_INET, b, &ib) != 1 || ntohl(ib.s_addr) < ntohl(ia.s_addr)) {
        return -1;
    }
    o->src_first = ntohl(ia.s_addr);
    o->nsrc = ntohl(ib.s_addr) - o->src_first + 1;
    return 0;
}

static int
parse_num(lg_opts_t *o, const num_flag_t *f, const char *v)
{
    char *end = NULL;
    char *base = (char *)o + f->offset;
    double d = strtod(v, &end);

    if (end == v || *end != '\0' || d < 0) {
        return -1;
    }
    if (f->kind == NUM_DOUBLE) {
        *(double *)(void *)base = d;
    } else if (f->kind == NUM_SIZE) {
        *(size_t *)(void *)base = (size_t)d;
    } else {
        *(int64_t *)(void *)base = (int64_t)d;
    }
    return 0;
}

/* One flag and its value; -1 when unknown or malformed. */
static int
parse_flag(lg_opts_t *o, const char *flag, char *v)
{
    if (strcmp(flag, "--url") == 0) {
        if (o->ntargets == LG_TARGETS_MAX) {
            return -1;
        }
        return lg_target_parse(v, &o->targets[o->ntargets++]);
    }
    if (strcmp(flag, "--label") == 0) {
        o->label = v;
        return 0;
    }
    if (strcmp(flag, "--secret") == 0) {
        o->secret = v;
        return 0;
    }
    if (strcmp(flag, "--rates") == 0) {
        return parse_rates(o, v);
    }
    if (strcmp(flag, "--src") == 0) {
        return parse_src(o, v);
    }
    if (strcmp(flag, "--watch") == 0) {
        return lg_watch_add(&o->watch, v);
    }
    for (size_t i = 0; i < sizeof(num_flags) / sizeof(num_flags[0]); i++) {
        if (strcmp(flag, num_flags[i].flag) == 0) {
            return parse_num(o, &num_flags[i], v);
        }
    }
    return -1;
}

int
lg_opts_parse(lg_opts_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    if (argc < 2 || parse_mode(o, argv[1]) < 0) {
        lg_opts_usage(stderr);
        return -1;
    }
    set_mode_defaults(o);
    o->src_first = 0x7f000002; /* 127.0.0.2 .. 127.0.0.20 */
    o->nsrc = 19;
    o->secret = getenv("HUB_JWT_SECRET");
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc || parse_flag(o, argv[i], argv[i + 1]) < 0) {
            fprintf(stderr, "loadgen: bad option %s %s\n", argv[i],
                    i + 1 < argc ? argv[i + 1] : "");
            return -1;
        }
    }
    if (o->ntargets == 0 || o->secret == NULL || o->members == 0 ||
        (o->mode != LG_IDLE && o->rooms == 0) || o->msg_bytes < 32 || o->concurrency == 0 ||
        o->outstanding == 0 || o->timeout_s <= 0) {
        fprintf(stderr, "loadgen: need --url, a secret, members, rooms, --size >= 32\n");
        return -1;
    }
    if (o->mode == LG_IDLE) {
        o->rooms = (o->connections + o->members - 1) / o->members;
    }
    return 0;
}
