-- GET /scim/v2/Users/{id} for a random existing user. The requests are
-- built once at start-up (see common.lua).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local requests

setup = common.setup
done = common.done
response = common.response

function init(args)
   local ids = common.read_ids()
   requests = {}
   for i, id in ipairs(ids) do
      requests[i] = wrk.format("GET", common.base .. "/Users/" .. id, common.headers)
   end
   math.randomseed(os.time() + tid)
end

function request()
   return requests[math.random(#requests)]
end
