/*
 * The cluster's clock (hub_clock.h): TIME on the command link, its answer
 * taken as read halfway through the round trip.
 */
#include "hub_clock.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "hub_channel.h"
#include "hub_log.h"
#include "hub_redis.h"
#include "xalloc.h"

#define RESAMPLE_MS (5 * 60 * 1000)
/* A slower answer says too little of when Redis read its clock. */
#define RTT_MAX_MS 1000
/* An offset that moves more than this since the last answer is logged. */
#define LOG_STEP_MS 1000

typedef struct time_ask {
    hub_t *hub;
    int64_t sent_ms; /* our wall clock */
} time_ask_t;

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
hub_clock_ms(const hub_t *hub)
{
    return wall_ms() + hub->clock.offset_ms;
}

/* TIME's answer: seconds and microseconds as two bulk strings. */
static bool
parse_time(const redisReply *r, int64_t *ms)
{
    char *end;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        return false;
    }
    long long sec = strtoll(r->element[0]->str, &end, 10);
    if (*end != '\0' || sec <= 0) {
        return false;
    }
    long long usec = strtoll(r->element[1]->str, &end, 10);
    if (*end != '\0' || usec < 0 || usec >= 1000000) {
        return false;
    }
    *ms = (int64_t)sec * 1000 + (int64_t)usec / 1000;
    return true;
}

static void
on_time(void *ud, void *reply, const char *err)
{
    time_ask_t *ask = ud;
    hub_t *hub = ask->hub;
    int64_t now = wall_ms(), sent = ask->sent_ms, rtt = now - sent, redis_ms;

    free(ask);
    hub->clock.pending = false;
    if (err != NULL || !parse_time(reply, &redis_ms) || rtt < 0 || rtt > RTT_MAX_MS) {
        log_debug("clock.sample_skipped", "err=\"%s\" rtt_ms=%" PRId64, err ? err : "", rtt);
        return;
    }
    int64_t offset = redis_ms - (sent + rtt / 2);
    int64_t step = offset - hub->clock.offset_ms;
    if (!hub->clock.synced || step > LOG_STEP_MS || step < -LOG_STEP_MS) {
        log_info("clock.synced", "offset_ms=%" PRId64 " rtt_ms=%" PRId64, offset, rtt);
    }
    hub->clock.offset_ms = offset;
    hub->clock.synced = true;
}

void
hub_clock_sample(hub_t *hub)
{
    hub_redis_t *r = hub_channel_redis(hub->channel);
    const char *argv[] = {"TIME"};

    if (hub->clock.pending || r == NULL || !hub_redis_is_up(r)) {
        return;
    }
    time_ask_t *ask = xmalloc(sizeof(*ask));
    ask->hub = hub;
    ask->sent_ms = wall_ms();
    if (hub_redis_command(r, on_time, ask, 1, argv, NULL) < 0) {
        free(ask);
        return;
    }
    hub->clock.pending = true;
    hub->clock.asked_ms = hub_now_ms(hub);
}

void
hub_clock_tick(hub_t *hub)
{
    if (hub_now_ms(hub) - hub->clock.asked_ms >= RESAMPLE_MS || !hub->clock.synced) {
        hub_clock_sample(hub);
    }
}
