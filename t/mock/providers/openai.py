"""OpenAI-compatible chat, completions, embeddings and images (and the
fireworks/gigachat handles, which speak the same API).

Behaviour is chosen by the request's "model":
  mock-slow-stream   5 events 0.3 s apart
  mock-long-stream   40 events 0.25 s apart (for client disconnects)
  mock-stall         answers after 5 s (timeouts)
  mock-stall-stream  one event, then silence for 5 s
  mock-error         HTTP 429 with an OpenAI error body
  mock-reset-stream  2 events, then a connection reset
  mock-reset         the first half of a JSON answer, then a connection reset
  mock-envelope      the gateway's {"response": ...} envelope
  mock-garbage       200 with a non-JSON body
  mock-redirect      302 to another host (never followed)
  mock-nostream      answers one JSON body even when asked to stream
With tools, a last user message with "run_exec: echo WORD" (and Codex's
exec_command or shell tool among the tools) gets a call of that tool
(mocklib.exec_call); one with "use_tool" a call of the first tool (each
parameter "Paris").
anything else: an echo of the last message (a tool result too).
"""
import json
import time

from mocklib import (Response, exec_call, json_response, sse_event,
                     sse_response)

PREFIXES = ["/"]


def _text(req):
    msgs = (req.json or {}).get("messages") or []
    last = msgs[-1] if msgs else {}
    c = last.get("content")
    if isinstance(c, list):
        c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
    return "echo: %s" % (c or "")


def _completion(model, text):
    return {"id": "chatcmpl-mock", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": text,
                                                 "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2,
                      "total_tokens": 5}}


def _chunk(model, delta, finish=None):
    return {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _stream(model, words, delay, drop_after=None):
    ev = [sse_event(_chunk(model, {"role": "assistant", "content": ""}))]
    ev += [sse_event(_chunk(model, {"content": w})) for w in words]
    ev.append(sse_event(_chunk(model, {}, "stop")))
    ev.append(b"data: [DONE]\n\n")
    return sse_response(ev, delay, drop_after)


def _exec_call(body):
    """A tool call when the last message is a user's asking for one"""
    msgs = body.get("messages") or []
    last = msgs[-1] if msgs and isinstance(msgs[-1], dict) else {}
    if last.get("role") != "user" or body.get("tool_choice") == "none":
        return None
    c = last.get("content")
    if isinstance(c, list):
        c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
    c = c if isinstance(c, str) else ""
    fns = [t.get("function") or {} for t in body.get("tools") or []
           if isinstance(t, dict)]
    run = exec_call(c, [f.get("name") for f in fns])
    if not run and "use_tool" in c and fns:
        props = (fns[0].get("parameters") or {}).get("properties") or {}
        run = fns[0].get("name"), {k: "Paris" for k in props}
    if not run:
        return None
    return {"id": "call_mock_1", "type": "function",
            "function": {"name": run[0], "arguments": json.dumps(run[1])}}


def _tool_answer(model, call, stream):
    if not stream:
        r = _completion(model, None)
        r["choices"][0]["message"]["tool_calls"] = [call]
        r["choices"][0]["finish_reason"] = "tool_calls"
        return json_response(r)
    args = call["function"]["arguments"]
    first = dict(call, index=0, function={"name": call["function"]["name"],
                                          "arguments": ""})
    ev = [sse_event(_chunk(model, {"role": "assistant", "content": None,
                                   "tool_calls": [first]}))]
    for piece in (args[:len(args) // 2], args[len(args) // 2:]):
        ev.append(sse_event(_chunk(model, {"tool_calls": [
            {"index": 0, "function": {"arguments": piece}}]})))
    ev.append(sse_event(_chunk(model, {}, "tool_calls")))
    ev.append(b"data: [DONE]\n\n")
    return sse_response(ev)


def handle(req):
    if req.method != "POST":
        return json_response({"error": {"message": "method not allowed"}}, 405)
    if req.json is None or not isinstance(req.json, dict):
        return json_response({"error": {"message": "body is not JSON",
                                         "type": "invalid_request_error"}}, 400)
    body = req.json
    model = body.get("model", "")
    if req.path.endswith("/embeddings"):
        inp = body.get("input")
        n = len(inp) if isinstance(inp, list) else 1
        return json_response({"object": "list", "model": model, "data": [
            {"object": "embedding", "index": i, "embedding": [0.5, -0.25]}
            for i in range(n)], "usage": {"prompt_tokens": 2,
                                          "total_tokens": 2}})
    if req.path.endswith("/images/generations"):
        return json_response({"created": 1700000000, "data": [
            {"url": "https://images.example/1.png",
             "revised_prompt": body.get("prompt")}]})
    if req.path.endswith("/completions") and not req.path.endswith(
            "/chat/completions"):
        if body.get("stream") is True:
            # legacy streams: text_completion chunks, then [DONE]
            def chunk(text, finish=None):
                return {"id": "cmpl-mock", "object": "text_completion",
                        "created": 1700000000, "model": model,
                        "choices": [{"index": 0, "text": text,
                                     "logprobs": None,
                                     "finish_reason": finish}]}
            return sse_response([sse_event(chunk("do")), sse_event(chunk("ne")),
                                 sse_event(chunk("", "stop")),
                                 b"data: [DONE]\n\n"], 0.05)
        return json_response({"id": "cmpl-mock", "object": "text_completion",
                              "created": 1700000000, "model": model,
                              "choices": [{"index": 0, "text": "done",
                                           "logprobs": None,
                                           "finish_reason": "stop"}]})
    if "messages" not in body:
        return json_response({"error": {"message": "messages is required",
                                        "type": "invalid_request_error"}}, 400)
    stream = body.get("stream") is True
    if model == "mock-error":
        return json_response({"error": {"message": "Rate limit reached",
                                        "type": "rate_limit_error",
                                        "code": "rate_limit_exceeded"}}, 429)
    if model == "mock-redirect":
        return Response(302, b"", {"Location": "http://evil.example/steal"})
    if model == "mock-garbage":
        return Response(200, b"<html>oops</html>", {"Content-Type": "text/html"})
    if model == "mock-reset":
        whole = _completion(model, _text(req))
        if not isinstance(whole, bytes):
            whole = json.dumps(whole).encode()
        half = whole[:len(whole) // 2]
        return Response(200, b"", {"Content-Type": "application/json"},
                        [(0, half), (0, b"")], drop_after=1)
    if model == "mock-stall":
        return Response(200, _completion(model, "late"),
                        {"Content-Type": "application/json"}, delay=5)
    call = _exec_call(body)
    if call:
        return _tool_answer(model, call, stream)
    if stream and model == "mock-nostream":
        stream = False          # a backend that ignores "stream"
    if stream:
        if model == "mock-slow-stream":
            return _stream(model, ["one ", "two ", "three ", "four ", "five"],
                           0.3)
        if model == "mock-long-stream":
            return _stream(model, ["w%d " % i for i in range(40)], 0.25)
        if model == "mock-reset-stream":
            return _stream(model, ["a", "b", "c", "d"], 0.05, drop_after=3)
        if model == "mock-stall-stream":
            r = _stream(model, ["x"], 0)
            r.events = r.events[:2] + [(5, e) for _, e in r.events[2:]]
            return r
        return _stream(model, _text(req).split(" "), 0)
    if model == "mock-envelope":
        return json_response({"response": _completion(model, _text(req))})
    return json_response(_completion(model, _text(req)))
