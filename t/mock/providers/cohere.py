"""Cohere v2 chat (plain, streaming, tools) and embed, strictly.

Requests are validated like the real API: unknown top-level fields, missing
model/messages, unknown roles, misplaced message fields, bad content parts,
tool_choice without tools and out-of-range sampling values give Cohere's
400 {"id","message":"invalid request: ..."}.

Behaviour is chosen by the last user message's text:
  use_tool      answer with a call to the first tool (TOOL_CALL); after a
                tool message, answer "tool result: <content>"
  overloaded    HTTP 503 {"message": ...}
  rate_limit    HTTP 429 {"message": ...} (the trial key message)
  stream_error  (stream) some text, then message-end with finish_reason
                ERROR and delta.error, as Cohere reports a failed generation
  stream_drop   (stream) the connection is reset after 3 events
  stream_cut    (stream) the body ends cleanly after content-end, without
                message-end
  empty_args    with use_tool: the call's arguments are "" (and no
                tool-call-delta in a stream), as for a tool without
                parameters
  cache         usage.cached_tokens 40 (prompt tokens served from cache)
  slow_stream   (stream) events 0.3 s apart
  run_exec: echo WORD  (with Codex's exec_command or shell tool) a call of
                that tool running the command; "run_patch: FILE WORD" a call of
                 apply_patch adding FILE (mocklib.exec_call)
anything else: "echo: <text>" (cut to max_tokens words, MAX_TOKENS).
"thinking" is checked as the API does ({"type":"enabled"[,"token_budget":
a positive integer]} or {"type":"disabled"}); when enabled, a text answer
starts with a thinking content part (a thinking content block in a stream).
Only reasoning models (command-a-reasoning-*) take "thinking": 400 for the
others (command-r-plus, ...).

Embed: embedding_types is required, input_type too for v3+ models,
output_dimension only for embed-v4 models.
"""
import json
import uuid

from mocklib import (Response, exec_call, json_response, model_thinks,
                     sse_event,
                     sse_response)

PREFIXES = ["/cohere/", "/raw/cohere/"]

CHAT_FIELDS = {
    "model", "messages", "tools", "strict_tools", "documents",
    "citation_options", "response_format", "safety_mode", "max_tokens",
    "stop_sequences", "temperature", "seed", "frequency_penalty",
    "presence_penalty", "k", "p", "logprobs", "tool_choice", "thinking",
    "stream", "priority",
}
MESSAGE_FIELDS = {
    "user": {"role", "content"},
    "system": {"role", "content"},
    "assistant": {"role", "content", "tool_calls", "tool_plan", "citations"},
    "tool": {"role", "tool_call_id", "content"},
}
EMBED_FIELDS = {
    "model", "texts", "images", "inputs", "input_type", "embedding_types",
    "output_dimension", "max_tokens", "truncate",
}
INPUT_TYPES = {"search_document", "search_query", "classification",
               "clustering", "image"}
EMBEDDING_TYPES = {"float", "int8", "uint8", "binary", "ubinary", "base64"}


class Invalid(Exception):
    pass


def _err(status, message):
    return json_response({"id": str(uuid.uuid4()), "message": message},
                         status)


def _num(body, name, lo=None, hi=None, integer=False):
    if name not in body:
        return
    v = body[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (
            integer and not isinstance(v, int)):
        raise Invalid("%s must be a %s" % (name,
                                           "integer" if integer else "number"))
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise Invalid("%s must be between %s and %s" % (name, lo, hi))


def _text_parts(content, where, allow_images=False, allow_docs=False):
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise Invalid("%s.content must be a string or a list" % where)
    out = []
    for part in content:
        if not isinstance(part, dict):
            raise Invalid("%s.content items must be objects" % where)
        t = part.get("type")
        if t == "text":
            if set(part) - {"type", "text"} or not isinstance(
                    part.get("text"), str):
                raise Invalid("%s: invalid text content" % where)
            out.append(part["text"])
        elif t == "image_url" and allow_images:
            iu = part.get("image_url")
            if set(part) - {"type", "image_url"} or not isinstance(iu, dict) \
                    or not isinstance(iu.get("url"), str) \
                    or set(iu) - {"url", "detail"}:
                raise Invalid("%s: invalid image_url content" % where)
        elif t == "document" and allow_docs:
            pass
        else:
            raise Invalid("%s: unsupported content type %r" % (where, t))
    return "".join(out)


def _check_tool_call(tc, where):
    if not isinstance(tc, dict) or set(tc) - {"id", "type", "function"}:
        raise Invalid("%s: invalid tool call" % where)
    fn = tc.get("function")
    if not isinstance(tc.get("id"), str) or tc.get("type") != "function" \
            or not isinstance(fn, dict) or set(fn) - {"name", "arguments"} \
            or not isinstance(fn.get("name"), str) \
            or not isinstance(fn.get("arguments"), str):
        raise Invalid("%s: a tool call needs id, type function and "
                      "function.name/arguments (string)" % where)
    try:
        json.loads(fn["arguments"])
    except ValueError:
        raise Invalid("%s: tool call arguments are not JSON" % where)


def _validate_chat(body):
    unknown = sorted(set(body) - CHAT_FIELDS)
    if unknown:
        raise Invalid("unknown field: parameter %s is not a valid field"
                      % unknown[0])
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("model is required")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise Invalid("messages is required and must not be empty")
    call_ids = set()
    for i, m in enumerate(msgs):
        where = "messages[%d]" % i
        if not isinstance(m, dict):
            raise Invalid("%s must be an object" % where)
        role = m.get("role")
        if role not in MESSAGE_FIELDS:
            raise Invalid("%s: role must be one of user, assistant, system, "
                          "tool (got %r)" % (where, role))
        extra = sorted(set(m) - MESSAGE_FIELDS[role])
        if extra:
            raise Invalid("%s: unknown field %s for role %s"
                          % (where, extra[0], role))
        if role == "assistant":
            if "tool_calls" in m:
                if not isinstance(m["tool_calls"], list) or not m["tool_calls"]:
                    raise Invalid("%s.tool_calls must be a non-empty list"
                                  % where)
                for tc in m["tool_calls"]:
                    _check_tool_call(tc, where)
                    call_ids.add(tc["id"])
                if m.get("content") not in (None, "", []):
                    raise Invalid("%s: use tool_plan, not content, for the "
                                  "text of a message with tool_calls" % where)
            elif "content" not in m:
                raise Invalid("%s: an assistant message needs content or "
                              "tool_calls" % where)
            if "content" in m:
                _text_parts(m["content"], where)
            if "tool_plan" in m and not isinstance(m["tool_plan"], str):
                raise Invalid("%s.tool_plan must be a string" % where)
        else:
            if "content" not in m:
                raise Invalid("%s.content is required" % where)
            _text_parts(m["content"], where, allow_images=(role == "user"),
                        allow_docs=(role == "tool"))
        if role == "tool":
            if not isinstance(m.get("tool_call_id"), str):
                raise Invalid("%s.tool_call_id is required" % where)
            if m["tool_call_id"] not in call_ids:
                raise Invalid("%s: tool_call_id %r does not match a previous "
                              "tool call" % (where, m["tool_call_id"]))
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise Invalid("tools must be a list")
        for i, t in enumerate(tools):
            fn = t.get("function") if isinstance(t, dict) else None
            if not isinstance(t, dict) or set(t) - {"type", "function"} \
                    or t.get("type") != "function" or not isinstance(fn, dict) \
                    or set(fn) - {"name", "description", "parameters"} \
                    or not isinstance(fn.get("name"), str) \
                    or not isinstance(fn.get("parameters", {}), dict):
                raise Invalid("tools[%d] is not a valid function tool" % i)
    if "tool_choice" in body:
        if body["tool_choice"] not in ("REQUIRED", "NONE"):
            raise Invalid("tool_choice must be REQUIRED or NONE")
        if body["tool_choice"] == "REQUIRED" and not tools:
            raise Invalid("tool_choice REQUIRED needs tools")
    if "strict_tools" in body and not isinstance(body["strict_tools"], bool):
        raise Invalid("strict_tools must be a boolean")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise Invalid("stream must be a boolean")
    _num(body, "temperature", 0, None)
    _num(body, "p", 0.01, 0.99)
    _num(body, "k", 0, 500, integer=True)
    _num(body, "frequency_penalty", 0, 1)
    _num(body, "presence_penalty", 0, 1)
    _num(body, "max_tokens", 1, None, integer=True)
    _num(body, "seed", None, None, integer=True)
    ss = body.get("stop_sequences")
    if ss is not None and (not isinstance(ss, list) or len(ss) > 5 or not all(
            isinstance(s, str) for s in ss)):
        raise Invalid("stop_sequences must be a list of up to 5 strings")
    th = body.get("thinking")
    if th is not None and not model_thinks(body["model"], "cohere"):
        # reasoning models only (command-a-reasoning-*)
        raise Invalid("thinking is not supported for model '%s'"
                      % body["model"])
    if th is not None:
        if not isinstance(th, dict) or th.get("type") not in ("enabled",
                                                              "disabled"):
            raise Invalid("thinking.type must be one of enabled, disabled")
        if set(th) - {"type", "token_budget"}:
            raise Invalid("thinking: unknown field %s"
                          % sorted(set(th) - {"type", "token_budget"})[0])
        tb = th.get("token_budget")
        if "token_budget" in th and (not isinstance(tb, int) or isinstance(
                tb, bool) or tb < 1):
            raise Invalid("thinking.token_budget must be a positive integer")
    rf = body.get("response_format")
    if rf is not None:
        if not isinstance(rf, dict) or rf.get("type") not in (
                "text", "json_object") or set(rf) - {"type", "json_schema"} \
                or ("json_schema" in rf and not isinstance(rf["json_schema"],
                                                           dict)):
            raise Invalid("response_format must be {type: text|json_object"
                          "[, json_schema]}")
        if rf["type"] == "json_object" and tools:
            raise Invalid("response_format is not supported with tools")


def _last_user_text(msgs):
    for m in reversed(msgs):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return "".join(p.get("text", "") for p in c
                               if p.get("type") == "text")
            return c or ""
    return ""


def _usage(n_in, n_out, cached=None):
    u = {"billed_units": {"input_tokens": n_in, "output_tokens": n_out},
         "tokens": {"input_tokens": n_in + 60, "output_tokens": n_out}}
    if cached is not None:
        u["cached_tokens"] = float(cached)
    return u


def _plan(body):
    """What to answer: (kind, payload, finish)."""
    msgs = body["messages"]
    last = msgs[-1]
    text = _last_user_text(msgs)
    if last.get("role") == "tool":
        c = last["content"]
        if isinstance(c, list):
            c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
        return "text", "tool result: %s" % c, "COMPLETE"
    run = exec_call(text, [(t.get("function") or {}).get("name")
                           for t in body.get("tools") or []])
    if run and body.get("tool_choice") != "NONE":
        return "tool", (run[0], json.dumps(run[1])), "TOOL_CALL"
    if "use_tool" in text and body.get("tools") and \
            body.get("tool_choice") != "NONE":
        fn = body["tools"][0]["function"]
        props = (fn.get("parameters") or {}).get("properties") or {}
        args = {k: "Paris" for k in props}
        return "tool", (fn["name"], "" if "empty_args" in text
                        else json.dumps(args)), "TOOL_CALL"
    words = ("echo: %s" % text).split(" ")
    finish = "COMPLETE"
    mt = body.get("max_tokens")
    if isinstance(mt, int) and mt < len(words):
        words, finish = words[:mt], "MAX_TOKENS"
    return "text", " ".join(words), finish


def _chat(req, body):
    text = _last_user_text(body["messages"])
    if "overloaded" in text:
        return _err(503, "The server is currently overloaded, please try "
                         "again later")
    if "rate_limit" in text:
        return _err(429, "You are using a Trial key, which is limited to 10 "
                         "API calls / minute.")
    kind, payload, finish = _plan(body)
    thought = None
    if (body.get("thinking") or {}).get("type") == "enabled":
        thought = "Thinking about: %s" % text
    msg_id = str(uuid.uuid4())
    usage = _usage(5, 3, 40 if "cache" in text else None)
    if not body.get("stream"):
        message = {"role": "assistant"}
        if kind == "tool":
            name, args = payload
            message["tool_plan"] = "I will call %s." % name
            message["tool_calls"] = [{"id": "%s_mock1" % name,
                                      "type": "function",
                                      "function": {"name": name,
                                                   "arguments": args}}]
        else:
            message["content"] = [{"type": "text", "text": payload}]
            if thought:
                message["content"].insert(0, {"type": "thinking",
                                              "thinking": thought})
        return json_response({"id": msg_id, "finish_reason": finish,
                              "message": message, "usage": usage})
    ev = [sse_event({"id": msg_id, "type": "message-start", "delta": {
        "message": {"role": "assistant", "content": [], "tool_plan": "",
                    "tool_calls": [], "citations": []}}},
        event="message-start")]

    def e(obj):
        ev.append(sse_event(obj, event=obj["type"]))

    if kind == "tool":
        name, args = payload
        e({"type": "tool-plan-delta",
           "delta": {"message": {"tool_plan": "I will call %s." % name}}})
        e({"type": "tool-call-start", "index": 0, "delta": {"message": {
            "tool_calls": {"id": "%s_mock1" % name, "type": "function",
                           "function": {"name": name, "arguments": ""}}}}})
        half = len(args) // 2
        for piece in (args[:half], args[half:]) if args else ():
            e({"type": "tool-call-delta", "index": 0, "delta": {"message": {
                "tool_calls": {"function": {"arguments": piece}}}}})
        e({"type": "tool-call-end", "index": 0})
    else:
        n = 0
        if thought:
            e({"type": "content-start", "index": 0, "delta": {"message": {
                "content": {"type": "thinking", "thinking": ""}}}})
            half = len(thought) // 2
            for piece in (thought[:half], thought[half:]):
                e({"type": "content-delta", "index": 0, "delta": {"message": {
                    "content": {"thinking": piece}}}})
            e({"type": "content-end", "index": 0})
            n = 1
        e({"type": "content-start", "index": n, "delta": {"message": {
            "content": {"type": "text", "text": ""}}}})
        words = payload.split(" ")
        for i, w in enumerate(words):
            e({"type": "content-delta", "index": n, "delta": {"message": {
                "content": {"text": w if i == 0 else " " + w}}},
               "logprobs": None})
        if "stream_error" in text:
            e({"type": "message-end", "delta": {
                "error": "internal server error during generation",
                "finish_reason": "ERROR"}})
            return sse_response(ev)
        e({"type": "content-end", "index": n})
        if "stream_cut" in text:
            return sse_response(ev)
    e({"type": "message-end", "delta": {"finish_reason": finish,
                                        "usage": usage}})
    if "stream_drop" in text:
        return sse_response(ev, 0.05, drop_after=3)
    return sse_response(ev, 0.3 if "slow_stream" in text else 0.0)


def _validate_embed(body):
    unknown = sorted(set(body) - EMBED_FIELDS)
    if unknown:
        raise Invalid("unknown field: parameter %s is not a valid field"
                      % unknown[0])
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Invalid("model is required")
    et = body.get("embedding_types")
    if not isinstance(et, list) or not et or not all(
            t in EMBEDDING_TYPES for t in et):
        raise Invalid("embedding_types is required: a list of float, int8, "
                      "uint8, binary, ubinary, base64")
    it = body.get("input_type")
    if it is None and "v2" not in model:
        raise Invalid("input_type is required for embed models v3 and "
                      "higher")
    if it is not None and it not in INPUT_TYPES:
        raise Invalid("input_type must be one of %s"
                      % ", ".join(sorted(INPUT_TYPES)))
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or not all(
            isinstance(t, str) for t in texts):
        raise Invalid("texts must be a non-empty list of strings")
    if len(texts) > 96:
        raise Invalid("too many texts: at most 96")
    if "output_dimension" in body:
        if "v4" not in model:
            raise Invalid("output_dimension is only supported by embed-v4.0 "
                          "and newer models")
        if body["output_dimension"] not in (256, 512, 1024, 1536):
            raise Invalid("output_dimension must be 256, 512, 1024 or 1536")


def _embed(body):
    texts = body["texts"]
    dim = body.get("output_dimension") or 4
    out = {}
    for t in body["embedding_types"]:
        vecs = []
        for s in texts:
            seed = sum(map(ord, s)) % 97
            vecs.append([round(((seed + i * 7) % 20 - 10) / 8.0, 3)
                         for i in range(dim)])
        out[t] = vecs
    return json_response({
        "id": str(uuid.uuid4()), "embeddings": out, "texts": texts,
        "meta": {"api_version": {"version": "2"},
                 "billed_units": {"input_tokens": sum(
                     len(s.split()) for s in texts)}},
        "response_type": "embeddings_by_type"})


def handle(req):
    if req.method != "POST":
        return _err(405, "method not allowed")
    if not isinstance(req.json, dict):
        return _err(400, "invalid request: body is not a JSON object")
    path = req.path
    try:
        if path.endswith("/v2/chat"):
            _validate_chat(req.json)
            return _chat(req, req.json)
        if path.endswith("/v2/embed"):
            _validate_embed(req.json)
            return _embed(req.json)
    except Invalid as e:
        return _err(400, "invalid request: %s" % e)
    return _err(404, "no such endpoint: %s" % path)
