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
anything else: an echo of the last user message.

POST .../responses is OpenAI's Responses API (responses.py), as strict
as the real one: see there.
"""
import json
import time

from mocklib import Response, json_response, sse_event, sse_response
from providers import responses

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


def handle(req):
    if req.method != "POST":
        return json_response({"error": {"message": "method not allowed"}}, 405)
    if req.json is None or not isinstance(req.json, dict):
        return json_response({"error": {"message": "body is not JSON",
                                         "type": "invalid_request_error"}}, 400)
    body = req.json
    model = body.get("model", "")
    if req.path.endswith("/responses"):
        return responses.handle(req)
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
