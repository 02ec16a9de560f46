/* Field lookups by substring; see lg_scan.h for why that is enough here. */
#include "lg_scan.h"

#include <stdio.h>
#include <string.h>

/* Where the value of "key" starts, or NULL. */
static const char *
value_of(const char *s, size_t len, const char *key)
{
    char pat[64];
    int n = snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p;

    if (n <= 0 || (size_t)n >= sizeof(pat)) {
        return NULL;
    }
    p = memmem(s, len, pat, (size_t)n);
    return p != NULL ? p + n : NULL;
}

bool
lg_scan_type_is(const char *s, size_t len, const char *type)
{
    static const char head[] = "{\"type\":\"";
    size_t hl = sizeof(head) - 1, tl = strlen(type);
    char pat[64];
    int n;

    /* The hub puts "type" first; the search below covers any other order. */
    if (len > hl + tl && memcmp(s, head, hl) == 0) {
        return memcmp(s + hl, type, tl) == 0 && s[hl + tl] == '"';
    }
    n = snprintf(pat, sizeof(pat), "\"type\":\"%s\"", type);
    return n > 0 && (size_t)n < sizeof(pat) && memmem(s, len, pat, (size_t)n) != NULL;
}

int
lg_scan_int(const char *s, size_t len, const char *key, int64_t *out)
{
    const char *p = value_of(s, len, key), *end = s + len;
    int64_t v = 0;
    bool neg = false, any = false;

    if (p == NULL) {
        return -1;
    }
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        any = true;
    }
    if (!any) {
        return -1;
    }
    *out = neg ? -v : v;
    return 0;
}

const char *
lg_scan_str(const char *s, size_t len, const char *key, size_t *vlen)
{
    const char *p = value_of(s, len, key), *end = s + len, *q;

    if (p == NULL || p >= end || *p != '"') {
        return NULL;
    }
    p++;
    for (q = p; q < end && *q != '"'; q++) {
        if (*q == '\\') {
            q++;
        }
    }
    if (q >= end) {
        return NULL;
    }
    *vlen = (size_t)(q - p);
    return p;
}
