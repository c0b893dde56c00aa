-- riskbench: wrk walks a list of request paths (one per line, in the file
-- given as the first script argument), each thread from its own offset,
-- and counts the responses by status class. done() prints one line,
-- "riskbench {json}", which cmd/riskbench parses.
local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  table.insert(threads, thread)
  nthreads = nthreads + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("riskbench: no paths in " .. args[1]) end
  local nt = tonumber(args[2]) or 1
  pos = math.floor(#paths * tid / nt)
  s2, s3, s4, s5 = 0, 0, 0, 0
  wrk.headers["Accept-Encoding"] = "gzip"
end

function request()
  pos = pos % #paths + 1
  return wrk.format("GET", paths[pos])
end

function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1
  else s2 = s2 + 1 end
end

function done(summary, latency, requests)
  local c = { 0, 0, 0, 0 }
  for _, t in ipairs(threads) do
    c[1] = c[1] + t:get("s2")
    c[2] = c[2] + t:get("s3")
    c[3] = c[3] + t:get("s4")
    c[4] = c[4] + t:get("s5")
  end
  local e = summary.errors
  io.write(string.format(
    'riskbench {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"s2xx":%d,"s3xx":%d,"s4xx":%d,"s5xx":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, c[1], c[2], c[3], c[4]))
end
