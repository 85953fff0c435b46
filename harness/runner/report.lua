-- wrk script for the lab harness: results leave wrk only through done(), as JSON written to
-- the file named by $LAB_WRK_OUT (wrk's console text is never parsed).
-- $LAB_WRK_PIPELINE (default 1) > 1 sends that many requests back to back per write
-- (HTTP pipelining, as in TechEmpower's plaintext test). With depth 1 no request() is defined,
-- so wrk keeps its fast static-request path.
--
-- Units: wrk records latency in microseconds and summary.duration in microseconds.
-- latency:percentile(p) takes a percentage in [0, 100] (not a fraction) and returns
-- microseconds; the harness's tests check p50 <= p99 <= max on real runs. percentile(100)
-- returns 0 in wrk 4.1 (its rank rounds past the last bucket), so the maximum is latency.max.

init = function(args)
  local depth = tonumber(os.getenv("LAB_WRK_PIPELINE") or "1") or 1
  if depth > 1 then
    local batch = {}
    for i = 1, depth do
      batch[i] = wrk.format(nil, wrk.path)
    end
    local bytes = table.concat(batch)
    request = function()
      return bytes
    end
  end
end

local function number(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  if x == math.floor(x) and math.abs(x) < 2^53 then
    return string.format("%d", x)
  end
  return string.format("%.6f", x)
end

-- wrk 4.1 "corrects" latency for coordinated omission after the run: for every sample n at
-- least twice the expected interval (run time / requests per connection) it adds synthetic
-- samples at n - k*interval. Its percentile() walks the histogram from the smallest *real*
-- sample, so synthetic samples below it are counted in the total but never reached, and high
-- percentiles come back as 0 (seen with pipelining, where the interval is per response but
-- latency is per batch). When that happens, rescale: find the reachable fraction f of the
-- samples by bisection (percentile(p) > 0 exactly while the rank is reachable) and report
-- percentile(q * f) and mean / f, i.e. the statistics of the reachable samples.
local function reachable_fraction(latency)
  if latency:percentile(99.9) > 0 then
    return 1
  end
  local lo, hi = 0, 100
  for _ = 1, 40 do
    local mid = (lo + hi) / 2
    if latency:percentile(mid) > 0 then lo = mid else hi = mid end
  end
  return lo / 100
end

done = function(summary, latency, requests)
  local path = os.getenv("LAB_WRK_OUT")
  if path == nil or path == "" then
    io.stderr:write("report.lua: LAB_WRK_OUT is not set\n")
    return
  end
  local e = summary.errors
  local f = 1
  if summary.requests > 0 then f = reachable_fraction(latency) end
  if f <= 0 then f = 1 end
  local function pct(q) return latency:percentile(q * f) end
  local fields = {
    '"duration_us":' .. number(summary.duration),
    '"requests":' .. number(summary.requests),
    '"bytes":' .. number(summary.bytes),
    '"errors":{"connect":' .. number(e.connect) .. ',"read":' .. number(e.read) ..
      ',"write":' .. number(e.write) .. ',"timeout":' .. number(e.timeout) ..
      ',"status":' .. number(e.status) .. '}',
    '"latency_us":{"min":' .. number(latency.min) .. ',"max":' .. number(latency.max) ..
      ',"mean":' .. number(latency.mean / f) .. ',"stdev":' .. number(latency.stdev) ..
      ',"p50":' .. number(pct(50)) ..
      ',"p75":' .. number(pct(75)) ..
      ',"p90":' .. number(pct(90)) ..
      ',"p99":' .. number(pct(99)) ..
      ',"p99_9":' .. number(pct(99.9)) .. '}',
    '"latency_reachable_fraction":' .. number(f),
    '"thread_rate":{"mean":' .. number(requests.mean) .. ',"max":' .. number(requests.max) .. '}',
  }
  local text = "{" .. table.concat(fields, ",") .. "}\n"
  -- A device (/dev/null: a warm-up whose report nobody reads) is written in place: renaming
  -- the temporary file over it replaced the machine's /dev/null with a regular file.
  if path:sub(1, 5) == "/dev/" then
    local out = assert(io.open(path, "w"))
    out:write(text)
    out:close()
    return
  end
  local tmp = path .. ".tmp"
  local out = assert(io.open(tmp, "w"))
  out:write(text)
  out:close()
  assert(os.rename(tmp, path))
end
