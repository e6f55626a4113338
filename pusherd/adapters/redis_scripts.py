"""Lua scripts of the Redis adapter: each keeps one channel's counts consistent in one step.

Counts are kept **per node** (hash field = node id), so that when a node dies without saying so,
any other node can subtract exactly what the dead node contributed (``CLEAN_NODE``). Global
values are sums over the fields of live nodes.

Keys of one channel (``{p}`` prefix, ``{a}`` app id, ``{c}`` channel):

* ``{p}{a}:ch:{c}``  hash  node → sockets of that node in the channel
* ``{p}{a}:channels`` set  occupied channel names (for ``GET /channels``)
* ``{p}{a}:pu:{c}``  hash  user → sockets of that user, all nodes (presence)
* ``{p}{a}:pr:{c}``  hash  user → user_info JSON from the user's first socket
* ``{p}{a}:pm:{c}``  hash  ``node:user`` → sockets of that user on that node
* ``{p}node:{n}:channels`` set  ``app NUL channel`` of every channel node ``n`` has counts in

``RESYNC_CHANNEL`` is the repair: it replaces one node's contribution to one channel with the
absolute values the node holds in memory, so it is right whatever Redis lost or kept.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLEAN_NODE",
    "JOIN_CHANNEL",
    "JOIN_PRESENCE",
    "LEAVE_CHANNEL",
    "LEAVE_PRESENCE",
    "RESYNC_CHANNEL",
    "RedisKeys",
    "text_reply",
]

#: Separates the app id from the channel name in a node's channel set (neither may hold NUL).
_SEPARATOR = "\x00"


def text_reply(value: object) -> str:
    """A Redis reply as text (the client returns bytes; typing says bytes or str)."""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Every key and pub/sub channel the adapter uses, named once (see the table above)."""

    prefix: str

    def channel(self, app_id: str, kind: str, channel: str) -> str:
        return f"{self.prefix}{app_id}:{kind}:{channel}"

    def occupied(self, app_id: str) -> str:
        return f"{self.prefix}{app_id}:channels"

    def presence(self, app_id: str, channel: str) -> list[str]:
        """``pu``, ``pr``, ``pm``: the keys of the presence scripts, in their order."""
        return [self.channel(app_id, kind, channel) for kind in ("pu", "pr", "pm")]

    def node_channels(self, node_id: str) -> str:
        return f"{self.prefix}node:{node_id}:channels"

    @property
    def nodes(self) -> str:
        return f"{self.prefix}nodes"

    @staticmethod
    def node_entry(app_id: str, channel: str) -> str:
        """A member of :meth:`node_channels`."""
        return f"{app_id}{_SEPARATOR}{channel}"

    @staticmethod
    def split_node_entry(entry: str) -> tuple[str, str]:
        app_id, _, channel = entry.partition(_SEPARATOR)
        return app_id, channel


_SUM = """
local function sum_values(key)
  local total = 0
  for _, value in ipairs(redis.call('HVALS', key)) do total = total + tonumber(value) end
  return total
end
"""

#: KEYS ch, channels · ARGV node, channel → the channel's total after the join.
JOIN_CHANNEL = (
    _SUM
    + """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local total = sum_values(KEYS[1])
if total == 1 then redis.call('SADD', KEYS[2], ARGV[2]) end
return total
"""
)

#: KEYS ch, channels · ARGV node, channel → the channel's total after the leave.
LEAVE_CHANNEL = (
    _SUM
    + """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local total = sum_values(KEYS[1])
if total <= 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[1])
end
return total
"""
)

#: KEYS pu, pr, pm · ARGV user, info JSON, node, max members →
#: 1 new member, 0 another socket of a member, -1 refused (channel full).
JOIN_PRESENCE = """
local present = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if not present then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], ARGV[3] .. ':' .. ARGV[1], 1)
if present then return 0 end
return 1
"""

#: KEYS pu, pr, pm · ARGV user, node → 1 when that was the user's last socket anywhere.
LEAVE_PRESENCE = """
local field = ARGV[2] .. ':' .. ARGV[1]
if redis.call('HINCRBY', KEYS[3], field, -1) <= 0 then redis.call('HDEL', KEYS[3], field) end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

#: KEYS ch, channels, pu, pr, pm · ARGV dead node, channel →
#: ``{total, had, removed}``: the channel's total after, 1 when the dead node still had sockets
#: in it (so this call, and no other, vacated it if the total is 0), and the users who left the
#: channel with the dead node (their last sockets were there). Only the call that made a change
#: reports it, so survivors cleaning the same node at once announce each change once.
CLEAN_NODE = (
    _SUM
    + """
local had = redis.call('HDEL', KEYS[1], ARGV[1])
local total = sum_values(KEYS[1])
if total <= 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[1])
end
local removed = {}
local prefix = ARGV[1] .. ':'
local fields = redis.call('HGETALL', KEYS[5])
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, #prefix) == prefix then
    local user = string.sub(field, #prefix + 1)
    redis.call('HDEL', KEYS[5], field)
    if redis.call('HINCRBY', KEYS[3], user, -tonumber(fields[i + 1])) <= 0 then
      redis.call('HDEL', KEYS[3], user)
      redis.call('HDEL', KEYS[4], user)
      table.insert(removed, user)
    end
  end
end
return {total, had, removed}
"""
)

#: KEYS ch, channels, pu, pr, pm, node channels ·
#: ARGV node, channel, this node's socket count, JSON ``{user: [sockets, info JSON]}`` of this
#: node's presence members, ``app NUL channel`` →
#: ``{total, users removed, users added, total before}``: who stopped or started being a member
#: because of it, and whether it occupied or vacated the channel.
RESYNC_CHANNEL = (
    _SUM
    + """
local node, channel, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
local wanted = cjson.decode(ARGV[4])
local before_total = sum_values(KEYS[1])
if count > 0 then
  redis.call('HSET', KEYS[1], node, count)
  redis.call('SADD', KEYS[6], ARGV[5])
else
  redis.call('HDEL', KEYS[1], node)
  redis.call('SREM', KEYS[6], ARGV[5])
end
local total = sum_values(KEYS[1])
if total > 0 then
  redis.call('SADD', KEYS[2], channel)
else
  redis.call('SREM', KEYS[2], channel)
  redis.call('DEL', KEYS[1])
end
local removed, added = {}, {}
local function settle(user, old, new, info)
  local field = node .. ':' .. user
  if new > 0 then
    redis.call('HSET', KEYS[5], field, new)
  else
    redis.call('HDEL', KEYS[5], field)
  end
  local before = tonumber(redis.call('HGET', KEYS[3], user) or '0')
  local after = before + new - old
  if after <= 0 then
    redis.call('HDEL', KEYS[3], user)
    redis.call('HDEL', KEYS[4], user)
    if before > 0 then table.insert(removed, user) end
  else
    redis.call('HSET', KEYS[3], user, after)
    if info and redis.call('HEXISTS', KEYS[4], user) == 0 then
      redis.call('HSET', KEYS[4], user, info)
    end
    if before <= 0 then table.insert(added, user) end
  end
end
local prefix = node .. ':'
local fields = redis.call('HGETALL', KEYS[5])
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, #prefix) == prefix then
    local user = string.sub(field, #prefix + 1)
    local entry = wanted[user]
    if entry then
      settle(user, tonumber(fields[i + 1]), entry[1], entry[2])
      wanted[user] = nil
    else
      settle(user, tonumber(fields[i + 1]), 0, nil)
    end
  end
end
for user, entry in pairs(wanted) do settle(user, 0, entry[1], entry[2]) end
return {total, removed, added, before_total}
"""
)
