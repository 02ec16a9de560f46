/* A user's JSON as presence shares it (hub_presence_user.h). */
#include "hub_presence_user.h"

#include <stdlib.h>
#include <string.h>

#include "proto_build.h"
#include "xalloc.h"

pres_user_t *
pres_user_new(const proto_user_t *u)
{
    size_t len;
    char *json = proto_build_user(u, &len);
    pres_user_t *w = xmalloc(sizeof(*w) + len + 1);

    w->refs = 1;
    memcpy(w->json, json, len + 1);
    free(json);
    return w;
}

pres_user_t *
pres_user_ref(pres_user_t *w)
{
    w->refs++;
    return w;
}

void
pres_user_unref(pres_user_t *w)
{
    if (w != NULL && --w->refs == 0) {
        free(w);
    }
}
