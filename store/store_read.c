/*
 * mark_read in one statement: the WHERE clause keeps last_read_seq monotonic
 * under any interleaving of tabs and nodes, with no read-modify-write.
 */
#include "store_read.h"

#include <stdio.h>
#include <stdlib.h>

#include "store_internal.h"
#include "xalloc.h"

typedef struct read_ctx {
    store_read_cb cb;
    void *ud;
} read_ctx_t;

static void
on_read(void *ctx, const PGresult *res, const char *err)
{
    read_ctx_t *c = ctx;

    c->cb(c->ud, err == NULL && PQntuples(res) == 1, err);
    free(c);
}

int
store_mark_read(store_t *st, int64_t room_id, int64_t user_id, int64_t seq, store_read_cb cb,
                void *ud)
{
    char rid[24], uid[24], s[24];
    const char *params[] = {rid, uid, s};
    read_ctx_t *c = xmalloc(sizeof(*c));

    snprintf(rid, sizeof(rid), "%lld", (long long)room_id);
    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    snprintf(s, sizeof(s), "%lld", (long long)seq);
    c->cb = cb;
    c->ud = ud;
    if (store_query(st, room_id,
                    "UPDATE room_participants SET last_read_seq = $3 "
                    "WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $3 "
                    "AND $3 <= (SELECT last_seq FROM rooms WHERE id = $1) RETURNING last_read_seq",
                    3, params, on_read, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}
