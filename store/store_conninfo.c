/*
 * libpq's keywords for a connect attempt, and the host names the store looks
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
store_conninfo_fill(store_conninfo_t *ci, const store_config_t *cfg, const store_target_t *target,
                    unsigned stmt_timeout_ms)
{
    store_target_t own = {.hostaddr = (char *)cfg->hostaddr};
    const store_target_t *t = target != NULL ? target : &own;
    int n = 0;

    /* Keys after the expanded dbname override the URL's own (libpq's rule). */
    ci->keys[n] = "dbname";
    ci->vals[n++] = cfg->conninfo;
    if (t->host != NULL) {
        ci->keys[n] = "host";
        ci->vals[n++] = t->host;
    }
    if (t->hostaddr != NULL && t->hostaddr[0] != '\0') {
        ci->keys[n] = "hostaddr"; /* numeric: libpq then resolves nothing, never blocks */
        ci->vals[n++] = t->hostaddr;
    }
    if (t->port != NULL) {
        ci->keys[n] = "port";
        ci->vals[n++] = t->port;
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

/* Each comma-separated item of a port list empty (libpq's default) or a
 * port number. */
static bool
ports_ok(const char *list)
{
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        long v = 0;

        for (size_t i = 0; i < len; i++) {
            if (p[i] < '0' || p[i] > '9' || (v = v * 10 + (p[i] - '0')) > 65535) {
                return false;
            }
        }
        if (len > 0 && v == 0) {
            return false;
        }
        p += len;
        if (*p == '\0') {
            return true;
        }
    }
}

bool
store_conninfo_ok(const char *conninfo, char *why, size_t len)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    bool ok = opts != NULL;

    /* libpq's message may quote the string: not repeated. */
    PQfreemem(errmsg);
    if (!ok) {
        snprintf(why, len, "not a connection string libpq reads (a URI or key=value pairs)");
        return false;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "port") == 0 && o->val != NULL && !ports_ok(o->val)) {
            snprintf(why, len, "a port must be a number from 1 to 65535");
            ok = false;
        }
    }
    PQconninfoFree(opts);
    return ok;
}

/* The comma-separated items of list, as new strings; *n their count. */
static char **
split_list(const char *list, size_t *n)
{
    size_t cap = 1;
    char **item;

    for (const char *p = list; *p != '\0'; p++) {
        cap += *p == ',';
    }
    item = xcalloc(cap, sizeof(*item));
    *n = 0;
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        item[(*n)++] = xstrndup(p, len);
        p += len;
        if (*p == '\0') {
            break;
        }
    }
    return item;
}

static void
free_list(char **item, size_t n)
{
    for (size_t i = 0; item != NULL && i < n; i++) {
        free(item[i]);
    }
    free(item);
}

static bool
needs_lookup(const char *host)
{
    unsigned char probe[16];

    return host[0] != '\0' && host[0] != '/' && inet_pton(AF_INET, host, probe) != 1 &&
           inet_pton(AF_INET6, host, probe) != 1;
}

store_hosts_t *
store_hosts_parse(const store_config_t *cfg)
{
    PQconninfoOption *opts = PQconninfoParse(cfg->conninfo, NULL);
    const char *host = NULL, *port = NULL;
    bool has_hostaddr = cfg->hostaddr != NULL && cfg->hostaddr[0] != '\0';
    bool any = false;
    store_hosts_t *h = NULL;

    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }
        if (strcmp(o->keyword, "host") == 0) {
            host = o->val;
        } else if (strcmp(o->keyword, "port") == 0) {
            port = o->val;
        } else if (strcmp(o->keyword, "hostaddr") == 0) {
            has_hostaddr = true;
        }
    }
    if (host != NULL && !has_hostaddr) {
        h = xcalloc(1, sizeof(*h));
        h->name = split_list(host, &h->n);
        h->lookup = xcalloc(h->n, sizeof(*h->lookup));
        for (size_t i = 0; i < h->n; i++) {
            h->lookup[i] = needs_lookup(h->name[i]);
            any = any || h->lookup[i];
        }
        if (port != NULL && h->n > 1) {
            size_t nports;
            char **ports = split_list(port, &nports);

            /* One port for all hosts stays as it is; libpq rejects other counts itself. */
            if (nports == h->n) {
                h->port = ports;
            } else {
                free_list(ports, nports);
            }
        }
    }
    PQconninfoFree(opts);
    if (h != NULL && !any) {
        store_hosts_free(h);
        h = NULL;
    }
    return h;
}

void
store_hosts_free(store_hosts_t *h)
{
    if (h == NULL) {
        return;
    }
    free_list(h->name, h->n);
    free_list(h->port, h->n);
    free(h->lookup);
    free(h);
}

/* Append item to *list after a comma (none before the first). */
static void
list_add(char **list, size_t *len, bool first, const char *item)
{
    size_t n = strlen(item);

    *list = xrealloc(*list, *len + n + 2);
    if (!first) {
        (*list)[(*len)++] = ',';
    }
    memcpy(*list + *len, item, n + 1);
    *len += n;
}

bool
store_hosts_target(const store_hosts_t *h, char *const *addr, store_target_t *t)
{
    size_t kept = 0, hlen = 0, alen = 0, plen = 0;

    *t = (store_target_t){0};
    for (size_t i = 0; i < h->n; i++) {
        if (addr[i] == NULL) {
            continue;
        }
        list_add(&t->host, &hlen, kept == 0, h->name[i]);
        list_add(&t->hostaddr, &alen, kept == 0, addr[i]);
        if (h->port != NULL) {
            list_add(&t->port, &plen, kept == 0, h->port[i]);
        }
        kept++;
    }
    if (kept == 0) {
        store_target_clear(t);
        return false;
    }
    if (kept == h->n) {
        /* Nobody left out: libpq keeps the conninfo's own host and port lists. */
        free(t->host);
        free(t->port);
        t->host = t->port = NULL;
    }
    return true;
}

void
store_target_clear(store_target_t *t)
{
    free(t->host);
    free(t->hostaddr);
    free(t->port);
    *t = (store_target_t){0};
}
