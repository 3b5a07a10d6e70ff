"""Google Gemini (Generative Language API v1beta), strictly.

Paths: <prefix>v1beta/models/<model>:<method> where method is
generateContent, streamGenerateContent (alt=sse required: the translator
must ask for SSE), embedContent, batchEmbedContents or countTokens
(exactly one of "contents" or "generateContentRequest", the latter a
whole, valid GenerateContentRequest with "model": "models/<model>";
answers totalTokens = 3 per content + the words of its text parts + 10
when it has a systemInstruction; "count_fail" in a text answers 500).
Requests are validated like Google does: unknown fields, missing contents,
wrong roles, empty parts, unsupported schema keywords, unpaired function
calls/responses all answer 400 INVALID_ARGUMENT in Google's error shape.

Behaviour is chosen by the text of the last user turn:
  use_tool      a functionCall of the first declared function (args built
                from its parameters); with "use_tool thinking" it carries a
                thoughtSignature, which must come back on the next turn
  two_tools     two parallel functionCalls
  overloaded    503 UNAVAILABLE
  rate_limit    429 RESOURCE_EXHAUSTED
  stream_error  (stream) an error event after the first text event
  stream_cut    (stream) ends without a finishReason
  stream_drop   (stream) connection reset after the first event
  blocked       candidate with finishReason SAFETY and no content
  prompt_blocked  no candidates, promptFeedback.blockReason SAFETY
  max_tokens    finishReason MAX_TOKENS
  thinking      a thought part before the answer (must not be shown);
                generationConfig.thinkingConfig.includeThoughts gives one
                too (a thought summary), unless the budget is 0
generationConfig.thinkingConfig is checked as Google does: known fields
only, thinkingBudget or thinkingLevel (not both), Gemini 2.5 budget ranges
(Pro 128..32768, no 0; Flash 0..24576; Flash-Lite 0 or 512..24576; -1
dynamic), Gemini 3 levels (Pro: low and high only); a model without
thinking (2.0, 1.5, 1.0: see mocklib.model_thinks; the model of the path)
gets 400 for any thinkingConfig.
  partial_call  a functionCall of the first declared function whose args
                come in a second functionCall part without a name (Vertex
                streams a call's arguments in parts like this); in a
                stream the second part is a later event
  many_calls    2000 functionCalls of the first declared function (in
                one event when streamed)
  run_exec: echo WORD  (with Codex's exec_command or shell tool) a call of
                that tool running the command; "run_patch: FILE WORD" a call of
                 apply_patch adding FILE (mocklib.exec_call)
A turn answering a function call gets "tool said: <response JSON>".
Anything else: "echo: <text>". responseMimeType application/json answers
{"answer": "<text>"}. candidateCount gives that many candidates.
A model whose name has "stop-each" streams like Vertex AI may: the
finishReason is on every chunk, not only on the last.
"""
import hashlib
import json
import re

from mocklib import (Response, exec_call, json_response, model_thinks,
                     sse_event,
                     sse_response)

PREFIXES = ["/google/", "/raw/google/", "/gemini/"]

PATH_RE = re.compile(r"^/(?:raw/google|google|gemini)/(v1beta|v1)/models/"
                     r"([A-Za-z0-9._-]+):([A-Za-z]+)$")

TOP_FIELDS = {"contents", "systemInstruction", "generationConfig", "tools",
              "toolConfig", "safetySettings", "cachedContent"}
GEN_FIELDS = {
    "stopSequences": list, "responseMimeType": str, "responseSchema": dict,
    "responseJsonSchema": (dict, bool), "responseModalities": list,
    "candidateCount": int, "maxOutputTokens": int, "temperature": (int, float),
    "topP": (int, float), "topK": int, "seed": int,
    "presencePenalty": (int, float), "frequencyPenalty": (int, float),
    "responseLogprobs": bool, "logprobs": int,
    "enableEnhancedCivicAnswers": bool, "speechConfig": dict,
    "thinkingConfig": dict, "imageConfig": dict, "mediaResolution": str,
}
SCHEMA_FIELDS = {"type", "format", "title", "description", "nullable", "enum",
                 "maxItems", "minItems", "properties", "required",
                 "minProperties", "maxProperties", "minLength", "maxLength",
                 "pattern", "example", "anyOf", "propertyOrdering", "default",
                 "items", "minimum", "maximum"}
SCHEMA_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
PART_DATA = {"text", "inlineData", "fileData", "functionCall",
             "functionResponse", "executableCode", "codeExecutionResult"}
PART_META = {"thought", "thoughtSignature", "videoMetadata"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
SIGNATURE = "c2lnLW1vY2stdGhvdWdodA=="


class Invalid(Exception):
    pass


def g_error(status, code, message):
    return json_response({"error": {"code": code, "message": message,
                                    "status": status}}, code)


def bad(msg):
    raise Invalid(msg)


def unknown(name, where):
    bad('Invalid JSON payload received. Unknown name "%s" at \'%s\': '
        'Cannot find field.' % (name, where))


def check_schema(s, where, depth=0):
    if not isinstance(s, dict):
        bad("%s: schema must be an object" % where)
    for k in s:
        if k not in SCHEMA_FIELDS:
            unknown(k, where)
    t = s.get("type")
    if t is not None and (not isinstance(t, str)
                          or t.lower() not in SCHEMA_TYPES):
        bad("%s.type: invalid value %r" % (where, t))
    fmt = s.get("format")
    if fmt is not None and fmt not in ("enum", "date-time", "int32", "int64",
                                       "float", "double"):
        bad("%s.format: only 'enum' and 'date-time' are supported for STRING "
            "type" % where)
    props = s.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            bad("%s.properties: must be an object" % where)
        for k, v in props.items():
            check_schema(v, "%s.properties[%s].value" % (where, k), depth + 1)
    if t and t.lower() == "object" and "properties" in s and not props:
        bad("%s.properties: should be non-empty for OBJECT type" % where)
    if "items" in s:
        check_schema(s["items"], where + ".items", depth + 1)
    for i, a in enumerate(s.get("anyOf") or []):
        check_schema(a, "%s.any_of[%d]" % (where, i), depth + 1)
    for k in ("required", "enum", "propertyOrdering"):
        if k in s and not (isinstance(s[k], list)
                           and all(isinstance(x, str) for x in s[k])):
            bad("%s.%s: must be a list of strings" % (where, k))


def check_part(part, where, role):
    if not isinstance(part, dict):
        bad("%s: part must be an object" % where)
    data = [k for k in part if k in PART_DATA]
    for k in part:
        if k not in PART_DATA and k not in PART_META:
            unknown(k, where)
    if len(data) != 1:
        bad("%s: a part must hold exactly one of text, inlineData, fileData, "
            "functionCall, functionResponse" % where)
    k = data[0]
    v = part[k]
    if k == "text":
        if not isinstance(v, str):
            bad("%s.text: must be a string" % where)
    elif k == "inlineData":
        if (not isinstance(v, dict) or set(v) != {"mimeType", "data"}
                or not all(isinstance(x, str) and x for x in v.values())):
            bad("%s.inline_data: needs mimeType and data" % where)
        if not re.match(r"^[A-Za-z0-9+/=_-]*$", v["data"]):
            bad("%s.inline_data.data: Base64 decoding failed" % where)
    elif k == "fileData":
        if (not isinstance(v, dict) or not isinstance(v.get("fileUri"), str)
                or set(v) - {"mimeType", "fileUri"}):
            bad("%s.file_data: needs fileUri" % where)
    elif k == "functionCall":
        if role != "model":
            bad("%s: functionCall parts are only allowed in model turns"
                % where)
        if (not isinstance(v, dict) or not isinstance(v.get("name"), str)
                or set(v) - {"name", "args", "id"}
                or not isinstance(v.get("args", {}), dict)):
            bad("%s.function_call: needs name and an object args" % where)
    elif k == "functionResponse":
        if role == "model":
            bad("%s: functionResponse parts are not allowed in model turns"
                % where)
        if (not isinstance(v, dict) or not isinstance(v.get("name"), str)
                or not isinstance(v.get("response"), dict)
                or set(v) - {"name", "response", "id"}):
            bad("%s.function_response: needs name and an object response"
                % where)


def check_thinking(t, model):
    where = "generation_config.thinking_config"
    for k in t:
        if k not in ("thinkingBudget", "includeThoughts", "thinkingLevel"):
            unknown(k, where)
    budget, level = t.get("thinkingBudget"), t.get("thinkingLevel")
    if "thinkingBudget" in t and (not isinstance(budget, int)
                                  or isinstance(budget, bool)):
        bad("Invalid value at '%s.thinking_budget' (TYPE_INT32)" % where)
    if "includeThoughts" in t and not isinstance(t["includeThoughts"], bool):
        bad("Invalid value at '%s.include_thoughts' (TYPE_BOOL)" % where)
    if "thinkingLevel" in t and level not in (
            "minimal", "low", "medium", "high", "MINIMAL", "LOW", "MEDIUM",
            "HIGH", "THINKING_LEVEL_UNSPECIFIED"):
        bad("Invalid value at '%s.thinking_level'" % where)
    if budget is not None and level is not None:
        bad("You can only set either thinking budget or thinking level, "
            "not both.")
    pro = "-pro" in model
    if level is not None and "gemini-3" in model and pro and \
            level.lower() in ("minimal", "medium"):
        bad("Thinking level %s is not supported for this model."
            % level.upper())
    if budget is None:
        return
    if budget < -1:
        bad("The thinking budget must be -1 (dynamic) or a non-negative "
            "number.")
    if "2.5" in model and budget != -1:
        if pro and budget == 0:
            bad("Budget 0 is invalid. This model only works in thinking "
                "mode.")
        lo, hi = (128, 32768) if pro else (
            (512, 24576) if "lite" in model else (0, 24576))
        if budget and not lo <= budget <= hi:
            bad("The thinking budget %d is invalid. Please choose a value "
                "between %d and %d." % (budget, lo, hi))


def count_tokens(body, model):
    if not isinstance(body, dict):
        bad("Invalid JSON payload received.")
    for k in body:
        if k not in ("contents", "generateContentRequest"):
            unknown(k, "")
    if len(body) != 1:
        bad("* CountTokensRequest: exactly one of contents and "
            "generateContentRequest must be set")
    if "generateContentRequest" in body:
        gcr = body["generateContentRequest"]
        if not isinstance(gcr, dict):
            bad("generateContentRequest: must be an object")
        if gcr.get("model") != "models/" + model:
            bad("* GenerateContentRequest.model: must be models/%s" % model)
        gcr = {k: v for k, v in gcr.items() if k != "model"}
        check_request(gcr, model)
    else:
        gcr = {"contents": body["contents"]}
        if not isinstance(gcr["contents"], list) or not gcr["contents"]:
            bad("* CountTokensRequest.contents: contents is not specified")
    n, fail = 0, False
    for c in gcr["contents"]:
        n += 3
        for part in (c.get("parts") or []) if isinstance(c, dict) else []:
            t = part.get("text") if isinstance(part, dict) else None
            if isinstance(t, str):
                n += len(t.split())
                fail = fail or "count_fail" in t
    if gcr.get("systemInstruction"):
        n += 10
    if fail:
        return g_error("INTERNAL", 500, "An internal error has occurred.")
    return json_response({"totalTokens": n, "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": n}]})


def check_request(body, model):
    if not isinstance(body, dict):
        bad("Invalid JSON payload received.")
    for k in body:
        if k not in TOP_FIELDS:
            unknown(k, "")
    contents = body.get("contents")
    if not contents:
        bad("* GenerateContentRequest.contents: contents is not specified")
    if not isinstance(contents, list):
        bad("contents: must be a list")
    # thinking models sign their function calls and want the signature
    # back on the first functionCall part of each call turn
    signed = "thinking" in model or "2.5" in model or any(
        "thinking" in p.get("text", "") for c in contents
        if isinstance(c, dict) and c.get("role", "user") == "user"
        for p in (c.get("parts") or []) if isinstance(p, dict))
    pending_calls = 0
    for i, c in enumerate(contents):
        where = "contents[%d]" % i
        if not isinstance(c, dict):
            bad(where + ": must be an object")
        for k in c:
            if k not in ("role", "parts"):
                unknown(k, where)
        role = c.get("role", "user")
        if role not in ("user", "model", "function"):
            bad("Please use a valid role: user, model.")
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            bad("* GenerateContentRequest.%s.parts: contents.parts must not "
                "be empty." % where)
        for j, p in enumerate(parts):
            check_part(p, "%s.parts[%d]" % (where, j), role)
        calls = [p for p in parts if "functionCall" in p]
        responses = [p for p in parts if "functionResponse" in p]
        if pending_calls and len(responses) != pending_calls:
            bad("Please ensure that the number of function response parts is "
                "equal to the number of function call parts of the function "
                "call turn.")
        if responses and not pending_calls:
            bad("Please ensure that function response turn comes immediately "
                "after a function call turn.")
        pending_calls = len(calls)
        if calls and signed and \
                calls[0].get("thoughtSignature") != SIGNATURE:
            bad("Function call is missing a thought_signature in "
                "functionCall parts. This is required for tools to work "
                "correctly.")
    si = body.get("systemInstruction")
    if si is not None:
        if not isinstance(si, dict) or set(si) - {"parts", "role"}:
            bad("systemInstruction: must be a Content")
        if not isinstance(si.get("parts"), list) or not si["parts"]:
            bad("systemInstruction.parts: must not be empty")
        for j, p in enumerate(si["parts"]):
            if not isinstance(p, dict) or set(p) != {"text"}:
                bad("system_instruction.parts[%d]: only text is supported" % j)
    gc = body.get("generationConfig", {})
    if not isinstance(gc, dict):
        bad("generationConfig: must be an object")
    for k, v in gc.items():
        if k not in GEN_FIELDS:
            unknown(k, "generation_config")
        if isinstance(v, bool) and GEN_FIELDS[k] is not bool and \
                GEN_FIELDS[k] != (dict, bool):
            bad("generation_config.%s: invalid value" % k)
        if not isinstance(v, GEN_FIELDS[k]):
            bad("Invalid value at 'generation_config.%s'" % k)
    if "thinkingConfig" in gc:
        if not model_thinks(model, "gemini"):
            # 2.5 and later only (2.0, 1.5: INVALID_ARGUMENT)
            bad("Thinking is not supported for this model.")
        check_thinking(gc["thinkingConfig"], model)
    if "stopSequences" in gc and (len(gc["stopSequences"]) > 5 or not all(
            isinstance(s, str) for s in gc["stopSequences"])):
        bad("generation_config.stop_sequences: at most 5 strings")
    if "responseSchema" in gc:
        check_schema(gc["responseSchema"], "generation_config.response_schema")
        if gc.get("responseMimeType") != "application/json":
            bad("responseSchema needs responseMimeType application/json")
    names = []
    tools = body.get("tools", [])
    if not isinstance(tools, list):
        bad("tools: must be a list")
    for i, t in enumerate(tools):
        if not isinstance(t, dict):
            bad("tools[%d]: must be an object" % i)
        for k in t:
            if k not in ("functionDeclarations", "googleSearch",
                         "codeExecution", "urlContext"):
                unknown(k, "tools[%d]" % i)
        for j, d in enumerate(t.get("functionDeclarations", [])):
            where = "tools[%d].function_declarations[%d]" % (i, j)
            if not isinstance(d, dict):
                bad(where + ": must be an object")
            for k in d:
                if k not in ("name", "description", "parameters",
                             "parametersJsonSchema", "response",
                             "behavior"):
                    unknown(k, where)
            if not isinstance(d.get("name"), str) or \
                    not NAME_RE.match(d["name"]):
                bad(where + ".name: Invalid function name.")
            if "parameters" in d:
                check_schema(d["parameters"], where + ".parameters")
            names.append(d)
    tc = body.get("toolConfig")
    if tc is not None:
        if not isinstance(tc, dict) or set(tc) - {"functionCallingConfig",
                                                  "retrievalConfig"}:
            bad("toolConfig: invalid")
        fcc = tc.get("functionCallingConfig", {})
        if set(fcc) - {"mode", "allowedFunctionNames"}:
            bad("function_calling_config: unknown field")
        if fcc.get("mode") not in ("AUTO", "ANY", "NONE", "VALIDATED",
                                   "MODE_UNSPECIFIED"):
            bad("function_calling_config.mode: invalid value")
        allowed = fcc.get("allowedFunctionNames")
        if allowed is not None:
            if fcc.get("mode") != "ANY":
                bad("allowed_function_names can only be set when mode is ANY")
            known = {d["name"] for d in names}
            if not all(n in known for n in allowed):
                bad("allowed_function_names: unknown function")
    return names


def last_user_text(body):
    for c in reversed(body["contents"]):
        if c.get("role", "user") != "model":
            txt = " ".join(p["text"] for p in c["parts"] if "text" in p)
            resp = [p["functionResponse"] for p in c["parts"]
                    if "functionResponse" in p]
            return txt, resp
    return "", []


def sample_args(decl):
    props = (decl.get("parameters") or {}).get("properties") or {}
    args = {}
    for k, s in props.items():
        t = (s.get("type") or "string").lower()
        args[k] = {"string": "Paris", "integer": 3, "number": 1.5,
                   "boolean": True, "array": [], "object": {}}.get(t, "x")
    return args


def usage(prompt, out, thoughts=0):
    u = {"promptTokenCount": prompt, "candidatesTokenCount": out,
         "totalTokenCount": prompt + out + thoughts,
         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    if thoughts:
        u["thoughtsTokenCount"] = thoughts
    return u


def plan(body, model):
    """-> (list of candidate dicts (parts, finishReason), prompt feedback)"""
    names = check_request(body, model)
    text, responses = last_user_text(body)
    gc = body.get("generationConfig", {})
    n = gc.get("candidateCount", 1)
    mode = (body.get("toolConfig", {}).get("functionCallingConfig", {})
            .get("mode", "AUTO"))
    if "prompt_blocked" in text:
        return [], {"blockReason": "SAFETY"}
    if "blocked" in text:
        return [{"parts": None, "finishReason": "SAFETY"}] * n, None
    parts = []
    finish = "STOP"
    tcfg = gc.get("thinkingConfig") or {}
    if "thinking" in text or (tcfg.get("includeThoughts")
                              and tcfg.get("thinkingBudget") != 0):
        parts.append({"text": "Pondering the request...", "thought": True})
    run = exec_call(text, [d["name"] for d in names]) \
        if mode != "NONE" else None
    if responses:
        parts.append({"text": "tool said: " + json.dumps(
            responses[0]["response"], sort_keys=True)})
    elif run:
        p = {"functionCall": {"name": run[0], "args": run[1]}}
        # a thinking model signs its call (and wants the signature back)
        if "thinking" in text or "2.5" in model:
            p["thoughtSignature"] = SIGNATURE
        parts.append(p)
    elif names and mode != "NONE" and "partial_call" in text:
        d = names[0]
        parts.append({"functionCall": {"name": d["name"], "args": {}}})
        parts.append({"functionCall": {"args": sample_args(d)}})
    elif names and mode != "NONE" and "many_calls" in text:
        d = names[0]
        parts.append([{"functionCall": {"name": d["name"],
                                        "args": sample_args(d)}}] * 2000)
    elif names and mode != "NONE" and ("use_tool" in text
                                       or "two_tools" in text or mode == "ANY"):
        allowed = (body.get("toolConfig", {}).get("functionCallingConfig", {})
                   .get("allowedFunctionNames"))
        decls = [d for d in names if not allowed or d["name"] in allowed]
        count = 2 if "two_tools" in text else 1
        for i in range(count):
            d = decls[i % len(decls)]
            p = {"functionCall": {"name": d["name"], "args": sample_args(d)}}
            if i == 0 and ("thinking" in text or "2.5" in model):
                p["thoughtSignature"] = SIGNATURE
            parts.append(p)
    else:
        answer = "echo: %s" % text
        if gc.get("responseMimeType") == "application/json":
            answer = json.dumps({"answer": answer})
        if "max_tokens" in text:
            answer = answer[:12]
            finish = "MAX_TOKENS"
        parts.append({"text": answer})
    return [{"parts": parts, "finishReason": finish}] * n, None


def flat(parts):
    """parts, with a list of parts (sent as one stream event) spread"""
    if parts is None:
        return None
    out = []
    for p in parts:
        out += p if isinstance(p, list) else [p]
    return out


def candidate(i, c, parts=None, finish=True):
    out = {"index": i}
    p = flat(c["parts"]) if parts is None else parts
    if p is not None:
        out["content"] = {"parts": p, "role": "model"}
    if finish:
        out["finishReason"] = c["finishReason"]
    return out


def generate(body, model):
    cands, feedback = plan(body, model)
    resp = {"modelVersion": model, "responseId": "mock-resp-1",
            "usageMetadata": usage(7, 5, 3 if cands and any(
                p.get("thought") for p in (flat(cands[0]["parts"]) or []))
                else 0)}
    if feedback:
        resp["promptFeedback"] = feedback
        resp["usageMetadata"] = {"promptTokenCount": 7, "totalTokenCount": 7}
    else:
        resp["candidates"] = [candidate(i, c) for i, c in enumerate(cands)]
    return json_response(resp)


def stream(body, model, text):
    cands, feedback = plan(body, model)
    events = []
    if feedback:
        events.append(sse_event({"promptFeedback": feedback,
                                 "usageMetadata": {"promptTokenCount": 7,
                                                   "totalTokenCount": 7},
                                 "modelVersion": model}))
        return sse_response(events)
    # one event per text word (and per function call), for every candidate
    steps = []
    for i, c in enumerate(cands):
        pieces = []
        for p in c["parts"] or []:
            if "text" in p and not p.get("thought"):
                words = p["text"].split(" ")
                pieces += [dict(p, text=w if k == 0 else " " + w)
                           for k, w in enumerate(words)]
            else:
                pieces.append(p)
        steps.append((i, c, pieces))
    longest = max(len(s[2]) for s in steps) or 1
    every = "stop-each" in model
    for k in range(longest):
        ev_cands = []
        last = k == longest - 1
        for i, c, pieces in steps:
            part = flat([pieces[k]]) if k < len(pieces) else []
            cand = candidate(i, c, part if part else None,
                             finish=(last or every)
                             and "stream_cut" not in text)
            if part or cand.get("finishReason"):
                ev_cands.append(cand)
        ev = {"candidates": ev_cands, "modelVersion": model,
              "responseId": "mock-resp-1",
              "usageMetadata": usage(7, k + 1) if last
              else {"promptTokenCount": 7, "totalTokenCount": 7}}
        events.append(sse_event(ev))
        if k == 0 and "stream_error" in text:
            events.append(sse_event({"error": {
                "code": 500, "status": "INTERNAL",
                "message": "An internal error has occurred. Please retry or "
                           "report in https://developers.generativeai.google/"
                           "guide/troubleshooting"}}))
            break
    drop = 1 if "stream_drop" in text else None
    return sse_response(events, 0.02, drop_after=drop)


def embed_values(text, dims):
    h = hashlib.sha256(text.encode()).digest()
    return [round((h[i % 32] - 128) / 128.0, 6) for i in range(dims)]


def check_embed_request(r, model, where):
    if not isinstance(r, dict):
        bad(where + ": must be an object")
    for k in r:
        if k not in ("model", "content", "taskType", "title",
                     "outputDimensionality"):
            unknown(k, where)
    if "model" in r and r["model"] != "models/" + model:
        bad("Model in request does not match the model in the path: %r"
            % r.get("model"))
    c = r.get("content")
    if not isinstance(c, dict) or not isinstance(c.get("parts"), list) \
            or not c["parts"]:
        bad(where + ".content: content is not specified")
    for j, p in enumerate(c["parts"]):
        if not isinstance(p, dict) or set(p) != {"text"} or \
                not isinstance(p["text"], str):
            bad("%s.content.parts[%d]: only text parts can be embedded"
                % (where, j))
    dims = r.get("outputDimensionality", 8)
    if not isinstance(dims, int) or isinstance(dims, bool) or dims < 1:
        bad(where + ".output_dimensionality: must be a positive integer")
    return embed_values(" ".join(p["text"] for p in c["parts"]), dims)


def handle(req):
    m = PATH_RE.match(req.path)
    if not m:
        return g_error("NOT_FOUND", 404, "Requested entity was not found.")
    _, model, method = m.groups()
    if req.method != "POST":
        return g_error("INVALID_ARGUMENT", 400, "method not allowed")
    body = req.json
    try:
        if body is None:
            bad("Invalid JSON payload received.")
        if method in ("embedContent", "batchEmbedContents"):
            if "embedding" not in model:
                return g_error("NOT_FOUND", 404,
                               "models/%s is not found for API version "
                               "v1beta, or is not supported for %s."
                               % (model, method))
            if method == "embedContent":
                vals = check_embed_request(body, model, "")
                return json_response({"embedding": {"values": vals}})
            if not isinstance(body, dict) or set(body) != {"requests"} or \
                    not isinstance(body["requests"], list) or \
                    not body["requests"]:
                bad("* BatchEmbedContentsRequest.requests: requests is "
                    "required")
            if len(body["requests"]) > 100:
                bad("at most 100 requests can be in one batch")
            return json_response({"embeddings": [
                {"values": check_embed_request(r, model,
                                               "requests[%d]" % i)}
                for i, r in enumerate(body["requests"])]})
        if method == "countTokens":
            return count_tokens(body, model)
        if method not in ("generateContent", "streamGenerateContent"):
            return g_error("NOT_FOUND", 404, "Method not found.")
        if "embedding" in model:
            return g_error("NOT_FOUND", 404,
                           "models/%s is not found for API version v1beta, "
                           "or is not supported for generateContent." % model)
        check_request(body, model)
        text, _ = last_user_text(body)
        if "overloaded" in text:
            return g_error("UNAVAILABLE", 503,
                           "The model is overloaded. Please try again later.")
        if "rate_limit" in text:
            return g_error("RESOURCE_EXHAUSTED", 429,
                           "Resource has been exhausted (e.g. check quota).")
        if method == "streamGenerateContent":
            if req.query.get("alt") != ["sse"]:
                bad("mock: streamGenerateContent must be called with "
                    "alt=sse (a JSON array stream is not supported)")
            return stream(body, model, text)
        if req.query.get("alt"):
            bad("alt is only for streamGenerateContent here")
        return generate(body, model)
    except Invalid as e:
        return g_error("INVALID_ARGUMENT", 400, str(e))
