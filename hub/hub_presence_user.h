/*
 * A user as presence keeps them: their JSON, as presence frames carry it and
 * as Redis keeps it for other nodes, shared by a presence entry and its
 * requests in flight (reference counted; a rename swaps the entry's copy).
 */
#ifndef CHATHUB_HUB_PRESENCE_USER_H
#define CHATHUB_HUB_PRESENCE_USER_H

#include "proto_types.h"

typedef struct pres_user {
    int refs;
    char json[];
} pres_user_t;

pres_user_t *pres_user_new(const proto_user_t *u); /* one reference */
pres_user_t *pres_user_ref(pres_user_t *w);
void pres_user_unref(pres_user_t *w); /* NULL is fine */

#endif
