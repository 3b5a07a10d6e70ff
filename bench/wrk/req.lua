-- wrk script for the bench: POST (or GET) with the body of $WRK_BODY, the
-- gateway's OAuth header, and one machine-readable RESULT line at the end.
local body_file = os.getenv("WRK_BODY")
wrk.method = os.getenv("WRK_METHOD") or (body_file and "POST" or "GET")
wrk.headers["Authorization"] = "OAuth " .. (os.getenv("WRK_TOKEN") or "benchtoken")
if body_file then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50=%d p90=%d p99=%d max=%d " ..
    "connect=%d read=%d write=%d status=%d timeout=%d bytes=%d\n",
    summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    summary.bytes))
end
