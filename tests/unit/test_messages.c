/* Unit tests: the Anthropic Messages front (llmp_front_messages): requests
 * to the IR, IR answers and chunks to Messages objects and events, errors,
 * count_tokens; fixtures in tests/fixtures/messages/. */
#include "llmp_test.h"
#include "llmp_front.h"
#include "llmp_messages.h"

/* ---- helpers ---- */

typedef struct {
    cJSON *events;              /* [{"event","data"}] as emitted */
    int fail_after;             /* emit fails after that many; -1 never */
    int mismatched;             /* data "type" differed from the event */
} evsink_t;

static apr_status_t ev_emit(void *baton, const char *event, const char *data,
                            apr_size_t len)
{
    evsink_t *s = baton;
    cJSON *e, *j;
    const char *type;

    if (s->fail_after >= 0 && cJSON_GetArraySize(s->events) >= s->fail_after)
        return APR_EGENERAL;
    j = cJSON_ParseWithLength(data, len);
    type = llmp_json_str(j, "type");
    if (!event || !type || strcmp(event, type)) s->mismatched++;
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "event", event ? event : "(null)");
    cJSON_AddItemToObject(e, "data", j ? j : cJSON_CreateString("<bad>"));
    cJSON_AddItemToArray(s->events, e);
    return APR_SUCCESS;
}

static llmp_front_t *front(apr_pool_t *p, int stream, const cJSON *req,
                           evsink_t *s)
{
    llmp_front_t *f = llmp_front_create(p, &llmp_front_messages,
                                        "test-model-v1", 1700000000, stream,
                                        req);
    f->id = "msg_test";
    if (s) {
        s->events = cJSON_CreateArray();
        llmp_json_pool_own(p, s->events);
        s->fail_after = -1;
        s->mismatched = 0;
        f->emit = ev_emit;
        f->emit_baton = s;
    }
    return f;
}

/* A tree printed and parsed again: references resolved, raw integers
 * become numbers (so at_num reads them). */
static cJSON *reparse(apr_pool_t *p, const cJSON *j)
{
    apr_size_t len;
    char *s = llmp_json_print(p, j, &len);
    return s ? llmp_json_parse_pool(p, s, len) : NULL;
}

/* The IR of a Messages request (reparsed), or NULL and *err. */
static cJSON *ir_of(apr_pool_t *p, const cJSON *req, llmp_error_t **err)
{
    llmp_front_t *f = front(p, 0, req, NULL);
    cJSON *ir = NULL;

    *err = llmp_front_messages.request(f, req, &ir);
    if (*err) return NULL;
    return reparse(p, ir);
}

static cJSON *ir_ok(apr_pool_t *p, const char *json)
{
    cJSON *req = llmp_json_parse_pool(p, json, strlen(json));
    llmp_error_t *err = NULL;
    cJSON *ir;

    if (!req) { fprintf(stderr, "bad test JSON: %s\n", json); return NULL; }
    ir = ir_of(p, req, &err);
    if (err) fprintf(stderr, "unexpected error: %s\n", err->message);
    return ir;
}

static llmp_error_t *ir_err(apr_pool_t *p, const char *json)
{
    cJSON *req = llmp_json_parse_pool(p, json, strlen(json));
    llmp_error_t *err = NULL;

    if (!req) { fprintf(stderr, "bad test JSON: %s\n", json); return NULL; }
    ir_of(p, req, &err);
    return err;
}

#define MINREQ "\"model\":\"m\",\"max_tokens\":100"

/* ---- requests ---- */

static void t_req_minimal(apr_pool_t *p)
{
    cJSON *ir = ir_ok(p, "{" MINREQ ",\"messages\":[{\"role\":\"user\","
                         "\"content\":\"Hello\"}]}");
    CHECK(ir != NULL);
    CHECK_STR(at_str(ir, "model"), "test-model-v1");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 1);
    CHECK_STR(at_str(ir, "messages.0.role"), "user");
    CHECK_STR(at_str(ir, "messages.0.content"), "Hello");
    CHECK_INT(at_num(ir, "max_completion_tokens"), 100);
    CHECK(at(ir, "stream") == NULL);
    CHECK(at(ir, "tools") == NULL);
    CHECK(at(ir, "x_llmp") == NULL);
    CHECK(at(ir, "max_tokens") == NULL);
    /* the IR itself (not reparsed) holds numbers: back translators read it
     * with cJSON_IsNumber */
    {
        static const char json[] =
            "{\"max_tokens\":7,\"top_k\":3,\"messages\":[]}";
        cJSON *req = llmp_json_parse_pool(p, json, sizeof(json) - 1);
        cJSON *raw = NULL;
        CHECK(llmp_front_messages.request(front(p, 0, req, NULL), req, &raw)
              == NULL);
        CHECK(cJSON_IsNumber(at(raw, "max_completion_tokens")));
        CHECK_INT(llmp_req_max_tokens(raw), 7);
        CHECK(cJSON_IsNumber(at(raw, "x_llmp.top_k")));
    }
}

static void t_req_blocks(apr_pool_t *p)
{
    cJSON *req = llmp_fixture_json(p, "messages/request_blocks.json");
    llmp_error_t *err = NULL;
    cJSON *ir = ir_of(p, req, &err);
    const cJSON *m;

    CHECK(err == NULL);
    if (!ir) return;
    /* system: blocks joined, billing header and cache_control gone */
    CHECK_STR(at_str(ir, "messages.0.role"), "system");
    CHECK_STR(at_str(ir, "messages.0.content"),
              "You are a helpful assistant.\n\nAnswer briefly.");
    /* user blocks -> parts */
    m = at(ir, "messages.1");
    CHECK_STR(at_str(m, "role"), "user");
    CHECK_INT(cJSON_GetArraySize(at(m, "content")), 5);
    CHECK_STR(at_str(m, "content.0.type"), "text");
    CHECK_STR(at_str(m, "content.0.text"), "Look at these.");
    CHECK(at(m, "content.0.cache_control") == NULL);
    CHECK_STR(at_str(m, "content.1.type"), "image_url");
    CHECK_STR(at_str(m, "content.1.image_url.url"),
              "data:image/png;base64,iVBORw0KGgo=");
    CHECK_STR(at_str(m, "content.2.image_url.url"),
              "https://example.com/cat.jpg");
    CHECK_STR(at_str(m, "content.3.type"), "file");
    CHECK_STR(at_str(m, "content.3.file.file_data"),
              "data:application/pdf;base64,JVBERi0xLjQ=");
    CHECK_STR(at_str(m, "content.3.file.filename"), "report.pdf");
    CHECK_STR(at_str(m, "content.4.type"), "text");
    CHECK_STR(at_str(m, "content.4.text"), "Notes\n\nplain notes");
    /* assistant: thinking, text, tool_use; redacted and server blocks
     * dropped */
    m = at(ir, "messages.2");
    CHECK_STR(at_str(m, "role"), "assistant");
    CHECK_STR(at_str(m, "content"), "Let me check.");
    CHECK_STR(at_str(m, "reasoning_content"),
              "The user wants a weather check.");
    CHECK_STR(at_str(m, "reasoning_signature"), "EqQBCkYIBxgCKkA=");
    CHECK_INT(cJSON_GetArraySize(at(m, "tool_calls")), 2);
    CHECK_STR(at_str(m, "tool_calls.0.id"), "toolu_01A");
    CHECK_STR(at_str(m, "tool_calls.0.type"), "function");
    CHECK_STR(at_str(m, "tool_calls.0.function.name"), "get_weather");
    CHECK_STR(at_str(m, "tool_calls.0.function.arguments"),
              "{\"city\":\"Paris\",\"unit\":\"c\"}");
    CHECK_STR(at_str(m, "tool_calls.1.function.arguments"), "{}");
    /* user turn: tool results first as tool messages, then the rest */
    CHECK_STR(at_str(ir, "messages.3.role"), "tool");
    CHECK_STR(at_str(ir, "messages.3.tool_call_id"), "toolu_01A");
    CHECK_STR(at_str(ir, "messages.3.content"), "18 C, cloudy");
    CHECK_STR(at_str(ir, "messages.4.role"), "tool");
    CHECK_STR(at_str(ir, "messages.4.tool_call_id"), "toolu_01B");
    CHECK_STR(at_str(ir, "messages.4.content"), "clock unavailable");
    m = at(ir, "messages.5");
    CHECK_STR(at_str(m, "role"), "user");
    CHECK_INT(cJSON_GetArraySize(at(m, "content")), 2);
    CHECK_STR(at_str(m, "content.0.image_url.url"),
              "data:image/jpeg;base64,/9j/4AAQ");
    CHECK_STR(at_str(m, "content.1.text"), "And now?");
    CHECK_STR(at_str(ir, "messages.6.role"), "assistant");
    CHECK_STR(at_str(ir, "messages.6.content"), "It is 18 C.");
    CHECK_STR(at_str(ir, "messages.7.content"), "Thanks.");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 8);
    /* tools: server tools dropped */
    CHECK_INT(cJSON_GetArraySize(at(ir, "tools")), 2);
    CHECK_STR(at_str(ir, "tools.0.type"), "function");
    CHECK_STR(at_str(ir, "tools.0.function.name"), "get_weather");
    CHECK_STR(at_str(ir, "tools.0.function.description"),
              "Weather of a city");
    CHECK_STR(at_str(ir, "tools.0.function.parameters.properties.unit.enum.1"),
              "f");
    CHECK_STR(at_str(ir, "tools.0.function.parameters.required.0"), "city");
    CHECK(at(ir, "tools.0.cache_control") == NULL);
    CHECK(at(ir, "tools.0.function.cache_control") == NULL);
    CHECK_STR(at_str(ir, "tools.1.function.name"), "get_time");
    CHECK(at(ir, "tools.1.function.description") == NULL);
    CHECK_STR(at_str(ir, "tool_choice"), "required");
    CHECK(cJSON_IsFalse(at(ir, "parallel_tool_calls")));
    /* settings */
    CHECK_STR(at_str(ir, "stop.0"), "\n\nHuman:");
    CHECK_STR(at_str(ir, "stop.1"), "END");
    CHECK(at_num(ir, "temperature") == 0.5);
    CHECK(at_num(ir, "top_p") == 0.9);
    CHECK_INT(at_num(ir, "x_llmp.top_k"), 40);
    CHECK_STR(at_str(ir, "reasoning_effort"), "medium");
    CHECK_STR(at_str(ir, "user"), "user-1234");
    CHECK(cJSON_IsTrue(at(ir, "stream")));
    CHECK(cJSON_IsTrue(at(ir, "stream_options.include_usage")));
    CHECK_INT(at_num(ir, "max_completion_tokens"), 1024);
    /* beta-only fields dropped */
    CHECK(at(ir, "context_management") == NULL);
    CHECK(at(ir, "mcp_servers") == NULL);
    CHECK(at(ir, "container") == NULL);
    CHECK(at(ir, "service_tier") == NULL);
    CHECK(at(ir, "thinking") == NULL);
    CHECK(at(ir, "metadata") == NULL);
    CHECK(at(ir, "stop_sequences") == NULL);
    CHECK(at(ir, "system") == NULL);
    /* the request tree is left as it was */
    CHECK_INT(cJSON_GetArraySize(at(req, "tools")), 6);
    CHECK(at(req, "system.1.cache_control") != NULL);
}

static void t_req_system_forms(apr_pool_t *p)
{
    cJSON *ir = ir_ok(p, "{" MINREQ ",\"system\":\"Be terse.\",\"messages\":"
                         "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    CHECK_STR(at_str(ir, "messages.0.role"), "system");
    CHECK_STR(at_str(ir, "messages.0.content"), "Be terse.");

    /* empty string / empty list / only the billing header: no system */
    ir = ir_ok(p, "{" MINREQ ",\"system\":\"\",\"messages\":"
                  "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    CHECK_STR(at_str(ir, "messages.0.role"), "user");
    ir = ir_ok(p, "{" MINREQ ",\"system\":[],\"messages\":"
                  "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    CHECK_STR(at_str(ir, "messages.0.role"), "user");
    ir = ir_ok(p, "{" MINREQ ",\"system\":[{\"type\":\"text\",\"text\":"
                  "\"x-anthropic-billing-header: cc_version=1\"}],"
                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 1);
    /* null system */
    ir = ir_ok(p, "{" MINREQ ",\"system\":null,\"messages\":"
                  "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 1);
    /* a system message in the conversation (Claude Code's beta) */
    ir = ir_ok(p, "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
                  "\"hi\"},{\"role\":\"system\",\"content\":\"Note: x\"},"
                  "{\"role\":\"assistant\",\"content\":\"ok\"}]}");
    CHECK_STR(at_str(ir, "messages.1.role"), "system");
    CHECK_STR(at_str(ir, "messages.1.content"), "Note: x");
    CHECK_STR(at_str(ir, "messages.2.role"), "assistant");
}

static void t_req_tool_choice(apr_pool_t *p)
{
    static const char *const tools =
        ",\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]"
        ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    cJSON *ir;

    ir = ir_ok(p, apr_pstrcat(p, "{" MINREQ, tools,
                              ",\"tool_choice\":{\"type\":\"auto\"}}", NULL));
    CHECK_STR(at_str(ir, "tool_choice"), "auto");
    CHECK(at(ir, "parallel_tool_calls") == NULL);
    ir = ir_ok(p, apr_pstrcat(p, "{" MINREQ, tools,
                              ",\"tool_choice\":{\"type\":\"none\"}}", NULL));
    CHECK_STR(at_str(ir, "tool_choice"), "none");
    ir = ir_ok(p, apr_pstrcat(p, "{" MINREQ, tools,
                              ",\"tool_choice\":{\"type\":\"any\"}}", NULL));
    CHECK_STR(at_str(ir, "tool_choice"), "required");
    ir = ir_ok(p, apr_pstrcat(p, "{" MINREQ, tools,
                              ",\"tool_choice\":{\"type\":\"tool\",\"name\":"
                              "\"f\",\"disable_parallel_tool_use\":true}}",
                              NULL));
    CHECK_STR(at_str(ir, "tool_choice.type"), "function");
    CHECK_STR(at_str(ir, "tool_choice.function.name"), "f");
    CHECK(cJSON_IsFalse(at(ir, "parallel_tool_calls")));
    ir = ir_ok(p, apr_pstrcat(p, "{" MINREQ, tools,
                              ",\"tool_choice\":{\"type\":\"auto\","
                              "\"disable_parallel_tool_use\":false}}", NULL));
    CHECK(at(ir, "parallel_tool_calls") == NULL);
    /* tools without input_schema type: kept as the client wrote them */
    CHECK_STR(at_str(ir, "tools.0.function.parameters.type"), "object");
    /* only server tools: no tools, no tool_choice */
    ir = ir_ok(p, "{" MINREQ ",\"tools\":[{\"type\":\"web_search_20250305\","
                  "\"name\":\"web_search\"}],\"tool_choice\":{\"type\":"
                  "\"any\",\"disable_parallel_tool_use\":true},\"messages\":"
                  "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    CHECK(ir != NULL);
    CHECK(at(ir, "tools") == NULL);
    CHECK(at(ir, "tool_choice") == NULL);
    CHECK(at(ir, "parallel_tool_calls") == NULL);
}

static void t_req_thinking(apr_pool_t *p)
{
    static const struct { const char *extra; const char *effort; } cases[] = {
        { ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}",
          "low" },
        { ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}",
          "low" },
        { ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2049}",
          "medium" },
        { ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":8192}",
          "medium" },
        { ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":31999}",
          "high" },
        { ",\"thinking\":{\"type\":\"disabled\"}", "none" },
        { ",\"thinking\":{\"type\":\"adaptive\"},\"output_config\":"
          "{\"effort\":\"high\"}", "high" },
        { ",\"thinking\":{\"type\":\"adaptive\"},\"output_config\":"
          "{\"effort\":\"max\"}", "high" },
        { ",\"output_config\":{\"effort\":\"low\"}", "low" },
        { ",\"thinking\":{\"type\":\"adaptive\"}", NULL },
        { "", NULL },
        { NULL, NULL } };
    int i;

    for (i = 0; cases[i].extra; i++) {
        cJSON *ir = ir_ok(p, apr_pstrcat(p, "{" MINREQ, cases[i].extra,
                                         ",\"messages\":[{\"role\":\"user\","
                                         "\"content\":\"hi\"}]}", NULL));
        CHECK(ir != NULL);
        if (cases[i].effort)
            CHECK_STR(at_str(ir, "reasoning_effort"), cases[i].effort);
        else
            CHECK(at(ir, "reasoning_effort") == NULL);
        CHECK(at(ir, "thinking") == NULL);
        CHECK(at(ir, "output_config") == NULL);
    }
    {
        cJSON *r = cJSON_Parse("{\"thinking\":{\"type\":\"enabled\","
                               "\"budget_tokens\":1024}}");
        CHECK(llmp_messages_wants_reasoning(r));
        cJSON_Delete(r);
        r = cJSON_Parse("{\"thinking\":{\"type\":\"disabled\"}}");
        CHECK(!llmp_messages_wants_reasoning(r));
        cJSON_Delete(r);
        r = cJSON_Parse("{\"thinking\":{\"type\":\"adaptive\"}}");
        CHECK(llmp_messages_wants_reasoning(r));
        cJSON_Delete(r);
        CHECK(!llmp_messages_wants_reasoning(NULL));
    }
}

static void t_req_output_format(apr_pool_t *p)
{
    cJSON *ir = ir_ok(p, "{" MINREQ ",\"output_config\":{\"format\":{\"type\":"
                         "\"json_schema\",\"schema\":{\"type\":\"object\","
                         "\"properties\":{\"a\":{\"type\":\"string\"}}}}},"
                         "\"messages\":[{\"role\":\"user\",\"content\":"
                         "\"hi\"}]}");
    CHECK_STR(at_str(ir, "response_format.type"), "json_schema");
    CHECK_STR(at_str(ir, "response_format.json_schema.name"), "output");
    CHECK_STR(at_str(ir, "response_format.json_schema.schema.properties.a."
                         "type"), "string");
    ir = ir_ok(p, "{" MINREQ ",\"output_format\":{\"type\":\"json_schema\","
                  "\"schema\":{\"type\":\"object\"}},\"messages\":[{\"role\":"
                  "\"user\",\"content\":\"hi\"}]}");
    CHECK_STR(at_str(ir, "response_format.json_schema.schema.type"),
              "object");
}

static void t_req_tool_result_forms(apr_pool_t *p)
{
    cJSON *ir = ir_ok(p,
        "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
        "\"id\":\"t1\",\"name\":\"f\",\"input\":{\"a\":[1,2]}},"
        "{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"g\",\"input\":{}},"
        "{\"type\":\"tool_use\",\"id\":\"t3\",\"name\":\"h\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"t1\"},{\"type\":\"tool_result\",\"tool_use_id\":"
        "\"t2\",\"is_error\":true},{\"type\":\"tool_result\",\"tool_use_id\":"
        "\"t3\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":"
        "\"text\",\"text\":\"b\"}]}]}]}");
    CHECK(ir != NULL);
    /* only tool calls: content null */
    CHECK(cJSON_IsNull(at(ir, "messages.1.content")));
    CHECK_STR(at_str(ir, "messages.1.tool_calls.0.function.arguments"),
              "{\"a\":[1,2]}");
    CHECK_STR(at_str(ir, "messages.2.role"), "tool");
    CHECK_STR(at_str(ir, "messages.2.content"), "");
    CHECK_STR(at_str(ir, "messages.3.content"), "Error");
    CHECK_STR(at_str(ir, "messages.4.content"), "a\nb");
    /* no user message after tool results without other blocks */
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 5);
}

static void t_req_claude_code(apr_pool_t *p)
{
    cJSON *req = llmp_fixture_json(p, "messages/claude_code_request.json");
    llmp_error_t *err = NULL;
    cJSON *ir = ir_of(p, req, &err), *m;
    int tools = 0, sys = 0, tool_msgs = 0;

    CHECK(err == NULL);
    if (!ir) return;
    CHECK_STR(at_str(ir, "model"), "test-model-v1");
    CHECK_INT(at_num(ir, "max_completion_tokens"), 32000);
    CHECK_STR(at_str(ir, "reasoning_effort"), "high");
    CHECK(cJSON_IsTrue(at(ir, "stream")));
    CHECK(cJSON_IsTrue(at(ir, "stream_options.include_usage")));
    /* its user_id (a JSON object of ~170 bytes) as a stable short id */
    CHECK(at_str(ir, "user") && strlen(at_str(ir, "user")) == 42
          && !strncmp(at_str(ir, "user"), "u-", 2));
    {
        cJSON *again = ir_of(p, req, &err);
        CHECK_STR(at_str(again, "user"), at_str(ir, "user"));
    }
    CHECK(at(ir, "context_management") == NULL);
    CHECK(at(ir, "output_config") == NULL);
    tools = cJSON_GetArraySize(at(ir, "tools"));
    CHECK_INT(tools, cJSON_GetArraySize(at(req, "tools")));
    CHECK_STR(at_str(ir, "tools.1.function.name"), "Bash");
    CHECK_STR(at_str(ir, "tools.1.function.parameters.required.0"),
              "command");
    /* the system prompt without its billing header */
    CHECK_STR(at_str(ir, "messages.0.role"), "system");
    CHECK(strncmp(at_str(ir, "messages.0.content"),
                  "You are a Claude agent", 22) == 0);
    CHECK(strstr(at_str(ir, "messages.0.content"),
                 "x-anthropic-billing-header") == NULL);
    cJSON_ArrayForEach(m, at(ir, "messages")) {
        const char *role = llmp_json_str(m, "role");
        if (!strcmp(role, "system")) sys++;
        if (!strcmp(role, "tool")) {
            tool_msgs++;
            CHECK_STR(llmp_json_str(m, "tool_call_id"), "toolu_01cap");
            CHECK_STR(llmp_json_str(m, "content"), "hi");
        }
        if (!strcmp(role, "assistant")) {
            CHECK_STR(at_str(m, "tool_calls.0.function.name"), "Bash");
            CHECK_STR(at_str(m, "reasoning_content"), "Let me think.");
            CHECK_STR(at_str(m, "reasoning_signature"), "c2lnbmF0dXJl");
        }
    }
    CHECK_INT(sys, 2);             /* the system prompt, and one in turn */
    CHECK_INT(tool_msgs, 1);
    /* no cache_control, no Anthropic-only member anywhere in the IR */
    {
        char *s = llmp_json_print(p, ir, NULL);
        CHECK(s && !strstr(s, "cache_control"));
        CHECK(s && !strstr(s, "\"thinking\""));
        CHECK(s && !strstr(s, "input_schema"));
    }
}

/* Claude Code's next turn after a stream written by this front (thinking
 * without a signature, text, a Bash tool_use), captured from claude-code
 * 2.1.197 after it ran the tool: it reads back. */
static void t_req_claude_code_turn(apr_pool_t *p)
{
    cJSON *req = llmp_fixture_json(p, "messages/claude_code_tool_turn.json");
    llmp_error_t *err = NULL;
    cJSON *ir = ir_of(p, req, &err), *m, *a = NULL, *t = NULL;

    CHECK(err == NULL);
    if (!ir) return;
    cJSON_ArrayForEach(m, at(ir, "messages")) {
        const char *role = llmp_json_str(m, "role");
        if (!strcmp(role, "assistant")) a = m;
        if (!strcmp(role, "tool")) t = m;
    }
    CHECK_STR(at_str(a, "content"), "Running it.");
    CHECK_STR(at_str(a, "reasoning_content"), "I should run echo.");
    CHECK(at(a, "reasoning_signature") == NULL);     /* "" is none */
    CHECK_STR(at_str(a, "tool_calls.0.id"), "call_xyz");
    CHECK_STR(at_str(a, "tool_calls.0.function.name"), "Bash");
    {
        const char *args = at_str(a, "tool_calls.0.function.arguments");
        cJSON *in = args ? llmp_json_parse_pool(p, args, strlen(args)) : NULL;
        CHECK_STR(at_str(in, "command"), "echo hi");
    }
    CHECK_STR(at_str(t, "tool_call_id"), "call_xyz");
    CHECK_STR(at_str(t, "content"), "hi");
    /* the tool message is the last one: no empty user message after it */
    CHECK(t && t->next == NULL);
}

/* The IR of the fixtures is taken by every back translator. */
static void t_req_backs(apr_pool_t *p)
{
    static const char *const fixtures[] = {
        "messages/request_blocks.json", "messages/claude_code_request.json",
        "messages/claude_code_tool_turn.json", NULL };
    static const llmp_xlate_opts_t opts = { 1024, "search_document", NULL };
    const llmp_provider_ops_t *const backs[] = {
        &llmp_anthropic_ops, &llmp_gemini_ops, &llmp_cohere_ops, NULL };
    int i, j;

    for (i = 0; fixtures[i]; i++) {
        cJSON *req = llmp_fixture_json(p, fixtures[i]);
        llmp_front_t *f = front(p, 1, req, NULL);
        cJSON *ir = NULL;
        CHECK(llmp_front_messages.request(f, req, &ir) == NULL);
        for (j = 0; ir && backs[j]; j++) {
            llmp_xlate_t x;
            llmp_native_req_t out;
            llmp_error_t *e;
            memset(&x, 0, sizeof(x));
            memset(&out, 0, sizeof(out));
            x.pool = p;
            x.model_id = "test-model-v1";
            x.handle = "/v1/test";
            x.id = "chatcmpl-t";
            x.stream = 1;
            x.include_usage = 1;
            x.opts = &opts;
            x.front = f;
            e = backs[j]->chat_request(&x, ir, &out);
            if (i == 0 && backs[j] == &llmp_cohere_ops) {
                /* Cohere takes no PDF: a clear 400 about the part */
                CHECK(e && e->status == 400 && strstr(e->message, "file"));
                continue;
            }
            if (e) fprintf(stderr, "  %s on %s: %s\n", backs[j]->name,
                           fixtures[i], e->message);
            CHECK(e == NULL);
            CHECK(out.body && out.len > 0);
        }
        /* and the OpenAI-compatible family's: the IR stripped, printable */
        if (ir) {
            llmp_ir_strip(ir);
            CHECK(at(ir, "x_llmp") == NULL);
            CHECK(llmp_json_print(p, ir, NULL) != NULL);
        }
    }
}

static void t_req_errors(apr_pool_t *p)
{
    static const struct { const char *json; const char *param;
                          const char *msg; } cases[] = {
        { "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
          "\"hi\"}]}", "max_tokens", "max_tokens: Field required" },
        { "{\"model\":\"m\",\"max_tokens\":\"10\",\"messages\":[]}",
          "max_tokens", "max_tokens: Input should be a valid integer" },
        { "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[]}",
          "max_tokens", NULL },
        { "{\"model\":\"m\",\"max_tokens\":-1e300,\"messages\":[]}",
          "max_tokens", "max_tokens: Input should be a valid integer" },
        { "{\"model\":\"m\",\"max_tokens\":2.5,\"messages\":[]}",
          "max_tokens", NULL },
        { "{" MINREQ ",\"messages\":[],\"thinking\":{\"type\":\"enabled\","
          "\"budget_tokens\":1e300}}", "thinking.budget_tokens", NULL },
        { "{" MINREQ ",\"messages\":[],\"top_k\":-1e300}", "top_k", NULL },
        { "{" MINREQ "}", "messages", "messages: Field required" },
        { "{" MINREQ ",\"messages\":{}}", "messages", NULL },
        { "{" MINREQ ",\"messages\":[\"hi\"]}", "messages.0", NULL },
        { "{" MINREQ ",\"messages\":[{\"content\":\"hi\"}]}",
          "messages.0.role", "messages.0.role: Field required" },
        { "{" MINREQ ",\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}",
          "messages.0.role", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\"}]}",
          "messages.0.content", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
          "messages.0.content", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
          "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\","
          "\"content\":[{\"type\":\"text\",\"text\":\"x\"},{\"type\":"
          "\"video\"}]}]}", "messages.2.content.1.type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"text\":\"x\"}]}]}", "messages.0.content.0.type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"text\"}]}]}", "messages.0.content.0.text", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"b\",\"input\":{}}"
          "]}]}", "messages.0.content.0.type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"assistant\",\"content\":"
          "[{\"type\":\"tool_result\",\"tool_use_id\":\"a\"}]}]}",
          "messages.0.content.0.type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"assistant\",\"content\":"
          "[{\"type\":\"tool_use\",\"name\":\"b\",\"input\":{}}]}]}",
          "messages.0.content.0.id", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"assistant\",\"content\":"
          "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"b\",\"input\":[]}"
          "]}]}", "messages.0.content.0.input", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"tool_result\"}]}]}",
          "messages.0.content.0.tool_use_id", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"tool_result\",\"tool_use_id\":\"a\",\"content\":"
          "[{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"audio\"}]}]}]}",
          "messages.0.content.0.content.1.type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":"
          "\"f\"}}]}]}", "messages.0.content.0.source.type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"data\":"
          "\"x\"}}]}]}", "messages.0.content.0.source.media_type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"document\",\"source\":{\"type\":\"base64\","
          "\"media_type\":\"image/png\",\"data\":\"x\"}}]}]}",
          "messages.0.content.0.source.media_type", NULL },
        { "{" MINREQ ",\"messages\":[{\"role\":\"user\",\"content\":"
          "[{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":"
          "\"https://x/a.pdf\"}}]}]}", "messages.0.content.0.source.type",
          NULL },
        { "{" MINREQ ",\"system\":5,\"messages\":[]}", "system", NULL },
        { "{" MINREQ ",\"system\":[{\"type\":\"image\"}],\"messages\":[]}",
          "system.0.type", NULL },
        { "{" MINREQ ",\"messages\":[],\"tools\":{}}", "tools", NULL },
        { "{" MINREQ ",\"messages\":[],\"tools\":[{\"input_schema\":{}}]}",
          "tools.0.name", "tools.0.name: Field required" },
        { "{" MINREQ ",\"messages\":[],\"tools\":[{\"name\":\"f\"}]}",
          "tools.0.input_schema", "tools.0.input_schema: Field required" },
        { "{" MINREQ ",\"messages\":[],\"tool_choice\":{\"type\":\"some\"}}",
          "tool_choice.type", NULL },
        { "{" MINREQ ",\"messages\":[],\"tool_choice\":{\"type\":\"tool\"}}",
          "tool_choice.name", NULL },
        { "{" MINREQ ",\"messages\":[],\"tool_choice\":\"auto\"}",
          "tool_choice", NULL },
        { "{" MINREQ ",\"messages\":[],\"temperature\":1.5}", "temperature",
          "temperature: Input should be between 0 and 1" },
        { "{" MINREQ ",\"messages\":[],\"top_p\":\"x\"}", "top_p", NULL },
        { "{" MINREQ ",\"messages\":[],\"top_k\":1.5}", "top_k", NULL },
        { "{" MINREQ ",\"messages\":[],\"stop_sequences\":\"x\"}",
          "stop_sequences", NULL },
        { "{" MINREQ ",\"messages\":[],\"stop_sequences\":[\"a\",1]}",
          "stop_sequences.1", NULL },
        { "{" MINREQ ",\"messages\":[],\"thinking\":{\"type\":\"enabled\"}}",
          "thinking.budget_tokens", NULL },
        { "{" MINREQ ",\"messages\":[],\"thinking\":{\"type\":\"on\"}}",
          "thinking.type", NULL },
        { "{" MINREQ ",\"messages\":[],\"output_config\":{\"effort\":"
          "\"extreme\"}}", "output_config.effort", NULL },
        { "{" MINREQ ",\"messages\":[],\"metadata\":\"u\"}", "metadata",
          NULL },
        { "{" MINREQ ",\"messages\":[],\"stream\":\"yes\"}", "stream", NULL },
        { NULL, NULL, NULL } };
    int i;

    for (i = 0; cases[i].json; i++) {
        llmp_error_t *e = ir_err(p, cases[i].json);
        CHECK(e != NULL);
        if (!e) {
            fprintf(stderr, "  no error for %s\n", cases[i].json);
            continue;
        }
        CHECK_INT(e->status, 400);
        CHECK_STR(e->type, "invalid_request_error");
        CHECK_STR(e->param, cases[i].param);
        /* the message starts with the field's path, as Anthropic's do */
        CHECK(e->message && !strncmp(e->message, cases[i].param,
                                     strlen(cases[i].param))
              && e->message[strlen(cases[i].param)] == ':');
        if (cases[i].msg) CHECK_STR(e->message, cases[i].msg);
        /* and the body is Anthropic's shape */
        {
            char *body = llmp_front_messages.error_json(p, e);
            cJSON *j = llmp_json_parse_pool(p, body, strlen(body));
            CHECK_STR(at_str(j, "type"), "error");
            CHECK_STR(at_str(j, "error.type"), "invalid_request_error");
            CHECK_STR(at_str(j, "error.message"), e->message);
        }
    }
    /* not an object */
    {
        cJSON *arr = cJSON_CreateArray();
        llmp_error_t *e;
        cJSON *ir = NULL;
        llmp_json_pool_own(p, arr);
        e = llmp_front_messages.request(front(p, 0, arr, NULL), arr, &ir);
        CHECK(e && e->status == 400);
    }
}

/* ---- answers ---- */

static cJSON *answer_of(apr_pool_t *p, llmp_front_t *f, const cJSON *ir)
{
    char *out = NULL;
    apr_size_t len = 0;
    llmp_error_t *e = llmp_front_messages.response(f, ir, &out, &len);

    CHECK(e == NULL);
    if (e) return NULL;
    CHECK(len == strlen(out));
    return llmp_json_parse_pool(p, out, len);
}

static void t_resp_tools(apr_pool_t *p)
{
    cJSON *ir = llmp_fixture_json(p, "messages/ir_completion_tools.json");
    llmp_front_t *f = front(p, 0, NULL, NULL);
    cJSON *m = answer_of(p, f, ir), *again;

    if (!m) return;
    CHECK_STR(at_str(m, "id"), "msg_test");
    CHECK_STR(at_str(m, "type"), "message");
    CHECK_STR(at_str(m, "role"), "assistant");
    CHECK_STR(at_str(m, "model"), "test-model-v1");
    CHECK_INT(cJSON_GetArraySize(at(m, "content")), 4);
    CHECK_STR(at_str(m, "content.0.type"), "thinking");
    CHECK_STR(at_str(m, "content.0.thinking"), "Need the weather tool.");
    CHECK_STR(at_str(m, "content.0.signature"), "sig-abc");
    CHECK_STR(at_str(m, "content.1.type"), "text");
    CHECK_STR(at_str(m, "content.1.text"), "I will check the weather.");
    CHECK_STR(at_str(m, "content.2.type"), "tool_use");
    CHECK_STR(at_str(m, "content.2.id"), "call_1");
    CHECK_STR(at_str(m, "content.2.name"), "get_weather");
    CHECK_STR(at_str(m, "content.2.input.city"), "Paris");
    CHECK_STR(at_str(m, "content.3.name"), "get_time");
    CHECK(cJSON_IsObject(at(m, "content.3.input")));
    CHECK(at(m, "content.3.input")->child == NULL);
    CHECK_STR(at_str(m, "stop_reason"), "tool_use");
    CHECK(cJSON_IsNull(at(m, "stop_sequence")));
    CHECK_INT(at_num(m, "usage.input_tokens"), 20);
    CHECK_INT(at_num(m, "usage.cache_read_input_tokens"), 100);
    CHECK_INT(at_num(m, "usage.cache_creation_input_tokens"), 0);
    CHECK_INT(at_num(m, "usage.output_tokens"), 30);
    /* f->answer is the same answer */
    again = reparse(p, f->answer);
    CHECK(cJSON_Compare(again, m, 1));
}

static void t_resp_stop_reasons(apr_pool_t *p)
{
    static const struct { const char *finish; const char *stop; } cases[] = {
        { "\"stop\"", "end_turn" }, { "\"length\"", "max_tokens" },
        { "\"tool_calls\"", "tool_use" },
        { "\"content_filter\"", "refusal" }, { "null", "end_turn" },
        { NULL, NULL } };
    int i;

    for (i = 0; cases[i].finish; i++) {
        const char *json = apr_pstrcat(p,
            "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{"
            "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            "\"Hi\"},\"finish_reason\":", cases[i].finish, "}]}", NULL);
        cJSON *ir = llmp_json_parse_pool(p, json, strlen(json));
        cJSON *m = answer_of(p, front(p, 0, NULL, NULL), ir);
        CHECK_STR(at_str(m, "stop_reason"), cases[i].stop);
        CHECK_STR(at_str(m, "content.0.text"), "Hi");
        CHECK_INT(cJSON_GetArraySize(at(m, "content")), 1);
        /* no usage in the IR: zeros, no cache fields */
        CHECK_INT(at_num(m, "usage.input_tokens"), 0);
        CHECK_INT(at_num(m, "usage.output_tokens"), 0);
        CHECK(at(m, "usage.cache_read_input_tokens") == NULL);
    }
}

static void t_resp_misc(apr_pool_t *p)
{
    llmp_front_t *f = front(p, 0, NULL, NULL);
    const char *json;
    cJSON *ir, *m;
    char *out;
    apr_size_t len;

    /* no id: one is made; IR built with llmp_completion_new (raw ints) */
    f->id = NULL;
    ir = llmp_completion_new("chatcmpl-1", 1, "m");
    llmp_json_pool_own(p, ir);
    llmp_completion_add_choice(ir, 0, "", LLMP_FINISH_STOP);
    cJSON_AddItemToObject(ir, "usage", llmp_usage_new(12, 3, -1));
    m = answer_of(p, f, ir);
    CHECK(at_str(m, "id") && !strncmp(at_str(m, "id"), "msg_", 4)
          && strlen(at_str(m, "id")) > 10);
    CHECK_INT(cJSON_GetArraySize(at(m, "content")), 0);
    CHECK_INT(at_num(m, "usage.input_tokens"), 12);
    CHECK_INT(at_num(m, "usage.output_tokens"), 3);
    /* refusal text, stop with tool calls -> tool_use, thinking without a
     * signature */
    json = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
           "null,\"refusal\":\"I can't.\",\"reasoning_content\":\"hmm\"},"
           "\"finish_reason\":\"content_filter\"}]}";
    ir = llmp_json_parse_pool(p, json, strlen(json));
    m = answer_of(p, front(p, 0, NULL, NULL), ir);
    CHECK_STR(at_str(m, "content.0.type"), "thinking");
    CHECK_STR(at_str(m, "content.0.signature"), "");
    CHECK_STR(at_str(m, "content.1.text"), "I can't.");
    CHECK_STR(at_str(m, "stop_reason"), "refusal");
    json = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
           "null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
           "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
           "\"finish_reason\":\"stop\"}]}";
    ir = llmp_json_parse_pool(p, json, strlen(json));
    m = answer_of(p, front(p, 0, NULL, NULL), ir);
    CHECK_STR(at_str(m, "stop_reason"), "tool_use");
    CHECK_INT(at_num(m, "content.0.input.a"), 1);
    /* "reasoning" (vLLM, OpenRouter) read as the reasoning too */
    json = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
           "\"4\",\"reasoning\":\"2+2\"},\"finish_reason\":\"stop\"}]}";
    ir = llmp_json_parse_pool(p, json, strlen(json));
    m = answer_of(p, front(p, 0, NULL, NULL), ir);
    CHECK_STR(at_str(m, "content.0.thinking"), "2+2");
    CHECK_STR(at_str(m, "content.1.text"), "4");
    /* no message: a 502 */
    ir = llmp_json_parse_pool(p, "{\"choices\":[]}", 14);
    CHECK(llmp_front_messages.response(front(p, 0, NULL, NULL), ir, &out,
                                       &len) != NULL);
}

/* The Anthropic back translator's IR of a native answer, answered by this
 * front: the Message the backend sent, again. */
static void t_resp_roundtrip_anthropic(apr_pool_t *p)
{
    cJSON *native = llmp_fixture_json(p,
                                      "anthropic/messages_response_tools.json");
    llmp_xlate_t x;
    cJSON *ir = NULL, *m;
    const cJSON *b;
    int i = 0;

    memset(&x, 0, sizeof(x));
    x.pool = p;
    x.model_id = "test-model-v1";
    x.id = "chatcmpl-t";
    CHECK(llmp_anthropic_ops.chat_response(&x, native, &ir) == NULL);
    m = answer_of(p, front(p, 0, NULL, NULL), ir);
    CHECK_STR(at_str(m, "stop_reason"), at_str(native, "stop_reason"));
    cJSON_ArrayForEach(b, at(native, "content")) {
        const cJSON *o;
        /* thinking comes back when the back translator gives reasoning */
        if (!strcmp(llmp_json_str(b, "type"), "thinking")
            && strcmp(at_str(m, "content.0.type"), "thinking"))
            continue;
        o = cJSON_GetArrayItem(at(m, "content"), i++);
        CHECK_STR(llmp_json_str(o, "type"), llmp_json_str(b, "type"));
        if (!strcmp(llmp_json_str(b, "type"), "tool_use")) {
            CHECK_STR(llmp_json_str(o, "id"), llmp_json_str(b, "id"));
            CHECK(cJSON_Compare(llmp_json_get(o, "input"),
                                llmp_json_get(b, "input"), 1));
        }
    }
    CHECK_INT(at_num(m, "usage.output_tokens"),
              at_num(native, "usage.output_tokens"));
}

/* ---- streams ---- */

/* A compact trace of the events: "start|bs0:text|d0:text_delta|stop0|
 * delta:end_turn|mstop" (and "error:<type>"). */
static const char *trace(apr_pool_t *p, const cJSON *events)
{
    const cJSON *e;
    const char *out = "";

    cJSON_ArrayForEach(e, events) {
        const char *ev = llmp_json_str(e, "event");
        const cJSON *d = llmp_json_get(e, "data");
        const char *t;
        int idx = (int)at_num(d, "index");

        if (!strcmp(ev, "message_start")) t = "start";
        else if (!strcmp(ev, "content_block_start"))
            t = apr_psprintf(p, "bs%d:%s", idx,
                             at_str(d, "content_block.type"));
        else if (!strcmp(ev, "content_block_delta"))
            t = apr_psprintf(p, "d%d:%s", idx, at_str(d, "delta.type"));
        else if (!strcmp(ev, "content_block_stop"))
            t = apr_psprintf(p, "stop%d", idx);
        else if (!strcmp(ev, "message_delta"))
            t = apr_psprintf(p, "delta:%s", at_str(d, "delta.stop_reason"));
        else if (!strcmp(ev, "message_stop")) t = "mstop";
        else if (!strcmp(ev, "error"))
            t = apr_psprintf(p, "error:%s", at_str(d, "error.type"));
        else t = ev;
        out = *out ? apr_pstrcat(p, out, "|", t, NULL) : t;
    }
    return out;
}

/* The concatenated deltas of block index (text, thinking, partial_json or
 * signature, by kind). */
static const char *deltas(apr_pool_t *p, const cJSON *events, int index,
                          const char *kind)
{
    const cJSON *e;
    const char *out = "";

    cJSON_ArrayForEach(e, events) {
        const cJSON *d = llmp_json_get(e, "data");
        const char *s;
        if (strcmp(llmp_json_str(e, "event"), "content_block_delta")
            || (int)at_num(d, "index") != index)
            continue;
        s = at_str(d, apr_pstrcat(p, "delta.", kind, NULL));
        if (s) out = apr_pstrcat(p, out, s, NULL);
    }
    return out;
}

/* Feed the chunks of a fixture (an array), then stream_end(NULL). */
static llmp_front_t *run_stream(apr_pool_t *p, const char *fixture,
                                evsink_t *s, llmp_error_t **chunk_err,
                                llmp_error_t **end_err)
{
    cJSON *chunks = llmp_fixture_json(p, fixture);
    llmp_front_t *f = front(p, 1, NULL, s);
    const cJSON *c;

    *chunk_err = NULL;
    cJSON_ArrayForEach(c, chunks) {
        if ((*chunk_err = llmp_front_messages.stream_chunk(f, c))) break;
    }
    *end_err = llmp_front_messages.stream_end(f, *chunk_err);
    return f;
}

static void t_stream_text(apr_pool_t *p)
{
    evsink_t s;
    llmp_error_t *ce, *ee;
    llmp_front_t *f = run_stream(p, "messages/ir_stream_text.json", &s, &ce,
                                 &ee);
    const cJSON *ms, *md;
    cJSON *ans;

    CHECK(ce == NULL && ee == NULL);
    CHECK_INT(s.mismatched, 0);
    CHECK_STR(trace(p, s.events),
              "start|bs0:text|d0:text_delta|d0:text_delta|d0:text_delta|"
              "stop0|delta:end_turn|mstop");
    ms = at(s.events, "0.data.message");
    CHECK_STR(at_str(ms, "id"), "msg_test");
    CHECK_STR(at_str(ms, "type"), "message");
    CHECK_STR(at_str(ms, "role"), "assistant");
    CHECK_STR(at_str(ms, "model"), "test-model-v1");
    CHECK_INT(cJSON_GetArraySize(at(ms, "content")), 0);
    CHECK(cJSON_IsNull(at(ms, "stop_reason")));
    CHECK_INT(at_num(ms, "usage.input_tokens"), 0);
    CHECK_STR(at_str(s.events, "1.data.content_block.text"), "");
    md = at(s.events, "6.data");
    CHECK(cJSON_IsNull(at(md, "delta.stop_sequence")));
    CHECK_INT(at_num(md, "usage.output_tokens"), 7);
    CHECK_INT(at_num(md, "usage.input_tokens"), 25);
    CHECK(at(md, "usage.cache_read_input_tokens") == NULL);
    CHECK_STR(deltas(p, s.events, 0, "text"), "Hello, \"world\"\né ✓");
    /* the answer: what the deltas said */
    ans = reparse(p, f->answer);
    CHECK_STR(at_str(ans, "content.0.text"), "Hello, \"world\"\né ✓");
    CHECK_STR(at_str(ans, "stop_reason"), "end_turn");
    CHECK_INT(at_num(ans, "usage.input_tokens"), 25);
    CHECK_INT(at_num(ans, "usage.output_tokens"), 7);
    /* nothing after the end */
    CHECK(llmp_front_messages.stream_end(f, NULL) == NULL);
    CHECK_INT(cJSON_GetArraySize(s.events), 8);
}

static void t_stream_tools(apr_pool_t *p)
{
    evsink_t s;
    llmp_error_t *ce, *ee;
    llmp_front_t *f = run_stream(p, "messages/ir_stream_tools.json", &s, &ce,
                                 &ee);
    cJSON *ans, *input;
    const char *args;

    CHECK(ce == NULL && ee == NULL);
    CHECK_INT(s.mismatched, 0);
    CHECK_STR(trace(p, s.events),
              "start|bs0:text|d0:text_delta|stop0|bs1:tool_use|"
              "d1:input_json_delta|d1:input_json_delta|d1:input_json_delta|"
              "stop1|bs2:tool_use|d2:input_json_delta|stop2|"
              "delta:tool_use|mstop");
    CHECK_STR(at_str(s.events, "4.data.content_block.id"), "call_A");
    CHECK_STR(at_str(s.events, "4.data.content_block.name"), "get_weather");
    CHECK(cJSON_IsObject(at(s.events, "4.data.content_block.input")));
    CHECK_STR(at_str(s.events, "9.data.content_block.id"), "call_B");
    args = deltas(p, s.events, 1, "partial_json");
    CHECK_STR(args, "{\"city\": \"Paris\"}");
    input = llmp_json_parse_pool(p, args, strlen(args));
    ans = reparse(p, f->answer);
    CHECK(cJSON_Compare(input, at(ans, "content.1.input"), 1));
    CHECK_STR(at_str(ans, "content.0.text"), "Checking.");
    CHECK_STR(at_str(ans, "content.1.type"), "tool_use");
    CHECK_STR(at_str(ans, "content.2.name"), "get_time");
    CHECK_STR(at_str(ans, "stop_reason"), "tool_use");
    CHECK_INT(at_num(s.events, "12.data.usage.input_tokens"), 10);
    CHECK_INT(at_num(s.events, "12.data.usage.cache_read_input_tokens"), 40);
    CHECK_INT(at_num(s.events, "12.data.usage.output_tokens"), 20);
}

static void t_stream_thinking(apr_pool_t *p)
{
    evsink_t s;
    llmp_error_t *ce, *ee;
    llmp_front_t *f = run_stream(p, "messages/ir_stream_thinking.json", &s,
                                 &ce, &ee);
    cJSON *ans;

    CHECK(ce == NULL && ee == NULL);
    CHECK_STR(trace(p, s.events),
              "start|bs0:thinking|d0:thinking_delta|d0:thinking_delta|"
              "d0:signature_delta|stop0|bs1:text|d1:text_delta|stop1|"
              "delta:end_turn|mstop");
    CHECK_STR(at_str(s.events, "1.data.content_block.thinking"), "");
    CHECK_STR(at_str(s.events, "1.data.content_block.signature"), "");
    CHECK_STR(deltas(p, s.events, 0, "thinking"), "Let me think.");
    CHECK_STR(deltas(p, s.events, 0, "signature"), "EqQBCkYIsig");
    ans = reparse(p, f->answer);
    CHECK_STR(at_str(ans, "content.0.type"), "thinking");
    CHECK_STR(at_str(ans, "content.0.thinking"), "Let me think.");
    CHECK_STR(at_str(ans, "content.0.signature"), "EqQBCkYIsig");
    CHECK_STR(at_str(ans, "content.1.text"), "The answer is 4.");
}

static void t_stream_thinking_nosig(apr_pool_t *p)
{
    evsink_t s;
    llmp_front_t *f = front(p, 1, NULL, &s);
    const char *json =
        "[{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":"
        "\"hm\"}}]},{\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"ok\"},\"finish_reason\":\"stop\"}]}]";
    cJSON *chunks = llmp_json_parse_pool(p, json, strlen(json));
    const cJSON *c;

    cJSON_ArrayForEach(c, chunks) {
        CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    }
    CHECK(llmp_front_messages.stream_end(f, NULL) == NULL);
    /* one (empty) signature_delta before the thinking block's stop */
    CHECK_STR(trace(p, s.events),
              "start|bs0:thinking|d0:thinking_delta|d0:signature_delta|stop0|"
              "bs1:text|d1:text_delta|stop1|delta:end_turn|mstop");
    CHECK_STR(at_str(s.events, "3.data.delta.signature"), "");
}

static void t_stream_length(apr_pool_t *p)
{
    evsink_t s;
    llmp_error_t *ce, *ee;
    llmp_front_t *f = run_stream(p, "messages/ir_stream_length.json", &s, &ce,
                                 &ee);

    CHECK(ce == NULL && ee == NULL);
    CHECK_STR(trace(p, s.events),
              "start|bs0:text|d0:text_delta|d0:text_delta|stop0|"
              "delta:max_tokens|mstop");
    CHECK_STR(deltas(p, s.events, 0, "text"), "Once upon a time");
    /* no usage chunk: zeros in message_delta's output_tokens, no
     * input_tokens */
    CHECK_INT(at_num(s.events, "5.data.usage.output_tokens"), 0);
    CHECK(at(s.events, "5.data.usage.input_tokens") == NULL);
    CHECK_STR(at_str(f->answer, "stop_reason"), "max_tokens");
}

static void t_stream_truncated(apr_pool_t *p)
{
    evsink_t s;
    llmp_error_t *ce, *ee;
    llmp_front_t *f = run_stream(p, "messages/ir_stream_truncated.json", &s,
                                 &ce, &ee);

    CHECK(ce == NULL);
    CHECK(ee == NULL);
    /* no finish: an error event, and nothing after it */
    CHECK_STR(trace(p, s.events),
              "start|bs0:text|d0:text_delta|error:api_error");
    CHECK(strstr(at_str(s.events, "3.data.error.message"), "ended early")
          != NULL);
    CHECK_STR(at_str(f->answer, "content.0.text"), "Half an ans");
    CHECK(cJSON_IsNull(at(f->answer, "stop_reason")));
    CHECK(llmp_front_messages.stream_end(f, NULL) == NULL);
    CHECK(llmp_front_messages.stream_chunk(f, at(llmp_fixture_json(
              p, "messages/ir_stream_text.json"), "1")) == NULL);
    CHECK_INT(cJSON_GetArraySize(s.events), 4);
}

static void t_stream_error(apr_pool_t *p)
{
    evsink_t s;
    llmp_front_t *f = front(p, 1, NULL, &s);
    llmp_error_t *e = llmp_error_make(p, 503, "overloaded_error",
                                      "overloaded", NULL, "Overloaded");

    /* an error before anything: the error event alone */
    CHECK(llmp_front_messages.stream_end(f, e) == NULL);
    CHECK_STR(trace(p, s.events), "error:overloaded_error");
    CHECK_STR(at_str(s.events, "0.data.error.message"), "Overloaded");
    CHECK_STR(at_str(s.events, "0.data.type"), "error");

    /* an error after a finish still ends with the error */
    f = front(p, 1, NULL, &s);
    {
        const char *json = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                           "\"x\"},\"finish_reason\":\"stop\"}]}";
        cJSON *c = llmp_json_parse_pool(p, json, strlen(json));
        CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    }
    e = llmp_error_make(p, 504, "api_error", "backend_timeout", NULL,
                        "timed out");
    CHECK(llmp_front_messages.stream_end(f, e) == NULL);
    CHECK_STR(trace(p, s.events),
              "start|bs0:text|d0:text_delta|stop0|error:timeout_error");

    /* a client that went away: the write error is returned */
    f = front(p, 1, NULL, &s);
    s.fail_after = 1;
    {
        cJSON *chunks = llmp_fixture_json(p, "messages/ir_stream_text.json");
        llmp_error_t *ce = NULL;
        const cJSON *c;
        cJSON_ArrayForEach(c, chunks) {
            if ((ce = llmp_front_messages.stream_chunk(f, c))) break;
        }
        CHECK(ce != NULL);
        CHECK(llmp_front_messages.stream_end(f, ce) != NULL);
    }
    /* ... at any event of a tool stream (the answer stays whole: the
     * block being opened when a write fails is kept) */
    {
        int k;
        for (k = 0; k < 14; k++) {
            cJSON *chunks = llmp_fixture_json(p,
                                              "messages/ir_stream_tools.json");
            llmp_error_t *ce = NULL;
            const cJSON *c;
            f = front(p, 1, NULL, &s);
            s.fail_after = k;
            cJSON_ArrayForEach(c, chunks) {
                if ((ce = llmp_front_messages.stream_chunk(f, c))) break;
            }
            CHECK(ce != NULL || k >= 12);
            llmp_front_messages.stream_end(f, ce);
            CHECK(f->answer != NULL);
            CHECK(llmp_json_print(p, f->answer, NULL) != NULL);
        }
    }
}

/* Tool calls in odd shapes: raw integer indexes (llmp_delta_add_tool_call),
 * a call without id, every call at index 0 with its own id. */
static void t_stream_tool_shapes(apr_pool_t *p)
{
    evsink_t s;
    llmp_front_t *f = front(p, 1, NULL, &s);
    cJSON *c, *d, *ans;

    c = llmp_chunk_new("c", 1, "m");
    d = llmp_chunk_add_choice(c, 0, NULL);
    llmp_delta_add_tool_call(d, 0, "call_1", "a", "{\"x\":");
    CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    cJSON_Delete(c);
    c = llmp_chunk_new("c", 1, "m");
    d = llmp_chunk_add_choice(c, 0, NULL);
    llmp_delta_add_tool_call(d, 0, NULL, NULL, "1}");
    CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    cJSON_Delete(c);
    c = llmp_chunk_new("c", 1, "m");
    d = llmp_chunk_add_choice(c, 0, NULL);
    llmp_delta_add_tool_call(d, 0, "call_2", "b", "{}");
    CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    cJSON_Delete(c);
    c = llmp_chunk_new("c", 1, "m");
    d = llmp_chunk_add_choice(c, 0, NULL);
    llmp_delta_add_tool_call(d, 1, NULL, "c", "not json");
    CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    cJSON_Delete(c);
    c = llmp_chunk_new("c", 1, "m");
    llmp_chunk_add_choice(c, 0, LLMP_FINISH_STOP);
    CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    cJSON_Delete(c);
    c = llmp_chunk_new("c", 1, "m");
    cJSON_AddItemToObject(c, "usage", llmp_usage_new(9, 4, 2));
    CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
    cJSON_Delete(c);
    CHECK(llmp_front_messages.stream_end(f, NULL) == NULL);
    CHECK_STR(trace(p, s.events),
              "start|bs0:tool_use|d0:input_json_delta|d0:input_json_delta|"
              "stop0|bs1:tool_use|d1:input_json_delta|stop1|bs2:tool_use|"
              "d2:input_json_delta|stop2|delta:tool_use|mstop");
    CHECK_STR(at_str(s.events, "1.data.content_block.id"), "call_1");
    CHECK_STR(at_str(s.events, "5.data.content_block.id"), "call_2");
    CHECK(!strncmp(at_str(s.events, "8.data.content_block.id"), "toolu_",
                   6));
    CHECK_INT(at_num(s.events, "11.data.usage.input_tokens"), 7);
    CHECK_INT(at_num(s.events, "11.data.usage.cache_read_input_tokens"), 2);
    ans = reparse(p, f->answer);
    CHECK_INT(at_num(ans, "content.0.input.x"), 1);
    CHECK_STR(at_str(ans, "content.1.name"), "b");
    CHECK(cJSON_IsObject(at(ans, "content.2.input")));
    CHECK_STR(at_str(ans, "stop_reason"), "tool_use");
}

/* Native Anthropic SSE through the Anthropic back translator into this
 * front: the events the backend sent come out again (same blocks, same
 * text, same tool input). */
static void t_stream_roundtrip_anthropic(apr_pool_t *p)
{
    static const llmp_xlate_opts_t opts = { 1024, NULL, NULL };
    apr_size_t len;
    char *sse = llmp_fixture(p, "anthropic/stream_tools.sse", &len);
    evsink_t s;
    llmp_front_t *f = front(p, 1, NULL, &s);
    llmp_xlate_t x;
    llmp_error_t *e;
    cJSON *ans;

    memset(&x, 0, sizeof(x));
    x.pool = p;
    x.model_id = "test-model-v1";
    x.id = "chatcmpl-t";
    x.stream = 1;
    x.include_usage = 1;
    x.opts = &opts;
    x.front = f;
    x.want_reasoning = 1;
    e = llmp_feed_sse(p, &llmp_anthropic_ops, &x, sse, len, 7, 65536);
    CHECK(e == NULL);
    CHECK(llmp_anthropic_ops.chat_stream_end(&x, 1) == NULL);
    CHECK(llmp_front_messages.stream_end(f, NULL) == NULL);
    CHECK_INT(s.mismatched, 0);
    ans = reparse(p, f->answer);
    CHECK_STR(at_str(ans, "stop_reason"), "tool_use");
    {
        /* the tool_use blocks of the native stream, with their input */
        int n = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, at(ans, "content")) {
            if (!strcmp(llmp_json_str(b, "type"), "tool_use")) {
                n++;
                CHECK(strlen(llmp_json_str(b, "id")) > 0);
                CHECK(cJSON_IsObject(llmp_json_get(b, "input")));
            }
        }
        CHECK_INT(n, 2);
        b = at(ans, apr_psprintf(p, "content.%d",
                                 cJSON_GetArraySize(at(ans, "content")) - 2));
        CHECK_STR(llmp_json_str(b, "id"), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
        CHECK_STR(at_str(b, "input.location"), "San Francisco, CA");
    }
    CHECK(strstr(trace(p, s.events), "|delta:tool_use|mstop") != NULL);
    CHECK(strstr(trace(p, s.events), "error") == NULL);
    CHECK_STR(deltas(p, s.events, (int)at_num(ans, "content.0.type") < 0
                     && !strcmp(at_str(ans, "content.0.type"), "text")
                     ? 0 : 1, "text"), "Okay, let's check the weather.");
}

/* Each back translator's native streams through this front, as the glue
 * runs them: the events end in message_stop, or in one error event when
 * the native stream was cut or failed; the deltas add up to the answer. */
static void t_stream_backs(apr_pool_t *p)
{
    static const llmp_xlate_opts_t opts = { 1024, "search_document", NULL };
    static const struct {
        const llmp_provider_ops_t *ops; const char *fixture;
        const char *end;
    } cases[] = {
        { &llmp_anthropic_ops, "anthropic/stream_text.sse",
          "|delta:end_turn|mstop" },
        { &llmp_anthropic_ops, "anthropic/stream_tools.sse",
          "|delta:tool_use|mstop" },
        { &llmp_anthropic_ops, "anthropic/stream_truncated.sse", "|error:" },
        { &llmp_anthropic_ops, "anthropic/stream_error.sse", "error:" },
        { &llmp_gemini_ops, "gemini/stream_text.sse",
          "|delta:end_turn|mstop" },
        { &llmp_gemini_ops, "gemini/stream_tool.sse",
          "|delta:tool_use|mstop" },
        { &llmp_gemini_ops, "gemini/stream_truncated.sse", "|error:" },
        { &llmp_cohere_ops, "cohere/chat_stream.sse",
          "|delta:end_turn|mstop" },
        { &llmp_cohere_ops, "cohere/chat_stream_tools.sse",
          "|delta:tool_use|mstop" },
        { &llmp_cohere_ops, "cohere/chat_stream_truncated.sse", "|error:" },
        { NULL, NULL, NULL } };
    int i;

    for (i = 0; cases[i].ops; i++) {
        apr_size_t len;
        char *sse = llmp_fixture(p, cases[i].fixture, &len);
        evsink_t s;
        llmp_front_t *f = front(p, 1, NULL, &s);
        llmp_xlate_t x;
        llmp_error_t *e;
        const char *tr, *end;
        const cJSON *b;
        int bi = 0;

        memset(&x, 0, sizeof(x));
        x.pool = p;
        x.model_id = "test-model-v1";
        x.handle = "/v1/test";
        x.id = "chatcmpl-t";
        x.stream = 1;
        x.include_usage = 1;
        x.opts = &opts;
        x.front = f;
        x.want_reasoning = 1;
        e = llmp_feed_sse(p, cases[i].ops, &x, sse, len, 5, 65536);
        if (x.front_err) e = x.front_err;
        if (!e) e = cases[i].ops->chat_stream_end(&x, 1);
        CHECK(llmp_front_messages.stream_end(f, e) == NULL);
        CHECK_INT(s.mismatched, 0);
        tr = trace(p, s.events);
        end = strstr(tr, cases[i].end);
        if (!end || strlen(end) > strlen(cases[i].end) + 24)
            fprintf(stderr, "  %s: %s\n", cases[i].fixture, tr);
        CHECK(end != NULL);
        /* one error at most, and last */
        end = strstr(tr, "error:");
        CHECK(!end || !strchr(end, '|'));
        /* the answer's text and tool input are what the deltas said */
        cJSON_ArrayForEach(b, at(f->answer, "content")) {
            const char *type = llmp_json_str(b, "type");
            if (!strcmp(type, "text"))
                CHECK_STR(deltas(p, s.events, bi, "text"),
                          llmp_json_str(b, "text"));
            else if (!strcmp(type, "tool_use")) {
                const char *args = deltas(p, s.events, bi, "partial_json");
                cJSON *in = llmp_json_parse_pool(p, args, strlen(args));
                if (!strstr(tr, "error:"))
                    CHECK(cJSON_Compare(in, llmp_json_get(b, "input"), 1));
            }
            bi++;
        }
    }
}

static void t_stream_ping(apr_pool_t *p)
{
    evsink_t s;
    llmp_front_t *f = front(p, 1, NULL, &s);
    cJSON *chunks = llmp_fixture_json(p, "messages/ir_stream_text.json");
    const cJSON *c;

    CHECK(llmp_messages_ping(f) == NULL);
    cJSON_ArrayForEach(c, chunks) {
        CHECK(llmp_front_messages.stream_chunk(f, c) == NULL);
        CHECK(llmp_messages_ping(f) == NULL);
    }
    CHECK(llmp_front_messages.stream_end(f, NULL) == NULL);
    CHECK(llmp_messages_ping(f) == NULL);          /* nothing after */
    CHECK_STR(trace(p, s.events),
              "ping|start|ping|bs0:text|d0:text_delta|ping|d0:text_delta|"
              "ping|d0:text_delta|ping|stop0|ping|ping|delta:end_turn|mstop");
    CHECK_INT(s.mismatched, 0);
    CHECK_STR(at_str(s.events, "0.data.type"), "ping");
    /* deltas and answer unchanged by pings */
    CHECK_STR(at_str(f->answer, "content.0.text"), "Hello, \"world\"\né ✓");
    f = front(p, 1, NULL, &s);
    s.fail_after = 0;
    CHECK(llmp_messages_ping(f) != NULL);
}

/* A native stream split at every byte boundary gives the same events. */
static void t_stream_every_split(apr_pool_t *p)
{
    static const llmp_xlate_opts_t opts = { 1024, NULL, NULL };
    apr_size_t len, step;
    char *sse = llmp_fixture(p, "anthropic/stream_tools.sse", &len);
    const char *first = NULL;
    int same = 0, runs = 0;

    for (step = 1; step <= len; step++) {
        apr_pool_t *sub;
        evsink_t s;
        llmp_front_t *f;
        llmp_xlate_t x;
        llmp_error_t *e;
        const char *printed;

        apr_pool_create(&sub, p);
        f = front(sub, 1, NULL, &s);
        memset(&x, 0, sizeof(x));
        x.pool = sub;
        x.model_id = "test-model-v1";
        x.id = "chatcmpl-t";
        x.stream = 1;
        x.include_usage = 1;
        x.opts = &opts;
        x.front = f;
        e = llmp_feed_sse(sub, &llmp_anthropic_ops, &x, sse, len, step,
                          65536);
        if (!e) e = llmp_anthropic_ops.chat_stream_end(&x, 1);
        llmp_front_messages.stream_end(f, e);
        /* the events as printed (every front here answers "msg_test") */
        printed = llmp_json_print(sub, s.events, NULL);
        if (!first) first = apr_pstrdup(p, printed);
        same += printed && !strcmp(printed, first);
        runs++;
        apr_pool_destroy(sub);
    }
    CHECK_INT(same, runs);
    CHECK(first && strstr(first, "message_stop"));
}

/* ---- errors ---- */

static void t_error_types(apr_pool_t *p)
{
    static const struct { int status; const char *type; const char *code;
                          const char *want; int wstatus; } cases[] = {
        { 400, "invalid_request_error", NULL, "invalid_request_error", 400 },
        { 401, "authentication_error", NULL, "authentication_error", 401 },
        { 402, "insufficient_quota", NULL, "billing_error", 402 },
        { 403, "permission_error", NULL, "permission_error", 403 },
        { 404, "invalid_request_error", "model_not_found", "not_found_error",
          404 },
        { 413, "invalid_request_error", NULL, "request_too_large", 413 },
        { 400, "invalid_request_error", "request_too_large",
          "request_too_large", 400 },
        { 429, "rate_limit_error", NULL, "rate_limit_error", 429 },
        { 429, "insufficient_quota", NULL, "rate_limit_error", 429 },
        { 500, "api_error", NULL, "api_error", 500 },
        { 502, "api_error", "bad_backend_response", "api_error", 502 },
        { 503, "api_error", NULL, "overloaded_error", 529 },
        { 503, "overloaded_error", "overloaded", "overloaded_error", 529 },
        { 504, "api_error", "backend_timeout", "timeout_error", 504 },
        { 405, NULL, NULL, "invalid_request_error", 405 },
        { 408, NULL, NULL, "timeout_error", 408 },
        { 0, "api_error", NULL, "api_error", 500 },
        { 0, NULL, NULL, NULL, 0 } };
    int i;

    for (i = 0; cases[i].want; i++) {
        llmp_error_t *e = llmp_error_make(p, cases[i].status, cases[i].type,
                                          cases[i].code, NULL, "m%d", i);
        char *body = llmp_front_messages.error_json(p, e);
        cJSON *j = llmp_json_parse_pool(p, body, strlen(body));

        CHECK_STR(llmp_messages_error_type(e), cases[i].want);
        CHECK_INT(llmp_messages_error_status(e), cases[i].wstatus);
        CHECK_STR(at_str(j, "type"), "error");
        CHECK_STR(at_str(j, "error.type"), cases[i].want);
        CHECK_STR(at_str(j, "error.message"), apr_psprintf(p, "m%d", i));
        CHECK(body[strlen(body) - 1] == '}');
        CHECK(at(j, "error.param") == NULL);
    }
}

/* ---- count_tokens ---- */

static void t_count_tokens(apr_pool_t *p)
{
    const char *json;
    cJSON *req;
    long n = -1, n2 = -1;

    json = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
           "\"abcdefghijklmnop\"}]}";
    req = llmp_json_parse_pool(p, json, strlen(json));
    CHECK(llmp_messages_count_tokens(p, req, &n) == NULL);
    CHECK_INT(n, 4 + 4);                      /* 16 bytes / 4 + a message */
    json = "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":"
           "\"abcdefghijklmnop\"}],\"messages\":[{\"role\":\"user\","
           "\"content\":[{\"type\":\"text\",\"text\":\"abcdefghijklmnop\"},"
           "{\"type\":\"image\",\"source\":{\"type\":\"base64\","
           "\"media_type\":\"image/png\",\"data\":\"xx\"}}]}],\"tools\":"
           "[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]}";
    req = llmp_json_parse_pool(p, json, strlen(json));
    CHECK(llmp_messages_count_tokens(p, req, &n2) == NULL);
    CHECK(n2 > n + 1600);
    /* the Claude Code request: a plausible figure */
    req = llmp_fixture_json(p, "messages/claude_code_request.json");
    CHECK(llmp_messages_count_tokens(p, req, &n) == NULL);
    CHECK(n > 10000 && n < 40000);
    /* empty: at least 1 */
    req = llmp_json_parse_pool(p, "{\"messages\":[]}", 15);
    CHECK(llmp_messages_count_tokens(p, req, &n) == NULL);
    CHECK_INT(n, 1);
    /* errors */
    req = llmp_json_parse_pool(p, "{\"model\":\"m\"}", 13);
    {
        llmp_error_t *e = llmp_messages_count_tokens(p, req, &n);
        CHECK(e && e->status == 400);
        CHECK_STR(e ? e->message : NULL, "messages: Field required");
    }
    req = llmp_json_parse_pool(p, "{\"messages\":[1]}", 16);
    CHECK(llmp_messages_count_tokens(p, req, &n) != NULL);
}

/* Time linear in the request: many blocks and many messages. */
static void t_req_linear(apr_pool_t *p)
{
    llmp_buf_t b;
    int i;
    cJSON *req, *ir;
    llmp_error_t *err = NULL;
    double t0, secs;

    llmp_buf_init(&b, p, LLMP_JSON_MAX);
    llmp_buf_append(&b, "{\"max_tokens\":10,\"system\":[", 27);
    for (i = 0; i < 50000; i++)
        llmp_buf_append(&b, i ? ",{\"type\":\"text\",\"text\":\"s\"}"
                              : "{\"type\":\"text\",\"text\":\"s\"}",
                        i ? 28 : 27);
    llmp_buf_append(&b, "],\"messages\":[", 14);
    for (i = 0; i < 50000; i++) {
        const char *m = i % 2
            ? ",{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
              "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}"
            : ",{\"role\":\"user\",\"content\":[{\"type\":\"text\","
              "\"text\":\"u\"}]}";
        if (!i) m++;
        llmp_buf_append(&b, m, strlen(m));
    }
    llmp_buf_append(&b, "]}", 2);
    req = llmp_json_parse_pool(p, b.data, b.len);
    CHECK(req != NULL);
    t0 = llmp_test_cpu_seconds();
    ir = ir_of(p, req, &err);
    secs = llmp_test_cpu_seconds() - t0;
    CHECK(err == NULL && ir != NULL);
    CHECK(secs < 2.0 * LLMP_TEST_SLOW);
    CHECK_INT(cJSON_GetArraySize(at(ir, "messages")), 50001);
}

TEST_MAIN_BEGIN("messages")
    RUN(t_req_minimal);
    RUN(t_req_blocks);
    RUN(t_req_system_forms);
    RUN(t_req_tool_choice);
    RUN(t_req_thinking);
    RUN(t_req_output_format);
    RUN(t_req_tool_result_forms);
    RUN(t_req_claude_code);
    RUN(t_req_claude_code_turn);
    RUN(t_req_backs);
    RUN(t_req_errors);
    RUN(t_req_linear);
    RUN(t_resp_tools);
    RUN(t_resp_stop_reasons);
    RUN(t_resp_misc);
    RUN(t_resp_roundtrip_anthropic);
    RUN(t_stream_text);
    RUN(t_stream_tools);
    RUN(t_stream_thinking);
    RUN(t_stream_thinking_nosig);
    RUN(t_stream_length);
    RUN(t_stream_truncated);
    RUN(t_stream_error);
    RUN(t_stream_tool_shapes);
    RUN(t_stream_roundtrip_anthropic);
    RUN(t_stream_backs);
    RUN(t_stream_every_split);
    RUN(t_stream_ping);
    RUN(t_error_types);
    RUN(t_count_tokens);
TEST_MAIN_END
