-- wrk script: POST /v1/content with a ~1 MP JPEG, a fresh content_id per request.
-- Environment: VIGIL_BENCH_IMAGE (the JPEG), VIGIL_BENCH_KEY (a submitter key).
local file = assert(io.open(os.getenv("VIGIL_BENCH_IMAGE"), "rb"))
local image = file:read("*a")
file:close()
local headers = { ["Authorization"] = "Bearer " .. os.getenv("VIGIL_BENCH_KEY"), ["Content-Type"] = "image/jpeg" }
-- Each wrk thread gets its own tag from setup() so content ids never collide.
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("thread_tag", tostring(os.time()) .. "-" .. counter)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/content?content_id=bench-" .. thread_tag .. "-" .. n .. "&user_id=bench-user", headers, image)
end
response = function(status, headers, body)
  if status ~= 201 then
    io.stderr:write("content status " .. status .. ": " .. body .. "\n")
  end
end
