-- PATCH /scim/v2/Groups/{BENCH_GROUP}: adds one member, and removes it again
-- POOL_PER_THREAD requests later, in the forms Okta sends. Each thread cycles
-- through its own POOL_PER_THREAD users of BENCH_POOL, so the group holds at
-- most threads * POOL_PER_THREAD extra members. The pool is larger than a
-- thread's 32 connections, so a user's add is normally replied to before its
-- remove is sent. NOTE: wrk does not guarantee that order, and a remove that
-- overtakes its add may be rejected, which counts as an error.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local POOL_PER_THREAD = 48
local group = os.getenv("BENCH_GROUP")
local path = common.base .. "/Groups/" .. group
local adds, removes = {}, {}
local counter = 0

setup = common.setup
done = common.done
response = common.response
common.expect = { [200] = true, [204] = true }

local ADD = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
   '"Operations":[{"op":"add","path":"members","value":[{"value":"%s"}]}]}'
local REMOVE = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
   '"Operations":[{"op":"remove","path":"members[value eq \\"%s\\"]"}]}'

-- Builds the thread's requests once (see common.lua).
function init(args)
   local ids = common.read_ids(os.getenv("BENCH_POOL"))
   for i = 1, POOL_PER_THREAD do
      local id = assert(ids[tid * POOL_PER_THREAD + i], "BENCH_POOL has too few users")
      adds[i] = wrk.format("PATCH", path, common.headers, string.format(ADD, id))
      removes[i] = wrk.format("PATCH", path, common.headers, string.format(REMOVE, id))
   end
end

function request()
   local slot = counter % POOL_PER_THREAD
   local adding = math.floor(counter / POOL_PER_THREAD) % 2 == 0
   counter = counter + 1
   return (adding and adds or removes)[slot + 1]
end
