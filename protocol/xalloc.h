/*
 * Allocation that never returns NULL: out of memory aborts the process.
 * Every input has a hard size cap, so untrusted input cannot drive allocation;
 * running out of memory is therefore a host problem, not a request error.
 */
#ifndef CHATHUB_XALLOC_H
#define CHATHUB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);                 /* never NULL; free() it */
void *xcalloc(size_t n, size_t sz);      /* never NULL; free() it */
void *xrealloc(void *p, size_t n);       /* never NULL */
char *xstrdup(const char *s);            /* never NULL; free() it */
char *xstrndup(const char *s, size_t n); /* copies at most n bytes and a NUL; free() it */

/* An array of *n elements of sz bytes grown, when index i is past its end, to
 * the first doubling of *n (1024 to start) that holds i, the new elements
 * zeroed: a table indexed by descriptor. Returns the array; *n is updated. */
void *xgrow_zeroed(void *p, size_t *n, size_t i, size_t sz);

/* Route cJSON's allocations through xmalloc so OOM aborts there too. Call once at startup. */
void xalloc_init_cjson(void);

#endif
