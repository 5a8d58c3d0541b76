-- stat_set.lua: publish one cluster's Stat with an expiry, and index it for listing.
--
-- KEYS[1]  djq:<name>:stat:index       sorted set: stat key -> expiry time (ms, server clock)
-- KEYS[2]  djq:<name>:stat:<host>:<id>  the Stat's JSON text (SET ... PX: expires by itself)
-- ARGV[1]  the JSON text
-- ARGV[2]  time to live, ms
--
-- Also prunes index entries that have expired, and keeps the index itself alive at
-- least as long as its newest entry (so an index of dead clusters vanishes too).

local index, key, ttl = KEYS[1], KEYS[2], tonumber(ARGV[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('SET', key, ARGV[1], 'PX', ttl)
redis.call('ZADD', index, now_ms + ttl, key)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now_ms)
if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
return 1
