/* Google Gemini (generateContent, streamGenerateContent?alt=sse,
 * batchEmbedContents) <-> OpenAI chat completions and embeddings (core).
 *
 * Gemini has no tool-call ids: ids are made as "call_<n>_<name>", n counting
 * the function calls of one response (or stream), so they are deterministic
 * and consistent within a stream. When Gemini signs a function call
 * ("thoughtSignature", required back by thinking models), the signature is
 * carried in the id after "__thought__" and restored on the functionCall part
 * when the client sends the conversation back.
 *
 * Reasoning:
 *   reasoning_effort -> generationConfig.thinkingConfig. Gemini 3 models
 *     (a model id with "gemini-3") take a thinkingLevel: minimal, low,
 *     medium, high (xhigh -> high); a Pro model knows only low and high
 *     (minimal -> low, medium -> high); "none" is the least level (Gemini 3
 *     always thinks). Other models (2.5) take a thinkingBudget: none 0,
 *     minimal 512, low 1024, medium 8192, high/xhigh 24576; a Pro model
 *     cannot turn thinking off (none and minimal -> its least, 128).
 *     Another value -> 400. "includeThoughts": true when x->want_reasoning
 *     and the effort is not "none" (thought summaries for the front).
 *     Only for a thinking model, judged from the model the handle names
 *     (else the model id; llmp_model_version): 2.5 and later, one with
 *     "thinking" in its name, an unversioned "gemini-*-latest", or a model
 *     id LLMProxyReasoningModels names (llmp_reasoning_allowed); for 2.0,
 *     1.5, 1.0 and unknown ids no thinkingConfig is sent (Google answers
 *     400 to it) and the effort is dropped silently.
 *   Answers: parts with "thought": true -> message.reasoning_content (their
 *     texts joined) when x->want_reasoning, else dropped; in streams a
 *     delta "reasoning_content" per event's thoughts, in order with the
 *     text. usageMetadata.thoughtsTokenCount ->
 *     completion_tokens_details.reasoning_tokens (and in completion_tokens).
 *   Requests: an assistant message's reasoning_content and
 *     reasoning_signature (IR extensions) are dropped (Gemini's signatures
 *     ride on the function call ids, see above); so are x_llmp, verbosity,
 *     prompt_cache_key, store, metadata, user and unknown message members.
 *     A file part with a data: URL (a PDF) -> inlineData.
 */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_lib.h>

#include "llmp_provider.h"

#define GM_SIG_SEP        "__thought__"
#define GM_MAX_CHOICES    128
#define GM_SCHEMA_DEPTH   32
/* "$ref"s are expanded (Gemini has no $defs), so a cleaned schema can be
 * far larger than the one the client sent: one definition used twice at
 * each of n levels is 2^n copies. Without "$ref" the cleaner only drops or
 * renames members, so the output is about the size of the input; the
 * budget for all the cleaned schemas of a request is GM_SCHEMA_GROWTH
 * times the printed size of the client's tools and response_format, plus
 * GM_SCHEMA_FLOOR so that small schemas may reuse their definitions
 * freely. Beyond it the request is refused (400). */
#define GM_SCHEMA_GROWTH  4
#define GM_SCHEMA_FLOOR   (64 * 1024)
#define GM_SCHEMA_VISIT   8      /* bytes charged for each schema visited */
/* Function calls in one answer (all candidates, or a whole stream): the
 * ids, names and arguments of each are kept or sent, so a backend answer
 * with 100,000 of them is refused (502) rather than translated. */
#define GM_MAX_TOOL_CALLS 1024
/* A functionCall part without a name continues the call before it: its
 * args are merged in, a member replacing one of the same name while the
 * call has at most this many (a lookup each), appended beyond (linear). */
#define GM_MERGE_LOOKUP   64

/* ------------------------------------------------------------------ */
/* paths                                                                */

/* Split a handle into the model resource path (without ":method") and its
 * query (NULL if none). A handle without ":method" in its last segment is a
 * models collection: "/<model_id>" is appended. */
static const char *gm_model_path(apr_pool_t *p, const char *handle,
                                 const char *model_id, const char **query)
{
    const char *q = strchr(handle, '?');
    char *path = q ? apr_pstrmemdup(p, handle, (apr_size_t)(q - handle))
                   : apr_pstrdup(p, handle);
    char *slash = strrchr(path, '/');
    char *colon = slash ? strchr(slash, ':') : NULL;
    apr_size_t n;

    *query = NULL;
    if (q && q[1]) {
        /* keep the handle's query, less any "alt" we set ourselves */
        char *copy = apr_pstrdup(p, q + 1), *tok, *save = NULL;
        const char *acc = NULL;
        for (tok = apr_strtok(copy, "&", &save); tok;
             tok = apr_strtok(NULL, "&", &save)) {
            if (!strncmp(tok, "alt=", 4) || !strcmp(tok, "alt")) continue;
            acc = acc ? apr_pstrcat(p, acc, "&", tok, NULL) : tok;
        }
        *query = acc;
    }
    if (colon) {
        *colon = '\0';
        return path;
    }
    n = strlen(path);
    while (n && path[n - 1] == '/') path[--n] = '\0';
    if (!strncmp(model_id, "models/", 7) && n >= 7
        && !strcmp(path + n - 7, "/models"))
        model_id += 7;
    return apr_pstrcat(p, path, "/", model_id, NULL);
}

static const char *gm_path(apr_pool_t *p, const char *handle,
                           const char *model_id, const char *method, int sse)
{
    const char *query, *base = gm_model_path(p, handle, model_id, &query);

    if (sse) {
        return apr_pstrcat(p, base, ":", method, "?alt=sse",
                           query ? "&" : "", query ? query : "", NULL);
    }
    return apr_pstrcat(p, base, ":", method, query ? "?" : "",
                       query ? query : "", NULL);
}

/* ------------------------------------------------------------------ */
/* errors                                                               */

static int gm_status_from_name(const char *s)
{
    static const struct { const char *name; int status; } map[] = {
        { "INVALID_ARGUMENT", 400 }, { "FAILED_PRECONDITION", 400 },
        { "OUT_OF_RANGE", 400 }, { "UNAUTHENTICATED", 401 },
        { "PERMISSION_DENIED", 403 }, { "NOT_FOUND", 404 },
        { "ABORTED", 409 }, { "ALREADY_EXISTS", 409 },
        { "RESOURCE_EXHAUSTED", 429 }, { "CANCELLED", 499 },
        { "INTERNAL", 500 }, { "UNKNOWN", 500 }, { "DATA_LOSS", 500 },
        { "NOT_IMPLEMENTED", 501 }, { "UNIMPLEMENTED", 501 },
        { "UNAVAILABLE", 503 }, { "DEADLINE_EXCEEDED", 504 },
        { NULL, 0 }
    };
    int i;

    if (!s) return 0;
    for (i = 0; map[i].name; i++) {
        if (!strcmp(s, map[i].name)) return map[i].status;
    }
    return 0;
}

/* A status we may answer the client with. */
static int gm_client_status(int status, const char *gstatus)
{
    if (status < 400 || status > 599) {
        status = gm_status_from_name(gstatus);
        if (!status) return 502;
    }
    if (status == 499) return 502;
    if (status == 529) return 503;
    if (status > 504) return 502;
    return status;
}

/* The Google error object of a body: {"error":{...}} or [{"error":{...}}]. */
static const cJSON *gm_error_obj(const cJSON *native)
{
    const cJSON *e;

    if (cJSON_IsArray(native)) native = cJSON_GetArrayItem(native, 0);
    if (!cJSON_IsObject(native)) return NULL;
    e = cJSON_GetObjectItemCaseSensitive(native, "error");
    return cJSON_IsObject(e) ? e : NULL;
}

static llmp_error_t *gm_error_from(apr_pool_t *p, int status, const cJSON *err)
{
    const char *msg = llmp_json_str(err, "message");
    const char *gstatus = llmp_json_str(err, "status");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");

    if (status < 400 && cJSON_IsNumber(code)) status = code->valueint;
    /* the error outlives the stream event it came in */
    if (gstatus) gstatus = apr_pstrdup(p, gstatus);
    return llmp_error_make(p, gm_client_status(status, gstatus), NULL,
                           gstatus, NULL, "%s",
                           msg && *msg ? msg : "Gemini backend error");
}

static llmp_error_t *gemini_error(llmp_xlate_t *x, int status,
                                  const cJSON *native, const char *body,
                                  apr_size_t len)
{
    const cJSON *err = gm_error_obj(native);

    if (err) return gm_error_from(x->pool, status, err);
    return llmp_provider_generic_error(x, gm_client_status(status, NULL),
                                       cJSON_IsObject(native) ? native : NULL,
                                       body, len);
}

static llmp_error_t *gm_backend(apr_pool_t *p, const char *msg)
{
    return llmp_error_make(p, 502, "api_error", NULL, NULL, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* JSON Schema -> Gemini's OpenAPI subset                               */

static int gm_schema_key_ok(const char *k)
{
    static const char *const keep[] = {
        "type", "title", "description", "nullable", "enum", "maxItems",
        "minItems", "required", "minProperties", "maxProperties",
        "minLength", "maxLength", "pattern", "example", "propertyOrdering",
        "default", "minimum", "maximum", NULL };
    int i;

    for (i = 0; keep[i]; i++) {
        if (!strcmp(k, keep[i])) return 1;
    }
    return 0;
}

/* "#/$defs/Name" or "#/definitions/Name" in root. */
static const cJSON *gm_schema_ref(const cJSON *root, const char *ref)
{
    const cJSON *defs;

    if (!strncmp(ref, "#/$defs/", 8)) {
        defs = cJSON_GetObjectItemCaseSensitive(root, "$defs");
        ref += 8;
    }
    else if (!strncmp(ref, "#/definitions/", 14)) {
        defs = cJSON_GetObjectItemCaseSensitive(root, "definitions");
        ref += 14;
    }
    else {
        return NULL;
    }
    return cJSON_IsObject(defs) ? cJSON_GetObjectItemCaseSensitive(defs, ref)
                                : NULL;
}

typedef struct {
    const cJSON *root;     /* for "$ref" */
    apr_size_t left;       /* bytes the cleaned schemas may still take */
    int over;              /* the budget ran out */
} gm_schema_ctx_t;

/* The size of j printed (strings without their escapes): linear in j. */
static apr_size_t gm_json_size(const cJSON *j)
{
    const cJSON *c;
    apr_size_t n;

    if (!j) return 0;
    if (cJSON_IsString(j)) return strlen(j->valuestring) + 2;
    if (cJSON_IsNumber(j)) return 24;
    if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) return 5;
    n = 2;
    cJSON_ArrayForEach(c, j) {
        n += gm_json_size(c) + 1;
        if (c->string) n += strlen(c->string) + 3;
    }
    return n;
}

/* Takes n bytes of the budget; 0 when it runs out. */
static int gm_charge(gm_schema_ctx_t *ctx, apr_size_t n)
{
    if (ctx->over || n > ctx->left) {
        ctx->over = 1;
        ctx->left = 0;
        return 0;
    }
    ctx->left -= n;
    return 1;
}

/* Adds a copy of v to out as k, charged to the budget. */
static void gm_schema_copy(gm_schema_ctx_t *ctx, cJSON *out, const char *k,
                           const cJSON *v)
{
    if (gm_charge(ctx, strlen(k) + 3 + gm_json_size(v)))
        cJSON_AddItemToObject(out, k, cJSON_Duplicate(v, 1));
}

static cJSON *gm_schema(const cJSON *s, gm_schema_ctx_t *ctx, int depth);

/* Adds the members of src (already sanitized) missing from dst. */
static void gm_schema_merge(cJSON *dst, const cJSON *src)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, src) {
        if (!cJSON_GetObjectItemCaseSensitive(dst, m->string))
            cJSON_AddItemToObject(dst, m->string, cJSON_Duplicate(m, 1));
    }
}

/* A sanitized copy of schema s (caller owns it); NULL if s is no schema. */
static cJSON *gm_schema(const cJSON *s, gm_schema_ctx_t *ctx, int depth)
{
    const cJSON *m, *alt;
    cJSON *out;
    int nullable = 0;

    if (!cJSON_IsObject(s) || depth > GM_SCHEMA_DEPTH
        || !gm_charge(ctx, GM_SCHEMA_VISIT))
        return NULL;
    m = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (cJSON_IsString(m)) {
        const cJSON *t = gm_schema_ref(ctx->root, m->valuestring);
        cJSON *r = t ? gm_schema(t, ctx, depth + 1) : NULL;
        if (r) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(s,
                                                              "description");
            if (cJSON_IsString(d) && gm_charge(ctx, gm_json_size(d) + 14)) {
                cJSON_DeleteItemFromObjectCaseSensitive(r, "description");
                cJSON_AddStringToObject(r, "description", d->valuestring);
            }
        }
        return r;
    }
    alt = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    if (!cJSON_IsArray(alt)) alt = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    if (!cJSON_IsArray(alt)) {
        alt = cJSON_GetObjectItemCaseSensitive(s, "allOf");
        if (cJSON_GetArraySize(alt) != 1) alt = NULL;
    }
    out = cJSON_CreateObject();
    if (!out) return NULL;
    cJSON_ArrayForEach(m, s) {
        const char *k = m->string;
        if (!k) continue;
        if (!strcmp(k, "type")) {
            if (!gm_charge(ctx, gm_json_size(m) + 7)) break;
            if (cJSON_IsString(m)) {
                if (!strcmp(m->valuestring, "null")) nullable = 1;
                else cJSON_AddStringToObject(out, "type", m->valuestring);
            }
            else if (cJSON_IsArray(m)) {
                const cJSON *t;
                int got = 0;
                cJSON_ArrayForEach(t, m) {
                    if (!cJSON_IsString(t)) continue;
                    if (!strcmp(t->valuestring, "null")) nullable = 1;
                    else if (!got++)
                        cJSON_AddStringToObject(out, "type", t->valuestring);
                }
            }
        }
        else if (!strcmp(k, "format")) {
            /* Gemini accepts only these and rejects the others */
            if (cJSON_IsString(m)
                && (!strcmp(m->valuestring, "enum")
                    || !strcmp(m->valuestring, "date-time")
                    || !strcmp(m->valuestring, "int32")
                    || !strcmp(m->valuestring, "int64")
                    || !strcmp(m->valuestring, "float")
                    || !strcmp(m->valuestring, "double"))
                && gm_charge(ctx, gm_json_size(m) + 9))
                cJSON_AddStringToObject(out, "format", m->valuestring);
        }
        else if (!strcmp(k, "const")) {
            cJSON *e;
            if (!gm_charge(ctx, gm_json_size(m) + 9)) break;
            e = cJSON_AddArrayToObject(out, "enum");
            if (e) cJSON_AddItemToArray(e, cJSON_Duplicate(m, 1));
        }
        else if (!strcmp(k, "properties")) {
            const cJSON *pr;
            cJSON *props = cJSON_AddObjectToObject(out, "properties");
            if (!props || !cJSON_IsObject(m)) continue;
            cJSON_ArrayForEach(pr, m) {
                cJSON *ps;
                if (!pr->string
                    || !gm_charge(ctx, strlen(pr->string) + 3))
                    break;
                ps = gm_schema(pr, ctx, depth + 1);
                if (!ps) ps = cJSON_CreateObject();
                if (pr->string) cJSON_AddItemToObject(props, pr->string, ps);
                else cJSON_Delete(ps);
            }
        }
        else if (!strcmp(k, "items")) {
            cJSON *it = gm_schema(m, ctx, depth + 1);
            if (it) cJSON_AddItemToObject(out, "items", it);
        }
        else if (gm_schema_key_ok(k)) {
            if (!strcmp(k, "nullable") && cJSON_IsTrue(m)) nullable = 1;
            else if (strcmp(k, "nullable")) gm_schema_copy(ctx, out, k, m);
        }
        if (ctx->over) break;
        /* anything else ($schema, additionalProperties, strict, $defs,
         * examples, ...) is rejected by Gemini: dropped */
    }
    if (alt && !ctx->over) {
        const cJSON *a;
        cJSON *list = cJSON_CreateArray();
        int n = 0;
        cJSON_ArrayForEach(a, alt) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "type");
            cJSON *as;
            if (cJSON_IsString(t) && !strcmp(t->valuestring, "null")
                && cJSON_GetArraySize(a) == 1) {
                nullable = 1;
                continue;
            }
            as = gm_schema(a, ctx, depth + 1);
            if (as) {
                cJSON_AddItemToArray(list, as);
                n++;
            }
            if (ctx->over) break;
        }
        if (n == 1) {
            /* a single alternative (typically X or null): inline it */
            cJSON *only = cJSON_DetachItemFromArray(list, 0);
            gm_schema_merge(only, out);
            cJSON_Delete(out);
            out = only;
            cJSON_Delete(list);
        }
        else if (n > 1) {
            cJSON_AddItemToObject(out, "anyOf", list);
        }
        else {
            cJSON_Delete(list);
        }
    }
    if (ctx->over) {
        cJSON_Delete(out);
        return NULL;
    }
    if (nullable) {
        cJSON_DeleteItemFromObjectCaseSensitive(out, "nullable");
        cJSON_AddTrueToObject(out, "nullable");
    }
    return out;
}

/* A cleaned copy of a top-level schema, or NULL; ctx->over when the
 * request's budget ran out (recursive or fan-out "$ref"s). */
static cJSON *gm_schema_top(const cJSON *schema, gm_schema_ctx_t *ctx)
{
    cJSON *s;

    ctx->root = schema;
    s = gm_schema(schema, ctx, 0);
    if (ctx->over) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

/* Function parameters: omitted when an object without properties (Gemini
 * rejects an OBJECT with empty properties). 0 when over the budget. */
static int gm_add_parameters(cJSON *decl, const cJSON *params,
                             gm_schema_ctx_t *ctx)
{
    cJSON *s = gm_schema_top(params, ctx);
    const cJSON *props;

    if (!s) return !ctx->over;
    props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    if (!cJSON_GetArraySize(props)) {
        const char *t = llmp_json_str(s, "type");
        if (!t || !strcasecmp(t, "object")) {
            cJSON_Delete(s);
            return 1;
        }
    }
    cJSON_AddItemToObject(decl, "parameters", s);
    return 1;
}

/* ------------------------------------------------------------------ */
/* chat request                                                         */

typedef struct {
    cJSON *contents;
    cJSON *last_parts;
    const char *last_role;
} gm_conv_t;

/* The parts array of a content with role, merged with the previous one when
 * the role is the same (Gemini wants alternating turns). */
static cJSON *gm_parts(gm_conv_t *c, const char *role)
{
    cJSON *content;

    if (c->last_parts && !strcmp(c->last_role, role)) return c->last_parts;
    content = cJSON_CreateObject();
    cJSON_AddItemToArray(c->contents, content);
    cJSON_AddStringToObject(content, "role", role);
    c->last_parts = cJSON_AddArrayToObject(content, "parts");
    c->last_role = role;
    return c->last_parts;
}

static void gm_add_text(cJSON *parts, const char *text)
{
    cJSON *part = cJSON_CreateObject();

    cJSON_AddItemToArray(parts, part);
    cJSON_AddStringToObject(part, "text", text);
}

static const char *gm_mime_from_name(const char *name, const char *dflt)
{
    static const struct { const char *ext, *mime; } map[] = {
        { ".png", "image/png" }, { ".jpg", "image/jpeg" },
        { ".jpeg", "image/jpeg" }, { ".gif", "image/gif" },
        { ".webp", "image/webp" }, { ".heic", "image/heic" },
        { ".heif", "image/heif" }, { ".pdf", "application/pdf" },
        { ".wav", "audio/wav" }, { ".mp3", "audio/mp3" },
        { ".txt", "text/plain" }, { NULL, NULL }
    };
    const char *end, *dot;
    apr_size_t len;
    int i;

    if (!name) return dflt;
    end = name + strcspn(name, "?#");
    for (dot = end; dot > name && dot[-1] != '.' && dot[-1] != '/'; dot--)
        ;
    if (dot == name || dot[-1] != '.') return dflt;
    dot--;
    len = (apr_size_t)(end - dot);
    for (i = 0; map[i].ext; i++) {
        if (strlen(map[i].ext) == len && !strncasecmp(dot, map[i].ext, len))
            return map[i].mime;
    }
    return dflt;
}

static void gm_add_inline(cJSON *parts, const char *mime, const char *b64)
{
    cJSON *part = cJSON_CreateObject(), *d;

    cJSON_AddItemToArray(parts, part);
    d = cJSON_AddObjectToObject(part, "inlineData");
    cJSON_AddStringToObject(d, "mimeType", mime);
    cJSON_AddStringToObject(d, "data", b64);
}

/* An OpenAI image_url / file reference as an inlineData or fileData part. */
static llmp_error_t *gm_add_media(apr_pool_t *p, cJSON *parts,
                                  const char *url, const char *dflt_mime,
                                  const char *param)
{
    const char *mime, *b64;

    if (!url || !*url)
        return llmp_bad_request(p, param, "an image or file part needs a URL");
    if (llmp_data_url_parse(p, url, &mime, &b64)) {
        gm_add_inline(parts, mime, b64);
        return NULL;
    }
    if (!strncasecmp(url, "https://", 8) || !strncasecmp(url, "http://", 7)
        || !strncasecmp(url, "gs://", 5)) {
        cJSON *part = cJSON_CreateObject(), *d;
        cJSON_AddItemToArray(parts, part);
        d = cJSON_AddObjectToObject(part, "fileData");
        cJSON_AddStringToObject(d, "mimeType",
                                gm_mime_from_name(url, dflt_mime));
        cJSON_AddStringToObject(d, "fileUri", url);
        return NULL;
    }
    return llmp_bad_request(p, param,
                            "only base64 data: URLs and http(s) URLs are "
                            "supported for Gemini models");
}

/* content (string, array of parts, or null) -> Gemini parts. Empty texts
 * are skipped (Gemini rejects empty parts). */
static llmp_error_t *gm_content_parts(apr_pool_t *p, cJSON *parts,
                                      const cJSON *content, int media_ok,
                                      const char *param)
{
    const cJSON *part;
    llmp_error_t *e;

    if (!content || cJSON_IsNull(content)) return NULL;
    if (cJSON_IsString(content)) {
        if (*content->valuestring) gm_add_text(parts, content->valuestring);
        return NULL;
    }
    if (!cJSON_IsArray(content))
        return llmp_bad_request(p, param,
                                "content must be a string or an array of "
                                "content parts");
    cJSON_ArrayForEach(part, content) {
        const char *type = llmp_json_str(part, "type");
        if (!type)
            return llmp_bad_request(p, param, "content part without a type");
        if (!strcmp(type, "text") || !strcmp(type, "input_text")
            || !strcmp(type, "refusal")) {
            const char *t = llmp_json_str(part, "text");
            if (!t) t = llmp_json_str(part, "refusal");
            if (!t)
                return llmp_bad_request(p, param, "text part without text");
            if (*t) gm_add_text(parts, t);
            continue;
        }
        if (!media_ok)
            return llmp_bad_request(
                p, param,
                apr_psprintf(p,
                             "content parts of type "
                             "'%s' are only allowed in user messages",
                             type));
        if (!strcmp(type, "image_url")) {
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part,
                                                               "image_url");
            const char *url = cJSON_IsString(iu) ? iu->valuestring
                                                 : llmp_json_str(iu, "url");
            if ((e = gm_add_media(p, parts, url, "image/jpeg", param)))
                return e;
        }
        else if (!strcmp(type, "input_audio")) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(part,
                                                              "input_audio");
            const char *data = llmp_json_str(a, "data");
            const char *fmt = llmp_json_str(a, "format");
            if (!data || !fmt)
                return llmp_bad_request(p, param,
                                        "input_audio needs data and format");
            gm_add_inline(parts, apr_pstrcat(p, "audio/", fmt, NULL), data);
        }
        else if (!strcmp(type, "file")) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(part, "file");
            const char *data = llmp_json_str(f, "file_data");
            const char *name = llmp_json_str(f, "filename");
            const char *mime, *b64;
            if (!data)
                return llmp_bad_request(
                    p, param,
                    "file parts need file_data for "
                    "Gemini models (file_id is not supported)");
            if (llmp_data_url_parse(p, data, &mime, &b64))
                gm_add_inline(parts, mime, b64);
            else
                gm_add_inline(parts, gm_mime_from_name(name,
                                                       "application/pdf"),
                              data);
        }
        else {
            return llmp_bad_request(
                p, param,
                apr_psprintf(p,
                             "content parts of type "
                             "'%s' are not supported for Gemini models",
                             type));
        }
    }
    return NULL;
}

/* Tool message content -> functionResponse.response: the JSON object it
 * holds, else {"content": text}. */
static cJSON *gm_tool_response(apr_pool_t *p, const cJSON *content)
{
    const char *text = llmp_content_text(p, content);
    cJSON *obj, *r;

    if (!text) text = "";
    obj = cJSON_Parse(text);
    if (cJSON_IsObject(obj)) return obj;
    cJSON_Delete(obj);
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "content", text);
    return r;
}

static llmp_error_t *gm_add_tool_calls(apr_pool_t *p, cJSON *parts,
                                       const cJSON *calls, apr_hash_t *names,
                                       const char *param)
{
    const cJSON *c;

    if (!cJSON_IsArray(calls))
        return llmp_bad_request(p, param, "tool_calls must be an array");
    cJSON_ArrayForEach(c, calls) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const char *id = llmp_json_str(c, "id");
        const char *name = llmp_json_str(fn, "name");
        const char *args = llmp_json_str(fn, "arguments");
        const char *sig;
        cJSON *part, *fc, *a;

        if (!name || !*name)
            return llmp_bad_request(p, param,
                                    "a tool call needs function.name");
        a = (args && *args) ? cJSON_Parse(args) : cJSON_CreateObject();
        if (!cJSON_IsObject(a)) {
            cJSON_Delete(a);
            return llmp_bad_request(p, param,
                                    "tool call arguments must be a JSON "
                                    "object");
        }
        part = cJSON_CreateObject();
        cJSON_AddItemToArray(parts, part);
        fc = cJSON_AddObjectToObject(part, "functionCall");
        cJSON_AddStringToObject(fc, "name", name);
        cJSON_AddItemToObject(fc, "args", a);
        if (id && (sig = strstr(id, GM_SIG_SEP)) && sig[strlen(GM_SIG_SEP)])
            cJSON_AddStringToObject(part, "thoughtSignature",
                                    sig + strlen(GM_SIG_SEP));
        if (id) apr_hash_set(names, id, APR_HASH_KEY_STRING, name);
    }
    return NULL;
}

static llmp_error_t *gm_tools(apr_pool_t *p, cJSON *root, const cJSON *tools,
                              gm_schema_ctx_t *ctx)
{
    const cJSON *t;
    cJSON *decls = NULL;

    if (!tools || cJSON_IsNull(tools)) return NULL;
    if (!cJSON_IsArray(tools))
        return llmp_bad_request(p, "tools", "tools must be an array");
    cJSON_ArrayForEach(t, tools) {
        const char *type = llmp_json_str(t, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        const char *name = llmp_json_str(fn, "name");
        const char *desc = llmp_json_str(fn, "description");
        cJSON *d;

        if (type && strcmp(type, "function"))
            return llmp_bad_request(
                p, "tools",
                apr_psprintf(p,
                             "tools of type '%s' "
                             "are not supported for Gemini models",
                             type));
        if (!name || !*name)
            return llmp_bad_request(p, "tools",
                                    "each tool needs function.name");
        if (!decls) {
            cJSON *arr = cJSON_AddArrayToObject(root, "tools");
            cJSON *tool = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, tool);
            decls = cJSON_AddArrayToObject(tool, "functionDeclarations");
        }
        d = cJSON_CreateObject();
        cJSON_AddItemToArray(decls, d);
        cJSON_AddStringToObject(d, "name", name);
        if (desc) cJSON_AddStringToObject(d, "description", desc);
        if (!gm_add_parameters(d, cJSON_GetObjectItemCaseSensitive(
                                   fn, "parameters"), ctx))
            return llmp_bad_request(
                p, "tools",
                apr_psprintf(p,
                             "the parameters schema of '%s' is too large "
                             "once its $refs are expanded (more than %d "
                             "times the size of the request's schemas, or "
                             "recursive)", name, GM_SCHEMA_GROWTH));
    }
    return NULL;
}

static llmp_error_t *gm_tool_choice(apr_pool_t *p, cJSON *root,
                                    const cJSON *tc)
{
    const char *mode = NULL, *only = NULL;
    cJSON *cfg, *fcc;

    if (!tc || cJSON_IsNull(tc)) return NULL;
    if (cJSON_IsString(tc)) {
        if (!strcmp(tc->valuestring, "auto")) mode = "AUTO";
        else if (!strcmp(tc->valuestring, "none")) mode = "NONE";
        else if (!strcmp(tc->valuestring, "required")) mode = "ANY";
    }
    else if (cJSON_IsObject(tc)) {
        only = llmp_json_str(cJSON_GetObjectItemCaseSensitive(tc, "function"),
                             "name");
        if (only && *only) mode = "ANY";
    }
    if (!mode)
        return llmp_bad_request(
            p, "tool_choice",
            "tool_choice must be auto, none, "
            "required or {\"type\":\"function\",\"function\":"
            "{\"name\":...}}");
    if (!cJSON_GetObjectItemCaseSensitive(root, "tools")) {
        if (only || !strcmp(mode, "ANY"))
            return llmp_bad_request(p, "tool_choice",
                                    "tool_choice needs tools");
        return NULL;
    }
    cfg = cJSON_AddObjectToObject(root, "toolConfig");
    fcc = cJSON_AddObjectToObject(cfg, "functionCallingConfig");
    cJSON_AddStringToObject(fcc, "mode", mode);
    if (only) {
        cJSON *names = cJSON_AddArrayToObject(fcc, "allowedFunctionNames");
        cJSON_AddItemToArray(names, cJSON_CreateString(only));
    }
    return NULL;
}

/* The backend's model: the one the handle names ("models/<m>:method"),
 * else the model id (a models collection handle). */
static const char *gm_backend_model(llmp_xlate_t *x)
{
    const char *query, *path, *slash;

    if (!x->handle || !x->model_id) return x->model_id ? x->model_id : "";
    path = gm_model_path(x->pool, x->handle, x->model_id, &query);
    slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* reasoning_effort -> generationConfig.thinkingConfig (see the top). */
static llmp_error_t *gm_thinking(llmp_xlate_t *x, cJSON *gc, const cJSON *req)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req,
                                                      "reasoning_effort");
    const char *e, *m;
    int g3, pro, major, minor, none, known;
    cJSON *tc;

    if (!v || cJSON_IsNull(v)) return NULL;
    e = cJSON_IsString(v) ? v->valuestring : "";
    if (strcmp(e, "none") && strcmp(e, "minimal") && strcmp(e, "low")
        && strcmp(e, "medium") && strcmp(e, "high") && strcmp(e, "xhigh"))
        return llmp_bad_request(x->pool, "reasoning_effort",
                                "reasoning_effort must be \"none\", "
                                "\"minimal\", \"low\", \"medium\" or "
                                "\"high\"");
    /* thinking models: 2.5 and later, "thinking" ones, the unversioned
     * "-latest" aliases; else (2.0, 1.5, an unknown alias) the effort is
     * dropped, unless LLMProxyReasoningModels names the model id */
    m = gm_backend_model(x);
    known = llmp_model_version(m, "gemini", &major, &minor);
    if (!llmp_reasoning_allowed(x,
            llmp_model_has(m, "thinking")
            || (known && (major >= 3 || (major == 2 && minor >= 5)))
            || (!known && llmp_model_has(m, "gemini")
                && llmp_model_has(m, "-latest"))))
        return NULL;
    g3 = known && major >= 3;
    pro = llmp_model_has(m, "-pro");
    none = !strcmp(e, "none");
    tc = cJSON_AddObjectToObject(gc, "thinkingConfig");
    if (g3) {
        const char *level;
        if (none || !strcmp(e, "minimal")) level = pro ? "low" : "minimal";
        else if (!strcmp(e, "low")) level = "low";
        else if (!strcmp(e, "medium")) level = pro ? "high" : "medium";
        else level = "high";
        cJSON_AddStringToObject(tc, "thinkingLevel", level);
    }
    else {
        int budget;
        if (none) budget = pro ? 128 : 0;
        else if (!strcmp(e, "minimal")) budget = pro ? 128 : 512;
        else if (!strcmp(e, "low")) budget = 1024;
        else if (!strcmp(e, "medium")) budget = 8192;
        else budget = 24576;
        llmp_json_add_int(tc, "thinkingBudget", budget);
    }
    if (x->want_reasoning && !none)
        cJSON_AddTrueToObject(tc, "includeThoughts");
    return NULL;
}

static llmp_error_t *gm_generation_config(llmp_xlate_t *x, cJSON *root,
                                          const cJSON *req,
                                          gm_schema_ctx_t *ctx)
{
    apr_pool_t *p = x->pool;
    cJSON *gc = cJSON_CreateObject();
    const cJSON *v;
    int max = llmp_req_max_tokens(req);
    apr_array_header_t *stops;
    llmp_error_t *e;

    cJSON_AddItemToObject(root, "generationConfig", gc);
    if ((e = gm_thinking(x, gc, req))) return e;
    if (max >= 0) llmp_json_add_int(gc, "maxOutputTokens", max);
    v = cJSON_GetObjectItemCaseSensitive(req, "temperature");
    if (cJSON_IsNumber(v))
        cJSON_AddNumberToObject(gc, "temperature", v->valuedouble);
    v = cJSON_GetObjectItemCaseSensitive(req, "top_p");
    if (cJSON_IsNumber(v)) cJSON_AddNumberToObject(gc, "topP", v->valuedouble);
    stops = llmp_stop_list(p, cJSON_GetObjectItemCaseSensitive(req, "stop"));
    if (stops->nelts) {
        cJSON *a = cJSON_AddArrayToObject(gc, "stopSequences");
        int i;
        for (i = 0; i < stops->nelts; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(
                                 APR_ARRAY_IDX(stops, i, const char *)));
    }
    v = cJSON_GetObjectItemCaseSensitive(req, "n");
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble < 1 || v->valuedouble > GM_MAX_CHOICES)
            return llmp_bad_request(p, "n", "n must be between 1 and 128");
        if (v->valueint != 1)
            cJSON_AddNumberToObject(gc, "candidateCount", v->valueint);
    }
    v = cJSON_GetObjectItemCaseSensitive(req, "seed");
    if (cJSON_IsNumber(v) && v->valuedouble >= -2147483648.0
        && v->valuedouble <= 2147483647.0)
        cJSON_AddNumberToObject(gc, "seed", (double)(long)v->valuedouble);
    v = cJSON_GetObjectItemCaseSensitive(req, "response_format");
    if (cJSON_IsObject(v)) {
        const char *type = llmp_json_str(v, "type");
        if (type && !strcmp(type, "json_object")) {
            cJSON_AddStringToObject(gc, "responseMimeType",
                                    "application/json");
        }
        else if (type && !strcmp(type, "json_schema")) {
            const cJSON *js = cJSON_GetObjectItemCaseSensitive(v,
                                                               "json_schema");
            const cJSON *schema = cJSON_GetObjectItemCaseSensitive(js,
                                                                   "schema");
            cJSON *s = gm_schema_top(schema, ctx);
            if (ctx->over)
                return llmp_bad_request(p, "response_format",
                                        "the json_schema is too large once "
                                        "its $refs are expanded, or "
                                        "recursive");
            cJSON_AddStringToObject(gc, "responseMimeType",
                                    "application/json");
            if (s) cJSON_AddItemToObject(gc, "responseSchema", s);
        }
        else if (!type || strcmp(type, "text")) {
            return llmp_bad_request(p, "response_format",
                                    "response_format.type must "
                                    "be text, json_object or json_schema");
        }
    }
    return NULL;
}

static llmp_error_t *gemini_chat_request(llmp_xlate_t *x, const cJSON *req,
                                         llmp_native_req_t *out)
{
    apr_pool_t *p = x->pool;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    const cJSON *m;
    cJSON *root, *sys_parts = NULL;
    apr_hash_t *names = apr_hash_make(p);
    gm_conv_t conv = { NULL, NULL, NULL };
    gm_schema_ctx_t sctx;
    llmp_error_t *e;
    int i = 0;

    if (!cJSON_IsArray(msgs) || !cJSON_GetArraySize(msgs))
        return llmp_bad_request(p, "messages",
                                "'messages' must be a non-empty array");
    root = cJSON_CreateObject();
    llmp_json_pool_own(p, root);
    conv.contents = cJSON_AddArrayToObject(root, "contents");

    cJSON_ArrayForEach(m, msgs) {
        const char *role = llmp_json_str(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        const char *param = apr_psprintf(p, "messages[%d]", i++);

        if (!role)
            return llmp_bad_request(p, param, "each message needs a role");
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            if (!sys_parts) {
                cJSON *si = cJSON_AddObjectToObject(root,
                                                    "systemInstruction");
                sys_parts = cJSON_AddArrayToObject(si, "parts");
            }
            if ((e = gm_content_parts(p, sys_parts, content, 0, param)))
                return e;
        }
        else if (!strcmp(role, "user")) {
            cJSON *tmp = cJSON_CreateArray(), *part;
            if ((e = gm_content_parts(p, tmp, content, 1, param))) {
                cJSON_Delete(tmp);
                return e;
            }
            if (cJSON_GetArraySize(tmp)) {
                cJSON *parts = gm_parts(&conv, "user");
                while ((part = cJSON_DetachItemFromArray(tmp, 0)))
                    cJSON_AddItemToArray(parts, part);
            }
            cJSON_Delete(tmp);
        }
        else if (!strcmp(role, "assistant")) {
            const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m,
                                                                  "tool_calls");
            cJSON *tmp = cJSON_CreateArray(), *part;
            if ((e = gm_content_parts(p, tmp, content, 0, param))
                || (calls && !cJSON_IsNull(calls)
                    && (e = gm_add_tool_calls(p, tmp, calls, names, param)))) {
                cJSON_Delete(tmp);
                return e;
            }
            if (cJSON_GetArraySize(tmp)) {
                cJSON *parts = gm_parts(&conv, "model");
                while ((part = cJSON_DetachItemFromArray(tmp, 0)))
                    cJSON_AddItemToArray(parts, part);
            }
            cJSON_Delete(tmp);
        }
        else if (!strcmp(role, "tool") || !strcmp(role, "function")) {
            const char *id = llmp_json_str(m, "tool_call_id");
            const char *name = id ? apr_hash_get(names, id,
                                                 APR_HASH_KEY_STRING) : NULL;
            cJSON *part, *fr;
            if (!name) name = llmp_json_str(m, "name");
            if (!name || !*name)
                return llmp_bad_request(
                    p, param,
                    apr_psprintf(
                        p,
                        "tool message with "
                        "tool_call_id '%s' matches no earlier tool call",
                        id ? id : ""));
            part = cJSON_CreateObject();
            cJSON_AddItemToArray(gm_parts(&conv, "user"), part);
            fr = cJSON_AddObjectToObject(part, "functionResponse");
            cJSON_AddStringToObject(fr, "name", name);
            cJSON_AddItemToObject(fr, "response", gm_tool_response(p,
                                                                   content));
        }
        else {
            return llmp_bad_request(p, param,
                                    apr_psprintf(p,
                                                 "unsupported message "
                                                 "role '%s'",
                                                 role));
        }
    }
    if (!cJSON_GetArraySize(conv.contents))
        return llmp_bad_request(p, "messages",
                                "Gemini models need at least one user "
                                "or assistant message with content");
    if (sys_parts && !cJSON_GetArraySize(sys_parts))
        cJSON_DeleteItemFromObjectCaseSensitive(root, "systemInstruction");

    /* one budget for every schema of the request */
    memset(&sctx, 0, sizeof(sctx));
    sctx.left = GM_SCHEMA_GROWTH
                * (gm_json_size(cJSON_GetObjectItemCaseSensitive(req, "tools"))
                   + gm_json_size(cJSON_GetObjectItemCaseSensitive(
                                      req, "response_format")))
                + GM_SCHEMA_FLOOR;
    if ((e = gm_generation_config(x, root, req, &sctx))
        || (e = gm_tools(p, root, cJSON_GetObjectItemCaseSensitive(req,
                                                                   "tools"),
                         &sctx))
        || (e = gm_tool_choice(p, root, cJSON_GetObjectItemCaseSensitive(
                                   req, "tool_choice"))))
        return e;

    {
        llmp_error_t *e = llmp_json_out(p, root, &out->body, &out->len);
        if (e) return e;
    }
    out->stream = x->stream ? 1 : 0;
    out->path = gm_path(p, x->handle, x->model_id,
                        x->stream ? "streamGenerateContent" : "generateContent",
                        x->stream);
    out->content_type = NULL;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* chat response                                                        */

static const char *gm_finish(const char *reason, int has_calls)
{
    if (!reason) return NULL;
    if (!strcmp(reason, "MAX_TOKENS")) return LLMP_FINISH_LENGTH;
    if (!strcmp(reason, "SAFETY") || !strcmp(reason, "RECITATION")
        || !strcmp(reason, "BLOCKLIST") || !strcmp(reason, "PROHIBITED_CONTENT")
        || !strcmp(reason, "SPII") || !strcmp(reason, "IMAGE_SAFETY")
        || !strcmp(reason, "IMAGE_PROHIBITED_CONTENT"))
        return LLMP_FINISH_CONTENT_FILTER;
    return has_calls ? LLMP_FINISH_TOOL_CALLS : LLMP_FINISH_STOP;
}

static const char *gm_call_id(apr_pool_t *p, int n, const char *name,
                              const cJSON *part)
{
    const char *sig = llmp_json_str(part, "thoughtSignature");

    if (sig && *sig)
        return apr_psprintf(p, "call_%d_%s" GM_SIG_SEP "%s", n, name, sig);
    return apr_psprintf(p, "call_%d_%s", n, name);
}

/* The args of a functionCall as JSON text, malloc'ed (cJSON_free), not
 * from the pool: one answer may hold many calls. NULL: out of memory. */
static char *gm_args_json(const cJSON *args)
{
    cJSON *empty;
    char *s;

    if (cJSON_IsObject(args)) return cJSON_PrintUnformatted(args);
    empty = cJSON_CreateObject();
    s = empty ? cJSON_PrintUnformatted(empty) : NULL;
    cJSON_Delete(empty);
    return s;
}

/* Merges the args of a nameless functionCall part (src) into those of the
 * call before it (dst, owned): a member replaces one of the same name
 * while dst is small (GM_MERGE_LOOKUP), else is appended; linear. */
static void gm_args_merge(cJSON *dst, const cJSON *src)
{
    const cJSON *m;
    cJSON *c;
    int n = 0;

    if (!cJSON_IsObject(dst)) return;
    /* members of dst, counted up to just past the lookup limit */
    for (c = dst->child; c && n <= GM_MERGE_LOOKUP; c = c->next) n++;
    cJSON_ArrayForEach(m, src) {
        cJSON *copy, *old;
        if (!m->string) continue;
        copy = cJSON_Duplicate(m, 1);
        if (!copy) return;
        old = n <= GM_MERGE_LOOKUP
              ? cJSON_GetObjectItemCaseSensitive(dst, m->string) : NULL;
        if (old) {
            cJSON_ReplaceItemViaPointer(dst, old, copy);
        }
        else {
            cJSON_AddItemToObject(dst, m->string, copy);
            n++;
        }
    }
}

/* A functionCall part: 1 with *name when it starts a call, 0 when it has
 * no name (a continuation), -1 when the part is no call. */
static int gm_part_call(const cJSON *part, const cJSON **fc,
                        const char **name)
{
    *fc = cJSON_GetObjectItemCaseSensitive(part, "functionCall");
    if (!cJSON_IsObject(*fc)) return -1;
    *name = llmp_json_str(*fc, "name");
    return *name && **name ? 1 : 0;
}

/* The text of a part that is shown (not a thought), or NULL. */
static const char *gm_part_text(const cJSON *part)
{
    const char *t = llmp_json_str(part, "text");

    if (!t || !*t
        || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
        return NULL;
    return t;
}

/* The text of a thought part, or NULL. */
static const char *gm_part_thought(const cJSON *part)
{
    const char *t = llmp_json_str(part, "text");

    if (!t || !*t
        || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
        return NULL;
    return t;
}

static long gm_count(const cJSON *u, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) return 0;
    return v->valuedouble < 1e12 ? (long)v->valuedouble : 1000000000000L;
}

typedef struct {
    long prompt, completion, thoughts, cached;
    int has_cached, seen;
} gm_usage_t;

static void gm_usage_read(gm_usage_t *u, const cJSON *native)
{
    const cJSON *um = cJSON_GetObjectItemCaseSensitive(native,
                                                       "usageMetadata");
    if (!cJSON_IsObject(um)) return;
    u->seen = 1;
    u->prompt = gm_count(um, "promptTokenCount")
                + gm_count(um, "toolUsePromptTokenCount");
    u->thoughts = gm_count(um, "thoughtsTokenCount");
    u->completion = gm_count(um, "candidatesTokenCount") + u->thoughts;
    u->has_cached = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
                                       um, "cachedContentTokenCount"));
    u->cached = gm_count(um, "cachedContentTokenCount");
}

static cJSON *gm_usage_json(const gm_usage_t *u)
{
    cJSON *j = llmp_usage_new(u->prompt, u->completion,
                              u->has_cached ? u->cached : -1);
    if (u->thoughts) {
        cJSON *d = cJSON_AddObjectToObject(j, "completion_tokens_details");
        llmp_json_add_int(d, "reasoning_tokens", u->thoughts);
    }
    return j;
}

static int gm_cand_index(const cJSON *cand, int pos)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cand, "index");

    if (cJSON_IsNumber(v)) {
        if (v->valuedouble < 0 || v->valuedouble >= GM_MAX_CHOICES) return -1;
        return v->valueint;
    }
    return pos < GM_MAX_CHOICES ? pos : -1;
}

static const char *gm_block_reason(const cJSON *native)
{
    return llmp_json_str(cJSON_GetObjectItemCaseSensitive(native,
                                                          "promptFeedback"),
                         "blockReason");
}

/* A call of a non-streamed answer, kept until the parts that continue it
 * (functionCall parts without a name) are merged in. */
typedef struct {
    const char *id, *name;
    const cJSON *args;     /* the call's own args (the answer's) */
    cJSON *merged;         /* owned: args with its continuations merged */
} gm_call_t;

static llmp_error_t *gm_call_flush(apr_pool_t *p, cJSON *msg, gm_call_t *c)
{
    char *args;

    if (!c->name) return NULL;
    args = gm_args_json(c->merged ? c->merged : c->args);
    cJSON_Delete(c->merged);
    if (args) llmp_message_add_tool_call(msg, c->id, c->name, args);
    cJSON_free(args);
    memset(c, 0, sizeof(*c));
    return args ? NULL : llmp_error_make(p, 500, NULL, NULL, NULL,
                                         "out of memory");
}

static llmp_error_t *gm_add_calls(apr_pool_t *p, cJSON *msg,
                                  const cJSON *parts, int *ncalls)
{
    const cJSON *part, *fc;
    const char *name;
    gm_call_t cur;
    llmp_error_t *e;

    memset(&cur, 0, sizeof(cur));
    cJSON_ArrayForEach(part, parts) {
        int kind = gm_part_call(part, &fc, &name);
        if (kind == 1) {
            if ((e = gm_call_flush(p, msg, &cur))) return e;
            cur.name = name;
            cur.id = gm_call_id(p, (*ncalls)++, name, part);
            cur.args = cJSON_GetObjectItemCaseSensitive(fc, "args");
        }
        else if (kind == 0) {
            /* continues the call just before it; else dropped */
            const cJSON *more = cJSON_GetObjectItemCaseSensitive(fc, "args");
            if (!cur.name || !cJSON_IsObject(more) || !more->child)
                continue;
            if (!cur.merged) {
                cur.merged = cJSON_IsObject(cur.args)
                             ? cJSON_Duplicate(cur.args, 1)
                             : cJSON_CreateObject();
                if (!cur.merged) continue;
            }
            gm_args_merge(cur.merged, more);
        }
        else if (gm_part_text(part)) {
            /* text in between: what follows continues nothing */
            if ((e = gm_call_flush(p, msg, &cur))) return e;
        }
    }
    return gm_call_flush(p, msg, &cur);
}

static llmp_error_t *gemini_chat_response(llmp_xlate_t *x,
                                          const cJSON *native, cJSON **out)
{
    apr_pool_t *p = x->pool;
    const cJSON *cands, *cand, *err, *part, *fc;
    cJSON *resp;
    gm_usage_t u;
    int pos = 0, ncalls = 0, total = 0;
    const char *name;
    llmp_error_t *e;

    if (!cJSON_IsObject(native))
        return gm_backend(p, "Gemini answered with an unexpected body");
    if ((err = gm_error_obj(native))) return gm_error_from(p, 0, err);
    cands = cJSON_GetObjectItemCaseSensitive(native, "candidates");
    if (cands && !cJSON_IsArray(cands))
        return gm_backend(p, "Gemini answered with invalid candidates");
    /* bounded before anything is built */
    cJSON_ArrayForEach(cand, cands) {
        cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(cand,
                                                                "content"),
                               "parts")) {
            if (gm_part_call(part, &fc, &name) == 1
                && ++total > GM_MAX_TOOL_CALLS)
                return gm_backend(p, apr_psprintf(p, "Gemini answered with "
                                  "more than %d function calls",
                                  GM_MAX_TOOL_CALLS));
        }
    }
    resp = llmp_completion_new(x->id, x->created, x->model_id);
    llmp_json_pool_own(p, resp);

    cJSON_ArrayForEach(cand, cands) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(cand,
                                                                "content");
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
        apr_array_header_t *texts = apr_array_make(p, 4, sizeof(char *));
        apr_array_header_t *thoughts = NULL;
        const char *text = NULL;
        int idx = gm_cand_index(cand, pos++), has_calls = 0;
        cJSON *msg;
        const char *fr;

        if (idx < 0) return gm_backend(p, "Gemini candidate index invalid");
        cJSON_ArrayForEach(part, parts) {
            const char *t = llmp_json_str(part, "text");
            if (t && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part,
                                                                  "thought")))
                APR_ARRAY_PUSH(texts, const char *) = t;
            else if (t && x->want_reasoning) {
                if (!thoughts)
                    thoughts = apr_array_make(p, 2, sizeof(char *));
                APR_ARRAY_PUSH(thoughts, const char *) = t;
            }
            if (gm_part_call(part, &fc, &name) == 1) has_calls = 1;
        }
        if (texts->nelts) text = apr_array_pstrcat(p, texts, 0);
        fr = gm_finish(llmp_json_str(cand, "finishReason"), has_calls);
        if (!fr) fr = has_calls ? LLMP_FINISH_TOOL_CALLS : LLMP_FINISH_STOP;
        if (!text && !has_calls && strcmp(fr, LLMP_FINISH_CONTENT_FILTER))
            text = "";
        msg = llmp_completion_add_choice(resp, idx, text, fr);
        if (thoughts)
            cJSON_AddStringToObject(msg, "reasoning_content",
                                    apr_array_pstrcat(p, thoughts, 0));
        if (has_calls && (e = gm_add_calls(p, msg, parts, &ncalls)))
            return e;
    }
    if (!pos) {
        /* no candidates: the prompt was blocked (or nothing came back) */
        llmp_completion_add_choice(resp, 0, gm_block_reason(native) ? NULL
                                   : "", gm_block_reason(native)
                                   ? LLMP_FINISH_CONTENT_FILTER
                                   : LLMP_FINISH_STOP);
    }
    memset(&u, 0, sizeof(u));
    gm_usage_read(&u, native);
    cJSON_AddItemToObject(resp, "usage", gm_usage_json(&u));
    *out = resp;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* chat stream                                                          */

/* Each event's tree is freed when the event is done, and what an event
 * needs for itself is taken from a pool destroyed with it: a stream of any
 * length holds only this state. Gemini (Vertex in particular) may put a
 * finishReason on every chunk, not only on the last: reasons are held and
 * sent once, by chat_stream_end. */
typedef struct {
    int started;        /* role chunk sent */
    int ntools;         /* tool calls sent (OpenAI index) */
    const char *reason; /* the finish held for the end (static), or NULL */
    cJSON *pending;     /* the last call, not sent yet: {"id","name","args"}
                           (owned), held for the parts that continue it */
} gm_choice_t;

typedef struct {
    gm_choice_t choices[GM_MAX_CHOICES];
    int ncalls;       /* tool-call ids made so far */
    int events;
    int ended;        /* chat_stream_end sent the finish */
    int failed;       /* an event failed: nothing more is translated */
    gm_usage_t usage;
} gm_stream_t;

static apr_status_t gm_stream_cleanup(void *data)
{
    gm_stream_t *st = data;
    int i;

    for (i = 0; i < GM_MAX_CHOICES; i++) {
        cJSON_Delete(st->choices[i].pending);
        st->choices[i].pending = NULL;
    }
    return APR_SUCCESS;
}

static gm_stream_t *gm_stream_state(llmp_xlate_t *x)
{
    gm_stream_t *st = x->state;

    if (!st) {
        st = apr_pcalloc(x->pool, sizeof(*st));
        apr_pool_cleanup_register(x->pool, st, gm_stream_cleanup,
                                  apr_pool_cleanup_null);
        x->state = st;
    }
    return st;
}

static llmp_error_t *gm_emit(llmp_xlate_t *x, cJSON *chunk)
{
    apr_status_t rv = chunk ? llmp_xlate_emit(x, chunk) : APR_ENOMEM;

    cJSON_Delete(chunk);
    if (rv != APR_SUCCESS)
        return llmp_error_make(x->pool, 500, NULL, NULL, NULL,
                               "could not write the stream to the client");
    return NULL;
}

static cJSON *gm_chunk(llmp_xlate_t *x)
{
    return llmp_chunk_new(x->id, x->created, x->model_id);
}

static llmp_error_t *gm_start_choice(llmp_xlate_t *x, gm_choice_t *c, int idx)
{
    cJSON *chunk, *delta;

    if (c->started) return NULL;
    c->started = 1;
    chunk = gm_chunk(x);
    delta = llmp_chunk_add_choice(chunk, idx, NULL);
    cJSON_AddStringToObject(delta, "role", "assistant");
    cJSON_AddStringToObject(delta, "content", "");
    return gm_emit(x, chunk);
}

/* A finishReason of a chunk: the first that is not STOP is kept (a later
 * STOP does not hide a SAFETY or MAX_TOKENS). */
static void gm_hold_reason(gm_choice_t *c, const char *reason)
{
    if (!reason) return;
    if (!c->reason || !strcmp(c->reason, LLMP_FINISH_STOP))
        c->reason = gm_finish(reason, 0);
}

/* Sends the text of an event (texts: pieces in order), if any. */
static llmp_error_t *gm_flush_text(llmp_xlate_t *x, apr_pool_t *ep,
                                   apr_array_header_t *texts, int idx)
{
    cJSON *chunk, *delta;

    if (!texts->nelts) return NULL;
    chunk = gm_chunk(x);
    delta = llmp_chunk_add_choice(chunk, idx, NULL);
    cJSON_AddStringToObject(delta, "content",
                            apr_array_pstrcat(ep, texts, 0));
    apr_array_clear(texts);
    return gm_emit(x, chunk);
}

/* Sends a thought's text as a piece of reasoning. */
static llmp_error_t *gm_emit_thought(llmp_xlate_t *x, const char *t, int idx)
{
    cJSON *chunk = gm_chunk(x), *delta;

    delta = llmp_chunk_add_choice(chunk, idx, NULL);
    cJSON_AddStringToObject(delta, "reasoning_content", t);
    return gm_emit(x, chunk);
}

/* Sends the held call of a choice, if any. */
static llmp_error_t *gm_flush_call(llmp_xlate_t *x, gm_choice_t *c, int idx)
{
    cJSON *chunk, *delta;
    char *args;

    if (!c->pending) return NULL;
    args = gm_args_json(cJSON_GetObjectItemCaseSensitive(c->pending,
                                                         "args"));
    chunk = args ? gm_chunk(x) : NULL;
    if (chunk) {
        delta = llmp_chunk_add_choice(chunk, idx, NULL);
        llmp_delta_add_tool_call(delta, c->ntools++,
                                 llmp_json_str(c->pending, "id"),
                                 llmp_json_str(c->pending, "name"), args);
    }
    cJSON_free(args);
    cJSON_Delete(c->pending);
    c->pending = NULL;
    return gm_emit(x, chunk);
}

/* A functionCall part with a name: the call it starts is held. */
static llmp_error_t *gm_hold_call(llmp_xlate_t *x, apr_pool_t *ep,
                                  gm_stream_t *st, gm_choice_t *c,
                                  const cJSON *part, const cJSON *fc,
                                  const char *name)
{
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(fc, "args");
    cJSON *call, *a;

    if (st->ncalls >= GM_MAX_TOOL_CALLS)
        return gm_backend(x->pool, apr_psprintf(x->pool, "Gemini answered "
                          "with more than %d function calls",
                          GM_MAX_TOOL_CALLS));
    call = cJSON_CreateObject();
    a = cJSON_IsObject(args) ? cJSON_Duplicate(args, 1) : cJSON_CreateObject();
    if (!call || !a
        || !cJSON_AddStringToObject(call, "id", gm_call_id(ep, st->ncalls,
                                                           name, part))
        || !cJSON_AddStringToObject(call, "name", name)) {
        cJSON_Delete(call);
        cJSON_Delete(a);
        return llmp_error_make(x->pool, 500, NULL, NULL, NULL,
                               "out of memory");
    }
    cJSON_AddItemToObject(call, "args", a);
    st->ncalls++;
    c->pending = call;
    return NULL;
}

static llmp_error_t *gm_stream_candidate(llmp_xlate_t *x, apr_pool_t *ep,
                                         gm_stream_t *st, const cJSON *cand,
                                         int idx)
{
    gm_choice_t *c = &st->choices[idx];
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
    const cJSON *part, *fc;
    apr_array_header_t *texts = apr_array_make(ep, 4, sizeof(char *));
    const char *name, *t;
    llmp_error_t *e;

    if ((e = gm_start_choice(x, c, idx))) return e;
    /* texts are sent by event, calls when the next part shows they are
     * complete; the order of both is kept */
    cJSON_ArrayForEach(part, parts) {
        int kind = gm_part_call(part, &fc, &name);
        if (kind == 1) {
            if ((e = gm_flush_text(x, ep, texts, idx))
                || (e = gm_flush_call(x, c, idx))
                || (e = gm_hold_call(x, ep, st, c, part, fc, name)))
                return e;
        }
        else if (kind == 0) {
            /* continues the held call; else dropped: never a call
             * without a name */
            if (c->pending)
                gm_args_merge(cJSON_GetObjectItemCaseSensitive(c->pending,
                                                               "args"),
                              cJSON_GetObjectItemCaseSensitive(fc, "args"));
        }
        else if ((t = gm_part_text(part))) {
            if ((e = gm_flush_call(x, c, idx))) return e;
            APR_ARRAY_PUSH(texts, const char *) = t;
        }
        else if (x->want_reasoning && (t = gm_part_thought(part))) {
            /* sent at once, after what came before it */
            if ((e = gm_flush_text(x, ep, texts, idx))
                || (e = gm_flush_call(x, c, idx))
                || (e = gm_emit_thought(x, t, idx)))
                return e;
        }
    }
    if ((e = gm_flush_text(x, ep, texts, idx))) return e;
    gm_hold_reason(c, llmp_json_str(cand, "finishReason"));
    return NULL;
}

/* One parsed event; ep: a pool for this event only. */
static llmp_error_t *gm_stream_ev(llmp_xlate_t *x, apr_pool_t *ep,
                                  gm_stream_t *st, const cJSON *ev)
{
    const cJSON *cands, *cand, *err;
    llmp_error_t *e;
    int pos = 0;

    if ((err = gm_error_obj(ev))) return gm_error_from(x->pool, 0, err);
    if (!cJSON_IsObject(ev)) return NULL;
    st->events++;
    gm_usage_read(&st->usage, ev);

    cands = cJSON_GetObjectItemCaseSensitive(ev, "candidates");
    if (!cJSON_IsArray(cands)) cands = NULL;
    cJSON_ArrayForEach(cand, cands) {
        int idx = gm_cand_index(cand, pos++);
        if (idx < 0)
            return gm_backend(x->pool, "Gemini candidate index invalid");
        if ((e = gm_stream_candidate(x, ep, st, cand, idx))) return e;
    }
    if (!pos && gm_block_reason(ev)) {
        /* the prompt was blocked: no candidates at all */
        if ((e = gm_start_choice(x, &st->choices[0], 0))) return e;
        gm_hold_reason(&st->choices[0], "SAFETY");
    }
    return NULL;
}

static llmp_error_t *gemini_chat_stream_event(llmp_xlate_t *x,
                                              const char *event,
                                              const char *data,
                                              apr_size_t len)
{
    gm_stream_t *st = gm_stream_state(x);
    apr_pool_t *ep;
    cJSON *ev;
    llmp_error_t *e;

    if (st->ended || st->failed) return NULL;   /* nothing after the end */
    if (event && *event && strcmp(event, "message") && strcmp(event, "error"))
        return NULL;                 /* not Gemini's: skip */
    if (!data || !len) return NULL;
    ev = cJSON_ParseWithLength(data, len);
    if (!ev) {
        if (len == 6 && !memcmp(data, "[DONE]", 6)) return NULL;
        st->failed = 1;
        return gm_backend(x->pool,
                          "Gemini sent a stream event that is not JSON");
    }
    if (apr_pool_create(&ep, x->pool) != APR_SUCCESS) {
        cJSON_Delete(ev);
        st->failed = 1;
        return llmp_error_make(x->pool, 500, NULL, NULL, NULL,
                               "out of memory");
    }
    e = gm_stream_ev(x, ep, st, ev);
    cJSON_Delete(ev);
    apr_pool_destroy(ep);
    if (e) st->failed = 1;
    return e;
}

static llmp_error_t *gemini_chat_stream_end(llmp_xlate_t *x,
                                            int upstream_complete)
{
    gm_stream_t *st = x->state;
    llmp_error_t *e;
    int i, finished = 0;

    if (st && (st->ended || st->failed)) return NULL;
    /* Gemini has no end event, and Vertex puts a finishReason on every
     * chunk: only a whole transfer tells that the answer is whole */
    if (!upstream_complete)
        return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                               "the Gemini stream was interrupted before "
                               "the model finished");
    for (i = 0; st && i < GM_MAX_CHOICES; i++) {
        if (st->choices[i].started && st->choices[i].reason) finished++;
    }
    if (!finished) {
        return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                               upstream_complete
                               ? "the Gemini stream ended without a finishReason"
                               : "the Gemini stream was interrupted before "
                                 "the model finished");
    }
    st->ended = 1;
    for (i = 0; i < GM_MAX_CHOICES; i++) {
        gm_choice_t *c = &st->choices[i];
        const char *reason = c->reason;
        cJSON *chunk;

        if (!c->started) continue;
        if ((e = gm_flush_call(x, c, i))) return e;
        if (!reason) continue;
        if (!strcmp(reason, LLMP_FINISH_STOP) && c->ntools > 0)
            reason = LLMP_FINISH_TOOL_CALLS;
        chunk = gm_chunk(x);
        llmp_chunk_add_choice(chunk, i, reason);
        if ((e = gm_emit(x, chunk))) return e;
    }
    if (x->include_usage) {
        cJSON *chunk = gm_chunk(x);
        cJSON_AddItemToObject(chunk, "usage", gm_usage_json(&st->usage));
        return gm_emit(x, chunk);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* embeddings                                                           */

typedef struct {
    int base64;       /* the client's encoding_format */
    int count;        /* inputs sent */
} gm_embed_t;

static llmp_error_t *gemini_embeddings_request(llmp_xlate_t *x,
                                               const cJSON *req,
                                               llmp_native_req_t *out)
{
    apr_pool_t *p = x->pool;
    llmp_error_t *e = NULL;
    apr_array_header_t *in = llmp_embeddings_input(p, req, &e);
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(req, "dimensions");
    const char *model;
    cJSON *root, *reqs;
    gm_embed_t *st;
    int i;

    if (!in) return e;
    if (llmp_embeddings_base64(req) < 0)
        return llmp_bad_request(p, "encoding_format",
                                "encoding_format must be "
                                "'float' or 'base64'");
    if (dims && !cJSON_IsNull(dims)
        && (!cJSON_IsNumber(dims) || dims->valuedouble < 1
            || dims->valuedouble > 65536))
        return llmp_bad_request(p, "dimensions",
                                "dimensions must be a positive "
                                "integer");
    model = strncmp(x->model_id, "models/", 7)
            ? apr_pstrcat(p, "models/", x->model_id, NULL) : x->model_id;
    root = cJSON_CreateObject();
    llmp_json_pool_own(p, root);
    reqs = cJSON_AddArrayToObject(root, "requests");
    for (i = 0; i < in->nelts; i++) {
        cJSON *r = cJSON_CreateObject(), *content, *parts;
        cJSON_AddItemToArray(reqs, r);
        cJSON_AddStringToObject(r, "model", model);
        content = cJSON_AddObjectToObject(r, "content");
        parts = cJSON_AddArrayToObject(content, "parts");
        gm_add_text(parts, APR_ARRAY_IDX(in, i, const char *));
        if (cJSON_IsNumber(dims))
            cJSON_AddNumberToObject(r, "outputDimensionality",
                                    dims->valueint);
    }
    {
        llmp_error_t *e = llmp_json_out(p, root, &out->body, &out->len);
        if (e) return e;
    }
    out->path = gm_path(p, x->handle, x->model_id, "batchEmbedContents", 0);
    out->stream = 0;
    out->content_type = NULL;
    /* remembered for the response */
    st = apr_pcalloc(p, sizeof(*st));
    st->base64 = llmp_embeddings_base64(req);
    st->count = in->nelts;
    x->state = st;
    return NULL;
}

static llmp_error_t *gemini_embeddings_response(llmp_xlate_t *x,
                                                const cJSON *native,
                                                char **out,
                                                apr_size_t *outlen)
{
    apr_pool_t *p = x->pool;
    const cJSON *embs, *emb = NULL, *err;
    const gm_embed_t *st = x->state;
    int b64 = st ? st->base64 : 0, i = 0;
    cJSON *resp;

    if (!cJSON_IsObject(native))
        return gm_backend(p, "Gemini answered with an unexpected body");
    if ((err = gm_error_obj(native))) return gm_error_from(p, 0, err);
    embs = cJSON_GetObjectItemCaseSensitive(native, "embeddings");
    if (!cJSON_IsArray(embs)) {
        /* embedContent answers {"embedding":{"values":[...]}} */
        emb = cJSON_GetObjectItemCaseSensitive(native, "embedding");
        if (!cJSON_IsObject(emb))
            return gm_backend(p, "Gemini answered without embeddings");
        embs = NULL;
    }
    /* Gemini reports no token usage for embeddings: we report 0 rather
     * than an estimate. */
    resp = llmp_embeddings_new(x->model_id, 0);
    llmp_json_pool_own(p, resp);
    if (embs && st && cJSON_GetArraySize(embs) != st->count)
        return gm_backend(p, apr_psprintf(p, "Gemini answered with %d "
                          "embeddings for %d inputs",
                          cJSON_GetArraySize(embs), st->count));
    if (embs) {
        cJSON_ArrayForEach(emb, embs) {
            if (!llmp_embeddings_add(p, resp, i++,
                    cJSON_GetObjectItemCaseSensitive(emb, "values"), b64))
                return gm_backend(p, "Gemini answered with an invalid "
                                  "embedding");
        }
    }
    else if (!llmp_embeddings_add(p, resp, 0,
                 cJSON_GetObjectItemCaseSensitive(emb, "values"), b64)) {
        return gm_backend(p, "Gemini answered with an invalid embedding");
    }
    return llmp_json_out(p, resp, out, outlen);
}

static const char *const gemini_segments[] = { "google", "gemini", NULL };
static const char *const gemini_family_words[] = { "gemini", NULL };
static const llmp_shape_t gemini_shapes[] = {
    { ":embedContent", LLMP_SHAPE_WORD | LLMP_SHAPE_DETECT,
      LLMP_KIND_EMBEDDINGS },
    { ":batchEmbedContents", LLMP_SHAPE_WORD | LLMP_SHAPE_DETECT,
      LLMP_KIND_EMBEDDINGS },
    { ":generateContent", LLMP_SHAPE_WORD | LLMP_SHAPE_DETECT,
      LLMP_KIND_CHAT },
    { ":streamGenerateContent", LLMP_SHAPE_WORD | LLMP_SHAPE_DETECT,
      LLMP_KIND_CHAT },
    { "generateContent", LLMP_SHAPE_WORD, LLMP_KIND_CHAT },
    { NULL, 0, LLMP_KIND_ANY }
};
static const llmp_detect_t gemini_detect = {
    0, gemini_segments, NULL, gemini_family_words, gemini_shapes,
    LLMP_KIND_ANY
};

const llmp_provider_ops_t llmp_gemini_ops = {
    "gemini",
    gemini_chat_request,
    gemini_chat_response,
    gemini_chat_stream_event,
    gemini_chat_stream_end,
    gemini_embeddings_request,
    gemini_embeddings_response,
    NULL, NULL,
    gemini_error,
    &gemini_detect,
};
