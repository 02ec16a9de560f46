/*
 * libpq's keywords for a connect attempt, and the host name the store looks
 * up itself (store_conninfo.h).
 */
#include "store_conninfo.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void
store_conninfo_fill(store_conninfo_t *ci, const store_config_t *cfg, const char *hostaddr,
                    unsigned stmt_timeout_ms)
{
    int n = 0;

    /* Keys after the expanded dbname override the URL's own (libpq's rule). */
    ci->keys[n] = "dbname";
    ci->vals[n++] = cfg->conninfo;
    if (hostaddr != NULL && hostaddr[0] != '\0') {
        ci->keys[n] = "hostaddr"; /* numeric: libpq then resolves nothing, never blocks */
        ci->vals[n++] = hostaddr;
    }
    /* Ignored under PQconnectPoll (our timer enforces it); kept for the record. */
    snprintf(ci->ctimeout, sizeof(ci->ctimeout), "%u", (cfg->connect_timeout_ms + 999) / 1000 + 1);
    ci->keys[n] = "connect_timeout";
    ci->vals[n++] = ci->ctimeout;
    if (stmt_timeout_ms > 0) {
        snprintf(ci->opts, sizeof(ci->opts), "-c statement_timeout=%u", stmt_timeout_ms);
        ci->keys[n] = "options";
        ci->vals[n++] = ci->opts;
    }
    ci->keys[n] = "application_name";
    ci->vals[n++] = "chathub";
    /* Content must round-trip byte for byte, whatever the server's default. */
    ci->keys[n] = "client_encoding";
    ci->vals[n++] = "UTF8";
    /* A dead peer on an idle connection shows up in about a minute, not hours. */
    ci->keys[n] = "keepalives_idle";
    ci->vals[n++] = "30";
    ci->keys[n] = "keepalives_interval";
    ci->vals[n++] = "10";
    ci->keys[n] = "keepalives_count";
    ci->vals[n++] = "3";
    ci->keys[n] = NULL;
    ci->vals[n] = NULL;
}

char *
store_conninfo_lookup_host(const store_config_t *cfg)
{
    PQconninfoOption *opts = PQconninfoParse(cfg->conninfo, NULL);
    char *host = NULL;
    bool has_hostaddr = cfg->hostaddr != NULL && cfg->hostaddr[0] != '\0';
    unsigned char probe[16];

    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "host") == 0 && o->val != NULL && o->val[0] != '\0') {
            host = xstrdup(o->val);
        } else if (strcmp(o->keyword, "hostaddr") == 0 && o->val != NULL && o->val[0] != '\0') {
            has_hostaddr = true;
        }
    }
    PQconninfoFree(opts);
    /* Several hosts stay libpq's: it tries them in turn, which one address cannot. */
    if (host != NULL &&
        (has_hostaddr || host[0] == '/' || strchr(host, ',') != NULL ||
         inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1)) {
        free(host);
        host = NULL;
    }
    return host;
}
