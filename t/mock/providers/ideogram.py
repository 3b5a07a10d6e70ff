"""Ideogram image generation, strictly (developer.ideogram.ai).

Paths (after the /ideogram/ or /raw/ideogram/ prefix):
  generate                  classic JSON API: {"image_request": {...}}
  v1/ideogram-v3/generate   Ideogram 3.0: multipart/form-data only
Validation errors answer 422 {"detail": [{"loc","msg","type"}]} as the
real (FastAPI) service does: unknown fields, missing/empty prompt, unknown
model/aspect_ratio/style_type/rendering_speed/magic_prompt values,
num_images outside 1..8, style_type with a V_1 model, aspect_ratio with
resolution, JSON sent to the 3.0 endpoint.

Behaviour is chosen by the prompt text:
  unsafe         every image is_image_safe=false, without url
  partly_unsafe  the first image is unsafe, the others fine
  fail           500 {"detail": "Image generation failed"}
  safety         422 {"detail": "Prompt failed the safety check."}
  rate_limit     429 {"detail": "Too many requests"}
The returned image's "prompt" is the MagicPrompt'ed prompt
("Magic: <prompt>") unless magic prompt is OFF.
"""
import email.parser
import email.policy
import time

from mocklib import json_response

PREFIXES = ["/ideogram/", "/raw/ideogram/"]

CLASSIC_MODELS = {"V_1", "V_1_TURBO", "V_2", "V_2_TURBO", "V_2A",
                  "V_2A_TURBO"}
CLASSIC_RATIOS = {"ASPECT_1_1": (1, 1), "ASPECT_16_9": (16, 9),
                  "ASPECT_9_16": (9, 16), "ASPECT_4_3": (4, 3),
                  "ASPECT_3_4": (3, 4), "ASPECT_3_2": (3, 2),
                  "ASPECT_2_3": (2, 3), "ASPECT_16_10": (16, 10),
                  "ASPECT_10_16": (10, 16), "ASPECT_3_1": (3, 1),
                  "ASPECT_1_3": (1, 3)}
CLASSIC_STYLES = {"AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D",
                  "ANIME"}
CLASSIC_FIELDS = {"prompt", "model", "aspect_ratio", "resolution",
                  "num_images", "style_type", "magic_prompt_option",
                  "negative_prompt", "seed", "color_palette"}
MAGIC = {"AUTO", "ON", "OFF"}

V3_RATIOS = {"1x3", "3x1", "1x2", "2x1", "9x16", "16x9", "10x16", "16x10",
             "2x3", "3x2", "3x4", "4x3", "4x5", "5x4", "1x1"}
V3_RESOLUTIONS = set("""512x1536 576x1408 576x1472 576x1536 640x1344 640x1408
640x1472 640x1536 704x1152 704x1216 704x1280 704x1344 704x1408 704x1472
736x1312 768x1088 768x1216 768x1280 768x1344 800x1280 832x960 832x1024
832x1088 832x1152 832x1216 832x1248 864x1152 896x960 896x1024 896x1088
896x1120 896x1152 960x832 960x896 960x1024 960x1088 1024x832 1024x896
1024x960 1024x1024 1088x768 1088x832 1088x896 1088x960 1120x896 1152x704
1152x832 1152x864 1152x896 1216x704 1216x768 1216x832 1248x832 1280x704
1280x768 1280x800 1312x736 1344x640 1344x704 1344x768 1408x576 1408x640
1408x704 1472x576 1472x640 1472x704 1536x512 1536x576 1536x640""".split())
V3_SPEEDS = {"FLASH", "TURBO", "DEFAULT", "QUALITY"}
V3_STYLES = {"AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"}
V3_FIELDS = {"prompt", "seed", "resolution", "aspect_ratio",
             "rendering_speed", "magic_prompt", "negative_prompt",
             "num_images", "color_palette", "style_codes", "style_type",
             "style_reference_images", "character_reference_images",
             "character_reference_images_mask"}


def _invalid(loc, msg, typ="value_error"):
    return json_response({"detail": [{"loc": loc, "msg": msg, "type": typ}]},
                         422)


def _resolution(w, h):
    # about one megapixel, multiples of 64
    scale = (1024 * 1024 / float(w * h)) ** 0.5
    return "%dx%d" % (int(w * scale) // 64 * 64, int(h * scale) // 64 * 64)


def _answer(prompt, n, magic, resolution, style, seed):
    if "fail" in prompt:
        return json_response({"detail": "Image generation failed"}, 500)
    if "safety" in prompt:
        return json_response({"detail": "Prompt failed the safety check."},
                             422)
    if "rate_limit" in prompt:
        return json_response({"detail": "Too many requests"}, 429)
    data = []
    for i in range(n):
        img = {"prompt": prompt if magic == "OFF" else "Magic: " + prompt,
               "resolution": resolution, "is_image_safe": True,
               "seed": (seed if seed is not None else 12345) + i,
               "style_type": style or "GENERAL",
               "url": "https://ideogram.mock/api/images/ephemeral/img%d.png"
                      "?exp=1743867804&sig=%02x" % (i + 1, i)}
        if "partly_unsafe" in prompt and i == 0 or (
                "unsafe" in prompt and "partly_unsafe" not in prompt):
            img["is_image_safe"] = False
            del img["url"]
        data.append(img)
    return json_response({
        "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "data": data})


def _int(v, lo, hi):
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        try:
            v = int(v, 10)
        except ValueError:
            return None
    if not isinstance(v, int) or v < lo or v > hi:
        return None
    return v


def _classic(req):
    ct = req.headers.get("Content-Type", "")
    if not ct.startswith("application/json"):
        return _invalid(["body"], "Expected application/json")
    body = req.json
    if not isinstance(body, dict):
        return _invalid(["body"], "value is not a valid dict",
                        "type_error.dict")
    for k in body:
        if k != "image_request":
            return _invalid(["body", k], "extra fields not permitted",
                            "value_error.extra")
    ir = body.get("image_request")
    if not isinstance(ir, dict):
        return _invalid(["body", "image_request"], "field required",
                        "value_error.missing")
    for k in ir:
        if k not in CLASSIC_FIELDS:
            return _invalid(["body", "image_request", k],
                            "extra fields not permitted", "value_error.extra")
    prompt = ir.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _invalid(["body", "image_request", "prompt"], "field required",
                        "value_error.missing")
    model = ir.get("model", "V_2")
    if model not in CLASSIC_MODELS:
        return _invalid(["body", "image_request", "model"],
                        "value is not a valid enumeration member",
                        "type_error.enum")
    if "aspect_ratio" in ir and "resolution" in ir:
        return json_response({"detail": "aspect_ratio and resolution cannot "
                                        "be used together"}, 400)
    ratio = ir.get("aspect_ratio", "ASPECT_1_1")
    if ratio not in CLASSIC_RATIOS:
        return _invalid(["body", "image_request", "aspect_ratio"],
                        "value is not a valid enumeration member",
                        "type_error.enum")
    n = _int(ir.get("num_images", 1), 1, 8)
    if n is None or isinstance(ir.get("num_images"), str):
        return _invalid(["body", "image_request", "num_images"],
                        "ensure this value is between 1 and 8")
    style = ir.get("style_type")
    if style is not None:
        if style not in CLASSIC_STYLES:
            return _invalid(["body", "image_request", "style_type"],
                            "value is not a valid enumeration member",
                            "type_error.enum")
        if model in ("V_1", "V_1_TURBO"):
            return json_response({"detail": "style_type is not supported by "
                                            "model %s" % model}, 400)
    magic = ir.get("magic_prompt_option", "AUTO")
    if magic not in MAGIC:
        return _invalid(["body", "image_request", "magic_prompt_option"],
                        "value is not a valid enumeration member",
                        "type_error.enum")
    seed = ir.get("seed")
    if seed is not None and (_int(seed, 0, 2147483647) is None
                             or isinstance(seed, str)):
        return _invalid(["body", "image_request", "seed"], "invalid seed")
    if "negative_prompt" in ir and not isinstance(ir["negative_prompt"], str):
        return _invalid(["body", "image_request", "negative_prompt"],
                        "str type expected", "type_error.str")
    w, h = CLASSIC_RATIOS[ratio]
    return _answer(prompt, n, magic, _resolution(w, h), style, seed)


def _form(req):
    ct = req.headers.get("Content-Type", "")
    if not ct.startswith("multipart/form-data") or "boundary=" not in ct:
        return None
    raw = b"Content-Type: " + ct.encode() + b"\r\n\r\n" + req.body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not msg.is_multipart() or msg.defects:
        return None
    fields = {}
    for part in msg.iter_parts():
        if part.get_content_disposition() != "form-data":
            return None
        name = part.get_param("name", header="content-disposition")
        if not name:
            return None
        value = part.get_payload(decode=True).decode("utf-8")
        fields.setdefault(name, []).append(value)
    return fields


def _v3(req):
    fields = _form(req)
    if fields is None:
        return _invalid(["body"], "Expected multipart/form-data")
    for k, v in fields.items():
        if k not in V3_FIELDS:
            return _invalid(["body", k], "extra fields not permitted",
                            "value_error.extra")
        if len(v) > 1 and k not in ("style_codes", "style_reference_images",
                                    "character_reference_images"):
            return _invalid(["body", k], "field given more than once")
    f = {k: v[0] for k, v in fields.items()}
    prompt = f.get("prompt")
    if not prompt or not prompt.strip():
        return _invalid(["body", "prompt"], "field required",
                        "value_error.missing")
    if "aspect_ratio" in f and "resolution" in f:
        return json_response({"detail": "aspect_ratio and resolution cannot "
                                        "be used together"}, 400)
    if "resolution" in f:
        if f["resolution"] not in V3_RESOLUTIONS:
            return _invalid(["body", "resolution"],
                            "value is not a valid enumeration member",
                            "type_error.enum")
        resolution = f["resolution"]
    else:
        ratio = f.get("aspect_ratio", "1x1")
        if ratio not in V3_RATIOS:
            return _invalid(["body", "aspect_ratio"],
                            "value is not a valid enumeration member",
                            "type_error.enum")
        w, h = (int(x) for x in ratio.split("x"))
        resolution = _resolution(w, h)
    if f.get("rendering_speed", "DEFAULT") not in V3_SPEEDS:
        return _invalid(["body", "rendering_speed"],
                        "value is not a valid enumeration member",
                        "type_error.enum")
    if f.get("magic_prompt", "AUTO") not in MAGIC:
        return _invalid(["body", "magic_prompt"],
                        "value is not a valid enumeration member",
                        "type_error.enum")
    style = f.get("style_type")
    if style is not None and style not in V3_STYLES:
        return _invalid(["body", "style_type"],
                        "value is not a valid enumeration member",
                        "type_error.enum")
    n = _int(f.get("num_images", "1"), 1, 8)
    if n is None:
        return _invalid(["body", "num_images"],
                        "ensure this value is between 1 and 8")
    seed = None
    if "seed" in f:
        seed = _int(f["seed"], 0, 2147483647)
        if seed is None:
            return _invalid(["body", "seed"], "invalid seed")
    return _answer(prompt, n, f.get("magic_prompt", "AUTO"), resolution,
                   style, seed)


def handle(req):
    if req.method != "POST":
        return json_response({"detail": "Method Not Allowed"}, 405)
    rest = req.path.split("/ideogram/", 1)[1]
    if rest == "generate":
        return _classic(req)
    if rest == "v1/ideogram-v3/generate":
        return _v3(req)
    return json_response({"detail": "Not Found"}, 404)
