/* store_conninfo: which hosts the store looks up itself, and what libpq is
 * then given for an attempt (no server needed). */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "store.h"
#include "store_conninfo.h"

static store_hosts_t *
parse(const char *conninfo)
{
    store_config_t cfg = {.conninfo = conninfo};

    return store_hosts_parse(&cfg);
}

static void
none(const char *conninfo, const char *why)
{
    store_hosts_t *h = parse(conninfo);

    ok(h == NULL, "nothing to look up: %s", why);
    store_hosts_free(h);
}

static const char *
or_null(const char *s)
{
    return s != NULL ? s : "(null)";
}

static bool
same(const char *got, const char *want)
{
    return got == want || (got != NULL && want != NULL && strcmp(got, want) == 0);
}

/* The target for addr (one per host), checked against the three settings. */
static void
target(const store_hosts_t *h, char **addr, const char *host, const char *hostaddr,
       const char *port, const char *what)
{
    store_target_t t;
    bool any = store_hosts_target(h, addr, &t);

    if (hostaddr == NULL) {
        ok(!any && t.host == NULL && t.hostaddr == NULL && t.port == NULL, "%s: no target", what);
        return;
    }
    ok(any && same(t.host, host) && same(t.hostaddr, hostaddr) && same(t.port, port),
       "%s: host=%s hostaddr=%s port=%s (got %s %s %s)", what, or_null(host), hostaddr,
       or_null(port), or_null(t.host), or_null(t.hostaddr), or_null(t.port));
    store_target_clear(&t);
}

static void
test_single_host(void)
{
    none("postgresql://u@127.0.0.1:5432/db", "a numeric address");
    none("postgresql://u@[::1]:5432/db", "an IPv6 address");
    none("host=/var/run/postgresql dbname=db", "a socket directory");
    none("postgresql:///db", "no host at all");
    none("postgresql://u@db.example:5432/db?hostaddr=10.0.0.1", "hostaddr in the URL");
    store_config_t cfg = {.conninfo = "postgresql://u@db.example/db", .hostaddr = "10.0.0.1"};
    store_hosts_t *h = store_hosts_parse(&cfg);
    ok(h == NULL, "nothing to look up: hostaddr in the config");
    store_hosts_free(h);

    h = parse("postgresql://u@db.example:6432/db");
    ok(h != NULL && h->n == 1 && h->lookup[0] && strcmp(h->name[0], "db.example") == 0 &&
           h->port == NULL,
       "a name is looked up; its single port stays the URL's");
    target(h, (char *[]){"10.0.0.7"}, NULL, "10.0.0.7", NULL, "resolved");
    target(h, (char *[]){NULL}, NULL, NULL, NULL, "not resolved");
    store_hosts_free(h);
}

static void
test_several_hosts(void)
{
    none("postgresql://u@10.0.0.1:5432,10.0.0.2:5433/db", "numeric addresses only");

    store_hosts_t *h = parse("postgresql://u@a.example:5432,10.0.0.2:5433,b.example:5434/db"
                             "?target_session_attrs=read-write");
    ok(h != NULL && h->n == 3 && h->lookup[0] && !h->lookup[1] && h->lookup[2],
       "three hosts: the names are looked up, the address is not");
    ok(h != NULL && h->port != NULL && strcmp(h->port[1], "5433") == 0, "one port per host");
    target(h, (char *[]){"10.1.1.1", "", "10.3.3.3"}, NULL, "10.1.1.1,,10.3.3.3", NULL,
           "all resolved: the URL's lists stay, an address needs no hostaddr");
    target(h, (char *[]){NULL, "", "10.3.3.3"}, "10.0.0.2,b.example", ",10.3.3.3", "5433,5434",
           "the first left out, with its port");
    target(h, (char *[]){"10.1.1.1", "", NULL}, "a.example,10.0.0.2", "10.1.1.1,", "5432,5433",
           "the last left out");
    target(h, (char *[]){NULL, "", NULL}, "10.0.0.2", "", "5433", "only the address left");
    store_hosts_free(h);

    h = parse("host=a.example,b.example port=6432 dbname=db");
    ok(h != NULL && h->n == 2 && h->port == NULL, "one port for all hosts stays as it is");
    target(h, (char *[]){NULL, "10.2.2.2"}, "b.example", "10.2.2.2", NULL, "key=value form");
    target(h, (char *[]){NULL, NULL}, NULL, NULL, NULL, "none resolved");
    store_hosts_free(h);

    h = parse("host=a.example,,/tmp dbname=db");
    ok(h != NULL && h->n == 3 && h->lookup[0] && !h->lookup[1] && !h->lookup[2],
       "an empty host and a socket directory need no lookup");
    store_hosts_free(h);
}

static void
test_fill(void)
{
    store_config_t cfg = {.conninfo = "postgresql://u@db.example/db", .connect_timeout_ms = 3000};
    store_target_t t = {.host = "b.example", .hostaddr = "10.0.0.9", .port = "5433"};
    store_conninfo_t ci;
    int seen = 0;

    store_conninfo_fill(&ci, &cfg, &t, 2000);
    for (int i = 0; ci.keys[i] != NULL; i++) {
        seen += (strcmp(ci.keys[i], "host") == 0 && strcmp(ci.vals[i], "b.example") == 0) +
                (strcmp(ci.keys[i], "hostaddr") == 0 && strcmp(ci.vals[i], "10.0.0.9") == 0) +
                (strcmp(ci.keys[i], "port") == 0 && strcmp(ci.vals[i], "5433") == 0);
    }
    ok(seen == 3 && strcmp(ci.keys[0], "dbname") == 0,
       "the target's settings follow the conninfo, so they override it");
    store_conninfo_fill(&ci, &cfg, NULL, 0);
    seen = 0;
    for (int i = 0; ci.keys[i] != NULL; i++) {
        seen += strcmp(ci.keys[i], "host") == 0 || strcmp(ci.keys[i], "hostaddr") == 0 ||
                strcmp(ci.keys[i], "port") == 0 || strcmp(ci.keys[i], "options") == 0;
    }
    ok(seen == 0, "no target, no statement timeout: the conninfo's own hosts, no options");
}

int
main(void)
{
    test_single_host();
    test_several_hosts();
    test_fill();
    return tap_done();
}
