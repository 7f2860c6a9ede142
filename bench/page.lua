-- GET one page of 100 users at a random startIndex among the first
-- BENCH_PAGES pages, as a client paging through the whole directory.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local requests

setup = common.setup
done = common.done
response = common.response

function init(args)
   requests = {}
   for page = 1, tonumber(os.getenv("BENCH_PAGES") or "10") do
      local start = 1 + 100 * (page - 1)
      requests[page] = wrk.format("GET", common.base .. "/Users?startIndex=" .. start ..
                                  "&count=100", common.headers)
   end
   math.randomseed(os.time() + tid)
end

function request()
   return requests[math.random(#requests)]
end
