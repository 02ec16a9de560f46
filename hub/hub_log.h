/*
 * One line per event on stderr: ts=… level=… event=noun.verb key=value…
 * The macros test the level before evaluating their arguments. Only hub/ logs;
 * never pass a token, a password or a full connection string.
 */
#ifndef CHATHUB_HUB_LOG_H
#define CHATHUB_HUB_LOG_H

#include <inttypes.h>
#include <stddef.h>

enum { HUB_LOG_DEBUG = 0, HUB_LOG_INFO, HUB_LOG_WARN, HUB_LOG_ERROR };

/* Set once at startup, before the loop runs. */
extern int hub_log_level;

/* Write one line: event is "noun.verb", fmt formats the key=value tail (may be ""). */
void hub_log_write(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse "debug", "info", "warn", "error"; -1 when unknown. */
int hub_log_level_parse(const char *s);

/* Copy url into out with any password and query removed (postgresql://u:x@h/db?… →
 * postgresql://u@h/db). Always NUL-terminates. */
void hub_log_redact_url(const char *url, char *out, size_t outlen);

/* s as one log value: in double quotes, with '"' and '\\' escaped and any
 * byte outside printable ASCII as \xNN, cut to fit out. Text a client sent
 * can then neither add a key=value of its own nor break the line. */
void hub_log_quote(const char *s, char *out, size_t outlen);

/* lws_set_log_level() emitter: lws lines become event=lws.log lines. */
void hub_log_from_lws(int level, const char *line);

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (hub_log_level <= HUB_LOG_DEBUG) {                                                      \
            hub_log_write(HUB_LOG_DEBUG, __VA_ARGS__);                                             \
        }                                                                                          \
    } while (0)
#define log_info(...)                                                                              \
    do {                                                                                           \
        if (hub_log_level <= HUB_LOG_INFO) {                                                       \
            hub_log_write(HUB_LOG_INFO, __VA_ARGS__);                                              \
        }                                                                                          \
    } while (0)
#define log_warn(...)                                                                              \
    do {                                                                                           \
        if (hub_log_level <= HUB_LOG_WARN) {                                                       \
            hub_log_write(HUB_LOG_WARN, __VA_ARGS__);                                              \
        }                                                                                          \
    } while (0)
#define log_error(...)                                                                             \
    do {                                                                                           \
        if (hub_log_level <= HUB_LOG_ERROR) {                                                      \
            hub_log_write(HUB_LOG_ERROR, __VA_ARGS__);                                             \
        }                                                                                          \
    } while (0)

#endif
