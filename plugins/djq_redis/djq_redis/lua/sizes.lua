-- sizes.lua: the queue's length and how many of its packages await acknowledgement.
--
-- KEYS[1]  djq:{<queue>}:q    the queue's stream
-- ARGV[1]  consumer group     ("djq")
--
-- Returns {entries in the stream, entries pending in the group}; a missing stream or
-- group counts as empty. Waiting packages = entries - pending.

local length = redis.call('XLEN', KEYS[1])
local pending = 0
local summary = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(summary) == 'table' and not summary.err then pending = summary[1] end
return {length, pending}
