/*
 * Statements merged from single calls (store_query_merge()): the parts'
 * parameters become PostgreSQL array literals, and each part is answered from
 * the result row that names its position.
 */
#ifndef CHATHUB_STORE_BATCH_H
#define CHATHUB_STORE_BATCH_H

#include <libpq-fe.h>
#include <stddef.h>

#include "store_internal.h"

/* Answers one part from row of res (row < 0: no row answers it); the part's
 * columns start at column 1. err non-NULL: the statement failed. */
typedef void store_batch_answer_fn(void *part_ctx, const PGresult *res, int row, const char *err);

/* One statement for n queued parts: sql takes, as arrays, the parts'
 * parameters listed in cols (ncols of them) and answers row by row with the
 * part's 1-based position in column 0. Its callback answers each part through
 * answer and frees the parts. */
store_q_t *store_batch_query(store_q_t **parts, size_t n, const char *sql, const int *cols,
                             int ncols, store_batch_answer_fn *answer);

/* A merged statement's parts taken back, in order, their merge cleared so each
 * is sent alone from then on: *parts is a new array the caller frees, and q
 * answers nobody (store_q_free() it). 0 when q is not a merged statement. */
size_t store_batch_unmerge(store_q_t *q, store_q_t ***parts);

#endif
