-- GET /scim/v2/Users?filter=userName eq "..." for a random existing user, as a
-- provisioning client looks a user up before creating it. The paths are
-- percent-encoded once at start-up, so that a request costs wrk no more
-- than one of get_user.lua: wrk shares the two cores with the server.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local paths

setup = common.setup
done = common.done
response = common.response

function init(args)
   local _, names = common.read_ids()
   paths = {}
   for i, name in ipairs(names) do
      paths[i] = common.base .. "/Users?filter=" .. common.urlencode('userName eq "' .. name .. '"')
   end
   math.randomseed(os.time() + tid)
end

function request()
   return wrk.format("GET", paths[math.random(#paths)], common.headers)
end
