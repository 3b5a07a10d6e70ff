"""OpenAI's Responses API (POST .../responses), served for handles that end
with /responses (openai.py hands such requests here; no prefix of its own).

As strict as the real API: unknown top-level parameters, a missing model,
input that is neither a string nor a list of known items, unknown roles or
content parts, tools of unknown types, a function_call_output without its
function_call, out-of-range numbers: 400 with OpenAI's error shape.

The answer is a Response object, or with "stream": true the Responses event
stream (named events, increasing sequence_number, response.completed last,
no [DONE]). The text is "echo: " and the last user text.

Behaviour by "model":
  mock-responses-cut     the stream ends (cleanly) before response.completed
  mock-responses-reset   the connection is reset after a few events
  mock-responses-error   HTTP 429 with an OpenAI error body
  mock-responses-failed  the stream ends with the backend's own error and
                         response.failed (status 200)
  mock-responses-slow    events 0.2 s apart
Test switches in the last user text of a stream: "reflect_auth" puts the
request's Authorization header in the instructions of response.created (a
backend that reflects a credential); "esc_completed" puts a raw ESC byte
in the JSON text of response.completed (not valid for a client);
"no_created" (mock-responses-cut) leaves out response.created and
response.in_progress.
By the input: after a function_call_output (or custom_tool_call_output)
item last, the text is "tool said: <its output>". With tools, a last user
text with "run_exec: echo WORD" (and Codex's exec_command or shell
function) gets a function_call of that tool running the command
(mocklib.exec_call); one with "use_tool" a function_call of the first
function tool (a string parameter gets "<name> value"); one with
"run_patch: FILE WORD" (and Codex's custom tool apply_patch) a
custom_tool_call of apply_patch adding FILE.
"""
import itertools
import json
import time

from mocklib import exec_call, json_response, sse_event, sse_response

PARAMS = {
    "background", "client_metadata", "conversation", "include", "input", "instructions",
    "max_output_tokens", "max_tool_calls", "metadata", "model",
    "parallel_tool_calls", "previous_response_id", "prompt",
    "prompt_cache_key", "reasoning", "safety_identifier", "service_tier",
    "store", "stream", "stream_options", "temperature", "text",
    "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
}
ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = ("input_text", "input_image", "input_file", "input_audio")
OUTPUT_PARTS = ("output_text", "refusal")
ITEM_TYPES = ("message", "function_call", "function_call_output",
              "custom_tool_call", "custom_tool_call_output", "reasoning",
              "item_reference", "web_search_call", "file_search_call",
              "computer_call", "computer_call_output", "local_shell_call",
              "local_shell_call_output", "mcp_call", "mcp_list_tools",
              "mcp_approval_request", "mcp_approval_response",
              "image_generation_call", "code_interpreter_call")
TOOL_TYPES = ("function", "custom", "web_search", "web_search_preview",
              "web_search_2025_08_26", "web_search_preview_2025_03_11",
              "file_search", "code_interpreter", "image_generation", "mcp",
              "local_shell", "computer_use_preview", "namespace",
              "tool_search", "shell", "apply_patch")

_ids = itertools.count(1)


class Invalid(Exception):
    def __init__(self, message, param=None, code="invalid_value"):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


def _err(message, param=None, code=None, status=400,
         typ="invalid_request_error"):
    return json_response({"error": {"message": message, "type": typ,
                                    "param": param, "code": code}}, status)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_part(part, role, where):
    if not isinstance(part, dict):
        raise Invalid("Invalid type for '%s': expected an object." % where,
                      where, "invalid_type")
    t = part.get("type")
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    if role == "assistant" and t in INPUT_PARTS:
        allowed = INPUT_PARTS + OUTPUT_PARTS
    if t not in allowed:
        raise Invalid("Invalid value: '%s'. Supported values are: %s." % (
            t, ", ".join("'%s'" % a for a in allowed)), where + ".type")
    if t in ("input_text", "output_text") and not isinstance(
            part.get("text"), str):
        raise Invalid("Missing required parameter: '%s.text'." % where,
                      where + ".text", "missing_required_parameter")
    if t == "input_image" and not (part.get("image_url") or
                                   part.get("file_id")):
        raise Invalid("Missing required parameter: '%s.image_url'." % where,
                      where + ".image_url", "missing_required_parameter")


def _check_input(inp, prev):
    """The items of an input list; prev: a previous_response_id was given
    (its calls may be answered here)."""
    if isinstance(inp, str):
        return
    if not isinstance(inp, list):
        raise Invalid("Invalid type for 'input': expected one of a string "
                      "or array of input items.", "input", "invalid_type")
    calls = set()
    for i, item in enumerate(inp):
        where = "input[%d]" % i
        if not isinstance(item, dict):
            raise Invalid("Invalid type for '%s': expected an object." %
                          where, where, "invalid_type")
        t = item.get("type", "message" if "role" in item else None)
        if t not in ITEM_TYPES:
            raise Invalid("Invalid value: '%s'. Supported values are: %s." %
                          (t, ", ".join("'%s'" % a for a in ITEM_TYPES[:6])),
                          where + ".type")
        if t == "message":
            role = item.get("role")
            if role not in ROLES:
                raise Invalid("Invalid value: '%s'. Supported values are: "
                              "'assistant', 'system', 'developer', and "
                              "'user'." % role, where + ".role")
            c = item.get("content")
            if isinstance(c, list):
                for j, part in enumerate(c):
                    _check_part(part, role, "%s.content[%d]" % (where, j))
            elif not isinstance(c, str):
                raise Invalid("Invalid type for '%s.content': expected one "
                              "of a string or array of input content." %
                              where, where + ".content", "invalid_type")
        elif t in ("function_call", "custom_tool_call"):
            need = ("call_id", "name",
                    "arguments" if t == "function_call" else "input")
            for k in need:
                if not isinstance(item.get(k), str):
                    raise Invalid("Missing required parameter: '%s.%s'." %
                                  (where, k), "%s.%s" % (where, k),
                                  "missing_required_parameter")
            calls.add(item["call_id"])
        elif t in ("function_call_output", "custom_tool_call_output"):
            if not isinstance(item.get("call_id"), str):
                raise Invalid("Missing required parameter: '%s.call_id'." %
                              where, where + ".call_id",
                              "missing_required_parameter")
            if "output" not in item:
                raise Invalid("Missing required parameter: '%s.output'." %
                              where, where + ".output",
                              "missing_required_parameter")
            if item["call_id"] not in calls and not prev:
                raise Invalid("No tool call found for function call output "
                              "with call_id %s." % item["call_id"], "input",
                              None)
        elif t == "reasoning":
            if not isinstance(item.get("summary"), list):
                raise Invalid("Missing required parameter: '%s.summary'." %
                              where, where + ".summary",
                              "missing_required_parameter")


def _check(body):
    for k in body:
        if k not in PARAMS:
            raise Invalid("Unknown parameter: '%s'." % k, k,
                          "unknown_parameter")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("Missing required parameter: 'model'.", "model",
                      "missing_required_parameter")
    if "input" in body:
        _check_input(body["input"], bool(body.get("previous_response_id")))
    elif not body.get("previous_response_id") and not body.get("prompt"):
        raise Invalid("Missing required parameter: 'input'.", "input",
                      "missing_required_parameter")
    for k in ("stream", "store", "background", "parallel_tool_calls"):
        if k in body and body[k] is not None and not isinstance(body[k],
                                                                bool):
            raise Invalid("Invalid type for '%s': expected a boolean." % k,
                          k, "invalid_type")
    if "instructions" in body and body["instructions"] is not None \
            and not isinstance(body["instructions"], str):
        raise Invalid("Invalid type for 'instructions': expected a string.",
                      "instructions", "invalid_type")
    mot = body.get("max_output_tokens")
    if mot is not None:
        if not _is_int(mot):
            raise Invalid("Invalid type for 'max_output_tokens': expected "
                          "an integer.", "max_output_tokens", "invalid_type")
        if mot < 16:
            raise Invalid("Invalid 'max_output_tokens': integer below "
                          "minimum value. Expected a value >= 16, but got "
                          "%d instead." % mot, "max_output_tokens",
                          "integer_below_min_value")
    for k, hi in (("temperature", 2), ("top_p", 1)):
        v = body.get(k)
        if v is not None and (not _is_num(v) or v < 0 or v > hi):
            raise Invalid("Invalid '%s': expected a number between 0 and "
                          "%d." % (k, hi), k, "invalid_value")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise Invalid("Invalid type for 'tools': expected an array.",
                          "tools", "invalid_type")
        for i, tool in enumerate(tools):
            where = "tools[%d]" % i
            t = tool.get("type") if isinstance(tool, dict) else None
            if t not in TOOL_TYPES:
                raise Invalid("Invalid value: '%s'. Supported values are: "
                              "%s." % (t, ", ".join(
                                  "'%s'" % a for a in TOOL_TYPES)),
                              where + ".type")
            if t in ("function", "custom") and not isinstance(
                    tool.get("name"), str):
                raise Invalid("Missing required parameter: '%s.name'." %
                              where, where + ".name",
                              "missing_required_parameter")
            if t == "function" and "parameters" in tool and \
                    tool["parameters"] is not None and \
                    not isinstance(tool["parameters"], dict):
                raise Invalid("Invalid type for '%s.parameters': expected "
                              "an object." % where, where + ".parameters",
                              "invalid_type")
    tc = body.get("tool_choice")
    if tc is not None and tc not in ("none", "auto", "required") \
            and not isinstance(tc, dict):
        raise Invalid("Invalid value: '%s'. Supported values are: 'none', "
                      "'auto', and 'required'." % tc, "tool_choice")
    text = body.get("text")
    if text is not None:
        fmt = text.get("format") if isinstance(text, dict) else None
        if fmt is not None:
            t = fmt.get("type") if isinstance(fmt, dict) else None
            if t not in ("text", "json_object", "json_schema"):
                raise Invalid("Invalid value: '%s'. Supported values are: "
                              "'text', 'json_object', and 'json_schema'." % t,
                              "text.format.type")
            if t == "json_schema" and not (isinstance(fmt.get("name"), str)
                                           and isinstance(fmt.get("schema"),
                                                          dict)):
                raise Invalid("Missing required parameter: "
                              "'text.format.name'.", "text.format.name",
                              "missing_required_parameter")
    reasoning = body.get("reasoning")
    if reasoning is not None:
        effort = reasoning.get("effort") if isinstance(reasoning, dict) \
            else "?"
        if effort not in (None, "none", "minimal", "low", "medium", "high",
                          "xhigh"):
            raise Invalid("Invalid value: '%s'. Supported values are: "
                          "'minimal', 'low', 'medium', and 'high'." % effort,
                          "reasoning.effort")


def _last_user_text(inp):
    if isinstance(inp, str):
        return inp
    for item in reversed(inp or []):
        if item.get("type", "message") == "message" and \
                item.get("role") == "user":
            c = item.get("content")
            if isinstance(c, str):
                return c
            return "".join(p.get("text", "") for p in c
                           if p.get("type") == "input_text")
    return ""


def _plan(body):
    """("text", text), ("call", name, arguments JSON) or ("custom", name,
    input)"""
    inp = body.get("input")
    last = inp[-1] if isinstance(inp, list) and inp else {}
    if last.get("type") in ("function_call_output", "custom_tool_call_output"):
        o = last.get("output")
        return "text", "tool said: %s" % (o if isinstance(o, str)
                                          else json.dumps(o))
    text = _last_user_text(inp)
    fns = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    customs = [t.get("name") for t in body.get("tools") or []
               if t.get("type") == "custom"]
    if body.get("tool_choice") != "none":
        run = exec_call(text, customs)
        if run:
            return "custom", run[0], run[1]["input"]
    if fns and body.get("tool_choice") != "none":
        run = exec_call(text, [t.get("name") for t in fns])
        if run:
            return "call", run[0], json.dumps(run[1])
        if "use_tool" in text:
            props = (fns[0].get("parameters") or {}).get("properties") or {}
            args = {k: ("%s value" % k if (v or {}).get("type") == "string"
                        else 1) for k, v in props.items()}
            return "call", fns[0]["name"], json.dumps(args)
    return "text", "echo: %s" % text


def _call(fid, name, args, status="completed", custom=False):
    if custom:
        return {"id": fid, "type": "custom_tool_call", "status": status,
                "call_id": "call_" + fid, "name": name, "input": args}
    return {"id": fid, "type": "function_call", "status": status,
            "call_id": "call_" + fid, "name": name, "arguments": args}


def _tools(body):
    """the request's tools as the API echoes them (strict filled in)"""
    out = []
    for t in body.get("tools") or []:
        if t.get("type") == "function":
            t = dict(t, strict=t.get("strict", True),
                     description=t.get("description"),
                     parameters=t.get("parameters"))
        out.append(t)
    return out


def _response(body, rid, status, output, usage):
    r = {
        "id": rid, "object": "response", "created_at": int(time.time()),
        "status": status, "background": False, "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None, "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None, "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body), "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0), "truncation": "disabled",
        "metadata": body.get("metadata") or {},
    }
    if usage is not None:
        r["usage"] = usage
    if status == "completed":
        r["completed_at"] = r["created_at"]
    if isinstance(body.get("user"), str):
        r["user"] = body["user"]
    return r


def _message(mid, text, status="completed"):
    return {"id": mid, "type": "message", "status": status,
            "role": "assistant",
            "content": [{"type": "output_text", "text": text,
                         "annotations": [], "logprobs": []}]
            if text is not None else []}


def handle(req):
    if req.method != "POST":
        return _err("Invalid method for URL (%s %s)" % (req.method,
                                                        req.path), status=405)
    body = req.json
    if not isinstance(body, dict):
        return _err("We could not parse the JSON body of your request.")
    try:
        _check(body)
    except Invalid as e:
        return _err(e.message, e.param, e.code)
    model = body["model"]
    if model == "mock-responses-error":
        return _err("Rate limit reached for requests", None,
                    "rate_limit_exceeded", 429, "requests")
    n = next(_ids)
    rid = "resp_mock%06d" % n
    mid = "msg_mock%06d" % n
    plan = _plan(body)
    text = plan[1] if plan[0] == "text" else ""
    words = text.split(" ")
    usage = {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0,
                                                     "cache_write_tokens": 0},
             "output_tokens": len(words),
             "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 5 + len(words)}
    fid = "fc_mock%06d" % n
    if body.get("stream") is not True:
        item = _message(mid, text) if plan[0] == "text" else \
            _call(fid, plan[1], plan[2], custom=plan[0] == "custom")
        return json_response(_response(body, rid, "completed", [item],
                                       usage))

    seq = itertools.count(0)

    def ev(typ, **kw):
        d = {"type": typ, "sequence_number": next(seq)}
        d.update(kw)
        return sse_event(d, typ)

    start = _response(body, rid, "in_progress", [], None)
    said = _last_user_text(body.get("input"))
    if "reflect_auth" in said:
        start["instructions"] = req.headers.get("Authorization")
    if plan[0] == "custom":
        name, inp = plan[1], plan[2]
        done = _call(fid, name, inp, custom=True)
        return sse_response([
            ev("response.created", response=start),
            ev("response.in_progress", response=start),
            ev("response.output_item.added", output_index=0,
               item=_call(fid, name, "", "in_progress", True)),
            ev("response.custom_tool_call_input.delta", item_id=fid,
               output_index=0, delta=inp),
            ev("response.custom_tool_call_input.done", item_id=fid,
               output_index=0, input=inp),
            ev("response.output_item.done", output_index=0, item=done),
            ev("response.completed",
               response=_response(body, rid, "completed", [done], usage))])
    if plan[0] == "call":
        name, args = plan[1], plan[2]
        done = _call(fid, name, args)
        return sse_response([
            ev("response.created", response=start),
            ev("response.in_progress", response=start),
            ev("response.output_item.added", output_index=0,
               item=_call(fid, name, "", "in_progress")),
            ev("response.function_call_arguments.delta", item_id=fid,
               output_index=0, delta=args[:len(args) // 2]),
            ev("response.function_call_arguments.delta", item_id=fid,
               output_index=0, delta=args[len(args) // 2:]),
            ev("response.function_call_arguments.done", item_id=fid,
               output_index=0, name=name, arguments=args),
            ev("response.output_item.done", output_index=0, item=done),
            ev("response.completed",
               response=_response(body, rid, "completed", [done], usage))])
    out = [ev("response.created", response=start),
           ev("response.in_progress", response=start),
           ev("response.output_item.added", output_index=0,
              item=_message(mid, None, "in_progress")),
           ev("response.content_part.added", item_id=mid, output_index=0,
              content_index=0, part={"type": "output_text", "text": "",
                                     "annotations": [], "logprobs": []})]
    for i, w in enumerate(words):
        out.append(ev("response.output_text.delta", item_id=mid,
                      output_index=0, content_index=0,
                      delta=w if i == 0 else " " + w, logprobs=[]))
    cut = len(out)
    if model == "mock-responses-failed":
        out.append(ev("error", code="server_error", message="The model "
                      "failed", param=None))
        failed = _response(body, rid, "failed", [], None)
        failed["error"] = {"code": "server_error",
                           "message": "The model failed"}
        out.append(ev("response.failed", response=failed))
        return sse_response(out)
    done = _message(mid, text)
    out += [ev("response.output_text.done", item_id=mid, output_index=0,
               content_index=0, text=text, logprobs=[]),
            ev("response.content_part.done", item_id=mid, output_index=0,
               content_index=0, part=done["content"][0]),
            ev("response.output_item.done", output_index=0, item=done),
            ev("response.completed",
               response=_response(body, rid, "completed", [done], usage))]
    if "esc_completed" in said:
        out[-1] = out[-1].replace(b"esc_completed", b"esc\x1bcompleted")
    if model == "mock-responses-cut":
        if "no_created" in said:
            return sse_response(out[2:cut])
        return sse_response(out[:cut])
    if model == "mock-responses-reset":
        return sse_response(out, 0.05, drop_after=cut)
    if model == "mock-responses-slow":
        return sse_response(out, 0.2)
    return sse_response(out)
