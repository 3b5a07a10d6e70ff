/* Unit tests: the Gemini translator (chat request/response/stream,
 * embeddings, errors) against the wire fixtures in tests/fixtures/gemini. */
#include "llmp_test.h"
#include "llmp_provider.h"
#include "llmp_sse.h"

#include <malloc.h>
#include <apr_time.h>

#define MAXCH 64

#if defined(__SANITIZE_ADDRESS__)
#define SLOW 5            /* ASan: timing bounds are stretched */
#define HEAP_STATS 0      /* and the heap is ASan's, not glibc's */
#else
#define SLOW 1
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#define HEAP_STATS 1
#else
#define HEAP_STATS 0
#endif
#endif

typedef struct {
    int n;
    cJSON *chunk[MAXCH];
    int fail_after;      /* emit fails after this many chunks (0: never) */
    /* over every chunk, kept or not */
    apr_size_t text_len; /* content delta bytes */
    int finishes;        /* choices with a finish_reason */
    int calls;           /* tool-call deltas */
    int nameless;        /* tool-call deltas with an id but no/empty name */
    int invalid;         /* chunks that do not parse */
} sink_t;

static apr_status_t sink_emit(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;
    cJSON *j, *ch, *tc;

    if (s->fail_after && s->n >= s->fail_after) return APR_EGENERAL;
    j = cJSON_ParseWithLength(data, len);
    if (!j) s->invalid++;
    cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(j, "choices")) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        const char *c = at_str(d, "content");
        if (c) s->text_len += strlen(c);
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
                               ch, "finish_reason")))
            s->finishes++;
        cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(
                                   d, "tool_calls")) {
            const char *name = at_str(tc, "function.name");
            s->calls++;
            if (at_str(tc, "id") && (!name || !*name)) s->nameless++;
        }
    }
    if (s->n < MAXCH) s->chunk[s->n] = j;
    else cJSON_Delete(j);
    s->n++;
    return APR_SUCCESS;
}

static void sink_free(sink_t *s)
{
    int i;
    for (i = 0; i < s->n && i < MAXCH; i++) cJSON_Delete(s->chunk[i]);
}

/* cJSON's live and peak heap bytes, through its allocation hooks: what a
 * translator keeps of the trees it builds or parses. */
static long json_live, json_peak;

static void *count_malloc(size_t n)
{
    void *q = malloc(n);
    if (q) {
        json_live += (long)malloc_usable_size(q);
        if (json_live > json_peak) json_peak = json_live;
    }
    return q;
}

static void count_free(void *q)
{
    if (q) json_live -= (long)malloc_usable_size(q);
    free(q);
}

static void count_start(void)
{
    cJSON_Hooks h = { count_malloc, count_free };
    json_live = json_peak = 0;
    cJSON_InitHooks(&h);
}

static void count_stop(void)
{
    cJSON_InitHooks(NULL);
}

/* Bytes of the process heap in use (pool blocks included), or -1 when it
 * cannot be told. */
static long heap_used(void)
{
#if HEAP_STATS
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

static llmp_xlate_t *mkx(apr_pool_t *p, const char *handle, const char *model,
                         int stream, sink_t *s)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));
    x->pool = p;
    x->model_id = model;
    x->handle = handle;
    x->id = "chatcmpl-test";
    x->created = 1700000000;
    x->stream = stream;
    x->opts = &opts;
    x->emit = sink_emit;
    x->emit_baton = s;
    return x;
}

static cJSON *parse(apr_pool_t *p, const char *s)
{
    return llmp_json_parse_pool(p, s, strlen(s));
}

static cJSON *fixture_json(apr_pool_t *p, const char *name)
{
    return llmp_fixture_json(p, apr_pstrcat(p, "gemini/", name, NULL));
}

/* ---- request ---- */

static cJSON *native_of(apr_pool_t *p, llmp_native_req_t *out)
{
    return llmp_json_parse_pool(p, out->body, out->len);
}

static void t_paths(apr_pool_t *p)
{
    llmp_native_req_t out;
    cJSON *req = parse(p, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"hi\"}]}");
    struct { const char *handle, *model; int stream; const char *path; }
    cases[] = {
        { "/google/v1beta/models/gemini-2.0-flash:generateContent",
          "gemini-2.0-flash", 0,
          "/google/v1beta/models/gemini-2.0-flash:generateContent" },
        { "/google/v1beta/models/gemini-2.0-flash:generateContent",
          "gemini-2.0-flash", 1,
          "/google/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse" },
        { "/google/v1beta/models", "gemini-1.5-pro", 0,
          "/google/v1beta/models/gemini-1.5-pro:generateContent" },
        { "/google/v1beta/models/", "models/gemini-1.5-pro", 1,
          "/google/v1beta/models/gemini-1.5-pro:streamGenerateContent?alt=sse" },
        { "/gemini/v1beta/models/x:streamGenerateContent", "x", 0,
          "/gemini/v1beta/models/x:generateContent" },
        { "/gemini/v1beta/models/x:streamGenerateContent?alt=sse", "x", 1,
          "/gemini/v1beta/models/x:streamGenerateContent?alt=sse" },
        { "/raw/google/v1beta/models/x:generateContent?tag=a", "x", 1,
          "/raw/google/v1beta/models/x:streamGenerateContent?alt=sse&tag=a" },
        { "/raw/google/v1beta/models/x:streamGenerateContent?alt=sse&t=b",
          "x", 0, "/raw/google/v1beta/models/x:generateContent?t=b" },
        { NULL, NULL, 0, NULL }
    };
    int i;

    for (i = 0; cases[i].handle; i++) {
        llmp_xlate_t *x = mkx(p, cases[i].handle, cases[i].model,
                              cases[i].stream, NULL);
        memset(&out, 0, sizeof(out));
        CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
        CHECK_STR(out.path, cases[i].path);
        CHECK_INT(out.stream, cases[i].stream);
    }
}

static void t_request_full(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models/gemini-2.0-flash:"
                          "generateContent", "gemini-2.0-flash", 0, NULL);
    cJSON *req = fixture_json(p, "request_chat.json"), *n;
    llmp_native_req_t out;
    const cJSON *c, *params;

    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
    n = native_of(p, &out);
    CHECK(n != NULL);
    /* exactly the allowed top-level members */
    cJSON_ArrayForEach(c, n) {
        CHECK(!strcmp(c->string, "contents")
              || !strcmp(c->string, "systemInstruction")
              || !strcmp(c->string, "generationConfig")
              || !strcmp(c->string, "tools")
              || !strcmp(c->string, "toolConfig"));
    }
    CHECK_STR(at_str(n, "systemInstruction.parts.0.text"), "You are terse.");
    CHECK_STR(at_str(n, "systemInstruction.parts.1.text"),
              "Answer in English.");
    /* user, user merged */
    CHECK_INT(cJSON_GetArraySize(at(n, "contents")), 5);
    CHECK_STR(at_str(n, "contents.0.role"), "user");
    CHECK_STR(at_str(n, "contents.0.parts.0.text"),
              "What is the weather in Paris?");
    CHECK_STR(at_str(n, "contents.0.parts.1.text"), "Also look at these.");
    CHECK_STR(at_str(n, "contents.0.parts.2.inlineData.mimeType"),
              "image/png");
    CHECK_STR(at_str(n, "contents.0.parts.2.inlineData.data"),
              "iVBORw0KGgo=");
    CHECK_STR(at_str(n, "contents.0.parts.3.fileData.mimeType"),
              "image/webp");
    CHECK_STR(at_str(n, "contents.0.parts.3.fileData.fileUri"),
              "https://example.com/pics/cat.webp?size=2");
    CHECK_STR(at_str(n, "contents.0.parts.4.fileData.mimeType"),
              "image/jpeg");
    /* assistant tool calls */
    CHECK_STR(at_str(n, "contents.1.role"), "model");
    CHECK_STR(at_str(n, "contents.1.parts.0.functionCall.name"),
              "get_weather");
    CHECK_STR(at_str(n, "contents.1.parts.0.functionCall.args.location"),
              "Paris");
    CHECK_STR(at_str(n, "contents.1.parts.0.thoughtSignature"), "c2ln");
    CHECK_STR(at_str(n, "contents.1.parts.1.functionCall.name"), "get_time");
    CHECK(cJSON_IsObject(at(n, "contents.1.parts.1.functionCall.args")));
    CHECK(at(n, "contents.1.parts.1.thoughtSignature") == NULL);
    /* tool results, names found from the ids */
    CHECK_STR(at_str(n, "contents.2.role"), "user");
    CHECK_STR(at_str(n, "contents.2.parts.0.functionResponse.name"),
              "get_weather");
    CHECK_INT(at_num(n, "contents.2.parts.0.functionResponse.response.temp"),
              21);
    CHECK_STR(at_str(n, "contents.2.parts.1.functionResponse.name"),
              "get_time");
    CHECK_STR(at_str(n, "contents.2.parts.1.functionResponse.response."
                     "content"), "12:00");
    CHECK_STR(at_str(n, "contents.3.role"), "model");
    CHECK_STR(at_str(n, "contents.3.parts.0.text"), "It is 21C at noon.");
    CHECK_STR(at_str(n, "contents.4.role"), "user");
    /* generationConfig */
    CHECK(at_num(n, "generationConfig.temperature") == 0.2);
    CHECK(at_num(n, "generationConfig.topP") == 0.9);
    CHECK_INT(at_num(n, "generationConfig.maxOutputTokens"), 256);
    CHECK_STR(at_str(n, "generationConfig.stopSequences.0"), "END");
    CHECK_INT(at_num(n, "generationConfig.candidateCount"), 2);
    CHECK_INT(at_num(n, "generationConfig.seed"), 42);
    CHECK_STR(at_str(n, "generationConfig.responseMimeType"),
              "application/json");
    CHECK_STR(at_str(n, "generationConfig.responseSchema.type"), "object");
    CHECK(at(n, "generationConfig.responseSchema.additionalProperties")
          == NULL);
    CHECK_STR(at_str(n, "generationConfig.responseSchema.required.0"),
              "answer");
    CHECK(at(n, "generationConfig.presencePenalty") == NULL);
    /* tools, schema cleaned */
    CHECK_STR(at_str(n, "tools.0.functionDeclarations.0.name"),
              "get_weather");
    CHECK_STR(at_str(n, "tools.0.functionDeclarations.0.description"),
              "Weather for a place");
    params = at(n, "tools.0.functionDeclarations.0.parameters");
    CHECK(params != NULL);
    CHECK(at(params, "$schema") == NULL);
    CHECK(at(params, "additionalProperties") == NULL);
    CHECK(at(params, "$defs") == NULL);
    CHECK(at(params, "properties.location.format") == NULL);
    CHECK_STR(at_str(params, "properties.location.description"), "City");
    CHECK_STR(at_str(params, "properties.unit.type"), "string");
    CHECK(cJSON_IsTrue(at(params, "properties.unit.nullable")));
    CHECK_STR(at_str(params, "properties.unit.enum.1"), "fahrenheit");
    CHECK(at(params, "properties.unit.anyOf") == NULL);
    CHECK_STR(at_str(params, "properties.days.type"), "integer");
    CHECK(cJSON_IsTrue(at(params, "properties.days.nullable")));
    CHECK_INT(at_num(params, "properties.days.minimum"), 1);
    CHECK_STR(at_str(params, "properties.place.type"), "object");
    CHECK_STR(at_str(params, "properties.place.properties.lat.type"),
              "number");
    CHECK(at(params, "properties.place.additionalProperties") == NULL);
    CHECK_STR(at_str(params, "required.0"), "location");
    /* empty object parameters omitted */
    CHECK_STR(at_str(n, "tools.0.functionDeclarations.1.name"), "get_time");
    CHECK(at(n, "tools.0.functionDeclarations.1.parameters") == NULL);
    CHECK_STR(at_str(n, "toolConfig.functionCallingConfig.mode"), "ANY");
    CHECK_STR(at_str(n, "toolConfig.functionCallingConfig."
                     "allowedFunctionNames.0"), "get_weather");
}

static void t_request_choices(apr_pool_t *p)
{
    static const struct { const char *tc, *mode; } cases[] = {
        { "\"auto\"", "AUTO" }, { "\"none\"", "NONE" },
        { "\"required\"", "ANY" }, { NULL, NULL } };
    int i;

    for (i = 0; cases[i].tc; i++) {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
        llmp_native_req_t out;
        cJSON *req = parse(p, apr_psprintf(p,
            "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
            "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":"
            "{\"type\":\"string\"}}}}}],\"tool_choice\":%s,"
            "\"response_format\":{\"type\":\"json_object\"}}", cases[i].tc));
        cJSON *n;
        memset(&out, 0, sizeof(out));
        CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
        n = native_of(p, &out);
        CHECK_STR(at_str(n, "toolConfig.functionCallingConfig.mode"),
                  cases[i].mode);
        CHECK(at(n, "toolConfig.functionCallingConfig.allowedFunctionNames")
              == NULL);
        CHECK_STR(at_str(n, "tools.0.functionDeclarations.0.parameters."
                         "properties.a.type"), "string");
        CHECK_STR(at_str(n, "generationConfig.responseMimeType"),
                  "application/json");
        CHECK(at(n, "generationConfig.responseSchema") == NULL);
        CHECK(at(n, "generationConfig.candidateCount") == NULL);
        CHECK(at(n, "systemInstruction") == NULL);
    }
}

static void t_request_errors(apr_pool_t *p)
{
    static const char *const bad[] = {
        "{}",
        "{\"messages\":[]}",
        "{\"messages\":\"hi\"}",
        "{\"messages\":[{\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":42}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
            "\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":"
            "\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}",
        "{\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"nope\","
            "\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
            "\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
            "\"function\":{\"arguments\":\"{}\"}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":0}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tool_choice\":\"required\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tools\":[{\"type\":\"function\",\"function\":{}}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"response_format\":{\"type\":\"yaml\"}}",
        /* $ref fan-out: 2^32 nodes if expanded */
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
            "\"f\",\"parameters\":{\"$ref\":\"#/$defs/A\",\"$defs\":{\"A\":"
            "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":"
            "\"#/$defs/A\"},\"b\":{\"$ref\":\"#/$defs/A\"}}}}}}}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
            "{\"schema\":{\"$ref\":\"#/definitions/A\",\"definitions\":{\"A\":"
            "{\"type\":\"array\",\"anyOf\":[{\"$ref\":\"#/definitions/A\"},"
            "{\"$ref\":\"#/definitions/A\"},{\"$ref\":\"#/definitions/A\"}]}}}}}}",
        NULL };
    int i;

    for (i = 0; bad[i]; i++) {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
        llmp_native_req_t out;
        llmp_error_t *e;
        memset(&out, 0, sizeof(out));
        e = llmp_gemini_ops.chat_request(x, parse(p, bad[i]), &out);
        CHECK(e != NULL);
        if (e) CHECK_INT(e->status, 400);
        else fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
}

static void t_request_misc(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    llmp_native_req_t out;
    cJSON *n;

    /* legacy function role, audio and file parts, assistant text parts */
    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.chat_request(x, parse(p,
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
        "\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":"
        "\"wav\"}},{\"type\":\"file\",\"file\":{\"file_data\":"
        "\"data:application/pdf;base64,JVBERi0=\",\"filename\":\"a.pdf\"}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"ok\"}]},{\"role\":\"function\",\"name\":\"f\",\"content\":"
        "\"[1,2]\"}],\"stop\":\"S\",\"max_tokens\":10}"), &out) == NULL);
    n = native_of(p, &out);
    CHECK_STR(at_str(n, "contents.0.parts.0.inlineData.mimeType"),
              "audio/wav");
    CHECK_STR(at_str(n, "contents.0.parts.1.inlineData.mimeType"),
              "application/pdf");
    CHECK_STR(at_str(n, "contents.0.parts.1.inlineData.data"), "JVBERi0=");
    CHECK_STR(at_str(n, "contents.1.parts.0.text"), "ok");
    CHECK_STR(at_str(n, "contents.2.parts.0.functionResponse.name"), "f");
    CHECK_STR(at_str(n, "contents.2.parts.0.functionResponse.response."
                     "content"), "[1,2]");
    CHECK_STR(at_str(n, "generationConfig.stopSequences.0"), "S");
    CHECK_INT(at_num(n, "generationConfig.maxOutputTokens"), 10);
}

/* ---- response ---- */

static cJSON *respond(apr_pool_t *p, const char *fixture, llmp_error_t **e)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "gemini-2.0-flash", 0,
                          NULL);
    char *out = NULL;
    apr_size_t len = 0;

    *e = llmp_xlate_chat_response(&llmp_gemini_ops, x, fixture_json(p, fixture), &out,
                                       &len);
    return *e ? NULL : llmp_json_parse_pool(p, out, len);
}

static void t_response(apr_pool_t *p)
{
    llmp_error_t *e;
    cJSON *r = respond(p, "response_text.json", &e);

    CHECK(r != NULL);
    CHECK_STR(at_str(r, "id"), "chatcmpl-test");
    CHECK_STR(at_str(r, "object"), "chat.completion");
    CHECK_STR(at_str(r, "model"), "gemini-2.0-flash");
    CHECK_INT(at_num(r, "created"), 1700000000);
    CHECK_STR(at_str(r, "choices.0.message.role"), "assistant");
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "Hello! How can I help you today?");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "stop");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 12);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 29);
    CHECK_INT(at_num(r, "usage.total_tokens"), 41);
    CHECK_INT(at_num(r, "usage.prompt_tokens_details.cached_tokens"), 4);
    CHECK_INT(at_num(r, "usage.completion_tokens_details.reasoning_tokens"),
              20);

    r = respond(p, "response_tool.json", &e);
    CHECK(r != NULL);
    CHECK(cJSON_IsNull(at(r, "choices.0.message.content")));
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.id"),
              "call_0_get_weather__thought__CiQB0e2Kb+sig/AA==");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.type"), "function");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.arguments"),
              "{\"location\":\"Paris\",\"unit\":\"celsius\"}");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.id"),
              "call_1_get_time");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.function.arguments"),
              "{\"tz\":\"Europe/Paris\"}");
    CHECK_INT(at_num(r, "usage.total_tokens"), 65);
    CHECK(at(r, "usage.prompt_tokens_details") == NULL);

    r = respond(p, "response_blocked.json", &e);
    CHECK(r != NULL);
    CHECK_INT(cJSON_GetArraySize(at(r, "choices")), 1);
    CHECK(cJSON_IsNull(at(r, "choices.0.message.content")));
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "content_filter");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 8);

    r = respond(p, "response_multi.json", &e);
    CHECK(r != NULL);
    CHECK_INT(cJSON_GetArraySize(at(r, "choices")), 3);
    CHECK_STR(at_str(r, "choices.1.message.content"), "Two is a long");
    CHECK_STR(at_str(r, "choices.1.finish_reason"), "length");
    CHECK_INT(at_num(r, "choices.2.index"), 2);
    CHECK(cJSON_IsNull(at(r, "choices.2.message.content")));
    CHECK_STR(at_str(r, "choices.2.finish_reason"), "content_filter");

    /* an error body in a 2xx, or garbage */
    {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
        char *out;
        apr_size_t len;
        e = llmp_xlate_chat_response(&llmp_gemini_ops, x, fixture_json(p, "error_503.json"),
                                          &out, &len);
        CHECK(e && e->status == 503);
        e = llmp_xlate_chat_response(&llmp_gemini_ops, x, parse(p, "[1]"), &out, &len);
        CHECK(e && e->status == 502);
        e = llmp_xlate_chat_response(&llmp_gemini_ops, x, parse(p, "{\"candidates\":7}"),
                                          &out, &len);
        CHECK(e && e->status == 502);
        e = llmp_xlate_chat_response(&llmp_gemini_ops, x, parse(p,
                "{\"candidates\":[{\"index\":1e9}]}"), &out, &len);
        CHECK(e && e->status == 502);
    }
}

/* ---- stream ---- */

/* Feeds a fixture stream through the real SSE parser; returns the error
 * of the event or of the end. */
static llmp_error_t *run_stream(apr_pool_t *p, const char *fixture,
                                int include_usage, int complete, sink_t *s)
{
    apr_size_t len;
    char *buf = llmp_fixture(p, apr_pstrcat(p, "gemini/", fixture, NULL),
                             &len);
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "gemini-2.0-flash", 1,
                          s);
    llmp_error_t *err;

    x->include_usage = include_usage;
    err = llmp_feed_sse(p, &llmp_gemini_ops, x, buf, len, 0, 1 << 20);
    if (err) return err;
    return llmp_gemini_ops.chat_stream_end(x, complete);
}

static void t_stream_text(apr_pool_t *p)
{
    sink_t s;
    llmp_error_t *e;

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_text.sse", 1, 1, &s);
    CHECK(e == NULL);
    CHECK_INT(s.n, 6);
    CHECK_STR(at_str(s.chunk[0], "object"), "chat.completion.chunk");
    CHECK_STR(at_str(s.chunk[0], "id"), "chatcmpl-test");
    CHECK_STR(at_str(s.chunk[0], "model"), "gemini-2.0-flash");
    CHECK_STR(at_str(s.chunk[0], "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(s.chunk[0], "choices.0.delta.content"), "");
    CHECK(cJSON_IsNull(at(s.chunk[0], "choices.0.finish_reason")));
    CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"), "The");
    CHECK(at(s.chunk[1], "choices.0.delta.role") == NULL);
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.content"), " sky is blue");
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.content"),
              " because of Rayleigh scattering.");
    CHECK_INT(cJSON_GetArraySize(at(s.chunk[4], "choices.0.delta")), 0);
    CHECK_STR(at_str(s.chunk[4], "choices.0.finish_reason"), "stop");
    CHECK_INT(cJSON_GetArraySize(at(s.chunk[5], "choices")), 0);
    CHECK_INT(at_num(s.chunk[5], "usage.prompt_tokens"), 6);
    CHECK_INT(at_num(s.chunk[5], "usage.completion_tokens"), 11);
    CHECK_INT(at_num(s.chunk[5], "usage.total_tokens"), 17);
    sink_free(&s);

    /* no usage chunk unless asked */
    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_text.sse", 0, 1, &s) == NULL);
    CHECK_INT(s.n, 5);
    sink_free(&s);
}

static void t_stream_tool(apr_pool_t *p)
{
    sink_t s;

    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_tool.sse", 1, 1, &s) == NULL);
    CHECK_INT(s.n, 6);
    CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"), "Checking.");
    CHECK_INT(at_num(s.chunk[2], "choices.0.delta.tool_calls.0.index"), 0);
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.id"),
              "call_0_get_weather__thought__c2lnbmF0dXJl");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.type"),
              "function");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.function."
                     "name"), "get_weather");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.function."
                     "arguments"), "{\"location\":\"Paris\"}");
    CHECK_INT(at_num(s.chunk[3], "choices.0.delta.tool_calls.0.index"), 1);
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.tool_calls.0.id"),
              "call_1_get_time");
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.tool_calls.0.function."
                     "arguments"), "{}");
    CHECK_STR(at_str(s.chunk[4], "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(at_num(s.chunk[5], "usage.completion_tokens"), 37);
    CHECK_INT(at_num(s.chunk[5], "usage.completion_tokens_details."
                     "reasoning_tokens"), 25);
    sink_free(&s);
}

static void t_stream_errors(apr_pool_t *p)
{
    sink_t s;
    llmp_error_t *e;

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_error.sse", 1, 1, &s);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->status, 503);
        CHECK_STR(e->message, "The model is overloaded. Please try again "
                  "later.");
        CHECK_STR(e->code, "UNAVAILABLE");
    }
    CHECK_INT(s.n, 2);
    sink_free(&s);

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_truncated.sse", 1, 1, &s);
    CHECK(e != NULL && e->status == 502);
    sink_free(&s);

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_truncated.sse", 1, 0, &s);
    CHECK(e != NULL && e->status == 502);
    sink_free(&s);

    /* a drop even after a finishReason is an error: Vertex puts one on
     * every chunk, so only a whole transfer says the answer is whole */
    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_text.sse", 0, 0, &s);
    CHECK(e != NULL && e->status == 502);
    sink_free(&s);

    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_blocked.sse", 1, 1, &s) == NULL);
    CHECK_INT(s.n, 3);
    CHECK_STR(at_str(s.chunk[1], "choices.0.finish_reason"),
              "content_filter");
    CHECK_INT(at_num(s.chunk[2], "usage.prompt_tokens"), 9);
    sink_free(&s);

    /* no events at all */
    {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 1, &s);
        memset(&s, 0, sizeof(s));
        e = llmp_gemini_ops.chat_stream_end(x, 1);
        CHECK(e != NULL && e->status == 502);
        /* garbage and unknown events */
        CHECK(llmp_gemini_ops.chat_stream_event(x, "", "nope", 4) != NULL);
        CHECK(llmp_gemini_ops.chat_stream_event(x, "ping", "nope", 4)
              == NULL);
        CHECK(llmp_gemini_ops.chat_stream_event(x, "", "", 0) == NULL);
        CHECK(llmp_gemini_ops.chat_stream_event(x, "", "{\"x\":1}", 7)
              == NULL);
        CHECK_INT(s.n, 0);
    }
    /* client gone: emit fails */
    memset(&s, 0, sizeof(s));
    s.fail_after = 1;
    e = run_stream(p, "stream_text.sse", 0, 1, &s);
    CHECK(e != NULL);
    sink_free(&s);
}

/* ---- embeddings ---- */

static void t_embeddings(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models/text-embedding-004:"
                          "embedContent", "text-embedding-004", 0, NULL);
    llmp_native_req_t out;
    cJSON *n, *r;
    char *body;
    apr_size_t len;

    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"model\":\"text-embedding-004\",\"input\":[\"a\",\"b\"],"
        "\"dimensions\":4}"), &out) == NULL);
    CHECK_STR(out.path, "/google/v1beta/models/text-embedding-004:"
              "batchEmbedContents");
    n = native_of(p, &out);
    CHECK_INT(cJSON_GetArraySize(at(n, "requests")), 2);
    CHECK_STR(at_str(n, "requests.0.model"), "models/text-embedding-004");
    CHECK_STR(at_str(n, "requests.1.content.parts.0.text"), "b");
    CHECK_INT(at_num(n, "requests.1.outputDimensionality"), 4);
    CHECK(llmp_gemini_ops.embeddings_response(x, fixture_json(p,
              "embed_response.json"), &body, &len) == NULL);
    r = parse(p, body);
    CHECK_STR(at_str(r, "object"), "list");
    CHECK_STR(at_str(r, "model"), "text-embedding-004");
    CHECK_INT(at_num(r, "data.1.index"), 1);
    CHECK(at_num(r, "data.1.embedding.1") == -0.25);
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 0);

    /* base64, collection handle, one input */
    x = mkx(p, "/google/v1beta/models", "models/embedding-001", 0, NULL);
    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":\"hello\",\"encoding_format\":\"base64\"}"), &out)
          == NULL);
    CHECK_STR(out.path, "/google/v1beta/models/embedding-001:"
              "batchEmbedContents");
    n = native_of(p, &out);
    CHECK_STR(at_str(n, "requests.0.model"), "models/embedding-001");
    CHECK(at(n, "requests.0.outputDimensionality") == NULL);
    CHECK(llmp_gemini_ops.embeddings_response(x, parse(p,
        "{\"embeddings\":[{\"values\":[1.0,-2.0]}]}"), &body, &len) == NULL);
    r = parse(p, body);
    /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 */
    CHECK_STR(at_str(r, "data.0.embedding"), "AACAPwAAAMA=");
    /* count mismatch, bad vectors */
    CHECK(llmp_gemini_ops.embeddings_response(x, fixture_json(p,
              "embed_response.json"), &body, &len) != NULL);
    CHECK(llmp_gemini_ops.embeddings_response(x, parse(p,
        "{\"embeddings\":[{\"values\":[\"x\"]}]}"), &body, &len) != NULL);
    CHECK(llmp_gemini_ops.embeddings_response(x, parse(p, "{}"), &body,
                                              &len) != NULL);

    /* client mistakes */
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":\"a\",\"encoding_format\":\"hex\"}"), &out)->status
          == 400);
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":[1,2]}"), &out)->status == 400);
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":\"a\",\"dimensions\":0}"), &out)->status == 400);
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p, "{}"), &out)->status
          == 400);
}

/* ---- errors ---- */

static void t_errors(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    llmp_error_t *e;
    const char *raw = "<html>Bad Gateway</html>";

    e = llmp_gemini_ops.error(x, 400, fixture_json(p, "error_400.json"),
                              "", 0);
    CHECK_INT(e->status, 400);
    CHECK_STR(e->type, "invalid_request_error");
    CHECK_STR(e->code, "INVALID_ARGUMENT");
    CHECK(strstr(e->message, "contents is not specified") != NULL);
    e = llmp_gemini_ops.error(x, 429, fixture_json(p, "error_429.json"),
                              "", 0);
    CHECK_INT(e->status, 429);
    CHECK_STR(e->type, "rate_limit_error");
    CHECK_STR(e->message, "Resource has been exhausted (e.g. check quota).");
    e = llmp_gemini_ops.error(x, 503, fixture_json(p, "error_503.json"),
                              "", 0);
    CHECK_INT(e->status, 503);
    /* array-wrapped, and a status only in the body */
    e = llmp_gemini_ops.error(x, 0, parse(p, "[{\"error\":{\"code\":404,"
        "\"message\":\"models/x is not found\",\"status\":\"NOT_FOUND\"}}]"),
        "", 0);
    CHECK_INT(e->status, 404);
    CHECK_STR(e->message, "models/x is not found");
    e = llmp_gemini_ops.error(x, 200, parse(p, "{\"error\":{\"message\":"
        "\"m\",\"status\":\"RESOURCE_EXHAUSTED\"}}"), "", 0);
    CHECK_INT(e->status, 429);
    e = llmp_gemini_ops.error(x, 529, NULL, raw, strlen(raw));
    CHECK_INT(e->status, 503);
    CHECK(strstr(e->message, "Bad Gateway") != NULL);
    e = llmp_gemini_ops.error(x, 418, NULL, NULL, 0);
    CHECK_INT(e->status, 418);
    e = llmp_gemini_ops.error(x, 507, parse(p, "{\"message\":\"x\"}"), "", 0);
    CHECK_INT(e->status, 502);
    CHECK_STR(e->message, "x");
}

/* ---- Vertex: finishReason on every chunk ---- */

static llmp_error_t *event(llmp_xlate_t *x, const char *data)
{
    return llmp_gemini_ops.chat_stream_event(x, "", data, strlen(data));
}

static void t_stream_every_finish(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x;
    int i;

    /* the whole text arrives, one finish_reason, at the end */
    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_every_finish.sse", 1, 1, &s) == NULL);
    CHECK_INT(s.n, 7);
    CHECK_STR(at_str(s.chunk[0], "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"), "The");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.content"), " sky is blue");
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.content"), " because of");
    CHECK_STR(at_str(s.chunk[4], "choices.0.delta.content"),
              " Rayleigh scattering.");
    for (i = 0; i < 5; i++)
        CHECK(cJSON_IsNull(at(s.chunk[i], "choices.0.finish_reason")));
    CHECK_STR(at_str(s.chunk[5], "choices.0.finish_reason"), "stop");
    CHECK_INT(s.finishes, 1);
    CHECK_INT(s.text_len, strlen("The sky is blue because of Rayleigh "
                                 "scattering."));
    CHECK_INT(at_num(s.chunk[6], "usage.completion_tokens"), 11);
    sink_free(&s);

    /* the reason that matters wins: STOP, STOP, MAX_TOKENS; a call on the
     * way makes it tool_calls; a later STOP does not hide a SAFETY */
    memset(&s, 0, sizeof(s));
    x = mkx(p, "/google/v1beta/models", "g", 1, &s);
    CHECK(event(x, "{\"candidates\":[{"
        "\"content\":{\"parts\":[{\"text\":\"a\"}]},\"finishReason\":"
        "\"STOP\"},{\"index\":1,\"content\":{\"parts\":[{\"text\":\"b\"}]},"
        "\"finishReason\":\"STOP\"},{\"index\":2,\"content\":{\"parts\":[{"
        "\"text\":\"c\"}]},\"finishReason\":\"SAFETY\"}]}") == NULL);
    CHECK(event(x, "{\"candidates\":[{"
        "\"content\":{\"parts\":[{\"text\":\"a2\"}]},\"finishReason\":"
        "\"MAX_TOKENS\"},{\"index\":1,\"content\":{\"parts\":[{"
        "\"functionCall\":{\"name\":\"f\"}}]},\"finishReason\":\"STOP\"},"
        "{\"index\":2,\"finishReason\":\"STOP\"}]}") == NULL);
    CHECK_INT(s.finishes, 0);
    CHECK(llmp_gemini_ops.chat_stream_end(x, 1) == NULL);
    CHECK_INT(s.finishes, 3);
    CHECK_INT(s.text_len, 5);
    CHECK_STR(at_str(s.chunk[s.n - 4], "choices.0.finish_reason"), "length");
    CHECK_STR(at_str(s.chunk[s.n - 3], "choices.0.delta.tool_calls.0.function."
                     "name"), "f");
    CHECK_STR(at_str(s.chunk[s.n - 2], "choices.0.finish_reason"),
              "tool_calls");
    CHECK_INT(at_num(s.chunk[s.n - 2], "choices.0.index"), 1);
    CHECK_STR(at_str(s.chunk[s.n - 1], "choices.0.finish_reason"),
              "content_filter");
    sink_free(&s);

    /* a finishReason on every chunk says nothing of the end: a transfer
     * that broke off after one is an error, and no finish chunk goes out */
    memset(&s, 0, sizeof(s));
    x = mkx(p, "/google/v1beta/models", "g", 1, &s);
    CHECK(event(x, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
                "\"The\"}]},\"finishReason\":\"STOP\"}]}") == NULL);
    CHECK(llmp_gemini_ops.chat_stream_end(x, 0) != NULL);
    CHECK_INT(s.finishes, 0);
    sink_free(&s);
}

/* ---- functionCall parts without a name ---- */

static void t_nameless_calls(apr_pool_t *p)
{
    llmp_error_t *e;
    cJSON *r = respond(p, "response_nameless_call.json", &e);
    sink_t s;

    CHECK(r != NULL);
    CHECK_INT(cJSON_GetArraySize(at(r, "choices.0.message.tool_calls")), 2);
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.id"),
              "call_0_get_weather");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.name"),
              "get_weather");
    /* merged into the call before it (an empty name is no name) */
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.arguments"),
              "{\"location\":\"Lyon\",\"unit\":\"celsius\",\"x\":1}");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.id"),
              "call_1_get_time");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.function.arguments"),
              "{}");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    /* nothing to merge into: dropped */
    CHECK(at(r, "choices.1.message.tool_calls") == NULL);
    CHECK_STR(at_str(r, "choices.1.message.content"), "");
    CHECK_STR(at_str(r, "choices.1.finish_reason"), "stop");

    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_nameless_call.sse", 0, 1, &s) == NULL);
    CHECK_INT(s.calls, 2);
    CHECK_INT(s.nameless, 0);
    CHECK_INT(s.finishes, 1);
    CHECK_INT(s.n, 5);
    CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"), "Checking.");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.function."
                     "name"), "get_weather");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.function."
                     "arguments"), "{\"location\":\"Paris\",\"unit\":"
                     "\"celsius\",\"x\":1}");
    CHECK_INT(at_num(s.chunk[3], "choices.0.delta.tool_calls.0.index"), 1);
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.tool_calls.0.id"),
              "call_1_get_time");
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.tool_calls.0.function."
                     "arguments"), "{\"tz\":\"UTC\"}");
    CHECK_STR(at_str(s.chunk[4], "choices.0.finish_reason"), "tool_calls");
    sink_free(&s);

    /* 50,000 continuations, each with a member of its own: linear */
    {
        apr_array_header_t *parts = apr_array_make(p, 50001, sizeof(char *));
        llmp_xlate_t *x;
        apr_time_t t0;
        const char *ev;
        cJSON *args;
        int i;

        APR_ARRAY_PUSH(parts, char *) = "{\"functionCall\":{\"name\":\"f\","
                                        "\"args\":{\"k\":0}}}";
        for (i = 1; i <= 50000; i++)
            APR_ARRAY_PUSH(parts, char *) = apr_psprintf(p,
                "{\"functionCall\":{\"args\":{\"k%d\":%d}}}", i, i);
        ev = apr_pstrcat(p, "{\"candidates\":[{\"content\":{\"parts\":[",
                         apr_array_pstrcat(p, parts, ','), "]},"
                         "\"finishReason\":\"STOP\"}]}", NULL);
        memset(&s, 0, sizeof(s));
        x = mkx(p, "/google/v1beta/models", "g", 1, &s);
        t0 = apr_time_now();
        CHECK(event(x, ev) == NULL);
        CHECK(llmp_gemini_ops.chat_stream_end(x, 1) == NULL);
        CHECK(apr_time_now() - t0 < apr_time_from_sec(2) * SLOW);
        CHECK_INT(s.calls, 1);
        CHECK_INT(s.nameless, 0);
        ev = at_str(s.chunk[1], "choices.0.delta.tool_calls.0.function."
                    "arguments");
        args = ev ? parse(p, ev) : NULL;
        CHECK_INT(cJSON_GetArraySize(args), 50001);
        CHECK_INT(at_num(args, "k50000"), 50000);
        sink_free(&s);
    }
}

/* ---- $ref expansion is bounded by bytes ---- */

static llmp_error_t *request_str(apr_pool_t *p, const char *body,
                                 llmp_native_req_t *out)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    cJSON *req = parse(p, body);

    memset(out, 0, sizeof(*out));
    CHECK(req != NULL);
    return llmp_gemini_ops.chat_request(x, req, out);
}

static const char *tool_req(apr_pool_t *p, const char *params)
{
    return apr_pstrcat(p, "{\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"x\"}],\"tools\":[{\"type\":\"function\",\"function\""
                       ":{\"name\":\"f\",\"parameters\":", params, "}}]}",
                       NULL);
}

static void t_schema_budget(apr_pool_t *p)
{
    apr_array_header_t *defs = apr_array_make(p, 64, sizeof(char *));
    const char *big = apr_psprintf(p, "%0*d", 20000, 0);
    const char *params;
    llmp_native_req_t out;
    llmp_error_t *e;
    apr_time_t t0;
    cJSON *n;
    int i;

    /* L0 -> L1 twice, L1 -> L2 twice, ... 30 levels: 2^30 if expanded */
    for (i = 0; i < 30; i++)
        APR_ARRAY_PUSH(defs, char *) = apr_psprintf(p,
            "\"L%d\":{\"type\":\"object\",\"description\":\"level %d\","
            "\"properties\":{\"a\":{\"$ref\":\"#/$defs/L%d\"},\"b\":"
            "{\"$ref\":\"#/$defs/L%d\"}}}", i, i, i + 1, i + 1);
    APR_ARRAY_PUSH(defs, char *) = "\"L30\":{\"type\":\"string\"}";
    params = apr_pstrcat(p, "{\"$ref\":\"#/$defs/L0\",\"$defs\":{",
                         apr_array_pstrcat(p, defs, ','), "}}", NULL);
    count_start();
    t0 = apr_time_now();
    e = request_str(p, tool_req(p, params), &out);
    CHECK(apr_time_now() - t0 < apr_time_from_sec(1) * SLOW);
    count_stop();
    CHECK(json_peak < 16L << 20);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->status, 400);
        CHECK_STR(e->type, "invalid_request_error");
        CHECK_STR(e->param, "tools");
    }

    /* a 20 KB definition used 1,500 times: under the old count of nodes,
     * but a 30 MB body upstream */
    apr_array_clear(defs);
    for (i = 0; i < 1500; i++)
        APR_ARRAY_PUSH(defs, char *) = apr_psprintf(p,
            "\"p%d\":{\"$ref\":\"#/$defs/Big\"}", i);
    params = apr_pstrcat(p, "{\"type\":\"object\",\"properties\":{",
                         apr_array_pstrcat(p, defs, ','),
                         "},\"$defs\":{\"Big\":{\"type\":"
                         "\"string\",\"description\":\"", big, "\"}}}",
                         NULL);
    count_start();
    t0 = apr_time_now();
    e = request_str(p, tool_req(p, params), &out);
    CHECK(apr_time_now() - t0 < apr_time_from_sec(1) * SLOW);
    count_stop();
    CHECK(json_peak < 16L << 20);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->status, 400);
        CHECK_STR(e->param, "tools");
    }
    /* the same through response_format */
    e = request_str(p, apr_pstrcat(p, "{\"messages\":[{\"role\":\"user\","
                    "\"content\":\"x\"}],\"response_format\":{\"type\":"
                    "\"json_schema\",\"json_schema\":{\"name\":\"s\","
                    "\"schema\":", params, "}}}", NULL), &out);
    CHECK(e != NULL && e->status == 400);
    if (e) CHECK_STR(e->param, "response_format");

    /* a definition used a few times is expanded */
    params = apr_pstrcat(p, "{\"type\":\"object\",\"properties\":{\"a\":"
                         "{\"$ref\":\"#/$defs/Big\"},\"b\":{\"$ref\":"
                         "\"#/$defs/Big\",\"description\":\"B\"},\"c\":"
                         "{\"$ref\":\"#/$defs/Big\"}},\"$defs\":{\"Big\":"
                         "{\"type\":\"string\",\"description\":\"", big,
                         "\"}}}", NULL);
    CHECK(request_str(p, tool_req(p, params), &out) == NULL);
    n = native_of(p, &out);
    params = "tools.0.functionDeclarations.0.parameters.properties";
    CHECK_STR(at_str(at(n, params), "a.description"), big);
    CHECK_STR(at_str(at(n, params), "b.description"), "B");
    CHECK_STR(at_str(at(n, params), "c.type"), "string");

    /* a large schema without $ref is no explosion: 5,000 properties */
    apr_array_clear(defs);
    for (i = 0; i < 5000; i++)
        APR_ARRAY_PUSH(defs, char *) = apr_psprintf(p,
            "\"p%d\":{\"type\":\"integer\"}", i);
    params = apr_pstrcat(p, "{\"type\":\"object\",\"properties\":{",
                         apr_array_pstrcat(p, defs, ','), "}}", NULL);
    CHECK(request_str(p, tool_req(p, params), &out) == NULL);
    n = native_of(p, &out);
    CHECK_INT(cJSON_GetArraySize(at(n, "tools.0.functionDeclarations.0."
                                    "parameters.properties")), 5000);
}

/* ---- a long stream keeps no event ---- */

#define LOREM "lorem ipsum dolor sit amet, consectetur adipiscing elit, " \
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. " \
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris " \
    "nisi ut aliquip ex ea commodo consequat."

static void feed_text_events(llmp_xlate_t *x, int from, int to)
{
    char buf[1024];
    int i, failed = 0;

    for (i = from; i < to; i++) {
        int len = snprintf(buf, sizeof(buf),
            "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"w%06d "
            LOREM "\"}],\"role\":\"model\"},"
            "\"finishReason\":\"STOP\",\"index\":0,\"safetyRatings\":[{"
            "\"category\":\"HARM_CATEGORY_HATE_SPEECH\",\"probability\":"
            "\"NEGLIGIBLE\"},{\"category\":\"HARM_CATEGORY_HARASSMENT\","
            "\"probability\":\"NEGLIGIBLE\"}]}],\"usageMetadata\":{"
            "\"promptTokenCount\":6,\"candidatesTokenCount\":%d,"
            "\"totalTokenCount\":%d},\"modelVersion\":\"gemini-2.0-flash\","
            "\"responseId\":\"r%d\"}", i, i + 1, i + 7, i);
        if (llmp_gemini_ops.chat_stream_event(x, "", buf, (apr_size_t)len))
            failed++;
    }
    CHECK_INT(failed, 0);
}

static void t_stream_memory(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x;
    long h1, h2, peak1;

    memset(&s, 0, sizeof(s));
    x = mkx(p, "/google/v1beta/models", "g", 1, &s);
    x->include_usage = 1;
    count_start();
    feed_text_events(x, 0, 1000);
    h1 = heap_used();
    peak1 = json_peak;
    feed_text_events(x, 1000, 20000);
    h2 = heap_used();
    /* the cJSON trees of 20,000 events are not kept: the peak is that of
     * a few events (the sink keeps its first 64 chunks), not 20,000 */
    CHECK(json_peak < 512L * 1024);
    CHECK(json_peak - peak1 < 64L * 1024);
    if (h1 >= 0) {
        /* nor does the pool grow by event */
        CHECK(h2 - h1 < 1L << 20);
        if (h2 - h1 >= 1L << 20)
            fprintf(stderr, "  heap grew by %ld bytes\n", h2 - h1);
    }
    CHECK(llmp_gemini_ops.chat_stream_end(x, 1) == NULL);
    count_stop();
    CHECK_INT(s.finishes, 1);
    CHECK_INT(s.n, 20003);
    CHECK_INT(s.text_len, 20000 * (8 + strlen(LOREM)));
    CHECK_INT(at_num(s.chunk[MAXCH - 1], "choices.0.index"), 0);
    sink_free(&s);
}

/* ---- tool calls per answer are bounded ---- */

/* One answer (or event) with n functionCall parts. */
static char *many_calls(apr_pool_t *p, int n, apr_size_t *len)
{
    static const char head[] = "{\"candidates\":[{\"content\":{\"role\":"
                               "\"model\",\"parts\":[";
    static const char part[] = "{\"functionCall\":{\"name\":\"lookup\","
                               "\"args\":{\"q\":\"abcdefghij\"}}}";
    static const char tail[] = "]},\"finishReason\":\"STOP\",\"index\":0}]}";
    apr_size_t size = sizeof(head) + (sizeof(part)) * (apr_size_t)n
                      + sizeof(tail);
    char *buf = apr_palloc(p, size), *w = buf;
    int i;

    memcpy(w, head, sizeof(head) - 1);
    w += sizeof(head) - 1;
    for (i = 0; i < n; i++) {
        if (i) *w++ = ',';
        memcpy(w, part, sizeof(part) - 1);
        w += sizeof(part) - 1;
    }
    memcpy(w, tail, sizeof(tail));
    *len = (apr_size_t)(w - buf) + sizeof(tail) - 1;
    return buf;
}

static void t_many_calls(apr_pool_t *p)
{
    apr_size_t len;
    char *ev = many_calls(p, 100000, &len), *out;
    apr_size_t outlen;
    llmp_xlate_t *x;
    llmp_error_t *e;
    apr_time_t t0;
    sink_t s;
    long h0, h1;
    cJSON *r;

    /* a stream event with 100,000 calls (4 MB) */
    memset(&s, 0, sizeof(s));
    x = mkx(p, "/google/v1beta/models", "g", 1, &s);
    h0 = heap_used();
    t0 = apr_time_now();
    e = llmp_gemini_ops.chat_stream_event(x, "", ev, len);
    CHECK(apr_time_now() - t0 < apr_time_from_sec(2) * SLOW);
    h1 = heap_used();
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->status, 502);
        CHECK_STR(e->type, "api_error");
    }
    CHECK(s.calls <= 1024);
    CHECK(s.calls >= 1000);
    CHECK_INT(s.nameless, 0);
    if (h0 >= 0) {
        CHECK(h1 - h0 < 16L << 20);
        if (h1 - h0 >= 16L << 20)
            fprintf(stderr, "  heap grew by %ld bytes\n", h1 - h0);
    }
    sink_free(&s);

    /* 1,024 are fine */
    memset(&s, 0, sizeof(s));
    x = mkx(p, "/google/v1beta/models", "g", 1, &s);
    ev = many_calls(p, 1024, &len);
    CHECK(llmp_gemini_ops.chat_stream_event(x, "", ev, len) == NULL);
    CHECK(llmp_gemini_ops.chat_stream_end(x, 1) == NULL);
    CHECK_INT(s.calls, 1024);
    CHECK_INT(s.nameless, 0);
    CHECK_INT(s.finishes, 1);
    CHECK_INT(s.n, 1 + 1024 + 1);
    sink_free(&s);
    /* across events too */
    memset(&s, 0, sizeof(s));
    x = mkx(p, "/google/v1beta/models", "g", 1, &s);
    CHECK(llmp_gemini_ops.chat_stream_event(x, "", ev, len) == NULL);
    ev = many_calls(p, 1, &len);
    e = llmp_gemini_ops.chat_stream_event(x, "", ev, len);
    CHECK(e != NULL && e->status == 502);
    sink_free(&s);

    /* the same answer not streamed */
    x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    ev = many_calls(p, 100000, &len);
    h0 = heap_used();
    e = llmp_xlate_chat_response(&llmp_gemini_ops, x, parse(p, ev), &out, &outlen);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->status, 502);
        CHECK_STR(e->type, "api_error");
    }
    ev = many_calls(p, 1024, &len);
    CHECK(llmp_xlate_chat_response(&llmp_gemini_ops, x, parse(p, ev), &out, &outlen)
          == NULL);
    r = parse(p, out);
    CHECK_INT(cJSON_GetArraySize(at(r, "choices.0.message.tool_calls")),
              1024);
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1023.id"),
              "call_1023_lookup");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1023.function."
                     "arguments"), "{\"q\":\"abcdefghij\"}");

    /* 50,000 text parts are joined once, not 50,000 times */
    {
        apr_array_header_t *parts = apr_array_make(p, 50000, sizeof(char *));
        int i;
        for (i = 0; i < 50000; i++)
            APR_ARRAY_PUSH(parts, char *) = "{\"text\":\"0123456789\"}";
        ev = apr_pstrcat(p, "{\"candidates\":[{\"content\":{\"parts\":[",
                         apr_array_pstrcat(p, parts, ','), "]},"
                         "\"finishReason\":\"STOP\"}]}", NULL);
        t0 = apr_time_now();
        CHECK(llmp_xlate_chat_response(&llmp_gemini_ops, x, parse(p, ev), &out, &outlen)
              == NULL);
        CHECK(apr_time_now() - t0 < apr_time_from_sec(2) * SLOW);
        r = parse(p, out);
        CHECK_INT(strlen(at_str(r, "choices.0.message.content")
                         ? at_str(r, "choices.0.message.content") : ""),
                  500000);
    }
}

/* ---- the request is linear in the messages ---- */

static void t_many_messages(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    cJSON *req = cJSON_CreateObject(), *msgs, *n;
    llmp_native_req_t out;
    apr_time_t t0, dt;
    int i;

    llmp_json_pool_own(p, req);
    msgs = cJSON_AddArrayToObject(req, "messages");
    for (i = 0; i < 100000; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", i % 2 ? "assistant" : "user");
        cJSON_AddStringToObject(m, "content", i % 2 ? "an answer"
                                                    : "a question");
        cJSON_AddItemToArray(msgs, m);
    }
    memset(&out, 0, sizeof(out));
    t0 = apr_time_now();
    CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
    dt = apr_time_now() - t0;
    CHECK(dt < apr_time_from_sec(2) * SLOW);
    if (dt >= apr_time_from_sec(2) * SLOW)
        fprintf(stderr, "  100,000 messages took %ld ms\n",
                (long)apr_time_as_msec(dt));
    n = native_of(p, &out);
    CHECK_INT(cJSON_GetArraySize(at(n, "contents")), 100000);
    CHECK_STR(at_str(n, "contents.99999.role"), "model");
    CHECK_STR(at_str(n, "contents.99998.parts.0.text"), "a question");

    /* 50,000 tool-call round trips */
    x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    req = cJSON_CreateObject();
    llmp_json_pool_own(p, req);
    msgs = cJSON_AddArrayToObject(req, "messages");
    for (i = 0; i < 100000; i++) {
        cJSON_AddItemToArray(msgs, cJSON_Parse(i % 2
            ? apr_psprintf(p, "{\"role\":\"tool\",\"tool_call_id\":"
                           "\"c%d\",\"content\":\"{\\\"ok\\\":1}\"}", i - 1)
            : apr_psprintf(p, "{\"role\":\"assistant\",\"tool_calls\":[{"
                           "\"id\":\"c%d\",\"type\":\"function\",\"function\":"
                           "{\"name\":\"f\",\"arguments\":\"{}\"}}]}", i)));
    }
    memset(&out, 0, sizeof(out));
    t0 = apr_time_now();
    CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
    dt = apr_time_now() - t0;
    CHECK(dt < apr_time_from_sec(2) * SLOW);
    if (dt >= apr_time_from_sec(2) * SLOW)
        fprintf(stderr, "  50,000 tool round trips took %ld ms\n",
                (long)apr_time_as_msec(dt));
    n = native_of(p, &out);
    CHECK_INT(cJSON_GetArraySize(at(n, "contents")), 100000);
    CHECK_STR(at_str(n, "contents.99999.parts.0.functionResponse.name"), "f");
    CHECK_INT(at_num(n, "contents.99999.parts.0.functionResponse.response."
                     "ok"), 1);
}

/* ---- reasoning ---- */

/* The native request for a model and a reasoning_effort (NULL: none). */
static cJSON *think_req(apr_pool_t *p, const char *model, const char *effort,
                        int want)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", model, 0, NULL);
    llmp_native_req_t out;
    const char *body = apr_psprintf(p,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]%s%s%s}",
        effort ? ",\"reasoning_effort\":\"" : "", effort ? effort : "",
        effort ? "\"" : "");

    x->want_reasoning = want;
    memset(&out, 0, sizeof(out));
    if (llmp_gemini_ops.chat_request(x, parse(p, body), &out)) return NULL;
    return native_of(p, &out);
}

static void t_request_thinking(apr_pool_t *p)
{
    static const struct { const char *model, *effort; int budget; } b[] = {
        { "gemini-2.5-flash", "none", 0 },
        { "gemini-2.5-flash", "minimal", 512 },
        { "gemini-2.5-flash-lite", "minimal", 512 },
        { "gemini-2.5-flash", "low", 1024 },
        { "gemini-2.5-flash", "medium", 8192 },
        { "gemini-2.5-flash", "high", 24576 },
        { "gemini-2.5-flash", "xhigh", 24576 },
        { "gemini-2.5-pro", "none", 128 },
        { "gemini-2.5-pro", "minimal", 128 },
        { "gemini-2.5-pro", "high", 24576 },
        { NULL, NULL, 0 } };
    static const struct { const char *model, *effort, *level; } l[] = {
        { "gemini-3-flash-preview", "none", "minimal" },
        { "gemini-3-flash-preview", "minimal", "minimal" },
        { "gemini-3-flash-preview", "low", "low" },
        { "gemini-3-flash-preview", "medium", "medium" },
        { "gemini-3-flash-preview", "high", "high" },
        { "gemini-3-pro-preview", "minimal", "low" },
        { "gemini-3-pro-preview", "medium", "high" },
        { "models/gemini-3-pro-preview", "high", "high" },
        { NULL, NULL, NULL } };
    llmp_xlate_t *x;
    llmp_native_req_t out;
    llmp_error_t *e;
    cJSON *n;
    int i;

    for (i = 0; b[i].model; i++) {
        n = think_req(p, b[i].model, b[i].effort, 0);
        CHECK_INT(at_num(n, "generationConfig.thinkingConfig.thinkingBudget"),
                  b[i].budget);
        CHECK(!at(n, "generationConfig.thinkingConfig.thinkingLevel"));
        CHECK(!at(n, "generationConfig.thinkingConfig.includeThoughts"));
    }
    for (i = 0; l[i].model; i++) {
        n = think_req(p, l[i].model, l[i].effort, 0);
        CHECK_STR(at_str(n, "generationConfig.thinkingConfig.thinkingLevel"),
                  l[i].level);
        CHECK(!at(n, "generationConfig.thinkingConfig.thinkingBudget"));
    }
    /* thought summaries only for a front that wants them, and not with
     * "none" */
    n = think_req(p, "gemini-2.5-flash", "high", 1);
    CHECK(cJSON_IsTrue(at(n, "generationConfig.thinkingConfig."
                          "includeThoughts")));
    n = think_req(p, "gemini-2.5-flash", "none", 1);
    CHECK(!at(n, "generationConfig.thinkingConfig.includeThoughts"));
    /* no effort: no thinkingConfig, as before */
    n = think_req(p, "gemini-2.5-flash", NULL, 1);
    CHECK(n && !at(n, "generationConfig.thinkingConfig"));
    /* another value: 400 */
    x = mkx(p, "/google/v1beta/models", "gemini-2.5-flash", 0, NULL);
    memset(&out, 0, sizeof(out));
    e = llmp_gemini_ops.chat_request(x, parse(p,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
        "\"reasoning_effort\":\"max\"}"), &out);
    CHECK(e && e->status == 400);
    CHECK_STR(e ? e->param : NULL, "reasoning_effort");
}

/* Thinking settings only for models that think (Google answers 400 to a
 * thinkingConfig for the others): judged from the model the handle names,
 * else the model id; LLMProxyReasoningModels adds model ids. */
static void t_request_thinking_models(apr_pool_t *p)
{
    static const char *const none[] = { "gemini-2.0-flash",
        "gemini-2.0-flash-lite", "gemini-1.5-pro", "gemini-1.5-flash-002",
        "gemini-1.0-pro", "gemini-pro", "gemini-exp-1206", "my-alias", NULL };
    static const char *const some[] = { "gemini-2.5-flash",
        "gemini-2.5-pro-preview-06-05", "gemini-2.0-flash-thinking-exp",
        "gemini-flash-latest", "Gemini-2.5-Flash", "gemini-4-ultra", NULL };
    static const char *const pats[] = { "my-gem*" };
    apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));
    llmp_xlate_opts_t o = opts;
    llmp_xlate_t *x;
    llmp_native_req_t out;
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"Hi\"}],\"reasoning_effort\":\"high\"}";
    cJSON *n;
    int i;

    for (i = 0; none[i]; i++) {
        n = think_req(p, none[i], "high", 1);
        CHECK(n && !at(n, "generationConfig.thinkingConfig"));
        n = think_req(p, none[i], "none", 1);
        CHECK(n && !at(n, "generationConfig.thinkingConfig"));
    }
    for (i = 0; some[i]; i++) {
        n = think_req(p, some[i], "high", 0);
        CHECK(at(n, "generationConfig.thinkingConfig") != NULL);
    }
    /* the model the handle names decides */
    x = mkx(p, "/google/v1beta/models/gemini-2.5-flash:generateContent",
            "fast", 0, NULL);
    memset(&out, 0, sizeof(out));
    CHECK(!llmp_gemini_ops.chat_request(x, parse(p, body), &out));
    CHECK_INT(at_num(native_of(p, &out),
                     "generationConfig.thinkingConfig.thinkingBudget"),
              24576);
    x = mkx(p, "/google/v1beta/models/gemini-2.0-flash:generateContent",
            "gemini-2.5-flash", 0, NULL);
    memset(&out, 0, sizeof(out));
    CHECK(!llmp_gemini_ops.chat_request(x, parse(p, body), &out));
    CHECK(!at(native_of(p, &out), "generationConfig.thinkingConfig"));
    /* an alias the administrator names */
    APR_ARRAY_PUSH(a, const char *) = pats[0];
    o.reasoning_models = a;
    x = mkx(p, "/google/v1beta/models", "my-gemini", 0, NULL);
    x->opts = &o;
    memset(&out, 0, sizeof(out));
    CHECK(!llmp_gemini_ops.chat_request(x, parse(p, body), &out));
    CHECK_INT(at_num(native_of(p, &out),
                     "generationConfig.thinkingConfig.thinkingBudget"),
              24576);
    x = mkx(p, "/google/v1beta/models", "other-alias", 0, NULL);
    x->opts = &o;
    memset(&out, 0, sizeof(out));
    CHECK(!llmp_gemini_ops.chat_request(x, parse(p, body), &out));
    CHECK(!at(native_of(p, &out), "generationConfig.thinkingConfig"));
}

/* IR extras: the reasoning of an earlier turn and the Responses front's
 * members are not sent (Gemini refuses unknown fields). */
static void t_request_ir_extras(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "gemini-2.5-flash", 0,
                          NULL);
    llmp_native_req_t out;
    cJSON *n, *m;

    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.chat_request(x, parse(p,
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\","
        "\"file\":{\"file_data\":\"data:application/pdf;base64,JVBERi0=\","
        "\"filename\":\"a.pdf\"}}],\"x_llmp\":{\"i\":1}},"
        "{\"role\":\"assistant\",\"content\":\"ok\",\"reasoning_content\":"
        "\"hm\",\"reasoning_signature\":\"sig\"},"
        "{\"role\":\"user\",\"content\":\"more\"}],\"x_llmp\":{\"a\":1},"
        "\"verbosity\":\"low\",\"prompt_cache_key\":\"k\",\"store\":true,"
        "\"metadata\":{\"user_id\":\"u\"},\"user\":\"u\"}"), &out) == NULL);
    n = native_of(p, &out);
    for (m = n ? n->child : NULL; m; m = m->next)
        CHECK(!strcmp(m->string, "contents")
              || !strcmp(m->string, "generationConfig"));
    CHECK_STR(at_str(n, "contents.0.parts.0.inlineData.mimeType"),
              "application/pdf");
    CHECK_INT(cJSON_GetArraySize(at(n, "contents.0")), 2);
    CHECK_INT(cJSON_GetArraySize(at(n, "contents.1.parts")), 1);
    CHECK_STR(at_str(n, "contents.1.parts.0.text"), "ok");
    CHECK_INT(cJSON_GetArraySize(at(n, "contents.1.parts.0")), 1);
}

static void t_response_thinking(apr_pool_t *p)
{
    llmp_xlate_t *x;
    llmp_error_t *e;
    cJSON *r;
    char *out;
    apr_size_t len;

    /* the chat front: thoughts dropped, as before */
    r = respond(p, "response_thinking.json", &e);
    CHECK(r != NULL);
    CHECK_STR(at_str(r, "choices.0.message.content"), "The sky is blue.");
    CHECK(!at(r, "choices.0.message.reasoning_content"));
    CHECK_INT(at_num(r, "usage.completion_tokens_details.reasoning_tokens"),
              42);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 47);
    /* a front that wants them */
    x = mkx(p, "/google/v1beta/models", "gemini-2.5-flash", 0, NULL);
    x->want_reasoning = 1;
    e = llmp_xlate_chat_response(&llmp_gemini_ops, x,
                                 fixture_json(p, "response_thinking.json"),
                                 &out, &len);
    CHECK(e == NULL);
    r = e ? NULL : llmp_json_parse_pool(p, out, len);
    CHECK_STR(at_str(r, "choices.0.message.content"), "The sky is blue.");
    CHECK_STR(at_str(r, "choices.0.message.reasoning_content"),
              "**Weighing the question**\nThe user asks for a color. "
              "Blue is the usual answer.");
    CHECK(!at(r, "choices.0.message.reasoning_signature"));
}

static void t_stream_thinking(apr_pool_t *p)
{
    sink_t s;
    apr_size_t len;
    char *buf = llmp_fixture(p, "gemini/stream_thinking.sse", &len);
    llmp_xlate_t *x;
    int want, i;

    for (want = 0; want < 2; want++) {
        memset(&s, 0, sizeof(s));
        x = mkx(p, "/google/v1beta/models", "gemini-2.5-flash", 1, &s);
        x->want_reasoning = want;
        x->include_usage = 1;
        CHECK(llmp_feed_sse(p, &llmp_gemini_ops, x, buf, len, 0, 1 << 20)
              == NULL);
        CHECK(llmp_gemini_ops.chat_stream_end(x, 1) == NULL);
        if (!want) {
            /* role, "The sky", " is blue.", finish, usage */
            CHECK_INT(s.n, 5);
            for (i = 0; i < s.n && i < MAXCH; i++)
                CHECK(!at(s.chunk[i], "choices.0.delta.reasoning_content"));
            CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"),
                      "The sky");
        }
        else {
            CHECK_INT(s.n, 7);
            CHECK_STR(at_str(s.chunk[1], "choices.0.delta.reasoning_content"),
                      "**Weighing** the question. ");
            CHECK_STR(at_str(s.chunk[2], "choices.0.delta.reasoning_content"),
                      "Blue it is.");
            CHECK(!at(s.chunk[2], "choices.0.delta.content"));
            CHECK_STR(at_str(s.chunk[3], "choices.0.delta.content"),
                      "The sky");
            CHECK_STR(at_str(s.chunk[4], "choices.0.delta.content"),
                      " is blue.");
            CHECK_STR(at_str(s.chunk[5], "choices.0.finish_reason"), "stop");
            CHECK_INT(at_num(s.chunk[6], "usage.completion_tokens_details."
                             "reasoning_tokens"), 42);
        }
        sink_free(&s);
    }
}

TEST_MAIN_BEGIN("gemini")
    RUN(t_paths);
    RUN(t_request_full);
    RUN(t_request_choices);
    RUN(t_request_errors);
    RUN(t_request_misc);
    RUN(t_response);
    RUN(t_stream_text);
    RUN(t_stream_tool);
    RUN(t_stream_errors);
    RUN(t_embeddings);
    RUN(t_errors);
    RUN(t_stream_every_finish);
    RUN(t_nameless_calls);
    RUN(t_schema_budget);
    RUN(t_stream_memory);
    RUN(t_many_calls);
    RUN(t_many_messages);
    RUN(t_request_thinking);
    RUN(t_request_thinking_models);
    RUN(t_request_ir_extras);
    RUN(t_response_thinking);
    RUN(t_stream_thinking);
TEST_MAIN_END
