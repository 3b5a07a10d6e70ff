"""OpenAI-compatible chat, completions, embeddings and images (and the
fireworks/gigachat handles, which speak the same API).

Behaviour is chosen by the request's "model":
  mock-slow-stream   5 events 0.3 s apart
  mock-long-stream   40 events 0.25 s apart (for client disconnects)
  mock-stall         answers after 5 s (timeouts)
  mock-stall-stream  one event, then silence for 5 s
  mock-pause-stream  one event, then silence for 2.5 s, then the rest
  mock-error         HTTP 429 with an OpenAI error body
  mock-reset-stream  2 events, then a connection reset
  mock-reset         the first half of a JSON answer, then a connection reset
  mock-envelope      the gateway's {"response": ...} envelope
  mock-garbage       200 with a non-JSON body
  mock-redirect      302 to another host (never followed)
  mock-nostream      answers one JSON body even when asked to stream
anything else: an echo of the last user message, one token per word, cut to
max_completion_tokens (or max_tokens) words with finish_reason "length";
with response_format json_schema or json_object the content is
{"answer": "<echo>"}. With tools and "use_tool" in the last user message:
a call of the first tool (or the one tool_choice names), its arguments
built from its parameters (a string parameter gets "<name> value"). A last
message of role "tool" answers "tool said: <content>". A stream with
stream_options.include_usage ends with a usage chunk (choices []).
Chat requests are checked as the API does: reasoning_effort only for
reasoning models (o-series, gpt-5, gpt-oss), verbosity only for gpt-5;
the internal representation's
extensions ("x_llmp", a message's "reasoning_content" /
"reasoning_signature") are unknown arguments; tools need a valid name and
a tool message must answer a call of the assistant message before it
(400 invalid_request_error).
With Codex's exec_command or shell tool, "run_exec: echo WORD" in the last
user message asks for a call of that tool running the command; with its
apply_patch, "run_patch: FILE WORD" a call adding FILE (mocklib.exec_call).

POST .../responses is OpenAI's Responses API (responses.py), as strict
as the real one: see there.
"""
import json
import re
import time

from mocklib import (Response, exec_call, json_response, sse_event,
                     sse_response)
from providers import responses

PREFIXES = ["/"]


def _text(req):
    # the last turn: a system or developer message after it (Claude Code's
    # mid-conversation system turn, as the Messages front passes it on) is
    # an instruction, not what the model answers
    msgs = [m for m in (req.json or {}).get("messages") or []
            if not isinstance(m, dict)
            or m.get("role") not in ("system", "developer")]
    last = msgs[-1] if msgs else {}
    c = last.get("content")
    if isinstance(c, list):
        c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
    if last.get("role") == "tool":
        return "tool said: %s" % (c or "")
    return "echo: %s" % (c or "")


def _completion(model, text, finish="stop", calls=None):
    msg = {"role": "assistant", "content": text, "refusal": None}
    if calls:
        msg["tool_calls"] = calls
    return {"id": "chatcmpl-mock", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": msg,
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2,
                      "total_tokens": 5}}


TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Invalid(Exception):
    pass


REASONING_MODEL = re.compile(r"(^|/)(o[0-9]|gpt-5|gpt-oss)", re.I)


def _validate_chat(body):
    if "x_llmp" in body:
        raise Invalid("Unrecognized request argument supplied: x_llmp")
    # as OpenAI: reasoning settings only for reasoning models (o-series,
    # gpt-5, gpt-oss), verbosity only for gpt-5
    model = str(body.get("model", ""))
    if "reasoning_effort" in body and not REASONING_MODEL.search(model):
        raise Invalid("Unsupported parameter: 'reasoning_effort' is not "
                      "supported with this model.")
    if "verbosity" in body and "gpt-5" not in model.lower():
        raise Invalid("Unsupported parameter: 'verbosity' is not supported "
                      "with this model.")
    calls = set()
    for i, m in enumerate(body.get("messages") or []):
        if not isinstance(m, dict):
            raise Invalid("messages[%d]: must be an object" % i)
        for k in ("reasoning_content", "reasoning_signature", "x_llmp"):
            if k in m:
                raise Invalid("Additional properties are not allowed ('%s' "
                              "was unexpected) - 'messages.%d'" % (k, i))
        role = m.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise Invalid("messages[%d].role: invalid value" % i)
        if role == "assistant":
            calls = set()
            for c in m.get("tool_calls") or []:
                if c.get("type") not in ("function", "custom"):
                    raise Invalid("messages[%d].tool_calls: invalid type" % i)
                calls.add(c.get("id"))
        elif role == "tool":
            if m.get("tool_call_id") not in calls:
                raise Invalid("Invalid parameter: messages with role 'tool' "
                              "must be a response to a preceeding message "
                              "with 'tool_calls'.")
        else:
            calls = set()
    for i, t in enumerate(body.get("tools") or []):
        kind = t.get("type") if isinstance(t, dict) else None
        fn = (t.get(kind) if kind in ("function", "custom") else None) or {}
        if not isinstance(fn.get("name"), str) or not TOOL_NAME.match(
                fn["name"]):
            raise Invalid("Invalid 'tools[%d].%s.name': string does not "
                          "match pattern '^[a-zA-Z0-9_-]+$'." % (i, kind))
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        js = rf.get("json_schema")
        if not isinstance(js, dict) or not isinstance(js.get("name"), str):
            raise Invalid("Missing required parameter: "
                          "'response_format.json_schema.name'.")
    if body.get("stream_options") is not None and body.get("stream") is not True:
        raise Invalid("The 'stream_options' parameter is only allowed when "
                      "'stream' is enabled.")


def _tool_call(body):
    """The call "run_exec: ..." or "use_tool" asks for, or None."""
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    run = exec_call(_text(body_req(body)),
                    [(t.get("function") or {}).get("name") for t in tools])
    if run and body.get("tool_choice") != "none":
        return {"id": "call_mock_exec1", "type": "function",
                "function": {"name": run[0], "arguments": json.dumps(run[1])}}
    if not tools or "use_tool" not in _text(body_req(body)):
        return None
    fn = tools[0]["function"]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        for t in tools:
            if t["function"]["name"] == choice["function"]["name"]:
                fn = t["function"]
    props = ((fn.get("parameters") or {}).get("properties") or {})
    args = {k: ("%s value" % k if (v or {}).get("type") == "string" else 1)
            for k, v in props.items()}
    return {"id": "call_mock1", "type": "function",
            "function": {"name": fn["name"], "arguments": json.dumps(args)}}


class body_req:
    def __init__(self, body):
        self.json = body


def _chunk(model, delta, finish=None):
    return {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _stream(model, words, delay, drop_after=None, finish="stop", call=None,
            usage=False):
    # with stream_options.include_usage, as OpenAI: "usage": null on every
    # chunk but the last, which carries the usage and no choices
    def ch(delta, finish=None):
        c = _chunk(model, delta, finish)
        if usage:
            c["usage"] = None
        return sse_event(c)
    ev = [ch({"role": "assistant", "content": ""})]
    ev += [ch({"content": w}) for w in words]
    if call:
        args = call["function"]["arguments"]
        half = len(args) // 2
        ev.append(ch({"tool_calls": [{
            "index": 0, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"],
                         "arguments": ""}}]}))
        for piece in (args[:half], args[half:]):
            ev.append(ch({"tool_calls": [{
                "index": 0, "function": {"arguments": piece}}]}))
        finish = "tool_calls"
    ev.append(ch({}, finish))
    if usage:
        u = _chunk(model, {})
        u["choices"] = []
        # a tool call costs tokens too
        n = len(words) if finish != "tool_calls" else max(len(words), 2)
        u["usage"] = {"prompt_tokens": 3, "completion_tokens": n,
                      "total_tokens": 3 + n}
        ev.append(sse_event(u))
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
            # legacy streams: text_completion chunks, then [DONE] (with
            # stream_options.include_usage as chat streams have it)
            so = body.get("stream_options") or {}
            usage = so.get("include_usage") is True

            def chunk(text, finish=None):
                c = {"id": "cmpl-mock", "object": "text_completion",
                     "created": 1700000000, "model": model,
                     "choices": [{"index": 0, "text": text,
                                  "logprobs": None,
                                  "finish_reason": finish}]}
                if usage:
                    c["usage"] = None
                return c
            ev = [sse_event(chunk("do")), sse_event(chunk("ne")),
                  sse_event(chunk("", "stop"))]
            if usage:
                last = chunk("")
                last["choices"] = []
                last["usage"] = {"prompt_tokens": 4, "completion_tokens": 2,
                                 "total_tokens": 6}
                ev.append(sse_event(last))
            return sse_response(ev + [b"data: [DONE]\n\n"], 0.05)
        return json_response({"id": "cmpl-mock", "object": "text_completion",
                              "created": 1700000000, "model": model,
                              "choices": [{"index": 0, "text": "done",
                                           "logprobs": None,
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 4,
                                        "completion_tokens": 1,
                                        "total_tokens": 5}})
    if "messages" not in body:
        return json_response({"error": {"message": "messages is required",
                                        "type": "invalid_request_error"}}, 400)
    try:
        _validate_chat(body)
    except Invalid as e:
        return json_response({"error": {"message": str(e),
                                        "type": "invalid_request_error",
                                        "param": None, "code": None}}, 400)
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
            so = body.get("stream_options") or {}
            return _stream(model, ["one ", "two ", "three ", "four ", "five"],
                           0.3, usage=so.get("include_usage") is True)
        if model == "mock-long-stream":
            return _stream(model, ["w%d " % i for i in range(40)], 0.25)
        if model == "mock-reset-stream":
            return _stream(model, ["a", "b", "c", "d"], 0.05, drop_after=3)
        if model == "mock-stall-stream":
            r = _stream(model, ["x"], 0)
            r.events = r.events[:2] + [(5, e) for _, e in r.events[2:]]
            return r
        if model == "mock-pause-stream":
            r = _stream(model, ["x ", "y"], 0)
            r.events = r.events[:2] + [(2.5, r.events[2][1])] + r.events[3:]
            return r
    call = _tool_call(body)
    words = _text(req).split(" ")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    finish = "stop"
    if isinstance(limit, int) and 0 < limit < len(words):
        words, finish = words[:limit], "length"
    rf = (body.get("response_format") or {}).get("type")
    if rf in ("json_schema", "json_object") and not call:
        words = [json.dumps({"answer": " ".join(words)})]
    if call:
        words = []
    if stream:
        so = body.get("stream_options") or {}
        return _stream(model, [w + " " for w in words[:-1]] + words[-1:], 0,
                       finish=finish, call=call,
                       usage=so.get("include_usage") is True)
    text = " ".join(words)
    if model == "mock-envelope":
        return json_response({"response": _completion(model, text)})
    if call:
        return json_response(_completion(model, None, "tool_calls", [call]))
    return json_response(_completion(model, text, finish))
