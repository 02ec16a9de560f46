/*
 * GET /metrics over a plain blocking socket: the load generator asks only
 * between steps, and only the hubs it already talks to.
 */
#include "lg_metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define METRICS_MAX (64 * 1024) /* the hub's page is about 3 KB */

/* The value of the sample line named name (at a line start, then a space). */
static int
find_value(const char *text, const char *name, double *out)
{
    size_t len = strlen(name);

    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
        if (*p == '\n') {
            p++;
        }
        if (strncmp(p, name, len) == 0 && p[len] == ' ') {
            char *end;
            double v = strtod(p + len + 1, &end);
            if (end != p + len + 1) {
                *out = v;
                return 1;
            }
        }
    }
    return 0;
}

int
lg_metrics_parse(const char *text, double *frames_out, double *socket_writes)
{
    return find_value(text, "chathub_frames_out_total", frames_out) +
           find_value(text, "chathub_socket_writes_total", socket_writes);
}

/* The body of GET /metrics from t into buf (NUL-terminated); 0, or -1. */
static int
fetch(const lg_target_t *t, char *buf, size_t cap)
{
    struct timeval tv = {1, 0};
    char req[160];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    n = snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                 t->host);
    if (connect(fd, (const struct sockaddr *)&t->addr, sizeof(t->addr)) < 0 ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    for (ssize_t r; got + 1 < cap && (r = recv(fd, buf + got, cap - 1 - got, 0)) > 0;) {
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

void
lg_metrics_sample(const lg_target_t *targets, size_t n, lg_metrics_sample_t *out)
{
    char *buf = malloc(METRICS_MAX);

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n && buf != NULL; i++) {
        double frames = 0, writes = 0;
        bool seen = false;

        for (size_t k = 0; k < i; k++) {
            seen = seen || strcmp(targets[k].host, targets[i].host) == 0;
        }
        if (seen) {
            continue;
        }
        out->hubs++;
        if (fetch(&targets[i], buf, METRICS_MAX) == 0 &&
            lg_metrics_parse(buf, &frames, &writes) == 2) {
            out->frames_out += frames;
            out->socket_writes += writes;
            out->answered++;
        }
    }
    free(buf);
}

double
lg_metrics_frames_per_write(const lg_metrics_sample_t *a, const lg_metrics_sample_t *b)
{
    double writes = b->socket_writes - a->socket_writes;

    if (a->hubs == 0 || a->answered != a->hubs || b->answered != b->hubs || writes <= 0) {
        return -1;
    }
    return (b->frames_out - a->frames_out) / writes;
}
