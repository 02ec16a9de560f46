/*
 * `chathub token --user ID [--ttl S]`: a JWT for development and tests,
 * signed with HUB_JWT_SECRET exactly as the platform would sign one.
 */
#include "hub_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto_jwt.h"

static int
take_number(int *argc, char **argv, int i, long long *out)
{
    char *end = NULL;

    if (i + 1 >= *argc) {
        return -1;
    }
    *out = strtoll(argv[i + 1], &end, 10);
    if (end == argv[i + 1] || *end != '\0' || *out <= 0) {
        return -1;
    }
    memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof(char *));
    *argc -= 2;
    return 0;
}

int
hub_cli_token_args(int *argc, char **argv, long long *user_id, long long *ttl)
{
    *user_id = 0;
    *ttl = 3600;
    for (int i = 0; i < *argc;) {
        if (strcmp(argv[i], "--user") == 0) {
            if (take_number(argc, argv, i, user_id) < 0) {
                return -1;
            }
        } else if (strcmp(argv[i], "--ttl") == 0) {
            if (take_number(argc, argv, i, ttl) < 0) {
                return -1;
            }
        } else {
            i++;
        }
    }
    return *user_id > 0 && *user_id <= 9007199254740991LL ? 0 : -1;
}

int
hub_cli_token(const hub_config_t *cfg, long long user_id, long long ttl)
{
    int64_t now = (int64_t)time(NULL);
    char *tok;

    if (cfg->jwt_secret == NULL) {
        fprintf(stderr, "chathub token: HUB_JWT_SECRET is not set\n");
        return 1;
    }
    tok = proto_jwt_sign(user_id, now, now + ttl, (const unsigned char *)cfg->jwt_secret,
                         strlen(cfg->jwt_secret));
    printf("%s\n", tok);
    free(tok);
    return 0;
}
