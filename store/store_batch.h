/*
 * Helpers for statements merged from single calls (store_query_merge()): the
 * parts' parameters as PostgreSQL array literals, and the result row that
 * answers each part (column 0 holds the part's 1-based position).
 */
#ifndef CHATHUB_STORE_BATCH_H
#define CHATHUB_STORE_BATCH_H

#include <libpq-fe.h>
#include <stddef.h>

#include "store_internal.h"

/* "{...}" of parameter p of each part, NULL as NULL, others quoted; free() it. */
char *store_batch_array(store_q_t *const *parts, size_t n, int p);

/* For each of the n parts, its row in res, -1 when none answers it; free() it. */
int *store_batch_rows(const PGresult *res, size_t n);

#endif
