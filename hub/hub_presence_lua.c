/*
 * The Redis side of presence: every change is a Lua script, so none is ever
 * a read-modify-write from C (keys in hub_presence.h).
 */
#include "hub_presence_lua.h"

#include "hub_channel.h"

/* How long a room's gone marks outlive the rewrite that made them: the other
 * nodes read them when they come back, which a long backoff can delay. */
#define HUB_PRESENCE_GONE_TTL_S "600"

/* Every script returns a room's online ids as one string, "7,9,12": one
 * reply element instead of one per user, which hiredis would allocate
 * each (a 1,000-member room's join read 1,000 of them). */

/* The number of a room's next presence event (hub_presence_order.h): one
 * more than the last, or, for a room Redis has no number for (a new room, or
 * Redis restarted empty), its clock in microseconds, which is past any number
 * handed out before. */
#define PRESENCE_VERSION_LUA                                                                       \
    "local function presence_version(room)\n"                                                      \
    "  local v = redis.call('HINCRBY', 'chathub:pv', room, 1)\n"                                   \
    "  if v == 1 then\n"                                                                           \
    "    local t = redis.call('TIME')\n"                                                           \
    "    v = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                                          \
    "    redis.call('HSET', 'chathub:pv', room, v)\n"                                              \
    "  end\n"                                                                                      \
    "  return v\n"                                                                                 \
    "end\n"

/* ARGV: node, then room, user, delta ("1" join, "-1" leave, "0" just read),
 * user json (joins only) per change, in the order they came. Returns, per
 * change, ev, the room's online ids after it, the event's number, and the
 * room's last event number then (which events the ids count:
 * hub_presence_seen_newer): ev 1 when a join was the user's first socket
 * anywhere or a leave their last (else 0, and number 0). A leave with ev 0
 * announces nothing, so its ids are left out (""). A room leaves the node's
 * set (chathub:nr:<node>) with its last user there: the rewrite and the
 * reaper walk that set, which would otherwise hold every room the node ever
 * served. A leave this node holds no entry for changes nothing, and its ev
 * is -1: its join never counted (Redis refused it), a reaper already took the
 * entry out of the room's total (which would otherwise lose another node's
 * count), or Redis lost its data with the link up; the node then tells the
 * leave again with its next rewrite, which each of those brings. */
const char hub_presence_change_lua[] = PRESENCE_VERSION_LUA
    "local node, out, listed = ARGV[1], {}, false\n"
    "for i = 2, #ARGV, 4 do\n"
    "  local room, user, delta, ev = ARGV[i], ARGV[i+1], ARGV[i+2], 0\n"
    "  local k = 'chathub:p:'..room\n"
    "  local kn = k..':'..node\n"
    "  if delta == '1' then\n"
    "    redis.call('HINCRBY', kn, user, 1)\n"
    "    redis.call('SADD', 'chathub:nr:'..node, room)\n"
    "    if not listed then redis.call('SADD', 'chathub:nodes', node); listed = true end\n"
    "    redis.call('HSET', 'chathub:u', user, ARGV[i+3])\n"
    "    if redis.call('HINCRBY', k, user, 1) == 1 then ev = 1 end\n"
    "  elseif delta == '-1' and tonumber(redis.call('HGET', kn, user) or '0') <= 0 then\n"
    "    ev = -1\n"
    "  elseif delta == '-1' then\n"
    "    if redis.call('HINCRBY', kn, user, -1) <= 0 then\n"
    "      redis.call('HDEL', kn, user)\n"
    "      if redis.call('HLEN', kn) == 0 then redis.call('SREM', 'chathub:nr:'..node, room) end\n"
    "    end\n"
    "    if redis.call('HINCRBY', k, user, -1) <= 0 then redis.call('HDEL', k, user); ev = 1 end\n"
    "  end\n"
    "  out[#out+1] = ev\n"
    "  if delta == '-1' and ev ~= 1 then out[#out+1] = ''\n"
    "  else out[#out+1] = table.concat(redis.call('HKEYS', k), ',') end\n"
    "  out[#out+1] = ev == 1 and presence_version(room) or 0\n"
    "  out[#out+1] = tonumber(redis.call('HGET', 'chathub:pv', room)) or 0\n"
    "end\n"
    "return out\n";

/* Take a node's entries out of the room totals; with out, collect the users
 * that went offline as {room, user json, online ids, event number}. */
#define REMOVE_NODE_LUA                                                                            \
    PRESENCE_VERSION_LUA                                                                           \
    "local function remove_node(node, out)\n"                                                      \
    "  for _, room in ipairs(redis.call('SMEMBERS', 'chathub:nr:'..node)) do\n"                    \
    "    local k = 'chathub:p:'..room..':'..node\n"                                                \
    "    local h = redis.call('HGETALL', k)\n"                                                     \
    "    for i = 1, #h, 2 do\n"                                                                    \
    "      local total = redis.call('HINCRBY', 'chathub:p:'..room, h[i], -tonumber(h[i+1]))\n"     \
    "      if total <= 0 then\n"                                                                   \
    "        redis.call('HDEL', 'chathub:p:'..room, h[i])\n"                                       \
    "        if out then\n"                                                                        \
    "          table.insert(out, {room, redis.call('HGET', 'chathub:u', h[i]) or '',\n"            \
    "                             table.concat(redis.call('HKEYS', 'chathub:p:'..room), ','),\n"   \
    "                             presence_version(room)})\n"                                      \
    "        end\n"                                                                                \
    "      end\n"                                                                                  \
    "    end\n"                                                                                    \
    "    redis.call('DEL', k)\n"                                                                   \
    "  end\n"                                                                                      \
    "  redis.call('DEL', 'chathub:nr:'..node)\n"                                                   \
    "end\n"

/* Reap every node whose heartbeat key expired. Returns the leaves to
 * announce, and has every node (the dead one named as the envelope's origin,
 * so the reaper too) compare each room that had one with Redis
 * (HUB_ENV_RESYNC): in the script, so that a reply lost cannot lose the
 * leaves; a leave the comparison already sent is dropped when the reaper's
 * event arrives (hub_presence_order.h). */
const char hub_presence_reap_lua[] =
    REMOVE_NODE_LUA "local out = {}\n"
                    "for _, node in ipairs(redis.call('SMEMBERS', 'chathub:nodes')) do\n"
                    "  if redis.call('EXISTS', 'chathub:hb:'..node) == 0 then\n"
                    "    local from, told = #out, {}\n"
                    "    remove_node(node, out)\n"
                    "    redis.call('SREM', 'chathub:nodes', node)\n"
                    "    for j = from + 1, #out do\n"
                    "      local room = out[j][1]\n"
                    "      if not told[room] then\n"
                    "        told[room] = true\n"
                    "        redis.call('PUBLISH', '" HUB_ROOM_CHANNEL_PREFIX "'..room,\n"
                    "                   'p '..node..' '..room..' 0 0\\n')\n"
                    "      end\n"
                    "    end\n"
                    "  end\n"
                    "end\n"
                    "return out\n";

/* ARGV: node. Takes the node out (drain) and returns the leaves to announce. */
const char hub_presence_remove_lua[] =
    REMOVE_NODE_LUA "local out = {}\n"
                    "remove_node(ARGV[1], out)\n"
                    "redis.call('SREM', 'chathub:nodes', ARGV[1])\n"
                    "redis.call('DEL', 'chathub:hb:'..ARGV[1])\n"
                    "return out\n";

/* ARGV: node, the number of live entries, then room, user, count (1, see
 * hub_presence_on_redis_up), user json per live entry, then room, user, user
 * json per leave Redis may not have heard (hub_presence_gone.h). Rewrites
 * this node's entries (idempotent: after a blip or a Redis restart alike).
 * Returns, as the reaper does, the users Redis had online through this node
 * who are online nowhere now: their last socket closed while Redis was away,
 * or the node restarted under the same id. In each room where the rewrite
 * brought a user online without an event (a first socket opened while Redis
 * was away, or entries Redis lost or reaped), it publishes a resync envelope
 * (HUB_ENV_RESYNC) for every node to compare the room's list with what its
 * sockets saw (hub_presence_resync.h): in the script, so that a reply lost
 * cannot lose it while the entries are written. A leave Redis may not have
 * heard, of a user online nowhere now whose entry is gone too (Redis
 * restarted empty, or the leave's answer was lost), publishes the envelope as
 * well: in a room with an event number the resync sends a leave for every
 * user missing; in a room without one (Redis restarted empty, no event since)
 * only for users marked gone (chathub:pg:<room>), as this one is here. */
const char hub_presence_restore_lua[] =
    REMOVE_NODE_LUA "local node, before, had, out, changed = ARGV[1], {}, {}, {}, {}\n"
                    "for _, room in ipairs(redis.call('SMEMBERS', 'chathub:nr:'..node)) do\n"
                    "  local h = redis.call('HKEYS', 'chathub:p:'..room..':'..node)\n"
                    "  for _, user in ipairs(h) do\n"
                    "    before[#before+1] = {room, user}\n"
                    "    had[room..' '..user] = true\n"
                    "  end\n"
                    "end\n"
                    "remove_node(node, nil)\n"
                    "redis.call('SADD', 'chathub:nodes', node)\n"
                    "local live_end = 2 + 4 * tonumber(ARGV[2])\n"
                    "local function resync(room)\n"
                    "  if changed[room] then return end\n"
                    "  changed[room] = true\n"
                    "  redis.call('PUBLISH', '" HUB_ROOM_CHANNEL_PREFIX "'..room,\n"
                    "             'p '..node..' '..room..' 0 0\\n')\n"
                    "end\n"
                    "for i = 3, live_end, 4 do\n"
                    "  local room, user, n = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2])\n"
                    "  redis.call('HSET', 'chathub:p:'..room..':'..node, user, n)\n"
                    "  redis.call('SADD', 'chathub:nr:'..node, room)\n"
                    "  redis.call('HSET', 'chathub:u', user, ARGV[i+3])\n"
                    "  if redis.call('HINCRBY', 'chathub:p:'..room, user, n) == n\n"
                    "     and not had[room..' '..user] then resync(room) end\n"
                    "end\n"
                    "for i = live_end + 1, #ARGV, 3 do\n"
                    "  local room, user = ARGV[i], ARGV[i+1]\n"
                    "  if not had[room..' '..user]\n"
                    "     and redis.call('HEXISTS', 'chathub:p:'..room, user) == 0 then\n"
                    "    if redis.call('HEXISTS', 'chathub:pv', room) == 0 then\n"
                    "      redis.call('HSET', 'chathub:pg:'..room, user, 1)\n"
                    "      redis.call('EXPIRE', 'chathub:pg:'..room, " HUB_PRESENCE_GONE_TTL_S ")\n"
                    "    end\n"
                    "    redis.call('HSETNX', 'chathub:u', user, ARGV[i+2])\n"
                    "    resync(room)\n"
                    "  end\n"
                    "end\n"
                    "for _, e in ipairs(before) do\n"
                    "  local k = 'chathub:p:'..e[1]\n"
                    "  if redis.call('HEXISTS', k, e[2]) == 0 then\n"
                    "    table.insert(out, {e[1], redis.call('HGET', 'chathub:u', e[2]) or '',\n"
                    "                       table.concat(redis.call('HKEYS', k), ','),\n"
                    "                       presence_version(e[1])})\n"
                    "    resync(e[1])\n"
                    "  end\n"
                    "end\n"
                    "return out\n";

/* ARGV: per room, its id, k and the k online ids its sockets here saw last.
 * Returns, per room, {room, the number of its last presence event (0: none
 * since Redis started), its online ids now, the ids marked gone there by a
 * rewrite (restore above), then the JSON of each user online in one list
 * only ('' when Redis does not know them)}. */
const char hub_presence_resync_lua[] =
    "local out, i = {}, 1\n"
    "while i + 1 <= #ARGV do\n"
    "  local room, k = ARGV[i], tonumber(ARGV[i+1])\n"
    "  local now = redis.call('HKEYS', 'chathub:p:'..room)\n"
    "  local has, saw = {}, {}\n"
    "  local r = {room, tonumber(redis.call('HGET', 'chathub:pv', room)) or 0,\n"
    "             table.concat(now, ','),\n"
    "             table.concat(redis.call('HKEYS', 'chathub:pg:'..room), ',')}\n"
    "  for _, u in ipairs(now) do has[u] = true end\n"
    "  for j = i + 2, i + 1 + k do\n"
    "    saw[ARGV[j]] = true\n"
    "    if not has[ARGV[j]] then r[#r+1] = redis.call('HGET', 'chathub:u', ARGV[j]) or '' end\n"
    "  end\n"
    "  for _, u in ipairs(now) do\n"
    "    if not saw[u] then r[#r+1] = redis.call('HGET', 'chathub:u', u) or '' end\n"
    "  end\n"
    "  out[#out+1] = r\n"
    "  i = i + k + 2\n"
    "end\n"
    "return out\n";

/* ARGV: node. Returns the connections the other live nodes last reported in
 * their heartbeat keys (a key that expired counts nothing). */
const char hub_presence_connections_lua[] =
    "local sum = 0\n"
    "for _, node in ipairs(redis.call('SMEMBERS', 'chathub:nodes')) do\n"
    "  if node ~= ARGV[1] then\n"
    "    local v = redis.call('GET', 'chathub:hb:'..node) or ''\n"
    "    sum = sum + (tonumber(string.match(v, '^%d+')) or 0)\n"
    "  end\n"
    "end\n"
    "return sum\n";

/* ARGV: user, user json, per renamed user. Their entries, for the leaves a
 * reaper announces for them; written only where there is one. */
const char hub_presence_rename_lua[] =
    "for i = 1, #ARGV, 2 do\n"
    "  if redis.call('HEXISTS', 'chathub:u', ARGV[i]) == 1 then\n"
    "    redis.call('HSET', 'chathub:u', ARGV[i], ARGV[i+1])\n"
    "  end\n"
    "end\n"
    "return 0\n";
