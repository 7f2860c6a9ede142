-- GET /auth/okta?account=ID for an account picked at random from the file
-- BENCH_ACCOUNTS (one id per line). Each request starts a sign-in, which
-- stores a login transaction and redirects to the identity provider (302).
--
-- idgate caps the sign-ins that are started and not finished, so the run
-- makes a fixed number of redirects, BENCH_REDIRECTS, split evenly between
-- the threads, instead of as many as fit in wrk's duration. A thread stops
-- once it has received its share of replies, and the duration only bounds a
-- slow server. The
-- rate is computed over the time from the first request to the last
-- counted reply of the slowest thread. Requests still in flight when a
-- thread stops (at most one per connection) are not counted, but the
-- server still starts their sign-ins.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local requests = {}
local share, answered = 0, 0

setup = common.setup
done = common.done
common.expect = { [302] = true }

-- Per-thread globals read by common.elapsed through thread:get.
first_request_at = 0
last_reply_at = 0

function init(args)
   for line in io.lines(os.getenv("BENCH_ACCOUNTS")) do
      requests[#requests + 1] = wrk.format("GET", "/auth/okta?account=" .. common.urlencode(line))
   end
   assert(#requests > 0, "BENCH_ACCOUNTS lists no accounts")
   local total = tonumber(os.getenv("BENCH_REDIRECTS"))
   local threads = tonumber(os.getenv("BENCH_THREADS"))
   assert(total and total > 0, "BENCH_REDIRECTS must be a positive number of redirects")
   assert(threads and threads > 0, "BENCH_THREADS must match wrk's -t")
   share = math.ceil(total / threads)
   math.randomseed(os.time() + tid)
end

function request()
   if first_request_at == 0 then
      first_request_at = common.now()
   end
   return requests[math.random(#requests)]
end

function response(status, headers, body)
   common.response(status, headers, body)
   answered = answered + 1
   last_reply_at = common.now()
   if answered >= share then
      wrk.thread:stop()
   end
end

common.elapsed = function(threads)
   local first, last
   for _, thread in ipairs(threads) do
      local a, b = tonumber(thread:get("first_request_at")), tonumber(thread:get("last_reply_at"))
      if a and a > 0 and (not first or a < first) then first = a end
      if b and b > 0 and (not last or b > last) then last = b end
   end
   if first and last and last > first then
      return last - first
   end
   return nil
end
