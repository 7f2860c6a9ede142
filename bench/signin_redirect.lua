-- GET /auth/okta?account=ID for an account picked at random from the file
-- BENCH_ACCOUNTS (one id per line). Each request starts a sign-in, which
-- stores a login transaction and redirects to the identity provider (302).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local paths = {}

setup = common.setup
done = common.done
response = common.response
common.expect = { [302] = true }

function init(args)
   for line in io.lines(os.getenv("BENCH_ACCOUNTS")) do
      paths[#paths + 1] = "/auth/okta?account=" .. common.urlencode(line)
   end
   assert(#paths > 0, "BENCH_ACCOUNTS lists no accounts")
   math.randomseed(os.time() + tid)
end

function request()
   return wrk.format("GET", paths[math.random(#paths)])
end
