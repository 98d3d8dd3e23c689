-- wrk script for the `page` workload: authenticated GETs of the security page, each thread
-- rotating through the seeded cookies from its own starting point.
-- Environment: BENCH_COOKIES (a file with one Cookie header value per line), BENCH_PATH.
local cookies = {}
local next_index = 1
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  for line in io.lines(os.getenv("BENCH_COOKIES")) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  next_index = (offset * 97) % #cookies + 1
end

function request()
  local cookie = cookies[next_index]
  next_index = next_index % #cookies + 1
  return wrk.format("GET", os.getenv("BENCH_PATH"), { ["Cookie"] = cookie, ["Accept"] = "text/html" })
end
