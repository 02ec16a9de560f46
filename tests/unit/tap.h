/*
 * A minimal TAP producer for the unit tests (meson `protocol: 'tap'`).
 * ok() records one assertion; tap_done() prints the plan and returns the exit code.
 */
#ifndef CHATHUB_TAP_H
#define CHATHUB_TAP_H

#include <stdio.h>

static int tap_n;
static int tap_failed;

#define ok(cond, ...)                                                                              \
    do {                                                                                           \
        int tap_ok_ = (cond) ? 1 : 0; /* evaluated once: cond may have effects */                  \
        tap_n++;                                                                                   \
        if (tap_ok_) {                                                                             \
            printf("ok %d - ", tap_n);                                                             \
        } else {                                                                                   \
            tap_failed++;                                                                          \
            printf("not ok %d - ", tap_n);                                                         \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        if (!tap_ok_) {                                                                            \
            printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_n);
    fflush(stdout);
    return tap_failed == 0 ? 0 : 1;
}

#endif
