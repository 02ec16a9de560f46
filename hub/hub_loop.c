/*
 * The process: one libuv loop carrying libwebsockets (foreign loop), the
 * store's libpq sockets and timers, and signals. Startup is a chain of
 * asynchronous steps (migrate, listen); the store and the Redis link resolve
 * their own hosts before every connect attempt. Shutdown
 * follows the destroy order PITFALLS.md gives for lws on a foreign loop.
 */
#include "hub.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "hub_channel.h"
#include "hub_clock.h"
#include "hub_deliver.h"
#include "hub_drain.h"
#include "hub_http.h"
#include "hub_listen.h"
#include "hub_log.h"
#include "hub_node_id.h"
#include "hub_presence.h"
#include "hub_presence_resync.h"
#include "hub_presence_settle.h"
#include "hub_resolve.h"
#include "hub_room.h"
#include "hub_recheck.h"
#include "hub_rename.h"
#include "hub_schema.h"
#include "hub_room_audit.h"
#include "hub_store_uv.h"
#include "hub_conn.h"
#include "hub_wire.h"
#include "hub_wsock.h"
#include "hub_ws.h"
#include "proto_jwt.h"
#include "store_migrate.h"
#include "xalloc.h"

typedef void (*step_fn)(hub_t *hub);

/* lws allocates rx_buffer_size bytes per WebSocket at the upgrade and keeps
 * them for the socket's life: most of an idle socket's memory. Chat frames are
 * small; a bigger one arrives in pieces, which hub_conn_on_receive() joins. */
#define RX_BUFFER_SIZE 1024
/* With tx_packet_size 0, lws cuts every send() to rx_buffer_size: a 2 KB
 * frame (connection_established, a turn's corked frames) would go out as
 * 1 KB, the rest through lws's buffer and a writeable callback, four epoll_ctl
 * calls and a second send(). The kernel takes what fits; lws buffers the rest
 * only after a real short write. */
#define TX_PACKET_SIZE (16u << 20)

static const struct lws_protocols protocols[] = {
    {"chathub.v1", hub_ws_callback, sizeof(hub_pss_t), RX_BUFFER_SIZE, 0, NULL, TX_PACKET_SIZE},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* WebSocket ping after 30 s of silence, hang up after 60 s (half-open sockets). */

static const lws_retry_bo_t no_idle_policy = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

uint64_t
hub_next_id(hub_t *hub)
{
    return ++hub->next_id;
}

uint64_t
hub_now_us(void)
{
    return uv_hrtime() / 1000;
}

uint64_t
hub_now_ms(const hub_t *hub)
{
    return uv_now(hub->loop);
}

hub_ref_t *
hub_ref_new(hub_t *hub, uint64_t id)
{
    hub_ref_t *ref = xmalloc(sizeof(*ref));

    ref->hub = hub;
    ref->id = id;
    return ref;
}

static void
on_store_event(void *ud, const char *level, const char *event, const char *detail)
{
    int lvl = hub_log_level_parse(level);

    (void)ud;
    if (lvl >= hub_log_level) {
        hub_log_write(lvl < 0 ? HUB_LOG_WARN : lvl, event, "%s", detail != NULL ? detail : "");
    }
}

static void
open_store(hub_t *hub)
{
    store_hooks_t hooks;
    store_config_t sc = {
        .conninfo = hub->cfg->database_url,
        .pool_size = (unsigned)hub->cfg->db_pool,
        .query_timeout_ms = (unsigned)hub->cfg->query_timeout_ms,
        .connect_timeout_ms = 5000,
    };

    hub_store_uv_hooks_init(&hooks, hub->loop, on_store_event, hub);
    hub->store = store_new(&sc, &hooks);
}

static void
stop(hub_t *hub, int exit_code)
{
    if (hub->stopping) {
        return;
    }
    hub->stopping = true;
    hub->exit_code = exit_code;
    /* The exit code may still change (an interrupted migration fails once
     * the store says so): hub.exit at the end of run() gives the last. */
    log_info("hub.stop", "node=%s", hub->cfg->node_id);
    hub_listen_close(hub);
    hub_wsock_stop(hub); /* its sockets end with lws's, before the rooms go */
    if (hub->lws != NULL) {
        lws_context_destroy(hub->lws); /* first of the two calls: from inside the loop */
    }
    hub_wire_close(hub);
    hub_room_audit_stop(hub);
    hub_recheck_stop(hub);
    hub_rename_stop(hub);
    hub_room_free_all(hub);
    hub_presence_free(hub->presence);
    hub->presence = NULL;
    hub_presence_resync_free(hub->presence_resync);
    hub_presence_settler_free(hub->presence_settler);
    hub->presence_settler = NULL;
    hub->presence_resync = NULL;
    hub_channel_free(hub->channel);
    hub_drain_free(hub);
    hub->channel = NULL;
    store_free(hub->store);
    hub->store = NULL;
    uv_close((uv_handle_t *)&hub->sigterm, NULL);
    uv_close((uv_handle_t *)&hub->sigint, NULL);
    uv_close((uv_handle_t *)&hub->sweep, NULL);
}

static void
on_sweep(uv_timer_t *t)
{
    hub_conn_sweep(t->data);
    hub_clock_tick(t->data);
}

static void
on_redis_up(hub_t *hub)
{
    hub_clock_sample(hub);
    hub_presence_on_redis_up(hub);
}

static void
drained(hub_t *hub)
{
    stop(hub, 0);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
    hub_t *hub = sig->data;

    log_info("hub.signal", "signal=%d", signum);
    if (hub->draining || hub->lws == NULL) {
        stop(hub, 0); /* a second signal, or nothing to drain */
        return;
    }
    hub_drain_start(hub, drained);
}

/* Descriptors kept back from client sockets: PostgreSQL and Redis
 * connections, libuv's own, logs, the listener. */
#define FD_RESERVE 128

/* One past the highest descriptor open now: the node's own (the store's
 * connections, the loop's, logs, any it inherited), which the cap at
 * accept, a descriptor number, must not count as client sockets. */
static int
fds_in_use(void)
{
    DIR *d = opendir("/proc/self/fd");
    int top = open("/dev/null", O_RDONLY | O_CLOEXEC); /* the lowest free, without /proc */
    struct dirent *e;

    if (top >= 0) {
        close(top);
    }
    top = top < 0 ? 0 : top;
    while (d != NULL && (e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd != dirfd(d) && fd + 1 > top) {
            top = fd + 1;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return top;
}

/* Size the soft descriptor limit to HUB_MAX_CONNECTIONS (each socket is one
 * descriptor) past those in use, and derive the cap hub_listen.c enforces at
 * accept time. Not simply the hard limit: lws sizes its descriptor table by the soft limit,
 * and Debian's lws 4.1 (a _DEBUG build) walks that whole table at every
 * close, so a table of a million slots costs every close about a
 * millisecond and a disconnect storm minutes. */
static void
set_fd_cap(hub_t *hub)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)hub->cfg->max_connections + (rlim_t)fds_in_use() + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
        want = rl.rlim_max;
    }
    if (rl.rlim_cur != want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1u << 30) {
        hub->fd_cap = 1 << 30;
    } else {
        hub->fd_cap =
            rl.rlim_cur >= FD_RESERVE + 16 ? (int)rl.rlim_cur - FD_RESERVE : (int)rl.rlim_cur / 2;
    }
    log_info("hub.fd_limit", "nofile=%llu hard=%llu max_connections=%ld client_cap=%d",
             (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
             hub->cfg->max_connections, hub->fd_cap);
}

/* Serve on addr, a numeric address (NULL: every interface): lws's context
 * without a listener of its own, then ours (hub_listen.c). */
static void
bind_ws(hub_t *hub, const char *addr)
{
    struct lws_context_creation_info info;
    void *foreign[1] = {hub->loop};
    const hub_config_t *cfg = hub->cfg;
    char err[160];

    set_fd_cap(hub);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.user = hub;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = foreign;
    /* A policy with no idle times turns lws's off (without one it applies its
     * own, 300 s): it keeps a timer per socket in a sorted list and moves it
     * on every frame, a walk over all sockets each time. hub_conn_sweep pings
     * idle sockets instead (HUB_PING_INTERVAL). */
    info.retry_and_idle_policy = &no_idle_policy;
    info.max_http_header_data = 8192;
    info.timeout_secs = 10; /* handshake and HTTP idle: slowloris gets 10 s */
    info.keepalive_timeout = HUB_HTTP_KEEPALIVE_S;
    if (cfg->tls_cert != NULL && cfg->tls_key != NULL) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* HTTP/1.1 only: Debian's lws selects h2 for a client offering it,
         * as every browser does, and then answers nothing (the pages and the
         * API hung); WebSockets are HTTP/1.1 upgrades anyway. */
        info.alpn = "http/1.1";
    }
    hub->lws = lws_create_context(&info);
    if (hub->lws == NULL || lws_get_vhost_by_name(hub->lws, "default") == NULL) {
        /* No stop through the loop: when its vhost failed (bad TLS files),
         * lws destroyed what it made and unloaded its libuv plugin, whose
         * handle callbacks are still on our loop, so running the loop again
         * would jump into unmapped code. Nothing is served or stored yet. */
        log_error("hub.listen_failed", "addr=%s why=\"lws vhost: TLS files? (lws.log above)\"",
                  cfg->listen);
        fflush(stderr);
        _exit(1);
    }
    if (hub_listen_open(hub, addr, cfg->listen_port, cfg->reuseport, info.ssl_cert_filepath != NULL,
                        err, sizeof(err)) < 0) {
        log_error("hub.listen_failed", "addr=%s why=\"%s\"", cfg->listen, err);
        stop(hub, 1);
        return;
    }
    log_info("hub.listening", "addr=%s node=%s tls=%s reuseport=%s", cfg->listen, cfg->node_id,
             info.ssl_cert_filepath != NULL ? "on" : "off", cfg->reuseport ? "on" : "off");
}

static void
on_listen_resolved(void *ud, const char *ip, const char *err)
{
    hub_t *hub = ud;

    if (hub->stopping) {
        return;
    }
    if (ip == NULL) {
        log_error("hub.listen_failed", "addr=%s why=\"lookup: %s\"", hub->cfg->listen, err);
        stop(hub, 1); /* no lws context yet: the loop stops cleanly */
        return;
    }
    bind_ws(hub, ip);
}

/*
 * HUB_LISTEN's host: every interface, or an address as given; a host name
 * ("localhost") is looked up first, off the loop, to its first IPv4 address.
 */
static void
listen_ws(hub_t *hub)
{
    const char *host = hub->cfg->listen_host;
    unsigned char probe[sizeof(struct in6_addr)];
    const char *err = NULL;

    hub_schema_check(hub, NULL, NULL); /* logs store.schema_behind now, not at a first /ready */
    if (host[0] == '\0' || inet_pton(AF_INET, host, probe) == 1 ||
        inet_pton(AF_INET6, host, probe) == 1) {
        bind_ws(hub, host[0] != '\0' ? host : NULL);
    } else if (hub_resolve_start(hub->loop, host, on_listen_resolved, hub, &err) == NULL) {
        on_listen_resolved(hub, NULL, err);
    }
}

static void
on_serve_migrated(void *ud, int applied, const char *err)
{
    hub_t *hub = ud;

    if (hub->stopping) {
        return;
    }
    if (err != NULL) {
        log_error("migrate.failed", "err=\"%s\"", err);
        /* Stopped by run() once the loop returns, not from inside the store. */
        hub->exit_code = 1;
        uv_stop(hub->loop);
        return;
    }
    log_info("migrate.done", "applied=%d", applied);
    listen_ws(hub);
}

/* What was published in the room before the subscription reached nobody
 * here: its messages are checked against the store, its presence against
 * Redis. */
static void
on_room_subscribed(hub_t *hub, int64_t room_id)
{
    hub_room_on_subscribed(hub, room_id);
    hub_presence_resync(hub, room_id);
}

/* Kicks and renames other nodes published while this node was not
 * subscribed (its link down, or not yet up) never came: its sockets are
 * checked against the store, and their users read again. */
static void
on_control_subscribed(hub_t *hub)
{
    hub_recheck_sockets(hub, 0, 0);
    hub_rename_refresh(hub, 0);
}

static void
start_serving(hub_t *hub)
{
    static const hub_channel_hooks_t channel_hooks = {
        .on_envelope = hub_deliver_on_envelope,
        .on_room_subscribed = on_room_subscribed,
        .on_up = on_redis_up,
        .on_control_subscribed = on_control_subscribed,
    };

    hub_redis_target_t target;
    char err[128];
    bool redis_off = hub->cfg->redis != NULL && strcmp(hub->cfg->redis, "off") == 0;

    if (!redis_off && hub_config_redis_target(hub->cfg, &target, err, sizeof(err)) < 0) {
        log_error("hub.config_failed", "err=\"%s\"", err); /* hub_config_load() refuses it first */
        stop(hub, 1);
        return;
    }
    open_store(hub);
    hub_room_audit_start(hub);
    hub_recheck_start(hub);
    hub_rename_start(hub);
    hub->presence = hub_presence_new(hub);
    hub->presence_resync = hub_presence_resync_new(hub);
    hub->presence_settler = hub_presence_settler_new(hub);
    /* With Redis on, the layer is Redis even while Redis is unreachable or
     * its name does not resolve: /ready says so until the link is up. */
    hub->channel = hub_channel_new(hub, redis_off ? NULL : &target, &channel_hooks);
    if (hub->cfg->run_migrations &&
        store_migrate(hub->store, (unsigned)hub->cfg->migration_lock_wait, on_serve_migrated,
                      hub) == 0) {
        return;
    }
    if (hub->cfg->run_migrations) {
        log_error("migrate.failed", "err=\"%s\"", store_err_unavailable);
        stop(hub, 1);
        return;
    }
    listen_ws(hub);
}

static int
run(hub_config_t *cfg, step_fn first)
{
    hub_t hub;
    uv_loop_t loop;

    memset(&hub, 0, sizeof(hub));
    hub.cfg = cfg;
    hub.loop = &loop;
    hub_node_id_init(&hub);
    hub_log_level = hub_log_level_parse(cfg->log_level);
    lws_set_log_level(LLL_ERR | LLL_WARN, hub_log_from_lws);
    if (uv_loop_init(&loop) != 0) {
        log_error("hub.loop_failed", "err=uv_loop_init");
        return 1;
    }
    hub_map_init(&hub.conns);
    hub_map_init(&hub.rooms);
    hub_map_init(&hub.http_reqs);
    hub_map_init(&hub.ip_conns);
    hub_heads_init(&hub.heads);
    uv_signal_init(&loop, &hub.sigterm);
    uv_signal_init(&loop, &hub.sigint);
    hub.sigterm.data = hub.sigint.data = &hub;
    uv_signal_start(&hub.sigterm, on_signal, SIGTERM);
    uv_signal_start(&hub.sigint, on_signal, SIGINT);
    hub_room_checks_init(&hub);
    uv_timer_init(&loop, &hub.sweep);
    hub.sweep.data = &hub;
    uv_timer_start(&hub.sweep, on_sweep, 1000, 1000);
    hub_wire_init(&hub);
    hub_wsock_init(&hub);
    if (cfg->jwt_secret != NULL) {
        hub.jwt_key =
            proto_jwt_key_new((const unsigned char *)cfg->jwt_secret, strlen(cfg->jwt_secret));
    }
    first(&hub);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (!hub.stopping) {
        /* uv_stop() ended the run (chathub migrate): close what is left. */
        stop(&hub, hub.exit_code);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (hub.lws != NULL) {
        lws_context_destroy(hub.lws); /* second call, after the loop returned */
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
    hub_map_clear(&hub.conns);
    hub_map_clear(&hub.rooms);
    hub_map_clear(&hub.http_reqs);
    hub_map_clear(&hub.ip_conns);
    hub_heads_clear(&hub.heads);
    free(hub.peers);
    proto_jwt_key_free(hub.jwt_key);
    log_info("hub.exit", "node=%s code=%d", cfg->node_id, hub.exit_code);
    return hub.exit_code;
}

/* A secret anyone could guess (the env example once shipped "change-me")
 * lets them mint tokens or call the API: said at every start. Unset or
 * empty refuses every JWT, or every API call. RFC 7518 3.2 wants an HS256
 * key of at least 32 bytes. */
static void
warn_weak_secret(const char *name, const char *value, size_t want)
{
    if (value != NULL && value[0] != '\0' && strlen(value) < want) {
        log_warn("config.weak_secret", "name=%s bytes=%zu want=%zu", name, strlen(value), want);
    }
}

int
hub_serve(hub_config_t *cfg)
{
    char redacted[256], quoted[1100];

    hub_log_redact_url(cfg->database_url, redacted, sizeof(redacted));
    hub_log_quote(redacted, quoted, sizeof(quoted)); /* its path is the operator's text */
    log_info("hub.start", "node=%s listen=%s database=%s", cfg->node_id, cfg->listen, quoted);
    warn_weak_secret("HUB_JWT_SECRET", cfg->jwt_secret, 32);
    warn_weak_secret("HUB_API_KEY", cfg->api_key, 16);
    return run(cfg, start_serving);
}

static void
on_migrated(void *ud, int applied, const char *err)
{
    hub_t *hub = ud;

    if (err != NULL) {
        log_error("migrate.failed", "err=\"%s\"", err);
    } else {
        log_info("migrate.done", "applied=%d", applied);
    }
    /* Not stopped here: the store is still inside its own callback. */
    hub->exit_code = err != NULL ? 1 : 0;
    uv_stop(hub->loop);
}

int
hub_run_task(hub_config_t *cfg, void (*start)(hub_t *hub))
{
    return run(cfg, start);
}

void
hub_open_store(hub_t *hub)
{
    open_store(hub);
}

static void
start_migrating(hub_t *hub)
{
    open_store(hub);
    if (store_migrate(hub->store, (unsigned)hub->cfg->migration_lock_wait, on_migrated, hub) < 0) {
        log_error("migrate.failed", "err=\"%s\"", store_err_unavailable);
        hub->exit_code = 1;
        uv_stop(hub->loop);
    }
}

int
hub_migrate(hub_config_t *cfg)
{
    return run(cfg, start_migrating);
}
