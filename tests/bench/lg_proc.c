/*
 * /proc readers. One scan of every /proc/PID/stat per sample builds the
 * parent map; it runs only at step boundaries, never while measuring.
 */
#include "lg_proc.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pstat {
    int pid, ppid;
    unsigned long long own, children; /* utime+stime, cutime+cstime in ticks */
} pstat_t;

int
lg_watch_add(lg_watch_t *w, char *spec)
{
    char *eq = strchr(spec, '=');
    char *end = NULL;
    long pid;

    if (eq == NULL || eq == spec || w->n >= LG_WATCH_MAX) {
        return -1;
    }
    pid = strtol(eq + 1, &end, 10);
    if (end == eq + 1 || *end != '\0' || pid <= 0) {
        return -1;
    }
    *eq = '\0';
    w->label[w->n] = spec;
    w->pid[w->n] = (int)pid;
    w->n++;
    return 0;
}

static int
read_stat(int pid, pstat_t *ps)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    unsigned long long ut, st, cut, cst;
    int ppid;
    if (p == NULL || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                            &ppid, &ut, &st, &cut, &cst) != 5) {
        return -1;
    }
    ps->pid = pid;
    ps->ppid = ppid;
    ps->own = ut + st;
    ps->children = cut + cst;
    return 0;
}

/* Every process on the machine; *n set, caller frees. */
static pstat_t *
scan_all(size_t *n)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t cap = 256;
    pstat_t *all = malloc(cap * sizeof(*all));

    *n = 0;
    if (d == NULL || all == NULL) {
        if (d != NULL) {
            closedir(d);
        }
        return all;
    }
    while ((e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0) {
            continue;
        }
        if (*n == cap) {
            cap *= 2;
            pstat_t *grown = realloc(all, cap * sizeof(*all));
            if (grown == NULL) {
                break;
            }
            all = grown;
        }
        if (read_stat(pid, &all[*n]) == 0) {
            (*n)++;
        }
    }
    closedir(d);
    return all;
}

static int
by_pid(const void *a, const void *b)
{
    const pstat_t *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

static const pstat_t *
find(const pstat_t *all, size_t n, int pid)
{
    pstat_t key = {.pid = pid};

    return bsearch(&key, all, n, sizeof(*all), by_pid);
}

/* pid is root or below it (ppid chains end at 0; depth is capped for safety). */
static bool
under(const pstat_t *all, size_t n, int pid, int root)
{
    for (int depth = 0; depth < 64 && pid > 0; depth++) {
        if (pid == root) {
            return true;
        }
        const pstat_t *p = find(all, n, pid);
        if (p == NULL) {
            return false;
        }
        pid = p->ppid;
    }
    return false;
}

static long
rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

void
lg_proc_sample(const lg_watch_t *w, lg_proc_sample_t *out)
{
    size_t n = 0;
    pstat_t *all = scan_all(&n);
    double tick = (double)sysconf(_SC_CLK_TCK);

    qsort(all, n, sizeof(*all), by_pid);
    for (size_t i = 0; i < w->n; i++) {
        unsigned long long ticks = 0;
        for (size_t j = 0; j < n; j++) {
            if (!under(all, n, all[j].pid, w->pid[i])) {
                continue;
            }
            ticks += all[j].own;
            if (all[j].pid == w->pid[i]) {
                ticks += all[j].children; /* reaped children, e.g. exited backends */
            }
        }
        out->cpu_s[i] = (double)ticks / tick;
        out->rss_kb[i] = rss_kb(w->pid[i]);
    }
    free(all);
}

/* {"label":sum,...} over each distinct label; decimals: 2 for seconds, 0 for KB. */
static char *
per_label_json(const lg_watch_t *w, const double *vals, int decimals, char *out, size_t cap)
{
    size_t o = 0;
    bool done[LG_WATCH_MAX] = {false};

    o += (size_t)snprintf(out + o, cap - o, "{");
    for (size_t i = 0; i < w->n && o < cap; i++) {
        double sum = 0;
        if (done[i]) {
            continue;
        }
        for (size_t j = i; j < w->n; j++) {
            if (strcmp(w->label[j], w->label[i]) == 0) {
                sum += vals[j];
                done[j] = true;
            }
        }
        o += (size_t)snprintf(out + o, cap - o, "%s\"%s\":", o > 1 ? "," : "", w->label[i]);
        if (o < cap) {
            o += (size_t)snprintf(out + o, cap - o, "%.*f", decimals, sum);
        }
    }
    if (o < cap) {
        snprintf(out + o, cap - o, "}");
    }
    return out;
}

char *
lg_proc_cpu_json(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b,
                 char *out, size_t cap)
{
    double v[LG_WATCH_MAX];

    for (size_t i = 0; i < w->n; i++) {
        v[i] = b->cpu_s[i] - a->cpu_s[i];
    }
    return per_label_json(w, v, 2, out, cap);
}

char *
lg_proc_rss_json(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b,
                 char *out, size_t cap)
{
    double v[LG_WATCH_MAX];

    for (size_t i = 0; i < w->n; i++) {
        v[i] = (double)(b->rss_kb[i] - (a != NULL ? a->rss_kb[i] : 0));
    }
    return per_label_json(w, v, 0, out, cap);
}

double
lg_proc_cpu_total(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b)
{
    double sum = 0;

    for (size_t i = 0; i < w->n; i++) {
        sum += b->cpu_s[i] - a->cpu_s[i];
    }
    return sum;
}

long
lg_proc_rss_growth(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b,
                   const char *label)
{
    long sum = 0;

    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->label[i], label) == 0) {
            sum += b->rss_kb[i] - a->rss_kb[i];
        }
    }
    return sum;
}
