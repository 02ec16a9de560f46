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
}

static void
test_origins_match_exactly(void)
{
    hub_config_t cfg;
    char err[128];
    char *env[] = {"HUB_ALLOWED_ORIGINS=https://a.example, https://b.example", NULL};
    char *argv[] = {"chathub"};
    int argi = 1;

    ok(hub_config_load(&cfg, env, 1, argv, &argi, err, sizeof(err)) == 0, "loads origins");
    ok(hub_config_origin_allowed(&cfg, "https://b.example", 17), "listed origin allowed");
    ok(!hub_config_origin_allowed(&cfg, "https://evil.example", 20), "other origin refused");
    ok(!hub_config_origin_allowed(&cfg, "https://a.exampl", 16), "a prefix is not a match");
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
    hub_log_redact_url("host=x password=y", out, sizeof(out));
    ok(strstr(out, "password") == NULL, "key=value conninfo is not echoed");
}

int
main(void)
{
    test_defaults_apply_without_environment();
    test_flags_override_environment();
    test_bad_values_are_refused();
    test_origins_match_exactly();
    test_redacted_url_has_no_password_or_query();
    return tap_done();
}
