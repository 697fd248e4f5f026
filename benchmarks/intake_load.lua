-- wrk script for bench_intake.py: POST one signed workflow_run delivery, each with its own X-GitHub-Delivery,
-- count the answers that are not 2xx, and print one "WRK_RESULT {json}" line at the end.
-- Arguments after "--": <body file> <signature "sha256=..."> <delivery id prefix>

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
  wrk.headers["X-GitHub-Event"] = "workflow_run"
  wrk.headers["X-Hub-Signature-256"] = args[2]
  delivery_prefix = args[3] .. "-" .. thread_number .. "-"
  sent = 0
  non_2xx = 0
end

function request()
  sent = sent + 1
  wrk.headers["X-GitHub-Delivery"] = delivery_prefix .. sent
  return wrk.format()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local non_2xx_total = 0
  for _, thread in ipairs(threads) do
    non_2xx_total = non_2xx_total + thread:get("non_2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, non_2xx_total,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)
  ))
end
