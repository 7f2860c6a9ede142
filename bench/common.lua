-- Helpers shared by the wrk scenario scripts, loaded with dofile from each.
--
-- Environment read by the scripts:
--   BENCH_TOKEN   bearer token sent in the Authorization header
--   BENCH_IDS     file of "id<TAB>userName" lines to pick users from
--   BENCH_PREFIX  prefix making created userNames unique to this run
--   BENCH_GROUP   group id for the PATCH scenario
--   BENCH_POOL    file of "id<TAB>userName" lines added to and removed from the group
--   BENCH_PAGES   number of 100-user pages the page scenario picks from
--   BENCH_EXPECT  one status that replaces the script's expected ones, for
--                 the framework ceiling, which replies 200 to every request
--
-- A script sets `response = common.response` and lists the statuses it
-- expects in `common.expect`. Every other reply is counted per status and
-- reported by `done`, and bench/run then fails the scenario's row: a reply
-- with an unexpected status is never throughput.
local common = {}

-- Statuses a scenario expects; a script replaces this set.
common.expect = { [200] = true }

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

-- Request texts. The load generator shares the two cores with the server
-- under test, so a request should cost wrk as little as possible.
-- wrk.format builds each header line with string.format and joins a table
-- on every call. Against the framework ceiling, the filter script cost wrk
-- 13.8 us of CPU per request that way. With its requests built once in init,
-- it cost 10.8 us, init included. Scripts whose requests repeat build them
-- in init with wrk.format, and a script with a new body per request uses
-- common.format.

-- Returns the Host line and the lines of common.headers, built on first
-- use (wrk sets the Host header before it calls init). wrk.format adds Host
-- and Content-Length to the headers table it is given, so both are skipped.
local header_lines
local function headers_text()
   if not header_lines then
      local lines = { "Host: " .. wrk.headers["Host"] }
      for name, value in pairs(common.headers) do
         if name ~= "Host" and name ~= "Content-Length" then
            lines[#lines + 1] = name .. ": " .. value
         end
      end
      header_lines = table.concat(lines, "\r\n") .. "\r\n"
   end
   return header_lines
end

-- Returns the text of wrk.format(method, path, common.headers, body), with
-- the header lines built once.
function common.format(method, path, body)
   local head = method .. " " .. path .. " HTTP/1.1\r\n" .. headers_text()
   if body then
      return head .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
   end
   return head .. "\r\n"
end

function common.urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Gives each thread a distinct number, available as the global `tid`, and
-- keeps the threads so that `done` can read their counts.
local next_tid = 0
local threads = {}
function common.setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   threads[#threads + 1] = thread
end

-- Counts the replies whose status is not in common.expect, per status.
-- The counts live in globals of the thread's own Lua state.
unexpected = 0
unexpected_by_status = ""
local by_status = {}
local expect_override = tonumber(os.getenv("BENCH_EXPECT") or "")

function common.response(status, headers, body)
   local expected
   if expect_override then
      expected = status == expect_override
   else
      expected = common.expect[status]
   end
   if not expected then
      unexpected = unexpected + 1
      by_status[status] = (by_status[status] or 0) + 1
      local parts = {}
      for s, n in pairs(by_status) do
         parts[#parts + 1] = s .. "x" .. n
      end
      table.sort(parts)
      unexpected_by_status = table.concat(parts, ",")
   end
end

-- Seconds since an arbitrary fixed point, with sub-microsecond resolution
-- (CLOCK_MONOTONIC through LuaJIT's FFI, which wrk embeds); os.time() counts
-- whole seconds only.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")
function common.now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

-- A script that stops its threads early sets this to a function that takes
-- the threads and returns the seconds they ran. `done` then computes the
-- rate over those seconds instead of over wrk's whole duration.
common.elapsed = nil

-- Prints one machine-readable line that bench/run parses.
function common.done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   if common.elapsed then
      seconds = common.elapsed(threads) or seconds
   end
   local bad, counts, statuses = 0, {}, {}
   for _, thread in ipairs(threads) do
      bad = bad + (tonumber(thread:get("unexpected")) or 0)
      for status, n in string.gmatch(thread:get("unexpected_by_status") or "", "(%d+)x(%d+)") do
         counts[status] = (counts[status] or 0) + tonumber(n)
      end
   end
   for status, n in pairs(counts) do
      statuses[#statuses + 1] = status .. "x" .. n
   end
   table.sort(statuses)
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f mean_us=%.0f p50_us=%d p99_us=%d " ..
      "status_errors=%d socket_errors=%d timeouts=%d unexpected=%d unexpected_statuses=%s\n",
      summary.requests, seconds, summary.requests / seconds, latency.mean,
      latency:percentile(50), latency:percentile(99), e.status,
      e.connect + e.read + e.write, e.timeout, bad,
      #statuses > 0 and table.concat(statuses, ",") or "none"))
end

return common
