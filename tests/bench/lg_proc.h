/*
 * CPU time and RSS of the server processes under test, read from /proc.
 * A watched process counts with its live descendants and its reaped
 * children, so one PostgreSQL postmaster pid covers every backend.
 */
#ifndef CHATHUB_LG_PROC_H
#define CHATHUB_LG_PROC_H

#include <stddef.h>

#define LG_WATCH_MAX 16

typedef struct lg_watch {
    const char *label[LG_WATCH_MAX]; /* borrowed from argv */
    int pid[LG_WATCH_MAX];
    size_t n;
} lg_watch_t;

typedef struct lg_proc_sample {
    double cpu_s[LG_WATCH_MAX]; /* utime + stime, with descendants */
    long rss_kb[LG_WATCH_MAX];  /* VmRSS of the pid itself, -1 when gone */
} lg_proc_sample_t;

/* Parse "label=pid" into w. Returns 0, or -1 when malformed or full. */
int lg_watch_add(lg_watch_t *w, char *spec) __attribute__((warn_unused_result));

/* Read every watched process now. */
void lg_proc_sample(const lg_watch_t *w, lg_proc_sample_t *out);

/*
 * Write {"label":seconds,...} (CPU used between a and b, summed per label)
 * or {"label":kb,...} (RSS in b, or the growth from a to b when a is not NULL)
 * into out. Returns out.
 */
char *lg_proc_cpu_json(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b,
                       char *out, size_t cap);
char *lg_proc_rss_json(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b,
                       char *out, size_t cap);

/* Total CPU seconds used between a and b over every watched process. */
double lg_proc_cpu_total(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b);

/* RSS growth in KB between a and b over processes whose label is label. */
long lg_proc_rss_growth(const lg_watch_t *w, const lg_proc_sample_t *a, const lg_proc_sample_t *b,
                        const char *label);

#endif
