-- The seed's wrk scenario (spec/seed.md §6): one 1 KB message per HTTP request.
--   wrk -t2 -c50 -d10s -s bench/produce.lua http://127.0.0.1:9001
-- Each request: POST /api/v1/produce {"topic":"test-topic","key":"test-<1..1000>","value":"<1024 x 'a'>"}.
-- Any status other than 200/201 is printed (the first few per thread, then only counted);
-- at the end: requests/sec, mean latency and the error count.
-- GAFKA_TOPIC overrides the topic; GAFKA_AUTHORIZATION, if set, is sent as the Authorization header.

local topic = os.getenv("GAFKA_TOPIC") or "test-topic"
local value = string.rep("a", 1024)
local prefix = '{"topic":"' .. topic .. '","key":"test-'
local suffix = '","value":"' .. value .. '"}'
local printed_max = 10

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  math.randomseed(os.time() * 100 + id)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local authorization = os.getenv("GAFKA_AUTHORIZATION")
  if authorization ~= nil and authorization ~= "" then wrk.headers["Authorization"] = authorization end
  failures = 0
end

function request()
  return wrk.format(nil, "/api/v1/produce", nil, prefix .. math.random(1, 1000) .. suffix)
end

function response(status, headers, body)
  if status ~= 200 and status ~= 201 then
    failures = failures + 1
    if failures <= printed_max then
      io.stderr:write(string.format("error: status %d: %s\n", status, body))
    end
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("failures") or 0)
  end
  local seconds = summary.duration / 1e6
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests/sec: %.2f\n", summary.requests / seconds))
  io.write(string.format("mean latency: %.3f ms\n", latency.mean / 1000))
  io.write(string.format("p99 latency: %.3f ms\n", latency:percentile(99) / 1000))
  io.write(string.format("errors: %d (status not 200/201: %d, socket: %d)\n", failed + socket_errors, failed, socket_errors))
end
