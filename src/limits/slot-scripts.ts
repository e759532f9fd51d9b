/**
 * The slot limiter's Redis scripts: the arithmetic of slots.ts, atomic in Redis. A limit's key
 * holds "<next grid slot> <slots given>[ <position> <floor>]…" (ms on Redis's clock, counts).
 */
import { MAX_FLOORS } from './slots.ts';

/**
 * readSlot: a limit's value as its next grid slot, its count of slots, its floors (position →
 * time) and whether it is one these scripts wrote. A value they did not write (garbage, NaN, a
 * slot an hour or more ahead, a negative or huge count, a floor on a position already given or
 * more than MAX_FLOORS ahead, too many floors) reads as a fresh limit: taken as it is, it would stop the sender,
 * or fail the script for every limit of the call (other tenants' too). A lone number (an older
 * value) is a next slot with nothing else.
 * writeSlot: settleSlot, then SET with an expiry a second past its next slot or latest floor.
 */
const SLOT_LUA = `
local MAXF = ${MAX_FLOORS}
local function readSlot(v, now)
  if not v then return 0, 0, {}, false end
  local t = {}
  for w in string.gmatch(v, '%S+') do
    t[#t + 1] = w
    if #t > 4 + 2 * MAXF then return 0, 0, {}, false end
  end
  local n = tonumber(t[1] or '')
  if #t == 1 and n and n == n and n <= now + 3600000 then return n, 0, {}, false end
  if #t < 2 or #t % 2 == 1 then return 0, 0, {}, false end
  local q = tonumber(t[2])
  if not n or not q or n ~= n or n > now + 3600000 or q ~= q or q < 0 or q > 1e15 then
    return 0, 0, {}, false
  end
  q = math.floor(q)
  local fl = {}
  for j = 3, #t, 2 do
    local p, a = tonumber(t[j]), tonumber(t[j + 1])
    if not p or not a or p ~= math.floor(p) or p < q or p > q + MAXF or a ~= a or a < 0 or a > now + 3600000 then
      return 0, 0, {}, false
    end
    fl[p] = a
  end
  return n, q, fl, true
end

local function writeSlot(key, n, q, fl, s, now)
  for p, a in pairs(fl) do
    if p - q > MAXF and a - (p - q) * s > n then n = a - (p - q) * s end
  end
  local keep = {}
  for p, a in pairs(fl) do
    if p >= q and p - q <= MAXF and a > n + (p - q) * s then keep[#keep + 1] = p end
  end
  table.sort(keep)
  local top = n
  local parts = { string.format('%.3f %d', n, q) }
  for _, p in ipairs(keep) do
    parts[#parts + 1] = string.format('%d %.3f', p, fl[p])
    if fl[p] > top then top = fl[p] end
  end
  -- A report on a limit idle for a second would ask for an expiry of 0 or less: an error that
  -- would fail the script for every limit of the call.
  local px = math.ceil(top - now) + 1000
  if px < 1 then px = 1 end
  redis.call('SET', key, table.concat(parts, ' '), 'PX', px)
end

local function clock(arg)
  local now = tonumber(arg)
  if now < 0 then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  end
  return now
end
`;

/**
 * The same as reserveSlots, atomic in Redis: ARGV = want, horizon, now (or -1: Redis's clock),
 * lead, then per key its spacing and allowance. Returns granted, the first slot, the step, the
 * next slot, each key's count before, then the slots.
 */
export const RESERVE_LUA = `${SLOT_LUA}
local want = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local now = clock(ARGV[3])
local grid = now + tonumber(ARGV[4])
local step = 0
local n = #KEYS
local nx, sq, fl, sp, al = {}, {}, {}, {}, {}
for i = 1, n do
  nx[i], sq[i], fl[i] = readSlot(redis.call('GET', KEYS[i]), now)
  sp[i] = tonumber(ARGV[3 + 2 * i])
  al[i] = tonumber(ARGV[4 + 2 * i])
  if nx[i] > grid then grid = nx[i] end
  if sp[i] > step then step = sp[i] end
end
local last = now + horizon
local times = {}
local first = grid
for k = 0, want - 1 do
  local g = grid + k * step
  local t = g
  for i = 1, n do
    local f = fl[i][sq[i] + k]
    if f and f > t then t = f end
  end
  if k == 0 then first = t end
  if t > last then break end
  times[#times + 1] = t
  if t > g then
    for i = 1, n do
      local p = sq[i] + k + al[i]
      local a = t + al[i] * sp[i]
      local f = fl[i][p]
      if not f or a > f then fl[i][p] = a end
    end
  end
end
local granted = #times
local nextAt = first
if granted > 0 then
  nextAt = grid + granted * step
  local lastGrid = grid + (granted - 1) * step
  for i = 1, n do
    writeSlot(KEYS[i], lastGrid + sp[i], sq[i] + granted, fl[i], sp[i], now)
  end
end
local out = { granted, string.format('%.3f', first), string.format('%.3f', step), string.format('%.3f', nextAt) }
for i = 1, n do out[#out + 1] = sq[i] end
for _, t in ipairs(times) do out[#out + 1] = string.format('%.3f', t) end
return out
`;

/**
 * withFloors for each limit, atomic in Redis: ARGV = now (or -1: Redis's clock), then per key its
 * spacing and its floors as "<position> <time> …" (see lateFloors). A key gone (idle past its
 * slots) has nothing left to floor, nor has one that holds something else.
 */
export const LATE_LUA = `${SLOT_LUA}
local now = clock(ARGV[1])
for i = 1, #KEYS do
  local nx, q, fl, ours = readSlot(redis.call('GET', KEYS[i]), now)
  -- Only a value these scripts wrote is floored (the next reservation renews the rest).
  if ours then
    local s = tonumber(ARGV[2 * i])
    local changed = false
    for ps, as in string.gmatch(ARGV[2 * i + 1], '(%S+) (%S+)') do
      local p, a = tonumber(ps), tonumber(as)
      if p and a and p >= q and a > nx + (p - q) * s and (not fl[p] or a > fl[p]) then
        fl[p] = a
        changed = true
      end
    end
    if changed then writeSlot(KEYS[i], nx, q, fl, s, now) end
  end
end
return #KEYS
`;
