/* hub_config: defaults, environment, flags, validation, origins; hub_log redaction. */
#include <string.h>

#include "../tap.h"
#include "hub_config.h"
#include "hub_log.h"

static void
test_defaults_apply_without_environment(void)
{
    hub_config_t cfg;
    char err[128];
    char *env[] = {NULL};
    char *argv[] = {"chathub"};
    int argi = 1;

    ok(hub_config_load(&cfg, env, 1, argv, &argi, err, sizeof(err)) == 0, "loads with no env");
    ok(strcmp(cfg.listen, "0.0.0.0:8001") == 0 && cfg.listen_port == 8001 &&
           cfg.listen_host[0] == '\0',
       "HUB_LISTEN defaults to 0.0.0.0:8001 (every interface)");
    ok(cfg.max_message_bytes == 65536, "HUB_MAX_MESSAGE_BYTES defaults to 65536");
    ok(cfg.channel_capacity == 1500 && cfg.channel_expiry == 10,
       "channel capacity 1500 and expiry 10 s by default");
    ok(cfg.rate_limit == 20 && cfg.rate_burst == 40, "rate 20/s burst 40 by default");
    ok(cfg.room_audit_ms == 5000, "rooms are audited against the store every 5 s by default");
    ok(cfg.jwt_secret == NULL && cfg.allowed_origins == NULL, "secrets and origins unset");
    ok(cfg.node_id != NULL && strchr(cfg.node_id, '-') != NULL, "node id defaults to host-pid");
    hub_config_clear(&cfg);
}

static void
test_flags_override_environment(void)
{
    hub_config_t cfg;
    char err[128];
    char *env[] = {"HUB_LISTEN=127.0.0.1:9000", "HUB_MAX_MESSAGE_BYTES=1024", NULL};
    char *argv[] = {"chathub", "--listen", "127.0.0.2:9001", "--node-id=n1", "extra"};
    int argi = 1;

    ok(hub_config_load(&cfg, env, 5, argv, &argi, err, sizeof(err)) == 0, "loads env and flags");
    ok(strcmp(cfg.listen_host, "127.0.0.2") == 0 && cfg.listen_port == 9001, "flag wins over env");
    ok(cfg.max_message_bytes == 1024, "env sets a number");
    ok(strcmp(cfg.node_id, "n1") == 0, "--name=value form works");
    ok(argi == 4, "parsing stops at the first non-flag argument");
    hub_config_clear(&cfg);
}

static void
test_bad_values_are_refused(void)
{
    hub_config_t cfg;
    char err[128];
    char *env1[] = {"HUB_MAX_MESSAGE_BYTES=lots", NULL};
    char *env2[] = {"HUB_LISTEN=nowhere", NULL};
    char *argv[] = {"chathub", "--no-such-flag", "1"};
    int argi = 1;

    ok(hub_config_load(&cfg, env1, 1, argv, &argi, err, sizeof(err)) < 0 &&
           strstr(err, "HUB_MAX_MESSAGE_BYTES") != NULL,
       "a non-numeric number names its variable");
    hub_config_clear(&cfg);
    argi = 1;
    ok(hub_config_load(&cfg, env2, 1, argv, &argi, err, sizeof(err)) < 0, "listen needs a port");
    hub_config_clear(&cfg);
    argi = 1;
    ok(hub_config_load(&cfg, NULL, 3, argv, &argi, err, sizeof(err)) < 0 &&
           strstr(err, "no-such-flag") != NULL,
       "an unknown flag is refused by name");
    hub_config_clear(&cfg);
    char *spaced[] = {"HUB_NODE_ID=node one", NULL};
    char *long_id[] = {
        "HUB_NODE_ID=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", NULL};
    char *fine[] = {"HUB_NODE_ID=web-1.eu:8001_a", NULL};
    argi = 1;
    ok(hub_config_load(&cfg, spaced, 1, argv, &argi, err, sizeof(err)) < 0 &&
           strstr(err, "HUB_NODE_ID") != NULL,
       "a node id with a space is refused (it would break every envelope)");
    hub_config_clear(&cfg);
    argi = 1;
    ok(hub_config_load(&cfg, long_id, 1, argv, &argi, err, sizeof(err)) < 0,
       "a node id over 64 characters is refused");
    hub_config_clear(&cfg);
    argi = 1;
    ok(hub_config_load(&cfg, fine, 1, argv, &argi, err, sizeof(err)) == 0,
       "letters, digits and . _ : - make a node id");
    hub_config_clear(&cfg);
}

static void
test_origins_match_exactly(void)
{
    hub_config_t cfg;
    char err[128];
    char *env[] = {
        "HUB_ALLOWED_ORIGINS=https://a.example, https://b.example,https://C.Example:8443/", NULL};
    char *argv[] = {"chathub"};
    int argi = 1;

    ok(hub_config_load(&cfg, env, 1, argv, &argi, err, sizeof(err)) == 0, "loads origins");
    ok(hub_config_origin_allowed(&cfg, "https://b.example", 17), "listed origin allowed");
    ok(!hub_config_origin_allowed(&cfg, "https://evil.example", 20), "other origin refused");
    ok(!hub_config_origin_allowed(&cfg, "https://a.exampl", 16), "a prefix is not a match");
    ok(hub_config_origin_allowed(&cfg, "https://c.example:8443", 22),
       "an entry in capitals with a trailing slash names the origin a browser sends");
    ok(!hub_config_origin_allowed(&cfg, "https://c.example", 17), "the port still counts");
    hub_config_clear(&cfg);
}

static void
test_redacted_url_has_no_password_or_query(void)
{
    char out[128];

    hub_log_redact_url("postgresql://chat:s3cret@db.local:5432/chathub?sslmode=require", out,
                       sizeof(out));
    ok(strstr(out, "s3cret") == NULL && strstr(out, "sslmode") == NULL, "password and query gone");
    ok(strcmp(out, "postgresql://chat@db.local:5432/chathub") == 0, "user, host and db kept");
    hub_log_redact_url("postgresql://chat:se/cr@et@db.local/chathub", out, sizeof(out));
    ok(strcmp(out, "postgresql://chat@db.local/chathub") == 0,
       "a password with an unencoded '/' or '@' is cut out whole (got %s)", out);
    hub_log_redact_url("redis://:pw@h:6379/0", out, sizeof(out));
    ok(strcmp(out, "redis://@h:6379/0") == 0, "no user, only a password (got %s)", out);
    hub_log_redact_url("host=x password=y", out, sizeof(out));
    ok(strstr(out, "password") == NULL, "key=value conninfo is not echoed");
    /* An audit: a '?' or '#' in the password ended the user part early. */
    hub_log_redact_url("postgresql://u:Se?cret_A@h:5432/db", out, sizeof(out));
    ok(strstr(out, "Se") == NULL && strstr(out, "cret") == NULL, "a '?' in the password (got %s)",
       out);
    hub_log_redact_url("postgresql://u:Se#cret_B@h/db", out, sizeof(out));
    ok(strstr(out, "Se") == NULL && strstr(out, "cret") == NULL, "a '#' in it (got %s)", out);
    hub_log_redact_url("postgresql://u:Sec@ret?C@h/db", out, sizeof(out));
    ok(strstr(out, "ret") == NULL && strstr(out, "Sec") == NULL, "'@' and '?' in it (got %s)", out);
    hub_log_redact_url("postgresql://chathub:Wr@ng/Db:Pa?ss_jjjj2222@127.0.0.1/chathub", out,
                       sizeof(out));
    ok(strstr(out, "ng") == NULL && strstr(out, "Pa") == NULL && strstr(out, "jjjj") == NULL,
       "'@', '/', ':' and '?' in it (got %s)", out);
    hub_log_redact_url("postgresql://h/db?password=pw@x", out, sizeof(out));
    ok(strstr(out, "pw") == NULL && strstr(out, "x") == NULL, "'@' in the query (got %s)", out);
    hub_log_redact_url("postgresql://u:p@h/db?password=pw@x", out, sizeof(out));
    ok(strstr(out, "pw") == NULL && strstr(out, "p@") == NULL && strstr(out, ":p") == NULL,
       "'@' in the user part and the query (got %s)", out);
    hub_log_redact_url("postgresql://h:5432/db?sslmode=require", out, sizeof(out));
    ok(strcmp(out, "postgresql://h:5432/db") == 0, "no user part (got %s)", out);
    /* An attack on the first fix: "://" inside a conninfo, no '@' at all. */
    hub_log_redact_url("host=h user=app password=S3cr application_name=https://chat.example", out,
                       sizeof(out));
    ok(strcmp(out, "(conninfo)") == 0, "'://' in a conninfo's value (got %s)", out);
    hub_log_redact_url("postgres://u:S3cr", out, sizeof(out));
    ok(strstr(out, "S3cr") == NULL, "user and password with no '@' (got %s)", out);
    hub_log_redact_url("postgres://u:S3cr/db", out, sizeof(out));
    ok(strstr(out, "S3cr") == NULL, "... and a path (got %s)", out);
    hub_log_redact_url("postgresql://db1:5432,db2:5433,[::1]:5434/chathub?x=1", out, sizeof(out));
    ok(strcmp(out, "postgresql://db1:5432,db2:5433,[::1]:5434/chathub") == 0,
       "host lists and IPv6 stay (got %s)", out);
    hub_log_redact_url("", out, sizeof(out));
    ok(strcmp(out, "(none)") == 0, "empty");
    hub_log_redact_url(NULL, out, sizeof(out));
    ok(strcmp(out, "(none)") == 0, "none");
}

static void
test_quoted_log_value_cannot_forge_a_key(void)
{
    char out[64];

    hub_log_quote("/x status=200 user=1", out, sizeof(out));
    ok(strcmp(out, "\"/x status=200 user=1\"") == 0, "blanks stay inside the quotes (got %s)", out);
    hub_log_quote("a\"b\\c\nd\x7f\xc3\xa9", out, sizeof(out));
    ok(strcmp(out, "\"a\\\"b\\\\c\\x0ad\\x7f\\xc3\\xa9\"") == 0,
       "quote, backslash, control and non-ASCII escaped (got %s)", out);
    hub_log_quote("0123456789abcdefghij", out, 8);
    ok(strcmp(out, "\"01234\"") == 0, "cut to fit, still quoted (got %s)", out);
    hub_log_quote("\\\\\\", out, 6);
    ok(strcmp(out, "\"\\\\\"") == 0, "an escape is never cut in half (got %s)", out);
}

/* REDIS_URL (and REDIS_HOST/REDIS_PORT) through hub_config_load into a target. */
static int
redis_target_of(char **env, hub_redis_target_t *t, char *err, size_t errlen)
{
    hub_config_t cfg;
    char *argv[] = {"chathub"};
    int argi = 1;
    int rc = hub_config_load(&cfg, env, 1, argv, &argi, err, errlen);

    if (rc == 0) {
        rc = hub_config_redis_target(&cfg, t, err, errlen);
    }
    hub_config_clear(&cfg);
    return rc;
}

static void
test_redis_url_gives_host_port_auth_and_db(void)
{
    hub_redis_target_t t;
    char err[128];
    char *plain[] = {"REDIS_HOST=redis.local", "REDIS_PORT=6380", NULL};
    char *pass[] = {"REDIS_URL=redis://:s%40cret@10.0.0.5:7000/", "REDIS_HOST=ignored", NULL};
    char *user[] = {"REDIS_URL=redis://chat:pw:x@cache.local/3", NULL};
    char *bare[] = {"REDIS_URL=redis://onlypass@[::1]:6390/0", NULL};

    ok(redis_target_of(plain, &t, err, sizeof(err)) == 0 && strcmp(t.host, "redis.local") == 0 &&
           t.port == 6380 && t.pass[0] == '\0' && t.user[0] == '\0' && t.db == 0,
       "REDIS_HOST/REDIS_PORT without REDIS_URL: no AUTH, db 0");
    ok(redis_target_of(pass, &t, err, sizeof(err)) == 0 && strcmp(t.host, "10.0.0.5") == 0 &&
           t.port == 7000 && strcmp(t.pass, "s@cret") == 0 && t.user[0] == '\0' && t.db == 0,
       "redis://:pass@host:port/ gives the password, percent-decoded, and wins over REDIS_HOST");
    ok(redis_target_of(user, &t, err, sizeof(err)) == 0 && strcmp(t.host, "cache.local") == 0 &&
           t.port == 6379 && strcmp(t.user, "chat") == 0 && strcmp(t.pass, "pw:x") == 0 &&
           t.db == 3,
       "redis://user:pass@host/N gives user, password, the default port and db N");
    ok(redis_target_of(bare, &t, err, sizeof(err)) == 0 && strcmp(t.host, "::1") == 0 &&
           t.port == 6390 && strcmp(t.pass, "onlypass") == 0 && t.user[0] == '\0',
       "userinfo without ':' is the password (redis-cli), IPv6 in brackets");
}

static void
test_bad_redis_url_is_refused_without_echoing_it(void)
{
    hub_redis_target_t t;
    char err[128];
    char *db[] = {"REDIS_URL=redis://:hunter2@h:1/x", NULL};
    char *port[] = {"REDIS_URL=redis://:hunter2@h:99999", NULL};
    char *tls[] = {"REDIS_URL=rediss://:hunter2@h", NULL};
    char *esc[] = {"REDIS_URL=redis://:hunter2%zz@h", NULL};
    char *nul[] = {"REDIS_URL=redis://:hunter2%00x@h", NULL};
    char **bad[] = {db, port, tls, esc, nul};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ok(redis_target_of(bad[i], &t, err, sizeof(err)) < 0 && strstr(err, "REDIS_URL") != NULL &&
               strstr(err, "hunter2") == NULL,
           "refused, naming REDIS_URL but not the password: %s", bad[i][0] + 10);
    }
    char *pg[][2] = {{"DATABASE_URL=postgres://u:hunter2@h:x/db", NULL},
                     {"DATABASE_URL=postgres://u:hunter2@[h/db", NULL},
                     {"DATABASE_URL=user=u password=hunter2 port=p", NULL}};
    for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
        hub_config_t cfg;
        char *argv[] = {"chathub"};
        int argi = 1;
        err[0] = '\0';
        ok(hub_config_load(&cfg, pg[i], 1, argv, &argi, err, sizeof(err)) < 0 &&
               strstr(err, "DATABASE_URL") != NULL && strstr(err, "hunter2") == NULL,
           "refused, naming DATABASE_URL but not the password: %s", err);
        hub_config_clear(&cfg);
    }
}

static void
test_listen_takes_bracketed_ipv6(void)
{
    hub_config_t cfg;
    char err[128];
    char *env[] = {"HUB_LISTEN=[::1]:8443", NULL};
    char *argv[] = {"chathub"};
    int argi = 1;

    ok(hub_config_load(&cfg, env, 1, argv, &argi, err, sizeof(err)) == 0 &&
           strcmp(cfg.listen_host, "::1") == 0 && cfg.listen_port == 8443,
       "HUB_LISTEN=[::1]:8443 gives host ::1 without brackets, port 8443");
    hub_config_clear(&cfg);
}

static void
test_reuseport_needs_redis(void)
{
    hub_config_t cfg;
    char err[128];
    char *off[] = {NULL};
    char *on[] = {"HUB_REUSEPORT=1", NULL};
    char *alone[] = {"HUB_REUSEPORT=1", "HUB_REDIS=off", NULL};
    char *argv[] = {"chathub"};
    int argi = 1;

    ok(hub_config_load(&cfg, off, 1, argv, &argi, err, sizeof(err)) == 0 && cfg.reuseport == 0,
       "HUB_REUSEPORT is off by default: a second node on the port fails to start");
    hub_config_clear(&cfg);
    argi = 1;
    ok(hub_config_load(&cfg, on, 1, argv, &argi, err, sizeof(err)) == 0 && cfg.reuseport == 1,
       "HUB_REUSEPORT=1 with Redis loads");
    hub_config_clear(&cfg);
    argi = 1;
    ok(hub_config_load(&cfg, alone, 1, argv, &argi, err, sizeof(err)) < 0 &&
           strstr(err, "HUB_REUSEPORT") != NULL,
       "HUB_REUSEPORT=1 without Redis is refused: the port's nodes would split rooms");
    hub_config_clear(&cfg);
}

static void
test_switches_and_lists_take_only_their_values(void)
{
    hub_config_t cfg;
    char err[128];
    char *argv[] = {"chathub"};
    int argi;
    struct {
        char *env[2];
        bool loads;
        const char *what;
    } cases[] = {
        {{"HUB_REDIS=off", NULL}, true, "HUB_REDIS=off loads"},
        {{"HUB_REDIS=on", NULL}, true, "HUB_REDIS=on loads"},
        {{"HUB_REDIS=of", NULL}, false, "HUB_REDIS=of (a typo) is refused, not read as on"},
        {{"HUB_REDIS=maybe", NULL}, false, "HUB_REDIS=maybe is refused"},
        {{"HUB_DEMO_USERS=1,2,3", NULL}, true, "HUB_DEMO_USERS=1,2,3 loads"},
        {{"HUB_DEMO_USERS=1,x", NULL}, false, "HUB_DEMO_USERS=1,x is refused"},
        {{"HUB_DEMO_USERS=1,,2", NULL}, false, "HUB_DEMO_USERS=1,,2 is refused"},
        {{"HUB_DEMO_USERS=1, 2 ", NULL}, true, "HUB_DEMO_USERS with blanks around ids loads"},
        {{"HUB_DEMO_USERS=1,  ", NULL}, false, "HUB_DEMO_USERS with a blank entry is refused"},
        {{"HUB_REDIS=", NULL}, true, "HUB_REDIS empty is the default, on"},
        /* An audit: an empty DATABASE_URL crashed the node, a certificate
         * without its key served plain text, a blank before a number was
         * read past. */
        {{"DATABASE_URL=", NULL}, false, "an empty DATABASE_URL is refused"},
        {{"HUB_TLS_CERT=/c.pem", NULL}, false, "HUB_TLS_CERT without HUB_TLS_KEY is refused"},
        {{"HUB_TLS_KEY=/k.pem", NULL}, false, "HUB_TLS_KEY without HUB_TLS_CERT is refused"},
        {{"HUB_RATE_LIMIT= 7", NULL}, false, "a blank before a number is refused"},
        {{"HUB_RATE_LIMIT=7", NULL}, true, "the number alone loads"},
        /* An audit: a sign, and a port with a blank or a sign, loaded. */
        {{"HUB_RATE_LIMIT=+7", NULL}, false, "a plus before a number is refused"},
        {{"HUB_LISTEN=127.0.0.1:+80", NULL}, false, "HUB_LISTEN with a plus before the port"},
        {{"HUB_LISTEN=127.0.0.1: 80", NULL}, false, "HUB_LISTEN with a blank before the port"},
        {{"HUB_LISTEN=127.0.0.1:", NULL}, false, "HUB_LISTEN with no port"},
        {{"HUB_LISTEN=127.0.0.1:80", NULL}, true, "HUB_LISTEN host:port loads"},
        /* An audit: a DATABASE_URL libpq cannot even start with ran a node
         * that could never connect. */
        {{"DATABASE_URL=postgres://u:pw@127.0.0.1:notaport/db", NULL},
         false,
         "a DATABASE_URL whose port is not a number is refused"},
        {{"DATABASE_URL=postgres://u:pw@[bad/db", NULL},
         false,
         "a DATABASE_URL libpq cannot parse is refused"},
        {{"DATABASE_URL=host=a,b port=5432,0 dbname=x", NULL},
         false,
         "a port 0 in a DATABASE_URL's list is refused"},
        {{"DATABASE_URL=host=a,b port=5432,5433 dbname=x", NULL},
         true,
         "a key=value DATABASE_URL with a port per host loads"},
        {{"DATABASE_URL=postgres:///chathub?host=/run/postgresql", NULL},
         true,
         "a DATABASE_URL through a socket directory loads"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        argi = 1;
        int rc = hub_config_load(&cfg, cases[i].env, 1, argv, &argi, err, sizeof(err));
        ok((rc == 0) == cases[i].loads, "%s", cases[i].what);
        hub_config_clear(&cfg);
    }
}

static void
test_unknown_hub_variables_are_named(void)
{
    char *env[] = {"HUB_JWT_SECRTE=x", "PATH=/bin",    "HUB_API_KEY=k",
                   "HUB_=1",           "HUB_LOGLEVEL", NULL};
    size_t i = 0, len;
    const char *e;

    e = hub_config_unknown_env(env, &i, &len);
    ok(e != NULL && len == 14 && strncmp(e, "HUB_JWT_SECRTE", len) == 0, "a typo is named");
    e = hub_config_unknown_env(env, &i, &len);
    ok(e != NULL && len == 4, "HUB_ alone too");
    e = hub_config_unknown_env(env, &i, &len);
    ok(e != NULL && len == 12, "an entry without '='");
    ok(hub_config_unknown_env(env, &i, &len) == NULL, "settings and other names are not");
}

int
main(void)
{
    test_unknown_hub_variables_are_named();
    test_defaults_apply_without_environment();
    test_flags_override_environment();
    test_bad_values_are_refused();
    test_origins_match_exactly();
    test_redacted_url_has_no_password_or_query();
    test_quoted_log_value_cannot_forge_a_key();
    test_redis_url_gives_host_port_auth_and_db();
    test_bad_redis_url_is_refused_without_echoing_it();
    test_listen_takes_bracketed_ipv6();
    test_reuseport_needs_redis();
    test_switches_and_lists_take_only_their_values();
    return tap_done();
}
