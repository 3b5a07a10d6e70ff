#!/usr/bin/env python3
"""Streaming clients for the bench and the soak (asyncio, loopback only).

  latency  --port P --path PATH --model M [--streams C] [--duration S]
      C concurrent clients stream for S seconds; every content event carries
      "ts:<CLOCK_MONOTONIC us>" stamped by the mock when written; prints JSON
      with the p50/p99 of (arrival - send) in microseconds.
  clients  --port P --path PATH --model M --n N [--events K]
      N clients open one stream each at the same time; prints JSON counts of
      complete streams and lost ones (every client must get its answer).
  faults   --port P --plan model:stream:count[:disconnect_after],... [--conc C]
      runs the plan; each request must end as an answer or an OpenAI-shaped
      error (HTTP error with {"error":{...}}, or a final SSE error event).
Every loop is bounded by a count or a duration, and every read by a timeout.
"""
import argparse
import asyncio
import json
import re
import sys
import time

TS = re.compile(rb"ts:(\d+) ")
TOKEN = "benchtoken"


def now_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def dechunk(raw):
    out, i = bytearray(), 0
    while True:
        j = raw.find(b"\r\n", i)
        if j < 0:
            return bytes(out), False
        try:
            n = int(raw[i:j].split(b";")[0], 16)
        except ValueError:
            return bytes(out), False
        if n == 0:
            return bytes(out), True
        out += raw[j + 2:j + 2 + n]
        i = j + 2 + n + 2
        if i > len(raw):
            return bytes(out), False


async def one_request(port, path, body, lat=None, disconnect_after=None,
                      timeout=60.0, only=None):
    """Returns (outcome, detail): answer, error, lost or disconnected.
    only: count the time stamps of the events that hold these bytes only
    (a Responses stream repeats the text in its .done events)."""
    deadline = time.monotonic() + timeout
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout)
    except Exception as e:  # noqa: BLE001
        return "lost", "connect: %s" % e
    data = json.dumps(body).encode()
    w.write(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: OAuth %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n" % (path, TOKEN, len(data))).encode()
            + data)
    raw, pos, events = bytearray(), 0, 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "lost", "client timeout"
            piece = await asyncio.wait_for(r.read(65536), left)
            t = now_us()
            if not piece:
                break
            raw += piece
            if only is not None:
                # whole events only, those that hold `only`
                while True:
                    end = raw.find(b"\n\n", pos)
                    if end < 0:
                        break
                    block = bytes(raw[pos:end])
                    if only in block:
                        for m in TS.finditer(block):
                            events += 1
                            if lat is not None:
                                lat.append(t - int(m.group(1)))
                    pos = end + 2
            else:
                for m in TS.finditer(raw, pos):
                    events += 1
                    if lat is not None:
                        lat.append(t - int(m.group(1)))
                    pos = m.end()
            if disconnect_after is not None and events >= disconnect_after:
                w.transport.abort()
                return "disconnected", events
    except (ConnectionError, OSError) as e:
        return classify(raw, "reset: %s" % e, events)
    except asyncio.TimeoutError:
        return "lost", "client timeout"
    finally:
        w.close()
    return classify(raw, None, events)


def is_openai_error(obj):
    return (isinstance(obj, dict) and isinstance(obj.get("error"), dict)
            and isinstance(obj["error"].get("message"), str))


def classify(raw, why, events):
    head, sep, rest = bytes(raw).partition(b"\r\n\r\n")
    if not sep:
        return "lost", why or "no response head"
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return "lost", "bad status line"
    hdrs = {k.strip().lower(): v.strip() for k, _, v in
            (ln.decode("latin-1").partition(":") for ln in lines[1:])}
    if "chunked" in hdrs.get("transfer-encoding", ""):
        body, complete = dechunk(rest)
        if not complete:
            return "lost", why or "truncated chunked body (%d events)" % events
    else:
        body = rest
        cl = hdrs.get("content-length")
        if cl is not None and len(body) < int(cl):
            return "lost", why or "truncated body"
    ctype = hdrs.get("content-type", "")
    if "text/event-stream" in ctype:
        datas = [ln[5:].strip() for ln in body.split(b"\n")
                 if ln.startswith(b"data:")]
        if not datas:
            return "lost", "empty stream"
        if datas[-1] == b"[DONE]":
            return ("answer", events) if status == 200 else ("lost", status)
        try:
            last = json.loads(datas[-1])
        except ValueError:
            return "lost", "stream ends with a non-JSON event"
        if isinstance(last, dict) and last.get("type") == "message_stop":
            return "answer", events        # native Anthropic stream (direct)
        if isinstance(last, dict) and last.get("type") == "response.completed":
            return "answer", events        # a Responses stream
        if isinstance(last, dict) and last.get("type") == "response.failed":
            return "error", "stream:response.failed"
        if is_openai_error(last):
            return "error", "stream:" + str(last["error"].get("code")
                                            or last["error"].get("type"))
        return "lost", "stream ends without [DONE] or error"
    try:
        obj = json.loads(body)
    except ValueError:
        return "lost", "HTTP %d body not JSON" % status
    if status == 200 and isinstance(obj, dict) and "choices" in obj:
        return "answer", 0
    if status >= 400 and is_openai_error(obj):
        return "error", "%d:%s" % (status, obj["error"].get("code")
                                   or obj["error"].get("type"))
    return "lost", "HTTP %d unexpected body" % status


def pct(vals, p):
    if not vals:
        return None
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(round(p / 100.0 * (len(vals) - 1))))]


async def cmd_latency(a):
    lat, outcomes = [], {}
    end = time.monotonic() + a.duration
    body = {"model": a.model, "stream": True,
            "messages": [{"role": "user", "content": "Say hello."}]}
    only = None
    if a.path.endswith("/responses"):
        body = {"model": a.model, "stream": True, "input": "Say hello."}
        only = b"response.output_text.delta"
    elif a.path.endswith("/messages"):
        body = {"model": a.model, "stream": True, "max_tokens": 256,
                "messages": [{"role": "user", "content": "Say hello."}]}

    async def worker():
        while time.monotonic() < end:
            o, _ = await one_request(a.port, a.path, body, lat, only=only)
            outcomes[o] = outcomes.get(o, 0) + 1
    await asyncio.gather(*(worker() for _ in range(a.streams)))
    print(json.dumps({"events": len(lat), "p50_us": pct(lat, 50),
                      "p90_us": pct(lat, 90), "p99_us": pct(lat, 99),
                      "max_us": max(lat) if lat else None,
                      "outcomes": outcomes}))


async def cmd_clients(a):
    body = {"model": a.model, "stream": True,
            "messages": [{"role": "user", "content": "Say hello."}]}
    sem = asyncio.Semaphore(a.n)
    t0 = time.monotonic()

    async def one(i):
        async with sem:
            # spread the connects over ramp seconds
            await asyncio.sleep(a.ramp * i / max(1, a.n))
            return await one_request(a.port, a.path, body, None, None,
                                     a.timeout)
    res = await asyncio.gather(*(one(i) for i in range(a.n)))
    counts, details = {}, {}
    full = 0
    for o, d in res:
        counts[o] = counts.get(o, 0) + 1
        if o == "answer" and d >= a.events:
            full += 1
        elif o != "answer":
            details[str(d)] = details.get(str(d), 0) + 1
    print(json.dumps({"clients": a.n, "complete": full, "outcomes": counts,
                      "problems": details,
                      "seconds": round(time.monotonic() - t0, 1)}))


async def cmd_faults(a):
    jobs = []
    for spec in a.plan.split(","):
        parts = spec.split(":")
        model, stream, count = parts[0], parts[1] == "s", int(parts[2])
        disc = int(parts[3]) if len(parts) > 3 else None
        path = "/v1/chat/completions"
        for _ in range(count):
            jobs.append((model, stream, disc, path))
    sem = asyncio.Semaphore(a.conc)
    res = {}

    async def run(job):
        model, stream, disc, path = job
        body = {"model": model, "stream": stream,
                "messages": [{"role": "user", "content": "fault test"}]}
        async with sem:
            o, d = await one_request(a.port, path, body, None, disc, a.timeout)
        key = "%s%s" % (model, "/stream" if stream else "")
        res.setdefault(key, {}).setdefault(o, 0)
        res[key][o] += 1
        if o == "lost":
            res[key].setdefault("why", []).append(str(d))
    await asyncio.gather(*(run(j) for j in jobs))
    lost = sum(v.get("lost", 0) for v in res.values())
    for v in res.values():
        if "why" in v:
            v["why"] = sorted(set(v["why"]))[:5]
    print(json.dumps({"requests": len(jobs), "lost": lost, "by_model": res}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["latency", "clients", "faults"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--model", default="gpt-paced")
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--ramp", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--plan", default="")
    ap.add_argument("--conc", type=int, default=32)
    a = ap.parse_args()
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    fn = {"latency": cmd_latency, "clients": cmd_clients,
          "faults": cmd_faults}[a.mode]
    asyncio.run(fn(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
