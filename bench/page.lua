-- GET one page of 100 users at a random startIndex among the first
-- BENCH_PAGES pages, as a client paging through the whole directory.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local pages

setup = common.setup
done = common.done
response = common.response

function init(args)
   pages = tonumber(os.getenv("BENCH_PAGES") or "10")
   math.randomseed(os.time() + tid)
end

function request()
   local start = 1 + 100 * (math.random(pages) - 1)
   return wrk.format("GET", common.base .. "/Users?startIndex=" .. start .. "&count=100",
                     common.headers)
end
