-- wrk script for the `login-logout` workload. Run with as many threads as connections, so that
-- each thread's requests and answers alternate on one connection. A cycle is: sign in (a new
-- session cookie), log out with it, then ask for the security page with the same cookie, which
-- must now be refused (a redirect to the sign-in page, or 401). A cycle whose last step still
-- got the page counts as `survived`: the session outlived its logout.
-- Environment: BENCH_LOGIN, BENCH_LOGOUT, BENCH_PAGE (paths), BENCH_ORIGIN, BENCH_COOKIE_NAME,
-- BENCH_EMAIL_PREFIX (thread k signs in as <prefix><k>@bench.test), BENCH_PASSWORD.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

local step = "login"
local cookie = nil
cycles, survived, failed = 0, 0, 0

local function form_headers()
  local headers = {
    ["Origin"] = os.getenv("BENCH_ORIGIN"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  if cookie then headers["Cookie"] = cookie end
  return headers
end

function request()
  if step == "login" then
    cookie = nil
    local body = "email=" .. os.getenv("BENCH_EMAIL_PREFIX") .. index .. "%40bench.test&password=" .. os.getenv("BENCH_PASSWORD")
    return wrk.format("POST", os.getenv("BENCH_LOGIN"), form_headers(), body)
  elseif step == "logout" then
    return wrk.format("POST", os.getenv("BENCH_LOGOUT"), form_headers(), "")
  else
    return wrk.format("GET", os.getenv("BENCH_PAGE"), { ["Cookie"] = cookie, ["Accept"] = "text/html" })
  end
end

local function session_cookie(headers)
  local name = os.getenv("BENCH_COOKIE_NAME")
  for key, value in pairs(headers) do
    if string.lower(key) == "set-cookie" then
      local found = string.match(value, "^(" .. name .. "=[^;]+)")
      if found then return found end
    end
  end
  return nil
end

function response(status, headers, body)
  if step == "login" then
    cookie = session_cookie(headers)
    if status < 400 and cookie then step = "logout" else failed = failed + 1 end
  elseif step == "logout" then
    if status < 400 then step = "confirm" else failed = failed + 1; step = "login" end
  else
    local location = headers["Location"] or headers["location"] or ""
    if status == 401 or ((status == 302 or status == 303) and string.find(location, "/login", 1, true)) then
      cycles = cycles + 1
    else
      survived = survived + 1
    end
    step = "login"
  end
end

function done(summary, latency, requests)
  local c, s, f = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("cycles")
    s = s + thread:get("survived")
    f = f + thread:get("failed")
  end
  io.write(string.format("CYCLES %d SURVIVED %d FAILED %d\n", c, s, f))
end
