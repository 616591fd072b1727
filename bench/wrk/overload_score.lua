-- bench/wrk/overload_score.lua — scripts/test-overload.sh's load: POST one photo (raw image/jpeg body) to
-- /api/v1/score, count every request sent and every answer by status, and record the result id of each 200
-- (so that a kill -9 test can read every acknowledged result back).
--   FS_OVL_IMAGE    photo to send (required)
--   FS_OVL_RATE     total requests/s to offer across all wrk threads (uniform gaps per thread); 0 = closed loop
--   FS_OVL_THREADS  the wrk -t value (to split the rate; default 2)
--   FS_OVL_IDS      file prefix: thread k appends the id of each 200 to PREFIX.k, one per line, flushed at once
--   FS_OVL_MARK     a file the caller creates just before it kills the server: requests made once it exists
--                   (wrk's reconnects to the dead server) are not counted as sent
-- At the end (done): "sent N", "status S: N" per status, "answered N", "socket errors: ..." on stdout.
local path = os.getenv("FS_OVL_IMAGE") or error("set FS_OVL_IMAGE")
local f = assert(io.open(path, "rb"))
local photo = f:read("*a")
f:close()

local threads = {}
local nthreads = tonumber(os.getenv("FS_OVL_THREADS") or "2")
local rate = tonumber(os.getenv("FS_OVL_RATE") or "0")
local ids_prefix = os.getenv("FS_OVL_IDS")
local mark = os.getenv("FS_OVL_MARK")
local marked = false

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

sent = 0
counts = {}
local req = nil
local ids = nil
local gap_ms = rate > 0 and 1000 * nthreads / rate or 0

function init(args)
  req = wrk.format("POST", "/api/v1/score", { ["Content-Type"] = "image/jpeg" }, photo)
  if ids_prefix then
    ids = assert(io.open(ids_prefix .. "." .. tostring(tid), "a"))
    ids:setvbuf("line")
  end
end

function request()
  if mark and not marked then
    local m = io.open(mark, "r")
    if m then m:close(); marked = true end
  end
  if not marked then sent = sent + 1 end
  return req
end

function response(status, headers, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
  if status == 200 and ids then
    local id = body and body:match('"id":"(%x+)"')
    if id then ids:write(id, "\n") else counts["200-without-id"] = (counts["200-without-id"] or 0) + 1 end
  end
end

if rate > 0 then
  -- each wrk thread keeps its own schedule of send times, one every nthreads / rate seconds; delay() gives the
  -- next slot to whichever connection asks and waits until it is due (sent at once when already late)
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } ovl_timespec;
    int clock_gettime(int clk, ovl_timespec *tp);
  ]]
  local ts = ffi.new("ovl_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) / 1e6
  end
  local next_slot = nil
  function delay()
    local t = now_ms()
    if not next_slot then next_slot = t + math.random() * gap_ms end
    local slot = next_slot
    next_slot = math.max(next_slot, t - gap_ms) + gap_ms
    return slot > t and math.floor(slot - t + 0.5) or 0
  end
end

function done(summary, latency, requests)
  local total, nsent, answered = {}, 0, 0
  for _, t in ipairs(threads) do
    nsent = nsent + t:get("sent")
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  io.write(string.format("sent %d\n", nsent))
  for _, k in ipairs(keys) do
    io.write(string.format("status %s: %d\n", k, total[k]))
    if k ~= "200-without-id" then answered = answered + total[k] end
  end
  io.write(string.format("answered %d\n", answered))
  local e = summary.errors
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n", e.connect, e.read, e.write,
                         e.timeout))
  io.write(string.format("latency_ms p50 %.1f p99 %.1f max %.1f\n", latency:percentile(50) / 1e3,
                         latency:percentile(99) / 1e3, latency.max / 1e3))
end
