-- GET /scim/v2/Users?filter=userName eq "..." for a random existing user, as a
-- provisioning client looks a user up before creating it. The requests are
-- built once at start-up (see common.lua).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local requests

setup = common.setup
done = common.done
response = common.response

function init(args)
   local _, names = common.read_ids()
   requests = {}
   for i, name in ipairs(names) do
      local filter = common.urlencode('userName eq "' .. name .. '"')
      requests[i] = wrk.format("GET", common.base .. "/Users?filter=" .. filter, common.headers)
   end
   math.randomseed(os.time() + tid)
end

function request()
   return requests[math.random(#requests)]
end
