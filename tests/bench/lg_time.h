/*
 * The load generator's one clock: CLOCK_MONOTONIC in nanoseconds. Send times
 * travel inside message texts, so sender and receiver must read the same clock,
 * which holds because both live in this process.
 */
#ifndef CHATHUB_LG_TIME_H
#define CHATHUB_LG_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
lg_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define LG_MS (1000000ull)
#define LG_SEC (1000000000ull)

#endif
