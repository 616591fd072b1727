-- bench/wrk/score.lua — POST one photo (raw image/jpeg body) to /api/v1/score on every request,
-- count the answers by status, and optionally pace the requests (open-loop-ish arrivals).
--   FS_BENCH_IMAGE   photo to send (required)
--   FS_BENCH_RATE    total requests/s to offer across all wrk threads; unset or 0 = as fast as the
--                    connections allow (closed loop, for capacity)
--   FS_BENCH_THREADS wrk -t value (to split the rate per thread; default 2)
--   FS_BENCH_ARRIVALS  poisson (default: exponential gaps) or uniform (fixed gaps)
-- Pacing: each wrk thread keeps its own schedule of send times (rate / threads); delay() hands the next
-- slot to whichever connection asks and waits until it is due. When every connection is busy the slot
-- is sent late; such late sends are counted ("late" below) so that an overloaded client shows up.
-- At the end one line per status: "status 200: N", "status 503: N", plus "late sends: N".
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } fs_timespec;
  int clock_gettime(int clk, fs_timespec *tp);
]]
local ts = ffi.new("fs_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) / 1e6
end

local path = os.getenv("FS_BENCH_IMAGE") or error("set FS_BENCH_IMAGE")
local f = assert(io.open(path, "rb"))
local photo = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = "/api/v1/score"
wrk.body = photo
wrk.headers["Content-Type"] = "image/jpeg"

local threads = {}
local nthreads = tonumber(os.getenv("FS_BENCH_THREADS") or "2")
local rate = tonumber(os.getenv("FS_BENCH_RATE") or "0")
local poisson = (os.getenv("FS_BENCH_ARRIVALS") or "poisson") ~= "uniform"

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

counts = {}
late = 0
sends = 0
local next_slot = nil
local gap_ms = rate > 0 and 1000 * nthreads / rate or 0

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function response(status, headers, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
end

if rate > 0 then
  function delay()
    local t = now_ms()
    if not next_slot then next_slot = t + math.random() * gap_ms end
    local slot = next_slot
    local g = gap_ms
    if poisson then g = -gap_ms * math.log(1 - math.random()) end
    next_slot = next_slot + g
    if slot < t - 1 then late = late + 1 end
    sends = sends + 1
    return slot > t and math.floor(slot - t + 0.5) or 0
  end
end

function done(summary, latency, requests)
  local total, nlate, nsends = {}, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    nlate = nlate + t:get("late")
    nsends = nsends + t:get("sends")
  end
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do io.write(string.format("status %s: %d\n", k, total[k])) end
  local e = summary.errors
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n", e.connect, e.read, e.write,
                         e.timeout))
  io.write(string.format("late sends: %d\n", nlate))
  io.write(string.format("paced sends: %d\n", nsends))
  io.write(string.format("latency_ms p50 %.1f p90 %.1f p99 %.1f max %.1f\n", latency:percentile(50) / 1e3,
                         latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
