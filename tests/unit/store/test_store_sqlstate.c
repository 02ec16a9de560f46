/* store_sqlstate: which PostgreSQL errors callers see as what (no server needed). */
#include <string.h>

#include "../tap.h"
#include "store.h"
#include "store_sqlstate.h"

static void
maps(const char *state, const char *want, const char *what)
{
    const char *got = store_sqlstate_err(state);

    ok(got == want, "%s %s -> %s (got %s)", what, state != NULL ? state : "(none)",
       want != NULL ? want : "(unexpected)", got != NULL ? got : "(unexpected)");
}

static void
cleans(const char *what, const char *in, size_t cap, const char *want)
{
    char out[64];

    memset(out, 'x', sizeof(out));
    store_clean_msg(out, cap, in);
    ok(strcmp(out, want) == 0, "clean %s in %zu bytes -> \"%s\" (got \"%s\")", what, cap, want,
       out);
}

int
main(void)
{
    ok(store_sqlstate_retry("40P01") && store_sqlstate_retry("40001"),
       "a deadlock and a serialization failure are sent again");
    ok(!store_sqlstate_retry("57014") && !store_sqlstate_retry("23505") &&
           !store_sqlstate_retry("55P03") && !store_sqlstate_retry(NULL),
       "a timeout, a conflict, a lock not had and no state are not");
    maps("23503", store_err_invalid, "foreign key");
    maps("23502", store_err_invalid, "not null");
    maps("23514", store_err_invalid, "check");
    maps("22P02", store_err_invalid, "bad text");
    maps("22003", store_err_invalid, "out of range");
    maps("54000", store_err_invalid, "program limit");
    maps("23505", store_err_conflict, "unique");
    maps("57014", store_err_timeout, "statement timeout");
    maps("08006", store_err_unavailable, "connection failure");
    maps("08P01", store_err_unavailable, "protocol violation");
    maps("57P01", store_err_unavailable, "admin shutdown");
    maps("53300", store_err_unavailable, "too many connections");
    maps("53100", store_err_unavailable, "disk full");
    maps("53200", store_err_unavailable, "out of memory");
    maps("53400", NULL, "configuration limit exceeded (the request's own: temp_file_limit)");
    maps("53000", store_err_unavailable, "insufficient resources");
    ok(store_sqlstate_refusing("25006") && store_sqlstate_refusing("53100") &&
           !store_sqlstate_refusing("57P01") && !store_sqlstate_refusing("08006") &&
           !store_sqlstate_refusing("53300") && !store_sqlstate_refusing(NULL),
       "only the server's own refusals are logged, not a restart's errors");
    maps("25006", store_err_unavailable, "read-only transaction (a standby, a demoted primary)");
    maps("58030", store_err_unavailable, "I/O error");
    maps("25P02", NULL, "in failed transaction");
    maps("42P01", store_err_unavailable, "undefined table (a node ahead of its schema)");
    maps("42883", store_err_unavailable, "undefined function (a node ahead of its schema)");
    maps("42703", store_err_unavailable, "undefined column (a node ahead of its schema)");
    ok(store_sqlstate_refusing("42883"), "  and logged");
    maps("42601", NULL, "a syntax error is ours: internal");
    maps("0A000", NULL, "stale plan");
    maps("2350", NULL, "a prefix of a known state");
    maps(NULL, NULL, "no state");
    cleans("quotes and a newline", "relation \"x\" does not exist\n", 64,
           "relation x does not exist");
    cleans("a backslash and CR LF", "a\\b\r\nc", 64, "a b c");
    cleans("a cut", "abcdef", 4, "abc");
    cleans("trailing spaces", "trailing   ", 64, "trailing");
    cleans("nothing", "", 64, "");
    cleans("a tab, an escape, DEL, past ASCII", "\tx\ty\x1b[31m\x7f\xc3\xa9", 64, "x y [31m???");
    return tap_done();
}
