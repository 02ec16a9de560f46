/*
 * chathub: parse the command and the configuration, then hand over to
 * hub_serve(), hub_migrate(), the repair tools or the token command.
 */
#include <stdio.h>
#include <string.h>

#include "hub.h"
#include "hub_cli.h"
#include "hub_config.h"
#include "hub_log.h"
#include "hub_repair.h"
#include "xalloc.h"

extern char **environ;

int
main(int argc, char **argv)
{
    hub_config_t cfg;
    char err[256];
    const char *cmd = "serve";
    long long user_id = 0, ttl = 0;
    int argi = 1, rc = 2;

    xalloc_init_cjson();
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        cmd = argv[1];
        argi = 2;
    }
    if (strcmp(cmd, "help") == 0 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
        hub_config_usage();
        return 0;
    }
    if (strcmp(cmd, "token") == 0 && hub_cli_token_args(&argc, argv, &user_id, &ttl) < 0) {
        fprintf(stderr, "usage: chathub token --user ID [--ttl SECONDS]\n");
        return 2;
    }
    if (hub_config_load(&cfg, environ, argc, argv, &argi, err, sizeof(err)) < 0 || argi < argc) {
        char why[300];
        /* One key=value line, as every line a node writes (the settings: --help). */
        hub_log_quote(argi < argc ? "unexpected argument" : err, why, sizeof(why));
        hub_log_write(HUB_LOG_ERROR, "config.invalid", "error=%s help=\"chathub --help\"", why);
        hub_config_clear(&cfg);
        return 2;
    }
    size_t envi = 0, namelen;
    for (const char *e; (e = hub_config_unknown_env(environ, &envi, &namelen)) != NULL;) {
        char name[80], quoted[200];
        snprintf(name, sizeof(name), "%.*s", (int)namelen, e);
        hub_log_quote(name, quoted, sizeof(quoted));
        hub_log_write(HUB_LOG_WARN, "config.unknown_variable", "name=%s help=\"chathub --help\"",
                      quoted);
    }
    if (strcmp(cmd, "serve") == 0) {
        rc = hub_serve(&cfg);
    } else if (strcmp(cmd, "migrate") == 0) {
        rc = hub_migrate(&cfg);
    } else if (strcmp(cmd, "sync-parents") == 0) {
        rc = hub_run_task(&cfg, hub_repair_sync_parents);
    } else if (strcmp(cmd, "check") == 0) {
        rc = hub_run_task(&cfg, hub_repair_check);
    } else if (strcmp(cmd, "token") == 0) {
        rc = hub_cli_token(&cfg, user_id, ttl);
    } else {
        char what[128];
        hub_log_quote(cmd, what, sizeof(what));
        hub_log_write(HUB_LOG_ERROR, "cli.unknown_command", "command=%s help=\"chathub --help\"",
                      what);
    }
    hub_config_clear(&cfg);
    return rc;
}
