-- The check of the bench's redis workload (tests/bench/redis.sh), run with
--   redis-cli -x EVAL "$(cat redis_verify.lua)" 0 NKEYS VSIZE <NOISE_FILE
-- Returns how many of key:000000000000 .. key:<NKEYS-1> do not hold the value
-- redis_data.py loaded (a missing key counts): key number i holds its 12 digits, ':',
-- then VSIZE - 13 bytes of the noise from the 0-based offset (i * 7919) % (#noise - VSIZE).
-- Lua 5.1 numbers are doubles: i * 7919 and the modulo stay exact far beyond any NKEYS here.
local nkeys, vsize, noise = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local span = #noise - vsize
local bad = 0
for i = 0, nkeys - 1 do
	local digits = string.format('%012d', i)
	local off = (i * 7919) % span
	local want = digits .. ':' .. string.sub(noise, off + 1, off + vsize - 13)
	if redis.call('GET', 'key:' .. digits) ~= want then
		bad = bad + 1
	end
end
return bad
