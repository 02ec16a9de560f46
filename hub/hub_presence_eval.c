/* Calling a presence script in Redis (hub_presence_eval.h). */
#include "hub_presence_eval.h"

#include <stdlib.h>

#include "hub_channel.h"
#include "xalloc.h"

hub_redis_t *
hub_presence_redis(hub_t *hub)
{
    hub_redis_t *r = hub_channel_redis(hub->channel);

    return r != NULL && hub_redis_is_up(r) ? r : NULL;
}

int
hub_presence_eval_now(hub_t *hub, const char *script, size_t nargs, const char **args,
                      hub_redis_reply_cb cb, void *ud)
{
    hub_redis_t *r = hub_presence_redis(hub);
    const char **argv;
    int argc = 0, rc;

    if (r == NULL) {
        return -1;
    }
    argv = xcalloc(nargs + 4, sizeof(char *));
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = "0";
    for (size_t i = 0; i < nargs; i++) {
        argv[argc++] = args[i];
    }
    rc = hub_redis_command(r, cb, ud, argc, argv, NULL);
    free(argv);
    return rc;
}
