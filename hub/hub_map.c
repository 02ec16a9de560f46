/*
 * Linear probing with backward-shift deletion (no tombstones), load factor
 * at most 1/2.
 */
#include "hub_map.h"

#include <stdlib.h>

#include "xalloc.h"

static size_t
slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= UINT64_C(0xff51afd7ed558ccd);
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void
hub_map_init(hub_map_t *m)
{
    m->_keys = NULL;
    m->_vals = NULL;
    m->_cap = 0;
    m->count = 0;
}

void
hub_map_clear(hub_map_t *m)
{
    free(m->_keys);
    free(m->_vals);
    hub_map_init(m);
}

void *
hub_map_get(const hub_map_t *m, uint64_t key)
{
    if (m->_cap == 0) {
        return NULL;
    }
    for (size_t i = slot_of(key, m->_cap);; i = (i + 1) & (m->_cap - 1)) {
        if (m->_keys[i] == key) {
            return m->_vals[i];
        }
        if (m->_keys[i] == 0) {
            return NULL;
        }
    }
}

static void
grow(hub_map_t *m)
{
    hub_map_t bigger;

    bigger._cap = m->_cap == 0 ? 16 : m->_cap * 2;
    bigger._keys = xcalloc(bigger._cap, sizeof(uint64_t));
    bigger._vals = xcalloc(bigger._cap, sizeof(void *));
    bigger.count = 0;
    for (size_t i = 0; i < m->_cap; i++) {
        if (m->_keys[i] != 0) {
            hub_map_put(&bigger, m->_keys[i], m->_vals[i]);
        }
    }
    free(m->_keys);
    free(m->_vals);
    *m = bigger;
}

void
hub_map_put(hub_map_t *m, uint64_t key, void *val)
{
    if ((m->count + 1) * 2 > m->_cap) {
        grow(m);
    }
    for (size_t i = slot_of(key, m->_cap);; i = (i + 1) & (m->_cap - 1)) {
        if (m->_keys[i] == key) {
            m->_vals[i] = val;
            return;
        }
        if (m->_keys[i] == 0) {
            m->_keys[i] = key;
            m->_vals[i] = val;
            m->count++;
            return;
        }
    }
}

void *
hub_map_del(hub_map_t *m, uint64_t key)
{
    size_t mask = m->_cap - 1, i, j;
    void *val;

    if (m->_cap == 0) {
        return NULL;
    }
    for (i = slot_of(key, m->_cap); m->_keys[i] != key; i = (i + 1) & mask) {
        if (m->_keys[i] == 0) {
            return NULL;
        }
    }
    val = m->_vals[i];
    m->count--;
    /* Backward shift: pull later members of the cluster into the hole when
     * their home slot does not lie cyclically in (hole, them]. */
    for (j = (i + 1) & mask; m->_keys[j] != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m->_keys[j], m->_cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->_keys[i] = m->_keys[j];
            m->_vals[i] = m->_vals[j];
            i = j;
        }
    }
    m->_keys[i] = 0;
    m->_vals[i] = NULL;
    return val;
}

int
hub_map_next(const hub_map_t *m, size_t *i, uint64_t *key, void **val)
{
    for (; *i < m->_cap; (*i)++) {
        if (m->_keys[*i] != 0) {
            *key = m->_keys[*i];
            *val = m->_vals[*i];
            (*i)++;
            return 1;
        }
    }
    return 0;
}
