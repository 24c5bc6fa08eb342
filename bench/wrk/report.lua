-- wrk script for every endpoint of `make bench` (bench/load.py sets the environment):
--   BENCH_METHOD  GET (default) or POST
--   BENCH_BODY    form body of a POST (application/x-www-form-urlencoded)
--   BENCH_COOKIE  Cookie header (session and CSRF cookies), if any
--   BENCH_UNIQUE  a run id: every request then gets its own address in BENCH_BODY, where
--                 "{email}" stands (newsletter sign-ups must not repeat one address)
-- done() prints one line, "BENCH_JSON {...}", that bench/load.py reads.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local cookie = os.getenv("BENCH_COOKIE")
local unique = os.getenv("BENCH_UNIQUE")

wrk.method = method
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local threads = {}

function setup(thread)
  -- Each wrk thread has its own Lua state: give it a number for unique addresses.
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

if unique and unique ~= "" then
  local counter = 0
  -- Defined only when needed: a static request is cheaper for wrk to send.
  function request()
    counter = counter + 1
    local email = string.format("bench-%s-%d-%d%%40example.org", unique, thread_id, counter)
    -- A function as the replacement: "%" in the address must not be read as a capture.
    return wrk.format(nil, nil, nil, (body:gsub("{email}", function() return email end)))
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.3f, "rps": %.2f, '
      .. '"latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, '
      .. '"bytes": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    summary.bytes
  ))
end
