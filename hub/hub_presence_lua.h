/*
 * Presence's Lua scripts (hub_presence_lua.c says what each takes and returns).
 */
#ifndef CHATHUB_HUB_PRESENCE_LUA_H
#define CHATHUB_HUB_PRESENCE_LUA_H

extern const char hub_presence_change_lua[];
extern const char hub_presence_reap_lua[];
extern const char hub_presence_remove_lua[];
extern const char hub_presence_restore_lua[];
extern const char hub_presence_connections_lua[];
extern const char hub_presence_rename_lua[];
extern const char hub_presence_resync_lua[];

#endif
