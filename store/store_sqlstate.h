/*
 * What a failed statement means to the store's callers: a SQLSTATE mapped to
 * a store_err_* string, and libpq's messages made fit for one log value.
 */
#ifndef CHATHUB_STORE_SQLSTATE_H
#define CHATHUB_STORE_SQLSTATE_H

#include <stdbool.h>
#include <stddef.h>

/* store_err_invalid, _conflict, _timeout or _unavailable for the states the
 * store expects; NULL for any other (or a NULL state): the caller reports
 * those and answers store_err_internal. */
const char *store_sqlstate_err(const char *state);

/* True for a transaction PostgreSQL rolled back because of another one (a
 * deadlock, a serialization failure): the same statement again is safe,
 * since nothing of it stayed, and likely to succeed. */
bool store_sqlstate_retry(const char *state);

/* The server is up but refuses for its own state (read-only, out of disk or
 * memory, an I/O error, a schema behind the binary): unavailable to callers,
 * and worth a log line each (store_event_limited),
 * which a restart's errors are not. */
bool store_sqlstate_refusing(const char *state);

/* Copy msg into dst (len bytes with the NUL) with control bytes, quotes and
 * backslashes turned to spaces, bytes past ASCII to '?', runs of spaces to
 * one, and leading and trailing spaces cut. */
void store_clean_msg(char *dst, size_t len, const char *msg);

#endif
