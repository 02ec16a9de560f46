/*
 * Name lookups off the loop (hub_resolve.h). IPv4 only, as the old startup
 * lookup did: the first address libpq and hiredis would try for a name like
 * localhost.
 */
#include "hub_resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>

#include "xalloc.h"

struct hub_resolve {
    uv_getaddrinfo_t req;
    hub_resolve_cb cb; /* NULL once cancelled */
    void *ud;
};

static void
on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    hub_resolve_t *rs = req->data;
    char ip[INET_ADDRSTRLEN] = "";

    if (rs->cb != NULL && status == 0 && res != NULL &&
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof(ip)) !=
            NULL) {
        rs->cb(rs->ud, ip, NULL);
    } else if (rs->cb != NULL) {
        rs->cb(rs->ud, NULL, uv_strerror(status != 0 ? status : UV_EAI_NONAME));
    }
    uv_freeaddrinfo(res);
    free(rs);
}

hub_resolve_t *
hub_resolve_start(uv_loop_t *loop, const char *name, hub_resolve_cb cb, void *ud, const char **err)
{
    hub_resolve_t *rs = xcalloc(1, sizeof(*rs));
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_INET};
    int rc;

    rs->cb = cb;
    rs->ud = ud;
    rs->req.data = rs;
    rc = uv_getaddrinfo(loop, &rs->req, on_lookup, name, NULL, &hints);
    if (rc != 0) {
        free(rs);
        *err = uv_strerror(rc);
        return NULL;
    }
    return rs;
}

void
hub_resolve_cancel(hub_resolve_t *rs)
{
    if (rs == NULL) {
        return;
    }
    rs->cb = NULL;
    /* Fails when the lookup already runs on the pool: on_lookup frees it then. */
    uv_cancel((uv_req_t *)&rs->req);
}
