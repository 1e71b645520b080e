-- mix.lua - the wrk script of `make soak`: sends the request mix written by
-- gen_requests.py (weights from its manifest) and checks every answer, good
-- and bad, against the golden status and body that soak.sh recorded before
-- the load. wrk runs one connection per thread here (-t = -c), so that the
-- answers of a thread come in the order of its requests and a FIFO of the
-- kinds sent pairs each answer with its request.
--   wrk -t C -c C ... -s mix.lua URL -- DIR
-- done() prints "SOAK ..." lines that soak.sh reads.

local kinds = {}  -- {name, weight, request, status, golden}
local total_weight = 0
local sent_queue, head, tail = {}, 1, 0
-- wrk calls request() of its first thread once before the run, to count
-- the requests it returns (wrk.c, script_verify_request), and never sends
-- that one: it must not enter the FIFO.
local verify_call_pending = false

-- Per-thread counters, read by done() through thread:get.
sent, ok, bad_status, bad_body, first_bad = {}, {}, {}, {}, ""

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local function slurp(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  local dir = args[1]
  verify_call_pending = thread_id == 1
  math.randomseed(1000 + (thread_id or 0))
  for line in io.lines(dir .. "/manifest") do
    local name, method, path, weight = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    local body = slurp(dir .. "/" .. name .. ".body")
    local headers = {}
    if method == "POST" then
      headers["Content-Type"] = "application/json"
    else
      body = nil
    end
    local golden = slurp(dir .. "/" .. name .. ".golden")
    local status = tonumber(slurp(dir .. "/" .. name .. ".status"))
    total_weight = total_weight + tonumber(weight)
    table.insert(kinds, {name = name, weight = total_weight, status = status, golden = golden,
                         request = wrk.format(method, path, headers, body)})
    sent[name], ok[name], bad_status[name], bad_body[name] = 0, 0, 0, 0
  end
end

function request()
  if verify_call_pending then
    verify_call_pending = false
    return kinds[1].request
  end
  local r = math.random() * total_weight
  local k = kinds[#kinds]
  for _, candidate in ipairs(kinds) do
    if r < candidate.weight then
      k = candidate
      break
    end
  end
  tail = tail + 1
  sent_queue[tail] = k
  sent[k.name] = sent[k.name] + 1
  return k.request
end

function response(status, headers, body)
  local k = sent_queue[head]
  sent_queue[head] = nil
  head = head + 1
  if not k then
    bad_status["unpaired"] = (bad_status["unpaired"] or 0) + 1
    return
  end
  if status ~= k.status then
    bad_status[k.name] = bad_status[k.name] + 1
    if first_bad == "" then
      first_bad = k.name .. ": status " .. status .. ": " .. tostring(body):sub(1, 200)
    end
  elseif body ~= k.golden then
    bad_body[k.name] = bad_body[k.name] + 1
    if first_bad == "" then
      first_bad = k.name .. ": body differs: " .. tostring(body):sub(1, 200)
    end
  else
    ok[k.name] = ok[k.name] + 1
  end
end

function done(summary, latency, requests)
  local totals = {sent = {}, ok = {}, bad_status = {}, bad_body = {}}
  local names = {}
  local unexpected = 0
  local why = ""
  for _, t in ipairs(threads) do
    for field, into in pairs(totals) do
      for name, n in pairs(t:get(field)) do
        if into[name] == nil and field == "sent" then
          table.insert(names, name)
        end
        into[name] = (into[name] or 0) + n
      end
    end
    local fb = t:get("first_bad")
    if why == "" and fb and fb ~= "" then
      why = fb
    end
  end
  table.sort(names)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("SOAK requests %d\n", summary.requests))
  io.write(string.format("SOAK seconds %.1f\n", seconds))
  io.write(string.format("SOAK rps %.1f\n", summary.requests / seconds))
  io.write(string.format("SOAK mbytes_received %.1f\n", summary.bytes / 1e6))
  io.write(string.format("SOAK latency_ms p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
                         latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
                         latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3,
                         latency.max / 1e3))
  io.write(string.format("SOAK socket_errors connect %d read %d write %d timeout %d" ..
                         " (and %d answers >= 400)\n", e.connect, e.read, e.write, e.timeout,
                         e.status))
  for _, name in ipairs(names) do
    local answered = (totals.ok[name] or 0) + (totals.bad_status[name] or 0) +
                     (totals.bad_body[name] or 0)
    io.write(string.format("SOAK kind %-22s sent %8d answered %8d as_expected %8d " ..
                           "wrong_status %d wrong_body %d\n", name, totals.sent[name], answered,
                           totals.ok[name] or 0, totals.bad_status[name] or 0,
                           totals.bad_body[name] or 0))
    unexpected = unexpected + (totals.bad_status[name] or 0) + (totals.bad_body[name] or 0)
  end
  unexpected = unexpected + (totals.bad_status["unpaired"] or 0)
  io.write(string.format("SOAK unexpected %d\n", unexpected + e.connect + e.read + e.write +
                                                 e.timeout))
  if why ~= "" then
    io.write("SOAK first_unexpected " .. why:gsub("\n", " ") .. "\n")
  end
end
