-- ack.lua: forget packages: acknowledge them in the group and delete them from the stream.
--
-- KEYS[1]  djq:{<queue>}:q    the queue's stream
-- ARGV[1]  consumer group     ("djq")
-- ARGV[2..] entry ids         (the deliveries' ack ids)
--
-- Used by acknowledge, acknowledge_many, fail and delete. XACK removes the ids from the
-- group's pending list (a missing group, e.g. after purge, is not an error); XDEL removes
-- the entries, so the stream only ever holds packages waiting or being worked on.
--
-- Returns the number of entries deleted.

local stream, group = KEYS[1], ARGV[1]
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return 0 end
redis.pcall('XACK', stream, group, unpack(ids))
return redis.call('XDEL', stream, unpack(ids))
