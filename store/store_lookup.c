/*
 * Parallel host lookups for one connect attempt: one resolve hook call per
 * name, all started at once, their answers kept by host index for
 * store_hosts_target(). Timing out is the caller's: it reads the target
 * from whatever has answered when its deadline comes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store_lookup.h"
#include "xalloc.h"

struct one_lookup {
    store_lookup_t *l;
    void *handle; /* in flight, or NULL */
};

struct store_lookup {
    const store_hooks_t *h;
    const store_hosts_t *hosts;
    store_lookup_cb done;
    void *ud;
    struct one_lookup *one; /* one per host */
    char **addr;            /* per host: the answer, "" for none needed, NULL: none (yet) */
    size_t pending;
    char err[120]; /* the last failed lookup's, for the log */
};

static void
on_resolved(void *ud, const char *addr, const char *err)
{
    struct one_lookup *one = ud;
    store_lookup_t *l = one->l;

    one->handle = NULL; /* spent */
    if (addr != NULL) {
        l->addr[one - l->one] = xstrdup(addr);
    } else {
        snprintf(l->err, sizeof(l->err), "%s", err != NULL ? err : "unknown");
    }
    if (--l->pending == 0) {
        l->done(l->ud); /* last: done may free l */
    }
}

store_lookup_t *
store_lookup_new(const store_hooks_t *h, const store_hosts_t *hosts, store_lookup_cb done, void *ud)
{
    store_lookup_t *l = xcalloc(1, sizeof(*l));

    l->h = h;
    l->hosts = hosts;
    l->done = done;
    l->ud = ud;
    l->one = xcalloc(hosts->n, sizeof(*l->one));
    l->addr = xcalloc(hosts->n, sizeof(*l->addr));
    snprintf(l->err, sizeof(l->err), "unknown");
    for (size_t i = 0; i < hosts->n; i++) {
        l->one[i].l = l;
        if (hosts->lookup[i]) {
            l->pending++;
        } else {
            l->addr[i] = xstrdup("");
        }
    }
    /* All counted before any starts; the hook answers on a later turn (store.h),
     * so no answer can find the count short. */
    for (size_t i = 0; i < hosts->n; i++) {
        if (!hosts->lookup[i]) {
            continue;
        }
        l->one[i].handle = h->resolve(h->ud, hosts->name[i], on_resolved, &l->one[i]);
        if (l->one[i].handle == NULL) {
            store_lookup_free(l);
            return NULL;
        }
    }
    return l;
}

bool
store_lookup_target(const store_lookup_t *l, store_target_t *t)
{
    return store_hosts_target(l->hosts, l->addr, t);
}

const char *
store_lookup_err(const store_lookup_t *l)
{
    return l->err;
}

void
store_lookup_free(store_lookup_t *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->hosts->n; i++) {
        if (l->one[i].handle != NULL) {
            l->h->resolve_cancel(l->one[i].handle);
        }
        free(l->addr[i]);
    }
    free(l->one);
    free(l->addr);
    free(l);
}
