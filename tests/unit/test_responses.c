/* Unit tests: the Responses API front (src/llmp_responses.c): requests to
 * the IR, IR answers to Response objects, IR chunk sequences to the
 * Responses event stream, previous_response_id (expand / record).
 * Fixtures in tests/fixtures/responses. With LLMP_RS_DUMP=<file>, every
 * answer, event and stripped IR request is appended to the file as
 * "<openapi schema name>\t<json>" lines (for a schema check with node). */
#include "llmp_test.h"
#include "llmp_front.h"
#include "llmp_responses.h"

#include <unistd.h>

/* Bytes of the process's resident memory (the pools' blocks may be
 * mappings of their own, which the heap's statistics do not count), or -1
 * when it cannot be told. */
static long heap_used(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return -1;                     /* ASan's redzones and shadow: no */
#else
    FILE *fp = fopen("/proc/self/statm", "r");
    long size, resident = -1;

    if (!fp) return -1;
    if (fscanf(fp, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(fp);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
#endif
}

/* ---- capture of events ---- */

typedef struct {
    apr_pool_t *pool;
    cJSON *events;             /* every event's data, parsed */
    char *types;               /* the event names, comma separated */
    int mismatched;            /* an event name that is not its "type" */
    int fail_at;               /* emit fails from this event on (0: never) */
} cap_t;

static void dump(const char *schema, const char *json, apr_size_t len)
{
    const char *path = getenv("LLMP_RS_DUMP");
    FILE *fp;

    if (!path || !*path) return;
    if (!(fp = fopen(path, "a"))) return;
    fprintf(fp, "%s\t%.*s\n", schema, (int)len, json);
    fclose(fp);
}

static apr_status_t cap_emit(void *baton, const char *event,
                             const char *data, apr_size_t len)
{
    cap_t *c = baton;
    cJSON *j;

    if (c->fail_at && cJSON_GetArraySize(c->events) + 1 >= c->fail_at)
        return APR_EGENERAL;
    j = cJSON_ParseWithLength(data, len);
    if (!j || !event || !at_str(j, "type") || strcmp(at_str(j, "type"), event))
        c->mismatched++;
    if (!j) j = cJSON_CreateNull();
    cJSON_AddItemToArray(c->events, j);
    c->types = apr_pstrcat(c->pool, c->types, *c->types ? "," : "",
                           event ? event : "(null)", NULL);
    dump("ResponseStreamEvent", data, len);
    return APR_SUCCESS;
}

static cap_t *cap_new(apr_pool_t *p)
{
    cap_t *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    c->events = cJSON_CreateArray();
    llmp_json_pool_own(p, c->events);
    c->types = "";
    return c;
}

static llmp_front_t *front(apr_pool_t *p, const cJSON *req, int stream,
                           cap_t *c)
{
    llmp_front_t *f = llmp_front_create(p, &llmp_front_responses, "model-x",
                                        1700000000, stream, req);
    f->id = "resp_test";
    if (c) {
        f->emit = cap_emit;
        f->emit_baton = c;
    }
    return f;
}

static cJSON *parse(apr_pool_t *p, const char *s)
{
    cJSON *j = llmp_json_parse_pool(p, s, strlen(s));
    if (!j) fprintf(stderr, "test JSON does not parse: %s\n", s);
    return j;
}

/* The IR of a request (NULL and *err on error). */
static cJSON *to_ir(apr_pool_t *p, const cJSON *req, llmp_front_t **fo,
                    llmp_error_t **err)
{
    llmp_front_t *f = front(p, req, 0, NULL);
    cJSON *ir = NULL;

    *err = f->ops->request(f, req, &ir);
    if (fo) *fo = f;
    if (!*err && ir) {
        apr_size_t len;
        cJSON *copy = cJSON_Duplicate(ir, 1);
        char *s;
        llmp_ir_strip(copy);
        s = llmp_json_print(p, copy, &len);
        if (s) dump("CreateChatCompletionRequest", s, len);
        cJSON_Delete(copy);
    }
    return *err ? NULL : ir;
}

/* The param of the error of a request, or "(ok)". */
static const char *err_param(apr_pool_t *p, const char *json)
{
    llmp_error_t *err;
    cJSON *req = parse(p, json);

    if (!req) return "(bad test)";
    if (!to_ir(p, req, NULL, &err)) {
        if (err->status != 400) return "(not 400)";
        return err->param ? err->param : "(null)";
    }
    return "(ok)";
}

static const char *err_message(apr_pool_t *p, const char *json)
{
    llmp_error_t *err;
    cJSON *req = parse(p, json);

    if (!req || to_ir(p, req, NULL, &err)) return "";
    return err->message;
}

/* The answer of response(), parsed. */
static cJSON *answer(apr_pool_t *p, llmp_front_t *f, const cJSON *completion)
{
    char *out = NULL;
    apr_size_t len = 0;
    llmp_error_t *err = f->ops->response(f, completion, &out, &len);

    CHECK(err == NULL);
    if (err || !out) return NULL;
    CHECK_INT(strlen(out), len);
    dump("Response", out, len);
    return llmp_json_parse_pool(p, out, len);
}

/* Feed the chunks (one JSON object a line) then end the stream with err. */
static void run_lines(apr_pool_t *p, llmp_front_t *f, const char *lines,
                      const llmp_error_t *end_err)
{
    const char *s = lines;
    llmp_error_t *err = NULL;

    while (*s && !err) {
        const char *nl = strchr(s, '\n');
        apr_size_t n = nl ? (apr_size_t)(nl - s) : strlen(s);
        if (n) {
            cJSON *chunk = llmp_json_parse_pool(p, s, n);
            CHECK(chunk != NULL);
            if (chunk) err = f->ops->stream_chunk(f, chunk);
        }
        s += n + (nl ? 1 : 0);
    }
    CHECK(err == NULL);
    CHECK(f->ops->stream_end(f, err ? err : end_err) == NULL);
}

/* Every event has sequence_number = its position, and its name = type. */
static void check_seq(cap_t *c)
{
    const cJSON *ev;
    int i = 0, ok = 1;

    cJSON_ArrayForEach(ev, c->events) {
        if (at_num(ev, "sequence_number") != i) ok = 0;
        i++;
    }
    CHECK(ok);
    CHECK_INT(c->mismatched, 0);
}

static const cJSON *event(cap_t *c, int i)
{
    return cJSON_GetArrayItem(c->events, i);
}

/* The first event of that type, from index from on. */
static const cJSON *find_event(cap_t *c, const char *type, int from)
{
    const cJSON *ev;
    int i = 0;

    cJSON_ArrayForEach(ev, c->events) {
        if (i++ >= from && at_str(ev, "type")
            && !strcmp(at_str(ev, "type"), type))
            return ev;
    }
    return NULL;
}

/* The concatenated "delta" of the events of that type. */
static const char *deltas(apr_pool_t *p, cap_t *c, const char *type)
{
    const cJSON *ev;
    const char *out = "";

    cJSON_ArrayForEach(ev, c->events) {
        if (at_str(ev, "type") && !strcmp(at_str(ev, "type"), type))
            out = apr_pstrcat(p, out, at_str(ev, "delta"), NULL);
    }
    return out;
}

static const char *custom_tools_req =
    "{\"model\":\"m\",\"input\":\"hi\",\"tools\":["
    "{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":"
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}},"
    "{\"type\":\"custom\",\"name\":\"apply_patch\",\"description\":\"Edit\"}"
    "]}";

/* ---- requests ---- */

static void t_request_string(apr_pool_t *p)
{
    llmp_error_t *err;
    cJSON *ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\"}"),
                      NULL, &err);

    CHECK(ir != NULL);
    if (!ir) return;
    CHECK_STR(at_str(ir, "model"), "m");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 1);
    CHECK_STR(at_str(ir, "messages.0.role"), "user");
    CHECK_STR(at_str(ir, "messages.0.content"), "Hi");
    CHECK(!at(ir, "tools"));
    CHECK(!at(ir, "stream"));
    CHECK(!at(ir, "store"));

    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true,"
                        "\"instructions\":\"Be nice\"}"), NULL, &err);
    CHECK(ir && cJSON_IsTrue(at(ir, "stream")));
    CHECK(ir && cJSON_IsTrue(at(ir, "stream_options.include_usage")));
    CHECK_STR(at_str(ir, "messages.0.role"), "system");
    CHECK_STR(at_str(ir, "messages.0.content"), "Be nice");
    CHECK_STR(at_str(ir, "messages.1.content"), "Hi");
}

static void t_request_items(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *ir = to_ir(p, llmp_fixture_json(p, "responses/request_items.json"),
                      &f, &err);

    CHECK(ir != NULL);
    if (!ir) {
        fprintf(stderr, "  %s (%s)\n", err->message, err->param);
        return;
    }
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 13);
    CHECK_STR(at_str(ir, "messages.0.role"), "system");
    CHECK_STR(at_str(ir, "messages.0.content"), "Be brief.");
    CHECK_STR(at_str(ir, "messages.1.role"), "system");
    CHECK_STR(at_str(ir, "messages.1.content"), "Use metric units.");
    CHECK_STR(at_str(ir, "messages.2.content"), "Line one.\nLine two.");
    /* user parts */
    CHECK_STR(at_str(ir, "messages.3.role"), "user");
    CHECK_STR(at_str(ir, "messages.3.content.0.type"), "text");
    CHECK_STR(at_str(ir, "messages.3.content.0.text"), "What is in these?");
    CHECK_STR(at_str(ir, "messages.3.content.1.type"), "image_url");
    CHECK_STR(at_str(ir, "messages.3.content.1.image_url.url"),
              "https://example.com/cat.png");
    CHECK_STR(at_str(ir, "messages.3.content.1.image_url.detail"), "low");
    CHECK_STR(at_str(ir, "messages.3.content.2.image_url.url"),
              "data:image/png;base64,iVBORw0KGgo=");
    CHECK_STR(at_str(ir, "messages.3.content.3.type"), "file");
    CHECK_STR(at_str(ir, "messages.3.content.3.file.filename"), "doc.pdf");
    CHECK_STR(at_str(ir, "messages.3.content.3.file.file_data"),
              "data:application/pdf;base64,JVBERi0xLjQ=");
    /* assistant text; then reasoning opens a new assistant turn */
    CHECK_STR(at_str(ir, "messages.4.role"), "assistant");
    CHECK_STR(at_str(ir, "messages.4.content"), "A cat and a PDF.");
    CHECK(!at(ir, "messages.4.tool_calls"));
    CHECK_STR(at_str(ir, "messages.5.role"), "assistant");
    CHECK(cJSON_IsNull(at(ir, "messages.5.content")));
    CHECK_STR(at_str(ir, "messages.5.reasoning_content"),
              "Need the weather.\n\nTwo cities.");
    CHECK_STR(at_str(ir, "messages.5.reasoning_signature"), "sig-abc");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages.5.tool_calls")), 2);
    CHECK_STR(at_str(ir, "messages.5.tool_calls.0.id"), "call_1");
    CHECK_STR(at_str(ir, "messages.5.tool_calls.0.type"), "function");
    CHECK_STR(at_str(ir, "messages.5.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(ir, "messages.5.tool_calls.0.function.arguments"),
              "{\"city\":\"Paris\"}");
    CHECK_STR(at_str(ir, "messages.5.tool_calls.1.id"), "call_2");
    /* web_search_call dropped; tool outputs */
    CHECK_STR(at_str(ir, "messages.6.role"), "tool");
    CHECK_STR(at_str(ir, "messages.6.tool_call_id"), "call_1");
    CHECK_STR(at_str(ir, "messages.6.content"), "18C");
    CHECK_STR(at_str(ir, "messages.7.tool_call_id"), "call_2");
    CHECK_STR(at_str(ir, "messages.7.content"), "3C");
    /* the output's image: a user message after the tool messages */
    CHECK_STR(at_str(ir, "messages.8.role"), "user");
    CHECK_STR(at_str(ir, "messages.8.content.0.image_url.url"),
              "https://example.com/oslo.png");
    /* item_reference dropped; custom call */
    CHECK_STR(at_str(ir, "messages.9.role"), "assistant");
    CHECK_STR(at_str(ir, "messages.9.tool_calls.0.id"), "call_3");
    CHECK_STR(at_str(ir, "messages.9.tool_calls.0.function.name"),
              "apply_patch");
    CHECK_STR(at_str(ir, "messages.9.tool_calls.0.function.arguments"),
              "{\"input\":\"*** Begin Patch\\n*** End Patch\\n\"}");
    CHECK_STR(at_str(ir, "messages.10.role"), "tool");
    CHECK_STR(at_str(ir, "messages.10.tool_call_id"), "call_3");
    CHECK_STR(at_str(ir, "messages.10.content"), "Done");
    CHECK_STR(at_str(ir, "messages.11.content"), "I can't do that.");
    CHECK_STR(at_str(ir, "messages.12.role"), "user");
    CHECK_STR(at_str(ir, "messages.12.content"), "Thanks");
    /* tools: hosted ones dropped, custom ones as functions */
    CHECK_INT(cJSON_GetArraySize(at(ir, "tools")), 3);
    CHECK_STR(at_str(ir, "tools.0.type"), "function");
    CHECK_STR(at_str(ir, "tools.0.function.name"), "get_weather");
    CHECK_STR(at_str(ir, "tools.0.function.description"),
              "Weather of a city");
    CHECK(cJSON_IsTrue(at(ir, "tools.0.function.strict")));
    CHECK_STR(at_str(ir, "tools.0.function.parameters.required.0"), "city");
    CHECK_STR(at_str(ir, "tools.1.function.name"), "apply_patch");
    CHECK_STR(at_str(ir, "tools.1.function.description"), "Edit files");
    CHECK_STR(at_str(ir, "tools.1.function.parameters.type"), "object");
    CHECK_STR(at_str(ir, "tools.1.function.parameters.properties.input.type"),
              "string");
    CHECK(strstr(at_str(ir, "tools.1.function.parameters.properties.input."
                        "description"), "lark grammar:\nstart:") != NULL);
    CHECK_STR(at_str(ir, "tools.1.function.parameters.required.0"), "input");
    CHECK_STR(at_str(ir, "tools.2.function.name"), "note");
    CHECK_STR(at_str(ir, "tool_choice.type"), "function");
    CHECK_STR(at_str(ir, "tool_choice.function.name"), "get_weather");
    CHECK(cJSON_IsTrue(at(ir, "parallel_tool_calls")));
    /* settings */
    CHECK(strstr(llmp_json_print(p, ir, NULL), "\"max_completion_tokens\":"
                 "512") != NULL);
    CHECK(at_num(ir, "temperature") == 0.5);
    CHECK(at_num(ir, "top_p") == 0.9);
    CHECK_STR(at_str(ir, "response_format.type"), "json_schema");
    CHECK_STR(at_str(ir, "response_format.json_schema.name"), "answer");
    CHECK_STR(at_str(ir, "response_format.json_schema.description"),
              "The answer");
    CHECK(cJSON_IsTrue(at(ir, "response_format.json_schema.strict")));
    CHECK_STR(at_str(ir, "response_format.json_schema.schema.required.0"),
              "a");
    CHECK_STR(at_str(ir, "verbosity"), "high");
    CHECK_STR(at_str(ir, "reasoning_effort"), "high");
    CHECK(!at(ir, "metadata"));      /* OpenAI refuses it without store */
    CHECK_STR(at_str(ir, "user"), "u-1");
    CHECK_STR(at_str(ir, "prompt_cache_key"), "pck");
    CHECK(!at(ir, "stream"));
    CHECK(!at(ir, "store"));
    CHECK(!at(ir, "include"));
    CHECK(!at(ir, "previous_response_id"));
    CHECK(!at(ir, "input"));
    CHECK(!at(ir, "instructions"));
    CHECK(!at(ir, "text"));
    CHECK(!at(ir, "truncation"));
}

static void t_request_settings(apr_pool_t *p)
{
    llmp_error_t *err;
    cJSON *ir;
    char *s;

    /* hosted tools only: no tools, no tool_choice, no parallel_tool_calls */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":["
                        "{\"type\":\"web_search\"},{\"type\":\"file_search\","
                        "\"vector_store_ids\":[\"vs\"]}],\"tool_choice\":"
                        "\"required\",\"parallel_tool_calls\":false}"),
               NULL, &err);
    CHECK(ir && !at(ir, "tools") && !at(ir, "tool_choice")
          && !at(ir, "parallel_tool_calls"));
    /* json_object, custom tool_choice, allowed_tools */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"x\",\"text\":"
                        "{\"format\":{\"type\":\"json_object\"}},\"tools\":"
                        "[{\"type\":\"custom\",\"name\":\"pad\"}],"
                        "\"tool_choice\":{\"type\":\"custom\",\"name\":"
                        "\"pad\"}}"), NULL, &err);
    CHECK_STR(at_str(ir, "response_format.type"), "json_object");
    CHECK_STR(at_str(ir, "tool_choice.function.name"), "pad");
    CHECK_STR(at_str(ir, "tools.0.function.parameters.properties.input."
                     "description"), "The tool's input as raw text (not "
              "JSON).");
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"x\",\"text\":"
                        "{\"format\":{\"type\":\"text\"}},\"tools\":"
                        "[{\"type\":\"function\",\"name\":\"f\"}],"
                        "\"tool_choice\":{\"type\":\"allowed_tools\","
                        "\"mode\":\"required\",\"tools\":[{\"type\":"
                        "\"function\",\"name\":\"f\"}]}}"), NULL, &err);
    CHECK(ir && !at(ir, "response_format"));
    CHECK_STR(at_str(ir, "tool_choice"), "required");
    CHECK_STR(at_str(ir, "tools.0.function.parameters.type"), "object");
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
                        "[{\"type\":\"function\",\"name\":\"f\"}],"
                        "\"tool_choice\":{\"type\":\"allowed_tools\","
                        "\"mode\":\"auto\",\"tools\":[]}}"), NULL, &err);
    CHECK_STR(at_str(ir, "tool_choice"), "auto");
    /* a namespace: its tools flattened, named <ns>__<name> */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"function_call\",\"call_id\":\"c1\",\"name\":"
                        "\"spawn\",\"namespace\":\"agents\",\"arguments\":"
                        "\"{}\"},{\"type\":\"function_call_output\","
                        "\"call_id\":\"c1\",\"output\":\"ok\"}],\"tools\":"
                        "[{\"type\":\"namespace\",\"name\":\"agents\","
                        "\"description\":\"Agents\",\"tools\":[{\"type\":"
                        "\"function\",\"name\":\"spawn\",\"parameters\":"
                        "{\"type\":\"object\",\"properties\":{}}}]}]}"),
               NULL, &err);
    CHECK_STR(at_str(ir, "tools.0.function.name"), "agents__spawn");
    CHECK_STR(at_str(ir, "messages.0.tool_calls.0.function.name"),
              "agents__spawn");
    /* a function_call with object arguments is refused, null ones are {} */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"function_call\",\"call_id\":\"c1\",\"name\":"
                        "\"f\"}]}"), NULL, &err);
    CHECK_STR(at_str(ir, "messages.0.tool_calls.0.function.arguments"), "{}");
    /* messages that merge: assistant text then calls */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":\"go\"},{\"role\":\"assistant\","
                        "\"content\":\"Calling.\"},{\"type\":"
                        "\"function_call\",\"call_id\":\"a\",\"name\":\"f\","
                        "\"arguments\":\"{}\"},{\"type\":\"function_call\","
                        "\"call_id\":\"b\",\"name\":\"f\",\"arguments\":"
                        "\"{}\"},{\"type\":\"function_call_output\","
                        "\"call_id\":\"b\",\"output\":\"2\"},{\"type\":"
                        "\"function_call_output\",\"call_id\":\"a\","
                        "\"output\":\"1\"}]}"), NULL, &err);
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 4);
    CHECK_STR(at_str(ir, "messages.1.content"), "Calling.");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages.1.tool_calls")), 2);
    CHECK_STR(at_str(ir, "messages.2.tool_call_id"), "b");
    /* text after the calls joins them (the tool messages must follow the
     * calls); reasoning before a user message is no assistant's */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"reasoning\",\"summary\":[{\"type\":"
                        "\"summary_text\",\"text\":\"lost\"}]},{\"role\":"
                        "\"user\",\"content\":\"go\"},{\"type\":"
                        "\"function_call\",\"call_id\":\"a\",\"name\":"
                        "\"f\",\"arguments\":\"{}\"},{\"role\":"
                        "\"assistant\",\"content\":[{\"type\":"
                        "\"output_text\",\"text\":\"Calling f.\"}]},"
                        "{\"type\":\"function_call_output\",\"call_id\":"
                        "\"a\",\"output\":\"1\"}]}"), NULL, &err);
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 3);
    CHECK_STR(at_str(ir, "messages.1.content"), "Calling f.");
    CHECK(!at(ir, "messages.1.reasoning_content"));
    CHECK_STR(at_str(ir, "messages.1.tool_calls.0.id"), "a");
    CHECK_STR(at_str(ir, "messages.2.role"), "tool");
    /* "store" is a boolean (or null), as OpenAI has it */
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"store\":\"no\"}"), "store");
    CHECK(strstr(err_message(p, "{\"model\":\"m\",\"input\":\"x\","
                             "\"store\":0}"), "expected a boolean"));
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"store\":null}"), "(ok)");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"store\":false}"), "(ok)");
    /* reasoning before a user message is forgotten, text and all: a later
     * reasoning item with only a signature does not get its text, and one
     * without encrypted_content keeps no earlier signature */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"reasoning\",\"summary\":[{\"type\":"
                        "\"summary_text\",\"text\":\"OLD\"}],"
                        "\"encrypted_content\":\"SIG1\"},{\"role\":"
                        "\"user\",\"content\":\"one\"},{\"type\":"
                        "\"reasoning\",\"summary\":[],"
                        "\"encrypted_content\":\"SIG2\"},{\"role\":"
                        "\"assistant\",\"content\":\"answer 2\"},"
                        "{\"type\":\"reasoning\",\"summary\":[{\"type\":"
                        "\"summary_text\",\"text\":\"x\"}],"
                        "\"encrypted_content\":\"SIG3\"},{\"type\":"
                        "\"reasoning\",\"summary\":[{\"type\":"
                        "\"summary_text\",\"text\":\"y\"}]},{\"role\":"
                        "\"assistant\",\"content\":\"answer 3\"},"
                        "{\"role\":\"user\",\"content\":\"two\"}]}"),
               NULL, &err);
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 4);
    CHECK_STR(at_str(ir, "messages.1.content"), "answer 2");
    CHECK_STR(at_str(ir, "messages.1.reasoning_content"), "");
    CHECK_STR(at_str(ir, "messages.1.reasoning_signature"), "SIG2");
    CHECK(!strstr(at_str(ir, "messages.1.reasoning_content") ? at_str(ir,
          "messages.1.reasoning_content") : "", "OLD"));
    CHECK_STR(at_str(ir, "messages.2.content"), "answer 3");
    CHECK_STR(at_str(ir, "messages.2.reasoning_content"), "x\n\ny");
    CHECK(!at(ir, "messages.2.reasoning_signature"));
    /* max_output_tokens is an integer in the IR */
    ir = to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"max_output_tokens\":100}"), NULL, &err);
    s = ir ? llmp_json_print(p, ir, NULL) : NULL;
    CHECK(s && strstr(s, "\"max_completion_tokens\":100") != NULL);
    CHECK(llmp_req_max_tokens(ir) == 100);      /* what back translators read */
    {
        static const llmp_xlate_opts_t opts = { 4096, NULL, NULL };
        llmp_xlate_t x;
        llmp_native_req_t out;
        memset(&x, 0, sizeof(x));
        memset(&out, 0, sizeof(out));
        x.pool = p;
        x.model_id = "model-x";
        x.handle = "/anthropic/v1/messages";
        x.opts = &opts;
        CHECK(llmp_anthropic_ops.chat_request(&x, ir, &out) == NULL);
        CHECK(out.body && strstr(out.body, "\"max_tokens\":100") != NULL);
    }
}

static void t_request_errors(apr_pool_t *p)
{
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":42}"), "input");
    CHECK_STR(err_param(p, "{\"model\":\"m\"}"), "input");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[]}"), "input");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[\"x\"]}"),
              "input[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":\"a\"},{\"content\":\"b\"}]}"),
              "input[1]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"message\",\"role\":\"robot\",\"content\":\"x\"}]}"),
              "input[0].role");
    CHECK(strstr(err_message(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                             "\"message\",\"role\":\"robot\",\"content\":"
                             "\"x\"}]}"), "robot") != NULL);
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":5}]}"), "input[0].content");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":7}]}"),
              "input[0].type");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":\"a\"},{\"type\":\"frobnicate\"}]}"),
              "input[1].type");
    /* an output without its call */
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":\"a\"},{\"type\":\"function_call\","
                        "\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":"
                        "\"{}\"},{\"type\":\"function_call_output\","
                        "\"call_id\":\"c1\",\"output\":\"ok\"},{\"type\":"
                        "\"function_call_output\",\"call_id\":\"nope\","
                        "\"output\":\"x\"}]}"), "input[3]");
    CHECK(strstr(err_message(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                             "\"function_call_output\",\"call_id\":"
                             "\"nope\",\"output\":\"x\"}]}"), "nope")
          != NULL);
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"custom_tool_call_output\",\"call_id\":\"c9\","
                        "\"output\":\"x\"}]}"), "input[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"function_call\",\"name\":\"f\",\"arguments\":"
                        "\"{}\"}]}"), "input[0].call_id");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"function_call\",\"call_id\":\"c\",\"name\":\"f\","
                        "\"arguments\":{\"a\":1}}]}"),
              "input[0].arguments");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"custom_tool_call\",\"call_id\":\"c\",\"name\":"
                        "\"f\"}]}"), "input[0].input");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"function_call\",\"call_id\":\"c\",\"name\":\"f\","
                        "\"arguments\":\"{}\"},{\"type\":"
                        "\"function_call_output\",\"call_id\":\"c\","
                        "\"output\":5}]}"), "input[1].output");
    /* parts */
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":[{\"type\":\"input_image\",\"file_id\":"
                        "\"file-1\"}]}]}"), "input[0].content[0]");
    CHECK(strstr(err_message(p, "{\"model\":\"m\",\"input\":[{\"role\":"
                             "\"user\",\"content\":[{\"type\":"
                             "\"input_image\",\"file_id\":\"file-1\"}]}]}"),
                 "file_id") != NULL);
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":[{\"type\":\"input_text\",\"text\":"
                        "\"a\"},{\"type\":\"input_file\",\"file_url\":"
                        "\"https://x/y.pdf\"}]}]}"), "input[0].content[1]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":[{\"type\":\"input_text\"}]}]}"),
              "input[0].content[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":\"user\","
                        "\"content\":[{\"type\":\"input_audio\"}]}]}"),
              "input[0].content[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"role\":"
                        "\"system\",\"content\":[{\"type\":\"input_image\","
                        "\"image_url\":\"https://x/y.png\"}]}]}"),
              "input[0].content[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"reasoning\",\"summary\":\"x\"}]}"),
              "input[0].summary");
    /* settings */
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
                        "[{\"type\":\"function\",\"name\":\"f\"}],"
                        "\"tool_choice\":\"sometimes\"}"), "tool_choice");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
                        "{}}"), "tools");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
                        "[{\"type\":\"function\"}]}"), "tools[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
                        "[{\"name\":\"f\"}]}"), "tools[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"tools\":"
                        "[{\"type\":\"function\",\"name\":\"f\","
                        "\"parameters\":[]}]}"), "tools[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"text\":"
                        "{\"format\":{\"type\":\"xml\"}}}"), "text.format");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"text\":"
                        "{\"format\":{\"type\":\"json_schema\",\"name\":"
                        "\"n\"}}}"), "text.format");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"max_output_tokens\":-5}"), "max_output_tokens");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"max_output_tokens\":1.5}"), "max_output_tokens");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"temperature\":\"hot\"}"), "temperature");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"top_p\":3}"), "top_p");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"instructions\":5}"), "instructions");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"metadata\":[]}"), "metadata");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"stream\":\"yes\"}"), "stream");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"user\":5}"), "user");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"conversation\":\"conv_1\"}"), "conversation");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"prompt\":{\"id\":\"pmpt_1\"}}"), "prompt");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\","
                        "\"conversation\":null,\"prompt\":null,"
                        "\"background\":false}"), "(ok)");
    /* unknown fields and hosted tools are no errors */
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":\"x\",\"frob\":1,"
                        "\"tools\":[{\"type\":\"mcp\"},{\"type\":"
                        "\"image_generation\"}],\"tool_choice\":{\"type\":"
                        "\"web_search_preview\"}}"), "(ok)");
}

/* The IR of a request goes through every back translator. */
static void check_backs(apr_pool_t *p, const cJSON *ir, const char *label)
{
    static const llmp_xlate_opts_t opts = { 4096, "search_document", NULL };
    static const struct { const llmp_provider_ops_t *ops; const char *h; }
    backs[] = {
        { &llmp_anthropic_ops, "/anthropic/v1/messages" },
        { &llmp_gemini_ops, "/google/v1beta/models/model-x:generateContent" },
        { &llmp_cohere_ops, "/cohere/v2/chat" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(backs) / sizeof(backs[0]); i++) {
        llmp_xlate_t x;
        llmp_native_req_t out;
        llmp_error_t *err;

        memset(&x, 0, sizeof(x));
        memset(&out, 0, sizeof(out));
        x.pool = p;
        x.model_id = "model-x";
        x.handle = backs[i].h;
        x.id = "chatcmpl-t";
        x.created = 1700000000;
        x.stream = cJSON_IsTrue(at(ir, "stream"));
        x.include_usage = x.stream;
        x.opts = &opts;
        err = backs[i].ops->chat_request(&x, ir, &out);
        if (err)
            fprintf(stderr, "  %s -> %s: %s (%s)\n", label,
                    backs[i].ops->name, err->message,
                    err->param ? err->param : "-");
        CHECK(err == NULL);
        CHECK(err || (out.body && out.len > 0));
    }
}

static void t_request_codex(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *ir = to_ir(p, llmp_fixture_json(p, "responses/codex_cli_request."
                                           "json"), &f, &err);
    const cJSON *m, *t;
    int n = 0, ns = 0;

    CHECK(ir != NULL);
    if (!ir) {
        fprintf(stderr, "  %s (%s)\n", err->message, err->param);
        return;
    }
    CHECK_STR(at_str(ir, "model"), "gpt-5-codex");
    CHECK(cJSON_IsTrue(at(ir, "stream")));
    CHECK(cJSON_IsTrue(at(ir, "stream_options.include_usage")));
    CHECK(cJSON_IsFalse(at(ir, "parallel_tool_calls")));
    CHECK_STR(at_str(ir, "tool_choice"), "auto");
    CHECK_STR(at_str(ir, "reasoning_effort"), "medium");
    CHECK_STR(at_str(ir, "verbosity"), "low");
    CHECK_STR(at_str(ir, "prompt_cache_key"),
              "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    CHECK(!at(ir, "store") && !at(ir, "include"));
    /* tools: 5 functions, apply_patch, the namespace's functions; no
     * web_search */
    cJSON_ArrayForEach(t, at(ir, "tools")) {
        const char *name = at_str(t, "function.name");
        n++;
        CHECK_STR(at_str(t, "type"), "function");
        if (name && !strncmp(name, "multi_agent_v1__", 16)) ns++;
    }
    CHECK(ns >= 1);
    CHECK_INT(n, 6 + ns);
    CHECK_STR(at_str(ir, "tools.5.function.name"), "apply_patch");
    /* messages */
    CHECK_STR(at_str(ir, "messages.0.role"), "system");
    CHECK(strncmp(at_str(ir, "messages.0.content"), "You are Codex", 13)
          == 0);
    CHECK_STR(at_str(ir, "messages.1.role"), "system");   /* developer */
    CHECK_STR(at_str(ir, "messages.2.role"), "user");
    CHECK_STR(at_str(ir, "messages.3.content.0.text"),
              "Fix the typo in README.md");
    m = at(ir, "messages.4");
    CHECK_STR(at_str(m, "role"), "assistant");
    CHECK(cJSON_IsNull(at(m, "content")));
    CHECK_STR(at_str(m, "reasoning_content"),
              "**Looking at README.md**\n\nI should read the file first.");
    CHECK_STR(at_str(m, "reasoning_signature"), "gAAAAABo-sig-0001");
    CHECK_STR(at_str(m, "tool_calls.0.id"), "call_read1");
    CHECK_STR(at_str(m, "tool_calls.0.function.name"), "exec_command");
    CHECK_STR(at_str(ir, "messages.5.role"), "tool");
    CHECK_STR(at_str(ir, "messages.5.tool_call_id"), "call_read1");
    m = at(ir, "messages.6");
    CHECK_STR(at_str(m, "reasoning_content"), "");
    CHECK_STR(at_str(m, "reasoning_signature"), "gAAAAABo-sig-0002");
    CHECK_STR(at_str(m, "tool_calls.0.function.name"), "apply_patch");
    CHECK_STR(at_str(m, "tool_calls.0.function.arguments"),
              "{\"input\":\"*** Begin Patch\\n*** Update File: README.md\\n"
              "@@\\n-# Projetc\\n+# Project\\n*** End Patch\\n\"}");
    CHECK_STR(at_str(ir, "messages.7.tool_call_id"), "call_patch1");
    CHECK_STR(at_str(ir, "messages.8.content"),
              "Fixed the typo in README.md.");
    CHECK_STR(at_str(ir, "messages.9.role"), "user");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 10);
    check_backs(p, ir, "codex_cli_request");
}

static void t_request_captured(apr_pool_t *p)
{
    static const char *const files[] = {
        "responses/codex_capture_request.json",
        "responses/codex_capture_tool_output.json",
        "responses/codex_capture_gpt55.json" };
    int i;

    for (i = 0; i < 3; i++) {
        llmp_error_t *err;
        cJSON *req = llmp_fixture_json(p, files[i]), *ir;
        const cJSON *t;
        int web = 0;

        CHECK(req != NULL);
        ir = to_ir(p, req, NULL, &err);
        CHECK(ir != NULL);
        if (!ir) {
            fprintf(stderr, "  %s: %s (%s)\n", files[i], err->message,
                    err->param ? err->param : "-");
            continue;
        }
        cJSON_ArrayForEach(t, at(ir, "tools")) {
            if (!at_str(t, "function.name")) web++;
        }
        CHECK_INT(web, 0);
        CHECK(cJSON_GetArraySize(at(ir, "tools")) >= 8);
        CHECK(cJSON_IsTrue(at(ir, "stream")));
        CHECK_STR(at_str(ir, "messages.0.role"), "system");
        if (i == 1) {
            const cJSON *ms = at(ir, "messages"), *last = ms->child;
            while (last && last->next) last = last->next;
            CHECK_STR(at_str(last, "role"), "tool");
            CHECK_STR(at_str(last, "tool_call_id"), "call_capture1");
            CHECK(strstr(at_str(last, "content"), "llmp-capture-42") != NULL);
        }
        if (i == 2) {
            /* apply_patch (custom) and tool_search (the client runs it)
             * offered as functions; web_search dropped */
            int patch = 0, search = 0;
            cJSON_ArrayForEach(t, at(ir, "tools")) {
                const char *name = at_str(t, "function.name");
                if (name && !strcmp(name, "apply_patch")) {
                    patch++;
                    CHECK(strstr(at_str(t, "function.parameters.properties."
                                        "input.description"),
                                 "lark grammar:\nstart: begin_patch")
                          != NULL);
                }
                if (name && !strcmp(name, "tool_search")) {
                    search++;
                    CHECK_STR(at_str(t, "function.parameters.required.0"),
                              "query");
                }
            }
            CHECK_INT(patch, 1);
            CHECK_INT(search, 1);
            CHECK_INT(cJSON_GetArraySize(at(ir, "tools")), 9);
            CHECK_STR(at_str(ir, "reasoning_effort"), "medium");
            CHECK_STR(at_str(ir, "verbosity"), "low");
        }
        check_backs(p, ir, files[i]);
    }
}

/* tool_search run by the client (Codex): offered as a function, its
 * calls and outputs round trip, the tools it found are offered. */
static void t_tool_search(apr_pool_t *p)
{
    static const char *req_json =
        "{\"model\":\"m\",\"tools\":[{\"type\":\"tool_search\","
        "\"execution\":\"client\",\"description\":\"Find tools\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"query\":"
        "{\"type\":\"string\"}},\"required\":[\"query\"]}},{\"type\":"
        "\"tool_search\"},{\"type\":\"web_search\"}],\"input\":["
        "{\"role\":\"user\",\"content\":\"book it\"},"
        "{\"type\":\"tool_search_call\",\"id\":\"tsc_1\",\"call_id\":"
        "\"ts1\",\"execution\":\"client\",\"arguments\":{\"query\":"
        "\"calendar\"},\"status\":\"completed\"},"
        "{\"type\":\"tool_search_output\",\"call_id\":\"ts1\","
        "\"execution\":\"client\",\"status\":\"completed\",\"tools\":["
        "{\"type\":\"function\",\"name\":\"create_event\","
        "\"description\":\"New event\",\"parameters\":{\"type\":"
        "\"object\",\"properties\":{}},\"strict\":false},"
        "{\"type\":\"namespace\",\"name\":\"cal\",\"description\":"
        "\"Calendar\",\"tools\":[{\"type\":\"function\",\"name\":"
        "\"list\"}]}]},"
        "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":"
        "\"list\",\"namespace\":\"cal\",\"arguments\":\"{}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"c1\","
        "\"output\":\"[]\"},"
        "{\"type\":\"tool_search_call\",\"id\":\"tsc_2\",\"execution\":"
        "\"server\",\"arguments\":{},\"status\":\"completed\"}]}";
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *ir, *r;
    cap_t *c = cap_new(p);
    const cJSON *ev;

    ir = to_ir(p, parse(p, req_json), &f, &err);
    CHECK(ir != NULL);
    if (!ir) {
        fprintf(stderr, "  %s (%s)\n", err->message, err->param);
        return;
    }
    CHECK_INT(cJSON_GetArraySize(at(ir, "tools")), 3);
    CHECK_STR(at_str(ir, "tools.0.function.name"), "tool_search");
    CHECK_STR(at_str(ir, "tools.0.function.description"), "Find tools");
    CHECK_STR(at_str(ir, "tools.1.function.name"), "create_event");
    CHECK_STR(at_str(ir, "tools.2.function.name"), "cal__list");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 5);
    CHECK_STR(at_str(ir, "messages.1.tool_calls.0.id"), "ts1");
    CHECK_STR(at_str(ir, "messages.1.tool_calls.0.function.name"),
              "tool_search");
    CHECK_STR(at_str(ir, "messages.1.tool_calls.0.function.arguments"),
              "{\"query\":\"calendar\"}");
    CHECK_STR(at_str(ir, "messages.2.role"), "tool");
    CHECK_STR(at_str(ir, "messages.2.tool_call_id"), "ts1");
    CHECK_STR(at_str(ir, "messages.2.content"),
              "Tools found: create_event, cal");
    CHECK_STR(at_str(ir, "messages.3.tool_calls.0.function.name"),
              "cal__list");
    check_backs(p, ir, "tool_search");

    /* the model searches again: a tool_search_call item */
    r = answer(p, f, parse(p, "{\"choices\":[{\"index\":0,\"message\":"
                           "{\"role\":\"assistant\",\"content\":null,"
                           "\"tool_calls\":[{\"id\":\"ts2\",\"type\":"
                           "\"function\",\"function\":{\"name\":"
                           "\"tool_search\",\"arguments\":\"{\\\"query\\\""
                           ":\\\"mail\\\"}\"}},{\"id\":\"c2\",\"type\":"
                           "\"function\",\"function\":{\"name\":"
                           "\"cal__list\",\"arguments\":\"{}\"}}]},"
                           "\"finish_reason\":\"tool_calls\"}]}"));
    CHECK_STR(at_str(r, "output.0.type"), "tool_search_call");
    CHECK(!strncmp(at_str(r, "output.0.id"), "tsc_", 4));
    CHECK_STR(at_str(r, "output.0.call_id"), "ts2");
    CHECK_STR(at_str(r, "output.0.execution"), "client");
    CHECK_STR(at_str(r, "output.0.arguments.query"), "mail");
    CHECK_STR(at_str(r, "output.0.status"), "completed");
    CHECK_STR(at_str(r, "output.1.type"), "function_call");
    CHECK_STR(at_str(r, "output.1.name"), "list");
    CHECK_STR(at_str(r, "output.1.namespace"), "cal");

    /* streamed: added then done, no delta events */
    to_ir(p, parse(p, req_json), &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f,
              "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
              "\"index\":0,\"id\":\"ts3\",\"function\":{\"name\":"
              "\"tool_search\",\"arguments\":\"{\\\"query\"}}]}}]}\n"
              "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
              "\"index\":0,\"function\":{\"arguments\":\"\\\":\\\"x\\\"}"
              "\"}}]},\"finish_reason\":\"tool_calls\"}]}\n", NULL);
    CHECK_STR(c->types, "response.created,response.in_progress,"
              "response.output_item.added,response.output_item.done,"
              "response.completed");
    check_seq(c);
    ev = event(c, 2);
    CHECK_STR(at_str(ev, "item.type"), "tool_search_call");
    CHECK_STR(at_str(ev, "item.status"), "in_progress");
    CHECK(cJSON_IsObject(at(ev, "item.arguments")));
    CHECK_STR(at_str(event(c, 3), "item.arguments.query"), "x");
    CHECK_STR(at_str(event(c, 3), "item.call_id"), "ts3");
    {
        apr_size_t len;
        char *s = llmp_responses_record(f, &len);
        cJSON *rec = s ? llmp_json_parse_pool(p, s, len) : NULL;
        const cJSON *h = at(rec, "history"), *last = h ? h->child : NULL;
        while (last && last->next) last = last->next;
        CHECK_STR(at_str(last, "type"), "tool_search_call");
        CHECK_STR(at_str(last, "arguments.query"), "x");
    }
    /* an output without its call */
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"tool_search_output\",\"call_id\":\"zz\","
                        "\"tools\":[]}]}"), "input[0]");
    CHECK_STR(err_param(p, "{\"model\":\"m\",\"input\":[{\"type\":"
                        "\"tool_search_call\",\"call_id\":\"t\","
                        "\"arguments\":{}},{\"type\":"
                        "\"tool_search_output\",\"call_id\":\"t\","
                        "\"tools\":[{\"type\":\"function\"}]}]}"),
              "input[1].tools[0]");
}

/* ---- answers ---- */

/* The echoed temperature and top_p print as the writer prints the
 * request's numbers (the front writes short decimals itself). */
static void t_answer_echo_numbers(apr_pool_t *p)
{
    static const char *const nums[] = {
        "0.2", "0.7", "1", "0", "1.15", "0.123456", "0.1234567", "1.999999",
        "0.0015", "0.001", "0.0001", "2e-7", "1.0000001", "0.30000000000000004",
        "1e-3", "0.5", "1.5e0", "0.333333333333333314829616256247"
    };
    apr_size_t i;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        llmp_error_t *err;
        llmp_front_t *f;
        char *out = NULL, *want;
        apr_size_t len = 0;
        int with_top_p = strtod(nums[i], NULL) <= 1;
        cJSON *req = parse(p, apr_psprintf(p, "{\"model\":\"m\",\"input\":"
                                           "\"Hi\",\"temperature\":%s%s%s}",
                                           nums[i], with_top_p
                                           ? ",\"top_p\":" : "",
                                           with_top_p ? nums[i] : ""));
        cJSON *n = cJSON_CreateNumber(at_num(req, "temperature"));
        const char *text = llmp_json_print(p, n, NULL);

        cJSON_Delete(n);
        CHECK(to_ir(p, req, &f, &err) != NULL);
        if (!f || err) continue;
        err = f->ops->response(f, llmp_fixture_json(p, "responses/"
                                                    "ir_completion_text.json"),
                               &out, &len);
        CHECK(err == NULL);
        if (err || !out) continue;
        want = apr_psprintf(p, "\"temperature\":%s,", text);
        if (!strstr(out, want)) {
            fprintf(stderr, "temperature %s: %s not in %s\n", nums[i], want,
                    out);
            CHECK(0);
        }
        want = apr_psprintf(p, "\"top_p\":%s,", with_top_p ? text : "1");
        CHECK(strstr(out, want) != NULL);
    }
}


static void t_answer_text(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *req = parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"instructions\":"
                       "\"Be nice\",\"temperature\":0.3,\"max_output_tokens\":"
                       "64,\"metadata\":{\"a\":\"b\"},\"store\":false,"
                       "\"user\":\"u\",\"previous_response_id\":\"resp_0\"}");
    cJSON *r;

    CHECK(to_ir(p, req, &f, &err) != NULL);
    r = answer(p, f, llmp_fixture_json(p, "responses/"
                                       "ir_completion_text.json"));
    CHECK(r != NULL);
    if (!r) return;
    CHECK_STR(at_str(r, "id"), "resp_test");
    CHECK_STR(at_str(r, "object"), "response");
    CHECK(at_num(r, "created_at") == 1700000000);
    CHECK_STR(at_str(r, "status"), "completed");
    CHECK(at_num(r, "completed_at") >= 1700000000);
    CHECK_STR(at_str(r, "model"), "model-x");
    CHECK(cJSON_IsNull(at(r, "error")));
    CHECK(cJSON_IsNull(at(r, "incomplete_details")));
    CHECK_INT(cJSON_GetArraySize(at(r, "output")), 1);
    CHECK_STR(at_str(r, "output.0.type"), "message");
    CHECK(!strncmp(at_str(r, "output.0.id"), "msg_", 4));
    CHECK_STR(at_str(r, "output.0.role"), "assistant");
    CHECK_STR(at_str(r, "output.0.status"), "completed");
    CHECK_STR(at_str(r, "output.0.content.0.type"), "output_text");
    CHECK_STR(at_str(r, "output.0.content.0.text"), "Hello there.");
    CHECK(cJSON_IsArray(at(r, "output.0.content.0.annotations")));
    CHECK(at_num(r, "usage.input_tokens") == 12);
    CHECK(at_num(r, "usage.input_tokens_details.cached_tokens") == 4);
    CHECK(at_num(r, "usage.output_tokens") == 3);
    CHECK(at_num(r, "usage.output_tokens_details.reasoning_tokens") == 0);
    CHECK(at_num(r, "usage.total_tokens") == 15);
    /* echoed settings */
    CHECK_STR(at_str(r, "instructions"), "Be nice");
    CHECK(at_num(r, "temperature") == 0.3);
    CHECK(at_num(r, "top_p") == 1);
    CHECK(at_num(r, "max_output_tokens") == 64);
    CHECK_STR(at_str(r, "metadata.a"), "b");
    CHECK(cJSON_IsFalse(at(r, "store")));
    CHECK_STR(at_str(r, "user"), "u");
    CHECK_STR(at_str(r, "previous_response_id"), "resp_0");
    CHECK_STR(at_str(r, "tool_choice"), "auto");
    CHECK(cJSON_IsArray(at(r, "tools")));
    CHECK(cJSON_IsTrue(at(r, "parallel_tool_calls")));
    CHECK_STR(at_str(r, "text.format.type"), "text");
    CHECK(cJSON_IsNull(at(r, "reasoning")));
    /* the answer is kept for the store */
    CHECK(f->answer != NULL);
    CHECK_STR(at_str(f->answer, "output.0.content.0.text"), "Hello there.");
}

static void t_answer_tools(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *r;

    CHECK(to_ir(p, parse(p, custom_tools_req), &f, &err) != NULL);
    r = answer(p, f, llmp_fixture_json(p, "responses/"
                                       "ir_completion_tools.json"));
    CHECK(r != NULL);
    if (!r) return;
    CHECK_STR(at_str(r, "status"), "completed");
    CHECK_INT(cJSON_GetArraySize(at(r, "output")), 4);
    CHECK_STR(at_str(r, "output.0.type"), "reasoning");
    CHECK(!strncmp(at_str(r, "output.0.id"), "rs_", 3));
    CHECK_STR(at_str(r, "output.0.summary.0.type"), "summary_text");
    CHECK_STR(at_str(r, "output.0.summary.0.text"),
              "The user wants weather and a patch.");
    CHECK_STR(at_str(r, "output.0.encrypted_content"), "sig-xyz");
    CHECK_STR(at_str(r, "output.1.type"), "message");
    CHECK_STR(at_str(r, "output.1.content.0.text"), "Let me check.");
    CHECK_STR(at_str(r, "output.2.type"), "function_call");
    CHECK(!strncmp(at_str(r, "output.2.id"), "fc_", 3));
    CHECK_STR(at_str(r, "output.2.call_id"), "call_a");
    CHECK_STR(at_str(r, "output.2.name"), "get_weather");
    CHECK_STR(at_str(r, "output.2.arguments"), "{\"city\":\"Paris\"}");
    CHECK_STR(at_str(r, "output.2.status"), "completed");
    CHECK_STR(at_str(r, "output.3.type"), "custom_tool_call");
    CHECK(!strncmp(at_str(r, "output.3.id"), "ctc_", 4));
    CHECK_STR(at_str(r, "output.3.call_id"), "call_b");
    CHECK_STR(at_str(r, "output.3.name"), "apply_patch");
    CHECK_STR(at_str(r, "output.3.input"),
              "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n");
    CHECK(at_num(r, "usage.output_tokens_details.reasoning_tokens") == 20);
    CHECK(at_num(r, "usage.total_tokens") == 150);
    /* tools echoed as the client sent them (+ the nullable defaults) */
    CHECK_STR(at_str(r, "tools.0.name"), "get_weather");
    CHECK(cJSON_IsNull(at(r, "tools.0.strict")));
    CHECK_STR(at_str(r, "tools.1.type"), "custom");
    CHECK(!at(r, "tools.1.parameters"));

    /* the same answer for a request without that custom tool: a function
     * call */
    CHECK(to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"hi\"}"), &f, &err)
          != NULL);
    r = answer(p, f, llmp_fixture_json(p, "responses/"
                                       "ir_completion_tools.json"));
    CHECK_STR(at_str(r, "output.3.type"), "function_call");
    CHECK_STR(at_str(r, "output.3.name"), "apply_patch");
}

static void t_answer_incomplete(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *r, *c;

    CHECK(to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\"}"), &f, &err)
          != NULL);
    r = answer(p, f, llmp_fixture_json(p, "responses/"
                                       "ir_completion_length.json"));
    CHECK_STR(at_str(r, "status"), "incomplete");
    CHECK_STR(at_str(r, "incomplete_details.reason"), "max_output_tokens");
    CHECK_STR(at_str(r, "output.0.status"), "incomplete");
    CHECK(cJSON_IsNull(at(r, "completed_at")));
    CHECK(at_num(r, "usage.output_tokens") == 16);

    c = parse(p, "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
              "\"assistant\",\"content\":null,\"refusal\":\"No.\"},"
              "\"finish_reason\":\"content_filter\"}]}");
    CHECK(to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\"}"), &f, &err)
          != NULL);
    r = answer(p, f, c);
    CHECK_STR(at_str(r, "status"), "incomplete");
    CHECK_STR(at_str(r, "incomplete_details.reason"), "content_filter");
    CHECK_STR(at_str(r, "output.0.content.0.text"), "No.");
    CHECK(!at(r, "usage"));

    /* an answer that is not one */
    {
        char *out;
        apr_size_t len;
        CHECK(f->ops->response(f, parse(p, "{\"choices\":[]}"), &out, &len)
              != NULL);
    }
}

/* IR numbers as llmp_json_add_int writes them (raw text). */
static void t_answer_raw_numbers(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *c = llmp_completion_new("chatcmpl-r", 1700000000, "model-x"), *m,
          *r;

    llmp_json_pool_own(p, c);
    m = llmp_completion_add_choice(c, 0, "ok", "stop");
    (void)m;
    cJSON_AddItemToObject(c, "usage", llmp_usage_new(30, 7, 10));
    CHECK(to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\"}"), &f, &err)
          != NULL);
    r = answer(p, f, c);
    CHECK(at_num(r, "usage.input_tokens") == 30);
    CHECK(at_num(r, "usage.input_tokens_details.cached_tokens") == 10);
    CHECK(at_num(r, "usage.output_tokens") == 7);
    CHECK(at_num(r, "usage.total_tokens") == 37);
}

/* ---- streams ---- */

static const char *const TEXT_SEQ =
    "response.created,response.in_progress,"
    "response.output_item.added,response.content_part.added,"
    "response.output_text.delta,response.output_text.delta,"
    "response.output_text.delta,response.output_text.done,"
    "response.content_part.done,response.output_item.done,"
    "response.completed";

static void t_stream_text(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *ev, *r;

    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, llmp_fixture(p, "responses/ir_stream_text.jsonl", NULL),
              NULL);
    CHECK_STR(c->types, TEXT_SEQ);
    check_seq(c);
    ev = event(c, 0);
    CHECK_STR(at_str(ev, "response.id"), "resp_test");
    CHECK_STR(at_str(ev, "response.status"), "in_progress");
    CHECK_INT(cJSON_GetArraySize(at(ev, "response.output")), 0);
    CHECK(!at(ev, "response.usage"));
    CHECK_STR(at_str(event(c, 1), "response.status"), "in_progress");
    ev = event(c, 2);
    CHECK(at_num(ev, "output_index") == 0);
    CHECK_STR(at_str(ev, "item.type"), "message");
    CHECK_STR(at_str(ev, "item.status"), "in_progress");
    CHECK_INT(cJSON_GetArraySize(at(ev, "item.content")), 0);
    ev = event(c, 3);
    CHECK_STR(at_str(ev, "item_id"), at_str(event(c, 2), "item.id"));
    CHECK(at_num(ev, "content_index") == 0);
    CHECK_STR(at_str(ev, "part.type"), "output_text");
    CHECK_STR(at_str(ev, "part.text"), "");
    CHECK_STR(at_str(event(c, 4), "delta"), "Hel");
    CHECK(cJSON_IsArray(at(event(c, 4), "logprobs")));
    CHECK_STR(deltas(p, c, "response.output_text.delta"), "Hello, world!");
    CHECK_STR(at_str(event(c, 7), "text"), "Hello, world!");
    CHECK_STR(at_str(event(c, 8), "part.text"), "Hello, world!");
    CHECK_STR(at_str(event(c, 9), "item.status"), "completed");
    CHECK_STR(at_str(event(c, 9), "item.content.0.text"), "Hello, world!");
    r = at(event(c, 10), "response");
    CHECK_STR(at_str(r, "status"), "completed");
    CHECK_STR(at_str(r, "output.0.content.0.text"), "Hello, world!");
    CHECK_STR(at_str(r, "output.0.id"), at_str(event(c, 2), "item.id"));
    CHECK(at_num(r, "usage.input_tokens") == 20);
    CHECK(at_num(r, "usage.input_tokens_details.cached_tokens") == 5);
    CHECK(at_num(r, "usage.output_tokens") == 9);
    CHECK(at_num(r, "usage.total_tokens") == 29);
    CHECK(f->answer != NULL);
    CHECK_STR(at_str(f->answer, "status"), "completed");
    CHECK_STR(at_str(f->answer, "output.0.content.0.text"), "Hello, world!");
    /* nothing after the end */
    CHECK(f->ops->stream_end(f, NULL) == NULL);
    CHECK(f->ops->stream_chunk(f, parse(p, "{\"choices\":[{\"index\":0,"
                                        "\"delta\":{\"content\":\"x\"}}]}"))
          == NULL);
    CHECK_INT(cJSON_GetArraySize(c->events), 11);
}

static void t_stream_tool(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *ev, *r;

    to_ir(p, parse(p, custom_tools_req), &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, llmp_fixture(p, "responses/ir_stream_tool.jsonl", NULL),
              NULL);
    CHECK_STR(c->types,
              "response.created,response.in_progress,"
              "response.output_item.added,"
              "response.function_call_arguments.delta,"
              "response.function_call_arguments.delta,"
              "response.function_call_arguments.delta,"
              "response.function_call_arguments.done,"
              "response.output_item.done,"
              "response.output_item.added,"
              "response.function_call_arguments.delta,"
              "response.function_call_arguments.done,"
              "response.output_item.done,response.completed");
    check_seq(c);
    ev = event(c, 2);
    CHECK_STR(at_str(ev, "item.type"), "function_call");
    CHECK_STR(at_str(ev, "item.call_id"), "call_w1");
    CHECK_STR(at_str(ev, "item.name"), "get_weather");
    CHECK_STR(at_str(ev, "item.arguments"), "");
    CHECK_STR(at_str(ev, "item.status"), "in_progress");
    CHECK_STR(at_str(event(c, 3), "item_id"), at_str(ev, "item.id"));
    CHECK_STR(at_str(event(c, 6), "arguments"), "{\"city\": \"Paris\"}");
    CHECK_STR(at_str(event(c, 6), "name"), "get_weather");
    CHECK_STR(at_str(event(c, 7), "item.arguments"), "{\"city\": \"Paris\"}");
    CHECK_STR(at_str(event(c, 7), "item.status"), "completed");
    CHECK(at_num(event(c, 8), "output_index") == 1);
    CHECK_STR(at_str(event(c, 8), "item.call_id"), "call_w2");
    CHECK_STR(at_str(event(c, 10), "arguments"), "{\"city\": \"Oslo\"}");
    r = at(event(c, 12), "response");
    CHECK_INT(cJSON_GetArraySize(at(r, "output")), 2);
    CHECK_STR(at_str(r, "output.0.arguments"), "{\"city\": \"Paris\"}");
    CHECK_STR(at_str(r, "output.1.arguments"), "{\"city\": \"Oslo\"}");
    CHECK_STR(at_str(r, "output.1.status"), "completed");
}

static void t_stream_custom(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *ev, *r;
    const char *input =
        "*** Begin Patch\n*** Add File: a.txt\n+h\xc3\xa9\n*** End Patch\n";

    to_ir(p, parse(p, custom_tools_req), &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, llmp_fixture(p, "responses/ir_stream_custom.jsonl",
                                 NULL), NULL);
    CHECK_STR(c->types,
              "response.created,response.in_progress,"
              "response.output_item.added,response.content_part.added,"
              "response.output_text.delta,response.output_text.done,"
              "response.content_part.done,response.output_item.done,"
              "response.output_item.added,"
              "response.custom_tool_call_input.delta,"
              "response.custom_tool_call_input.delta,"
              "response.custom_tool_call_input.done,"
              "response.output_item.done,response.completed");
    check_seq(c);
    ev = event(c, 8);
    CHECK(at_num(ev, "output_index") == 1);
    CHECK_STR(at_str(ev, "item.type"), "custom_tool_call");
    CHECK_STR(at_str(ev, "item.call_id"), "call_p1");
    CHECK_STR(at_str(ev, "item.name"), "apply_patch");
    CHECK_STR(at_str(ev, "item.input"), "");
    CHECK(!strncmp(at_str(ev, "item.id"), "ctc_", 4));
    /* the input decoded as the arguments come */
    CHECK_STR(at_str(event(c, 9), "delta"), "*** Begin Patch\n*** Add");
    CHECK_STR(at_str(event(c, 9), "item_id"), at_str(ev, "item.id"));
    CHECK_STR(deltas(p, c, "response.custom_tool_call_input.delta"), input);
    CHECK_STR(at_str(event(c, 11), "input"), input);
    CHECK_STR(at_str(event(c, 12), "item.input"), input);
    r = at(event(c, 13), "response");
    CHECK_STR(at_str(r, "output.0.content.0.text"), "Patching.");
    CHECK_STR(at_str(r, "output.1.type"), "custom_tool_call");
    CHECK_STR(at_str(r, "output.1.input"), input);
}

static apr_status_t bytes_emit(void *baton, const char *event,
                               const char *data, apr_size_t len)
{
    (void)event;
    (void)data;
    *(apr_size_t *)baton += len;
    return APR_SUCCESS;
}

/* n chunks alternating reasoning and text pieces (an item each) into a
 * stream of its own pool; the bytes of the chunks in *in, the heap's
 * growth in *grew (-1: unknown); the code of the last error (in p), or
 * NULL. */
static const char *many_items(apr_pool_t *p, int n, int end, apr_size_t *in, long *grew,
                                const char **types)
{
    apr_pool_t *sp;
    llmp_front_t *f;
    llmp_error_t *err = NULL, *e2;
    cap_t *c;
    apr_size_t out = 0;
    const char *code;
    long h0;
    char chunk[256];
    int i;

    /* an allocator of its own: no memory freed by earlier tests reused */
    apr_allocator_t *al;

    apr_allocator_create(&al);
    apr_pool_create_ex(&sp, NULL, NULL, al);
    apr_allocator_owner_set(al, sp);
    to_ir(sp, parse(sp, "{\"model\":\"m\",\"input\":\"Hi\","
                    "\"stream\":true}"), &f, &err);
    f->emit = bytes_emit;
    f->emit_baton = &out;
    *in = 0;
    h0 = heap_used();
    for (i = 0; i < n && !err; i++) {
        int len = snprintf(chunk, sizeof(chunk), "{\"id\":\"c\",\"object\":"
                           "\"chat.completion.chunk\",\"created\":1,"
                           "\"model\":\"m\",\"choices\":[{\"index\":0,"
                           "\"delta\":{\"%s\":\"piece %d\"},"
                           "\"finish_reason\":null}]}",
                           i % 2 ? "content" : "reasoning_content", i);
        cJSON *j = cJSON_ParseWithLength(chunk, (size_t)len);

        *in += (apr_size_t)len;
        err = f->ops->stream_chunk(f, j);
        cJSON_Delete(j);
    }
    if (end) {
        /* what the glue does next: the end, with the error; captured */
        c = cap_new(sp);
        f->emit = cap_emit;
        f->emit_baton = c;
        e2 = f->ops->stream_end(f, err);
        CHECK(e2 == NULL);
        *types = apr_pstrdup(p, c->types);
    }
    *grew = h0 >= 0 ? heap_used() - h0 : -1;
    code = err ? apr_pstrdup(p, err->code ? err->code : "(none)") : NULL;
    apr_pool_destroy(sp);
    return code;
}

static void t_stream_many_items(apr_pool_t *p)
{
    apr_size_t in;
    long grew;
    const char *types = "";
    const char *err;

    /* 4000 items (the answer's end not built): a small multiple of the
     * stream's bytes (it was 1 KB per item and more) */
    err = many_items(p, 4000, 0, &in, &grew, &types);
    CHECK(err == NULL);
    if (grew >= 0) {
        if (getenv("LLMP_SHOW_HEAP") || grew >= (long)(4 * in))
            fprintf(stderr, "  4000 items: %ld bytes of heap for %"
                    APR_SIZE_T_FMT " bytes of chunks\n", grew, in);
        CHECK(grew < (long)(4 * in));
    }
    /* beyond 4096 items: the stream ends with an error and
     * response.failed */
    err = many_items(p, 5000, 1, &in, &grew, &types);
    CHECK(err != NULL);
    CHECK_STR(err ? err : "", "too_many_output_items");
    {
        apr_size_t n = strlen(types);
        const char *tail = "error,response.failed";
        CHECK(n >= strlen(tail) && !strcmp(types + n - strlen(tail), tail));
    }
}

static void t_stream_reasoning(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *ev, *r;

    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true,"
                   "\"reasoning\":{\"effort\":\"high\",\"summary\":"
                   "\"auto\"}}"), &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, llmp_fixture(p, "responses/ir_stream_reasoning.jsonl",
                                 NULL), NULL);
    CHECK_STR(c->types,
              "response.created,response.in_progress,"
              "response.output_item.added,"
              "response.reasoning_summary_part.added,"
              "response.reasoning_summary_text.delta,"
              "response.reasoning_summary_text.delta,"
              "response.reasoning_summary_text.done,"
              "response.reasoning_summary_part.done,"
              "response.output_item.done,"
              "response.output_item.added,response.content_part.added,"
              "response.output_text.delta,response.output_text.done,"
              "response.content_part.done,response.output_item.done,"
              "response.completed");
    check_seq(c);
    ev = event(c, 2);
    CHECK_STR(at_str(ev, "item.type"), "reasoning");
    CHECK(!strncmp(at_str(ev, "item.id"), "rs_", 3));
    CHECK_INT(cJSON_GetArraySize(at(ev, "item.summary")), 0);
    ev = event(c, 3);
    CHECK(at_num(ev, "summary_index") == 0);
    CHECK_STR(at_str(ev, "part.type"), "summary_text");
    CHECK_STR(at_str(event(c, 4), "delta"), "Let me ");
    CHECK_STR(at_str(event(c, 6), "text"), "Let me think.");
    CHECK_STR(at_str(event(c, 7), "part.text"), "Let me think.");
    ev = event(c, 8);
    CHECK_STR(at_str(ev, "item.summary.0.text"), "Let me think.");
    CHECK_STR(at_str(ev, "item.encrypted_content"), "sig-stream-1");
    CHECK(at_num(event(c, 9), "output_index") == 1);
    r = at(event(c, 15), "response");
    CHECK_STR(at_str(r, "output.0.type"), "reasoning");
    CHECK_STR(at_str(r, "output.0.encrypted_content"), "sig-stream-1");
    CHECK_STR(at_str(r, "output.1.content.0.text"), "Answer.");
    CHECK(at_num(r, "usage.output_tokens_details.reasoning_tokens") == 25);
    CHECK_STR(at_str(r, "reasoning.effort"), "high");
}

static void t_stream_length(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *r;

    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true,"
                   "\"max_output_tokens\":16}"), &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, llmp_fixture(p, "responses/ir_stream_length.jsonl",
                                 NULL), NULL);
    CHECK_STR(c->types,
              "response.created,response.in_progress,"
              "response.output_item.added,response.content_part.added,"
              "response.output_text.delta,response.output_text.done,"
              "response.content_part.done,response.output_item.done,"
              "response.incomplete");
    check_seq(c);
    CHECK_STR(at_str(event(c, 7), "item.status"), "incomplete");
    r = at(event(c, 8), "response");
    CHECK_STR(at_str(r, "status"), "incomplete");
    CHECK_STR(at_str(r, "incomplete_details.reason"), "max_output_tokens");
    CHECK(at_num(r, "max_output_tokens") == 16);
    CHECK_STR(at_str(r, "output.0.content.0.text"), "This is cut");
    CHECK_STR(at_str(f->answer, "status"), "incomplete");
}

static void t_stream_failed(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *ev, *r;

    /* truncated: no finish_reason */
    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, llmp_fixture(p, "responses/ir_stream_truncated.jsonl",
                                 NULL), NULL);
    CHECK_STR(c->types,
              "response.created,response.in_progress,"
              "response.output_item.added,response.content_part.added,"
              "response.output_text.delta,response.output_text.delta,"
              "error,response.failed");
    check_seq(c);
    ev = event(c, 6);
    CHECK_STR(at_str(ev, "code"), "stream_truncated");
    CHECK(at_str(ev, "message") && *at_str(ev, "message"));
    CHECK(cJSON_IsNull(at(ev, "param")));
    r = at(event(c, 7), "response");
    CHECK_STR(at_str(r, "status"), "failed");
    CHECK_STR(at_str(r, "error.code"), "server_error");
    CHECK_STR(at_str(r, "error.message"), at_str(ev, "message"));
    CHECK_STR(at_str(r, "output.0.status"), "incomplete");
    CHECK_STR(at_str(r, "output.0.content.0.text"), "This is lost");
    CHECK_STR(at_str(f->answer, "status"), "failed");
    CHECK(f->ops->stream_end(f, NULL) == NULL);      /* one terminal event */
    CHECK_INT(cJSON_GetArraySize(c->events), 8);

    /* an error from the backend, before any chunk */
    c = cap_new(p);
    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    CHECK(f->ops->stream_end(f, llmp_error_make(p, 429, NULL,
                                                "rate_limit_exceeded", NULL,
                                                "slow down")) == NULL);
    CHECK_STR(c->types, "response.created,response.in_progress,error,"
              "response.failed");
    check_seq(c);
    CHECK_STR(at_str(event(c, 2), "code"), "rate_limit_exceeded");
    CHECK_STR(at_str(event(c, 2), "message"), "slow down");
    CHECK_STR(at_str(event(c, 3), "response.error.code"),
              "rate_limit_exceeded");
    CHECK_INT(cJSON_GetArraySize(at(event(c, 3), "response.output")), 0);

    /* an error after the finish but before the end: still failed */
    c = cap_new(p);
    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":"
              "\"ok\"},\"finish_reason\":\"stop\"}]}\n",
              llmp_error_make(p, 502, NULL, NULL, NULL, "lost"));
    CHECK_STR(c->types,
              "response.created,response.in_progress,"
              "response.output_item.added,response.content_part.added,"
              "response.output_text.delta,response.output_text.done,"
              "response.content_part.done,response.output_item.done,"
              "error,response.failed");
    CHECK_STR(at_str(event(c, 8), "code"), "server_error");

    /* the client went away: the write error ends it, nothing after */
    c = cap_new(p);
    c->fail_at = 4;
    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    CHECK(f->ops->stream_chunk(f, parse(p, "{\"choices\":[{\"index\":0,"
                                        "\"delta\":{\"content\":\"a\"}}]}"))
          != NULL);
    CHECK(f->ops->stream_end(f, NULL) == NULL);
    CHECK_INT(cJSON_GetArraySize(c->events), 3);
}

/* Chunks made by the IR helpers (raw integers). */
static void t_stream_raw_numbers(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *ch, *d;
    const cJSON *r;

    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    ch = llmp_chunk_new("chatcmpl-r", 1700000000, "model-x");
    d = llmp_chunk_add_choice(ch, 0, NULL);
    llmp_delta_add_tool_call(d, 3, "call_r", "f", "{\"a\":");
    CHECK(f->ops->stream_chunk(f, ch) == NULL);
    cJSON_Delete(ch);
    ch = llmp_chunk_new("chatcmpl-r", 1700000000, "model-x");
    d = llmp_chunk_add_choice(ch, 0, NULL);
    llmp_delta_add_tool_call(d, 3, NULL, NULL, "1}");
    CHECK(f->ops->stream_chunk(f, ch) == NULL);
    cJSON_Delete(ch);
    ch = llmp_chunk_new("chatcmpl-r", 1700000000, "model-x");
    llmp_chunk_add_choice(ch, 0, "tool_calls");
    CHECK(f->ops->stream_chunk(f, ch) == NULL);
    cJSON_Delete(ch);
    ch = llmp_chunk_new("chatcmpl-r", 1700000000, "model-x");
    cJSON_AddItemToObject(ch, "usage", llmp_usage_new(11, 2, 1));
    CHECK(f->ops->stream_chunk(f, ch) == NULL);
    cJSON_Delete(ch);
    CHECK(f->ops->stream_end(f, NULL) == NULL);
    check_seq(c);
    r = at(find_event(c, "response.completed", 0), "response");
    CHECK_INT(cJSON_GetArraySize(at(r, "output")), 1);
    CHECK_STR(at_str(r, "output.0.arguments"), "{\"a\":1}");
    CHECK(at_num(r, "usage.input_tokens") == 11);
    CHECK(at_num(r, "usage.input_tokens_details.cached_tokens") == 1);
}

/* Backends that send every call whole at index 0 (or without an index):
 * a new id is a new call. */
static void t_stream_same_index(apr_pool_t *p)
{
    cap_t *c = cap_new(p);
    llmp_error_t *err;
    llmp_front_t *f;
    const cJSON *r;

    to_ir(p, parse(p, "{\"model\":\"m\",\"input\":\"Hi\",\"stream\":true}"),
          &f, &err);
    f->emit = cap_emit;
    f->emit_baton = c;
    run_lines(p, f,
              "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
              "\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}\n"
              "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
              "\"id\":\"c2\",\"function\":{\"name\":\"g\","
              "\"arguments\":\"{}\"}}]}}]}\n"
              "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
              "\"index\":0,\"id\":\"c2\",\"function\":{\"arguments\":"
              "\"\"}}]},\"finish_reason\":\"tool_calls\"}]}\n", NULL);
    check_seq(c);
    r = at(find_event(c, "response.completed", 0), "response");
    CHECK_INT(cJSON_GetArraySize(at(r, "output")), 2);
    CHECK_STR(at_str(r, "output.0.call_id"), "c1");
    CHECK_STR(at_str(r, "output.0.arguments"), "{\"a\":1}");
    CHECK_STR(at_str(r, "output.1.call_id"), "c2");
    CHECK_STR(at_str(r, "output.1.name"), "g");
    CHECK_STR(at_str(r, "output.1.arguments"), "{}");
}

/* A custom call whose arguments are not {"input":"..."} first: its input
 * in one delta at the end. */
static void t_stream_custom_shapes(apr_pool_t *p)
{
    static const char *const args[][3] = {
        { "{\\\"n\\\": 1, ", "\\\"input\\\": \\\"abc\\\"}", "abc" },
        { "*** Begin", " Patch", "*** Begin Patch" },
        { "{\\\"input\\\": \\\"a\\\\", "nq\\\"}", "a\nq" } };
    int i;

    for (i = 0; i < 3; i++) {
        cap_t *c = cap_new(p);
        llmp_error_t *err;
        llmp_front_t *f;

        to_ir(p, parse(p, custom_tools_req), &f, &err);
        f->emit = cap_emit;
        f->emit_baton = c;
        run_lines(p, f, apr_pstrcat(p,
            "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
            "\"index\":0,\"id\":\"c1\",\"function\":{\"name\":"
            "\"apply_patch\",\"arguments\":\"", args[i][0], "\"}}]}}]}\n"
            "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
            "\"index\":0,\"function\":{\"arguments\":\"", args[i][1],
            "\"}}]},\"finish_reason\":\"tool_calls\"}]}\n", NULL), NULL);
        check_seq(c);
        CHECK_STR(deltas(p, c, "response.custom_tool_call_input.delta"),
                  args[i][2]);
        CHECK_STR(at_str(find_event(c, "response.custom_tool_call_input.done",
                                    0), "input"), args[i][2]);
        CHECK_STR(at_str(f->answer, "output.0.input"), args[i][2]);
    }
}

/* A chunk line with one delta. */
static const char *chunk_line(apr_pool_t *p, const char *member,
                              const char *piece)
{
    cJSON *ch = cJSON_CreateObject(), *choices = cJSON_CreateArray(),
          *choice = cJSON_CreateObject(), *d = cJSON_CreateObject();
    char *s;

    cJSON_AddItemToObject(ch, "choices", choices);
    cJSON_AddItemToArray(choices, choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON_AddItemToObject(choice, "delta", d);
    if (!strcmp(member, "tool_calls")) {
        cJSON *tcs = cJSON_AddArrayToObject(d, "tool_calls");
        cJSON *tc = cJSON_CreateObject(), *fn;
        cJSON_AddItemToArray(tcs, tc);
        cJSON_AddNumberToObject(tc, "index", 0);
        fn = cJSON_AddObjectToObject(tc, "function");
        cJSON_AddStringToObject(fn, "arguments", piece);
    }
    else {
        cJSON_AddStringToObject(d, member, piece);
    }
    s = llmp_json_print(p, ch, NULL);
    cJSON_Delete(ch);
    return apr_pstrcat(p, s, "\n", NULL);
}

/* The same answer split in pieces of every size: the deltas add up to the
 * done text and to the final answer. */
static void t_stream_splits(apr_pool_t *p)
{
    const char *text = "Hello, wonderful world of streaming events!";
    const char *args = "{\"city\": \"Paris\", \"unit\": \"celsius\"}";
    const char *cargs = " { \"input\" : \"*** Begin Patch\\n*** Add File: "
                        "b\\n+x \\u00e9\\ud83d\\ude00 \\\"q\\\" \\\\ "
                        "\\t\\/\\n*** End Patch\\n\"}";
    const char *cinput = "*** Begin Patch\n*** Add File: b\n+x \xc3\xa9"
                         "\xf0\x9f\x98\x80 \"q\" \\ \t/\n*** End Patch\n";
    apr_size_t tn = strlen(text), an = strlen(args), cn = strlen(cargs), k;
    int bad = 0;

    for (k = 1; k <= tn || k <= an || k <= cn; k++) {
        apr_pool_t *sp;
        cap_t *c;
        llmp_error_t *err;
        llmp_front_t *f;
        const char *lines = "";
        apr_size_t o;
        const cJSON *r, *ev;

        apr_pool_create(&sp, p);
        c = cap_new(sp);
        to_ir(sp, parse(sp, custom_tools_req), &f, &err);
        f->emit = cap_emit;
        f->emit_baton = c;
        for (o = 0; o < tn; o += k)
            lines = apr_pstrcat(sp, lines, chunk_line(sp, "reasoning_content",
                apr_pstrndup(sp, text + o, k)), NULL);
        for (o = 0; o < tn; o += k)
            lines = apr_pstrcat(sp, lines, chunk_line(sp, "content",
                apr_pstrndup(sp, text + o, k)), NULL);
        lines = apr_pstrcat(sp, lines, "{\"choices\":[{\"index\":0,\"delta\":"
                            "{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
                            "\"function\":{\"name\":\"get_weather\","
                            "\"arguments\":\"\"}}]}}]}\n", NULL);
        for (o = 0; o < an; o += k)
            lines = apr_pstrcat(sp, lines, chunk_line(sp, "tool_calls",
                apr_pstrndup(sp, args + o, k)), NULL);
        lines = apr_pstrcat(sp, lines, "{\"choices\":[{\"index\":0,\"delta\":"
                            "{\"tool_calls\":[{\"index\":1,\"id\":\"c2\","
                            "\"function\":{\"name\":\"apply_patch\","
                            "\"arguments\":\"\"}}]}}]}\n", NULL);
        for (o = 0; o < cn; o += k) {
            char *l = (char *)chunk_line(sp, "tool_calls",
                                         apr_pstrndup(sp, cargs + o, k));
            char *idx = strstr(l, "\"index\":0,\"function\"");
            if (idx) idx[8] = '1';
            lines = apr_pstrcat(sp, lines, l, NULL);
        }
        lines = apr_pstrcat(sp, lines, "{\"choices\":[{\"index\":0,\"delta\":"
                            "{},\"finish_reason\":\"tool_calls\"}]}\n", NULL);
        run_lines(sp, f, lines, NULL);
        check_seq(c);
        r = at(find_event(c, "response.completed", 0), "response");
        ev = find_event(c, "response.output_text.done", 0);
        if (strcmp(deltas(sp, c, "response.output_text.delta"), text)
            || !at_str(ev, "text") || strcmp(at_str(ev, "text"), text)
            || strcmp(deltas(sp, c, "response.reasoning_summary_text.delta"),
                      text)
            || strcmp(at_str(find_event(c, "response.reasoning_summary_text."
                                        "done", 0), "text"), text)
            || strcmp(deltas(sp, c, "response.function_call_arguments.delta"),
                      args)
            || strcmp(at_str(find_event(c, "response.function_call_arguments."
                                        "done", 0), "arguments"), args)
            || strcmp(deltas(sp, c, "response.custom_tool_call_input.delta"),
                      cinput)
            || strcmp(at_str(find_event(c, "response.custom_tool_call_input."
                                        "done", 0), "input"), cinput)
            || !at_str(r, "output.0.summary.0.text")
            || strcmp(at_str(r, "output.0.summary.0.text"), text)
            || strcmp(at_str(r, "output.1.content.0.text"), text)
            || strcmp(at_str(r, "output.2.arguments"), args)
            || strcmp(at_str(r, "output.3.input"), cinput)
            || cJSON_GetArraySize(at(r, "output")) != 4) {
            fprintf(stderr, "  pieces of %d: the deltas differ\n", (int)k);
            bad++;
        }
        apr_pool_destroy(sp);
        if (bad) break;
    }
    CHECK_INT(bad, 0);
}

/* ---- previous_response_id: expand and record ---- */

static void t_expand_record(apr_pool_t *p)
{
    llmp_error_t *err;
    llmp_front_t *f;
    cJSON *req, *hist, *exp, *ir, *rec;
    char *s;
    apr_size_t len;

    /* turn 1: a string input, an answer with calls */
    req = parse(p, "{\"model\":\"m\",\"input\":\"Weather?\",\"instructions\":"
                "\"Be brief\",\"tools\":[{\"type\":\"function\",\"name\":"
                "\"get_weather\"},{\"type\":\"custom\",\"name\":"
                "\"apply_patch\"}]}");
    CHECK(to_ir(p, req, &f, &err) != NULL);
    CHECK(llmp_responses_record(f, &len) == NULL);     /* no answer yet */
    CHECK(answer(p, f, llmp_fixture_json(p, "responses/"
                                         "ir_completion_tools.json")) != NULL);
    s = llmp_responses_record(f, &len);
    CHECK(s != NULL);
    rec = s ? llmp_json_parse_pool(p, s, len) : NULL;
    CHECK(rec != NULL);
    CHECK_STR(at_str(rec, "response.id"), "resp_test");
    CHECK_INT(cJSON_GetArraySize(at(rec, "history")), 5);
    CHECK_STR(at_str(rec, "history.0.type"), "message");
    CHECK_STR(at_str(rec, "history.0.role"), "user");
    CHECK_STR(at_str(rec, "history.0.content.0.type"), "input_text");
    CHECK_STR(at_str(rec, "history.0.content.0.text"), "Weather?");
    CHECK_STR(at_str(rec, "history.1.type"), "reasoning");
    CHECK_STR(at_str(rec, "history.2.type"), "message");
    CHECK_STR(at_str(rec, "history.3.type"), "function_call");
    CHECK_STR(at_str(rec, "history.4.type"), "custom_tool_call");
    CHECK(s && !strstr(s, "Be brief\",\"history"));

    /* turn 2: the outputs of both calls */
    hist = (cJSON *)at(rec, "history");
    req = parse(p, "{\"model\":\"m\",\"previous_response_id\":\"resp_test\","
                "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\"},"
                "{\"type\":\"custom\",\"name\":\"apply_patch\"}],\"input\":["
                "{\"type\":\"function_call_output\",\"call_id\":\"call_a\","
                "\"output\":\"sunny\"},{\"type\":\"custom_tool_call_output\","
                "\"call_id\":\"call_b\",\"output\":\"Done\"}]}");
    CHECK(llmp_responses_expand(p, req, hist, &exp) == NULL);
    CHECK_INT(cJSON_GetArraySize(at(exp, "input")), 7);
    CHECK_STR(at_str(exp, "previous_response_id"), "resp_test");
    CHECK_STR(at_str(exp, "tools.1.name"), "apply_patch");
    CHECK_INT(cJSON_GetArraySize(at(req, "input")), 2);  /* unchanged */
    ir = to_ir(p, exp, &f, &err);
    CHECK(ir != NULL);
    if (!ir) {
        fprintf(stderr, "  %s (%s)\n", err->message, err->param);
        return;
    }
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 4);
    CHECK_STR(at_str(ir, "messages.0.content.0.text"), "Weather?");
    CHECK_STR(at_str(ir, "messages.1.role"), "assistant");
    CHECK_STR(at_str(ir, "messages.1.content"), "Let me check.");
    CHECK_STR(at_str(ir, "messages.1.reasoning_content"),
              "The user wants weather and a patch.");
    CHECK_STR(at_str(ir, "messages.1.reasoning_signature"), "sig-xyz");
    CHECK_STR(at_str(ir, "messages.1.tool_calls.0.id"), "call_a");
    CHECK_STR(at_str(ir, "messages.1.tool_calls.1.id"), "call_b");
    CHECK_STR(at_str(ir, "messages.1.tool_calls.1.function.arguments"),
              "{\"input\":\"*** Begin Patch\\n*** Add File: a.txt\\n+hi\\n"
              "*** End Patch\\n\"}");
    CHECK_STR(at_str(ir, "messages.2.content"), "sunny");
    CHECK_STR(at_str(ir, "messages.3.tool_call_id"), "call_b");
    check_backs(p, ir, "turn 2");

    /* a stream's answer is recorded too */
    {
        cap_t *c = cap_new(p);
        CHECK(to_ir(p, parse(p, "{\"model\":\"m\",\"input\":[{\"role\":"
                             "\"user\",\"content\":\"Hi\"}],\"stream\":true}"),
                    &f, &err) != NULL);
        f->emit = cap_emit;
        f->emit_baton = c;
        run_lines(p, f, llmp_fixture(p, "responses/ir_stream_text.jsonl",
                                     NULL), NULL);
        s = llmp_responses_record(f, &len);
        rec = s ? llmp_json_parse_pool(p, s, len) : NULL;
        CHECK_INT(cJSON_GetArraySize(at(rec, "history")), 2);
        CHECK_STR(at_str(rec, "history.0.content"), "Hi");
        CHECK_STR(at_str(rec, "history.1.content.0.text"), "Hello, world!");
        CHECK_STR(at_str(rec, "response.status"), "completed");
    }

    /* errors */
    CHECK(llmp_responses_expand(p, parse(p, "{\"input\":5}"), NULL, &exp)
          != NULL);
    CHECK(llmp_responses_expand(p, parse(p, "{\"input\":\"x\"}"),
                                parse(p, "{}"), &exp) != NULL);
    CHECK(llmp_responses_expand(p, parse(p, "{\"input\":\"x\"}"), NULL, &exp)
          == NULL);
    CHECK_STR(at_str(exp, "input.0.content.0.text"), "x");
}

static void t_error_json(apr_pool_t *p)
{
    llmp_error_t *e = llmp_bad_request(p, "input[2]", "bad item");
    const char *s = llmp_front_responses.error_json(p, e);
    cJSON *j = parse(p, s);

    CHECK_STR(at_str(j, "error.message"), "bad item");
    CHECK_STR(at_str(j, "error.type"), "invalid_request_error");
    CHECK_STR(at_str(j, "error.param"), "input[2]");
    CHECK_STR(llmp_front_responses.name, "responses");
}

/* ---- linear time ---- */

static apr_status_t count_emit(void *baton, const char *event,
                               const char *data, apr_size_t len)
{
    int *n = baton;
    (*n)++;
    return event && len && data[len - 1] == '}' ? APR_SUCCESS : APR_EGENERAL;
}

static void t_linear(apr_pool_t *p)
{
    const int n = 20000;
    cJSON *req = cJSON_CreateObject(), *input, *it, *ir;
    llmp_front_t *f;
    llmp_error_t *err;
    double t0, secs;
    int i, events = 0;

    llmp_json_pool_own(p, req);
    cJSON_AddStringToObject(req, "model", "m");
    input = cJSON_AddArrayToObject(req, "input");
    for (i = 0; i < n; i++) {
        const char *id = apr_psprintf(p, "call_%d", i);
        it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "role", "user");
        cJSON_AddStringToObject(it, "content", "go");
        cJSON_AddItemToArray(input, it);
        it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "type", "function_call");
        cJSON_AddStringToObject(it, "call_id", id);
        cJSON_AddStringToObject(it, "name", "f");
        cJSON_AddStringToObject(it, "arguments", "{}");
        cJSON_AddItemToArray(input, it);
        it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "type", "function_call_output");
        cJSON_AddStringToObject(it, "call_id", id);
        cJSON_AddStringToObject(it, "output", "ok");
        cJSON_AddItemToArray(input, it);
    }
    t0 = llmp_test_cpu_seconds();
    ir = to_ir(p, req, &f, &err);
    secs = llmp_test_cpu_seconds() - t0;
    CHECK(ir != NULL);
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 3 * n);
    if (secs >= 1.0) fprintf(stderr, "  request of %d items: %.2f s\n",
                             3 * n, secs);
    CHECK(secs < 2.0 * LLMP_TEST_SLOW);

    /* a stream of n text deltas then n / 10 calls in two pieces each */
    f = front(p, parse(p, "{\"model\":\"m\",\"input\":\"x\"}"), 1, NULL);
    f->emit = count_emit;
    f->emit_baton = &events;
    t0 = llmp_test_cpu_seconds();
    for (i = 0; i < n; i++) {
        cJSON *ch = parse(p, "{\"choices\":[{\"index\":0,\"delta\":"
                          "{\"content\":\"abc \"}}]}");
        CHECK(f->ops->stream_chunk(f, ch) == NULL);
    }
    for (i = 0; i < n / 10; i++) {
        cJSON *ch = cJSON_CreateObject(), *d;
        llmp_json_pool_own(p, ch);
        d = llmp_chunk_add_choice((cJSON_AddArrayToObject(ch, "choices"), ch),
                                  0, NULL);
        llmp_delta_add_tool_call(d, i, apr_psprintf(p, "c%d", i), "f",
                                 "{\"a\":");
        CHECK(f->ops->stream_chunk(f, ch) == NULL);
        ch = cJSON_CreateObject();
        llmp_json_pool_own(p, ch);
        d = llmp_chunk_add_choice((cJSON_AddArrayToObject(ch, "choices"), ch),
                                  0, NULL);
        llmp_delta_add_tool_call(d, i, NULL, NULL, "1}");
        CHECK(f->ops->stream_chunk(f, ch) == NULL);
    }
    CHECK(f->ops->stream_chunk(f, parse(p, "{\"choices\":[{\"index\":0,"
                                        "\"delta\":{},\"finish_reason\":"
                                        "\"tool_calls\"}]}")) == NULL);
    CHECK(f->ops->stream_end(f, NULL) == NULL);
    secs = llmp_test_cpu_seconds() - t0;
    if (secs >= 1.0) fprintf(stderr, "  stream of %d events: %.2f s\n",
                             events, secs);
    CHECK_INT(events, 2 + n + 5 + (n / 10) * 5 + 1);
    CHECK(secs < 4.0 * LLMP_TEST_SLOW);
    CHECK_INT(cJSON_GetArraySize(at(f->answer, "output")), 1 + n / 10);
    CHECK_INT(strlen(at_str(f->answer, "output.0.content.0.text")), 4 * n);
}

TEST_MAIN_BEGIN("responses")
    RUN(t_request_string);
    RUN(t_request_items);
    RUN(t_request_settings);
    RUN(t_request_errors);
    RUN(t_request_codex);
    RUN(t_request_captured);
    RUN(t_tool_search);
    RUN(t_answer_echo_numbers);
    RUN(t_answer_text);
    RUN(t_answer_tools);
    RUN(t_answer_incomplete);
    RUN(t_answer_raw_numbers);
    RUN(t_stream_text);
    RUN(t_stream_tool);
    RUN(t_stream_custom);
    RUN(t_stream_reasoning);
    RUN(t_stream_many_items);
    RUN(t_stream_length);
    RUN(t_stream_failed);
    RUN(t_stream_raw_numbers);
    RUN(t_stream_same_index);
    RUN(t_stream_custom_shapes);
    RUN(t_stream_splits);
    RUN(t_expand_record);
    RUN(t_error_json);
    RUN(t_linear);
TEST_MAIN_END
