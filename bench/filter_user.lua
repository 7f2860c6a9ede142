-- GET /scim/v2/Users?filter=userName eq "..." for a random existing user, as a
-- provisioning client looks a user up before creating it.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local names

setup = common.setup
done = common.done
response = common.response

function init(args)
   local _
   _, names = common.read_ids()
   math.randomseed(os.time() + tid)
end

function request()
   local filter = common.urlencode('userName eq "' .. names[math.random(#names)] .. '"')
   return wrk.format("GET", common.base .. "/Users?filter=" .. filter, common.headers)
end
