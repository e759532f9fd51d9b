/**
 * The slot limiter's Redis scripts: the arithmetic of slots.ts, atomic in Redis. A limit's key
 * holds "<next free slot> <slots given>" (ms on Redis's clock, a count).
 */

/**
 * Reads a limit's value: its next free slot, its count of slots, and whether it is one the
 * reservation script wrote ("<next> <count>"). A value it did not write (garbage, NaN, a next slot
 * an hour or more ahead, a negative or huge count) reads as a fresh limit: taken as it is, it
 * would stop the sender, or fail the script for every limit of the call (other tenants' too).
 */
const READ_SLOT_LUA = `
local function readSlot(v, now)
  if not v then return 0, 0, false end
  local a, b = string.match(v, '^(%S+) (%S+)$')
  local n, q = tonumber(a or v), tonumber(b or '')
  local paired = n ~= nil and q ~= nil
  n, q = n or 0, math.floor(q or 0)
  if n ~= n or n > now + 3600000 or q ~= q or q < 0 or q > 1e15 then return 0, 0, false end
  return n, q, paired
end
`;

/** The same as reserveSlots, atomic in Redis; `now` is Redis's own clock unless given (tests). */
export const RESERVE_LUA = `${READ_SLOT_LUA}
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
  local n, q = readSlot(redis.call('GET', KEYS[i]), now)
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
export const LATE_LUA = `${READ_SLOT_LUA}
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
for i = 1, #KEYS do
  local n, q, ours = readSlot(redis.call('GET', KEYS[i]), now)
  -- Only a value the reservation script wrote is moved (the next reservation renews the rest).
  if ours then
    local want = tonumber(ARGV[2 * i + 1]) + q * tonumber(ARGV[2 * i])
    if want > n then
      redis.call('SET', KEYS[i], string.format('%.3f %d', want, q), 'PX', math.ceil(want - now) + 1000)
    end
  end
end
return #KEYS
`;
