-- reclaim.lua: take over packages whose delivery was not acknowledged within `retry`.
--
-- KEYS[1]  djq:{<queue>}:q    the queue's stream; entries are {p = <signed package>}
-- ARGV[1]  consumer group     (the broker's GROUP, "djq")
-- ARGV[2]  consumer name      (the broker's CONSUMER, "djq")
-- ARGV[3]  min idle, ms       (Q_CLUSTER['retry'] * 1000)
-- ARGV[4]  scan cursor        (an entry id; "0-0" starts at the oldest pending entry)
-- ARGV[5]  most packages to claim (Q_CLUSTER['bulk'])
--
-- XAUTOCLAIM hands each expired entry to this consumer, resets its idle time (so no
-- other consumer can claim it inside the next `retry`) and counts the delivery; XPENDING
-- then reads that count, reported as the delivery's attempt. Scans at most 8 XAUTOCLAIM
-- pages per call. A missing group (new or deleted queue) is created from the start of
-- the stream, so packages enqueued before any consumer existed are not skipped.
--
-- Returns {next_cursor, id1, package1, attempt1, id2, ...}.

local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local idle, cursor, want = ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {cursor}
local found = 0

for _ = 1, 8 do
    local res = redis.pcall('XAUTOCLAIM', stream, group, consumer, idle, cursor,
                            'COUNT', want - found)
    if type(res) == 'table' and res.err then
        if string.find(res.err, 'NOGROUP', 1, true) then
            redis.pcall('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
            out[1] = '0-0'
            return out
        end
        return res
    end
    cursor = res[1]
    for _, entry in ipairs(res[2]) do
        local id, fields = entry[1], entry[2]
        if fields then
            local package = false
            for i = 1, #fields, 2 do
                if fields[i] == 'p' then package = fields[i + 1] end
            end
            local pending = redis.call('XPENDING', stream, group, id, id, 1)
            local attempt = 1
            if pending[1] then attempt = pending[1][4] end
            if package then
                out[#out + 1] = id
                out[#out + 1] = package
                out[#out + 1] = attempt
                found = found + 1
            end
        else
            -- Redis 6.2 reports an entry deleted while pending as nil: forget it.
            redis.call('XACK', stream, group, id)
        end
    end
    if found >= want or cursor == '0-0' then break end
end

out[1] = cursor
return out
