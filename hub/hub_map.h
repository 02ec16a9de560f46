/*
 * An open-addressing hash map from a non-zero 64-bit key to a pointer, for
 * connections by id and rooms by id. Not thread-safe (there are no threads).
 */
#ifndef CHATHUB_HUB_MAP_H
#define CHATHUB_HUB_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hub_map {
    uint64_t *_keys; /* 0: empty slot */
    void **_vals;
    size_t _cap; /* power of two, or 0 */
    size_t count;
} hub_map_t;

void hub_map_init(hub_map_t *m);
void hub_map_clear(hub_map_t *m); /* frees the table, not the values */

void *hub_map_get(const hub_map_t *m, uint64_t key);     /* NULL when absent */
void hub_map_put(hub_map_t *m, uint64_t key, void *val); /* key != 0; replaces */
void *hub_map_del(hub_map_t *m, uint64_t key);           /* the removed value or NULL */

/* Iterate: for (size_t i = 0; hub_map_next(m, &i, &k, &v);) — no changes while iterating. */
int hub_map_next(const hub_map_t *m, size_t *i, uint64_t *key, void **val);

#endif
