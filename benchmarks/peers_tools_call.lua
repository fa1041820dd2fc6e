-- wrk script of benchmarks/peers.py: every request is a modern-era (2026-07-28) MCP `tools/call`, a self-contained
-- JSON-RPC POST (protocol version header and `_meta`, no session), so any server answers it on any connection.
--
--     wrk -t2 -c32 -d5s -s benchmarks/peers_tools_call.lua http://127.0.0.1:PORT/mcp/items -- getItem
--     wrk -t2 -c32 -d5s -s benchmarks/peers_tools_call.lua http://127.0.0.1:PORT -- --direct-get
--
-- `--direct-get` sends the same call's HTTP request straight to the items API (`GET /items/{id}`), the `direct` row.
-- The arguments vary per request (as in benchmarks/gateway_calls.py) so that no layer can answer from a cache.
-- An answer counts only when it is HTTP 200 with a JSON-RPC result that is not a tool error; every other answer,
-- and every socket error and timeout wrk saw, is counted and the first one printed: a run with errors is not a
-- result. `done` prints machine-readable lines (prefix `peers-`) that benchmarks/peers_wrk.py parses.

local tool = "getItem"
local sequence = 0
-- Globals, not locals: `done` reads them from every thread's own Lua state with thread:get.
errors = 0
first_error = nil

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  tool = args[1] or tool
  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["Mcp-Protocol-Version"] = "2026-07-28",
    ["Mcp-Method"] = "tools/call",
    ["Mcp-Name"] = tool,
  }
end

function request()
  sequence = sequence + 1
  if tool == "--direct-get" then
    return wrk.format("GET", string.format("/items/item-%d?limit=%d&verbose=true&q=bench+mark", sequence, sequence % 50))
  end
  local body = string.format(
    '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":'
      .. '{"item_id":"item-%d","limit":%d,"verbose":true,"q":"bench mark"},"_meta":'
      .. '{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}',
    sequence, tool, sequence, sequence % 50)
  return wrk.format("POST", nil, headers, body)
end

function response(status, response_headers, body)
  local answered = status == 200 and (tool == "--direct-get" or string.find(body, '"result"', 1, true) ~= nil)
  if not answered or string.find(body, '"isError"%s*:%s*true') ~= nil then
    errors = errors + 1
    if first_error == nil then
      first_error = "HTTP " .. status .. ": " .. string.sub(string.gsub(body, "%s+", " "), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local counted = 0
  local first = nil
  for _, thread in ipairs(threads) do
    counted = counted + thread:get("errors")
    first = first or thread:get("first_error")
  end
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("peers-requests %d\n", summary.requests))
  io.write(string.format("peers-duration-us %d\n", summary.duration))
  io.write(string.format("peers-latency-us %d %d\n", latency:percentile(50), latency:percentile(99)))
  io.write(string.format("peers-errors %d\n", counted + socket_errors))
  if first == nil and socket_errors > 0 then
    first = string.format("socket errors: connect %d, read %d, write %d, timeout %d", summary.errors.connect,
      summary.errors.read, summary.errors.write, summary.errors.timeout)
  end
  if first ~= nil then
    io.write("peers-first-error " .. first .. "\n")
  end
end
