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
"""

from __future__ import annotations

__all__ = ["CLEAN_NODE", "JOIN_CHANNEL", "JOIN_PRESENCE", "LEAVE_CHANNEL", "LEAVE_PRESENCE"]

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
#: the users who left the channel with the dead node (their last sockets were there).
CLEAN_NODE = (
    _SUM
    + """
redis.call('HDEL', KEYS[1], ARGV[1])
if sum_values(KEYS[1]) <= 0 then
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
return removed
"""
)
