/* The OpenAI Responses API front (/v1/responses): a Responses request as
 * an IR (Chat Completions) request, IR answers and chunks as a Response
 * object and the Responses event stream (core: no httpd header).
 *
 * Request (-> IR):
 *   "instructions" -> a leading system message. "input": a string (one
 *   user message) or items:
 *     message (or an item without "type" with role and content): roles
 *       user, system, developer (-> system), assistant; content a string
 *       or parts input_text, input_image (image_url: URL or data URL;
 *       file_id refused), input_file (file_data [+ filename] -> a "file"
 *       part; file_id / file_url refused); assistant output_text / refusal
 *       (-> its text).
 *     function_call, custom_tool_call -> assistant tool_calls (type
 *       "function"; a custom call's arguments are {"input": <input>});
 *       consecutive calls go into one assistant message, the one of a
 *       message just before them too (and assistant text just after
 *       them, as the tool messages must follow the calls).
 *     function_call_output, custom_tool_call_output -> a "tool" message
 *       (its call_id must be the one of a call before it, else 400); the
 *       output's text parts are its content, its images and files a user
 *       message after the tool messages of that turn.
 *     reasoning: summary texts (or content texts) and encrypted_content ->
 *       "reasoning_content" / "reasoning_signature" of the next assistant
 *       message (dropped when a user or system message comes first).
 *     tool_search_call / tool_search_output of a search the client runs
 *       (Codex): a call of the function "tool_search" and its tool
 *       message; the tools it found are offered from then on.
 *     item_reference and the items of hosted tools (web_search_call, ...):
 *       dropped. Any other type: 400.
 *   "tools": function -> function; custom -> a function with one string
 *   parameter "input" (the format's grammar in its description);
 *   namespace -> its functions and custom tools, named
 *   "<namespace>__<name>" in the IR; tool_search with execution "client"
 *   -> a function "tool_search" (its calls answered as tool_search_call
 *   items); hosted tools dropped. tool_choice,
 *   parallel_tool_calls (only when a tool is left), max_output_tokens ->
 *   max_completion_tokens, temperature, top_p, text.format ->
 *   response_format, text.verbosity -> verbosity, reasoning.effort ->
 *   reasoning_effort, user, safety_identifier, prompt_cache_key, stream
 *   (+ stream_options.include_usage). metadata (echoed in the Response;
 *   OpenAI's Chat Completions take it only with "store": true), store,
 *   include, previous_response_id (resolved by llmp_responses_expand),
 *   truncation, service_tier, background...: not for the backend.
 *   conversation and prompt (state this server does not have): 400.
 *   The IR refers to strings and sub-trees of the request (no deep
 *   copies): the request must live as long as the IR (both are the
 *   request pool's).
 * Answer: a Response object: output = a reasoning item (when the answer
 *   has reasoning), a message (its text), one function_call or
 *   custom_tool_call per tool call (a call of a custom tool's function
 *   becomes a custom_tool_call whose input is the "input" argument);
 *   finish_reason length / content_filter -> status "incomplete"; usage;
 *   the request's settings echoed (referred to, like the IR: f->answer
 *   lives as long as the request's tree).
 * Stream: response.created and response.in_progress on the first chunk;
 *   then per output item output_item.added, its part and delta events,
 *   its done events and output_item.done (an item ends when another
 *   starts or at the finish); response.completed / response.incomplete at
 *   the end, or "error" (the error's code, "stream_truncated" when the
 *   stream ended without a finish_reason) then response.failed (its
 *   error.code one the Response schema knows: rate_limit_exceeded,
 *   invalid_prompt, server_error..., or context_length_exceeded /
 *   insufficient_quota as Codex reads them). Every event has a
 *   sequence_number from 0. A custom tool call's input is decoded from
 *   its JSON arguments {"input":"..."} as they come (arguments of another
 *   shape: the input in one delta when the call ends).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include <apr_time.h>

#include "llmp_openai.h"
#include "llmp_front.h"
#include "llmp_buf.h"
#include "llmp_responses.h"

/* ---- state ---- */

/* A tool whose IR function name is not the client's tool: custom tools and
 * the tools of a namespace. */
typedef struct {
    const char *ir_name;
    const char *name;              /* the client's name */
    const char *ns;                /* its namespace, or NULL */
    int custom;
    int search;                    /* tool_search run by the client */
} rs_tool_t;

enum { RS_MESSAGE, RS_REASONING, RS_CALL };

/* The most output items of one streamed answer (beyond: the stream ends
 * with error "too_many_output_items" and response.failed). */
#define LLMP_RS_MAX_ITEMS 4096

/* One output item of a stream. */
typedef struct {
    int kind;
    int index;                     /* output_index */
    int done;                      /* output_item.done sent */
    const char *id;
    const char *status;            /* when done */
    llmp_buf_t text;               /* text, reasoning text or arguments */
    /* reasoning */
    const char *signature;
    /* calls */
    int tc;                        /* the IR tool_calls index */
    const char *call_id;
    const rs_tool_t *tool;         /* NULL: a plain function */
    const char *name;              /* the client's name */
    const char *input;             /* custom: the decoded input, once done */
    /* custom: the "input" string of the arguments decoded as they come */
    llmp_buf_t dec;                /* decoded (and sent) so far */
    apr_size_t scan;               /* where the decoding is in text */
    int want;                      /* how much of {"input":" was read */
    int phase;                     /* 0 before the string, 1 in it, 2 after
                                      it, 3 not that shape: sent at the end */
} rs_item_t;

/* The request's members this front reads, found in one pass over the
 * request's members (rs_read): the first of each name, as
 * cJSON_GetObjectItemCaseSensitive finds it; NULL when absent. */
typedef struct {
    const cJSON *conversation, *input, *instructions, *max_output_tokens,
                *metadata, *model, *parallel_tool_calls,
                *previous_response_id, *prompt, *prompt_cache_key,
                *reasoning, *safety_identifier, *store, *stream,
                *temperature, *text, *tool_choice, *tools, *top_p, *user;
} rs_req_t;

typedef struct {
    const cJSON *req;              /* the request given to ops->request */
    rs_req_t in;                   /* its members */
    apr_array_header_t *tools;     /* rs_tool_t */
    cJSON *ir_tools;               /* the IR's "tools" */
    apr_hash_t *ir_names;          /* their names */
    /* stream */
    int started;                   /* response.created sent */
    int ended;                     /* the terminal event sent (or failed) */
    apr_int64_t seq;               /* next sequence_number */
    const char *finish;            /* finish_reason, once seen */
    apr_array_header_t *items;     /* rs_item_t * */
    rs_item_t *cur;                /* the open item, or NULL */
    int have_usage;
    long in_tokens, out_tokens, cached, reasoning_tokens;
    llmp_buf_t ev;                 /* the event being written */
} rs_state_t;

static rs_state_t *rs_state(llmp_front_t *f)
{
    rs_state_t *st = f->state;

    if (!st) {                     /* a front made without state_size */
        st = apr_pcalloc(f->pool, sizeof(*st));
        f->state = st;
    }
    if (!st->items) {
        st->items = apr_array_make(f->pool, 4, sizeof(rs_item_t *));
        llmp_buf_init(&st->ev, f->pool, LLMP_JSON_MAX);
        st->ev.first = 4096;
    }
    if (!f->id) f->id = llmp_make_id(f->pool, "resp_");
    return st;
}

/* ---- small helpers ---- */

/* Members with constant names; values copied (STR), referred to (REF:
 * constants or strings that outlive the tree) or null. */
static void add_cs(cJSON *o, const char *name, cJSON *v)
{
    if (!v || !cJSON_AddItemToObjectCS(o, name, v)) cJSON_Delete(v);
}
#define ADD_STR(o, k, v)  add_cs(o, k, cJSON_CreateString(v))
#define ADD_REF(o, k, v)  add_cs(o, k, cJSON_CreateStringReference(v))
#define ADD_NULL(o, k)    add_cs(o, k, cJSON_CreateNull())
#define ADD_BOOL(o, k, v) add_cs(o, k, cJSON_CreateBool(v))
#define ADD_INT(o, k, v)  llmp_json_add_int(o, k, v)
#define ADD_PINT(p, o, k, v) add_int(p, NULL, o, k, v)
#define N_INT(p, np, o, k, v) add_int(p, np, o, k, v)

/* v's decimal text written at the end of buf (24 bytes), or a constant
 * for 0-9. */
static const char *int_text(char *buf, apr_int64_t v)
{
    static const char small[] = "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0"
                                "7\0" "8\0" "9";
    char *s = buf + 23;
    apr_uint64_t u = v < 0 ? 0 - (apr_uint64_t)v : (apr_uint64_t)v;

    if (v >= 0 && v <= 9) return small + 2 * v;
    *s = '\0';
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--s = '-';
    return s;
}

/* ---- nodes of the Response ----
 * A non-streamed answer's Response is built of nodes in the pool (np):
 * no malloc and free per node. Such a tree is never deleted (a
 * cJSON_Delete of it or of one of its nodes would free pool memory): it
 * is not given to llmp_json_pool_own and nothing in it is replaced or
 * detached; its strings are referred to. np NULL: nodes from cJSON's
 * allocator, as cJSON_Create* makes them (a stream's events, deleted
 * once printed). */
static cJSON *mk(apr_pool_t *np, int type)
{
    cJSON *n = np ? apr_pcalloc(np, sizeof(*n)) : cJSON_CreateNull();

    if (n) n->type = type;
    return n;
}

/* A string referred to (s must outlive the tree). */
static cJSON *mk_str(apr_pool_t *np, const char *s)
{
    cJSON *n = mk(np, cJSON_String | cJSON_IsReference);

    if (n) n->valuestring = (char *)(apr_uintptr_t)s;
    return n;
}

/* An object or array (type) whose members are child's list, referred
 * to. */
static cJSON *mk_ref(apr_pool_t *np, int type, cJSON *child)
{
    cJSON *n = mk(np, type | cJSON_IsReference);

    if (n) n->child = child;
    return n;
}

/* v appended to o's members (or items, name NULL): for pool nodes (np),
 * linked here as cJSON's add links it (constant name; the first
 * member's prev is the last) without its checks, made here; else
 * add_cs / cJSON_AddItemToArray. */
static void nput(apr_pool_t *np, cJSON *o, const char *name, cJSON *v)
{
    if (!np || !o || !v) {
        if (name) add_cs(o, name, v);
        else if (!cJSON_AddItemToArray(o, v)) cJSON_Delete(v);
        return;
    }
    if (name) {
        v->string = (char *)(apr_uintptr_t)name;
        v->type |= cJSON_StringIsConst;
    }
    if (!o->child) {
        o->child = v;
        v->prev = v;
    }
    else {
        cJSON *last = o->child->prev;
        last->next = v;
        v->prev = last;
        o->child->prev = v;
    }
}

#define N_REF(np, o, k, v)  nput(np, o, k, mk_str(np, v))
#define N_NULL(np, o, k)    nput(np, o, k, mk(np, cJSON_NULL))
#define N_BOOL(np, o, k, v) nput(np, o, k, mk(np, (v) ? cJSON_True : cJSON_False))

/* A raw member (text printed as it is) with a constant name, the text
 * referred to (it must outlive o's printing). */
static void add_raw_ref(apr_pool_t *np, cJSON *o, const char *name,
                        const char *text)
{
    cJSON *item = mk_str(np, text);

    if (!item) return;
    item->type = cJSON_Raw | cJSON_IsReference;
    nput(np, o, name, item);
}

/* An integer member with a constant name, as llmp_json_add_int writes
 * it (its decimal text, a raw item), the text a constant (0-9) or in
 * pool p: one allocation where llmp_json_add_int makes three (the item,
 * its text, its name). */
static void add_int(apr_pool_t *p, apr_pool_t *np, cJSON *o,
                    const char *name, apr_int64_t v)
{
    char buf[24];

    if (v >= 0 && v <= 9) add_raw_ref(np, o, name, int_text(buf, v));
    else add_raw_ref(np, o, name, apr_pstrdup(p, int_text(buf, v)));
}

/* A member that is present and not null. */
static const cJSON *jset(const cJSON *o, const char *name)
{
    const cJSON *v = llmp_json_get(o, name);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

/* v when it is present and not null. */
static const cJSON *nn(const cJSON *v)
{
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

/* The request's members in one pass (a lookup by name walks the members
 * each time; the request and the Response read some thirty). */
static void rs_read(const cJSON *req, rs_req_t *m)
{
    const cJSON *c;

    memset(m, 0, sizeof(*m));
    if (!cJSON_IsObject(req)) return;
    /* (cJSON's lookup stops at a member without a name too) */
    for (c = req->child; c && c->string; c = c->next) {
        const char *k = c->string;
        const cJSON **slot = NULL;

        switch (k[0]) {
        case 'c':
            if (!strcmp(k, "conversation")) slot = &m->conversation;
            break;
        case 'i':
            if (!strcmp(k, "input")) slot = &m->input;
            else if (!strcmp(k, "instructions")) slot = &m->instructions;
            break;
        case 'm':
            if (!strcmp(k, "model")) slot = &m->model;
            else if (!strcmp(k, "max_output_tokens"))
                slot = &m->max_output_tokens;
            else if (!strcmp(k, "metadata")) slot = &m->metadata;
            break;
        case 'p':
            if (!strcmp(k, "parallel_tool_calls"))
                slot = &m->parallel_tool_calls;
            else if (!strcmp(k, "previous_response_id"))
                slot = &m->previous_response_id;
            else if (!strcmp(k, "prompt")) slot = &m->prompt;
            else if (!strcmp(k, "prompt_cache_key"))
                slot = &m->prompt_cache_key;
            break;
        case 'r':
            if (!strcmp(k, "reasoning")) slot = &m->reasoning;
            break;
        case 's':
            if (!strcmp(k, "store")) slot = &m->store;
            else if (!strcmp(k, "stream")) slot = &m->stream;
            else if (!strcmp(k, "safety_identifier"))
                slot = &m->safety_identifier;
            break;
        case 't':
            if (!strcmp(k, "temperature")) slot = &m->temperature;
            else if (!strcmp(k, "text")) slot = &m->text;
            else if (!strcmp(k, "tools")) slot = &m->tools;
            else if (!strcmp(k, "tool_choice")) slot = &m->tool_choice;
            else if (!strcmp(k, "top_p")) slot = &m->top_p;
            break;
        case 'u':
            if (!strcmp(k, "user")) slot = &m->user;
            break;
        default:
            break;
        }
        if (slot && !*slot) *slot = c;
    }
}

/* A number: a cJSON number or an integer kept as raw text
 * (llmp_json_add_int). */
static int jnum(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 1;
    }
    if (cJSON_IsRaw(v) && v->valuestring && *v->valuestring) {
        const char *s = v->valuestring;
        apr_uint64_t u = 0;
        char *end;
        double d;
        int n;

        /* llmp_json_add_int's digits (up to 15: exact as a double, as
         * strtod reads them) without strtod */
        for (n = 0; n < 15 && *s >= '0' && *s <= '9'; n++, s++)
            u = u * 10 + (apr_uint64_t)(*s - '0');
        if (!*s) {
            *out = (double)u;
            return 1;
        }
        d = strtod(v->valuestring, &end);
        if (!*end) {
            *out = d;
            return 1;
        }
    }
    return 0;
}

static long jlong(const cJSON *o, const char *name)
{
    double d;

    if (!jnum(llmp_json_get(o, name), &d) || !(d >= 0) || d > 1e15)
        return 0;
    return (long)d;
}

/* A reference to a request's sub-tree (objects and arrays: their members
 * are not copied; strings: not copied); other values copied. */
static cJSON *jref(const cJSON *v)
{
    if (cJSON_IsObject(v)) return cJSON_CreateObjectReference(v->child);
    if (cJSON_IsArray(v)) return cJSON_CreateArrayReference(v->child);
    if (cJSON_IsString(v)) return cJSON_CreateStringReference(v->valuestring);
    return cJSON_Duplicate(v, 1);
}

static const char *buf_text(const llmp_buf_t *b)
{
    return b->data ? b->data : "";
}

static llmp_error_t *oom(apr_pool_t *p)
{
    return llmp_error_make(p, 500, NULL, NULL, NULL, "out of memory");
}

/* A 400 about param. */
static llmp_error_t *bad(apr_pool_t *p, const char *param, const char *fmt,
                         ...)
    __attribute__((format(printf, 3, 4)));
static llmp_error_t *bad(apr_pool_t *p, const char *param, const char *fmt,
                         ...)
{
    llmp_error_t *e = llmp_bad_request(p, param, "");
    va_list ap;

    va_start(ap, fmt);
    e->message = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return e;
}

/* "name[i]", for the param of an error: built for every item, so without
 * a formatter. */
static const char *indexed(apr_pool_t *p, const char *name, int i)
{
    apr_size_t n = strlen(name), d;
    char digits[16], *o = digits + sizeof(digits), *out;
    unsigned int u = i < 0 ? 0 : (unsigned int)i;

    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    d = (apr_size_t)(digits + sizeof(digits) - o);
    out = apr_palloc(p, n + d + 3);
    memcpy(out, name, n);
    out[n] = '[';
    memcpy(out + n + 1, o, d);
    out[n + 1 + d] = ']';
    out[n + 2 + d] = '\0';
    return out;
}

/* ---- tools of the request ---- */

static const rs_tool_t *tool_by_ir(const rs_state_t *st, const char *ir)
{
    int i;

    if (!st->tools || !ir) return NULL;
    for (i = 0; i < st->tools->nelts; i++) {
        const rs_tool_t *t = &APR_ARRAY_IDX(st->tools, i, rs_tool_t);
        if (!strcmp(t->ir_name, ir)) return t;
    }
    return NULL;
}

/* The IR name of the client's (namespace, name). */
static const char *ir_name(apr_pool_t *p, const rs_state_t *st,
                           const char *ns, const char *name)
{
    int i;

    if (!st->tools) return name;
    for (i = 0; i < st->tools->nelts; i++) {
        const rs_tool_t *t = &APR_ARRAY_IDX(st->tools, i, rs_tool_t);
        if (!strcmp(t->name, name)
            && ((!ns && !t->ns) || (ns && t->ns && !strcmp(ns, t->ns))))
            return t->ir_name;
    }
    return ns ? apr_pstrcat(p, ns, "__", name, NULL) : name;
}

/* A custom tool's function parameters. */
static cJSON *custom_params(apr_pool_t *p, const cJSON *t)
{
    const cJSON *fmt = llmp_json_get(t, "format");
    const char *ftype = llmp_json_str(fmt, "type");
    const char *def = llmp_json_str(fmt, "definition");
    const char *syntax = llmp_json_str(fmt, "syntax");
    const char *desc;
    cJSON *params, *props, *input, *req;

    if (ftype && !strcmp(ftype, "grammar") && def)
        desc = apr_pstrcat(p, "The tool's input as raw text (not JSON), "
                           "which must match this ", syntax ? syntax : "",
                           syntax ? " " : "", "grammar:\n", def, NULL);
    else
        desc = "The tool's input as raw text (not JSON).";
    params = cJSON_CreateObject();
    ADD_REF(params, "type", "object");
    props = cJSON_CreateObject();
    add_cs(params, "properties", props);
    input = cJSON_CreateObject();
    add_cs(props, "input", input);
    ADD_REF(input, "type", "string");
    ADD_REF(input, "description", desc);
    req = cJSON_CreateArray();
    cJSON_AddItemToArray(req, cJSON_CreateStringReference("input"));
    add_cs(params, "required", req);
    return params;
}

/* One function or custom tool (of the top level or of namespace ns), or
 * a tool_search the client runs, into the IR's tools (once a name). */
static llmp_error_t *add_tool(llmp_front_t *f, rs_state_t *st,
                              const cJSON *t, const char *type,
                              const char *ns, const char *param)
{
    const char *name = llmp_json_str(t, "name");
    const char *desc = llmp_json_str(t, "description");
    const cJSON *params = jset(t, "parameters");
    const cJSON *strict = llmp_json_get(t, "strict");
    cJSON *it, *fn;
    int custom = !strcmp(type, "custom");
    int search = !strcmp(type, "tool_search");
    const char *irn;

    if (search) name = "tool_search";
    if (!name || !*name)
        return bad(f->pool, param, "%s: a %s tool needs a \"name\"", param,
                   type);
    if (params && !cJSON_IsObject(params))
        return bad(f->pool, param, "%s: \"parameters\" must be a JSON "
                   "Schema object", param);
    irn = ns ? apr_pstrcat(f->pool, ns, "__", name, NULL) : name;
    if (apr_hash_get(st->ir_names, irn, APR_HASH_KEY_STRING))
        return NULL;               /* offered already */
    apr_hash_set(st->ir_names, irn, APR_HASH_KEY_STRING, irn);
    if (custom || search || ns) {
        rs_tool_t *rt = apr_array_push(st->tools);
        rt->ir_name = irn;
        rt->name = name;
        rt->ns = ns;
        rt->custom = custom;
        rt->search = search;
    }
    it = cJSON_CreateObject();
    cJSON_AddItemToArray(st->ir_tools, it);
    ADD_REF(it, "type", "function");
    fn = cJSON_CreateObject();
    add_cs(it, "function", fn);
    ADD_REF(fn, "name", irn);
    if (desc && *desc) ADD_REF(fn, "description", desc);
    if (custom) {
        add_cs(fn, "parameters", custom_params(f->pool, t));
    }
    else {
        if (params) add_cs(fn, "parameters", jref(params));
        else {
            cJSON *o = cJSON_CreateObject();
            ADD_REF(o, "type", "object");
            add_cs(o, "properties", cJSON_CreateObject());
            add_cs(fn, "parameters", o);
        }
        if (cJSON_IsBool(strict)) ADD_BOOL(fn, "strict", cJSON_IsTrue(strict));
    }
    return NULL;
}

/* One tool of the request (or of a tool_search_output) into the IR's
 * tools: functions, custom tools, the tools of a namespace, a tool_search
 * the client runs; hosted tools (run by OpenAI) are left out. */
static llmp_error_t *add_any_tool(llmp_front_t *f, rs_state_t *st,
                                  const cJSON *t, const char *param)
{
    const char *type = llmp_json_str(t, "type");
    llmp_error_t *err = NULL;

    if (!type)
        return bad(f->pool, param, "%s: a tool needs a \"type\"", param);
    if (!strcmp(type, "function") || !strcmp(type, "custom"))
        return add_tool(f, st, t, type, NULL, param);
    if (!strcmp(type, "tool_search")) {
        const char *ex = llmp_json_str(t, "execution");
        if (ex && !strcmp(ex, "client"))
            return add_tool(f, st, t, type, NULL, param);
        return NULL;               /* OpenAI's own search */
    }
    if (!strcmp(type, "namespace")) {
        const char *ns = llmp_json_str(t, "name");
        const cJSON *inner = llmp_json_get(t, "tools"), *it;
        int ii = 0;

        if (!ns || !*ns || !cJSON_IsArray(inner))
            return bad(f->pool, param, "%s: a namespace needs a \"name\" "
                       "and \"tools\"", param);
        cJSON_ArrayForEach(it, inner) {
            const char *ip = apr_psprintf(f->pool, "%s.tools[%d]", param,
                                          ii++);   /* rare: namespaces */
            const char *itype = llmp_json_str(it, "type");
            if (itype && (!strcmp(itype, "function")
                          || !strcmp(itype, "custom")))
                err = add_tool(f, st, it, itype, ns, ip);
            if (err) return err;
        }
    }
    return NULL;                   /* hosted tools: not for a chat model */
}

static llmp_error_t *convert_tools(llmp_front_t *f, rs_state_t *st,
                                   cJSON *ir)
{
    const cJSON *tools = nn(st->in.tools), *t;
    llmp_error_t *err;
    int ti = 0;

    st->ir_tools = cJSON_CreateArray();
    add_cs(ir, "tools", st->ir_tools);     /* removed if left empty */
    st->ir_names = apr_hash_make(f->pool);
    if (!tools) return NULL;
    if (!cJSON_IsArray(tools))
        return llmp_bad_request(f->pool, "tools", "'tools' must be an array");
    cJSON_ArrayForEach(t, tools) {
        if ((err = add_any_tool(f, st, t, indexed(f->pool, "tools", ti++))))
            return err;
    }
    return NULL;
}

/* tool_choice and parallel_tool_calls, once every tool is known (the
 * input's tool_search_output items offer tools too). */
static llmp_error_t *convert_choice(llmp_front_t *f, rs_state_t *st,
                                    cJSON *ir)
{
    const cJSON *choice, *par;

    if (!st->ir_tools->child) {    /* no tool left: no tool_choice either */
        cJSON_DeleteItemFromObjectCaseSensitive(ir, "tools");
        st->ir_tools = NULL;
        return NULL;
    }
    choice = nn(st->in.tool_choice);
    if (cJSON_IsString(choice)) {
        const char *c = choice->valuestring;
        if (strcmp(c, "auto") && strcmp(c, "none") && strcmp(c, "required"))
            return llmp_bad_request(f->pool, "tool_choice",
                                    "tool_choice must be \"auto\", \"none\", "
                                    "\"required\" or an object");
        ADD_REF(ir, "tool_choice", c);
    }
    else if (cJSON_IsObject(choice)) {
        const char *type = llmp_json_str(choice, "type");
        const char *name = llmp_json_str(choice, "name");

        if (!type)
            return llmp_bad_request(f->pool, "tool_choice",
                                    "tool_choice needs a \"type\"");
        if (!strcmp(type, "function") || !strcmp(type, "custom")) {
            cJSON *tc, *fn;
            if (!name || !*name)
                return llmp_bad_request(f->pool, "tool_choice",
                                        "tool_choice of type function or "
                                        "custom needs a \"name\"");
            tc = cJSON_CreateObject();
            ADD_REF(tc, "type", "function");
            fn = cJSON_CreateObject();
            add_cs(tc, "function", fn);
            ADD_REF(fn, "name", ir_name(f->pool, st,
                                        llmp_json_str(choice, "namespace"),
                                        name));
            add_cs(ir, "tool_choice", tc);
        }
        else if (!strcmp(type, "allowed_tools")) {
            const char *mode = llmp_json_str(choice, "mode");
            ADD_REF(ir, "tool_choice", mode && !strcmp(mode, "required")
                                       ? "required" : "auto");
        }
        /* hosted tools, mcp, ...: left to the model ("auto") */
    }
    else if (choice) {
        return llmp_bad_request(f->pool, "tool_choice",
                                "tool_choice must be a string or an object");
    }
    par = st->in.parallel_tool_calls;
    if (cJSON_IsBool(par)) ADD_BOOL(ir, "parallel_tool_calls",
                                    cJSON_IsTrue(par));
    else if (par && !cJSON_IsNull(par))
        return llmp_bad_request(f->pool, "parallel_tool_calls",
                                "parallel_tool_calls must be a boolean");
    return NULL;
}

/* ---- request: input items ---- */

typedef struct {
    llmp_front_t *f;
    rs_state_t *st;
    cJSON *msgs;                   /* IR messages */
    cJSON *asst;                   /* the assistant message calls go to */
    cJSON *calls;                  /* its tool_calls, or NULL */
    cJSON *media;                  /* parts of tool outputs for a user
                                      message after the tool messages */
    llmp_buf_t reasoning;          /* for the next assistant message */
    const char *signature;
    int have_reasoning;
    apr_hash_t *call_ids;          /* calls seen so far */
} conv_t;

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();

    ADD_REF(p, "type", "text");
    ADD_REF(p, "text", text);
    return p;
}

/* An input_image part as an IR image_url part. */
static llmp_error_t *image_part(apr_pool_t *p, const cJSON *part,
                                const char *param, cJSON **out)
{
    const cJSON *url = llmp_json_get(part, "image_url");
    const char *detail = llmp_json_str(part, "detail");
    cJSON *o, *iu;

    if (cJSON_IsObject(url)) url = llmp_json_get(url, "url");
    if (!cJSON_IsString(url) || !*url->valuestring) {
        if (jset(part, "file_id"))
            return bad(p, param, "%s: images by file_id are not supported "
                       "here: send \"image_url\" (a URL or a data: URL)",
                       param);
        return bad(p, param, "%s: an input_image needs an \"image_url\"",
                   param);
    }
    o = cJSON_CreateObject();
    ADD_REF(o, "type", "image_url");
    iu = cJSON_CreateObject();
    add_cs(o, "image_url", iu);
    ADD_REF(iu, "url", url->valuestring);
    if (detail && (!strcmp(detail, "auto") || !strcmp(detail, "low")
                   || !strcmp(detail, "high")))
        ADD_REF(iu, "detail", detail);
    *out = o;
    return NULL;
}

/* An input_file part as an IR file part. */
static llmp_error_t *file_part(apr_pool_t *p, const cJSON *part,
                               const char *param, cJSON **out)
{
    const char *data = llmp_json_str(part, "file_data");
    const char *name = llmp_json_str(part, "filename");
    cJSON *o, *file;

    if (!data || !*data) {
        if (jset(part, "file_id") || jset(part, "file_url"))
            return bad(p, param, "%s: files by file_id or file_url are not "
                       "supported here: send \"file_data\" (a data: URL)",
                       param);
        return bad(p, param, "%s: an input_file needs \"file_data\"",
                   param);
    }
    o = cJSON_CreateObject();
    ADD_REF(o, "type", "file");
    file = cJSON_CreateObject();
    add_cs(o, "file", file);
    ADD_REF(file, "file_data", data);
    if (name) ADD_REF(file, "filename", name);
    *out = o;
    return NULL;
}

/* Content parts: texts appended to *text (joined), images and files (when
 * media) to parts. kinds: 'u' user, 's' system, 'a' assistant, 'o' tool
 * output, 'r' reasoning. */
static llmp_error_t *read_parts(conv_t *c, const cJSON *content, int kind,
                                const char *param, cJSON *parts,
                                llmp_buf_t *text, int *ntext)
{
    apr_pool_t *p = c->f->pool;
    const cJSON *part;
    int pi = 0;

    cJSON_ArrayForEach(part, content) {
        const char *pp = indexed(p, param, pi++);
        const char *type = llmp_json_str(part, "type");
        llmp_error_t *err = NULL;
        cJSON *o = NULL;

        if (!cJSON_IsObject(part) || !type)
            return bad(p, pp, "%s: a content part must be an object with a "
                       "\"type\"", pp);
        if (!strcmp(type, "input_text") || !strcmp(type, "output_text")
            || !strcmp(type, "text") || !strcmp(type, "summary_text")
            || !strcmp(type, "reasoning_text")) {
            const char *t = llmp_json_str(part, "text");
            if (!t)
                return bad(p, pp, "%s: a %s part needs a string \"text\"",
                           pp, type);
            if (parts) cJSON_AddItemToArray(parts, text_part(t));
            if (text && *t) {
                if (text->len && kind == 'r')      /* paragraphs */
                    llmp_buf_append(text, "\n\n", 2);
                else if (text->len && kind != 'a')
                    llmp_buf_append(text, "\n", 1);
                llmp_buf_append(text, t, strlen(t));
            }
            (*ntext)++;
            continue;
        }
        if (!strcmp(type, "refusal") && kind == 'a') {
            const char *t = llmp_json_str(part, "refusal");
            if (!t)
                return bad(p, pp, "%s: a refusal part needs a string "
                           "\"refusal\"", pp);
            if (text && *t) llmp_buf_append(text, t, strlen(t));
            (*ntext)++;
            continue;
        }
        if (!strcmp(type, "input_image") && (kind == 'u' || kind == 'o'))
            err = image_part(p, part, pp, &o);
        else if (!strcmp(type, "input_file") && (kind == 'u' || kind == 'o'))
            err = file_part(p, part, pp, &o);
        else
            return bad(p, pp, "%s: content parts of type \"%s\" are not "
                       "supported here", pp, type);
        if (err) return err;
        if (kind == 'o') cJSON_AddItemToArray(c->media, o);
        else cJSON_AddItemToArray(parts, o);
    }
    return NULL;
}

/* The user message with the images and files of the tool outputs just
 * before (they cannot be in a tool message). */
static void flush_media(conv_t *c)
{
    cJSON *m;

    if (!c->media->child) return;
    m = cJSON_CreateObject();
    ADD_REF(m, "role", "user");
    add_cs(m, "content", c->media);
    cJSON_AddItemToArray(c->msgs, m);
    c->media = cJSON_CreateArray();
}

/* Forget the pending reasoning (its text and signature). */
static void reasoning_reset(conv_t *c)
{
    c->have_reasoning = 0;
    c->signature = NULL;
    c->reasoning.len = 0;
    if (c->reasoning.data) c->reasoning.data[0] = '\0';
}

/* A new assistant message (with the pending reasoning). */
static cJSON *new_assistant(conv_t *c, const char *text)
{
    cJSON *m = cJSON_CreateObject();

    flush_media(c);
    ADD_REF(m, "role", "assistant");
    if (text) ADD_STR(m, "content", text);
    else ADD_NULL(m, "content");
    if (c->have_reasoning) {
        ADD_STR(m, "reasoning_content", buf_text(&c->reasoning));
        if (c->signature) ADD_REF(m, "reasoning_signature", c->signature);
        reasoning_reset(c);
    }
    cJSON_AddItemToArray(c->msgs, m);
    c->asst = m;
    c->calls = NULL;
    return m;
}

static llmp_error_t *conv_message(conv_t *c, const cJSON *it,
                                  const char *param)
{
    apr_pool_t *p = c->f->pool;
    const char *role = llmp_json_str(it, "role");
    const cJSON *content = llmp_json_get(it, "content");
    int kind;
    cJSON *m, *parts;
    llmp_buf_t text;
    int ntext = 0;
    llmp_error_t *err;

    if (!role)
        return bad(p, apr_pstrcat(p, param, ".role", NULL),
                   "%s: a message needs a \"role\"", param);
    if (!strcmp(role, "user")) kind = 'u';
    else if (!strcmp(role, "system") || !strcmp(role, "developer"))
        kind = 's';
    else if (!strcmp(role, "assistant")) kind = 'a';
    else
        return bad(p, apr_pstrcat(p, param, ".role", NULL),
                   "%s: role \"%s\" is not one of user, assistant, system, "
                   "developer", param, role);
    if (!cJSON_IsString(content) && !cJSON_IsArray(content))
        return bad(p, apr_pstrcat(p, param, ".content", NULL),
                   "%s: \"content\" must be a string or an array of content "
                   "parts", param);

    if (kind == 'a') {
        const char *t;
        cJSON *prev;

        if (cJSON_IsString(content)) {
            t = content->valuestring;
        }
        else {
            llmp_buf_init(&text, p, LLMP_JSON_MAX);
            text.first = 256;
            err = read_parts(c, content, kind,
                             apr_pstrcat(p, param, ".content", NULL), NULL,
                             &text, &ntext);
            if (err) return err;
            t = buf_text(&text);
        }
        prev = c->asst ? cJSON_GetObjectItemCaseSensitive(c->asst, "content")
                       : NULL;
        if (c->calls && !c->have_reasoning && cJSON_IsNull(prev)) {
            /* text after the calls of its turn: the tool messages must
             * follow the calls, so the text joins them */
            cJSON_ReplaceItemInObjectCaseSensitive(c->asst, "content",
                                                   cJSON_CreateString(t));
            return NULL;
        }
        new_assistant(c, t);
        return NULL;
    }

    flush_media(c);
    c->asst = NULL;
    c->calls = NULL;
    reasoning_reset(c);            /* reasoning of no answer */
    m = cJSON_CreateObject();
    ADD_REF(m, "role", kind == 'u' ? "user" : "system");
    if (cJSON_IsString(content)) {
        ADD_REF(m, "content", content->valuestring);
        cJSON_AddItemToArray(c->msgs, m);
        return NULL;
    }
    if (kind == 's') {             /* system text: one string */
        llmp_buf_init(&text, p, LLMP_JSON_MAX);
        text.first = 256;
        err = read_parts(c, content, kind,
                         apr_pstrcat(p, param, ".content", NULL), NULL,
                         &text, &ntext);
        if (err) {
            cJSON_Delete(m);
            return err;
        }
        ADD_STR(m, "content", buf_text(&text));
        cJSON_AddItemToArray(c->msgs, m);
        return NULL;
    }
    parts = cJSON_CreateArray();
    err = read_parts(c, content, kind,
                     apr_pstrcat(p, param, ".content", NULL), parts, NULL,
                     &ntext);
    if (err) {
        cJSON_Delete(parts);
        cJSON_Delete(m);
        return err;
    }
    add_cs(m, "content", parts);
    cJSON_AddItemToArray(c->msgs, m);
    return NULL;
}

/* A function_call (kind 0), custom_tool_call (1) or tool_search_call
 * (2) as a call of the assistant message. */
static llmp_error_t *conv_call(conv_t *c, const cJSON *it, int kind,
                               const char *param)
{
    apr_pool_t *p = c->f->pool;
    const char *call_id = llmp_json_str(it, "call_id");
    const char *name = kind == 2 ? "tool_search" : llmp_json_str(it, "name");
    const char *ns = llmp_json_str(it, "namespace");
    const cJSON *args = llmp_json_get(it, kind == 1 ? "input" : "arguments");
    int custom = kind == 1;
    const char *a;
    cJSON *tc, *fn;

    if ((!call_id || !*call_id) && kind == 2)
        return NULL;               /* OpenAI's own search: no client call */
    if (!call_id || !*call_id)
        return bad(p, apr_pstrcat(p, param, ".call_id", NULL),
                   "%s: a tool call needs a \"call_id\"", param);
    if (!name || !*name)
        return bad(p, apr_pstrcat(p, param, ".name", NULL),
                   "%s: a tool call needs a \"name\"", param);
    if (custom) {
        cJSON *o;
        if (!cJSON_IsString(args))
            return bad(p, apr_pstrcat(p, param, ".input", NULL),
                       "%s: a custom_tool_call needs a string \"input\"",
                       param);
        o = cJSON_CreateObject();
        ADD_REF(o, "input", args->valuestring);
        a = llmp_json_print(p, o, NULL);
        cJSON_Delete(o);
        if (!a) return oom(p);
    }
    else if (!args || cJSON_IsNull(args)) {
        a = "{}";
    }
    else if (cJSON_IsString(args)) {
        a = args->valuestring;
    }
    else if (kind == 2 && cJSON_IsObject(args)) {
        if (!(a = llmp_json_print(p, args, NULL))) return oom(p);
    }
    else {
        return bad(p, apr_pstrcat(p, param, ".arguments", NULL),
                   "%s: \"arguments\" must be a string (JSON text)", param);
    }
    if (!c->asst || c->have_reasoning) new_assistant(c, NULL);
    if (!c->calls) {
        c->calls = cJSON_GetObjectItemCaseSensitive(c->asst, "tool_calls");
        if (!c->calls) {
            c->calls = cJSON_CreateArray();
            add_cs(c->asst, "tool_calls", c->calls);
        }
    }
    tc = cJSON_CreateObject();
    ADD_REF(tc, "id", call_id);
    ADD_REF(tc, "type", "function");
    fn = cJSON_CreateObject();
    add_cs(tc, "function", fn);
    ADD_REF(fn, "name", ir_name(p, c->st, ns, name));
    ADD_REF(fn, "arguments", a);
    cJSON_AddItemToArray(c->calls, tc);
    apr_hash_set(c->call_ids, call_id, APR_HASH_KEY_STRING, call_id);
    return NULL;
}

static llmp_error_t *conv_output(conv_t *c, const cJSON *it,
                                 const char *param)
{
    apr_pool_t *p = c->f->pool;
    const char *call_id = llmp_json_str(it, "call_id");
    const cJSON *out = llmp_json_get(it, "output");
    cJSON *m;

    if (!call_id || !*call_id)
        return bad(p, apr_pstrcat(p, param, ".call_id", NULL),
                   "%s: a tool output needs a \"call_id\"", param);
    if (!apr_hash_get(c->call_ids, call_id, APR_HASH_KEY_STRING))
        return bad(p, param, "%s: no tool call with call_id \"%s\" before "
                   "this output", param, call_id);
    c->asst = NULL;
    c->calls = NULL;
    m = cJSON_CreateObject();
    ADD_REF(m, "role", "tool");
    ADD_REF(m, "tool_call_id", call_id);
    if (cJSON_IsString(out)) {
        ADD_REF(m, "content", out->valuestring);
    }
    else if (cJSON_IsArray(out)) {
        llmp_buf_t text;
        int ntext = 0;
        llmp_error_t *err;

        llmp_buf_init(&text, p, LLMP_JSON_MAX);
        text.first = 256;
        err = read_parts(c, out, 'o', apr_pstrcat(p, param, ".output", NULL),
                         NULL, &text, &ntext);
        if (err) {
            cJSON_Delete(m);
            return err;
        }
        ADD_STR(m, "content", buf_text(&text));
    }
    else {
        cJSON_Delete(m);
        return bad(p, apr_pstrcat(p, param, ".output", NULL),
                   "%s: \"output\" must be a string or an array of content "
                   "parts", param);
    }
    cJSON_AddItemToArray(c->msgs, m);
    return NULL;
}

/* A tool_search_output: its tools are offered to the model from now on,
 * and the tool message names them. */
static llmp_error_t *conv_search_output(conv_t *c, const cJSON *it,
                                        const char *param)
{
    apr_pool_t *p = c->f->pool;
    const char *call_id = llmp_json_str(it, "call_id");
    const cJSON *tools = llmp_json_get(it, "tools"), *t;
    const char *tp = apr_pstrcat(p, param, ".tools", NULL);
    llmp_buf_t text;
    llmp_error_t *err;
    int ti = 0;
    cJSON *m;

    if (!call_id || !*call_id) return NULL;    /* OpenAI's own search */
    if (!apr_hash_get(c->call_ids, call_id, APR_HASH_KEY_STRING))
        return bad(p, param, "%s: no tool call with call_id \"%s\" before "
                   "this output", param, call_id);
    if (!cJSON_IsArray(tools))
        return bad(p, tp, "%s: a tool_search_output needs \"tools\"", param);
    llmp_buf_init(&text, p, LLMP_JSON_MAX);
    text.first = 256;
    cJSON_ArrayForEach(t, tools) {
        const char *name = llmp_json_str(t, "name");
        if ((err = add_any_tool(c->f, c->st, t, indexed(p, tp, ti++))))
            return err;
        if (name) {
            llmp_buf_append(&text, text.len ? ", " : "Tools found: ",
                            text.len ? 2 : 13);
            llmp_buf_append(&text, name, strlen(name));
        }
    }
    c->asst = NULL;
    c->calls = NULL;
    m = cJSON_CreateObject();
    ADD_REF(m, "role", "tool");
    ADD_REF(m, "tool_call_id", call_id);
    ADD_STR(m, "content", text.len ? buf_text(&text) : "No tools found.");
    cJSON_AddItemToArray(c->msgs, m);
    return NULL;
}

static llmp_error_t *conv_reasoning(conv_t *c, const cJSON *it,
                                    const char *param)
{
    apr_pool_t *p = c->f->pool;
    const cJSON *summary = llmp_json_get(it, "summary");
    const cJSON *content = llmp_json_get(it, "content");
    const char *enc = llmp_json_str(it, "encrypted_content");
    llmp_buf_t text;
    int n = 0;
    llmp_error_t *err;

    llmp_buf_init(&text, p, LLMP_JSON_MAX);
    text.first = 256;
    if (summary && !cJSON_IsArray(summary))
        return bad(p, apr_pstrcat(p, param, ".summary", NULL),
                   "%s: \"summary\" must be an array", param);
    if (content && !cJSON_IsNull(content) && !cJSON_IsArray(content))
        return bad(p, apr_pstrcat(p, param, ".content", NULL),
                   "%s: \"content\" must be an array", param);
    err = read_parts(c, summary, 'r', apr_pstrcat(p, param, ".summary", NULL),
                     NULL, &text, &n);
    if (!err && !text.len && cJSON_IsArray(content))
        err = read_parts(c, content, 'r',
                         apr_pstrcat(p, param, ".content", NULL), NULL,
                         &text, &n);
    if (err) return err;
    if (!text.len && !enc) return NULL;
    /* reasoning starts a new assistant turn */
    c->asst = NULL;
    c->calls = NULL;
    if (text.len) {
        if (c->reasoning.len) llmp_buf_append(&c->reasoning, "\n\n", 2);
        llmp_buf_append(&c->reasoning, text.data, text.len);
    }
    /* a signature proves the text of its own item only: one without
     * encrypted_content leaves none (not an earlier item's) */
    c->signature = enc;
    c->have_reasoning = 1;
    return NULL;
}

/* Item types that are dropped: references and hosted tools' items. */
static int dropped_item(const char *type)
{
    static const char *const dropped[] = {
        "item_reference", "mcp_list_tools", "mcp_approval_request",
        "mcp_approval_response", "compaction", "compaction_summary",
        "additional_tools", "program", "program_output", NULL };
    apr_size_t n = strlen(type);
    int i;

    for (i = 0; dropped[i]; i++) {
        if (!strcmp(type, dropped[i])) return 1;
    }
    /* web_search_call, computer_call_output, local_shell_call, ... */
    return (n > 5 && !strcmp(type + n - 5, "_call"))
           || (n > 12 && !strcmp(type + n - 12, "_call_output"))
           || (n > 7 && !strcmp(type + n - 7, "_output"));
}

static llmp_error_t *convert_input(llmp_front_t *f, rs_state_t *st,
                                   cJSON *msgs)
{
    apr_pool_t *p = f->pool;
    const cJSON *input = st->in.input, *it;
    conv_t c;
    int i = 0;
    llmp_error_t *err = NULL;

    if (cJSON_IsString(input)) {
        cJSON *m = cJSON_CreateObject();
        ADD_REF(m, "role", "user");
        ADD_REF(m, "content", input->valuestring);
        cJSON_AddItemToArray(msgs, m);
        return NULL;
    }
    if (!input || cJSON_IsNull(input)) return NULL;
    if (!cJSON_IsArray(input))
        return llmp_bad_request(p, "input", "'input' must be a string or an "
                                "array of input items");
    memset(&c, 0, sizeof(c));
    c.f = f;
    c.st = st;
    c.msgs = msgs;
    c.media = cJSON_CreateArray();
    c.call_ids = apr_hash_make(p);
    llmp_buf_init(&c.reasoning, p, LLMP_JSON_MAX);
    c.reasoning.first = 256;
    cJSON_ArrayForEach(it, input) {
        const char *param = indexed(p, "input", i++);
        const cJSON *jt = llmp_json_get(it, "type");
        const char *type;

        if (!cJSON_IsObject(it)) {
            err = bad(p, param, "%s must be an object (an input item)",
                      param);
            break;
        }
        if (jt && !cJSON_IsString(jt) && !cJSON_IsNull(jt)) {
            err = bad(p, apr_pstrcat(p, param, ".type", NULL),
                      "%s: \"type\" must be a string", param);
            break;
        }
        type = cJSON_IsString(jt) ? jt->valuestring : NULL;
        if (!type) {
            if (!llmp_json_get(it, "role")) {
                err = bad(p, param, "%s: an input item needs a \"type\" (or "
                          "a \"role\" and \"content\")", param);
                break;
            }
            type = "message";
        }
        if (!strcmp(type, "message"))
            err = conv_message(&c, it, param);
        else if (!strcmp(type, "function_call"))
            err = conv_call(&c, it, 0, param);
        else if (!strcmp(type, "custom_tool_call"))
            err = conv_call(&c, it, 1, param);
        else if (!strcmp(type, "function_call_output")
                 || !strcmp(type, "custom_tool_call_output"))
            err = conv_output(&c, it, param);
        else if (!strcmp(type, "reasoning"))
            err = conv_reasoning(&c, it, param);
        else if (!strcmp(type, "tool_search_call"))
            err = conv_call(&c, it, 2, param);
        else if (!strcmp(type, "tool_search_output"))
            err = conv_search_output(&c, it, param);
        else if (!dropped_item(type))
            err = bad(p, apr_pstrcat(p, param, ".type", NULL),
                      "%s: input items of type \"%s\" are not supported",
                      param, type);
        if (err) break;
    }
    if (!err) flush_media(&c);
    cJSON_Delete(c.media);
    return err;
}

/* ---- request ---- */

static llmp_error_t *convert_text(llmp_front_t *f, const cJSON *text,
                                  cJSON *ir)
{
    const cJSON *fmt;
    const char *type, *verb;

    text = nn(text);
    if (!text) return NULL;
    if (!cJSON_IsObject(text))
        return llmp_bad_request(f->pool, "text", "'text' must be an object");
    if ((verb = llmp_json_str(text, "verbosity"))) ADD_REF(ir, "verbosity",
                                                           verb);
    fmt = jset(text, "format");
    if (!fmt) return NULL;
    type = llmp_json_str(fmt, "type");
    if (!type)
        return llmp_bad_request(f->pool, "text.format",
                                "text.format needs a \"type\"");
    if (!strcmp(type, "text")) return NULL;
    if (!strcmp(type, "json_object")) {
        cJSON *rf = cJSON_CreateObject();
        ADD_REF(rf, "type", "json_object");
        add_cs(ir, "response_format", rf);
        return NULL;
    }
    if (!strcmp(type, "json_schema")) {
        const char *name = llmp_json_str(fmt, "name");
        const char *desc = llmp_json_str(fmt, "description");
        const cJSON *schema = llmp_json_get(fmt, "schema");
        const cJSON *strict = llmp_json_get(fmt, "strict");
        cJSON *rf, *js;

        if (!name || !*name || !cJSON_IsObject(schema))
            return llmp_bad_request(f->pool, "text.format",
                                    "text.format of type json_schema needs "
                                    "a \"name\" and a \"schema\" object");
        rf = cJSON_CreateObject();
        ADD_REF(rf, "type", "json_schema");
        js = cJSON_CreateObject();
        add_cs(rf, "json_schema", js);
        ADD_REF(js, "name", name);
        if (desc) ADD_REF(js, "description", desc);
        add_cs(js, "schema", jref(schema));
        if (cJSON_IsBool(strict)) ADD_BOOL(js, "strict", cJSON_IsTrue(strict));
        add_cs(ir, "response_format", rf);
        return NULL;
    }
    return llmp_bad_request(f->pool, "text.format",
                            apr_psprintf(f->pool, "text.format type \"%s\" is "
                                         "not supported", type));
}

/* A string member copied as it is (referred to) into the IR. */
static llmp_error_t *copy_str(llmp_front_t *f, const cJSON *v,
                              const char *name, cJSON *ir, const char *as)
{
    v = nn(v);
    if (!v) return NULL;
    if (!cJSON_IsString(v))
        return bad(f->pool, name, "'%s' must be a string", name);
    ADD_REF(ir, as, v->valuestring);
    return NULL;
}

static llmp_error_t *copy_num(llmp_front_t *f, const cJSON *v,
                              const char *name, double max, cJSON *ir)
{
    v = nn(v);
    if (!v) return NULL;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0)
        || v->valuedouble > max)
        return llmp_error_make(f->pool, 400, "invalid_request_error", NULL,
                               name, "'%s' must be a number from 0 to %g",
                               name, max);
    add_cs(ir, name, cJSON_CreateNumber(v->valuedouble));
    return NULL;
}

static llmp_error_t *responses_request(llmp_front_t *f, const cJSON *req,
                                       cJSON **out)
{
    rs_state_t *st = rs_state(f);
    const cJSON *v;
    const char *instr;
    cJSON *ir, *msgs;
    llmp_error_t *err;

    if (!cJSON_IsObject(req))
        return llmp_bad_request(f->pool, NULL,
                                "the request body must be a JSON object");
    rs_read(req, &st->in);
    /* state kept by OpenAI that this server does not have: refused
     * rather than ignored (previous_response_id is the way here) */
    if (nn(st->in.conversation))
        return llmp_bad_request(f->pool, "conversation",
                                "conversations are not supported here: use "
                                "previous_response_id");
    if (nn(st->in.prompt))
        return llmp_bad_request(f->pool, "prompt",
                                "stored prompt templates are not supported "
                                "here: send the instructions and input");
    if ((v = nn(st->in.store)) && !cJSON_IsBool(v))
        /* as OpenAI says it ("no" is not false) */
        return llmp_error_make(f->pool, 400, NULL, "invalid_type", "store",
                               "Invalid type for 'store': expected a "
                               "boolean, but got %s instead.",
                               cJSON_IsString(v) ? "a string"
                               : cJSON_IsNumber(v) ? "a number"
                               : cJSON_IsArray(v) ? "an array"
                               : "an object");
    st->req = req;
    st->tools = apr_array_make(f->pool, 2, sizeof(rs_tool_t));
    ir = cJSON_CreateObject();
    llmp_json_pool_own(f->pool, ir);
    if ((v = st->in.model) && cJSON_IsString(v))
        ADD_REF(ir, "model", v->valuestring);

    /* tools first: the input's calls need the names of custom tools */
    msgs = cJSON_CreateArray();
    add_cs(ir, "messages", msgs);
    if ((err = convert_tools(f, st, ir))) return err;
    v = nn(st->in.instructions);
    if (v && !cJSON_IsString(v))
        return llmp_bad_request(f->pool, "instructions",
                                "'instructions' must be a string");
    instr = v ? v->valuestring : NULL;
    if (instr && *instr) {
        cJSON *m = cJSON_CreateObject();
        ADD_REF(m, "role", "system");
        ADD_REF(m, "content", instr);
        cJSON_AddItemToArray(msgs, m);
    }
    if ((err = convert_input(f, st, msgs))
        || (err = convert_choice(f, st, ir)))
        return err;
    if (!msgs->child)
        return llmp_bad_request(f->pool, "input",
                                "'input' has no message for the model");

    if ((v = nn(st->in.max_output_tokens))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9
            || v->valuedouble != (double)(long)v->valuedouble)
            return llmp_bad_request(f->pool, "max_output_tokens",
                                    "'max_output_tokens' must be a positive "
                                    "integer");
        /* a cJSON number: back translators read numbers */
        add_cs(ir, "max_completion_tokens",
               cJSON_CreateNumber((double)(long)v->valuedouble));
    }
    if ((err = copy_num(f, st->in.temperature, "temperature", 2, ir))
        || (err = copy_num(f, st->in.top_p, "top_p", 1, ir))
        || (err = convert_text(f, st->in.text, ir)))
        return err;
    if ((v = nn(st->in.reasoning))) {
        const char *effort = llmp_json_str(v, "effort");
        if (!cJSON_IsObject(v))
            return llmp_bad_request(f->pool, "reasoning",
                                    "'reasoning' must be an object");
        if (effort) ADD_REF(ir, "reasoning_effort", effort);
    }
    /* metadata: the Response's only (OpenAI's Chat Completions refuse it
     * without "store": true, and the backend does not store the call) */
    if ((v = nn(st->in.metadata)) && !cJSON_IsObject(v))
        return llmp_bad_request(f->pool, "metadata",
                                "'metadata' must be an object");
    if ((err = copy_str(f, st->in.user, "user", ir, "user"))
        || (err = copy_str(f, st->in.safety_identifier,
                           "safety_identifier", ir,
                           "safety_identifier"))
        || (err = copy_str(f, st->in.prompt_cache_key,
                           "prompt_cache_key", ir,
                           "prompt_cache_key")))
        return err;
    v = st->in.stream;
    if (cJSON_IsTrue(v)) {
        cJSON *so = cJSON_CreateObject();
        ADD_BOOL(ir, "stream", 1);
        ADD_BOOL(so, "include_usage", 1);
        add_cs(ir, "stream_options", so);
    }
    else if (v && !cJSON_IsBool(v) && !cJSON_IsNull(v)) {
        return llmp_bad_request(f->pool, "stream",
                                "'stream' must be a boolean");
    }
    *out = ir;
    return NULL;
}

/* ---- the Response object ---- */

/* A reference to a request's value (jref) of nodes in np. */
static cJSON *pjref(apr_pool_t *np, const cJSON *v)
{
    cJSON *n;

    if (!np) return jref(v);
    if (cJSON_IsObject(v)) return mk_ref(np, cJSON_Object, v->child);
    if (cJSON_IsArray(v)) return mk_ref(np, cJSON_Array, v->child);
    if (cJSON_IsString(v)) return mk_str(np, v->valuestring);
    if (cJSON_IsRaw(v)) {
        n = mk_str(np, v->valuestring);
        n->type = cJSON_Raw | cJSON_IsReference;
        return n;
    }
    /* numbers, booleans, null: copied, as cJSON_Duplicate does */
    n = mk(np, v ? v->type & 0xFF : cJSON_NULL);
    if (v) {
        n->valueint = v->valueint;
        n->valuedouble = v->valuedouble;
    }
    return n;
}

/* The request's tools as the client sent them, a function's nullable
 * "strict" and "parameters" filled (the Response requires them). */
static cJSON *echo_tools(apr_pool_t *np, const cJSON *tools)
{
    cJSON *out = mk(np, cJSON_Array);
    const cJSON *t;

    cJSON_ArrayForEach(t, (cJSON_IsArray(tools) ? tools : NULL)) {
        const char *type = llmp_json_str(t, "type");
        cJSON *o;

        if (type && !strcmp(type, "function")
            && (!llmp_json_get(t, "strict")
                || !llmp_json_get(t, "parameters"))) {
            const cJSON *m;
            o = mk(np, cJSON_Object);
            cJSON_ArrayForEach(m, t) nput(np, o, m->string, pjref(np, m));
            if (!llmp_json_get(t, "strict")) N_NULL(np, o, "strict");
            if (!llmp_json_get(t, "parameters"))
                N_NULL(np, o, "parameters");
        }
        else {
            o = pjref(np, t);
        }
        nput(np, out, NULL, o);
    }
    return out;
}

static void echo(apr_pool_t *np, cJSON *r, const char *name,
                 const cJSON *v)
{
    if (v && !cJSON_IsNull(v)) nput(np, r, name, pjref(np, v));
    else N_NULL(np, r, name);
}

/* A number echoed (v a cJSON number): one of at most six decimals
 * between 0.001 and 1e6 (a temperature, a top_p) as the raw text the
 * writer prints for it (its %.15g, which reads back the same: the
 * decimal m / 10^n whose correctly rounded value is v), made without a
 * formatter; other numbers copied. */
static void echo_num(apr_pool_t *p, apr_pool_t *np, cJSON *r,
                     const char *name, const cJSON *v)
{
    static const double p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };
    double d = v->valuedouble;
    int n, k;

    if (d > 0.001 && d < 1e6 && d != (double)(apr_int64_t)d) {
        for (n = 1; n <= 6; n++) {
            apr_int64_t m = (apr_int64_t)(d * p10[n] + 0.5);

            if ((double)m / p10[n] == d) {
                char buf[32], *e = buf + sizeof(buf) - 1, *s = e;

                *e = '\0';
                for (k = 0; k < n; k++) {
                    *--s = (char)('0' + m % 10);
                    m /= 10;
                }
                *--s = '.';
                do {
                    *--s = (char)('0' + m % 10);
                    m /= 10;
                } while (m);
                /* (%g's: no trailing zero; d is not an integer, so a
                 * decimal is not zero) */
                while (e[-1] == '0') *--e = '\0';
                add_raw_ref(np, r, name, apr_pstrmemdup(p, s,
                                                        (apr_size_t)(e - s)));
                return;
            }
        }
    }
    echo(np, r, name, v);
}

/* A Response without output items and usage (*output: its "output"
 * array, when output is not NULL); nodes in np (see mk). */
static cJSON *response_new(llmp_front_t *f, rs_state_t *st,
                           const char *status, cJSON **output,
                           apr_pool_t *np)
{
    cJSON *o;
    const cJSON *v;
    const rs_req_t *in = &st->in;
    rs_req_t other;
    cJSON one;
    cJSON *r = mk(np, cJSON_Object);

    memset(&one, 0, sizeof(one));
    one.type = cJSON_Number;
    one.valueint = 1;
    one.valuedouble = 1;
    if (!st->req) {                /* no request read: the front's */
        rs_read(f->req, &other);
        in = &other;
    }

    N_REF(np, r, "id", f->id);
    N_REF(np, r, "object", "response");
    N_INT(f->pool, np, r, "created_at", f->created);
    N_REF(np, r, "status", status);
    if (!strcmp(status, "completed"))
        N_INT(f->pool, np, r, "completed_at", apr_time_sec(apr_time_now()));
    else N_NULL(np, r, "completed_at");
    N_NULL(np, r, "error");
    N_NULL(np, r, "incomplete_details");
    v = nn(in->instructions);
    echo(np, r, "instructions", cJSON_IsString(v) ? v : NULL);
    v = nn(in->max_output_tokens);
    echo(np, r, "max_output_tokens", cJSON_IsNumber(v) ? v : NULL);
    if (np) N_REF(np, r, "model", apr_pstrdup(np, f->model_id ? f->model_id
                                                               : ""));
    else ADD_STR(r, "model", f->model_id ? f->model_id : "");
    o = mk(np, cJSON_Array);
    nput(np, r, "output", o);
    if (output) *output = o;
    v = in->parallel_tool_calls;
    N_BOOL(np, r, "parallel_tool_calls", !cJSON_IsFalse(v));
    v = nn(in->previous_response_id);
    echo(np, r, "previous_response_id", cJSON_IsString(v) ? v : NULL);
    v = nn(in->reasoning);
    echo(np, r, "reasoning", cJSON_IsObject(v) ? v : NULL);
    N_BOOL(np, r, "store", !cJSON_IsFalse(in->store));
    v = nn(in->temperature);
    if (cJSON_IsNumber(v)) echo_num(f->pool, np, r, "temperature", v);
    else nput(np, r, "temperature", pjref(np, &one));
    v = nn(in->text);
    if (cJSON_IsObject(v)) {
        echo(np, r, "text", v);
    }
    else {
        cJSON *t = mk(np, cJSON_Object), *fm = mk(np, cJSON_Object);
        N_REF(np, fm, "type", "text");
        nput(np, t, "format", fm);
        nput(np, r, "text", t);
    }
    v = nn(in->tool_choice);
    if (cJSON_IsString(v) || cJSON_IsObject(v)) echo(np, r, "tool_choice", v);
    else N_REF(np, r, "tool_choice", "auto");
    nput(np, r, "tools", echo_tools(np, nn(in->tools)));
    v = nn(in->top_p);
    if (cJSON_IsNumber(v)) echo_num(f->pool, np, r, "top_p", v);
    else nput(np, r, "top_p", pjref(np, &one));
    N_REF(np, r, "truncation", "disabled");
    v = nn(in->metadata);
    if (cJSON_IsObject(v)) echo(np, r, "metadata", v);
    else nput(np, r, "metadata", mk(np, cJSON_Object));
    v = nn(in->prompt_cache_key);
    echo(np, r, "prompt_cache_key", cJSON_IsString(v) ? v : NULL);
    v = nn(in->safety_identifier);
    echo(np, r, "safety_identifier", cJSON_IsString(v) ? v : NULL);
    v = nn(in->user);
    if (cJSON_IsString(v)) echo(np, r, "user", v);
    return r;
}

static cJSON *usage_json(apr_pool_t *p, apr_pool_t *np, long in, long cached, long out,
                         long reasoning)
{
    cJSON *u = mk(np, cJSON_Object), *d;

    N_INT(p, np, u, "input_tokens", in);
    d = mk(np, cJSON_Object);
    N_INT(p, np, d, "cached_tokens", cached);
    N_INT(p, np, d, "cache_write_tokens", 0);
    nput(np, u, "input_tokens_details", d);
    N_INT(p, np, u, "output_tokens", out);
    d = mk(np, cJSON_Object);
    N_INT(p, np, d, "reasoning_tokens", reasoning);
    nput(np, u, "output_tokens_details", d);
    N_INT(p, np, u, "total_tokens", in + out);
    return u;
}

/* IR usage -> the Response's (NULL when absent). */
static cJSON *usage_from_ir(apr_pool_t *p, apr_pool_t *np, const cJSON *u,
                            rs_state_t *st)
{
    long in, out, cached, reasoning;

    if (!cJSON_IsObject(u)) return NULL;
    in = jlong(u, "prompt_tokens");
    out = jlong(u, "completion_tokens");
    cached = jlong(llmp_json_get(u, "prompt_tokens_details"),
                   "cached_tokens");
    reasoning = jlong(llmp_json_get(u, "completion_tokens_details"),
                      "reasoning_tokens");
    if (st) {
        st->have_usage = 1;
        st->in_tokens = in;
        st->out_tokens = out;
        st->cached = cached;
        st->reasoning_tokens = reasoning;
        return NULL;
    }
    return usage_json(p, np, in, cached, out, reasoning);
}

/* finish_reason -> the reason of an incomplete answer, or NULL. */
static const char *incomplete_reason(const char *finish)
{
    if (!finish) return NULL;
    if (!strcmp(finish, LLMP_FINISH_LENGTH)) return "max_output_tokens";
    if (!strcmp(finish, LLMP_FINISH_CONTENT_FILTER)) return "content_filter";
    return NULL;
}

/* incomplete_details (null) made {"reason": reason}, in place (r may be
 * of pool nodes: nothing replaced). */
static void set_incomplete(apr_pool_t *np, cJSON *r, const char *reason)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "incomplete_details");

    if (!cJSON_IsNull(d)) return;
    d->type = cJSON_Object | (d->type & cJSON_StringIsConst);
    N_REF(np, d, "reason", reason);
}

/* ---- output items ---- */

static cJSON *message_item(apr_pool_t *np, const char *id, const char *status,
                           const char *text, int with_part)
{
    cJSON *m = mk(np, cJSON_Object), *content = mk(np, cJSON_Array), *p;

    N_REF(np, m, "id", id);
    N_REF(np, m, "type", "message");
    N_REF(np, m, "status", status);
    N_REF(np, m, "role", "assistant");
    nput(np, m, "content", content);
    if (with_part) {
        p = mk(np, cJSON_Object);
        N_REF(np, p, "type", "output_text");
        N_REF(np, p, "text", text);
        nput(np, p, "annotations", mk(np, cJSON_Array));
        nput(np, p, "logprobs", mk(np, cJSON_Array));
        nput(np, content, NULL, p);
    }
    return m;
}

static cJSON *summary_part(apr_pool_t *np, const char *text)
{
    cJSON *p = mk(np, cJSON_Object);

    N_REF(np, p, "type", "summary_text");
    N_REF(np, p, "text", text);
    return p;
}

static cJSON *reasoning_item(apr_pool_t *np, const char *id, const char *text,
                             const char *signature)
{
    cJSON *r = mk(np, cJSON_Object), *s = mk(np, cJSON_Array);

    N_REF(np, r, "id", id);
    N_REF(np, r, "type", "reasoning");
    nput(np, r, "summary", s);
    if (text && *text) nput(np, s, NULL, summary_part(np, text));
    if (signature) N_REF(np, r, "encrypted_content", signature);
    return r;
}

/* A function_call, or a custom_tool_call when tool is a custom tool, or
 * a tool_search_call when it is the client's tool_search. args_or_input:
 * the arguments, or the custom call's input. */
static cJSON *call_item(apr_pool_t *np, const char *id, const char *status,
                        const char *call_id, const rs_tool_t *tool,
                        const char *name, const char *args_or_input)
{
    cJSON *c = mk(np, cJSON_Object);

    N_REF(np, c, "id", id);
    if (tool && tool->search) {
        /* the arguments as an object, for the client to run the search */
        cJSON *a = args_or_input && *args_or_input
                   ? cJSON_Parse(args_or_input) : NULL;
        if (!cJSON_IsObject(a)) {
            cJSON_Delete(a);
            a = mk(np, cJSON_Object);
        }
        else if (np) {
            /* the parsed tree the pool's, its members referred to by a
             * pool node (a pool-owned tree is deleted with its next
             * siblings: it is never linked into a pool tree) */
            llmp_json_pool_own(np, a);
            a = mk_ref(np, cJSON_Object, a->child);
        }
        N_REF(np, c, "type", "tool_search_call");
        N_REF(np, c, "call_id", call_id);
        N_REF(np, c, "execution", "client");
        nput(np, c, "arguments", a);
        N_REF(np, c, "status", status);
    }
    else if (tool && tool->custom) {
        N_REF(np, c, "type", "custom_tool_call");   /* it has no status */
        N_REF(np, c, "call_id", call_id);
        N_REF(np, c, "name", name);
        if (tool->ns) N_REF(np, c, "namespace", tool->ns);
        N_REF(np, c, "input", args_or_input);
    }
    else {
        N_REF(np, c, "type", "function_call");
        N_REF(np, c, "status", status);
        N_REF(np, c, "arguments", args_or_input);
        N_REF(np, c, "call_id", call_id);
        N_REF(np, c, "name", name);
        if (tool && tool->ns) N_REF(np, c, "namespace", tool->ns);
    }
    return c;
}

/* The id prefix of a call's output item. */
static const char *call_prefix(const rs_tool_t *tool)
{
    return !tool ? "fc_" : tool->custom ? "ctc_" : tool->search ? "tsc_"
                                                               : "fc_";
}

/* A custom call's input: the "input" string of its JSON arguments, else
 * the arguments as they are. */
static const char *custom_input(apr_pool_t *p, const char *args)
{
    cJSON *a = args ? llmp_json_parse_pool(p, args, strlen(args)) : NULL;
    const char *in = llmp_json_str(a, "input");

    if (in) return in;
    if (cJSON_IsObject(a) && a->child && !a->child->next
        && cJSON_IsString(a->child))
        return a->child->valuestring;     /* one string argument */
    return args ? args : "";
}

/* ---- a custom call's input, decoded as its arguments come ---- */

static int hex4(const char *s, unsigned int *out)
{
    unsigned int v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char ch = s[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= (unsigned int)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') v |= (unsigned int)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') v |= (unsigned int)(ch - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static void put_utf8(llmp_buf_t *b, unsigned int cp)
{
    char u[4];
    apr_size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    }
    else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    }
    else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    }
    else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    llmp_buf_append(b, u, n);
}

/* Decode what is complete of the arguments {"input":"..."} received so
 * far (it->text from it->scan) into it->dec. Another shape: phase 3 (the
 * input is then sent whole when the call ends). */
static void custom_decode(rs_item_t *it)
{
    static const char want[] = "{\"input\":\"";
    const char *s = buf_text(&it->text);
    apr_size_t n = it->text.len, i = it->scan;

    if (it->phase == 0) {
        while (i < n && want[it->want]) {
            char ch = s[i];
            if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
                if (it->want >= 2 && it->want <= 7) {   /* in "input" */
                    it->phase = 3;
                    return;
                }
                i++;
                continue;
            }
            if (ch != want[it->want]) {
                it->phase = 3;
                return;
            }
            it->want++;
            i++;
        }
        it->scan = i;
        if (want[it->want]) return;
        it->phase = 1;
    }
    while (it->phase == 1 && i < n) {
        unsigned char ch = (unsigned char)s[i];
        apr_size_t len;

        if (ch == '"') {
            it->phase = 2;
            i++;
            break;
        }
        if (ch == '\\') {
            unsigned int cp, lo;
            char e;

            if (i + 1 >= n) break;
            e = s[i + 1];
            if (e != 'u') {
                char out;
                switch (e) {
                case '"': case '\\': case '/': out = e; break;
                case 'b': out = '\b'; break;
                case 'f': out = '\f'; break;
                case 'n': out = '\n'; break;
                case 'r': out = '\r'; break;
                case 't': out = '\t'; break;
                default:
                    it->phase = 3;
                    return;
                }
                llmp_buf_append(&it->dec, &out, 1);
                i += 2;
                continue;
            }
            if (i + 6 > n) break;
            if (!hex4(s + i + 2, &cp)) {
                it->phase = 3;
                return;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (i + 12 > n) break;
                if (s[i + 6] == '\\' && s[i + 7] == 'u'
                    && hex4(s + i + 8, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                    put_utf8(&it->dec, 0x10000 + ((cp - 0xd800) << 10)
                                       + (lo - 0xdc00));
                    i += 12;
                    continue;
                }
                cp = 0xfffd;
            }
            else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            put_utf8(&it->dec, cp);
            i += 6;
            continue;
        }
        /* a whole UTF-8 sequence, or wait for the rest */
        len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3
              : (ch >> 3) == 30 ? 4 : 1;
        if (i + len > n) break;
        llmp_buf_append(&it->dec, s + i, len);
        i += len;
    }
    it->scan = i;
}

/* ---- response ---- */

static llmp_error_t *responses_response(llmp_front_t *f,
                                        const cJSON *completion,
                                        char **out, apr_size_t *len)
{
    rs_state_t *st = rs_state(f);
    const cJSON *choice = cJSON_GetArrayItem(llmp_json_get(completion,
                                                           "choices"), 0);
    const cJSON *msg = llmp_json_get(choice, "message"), *calls, *tc;
    const char *finish = llmp_json_str(choice, "finish_reason");
    const char *reason = incomplete_reason(finish);
    const char *text = llmp_content_text(f->pool,
                                         llmp_json_get(msg, "content"));
    const char *refusal = llmp_json_str(msg, "refusal");
    const char *rtext = llmp_json_str(msg, "reasoning_content");
    const char *sig = llmp_json_str(msg, "reasoning_signature");
    const char *item_status = reason ? "incomplete" : "completed";
    cJSON *r, *output, *u;
    llmp_error_t *err;

    if (!cJSON_IsObject(completion) || !cJSON_IsObject(msg))
        return llmp_error_make(f->pool, 502, "api_error", NULL, NULL,
                               "invalid response from the backend: no "
                               "message in the answer");
    /* of pool nodes (see mk): never deleted */
    r = response_new(f, st, reason ? "incomplete" : "completed", &output,
                     f->pool);
    if (reason) set_incomplete(f->pool, r, reason);
    calls = llmp_json_get(msg, "tool_calls");
    if ((rtext && *rtext) || sig)
        nput(f->pool, output, NULL, reasoning_item(f->pool,
            llmp_make_id(f->pool, "rs_"), rtext, sig));
    if ((!text || !*text) && refusal && *refusal) text = refusal;
    if ((text && *text) || (!output->child && !cJSON_GetArraySize(calls)))
        nput(f->pool, output, NULL, message_item(f->pool,
            llmp_make_id(f->pool, "msg_"), item_status, text ? text : "", 1));
    cJSON_ArrayForEach(tc, (cJSON_IsArray(calls) ? calls : NULL)) {
        const cJSON *fn = llmp_json_get(tc, "function");
        const char *name = llmp_json_str(fn, "name");
        const char *args = llmp_json_str(fn, "arguments");
        const char *id = llmp_json_str(tc, "id");
        const char *type = llmp_json_str(tc, "type");
        const rs_tool_t *tool;

        if (type && !strcmp(type, "custom")) {   /* an IR custom call */
            const cJSON *cu = llmp_json_get(tc, "custom");
            name = llmp_json_str(cu, "name");
            args = llmp_json_str(cu, "input");
            tool = tool_by_ir(st, name);
            if (!tool || !tool->custom) {
                static const rs_tool_t plain_custom = { "", "", NULL, 1 };
                tool = &plain_custom;
            }
            nput(f->pool, output, NULL, call_item(f->pool,
                llmp_make_id(f->pool, "ctc_"), "completed",
                id ? id : llmp_make_id(f->pool, "call_"), tool,
                name ? name : "", args ? args : ""));
            continue;
        }
        tool = tool_by_ir(st, name);
        if (tool && tool->custom) args = custom_input(f->pool, args);
        nput(f->pool, output, NULL, call_item(f->pool,
            llmp_make_id(f->pool, call_prefix(tool)),
            "completed", id ? id : llmp_make_id(f->pool, "call_"), tool,
            tool ? tool->name : (name ? name : ""), args ? args : "{}"));
    }
    if ((u = usage_from_ir(f->pool, f->pool,
                           llmp_json_get(completion, "usage"), NULL)))
        nput(f->pool, r, "usage", u);
    f->answer = r;
    if ((err = llmp_json_out(f->pool, r, out, len))) return err;
    f->answer_text = *out;
    f->answer_len = *len;
    return NULL;
}

/* ---- stream ---- */

/* Print ev (deleted) and hand it to f->emit as event <type>. */
static llmp_error_t *emit(llmp_front_t *f, rs_state_t *st, cJSON *ev)
{
    const char *type = llmp_json_str(ev, "type");
    apr_status_t rv;

    char seq[24];

    /* (the text on the stack: ev is printed and deleted here) */
    add_raw_ref(NULL, ev, "sequence_number", int_text(seq, st->seq++));
    st->ev.len = 0;
    rv = llmp_json_write(&st->ev, ev);
    cJSON_Delete(ev);
    if (rv != APR_SUCCESS) {
        st->ended = 1;
        return oom(f->pool);
    }
    if (f->emit && f->emit(f->emit_baton, type, st->ev.data, st->ev.len)
                   != APR_SUCCESS) {
        st->ended = 1;
        return llmp_error_make(f->pool, 500, NULL, NULL, NULL,
                               "could not write the stream");
    }
    return NULL;
}

static cJSON *event_new(const char *type)
{
    cJSON *ev = cJSON_CreateObject();

    ADD_REF(ev, "type", type);
    return ev;
}

/* An event about an item: type, item_id, output_index. */
static cJSON *item_event(const char *type, const rs_item_t *it)
{
    cJSON *ev = event_new(type);

    ADD_REF(ev, "item_id", it->id);
    ADD_INT(ev, "output_index", it->index);
    return ev;
}

/* The item as it is now (done: with its status and whole text). */
static cJSON *item_json(const rs_item_t *it, int done)
{
    const char *status = done ? it->status : "in_progress";

    switch (it->kind) {
    case RS_MESSAGE:
        return message_item(NULL, it->id, status, buf_text(&it->text), done);
    case RS_REASONING:
        return reasoning_item(NULL, it->id, done ? buf_text(&it->text) : NULL,
                              done ? it->signature : NULL);
    default:
        return call_item(NULL, it->id, status, it->call_id, it->tool, it->name,
                         !done ? ""
                         : (it->tool && it->tool->custom) ? it->input
                         : buf_text(&it->text));
    }
}

static llmp_error_t *emit_item(llmp_front_t *f, rs_state_t *st,
                               const char *type, const rs_item_t *it,
                               int done)
{
    cJSON *ev = event_new(type);

    ADD_PINT(f->pool, ev, "output_index", it->index);
    add_cs(ev, "item", item_json(it, done));
    return emit(f, st, ev);
}

static cJSON *response_with_output(llmp_front_t *f, rs_state_t *st,
                                   const char *status)
{
    cJSON *output = NULL;
    cJSON *r = response_new(f, st, status, &output, NULL);
    int i;

    for (i = 0; i < st->items->nelts; i++) {
        rs_item_t *it = APR_ARRAY_IDX(st->items, i, rs_item_t *);
        if (!it->done) it->status = "incomplete";
        if (it->kind == RS_CALL && it->tool && it->tool->custom
            && !it->input)
            it->input = custom_input(f->pool, buf_text(&it->text));
        cJSON_AddItemToArray(output, item_json(it, 1));
    }
    if (st->have_usage)
        add_cs(r, "usage", usage_json(f->pool, NULL, st->in_tokens, st->cached,
                                      st->out_tokens, st->reasoning_tokens));
    return r;
}

/* An event with the Response r: r is deleted, or kept as f->answer
 * (owned by f->pool) when final. */
static llmp_error_t *emit_response(llmp_front_t *f, rs_state_t *st,
                                   const char *type, cJSON *r, int final)
{
    cJSON *ev;

    if (final) {
        /* printed once, for the event and for f->answer_text (type is
         * one of this file's event names: nothing to escape) */
        apr_size_t n, tl = strlen(type);
        char *text = llmp_json_print(f->pool, r, &n), *o;
        char seq[24];
        int sl;

        llmp_json_pool_own(f->pool, r);
        f->answer = r;
        if (!text) {
            st->ended = 1;
            return oom(f->pool);
        }
        f->answer_text = text;
        f->answer_len = n;
        sl = apr_snprintf(seq, sizeof(seq), "%" APR_INT64_T_FMT, st->seq++);
        o = apr_palloc(f->pool, n + tl + sl + 48);
        st->ev.len = (apr_size_t)apr_snprintf(o, tl + 32,
                                              "{\"type\":\"%s\",\"response\":",
                                              type);
        memcpy(o + st->ev.len, text, n);
        st->ev.len += n;
        st->ev.len += (apr_size_t)apr_snprintf(o + st->ev.len, sl + 24,
                                               ",\"sequence_number\":%s}",
                                               seq);
        if (f->emit && f->emit(f->emit_baton, type, o, st->ev.len)
                       != APR_SUCCESS) {
            st->ended = 1;
            return llmp_error_make(f->pool, 500, NULL, NULL, NULL,
                                   "could not write the stream");
        }
        return NULL;
    }
    ev = event_new(type);
    add_cs(ev, "response", cJSON_CreateObjectReference(r->child));
    {
        /* deleted after ev, which refers to its members */
        llmp_error_t *err = emit(f, st, ev);
        cJSON_Delete(r);
        return err;
    }
}

cJSON *llmp_responses_new(llmp_front_t *f, const char *status)
{
    rs_state_t *st = f->state;
    rs_state_t none;

    if (!st) {
        memset(&none, 0, sizeof(none));
        st = &none;
    }
    return response_new(f, st, status, NULL, NULL);
}

static llmp_error_t *ensure_started(llmp_front_t *f, rs_state_t *st)
{
    llmp_error_t *err;

    if (st->started) return NULL;
    st->started = 1;
    if ((err = emit_response(f, st, "response.created",
                             response_new(f, st, "in_progress", NULL, NULL), 0)))
        return err;
    return emit_response(f, st, "response.in_progress",
                         response_new(f, st, "in_progress", NULL, NULL), 0);
}

/* The done events of the open item. */
static llmp_error_t *close_item(llmp_front_t *f, rs_state_t *st,
                                const char *status)
{
    rs_item_t *it = st->cur;
    llmp_error_t *err = NULL;
    cJSON *ev;

    if (!it) return NULL;
    st->cur = NULL;
    it->status = status;
    if (it->kind == RS_MESSAGE) {
        ev = item_event("response.output_text.done", it);
        ADD_PINT(f->pool, ev, "content_index", 0);
        ADD_REF(ev, "text", buf_text(&it->text));
        add_cs(ev, "logprobs", cJSON_CreateArray());
        if (!(err = emit(f, st, ev))) {
            cJSON *m = message_item(NULL, it->id, status, buf_text(&it->text), 1);
            ev = item_event("response.content_part.done", it);
            ADD_PINT(f->pool, ev, "content_index", 0);
            add_cs(ev, "part", cJSON_DetachItemFromArray(
                       cJSON_GetObjectItemCaseSensitive(m, "content"), 0));
            cJSON_Delete(m);
            err = emit(f, st, ev);
        }
    }
    else if (it->kind == RS_REASONING) {
        if (it->text.len) {
            ev = item_event("response.reasoning_summary_text.done", it);
            ADD_PINT(f->pool, ev, "summary_index", 0);
            ADD_REF(ev, "text", buf_text(&it->text));
            if (!(err = emit(f, st, ev))) {
                ev = item_event("response.reasoning_summary_part.done", it);
                ADD_PINT(f->pool, ev, "summary_index", 0);
                add_cs(ev, "part", summary_part(NULL, buf_text(&it->text)));
                err = emit(f, st, ev);
            }
        }
    }
    else if (it->tool && it->tool->search) {
        /* a tool_search_call: its arguments in output_item.done */
    }
    else if (it->tool && it->tool->custom) {
        const char *rest;

        it->input = custom_input(f->pool, buf_text(&it->text));
        /* what the deltas have not said yet (all of it when the arguments
         * had another shape) */
        rest = !strncmp(it->input, buf_text(&it->dec), it->dec.len)
               ? it->input + it->dec.len : "";
        if (*rest) {
            ev = item_event("response.custom_tool_call_input.delta", it);
            ADD_REF(ev, "delta", rest);
            err = emit(f, st, ev);
        }
        if (!err) {
            ev = item_event("response.custom_tool_call_input.done", it);
            ADD_REF(ev, "input", it->input);
            err = emit(f, st, ev);
        }
    }
    else {
        ev = item_event("response.function_call_arguments.done", it);
        ADD_REF(ev, "name", it->name);
        ADD_REF(ev, "arguments", buf_text(&it->text));
        err = emit(f, st, ev);
    }
    if (err) return err;
    it->done = 1;
    return emit_item(f, st, "response.output_item.done", it, 1);
}

/* A new open item, or NULL (*err set) when the answer has
 * LLMP_RS_MAX_ITEMS already. Its buffers start small (a backend that
 * alternates short reasoning and text pieces makes an item of each): the
 * memory of a stream stays a small multiple of its bytes. */
static rs_item_t *item_new(llmp_front_t *f, rs_state_t *st, int kind,
                           const char *prefix, llmp_error_t **err)
{
    rs_item_t *it;

    if (st->items->nelts >= LLMP_RS_MAX_ITEMS) {
        *err = llmp_error_make(f->pool, 502, "api_error",
                               "too_many_output_items", NULL,
                               "the answer has more than %d output items",
                               LLMP_RS_MAX_ITEMS);
        return NULL;
    }
    it = apr_pcalloc(f->pool, sizeof(*it));
    it->kind = kind;
    it->index = st->items->nelts;
    it->id = llmp_make_id(f->pool, prefix);
    it->status = "in_progress";
    llmp_buf_init(&it->text, f->pool, LLMP_JSON_MAX);
    it->text.first = 64;
    llmp_buf_init(&it->dec, f->pool, LLMP_JSON_MAX);
    it->dec.first = 64;
    APR_ARRAY_PUSH(st->items, rs_item_t *) = it;
    st->cur = it;
    return it;
}

static llmp_error_t *append(llmp_front_t *f, rs_item_t *it, const char *s)
{
    if (llmp_buf_append(&it->text, s, strlen(s)) != APR_SUCCESS)
        return llmp_error_make(f->pool, 500, NULL, NULL, NULL,
                               "the answer is too large");
    return NULL;
}

/* The open reasoning item, opened when needed. */
static llmp_error_t *open_reasoning(llmp_front_t *f, rs_state_t *st)
{
    llmp_error_t *err;
    rs_item_t *it;

    if (st->cur && st->cur->kind == RS_REASONING) return NULL;
    if ((err = close_item(f, st, "completed"))) return err;
    if (!(it = item_new(f, st, RS_REASONING, "rs_", &err))) return err;
    return emit_item(f, st, "response.output_item.added", it, 0);
}

static llmp_error_t *on_reasoning(llmp_front_t *f, rs_state_t *st,
                                  const char *piece)
{
    rs_item_t *it;
    llmp_error_t *err;
    cJSON *ev;

    if ((err = open_reasoning(f, st))) return err;
    it = st->cur;
    if (!it->text.len) {
        ev = item_event("response.reasoning_summary_part.added", it);
        ADD_PINT(f->pool, ev, "summary_index", 0);
        add_cs(ev, "part", summary_part(NULL, ""));
        if ((err = emit(f, st, ev))) return err;
    }
    if ((err = append(f, it, piece))) return err;
    ev = item_event("response.reasoning_summary_text.delta", it);
    ADD_PINT(f->pool, ev, "summary_index", 0);
    ADD_REF(ev, "delta", piece);
    return emit(f, st, ev);
}

static llmp_error_t *on_signature(llmp_front_t *f, rs_state_t *st,
                                  const char *sig)
{
    llmp_error_t *err;
    int i;

    if (!st->cur || st->cur->kind != RS_REASONING) {
        /* late: give it to the last reasoning item if there is one */
        for (i = st->items->nelts - 1; i >= 0; i--) {
            rs_item_t *it = APR_ARRAY_IDX(st->items, i, rs_item_t *);
            if (it->kind == RS_REASONING) {
                it->signature = apr_pstrdup(f->pool, sig);
                return NULL;
            }
        }
        if ((err = open_reasoning(f, st))) return err;
    }
    st->cur->signature = apr_pstrdup(f->pool, sig);
    return NULL;
}

static llmp_error_t *on_text(llmp_front_t *f, rs_state_t *st,
                             const char *piece)
{
    rs_item_t *it;
    llmp_error_t *err;
    cJSON *ev, *m;

    if (!st->cur || st->cur->kind != RS_MESSAGE) {
        if ((err = close_item(f, st, "completed"))) return err;
        if (!(it = item_new(f, st, RS_MESSAGE, "msg_", &err))) return err;
        if ((err = emit_item(f, st, "response.output_item.added", it, 0)))
            return err;
        m = message_item(NULL, it->id, "in_progress", "", 1);
        ev = item_event("response.content_part.added", it);
        ADD_PINT(f->pool, ev, "content_index", 0);
        add_cs(ev, "part", cJSON_DetachItemFromArray(
                   cJSON_GetObjectItemCaseSensitive(m, "content"), 0));
        cJSON_Delete(m);
        if ((err = emit(f, st, ev))) return err;
    }
    it = st->cur;
    if ((err = append(f, it, piece))) return err;
    ev = item_event("response.output_text.delta", it);
    ADD_PINT(f->pool, ev, "content_index", 0);
    ADD_REF(ev, "delta", piece);
    add_cs(ev, "logprobs", cJSON_CreateArray());
    return emit(f, st, ev);
}

static llmp_error_t *on_tool_call(llmp_front_t *f, rs_state_t *st,
                                  const cJSON *tc)
{
    const cJSON *fn = llmp_json_get(tc, "function");
    const char *args = llmp_json_str(fn, "arguments"), *id;
    rs_item_t *it = NULL;
    llmp_error_t *err;
    double d;
    int idx = 0, i;
    cJSON *ev;

    if (jnum(llmp_json_get(tc, "index"), &d) && d >= 0 && d < 1e6)
        idx = (int)d;
    if (st->cur && st->cur->kind == RS_CALL && st->cur->tc == idx)
        it = st->cur;              /* the usual case: the open call */
    for (i = st->items->nelts - 1; !it && i >= 0; i--) {
        rs_item_t *x = APR_ARRAY_IDX(st->items, i, rs_item_t *);
        if (x->kind == RS_CALL && x->tc == idx) {
            it = x;
            break;
        }
    }
    id = llmp_json_str(tc, "id");
    if (it && id && *id && strcmp(id, it->call_id))
        it = NULL;                 /* another call at the same index */
    if (!it) {
        const char *name = llmp_json_str(fn, "name");
        const rs_tool_t *tool = tool_by_ir(st, name);

        if ((err = close_item(f, st, "completed"))) return err;
        if (!(it = item_new(f, st, RS_CALL, call_prefix(tool), &err)))
            return err;
        it->tc = idx;
        it->call_id = apr_pstrdup(f->pool, id && *id ? id
                                  : llmp_make_id(f->pool, "call_"));
        it->tool = tool;
        it->name = tool ? tool->name : apr_pstrdup(f->pool, name ? name : "");
        if ((err = emit_item(f, st, "response.output_item.added", it, 0)))
            return err;
    }
    if (!args || !*args) return NULL;
    if ((err = append(f, it, args))) return err;
    if (it != st->cur) return NULL;        /* a late piece: in the answer */
    if (it->tool && it->tool->search) return NULL;   /* no delta events */
    if (it->tool && it->tool->custom) {
        apr_size_t old = it->dec.len;
        custom_decode(it);
        if (it->dec.len == old) return NULL;
        ev = item_event("response.custom_tool_call_input.delta", it);
        ADD_REF(ev, "delta", it->dec.data + old);
        return emit(f, st, ev);
    }
    ev = item_event("response.function_call_arguments.delta", it);
    ADD_REF(ev, "delta", args);
    return emit(f, st, ev);
}

static llmp_error_t *responses_stream_chunk(llmp_front_t *f,
                                            const cJSON *chunk)
{
    rs_state_t *st = rs_state(f);
    const cJSON *choice, *delta, *calls, *tc, *u;
    const char *s, *finish;
    llmp_error_t *err;

    if (st->ended) return NULL;
    if ((err = ensure_started(f, st))) return err;
    if ((u = llmp_json_get(chunk, "usage")) && cJSON_IsObject(u))
        usage_from_ir(f->pool, NULL, u, st);
    choice = cJSON_GetArrayItem(llmp_json_get(chunk, "choices"), 0);
    if (!choice) return NULL;
    delta = llmp_json_get(choice, "delta");
    if ((s = llmp_json_str(delta, "reasoning_content")) && *s
        && (err = on_reasoning(f, st, s)))
        return err;
    if ((s = llmp_json_str(delta, "reasoning_signature")) && *s
        && (err = on_signature(f, st, s)))
        return err;
    if ((s = llmp_json_str(delta, "content")) && *s
        && (err = on_text(f, st, s)))
        return err;
    if ((s = llmp_json_str(delta, "refusal")) && *s
        && (err = on_text(f, st, s)))
        return err;
    calls = llmp_json_get(delta, "tool_calls");
    cJSON_ArrayForEach(tc, (cJSON_IsArray(calls) ? calls : NULL)) {
        if ((err = on_tool_call(f, st, tc))) return err;
    }
    finish = llmp_json_str(choice, "finish_reason");
    if (finish && !st->finish) {
        st->finish = apr_pstrdup(f->pool, finish);
        return close_item(f, st, incomplete_reason(finish) ? "incomplete"
                                                           : "completed");
    }
    return NULL;
}

/* response.error's code: one the Response schema knows (and those Codex
 * reads). */
static const char *failed_code(const llmp_error_t *e)
{
    if (e->code && (!strcmp(e->code, "context_length_exceeded")
                    || !strcmp(e->code, "insufficient_quota")
                    || !strcmp(e->code, "rate_limit_exceeded")
                    || !strcmp(e->code, "invalid_prompt")
                    || !strcmp(e->code, "server_error")))
        return e->code;
    if (e->status == 429) return "rate_limit_exceeded";
    if (e->status == 400) return "invalid_prompt";
    return "server_error";
}

static llmp_error_t *responses_stream_end(llmp_front_t *f,
                                          const llmp_error_t *err)
{
    rs_state_t *st = rs_state(f);
    llmp_error_t *e;
    cJSON *r, *ev, *eo;
    const char *reason;

    if (st->ended) return NULL;
    if ((e = ensure_started(f, st))) return e;
    if (!err && st->finish) {
        reason = incomplete_reason(st->finish);
        if ((e = close_item(f, st, reason ? "incomplete" : "completed")))
            return e;
        r = response_with_output(f, st, reason ? "incomplete" : "completed");
        if (reason) set_incomplete(NULL, r, reason);
        st->ended = 1;
        return emit_response(f, st, reason ? "response.incomplete"
                                           : "response.completed", r, 1);
    }
    if (!err)
        err = llmp_error_make(f->pool, 502, "api_error", "stream_truncated",
                              NULL, "the backend's stream ended before the "
                              "end of the answer");
    ev = event_new("error");
    if (err->code) ADD_REF(ev, "code", err->code);
    else ADD_REF(ev, "code", failed_code(err));
    ADD_REF(ev, "message", err->message ? err->message : "");
    if (err->param) ADD_REF(ev, "param", err->param);
    else ADD_NULL(ev, "param");
    if ((e = emit(f, st, ev))) return e;
    r = response_with_output(f, st, "failed");
    eo = cJSON_CreateObject();
    ADD_REF(eo, "code", failed_code(err));
    ADD_STR(eo, "message", err->message ? err->message : "");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "error", eo);
    st->ended = 1;
    return emit_response(f, st, "response.failed", r, 1);
}

static char *responses_error_json(apr_pool_t *p, const llmp_error_t *e)
{
    return llmp_error_json(p, e);
}

const llmp_front_ops_t llmp_front_responses = {
    "responses",
    sizeof(rs_state_t),
    responses_request,
    responses_response,
    responses_stream_chunk,
    responses_stream_end,
    responses_error_json,
};

/* ---- previous_response_id and the store ---- */

/* A string input as a user message item. */
static cJSON *user_item(const char *text)
{
    cJSON *m = cJSON_CreateObject(), *c = cJSON_CreateArray(), *p;

    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "role", "user");
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "input_text");
    cJSON_AddStringToObject(p, "text", text);
    cJSON_AddItemToArray(c, p);
    cJSON_AddItemToObject(m, "content", c);
    return m;
}

llmp_error_t *llmp_responses_expand(apr_pool_t *p, const cJSON *req,
                                    const cJSON *history, cJSON **out)
{
    const cJSON *input = llmp_json_get(req, "input"), *it;
    cJSON *copy, *items;

    if (!cJSON_IsObject(req))
        return llmp_bad_request(p, NULL,
                                "the request body must be a JSON object");
    if (history && !cJSON_IsNull(history) && !cJSON_IsArray(history))
        return llmp_bad_request(p, "previous_response_id",
                                "the stored conversation is not readable");
    if (input && !cJSON_IsNull(input) && !cJSON_IsString(input)
        && !cJSON_IsArray(input))
        return llmp_bad_request(p, "input", "'input' must be a string or an "
                                "array of input items");
    copy = cJSON_CreateObject();
    if (!copy) return oom(p);
    llmp_json_pool_own(p, copy);
    cJSON_ArrayForEach(it, req) {
        if (it->string && !strcmp(it->string, "input")) continue;
        cJSON_AddItemToObject(copy, it->string, cJSON_Duplicate(it, 1));
    }
    items = cJSON_AddArrayToObject(copy, "input");
    cJSON_ArrayForEach(it, (cJSON_IsArray(history) ? history : NULL))
        cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
    if (cJSON_IsString(input))
        cJSON_AddItemToArray(items, user_item(input->valuestring));
    else
        cJSON_ArrayForEach(it, (cJSON_IsArray(input) ? input : NULL))
            cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
    *out = copy;
    return NULL;
}

char *llmp_responses_record(llmp_front_t *f, apr_size_t *len)
{
    rs_state_t *st = f->state;
    const cJSON *req = st && st->req ? st->req : f->req;
    const cJSON *input = llmp_json_get(req, "input"), *it;
    cJSON *rec, *hist;
    char *s;

    if (!f->answer) return NULL;
    rec = cJSON_CreateObject();
    add_cs(rec, "response", jref(f->answer));
    hist = cJSON_CreateArray();
    add_cs(rec, "history", hist);
    if (cJSON_IsString(input))
        cJSON_AddItemToArray(hist, user_item(input->valuestring));
    else
        cJSON_ArrayForEach(it, (cJSON_IsArray(input) ? input : NULL))
            cJSON_AddItemToArray(hist, jref(it));
    cJSON_ArrayForEach(it, llmp_json_get(f->answer, "output")) {
        const char *type = llmp_json_str(it, "type");
        if (type && (!strcmp(type, "message")
                     || !strcmp(type, "function_call")
                     || !strcmp(type, "custom_tool_call")
                     || !strcmp(type, "tool_search_call")
                     || !strcmp(type, "reasoning")))
            cJSON_AddItemToArray(hist, jref(it));
    }
    if (f->answer_text) {
        /* the answer as the client got it, and the history printed */
        apr_size_t hn;
        char *h = llmp_json_print(f->pool, hist, &hn);

        cJSON_Delete(rec);
        if (!h) return NULL;
        *len = 12 + f->answer_len + 11 + hn + 1;
        s = apr_palloc(f->pool, *len + 1);
        memcpy(s, "{\"response\":", 12);
        memcpy(s + 12, f->answer_text, f->answer_len);
        memcpy(s + 12 + f->answer_len, ",\"history\":", 11);
        memcpy(s + 23 + f->answer_len, h, hn);
        s[*len - 1] = '}';
        s[*len] = '\0';
        return s;
    }
    s = llmp_json_print(f->pool, rec, len);
    cJSON_Delete(rec);
    return s;
}
