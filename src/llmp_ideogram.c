/* Ideogram image generation behind /v1/images/generations (core, no httpd).
 *
 * Two native APIs, chosen by the model's handle:
 *
 *  - classic JSON API (handle like "/ideogram/generate"):
 *      {"image_request":{"prompt","model","aspect_ratio","num_images",
 *                        "style_type","magic_prompt_option",
 *                        "negative_prompt","seed"}}
 *  - Ideogram 3.0 API (handle containing "/ideogram-v", e.g.
 *    "/ideogram/v1/ideogram-v3/generate"): the real API takes
 *    multipart/form-data only (developer.ideogram.ai, "Generate with
 *    Ideogram 3.0"), so we build a form with a fixed boundary and set
 *    out->content_type. Fields: prompt, resolution or aspect_ratio,
 *    num_images, rendering_speed, style_type, magic_prompt,
 *    negative_prompt, seed.
 *
 * OpenAI request -> native:
 *   prompt          required non-empty string (else 400 param "prompt")
 *   n               num_images, 1..8 (else 400 param "n")
 *   size            "WxH" (or "W:H"): classic -> nearest ASPECT_W_H of the
 *                   eleven classic ratios; v3 -> "resolution" when WxH is
 *                   one of the 3.0 resolutions, else the nearest "WxH"
 *                   aspect ratio. "auto"/absent: provider default (1:1).
 *   style           natural -> REALISTIC, vivid -> AUTO (let Ideogram pick:
 *                   vivid is OpenAI's default); Ideogram style types are
 *                   passed through (classic: AUTO GENERAL REALISTIC DESIGN
 *                   RENDER_3D ANIME; v3: AUTO GENERAL REALISTIC DESIGN
 *                   FICTION). Not sent for V_1/V_1_TURBO (unsupported).
 *   quality (v3)    rendering_speed: low -> TURBO, standard/medium ->
 *                   DEFAULT, hd/high -> QUALITY, auto -> default; FLASH,
 *                   TURBO, DEFAULT, QUALITY passed through. Ignored by the
 *                   classic API, which has no such control.
 *   response_format url only: Ideogram answers with URLs and the proxy never
 *                   fetches them, so b64_json -> 400.
 *   extras          magic_prompt / magic_prompt_option (AUTO|ON|OFF),
 *                   negative_prompt, seed: passed through when given.
 *   user, model     ignored (the model comes from the list).
 * Classic "model" from the list's model_version, case- and
 * separator-insensitive, with an optional "ideogram" prefix:
 *   v1 -> V_1, v1-turbo -> V_1_TURBO, v2 -> V_2, v2-turbo -> V_2_TURBO,
 *   v2a -> V_2A, v2a-turbo -> V_2A_TURBO  (e.g. "ideogram-v2" -> "V_2",
 *   "V_2_TURBO" -> "V_2_TURBO"); anything else: no "model" (provider
 *   default).
 *
 * Native response {"created":"<ISO>","data":[{"url","prompt","resolution",
 * "is_image_safe","seed","style_type"}]} -> {"created":x->created,"data":
 * [{"url","revised_prompt"}]} where revised_prompt is Ideogram's (possibly
 * magic-prompted) prompt. Images with is_image_safe=false carry no URL and
 * are skipped; if every image was unsafe the answer is 400
 * content_policy_violation, as OpenAI does for rejected prompts.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "llmp_provider.h"

#define IDEO_MAX_IMAGES 8
#define IDEO_BOUNDARY "llmproxy-ideogram-7f3a9c1e5b2d4068"

typedef struct {
    const char *name;
    int w, h;
} ideo_ratio_t;

static const ideo_ratio_t classic_ratios[] = {
    { "ASPECT_1_1", 1, 1 },   { "ASPECT_16_9", 16, 9 },
    { "ASPECT_9_16", 9, 16 }, { "ASPECT_4_3", 4, 3 },
    { "ASPECT_3_4", 3, 4 },   { "ASPECT_3_2", 3, 2 },
    { "ASPECT_2_3", 2, 3 },   { "ASPECT_16_10", 16, 10 },
    { "ASPECT_10_16", 10, 16 }, { "ASPECT_3_1", 3, 1 },
    { "ASPECT_1_3", 1, 3 },   { NULL, 0, 0 }
};

static const ideo_ratio_t v3_ratios[] = {
    { "1x1", 1, 1 },   { "16x9", 16, 9 },  { "9x16", 9, 16 },
    { "4x3", 4, 3 },   { "3x4", 3, 4 },    { "3x2", 3, 2 },
    { "2x3", 2, 3 },   { "16x10", 16, 10 }, { "10x16", 10, 16 },
    { "3x1", 3, 1 },   { "1x3", 1, 3 },    { "2x1", 2, 1 },
    { "1x2", 1, 2 },   { "5x4", 5, 4 },    { "4x5", 4, 5 },
    { NULL, 0, 0 }
};

/* Resolutions Ideogram 3.0 accepts as "resolution". */
static const char *const v3_resolutions[] = {
    "512x1536", "576x1408", "576x1472", "576x1536", "640x1344", "640x1408",
    "640x1472", "640x1536", "704x1152", "704x1216", "704x1280", "704x1344",
    "704x1408", "704x1472", "736x1312", "768x1088", "768x1216", "768x1280",
    "768x1344", "800x1280", "832x960", "832x1024", "832x1088", "832x1152",
    "832x1216", "832x1248", "864x1152", "896x960", "896x1024", "896x1088",
    "896x1120", "896x1152", "960x832", "960x896", "960x1024", "960x1088",
    "1024x832", "1024x896", "1024x960", "1024x1024", "1088x768", "1088x832",
    "1088x896", "1088x960", "1120x896", "1152x704", "1152x832", "1152x864",
    "1152x896", "1216x704", "1216x768", "1216x832", "1248x832", "1280x704",
    "1280x768", "1280x800", "1312x736", "1344x640", "1344x704", "1344x768",
    "1408x576", "1408x640", "1408x704", "1472x576", "1472x640", "1472x704",
    "1536x512", "1536x576", "1536x640", NULL
};

static const struct {
    const char *key;        /* compact lowercase form of the model id */
    const char *native;
    int styles;             /* supports style_type */
} classic_models[] = {
    { "v1", "V_1", 0 },          { "v1turbo", "V_1_TURBO", 0 },
    { "v2", "V_2", 1 },          { "v2turbo", "V_2_TURBO", 1 },
    { "v2a", "V_2A", 1 },        { "v2aturbo", "V_2A_TURBO", 1 },
    { NULL, NULL, 0 }
};

static const char *const classic_styles[] = {
    "AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME", NULL
};
static const char *const v3_styles[] = {
    "AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION", NULL
};

/* One form field (v3) or JSON member (classic), in order. */
typedef struct {
    const char *name;
    const char *value;      /* string form */
    int is_number;          /* JSON number in the classic body */
} ideo_field_t;

static int ideo_is_v3(const char *handle)
{
    return handle && strstr(handle, "/ideogram-v") != NULL;
}

static const char *ideo_in_list(const char *const *list, const char *v)
{
    int i;
    for (i = 0; list[i]; i++) {
        if (!strcasecmp(list[i], v)) return list[i];
    }
    return NULL;
}

/* Nearest ratio by |log(w/h) - log(rw/rh)|, computed without libm. */
static const ideo_ratio_t *ideo_nearest(const ideo_ratio_t *tab, long w,
                                        long h)
{
    const ideo_ratio_t *best = NULL;
    double bestd = 0;
    int i;

    for (i = 0; tab[i].name; i++) {
        double a = (double)w * tab[i].h, b = (double)h * tab[i].w;
        double d = a > b ? a / b : b / a;
        if (!best || d < bestd) { best = &tab[i]; bestd = d; }
    }
    return best;
}

static const char *ideo_classic_model(apr_pool_t *p, const char *model_id,
                                      int *styles)
{
    char *k, *o;
    const char *s = model_id ? model_id : "";
    int i;

    *styles = 1;
    if (!strncasecmp(s, "ideogram", 8)) s += 8;
    k = o = apr_palloc(p, strlen(s) + 1);
    for (; *s; s++) {
        if (*s == '-' || *s == '_' || *s == ' ' || *s == '.') continue;
        *o++ = (char)apr_tolower((unsigned char)*s);
    }
    *o = '\0';
    for (i = 0; classic_models[i].key; i++) {
        if (!strcmp(k, classic_models[i].key)) {
            *styles = classic_models[i].styles;
            return classic_models[i].native;
        }
    }
    return NULL;
}

static void ideo_add(apr_array_header_t *f, const char *name,
                     const char *value, int is_number)
{
    ideo_field_t *e = apr_array_push(f);
    e->name = name;
    e->value = value;
    e->is_number = is_number;
}

static llmp_error_t *ideo_request(llmp_xlate_t *x, const cJSON *req,
                                  llmp_native_req_t *out)
{
    apr_pool_t *p = x->pool;
    int v3 = ideo_is_v3(x->handle), styles_ok = 1, i;
    apr_array_header_t *f = apr_array_make(p, 10, sizeof(ideo_field_t));
    const cJSON *jseed;
    const char *prompt, *size, *style, *quality, *fmt, *magic, *neg, *model;
    long n = 1, w, h;
    llmp_error_t *e;

    if (!cJSON_IsObject(req)) {
        return llmp_error_make(p, 400, NULL, NULL, NULL,
                               "request body must be a JSON object");
    }
    if ((e = llmp_images_prompt(p, req, &prompt))) return e;
    ideo_add(f, "prompt", prompt, 0);

    if (!v3) {
        model = ideo_classic_model(p, x->model_id, &styles_ok);
        if (model) ideo_add(f, "model", model, 0);
    }

    if ((e = llmp_req_opt_str(p, req, "response_format", &fmt))) return e;
    if (fmt && !strcmp(fmt, "b64_json")) {
        return llmp_error_make(p, 400, NULL, NULL, "response_format",
                               "response_format b64_json is not supported "
                               "for this model");
    }
    if (fmt && strcmp(fmt, "url")) {
        return llmp_error_make(p, 400, NULL, NULL, "response_format",
                               "Invalid response_format '%s': expected 'url'",
                               fmt);
    }

    if ((e = llmp_images_size(p, req, &size, &w, &h))) return e;
    if (size) {
        if (v3) {
            const char *res = apr_psprintf(p, "%ldx%ld", w, h);
            if (strchr(size, ':') == NULL
                && ideo_in_list(v3_resolutions, res)) {
                ideo_add(f, "resolution", ideo_in_list(v3_resolutions, res),
                         0);
            }
            else {
                ideo_add(f, "aspect_ratio", ideo_nearest(v3_ratios, w, h)->name,
                         0);
            }
        }
        else {
            ideo_add(f, "aspect_ratio",
                     ideo_nearest(classic_ratios, w, h)->name, 0);
        }
    }

    if ((e = llmp_images_n(p, req, IDEO_MAX_IMAGES, &n))) return e;
    ideo_add(f, "num_images", apr_ltoa(p, n), 1);

    if ((e = llmp_req_opt_str(p, req, "quality", &quality))) return e;
    if (v3 && quality && strcmp(quality, "auto")) {
        const char *speed = NULL;
        if (!strcmp(quality, "low")) speed = "TURBO";
        else if (!strcmp(quality, "standard") || !strcmp(quality, "medium"))
            speed = "DEFAULT";
        else if (!strcmp(quality, "hd") || !strcmp(quality, "high"))
            speed = "QUALITY";
        else {
            static const char *const speeds[] = {
                "FLASH", "TURBO", "DEFAULT", "QUALITY", NULL };
            speed = ideo_in_list(speeds, quality);
        }
        if (!speed) {
            return llmp_error_make(p, 400, NULL, NULL, "quality",
                                   "Invalid quality '%s': expected standard, "
                                   "hd, low, medium, high or auto", quality);
        }
        ideo_add(f, "rendering_speed", speed, 0);
    }

    if ((e = llmp_req_opt_str(p, req, "style", &style))) return e;
    if (style) {
        const char *st;
        if (!strcmp(style, "natural")) st = "REALISTIC";
        else if (!strcmp(style, "vivid")) st = "AUTO";
        else st = ideo_in_list(v3 ? v3_styles : classic_styles, style);
        if (!st) {
            return llmp_error_make(p, 400, NULL, NULL, "style",
                                   "Invalid style '%s' for this model: "
                                   "expected vivid, natural or one of "
                                   "Ideogram's style types", style);
        }
        if (styles_ok) ideo_add(f, "style_type", st, 0);
    }

    /* Ideogram's own options, accepted under either spelling */
    if ((e = llmp_req_opt_str(p, req, "magic_prompt", &magic))) return e;
    if (!magic && (e = llmp_req_opt_str(p, req, "magic_prompt_option",
                                        &magic)))
        return e;
    if (magic) {
        static const char *const mp[] = { "AUTO", "ON", "OFF", NULL };
        const char *m = ideo_in_list(mp, magic);
        if (!m) {
            return llmp_error_make(p, 400, NULL, NULL, "magic_prompt",
                                   "Invalid magic_prompt '%s': expected AUTO, "
                                   "ON or OFF", magic);
        }
        ideo_add(f, v3 ? "magic_prompt" : "magic_prompt_option", m, 0);
    }
    if ((e = llmp_req_opt_str(p, req, "negative_prompt", &neg))) return e;
    if (neg && *neg) ideo_add(f, "negative_prompt", neg, 0);
    jseed = cJSON_GetObjectItemCaseSensitive(req, "seed");
    if (jseed && !cJSON_IsNull(jseed)) {
        if (!cJSON_IsNumber(jseed) || jseed->valuedouble < 0
            || jseed->valuedouble > 2147483647.0
            || jseed->valuedouble != (double)(long)jseed->valuedouble) {
            return llmp_error_make(p, 400, NULL, NULL, "seed",
                                   "'seed' must be an integer from 0 to "
                                   "2147483647");
        }
        ideo_add(f, "seed", apr_ltoa(p, (long)jseed->valuedouble), 1);
    }

    out->path = x->handle;
    out->stream = 0;
    if (v3) {
        /* multipart/form-data with a boundary found in no value */
        const char *boundary = IDEO_BOUNDARY;
        struct iovec *iov;
        apr_size_t k = 0, len;
        int tries = 0, clash;

        do {
            clash = 0;
            for (i = 0; i < f->nelts; i++) {
                if (strstr(APR_ARRAY_IDX(f, i, ideo_field_t).value,
                           boundary)) {
                    clash = 1;
                    break;
                }
            }
            if (clash) {
                boundary = apr_psprintf(p, "%s-%d", IDEO_BOUNDARY, ++tries);
            }
        } while (clash && tries < 1000);
        if (clash) {
            return llmp_error_make(p, 400, NULL, NULL, "prompt",
                                   "prompt cannot be encoded");
        }
        iov = apr_palloc(p, sizeof(*iov) * (f->nelts + 1));
        for (i = 0; i < f->nelts; i++) {
            const ideo_field_t *fe = &APR_ARRAY_IDX(f, i, ideo_field_t);
            char *s = apr_pstrcat(p, "--", boundary, "\r\n"
                                  "Content-Disposition: form-data; name=\"",
                                  fe->name, "\"\r\n\r\n", fe->value, "\r\n",
                                  NULL);
            iov[k].iov_base = s;
            iov[k++].iov_len = strlen(s);
        }
        iov[k].iov_base = apr_pstrcat(p, "--", boundary, "--\r\n", NULL);
        iov[k].iov_len = strlen(iov[k].iov_base);
        k++;
        out->body = apr_pstrcatv(p, iov, k, &len);
        out->len = len;
        out->content_type = apr_pstrcat(p, "multipart/form-data; boundary=",
                                        boundary, NULL);
    }
    else {
        cJSON *root = cJSON_CreateObject();
        cJSON *ir = cJSON_AddObjectToObject(root, "image_request");
        apr_size_t len;
        llmp_error_t *err;

        for (i = 0; i < f->nelts; i++) {
            const ideo_field_t *fe = &APR_ARRAY_IDX(f, i, ideo_field_t);
            if (fe->is_number)
                cJSON_AddNumberToObject(ir, fe->name, (double)atol(fe->value));
            else
                cJSON_AddStringToObject(ir, fe->name, fe->value);
        }
        err = llmp_json_out(p, root, &out->body, &len);
        cJSON_Delete(root);
        if (err) return err;
        out->len = len;
        out->content_type = NULL;
    }
    return NULL;
}

static llmp_error_t *ideo_response(llmp_xlate_t *x, const cJSON *native,
                                   char **out, apr_size_t *outlen)
{
    const cJSON *data = cJSON_IsObject(native)
        ? cJSON_GetObjectItemCaseSensitive(native, "data") : NULL;
    const cJSON *img;
    cJSON *resp;
    int total = 0, unsafe = 0, kept = 0;

    if (!cJSON_IsArray(data)) {
        return llmp_error_make(x->pool, 502, NULL, NULL, NULL,
                               "Ideogram answered without a \"data\" array");
    }
    resp = llmp_images_new(x->created);
    cJSON_ArrayForEach(img, data) {
        const cJSON *safe;
        const char *url;

        total++;
        if (!cJSON_IsObject(img)) continue;
        safe = cJSON_GetObjectItemCaseSensitive(img, "is_image_safe");
        url = llmp_json_str(img, "url");
        if (cJSON_IsFalse(safe) || !url || !*url) {
            unsafe++;
            continue;
        }
        llmp_images_add(resp, url, NULL, llmp_json_str(img, "prompt"));
        kept++;
    }
    if (!kept) {
        cJSON_Delete(resp);
        if (unsafe) {
            return llmp_error_make(x->pool, 400, "invalid_request_error",
                                   "content_policy_violation", NULL,
                                   "Ideogram flagged every generated image "
                                   "as unsafe; no image can be returned");
        }
        return llmp_error_make(x->pool, 502, NULL, NULL, NULL,
                               "Ideogram answered with no image");
    }
    {
        llmp_error_t *e = llmp_json_out(x->pool, resp, out, outlen);
        cJSON_Delete(resp);
        return e;
    }
}

/* Ideogram errors: {"detail": "..."} (string, or FastAPI's list of
 * {"loc","msg","type"}), or {"error": "..."} / {"message": "..."}. */
static llmp_error_t *ideo_error(llmp_xlate_t *x, int status,
                                const cJSON *native, const char *body,
                                apr_size_t len)
{
    const cJSON *detail = cJSON_IsObject(native)
        ? cJSON_GetObjectItemCaseSensitive(native, "detail") : NULL;

    if (cJSON_IsArray(detail) || cJSON_IsObject(detail)) {
        const cJSON *d;
        const char *msg = NULL;
        cJSON *tmp;

        if (cJSON_IsObject(detail)) {
            msg = llmp_json_str(detail, "msg");
            if (!msg) msg = llmp_json_str(detail, "message");
        }
        else {
            cJSON_ArrayForEach(d, detail) {
                const char *m = cJSON_IsString(d) ? d->valuestring
                                                  : llmp_json_str(d, "msg");
                const cJSON *loc = cJSON_IsObject(d)
                    ? cJSON_GetObjectItemCaseSensitive(d, "loc") : NULL;
                const char *where = NULL;
                if (!m) continue;
                if (cJSON_IsArray(loc)) {
                    const cJSON *l;
                    cJSON_ArrayForEach(l, loc) {
                        if (cJSON_IsString(l)) where = l->valuestring;
                    }
                }
                if (where) m = apr_pstrcat(x->pool, where, ": ", m, NULL);
                msg = msg ? apr_pstrcat(x->pool, msg, "; ", m, NULL) : m;
            }
        }
        if (msg) {
            /* the error may point into the tree it is made from (code,
             * param): the tree lives as long as the error, in x->pool */
            tmp = cJSON_CreateObject();
            if (!tmp || !cJSON_AddStringToObject(tmp, "message", msg)) {
                cJSON_Delete(tmp);
                return llmp_error_make(x->pool, 500, NULL, NULL, NULL,
                                       "out of memory");
            }
            llmp_json_pool_own(x->pool, tmp);
            return llmp_provider_generic_error(x, status, tmp, body, len);
        }
    }
    return llmp_provider_generic_error(x, status, native, body, len);
}

static const char *const ideogram_names[] = { "ideogram", NULL };
static const llmp_detect_t ideogram_detect = {
    1, ideogram_names, ideogram_names, NULL, NULL, LLMP_KIND_IMAGES
};

const llmp_provider_ops_t llmp_ideogram_ops = {
    "ideogram",
    NULL, NULL, NULL, NULL,     /* chat: not an Ideogram endpoint */
    NULL, NULL,                 /* embeddings: none */
    ideo_request,
    ideo_response,
    ideo_error,
    &ideogram_detect,
};
