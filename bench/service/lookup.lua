-- wrk script: POST /v1/lookup with one PDQ signal per request, cycling through a query list.
-- queries.lua (written by service-bench.sh) defines `queries` (hex strings) and `key`.
dofile(os.getenv("VIGIL_BENCH_QUERIES"))
local n = 0
local bodies = {}
for i, q in ipairs(queries) do
  bodies[i] = '{"signals":[{"type":"pdq","value":"' .. q .. '","quality":100}]}'
end
local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
request = function()
  n = n % #bodies + 1
  return wrk.format("POST", "/v1/lookup", headers, bodies[n])
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("lookup status " .. status .. ": " .. body .. "\n")
  end
end
