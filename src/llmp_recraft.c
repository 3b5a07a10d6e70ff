/* Recraft image generation behind /v1/images/generations (core, no httpd).
 *
 * Native API (handle like "/recraft/v1/images/generations"), JSON, close to
 * OpenAI's: {"prompt","model","n","size","style","substyle","style_id",
 * "negative_prompt","controls","text_layout","response_format"}.
 *
 * OpenAI request -> native:
 *   prompt          required non-empty string (else 400 param "prompt")
 *   model           from the list's model_version: lowercased, "recraft-v"
 *                   -> "recraftv", other '-'/'.' -> '_' ("recraftv3",
 *                   "recraft-v3" -> "recraftv3", "recraft-v4.1" ->
 *                   "recraftv4_1"). Not a "recraftv<digit>..." name: no
 *                   "model" (Recraft's default, recraftv3).
 *   n               1..6 (Recraft's limit; else 400 param "n")
 *   size            "WxH"/"W:H"/"auto". For recraftv2/v3 (and the default
 *                   model): the requested WxH when Recraft lists it, else
 *                   the listed size with the nearest aspect ratio
 *                   (1024x1792 -> 1024x1820, 1792x1024 -> 1820x1024).
 *                   Other models (v4...): the nearest listed aspect ratio
 *                   as "w:h", which Recraft accepts for every model.
 *   style           Recraft styles pass through (any, realistic_image,
 *                   digital_illustration, vector_illustration, icon,
 *                   logo_raster). OpenAI's styles are not Recraft's: for
 *                   v2/v3, natural -> realistic_image, vivid ->
 *                   digital_illustration; for other models (which take no
 *                   style) and with a style_id they are dropped. Anything
 *                   else: 400 param "style".
 *   substyle, style_id, negative_prompt, controls, text_layout: passed
 *                   through when given (OpenAI SDK extra_body).
 *   response_format url | b64_json (both supported by Recraft).
 *   quality, user   ignored (no Recraft equivalent).
 *
 * Native response {"created":<int>,"credits":N,"data":[{"image_id","url"|
 * "b64_json","revised_prompt"?}]} -> {"created","data":[{"url"|"b64_json",
 * "revised_prompt"?}]}. Errors {"code","message"} keep message, code and
 * status.
 */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "llmp_provider.h"

#define RECRAFT_MAX_IMAGES 6

typedef struct {
    const char *aspect;   /* "w:h" */
    const char *size;     /* "WxH" for recraftv2/v3 */
    int w, h;
} recraft_size_t;

/* Recraft V2/V3 sizes (recraft.ai/docs, Appendix). */
static const recraft_size_t v3_sizes[] = {
    { "1:1", "1024x1024", 1024, 1024 },   { "2:1", "2048x1024", 2048, 1024 },
    { "1:2", "1024x2048", 1024, 2048 },   { "3:2", "1536x1024", 1536, 1024 },
    { "2:3", "1024x1536", 1024, 1536 },   { "4:3", "1365x1024", 1365, 1024 },
    { "3:4", "1024x1365", 1024, 1365 },   { "5:4", "1280x1024", 1280, 1024 },
    { "4:5", "1024x1280", 1024, 1280 },   { "6:10", "1024x1707", 1024, 1707 },
    { "10:6", "1707x1024", 1707, 1024 },  { "14:10", "1434x1024", 1434, 1024 },
    { "10:14", "1024x1434", 1024, 1434 }, { "16:9", "1820x1024", 1820, 1024 },
    { "9:16", "1024x1820", 1024, 1820 },  { NULL, NULL, 0, 0 }
};

/* Aspect ratios every later model (V4 family) lists. */
static const recraft_size_t v4_aspects[] = {
    { "1:1", NULL, 1, 1 },     { "2:1", NULL, 2, 1 },
    { "1:2", NULL, 1, 2 },     { "3:2", NULL, 3, 2 },
    { "2:3", NULL, 2, 3 },     { "4:3", NULL, 4, 3 },
    { "3:4", NULL, 3, 4 },     { "5:4", NULL, 5, 4 },
    { "4:5", NULL, 4, 5 },     { "6:10", NULL, 6, 10 },
    { "14:10", NULL, 14, 10 }, { "10:14", NULL, 10, 14 },
    { "16:9", NULL, 16, 9 },   { "9:16", NULL, 9, 16 },
    { NULL, NULL, 0, 0 }
};

static const char *const recraft_styles[] = {
    "any", "realistic_image", "digital_illustration", "vector_illustration",
    "icon", "logo_raster", NULL
};

static const recraft_size_t *recraft_nearest(const recraft_size_t *tab,
                                             long w, long h)
{
    const recraft_size_t *best = NULL;
    double bestd = 0;
    int i;

    for (i = 0; tab[i].aspect; i++) {
        double a = (double)w * tab[i].h, b = (double)h * tab[i].w;
        double d = a > b ? a / b : b / a;
        if (!best || d < bestd) { best = &tab[i]; bestd = d; }
    }
    return best;
}

/* The native model name for the list's model_version, or NULL. */
static const char *recraft_model(apr_pool_t *p, const char *model_id)
{
    const char *s = model_id ? model_id : "";
    char *m, *o;

    if (strncasecmp(s, "recraft", 7)) return NULL;
    m = o = apr_palloc(p, strlen(s) + 1);
    memcpy(o, "recraft", 7);
    o += 7;
    s += 7;
    if ((*s == '-' || *s == '_' || *s == ' ')
        && (s[1] == 'v' || s[1] == 'V')) s++;
    for (; *s; s++) {
        char c = (char)apr_tolower((unsigned char)*s);
        if (c == '-' || c == '.' || c == ' ') c = '_';
        if (!apr_isalnum((unsigned char)c) && c != '_') return NULL;
        *o++ = c;
    }
    *o = '\0';
    if (m[7] != 'v' || !apr_isdigit((unsigned char)m[8])) return NULL;
    return m;
}

/* The model takes the V2/V3 parameters (sizes, styles). */
static int recraft_is_v3(const char *model)
{
    return !model || !strncmp(model, "recraftv2", 9)
           || !strncmp(model, "recraftv3", 9);
}

static llmp_error_t *recraft_request(llmp_xlate_t *x, const cJSON *req,
                                     llmp_native_req_t *out)
{
    apr_pool_t *p = x->pool;
    const char *prompt, *size, *style, *substyle, *style_id, *neg, *fmt;
    const char *model;
    const cJSON *ctl, *tl;
    cJSON *root;
    llmp_error_t *e;
    apr_size_t len;
    long n = 0, w, h;
    int v3;

    if (!cJSON_IsObject(req)) {
        return llmp_error_make(p, 400, NULL, NULL, NULL,
                               "request body must be a JSON object");
    }
    if ((e = llmp_images_prompt(p, req, &prompt))) return e;
    model = recraft_model(p, x->model_id);
    v3 = recraft_is_v3(model);

    if ((e = llmp_req_opt_str(p, req, "response_format", &fmt))) return e;
    if (fmt && strcmp(fmt, "url") && strcmp(fmt, "b64_json")) {
        return llmp_error_make(p, 400, NULL, NULL, "response_format",
                               "Invalid response_format '%s': expected 'url' "
                               "or 'b64_json'", fmt);
    }
    if ((e = llmp_images_n(p, req, RECRAFT_MAX_IMAGES, &n))) return e;
    if ((e = llmp_images_size(p, req, &size, &w, &h))) return e;
    if (size) {
        int i;
        if (v3) {
            const recraft_size_t *best = NULL;
            for (i = 0; v3_sizes[i].aspect; i++) {
                if (v3_sizes[i].w == w && v3_sizes[i].h == h) {
                    best = &v3_sizes[i];
                    break;
                }
            }
            if (!best) best = recraft_nearest(v3_sizes, w, h);
            size = best->size;
        }
        else {
            size = recraft_nearest(v4_aspects, w, h)->aspect;
        }
    }
    if ((e = llmp_req_opt_str(p, req, "style_id", &style_id))) return e;
    if ((e = llmp_req_opt_str(p, req, "style", &style))) return e;
    if (style) {
        if (!strcmp(style, "natural") || !strcmp(style, "vivid")) {
            if (!v3 || style_id) style = NULL;
            else style = !strcmp(style, "natural") ? "realistic_image"
                                                   : "digital_illustration";
        }
        else {
            int i;
            const char *st = NULL;
            for (i = 0; recraft_styles[i]; i++) {
                if (!strcmp(recraft_styles[i], style)) st = recraft_styles[i];
            }
            if (!st) {
                return llmp_error_make(p, 400, NULL, NULL, "style",
                                       "Invalid style '%s': expected vivid, "
                                       "natural or a Recraft style "
                                       "(realistic_image, "
                                       "digital_illustration, "
                                       "vector_illustration, icon, "
                                       "logo_raster, any)", style);
            }
        }
    }
    if ((e = llmp_req_opt_str(p, req, "substyle", &substyle))) return e;
    if ((e = llmp_req_opt_str(p, req, "negative_prompt", &neg))) return e;
    ctl = cJSON_GetObjectItemCaseSensitive(req, "controls");
    if (ctl && !cJSON_IsNull(ctl) && !cJSON_IsObject(ctl)) {
        return llmp_error_make(p, 400, NULL, NULL, "controls",
                               "'controls' must be an object");
    }
    tl = cJSON_GetObjectItemCaseSensitive(req, "text_layout");
    if (tl && !cJSON_IsNull(tl) && !cJSON_IsArray(tl)) {
        return llmp_error_make(p, 400, NULL, NULL, "text_layout",
                               "'text_layout' must be an array");
    }

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "prompt", prompt);
    if (model) cJSON_AddStringToObject(root, "model", model);
    if (n) cJSON_AddNumberToObject(root, "n", (double)n);
    if (size) cJSON_AddStringToObject(root, "size", size);
    if (style) cJSON_AddStringToObject(root, "style", style);
    if (substyle && *substyle)
        cJSON_AddStringToObject(root, "substyle", substyle);
    if (style_id && *style_id)
        cJSON_AddStringToObject(root, "style_id", style_id);
    if (neg && *neg) cJSON_AddStringToObject(root, "negative_prompt", neg);
    if (cJSON_IsObject(ctl))
        cJSON_AddItemToObject(root, "controls", cJSON_Duplicate(ctl, 1));
    if (cJSON_IsArray(tl))
        cJSON_AddItemToObject(root, "text_layout", cJSON_Duplicate(tl, 1));
    if (fmt) cJSON_AddStringToObject(root, "response_format", fmt);

    e = llmp_json_out(p, root, &out->body, &len);
    cJSON_Delete(root);
    if (e) return e;
    out->len = len;
    out->path = x->handle;
    out->stream = 0;
    out->content_type = NULL;
    return NULL;
}

static llmp_error_t *recraft_response(llmp_xlate_t *x, const cJSON *native,
                                      char **out, apr_size_t *outlen)
{
    const cJSON *data = NULL, *created = NULL, *img;
    apr_int64_t when = x->created;
    cJSON *resp;
    int kept = 0;

    if (cJSON_IsObject(native)) {
        data = cJSON_GetObjectItemCaseSensitive(native, "data");
        created = cJSON_GetObjectItemCaseSensitive(native, "created");
    }
    if (!cJSON_IsArray(data)) {
        return llmp_error_make(x->pool, 502, NULL, NULL, NULL,
                               "Recraft answered without a \"data\" array");
    }
    if (cJSON_IsNumber(created) && created->valuedouble > 0
        && created->valuedouble < 1e12) {
        when = (apr_int64_t)created->valuedouble;
    }
    resp = llmp_images_new(when);
    cJSON_ArrayForEach(img, data) {
        const char *url, *b64;
        if (!cJSON_IsObject(img)) continue;
        url = llmp_json_str(img, "url");
        b64 = llmp_json_str(img, "b64_json");
        if (!url && !b64) continue;
        llmp_images_add(resp, url, b64, llmp_json_str(img, "revised_prompt"));
        kept++;
    }
    if (!kept) {
        cJSON_Delete(resp);
        return llmp_error_make(x->pool, 502, NULL, NULL, NULL,
                               "Recraft answered with no image");
    }
    {
        llmp_error_t *e = llmp_json_out(x->pool, resp, out, outlen);
        cJSON_Delete(resp);
        return e;
    }
}

/* Recraft errors: {"code":"...","message":"..."}; also accepts the
 * generic {"error":{...}} shapes. */
static llmp_error_t *recraft_error(llmp_xlate_t *x, int status,
                                   const cJSON *native, const char *body,
                                   apr_size_t len)
{
    llmp_error_t *e = llmp_provider_generic_error(x, status, native, body,
                                                  len);

    if (!e->code && cJSON_IsObject(native)) {
        const char *code = llmp_json_str(native, "code");
        if (code && *code) e->code = apr_pstrdup(x->pool, code);
    }
    return e;
}

static const char *const recraft_names[] = { "recraft", NULL };
static const llmp_detect_t recraft_detect = {
    1, recraft_names, recraft_names, NULL, NULL, LLMP_KIND_IMAGES
};

const llmp_provider_ops_t llmp_recraft_ops = {
    "recraft",
    NULL, NULL, NULL, NULL,     /* chat: not a Recraft endpoint */
    NULL, NULL,                 /* embeddings: none */
    recraft_request,
    recraft_response,
    recraft_error,
    &recraft_detect,
};
