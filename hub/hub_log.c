/*
 * The hub's log writer: key=value lines with a UTC timestamp, one write(2)
 * per line so lines from several processes sharing stderr do not interleave.
 */
#include "hub_log.h"

#include <stdarg.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int hub_log_level = HUB_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
hub_log_write(int level, const char *event, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int w;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03dZ level=%s event=%s", (int)(tv.tv_usec / 1000),
                 level_names[level < 0 || level > HUB_LOG_ERROR ? HUB_LOG_ERROR : level], event);
    n += (size_t)w;
    if (fmt != NULL && fmt[0] != '\0' && n + 1 < sizeof(line)) {
        line[n++] = ' ';
        va_start(ap, fmt);
        w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        n = w < 0 ? n : n + (size_t)w;
        n -= w == 0; /* an empty tail ("%s" of ""): no trailing blank */
    }
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 2; /* truncated: still one line */
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        return; /* nowhere left to report it */
    }
}

int
hub_log_level_parse(const char *s)
{
    for (int i = 0; i <= HUB_LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            return i;
        }
    }
    if (strcmp(s, "warning") == 0) {
        return HUB_LOG_WARN;
    }
    return -1;
}

void
hub_log_quote(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (outlen < 3) {
        if (outlen > 0) {
            out[0] = '\0';
        }
        return;
    }
    out[n++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[4];
        size_t k = 0;
        if (c == '"' || c == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)c;
        } else if (c < 0x20 || c > 0x7e) {
            esc[k++] = '\\';
            esc[k++] = 'x';
            esc[k++] = hex[c >> 4];
            esc[k++] = hex[c & 15];
        } else {
            esc[k++] = (char)c;
        }
        if (n + k + 2 > outlen) {
            break; /* the closing quote and the NUL still fit */
        }
        memcpy(out + n, esc, k);
        n += k;
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* The end of the scheme's "://" when url starts with one (RFC 3986 §3.1),
 * else NULL: a key=value conninfo may hold "://" in a value. */
static const char *
after_scheme(const char *url)
{
    const char *p = url;

    if (!isalpha((unsigned char)*p)) {
        return NULL;
    }
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    return strncmp(p, "://", 3) == 0 ? p + 3 : NULL;
}

/* Whether the n bytes at s are host[:port] entries, commas between them
 * (libpq's host lists): what is not is no host ("postgres://u:pw"). */
static bool
hosts_only(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t start = i;
        if (s[i] == '[') {
            while (i < n &&
                   (isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.' || s[i] == '[')) {
                i++;
            }
            if (i == n || s[i++] != ']') {
                return false;
            }
        } else {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' ||
                             s[i] == '_' || s[i] == '%')) {
                i++;
            }
        }
        if (i == start) {
            return false;
        }
        if (i < n && s[i] == ':') {
            size_t digits = ++i;
            while (i < n && isdigit((unsigned char)s[i])) {
                i++;
            }
            if (i == digits) {
                return false;
            }
        }
        if (i < n && s[i++] != ',') {
            return false;
        }
    }
    return true;
}

void
hub_log_redact_url(const char *url, char *out, size_t outlen)
{
    const char *rest = url != NULL ? after_scheme(url) : NULL;
    const char *at = rest != NULL ? strrchr(rest, '@') : NULL;
    size_t n;

    if (outlen == 0) {
        return;
    }
    out[0] = '\0';
    if (url == NULL || *url == '\0') {
        snprintf(out, outlen, "(none)");
        return;
    }
    if (rest == NULL) {
        /* key=value conninfo: say nothing of it but that it was given. */
        snprintf(out, outlen, "(conninfo)");
        return;
    }
    n = (size_t)snprintf(out, outlen, "%.*s", (int)(rest - url), url);
    if (n >= outlen) {
        return;
    }
    /* Everything before the last '@' is the user part, even when the
     * password in it holds an unencoded '/', '@', '?' or '#' (an operator
     * pasting a generated one). Unless a '?' or '#' comes first: then the
     * '@' may be in the query, and what follows it a query's password, so
     * nothing past the scheme is shown; nor is a host part that is not
     * hosts and ports (a password with no '@' after it). */
    if (at != NULL && strcspn(rest, "?#") < (size_t)(at - rest)) {
        snprintf(out + n, outlen - n, "(hidden)");
        return;
    }
    if (at != NULL) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *user_end = colon != NULL ? colon : at;
        n += (size_t)snprintf(out + n, outlen - n, "%.*s@", (int)(user_end - rest), rest);
        rest = at + 1;
    }
    if (!hosts_only(rest, strcspn(rest, "/?#"))) {
        snprintf(out + (n < outlen ? n : outlen - 1), n < outlen ? outlen - n : 1, "(hidden)");
        return;
    }
    if (n < outlen) {
        snprintf(out + n, outlen - n, "%.*s", (int)strcspn(rest, "?#"), rest);
    }
}

/* lws 4.1 logs this as an error whenever a socket is adopted with its first
 * bytes, which hub_listen.c does on purpose for every browser that sends its
 * JWT as a subprotocol. */
static const char lws_readbuf_line[] = "adopt_socket_readbuf: calling service";

void
hub_log_from_lws(int level, const char *line)
{
    char copy[512];
    size_t n = strlen(line);

    if (n >= sizeof(copy)) {
        n = sizeof(copy) - 1;
    }
    memcpy(copy, line, n);
    while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == '\r')) {
        n--;
    }
    copy[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (copy[i] == '"') {
            copy[i] = '\'';
        }
    }
    /* lws errors are level 1; everything else is debug noise for operators. */
    if (level == 1 && strncmp(copy, lws_readbuf_line, sizeof(lws_readbuf_line) - 1) != 0) {
        log_warn("lws.log", "msg=\"%s\"", copy);
    } else {
        log_debug("lws.log", "msg=\"%s\"", copy);
    }
}
