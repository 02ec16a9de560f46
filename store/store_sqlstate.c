/*
 * SQLSTATE classification, kept apart from the connection that meets the
 * errors so the table can be read, and tested, on its own.
 */
#include "store_sqlstate.h"

#include <stdbool.h>
#include <string.h>

#include "store.h"

static bool
state_is(const char *state, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(state, *list) == 0) {
            return true;
        }
    }
    return false;
}

const char *
store_sqlstate_err(const char *state)
{
    /* Foreign key, not null, check, bad text or parameter, out of range, too
     * long, bad encoding, program limit: the input, not the server. */
    static const char *const invalid[] = {"23503", "23502", "23514", "22P02", "22023",
                                          "22003", "22001", "22021", "54000", NULL};
    /* Shutting down, crash recovery, starting up, too many connections; and
     * the server's own trouble (store_sqlstate_refusing). All of them the
     * server's state, not the request's: the same request may pass later. */
    static const char *const unavailable[] = {"57P01", "57P02", "57P03", "53300", NULL};

    if (state == NULL) {
        return NULL;
    }
    if (state_is(state, invalid)) {
        return store_err_invalid;
    }
    if (strcmp(state, "23505") == 0) {
        return store_err_conflict;
    }
    if (strcmp(state, "57014") == 0) {
        return store_err_timeout; /* statement_timeout: the server gave up */
    }
    if (strncmp(state, "08", 2) == 0 || state_is(state, unavailable) ||
        store_sqlstate_refusing(state)) {
        return store_err_unavailable;
    }
    return NULL;
}

bool
store_sqlstate_refusing(const char *state)
{
    /* Read-only (a standby, or a primary demoted or set read-only: writes
     * may pass again after a failover); out of resources (53000), disk or
     * memory (not 53400, a configured limit the request itself reached); an
     * I/O error. */
    static const char *const refusing[] = {"25006", "53000", "53100", "53200", "58030", NULL};
    /* A function, table or column this binary needs and the database lacks:
     * a node started before `chathub migrate` ran (README's order is the
     * other one). Nothing was written, and the same request passes once the
     * migration ran: unavailable (safe to retry with the same client_id),
     * not internal. */
    static const char *const schema_behind[] = {"42883", "42P01", "42703", NULL};

    return state != NULL && (state_is(state, refusing) || state_is(state, schema_behind));
}

bool
store_sqlstate_retry(const char *state)
{
    return state != NULL && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
}

void
store_clean_msg(char *dst, size_t len, const char *msg)
{
    size_t n = 0;

    if (len == 0) {
        return;
    }
    for (const unsigned char *p = (const unsigned char *)msg; *p != '\0' && n + 1 < len; p++) {
        /* libpq's messages hold tabs, newlines and quotes; a log line's
         * value holds none of them, nor bytes a terminal would act on. */
        char c = (*p < 0x20 || *p == '"' || *p == '\\') ? ' ' : *p >= 0x7f ? '?' : (char)*p;
        if (c != ' ' || (n > 0 && dst[n - 1] != ' ')) {
            dst[n++] = c; /* runs of blanks as one */
        }
    }
    while (n > 0 && dst[n - 1] == ' ') {
        n--;
    }
    dst[n] = '\0';
}
