-- wrk script for POST /predict on the seeded hot series: a random series
-- among SERIES (default 1000), half the calls with ?version=v1.
local series = tonumber(os.getenv("SERIES") or "1000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"timestamp":"1609459500","value":12.5}'

request = function()
  local query = ""
  if math.random() < 0.5 then query = "?version=v1" end
  return wrk.format(nil, "/predict/perf-hot-" .. math.random(0, series - 1) .. query)
end
