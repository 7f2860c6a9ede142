-- GET /scim/v2/Users/{id} for a random existing user.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local ids

setup = common.setup
done = common.done
response = common.response

function init(args)
   ids = common.read_ids()
   math.randomseed(os.time() + tid)
end

function request()
   return wrk.format("GET", common.base .. "/Users/" .. ids[math.random(#ids)], common.headers)
end
