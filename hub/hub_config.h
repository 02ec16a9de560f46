/*
 * Configuration: environment variables, each with a --flag twin that wins
 * over it, and sane defaults (ARCHITECTURE.md "Configuration"). Parsing only;
 * nothing here opens a socket or a file.
 */
#ifndef CHATHUB_HUB_CONFIG_H
#define CHATHUB_HUB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

typedef struct hub_config {
    char *listen;         /* "host:port" as given */
    char listen_host[64]; /* "" means every interface */
    int listen_port;
    long reuseport;     /* 1: SO_REUSEPORT, several nodes on one port */
    char *database_url; /* never logged as is */
    char *jwt_secret;   /* NULL: JWTs are refused */
    char *api_key;      /* NULL: the server API answers 401 */
    long jwt_leeway;
    char *allowed_origins; /* comma-separated; NULL: any origin */
    char *node_id;
    long max_message_bytes;
    long max_connections;
    long max_conns_per_ip;
    long max_pending_per_ip;
    long rate_limit; /* messages per second per socket */
    long rate_burst;
    long channel_capacity;   /* queued frames per socket before 4408 */
    long channel_expiry;     /* seconds a queued frame may wait before 4408 */
    long ping_interval;      /* seconds of silence before a ping; twice that: dropped */
    long room_audit_ms;      /* local rooms' last seqs checked against the store; 0: never */
    long presence_settle_ms; /* hub_presence_settle.h */
    long io_uring;           /* 1: socket writes through hub_uring where the kernel allows */
    long ws_native;          /* 1: hub_wsock.c serves plain WebSockets, not lws */
    long run_migrations;     /* 1: migrate before serving */
    long migration_lock_wait;
    char *redis; /* HUB_REDIS: "off" runs the in-process channel layer */
    char *redis_url;
    char *redis_host;
    long redis_port;
    char *tls_cert;
    char *tls_key;
    long db_pool;
    long query_timeout_ms;
    char *log_level;
    char *demo_users; /* HUB_DEMO_USERS: ids the demo page may sign in as */
} hub_config_t;

/* Where and how to reach Redis: REDIS_URL's parts, or REDIS_HOST/REDIS_PORT. */
typedef struct hub_redis_target {
    char host[256]; /* a name or a numeric address, unresolved */
    int port;
    char user[128]; /* "": AUTH with the password alone (the default user) */
    char pass[256]; /* "": no AUTH; never logged */
    int db;         /* SELECTed when not 0 */
} hub_redis_target_t;

/*
 * cfg's Redis target: REDIS_URL (redis://[[user]:pass@]host[:port][/db], user
 * and pass percent-decoded; a userinfo without ':' is the password, as
 * redis-cli reads it) wins over REDIS_HOST/REDIS_PORT. 0, or -1 with a
 * message in err (which never quotes the URL) when REDIS_URL is malformed.
 */
int hub_config_redis_target(const hub_config_t *cfg, hub_redis_target_t *t, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/*
 * Fill cfg from the environment (env) and then from argv[*argi..] flags
 * ("--name value" or "--name=value"), stopping at the first non-flag argument
 * (*argi is left there). 0 on success; -1 with a message in err.
 * Release with hub_config_clear() in both cases.
 */
int hub_config_load(hub_config_t *cfg, char **env, int argc, char **argv, int *argi, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

void hub_config_clear(hub_config_t *cfg);

/* The next entry of env from *i on whose name starts with HUB_ and is no
 * setting (a typo such as HUB_JWT_SECRTE, which would leave its setting at
 * the default): the entry, with *len its name's length, and *i past it;
 * NULL when there is none left. */
const char *hub_config_unknown_env(char **env, size_t *i, size_t *len);

/* True when origin (len bytes) is allowed by cfg->allowed_origins. */
bool hub_config_origin_allowed(const hub_config_t *cfg, const char *origin, size_t len);

/* Print the flags, their variables and defaults. */
void hub_config_usage(void);

/* True when user_id is in HUB_DEMO_USERS. */
bool hub_config_demo_user(const hub_config_t *cfg, int64_t user_id);

#endif
