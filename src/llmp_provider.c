/* Provider registry and the shared pieces of error translation (core). */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_fnmatch.h>
#include <apr_lib.h>

#include "llmp_provider.h"
#include "llmp_buf.h"

/* Indexed by llmp_provider_e. */
static const llmp_provider_ops_t *const providers[LLMP_PROV_COUNT] = {
    &llmp_openai_ops,
    &llmp_anthropic_ops,
    &llmp_gemini_ops,
    &llmp_cohere_ops,
    &llmp_ideogram_ops,
    &llmp_recraft_ops,
};

/* Detection order (llmp_detect_t): the OpenAI-compatible shapes first, as
 * a gateway may serve them under any provider's segment. */
const llmp_provider_ops_t *const llmp_providers[] = {
    &llmp_openai_ops,
    &llmp_gemini_ops,
    &llmp_anthropic_ops,
    &llmp_cohere_ops,
    &llmp_ideogram_ops,
    &llmp_recraft_ops,
    NULL
};

const llmp_provider_ops_t *llmp_provider_ops(llmp_provider_e prov)
{
    if ((int)prov < 0 || prov >= LLMP_PROV_COUNT) return &llmp_openai_ops;
    return providers[prov];
}

const char *llmp_provider_name(llmp_provider_e prov)
{
    return llmp_provider_ops(prov)->name;
}

int llmp_provider_from_name(const char *name)
{
    int i;

    if (!name) return -1;
    for (i = 0; i < LLMP_PROV_COUNT; i++) {
        if (!strcasecmp(name, providers[i]->name)) return i;
    }
    if (!strcasecmp(name, "google")) return LLMP_PROV_GEMINI;
    return -1;
}

int llmp_reasoning_allowed(const llmp_xlate_t *x, int builtin)
{
    const apr_array_header_t *pats = x->opts ? x->opts->reasoning_models
                                             : NULL;
    int i;

    if (builtin) return 1;
    if (!pats || !x->model_id) return 0;
    for (i = 0; i < pats->nelts; i++) {
        const char *pat = APR_ARRAY_IDX(pats, i, const char *);
        if (pat && apr_fnmatch(pat, x->model_id, APR_FNM_CASE_BLIND)
                   == APR_SUCCESS)
            return 1;
    }
    return 0;
}

void llmp_ir_for_openai(const llmp_xlate_t *x, cJSON *ir)
{
    const char *id = x->model_id ? x->model_id : "";
    const char *base = strrchr(id, '/');
    int gpt5, reasoning;

    llmp_ir_strip(ir);
    base = base ? base + 1 : id;           /* "openai/o3-mini" */
    gpt5 = llmp_model_has(base, "gpt-5");
    reasoning = llmp_reasoning_allowed(x, gpt5
        || llmp_model_has(base, "gpt-oss")
        || ((base[0] == 'o' || base[0] == 'O') && apr_isdigit(base[1])));
    if (!reasoning)
        cJSON_DeleteItemFromObjectCaseSensitive(ir, "reasoning_effort");
    if (!reasoning || !(gpt5 || llmp_reasoning_allowed(x, 0)))
        cJSON_DeleteItemFromObjectCaseSensitive(ir, "verbosity");
}

int llmp_model_has(const char *id, const char *word)
{
    apr_size_t n = strlen(word);

    for (; id && *id; id++)
        if (!strncasecmp(id, word, n)) return 1;
    return 0;
}

int llmp_model_version(const char *id, const char *family, int *major,
                       int *minor)
{
    apr_size_t fn = strlen(family);
    const char *s = id;

    *major = *minor = -1;
    for (; s && *s; s++)
        if (!strncasecmp(s, family, fn)) break;
    if (!s || !*s) return 0;
    s += fn;
    for (;;) {
        const char *t;
        apr_size_t n, i;
        int num = 1;

        while (*s && !apr_isalnum(*s)) s++;
        for (t = s; apr_isalnum(*s); s++)
            if (!apr_isdigit(*s)) num = 0;
        n = (apr_size_t)(s - t);
        if (!n) break;
        if (!num) {
            if (*major >= 0) break;          /* a word after the major */
            continue;                        /* a name word: skipped */
        }
        if (n > 2) break;                    /* a date, a build number */
        for (i = 0, num = 0; i < n; i++) num = num * 10 + (t[i] - '0');
        if (*major < 0) *major = num;
        else {
            *minor = num;
            break;
        }
    }
    if (*major < 0) return 0;
    if (*minor < 0) *minor = 0;
    return 1;
}

apr_status_t llmp_xlate_emit(llmp_xlate_t *x, const cJSON *chunk)
{
    apr_status_t rv;
    apr_pool_t *tmp;
    llmp_buf_t b;

    if (!chunk) return APR_EINVAL;
    if (x->usage) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(chunk, "usage");

        if (cJSON_IsObject(u)) {
            llmp_usage_take(x->usage, u, LLMP_USAGE_CHAT);
            if (x->usage_hidden && !x->front) {
                const cJSON *ch = cJSON_GetObjectItemCaseSensitive(
                                      chunk, "choices");
                /* the usage chunk the client did not ask for */
                if (!ch || (cJSON_IsArray(ch) && !ch->child))
                    return APR_SUCCESS;
            }
        }
        if (!x->usage->first_token && llmp_usage_chunk_has_content(chunk))
            x->usage->first_token = apr_time_now();
    }
    if (x->front) {
        llmp_error_t *e = x->front->ops->stream_chunk(x->front, chunk);
        if (e) {
            x->front_err = e;
            return APR_EGENERAL;
        }
        return APR_SUCCESS;
    }
    if (!x->emit) return APR_EINIT;
    /* printed in a subpool destroyed at once: a long stream must not grow
     * the request pool by every chunk it sends (emit copies) */
    rv = apr_pool_create(&tmp, x->pool);
    if (rv != APR_SUCCESS) return rv;
    llmp_buf_init(&b, tmp, LLMP_JSON_MAX);
    b.first = 1024;
    rv = llmp_json_write(&b, chunk);
    if (rv == APR_SUCCESS && x->include_usage && !x->usage_hidden
        && cJSON_IsObject(chunk)
        && !cJSON_GetObjectItemCaseSensitive(chunk, "usage")) {
        /* with stream_options.include_usage, every chunk but the usage
         * one carries "usage":null (OpenAI's API description) */
        b.len--;                                   /* the closing '}' */
        rv = llmp_buf_append(&b, b.len > 1 ? ",\"usage\":null}"
                                           : "\"usage\":null}",
                             b.len > 1 ? 14 : 13);
    }
    if (rv == APR_SUCCESS) rv = x->emit(x->emit_baton, b.data, b.len);
    apr_pool_destroy(tmp);
    return rv;
}

/* A backend status that must not be passed to the client as is. */
static int client_status(int status)
{
    if (status < 400 || status > 599) return 502;
    if (status == 529) return 503;            /* "overloaded" */
    if (status > 504 && status != 529) return 502;
    return status;
}

llmp_error_t *llmp_provider_generic_error(llmp_xlate_t *x, int status,
                                          const cJSON *native,
                                          const char *body, apr_size_t len)
{
    const char *msg = NULL, *type = NULL, *code = NULL, *param = NULL;
    const cJSON *err = NULL;
    llmp_error_t *e;

    if (cJSON_IsObject(native)) {
        err = cJSON_GetObjectItemCaseSensitive(native, "error");
        if (cJSON_IsObject(err)) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
            msg = llmp_json_str(err, "message");
            type = llmp_json_str(err, "type");
            if (!type) type = llmp_json_str(err, "status");   /* Google */
            param = llmp_json_str(err, "param");
            if (cJSON_IsString(c)) code = c->valuestring;
            else if (cJSON_IsNumber(c))
                code = apr_psprintf(x->pool, "%d", c->valueint);
        }
        else if (cJSON_IsString(err)) {
            msg = err->valuestring;
        }
        if (!msg) msg = llmp_json_str(native, "message");
        if (!msg) msg = llmp_json_str(native, "detail");
    }
    if (!msg) {
        /* not JSON: keep a bounded, printable excerpt */
        apr_size_t n = len > 200 ? 200 : len, i;
        char *s = apr_pstrmemdup(x->pool, body ? body : "", body ? n : 0);
        for (i = 0; s[i]; i++) {
            if ((unsigned char)s[i] < 0x20) s[i] = ' ';
        }
        msg = *s ? apr_psprintf(x->pool, "backend returned HTTP %d: %s",
                                status, s)
                 : apr_psprintf(x->pool, "backend returned HTTP %d", status);
    }
    e = llmp_error_make(x->pool, client_status(status), NULL, code, param,
                        "%s", msg);
    if (type && strcmp(type, "error")) {
        /* keep the provider's type when it is one of OpenAI's words */
        static const char *const known[] = {
            "invalid_request_error", "authentication_error",
            "permission_error", "not_found_error", "rate_limit_error",
            "api_error", "overloaded_error", "server_error", NULL };
        int i;
        for (i = 0; known[i]; i++) {
            if (!strcmp(type, known[i])) { e->type = known[i]; break; }
        }
    }
    return e;
}

static const llmp_shape_t openai_shapes[] = {
    { "/chat/completions", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT,
      LLMP_KIND_CHAT },
    { "/embeddings", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT,
      LLMP_KIND_EMBEDDINGS },
    { "/images/generations", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT,
      LLMP_KIND_IMAGES },
    { "/completions", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT,
      LLMP_KIND_COMPLETIONS },
    { "/responses", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT,
      LLMP_KIND_RESPONSES },
    { NULL, 0, LLMP_KIND_ANY }
};

static const llmp_detect_t openai_detect = {
    0, NULL, NULL, NULL, openai_shapes, LLMP_KIND_ANY
};

const llmp_provider_ops_t llmp_openai_ops = {
    "openai",
    NULL, NULL, NULL, NULL,    /* chat: pass-through, done by the glue */
    NULL, NULL,                /* embeddings: pass-through */
    NULL, NULL,                /* images: pass-through */
    llmp_provider_generic_error,
    &openai_detect,
};

llmp_error_t *llmp_xlate_chat_response(const llmp_provider_ops_t *ops,
                                       llmp_xlate_t *x, const cJSON *native,
                                       char **out, apr_size_t *outlen)
{
    cJSON *tree = NULL;
    llmp_error_t *e = ops->chat_response(x, native, &tree);

    if (e) return e;
    if (x->usage)
        llmp_usage_take(x->usage, cJSON_GetObjectItemCaseSensitive(tree,
                        "usage"), LLMP_USAGE_CHAT);
    return llmp_json_out(x->pool, tree, out, outlen);
}

apr_status_t llmp_xlate_stream_completion(llmp_xlate_t *x,
                                          const cJSON *completion)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(completion,
                                                            "choices");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(completion, "usage");
    const char *id = llmp_json_str(completion, "id");
    const char *model = llmp_json_str(completion, "model");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(completion,
                                                            "created");
    apr_int64_t when = cJSON_IsNumber(created) ? (apr_int64_t)created->valuedouble
                                               : x->created;
    const cJSON *choice;
    apr_status_t rv = APR_SUCCESS;
    int pass;

    if (!id) id = x->id ? x->id : llmp_make_id(x->pool, "chatcmpl-");
    if (!model) model = x->model_id;
    /* pass 0: role and content and tool calls; pass 1: finish reasons */
    for (pass = 0; pass < 2 && rv == APR_SUCCESS; pass++) {
        cJSON_ArrayForEach(choice, choices) {
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice,
                                                                "message");
            const cJSON *jidx = cJSON_GetObjectItemCaseSensitive(choice,
                                                                 "index");
            int idx = cJSON_IsNumber(jidx) ? jidx->valueint : 0;
            cJSON *chunk = llmp_chunk_new(id, when, model), *delta;

            if (pass == 0) {
                const char *content = llmp_json_str(msg, "content");
                const cJSON *calls = cJSON_GetObjectItemCaseSensitive(
                    msg, "tool_calls"), *call;
                int n = 0;

                delta = llmp_chunk_add_choice(chunk, idx, NULL);
                cJSON_AddStringToObject(delta, "role", "assistant");
                cJSON_AddStringToObject(delta, "content",
                                        content ? content : "");
                cJSON_ArrayForEach(call, calls) {
                    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(
                        call, "function");
                    const char *args = llmp_json_str(fn, "arguments");
                    llmp_delta_add_tool_call(delta, n++,
                                             llmp_json_str(call, "id"),
                                             llmp_json_str(fn, "name"),
                                             args ? args : "");
                }
            }
            else {
                const char *fr = llmp_json_str(choice, "finish_reason");
                llmp_chunk_add_choice(chunk, idx, fr ? fr : LLMP_FINISH_STOP);
            }
            rv = llmp_xlate_emit(x, chunk);
            cJSON_Delete(chunk);
            if (rv != APR_SUCCESS) break;
        }
    }
    if (rv == APR_SUCCESS && x->include_usage && cJSON_IsObject(usage)) {
        cJSON *chunk = llmp_chunk_new(id, when, model);
        cJSON_AddItemToObject(chunk, "usage", cJSON_Duplicate(usage, 1));
        rv = llmp_xlate_emit(x, chunk);
        cJSON_Delete(chunk);
    }
    return rv;
}
