/*
 * Commands other than serve: `chathub token` mints a development JWT.
 */
#ifndef CHATHUB_HUB_CLI_H
#define CHATHUB_HUB_CLI_H

#include "hub_config.h"

/* Pull "--user ID" and "--ttl S" out of argv (they are removed, argc updated).
 * 0 when --user was given and both parse; -1 otherwise. */
int hub_cli_token_args(int *argc, char **argv, long long *user_id, long long *ttl);

/* Print a JWT for user_id valid ttl seconds, signed with cfg->jwt_secret. Exit code. */
int hub_cli_token(const hub_config_t *cfg, long long user_id, long long ttl);

#endif
