/*
 * The four workloads of issue 9, each a sequence of lg_bench calls that ends
 * in JSON lines on stdout. Each returns the process exit code (see
 * lg_opts_usage).
 */
#ifndef CHATHUB_LG_MODES_H
#define CHATHUB_LG_MODES_H

#include "lg_opts.h"

int lg_mode_fanout(const lg_opts_t *o);
int lg_mode_idle(const lg_opts_t *o);
int lg_mode_bigroom(const lg_opts_t *o);
int lg_mode_persist(const lg_opts_t *o);

#endif
