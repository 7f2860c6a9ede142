-- GET /auth/okta?account=BENCH_ACCOUNT: starts a sign-in, which stores a
-- login transaction and redirects to the identity provider (302).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local path = "/auth/okta?account=" .. common.urlencode(os.getenv("BENCH_ACCOUNT") or "")

setup = common.setup
done = common.done

function request()
   return wrk.format("GET", path)
end
