/* Anthropic Messages front (/v1/messages): a Messages request to the
 * internal representation (IR, llmp_front.h), IR answers and chunks back
 * to Messages objects and events (core: no httpd header). The other
 * direction (IR -> an Anthropic backend) is llmp_anthropic.c.
 *
 * Request (Messages -> IR chat request):
 *   model = f->model_id (the list's model_version). "system" (a string or
 *     text blocks) -> one system message, blocks joined by a blank line;
 *     the block Claude Code starts with ("x-anthropic-billing-header: ...",
 *     different on every call) is left out: it is for Anthropic's billing
 *     and would defeat the prefix caching of other backends. Role "system"
 *     inside "messages" (Claude Code's mid-conversation system beta) -> a
 *     system message there.
 *   user turns: a string stays a string; blocks -> parts: text; image
 *     (base64 -> data: URL, url -> URL) as image_url; document (base64 PDF
 *     -> file part {"file_data":"data:application/pdf;base64,...",
 *     "filename"}, text or content source -> text); search_result -> text.
 *     tool_result blocks -> role "tool" messages (tool_call_id =
 *     tool_use_id; content = the text of its string or text blocks, joined
 *     by a newline; is_error with no text -> "Error"), put before the rest
 *     of the turn, which follows as one user message; images and documents
 *     of a tool result go to that user message.
 *   assistant turns: text blocks joined -> content; thinking ->
 *     "reasoning_content" (joined) and "reasoning_signature"; tool_use ->
 *     tool_calls (id, name, arguments = the printed input). redacted
 *     thinking (opaque to any other backend) is dropped.
 *   Server-tool blocks (server_tool_use, web_search_tool_result, mcp_*,
 *     container_upload, ...) are dropped; cache_control and citations are
 *     never copied.
 *   tools: custom tools (no "type", or "custom") -> function tools
 *     (name, description, parameters = input_schema); typed server tools
 *     (web_search_*, bash_*, text_editor_*, code_execution_*, ...) dropped.
 *     tool_choice auto/any(required)/tool(named function)/none;
 *     disable_parallel_tool_use -> parallel_tool_calls false. Without
 *     tools left, tool_choice and parallel_tool_calls are not sent.
 *   max_tokens (required, as Anthropic) -> max_completion_tokens;
 *     stop_sequences -> stop; temperature; top_p; top_k -> "x_llmp":
 *     {"top_k"} (the IR has no top_k); metadata.user_id -> user (as it
 *     is up to 64 bytes, OpenAI's limit; else "u-" + its SHA-1 in hex);
 *     stream -> stream + stream_options.include_usage.
 *   thinking disabled -> reasoning_effort "none"; else output_config.effort
 *     (low, medium, high; max -> high) when sent; else thinking enabled ->
 *     by budget_tokens (<= 2048 low, <= 8192 medium, else high);
 *     adaptive alone sets nothing. output_config.format / output_format
 *     json_schema -> response_format json_schema.
 *   Dropped: context_management, mcp_servers, container, service_tier,
 *     betas, inference_geo and any other field the IR has no place for.
 *   Errors: 400 invalid_request_error, the message starting with the
 *     field's path as Anthropic writes it ("messages.2.content.0.type:").
 * Answer (IR chat.completion -> Message): content thinking (signature ""
 *   when none; "reasoning" is read too, as some OpenAI-compatible servers
 *   name it), text, tool_use (input = the parsed arguments; {} when they
 *   are not a JSON object); stop_reason end_turn / max_tokens / tool_use /
 *   refusal (stop_sequence cannot be told from the IR: end_turn);
 *   usage input_tokens = prompt - cached, output_tokens,
 *   cache_read_input_tokens (when known), cache_creation_input_tokens 0.
 * Stream (IR chunks -> Messages events): message_start at the first
 *   chunk (usage 0: the IR's usage comes last, in message_delta); one block open at a time, indexes in order: thinking
 *   (thinking_delta, then one signature_delta before its stop), text
 *   (text_delta), tool_use (start with id, name, input {}; then
 *   input_json_delta pieces); the open block is stopped when another kind
 *   starts and at the finish; message_delta (stop_reason, usage) and
 *   message_stop at the end. An error, or an end without a finish, is one
 *   "error" event and nothing after it. Each event is printed into one
 *   buffer reused for the next: what is kept per stream is the answer
 *   (f->answer) and nothing per event.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_sha1.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "llmp_messages.h"

#define MSGS_BILLING_HEADER "x-anthropic-billing-header:"
/* OpenAI refuses a "user" longer than this */
#define MSGS_USER_MAX 64

/* ---- small helpers ---- */

/* A 400 about param, its message starting with the param as Anthropic
 * writes it ("messages.0.content: ..."). */
static llmp_error_t *msgs_bad(apr_pool_t *p, const char *param,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static llmp_error_t *msgs_bad(apr_pool_t *p, const char *param,
                              const char *fmt, ...)
{
    va_list ap;
    char *m;

    va_start(ap, fmt);
    m = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return llmp_error_make(p, 400, "invalid_request_error", NULL, param,
                           "%s: %s", param, m);
}

/* A member that is present and not null. */
static const cJSON *msgs_set(const cJSON *o, const char *name)
{
    const cJSON *v = llmp_json_get(o, name);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

/* The request's members msgs_request reads, found in one pass over its
 * members (msgs_read; a lookup by name walks them each time): the first
 * of each name, as cJSON_GetObjectItemCaseSensitive finds it; NULL when
 * absent. */
typedef struct {
    const cJSON *max_tokens, *messages, *metadata, *model, *output_config,
                *output_format, *stop_sequences, *stream, *system,
                *temperature, *thinking, *tool_choice, *tools, *top_k,
                *top_p;
} msgs_in_t;

static void msgs_read(const cJSON *req, msgs_in_t *m)
{
    const cJSON *c;

    memset(m, 0, sizeof(*m));
    if (!cJSON_IsObject(req)) return;
    /* (cJSON's lookup stops at a member without a name too) */
    for (c = req->child; c && c->string; c = c->next) {
        const char *k = c->string;
        const cJSON **slot = NULL;

        switch (k[0]) {
        case 'm':
            if (!strcmp(k, "messages")) slot = &m->messages;
            else if (!strcmp(k, "model")) slot = &m->model;
            else if (!strcmp(k, "max_tokens")) slot = &m->max_tokens;
            else if (!strcmp(k, "metadata")) slot = &m->metadata;
            break;
        case 'o':
            if (!strcmp(k, "output_config")) slot = &m->output_config;
            else if (!strcmp(k, "output_format")) slot = &m->output_format;
            break;
        case 's':
            if (!strcmp(k, "system")) slot = &m->system;
            else if (!strcmp(k, "stream")) slot = &m->stream;
            else if (!strcmp(k, "stop_sequences"))
                slot = &m->stop_sequences;
            break;
        case 't':
            if (!strcmp(k, "temperature")) slot = &m->temperature;
            else if (!strcmp(k, "tools")) slot = &m->tools;
            else if (!strcmp(k, "tool_choice")) slot = &m->tool_choice;
            else if (!strcmp(k, "top_p")) slot = &m->top_p;
            else if (!strcmp(k, "top_k")) slot = &m->top_k;
            else if (!strcmp(k, "thinking")) slot = &m->thinking;
            break;
        default:
            break;
        }
        if (slot && !*slot) *slot = c;
    }
}

/* v when it is present and not null. */
static const cJSON *msgs_nn(const cJSON *v)
{
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

/* An integer of an IR tree: a number, or a raw decimal item (what
 * llmp_json_add_int makes); -1 when neither or negative. */
static long msgs_ir_long(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return v->valuedouble >= 0 && v->valuedouble < 1e15
               ? (long)v->valuedouble : -1;
    if (cJSON_IsRaw(v) && v->valuestring) {
        char *end;
        long n = strtol(v->valuestring, &end, 10);
        return (end != v->valuestring && !*end && n >= 0) ? n : -1;
    }
    return -1;
}

/* Is v a number with an integer value from lo to hi (both within
 * +-1e15)? Its value in *out then. */
static int msgs_integer(const cJSON *v, double lo, double hi, long *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)
        || v->valuedouble != (double)(long)v->valuedouble)
        return 0;
    *out = (long)v->valuedouble;
    return 1;
}

/* A string item that refers to s (owned by the request's tree or the
 * pool, both outliving the IR's use). */
static cJSON *msgs_ref(const char *s)
{
    return cJSON_CreateStringReference(s);
}

static void msgs_add_ref(cJSON *o, const char *name, const char *s)
{
    cJSON_AddItemToObjectCS(o, name, msgs_ref(s));
}

/* Strings joined by sep, in one pass (NULL entries are skipped). */
static const char *msgs_join(apr_pool_t *p, const apr_array_header_t *a,
                             const char *sep)
{
    apr_size_t n = 0, seplen = strlen(sep), k;
    int i, first = 1;
    char *out, *o;

    if (a->nelts == 1) return APR_ARRAY_IDX(a, 0, const char *);
    for (i = 0; i < a->nelts; i++)
        n += strlen(APR_ARRAY_IDX(a, i, const char *)) + seplen;
    o = out = apr_palloc(p, n + 1);
    for (i = 0; i < a->nelts; i++) {
        const char *s = APR_ARRAY_IDX(a, i, const char *);
        if (!first) {
            memcpy(o, sep, seplen);
            o += seplen;
        }
        first = 0;
        k = strlen(s);
        memcpy(o, s, k);
        o += k;
    }
    *o = '\0';
    return out;
}

/* ---- request: content blocks ---- */

/* Block types of Anthropic's server tools and beta features that another
 * backend cannot use: dropped. */
static int msgs_server_block(const char *type)
{
    apr_size_t n = strlen(type);

    return !strcmp(type, "server_tool_use") || !strcmp(type, "mcp_tool_use")
           || !strcmp(type, "mcp_tool_result")
           || !strcmp(type, "container_upload")
           || (n > 12 && !strcmp(type + n - 12, "_tool_result"));
}

typedef struct {
    apr_pool_t *p;
    cJSON *msgs;                /* IR "messages" */
} msgs_req_t;

/* {"type":"text","text"} */
static cJSON *msgs_text_part(const char *text)
{
    cJSON *b = cJSON_CreateObject();

    msgs_add_ref(b, "type", "text");
    msgs_add_ref(b, "text", text);
    return b;
}

/* An image block -> an image_url part. */
static llmp_error_t *msgs_image(apr_pool_t *p, const cJSON *b,
                                const char *param, cJSON **part)
{
    const cJSON *src = llmp_json_get(b, "source");
    const char *st = llmp_json_str(src, "type"), *url;
    cJSON *iu;

    if (!cJSON_IsObject(src))
        return msgs_bad(p, apr_pstrcat(p, param, ".source", NULL),
                        "Field required");
    if (st && !strcmp(st, "base64")) {
        const char *mt = llmp_json_str(src, "media_type");
        const char *data = llmp_json_str(src, "data");
        if (!mt || !*mt)
            return msgs_bad(p, apr_pstrcat(p, param, ".source.media_type",
                                           NULL), "Field required");
        if (!data)
            return msgs_bad(p, apr_pstrcat(p, param, ".source.data", NULL),
                            "Field required");
        url = apr_pstrcat(p, "data:", mt, ";base64,", data, NULL);
    }
    else if (st && !strcmp(st, "url")) {
        url = llmp_json_str(src, "url");
        if (!url || !*url)
            return msgs_bad(p, apr_pstrcat(p, param, ".source.url", NULL),
                            "Field required");
    }
    else {
        return msgs_bad(p, apr_pstrcat(p, param, ".source.type", NULL),
                        "image sources of type \"%s\" are not supported for "
                        "this model (use \"base64\" or \"url\")",
                        st ? st : "");
    }
    *part = cJSON_CreateObject();
    msgs_add_ref(*part, "type", "image_url");
    iu = cJSON_AddObjectToObject(*part, "image_url");
    msgs_add_ref(iu, "url", url);
    return NULL;
}

/* Text blocks of a "content" array (document or search result sources):
 * their text joined by a newline; a 400 for another block type. */
static llmp_error_t *msgs_block_texts(apr_pool_t *p, const cJSON *arr,
                                      const char *param, const char **text)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const cJSON *c;
    int i = 0;

    cJSON_ArrayForEach(c, arr) {
        const char *t = llmp_json_str(c, "text");
        const char *ty = llmp_json_str(c, "type");
        if (!ty || strcmp(ty, "text") || !t)
            return msgs_bad(p, apr_psprintf(p, "%s.%d", param, i),
                            "only text blocks are supported here");
        APR_ARRAY_PUSH(a, const char *) = t;
        i++;
    }
    *text = a->nelts ? msgs_join(p, a, "\n") : "";
    return NULL;
}

/* A document block -> a file part (base64 PDF) or a text part. */
static llmp_error_t *msgs_document(apr_pool_t *p, const cJSON *b,
                                   const char *param, cJSON **part)
{
    const cJSON *src = llmp_json_get(b, "source");
    const char *st = llmp_json_str(src, "type");
    const char *title = llmp_json_str(b, "title");
    llmp_error_t *err;

    if (!cJSON_IsObject(src))
        return msgs_bad(p, apr_pstrcat(p, param, ".source", NULL),
                        "Field required");
    if (st && !strcmp(st, "base64")) {
        const char *mt = llmp_json_str(src, "media_type");
        const char *data = llmp_json_str(src, "data");
        cJSON *file;
        if (!mt || strcasecmp(mt, "application/pdf"))
            return msgs_bad(p, apr_pstrcat(p, param, ".source.media_type",
                                           NULL),
                            "Input should be 'application/pdf'");
        if (!data)
            return msgs_bad(p, apr_pstrcat(p, param, ".source.data", NULL),
                            "Field required");
        *part = cJSON_CreateObject();
        msgs_add_ref(*part, "type", "file");
        file = cJSON_AddObjectToObject(*part, "file");
        msgs_add_ref(file, "file_data",
                     apr_pstrcat(p, "data:application/pdf;base64,", data,
                                 NULL));
        msgs_add_ref(file, "filename",
                     title && *title ? title : "document.pdf");
        return NULL;
    }
    if (st && !strcmp(st, "text")) {
        const char *data = llmp_json_str(src, "data");
        if (!data)
            return msgs_bad(p, apr_pstrcat(p, param, ".source.data", NULL),
                            "Field required");
        *part = msgs_text_part(title && *title
                               ? apr_pstrcat(p, title, "\n\n", data, NULL)
                               : data);
        return NULL;
    }
    if (st && !strcmp(st, "content")) {
        const cJSON *c = llmp_json_get(src, "content");
        const char *text;
        if (cJSON_IsString(c)) {
            text = c->valuestring;
        }
        else if (cJSON_IsArray(c)) {
            err = msgs_block_texts(p, c, apr_pstrcat(p, param,
                                                     ".source.content",
                                                     NULL), &text);
            if (err) return err;
        }
        else {
            return msgs_bad(p, apr_pstrcat(p, param, ".source.content", NULL),
                            "Field required");
        }
        *part = msgs_text_part(title && *title
                               ? apr_pstrcat(p, title, "\n\n", text, NULL)
                               : text);
        return NULL;
    }
    return msgs_bad(p, apr_pstrcat(p, param, ".source.type", NULL),
                    "document sources of type \"%s\" are not supported for "
                    "this model (use \"base64\" PDF, \"text\" or "
                    "\"content\")", st ? st : "");
}

/* A search_result block -> a text part (title, source, its texts). */
static llmp_error_t *msgs_search_result(apr_pool_t *p, const cJSON *b,
                                        const char *param, cJSON **part)
{
    const char *title = llmp_json_str(b, "title");
    const char *source = llmp_json_str(b, "source");
    const char *text;
    llmp_error_t *err = msgs_block_texts(p, llmp_json_get(b, "content"),
                                         apr_pstrcat(p, param, ".content",
                                                     NULL), &text);

    if (err) return err;
    *part = msgs_text_part(apr_pstrcat(p, title ? title : "",
                                       title ? "\n" : "",
                                       source ? source : "",
                                       source ? "\n" : "", text, NULL));
    return NULL;
}

/* A media-ish block of a user turn (image, document, search_result) ->
 * a part; 0 when type is none of them. */
static int msgs_media(apr_pool_t *p, const char *type, const cJSON *b,
                      const char *param, cJSON **part, llmp_error_t **err)
{
    if (!strcmp(type, "image")) *err = msgs_image(p, b, param, part);
    else if (!strcmp(type, "document")) *err = msgs_document(p, b, param,
                                                             part);
    else if (!strcmp(type, "search_result"))
        *err = msgs_search_result(p, b, param, part);
    else return 0;
    return 1;
}

/* A tool_result block -> a role "tool" message (appended to the IR);
 * its images and documents go to media. */
static llmp_error_t *msgs_tool_result(msgs_req_t *r, const cJSON *b,
                                      const char *param, cJSON *media)
{
    apr_pool_t *p = r->p;
    const char *id = llmp_json_str(b, "tool_use_id");
    const cJSON *c = msgs_set(b, "content"), *inner;
    apr_array_header_t *texts = apr_array_make(p, 2, sizeof(const char *));
    const char *text;
    cJSON *m;
    int i = 0;

    if (!id || !*id)
        return msgs_bad(p, apr_pstrcat(p, param, ".tool_use_id", NULL),
                        "Field required");
    if (cJSON_IsString(c)) {
        APR_ARRAY_PUSH(texts, const char *) = c->valuestring;
    }
    else if (cJSON_IsArray(c)) {
        cJSON_ArrayForEach(inner, c) {
            const char *ip = apr_psprintf(p, "%s.content.%d", param, i++);
            const char *type = llmp_json_str(inner, "type");
            cJSON *part = NULL;
            llmp_error_t *err = NULL;

            if (!type)
                return msgs_bad(p, apr_pstrcat(p, ip, ".type", NULL),
                                "Field required");
            if (!strcmp(type, "text")) {
                const char *t = llmp_json_str(inner, "text");
                if (!t)
                    return msgs_bad(p, apr_pstrcat(p, ip, ".text", NULL),
                                    "Field required");
                APR_ARRAY_PUSH(texts, const char *) = t;
            }
            else if (msgs_media(p, type, inner, ip, &part, &err)) {
                if (err) return err;
                cJSON_AddItemToArray(media, part);
            }
            else if (!msgs_server_block(type)) {
                return msgs_bad(p, apr_pstrcat(p, ip, ".type", NULL),
                                "Input tag '%s' found using 'type' does not "
                                "match any of the expected tags: 'text', "
                                "'image', 'document', 'search_result'",
                                type);
            }
        }
    }
    else if (c) {
        return msgs_bad(p, apr_pstrcat(p, param, ".content", NULL),
                        "Input should be a valid string or list");
    }
    text = texts->nelts ? msgs_join(p, texts, "\n") : "";
    if (!*text && cJSON_IsTrue(llmp_json_get(b, "is_error")))
        text = "Error";
    m = cJSON_CreateObject();
    msgs_add_ref(m, "role", "tool");
    msgs_add_ref(m, "tool_call_id", id);
    msgs_add_ref(m, "content", text);
    cJSON_AddItemToArray(r->msgs, m);
    return NULL;
}

static const char *msgs_content_param(apr_pool_t *p, int mi, int bi)
{
    return apr_psprintf(p, "messages.%d.content.%d", mi, bi);
}

/* A user turn: tool results first (as tool messages), then the rest. */
static llmp_error_t *msgs_user(msgs_req_t *r, const cJSON *content, int mi)
{
    apr_pool_t *p = r->p;
    const cJSON *b;
    cJSON *parts, *m;
    int bi = 0;

    if (cJSON_IsString(content)) {
        m = cJSON_CreateObject();
        msgs_add_ref(m, "role", "user");
        msgs_add_ref(m, "content", content->valuestring);
        cJSON_AddItemToArray(r->msgs, m);
        return NULL;
    }
    parts = cJSON_CreateArray();
    cJSON_ArrayForEach(b, content) {
        const char *param = msgs_content_param(p, mi, bi++);
        const char *type = llmp_json_str(b, "type");
        cJSON *part = NULL;
        llmp_error_t *err = NULL;

        if (!type) {
            err = msgs_bad(p, apr_pstrcat(p, param, ".type", NULL),
                           "Field required");
        }
        else if (!strcmp(type, "text")) {
            const char *t = llmp_json_str(b, "text");
            if (!t) err = msgs_bad(p, apr_pstrcat(p, param, ".text", NULL),
                                   "Field required");
            else part = msgs_text_part(t);
        }
        else if (!strcmp(type, "tool_result")) {
            err = msgs_tool_result(r, b, param, parts);
        }
        else if (msgs_media(p, type, b, param, &part, &err)) {
            /* part or err set */
        }
        else if (!msgs_server_block(type)) {
            err = msgs_bad(p, apr_pstrcat(p, param, ".type", NULL),
                           "Input tag '%s' found using 'type' does not match "
                           "any of the expected tags for a user message: "
                           "'text', 'image', 'document', 'search_result', "
                           "'tool_result'", type);
        }
        if (err) {
            cJSON_Delete(parts);
            return err;
        }
        if (part) cJSON_AddItemToArray(parts, part);
    }
    if (!parts->child) {
        cJSON_Delete(parts);
        return NULL;
    }
    m = cJSON_CreateObject();
    msgs_add_ref(m, "role", "user");
    cJSON_AddItemToObjectCS(m, "content", parts);
    cJSON_AddItemToArray(r->msgs, m);
    return NULL;
}

/* tool_use block -> an IR tool call. */
static llmp_error_t *msgs_tool_use(apr_pool_t *p, const cJSON *b,
                                   const char *param, cJSON *calls)
{
    const char *id = llmp_json_str(b, "id");
    const char *name = llmp_json_str(b, "name");
    const cJSON *input = msgs_set(b, "input");
    const char *args = "{}";
    cJSON *call, *fn;

    if (!id || !*id)
        return msgs_bad(p, apr_pstrcat(p, param, ".id", NULL),
                        "Field required");
    if (!name || !*name)
        return msgs_bad(p, apr_pstrcat(p, param, ".name", NULL),
                        "Field required");
    if (input && !cJSON_IsObject(input))
        return msgs_bad(p, apr_pstrcat(p, param, ".input", NULL),
                        "Input should be a valid dictionary");
    if (input) {
        args = llmp_json_print(p, input, NULL);
        if (!args)
            return llmp_error_make(p, 500, "api_error", NULL, NULL,
                                   "out of memory");
    }
    call = cJSON_CreateObject();
    msgs_add_ref(call, "id", id);
    msgs_add_ref(call, "type", "function");
    fn = cJSON_AddObjectToObject(call, "function");
    msgs_add_ref(fn, "name", name);
    msgs_add_ref(fn, "arguments", args);
    cJSON_AddItemToArray(calls, call);
    return NULL;
}

/* An assistant turn: text, reasoning and tool calls in one message. */
static llmp_error_t *msgs_assistant(msgs_req_t *r, const cJSON *content,
                                    int mi)
{
    apr_pool_t *p = r->p;
    apr_array_header_t *texts, *thinking;
    const char *signature = NULL;
    const cJSON *b;
    cJSON *calls, *m;
    int bi = 0;

    m = cJSON_CreateObject();
    msgs_add_ref(m, "role", "assistant");
    if (cJSON_IsString(content)) {
        msgs_add_ref(m, "content", content->valuestring);
        cJSON_AddItemToArray(r->msgs, m);
        return NULL;
    }
    texts = apr_array_make(p, 2, sizeof(const char *));
    thinking = apr_array_make(p, 1, sizeof(const char *));
    calls = cJSON_CreateArray();
    cJSON_ArrayForEach(b, content) {
        const char *param = msgs_content_param(p, mi, bi++);
        const char *type = llmp_json_str(b, "type");
        llmp_error_t *err = NULL;

        if (!type) {
            err = msgs_bad(p, apr_pstrcat(p, param, ".type", NULL),
                           "Field required");
        }
        else if (!strcmp(type, "text")) {
            const char *t = llmp_json_str(b, "text");
            if (!t) err = msgs_bad(p, apr_pstrcat(p, param, ".text", NULL),
                                   "Field required");
            else APR_ARRAY_PUSH(texts, const char *) = t;
        }
        else if (!strcmp(type, "thinking")) {
            const char *t = llmp_json_str(b, "thinking");
            const char *s = llmp_json_str(b, "signature");
            if (!t) err = msgs_bad(p, apr_pstrcat(p, param, ".thinking",
                                                  NULL), "Field required");
            else {
                APR_ARRAY_PUSH(thinking, const char *) = t;
                if (s && *s) signature = s;
            }
        }
        else if (!strcmp(type, "tool_use")) {
            err = msgs_tool_use(p, b, param, calls);
        }
        else if (strcmp(type, "redacted_thinking")
                 && !msgs_server_block(type)) {
            err = msgs_bad(p, apr_pstrcat(p, param, ".type", NULL),
                           "Input tag '%s' found using 'type' does not match "
                           "any of the expected tags for an assistant "
                           "message: 'text', 'thinking', "
                           "'redacted_thinking', 'tool_use'", type);
        }
        if (err) {
            cJSON_Delete(calls);
            cJSON_Delete(m);
            return err;
        }
    }
    if (texts->nelts) msgs_add_ref(m, "content", msgs_join(p, texts, ""));
    else if (calls->child) cJSON_AddNullToObject(m, "content");
    else msgs_add_ref(m, "content", "");
    if (thinking->nelts)
        msgs_add_ref(m, "reasoning_content", msgs_join(p, thinking, "\n\n"));
    if (signature) msgs_add_ref(m, "reasoning_signature", signature);
    if (calls->child) cJSON_AddItemToObjectCS(m, "tool_calls", calls);
    else cJSON_Delete(calls);
    cJSON_AddItemToArray(r->msgs, m);
    return NULL;
}

/* The text of a "system" (string or text blocks), blocks joined by a blank
 * line, Claude Code's billing header left out; NULL when there is none. */
static llmp_error_t *msgs_system_text(apr_pool_t *p, const cJSON *sys,
                                      const char *param, const char **out)
{
    apr_array_header_t *a;
    const cJSON *b;
    int i = 0;

    *out = NULL;
    if (!sys || cJSON_IsNull(sys)) return NULL;
    if (cJSON_IsString(sys)) {
        if (*sys->valuestring) *out = sys->valuestring;
        return NULL;
    }
    if (!cJSON_IsArray(sys))
        return msgs_bad(p, param, "Input should be a valid string or list");
    a = apr_array_make(p, 4, sizeof(const char *));
    cJSON_ArrayForEach(b, sys) {
        const char *type = llmp_json_str(b, "type");
        const char *t = llmp_json_str(b, "text");
        if (!type || strcmp(type, "text"))
            return msgs_bad(p, apr_psprintf(p, "%s.%d.type", param, i),
                            "Input should be 'text'");
        if (!t)
            return msgs_bad(p, apr_psprintf(p, "%s.%d.text", param, i),
                            "Field required");
        i++;
        if (!*t || !strncmp(t, MSGS_BILLING_HEADER,
                            sizeof(MSGS_BILLING_HEADER) - 1))
            continue;
        APR_ARRAY_PUSH(a, const char *) = t;
    }
    if (a->nelts) *out = msgs_join(p, a, "\n\n");
    return NULL;
}

static void msgs_add_system(msgs_req_t *r, const char *text)
{
    cJSON *m = cJSON_CreateObject();

    msgs_add_ref(m, "role", "system");
    msgs_add_ref(m, "content", text);
    cJSON_AddItemToArray(r->msgs, m);
}

/* "messages" -> IR messages (after the system message). */
static llmp_error_t *msgs_messages(msgs_req_t *r, const cJSON *msgs)
{
    apr_pool_t *p = r->p;
    const cJSON *m;
    int mi = 0;

    if (!msgs) return msgs_bad(p, "messages", "Field required");
    if (!cJSON_IsArray(msgs))
        return msgs_bad(p, "messages", "Input should be a valid list");
    cJSON_ArrayForEach(m, msgs) {
        const char *role = llmp_json_str(m, "role");
        const cJSON *c = llmp_json_get(m, "content");
        llmp_error_t *err;

        if (!cJSON_IsObject(m))
            return msgs_bad(p, apr_psprintf(p, "messages.%d", mi),
                            "Input should be a valid dictionary");
        if (!role)
            return msgs_bad(p, apr_psprintf(p, "messages.%d.role", mi),
                            "Field required");
        if (!c)
            return msgs_bad(p, apr_psprintf(p, "messages.%d.content", mi),
                            "Field required");
        if (strcmp(role, "system") && !cJSON_IsString(c)
            && !cJSON_IsArray(c))
            return msgs_bad(p, apr_psprintf(p, "messages.%d.content", mi),
                            "Input should be a valid string or list");
        if (!strcmp(role, "user")) {
            err = msgs_user(r, c, mi);
        }
        else if (!strcmp(role, "assistant")) {
            err = msgs_assistant(r, c, mi);
        }
        else if (!strcmp(role, "system")) {
            const char *t;
            err = msgs_system_text(p, c, apr_psprintf(p,
                                                      "messages.%d.content",
                                                      mi), &t);
            if (!err && t) msgs_add_system(r, t);
        }
        else {
            err = msgs_bad(p, apr_psprintf(p, "messages.%d.role", mi),
                           "Input should be 'user' or 'assistant'");
        }
        if (err) return err;
        mi++;
    }
    return NULL;
}

/* ---- request: tools and settings ---- */

/* tools -> IR function tools (server tools left out); 1 in *any when at
 * least one is kept. */
static llmp_error_t *msgs_tools(apr_pool_t *p, const cJSON *tools,
                                cJSON *ir, int *any)
{
    const cJSON *t;
    cJSON *out = NULL;
    int ti = 0;

    *any = 0;
    if (!tools) return NULL;
    if (!cJSON_IsArray(tools))
        return msgs_bad(p, "tools", "Input should be a valid list");
    cJSON_ArrayForEach(t, tools) {
        const char *type = llmp_json_str(t, "type");
        const char *name = llmp_json_str(t, "name");
        const char *desc = llmp_json_str(t, "description");
        const cJSON *schema = llmp_json_get(t, "input_schema");
        cJSON *nt, *fn;
        int i = ti++;

        if (!cJSON_IsObject(t))
            return msgs_bad(p, apr_psprintf(p, "tools.%d", i),
                            "Input should be a valid dictionary");
        if (type && strcmp(type, "custom"))
            continue;               /* a server tool: web_search_*, ... */
        if (!name || !*name)
            return msgs_bad(p, apr_psprintf(p, "tools.%d.name", i),
                            "Field required");
        if (!cJSON_IsObject(schema))
            return msgs_bad(p, apr_psprintf(p, "tools.%d.input_schema", i),
                            schema ? "Input should be a valid dictionary"
                                   : "Field required");
        if (!out) out = cJSON_AddArrayToObject(ir, "tools");
        nt = cJSON_CreateObject();
        msgs_add_ref(nt, "type", "function");
        fn = cJSON_AddObjectToObject(nt, "function");
        msgs_add_ref(fn, "name", name);
        if (desc && *desc) msgs_add_ref(fn, "description", desc);
        /* the schema is not copied: read only, printed while the request
         * lives */
        cJSON_AddItemToObjectCS(fn, "parameters",
                                cJSON_CreateObjectReference(schema->child));
        cJSON_AddItemToArray(out, nt);
    }
    *any = out != NULL;
    return NULL;
}

static llmp_error_t *msgs_tool_choice(apr_pool_t *p, const cJSON *tc,
                                      cJSON *ir, int tools)
{
    const char *type;

    if (!tc) return NULL;
    type = llmp_json_str(tc, "type");
    if (!cJSON_IsObject(tc))
        return msgs_bad(p, "tool_choice", "Input should be a valid "
                        "dictionary");
    if (!type)
        return msgs_bad(p, "tool_choice.type", "Field required");
    if (strcmp(type, "auto") && strcmp(type, "any") && strcmp(type, "tool")
        && strcmp(type, "none"))
        return msgs_bad(p, "tool_choice.type",
                        "Input tag '%s' found using 'type' does not match "
                        "any of the expected tags: 'auto', 'any', 'tool', "
                        "'none'", type);
    if (!strcmp(type, "tool")) {
        const char *name = llmp_json_str(tc, "name");
        cJSON *c, *fn;
        if (!name || !*name)
            return msgs_bad(p, "tool_choice.name", "Field required");
        if (!tools) return NULL;
        c = cJSON_CreateObject();
        msgs_add_ref(c, "type", "function");
        fn = cJSON_AddObjectToObject(c, "function");
        msgs_add_ref(fn, "name", name);
        cJSON_AddItemToObjectCS(ir, "tool_choice", c);
    }
    else if (tools) {
        cJSON_AddItemToObjectCS(ir, "tool_choice",
                                msgs_ref(!strcmp(type, "any") ? "required"
                                                              : type));
    }
    if (tools && cJSON_IsTrue(llmp_json_get(tc, "disable_parallel_tool_use"))
        && strcmp(type, "none"))
        cJSON_AddFalseToObject(ir, "parallel_tool_calls");
    return NULL;
}

/* thinking and output_config.effort -> reasoning_effort. */
static llmp_error_t *msgs_reasoning(apr_pool_t *p, const msgs_in_t *in,
                                    cJSON *ir)
{
    const cJSON *th = msgs_nn(in->thinking);
    const cJSON *oc = msgs_nn(in->output_config);
    const char *type = llmp_json_str(th, "type");
    const char *effort = llmp_json_str(oc, "effort");
    const char *out = NULL;

    if (th && !cJSON_IsObject(th))
        return msgs_bad(p, "thinking", "Input should be a valid dictionary");
    if (th && !type)
        return msgs_bad(p, "thinking.type", "Field required");
    if (type && strcmp(type, "enabled") && strcmp(type, "disabled")
        && strcmp(type, "adaptive"))
        return msgs_bad(p, "thinking.type",
                        "Input tag '%s' found using 'type' does not match "
                        "any of the expected tags: 'enabled', 'disabled', "
                        "'adaptive'", type);
    if (type && !strcmp(type, "disabled")) {
        out = "none";
    }
    else if (effort) {
        if (!strcmp(effort, "low") || !strcmp(effort, "medium")
            || !strcmp(effort, "high"))
            out = effort;
        else if (!strcmp(effort, "max"))
            out = "high";
        else
            return msgs_bad(p, "output_config.effort",
                            "Input should be 'low', 'medium', 'high' or "
                            "'max'");
    }
    else if (type && !strcmp(type, "enabled")) {
        const cJSON *bt = llmp_json_get(th, "budget_tokens");
        long budget;
        if (!msgs_integer(bt, 1, 1e9, &budget))
            return msgs_bad(p, "thinking.budget_tokens",
                            bt ? "Input should be a valid integer"
                               : "Field required");
        out = budget <= 2048 ? "low" : budget <= 8192 ? "medium" : "high";
    }
    if (out) msgs_add_ref(ir, "reasoning_effort", out);
    return NULL;
}

/* output_config.format or output_format (json_schema) -> response_format. */
static llmp_error_t *msgs_format(apr_pool_t *p, const msgs_in_t *in,
                                 cJSON *ir)
{
    const char *param = "output_config.format";
    const cJSON *fmt = msgs_set(msgs_nn(in->output_config), "format");
    const cJSON *schema;
    const char *type;
    cJSON *rf, *js;

    if (!fmt) {
        fmt = msgs_nn(in->output_format);
        param = "output_format";
    }
    if (!fmt) return NULL;
    type = llmp_json_str(fmt, "type");
    schema = llmp_json_get(fmt, "schema");
    if (!type || strcmp(type, "json_schema"))
        return msgs_bad(p, apr_pstrcat(p, param, ".type", NULL),
                        "Input should be 'json_schema'");
    if (!cJSON_IsObject(schema))
        return msgs_bad(p, apr_pstrcat(p, param, ".schema", NULL),
                        "Field required");
    rf = cJSON_AddObjectToObject(ir, "response_format");
    msgs_add_ref(rf, "type", "json_schema");
    js = cJSON_AddObjectToObject(rf, "json_schema");
    msgs_add_ref(js, "name", "output");
    cJSON_AddItemToObjectCS(js, "schema",
                            cJSON_CreateObjectReference(schema->child));
    return NULL;
}

/* A number member in [lo, hi] copied to the IR under irname. */
static llmp_error_t *msgs_number(apr_pool_t *p, const cJSON *v,
                                 const char *name, double lo, double hi,
                                 cJSON *ir, const char *irname)
{
    v = msgs_nn(v);
    if (!v) return NULL;
    if (!cJSON_IsNumber(v))
        return msgs_bad(p, name, "Input should be a valid number");
    if (v->valuedouble < lo || v->valuedouble > hi)
        return msgs_bad(p, name, "Input should be between %g and %g", lo,
                        hi);
    cJSON_AddNumberToObject(ir, irname, v->valuedouble);
    return NULL;
}

/* metadata.user_id as an IR "user": as it is up to MSGS_USER_MAX bytes,
 * else "u-" and its SHA-1 in hex (Claude Code sends a JSON object of ~170
 * bytes there: the same id still gives the same user). */
static const char *msgs_user_id(apr_pool_t *p, const char *id)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t ctx;
    char *out;
    int i;

    if (strlen(id) <= MSGS_USER_MAX) return id;
    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, (const unsigned char *)id, strlen(id));
    apr_sha1_final(d, &ctx);
    out = apr_palloc(p, 2 + 2 * APR_SHA1_DIGESTSIZE + 1);
    out[0] = 'u';
    out[1] = '-';
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        out[2 + 2 * i] = hex[d[i] >> 4];
        out[3 + 2 * i] = hex[d[i] & 15];
    }
    out[2 + 2 * APR_SHA1_DIGESTSIZE] = '\0';
    return out;
}

static llmp_error_t *msgs_request(llmp_front_t *f, const cJSON *req,
                                  cJSON **out)
{
    apr_pool_t *p = f->pool;
    msgs_req_t r;
    msgs_in_t in;
    cJSON *ir;
    const cJSON *v;
    const char *sys, *user;
    llmp_error_t *err;
    long max_tokens, top_k;
    int tools;

    if (!cJSON_IsObject(req))
        return llmp_error_make(p, 400, "invalid_request_error", NULL, NULL,
                               "the request body must be a JSON object");
    msgs_read(req, &in);
    ir = cJSON_CreateObject();
    llmp_json_pool_own(p, ir);
    r.p = p;
    if (f->model_id) msgs_add_ref(ir, "model", f->model_id);
    else if (cJSON_IsString(in.model))
        msgs_add_ref(ir, "model", in.model->valuestring);
    r.msgs = cJSON_AddArrayToObject(ir, "messages");

    /* max_tokens: required, as Anthropic has it */
    v = in.max_tokens;
    if (!v || cJSON_IsNull(v))
        return msgs_bad(p, "max_tokens", "Field required");
    if (!msgs_integer(v, -1e9, 1e9, &max_tokens))
        return msgs_bad(p, "max_tokens", "Input should be a valid integer");
    if (max_tokens < 1)
        return msgs_bad(p, "max_tokens", "Input should be greater than or "
                        "equal to 1");

    if ((err = msgs_system_text(p, in.system, "system",
                                &sys)))
        return err;
    if (sys) msgs_add_system(&r, sys);
    if ((err = msgs_messages(&r, in.messages)))
        return err;
    /* numbers, not llmp_json_add_int's raw items: back translators read
     * the IR request with cJSON_IsNumber */
    cJSON_AddNumberToObject(ir, "max_completion_tokens", (double)max_tokens);

    if ((err = msgs_number(p, in.temperature, "temperature", 0, 1, ir,
                            "temperature"))
        || (err = msgs_number(p, in.top_p, "top_p", 0, 1, ir, "top_p")))
        return err;
    if ((v = msgs_nn(in.top_k))) {
        cJSON *x;
        if (!msgs_integer(v, 0, 1e9, &top_k))
            return msgs_bad(p, "top_k", "Input should be a valid integer");
        x = cJSON_AddObjectToObject(ir, "x_llmp");
        cJSON_AddNumberToObject(x, "top_k", (double)top_k);
    }
    if ((v = msgs_nn(in.stop_sequences))) {
        const cJSON *s;
        cJSON *stop;
        int i = 0;
        if (!cJSON_IsArray(v))
            return msgs_bad(p, "stop_sequences", "Input should be a valid "
                            "list");
        stop = cJSON_CreateArray();
        cJSON_ArrayForEach(s, v) {
            if (!cJSON_IsString(s)) {
                cJSON_Delete(stop);
                return msgs_bad(p, apr_psprintf(p, "stop_sequences.%d", i),
                                "Input should be a valid string");
            }
            cJSON_AddItemToArray(stop, msgs_ref(s->valuestring));
            i++;
        }
        if (stop->child) cJSON_AddItemToObjectCS(ir, "stop", stop);
        else cJSON_Delete(stop);
    }
    if ((err = msgs_reasoning(p, &in, ir))
        || (err = msgs_format(p, &in, ir)))
        return err;

    /* metadata.user_id -> user */
    v = msgs_nn(in.metadata);
    if (v && !cJSON_IsObject(v))
        return msgs_bad(p, "metadata", "Input should be a valid dictionary");
    user = llmp_json_str(v, "user_id");
    if (user && *user) msgs_add_ref(ir, "user", msgs_user_id(p, user));

    if ((err = msgs_tools(p, msgs_nn(in.tools), ir, &tools))
        || (err = msgs_tool_choice(p, msgs_nn(in.tool_choice), ir,
                                   tools)))
        return err;

    v = msgs_nn(in.stream);
    if (v && !cJSON_IsBool(v))
        return msgs_bad(p, "stream", "Input should be a valid boolean");
    if (cJSON_IsTrue(v)) {
        cJSON *so;
        cJSON_AddTrueToObject(ir, "stream");
        so = cJSON_AddObjectToObject(ir, "stream_options");
        cJSON_AddTrueToObject(so, "include_usage");
    }
    *out = ir;
    return NULL;
}

/* ---- answers ---- */

/* The reasoning of an IR message or delta: "reasoning_content", else the
 * "reasoning" some OpenAI-compatible servers send (vLLM, OpenRouter). */
static const char *msgs_reasoning_text(const cJSON *o)
{
    const char *s = llmp_json_str(o, "reasoning_content");

    return s ? s : llmp_json_str(o, "reasoning");
}

static const char *msgs_stop_reason(const char *finish, int tool_calls)
{
    if (finish && !strcmp(finish, LLMP_FINISH_LENGTH)) return "max_tokens";
    if (finish && !strcmp(finish, LLMP_FINISH_CONTENT_FILTER))
        return "refusal";
    if (tool_calls || (finish && !strcmp(finish, LLMP_FINISH_TOOL_CALLS)))
        return "tool_use";
    return "end_turn";
}

/* Token counts of an IR "usage"; -1 each when unknown. */
typedef struct {
    long prompt, completion, cached;
} msgs_usage_t;

static void msgs_read_usage(const cJSON *u, msgs_usage_t *out)
{
    long v;

    if (!cJSON_IsObject(u)) return;
    if ((v = msgs_ir_long(llmp_json_get(u, "prompt_tokens"))) >= 0)
        out->prompt = v;
    if ((v = msgs_ir_long(llmp_json_get(u, "completion_tokens"))) >= 0)
        out->completion = v;
    if ((v = msgs_ir_long(llmp_json_get(llmp_json_get(
                               u, "prompt_tokens_details"),
                           "cached_tokens"))) >= 0)
        out->cached = v;
}

/* Messages "usage". */
/* An integer member as llmp_json_add_int writes it (a raw item of its
 * decimal text), with a constant name (not copied). */
static void msgs_add_int(cJSON *o, const char *name, long v)
{
    char buf[LLMP_INT_TEXT_SIZE];
    cJSON *item = cJSON_CreateRaw(llmp_int_text(buf, v));

    if (item && !cJSON_AddItemToObjectCS(o, name, item)) cJSON_Delete(item);
}

static cJSON *msgs_usage_json(const msgs_usage_t *u, int delta)
{
    cJSON *o = cJSON_CreateObject();
    long cached = u->cached > 0 ? u->cached : 0;
    long in = u->prompt > cached ? u->prompt - cached : 0;

    if (!delta || u->prompt >= 0) msgs_add_int(o, "input_tokens", in);
    if (u->cached >= 0) {
        msgs_add_int(o, "cache_creation_input_tokens", 0);
        msgs_add_int(o, "cache_read_input_tokens", u->cached);
    }
    msgs_add_int(o, "output_tokens", u->completion > 0 ? u->completion : 0);
    return o;
}

/* The input of a tool_use block: the arguments parsed when they are a JSON
 * object, else {}. */
static cJSON *msgs_input(const char *args, apr_size_t len)
{
    cJSON *in = (args && len) ? llmp_json_parse_strict(args, len) : NULL;

    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        in = cJSON_CreateObject();
    }
    return in;
}

static const char *msgs_id(llmp_front_t *f)
{
    if (!f->id) f->id = llmp_make_id(f->pool, "msg_");
    return f->id;
}

/* A Message without content blocks, stop and usage; *content: its
 * "content" array. Names constant, strings referred to (the id and the
 * model's name in the pool). */
static cJSON *msgs_message_new(llmp_front_t *f, cJSON **content)
{
    cJSON *m = cJSON_CreateObject(), *c = cJSON_CreateArray();

    msgs_add_ref(m, "id", msgs_id(f));
    msgs_add_ref(m, "type", "message");
    msgs_add_ref(m, "role", "assistant");
    msgs_add_ref(m, "model", apr_pstrdup(f->pool, f->model_id ? f->model_id
                                                               : ""));
    if (c && !cJSON_AddItemToObjectCS(m, "content", c)) {
        cJSON_Delete(c);
        c = NULL;
    }
    *content = c;
    return m;
}

static cJSON *msgs_block(const char *type)
{
    cJSON *b = cJSON_CreateObject();

    msgs_add_ref(b, "type", type);
    return b;
}

static llmp_error_t *msgs_response(llmp_front_t *f, const cJSON *completion,
                                   char **out, apr_size_t *len)
{
    apr_pool_t *p = f->pool;
    const cJSON *choice = cJSON_GetArrayItem(
        llmp_json_get(completion, "choices"), 0);
    const cJSON *msg = llmp_json_get(choice, "message");
    const cJSON *calls = llmp_json_get(msg, "tool_calls"), *c;
    const char *reasoning = msgs_reasoning_text(msg);
    const char *sig = llmp_json_str(msg, "reasoning_signature");
    const char *text = llmp_content_text(p, llmp_json_get(msg, "content"));
    const char *refusal = llmp_json_str(msg, "refusal");
    const char *finish = llmp_json_str(choice, "finish_reason");
    msgs_usage_t u = { -1, -1, -1 };
    cJSON *m, *content, *b;
    int ncalls = 0;

    if (!cJSON_IsObject(msg))
        return llmp_bad_upstream(p, "the backend",
                                 "no choices[0].message in the answer");
    /* strings referred to: the completion's and the pool's, which
     * outlive the answer's use */
    m = msgs_message_new(f, &content);
    llmp_json_pool_own(p, m);
    if (reasoning && *reasoning) {
        b = msgs_block("thinking");
        msgs_add_ref(b, "thinking", reasoning);
        msgs_add_ref(b, "signature", sig ? sig : "");
        cJSON_AddItemToArray(content, b);
    }
    if ((!text || !*text) && refusal && *refusal) text = refusal;
    if (text && *text) {
        b = msgs_block("text");
        msgs_add_ref(b, "text", text);
        cJSON_AddItemToArray(content, b);
    }
    cJSON_ArrayForEach(c, calls) {
        const cJSON *fn = llmp_json_get(c, "function");
        const char *id = llmp_json_str(c, "id");
        const char *name = llmp_json_str(fn, "name");
        const char *args = llmp_json_str(fn, "arguments");
        if (!name) continue;
        b = msgs_block("tool_use");
        msgs_add_ref(b, "id", id && *id ? id : llmp_make_id(p, "toolu_"));
        msgs_add_ref(b, "name", name);
        cJSON_AddItemToObjectCS(b, "input",
                                msgs_input(args, args ? strlen(args) : 0));
        cJSON_AddItemToArray(content, b);
        ncalls++;
    }
    msgs_add_ref(m, "stop_reason", msgs_stop_reason(finish, ncalls));
    cJSON_AddItemToObjectCS(m, "stop_sequence", cJSON_CreateNull());
    msgs_read_usage(llmp_json_get(completion, "usage"), &u);
    cJSON_AddItemToObjectCS(m, "usage", msgs_usage_json(&u, 0));
    f->answer = m;
    return llmp_json_out(p, m, out, len);
}

/* ---- errors ---- */

const char *llmp_messages_error_type(const llmp_error_t *e)
{
    static const char *const own[] = {
        "invalid_request_error", "authentication_error", "billing_error",
        "permission_error", "not_found_error", "request_too_large",
        "rate_limit_error", "timeout_error", "overloaded_error", NULL };
    int i;

    if (!e) return "api_error";
    for (i = 0; e->type && own[i]; i++) {
        /* invalid_request_error is also OpenAI's catch-all: the status
         * says more */
        if (!strcmp(e->type, own[i]) && i) return own[i];
    }
    if (e->code && !strcmp(e->code, "request_too_large"))
        return "request_too_large";
    switch (e->status) {
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default:
        return e->status >= 500 || e->status < 400 ? "api_error"
                                                   : "invalid_request_error";
    }
}

int llmp_messages_error_status(const llmp_error_t *e)
{
    if (!e) return 500;
    if (!strcmp(llmp_messages_error_type(e), "overloaded_error")) return 529;
    return e->status >= 400 && e->status <= 599 ? e->status : 500;
}

static cJSON *msgs_error_tree(const llmp_error_t *e)
{
    cJSON *root = cJSON_CreateObject(), *err;

    msgs_add_ref(root, "type", "error");
    err = cJSON_AddObjectToObject(root, "error");
    msgs_add_ref(err, "type", llmp_messages_error_type(e));
    cJSON_AddStringToObject(err, "message",
                            e && e->message ? e->message : "error");
    return root;
}

static char *msgs_error_json(apr_pool_t *p, const llmp_error_t *e)
{
    cJSON *root = msgs_error_tree(e);
    char *s = llmp_json_print(p, root, NULL);

    cJSON_Delete(root);
    return s ? s : "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                   "\"message\":\"out of memory\"}}";
}

/* ---- streams ---- */

enum { MSGS_NONE = 0, MSGS_THINKING, MSGS_TEXT, MSGS_TOOL };

typedef struct {
    long ir_index;              /* the IR tool_calls index */
    const char *id;
    int block;                  /* its Messages content block index */
    cJSON *answer;              /* its block in the answer */
    llmp_buf_t args;            /* the arguments so far */
} msgs_tool_t;

typedef struct {
    int init;
    int started;                /* message_start sent */
    int done;                   /* the last event was sent */
    int finished;               /* a finish_reason was seen */
    const char *finish;
    int open;                   /* kind of the open block, MSGS_NONE */
    int open_block;             /* its index */
    int next_block;
    msgs_tool_t *tool;          /* the open tool block */
    int sig_sent;               /* the open thinking block's signature */
    const char *signature;      /* the last reasoning_signature */
    msgs_usage_t usage;
    llmp_buf_t ev;              /* one event's data, reused */
    llmp_buf_t cur;             /* text of the open thinking/text block */
    cJSON *answer;              /* the Message being built */
    cJSON *content;             /* its content */
    cJSON *thinking;            /* the last thinking block of the answer */
    cJSON *cur_block;           /* the open thinking/text block's */
    apr_array_header_t *tools;  /* msgs_tool_t *, by order of arrival */
} msgs_stream_t;

static msgs_stream_t *msgs_state(llmp_front_t *f)
{
    msgs_stream_t *st = f->state;

    if (!st) st = f->state = apr_pcalloc(f->pool, sizeof(*st));
    if (!st->init) {
        st->init = 1;
        st->usage.prompt = st->usage.completion = st->usage.cached = -1;
        llmp_buf_init(&st->ev, f->pool, LLMP_JSON_MAX);
        st->ev.first = 1024;
        llmp_buf_init(&st->cur, f->pool, LLMP_JSON_MAX);
        st->cur.first = 1024;
        st->tools = apr_array_make(f->pool, 4, sizeof(msgs_tool_t *));
        st->answer = msgs_message_new(f, &st->content);
        llmp_json_pool_own(f->pool, st->answer);
    }
    return st;
}

static llmp_error_t *msgs_write_failed(apr_pool_t *p)
{
    return llmp_error_make(p, 500, "api_error", NULL, NULL,
                           "could not write the stream");
}

/* Print ev (deleted) into the reused buffer and send it as event name. */
static llmp_error_t *msgs_emit(llmp_front_t *f, msgs_stream_t *st,
                               const char *name, cJSON *ev)
{
    apr_status_t rv;

    st->ev.len = 0;
    rv = llmp_json_write(&st->ev, ev);
    cJSON_Delete(ev);
    if (rv != APR_SUCCESS) return msgs_write_failed(f->pool);
    if (!f->emit) return NULL;
    rv = f->emit(f->emit_baton, name, st->ev.data, st->ev.len);
    return rv == APR_SUCCESS ? NULL : msgs_write_failed(f->pool);
}

static cJSON *msgs_event(const char *type)
{
    cJSON *ev = cJSON_CreateObject();

    msgs_add_ref(ev, "type", type);
    return ev;
}

static llmp_error_t *msgs_start(llmp_front_t *f, msgs_stream_t *st)
{
    cJSON *ev, *m, *u, *content;

    if (st->started) return NULL;
    st->started = 1;
    ev = msgs_event("message_start");
    m = msgs_message_new(f, &content);
    cJSON_AddNullToObject(m, "stop_reason");
    cJSON_AddNullToObject(m, "stop_sequence");
    u = cJSON_AddObjectToObject(m, "usage");
    llmp_json_add_int(u, "input_tokens", 0);
    llmp_json_add_int(u, "output_tokens", 0);
    cJSON_AddItemToObjectCS(ev, "message", m);
    return msgs_emit(f, st, "message_start", ev);
}

/* content_block_delta {index, delta: {type, name: value}} */
static llmp_error_t *msgs_delta(llmp_front_t *f, msgs_stream_t *st,
                                int block, const char *type,
                                const char *name, const char *value)
{
    cJSON *ev = msgs_event("content_block_delta"), *d;

    llmp_json_add_int(ev, "index", block);
    d = cJSON_AddObjectToObject(ev, "delta");
    msgs_add_ref(d, "type", type);
    msgs_add_ref(d, name, value);
    return msgs_emit(f, st, "content_block_delta", ev);
}

static llmp_error_t *msgs_signature(llmp_front_t *f, msgs_stream_t *st)
{
    const char *sig = st->signature ? st->signature : "";

    st->sig_sent = 1;
    if (st->thinking)
        cJSON_ReplaceItemInObjectCaseSensitive(st->thinking, "signature",
                                               cJSON_CreateString(sig));
    return msgs_delta(f, st, st->open_block, "signature_delta", "signature",
                      sig);
}

/* The open thinking or text block's text into its block of the answer. */
static void msgs_keep_text(msgs_stream_t *st)
{
    if (st->cur_block)
        cJSON_ReplaceItemInObjectCaseSensitive(
            st->cur_block, st->open == MSGS_THINKING ? "thinking" : "text",
            cJSON_CreateString(st->cur.data ? st->cur.data : ""));
    st->cur_block = NULL;
    st->cur.len = 0;
    if (st->cur.data) st->cur.data[0] = '\0';
}

/* Stop the open block (a thinking block sends its signature first). */
static llmp_error_t *msgs_close(llmp_front_t *f, msgs_stream_t *st)
{
    llmp_error_t *err;
    cJSON *ev;

    if (st->open == MSGS_NONE) return NULL;
    if (st->open == MSGS_THINKING && !st->sig_sent
        && (err = msgs_signature(f, st)))
        return err;
    msgs_keep_text(st);
    ev = msgs_event("content_block_stop");
    llmp_json_add_int(ev, "index", st->open_block);
    st->open = MSGS_NONE;
    st->tool = NULL;
    return msgs_emit(f, st, "content_block_stop", ev);
}

/* Open a block of kind (closing another one first); block is the answer's
 * block, its start event carries a copy. */
static llmp_error_t *msgs_open(llmp_front_t *f, msgs_stream_t *st, int kind,
                               cJSON *block)
{
    llmp_error_t *err;
    cJSON *ev;

    cJSON_AddItemToArray(st->content, block);      /* the answer's now */
    if ((err = msgs_close(f, st))) return err;
    st->open = kind;
    st->open_block = st->next_block++;
    st->sig_sent = 0;
    if (kind == MSGS_THINKING) st->thinking = block;
    if (kind != MSGS_TOOL) st->cur_block = block;
    ev = msgs_event("content_block_start");
    llmp_json_add_int(ev, "index", st->open_block);
    cJSON_AddItemToObjectCS(ev, "content_block",
                            cJSON_Duplicate(block, 1));
    return msgs_emit(f, st, "content_block_start", ev);
}

static llmp_error_t *msgs_append(llmp_front_t *f, llmp_buf_t *b,
                                 const char *s)
{
    if (llmp_buf_append(b, s, strlen(s)) != APR_SUCCESS)
        return llmp_error_make(f->pool, 502, "api_error", NULL, NULL,
                               "the answer is too large");
    return NULL;
}

static llmp_error_t *msgs_on_reasoning(llmp_front_t *f, msgs_stream_t *st,
                                       const char *piece)
{
    llmp_error_t *err;

    if (st->open != MSGS_THINKING) {
        cJSON *b = msgs_block("thinking");
        cJSON_AddStringToObject(b, "thinking", "");
        cJSON_AddStringToObject(b, "signature", "");
        if ((err = msgs_open(f, st, MSGS_THINKING, b))) return err;
    }
    if ((err = msgs_append(f, &st->cur, piece))) return err;
    return msgs_delta(f, st, st->open_block, "thinking_delta", "thinking",
                      piece);
}

static llmp_error_t *msgs_on_signature(llmp_front_t *f, msgs_stream_t *st,
                                       const char *sig)
{
    llmp_error_t *err;

    st->signature = apr_pstrdup(f->pool, sig);
    if (st->open == MSGS_THINKING && !st->sig_sent)
        return msgs_signature(f, st);
    if (st->thinking && st->open != MSGS_THINKING) {
        /* its block is already stopped: the answer keeps it */
        cJSON_ReplaceItemInObjectCaseSensitive(st->thinking, "signature",
                                               cJSON_CreateString(sig));
        return NULL;
    }
    if (st->open == MSGS_THINKING) return NULL;     /* sent already */
    /* a signature without reasoning text: an empty thinking block */
    if ((err = msgs_on_reasoning(f, st, ""))) return err;
    return msgs_signature(f, st);
}

static llmp_error_t *msgs_on_text(llmp_front_t *f, msgs_stream_t *st,
                                  const char *piece)
{
    llmp_error_t *err;

    if (st->open != MSGS_TEXT) {
        cJSON *b = msgs_block("text");
        cJSON_AddStringToObject(b, "text", "");
        if ((err = msgs_open(f, st, MSGS_TEXT, b))) return err;
    }
    if ((err = msgs_append(f, &st->cur, piece))) return err;
    return msgs_delta(f, st, st->open_block, "text_delta", "text", piece);
}

static msgs_tool_t *msgs_find_tool(msgs_stream_t *st, long ir_index)
{
    int i;

    for (i = st->tools->nelts - 1; i >= 0; i--) {
        msgs_tool_t *t = APR_ARRAY_IDX(st->tools, i, msgs_tool_t *);
        if (t->ir_index == ir_index) return t;
    }
    return NULL;
}

static llmp_error_t *msgs_on_tool(llmp_front_t *f, msgs_stream_t *st,
                                  const cJSON *call)
{
    const cJSON *fn = llmp_json_get(call, "function");
    long idx = msgs_ir_long(llmp_json_get(call, "index"));
    const char *id = llmp_json_str(call, "id");
    const char *name = llmp_json_str(fn, "name");
    const char *args = llmp_json_str(fn, "arguments");
    msgs_tool_t *t;
    llmp_error_t *err;

    if (idx < 0) idx = 0;
    t = msgs_find_tool(st, idx);
    if (!t || (id && *id && strcmp(t->id, id))) {
        /* a new call (some backends reuse index 0 for every call) */
        cJSON *b = msgs_block("tool_use");
        t = apr_pcalloc(f->pool, sizeof(*t));
        t->ir_index = idx;
        t->id = id && *id ? apr_pstrdup(f->pool, id)
                          : llmp_make_id(f->pool, "toolu_");
        llmp_buf_init(&t->args, f->pool, LLMP_JSON_MAX);
        t->args.first = 256;
        cJSON_AddStringToObject(b, "id", t->id);
        cJSON_AddStringToObject(b, "name", name ? name : "");
        cJSON_AddObjectToObject(b, "input");
        t->answer = b;
        APR_ARRAY_PUSH(st->tools, msgs_tool_t *) = t;
        if ((err = msgs_open(f, st, MSGS_TOOL, b))) return err;
        t->block = st->open_block;
        st->tool = t;
    }
    if (!args || !*args) return NULL;
    if ((err = msgs_append(f, &t->args, args))) return err;
    /* a piece of a call whose block was stopped (calls interleaved by the
     * backend) still goes to that block's index, where the SDKs gather it */
    return msgs_delta(f, st, t->block, "input_json_delta", "partial_json",
                      args);
}

static llmp_error_t *msgs_stream_chunk(llmp_front_t *f, const cJSON *chunk)
{
    msgs_stream_t *st = msgs_state(f);
    const cJSON *choice, *delta, *u, *calls, *c;
    const char *s, *finish;
    llmp_error_t *err;

    if (st->done) return NULL;
    if ((err = msgs_start(f, st))) return err;
    u = llmp_json_get(chunk, "usage");
    if (cJSON_IsObject(u)) msgs_read_usage(u, &st->usage);
    choice = cJSON_GetArrayItem(llmp_json_get(chunk, "choices"), 0);
    if (!choice) return NULL;
    delta = llmp_json_get(choice, "delta");
    if ((s = msgs_reasoning_text(delta)) && *s
        && (err = msgs_on_reasoning(f, st, s)))
        return err;
    if ((s = llmp_json_str(delta, "reasoning_signature")) && *s
        && (err = msgs_on_signature(f, st, s)))
        return err;
    if ((s = llmp_json_str(delta, "content")) && *s
        && (err = msgs_on_text(f, st, s)))
        return err;
    if ((s = llmp_json_str(delta, "refusal")) && *s
        && (err = msgs_on_text(f, st, s)))
        return err;
    calls = llmp_json_get(delta, "tool_calls");
    cJSON_ArrayForEach(c, calls) {
        if ((err = msgs_on_tool(f, st, c))) return err;
    }
    finish = llmp_json_str(choice, "finish_reason");
    if (finish && *finish) {
        st->finished = 1;
        st->finish = apr_pstrdup(f->pool, finish);
        if ((err = msgs_close(f, st))) return err;
    }
    return NULL;
}

/* The answer's tool inputs from their arguments, stop reason and usage. */
static void msgs_finish_answer(llmp_front_t *f, msgs_stream_t *st,
                               const char *stop_reason)
{
    int i;

    for (i = 0; i < st->tools->nelts; i++) {
        msgs_tool_t *t = APR_ARRAY_IDX(st->tools, i, msgs_tool_t *);
        cJSON_ReplaceItemInObjectCaseSensitive(
            t->answer, "input", msgs_input(t->args.data, t->args.len));
    }
    if (stop_reason) msgs_add_ref(st->answer, "stop_reason", stop_reason);
    else cJSON_AddNullToObject(st->answer, "stop_reason");
    cJSON_AddNullToObject(st->answer, "stop_sequence");
    cJSON_AddItemToObjectCS(st->answer, "usage",
                            msgs_usage_json(&st->usage, 0));
    f->answer = st->answer;
}

static llmp_error_t *msgs_stream_end(llmp_front_t *f,
                                     const llmp_error_t *err)
{
    msgs_stream_t *st = msgs_state(f);
    const char *stop_reason;
    llmp_error_t *e;
    cJSON *ev, *d;

    if (st->done) return NULL;
    st->done = 1;
    if (!err && !st->finished)
        err = llmp_error_make(f->pool, 502, "api_error", NULL, NULL,
                              "the backend's stream ended early: the answer "
                              "is incomplete");
    if (err) {
        msgs_keep_text(st);        /* what came, in the answer */
        msgs_finish_answer(f, st, NULL);
        return msgs_emit(f, st, "error", msgs_error_tree(err));
    }
    if ((e = msgs_start(f, st)) || (e = msgs_close(f, st))) return e;
    stop_reason = msgs_stop_reason(st->finish, st->tools->nelts > 0);
    msgs_finish_answer(f, st, stop_reason);
    ev = msgs_event("message_delta");
    d = cJSON_AddObjectToObject(ev, "delta");
    msgs_add_ref(d, "stop_reason", stop_reason);
    cJSON_AddNullToObject(d, "stop_sequence");
    cJSON_AddItemToObjectCS(ev, "usage", msgs_usage_json(&st->usage, 1));
    if ((e = msgs_emit(f, st, "message_delta", ev))) return e;
    return msgs_emit(f, st, "message_stop", msgs_event("message_stop"));
}

llmp_error_t *llmp_messages_ping(llmp_front_t *f)
{
    msgs_stream_t *st = msgs_state(f);

    if (st->done) return NULL;
    return msgs_emit(f, st, "ping", msgs_event("ping"));
}

/* ---- count_tokens (estimate) ---- */

typedef struct {
    apr_size_t bytes;
    long fixed;
    llmp_buf_t scratch;
} msgs_count_t;

static void msgs_count_json(msgs_count_t *n, const cJSON *j)
{
    n->scratch.len = 0;
    if (j && llmp_json_write(&n->scratch, j) == APR_SUCCESS)
        n->bytes += n->scratch.len;
}

static void msgs_count_str(msgs_count_t *n, const char *s)
{
    if (s) n->bytes += strlen(s);
}

static void msgs_count_blocks(msgs_count_t *n, const cJSON *content)
{
    const cJSON *b;

    if (cJSON_IsString(content)) {
        msgs_count_str(n, content->valuestring);
        return;
    }
    cJSON_ArrayForEach(b, content) {
        const char *type = llmp_json_str(b, "type");
        if (!type) continue;
        if (!strcmp(type, "image") || !strcmp(type, "document")) {
            const char *st = llmp_json_str(llmp_json_get(b, "source"),
                                           "type");
            if (st && !strcmp(st, "text"))
                msgs_count_str(n, llmp_json_str(llmp_json_get(b, "source"),
                                                "data"));
            else n->fixed += 1600;
        }
        else if (!strcmp(type, "tool_use")) {
            msgs_count_str(n, llmp_json_str(b, "name"));
            msgs_count_json(n, llmp_json_get(b, "input"));
        }
        else if (!strcmp(type, "tool_result")
                 || !strcmp(type, "search_result")) {
            msgs_count_blocks(n, llmp_json_get(b, "content"));
        }
        else {
            msgs_count_str(n, llmp_json_str(b, "text"));
            msgs_count_str(n, llmp_json_str(b, "thinking"));
        }
    }
}

llmp_error_t *llmp_messages_count_tokens(apr_pool_t *p, const cJSON *req,
                                         long *tokens)
{
    const cJSON *msgs = llmp_json_get(req, "messages"), *m, *t;
    msgs_count_t n;
    int mi = 0;

    *tokens = 0;
    if (!cJSON_IsObject(req))
        return llmp_error_make(p, 400, "invalid_request_error", NULL, NULL,
                               "the request body must be a JSON object");
    if (!msgs) return msgs_bad(p, "messages", "Field required");
    if (!cJSON_IsArray(msgs))
        return msgs_bad(p, "messages", "Input should be a valid list");
    memset(&n, 0, sizeof(n));
    llmp_buf_init(&n.scratch, p, LLMP_JSON_MAX);
    n.scratch.first = 1024;
    msgs_count_blocks(&n, msgs_set(req, "system"));
    cJSON_ArrayForEach(m, msgs) {
        if (!cJSON_IsObject(m))
            return msgs_bad(p, apr_psprintf(p, "messages.%d", mi),
                            "Input should be a valid dictionary");
        msgs_count_blocks(&n, llmp_json_get(m, "content"));
        n.fixed += 4;
        mi++;
    }
    cJSON_ArrayForEach(t, msgs_set(req, "tools")) {
        msgs_count_str(&n, llmp_json_str(t, "name"));
        msgs_count_str(&n, llmp_json_str(t, "description"));
        msgs_count_json(&n, llmp_json_get(t, "input_schema"));
    }
    *tokens = (long)((n.bytes + 3) / 4) + n.fixed;
    if (*tokens < 1) *tokens = 1;
    return NULL;
}

int llmp_messages_wants_reasoning(const cJSON *req)
{
    const char *type = llmp_json_str(llmp_json_get(req, "thinking"), "type");

    return type && (!strcmp(type, "enabled") || !strcmp(type, "adaptive"));
}

const llmp_front_ops_t llmp_front_messages = {
    "messages",
    sizeof(msgs_stream_t),
    msgs_request,
    msgs_response,
    msgs_stream_chunk,
    msgs_stream_end,
    msgs_error_json,
};
