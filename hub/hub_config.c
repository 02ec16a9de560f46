/*
 * The table of settings: flag, environment variable, default, and where it
 * lands in hub_config_t. Adding a setting is one row here and one member.
 */
#include "hub_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hub_log.h"
#include "proto_request.h"
#include "proto_url.h"
#include "store.h"
#include "xalloc.h"

typedef enum { OPT_STR, OPT_LONG } opt_kind_t;

typedef struct opt {
    const char *flag;
    const char *env;
    opt_kind_t kind;
    size_t offset;
    const char *def; /* NULL: unset */
    long min, max;
    const char *help;
} opt_t;

#define STR(member, flag, env, def, help)                                                          \
    {                                                                                              \
        flag, env, OPT_STR, offsetof(hub_config_t, member), def, 0, 0, help                        \
    }
#define NUM(member, flag, env, def, min, max, help)                                                \
    {                                                                                              \
        flag, env, OPT_LONG, offsetof(hub_config_t, member), def, min, max, help                   \
    }

#define DATABASE_URL_DEFAULT "postgresql://postgres@127.0.0.1:5432/chathub"

static const opt_t opts[] = {
    STR(listen, "listen", "HUB_LISTEN", "0.0.0.0:8001", "address:port to serve on"),
    NUM(reuseport, "reuseport", "HUB_REUSEPORT", "0", 0, 1,
        "1: share HUB_LISTEN's port with other nodes on this host, one per core (needs Redis)"),
    STR(database_url, "database-url", "DATABASE_URL", DATABASE_URL_DEFAULT,
        "PostgreSQL connection URI"),
    STR(jwt_secret, "jwt-secret", "HUB_JWT_SECRET", NULL, "HS256 secret for JWTs"),
    STR(api_key, "api-key", "HUB_API_KEY", NULL, "bearer key of the server API"),
    NUM(jwt_leeway, "jwt-leeway", "HUB_JWT_LEEWAY_SECONDS", "0", 0, 300,
        "clock skew allowed on a JWT's exp and nbf (at connect and while open)"),
    STR(allowed_origins, "allowed-origins", "HUB_ALLOWED_ORIGINS", NULL,
        "comma-separated Origins allowed to connect (unset: any)"),
    STR(node_id, "node-id", "HUB_NODE_ID", NULL, "this node's id (default host-pid)"),
    NUM(max_message_bytes, "max-message-bytes", "HUB_MAX_MESSAGE_BYTES", "65536", 256, 16777216,
        "largest client frame (its JSON) in bytes; on the API, largest content"),
    NUM(max_connections, "max-connections", "HUB_MAX_CONNECTIONS", "65536", 16, 10000000,
        "client sockets this node holds; more are hung up at accept"),
    NUM(max_conns_per_ip, "max-conns-per-ip", "HUB_MAX_CONNS_PER_IP", "1000", 0, 10000000,
        "open sockets per client address (0: no limit); more get 429"),
    NUM(max_pending_per_ip, "max-pending-per-ip", "HUB_MAX_PENDING_PER_IP", "256", 0, 10000000,
        "connections per client address whose request head has not arrived (0: no limit); more "
        "get 429 at accept"),
    NUM(rate_limit, "rate-limit", "HUB_RATE_LIMIT", "20", 1, 1000000, "messages/s per socket"),
    NUM(rate_burst, "rate-burst", "HUB_RATE_BURST", "40", 1, 1000000, "burst per socket"),
    NUM(channel_capacity, "channel-capacity", "HUB_CHANNEL_CAPACITY", "1500", 1, 1000000,
        "queued frames per socket before close 4408"),
    NUM(channel_expiry, "channel-expiry", "HUB_CHANNEL_EXPIRY", "10", 1, 3600,
        "seconds a queued frame may wait before close 4408"),
    NUM(ping_interval, "ping-interval", "HUB_PING_INTERVAL", "30", 1, 3600,
        "seconds a socket may be silent before a ping; twice that and it is dropped"),
    NUM(room_audit_ms, "room-audit-ms", "HUB_ROOM_AUDIT_MS", "5000", 0, 3600000,
        "ms between checks of the local rooms against the store (0: off)"),
    NUM(presence_settle_ms, "presence-settle-ms", "HUB_PRESENCE_SETTLE_MS", "40000", 1000, 3600000,
        "ms users Redis lost in an empty restart stay listed before their leave (keep it above "
        "the Redis link's longest reconnect backoff, 30 s)"),
    NUM(io_uring, "io-uring", "HUB_IO_URING", "1", 0, 1,
        "1: a loop turn's socket writes go to the kernel in one io_uring call (send() where "
        "refused)"),
    NUM(ws_native, "ws-native", "HUB_WS_NATIVE", "1", 0, 1,
        "1: WebSockets on the plain listener are served by the hub itself; 0: by lws"),
    NUM(run_migrations, "run-migrations", "RUN_MIGRATIONS", "0", 0, 1, "1: migrate at startup"),
    NUM(migration_lock_wait, "migration-lock-wait", "MIGRATION_LOCK_WAIT_SECONDS", "60", 1, 3600,
        "seconds to wait for the migration lock"),
    STR(redis, "redis", "HUB_REDIS", "on", "off: in-process channel layer (single node)"),
    STR(redis_url, "redis-url", "REDIS_URL", NULL,
        "redis://[[user]:pass@]host[:port][/db] (wins over host/port)"),
    STR(redis_host, "redis-host", "REDIS_HOST", "127.0.0.1", "Redis host"),
    NUM(redis_port, "redis-port", "REDIS_PORT", "6379", 1, 65535, "Redis port"),
    STR(tls_cert, "tls-cert", "HUB_TLS_CERT", NULL, "PEM certificate: serve wss"),
    STR(tls_key, "tls-key", "HUB_TLS_KEY", NULL, "PEM private key"),
    NUM(db_pool, "db-pool", "HUB_DB_POOL", "2", 1, 64, "PostgreSQL connections"),
    NUM(query_timeout_ms, "query-timeout-ms", "HUB_QUERY_TIMEOUT_MS", "5000", 100, 600000,
        "per-query timeout"),
    STR(log_level, "log-level", "HUB_LOG_LEVEL", "info", "debug, info, warn or error"),
    STR(demo_users, "demo-users", "HUB_DEMO_USERS", NULL,
        "development only: user ids the demo page may get tokens for"),
};

static const char *
env_get(char **env, const char *name)
{
    size_t n = strlen(name);

    for (char **e = env; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
            return *e + n + 1;
        }
    }
    return NULL;
}

static int
set_opt(hub_config_t *cfg, const opt_t *o, const char *val, char *err, size_t errlen)
{
    char *base = (char *)cfg + o->offset;

    if (o->kind == OPT_STR) {
        char **slot = (char **)(void *)base;
        free(*slot);
        *slot = val[0] != '\0' ? xstrdup(val) : NULL;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    /* strtol skips leading blanks and takes a sign: a setting with them is a
     * typo too (a minus goes on to the range check). */
    if (errno != 0 || end == val || *end != '\0' || v < o->min || v > o->max ||
        !(isdigit((unsigned char)val[0]) || (val[0] == '-' && isdigit((unsigned char)val[1])))) {
        snprintf(err, errlen, "%s must be an integer in %ld..%ld", o->env, o->min, o->max);
        return -1;
    }
    *(long *)(void *)base = v;
    return 0;
}

static const opt_t *
find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static int
parse_flags(hub_config_t *cfg, int argc, char **argv, int *argi, char *err, size_t errlen)
{
    while (*argi < argc && strncmp(argv[*argi], "--", 2) == 0) {
        const char *arg = argv[*argi] + 2;
        const char *eq = strchr(arg, '=');
        size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        const opt_t *o = find_flag(arg, len);
        const char *val = eq != NULL ? eq + 1 : NULL;

        if (o == NULL) {
            snprintf(err, errlen, "unknown option --%.*s", (int)len, arg);
            return -1;
        }
        if (val == NULL) {
            if (*argi + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value", o->flag);
                return -1;
            }
            val = argv[++*argi];
        }
        if (set_opt(cfg, o, val, err, errlen) < 0) {
            return -1;
        }
        (*argi)++;
    }
    return 0;
}

static int
split_listen(hub_config_t *cfg, char *err, size_t errlen)
{
    const char *colon = strrchr(cfg->listen, ':');
    char *end = NULL;
    long port;
    size_t hlen;

    if (colon == NULL) {
        snprintf(err, errlen, "HUB_LISTEN must be host:port");
        return -1;
    }
    port = strtol(colon + 1, &end, 10);
    hlen = (size_t)(colon - cfg->listen);
    if (!isdigit((unsigned char)colon[1]) || *end != '\0' || port > 65535 ||
        hlen >= sizeof(cfg->listen_host)) {
        snprintf(err, errlen, "HUB_LISTEN must be host:port");
        return -1;
    }
    if (hlen >= 2 && cfg->listen[0] == '[' && cfg->listen[hlen - 1] == ']') {
        memcpy(cfg->listen_host, cfg->listen + 1, hlen - 2); /* "[::1]:8001" */
        cfg->listen_host[hlen - 2] = '\0';
    } else {
        memcpy(cfg->listen_host, cfg->listen, hlen);
        cfg->listen_host[hlen] = '\0';
    }
    if (strcmp(cfg->listen_host, "0.0.0.0") == 0 || strcmp(cfg->listen_host, "*") == 0) {
        cfg->listen_host[0] = '\0';
    }
    cfg->listen_port = (int)port;
    return 0;
}

/* A node id goes into every envelope's head, a Redis key and a Lua-built
 * envelope (hub_channel.h): no spaces, and short enough for their buffers. */
#define NODE_ID_MAX 64

static bool
node_id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > NODE_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* "1,2,3" or "1, 2, 3": ids 1..2^53-1, blanks around them allowed. */
static bool
demo_users_ok(const char *s)
{
    while (true) {
        size_t len = strcspn(s, ",");
        size_t from = strspn(s, " ");
        int64_t id;

        while (len > from && s[len - 1] == ' ') {
            len--;
        }
        if (from >= len || proto_parse_id(s + from, len - from, &id) < 0) {
            return false;
        }
        len = strcspn(s, ",");
        if (s[len] == '\0') {
            return true;
        }
        s += len + 1;
    }
}

int
hub_config_load(hub_config_t *cfg, char **env, int argc, char **argv, int *argi, char *err,
                size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        const char *v = env_get(env, opts[i].env);
        if (v == NULL) {
            v = opts[i].def;
        }
        if (v != NULL && set_opt(cfg, &opts[i], v, err, errlen) < 0) {
            return -1;
        }
    }
    if (parse_flags(cfg, argc, argv, argi, err, errlen) < 0) {
        return -1;
    }
    if (cfg->listen == NULL || split_listen(cfg, err, errlen) < 0) {
        if (cfg->listen == NULL) {
            snprintf(err, errlen, "HUB_LISTEN must be host:port");
        }
        return -1;
    }
    if (cfg->node_id == NULL) {
        char host[64] = "node", id[96];
        if (gethostname(host, sizeof(host) - 1) < 0) {
            strcpy(host, "node");
        }
        host[sizeof(host) - 1] = '\0';
        snprintf(id, sizeof(id), "%.40s-%ld", host, (long)getpid());
        cfg->node_id = xstrdup(id);
    }
    if (!node_id_ok(cfg->node_id)) {
        snprintf(err, errlen, "HUB_NODE_ID must be 1..%d of A-Z a-z 0-9 . _ : -", NODE_ID_MAX);
        return -1;
    }
    if (cfg->log_level == NULL || hub_log_level_parse(cfg->log_level) < 0) {
        snprintf(err, errlen, "HUB_LOG_LEVEL must be debug, info, warn or error");
        return -1;
    }
    /* Anything but off used to mean on: HUB_REDIS=of (a typo for off) made a
     * single node wait for a Redis that was never there. Empty (NULL) is the
     * default, on, as it always was (an env file's HUB_REDIS=). */
    if (cfg->redis != NULL && strcmp(cfg->redis, "on") != 0 && strcmp(cfg->redis, "off") != 0) {
        snprintf(err, errlen, "HUB_REDIS must be on or off");
        return -1;
    }
    if (cfg->demo_users != NULL && !demo_users_ok(cfg->demo_users)) {
        snprintf(err, errlen, "HUB_DEMO_USERS must be user ids separated by commas");
        return -1;
    }
    if (cfg->reuseport && cfg->redis != NULL && strcmp(cfg->redis, "off") == 0) {
        /* The kernel spreads sockets over the port's nodes, which meet only
         * through Redis: without it a room would be split between them. */
        snprintf(err, errlen, "HUB_REUSEPORT=1 needs Redis (HUB_REDIS is off)");
        return -1;
    }
    if (cfg->database_url == NULL) {
        snprintf(err, errlen, "DATABASE_URL must not be empty (unset, it is %s)",
                 DATABASE_URL_DEFAULT);
        return -1;
    }
    char why[96];
    if (!store_conninfo_ok(cfg->database_url, why, sizeof(why))) {
        snprintf(err, errlen, "DATABASE_URL: %s", why);
        return -1;
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        /* One without the other served plain text without a word. */
        snprintf(err, errlen, "HUB_TLS_CERT and HUB_TLS_KEY must be set together");
        return -1;
    }
    hub_redis_target_t target;
    if (hub_config_redis_target(cfg, &target, err, errlen) < 0) {
        return -1; /* refused at startup, not at the first connect */
    }
    return 0;
}

const char *
hub_config_unknown_env(char **env, size_t *i, size_t *len)
{
    for (; env != NULL && env[*i] != NULL; (*i)++) {
        const char *e = env[*i];
        size_t n = strcspn(e, "=");
        bool known = strncmp(e, "HUB_", 4) != 0;
        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]) && !known; k++) {
            known = strlen(opts[k].env) == n && strncmp(opts[k].env, e, n) == 0;
        }
        if (!known) {
            *len = n;
            return env[(*i)++];
        }
    }
    return NULL;
}

/* Parse a non-negative decimal number of at most max. -1 when s is not one. */
static long
parse_small(const char *s, size_t len, long max)
{
    long v = 0;

    if (len == 0 || len > 10) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* userinfo (len bytes, before '@') into user and pass; see hub_config_redis_target(). */
static int
parse_userinfo(const char *u, size_t len, hub_redis_target_t *t)
{
    const char *colon = memchr(u, ':', len);
    const char *pass = colon != NULL ? colon + 1 : u;

    if (colon != NULL &&
        proto_percent_decode(u, (size_t)(colon - u), false, t->user, sizeof(t->user)) < 0) {
        return -1;
    }
    if (proto_percent_decode(pass, len - (size_t)(pass - u), false, t->pass, sizeof(t->pass)) < 0) {
        return -1;
    }
    return 0;
}

/* host[:port] (len bytes); an IPv6 address comes in brackets. */
static int
parse_hostport(const char *h, size_t len, hub_redis_target_t *t)
{
    const char *end = h + len, *port = NULL;
    size_t hlen;

    if (len > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', len);
        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            return -1;
        }
        hlen = (size_t)(close - h - 1);
        h++;
        port = close + 1 < end ? close + 2 : NULL;
    } else {
        const char *colon = memchr(h, ':', len);
        hlen = colon != NULL ? (size_t)(colon - h) : len;
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (hlen == 0 || hlen >= sizeof(t->host)) {
        return -1;
    }
    snprintf(t->host, sizeof(t->host), "%.*s", (int)hlen, h);
    if (port != NULL) {
        long p = parse_small(port, (size_t)(end - port), 65535);
        if (p < 1) {
            return -1;
        }
        t->port = (int)p;
    }
    return 0;
}

int
hub_config_redis_target(const hub_config_t *cfg, hub_redis_target_t *t, char *err, size_t errlen)
{
    const char *u = cfg->redis_url;

    memset(t, 0, sizeof(*t));
    t->port = (int)cfg->redis_port;
    snprintf(t->host, sizeof(t->host), "%s",
             cfg->redis_host != NULL ? cfg->redis_host : "127.0.0.1");
    if (u == NULL || u[0] == '\0') {
        return 0;
    }
    /* The URL itself may hold a password: the messages below never quote it. */
    if (strncmp(u, "redis://", 8) != 0) {
        snprintf(err, errlen, "REDIS_URL must start with redis:// (TLS is not supported)");
        return -1;
    }
    u += 8;
    size_t auth_len = strcspn(u, "/");
    const char *at = memchr(u, '@', auth_len);
    if (at != NULL) {
        /* The last '@' before the path: a password may hold one unescaped. */
        for (const char *p = at; p < u + auth_len; p++) {
            at = *p == '@' ? p : at;
        }
        if (parse_userinfo(u, (size_t)(at - u), t) < 0) {
            snprintf(err, errlen, "REDIS_URL: bad user or password (percent-encode %%, @, :)");
            return -1;
        }
        auth_len -= (size_t)(at + 1 - u);
        u = at + 1;
    }
    if (parse_hostport(u, auth_len, t) < 0) {
        snprintf(err, errlen, "REDIS_URL: bad host or port");
        return -1;
    }
    const char *path = u + auth_len;
    if (path[0] == '/' && path[1] != '\0') {
        long db = parse_small(path + 1, strlen(path + 1), 1000000);
        if (db < 0) {
            snprintf(err, errlen, "REDIS_URL: the path must be a database number");
            return -1;
        }
        t->db = (int)db;
    }
    return 0;
}

void
hub_config_clear(hub_config_t *cfg)
{
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (opts[i].kind == OPT_STR) {
            char **slot = (char **)(void *)((char *)cfg + opts[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

bool
hub_config_origin_allowed(const hub_config_t *cfg, const char *origin, size_t len)
{
    const char *p = cfg->allowed_origins;

    if (p == NULL) {
        return true;
    }
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        size_t n = strcspn(p, ",");
        size_t t = n;
        /* An Origin is scheme://host[:port], which browsers send in lower
         * case and without a path: an entry written "https://Chat.Example/"
         * still means that origin. */
        while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '/')) {
            t--;
        }
        if (t > 0 && t == len && strncasecmp(p, origin, len) == 0) {
            return true;
        }
        p += n;
    }
    return false;
}

void
hub_config_usage(void)
{
    fprintf(stderr, "usage: chathub [serve|migrate|sync-parents|check|token --user ID [--ttl S]] "
                    "[--flag value]...\n\n");
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        fprintf(stderr, "  --%-22s %-28s %s%s%s%s\n", opts[i].flag, opts[i].env, opts[i].help,
                opts[i].def != NULL ? " (default " : "", opts[i].def != NULL ? opts[i].def : "",
                opts[i].def != NULL ? ")" : "");
    }
}

bool
hub_config_demo_user(const hub_config_t *cfg, int64_t user_id)
{
    const char *p = cfg->demo_users;

    while (p != NULL && *p != '\0') {
        char *end = NULL;
        long long v = strtoll(p, &end, 10);
        if (end == p) {
            return false;
        }
        if (v == user_id) {
            return true;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}
