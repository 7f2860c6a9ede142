-- Helpers shared by the wrk scenario scripts, loaded with dofile from each.
--
-- Environment read by the scripts:
--   BENCH_TOKEN   bearer token sent in the Authorization header
--   BENCH_IDS     file of "id<TAB>userName" lines to pick users from
--   BENCH_PREFIX  prefix making created userNames unique to this run
--   BENCH_GROUP   group id for the PATCH scenario
--   BENCH_POOL    file of "id<TAB>userName" lines added to and removed from the group
--   BENCH_PAGES   number of 100-user pages the page scenario picks from
local common = {}

common.base = "/scim/v2"

common.headers = {
   ["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or ""),
   ["Accept"] = "application/scim+json",
   ["Content-Type"] = "application/scim+json",
}

-- Reads "id<TAB>userName" lines into two arrays.
function common.read_ids(path)
   local ids, names = {}, {}
   local f = assert(io.open(path or os.getenv("BENCH_IDS"), "r"))
   for line in f:lines() do
      local id, name = line:match("^([^\t]+)\t(.+)$")
      if id and id ~= "group" then
         ids[#ids + 1] = id
         names[#names + 1] = name
      end
   end
   f:close()
   assert(#ids > 0, "no ids in " .. tostring(path))
   return ids, names
end

function common.urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Gives each thread a distinct number, available as the global `tid`.
local next_tid = 0
function common.setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
end

-- Prints one machine-readable line that bench/run parses.
function common.done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f mean_us=%.0f p50_us=%d p99_us=%d " ..
      "status_errors=%d socket_errors=%d timeouts=%d\n",
      summary.requests, seconds, summary.requests / seconds, latency.mean,
      latency:percentile(50), latency:percentile(99), e.status,
      e.connect + e.read + e.write, e.timeout))
end

return common
