/* Cohere v2: /v2/chat (plain, streaming, tools) and /v2/embed, translated
 * from and to the OpenAI schema (core: no httpd header).
 *
 * Request mapping (OpenAI -> Cohere v2 chat):
 *   messages: system/developer -> system, user, assistant, tool. Content
 *     parts: text -> {"type":"text"}, image_url -> {"type":"image_url",
 *     "image_url":{"url"[,"detail"]}} (user messages only). An assistant
 *     message with tool_calls sends its text as "tool_plan" (Cohere's place
 *     for the text that goes with tool calls).
 *   max_completion_tokens|max_tokens -> max_tokens, top_p -> p (clamped to
 *     Cohere's 0.01..0.99), stop -> stop_sequences, temperature, seed,
 *     frequency_penalty, presence_penalty pass as they are.
 *   response_format json_object -> {"type":"json_object"}, json_schema ->
 *     {"type":"json_object","json_schema":<schema>}.
 *   tools -> tools (same function shape, "strict" dropped; any strict tool
 *     sets strict_tools). tool_choice: auto -> omitted, none -> "NONE",
 *     required -> "REQUIRED", a named function -> "REQUIRED" with only that
 *     tool in "tools" (Cohere has no named choice).
 *   reasoning_effort -> thinking: none -> {"type":"disabled"}; minimal/low
 *     -> {"type":"enabled","token_budget":1024}, medium 4096, high/xhigh
 *     16384, lowered under the client's max_tokens (Cohere counts thinking
 *     in them); another value -> 400. Only for a reasoning model ("reasoning"
 *     in the model id, e.g. command-a-reasoning-08-2025) or an id that
 *     LLMProxyReasoningModels names (llmp_reasoning_allowed): for the
 *     others (command-r-plus, ...) no "thinking" is sent (Cohere answers
 *     400 to it) and the effort, "none" too, is dropped silently.
 *   n > 1 -> 400. OpenAI-only fields (user, logprobs, logit_bias,
 *     parallel_tool_calls, stream_options, store, metadata, verbosity,
 *     prompt_cache_key, x_llmp...) and unknown message members are dropped,
 *     and so is an assistant message's reasoning_content /
 *     reasoning_signature (IR extensions: Cohere keeps no signed thinking
 *     to send back). A file part -> 400 (Cohere chat takes no files).
 * Response: text parts joined, tool_calls kept with their ids, tool_plan
 *   dropped; "thinking" parts -> message.reasoning_content when
 *   x->want_reasoning (else dropped); in streams a thinking content block's
 *   deltas -> delta "reasoning_content" pieces. Cohere reports no reasoning
 *   token count apart. Finish reasons COMPLETE/STOP_SEQUENCE -> stop,
 *   MAX_TOKENS/ERROR_LIMIT -> length, TOOL_CALL -> tool_calls,
 *   ERROR_TOXIC/CONTENT_BLOCKED -> content_filter, ERROR -> 502, TIMEOUT ->
 *   504; usage from usage.tokens, else usage.billed_units.
 * Stream: events are read from the data's "type" (the "event:" name is the
 *   fallback). message-end with finish_reason ERROR (and delta.error) is the
 *   documented mid-stream failure; it becomes an error event.
 */
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "llmp_provider.h"

/* ---- per-request state ---- */

/* A stream's tool call, by Cohere's index. */
typedef struct {
    int native_index;
    int oai_index;
    int sent;                      /* some of its arguments were sent */
    int done;                      /* its arguments are complete */
    const char *held;              /* arguments held back: blank or a
                                      prefix of "null" so far */
} cohere_tool_t;

typedef struct {
    /* embeddings */
    int base64;
    /* stream */
    int started;                   /* role chunk sent */
    int ended;                     /* message-end seen */
    int thinking;                  /* the open content block is "thinking" */
    int ntools;                    /* OpenAI tool indexes handed out */
    int cur_tool;                  /* OpenAI index of the open call, -1 */
    apr_array_header_t *tools;     /* cohere_tool_t */
    long in_tokens, out_tokens, cached;  /* cached: -1 when not reported */
    int have_usage;
} cohere_state_t;

static cohere_state_t *cohere_state(llmp_xlate_t *x)
{
    cohere_state_t *st = x->state;

    if (!st) {
        st = apr_pcalloc(x->pool, sizeof(*st));
        st->cur_tool = -1;
        st->cached = -1;
        st->tools = apr_array_make(x->pool, 4, sizeof(cohere_tool_t));
        x->state = st;
    }
    return st;
}

/* ---- request: messages ---- */

/* OpenAI content (string or parts) -> Cohere content. kind: 'u' user (text
 * and images), 's' system (text), 't' tool (text). NULL and *err on error. */
static cJSON *convert_content(llmp_xlate_t *x, const cJSON *content, int kind,
                              int mi, llmp_error_t **err)
{
    const char *param = apr_psprintf(x->pool, "messages[%d].content", mi);
    const cJSON *part;
    cJSON *arr;

    if (cJSON_IsString(content))
        return cJSON_CreateString(content->valuestring);
    if (!cJSON_IsArray(content)) {
        *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                   "messages[%d].content must be a string or an array of "
                   "content parts", mi));
        return NULL;
    }
    arr = cJSON_CreateArray();
    cJSON_ArrayForEach(part, content) {
        const char *type = llmp_json_str(part, "type");
        cJSON *c;

        if (type && !strcmp(type, "text")) {
            const char *text = llmp_json_str(part, "text");
            if (!text) {
                *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                           "messages[%d]: a text part needs a string "
                           "\"text\"", mi));
                cJSON_Delete(arr);
                return NULL;
            }
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "type", "text");
            cJSON_AddStringToObject(c, "text", text);
            cJSON_AddItemToArray(arr, c);
        }
        else if (type && !strcmp(type, "image_url") && kind == 'u') {
            const cJSON *iu = llmp_json_get(part, "image_url");
            const char *url = cJSON_IsString(iu) ? iu->valuestring
                                                 : llmp_json_str(iu, "url");
            const char *detail = llmp_json_str(iu, "detail");
            cJSON *img;

            if (!url || !*url) {
                *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                           "messages[%d]: an image_url part needs "
                           "image_url.url", mi));
                cJSON_Delete(arr);
                return NULL;
            }
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "type", "image_url");
            img = cJSON_AddObjectToObject(c, "image_url");
            cJSON_AddStringToObject(img, "url", url);
            if (detail) cJSON_AddStringToObject(img, "detail", detail);
            cJSON_AddItemToArray(arr, c);
        }
        else if (type && !strcmp(type, "file")) {
            *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "messages[%d]: Cohere models take no file parts "
                       "(PDF or other documents): send the document's text "
                       "instead", mi));
            cJSON_Delete(arr);
            return NULL;
        }
        else {
            *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "messages[%d]: content part type '%s' is not "
                       "supported by Cohere models%s", mi,
                       type ? type : "(none)",
                       kind == 'u' ? "" : " in this role"));
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* An assistant message's tool_calls -> Cohere tool_calls. */
static cJSON *convert_tool_calls(llmp_xlate_t *x, const cJSON *calls, int mi,
                                 llmp_error_t **err)
{
    const char *param = apr_psprintf(x->pool, "messages[%d].tool_calls", mi);
    const cJSON *tc;
    cJSON *arr;

    if (!cJSON_IsArray(calls)) {
        *err = llmp_bad_request(x->pool, param, "tool_calls must be an array");
        return NULL;
    }
    arr = cJSON_CreateArray();
    cJSON_ArrayForEach(tc, calls) {
        const cJSON *fn = llmp_json_get(tc, "function"),
                    *args = llmp_json_get(fn, "arguments");
        const char *id = llmp_json_str(tc, "id");
        const char *name = llmp_json_str(fn, "name");
        const char *type = llmp_json_str(tc, "type");
        cJSON *c, *f;

        if (!id || !name || (type && strcmp(type, "function"))) {
            *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "messages[%d]: each tool call needs an \"id\" and a "
                       "function with a \"name\"", mi));
            cJSON_Delete(arr);
            return NULL;
        }
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", id);
        cJSON_AddStringToObject(c, "type", "function");
        f = cJSON_AddObjectToObject(c, "function");
        cJSON_AddStringToObject(f, "name", name);
        if (cJSON_IsString(args)) {
            cJSON_AddStringToObject(f, "arguments", args->valuestring);
        }
        else if (cJSON_IsObject(args)) {
            char *s = llmp_json_print(x->pool, args, NULL);
            cJSON_AddStringToObject(f, "arguments", s ? s : "{}");
        }
        else {
            cJSON_AddStringToObject(f, "arguments", "{}");
        }
        cJSON_AddItemToArray(arr, c);
    }
    return arr;
}

static llmp_error_t *convert_messages(llmp_xlate_t *x, const cJSON *msgs,
                                      cJSON *out)
{
    const cJSON *m;
    llmp_error_t *err = NULL;
    int mi = 0;

    if (!cJSON_IsArray(msgs) || !cJSON_GetArraySize(msgs))
        return llmp_bad_request(x->pool, "messages",
                                "'messages' must be a non-empty array");
    cJSON_ArrayForEach(m, msgs) {
        const char *role = llmp_json_str(m, "role");
        const cJSON *content = llmp_json_get(m, "content");
        cJSON *nm, *c;

        if (!role) {
            return llmp_bad_request(x->pool,
                                    apr_psprintf(x->pool, "messages[%d].role",
                                                 mi),
                                    apr_psprintf(x->pool,
                                                 "messages[%d] needs a "
                                                 "string \"role\"",
                                                 mi));
        }
        nm = cJSON_CreateObject();
        cJSON_AddItemToArray(out, nm);
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            cJSON_AddStringToObject(nm, "role", "system");
            if (!(c = convert_content(x, content, 's', mi, &err))) return err;
            cJSON_AddItemToObject(nm, "content", c);
        }
        else if (!strcmp(role, "user")) {
            cJSON_AddStringToObject(nm, "role", "user");
            if (!(c = convert_content(x, content, 'u', mi, &err))) return err;
            cJSON_AddItemToObject(nm, "content", c);
        }
        else if (!strcmp(role, "assistant")) {
            const cJSON *calls = llmp_json_get(m, "tool_calls");
            const char *text = NULL;

            if (content && !cJSON_IsNull(content)) {
                if (!cJSON_IsString(content) && !cJSON_IsArray(content))
                    return llmp_bad_request(x->pool, apr_psprintf(x->pool,
                               "messages[%d].content", mi),
                               "assistant content must be a string, an "
                               "array of text parts or null");
                text = llmp_content_text(x->pool, content);
            }
            cJSON_AddStringToObject(nm, "role", "assistant");
            if (calls && !cJSON_IsNull(calls) && cJSON_GetArraySize(calls)) {
                if (!(c = convert_tool_calls(x, calls, mi, &err))) return err;
                if (text && *text)
                    cJSON_AddStringToObject(nm, "tool_plan", text);
                cJSON_AddItemToObject(nm, "tool_calls", c);
            }
            else if (calls && !cJSON_IsNull(calls) && !cJSON_IsArray(calls)) {
                return llmp_bad_request(x->pool, apr_psprintf(x->pool,
                           "messages[%d].tool_calls", mi),
                           "tool_calls must be an array");
            }
            else {
                cJSON_AddStringToObject(nm, "content", text ? text : "");
            }
        }
        else if (!strcmp(role, "tool")) {
            const char *id = llmp_json_str(m, "tool_call_id");

            if (!id)
                return llmp_bad_request(x->pool, apr_psprintf(x->pool,
                           "messages[%d].tool_call_id", mi),
                           apr_psprintf(x->pool, "messages[%d]: a tool "
                                        "message needs \"tool_call_id\"", mi));
            cJSON_AddStringToObject(nm, "role", "tool");
            cJSON_AddStringToObject(nm, "tool_call_id", id);
            if (!(c = convert_content(x, content, 't', mi, &err))) return err;
            cJSON_AddItemToObject(nm, "content", c);
        }
        else {
            return llmp_bad_request(x->pool,
                                    apr_psprintf(x->pool, "messages[%d].role",
                                                 mi),
                                    apr_psprintf(x->pool,
                                                 "messages[%d]: role '%s' "
                                                 "is not supported by Cohere "
                                                 "models",
                                                 mi, role));
        }
        mi++;
    }
    return NULL;
}

/* ---- request: tools ---- */

static llmp_error_t *convert_tools(llmp_xlate_t *x, const cJSON *req,
                                  cJSON *root)
{
    const cJSON *tools = llmp_json_get(req, "tools"),
                *choice = llmp_json_get(req, "tool_choice");
    const cJSON *t;
    const char *only = NULL, *mode = NULL;
    cJSON *arr;
    int strict = 0, found = 0, ti = 0;

    if (tools && !cJSON_IsNull(tools) && !cJSON_IsArray(tools))
        return llmp_bad_request(x->pool, "tools", "'tools' must be an array");
    if (cJSON_IsString(choice)) {
        if (!strcmp(choice->valuestring, "none")) mode = "NONE";
        else if (!strcmp(choice->valuestring, "required")) mode = "REQUIRED";
        else if (strcmp(choice->valuestring, "auto"))
            return llmp_bad_request(
                x->pool, "tool_choice",
                apr_psprintf(x->pool, "tool_choice '%s' is not supported",
                             choice->valuestring));
    }
    else if (cJSON_IsObject(choice)) {
        only = llmp_json_str(llmp_json_get(choice, "function"), "name");
        if (!only)
            return llmp_bad_request(x->pool, "tool_choice",
                                    "tool_choice must name a function: "
                                    "{\"type\":\"function\",\"function\":"
                                    "{\"name\":...}}");
        mode = "REQUIRED";
    }
    else if (choice && !cJSON_IsNull(choice)) {
        return llmp_bad_request(x->pool, "tool_choice", "invalid tool_choice");
    }
    if (!cJSON_IsArray(tools) || !cJSON_GetArraySize(tools)) {
        if (mode && strcmp(mode, "NONE"))
            return llmp_bad_request(x->pool, "tool_choice",
                                    "tool_choice requires 'tools'");
        return NULL;
    }
    arr = cJSON_AddArrayToObject(root, "tools");
    cJSON_ArrayForEach(t, tools) {
        const cJSON *fn = llmp_json_get(t, "function"),
                    *params = llmp_json_get(fn, "parameters");
        const char *type = llmp_json_str(t, "type");
        const char *name = llmp_json_str(fn, "name");
        const char *desc = llmp_json_str(fn, "description");
        cJSON *c, *f;

        if (!type || strcmp(type, "function") || !name) {
            return llmp_bad_request(
                x->pool, apr_psprintf(x->pool, "tools[%d]", ti),
                "only tools of type 'function' with a name "
                "are supported by Cohere models");
        }
        ti++;
        if (only && strcmp(only, name)) continue;
        found = 1;
        if (cJSON_IsTrue(llmp_json_get(fn, "strict"))) strict = 1;
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "function");
        f = cJSON_AddObjectToObject(c, "function");
        cJSON_AddStringToObject(f, "name", name);
        if (desc) cJSON_AddStringToObject(f, "description", desc);
        if (cJSON_IsObject(params))
            cJSON_AddItemToObject(f, "parameters", cJSON_Duplicate(params, 1));
        else {
            /* Cohere wants a schema; OpenAI allows none (no arguments) */
            cJSON *p = cJSON_AddObjectToObject(f, "parameters");
            cJSON_AddStringToObject(p, "type", "object");
            cJSON_AddObjectToObject(p, "properties");
        }
        cJSON_AddItemToArray(arr, c);
    }
    if (only && !found)
        return llmp_bad_request(x->pool, "tool_choice", apr_psprintf(x->pool,
                   "tool_choice names function '%s', which is not in 'tools'",
                   only));
    if (strict) cJSON_AddTrueToObject(root, "strict_tools");
    if (mode) cJSON_AddStringToObject(root, "tool_choice", mode);
    return NULL;
}

static llmp_error_t *convert_response_format(llmp_xlate_t *x,
                                             const cJSON *req, cJSON *root)
{
    const cJSON *rf = llmp_json_get(req, "response_format");
    const char *type;
    cJSON *o;

    if (!rf || cJSON_IsNull(rf)) return NULL;
    type = llmp_json_str(rf, "type");
    if (!type)
        return llmp_bad_request(x->pool, "response_format",
                                "response_format needs a \"type\"");
    if (!strcmp(type, "text")) return NULL;
    if (!strcmp(type, "json_object")) {
        o = cJSON_AddObjectToObject(root, "response_format");
        cJSON_AddStringToObject(o, "type", "json_object");
        return NULL;
    }
    if (!strcmp(type, "json_schema")) {
        const cJSON *schema =
            llmp_json_get(llmp_json_get(rf, "json_schema"), "schema");
        if (!cJSON_IsObject(schema))
            return llmp_bad_request(x->pool, "response_format",
                                    "response_format json_schema needs "
                                    "json_schema.schema (an object)");
        o = cJSON_AddObjectToObject(root, "response_format");
        cJSON_AddStringToObject(o, "type", "json_object");
        cJSON_AddItemToObject(o, "json_schema", cJSON_Duplicate(schema, 1));
        return NULL;
    }
    return llmp_bad_request(x->pool, "response_format", apr_psprintf(x->pool,
               "response_format type '%s' is not supported", type));
}

/* reasoning_effort -> thinking (see the top); max_tokens: the client's, or
 * 0. */
static llmp_error_t *convert_thinking(llmp_xlate_t *x, const cJSON *req,
                                      cJSON *root, int max_tokens)
{
    const cJSON *v = llmp_json_get(req, "reasoning_effort");
    const char *e;
    cJSON *th;
    int budget;

    if (!v || cJSON_IsNull(v)) return NULL;
    e = cJSON_IsString(v) ? v->valuestring : "";
    if (!strcmp(e, "none")) budget = 0;
    else if (!strcmp(e, "minimal") || !strcmp(e, "low")) budget = 1024;
    else if (!strcmp(e, "medium")) budget = 4096;
    else if (!strcmp(e, "high") || !strcmp(e, "xhigh")) budget = 16384;
    else
        return llmp_bad_request(x->pool, "reasoning_effort",
                                "reasoning_effort must be \"none\", "
                                "\"minimal\", \"low\", \"medium\" or "
                                "\"high\"");
    /* only reasoning models take "thinking" (Cohere refuses it for the
     * others): the effort is dropped for them */
    if (!llmp_reasoning_allowed(x, llmp_model_has(x->model_id,
                                                  "reasoning")))
        return NULL;
    th = cJSON_AddObjectToObject(root, "thinking");
    if (!budget) {
        cJSON_AddStringToObject(th, "type", "disabled");
        return NULL;
    }
    cJSON_AddStringToObject(th, "type", "enabled");
    if (max_tokens > 0 && budget >= max_tokens) budget = max_tokens - 1;
    if (budget > 0) llmp_json_add_int(th, "token_budget", budget);
    return NULL;
}

/* Copy a numeric member under another name; 400 if present but not a
 * number. */
static llmp_error_t *copy_number(llmp_xlate_t *x, const cJSON *req,
                                 const char *from, cJSON *root,
                                 const char *to)
{
    const cJSON *v = llmp_json_get(req, from);

    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsNumber(v))
        return llmp_bad_request(x->pool, from, apr_psprintf(x->pool,
                                "'%s' must be a number", from));
    cJSON_AddNumberToObject(root, to, v->valuedouble);
    return NULL;
}

static llmp_error_t *llmp_cohere_chat_request(llmp_xlate_t *x,
                                              const cJSON *req,
                                              llmp_native_req_t *out)
{
    cJSON *root, *msgs;
    const cJSON *v;
    llmp_error_t *err;
    apr_array_header_t *stop;
    int max_tokens, max_tokens_set = 0, i;

    if (!cJSON_IsObject(req))
        return llmp_bad_request(x->pool, NULL,
                                "the request body must be a JSON object");
    v = llmp_json_get(req, "n");
    if (cJSON_IsNumber(v) && v->valuedouble != 1)
        return llmp_bad_request(x->pool, "n",
                                "Cohere models return one choice: 'n' "
                                "must be 1");
    root = cJSON_CreateObject();
    llmp_json_pool_own(x->pool, root);
    cJSON_AddStringToObject(root, "model", x->model_id);
    msgs = cJSON_AddArrayToObject(root, "messages");
    if ((err = convert_messages(x, llmp_json_get(req, "messages"), msgs)))
        return err;
    if ((err = convert_tools(x, req, root))) return err;
    if ((err = convert_response_format(x, req, root))) return err;

    v = llmp_json_get(req, "max_completion_tokens");
    if (!v || cJSON_IsNull(v)) v = llmp_json_get(req, "max_tokens");
    if (v && !cJSON_IsNull(v)) {
        max_tokens = llmp_req_max_tokens(req);
        if (max_tokens < 1)
            return llmp_bad_request(x->pool, "max_tokens",
                                    "'max_tokens' must be a positive integer");
        llmp_json_add_int(root, "max_tokens", max_tokens);
        max_tokens_set = max_tokens;
    }
    if ((err = copy_number(x, req, "temperature", root, "temperature")))
        return err;
    v = llmp_json_get(req, "top_p");
    if (v && !cJSON_IsNull(v)) {
        double p;
        if (!cJSON_IsNumber(v))
            return llmp_bad_request(x->pool, "top_p",
                                    "'top_p' must be a number");
        p = v->valuedouble;
        /* Cohere accepts 0.01..0.99; OpenAI's default 1 means "no cut" */
        if (p > 0.99) p = 0.99;
        if (p < 0.01) p = 0.01;
        cJSON_AddNumberToObject(root, "p", p);
    }
    if ((err = convert_thinking(x, req, root, max_tokens_set))) return err;
    v = llmp_json_get(req, "seed");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble < -9e18
            || v->valuedouble > 9e18
            || v->valuedouble != (double)(long long)v->valuedouble)
            return llmp_bad_request(x->pool, "seed",
                                    "'seed' must be an integer");
        cJSON_AddNumberToObject(root, "seed", v->valuedouble);
    }
    if ((err = copy_number(x, req, "frequency_penalty", root,
                           "frequency_penalty")))
        return err;
    if ((err = copy_number(x, req, "presence_penalty", root,
                           "presence_penalty")))
        return err;
    v = llmp_json_get(req, "stop");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) && !cJSON_IsArray(v))
            return llmp_bad_request(x->pool, "stop",
                                    "'stop' must be a string or an "
                                    "array of strings");
        stop = llmp_stop_list(x->pool, v);
        if (stop->nelts) {
            cJSON *a = cJSON_AddArrayToObject(root, "stop_sequences");
            for (i = 0; i < stop->nelts; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(
                    APR_ARRAY_IDX(stop, i, const char *)));
        }
    }
    if (x->stream) {
        cJSON_AddTrueToObject(root, "stream");
        out->stream = 1;
    }
    else {
        out->stream = 0;
    }
    out->path = x->handle;
    out->content_type = NULL;
    {
        llmp_error_t *e = llmp_json_out(x->pool, root, &out->body, &out->len);
        if (e) return e;
    }
    cohere_state(x);
    return NULL;
}

/* ---- response ---- */

/* Tool call arguments that mean "none": blank or "null" (around blanks).
 * prefix: also a part of those that more pieces could complete. */
static int no_args(const char *a, int prefix)
{
    static const char null[] = "null";
    apr_size_t n;

    while (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n') a++;
    for (n = 0; n < 4 && a[n] == null[n]; n++)
        ;
    if (n < 4 && a[n]) return 0;            /* something else */
    if (n < 4 && !prefix && n) return 0;    /* "nu": not JSON, kept */
    for (a += n; *a; a++) {
        if (*a != ' ' && *a != '\t' && *a != '\r' && *a != '\n') return 0;
    }
    return 1;
}

/* Cohere finish reason -> OpenAI. *status is set (and NULL returned) for the
 * reasons that are failures. */
static const char *map_finish(const char *r, int *status)
{
    *status = 0;
    if (!r) return LLMP_FINISH_STOP;
    if (!strcasecmp(r, "COMPLETE") || !strcasecmp(r, "STOP_SEQUENCE"))
        return LLMP_FINISH_STOP;
    if (!strcasecmp(r, "MAX_TOKENS") || !strcasecmp(r, "ERROR_LIMIT"))
        return LLMP_FINISH_LENGTH;
    if (!strcasecmp(r, "TOOL_CALL")) return LLMP_FINISH_TOOL_CALLS;
    if (!strcasecmp(r, "ERROR_TOXIC") || !strcasecmp(r, "CONTENT_BLOCKED"))
        return LLMP_FINISH_CONTENT_FILTER;
    if (!strcasecmp(r, "ERROR")) { *status = 502; return NULL; }
    if (!strcasecmp(r, "TIMEOUT")) { *status = 504; return NULL; }
    return LLMP_FINISH_STOP;
}

static long num_member(const cJSON *o, const char *name)
{
    const cJSON *v = llmp_json_get(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
        return -1;
    return (long)v->valuedouble;
}

/* usage.tokens, else usage.billed_units; returns 0 if neither has numbers.
 * *cached: usage.cached_tokens (prompt tokens that hit Cohere's cache, a
 * part of the input tokens), -1 when absent. */
static int read_usage(const cJSON *usage, long *in, long *outp, long *cached)
{
    const cJSON *t = llmp_json_get(usage, "tokens"),
                *b = llmp_json_get(usage, "billed_units");
    long i = num_member(t, "input_tokens"), o = num_member(t, "output_tokens");

    *cached = num_member(usage, "cached_tokens");
    if (i < 0 && o < 0) {
        i = num_member(b, "input_tokens");
        o = num_member(b, "output_tokens");
    }
    if (i < 0 && o < 0) return 0;
    *in = i < 0 ? 0 : i;
    *outp = o < 0 ? 0 : o;
    return 1;
}

static llmp_error_t *finish_error(llmp_xlate_t *x, int status,
                                  const char *reason, const char *msg)
{
    return llmp_error_make(x->pool, status, status == 504 ? "timeout_error"
                           : "api_error", NULL, NULL,
                           "Cohere ended the generation with %s%s%s",
                           reason, msg ? ": " : "", msg ? msg : "");
}

static llmp_error_t *llmp_cohere_chat_response(llmp_xlate_t *x,
                                               const cJSON *native,
                                               cJSON **out)
{
    const cJSON *msg = llmp_json_get(native, "message"), *content, *calls,
                *part;
    const char *text = NULL, *reason, *finish, *thought = NULL;
    apr_array_header_t *texts = NULL, *thoughts = NULL;
    cJSON *resp, *m;
    long in = 0, o = 0, cached = -1;
    int status;

    if (!cJSON_IsObject(msg))
        return llmp_bad_upstream(x->pool, "Cohere", "no \"message\"");
    reason = llmp_json_str(native, "finish_reason");
    finish = map_finish(reason, &status);
    if (!finish)
        return finish_error(x, status, reason, llmp_json_str(native, "error"));
    content = llmp_json_get(msg, "content");
    if (cJSON_IsArray(content)) {
        cJSON_ArrayForEach(part, content) {
            const char *type = llmp_json_str(part, "type");
            const char *t = llmp_json_str(part, "text");
            if (type && !strcmp(type, "thinking")) {
                t = llmp_json_str(part, "thinking");
                if (t && x->want_reasoning) {
                    if (!thoughts)
                        thoughts = apr_array_make(x->pool, 2,
                                                  sizeof(const char *));
                    APR_ARRAY_PUSH(thoughts, const char *) = t;
                }
                continue;
            }
            if (!t || (type && strcmp(type, "text"))) continue;
            if (!texts)
                texts = apr_array_make(x->pool, 2, sizeof(const char *));
            APR_ARRAY_PUSH(texts, const char *) = t;
        }
        /* joined once: linear in the parts */
        if (texts) text = apr_array_pstrcat(x->pool, texts, 0);
        if (thoughts) thought = apr_array_pstrcat(x->pool, thoughts, 0);
    }
    else if (cJSON_IsString(content)) {
        text = content->valuestring;
    }
    calls = llmp_json_get(msg, "tool_calls");
    if (cJSON_IsArray(calls) && cJSON_GetArraySize(calls)
        && !strcmp(finish, LLMP_FINISH_STOP))
        finish = LLMP_FINISH_TOOL_CALLS;
    resp = llmp_completion_new(x->id, x->created, x->model_id);
    llmp_json_pool_own(x->pool, resp);
    m = llmp_completion_add_choice(resp, 0, text, finish);
    if (thought) cJSON_AddStringToObject(m, "reasoning_content", thought);
    if (cJSON_IsArray(calls)) {
        const cJSON *tc;
        cJSON_ArrayForEach(tc, calls) {
            const cJSON *fn = llmp_json_get(tc, "function"),
                        *args = llmp_json_get(fn, "arguments");
            const char *id = llmp_json_str(tc, "id");
            const char *name = llmp_json_str(fn, "name");
            const char *a = NULL;

            if (!id || !name)
                return llmp_bad_upstream(x->pool, "Cohere",
                                         "a tool call without id or name");
            if (cJSON_IsString(args)) a = args->valuestring;
            else if (cJSON_IsObject(args)) a = llmp_json_print(x->pool, args,
                                                               NULL);
            /* "", blank, null or "null": no arguments, an empty object for
             * the clients, which parse them as one */
            if (!a || no_args(a, 0)) a = "{}";
            llmp_message_add_tool_call(m, id, name, a);
        }
    }
    read_usage(llmp_json_get(native, "usage"), &in, &o, &cached);
    cJSON_AddItemToObject(resp, "usage", llmp_usage_new(in, o, cached));
    *out = resp;
    return NULL;
}

/* ---- stream ---- */

static llmp_error_t *emit_chunk(llmp_xlate_t *x, cJSON *chunk)
{
    apr_status_t rv = llmp_xlate_emit(x, chunk);

    cJSON_Delete(chunk);
    if (rv != APR_SUCCESS)
        return llmp_error_make(x->pool, 500, "api_error", NULL, NULL,
                               "cannot write the stream to the client");
    return NULL;
}

static llmp_error_t *ensure_started(llmp_xlate_t *x, cohere_state_t *st)
{
    cJSON *chunk, *delta;

    if (st->started) return NULL;
    st->started = 1;
    chunk = llmp_chunk_new(x->id, x->created, x->model_id);
    delta = llmp_chunk_add_choice(chunk, 0, NULL);
    cJSON_AddStringToObject(delta, "role", "assistant");
    cJSON_AddStringToObject(delta, "content", "");
    return emit_chunk(x, chunk);
}

static llmp_error_t *emit_text(llmp_xlate_t *x, cohere_state_t *st,
                               const char *text)
{
    llmp_error_t *err;
    cJSON *chunk, *delta;

    if (!text || !*text) return NULL;
    if ((err = ensure_started(x, st))) return err;
    chunk = llmp_chunk_new(x->id, x->created, x->model_id);
    delta = llmp_chunk_add_choice(chunk, 0, NULL);
    cJSON_AddStringToObject(delta, "content", text);
    return emit_chunk(x, chunk);
}

/* A piece of a thinking block ("thinking", or "text"): a delta
 * "reasoning_content" when the front wants reasoning. */
static llmp_error_t *emit_thought(llmp_xlate_t *x, cohere_state_t *st,
                                  const cJSON *content)
{
    const char *t = llmp_json_str(content, "thinking");
    llmp_error_t *err;
    cJSON *chunk, *delta;

    if ((err = ensure_started(x, st))) return err;
    if (!t) t = llmp_json_str(content, "text");
    if (!x->want_reasoning || !t || !*t) return NULL;
    chunk = llmp_chunk_new(x->id, x->created, x->model_id);
    delta = llmp_chunk_add_choice(chunk, 0, NULL);
    cJSON_AddStringToObject(delta, "reasoning_content", t);
    return emit_chunk(x, chunk);
}

static llmp_error_t *emit_tool(llmp_xlate_t *x, cohere_state_t *st, int index,
                               const char *id, const char *name,
                               const char *args)
{
    llmp_error_t *err;
    cJSON *chunk, *delta;

    if ((err = ensure_started(x, st))) return err;
    chunk = llmp_chunk_new(x->id, x->created, x->model_id);
    delta = llmp_chunk_add_choice(chunk, 0, NULL);
    llmp_delta_add_tool_call(delta, index, id, name, args);
    return emit_chunk(x, chunk);
}

/* The message's tool call object of a tool-call-* event (an object, or the
 * first element if a list). */
static const cJSON *event_tool_call(const cJSON *ev)
{
    const cJSON *tc =
        llmp_json_get(llmp_json_get(llmp_json_get(ev, "delta"), "message"),
                      "tool_calls");
    if (cJSON_IsArray(tc)) tc = cJSON_GetArrayItem(tc, 0);
    return cJSON_IsObject(tc) ? tc : NULL;
}

static int event_index(const cJSON *ev)
{
    const cJSON *v = llmp_json_get(ev, "index");
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e6)
        return -1;
    return (int)v->valuedouble;
}

/* Send a piece of the arguments of call t. What may still turn out to be
 * no arguments (blank, "null") is held back: the call then gets "{}" at
 * its end, as OpenAI clients parse arguments as a JSON object. */
static llmp_error_t *tool_args(llmp_xlate_t *x, cohere_state_t *st,
                               cohere_tool_t *t, const char *piece)
{
    const char *all;

    if (!piece || !*piece || t->done) return NULL;
    if (t->sent) return emit_tool(x, st, t->oai_index, NULL, NULL, piece);
    all = t->held ? apr_pstrcat(x->pool, t->held, piece, NULL) : piece;
    if (strlen(all) < 256 && no_args(all, 1)) {
        t->held = apr_pstrdup(x->pool, all);
        return NULL;
    }
    t->held = NULL;
    t->sent = 1;
    return emit_tool(x, st, t->oai_index, NULL, NULL, all);
}

/* The end of call t: "{}" if no arguments were sent. */
static llmp_error_t *tool_end(llmp_xlate_t *x, cohere_state_t *st,
                              cohere_tool_t *t)
{
    if (t->done) return NULL;
    t->done = 1;
    if (t->sent) return NULL;
    t->sent = 1;
    t->held = NULL;
    return emit_tool(x, st, t->oai_index, NULL, NULL, "{}");
}

/* tool-call-end: the call of its index, else the open one. */
static llmp_error_t *on_tool_end(llmp_xlate_t *x, cohere_state_t *st,
                                 const cJSON *ev)
{
    int idx = event_index(ev), oai = st->cur_tool, i;

    if (idx >= 0) {
        for (i = st->tools->nelts - 1; i >= 0; i--) {
            cohere_tool_t *t = &APR_ARRAY_IDX(st->tools, i, cohere_tool_t);
            if (t->native_index == idx) { oai = t->oai_index; break; }
        }
    }
    st->cur_tool = -1;
    if (oai < 0) return NULL;
    return tool_end(x, st, &APR_ARRAY_IDX(st->tools, oai, cohere_tool_t));
}

static llmp_error_t *on_tool_start(llmp_xlate_t *x, cohere_state_t *st,
                                   const cJSON *ev)
{
    const cJSON *tc = event_tool_call(ev), *fn = llmp_json_get(tc, "function");
    const char *id = llmp_json_str(tc, "id"), *name = llmp_json_str(fn, "name");
    const char *args = llmp_json_str(fn, "arguments");
    cohere_tool_t *t;
    llmp_error_t *err;

    if (!id || !*id || !name || !*name)
        return llmp_bad_upstream(x->pool, "Cohere",
                                 "tool-call-start without id or name");
    if (st->ntools >= 1024)
        return llmp_bad_upstream(x->pool, "Cohere", "too many tool calls");
    t = apr_array_push(st->tools);
    memset(t, 0, sizeof(*t));
    t->native_index = event_index(ev);
    t->oai_index = st->ntools++;
    st->cur_tool = t->oai_index;
    if ((err = emit_tool(x, st, t->oai_index, id, name, ""))) return err;
    return tool_args(x, st, t, args);
}

static llmp_error_t *on_tool_delta(llmp_xlate_t *x, cohere_state_t *st,
                                   const cJSON *ev)
{
    const cJSON *tc = event_tool_call(ev);
    const char *args =
        llmp_json_str(llmp_json_get(tc, "function"), "arguments");
    int idx = event_index(ev), oai = -1, i;

    if (!args || !*args) return NULL;
    if (idx >= 0) {
        for (i = st->tools->nelts - 1; i >= 0; i--) {
            cohere_tool_t *t = &APR_ARRAY_IDX(st->tools, i, cohere_tool_t);
            if (t->native_index == idx) { oai = t->oai_index; break; }
        }
    }
    if (oai < 0) oai = st->cur_tool;
    if (oai < 0)
        return llmp_bad_upstream(x->pool, "Cohere",
                                 "tool-call-delta before "
                                 "tool-call-start");
    return tool_args(x, st, &APR_ARRAY_IDX(st->tools, oai, cohere_tool_t),
                     args);
}

static llmp_error_t *on_message_end(llmp_xlate_t *x, cohere_state_t *st,
                                    const cJSON *ev)
{
    const cJSON *delta = llmp_json_get(ev, "delta");
    const char *reason = llmp_json_str(delta, "finish_reason");
    const char *finish;
    llmp_error_t *err;
    cJSON *chunk;
    int status, i;

    st->ended = 1;
    if (read_usage(llmp_json_get(delta, "usage"), &st->in_tokens,
                   &st->out_tokens, &st->cached))
        st->have_usage = 1;
    finish = map_finish(reason, &status);
    if (!finish)
        return finish_error(x, status, reason, llmp_json_str(delta, "error"));
    if (st->ntools && !strcmp(finish, LLMP_FINISH_STOP))
        finish = LLMP_FINISH_TOOL_CALLS;
    if ((err = ensure_started(x, st))) return err;
    for (i = 0; i < st->tools->nelts; i++) {
        err = tool_end(x, st, &APR_ARRAY_IDX(st->tools, i, cohere_tool_t));
        if (err) return err;
    }
    chunk = llmp_chunk_new(x->id, x->created, x->model_id);
    llmp_chunk_add_choice(chunk, 0, finish);
    if ((err = emit_chunk(x, chunk))) return err;
    if (x->include_usage) {
        chunk = llmp_chunk_new(x->id, x->created, x->model_id);
        cJSON_AddItemToObject(chunk, "usage",
                              llmp_usage_new(st->in_tokens, st->out_tokens,
                                             st->cached));
        return emit_chunk(x, chunk);
    }
    return NULL;
}

static llmp_error_t *dispatch_event(llmp_xlate_t *x, cohere_state_t *st,
                                    const char *type, const cJSON *ev)
{
    const cJSON *content;

    if (!strcmp(type, "message-start")) {
        return ensure_started(x, st);
    }
    if (!strcmp(type, "content-start")) {
        content =
            llmp_json_get(llmp_json_get(llmp_json_get(ev, "delta"), "message"),
                          "content");
        st->thinking = 0;
        if (llmp_json_str(content, "type")
            && !strcmp(llmp_json_str(content, "type"), "thinking")) {
            st->thinking = 1;
            return emit_thought(x, st, content);
        }
        return emit_text(x, st, llmp_json_str(content, "text"));
    }
    if (!strcmp(type, "content-delta")) {
        content =
            llmp_json_get(llmp_json_get(llmp_json_get(ev, "delta"), "message"),
                          "content");
        if (st->thinking) return emit_thought(x, st, content);
        return emit_text(x, st, llmp_json_str(content, "text"));
    }
    if (!strcmp(type, "content-end")) {
        st->thinking = 0;
        return NULL;
    }
    if (!strcmp(type, "tool-call-start")) return on_tool_start(x, st, ev);
    if (!strcmp(type, "tool-call-delta")) return on_tool_delta(x, st, ev);
    if (!strcmp(type, "tool-call-end")) return on_tool_end(x, st, ev);
    if (!strcmp(type, "message-end")) return on_message_end(x, st, ev);
    if (!strcmp(type, "error")) {
        const char *m = llmp_json_str(ev, "message");
        if (!m) m = llmp_json_str(llmp_json_get(ev, "delta"), "error");
        return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                               "Cohere stream error: %s",
                               m ? m : "unknown error");
    }
    /* tool-plan-delta, citation-start/end, debug and anything new: skip */
    return NULL;
}

static llmp_error_t *llmp_cohere_chat_stream_event(llmp_xlate_t *x,
                                                   const char *event,
                                                   const char *data,
                                                   apr_size_t len)
{
    cohere_state_t *st = cohere_state(x);
    const char *type;
    llmp_error_t *err;
    cJSON *ev;

    if (st->ended || !data || !len) return NULL;
    ev = cJSON_ParseWithLength(data, len);
    if (!ev) return NULL;            /* "[DONE]", keep-alives: not ours */
    if (!cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        return NULL;
    }
    type = llmp_json_str(ev, "type");
    if (!type && event && *event) type = event;
    if (!type) {
        /* an error object in place of an event: {"message": ...} */
        const char *m = llmp_json_str(ev, "message");
        err = m ? llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                                  "Cohere stream error: %s", m) : NULL;
        cJSON_Delete(ev);
        return err;
    }
    err = dispatch_event(x, st, type, ev);
    cJSON_Delete(ev);
    return err;
}

static llmp_error_t *llmp_cohere_chat_stream_end(llmp_xlate_t *x,
                                                 int upstream_complete)
{
    cohere_state_t *st = cohere_state(x);

    if (st->ended) return NULL;
    if (!upstream_complete)
        return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                               "the connection to Cohere was lost before the "
                               "end of the stream");
    return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                           "the Cohere stream ended without message-end");
}

/* ---- embeddings ---- */

static llmp_error_t *llmp_cohere_embeddings_request(llmp_xlate_t *x,
                                                    const cJSON *req,
                                                    llmp_native_req_t *out)
{
    apr_array_header_t *in;
    llmp_error_t *err = NULL;
    cohere_state_t *st = cohere_state(x);
    const char *itype = x->opts && x->opts->embed_input_type
                        && *x->opts->embed_input_type
                        ? x->opts->embed_input_type : "search_document";
    const cJSON *dim;
    cJSON *root, *texts, *types;
    int b64, i;

    if (!cJSON_IsObject(req))
        return llmp_bad_request(x->pool, NULL,
                                "the request body must be a JSON object");
    if (!(in = llmp_embeddings_input(x->pool, req, &err))) return err;
    b64 = llmp_embeddings_base64(req);
    if (b64 < 0)
        return llmp_bad_request(x->pool, "encoding_format",
                                "'encoding_format' must be \"float\" or "
                                "\"base64\"");
    st->base64 = b64;
    dim = llmp_json_get(req, "dimensions");
    if (dim && !cJSON_IsNull(dim)
        && (!cJSON_IsNumber(dim) || dim->valuedouble < 1
            || dim->valuedouble > 65536
            || dim->valuedouble != (double)(int)dim->valuedouble))
        return llmp_bad_request(x->pool, "dimensions",
                                "'dimensions' must be a positive integer");
    root = cJSON_CreateObject();
    llmp_json_pool_own(x->pool, root);
    cJSON_AddStringToObject(root, "model", x->model_id);
    texts = cJSON_AddArrayToObject(root, "texts");
    for (i = 0; i < in->nelts; i++)
        cJSON_AddItemToArray(texts, cJSON_CreateString(
            APR_ARRAY_IDX(in, i, const char *)));
    cJSON_AddStringToObject(root, "input_type", itype);
    types = cJSON_AddArrayToObject(root, "embedding_types");
    cJSON_AddItemToArray(types, cJSON_CreateString("float"));
    if (cJSON_IsNumber(dim))
        cJSON_AddNumberToObject(root, "output_dimension", dim->valuedouble);
    out->path = x->handle;
    out->stream = 0;
    out->content_type = NULL;
    return llmp_json_out(x->pool, root, &out->body, &out->len);
}

static llmp_error_t *llmp_cohere_embeddings_response(llmp_xlate_t *x,
                                                     const cJSON *native,
                                                     char **out,
                                                     apr_size_t *outlen)
{
    const cJSON *emb = llmp_json_get(native, "embeddings"), *vecs, *v;
    const cJSON *meta = llmp_json_get(native, "meta");
    cohere_state_t *st = cohere_state(x);
    long tokens =
        num_member(llmp_json_get(meta, "billed_units"), "input_tokens");
    cJSON *resp;
    int i = 0;

    /* embeddings_by_type: {"float":[[...]]}; embeddings_floats: [[...]] */
    vecs = cJSON_IsObject(emb) ? llmp_json_get(emb, "float") : emb;
    if (!cJSON_IsArray(vecs))
        return llmp_bad_upstream(x->pool, "Cohere", "no float embeddings");
    if (tokens < 0)
        tokens = num_member(llmp_json_get(meta, "tokens"), "input_tokens");
    resp = llmp_embeddings_new(x->model_id, tokens < 0 ? 0 : tokens);
    llmp_json_pool_own(x->pool, resp);
    cJSON_ArrayForEach(v, vecs) {
        if (!llmp_embeddings_add(x->pool, resp, i, v, st->base64))
            return llmp_bad_upstream(
                x->pool, "Cohere", "an embedding is not an array of numbers");
        i++;
    }
    /* the usage record (read from the tree: a large answer is not parsed
     * again) */
    if (x->usage && tokens >= 0)
        llmp_usage_take(x->usage, llmp_json_get(resp, "usage"),
                        LLMP_USAGE_CHAT);
    return llmp_json_out(x->pool, resp, out, outlen);
}

/* ---- errors ---- */

/* Cohere answers {"message": "..."} (some with "id"); 498 is its
 * "invalid token" status, 499 "client closed request". */
static llmp_error_t *llmp_cohere_error(llmp_xlate_t *x, int status,
                                       const cJSON *native, const char *body,
                                       apr_size_t len)
{
    llmp_error_t *e = llmp_provider_generic_error(x, status, native, body,
                                                  len);
    if (status == 498) {
        e->status = 401;
        e->type = "authentication_error";
    }
    return e;
}

static const char *const cohere_segments[] = { "cohere", NULL };
static const char *const cohere_family_prefixes[] = { "command", NULL };
static const llmp_shape_t cohere_shapes[] = {
    { "/v2/chat", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT, LLMP_KIND_CHAT },
    { "/v2/embed", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT,
      LLMP_KIND_EMBEDDINGS },
    { "/embed", LLMP_SHAPE_SUFFIX, LLMP_KIND_EMBEDDINGS },
    { "/chat", LLMP_SHAPE_SUFFIX, LLMP_KIND_CHAT },
    { NULL, 0, LLMP_KIND_ANY }
};
static const llmp_detect_t cohere_detect = {
    0, cohere_segments, cohere_family_prefixes, NULL, cohere_shapes,
    LLMP_KIND_ANY
};

const llmp_provider_ops_t llmp_cohere_ops = {
    "cohere",
    llmp_cohere_chat_request,
    llmp_cohere_chat_response,
    llmp_cohere_chat_stream_event,
    llmp_cohere_chat_stream_end,
    llmp_cohere_embeddings_request,
    llmp_cohere_embeddings_response,
    NULL, NULL,
    llmp_cohere_error,
    &cohere_detect,
};
