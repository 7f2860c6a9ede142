-- POST /scim/v2/Users with a userName unique to this run, thread and request.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local prefix = os.getenv("BENCH_PREFIX") or "post-"
local counter = 0

setup = common.setup
done = common.done
response = common.response
common.expect = { [201] = true }

function request()
   counter = counter + 1
   local name = string.format("%s%d-%d@bench.example", prefix, tid, counter)
   local body = string.format(
      '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
      '"externalId":"ext-%s","name":{"givenName":"Given","familyName":"Family%d"},' ..
      '"displayName":"Given Family%d","emails":[{"primary":true,"value":"%s","type":"work"}],' ..
      '"active":true}', name, name, counter, counter, name)
   return common.format("POST", common.base .. "/Users", body)
end
