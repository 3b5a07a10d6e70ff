"""Anthropic Messages API (POST .../v1/messages), strict.

Requires the anthropic-version header (400 "anthropic-version: header is
required" without it, as the real API answers); the value is recorded with
the request (GET /__mock/requests).
Validates the request the way the real API does (unknown top-level fields,
missing max_tokens, roles, alternation, first turn, block types, tool_use /
tool_result pairing, ranges) and answers with Anthropic's error shape
{"type":"error","error":{"type","message"},"request_id"}.

Behaviour is chosen by the text of the last user turn:
  overloaded     HTTP 529 overloaded_error
  use_tool       (with tools) a tool_use answer: text, then a call of the
                 first tool (or the tool named by tool_choice); with
                 "use_tool twice" two calls
  refuse         stop_reason "refusal", no content
  thinking       a thinking block before the text (also whenever the
                 request enables thinking: a thinking block with text and a
                 signature, in JSON answers and streams)
  cache          usage with cache_read/cache_creation tokens
  envelope       (not streamed) the answer in the gateway's envelope
                 {"response": <message>}
  stream_error   (stream) an error event (overloaded_error) after one delta
  stream_cut     (stream) the body ends without message_stop
  stream_reset   (stream) the connection is reset after a few events
  run_exec: echo WORD   (with Codex's exec_command or shell tool) a call of
                 that tool running the command; "run_patch: FILE WORD" a call of
                 apply_patch adding FILE (mocklib.exec_call)
POST .../v1/messages/count_tokens counts the input as the API does
({"input_tokens": N}; the request is checked like a Messages request,
without max_tokens, stream, stop_sequences, temperature and the like).
Beta fields need their beta in anthropic-beta, as the API answers
("context_management: Extra inputs are not permitted" otherwise):
context_management (context-management-2025-06-27), role "system" inside
messages (Claude Code's mid-conversation-tool-changes-2026-07-01). GA:
thinking {"type":"adaptive"} (Claude 4 and later in the mock),
thinking.display "summarized"/"omitted" (omitted: the thinking text comes
back empty, with a signature), output_config {"effort", "format"}.
Thinking is checked as the API does: {"type":"enabled","budget_tokens"}
(>= 1024 and < max_tokens) or {"type":"disabled"}; with it enabled,
temperature other than 1, top_k, top_p below 0.95 and a tool_choice that
forces a tool are refused, so is an assistant prefill (a last assistant
turn), and a last assistant turn with tool_use must start with a thinking
block. A thinking block sent back must carry the
signature the mock made for its text. A model without extended thinking
(before Claude 3.7: claude-3-5-*, claude-3-opus, claude-2, unknown ids; see
mocklib.model_thinks) gets 400 for any "thinking" field.
otherwise an echo "echo: <prompt>" (one token per word; max_tokens and
stop_sequences are honoured). A last turn of tool results answers
"tool said: <results>".
"""
import hashlib
import json
import re

from mocklib import (GATEWAY_ALIASES, Response, exec_call, json_response,
                     model_thinks, model_version, sse_event,
                     sse_response)

PREFIXES = ["/anthropic/", "/raw/anthropic/"]

ALLOWED = {"model", "messages", "max_tokens", "system", "stop_sequences",
           "stream", "temperature", "top_p", "top_k", "tools", "tool_choice",
           "metadata", "thinking", "service_tier", "output_config"}
# beta fields and the beta each needs
BETA_FIELDS = {"context_management": "context-management-2025-06-27"}
COUNT_ALLOWED = {"model", "messages", "system", "tools", "tool_choice",
                 "thinking", "output_config"}
MID_SYSTEM_BETA = "mid-conversation-tool-changes-2026-07-01"
EFFORTS = {"low", "medium", "high", "max"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_counter = [0]


class Invalid(Exception):
    pass


def _req_id():
    _counter[0] += 1
    return "req_mock%012d" % _counter[0]


def error(status, etype, message):
    return json_response({"type": "error",
                          "error": {"type": etype, "message": message},
                          "request_id": _req_id()}, status)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---- validation ----

def _check_text(b, where):
    if set(b) - {"type", "text", "cache_control", "citations"}:
        raise Invalid("%s: Extra inputs are not permitted" % where)
    if not isinstance(b.get("text"), str):
        raise Invalid("%s.text: Field required" % where)
    if not b["text"]:
        raise Invalid("messages: text content blocks must be non-empty")


def _signature(text):
    """The mock's signature of a thinking text (checked when it comes
    back)."""
    return "EqQB" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _check_block(b, role, where):
    if not isinstance(b, dict) or not isinstance(b.get("type"), str):
        raise Invalid("%s: Input should be a valid dictionary or object "
                      "to extract fields from" % where)
    t = b["type"]
    if t == "text":
        _check_text(b, where)
    elif t in ("image", "document"):
        extra = set(b) - ({"type", "source", "cache_control"} | (
            {"title", "context", "citations"} if t == "document" else set()))
        if extra:
            raise Invalid("%s.%s: Extra inputs are not permitted"
                          % (where, sorted(extra)[0]))
        if role != "user":
            raise Invalid("%s: %s blocks are only allowed in user turns"
                          % (where, t))
        src = b.get("source")
        if not isinstance(src, dict):
            raise Invalid("%s.source: Field required" % where)
        if src.get("type") == "base64":
            mt = src.get("media_type")
            ok = mt in IMAGE_TYPES if t == "image" else mt == "application/pdf"
            if not ok:
                raise Invalid("%s.source.media_type: Input should be %s"
                              % (where, "'image/jpeg', 'image/png', "
                                 "'image/gif' or 'image/webp'"
                                 if t == "image" else "'application/pdf'"))
            if not isinstance(src.get("data"), str) or not src["data"]:
                raise Invalid("%s.source.data: Field required" % where)
            if set(src) - {"type", "media_type", "data"}:
                raise Invalid("%s.source: Extra inputs are not permitted"
                              % where)
        elif src.get("type") == "url":
            if not isinstance(src.get("url"), str) or not re.match(
                    r"^https?://", src["url"]):
                raise Invalid("%s.source.url: Input should be a valid URL"
                              % where)
        else:
            raise Invalid("%s.source.type: Input should be 'base64' or 'url'"
                          % where)
    elif t == "tool_use":
        if role != "assistant":
            raise Invalid("%s: tool_use blocks are only allowed in "
                          "assistant turns" % where)
        if set(b) - {"type", "id", "name", "input", "cache_control"}:
            raise Invalid("%s: Extra inputs are not permitted" % where)
        if not isinstance(b.get("id"), str) or not TOOL_ID.match(b["id"]):
            raise Invalid("%s.id: String should match pattern "
                          "'^[a-zA-Z0-9_-]+$'" % where)
        if not isinstance(b.get("name"), str) or not b["name"]:
            raise Invalid("%s.name: Field required" % where)
        if not isinstance(b.get("input"), dict):
            raise Invalid("%s.input: Input should be a valid dictionary"
                          % where)
    elif t == "tool_result":
        if role != "user":
            raise Invalid("%s: tool_result blocks are only allowed in user "
                          "turns" % where)
        if set(b) - {"type", "tool_use_id", "content", "is_error",
                     "cache_control"}:
            raise Invalid("%s: Extra inputs are not permitted" % where)
        if not isinstance(b.get("tool_use_id"), str):
            raise Invalid("%s.tool_use_id: Field required" % where)
        c = b.get("content")
        if isinstance(c, list):
            for j, cb in enumerate(c):
                if not isinstance(cb, dict) or cb.get("type") not in (
                        "text", "image"):
                    raise Invalid("%s.content.%d: Input tag does not match "
                                  "any of the expected tags: 'text', 'image'"
                                  % (where, j))
                if cb["type"] == "text":
                    _check_text(cb, "%s.content.%d" % (where, j))
        elif c is not None and not isinstance(c, str):
            raise Invalid("%s.content: Input should be a valid string or "
                          "list" % where)
    elif t in ("thinking", "redacted_thinking"):
        if role != "assistant":
            raise Invalid("%s: thinking blocks are only allowed in assistant "
                          "turns" % where)
        if t == "thinking":
            if set(b) - {"type", "thinking", "signature"}:
                raise Invalid("%s: Extra inputs are not permitted" % where)
            if not isinstance(b.get("thinking"), str):
                raise Invalid("%s.thinking: Field required" % where)
            if not isinstance(b.get("signature"), str):
                raise Invalid("%s.signature: Field required" % where)
            if b["signature"] != _signature(b["thinking"]):
                raise Invalid("%s: Invalid `signature` in `thinking` block"
                              % where)
        else:
            if set(b) - {"type", "data"} or not isinstance(b.get("data"),
                                                           str):
                raise Invalid("%s.data: Field required" % where)
    else:
        raise Invalid("%s.type: Input tag '%s' found using 'type' does not "
                      "match any of the expected tags" % (where, t))


def _blocks(m):
    c = m.get("content")
    if isinstance(c, str):
        return [{"type": "text", "text": c}] if c else []
    return c


def validate(body, betas=(), count=False):
    allowed = COUNT_ALLOWED if count else ALLOWED
    allowed = allowed | {f for f, b in BETA_FIELDS.items() if b in betas}
    extra = sorted(set(body) - allowed)
    if extra:
        raise Invalid("%s: Extra inputs are not permitted" % extra[0])
    for f in ("model", "messages") if count else ("model", "max_tokens",
                                                  "messages"):
        if f not in body:
            raise Invalid("%s: Field required" % f)
    if not isinstance(body["model"], str) or not body["model"]:
        raise Invalid("model: Input should be a valid string")
    if "context_management" in body:
        cm = body["context_management"]
        if not isinstance(cm, dict) or set(cm) - {"edits"} or \
                not isinstance(cm.get("edits", []), list):
            raise Invalid("context_management: Input should be a valid "
                          "dictionary")
    if "output_config" in body:
        oc = body["output_config"]
        if not isinstance(oc, dict) or set(oc) - {"effort", "format"}:
            raise Invalid("output_config: Extra inputs are not permitted")
        if "effort" in oc and oc["effort"] not in EFFORTS:
            raise Invalid("output_config.effort: Input should be 'low', "
                          "'medium', 'high' or 'max'")
    if count:
        body = dict(body, max_tokens=1 << 30)
    if not _is_int(body["max_tokens"]) or body["max_tokens"] < 1:
        raise Invalid("max_tokens: Input should be greater than or equal "
                      "to 1")
    for f, lo, hi in (("temperature", 0, 1), ("top_p", 0, 1)):
        if f in body and (not _is_num(body[f]) or not lo <= body[f] <= hi):
            raise Invalid("%s: Input should be less than or equal to %s"
                          % (f, hi))
    if "top_k" in body and (not _is_int(body["top_k"]) or body["top_k"] < 0):
        raise Invalid("top_k: Input should be a valid integer")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise Invalid("stream: Input should be a valid boolean")
    if "stop_sequences" in body:
        ss = body["stop_sequences"]
        if not isinstance(ss, list) or not all(isinstance(s, str) for s in ss):
            raise Invalid("stop_sequences: Input should be a valid list")
        if any(not s.strip() for s in ss):
            raise Invalid("stop_sequences: each stop sequence must contain "
                          "non-whitespace")
    if "metadata" in body:
        md = body["metadata"]
        if not isinstance(md, dict) or set(md) - {"user_id"}:
            raise Invalid("metadata: Extra inputs are not permitted")
        if "user_id" in md and not isinstance(md["user_id"], (str,
                                                              type(None))):
            raise Invalid("metadata.user_id: Input should be a valid string")
    if "thinking" in body and not model_thinks(body["model"], "claude"):
        # Claude 3.7 and 4 or later only (as the API: 400 for the others)
        raise Invalid("thinking: `thinking` is not supported for this "
                      "model (%s)." % body["model"])
    thinking = _check_thinking(body, count)
    sysp = body.get("system")
    if sysp is not None:
        if isinstance(sysp, list):
            for i, b in enumerate(sysp):
                if not isinstance(b, dict) or b.get("type") != "text":
                    raise Invalid("system.%d.type: Input should be 'text'" % i)
                _check_text(b, "system.%d" % i)
        elif not isinstance(sysp, str):
            raise Invalid("system: Input should be a valid string")
    # tools
    names = []
    if "tools" in body:
        if not isinstance(body["tools"], list):
            raise Invalid("tools: Input should be a valid list")
        for i, t in enumerate(body["tools"]):
            if not isinstance(t, dict):
                raise Invalid("tools.%d: Input should be an object" % i)
            if set(t) - {"name", "description", "input_schema",
                         "cache_control", "type"}:
                raise Invalid("tools.%d.%s: Extra inputs are not permitted"
                              % (i, sorted(set(t) - {"name", "description",
                                                     "input_schema",
                                                     "cache_control",
                                                     "type"})[0]))
            if not isinstance(t.get("name"), str) or not TOOL_NAME.match(
                    t["name"]):
                raise Invalid("tools.%d.name: String should match pattern "
                              "'^[a-zA-Z0-9_-]{1,128}$'" % i)
            sch = t.get("input_schema")
            if not isinstance(sch, dict) or sch.get("type") != "object":
                raise Invalid("tools.%d.input_schema.type: Input should be "
                              "'object'" % i)
            names.append(t["name"])
    if "tool_choice" in body:
        tc = body["tool_choice"]
        if not isinstance(tc, dict) or tc.get("type") not in (
                "auto", "any", "tool", "none"):
            raise Invalid("tool_choice: Input tag does not match any of the "
                          "expected tags: 'auto', 'any', 'tool', 'none'")
        allowed = {"type", "disable_parallel_tool_use"}
        if tc["type"] == "tool":
            allowed.add("name")
            if tc.get("name") not in names:
                raise Invalid("tool_choice.name: tool '%s' not found in "
                              "tools" % tc.get("name"))
        if tc["type"] == "none":
            allowed = {"type"}
        if set(tc) - allowed:
            raise Invalid("tool_choice.%s: Extra inputs are not permitted"
                          % sorted(set(tc) - allowed)[0])
        if thinking and tc["type"] in ("any", "tool"):
            raise Invalid("Thinking may not be enabled when tool_choice "
                          "forces tool use.")
    # messages
    msgs = body["messages"]
    if not isinstance(msgs, list) or not msgs:
        raise Invalid("messages: at least one message is required")
    prev = None
    for i, m in enumerate(msgs):
        where = "messages.%d" % i
        if not isinstance(m, dict):
            raise Invalid("%s: Input should be a valid dictionary" % where)
        if set(m) - {"role", "content"}:
            raise Invalid("%s.%s: Extra inputs are not permitted"
                          % (where, sorted(set(m) - {"role", "content"})[0]))
        role = m.get("role")
        if role == "system" and MID_SYSTEM_BETA in betas and i > 0:
            # a system turn between the others (Claude Code's beta): a
            # string or text blocks; the alternation skips it
            c = m.get("content")
            if isinstance(c, list):
                for j, b in enumerate(c):
                    if not isinstance(b, dict) or b.get("type") != "text":
                        raise Invalid("%s.content.%d.type: Input should be "
                                      "'text'" % (where, j))
                    _check_text(b, "%s.content.%d" % (where, j))
            elif not isinstance(c, str) or not c:
                raise Invalid("%s.content: Input should be a valid string "
                              "or list" % where)
            continue
        if role not in ("user", "assistant"):
            raise Invalid("%s.role: Input should be 'user' or 'assistant'"
                          % where)
        if i == 0 and role != "user":
            raise Invalid("messages: first message must use the \"user\" "
                          "role")
        if prev is not None and prev["role"] == role:
            raise Invalid("messages: roles must alternate between \"user\" "
                          "and \"assistant\", but found multiple \"%s\" "
                          "roles in a row" % role)
        c = m.get("content")
        if isinstance(c, str):
            if not c and not (role == "assistant" and i == len(msgs) - 1):
                raise Invalid("messages.%d: all messages must have non-empty "
                              "content except for the optional final "
                              "assistant message" % i)
        elif isinstance(c, list):
            if not c and not (role == "assistant" and i == len(msgs) - 1):
                raise Invalid("messages.%d: all messages must have non-empty "
                              "content except for the optional final "
                              "assistant message" % i)
            seen_other = False
            for j, b in enumerate(c):
                _check_block(b, role, "%s.content.%d" % (where, j))
                if b["type"] == "tool_result":
                    if seen_other:
                        raise Invalid("%s: tool_result blocks must come "
                                      "first in the content array" % where)
                else:
                    seen_other = True
        else:
            raise Invalid("%s.content: Input should be a valid string or "
                          "list" % where)
        # tool_use / tool_result pairing
        uses = [b["id"] for b in _blocks(prev or {"content": []})
                if b.get("type") == "tool_use"]
        results = [b["tool_use_id"] for b in _blocks(m)
                   if b.get("type") == "tool_result"]
        for r in results:
            if r not in uses:
                raise Invalid("%s.content.%d: unexpected `tool_use_id` found "
                              "in `tool_result` blocks: %s. Each "
                              "`tool_result` block must have a corresponding "
                              "`tool_use` block in the previous message."
                              % (where, results.index(r), r))
        if role == "user" and uses:
            missing = [u for u in uses if u not in results]
            if missing:
                raise Invalid("messages.%d: `tool_use` ids were found without "
                              "`tool_result` blocks immediately after: %s. "
                              "Each `tool_use` block must have a "
                              "corresponding `tool_result` block in the next "
                              "message." % (i - 1, ", ".join(missing)))
        prev = m
    if thinking and msgs[-1].get("role") == "assistant":
        raise Invalid("Pre-filling the assistant response is not supported "
                      "when thinking is enabled.")
    if thinking:
        last = [m for m in msgs if m.get("role") == "assistant"]
        blocks = _blocks(last[-1]) if last else []
        if any(b.get("type") == "tool_use" for b in blocks) and \
                blocks[0].get("type") not in ("thinking", "redacted_thinking"):
            raise Invalid("messages.%d.content.0.type: Expected `thinking` or "
                          "`redacted_thinking`, but found `%s`. When "
                          "`thinking` is enabled, a final `assistant` message "
                          "must start with a thinking block."
                          % (msgs.index(last[-1]), blocks[0].get("type")))
    return names


def _check_thinking(body, count=False):
    """The thinking object as the API checks it; True when enabled."""
    if "thinking" not in body:
        return False
    th = body["thinking"]
    if not isinstance(th, dict) or th.get("type") not in ("enabled",
                                                          "disabled",
                                                          "adaptive"):
        raise Invalid("thinking: Input tag does not match any of the "
                      "expected tags: 'enabled', 'disabled', 'adaptive'")
    if th["type"] == "disabled":
        if set(th) - {"type"}:
            raise Invalid("thinking.disabled.%s: Extra inputs are not "
                          "permitted" % sorted(set(th) - {"type"})[0])
        return False
    if "display" in th and th["display"] not in ("summarized", "omitted"):
        raise Invalid("thinking.%s.display: Input should be 'summarized' "
                      "or 'omitted'" % th["type"])
    if th["type"] == "adaptive":
        if set(th) - {"type", "display"}:
            raise Invalid("thinking.adaptive.%s: Extra inputs are not "
                          "permitted" % sorted(set(th) - {"type",
                                                          "display"})[0])
        v = model_version(GATEWAY_ALIASES.get(body["model"], body["model"]),
                          "claude")
        if v is None or v[0] < 4:
            raise Invalid("thinking.type.adaptive: adaptive thinking is not "
                          "supported on this model")
        return True
    if set(th) - {"type", "budget_tokens", "display"}:
        raise Invalid("thinking.enabled.%s: Extra inputs are not permitted"
                      % sorted(set(th) - {"type", "budget_tokens",
                                          "display"})[0])
    bt = th.get("budget_tokens")
    if not _is_int(bt):
        raise Invalid("thinking.enabled.budget_tokens: Field required")
    if bt < 1024:
        raise Invalid("thinking.enabled.budget_tokens: Input should be "
                      "greater than or equal to 1024")
    if not count and body["max_tokens"] <= bt:
        raise Invalid("`max_tokens` must be greater than "
                      "`thinking.budget_tokens`. Please consult our "
                      "documentation at https://docs.claude.com/en/docs/"
                      "build-with-claude/extended-thinking#max-tokens-and-"
                      "context-window-size")
    if "temperature" in body and body["temperature"] != 1:
        raise Invalid("`temperature` may only be set to 1 when thinking is "
                      "enabled. Please consult our documentation at "
                      "https://docs.claude.com/en/docs/build-with-claude/"
                      "extended-thinking#feature-compatibility")
    if "top_k" in body:
        raise Invalid("`top_k` must be unset when thinking is enabled. "
                      "Please consult our documentation at https://docs."
                      "claude.com/en/docs/build-with-claude/extended-"
                      "thinking#feature-compatibility")
    if "top_p" in body and body["top_p"] < 0.95:
        raise Invalid("`top_p` must be greater than or equal to 0.95 or "
                      "unset when thinking is enabled. Please consult our "
                      "documentation at https://docs.claude.com/en/docs/"
                      "build-with-claude/extended-thinking#feature-"
                      "compatibility")
    return True


# ---- answers ----

def _prompt(body):
    last = [m for m in body["messages"] if m.get("role") != "system"][-1]
    if last["role"] != "user":
        return "", []
    texts, results = [], []
    for b in _blocks(last):
        # Claude Code's context blocks are not the prompt (and echoing
        # them word by word would take long)
        if b["type"] == "text" and not b["text"].startswith(
                "<system-reminder>"):
            texts.append(b["text"])
        elif b["type"] == "tool_result":
            c = b.get("content")
            if isinstance(c, list):
                c = "".join(x.get("text", "") for x in c)
            results.append(c or "")
    return " ".join(texts), results


def _count_words(body):
    n = 0
    sysp = body.get("system")
    if isinstance(sysp, str):
        n += len(sysp.split())
    elif isinstance(sysp, list):
        n += sum(len(b["text"].split()) for b in sysp)
    for m in body["messages"]:
        for b in _blocks(m):
            if b["type"] == "text":
                n += len(b["text"].split())
            else:
                n += 5
    return max(n, 1)


def _tool_input(tool):
    props = (tool.get("input_schema") or {}).get("properties") or {}
    out = {}
    for k, v in props.items():
        t = v.get("type") if isinstance(v, dict) else None
        out[k] = 1 if t in ("number", "integer") else (
            True if t == "boolean" else "Paris")
    return out


def _plan(body, prompt, results):
    """(blocks, stop_reason, stop_sequence, usage)"""
    blocks = []
    usage = {"input_tokens": _count_words(body), "output_tokens": 0}
    if "cache" in prompt:
        usage.update(cache_read_input_tokens=100,
                     cache_creation_input_tokens=10)
    else:
        usage.update(cache_read_input_tokens=0, cache_creation_input_tokens=0)
    if "refuse" in prompt:
        return blocks, "refusal", None, usage
    if "thinking" in prompt or (body.get("thinking") or {}).get(
            "type") in ("enabled", "adaptive"):
        thought = "Let me think about: " + prompt
        if (body.get("thinking") or {}).get("display") == "omitted":
            thought = ""
        blocks.append({"type": "thinking", "thinking": thought,
                       "signature": _signature(thought)})
    tools = body.get("tools") or []
    tc = body.get("tool_choice") or {}
    run = exec_call(prompt, [t["name"] for t in tools]) \
        if tc.get("type") != "none" else None
    if results:
        text = "tool said: " + " | ".join(results)
    elif run:
        _counter[0] += 1
        blocks.append({"type": "tool_use", "id": "toolu_mock%08d" % _counter[0],
                       "name": run[0], "input": run[1]})
        usage["output_tokens"] = 12
        return blocks, "tool_use", None, usage
    elif tools and tc.get("type") != "none" and (
            "use_tool" in prompt or tc.get("type") in ("any", "tool")):
        tool = tools[0]
        if tc.get("type") == "tool":
            tool = [t for t in tools if t["name"] == tc["name"]][0]
        blocks.append({"type": "text", "text": "I'll use a tool."})
        n = 2 if "twice" in prompt and not tc.get(
            "disable_parallel_tool_use") else 1
        for k in range(n):
            _counter[0] += 1
            blocks.append({"type": "tool_use",
                           "id": "toolu_mock%08d" % _counter[0],
                           "name": tool["name"], "input": _tool_input(tool)})
        usage["output_tokens"] = 12 * n
        return blocks, "tool_use", None, usage
    else:
        text = "echo: " + prompt
    words = text.split(" ")
    stop_reason, stop_seq = "end_turn", None
    for s in body.get("stop_sequences") or []:
        pos = text.find(s)
        if pos >= 0:
            text, stop_reason, stop_seq = text[:pos], "stop_sequence", s
            words = text.split(" ")
    if len(words) > body["max_tokens"]:
        words = words[:body["max_tokens"]]
        text = " ".join(words)
        stop_reason, stop_seq = "max_tokens", None
    usage["output_tokens"] = len(words)
    if text:
        blocks.append({"type": "text", "text": text})
    return blocks, stop_reason, stop_seq, usage


def _message(body, blocks, stop_reason, stop_seq, usage):
    return {"id": "msg_mock%08d" % _counter[0], "type": "message",
            "role": "assistant", "model": body["model"], "content": blocks,
            "stop_reason": stop_reason, "stop_sequence": stop_seq,
            "usage": usage}


def _stream(body, prompt, blocks, stop_reason, stop_seq, usage):
    start = _message(body, [], None, None,
                     dict(usage, output_tokens=1))
    ev = [sse_event({"type": "message_start", "message": start},
                    "message_start")]
    for i, b in enumerate(blocks):
        if b["type"] == "text":
            ev.append(sse_event({"type": "content_block_start", "index": i,
                                 "content_block": {"type": "text",
                                                   "text": ""}},
                                "content_block_start"))
            if i == 0:
                ev.append(sse_event({"type": "ping"}, "ping"))
            words = b["text"].split(" ")
            for k, w in enumerate(words):
                piece = w if k == len(words) - 1 else w + " "
                ev.append(sse_event({"type": "content_block_delta",
                                     "index": i, "delta": {
                                         "type": "text_delta",
                                         "text": piece}},
                                    "content_block_delta"))
                if "stream_error" in prompt:
                    ev.append(sse_event({"type": "error", "error": {
                        "type": "overloaded_error",
                        "message": "Overloaded"}}, "error"))
                    return ev, None
        elif b["type"] == "thinking":
            ev.append(sse_event({"type": "content_block_start", "index": i,
                                 "content_block": {"type": "thinking",
                                                   "thinking": "",
                                                   "signature": ""}},
                                "content_block_start"))
            half = len(b["thinking"]) // 2
            for piece in (b["thinking"][:half], b["thinking"][half:]):
                ev.append(sse_event({"type": "content_block_delta",
                                     "index": i,
                                     "delta": {"type": "thinking_delta",
                                               "thinking": piece}},
                                    "content_block_delta"))
            ev.append(sse_event({"type": "content_block_delta", "index": i,
                                 "delta": {"type": "signature_delta",
                                           "signature": b["signature"]}},
                                "content_block_delta"))
        else:
            ev.append(sse_event({"type": "content_block_start", "index": i,
                                 "content_block": {"type": "tool_use",
                                                   "id": b["id"],
                                                   "name": b["name"],
                                                   "input": {}}},
                                "content_block_start"))
            js = json.dumps(b["input"])
            cut = [js[:len(js) // 2], js[len(js) // 2:]]
            for piece in [""] + cut:
                ev.append(sse_event({"type": "content_block_delta",
                                     "index": i, "delta": {
                                         "type": "input_json_delta",
                                         "partial_json": piece}},
                                    "content_block_delta"))
        ev.append(sse_event({"type": "content_block_stop", "index": i},
                            "content_block_stop"))
    ev.append(sse_event({"type": "message_delta",
                         "delta": {"stop_reason": stop_reason,
                                   "stop_sequence": stop_seq},
                         "usage": {"output_tokens": usage["output_tokens"]}},
                        "message_delta"))
    if "stream_cut" in prompt:
        return ev, None
    ev.append(sse_event({"type": "message_stop"}, "message_stop"))
    return ev, (3 if "stream_reset" in prompt else None)


def _betas(req):
    return {b.strip() for b in (req.headers.get("anthropic-beta") or
                                "").split(",") if b.strip()}


def count_tokens(req):
    body = req.json
    if not isinstance(body, dict):
        return error(400, "invalid_request_error",
                     "There was an issue with the format of your request: "
                     "the body is not a JSON object")
    try:
        validate(body, _betas(req), count=True)
    except Invalid as e:
        return error(400, "invalid_request_error", str(e))
    n = _count_words(body) + 3 * len(body.get("tools") or [])
    return json_response({"input_tokens": n},
                         headers={"request-id": _req_id()})


def handle(req):
    if req.method != "POST":
        return error(405, "invalid_request_error", "Method not allowed")
    counting = req.path.endswith("/v1/messages/count_tokens")
    if not req.path.endswith("/v1/messages") and not counting:
        return error(404, "not_found_error", "Not found")
    if not req.headers.get("anthropic-version"):
        return error(400, "invalid_request_error",
                     "anthropic-version: header is required")
    if req.headers.get("Content-Type", "").split(";")[0].strip() != \
            "application/json":
        return error(400, "invalid_request_error",
                     "Content-Type must be application/json")
    if counting:
        return count_tokens(req)
    body = req.json
    if not isinstance(body, dict):
        return error(400, "invalid_request_error",
                     "There was an issue with the format of your request: "
                     "the body is not a JSON object")
    try:
        validate(body, _betas(req))
    except Invalid as e:
        return error(400, "invalid_request_error", str(e))
    prompt, results = _prompt(body)
    if "overloaded" in prompt:
        return error(529, "overloaded_error", "Overloaded")
    _counter[0] += 1
    blocks, stop_reason, stop_seq, usage = _plan(body, prompt, results)
    if body.get("stream") is True:
        ev, drop = _stream(body, prompt, blocks, stop_reason, stop_seq,
                           usage)
        return sse_response(ev, 0.05, drop_after=drop,
                            headers={"request-id": _req_id()})
    msg = _message(body, blocks, stop_reason, stop_seq, usage)
    if "envelope" in prompt:
        msg = {"response": msg}
    return json_response(msg, headers={"request-id": _req_id()})
