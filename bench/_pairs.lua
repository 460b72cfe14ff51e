-- wrk script for the server-throughput rows of `python -m bench` (see bench/_loadgen.py).
--
-- Every request is either POST /v2/create_environment (for the job given as the first script
-- argument) or POST /v2/environments/{id}/close for an id answered by an earlier create. The ids
-- wait in a per-thread FIFO: a connection that is ready to send closes the oldest created
-- environment if there is one, else creates a new one. wrk does not tell request() which
-- connection it serves, so the alternation is balanced per thread (every environment created is
-- closed once, at most one per connection is left open at the end) rather than strictly per
-- connection. A pair is a close answered 2xx. Any other status, or an answer that cannot be
-- parsed, counts as an error; so do wrk's socket errors (connect, read, write, timeout).
--
-- Arguments after `--`: job id, a nonce that makes the Idempotency-Keys unique across runs, and
-- optionally N > 0: every Nth request of a thread asks for `Connection: close`, so wrk reconnects.
-- Without it wrk opens all its connections in one burst at the start and, under `uvicorn --workers`,
-- the first worker to wake accepts them all and keeps them; reconnecting spreads them over the workers
-- as separate clients would.
-- done() prints one line: "hud-bench creates=N closes=N errors=N socket_errors=N seconds=S".

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   local job_id = args[1]
   nonce = args[2] or "0"
   reconnect_every = tonumber(args[3] or "0")
   create_body = '{"gym_id":"bench-gym","run_id":"' .. job_id .. '"}'
   close_body = '{"reward":1.0}'
   base_headers = {}
   for name, value in pairs(wrk.headers) do
      base_headers[name] = value
   end
   base_headers["Content-Type"] = "application/json"
   ready, head, tail = {}, 1, 0
   sent, creates, closes, errors = 0, 0, 0, 0
end

local function headers()
   -- A fresh table per request (wrk.format adds Content-Length to it), with a unique
   -- Idempotency-Key as the SDK sends one on every POST.
   sent = sent + 1
   local h = {}
   for name, value in pairs(base_headers) do
      h[name] = value
   end
   h["Idempotency-Key"] = nonce .. "-" .. thread_number .. "-" .. sent
   if reconnect_every > 0 and sent % reconnect_every == 0 then
      h["Connection"] = "close"
   end
   return h
end

function request()
   if head <= tail then
      local env_id = ready[head]
      ready[head] = nil
      head = head + 1
      return wrk.format("POST", "/v2/environments/" .. env_id .. "/close", headers(), close_body)
   end
   return wrk.format("POST", "/v2/create_environment", headers(), create_body)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      errors = errors + 1
      return
   end
   -- A close answers the trajectory's summary (with "step_count"); a create answers {"id", "metadata"}.
   if string.find(body, '"step_count"', 1, true) then
      closes = closes + 1
      return
   end
   local env_id = string.match(body, '"id"%s*:%s*"([^"]+)"')
   if env_id == nil then
      errors = errors + 1
      return
   end
   creates = creates + 1
   tail = tail + 1
   ready[tail] = env_id
end

function done(summary, latency, requests)
   local created, closed, failed = 0, 0, 0
   for _, thread in ipairs(threads) do
      created = created + thread:get("creates")
      closed = closed + thread:get("closes")
      failed = failed + thread:get("errors")
   end
   local e = summary.errors
   io.write(string.format(
      "hud-bench creates=%d closes=%d errors=%d socket_errors=%d seconds=%.6f\n",
      created, closed, failed, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6
   ))
end
