/* The OpenAI schema: errors, completion and chunk objects, usage, and
 * helpers that read an OpenAI request. Core: no httpd header. */
#include <stdarg.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <apr_random.h>
#include <apr_atomic.h>
#include <apr_base64.h>

#include "llmp_openai.h"

const char *llmp_error_type_for_status(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "invalid_request_error";
    case 408: return "timeout_error";
    case 429: return "rate_limit_error";
    default:
        if (status >= 500) return "api_error";
        return "invalid_request_error";
    }
}

llmp_error_t *llmp_error_make(apr_pool_t *p, int status, const char *type,
                              const char *code, const char *param,
                              const char *fmt, ...)
{
    llmp_error_t *e = apr_pcalloc(p, sizeof(*e));
    va_list ap;

    e->status = status;
    e->type = type ? type : llmp_error_type_for_status(status);
    e->code = code;
    e->param = param;
    va_start(ap, fmt);
    e->message = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return e;
}

static void json_cleanup_reg(apr_pool_t *p, cJSON *j);

/* Printed straight into pool memory: cJSON_PrintUnformatted would grow a
 * malloc'ed buffer from 256 bytes and then be copied. A buffer that turns
 * out too small is left to the pool and one four times larger is tried. */
char *llmp_json_print(apr_pool_t *p, const cJSON *j, apr_size_t *len)
{
    apr_size_t size = 4096;

    if (!j) return NULL;
    for (;;) {
        char *buf = apr_palloc(p, size);

        if (cJSON_PrintPreallocated((cJSON *)j, buf, (int)size, 0)) {
            if (len) *len = strlen(buf);
            return buf;
        }
        if (size > (apr_size_t)INT_MAX / 4) return NULL;
        size *= 4;
    }
}

cJSON *llmp_json_add_int(cJSON *obj, const char *name, apr_int64_t v)
{
    char buf[32];
    cJSON *item;

    apr_snprintf(buf, sizeof(buf), "%" APR_INT64_T_FMT, v);
    item = cJSON_CreateRaw(buf);
    if (!item) return NULL;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

llmp_error_t *llmp_json_out(apr_pool_t *p, const cJSON *j, char **out,
                            apr_size_t *len)
{
    *out = llmp_json_print(p, j, len);
    if (!*out)
        return llmp_error_make(p, 500, NULL, NULL, NULL, "out of memory");
    return NULL;
}

char *llmp_error_json(apr_pool_t *p, const llmp_error_t *e)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject();
    char *s;

    cJSON_AddItemToObject(root, "error", err);
    cJSON_AddStringToObject(err, "message", e->message ? e->message : "");
    cJSON_AddStringToObject(err, "type", e->type ? e->type
                            : llmp_error_type_for_status(e->status));
    if (e->param) cJSON_AddStringToObject(err, "param", e->param);
    else cJSON_AddNullToObject(err, "param");
    if (e->code) cJSON_AddStringToObject(err, "code", e->code);
    else cJSON_AddNullToObject(err, "code");
    s = llmp_json_print(p, root, NULL);
    cJSON_Delete(root);
    return s ? s : apr_pstrdup(p, "{\"error\":{\"message\":\"out of memory\","
                               "\"type\":\"api_error\",\"param\":null,"
                               "\"code\":null}}");
}

llmp_error_t *llmp_bad_request(apr_pool_t *p, const char *param,
                               const char *msg)
{
    return llmp_error_make(p, 400, "invalid_request_error", NULL, param,
                           "%s", msg);
}

llmp_error_t *llmp_bad_upstream(apr_pool_t *p, const char *provider,
                                const char *msg)
{
    return llmp_error_make(p, 502, "api_error", NULL, NULL,
                           "invalid response from %s: %s", provider, msg);
}

static apr_status_t json_cleanup(void *data)
{
    cJSON_Delete(data);
    return APR_SUCCESS;
}

static void json_cleanup_reg(apr_pool_t *p, cJSON *j)
{
    apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
}

void llmp_json_pool_own(apr_pool_t *p, cJSON *j)
{
    if (j) json_cleanup_reg(p, j);
}

cJSON *llmp_json_parse_pool(apr_pool_t *p, const char *buf, apr_size_t len)
{
    cJSON *j;

    if (!buf || !len) return NULL;
    j = cJSON_ParseWithLength(buf, len);
    if (j) json_cleanup_reg(p, j);
    return j;
}

/* Members that mark a body as a provider's own answer, not an envelope. */
static const char *const native_fields[] = {
    "id", "object", "choices", "candidates", "content", "message", "data",
    "embeddings", "error", "type", "model", NULL
};

cJSON *llmp_envelope_unwrap(cJSON *root)
{
    cJSON *inner;
    int i;

    if (!cJSON_IsObject(root)) return root;
    inner = cJSON_GetObjectItemCaseSensitive(root, "response");
    if (!cJSON_IsObject(inner)) return root;
    for (i = 0; native_fields[i]; i++) {
        if (cJSON_GetObjectItemCaseSensitive(root, native_fields[i]))
            return root;
    }
    return inner;
}

int llmp_json_looks_like_object(const char *b, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && apr_isspace(b[i])) i++;
    while (len > i && apr_isspace(b[len - 1])) len--;
    return len - i >= 2 && b[i] == '{' && b[len - 1] == '}';
}

int llmp_envelope_unwrap_body(apr_pool_t *p, const char *body, apr_size_t len,
                              char **out, apr_size_t *outlen)
{
    cJSON *root, *inner;
    apr_size_t i;
    int found = 0;

    /* Cheap checks first: an object that mentions "response" at all. */
    if (!llmp_json_looks_like_object(body, len)) return 0;
    for (i = 0; i + 10 <= len; i++) {
        if (body[i] == '"' && !memcmp(body + i, "\"response\"", 10)) {
            found = 1;
            break;
        }
    }
    if (!found) return 0;
    root = cJSON_ParseWithLength(body, len);
    if (!root) return 0;
    inner = llmp_envelope_unwrap(root);
    if (inner == root) {
        cJSON_Delete(root);
        return 0;
    }
    *out = llmp_json_print(p, inner, outlen);
    cJSON_Delete(root);
    return *out != NULL;
}

const cJSON *llmp_json_get(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name)
                               : NULL;
}

const char *llmp_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

llmp_error_t *llmp_req_opt_str(apr_pool_t *p, const cJSON *req,
                               const char *name, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    *out = NULL;
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsString(v) || !v->valuestring) {
        return llmp_error_make(p, 400, NULL, NULL, name,
                               "'%s' must be a string", name);
    }
    *out = v->valuestring;
    return NULL;
}

const char *llmp_content_text(apr_pool_t *p, const cJSON *content)
{
    const cJSON *part;
    const char *acc = NULL;

    if (cJSON_IsString(content)) return content->valuestring;
    if (!cJSON_IsArray(content)) return NULL;
    cJSON_ArrayForEach(part, content) {
        const char *type = llmp_json_str(part, "type");
        const char *text = llmp_json_str(part, "text");
        if (cJSON_IsString(part)) text = part->valuestring;
        else if (!text || (type && strcmp(type, "text")
                           && strcmp(type, "input_text")))
            continue;
        acc = acc ? apr_pstrcat(p, acc, text, NULL) : text;
    }
    return acc ? acc : "";
}

apr_array_header_t *llmp_stop_list(apr_pool_t *p, const cJSON *stop)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const cJSON *s;

    if (cJSON_IsString(stop)) {
        APR_ARRAY_PUSH(a, const char *) = stop->valuestring;
    }
    else if (cJSON_IsArray(stop)) {
        cJSON_ArrayForEach(s, stop) {
            if (cJSON_IsString(s))
                APR_ARRAY_PUSH(a, const char *) = s->valuestring;
        }
    }
    return a;
}

int llmp_data_url_parse(apr_pool_t *p, const char *url, const char **mime,
                        const char **b64)
{
    const char *comma, *meta;
    apr_size_t mlen;

    if (!url || strncasecmp(url, "data:", 5)) return 0;
    comma = strchr(url + 5, ',');
    if (!comma) return 0;
    meta = url + 5;
    mlen = (apr_size_t)(comma - meta);
    if (mlen < 7 || strncasecmp(comma - 7, ";base64", 7)) return 0;
    mlen -= 7;
    {
        /* drop parameters like ;charset=... from the media type */
        const char *semi = memchr(meta, ';', mlen);
        if (semi) mlen = (apr_size_t)(semi - meta);
    }
    *mime = mlen ? apr_pstrmemdup(p, meta, mlen) : "text/plain";
    *b64 = comma + 1;
    return 1;
}

int llmp_req_max_tokens(const cJSON *req)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req,
                                                      "max_completion_tokens");
    if (!cJSON_IsNumber(v))
        v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
        return -1;
    return (int)v->valuedouble;
}

const char *llmp_make_id(apr_pool_t *p, const char *prefix)
{
    unsigned char rnd[12];
    static const char hex[] = "0123456789abcdef";
    char out[sizeof(rnd) * 2 + 1];
    apr_size_t i;

    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        /* fall back on time and address entropy: ids need not be secret */
        apr_uint64_t t = (apr_uint64_t)apr_time_now() ^ (apr_uintptr_t)p;
        for (i = 0; i < sizeof(rnd); i++) rnd[i] = (unsigned char)(t >> (i % 8 * 8));
    }
    for (i = 0; i < sizeof(rnd); i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[sizeof(out) - 1] = '\0';
    return apr_pstrcat(p, prefix, out, NULL);
}

cJSON *llmp_completion_new(const char *id, apr_int64_t created,
                           const char *model)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "id", id);
    cJSON_AddStringToObject(c, "object", "chat.completion");
    llmp_json_add_int(c, "created", created);
    cJSON_AddStringToObject(c, "model", model);
    cJSON_AddArrayToObject(c, "choices");
    return c;
}

cJSON *llmp_completion_add_choice(cJSON *completion, int index,
                                  const char *content,
                                  const char *finish_reason)
{
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(completion, "choices");
    cJSON *choice = cJSON_CreateObject(), *msg = cJSON_CreateObject();

    llmp_json_add_int(choice, "index", index);
    cJSON_AddStringToObject(msg, "role", "assistant");
    if (content) cJSON_AddStringToObject(msg, "content", content);
    else cJSON_AddNullToObject(msg, "content");
    cJSON_AddNullToObject(msg, "refusal");
    cJSON_AddItemToObject(choice, "message", msg);
    cJSON_AddNullToObject(choice, "logprobs");
    if (finish_reason) cJSON_AddStringToObject(choice, "finish_reason",
                                               finish_reason);
    else cJSON_AddNullToObject(choice, "finish_reason");
    cJSON_AddItemToArray(choices, choice);
    return msg;
}

void llmp_message_add_tool_call(cJSON *message, const char *id,
                                const char *name, const char *arguments)
{
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(message, "tool_calls");
    cJSON *call = cJSON_CreateObject(), *fn = cJSON_CreateObject();

    if (!calls) calls = cJSON_AddArrayToObject(message, "tool_calls");
    cJSON_AddStringToObject(call, "id", id ? id : "");
    cJSON_AddStringToObject(call, "type", "function");
    cJSON_AddStringToObject(fn, "name", name ? name : "");
    cJSON_AddStringToObject(fn, "arguments", arguments ? arguments : "{}");
    cJSON_AddItemToObject(call, "function", fn);
    cJSON_AddItemToArray(calls, call);
}

cJSON *llmp_usage_new(long prompt, long completion, long cached)
{
    cJSON *u = cJSON_CreateObject();

    llmp_json_add_int(u, "prompt_tokens", prompt);
    llmp_json_add_int(u, "completion_tokens", completion);
    llmp_json_add_int(u, "total_tokens", prompt + completion);
    if (cached >= 0) {
        cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
        llmp_json_add_int(d, "cached_tokens", cached);
    }
    return u;
}

cJSON *llmp_chunk_new(const char *id, apr_int64_t created, const char *model)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "id", id);
    cJSON_AddStringToObject(c, "object", "chat.completion.chunk");
    llmp_json_add_int(c, "created", created);
    cJSON_AddStringToObject(c, "model", model);
    cJSON_AddArrayToObject(c, "choices");
    return c;
}

cJSON *llmp_chunk_add_choice(cJSON *chunk, int index,
                             const char *finish_reason)
{
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(chunk, "choices");
    cJSON *choice = cJSON_CreateObject(), *delta = cJSON_CreateObject();

    llmp_json_add_int(choice, "index", index);
    cJSON_AddItemToObject(choice, "delta", delta);
    cJSON_AddNullToObject(choice, "logprobs");
    if (finish_reason) cJSON_AddStringToObject(choice, "finish_reason",
                                               finish_reason);
    else cJSON_AddNullToObject(choice, "finish_reason");
    cJSON_AddItemToArray(choices, choice);
    return delta;
}

void llmp_delta_add_tool_call(cJSON *delta, int index, const char *id,
                              const char *name, const char *arguments)
{
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
    cJSON *call = cJSON_CreateObject(), *fn = cJSON_CreateObject();

    if (!calls) calls = cJSON_AddArrayToObject(delta, "tool_calls");
    llmp_json_add_int(call, "index", index);
    if (id) {
        cJSON_AddStringToObject(call, "id", id);
        cJSON_AddStringToObject(call, "type", "function");
    }
    if (name) cJSON_AddStringToObject(fn, "name", name);
    if (arguments) cJSON_AddStringToObject(fn, "arguments", arguments);
    cJSON_AddItemToObject(call, "function", fn);
    cJSON_AddItemToArray(calls, call);
}

apr_array_header_t *llmp_embeddings_input(apr_pool_t *p, const cJSON *req,
                                          llmp_error_t **err)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "input"), *s;
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));

    if (cJSON_IsString(in)) {
        APR_ARRAY_PUSH(a, const char *) = in->valuestring;
    }
    else if (cJSON_IsArray(in)) {
        cJSON_ArrayForEach(s, in) {
            if (!cJSON_IsString(s)) {
                *err = llmp_error_make(p, 400, NULL, NULL, "input",
                    "'input' must be a string or an array of strings for this "
                    "model (token arrays are only accepted by OpenAI models)");
                return NULL;
            }
            APR_ARRAY_PUSH(a, const char *) = s->valuestring;
        }
    }
    if (!a->nelts) {
        *err = llmp_error_make(p, 400, NULL, NULL, "input",
                               "'input' is required and must not be empty");
        return NULL;
    }
    return a;
}

int llmp_embeddings_base64(const cJSON *req)
{
    const char *f = llmp_json_str(req, "encoding_format");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "encoding_format");

    if (!v || cJSON_IsNull(v)) return 0;
    if (!f) return -1;
    if (!strcmp(f, "base64")) return 1;
    if (!strcmp(f, "float")) return 0;
    return -1;
}

cJSON *llmp_embeddings_new(const char *model, long prompt_tokens)
{
    cJSON *r = cJSON_CreateObject(), *u;

    cJSON_AddStringToObject(r, "object", "list");
    cJSON_AddArrayToObject(r, "data");
    cJSON_AddStringToObject(r, "model", model);
    u = cJSON_AddObjectToObject(r, "usage");
    llmp_json_add_int(u, "prompt_tokens", prompt_tokens);
    llmp_json_add_int(u, "total_tokens", prompt_tokens);
    return r;
}

int llmp_embeddings_add(apr_pool_t *p, cJSON *resp, int index,
                        const cJSON *vector, int base64)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data");
    cJSON *e, *v;
    const cJSON *x;
    int n = cJSON_GetArraySize(vector), i = 0;

    if (!cJSON_IsArray(vector)) return 0;
    cJSON_ArrayForEach(x, vector) {
        if (!cJSON_IsNumber(x)) return 0;
    }
    if (base64) {
        unsigned char *raw = apr_palloc(p, (apr_size_t)n * 4 + 1);
        char *b64;
        cJSON_ArrayForEach(x, vector) {
            float f = (float)x->valuedouble;
            apr_uint32_t u;
            memcpy(&u, &f, 4);
            raw[i * 4] = (unsigned char)(u & 0xff);
            raw[i * 4 + 1] = (unsigned char)((u >> 8) & 0xff);
            raw[i * 4 + 2] = (unsigned char)((u >> 16) & 0xff);
            raw[i * 4 + 3] = (unsigned char)((u >> 24) & 0xff);
            i++;
        }
        b64 = apr_palloc(p, apr_base64_encode_len(n * 4));
        apr_base64_encode_binary(b64, raw, n * 4);
        v = cJSON_CreateString(b64);
    }
    else {
        v = cJSON_Duplicate(vector, 1);
    }
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "object", "embedding");
    llmp_json_add_int(e, "index", index);
    cJSON_AddItemToObject(e, "embedding", v);
    cJSON_AddItemToArray(data, e);
    return 1;
}

llmp_error_t *llmp_images_prompt(apr_pool_t *p, const cJSON *req,
                                 const char **prompt)
{
    llmp_error_t *e = llmp_req_opt_str(p, req, "prompt", prompt);

    if (e) return e;
    if (!*prompt || !**prompt) {
        return llmp_error_make(p, 400, NULL, NULL, "prompt",
                               "'prompt' is required and must not be empty");
    }
    return NULL;
}

llmp_error_t *llmp_images_n(apr_pool_t *p, const cJSON *req, int max,
                            long *n)
{
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(req, "n");

    if (!jn || cJSON_IsNull(jn)) return NULL;
    if (!cJSON_IsNumber(jn) || jn->valuedouble < 1 || jn->valuedouble > max
        || jn->valuedouble != (double)(long)jn->valuedouble) {
        return llmp_error_make(p, 400, NULL, NULL, "n",
                               "'n' must be an integer from 1 to %d", max);
    }
    *n = (long)jn->valuedouble;
    return NULL;
}

/* "1024x1792" or "16:9" -> w, h. Returns 0 for anything else. */
static int images_parse_size(const char *s, long *w, long *h)
{
    char *end;

    if (!apr_isdigit((unsigned char)*s)) return 0;
    *w = strtol(s, &end, 10);
    if ((*end != 'x' && *end != 'X' && *end != ':') || end - s > 5) return 0;
    s = end + 1;
    if (!apr_isdigit((unsigned char)*s)) return 0;
    *h = strtol(s, &end, 10);
    if (*end || end - s > 5) return 0;
    return *w > 0 && *h > 0;
}

llmp_error_t *llmp_images_size(apr_pool_t *p, const cJSON *req,
                               const char **size, long *w, long *h)
{
    llmp_error_t *e = llmp_req_opt_str(p, req, "size", size);

    if (e) return e;
    if (*size && !strcmp(*size, "auto")) *size = NULL;
    if (*size && !images_parse_size(*size, w, h)) {
        return llmp_error_make(p, 400, NULL, NULL, "size",
                               "Invalid size '%s': expected WIDTHxHEIGHT "
                               "or 'auto'", *size);
    }
    return NULL;
}

cJSON *llmp_images_new(apr_int64_t created)
{
    cJSON *r = cJSON_CreateObject();

    llmp_json_add_int(r, "created", created);
    cJSON_AddArrayToObject(r, "data");
    return r;
}

void llmp_images_add(cJSON *resp, const char *url, const char *b64_json,
                     const char *revised_prompt)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data");
    cJSON *e = cJSON_CreateObject();

    if (url) cJSON_AddStringToObject(e, "url", url);
    if (b64_json) cJSON_AddStringToObject(e, "b64_json", b64_json);
    if (revised_prompt) cJSON_AddStringToObject(e, "revised_prompt",
                                                revised_prompt);
    cJSON_AddItemToArray(data, e);
}

int llmp_embeddings_to_base64(apr_pool_t *p, cJSON *resp)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data"), *item;
    int n = 0;

    if (!cJSON_IsArray(data)) return 0;
    cJSON_ArrayForEach(item, data) {
        cJSON *vec = cJSON_GetObjectItemCaseSensitive(item, "embedding");
        cJSON *tmp, *added, *enc;

        if (!cJSON_IsArray(vec)) continue;
        /* llmp_embeddings_add encodes it, into a scratch answer */
        tmp = cJSON_CreateObject();
        if (!tmp || !cJSON_AddArrayToObject(tmp, "data")
            || !llmp_embeddings_add(p, tmp, 0, vec, 1)) {
            cJSON_Delete(tmp);
            continue;
        }
        added = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(tmp,
                                                                    "data"), 0);
        enc = cJSON_DetachItemFromObjectCaseSensitive(added, "embedding");
        cJSON_Delete(tmp);
        if (enc && cJSON_ReplaceItemInObjectCaseSensitive(item, "embedding",
                                                          enc))
            n++;
        else
            cJSON_Delete(enc);
    }
    return n;
}
