-- wrk script: GET /m/lookup?signal_type=pdq&signal=... on the HMA-compatible listener (no key: it
-- acts as [hma] key), cycling through the same query list as lookup.lua.
dofile(os.getenv("VIGIL_BENCH_QUERIES"))
local n = 0
request = function()
  n = n % #queries + 1
  return wrk.format("GET", "/m/lookup?signal_type=pdq&signal=" .. queries[n])
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("hma lookup status " .. status .. ": " .. body .. "\n")
  end
end
