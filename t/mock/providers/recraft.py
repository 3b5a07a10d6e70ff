"""Recraft image generation, strictly (recraft.ai/docs, API reference).

Path (after /recraft/ or /raw/recraft/): v1/images/generations, JSON.
Errors answer {"code": "...", "message": "..."}: unknown fields, missing or
empty prompt, unknown model/style, substyle without style, style with
style_id, n outside 1..6, a size the model does not list, response_format
other than url/b64_json all give 400.

Behaviour is chosen by the prompt text:
  fail        500 {"code": "internal_error", ...}
  rate_limit  429 {"code": "too_many_requests", ...}
"""
import time
import uuid

from mocklib import json_response

PREFIXES = ["/recraft/", "/raw/recraft/"]

FIELDS = {"prompt", "n", "style_id", "style", "substyle", "model",
          "response_format", "size", "negative_prompt", "controls",
          "text_layout"}
MODELS = {"recraftv2", "recraftv3", "recraftv2_vector", "recraftv3_vector",
          "recraftv4", "recraftv4_vector", "recraftv4_pro",
          "recraftv4_pro_vector", "recraftv4_1", "recraftv4_1_vector",
          "recraftv4_1_pro", "recraftv4_1_pro_vector"}
STYLES = {"any", "realistic_image", "digital_illustration",
          "vector_illustration", "icon", "logo_raster"}
V3_SIZES = {"1:1": "1024x1024", "2:1": "2048x1024", "1:2": "1024x2048",
            "3:2": "1536x1024", "2:3": "1024x1536", "4:3": "1365x1024",
            "3:4": "1024x1365", "5:4": "1280x1024", "4:5": "1024x1280",
            "6:10": "1024x1707", "10:6": "1707x1024", "14:10": "1434x1024",
            "10:14": "1024x1434", "16:9": "1820x1024", "9:16": "1024x1820"}
V4_SIZES = {"1:1": "1024x1024", "2:1": "1536x768", "1:2": "768x1536",
            "3:2": "1280x832", "2:3": "832x1280", "4:3": "1216x896",
            "3:4": "896x1216", "5:4": "1152x896", "4:5": "896x1152",
            "6:10": "832x1344", "14:10": "1280x896", "10:14": "896x1280",
            "16:9": "1344x768", "9:16": "768x1344"}
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9Q"
           "DwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _err(status, code, message):
    return json_response({"code": code, "message": message}, status)


def handle(req):
    if req.method != "POST":
        return _err(405, "method_not_allowed", "Method Not Allowed")
    rest = req.path.split("/recraft/", 1)[1]
    if rest != "v1/images/generations":
        return _err(404, "not_found", "Not Found")
    if not req.headers.get("Content-Type", "").startswith("application/json"):
        return _err(415, "unsupported_media_type",
                    "Content-Type must be application/json")
    body = req.json
    if not isinstance(body, dict):
        return _err(400, "invalid_json", "Request body must be a JSON object")
    for k in body:
        if k not in FIELDS:
            return _err(400, "unknown_parameter", "Unknown parameter: %s" % k)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _err(400, "invalid_prompt", "prompt is required")
    model = body.get("model", "recraftv3")
    if model not in MODELS:
        return _err(400, "invalid_model", "Invalid model: %s" % model)
    v4 = model.startswith("recraftv4")
    if len(prompt.encode()) > (10000 if v4 else 1000):
        return _err(400, "prompt_too_long", "prompt is too long")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 6:
        return _err(400, "invalid_n", "n must be between 1 and 6")
    style = body.get("style")
    if style is not None and style not in STYLES:
        return _err(400, "invalid_style", "Invalid style: %s" % style)
    if style is not None and body.get("style_id") is not None:
        return _err(400, "invalid_style",
                    "style and style_id are mutually exclusive")
    if body.get("substyle") is not None and style is None:
        return _err(400, "invalid_substyle", "substyle requires style")
    sizes = V4_SIZES if v4 else V3_SIZES
    size = body.get("size", "1:1")
    if not isinstance(size, str) or (size not in sizes
                                     and size not in sizes.values()):
        return _err(400, "invalid_size", "Invalid size: %s" % (size,))
    fmt = body.get("response_format", "url")
    if fmt not in ("url", "b64_json"):
        return _err(400, "invalid_response_format",
                    "response_format must be url or b64_json")
    for k, t in (("controls", dict), ("text_layout", list),
                 ("negative_prompt", str), ("substyle", str),
                 ("style_id", str)):
        if body.get(k) is not None and not isinstance(body[k], t):
            return _err(400, "invalid_parameter", "Invalid %s" % k)
    if "fail" in prompt:
        return _err(500, "internal_error", "Image generation failed")
    if "rate_limit" in prompt:
        return _err(429, "too_many_requests",
                    "Too many requests, please retry later")
    data = []
    for i in range(n):
        img = {"image_id": str(uuid.uuid4())}
        if fmt == "url":
            img["url"] = "https://img.recraft.mock/%d.png" % (i + 1)
        else:
            img["b64_json"] = PNG_1PX
        data.append(img)
    return json_response({"created": int(time.time()), "credits": 40 * n,
                          "data": data})
