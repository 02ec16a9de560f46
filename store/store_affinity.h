/*
 * Which connection holds a room's pending statements, and how many there are.
 * A room's statements stay on that connection while any is queued or in
 * flight, so they run in the order queued; a room with none pending may go
 * elsewhere (store_conn.c's pick()). Routing by room id alone kept a room on
 * a connection that was behind, or waiting on a lock, while another was idle.
 */
#ifndef CHATHUB_STORE_AFFINITY_H
#define CHATHUB_STORE_AFFINITY_H

#include <stdint.h>

typedef struct store_affinity store_affinity_t;

store_affinity_t *store_affinity_new(void);

/* The pool is done with a: freed now, or by the done() of the last statement
 * it still counts (a callback may free the store while its own statement is
 * being answered). NULL is a no-op. */
void store_affinity_release(store_affinity_t *a);

/* The connection key's pending statements are on, or -1 when none is pending. */
int store_affinity_conn(const store_affinity_t *a, int64_t key);

/* One more of key's statements pending, on conn: key's statements move there. */
void store_affinity_add(store_affinity_t *a, int64_t key, unsigned conn);

/* One of key's statements answered (or failed); at none pending key is forgotten. */
void store_affinity_done(store_affinity_t *a, int64_t key);

/* Keys with statements pending (for tests). */
unsigned store_affinity_count(const store_affinity_t *a);

#endif
