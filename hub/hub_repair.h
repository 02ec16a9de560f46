/*
 * Repair tools for databases that predate the hub's rules (issue 4):
 * `chathub sync-parents` adds every missing parent and prints each change;
 * `chathub check` prints duplicate rooms and missing parents and fails when
 * it finds any. Both for hub_run_task().
 */
#ifndef CHATHUB_HUB_REPAIR_H
#define CHATHUB_HUB_REPAIR_H

#include "hub.h"

void hub_repair_sync_parents(hub_t *hub);
void hub_repair_check(hub_t *hub);

#endif
