-- wrk script for POST /api/v1/route (scripts/bench-route.sh): the B-numbers of
-- testdata/sipp/calls_airtel.csv in turn, the switch key from DIDTRON_KEY; EXPLAIN=0
-- leaves the explanation out. Call ids cycle through IN_PROGRESS (default 5 000): no
-- CDR ever arrives here, so each routed call's channels and credit stay held; reusing
-- the ids keeps at most that many calls in progress, as on a switch whose calls end
-- (a call id asked again renews its own holds, as a new call after a CDR would take
-- them).
local numbers = {}
-- EXPLAIN=0: ask without the explanation, as DIDTron's Kamailio configuration does.
local explain = (os.getenv("EXPLAIN") == "0") and "false" or "true"

init = function(args)
  local file = io.open(os.getenv("NUMBERS") or "testdata/sipp/calls_airtel.csv", "r")
  for line in file:lines() do
    local b = line:match("^[^;]*;([0-9]+);")
    if b then numbers[#numbers + 1] = b end
  end
  file:close()
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("DIDTRON_KEY") or "")

local in_progress = tonumber(os.getenv("IN_PROGRESS") or "5000")
local counter = 0
request = function()
  counter = counter + 1
  local b = numbers[(counter % #numbers) + 1]
  local body = '{"source_ip":"127.0.0.1","source_port":5060,"a_number":"442079000000","b_number":"'
    .. b .. '","call_id":"load-' .. (counter % in_progress) .. '","explain":'
    .. explain .. '}'
  return wrk.format(nil, nil, nil, body)
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
