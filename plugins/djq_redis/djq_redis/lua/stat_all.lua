-- stat_all.lua: every live Stat's JSON text.
--
-- KEYS[1]  djq:<name>:stat:index   sorted set: stat key -> expiry time (ms, server clock)
--
-- Prunes expired index entries, then reads the remaining keys. Those keys are named by
-- the index rather than passed in KEYS, which is fine on a single Redis server (and its
-- replicas) but not on Redis Cluster; the broker's scripts have no such limitation.

local index = KEYS[1]
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now_ms)
local keys = redis.call('ZRANGE', index, 0, -1)
if #keys == 0 then return {} end
local values = redis.call('MGET', unpack(keys))
local out = {}
for i = 1, #keys do
    if values[i] then out[#out + 1] = values[i] end
end
return out
