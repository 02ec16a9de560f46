/*
 * Control envelopes: kind 'c', room and user in the header, the error code
 * in the seq field, and a verb as payload ("close_user", or
 * "close_token <sha256 hex>"), behind the late mark (hub_channel.h) when
 * the origin publishes it again after its Redis link was down.
 */
#include "hub_control.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hub_clock.h"
#include "hub_conn.h"
#include "hub_log.h"
#include "hub_presence.h"
#include "hub_recheck.h"
#include "hub_rename.h"
#include "xalloc.h"

#define VERB_CLOSE_USER "close_user"
#define VERB_CLOSE_TOKEN "close_token "
#define VERB_RENAME "rename_user " /* then the role, a space, the full name */
/* A kick's envelope reaches the other nodes within milliseconds unless
 * Redis stalls (a write pause of 1.5 s, as a failover makes, let a socket
 * opened after a re-add get the kick: an audit); a socket opened within
 * this long before it came may postdate the kick (close_user_now). */
#define KICK_RECENT_MS 10000

static void
key_digest(const char *key, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(key, strlen(key), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
}

size_t
hub_control_close_user(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err)
{
    size_t n = hub_conn_close_user(hub, user_id, room_id, err, UINT64_MAX);

    hub_channel_publish(hub->channel, HUB_ENV_CONTROL, room_id, (int64_t)err, user_id,
                        (const unsigned char *)VERB_CLOSE_USER, strlen(VERB_CLOSE_USER));
    return n;
}

static size_t
close_token_digest(hub_t *hub, const char *hex)
{
    size_t i = 0, n = 0;
    uint64_t k;
    void *val;
    char mine[65];

    while (hub_map_next(&hub->conns, &i, &k, &val)) {
        hub_conn_t *c = val;
        if (c->state == HUB_CONN_CLOSING || c->auth.opaque[0] == '\0') {
            continue;
        }
        key_digest(c->auth.opaque, mine);
        if (strcmp(mine, hex) == 0) {
            c->kicked = true;
            hub_conn_fail(c, PROTO_ERR_UNAUTHORIZED, "token revoked");
            n++;
        }
    }
    return n;
}

void
hub_control_close_token(hub_t *hub, const char *key)
{
    char payload[sizeof(VERB_CLOSE_TOKEN) + 65];
    char hex[65];

    key_digest(key, hex);
    close_token_digest(hub, hex);
    snprintf(payload, sizeof(payload), "%s%s", VERB_CLOSE_TOKEN, hex);
    hub_channel_publish(hub->channel, HUB_ENV_CONTROL, 0, 0, 0, (const unsigned char *)payload,
                        strlen(payload));
}

void
hub_control_rename_user(hub_t *hub, int64_t user_id, const char *full_name, const char *role)
{
    proto_user_t user = {.id = user_id, .full_name = full_name, .role = role};
    size_t vlen = strlen(VERB_RENAME), rlen = strlen(role), nlen = strlen(full_name);
    unsigned char *payload = xmalloc(vlen + rlen + 1 + nlen);

    /* At once, so that this node's sockets show it when the call answers;
     * then read again, as a rename committed since may have been applied. */
    hub_rename_apply(hub, &user, 1, true);
    hub_rename_refresh(hub, user_id);
    memcpy(payload, VERB_RENAME, vlen);
    memcpy(payload + vlen, role, rlen);
    payload[vlen + rlen] = ' ';
    memcpy(payload + vlen + rlen + 1, full_name, nlen);
    hub_channel_publish(hub->channel, HUB_ENV_CONTROL, 0, 0, user_id, payload,
                        vlen + rlen + 1 + nlen);
    free(payload);
}

/* "<role> <full name>" from another node; the name may hold spaces, the role
 * does not. Applied as it comes, then read again from the store, which
 * settles renames that arrive out of order (hub_rename.h). */
static void
rename_from(hub_t *hub, int64_t user_id, const unsigned char *p, size_t len)
{
    const unsigned char *sp = memchr(p, ' ', len);
    size_t rlen = sp != NULL ? (size_t)(sp - p) : 0;

    if (sp == NULL || rlen == 0 || rlen > 32 || memchr(p, '\0', len) != NULL) {
        log_warn("control.bad_rename", "user=%" PRId64 " bytes=%zu", user_id, len);
        return;
    }
    char *role = xstrndup((const char *)p, rlen);
    char *name = xstrndup((const char *)sp + 1, len - rlen - 1);
    proto_user_t user = {.id = user_id, .full_name = name, .role = role};
    hub_rename_apply(hub, &user, 1, false);
    hub_rename_refresh(hub, user_id);
    free(role);
    free(name);
}

/* A kick made minutes ago: a removal or a deactivation may have been undone
 * since (the user added back, and connected again here), so the store says
 * whose sockets go. A disconnect has no trace in the store: it closes the
 * sockets that were open when it was made (made_ms, the origin's cluster clock;
 * 0 from an older node: all), not the ones the user opened since. A revoked
 * token is closed as it comes: it is never undone. */
static void
close_user_late(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err, int64_t made_ms)
{
    if (err == PROTO_ERR_FORBIDDEN || err == PROTO_ERR_UNAUTHORIZED) {
        hub_recheck_sockets(hub, user_id, room_id);
        return;
    }
    uint64_t opened_by = UINT64_MAX, now = hub_now_ms(hub);
    if (made_ms > 0) {
        /* Its age on this node's loop clock; an origin whose clock is
         * ahead of ours makes it now, not in the future. */
        int64_t age = hub_clock_ms(hub) - made_ms;
        age = age > 0 ? age : 0;
        opened_by = (uint64_t)age < now ? now - (uint64_t)age : 0;
    }
    size_t n = hub_conn_close_user(hub, user_id, room_id, err, opened_by);
    log_info("control.late_close", "user=%" PRId64 " room=%" PRId64 " closed=%zu", user_id, room_id,
             n);
}

/* A removal or a deactivation just made elsewhere. The user's sockets that
 * were open well before it go at once. One opened in the last seconds may
 * have been let in after the user was added back (a removal then a re-add,
 * made on two nodes one after the other, whose kick reached this node after
 * the new socket's join): the store decides for those, as for a late kick. */
static void
close_user_now(hub_t *hub, int64_t user_id, int64_t room_id, proto_err_t err)
{
    uint64_t now = hub_now_ms(hub);

    hub_conn_close_user(hub, user_id, room_id, err,
                        now > KICK_RECENT_MS ? now - KICK_RECENT_MS : 0);
    hub_recheck_kick(hub, user_id, room_id, err);
}

void
hub_control_apply(hub_t *hub, const hub_envelope_t *env)
{
    size_t vlen = strlen(VERB_CLOSE_TOKEN);
    const unsigned char *payload = (const unsigned char *)env->payload;
    size_t len = env->len;
    int64_t made_ms = 0;
    bool late = hub_channel_late_strip(&payload, &len, &made_ms);
    const char *verb = (const char *)payload;

    if (len == strlen(VERB_CLOSE_USER) && memcmp(verb, VERB_CLOSE_USER, len) == 0 &&
        env->seq >= 0 && env->seq < PROTO_ERR__COUNT) {
        proto_err_t err = (proto_err_t)env->seq;
        if (late) {
            close_user_late(hub, env->user, env->room_id, err, made_ms);
        } else if (err == PROTO_ERR_FORBIDDEN || err == PROTO_ERR_UNAUTHORIZED) {
            close_user_now(hub, env->user, env->room_id, err);
        } else {
            hub_conn_close_user(hub, env->user, env->room_id, (proto_err_t)env->seq, UINT64_MAX);
        }
    } else if (len > strlen(VERB_RENAME) && memcmp(verb, VERB_RENAME, strlen(VERB_RENAME)) == 0 &&
               env->user > 0) {
        rename_from(hub, env->user, payload + strlen(VERB_RENAME), len - strlen(VERB_RENAME));
    } else if (len == vlen + 64 && memcmp(verb, VERB_CLOSE_TOKEN, vlen) == 0) {
        char hex[65];
        memcpy(hex, verb + vlen, 64);
        hex[64] = '\0';
        close_token_digest(hub, hex);
    } else {
        log_warn("control.unknown", "bytes=%zu late=%d", env->len, late);
    }
}
