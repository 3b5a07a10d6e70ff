/* Anthropic Messages (/v1/messages): chat, plain and streaming, with tools,
 * translated from and to the OpenAI schema (core: no httpd header).
 *
 * Request mapping (OpenAI chat -> Anthropic Messages):
 *   model = the list's model_version. system/developer messages (wherever
 *     they are) -> top-level "system" text blocks. user/assistant/tool
 *     messages -> alternating user/assistant turns: consecutive messages of
 *     the same Anthropic role are merged; role "tool" -> a user turn of
 *     tool_result blocks (tool_use_id = tool_call_id), placed before any
 *     text of that turn as Anthropic requires. The first turn must be the
 *     user's (400 otherwise: we do not invent a prompt).
 *   Content parts: text; image_url (data: URL -> base64 source, http(s) ->
 *     url source); file with a base64 PDF data URL -> document block.
 *     Empty text is left out (Anthropic refuses empty text blocks).
 *   assistant tool_calls -> tool_use blocks (id kept, arguments parsed:
 *     they must be a JSON object, else 400).
 *   An assistant message's "reasoning_content" with its
 *     "reasoning_signature" (IR extensions) -> a thinking block
 *     {"thinking","signature"} before its other blocks (left out without a
 *     signature: Anthropic refuses an unsigned one, and for a model
 *     without thinking, see below).
 *   max_completion_tokens|max_tokens, else the configured default;
 *     temperature (OpenAI 0..2) clamped to 1; top_p; top_k (Anthropic's own,
 *     passed when sent); stop -> stop_sequences (blank ones left out);
 *     user|safety_identifier|metadata.user_id -> metadata.user_id (the rest
 *     of metadata is dropped: Anthropic takes no other key); n > 1 -> 400.
 *   reasoning_effort -> thinking {"type":"enabled","budget_tokens":N}:
 *     minimal/low 1024, medium 4096, high/xhigh 16384; "none" (or absent)
 *     -> no thinking; another value -> 400. Only for a model with
 *     extended thinking: Claude 3.7 and 4 or later, read from the version
 *     in the model id (llmp_model_version: claude-3-7-*, claude-sonnet-4*,
 *     claude-opus-4-5, claude-sonnet-5, ...), or an id that
 *     LLMProxyReasoningModels names (llmp_reasoning_allowed); for another
 *     model (claude-3-5-*, claude-3-opus, claude-2, an unknown alias) the
 *     effort is dropped silently (Anthropic answers 400 to thinking
 *     there, and Codex sends an effort on every call). Anthropic wants budget_tokens
 *     >= 1024 and < max_tokens: without a client max_tokens, max_tokens is
 *     raised to budget + the default when it is not above the budget; with
 *     one, the budget is lowered to max_tokens - 1, and thinking is left
 *     out when that is below 1024. Thinking is also left out when
 *     tool_choice forces a tool (Anthropic allows only auto/none with
 *     thinking), when the conversation ends with an assistant turn (a
 *     prefill, refused with thinking), and when the last assistant turn
 *     has a tool_use without a thinking block first (Anthropic refuses
 *     that turn with thinking on: a client that does not send the
 *     reasoning back gets an answer without thinking rather than a 400). With thinking on, temperature,
 *     top_p and top_k are dropped silently (Anthropic refuses changes to
 *     them with thinking).
 *   response_format json_object/json_schema -> an instruction appended to
 *     the system prompt (Anthropic has no JSON mode).
 *   tools (function only) -> {name, description, input_schema}; tool_choice
 *     auto/none/required(any)/named(tool); parallel_tool_calls:false ->
 *     tool_choice.disable_parallel_tool_use. tool_choice without tools is
 *     dropped (Anthropic refuses it).
 *   Dropped: seed, logprobs, top_logprobs, frequency/presence_penalty,
 *     logit_bias, stream_options, service_tier, store, verbosity,
 *     prompt_cache_key, x_llmp, modalities, prediction, audio, unknown
 *     members of messages, ...
 * Response: text blocks joined, tool_use -> tool_calls (arguments = the
 *   printed input), redacted_thinking/server tool blocks skipped; thinking
 *   blocks, when x->want_reasoning: their texts joined ->
 *   message.reasoning_content, the last signature ->
 *   message.reasoning_signature (else dropped);
 *   stop_reason end_turn/stop_sequence/pause_turn -> stop, max_tokens ->
 *   length, tool_use -> tool_calls, refusal -> content_filter; usage:
 *   prompt = input + cache_read + cache_creation, cached = cache_read.
 * Stream: a per-request state machine; the event kind is the data's "type"
 *   (the SSE event name is the fallback). tool_use blocks get OpenAI indexes
 *   in order of appearance, kept per Anthropic block index. With
 *   x->want_reasoning, each thinking_delta -> a delta "reasoning_content"
 *   piece, each signature_delta -> a delta "reasoning_signature" (whole;
 *   one per thinking block, the last one is the message's).
 * Usage: Anthropic does not count thinking tokens apart (they are in
 *   output_tokens): no completion_tokens_details.
 */
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "llmp_provider.h"

#define ANTHROPIC_DEFAULT_MAX_TOKENS 4096
#define ANTHROPIC_DEFAULT_VERSION "2023-06-01"
#define ANTHROPIC_MIN_THINKING 1024  /* Anthropic's least budget_tokens */

/* ---- per-request state (streams) ---- */

typedef struct {
    int block;                     /* Anthropic content block index */
    int oai;                       /* OpenAI tool_calls index */
    int args_sent;                 /* a non-empty arguments piece was sent */
    const char *initial;           /* printed non-empty start "input" */
} anthropic_tool_t;

typedef struct {
    int started;                   /* role chunk sent */
    int stopped;                   /* message_stop seen */
    int failed;                    /* an error was returned */
    const char *finish;            /* from message_delta.stop_reason */
    apr_array_header_t *tools;     /* anthropic_tool_t */
    long in_tokens, out_tokens, cache_read, cache_create;
} anthropic_state_t;

static anthropic_state_t *anthropic_state(llmp_xlate_t *x)
{
    anthropic_state_t *st = x->state;

    if (!st) {
        st = apr_pcalloc(x->pool, sizeof(*st));
        st->tools = apr_array_make(x->pool, 4, sizeof(anthropic_tool_t));
        x->state = st;
    }
    return st;
}

/* ---- small helpers ---- */

/* A member that is present and not null. */
static const cJSON *jset(const cJSON *o, const char *name)
{
    const cJSON *v = llmp_json_get(o, name);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static long jlong(const cJSON *o, const char *name)
{
    const cJSON *v = llmp_json_get(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
        return 0;
    return (long)v->valuedouble;
}

static int is_blank(const char *s)
{
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    }
    return 1;
}

/* ---- request: content ---- */

static cJSON *text_block(const char *text)
{
    cJSON *b = cJSON_CreateObject();

    /* references, not copies: the block is printed while the request's
     * tree (text's owner) lives, and never changed */
    cJSON_AddItemToObjectCS(b, "type", cJSON_CreateStringReference("text"));
    cJSON_AddItemToObjectCS(b, "text", cJSON_CreateStringReference(text));
    return b;
}

/* One OpenAI image_url part -> an Anthropic image block. */
static cJSON *image_block(llmp_xlate_t *x, const cJSON *part,
                          const char *param, llmp_error_t **err)
{
    const cJSON *iu = llmp_json_get(part, "image_url");
    const char *url = cJSON_IsString(iu) ? iu->valuestring
                                         : llmp_json_str(iu, "url");
    const char *mime, *b64;
    cJSON *b, *src;

    if (!url || !*url) {
        *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                   "%s: an image_url part needs \"image_url\":{\"url\"}",
                   param));
        return NULL;
    }
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "image");
    src = cJSON_AddObjectToObject(b, "source");
    if (llmp_data_url_parse(x->pool, url, &mime, &b64)) {
        cJSON_AddStringToObject(src, "type", "base64");
        cJSON_AddStringToObject(src, "media_type", mime);
        cJSON_AddStringToObject(src, "data", b64);
    }
    else if (!strncasecmp(url, "https://", 8)
             || !strncasecmp(url, "http://", 7)) {
        cJSON_AddStringToObject(src, "type", "url");
        cJSON_AddStringToObject(src, "url", url);
    }
    else {
        cJSON_Delete(b);
        *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                   "%s: image_url.url must be an http(s) URL or a base64 "
                   "data: URL", param));
        return NULL;
    }
    return b;
}

/* An OpenAI file part with an inline PDF -> a document block. */
static cJSON *file_block(llmp_xlate_t *x, const cJSON *part,
                         const char *param, llmp_error_t **err)
{
    const cJSON *f = llmp_json_get(part, "file");
    const char *data = llmp_json_str(f, "file_data"), *mime, *b64, *name;
    cJSON *b, *src;

    if (!data || !llmp_data_url_parse(x->pool, data, &mime, &b64)
        || strcasecmp(mime, "application/pdf")) {
        *err = llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                   "%s: Anthropic models take a file part only as a base64 "
                   "PDF in \"file\":{\"file_data\":\"data:application/pdf;"
                   "base64,...\"} (file ids are not supported)", param));
        return NULL;
    }
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "document");
    src = cJSON_AddObjectToObject(b, "source");
    cJSON_AddStringToObject(src, "type", "base64");
    cJSON_AddStringToObject(src, "media_type", "application/pdf");
    cJSON_AddStringToObject(src, "data", b64);
    name = llmp_json_str(f, "filename");
    if (name && *name) cJSON_AddStringToObject(b, "title", name);
    return b;
}

/* "name[i]", for the param of an error: built for every item, so without
 * a formatter. */
static const char *indexed(apr_pool_t *p, const char *name, int i)
{
    apr_size_t n = strlen(name);
    char digits[16], *o = digits + sizeof(digits), *out;
    unsigned int u = i < 0 ? 0 : (unsigned int)i;

    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    out = apr_palloc(p, n + (apr_size_t)(digits + sizeof(digits) - o) + 3);
    memcpy(out, name, n);
    out[n++] = '[';
    memcpy(out + n, o, (apr_size_t)(digits + sizeof(digits) - o));
    n += (apr_size_t)(digits + sizeof(digits) - o);
    out[n++] = ']';
    out[n] = '\0';
    return out;
}

/* Append the blocks of an OpenAI "content" (string, parts, or null) to arr.
 * media: images and files allowed (user turns). */
static llmp_error_t *add_content(llmp_xlate_t *x, cJSON *arr,
                                 const cJSON *content, int media,
                                 const char *param)
{
    const cJSON *part;
    int pi = 0;

    if (!content || cJSON_IsNull(content)) return NULL;
    if (cJSON_IsString(content)) {
        if (*content->valuestring)
            cJSON_AddItemToArray(arr, text_block(content->valuestring));
        return NULL;
    }
    if (!cJSON_IsArray(content))
        return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                   "%s must be a string or an array of content parts",
                   param));
    cJSON_ArrayForEach(part, content) {
        const char *pparam = indexed(x->pool, param, pi++);
        const char *type = llmp_json_str(part, "type");
        llmp_error_t *err = NULL;
        cJSON *b = NULL;

        if (!type)
            return llmp_bad_request(x->pool, pparam, apr_psprintf(x->pool,
                       "%s: a content part needs a \"type\"", pparam));
        if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
            const char *text = llmp_json_str(part, type);
            if (!text)
                return llmp_bad_request(x->pool, pparam, apr_psprintf(x->pool,
                           "%s: a %s part needs a string \"%s\"", pparam,
                           type, type));
            if (*text) b = text_block(text);
        }
        else if (media && !strcmp(type, "image_url")) {
            b = image_block(x, part, pparam, &err);
        }
        else if (media && !strcmp(type, "file")) {
            b = file_block(x, part, pparam, &err);
        }
        else {
            return llmp_bad_request(x->pool, pparam, apr_psprintf(x->pool,
                       "%s: content parts of type \"%s\" are not supported "
                       "here by Anthropic models", pparam, type));
        }
        if (err) return err;
        if (b) cJSON_AddItemToArray(arr, b);
    }
    return NULL;
}

/* ---- request: turns ---- */

/* The native turns being built. Each OpenAI message's blocks are made apart
 * first, then appended to the last turn when it has the same role, else to
 * a new turn; a message without blocks opens no turn. A user turn keeps its
 * tool_result blocks apart ("content") from its other blocks ("rest") until
 * the end, as Anthropic wants the results first. Every step is O(1) per
 * block: cJSON arrays are lists, so no index or size lookups in the loop. */
typedef struct {
    cJSON *out;                    /* native "messages" */
    cJSON *turn;                   /* the last turn, or NULL */
    int user;                      /* it is a user turn */
    cJSON *content;                /* its "content" (user: tool results) */
    cJSON *rest;                   /* user: its other blocks, or NULL */
} turns_t;

/* Move every item of from to the end of to. */
static void move_items(cJSON *to, cJSON *from)
{
    cJSON *it;

    while ((it = from->child))
        cJSON_AddItemToArray(to, cJSON_DetachItemViaPointer(from, it));
}

/* The last turn if it has the role, else a new one. */
static void turn_open(turns_t *t, int user)
{
    cJSON *m;

    if (t->turn && t->user == user) return;
    m = cJSON_CreateObject();
    /* constant names and role: references, not copies */
    cJSON_AddItemToObjectCS(m, "role", cJSON_CreateStringReference(
                                           user ? "user" : "assistant"));
    t->content = cJSON_CreateArray();
    cJSON_AddItemToObjectCS(m, "content", t->content);
    t->rest = NULL;
    t->turn = m;
    t->user = user;
    cJSON_AddItemToArray(t->out, m);
}

/* Append the blocks of one message (blocks is deleted). */
static void turn_add(turns_t *t, int user, cJSON *blocks)
{
    if (blocks->child) {
        turn_open(t, user);
        if (user) {
            if (!t->rest) {
                t->rest = cJSON_CreateArray();
                cJSON_AddItemToObjectCS(t->turn, "rest", t->rest);
            }
            move_items(t->rest, blocks);
        }
        else {
            move_items(t->content, blocks);
        }
    }
    cJSON_Delete(blocks);
}

/* Append a tool_result block to the user turn. */
static void turn_add_result(turns_t *t, cJSON *b)
{
    turn_open(t, 1);
    cJSON_AddItemToArray(t->content, b);
}

/* Put each user turn's other blocks after its tool results. */
static void turns_finish(turns_t *t)
{
    cJSON *m, *rest;

    cJSON_ArrayForEach(m, t->out) {
        rest = cJSON_DetachItemFromObjectCaseSensitive(m, "rest");
        if (!rest) continue;
        move_items(cJSON_GetObjectItemCaseSensitive(m, "content"), rest);
        cJSON_Delete(rest);
    }
}

static llmp_error_t *add_tool_calls(llmp_xlate_t *x, cJSON *content,
                                    const cJSON *calls, int mi)
{
    const cJSON *call;
    int ci = 0;

    if (!calls || cJSON_IsNull(calls)) return NULL;
    if (!cJSON_IsArray(calls))
        return llmp_bad_request(x->pool,
                                apr_psprintf(x->pool,
                                             "messages[%d].tool_calls", mi),
                                "tool_calls must be an array");
    cJSON_ArrayForEach(call, calls) {
        const char *param = apr_psprintf(x->pool,
                                         "messages[%d].tool_calls[%d]", mi,
                                         ci++);
        const char *id = llmp_json_str(call, "id");
        const char *type = llmp_json_str(call, "type");
        const cJSON *fn = llmp_json_get(call, "function");
        const char *name = llmp_json_str(fn, "name");
        const cJSON *args = llmp_json_get(fn, "arguments");
        cJSON *input, *b;

        if (type && strcmp(type, "function"))
            return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "%s: only function tool calls are supported", param));
        if (!id || !*id || !name || !*name)
            return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "%s needs an \"id\" and a function \"name\"", param));
        if (!args || cJSON_IsNull(args)
            || (cJSON_IsString(args) && is_blank(args->valuestring))) {
            input = cJSON_CreateObject();
        }
        else if (cJSON_IsString(args)) {
            input = cJSON_Parse(args->valuestring);
            if (!cJSON_IsObject(input)) {
                cJSON_Delete(input);
                return llmp_bad_request(
                    x->pool,
                    apr_pstrcat(x->pool, param, ".function.arguments", NULL),
                    apr_psprintf(x->pool,
                                 "%s.function.arguments must be a "
                                 "JSON object encoded as a string",
                                 param));
            }
        }
        else if (cJSON_IsObject(args)) {
            input = cJSON_Duplicate(args, 1);
        }
        else {
            return llmp_bad_request(
                x->pool,
                apr_pstrcat(x->pool, param, ".function.arguments", NULL),
                apr_psprintf(x->pool,
                             "%s.function.arguments must be a "
                             "string",
                             param));
        }
        b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(b, "id", id);
        cJSON_AddStringToObject(b, "name", name);
        cJSON_AddItemToObject(b, "input", input);
        cJSON_AddItemToArray(content, b);
    }
    return NULL;
}

static llmp_error_t *add_tool_result(llmp_xlate_t *x, turns_t *turns,
                                     const cJSON *m, int mi)
{
    const char *param = indexed(x->pool, "messages", mi);
    const char *id = llmp_json_str(m, "tool_call_id");
    const cJSON *c = llmp_json_get(m, "content");
    cJSON *b, *inner;
    llmp_error_t *err;

    if (!id || !*id)
        return llmp_bad_request(x->pool,
                                apr_pstrcat(x->pool, param, ".tool_call_id",
                                            NULL),
                                apr_psprintf(x->pool,
                                             "%s: a tool message needs a "
                                             "\"tool_call_id\"",
                                             param));
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "tool_result");
    cJSON_AddStringToObject(b, "tool_use_id", id);
    if (cJSON_IsString(c)) {
        if (*c->valuestring)
            cJSON_AddStringToObject(b, "content", c->valuestring);
    }
    else {
        inner = cJSON_CreateArray();
        err = add_content(x, inner, c, 0, apr_pstrcat(x->pool, param,
                                                      ".content", NULL));
        if (err) {
            cJSON_Delete(inner);
            cJSON_Delete(b);
            return err;
        }
        if (cJSON_GetArraySize(inner)) cJSON_AddItemToObject(b, "content",
                                                             inner);
        else cJSON_Delete(inner);
    }
    turn_add_result(turns, b);
    return NULL;
}

/* Does the model have extended thinking: Claude 3.7, or a generation 4 or
 * later (by the version in its id, so that later names need no change),
 * or an id LLMProxyReasoningModels names? */
static int claude_thinks(const llmp_xlate_t *x)
{
    int major, minor;

    return llmp_reasoning_allowed(x,
               llmp_model_version(x->model_id, "claude", &major, &minor)
               && (major >= 4 || (major == 3 && minor >= 7)));
}

/* An assistant message's reasoning (IR "reasoning_content" and
 * "reasoning_signature") -> a thinking block, first of its blocks. Only a
 * signed one: Anthropic refuses a thinking block without its signature;
 * and only for a model with thinking. */
static void add_thinking(const llmp_xlate_t *x, cJSON *blocks,
                         const cJSON *m)
{
    const char *sig = llmp_json_str(m, "reasoning_signature");
    const char *text = llmp_json_str(m, "reasoning_content");
    cJSON *b;

    if (!sig || !*sig || !claude_thinks(x)) return;
    b = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(b, "type", cJSON_CreateStringReference(
                                           "thinking"));
    cJSON_AddItemToObjectCS(b, "thinking", cJSON_CreateStringReference(
                                               text ? text : ""));
    cJSON_AddItemToObjectCS(b, "signature",
                            cJSON_CreateStringReference(sig));
    cJSON_AddItemToArray(blocks, b);
}

/* messages -> native "messages"; system text is collected in sys. */
static llmp_error_t *convert_messages(llmp_xlate_t *x, const cJSON *msgs,
                                      cJSON *native, cJSON *sys)
{
    turns_t turns;
    const cJSON *m, *first;
    int mi = 0;

    memset(&turns, 0, sizeof(turns));
    turns.out = cJSON_AddArrayToObject(native, "messages");
    if (!cJSON_IsArray(msgs) || !msgs->child)
        return llmp_bad_request(x->pool, "messages",
                                "'messages' must be a non-empty array");
    cJSON_ArrayForEach(m, msgs) {
        const char *param = indexed(x->pool, "messages", mi);
        const char *role = llmp_json_str(m, "role");
        const cJSON *c = llmp_json_get(m, "content");
        llmp_error_t *err;

        if (!cJSON_IsObject(m) || !role)
            return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "%s must be an object with a \"role\"", param));
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            err = add_content(x, sys, c, 0,
                              apr_pstrcat(x->pool, param, ".content", NULL));
        }
        else if (!strcmp(role, "user") || !strcmp(role, "assistant")) {
            int user = role[0] == 'u';
            cJSON *blocks = cJSON_CreateArray();

            if (!user) add_thinking(x, blocks, m);
            err = add_content(x, blocks, c, user,
                              apr_pstrcat(x->pool, param, ".content", NULL));
            if (!err && !user)
                err = add_tool_calls(x, blocks,
                                     llmp_json_get(m, "tool_calls"), mi);
            if (err) cJSON_Delete(blocks);
            else turn_add(&turns, user, blocks);
        }
        else if (!strcmp(role, "tool")) {
            err = add_tool_result(x, &turns, m, mi);
        }
        else {
            err =
                llmp_bad_request(x->pool,
                                 apr_pstrcat(x->pool, param, ".role", NULL),
                                 apr_psprintf(x->pool,
                                              "%s: role \"%s\" is not "
                                              "supported by Anthropic models",
                                              param, role));
        }
        if (err) return err;
        mi++;
    }
    turns_finish(&turns);
    first = turns.out->child;
    if (!first)
        return llmp_bad_request(x->pool, "messages",
                                "Anthropic models need at least "
                                "one user message with content");
    if (strcmp(llmp_json_str(first, "role"), "user"))
        return llmp_bad_request(
            x->pool, "messages",
            "Anthropic models need the "
            "conversation (after system messages) to start "
            "with a user message");
    return NULL;
}

/* ---- request: tools ---- */

static llmp_error_t *convert_tools(llmp_xlate_t *x, const cJSON *req,
                                   cJSON *native)
{
    const cJSON *tools = jset(req, "tools"), *t;
    const cJSON *choice = jset(req, "tool_choice");
    const cJSON *par = llmp_json_get(req, "parallel_tool_calls");
    cJSON *out, *tc = NULL;
    int ti = 0;

    if (!tools || (cJSON_IsArray(tools) && !cJSON_GetArraySize(tools)))
        return NULL;                 /* tool_choice alone is dropped */
    if (!cJSON_IsArray(tools))
        return llmp_bad_request(x->pool, "tools", "'tools' must be an array");
    out = cJSON_AddArrayToObject(native, "tools");
    cJSON_ArrayForEach(t, tools) {
        const char *param = indexed(x->pool, "tools", ti++);
        const char *type = llmp_json_str(t, "type");
        const cJSON *fn = llmp_json_get(t, "function");
        const char *name = llmp_json_str(fn, "name");
        const char *desc = llmp_json_str(fn, "description");
        const cJSON *params = jset(fn, "parameters");
        cJSON *nt, *schema;

        if (!type || strcmp(type, "function") || !cJSON_IsObject(fn))
            return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "%s: Anthropic models take only function tools",
                       param));
        if (!name || !*name)
            return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "%s: a function needs a \"name\"", param));
        if (params && !cJSON_IsObject(params))
            return llmp_bad_request(x->pool, param, apr_psprintf(x->pool,
                       "%s: function.parameters must be a JSON Schema "
                       "object", param));
        nt = cJSON_CreateObject();
        cJSON_AddItemToArray(out, nt);
        cJSON_AddStringToObject(nt, "name", name);
        if (desc && *desc) cJSON_AddStringToObject(nt, "description", desc);
        if (params) {
            schema = cJSON_Duplicate(params, 1);
            if (!cJSON_GetObjectItemCaseSensitive(schema, "type"))
                cJSON_AddStringToObject(schema, "type", "object");
        }
        else {
            schema = cJSON_CreateObject();
            cJSON_AddStringToObject(schema, "type", "object");
            cJSON_AddObjectToObject(schema, "properties");
        }
        cJSON_AddItemToObject(nt, "input_schema", schema);
    }

    if (cJSON_IsString(choice)) {
        const char *c = choice->valuestring;
        if (!strcmp(c, "auto") || !strcmp(c, "none")
            || !strcmp(c, "required")) {
            tc = cJSON_CreateObject();
            cJSON_AddStringToObject(tc, "type", !strcmp(c, "required")
                                    ? "any" : c);
        }
        else {
            return llmp_bad_request(
                x->pool, "tool_choice",
                "tool_choice must be "
                "\"auto\", \"none\", \"required\" or a named "
                "function");
        }
    }
    else if (choice) {
        const char *type = llmp_json_str(choice, "type");
        const char *name =
            llmp_json_str(llmp_json_get(choice, "function"), "name");
        if (!type || strcmp(type, "function") || !name || !*name)
            return llmp_bad_request(x->pool, "tool_choice",
                                    "tool_choice must be "
                                    "\"auto\", \"none\", \"required\" or "
                                    "{\"type\":\"function\",\"function\":"
                                    "{\"name\"}} for Anthropic models");
        tc = cJSON_CreateObject();
        cJSON_AddStringToObject(tc, "type", "tool");
        cJSON_AddStringToObject(tc, "name", name);
    }
    if (cJSON_IsFalse(par)) {
        if (!tc) {
            tc = cJSON_CreateObject();
            cJSON_AddStringToObject(tc, "type", "auto");
        }
        if (strcmp(llmp_json_str(tc, "type"), "none"))
            cJSON_AddTrueToObject(tc, "disable_parallel_tool_use");
    }
    if (tc) cJSON_AddItemToObject(native, "tool_choice", tc);
    return NULL;
}

/* response_format -> an instruction for the system prompt (or NULL). */
static const char *json_instruction(llmp_xlate_t *x, const cJSON *rf,
                                    llmp_error_t **err)
{
    const char *type = llmp_json_str(rf, "type");
    const cJSON *js, *schema;
    char *printed;

    if (!rf || cJSON_IsNull(rf)) return NULL;
    if (!type) {
        *err = llmp_bad_request(x->pool, "response_format",
                                "response_format needs a \"type\"");
        return NULL;
    }
    if (!strcmp(type, "text")) return NULL;
    if (!strcmp(type, "json_object"))
        return "Respond only with a single valid JSON object, with no text "
               "before or after it and no Markdown code fence.";
    if (strcmp(type, "json_schema")) {
        *err = llmp_bad_request(
            x->pool, "response_format",
            apr_psprintf(x->pool,
                         "response_format type \"%s\" is not supported",
                         type));
        return NULL;
    }
    js = llmp_json_get(rf, "json_schema");
    schema = llmp_json_get(js, "schema");
    if (!cJSON_IsObject(schema))
        return "Respond only with a single valid JSON object, with no text "
               "before or after it and no Markdown code fence.";
    printed = cJSON_PrintUnformatted(schema);
    if (!printed) {
        *err = llmp_error_make(x->pool, 500, NULL, NULL, NULL,
                               "out of memory");
        return NULL;
    }
    {
        const char *s = apr_pstrcat(x->pool,
            "Respond only with a single valid JSON object that conforms to "
            "this JSON Schema, with no text before or after it and no "
            "Markdown code fence: ", printed, NULL);
        cJSON_free(printed);
        return s;
    }
}

/* ---- request: thinking ---- */

/* Does the conversation end with an assistant turn (a prefill), or does
 * the last assistant turn hold a tool_use without a thinking block first?
 * Anthropic refuses both with thinking on. */
static int last_turn_unthought(const cJSON *native)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(native, "messages");
    const cJSON *m, *last = NULL, *b, *first;
    const char *t;

    cJSON_ArrayForEach(m, msgs) {
        if (!strcmp(llmp_json_str(m, "role"), "assistant")) last = m;
        if (!m->next && last == m) return 1;       /* a prefill */
    }
    first = llmp_json_get(last, "content");
    first = first ? first->child : NULL;
    t = llmp_json_str(first, "type");
    if (t && (!strcmp(t, "thinking") || !strcmp(t, "redacted_thinking")))
        return 0;
    cJSON_ArrayForEach(b, llmp_json_get(last, "content")) {
        t = llmp_json_str(b, "type");
        if (t && !strcmp(t, "tool_use")) return 1;
    }
    return 0;
}

/* reasoning_effort -> the thinking budget (*budget 0: no thinking). */
static llmp_error_t *thinking_budget(llmp_xlate_t *x, const cJSON *req,
                                     const cJSON *native, int *budget)
{
    const cJSON *v = jset(req, "reasoning_effort"), *tc;
    const char *e;

    *budget = 0;
    if (!v) return NULL;
    e = cJSON_IsString(v) ? v->valuestring : "";
    if (!strcmp(e, "none")) return NULL;
    if (!strcmp(e, "minimal") || !strcmp(e, "low")) *budget = 1024;
    else if (!strcmp(e, "medium")) *budget = 4096;
    else if (!strcmp(e, "high") || !strcmp(e, "xhigh")) *budget = 16384;
    else
        return llmp_bad_request(x->pool, "reasoning_effort",
                                "reasoning_effort must be \"none\", "
                                "\"minimal\", \"low\", \"medium\" or "
                                "\"high\"");
    /* a model without thinking: the effort is dropped (Anthropic refuses
     * thinking for it) */
    if (!claude_thinks(x)) {
        *budget = 0;
        return NULL;
    }
    /* a forced tool: Anthropic allows only auto or none with thinking */
    tc = jset(req, "tool_choice");
    if (!cJSON_IsArray(jset(req, "tools")) || !jset(req, "tools")->child)
        tc = NULL;                  /* dropped without tools */
    if (tc && (cJSON_IsObject(tc) || (cJSON_IsString(tc)
                                      && !strcmp(tc->valuestring,
                                                 "required"))))
        *budget = 0;
    else if (last_turn_unthought(native))
        *budget = 0;
    return NULL;
}

/* ---- request ---- */

/* The Messages API answers 400 to a call without "anthropic-version". */
static const char *const *version_header(llmp_xlate_t *x)
{
    const char **h = apr_pcalloc(x->pool, 2 * sizeof(*h));
    const char *v = x->opts && x->opts->anthropic_version
                    && *x->opts->anthropic_version
                    ? x->opts->anthropic_version
                    : ANTHROPIC_DEFAULT_VERSION;

    h[0] = apr_pstrcat(x->pool, "anthropic-version: ", v, NULL);
    return h;
}

static llmp_error_t *anthropic_chat_request(llmp_xlate_t *x,
                                            const cJSON *req,
                                            llmp_native_req_t *out)
{
    cJSON *native, *sys;
    const cJSON *v;
    const char *instr, *user;
    llmp_error_t *err = NULL;
    int max_tokens, client_max, budget = 0;
    apr_array_header_t *stops;

    if (!cJSON_IsObject(req))
        return llmp_bad_request(x->pool, NULL,
                                "the request body must be a JSON object");
    native = cJSON_CreateObject();
    llmp_json_pool_own(x->pool, native);      /* freed with the request */
    sys = cJSON_CreateArray();
    cJSON_AddStringToObject(native, "model", x->model_id ? x->model_id : "");

    /* n */
    v = jset(req, "n");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble != 1)) {
        cJSON_Delete(sys);
        return llmp_bad_request(x->pool, "n",
                                "Anthropic models return one choice: "
                                "'n' must be 1");
    }

    /* messages and system */
    err = convert_messages(x, llmp_json_get(req, "messages"), native, sys);
    if (!err) {
        instr =
            json_instruction(x, llmp_json_get(req, "response_format"), &err);
        if (instr) cJSON_AddItemToArray(sys, text_block(instr));
    }
    if (err) {
        cJSON_Delete(sys);
        return err;
    }
    if (cJSON_GetArraySize(sys)) cJSON_AddItemToObject(native, "system", sys);
    else cJSON_Delete(sys);

    /* max_tokens: Anthropic requires it */
    max_tokens = llmp_req_max_tokens(req);
    if (max_tokens < 0 && (jset(req, "max_completion_tokens")
                           || jset(req, "max_tokens")))
        return llmp_bad_request(x->pool, jset(req, "max_completion_tokens")
                                ? "max_completion_tokens" : "max_tokens",
                                "max_tokens must be a positive integer");
    if (max_tokens == 0)
        return llmp_bad_request(x->pool, jset(req, "max_completion_tokens")
                                ? "max_completion_tokens" : "max_tokens",
                                "max_tokens must be at least 1");
    client_max = max_tokens > 0;
    if (max_tokens < 0)
        max_tokens = (x->opts && x->opts->default_max_tokens > 0)
                     ? x->opts->default_max_tokens
                     : ANTHROPIC_DEFAULT_MAX_TOKENS;

    /* reasoning_effort -> thinking */
    if ((err = thinking_budget(x, req, native, &budget))) return err;
    if (budget > 0) {
        if (!client_max && max_tokens <= budget) {
            max_tokens = budget + ((x->opts && x->opts->default_max_tokens > 0)
                                   ? x->opts->default_max_tokens
                                   : ANTHROPIC_DEFAULT_MAX_TOKENS);
        }
        else if (budget >= max_tokens) {
            budget = max_tokens - 1;
        }
        if (budget < ANTHROPIC_MIN_THINKING) budget = 0;
    }
    llmp_json_add_int(native, "max_tokens", max_tokens);
    if (budget > 0) {
        cJSON *th = cJSON_AddObjectToObject(native, "thinking");
        cJSON_AddStringToObject(th, "type", "enabled");
        llmp_json_add_int(th, "budget_tokens", budget);
    }

    /* sampling: checked always, sent only without thinking (Anthropic
     * refuses changes to them with thinking on) */
    if ((v = jset(req, "temperature"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 2)
            return llmp_bad_request(
                x->pool, "temperature",
                "temperature must be a number from 0 to 2");
        if (!budget)
            cJSON_AddNumberToObject(native, "temperature",
                                    v->valuedouble > 1 ? 1 : v->valuedouble);
    }
    if ((v = jset(req, "top_p"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
            return llmp_bad_request(x->pool, "top_p",
                                    "top_p must be a number from 0 to 1");
        if (!budget) cJSON_AddNumberToObject(native, "top_p", v->valuedouble);
    }
    if ((v = jset(req, "top_k"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
            return llmp_bad_request(x->pool, "top_k",
                                    "top_k must be a non-negative integer");
        if (!budget)
            cJSON_AddNumberToObject(native, "top_k", (int)v->valuedouble);
    }
    if ((v = jset(req, "stop"))) {
        int i;
        if (!cJSON_IsString(v) && !cJSON_IsArray(v))
            return llmp_bad_request(x->pool, "stop",
                                    "stop must be a string or an "
                                    "array of strings");
        stops = llmp_stop_list(x->pool, v);
        for (i = 0; i < stops->nelts; i++) {
            const char *s = APR_ARRAY_IDX(stops, i, const char *);
            cJSON *arr = cJSON_GetObjectItemCaseSensitive(native,
                                                          "stop_sequences");
            if (is_blank(s)) continue;   /* Anthropic refuses blank ones */
            if (!arr) arr = cJSON_AddArrayToObject(native, "stop_sequences");
            cJSON_AddItemToArray(arr, cJSON_CreateString(s));
        }
    }

    /* user -> metadata.user_id (Anthropic takes no other metadata) */
    user = llmp_json_str(req, "user");
    if (!user || !*user) user = llmp_json_str(req, "safety_identifier");
    if (!user || !*user)
        user = llmp_json_str(llmp_json_get(req, "metadata"), "user_id");
    if (user && *user) {
        cJSON *md = cJSON_AddObjectToObject(native, "metadata");
        cJSON_AddStringToObject(md, "user_id", user);
    }

    /* tools */
    err = convert_tools(x, req, native);
    if (err) return err;

    if (x->stream) cJSON_AddTrueToObject(native, "stream");

    out->path = x->handle;
    out->stream = x->stream ? 1 : 0;
    out->content_type = NULL;
    out->headers = version_header(x);
    return llmp_json_out(x->pool, native, &out->body, &out->len);
}

/* ---- response ---- */

static const char *finish_reason(const char *stop_reason)
{
    if (!stop_reason) return LLMP_FINISH_STOP;
    if (!strcmp(stop_reason, "max_tokens")
        || !strcmp(stop_reason, "model_context_window_exceeded"))
        return LLMP_FINISH_LENGTH;
    if (!strcmp(stop_reason, "tool_use")) return LLMP_FINISH_TOOL_CALLS;
    if (!strcmp(stop_reason, "refusal")) return LLMP_FINISH_CONTENT_FILTER;
    return LLMP_FINISH_STOP;       /* end_turn, stop_sequence, pause_turn */
}

static cJSON *usage_json(long in, long cache_read, long cache_create,
                         long out)
{
    return llmp_usage_new(in + cache_read + cache_create, out, cache_read);
}

/* Anthropic error type -> HTTP status, for errors without one. */
static int status_for_type(const char *type)
{
    static const struct { const char *type; int status; } map[] = {
        { "invalid_request_error", 400 }, { "authentication_error", 401 },
        { "billing_error", 402 }, { "permission_error", 403 },
        { "not_found_error", 404 }, { "request_too_large", 413 },
        { "rate_limit_error", 429 }, { "api_error", 500 },
        { "timeout_error", 504 }, { "overloaded_error", 529 },
        { NULL, 0 } };
    int i;

    for (i = 0; type && map[i].type; i++) {
        if (!strcmp(type, map[i].type)) return map[i].status;
    }
    return 502;
}

/* The status the client sees for a backend status. */
static int client_status(int status)
{
    if (status == 529) return 503;
    if (status < 400 || status > 599) return 502;
    if (status > 504) return 502;
    return status;
}

/* An Anthropic error object {"type","message"} as an OpenAI error. */
static llmp_error_t *map_error(llmp_xlate_t *x, int status, const char *type,
                               const char *msg)
{
    const char *otype = NULL, *code = NULL;
    llmp_error_t *e;

    if (status <= 0) status = status_for_type(type);
    if (type) {
        if (!strcmp(type, "invalid_request_error")
            || !strcmp(type, "authentication_error")
            || !strcmp(type, "permission_error")
            || !strcmp(type, "rate_limit_error")
            || !strcmp(type, "api_error")
            || !strcmp(type, "timeout_error")) {
            otype = type;
        }
        else if (!strcmp(type, "overloaded_error")) {
            otype = "overloaded_error";
            code = "overloaded";
        }
        else if (!strcmp(type, "not_found_error")) {
            otype = "invalid_request_error";
            code = "not_found";
        }
        else if (!strcmp(type, "request_too_large")) {
            otype = "invalid_request_error";
            code = "request_too_large";
        }
        else if (!strcmp(type, "billing_error")) {
            otype = "insufficient_quota";
            code = "billing_error";
        }
    }
    e = llmp_error_make(x->pool, client_status(status), otype, code, NULL,
                        "%s", msg && *msg ? msg : (type ? type
                                                   : "Anthropic error"));
    return e;
}

static llmp_error_t *anthropic_error(llmp_xlate_t *x, int status,
                                     const cJSON *native, const char *body,
                                     apr_size_t len)
{
    const cJSON *n = native, *err;

    if (cJSON_IsObject(n) && !llmp_json_get(n, "error")
        && !llmp_json_get(n, "type"))
        n = llmp_envelope_unwrap((cJSON *)n);
    err = llmp_json_get(n, "error");
    if (cJSON_IsObject(err) && (llmp_json_str(err, "message")
                                || llmp_json_str(err, "type")))
        return map_error(x, status, llmp_json_str(err, "type"),
                         llmp_json_str(err, "message"));
    return llmp_provider_generic_error(x, status, native, body, len);
}

static llmp_error_t *anthropic_chat_response(llmp_xlate_t *x,
                                             const cJSON *native,
                                             cJSON **out)
{
    const cJSON *content, *b, *usage;
    const char *type = llmp_json_str(native, "type");
    const char *text = NULL, *thought = NULL, *sig = NULL;
    apr_array_header_t *thoughts = NULL;
    cJSON *resp, *msg, *calls = NULL;
    int ncalls = 0;

    if (!cJSON_IsObject(native))
        return llmp_bad_upstream(x->pool, "Anthropic",
                                 "the answer is not a JSON object");
    if (type && !strcmp(type, "error"))
        return anthropic_error(x, 0, native, NULL, 0);
    content = llmp_json_get(native, "content");
    if (!cJSON_IsArray(content))
        return llmp_bad_upstream(x->pool, "Anthropic",
                                 "no \"content\" array in the message");

    /* tool calls are collected apart, then added after the text */
    calls = cJSON_CreateArray();
    cJSON_ArrayForEach(b, content) {
        const char *bt = llmp_json_str(b, "type");
        if (!bt) continue;
        if (!strcmp(bt, "text")) {
            const char *t = llmp_json_str(b, "text");
            if (t) text = text ? apr_pstrcat(x->pool, text, t, NULL) : t;
        }
        else if (!strcmp(bt, "tool_use")) {
            const char *id = llmp_json_str(b, "id");
            const char *name = llmp_json_str(b, "name");
            const cJSON *input = llmp_json_get(b, "input");
            cJSON *c;
            char *args;

            if (!id || !name) {
                cJSON_Delete(calls);
                return llmp_bad_upstream(
                    x->pool, "Anthropic",
                    "a tool_use block without id or name");
            }
            args = cJSON_IsObject(input) ? cJSON_PrintUnformatted(input)
                                         : NULL;
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "id", id);
            cJSON_AddStringToObject(c, "name", name);
            cJSON_AddStringToObject(c, "arguments", args ? args : "{}");
            if (args) cJSON_free(args);
            cJSON_AddItemToArray(calls, c);
            ncalls++;
        }
        else if (!strcmp(bt, "thinking") && x->want_reasoning) {
            const char *t = llmp_json_str(b, "thinking");
            const char *sg = llmp_json_str(b, "signature");
            if (!thoughts)
                thoughts = apr_array_make(x->pool, 2, sizeof(const char *));
            if (t) APR_ARRAY_PUSH(thoughts, const char *) = t;
            if (sg && *sg) sig = sg;
        }
        /* redacted_thinking, server tools: not for the IR */
    }
    if (thoughts) thought = apr_array_pstrcat(x->pool, thoughts, 0);

    resp = llmp_completion_new(x->id, x->created, x->model_id);
    msg = llmp_completion_add_choice(resp, 0, text ? text
                                     : (ncalls ? NULL : ""),
                                     finish_reason(llmp_json_str(
                                         native, "stop_reason")));
    if (thought) cJSON_AddStringToObject(msg, "reasoning_content", thought);
    if (thought && sig) cJSON_AddStringToObject(msg, "reasoning_signature",
                                                sig);
    cJSON_ArrayForEach(b, calls) {
        llmp_message_add_tool_call(msg, llmp_json_str(b, "id"),
                                   llmp_json_str(b, "name"),
                                   llmp_json_str(b, "arguments"));
    }
    cJSON_Delete(calls);
    usage = llmp_json_get(native, "usage");
    cJSON_AddItemToObject(resp, "usage",
                          usage_json(jlong(usage, "input_tokens"),
                                     jlong(usage, "cache_read_input_tokens"),
                                     jlong(usage,
                                           "cache_creation_input_tokens"),
                                     jlong(usage, "output_tokens")));
    llmp_json_pool_own(x->pool, resp);
    *out = resp;
    return NULL;
}

/* ---- stream ---- */

static llmp_error_t *emit(llmp_xlate_t *x, cJSON *chunk)
{
    apr_status_t rv = llmp_xlate_emit(x, chunk);

    cJSON_Delete(chunk);
    if (rv != APR_SUCCESS)
        return llmp_error_make(x->pool, 500, NULL, NULL, NULL,
                               "could not write the stream");
    return NULL;
}

/* A chunk with one choice; *delta receives the delta object. */
static cJSON *new_chunk(llmp_xlate_t *x, const char *finish, cJSON **delta)
{
    cJSON *c = llmp_chunk_new(x->id, x->created, x->model_id);
    cJSON *d = llmp_chunk_add_choice(c, 0, finish);

    if (delta) *delta = d;
    return c;
}

static llmp_error_t *ensure_started(llmp_xlate_t *x, anthropic_state_t *st)
{
    cJSON *c, *d;

    if (st->started) return NULL;
    st->started = 1;
    c = new_chunk(x, NULL, &d);
    cJSON_AddStringToObject(d, "role", "assistant");
    cJSON_AddStringToObject(d, "content", "");
    return emit(x, c);
}

static llmp_error_t *emit_text(llmp_xlate_t *x, const char *text)
{
    cJSON *c, *d;

    if (!text || !*text) return NULL;
    c = new_chunk(x, NULL, &d);
    cJSON_AddStringToObject(d, "content", text);
    return emit(x, c);
}

/* A piece of reasoning ("reasoning_content") or a signature
 * ("reasoning_signature"), when the front wants them. */
static llmp_error_t *emit_reasoning(llmp_xlate_t *x, const char *name,
                                    const char *text)
{
    cJSON *c, *d;

    if (!x->want_reasoning || !text || !*text) return NULL;
    c = new_chunk(x, NULL, &d);
    cJSON_AddStringToObject(d, name, text);
    return emit(x, c);
}

static llmp_error_t *emit_args(llmp_xlate_t *x, int oai, const char *args)
{
    cJSON *c, *d;

    c = new_chunk(x, NULL, &d);
    llmp_delta_add_tool_call(d, oai, NULL, NULL, args);
    return emit(x, c);
}

static anthropic_tool_t *find_tool(anthropic_state_t *st, int block)
{
    int i;

    for (i = 0; i < st->tools->nelts; i++) {
        anthropic_tool_t *t = &APR_ARRAY_IDX(st->tools, i, anthropic_tool_t);
        if (t->block == block) return t;
    }
    return NULL;
}

static void read_usage(anthropic_state_t *st, const cJSON *u)
{
    if (!cJSON_IsObject(u)) return;
    if (cJSON_IsNumber(llmp_json_get(u, "input_tokens")))
        st->in_tokens = jlong(u, "input_tokens");
    if (cJSON_IsNumber(llmp_json_get(u, "output_tokens")))
        st->out_tokens = jlong(u, "output_tokens");
    if (cJSON_IsNumber(llmp_json_get(u, "cache_read_input_tokens")))
        st->cache_read = jlong(u, "cache_read_input_tokens");
    if (cJSON_IsNumber(llmp_json_get(u, "cache_creation_input_tokens")))
        st->cache_create = jlong(u, "cache_creation_input_tokens");
}

static int block_index(const cJSON *ev)
{
    const cJSON *i = llmp_json_get(ev, "index");
    if (!cJSON_IsNumber(i) || i->valuedouble < 0 || i->valuedouble > 1e6)
        return -1;
    return (int)i->valuedouble;
}

static llmp_error_t *on_block_start(llmp_xlate_t *x, anthropic_state_t *st,
                                    const cJSON *ev)
{
    const cJSON *cb = llmp_json_get(ev, "content_block");
    const char *type = llmp_json_str(cb, "type");
    int idx = block_index(ev);

    if (!type) return NULL;
    if (!strcmp(type, "text"))
        return emit_text(x, llmp_json_str(cb, "text"));
    if (!strcmp(type, "tool_use")) {
        const char *id = llmp_json_str(cb, "id");
        const char *name = llmp_json_str(cb, "name");
        const cJSON *input = llmp_json_get(cb, "input");
        anthropic_tool_t *t;
        cJSON *c, *d;

        if (idx < 0 || !id || !*id || !name || !*name)
            return llmp_bad_upstream(x->pool, "Anthropic",
                                     "a tool_use block without index, id or "
                                     "name");
        if (find_tool(st, idx))
            return llmp_bad_upstream(x->pool, "Anthropic",
                                     "a content block index was reused");
        t = apr_array_push(st->tools);
        t->block = idx;
        t->oai = st->tools->nelts - 1;
        t->args_sent = 0;
        t->initial = NULL;
        if (cJSON_IsObject(input) && input->child) {
            char *s = cJSON_PrintUnformatted(input);
            if (s) {
                t->initial = apr_pstrdup(x->pool, s);
                cJSON_free(s);
            }
        }
        c = new_chunk(x, NULL, &d);
        llmp_delta_add_tool_call(d, t->oai, id, name, "");
        return emit(x, c);
    }
    if (!strcmp(type, "thinking")) {
        llmp_error_t *err = emit_reasoning(x, "reasoning_content",
                                           llmp_json_str(cb, "thinking"));
        if (err) return err;
        return emit_reasoning(x, "reasoning_signature",
                              llmp_json_str(cb, "signature"));
    }
    return NULL;          /* redacted_thinking, server tools: skipped */
}

static llmp_error_t *on_block_delta(llmp_xlate_t *x, anthropic_state_t *st,
                                    const cJSON *ev)
{
    const cJSON *delta = llmp_json_get(ev, "delta");
    const char *type = llmp_json_str(delta, "type");

    if (!type) return NULL;
    if (!strcmp(type, "text_delta"))
        return emit_text(x, llmp_json_str(delta, "text"));
    if (!strcmp(type, "input_json_delta")) {
        const char *piece = llmp_json_str(delta, "partial_json");
        anthropic_tool_t *t = find_tool(st, block_index(ev));

        if (!t) {
            /* input of a server tool block: not a client function call */
            return NULL;
        }
        if (!piece || !*piece) return NULL;
        t->args_sent = 1;
        return emit_args(x, t->oai, piece);
    }
    if (!strcmp(type, "thinking_delta"))
        return emit_reasoning(x, "reasoning_content",
                              llmp_json_str(delta, "thinking"));
    if (!strcmp(type, "signature_delta"))
        return emit_reasoning(x, "reasoning_signature",
                              llmp_json_str(delta, "signature"));
    return NULL;                   /* citations_delta, new kinds */
}

static llmp_error_t *on_block_stop(llmp_xlate_t *x, anthropic_state_t *st,
                                   const cJSON *ev)
{
    anthropic_tool_t *t = find_tool(st, block_index(ev));

    if (!t || t->args_sent) return NULL;
    /* no input streamed: send the start's input, or an empty object, so
     * that the client always gets parseable arguments */
    t->args_sent = 1;
    return emit_args(x, t->oai, t->initial ? t->initial : "{}");
}

static llmp_error_t *on_message_stop(llmp_xlate_t *x, anthropic_state_t *st)
{
    llmp_error_t *err;
    cJSON *c;

    st->stopped = 1;
    c = new_chunk(x, st->finish ? st->finish : LLMP_FINISH_STOP, NULL);
    if ((err = emit(x, c))) return err;
    if (x->include_usage) {
        c = llmp_chunk_new(x->id, x->created, x->model_id);
        cJSON_AddItemToObject(c, "usage",
                              usage_json(st->in_tokens, st->cache_read,
                                         st->cache_create, st->out_tokens));
        if ((err = emit(x, c))) return err;
    }
    return NULL;
}

static int known_event(const char *name)
{
    static const char *const names[] = {
        "message_start", "content_block_start", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop", "error",
        NULL };
    int i;

    for (i = 0; names[i]; i++) {
        if (!strcmp(name, names[i])) return 1;
    }
    return 0;
}

static llmp_error_t *handle_event(llmp_xlate_t *x, anthropic_state_t *st,
                                  const char *type, const cJSON *ev)
{
    llmp_error_t *err;

    if (!strcmp(type, "ping")) return NULL;
    if (!strcmp(type, "error")) {
        const cJSON *e = llmp_json_get(ev, "error");
        return map_error(x, 0, llmp_json_str(e, "type"),
                         llmp_json_str(e, "message"));
    }
    if (!known_event(type)) return NULL;      /* new event types: skipped */
    if ((err = ensure_started(x, st))) return err;
    if (!strcmp(type, "message_start")) {
        read_usage(st, llmp_json_get(llmp_json_get(ev, "message"), "usage"));
        return NULL;
    }
    if (!strcmp(type, "content_block_start"))
        return on_block_start(x, st, ev);
    if (!strcmp(type, "content_block_delta"))
        return on_block_delta(x, st, ev);
    if (!strcmp(type, "content_block_stop"))
        return on_block_stop(x, st, ev);
    if (!strcmp(type, "message_delta")) {
        const char *sr =
            llmp_json_str(llmp_json_get(ev, "delta"), "stop_reason");
        if (sr) st->finish = finish_reason(sr);
        read_usage(st, llmp_json_get(ev, "usage"));
        return NULL;
    }
    if (!strcmp(type, "message_stop"))
        return on_message_stop(x, st);
    return NULL;
}

static llmp_error_t *anthropic_chat_stream_event(llmp_xlate_t *x,
                                                 const char *event,
                                                 const char *data,
                                                 apr_size_t len)
{
    anthropic_state_t *st = anthropic_state(x);
    const char *type;
    llmp_error_t *err;
    cJSON *ev;

    if (st->stopped || st->failed) return NULL;   /* nothing after the end */
    if (!event) event = "";
    ev = (data && len) ? cJSON_ParseWithLength(data, len) : NULL;
    if (!cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        if (!strcmp(event, "error")) {
            apr_size_t n = len > 200 ? 200 : len, i;
            char *s = apr_pstrmemdup(x->pool, data ? data : "",
                                     data ? n : 0);
            for (i = 0; s[i]; i++) {
                if ((unsigned char)s[i] < 0x20) s[i] = ' ';
            }
            st->failed = 1;
            return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                                   "Anthropic stream error: %s", s);
        }
        if (known_event(event)) {
            st->failed = 1;
            return llmp_bad_upstream(x->pool, "Anthropic",
                                     apr_psprintf(x->pool,
                                                  "a \"%s\" event "
                                                  "without a JSON object",
                                                  event));
        }
        return NULL;
    }
    type = llmp_json_str(ev, "type");
    if (!type) type = event;
    err = handle_event(x, st, type, ev);
    cJSON_Delete(ev);
    if (err) st->failed = 1;
    return err;
}

static llmp_error_t *anthropic_chat_stream_end(llmp_xlate_t *x,
                                               int upstream_complete)
{
    anthropic_state_t *st = anthropic_state(x);

    if (st->stopped || st->failed) return NULL;
    st->failed = 1;
    if (!upstream_complete)
        return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                               "the connection to Anthropic was lost before "
                               "the end of the answer");
    return llmp_error_make(x->pool, 502, "api_error", NULL, NULL,
                           "the Anthropic stream ended without "
                           "message_stop: the answer is incomplete");
}

static const char *const anthropic_segments[] = { "anthropic", NULL };
static const char *const anthropic_family_words[] = { "claude", NULL };
static const llmp_shape_t anthropic_shapes[] = {
    { "/messages", LLMP_SHAPE_SUFFIX | LLMP_SHAPE_DETECT, LLMP_KIND_CHAT },
    { NULL, 0, LLMP_KIND_ANY }
};
static const llmp_detect_t anthropic_detect = {
    0, anthropic_segments, NULL, anthropic_family_words, anthropic_shapes,
    LLMP_KIND_CHAT
};

const llmp_provider_ops_t llmp_anthropic_ops = {
    "anthropic",
    anthropic_chat_request,
    anthropic_chat_response,
    anthropic_chat_stream_event,
    anthropic_chat_stream_end,
    NULL, NULL,                /* embeddings: Anthropic has none */
    NULL, NULL,                /* images: Anthropic has none */
    anthropic_error,
    &anthropic_detect,
};
