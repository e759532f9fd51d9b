/**
 * The slot limiter's Redis scripts: the arithmetic of slots.ts, atomic in Redis. A limit's key
 * holds "<next free slot> <slots given>" (ms on Redis's clock, a count).
 */

/** The same as reserveSlots, atomic in Redis; `now` is Redis's own clock unless given (tests). */
export const RESERVE_LUA = `
local want = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local first = now + tonumber(ARGV[4])
local step = 0
local seqs = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  local n, q = 0, 0
  if v then
    local a, b = string.match(v, '^(%S+) (%S+)$')
    if a then n, q = tonumber(a) or 0, math.floor(tonumber(b) or 0) else n = tonumber(v) or 0 end
  end
  -- A value that is not one this script wrote (NaN, a next slot an hour or more ahead, a
  -- negative count) would stop the sender, or fail every batch it is in: read as a fresh limit.
  if n ~= n or n > now + 3600000 or q ~= q or q < 0 or q > 1e15 then n, q = 0, 0 end
  seqs[i] = q
  if n > first then first = n end
  local s = tonumber(ARGV[4 + i])
  if s > step then step = s end
end
local granted = 0
if want > 0 and first <= now + horizon then
  granted = math.min(want, math.floor((now + horizon - first) / step) + 1)
end
if granted > 0 then
  local last = first + (granted - 1) * step
  for i = 1, #KEYS do
    local n = last + tonumber(ARGV[4 + i])
    redis.call('SET', KEYS[i], string.format('%.3f %d', n, seqs[i] + granted), 'PX', math.ceil(n - now) + 1000)
  end
end
local out = { granted, string.format('%.3f', first), string.format('%.3f', step) }
for i = 1, #KEYS do out[3 + i] = seqs[i] end
return out
`;

/**
 * lateFloor for each limit, atomic in Redis: ARGV = now (or -1: Redis's clock), then per key its
 * spacing and the latest "write time less position × spacing" of its late writes (the floor for
 * its next slot is that plus its count of slots × spacing). A key gone (idle past its slot) has
 * nothing left to move, nor has one that holds something else.
 */
export const LATE_LUA = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    local a, b = string.match(v, '^(%S+) (%S+)$')
    local n, q = tonumber(a or ''), tonumber(b or '')
    -- Only a value the reservation script wrote is moved (see RESERVE_LUA for the others).
    if n and q and n == n and q == q then
      local want = tonumber(ARGV[2 * i + 1]) + q * tonumber(ARGV[2 * i])
      if want > n then
        redis.call('SET', KEYS[i], string.format('%.3f %d', want, q), 'PX', math.ceil(want - now) + 1000)
      end
    end
  end
end
return #KEYS
`;
