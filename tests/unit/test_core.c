/* Unit tests: model list parsing and validation, routing, SSE, OpenAI
 * schema helpers. */
#include "llmp_test.h"
#include "llmp_models.h"
#include "llmp_route.h"
#include "llmp_sse.h"
#include "llmp_openai.h"
#include "llmp_provider.h"
#include "llmp_buf.h"
#include "llmp_http.h"

static void t_handle_safety(apr_pool_t *p)
{
    CHECK(llmp_handle_is_safe("/openai/v1/chat/completions"));
    CHECK(llmp_handle_is_safe("/google/v1beta/models/gemini-2.0-flash:generateContent"));
    CHECK(llmp_handle_is_safe("/raw/anthropic/v1/messages?beta=true"));
    CHECK(!llmp_handle_is_safe(NULL));
    CHECK(!llmp_handle_is_safe(""));
    CHECK(!llmp_handle_is_safe("openai/v1/chat"));
    CHECK(!llmp_handle_is_safe("//evil.example/v1/chat"));
    CHECK(!llmp_handle_is_safe("http://evil.example/v1/chat"));
    CHECK(!llmp_handle_is_safe("/a/../b"));
    CHECK(!llmp_handle_is_safe("/a/..%2fb"));
    CHECK(!llmp_handle_is_safe("/a/%2e%2e/b"));
    CHECK(!llmp_handle_is_safe("/a@evil.example/b"));
    CHECK(!llmp_handle_is_safe("/a\r\nX-Injected: 1"));
    CHECK(!llmp_handle_is_safe("/a b"));
    CHECK(!llmp_handle_is_safe("/a\\b"));
    CHECK(!llmp_handle_is_safe("/a//b"));
    CHECK(!llmp_handle_is_safe("/a#frag"));
}

static void t_origin(apr_pool_t *p)
{
    const char *err = NULL;
    CHECK_STR(llmp_url_origin(p, "https://api.example.com/models", &err),
              "https://api.example.com");
    CHECK_STR(llmp_url_origin(p, "http://127.0.0.1:8080/x/models?a=b", &err),
              "http://127.0.0.1:8080");
    CHECK_STR(llmp_url_origin(p, "http://user:pw@host.example:81/m", &err),
              "http://host.example:81");
    CHECK_STR(llmp_url_origin(p, "http://[::1]:9/m", &err), "http://[::1]:9");
    CHECK(llmp_url_origin(p, "ftp://host/m", &err) == NULL);
    CHECK(llmp_url_origin(p, "/relative", &err) == NULL);
    CHECK(llmp_url_origin(p, "not a url", &err) == NULL);
    CHECK_STR(llmp_backend_url(p, "https://h", "/openai/v1/chat/completions"),
              "https://h/openai/v1/chat/completions");
}

static void t_provider(apr_pool_t *p)
{
    llmp_route_rules_t rules;
    llmp_route_rule_t *r;

    CHECK_INT(llmp_route_provider("/openai/v1/chat/completions", "gpt-4", NULL),
              LLMP_PROV_OPENAI);
    CHECK_INT(llmp_route_provider("/fireworks/chat/completions", "fireworks", NULL),
              LLMP_PROV_OPENAI);
    CHECK_INT(llmp_route_provider("/anthropic/v1/messages", "claude-3", NULL),
              LLMP_PROV_ANTHROPIC);
    CHECK_INT(llmp_route_provider("/raw/anthropic/v1/messages", "", NULL),
              LLMP_PROV_ANTHROPIC);
    CHECK_INT(llmp_route_provider("/google/v1beta/models/gemini-2.0-flash:generateContent",
                                  "gemini", NULL), LLMP_PROV_GEMINI);
    CHECK_INT(llmp_route_provider("/google/v1beta/models", "gemini", NULL),
              LLMP_PROV_GEMINI);
    CHECK_INT(llmp_route_provider("/google/v1beta/openai/chat/completions",
                                  "gemini", NULL), LLMP_PROV_OPENAI);
    CHECK_INT(llmp_route_provider("/cohere/v2/chat", "command-r", NULL),
              LLMP_PROV_COHERE);
    CHECK_INT(llmp_route_provider("/cohere/v2/embed", "embed", NULL),
              LLMP_PROV_COHERE);
    CHECK_INT(llmp_route_provider("/ideogram/generate", "ideogram", NULL),
              LLMP_PROV_IDEOGRAM);
    CHECK_INT(llmp_route_provider("/recraft/v1/images/generations", "recraft", NULL),
              LLMP_PROV_RECRAFT);
    CHECK_INT(llmp_route_provider("/gigachat/api/v1/chat/completions", "GigaChat", NULL),
              LLMP_PROV_OPENAI);
    /* the table's order: decisive names, shapes, segments, families */
    CHECK_INT(llmp_route_provider("/x/v1/images/generations", "recraft-v3",
                                  NULL), LLMP_PROV_RECRAFT);
    CHECK_INT(llmp_route_provider("/cohere/v1/x", "claude-3", NULL),
              LLMP_PROV_COHERE);
    CHECK_INT(llmp_route_provider("/vendor/x", "Claude-3.5", NULL),
              LLMP_PROV_ANTHROPIC);
    CHECK_INT(llmp_route_provider("/vendor/x", "command-a", NULL),
              LLMP_PROV_COHERE);
    CHECK_INT(llmp_route_provider("/vendor/x:streamGenerateContent?alt=sse",
                                  "", NULL), LLMP_PROV_GEMINI);
    CHECK_INT(llmp_route_kind("/cohere/v1/embed", LLMP_PROV_COHERE),
              LLMP_KIND_EMBEDDINGS);
    CHECK_INT(llmp_route_kind("/google/m:batchEmbedContents",
                              LLMP_PROV_GEMINI), LLMP_KIND_EMBEDDINGS);
    CHECK_INT(llmp_route_kind("/google/m:generateContent?x=1",
                              LLMP_PROV_GEMINI), LLMP_KIND_CHAT);
    CHECK_INT(llmp_route_kind("/google/models", LLMP_PROV_GEMINI),
              LLMP_KIND_ANY);
    CHECK_INT(llmp_route_kind("/anthropic/v1/x", LLMP_PROV_ANTHROPIC),
              LLMP_KIND_CHAT);
    CHECK_INT(llmp_route_kind("/recraft/gen", LLMP_PROV_RECRAFT),
              LLMP_KIND_IMAGES);
    CHECK_INT(llmp_route_kind("/o/v1/completions", LLMP_PROV_OPENAI),
              LLMP_KIND_COMPLETIONS);
    CHECK_INT(llmp_route_kind("/o/v1/chat/completions?x", LLMP_PROV_OPENAI),
              LLMP_KIND_CHAT);
    /* rules: longest prefix wins */
    rules.rules = apr_array_make(p, 2, sizeof(llmp_route_rule_t));
    r = apr_array_push(rules.rules);
    r->prefix = "/custom/";
    r->provider = LLMP_PROV_ANTHROPIC;
    r = apr_array_push(rules.rules);
    r->prefix = "/custom/oai/";
    r->provider = LLMP_PROV_OPENAI;
    CHECK_INT(llmp_route_provider("/custom/x/messages2", "", &rules),
              LLMP_PROV_ANTHROPIC);
    CHECK_INT(llmp_route_provider("/custom/oai/v1/messages", "", &rules),
              LLMP_PROV_OPENAI);
    /* a Responses API backend: OpenAI's protocol, its own endpoint */
    CHECK_INT(llmp_route_provider("/openai/v1/responses", "gpt-5", NULL),
              LLMP_PROV_OPENAI);
    CHECK_INT(llmp_route_provider("/gw/v1/responses", "claude-x", NULL),
              LLMP_PROV_OPENAI);
    CHECK_INT(llmp_route_kind("/openai/v1/responses", LLMP_PROV_OPENAI),
              LLMP_KIND_RESPONSES);
    CHECK_INT(llmp_route_kind("/openai/v1/responses?x=1", LLMP_PROV_OPENAI),
              LLMP_KIND_RESPONSES);
    CHECK_INT(llmp_route_kind("/openai/v1/chat/completions",
                              LLMP_PROV_OPENAI), LLMP_KIND_CHAT);
    CHECK_STR(llmp_kind_endpoint(LLMP_KIND_RESPONSES), "/v1/responses");
    CHECK_STR(llmp_route_owner(p, "/openai/v1/chat/completions", "gpt-4"), "openai");
    CHECK_STR(llmp_route_owner(p, "/raw/anthropic/v1/messages", ""), "anthropic");
    CHECK_STR(llmp_route_owner(p, "/", "fam"), "fam");
    CHECK_STR(llmp_route_owner(p, "/", ""), "system");
}

static void t_models(apr_pool_t *p)
{
    const char *err = NULL;
    const char *json =
        "{\"models\":["
        "{\"model_version\":\"gpt-4o\",\"model_family\":\"gpt-4\","
        " \"handle\":\"/openai/v1/chat/completions\",\"prompt_price_1k\":0.0025,"
        " \"completion_price_1k\":0.01},"
        "{\"model_version\":\"accounts/fireworks/models/llama\",\"model_family\":\"fireworks\","
        " \"handle\":\"/fireworks/chat/completions\"},"
        "{\"model_version\":\"gpt-4o\",\"handle\":\"/openai2/v1/chat/completions\"},"
        "{\"model_family\":\"nope\",\"handle\":\"/x\"},"
        "{\"model_version\":\"evil\",\"handle\":\"//evil.example/x\"},"
        "{\"model_version\":\"evil2\",\"handle\":\"https://evil.example/x\"},"
        "{\"model_version\":\"off\",\"handle\":\"unavailable\"},"
        "{\"model_version\":\"claude\",\"model_family\":\"claude-3\",\"handle\":\"/anthropic/v1/messages\"},"
        "42]}";
    llmp_models_t *m = llmp_models_parse(p, json, strlen(json), 1700000000,
                                         NULL, &err);
    const apr_array_header_t *all;
    cJSON *root, *data;

    CHECK(m != NULL);
    if (!m) return;
    CHECK_INT(m->list->nelts, 4);
    CHECK_INT(m->warnings->nelts, 4);
    CHECK_INT(m->skipped_unavailable, 1);
    CHECK(llmp_models_find(m, "evil") == NULL);
    CHECK(llmp_models_find(m, "off") == NULL);
    CHECK(llmp_models_find(m, "nope") == NULL);
    CHECK_STR(llmp_models_find(m, "accounts/fireworks/models/llama")->handle,
              "/fireworks/chat/completions");
    CHECK_STR(llmp_models_find(m, "gpt-4o")->handle, "/openai/v1/chat/completions");
    CHECK(llmp_models_find(m, "gpt-4o")->prompt_price_1k == 0.0025);
    all = llmp_models_find_all(m, "gpt-4o");
    CHECK(all && all->nelts == 2);
    CHECK_INT(llmp_models_find(m, "claude")->provider, LLMP_PROV_ANTHROPIC);

    root = cJSON_Parse(m->models_json);
    CHECK(root != NULL);
    CHECK_STR(llmp_json_str(root, "object"), "list");
    data = cJSON_GetObjectItem(root, "data");
    CHECK_INT(cJSON_GetArraySize(data), 3);    /* duplicate id listed once */
    CHECK_STR(llmp_json_str(cJSON_GetArrayItem(data, 0), "id"), "gpt-4o");
    CHECK_STR(llmp_json_str(cJSON_GetArrayItem(data, 0), "owned_by"), "openai");
    CHECK_STR(llmp_json_str(cJSON_GetArrayItem(data, 1), "owned_by"), "fireworks");
    CHECK_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "created")->valuedouble,
              1700000000);
    cJSON_Delete(root);

    /* aliases appended to the rendered list (LLMProxyModelAlias) */
    {
        apr_array_header_t *al = apr_array_make(p, 4, sizeof(llmp_alias_t));
        apr_array_header_t *missing = apr_array_make(p, 1, sizeof(void *));
        llmp_alias_t *a;
        apr_size_t alen = 0;
        char *aj;

        a = apr_array_push(al); a->name = "fast"; a->target = "gpt-4o";
        a = apr_array_push(al); a->name = "gone"; a->target = "nope";
        a = apr_array_push(al); a->name = "claude"; a->target = "gpt-4o";
        aj = llmp_models_render_aliases(p, m, al, 5, &alen, missing);
        CHECK(aj && alen == strlen(aj));
        root = cJSON_Parse(aj);
        data = cJSON_GetObjectItem(root, "data");
        CHECK_INT(cJSON_GetArraySize(data), 4);  /* + fast only */
        CHECK_STR(llmp_json_str(cJSON_GetArrayItem(data, 3), "id"), "fast");
        CHECK_STR(llmp_json_str(cJSON_GetArrayItem(data, 3), "owned_by"),
                  "openai");
        cJSON_Delete(root);
        CHECK_INT(missing->nelts, 1);
        CHECK_STR(APR_ARRAY_IDX(missing, 0, const llmp_alias_t *)->name,
                  "gone");
    }

    CHECK(llmp_models_parse(p, "not json", 8, 0, NULL, &err) == NULL);
    CHECK(llmp_models_parse(p, "{\"x\":1}", 7, 0, NULL, &err) == NULL);
    m = llmp_models_parse(p, "{\"models\":[]}", 13, 0, NULL, &err);
    CHECK(m && m->list->nelts == 0);
    CHECK_STR(m->models_json, "{\"object\":\"list\",\"data\":[]}");
    {
        apr_array_header_t *al = apr_array_make(p, 1, sizeof(llmp_alias_t));
        llmp_alias_t *a = apr_array_push(al);
        a->name = "x"; a->target = "y";
        CHECK_STR(llmp_models_render_aliases(p, m, al, 0, NULL, NULL),
                  "{\"object\":\"list\",\"data\":[]}");
    }

    /* why a list has no usable model (a failed refresh, by default) */
    CHECK_STR(llmp_models_empty_reason(p, m), "it has no entries");
    m = llmp_models_parse(p, json, strlen(json), 0, NULL, &err);
    CHECK(m && llmp_models_empty_reason(p, m) == NULL);
    CHECK_INT(m->entries, 9);
    json = "{\"models\":[{\"model_version\":\"a\",\"handle\":\"//evil/x\"},"
           "{\"model_version\":\"b\",\"handle\":\"unavailable\"},"
           "{\"handle\":\"/x\"},7]}";
    m = llmp_models_parse(p, json, strlen(json), 0, NULL, &err);
    CHECK(m && m->list->nelts == 0);
    CHECK_STR(llmp_models_empty_reason(p, m),
              "none of its 4 entries is usable (3 refused, 1 unavailable)");
    json = "[{\"model_version\":\"b\",\"handle\":\"unavailable\"}]";
    m = llmp_models_parse(p, json, strlen(json), 0, NULL, &err);
    CHECK_STR(llmp_models_empty_reason(p, m),
              "none of its 1 entries is usable (0 refused, 1 unavailable)");
}

/* A large list: every entry indexed, and nothing points into the parsed
 * document, which is deleted (ASan reports a use after free here). */
static void t_models_large(apr_pool_t *p)
{
    const int n = 20000;
    const char *err = NULL;
    llmp_models_t *m;
    char *doc, *w;
    apr_size_t cap = (apr_size_t)n * 128 + 64;
    int i, ok = 1;

    doc = w = malloc(cap);
    w += sprintf(w, "{\"models\":[");
    for (i = 0; i < n; i++)
        w += sprintf(w, "%s{\"model_version\":\"m-%d\",\"model_family\":"
                     "\"fam-%d\",\"handle\":\"/openai/v1/chat/completions\","
                     "\"prompt_price_1k\":0.5}", i ? "," : "", i, i);
    w += sprintf(w, "]}");
    m = llmp_models_parse(p, doc, (apr_size_t)(w - doc), 1700000000, NULL,
                          &err);
    /* the caller's buffer goes away too: the index owns its strings */
    memset(doc, 'Z', (apr_size_t)(w - doc));
    free(doc);
    CHECK(m != NULL);
    if (!m) return;
    CHECK_INT(m->list->nelts, n);
    CHECK_INT(m->entries, n);
    for (i = 0; i < n; i += 997) {
        char id[32], fam[32];
        const llmp_model_t *mod;
        apr_snprintf(id, sizeof(id), "m-%d", i);
        apr_snprintf(fam, sizeof(fam), "fam-%d", i);
        mod = llmp_models_find(m, id);
        if (!mod || strcmp(mod->id, id) || strcmp(mod->family, fam)
            || strcmp(mod->handle, "/openai/v1/chat/completions")
            || mod->prompt_price_1k != 0.5)
            ok = 0;
    }
    CHECK(ok);
    CHECK(strstr(m->models_json, "\"id\":\"m-19999\"") != NULL);
}

/* The handle pool of a child: created, usable, destroyed with its pool. */
static void t_http_pool(apr_pool_t *p)
{
    apr_pool_t *sub;
    llmp_http_pool_t *hp;
    const char *err = NULL;

    CHECK(llmp_http_global_init(&err) == APR_SUCCESS);
    apr_pool_create(&sub, p);
    hp = llmp_http_pool_create(sub, 0);
    CHECK(hp != NULL);
    hp = llmp_http_pool_create(sub, 64);
    CHECK(hp != NULL);
    apr_pool_destroy(sub);
    llmp_http_global_cleanup();
}

typedef struct { int n; char ev[8][32]; char data[8][256]; } sse_rec;

static apr_status_t sse_cb(void *baton, const char *event, const char *data,
                           apr_size_t len)
{
    sse_rec *r = baton;
    if (r->n >= 8) return APR_EGENERAL;
    apr_cpystrn(r->ev[r->n], event, sizeof(r->ev[0]));
    apr_cpystrn(r->data[r->n], data, sizeof(r->data[0]));
    CHECK_INT(strlen(data), len);
    r->n++;
    return APR_SUCCESS;
}

static apr_status_t sse_comment_cb(void *baton, const char *text,
                                   apr_size_t len)
{
    sse_rec *r = baton;
    if (r->n >= 8 || len >= sizeof(r->data[0])) return APR_EGENERAL;
    strcpy(r->ev[r->n], "#");
    memcpy(r->data[r->n], text, len);
    r->data[r->n][len] = '\0';
    r->n++;
    return APR_SUCCESS;
}

static void t_sse(apr_pool_t *p)
{
    const char *stream =
        ": comment\r\n"
        "event: message_start\r\n"
        "data: {\"a\":1}\r\n\r\n"
        "data: line1\n"
        "data:line2\n"
        "id: 7\n\n"
        "event: ping\n\n"              /* no data: not dispatched */
        "data: last\r\r"
        "data: tail";
    apr_size_t len = strlen(stream), split;

    /* every split point gives the same events */
    for (split = 0; split <= len; split++) {
        sse_rec r;
        llmp_sse_parser_t *sp;
        memset(&r, 0, sizeof(r));
        sp = llmp_sse_parser_create(p, 4096, sse_cb, &r);
        CHECK_INT(llmp_sse_feed(sp, stream, split), APR_SUCCESS);
        CHECK_INT(llmp_sse_feed(sp, stream + split, len - split), APR_SUCCESS);
        CHECK_INT(llmp_sse_finish(sp), APR_SUCCESS);
        CHECK_INT(r.n, 4);
        CHECK_STR(r.ev[0], "message_start");
        CHECK_STR(r.data[0], "{\"a\":1}");
        CHECK_STR(r.ev[1], "");
        CHECK_STR(r.data[1], "line1\nline2");
        CHECK_STR(r.data[2], "last");
        CHECK_STR(r.data[3], "tail");
    }
    /* byte by byte */
    {
        sse_rec r;
        llmp_sse_parser_t *sp;
        apr_size_t i;
        memset(&r, 0, sizeof(r));
        sp = llmp_sse_parser_create(p, 4096, sse_cb, &r);
        for (i = 0; i < len; i++) llmp_sse_feed(sp, stream + i, 1);
        llmp_sse_finish(sp);
        CHECK_INT(r.n, 4);
        CHECK_INT(llmp_sse_count(sp), 4);
    }
    /* oversized event refused */
    {
        sse_rec r;
        llmp_sse_parser_t *sp;
        char big[200];
        memset(&r, 0, sizeof(r));
        memset(big, 'x', sizeof(big));
        sp = llmp_sse_parser_create(p, 64, sse_cb, &r);
        CHECK(llmp_sse_feed(sp, "data: ", 6) == APR_SUCCESS);
        CHECK(llmp_sse_feed(sp, big, sizeof(big)) == APR_ENOSPC);
        CHECK(llmp_sse_feed(sp, "\n\n", 2) != APR_SUCCESS);
    }
    /* comments reach the comment callback, in order with the events */
    {
        sse_rec r;
        llmp_sse_parser_t *sp;
        memset(&r, 0, sizeof(r));
        sp = llmp_sse_parser_create(p, 4096, sse_cb, &r);
        llmp_sse_set_comment_fn(sp, sse_comment_cb);
        CHECK_INT(llmp_sse_feed(sp, stream, len), APR_SUCCESS);
        CHECK_INT(llmp_sse_feed(sp, "\n: ka\n:\n", 9), APR_SUCCESS);
        CHECK_INT(llmp_sse_finish(sp), APR_SUCCESS);
        CHECK_INT(r.n, 7);
        CHECK_STR(r.ev[0], "#");
        CHECK_STR(r.data[0], " comment");
        CHECK_STR(r.data[1], "{\"a\":1}");
        CHECK_STR(r.data[4], " ka");     /* inside the unfinished "tail" */
        CHECK_STR(r.data[5], "");
        CHECK_STR(r.data[6], "tail");
    }
    {
        apr_size_t n;
        char *s = llmp_sse_data(p, "{}", 2, &n);
        CHECK_INT(n, 10);
        CHECK(!memcmp(s, "data: {}\n\n", 10));
    }
}

static void t_openai(apr_pool_t *p)
{
    llmp_error_t *e = llmp_error_make(p, 404, NULL, "model_not_found", "model",
                                      "The model `%s` does not exist", "x");
    const char *mime, *b64;
    char *out;
    apr_size_t outlen;
    cJSON *j;
    apr_array_header_t *stops;

    CHECK_STR(llmp_error_json(p, e),
              "{\"error\":{\"message\":\"The model `x` does not exist\","
              "\"type\":\"invalid_request_error\",\"param\":\"model\","
              "\"code\":\"model_not_found\"}}");
    CHECK_STR(llmp_error_type_for_status(502), "api_error");
    CHECK_STR(llmp_error_type_for_status(429), "rate_limit_error");

    /* envelope */
    {
        const char *env = "{\"response\":{\"id\":\"x\",\"choices\":[]}}";
        CHECK(llmp_envelope_unwrap_body(p, env, strlen(env), &out, &outlen));
    }
    CHECK_STR(out, "{\"id\":\"x\",\"choices\":[]}");
    CHECK(!llmp_envelope_unwrap_body(p, "{\"id\":\"x\",\"response\":{}}", 24,
                                     &out, &outlen));
    CHECK(!llmp_envelope_unwrap_body(p, "{\"response\":\"text\"}", 19, &out,
                                     &outlen));
    CHECK(!llmp_envelope_unwrap_body(p, "[1]", 3, &out, &outlen));
    CHECK(llmp_json_looks_like_object(" \r\n{}\n", 6));
    CHECK(llmp_json_looks_like_object("{\"a\":1}", 7));
    CHECK(!llmp_json_looks_like_object("{", 1));
    CHECK(!llmp_json_looks_like_object("", 0));
    CHECK(!llmp_json_looks_like_object("<html>oops</html>", 17));
    CHECK(!llmp_json_looks_like_object("{} trailing", 11));
    CHECK(!llmp_json_looks_like_object("[{}]", 4));
    CHECK(!llmp_envelope_unwrap_body(p, "{\"choices\":[]}", 14, &out, &outlen));
    /* one JSON value and white space, nothing after it */
    CHECK(llmp_json_parse_pool(p, " {\"a\":1} \r\n", 11) != NULL);
    CHECK(llmp_json_parse_pool(p, "{} trailing", 11) == NULL);
    CHECK(llmp_json_parse_pool(p, "{\"a\":1}{\"b\":2}", 14) == NULL);
    CHECK(llmp_json_parse_pool(p, "{\"id\":\"x\"}<html></html>", 25) == NULL);
    CHECK(llmp_json_parse_pool(p, "{}\0", 3) == NULL);

    CHECK(llmp_data_url_parse(p, "data:image/png;base64,AAAA", &mime, &b64));
    CHECK_STR(mime, "image/png");
    CHECK_STR(b64, "AAAA");
    CHECK(llmp_data_url_parse(p, "data:image/jpeg;name=x.jpg;base64,QQ==", &mime, &b64));
    CHECK_STR(mime, "image/jpeg");
    CHECK(!llmp_data_url_parse(p, "data:text/plain,hello", &mime, &b64));
    CHECK(!llmp_data_url_parse(p, "https://x/y.png", &mime, &b64));

    j = cJSON_Parse("{\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}},"
                    "{\"type\":\"text\",\"text\":\"b\"}],\"stop\":[\"x\",\"y\"],"
                    "\"max_tokens\":5,\"max_completion_tokens\":7}");
    CHECK_STR(llmp_content_text(p, cJSON_GetObjectItem(j, "content")), "ab");
    stops = llmp_stop_list(p, cJSON_GetObjectItem(j, "stop"));
    CHECK_INT(stops->nelts, 2);
    CHECK_INT(llmp_req_max_tokens(j), 7);
    cJSON_Delete(j);

    {
        const char *id = llmp_make_id(p, "chatcmpl-");
        CHECK(strncmp(id, "chatcmpl-", 9) == 0 && strlen(id) == 9 + 24);
        CHECK(strcmp(id, llmp_make_id(p, "chatcmpl-")) != 0);
        /* a key id: random bytes only (NULL without them) */
        id = llmp_make_key_id(p, "resp_");
        CHECK(id && !strncmp(id, "resp_", 5) && strlen(id) == 5 + 24);
        CHECK(id && strcmp(id, llmp_make_key_id(p, "resp_")) != 0);
    }
    {
        cJSON *c = llmp_chunk_new("id1", 5, "m");
        cJSON *d = llmp_chunk_add_choice(c, 0, NULL);
        llmp_delta_add_tool_call(d, 0, "call_1", "f", "");
        CHECK_STR(llmp_json_print(p, c, NULL),
                  "{\"id\":\"id1\",\"object\":\"chat.completion.chunk\",\"created\":5,"
                  "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                  "[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                  "{\"name\":\"f\",\"arguments\":\"\"}}]},\"logprobs\":null,"
                  "\"finish_reason\":null}]}");
        cJSON_Delete(c);
    }
    {
        /* integers are written as their decimal text, whatever their size;
         * a big document still prints whole (the print buffer grows) */
        cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
        char *big;
        int i;

        llmp_json_add_int(o, "a", 0);
        llmp_json_add_int(o, "b", -42);
        llmp_json_add_int(o, "c", APR_INT64_C(9007199254740993));
        CHECK_STR(llmp_json_print(p, o, NULL),
                  "{\"a\":0,\"b\":-42,\"c\":9007199254740993}");
        for (i = 0; i < 20000; i++) cJSON_AddItemToArray(a, cJSON_CreateString("abcdef"));
        cJSON_AddItemToObject(o, "big", a);
        big = llmp_json_print(p, o, NULL);
        CHECK(big && strlen(big)
              == strlen("{\"a\":0,\"b\":-42,\"c\":9007199254740993,\"big\":[")
                 + 20000 * 9 - 1 + 2);
        cJSON_Delete(o);
    }
}

static void t_embeddings(apr_pool_t *p)
{
    cJSON *req = cJSON_Parse("{\"input\":[\"a\",\"b\"],\"encoding_format\":\"base64\"}");
    cJSON *vec = cJSON_Parse("[1.0, -2.5, 0.0]");
    llmp_error_t *err = NULL;
    apr_array_header_t *in = llmp_embeddings_input(p, req, &err);
    cJSON *r = llmp_embeddings_new("m", 3);
    cJSON *e;

    CHECK(in && in->nelts == 2);
    CHECK_INT(llmp_embeddings_base64(req), 1);
    CHECK(llmp_embeddings_add(p, r, 0, vec, 1));
    CHECK(llmp_embeddings_add(p, r, 1, vec, 0));
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data"), 0);
    /* 1.0f = 00 00 80 3f, -2.5f = 00 00 20 c0, 0.0f = 0 */
    CHECK_STR(llmp_json_str(e, "embedding"), "AACAPwAAIMAAAAAA");
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data"), 1);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(e, "embedding")), 3);
    cJSON_Delete(r);
    cJSON_Delete(req);
    cJSON_Delete(vec);
    req = cJSON_Parse("{\"input\":[[1,2]]}");
    CHECK(llmp_embeddings_input(p, req, &err) == NULL && err && err->status == 400);
    cJSON_Delete(req);
    req = cJSON_Parse("{\"input\":\"x\",\"encoding_format\":\"int8\"}");
    CHECK_INT(llmp_embeddings_base64(req), -1);
    cJSON_Delete(req);
}

typedef struct { int n; char buf[4][600]; } emit_rec;

static apr_status_t rec_emit(void *baton, const char *data, apr_size_t len)
{
    emit_rec *r = baton;
    if (r->n >= 4 || len >= sizeof(r->buf[0])) return APR_EGENERAL;
    memcpy(r->buf[r->n], data, len);
    r->buf[r->n++][len] = '\0';
    return APR_SUCCESS;
}

static void t_stream_completion(apr_pool_t *p)
{
    llmp_xlate_t x;
    emit_rec rec;
    cJSON *c = cJSON_Parse(
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":7,"
        "\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":\"hi\",\"tool_calls\":[{\"id\":\"c1\","
        "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,"
        "\"completion_tokens\":2,\"total_tokens\":3}}");

    memset(&x, 0, sizeof(x));
    memset(&rec, 0, sizeof(rec));
    x.pool = p;
    x.id = "chatcmpl-x";
    x.model_id = "m";
    x.include_usage = 1;
    x.emit = rec_emit;
    x.emit_baton = &rec;
    CHECK_INT(llmp_xlate_stream_completion(&x, c), APR_SUCCESS);
    CHECK_INT(rec.n, 3);
    CHECK_STR(rec.buf[0],
              "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
              "\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":"
              "{\"role\":\"assistant\",\"content\":\"hi\",\"tool_calls\":[{\"index\":0,"
              "\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"{}\"}}]},\"logprobs\":null,\"finish_reason\":null}],"
              "\"usage\":null}");
    CHECK(strstr(rec.buf[1], "\"delta\":{},\"logprobs\":null,\"finish_reason\":"
                 "\"tool_calls\"}],\"usage\":null}") != NULL);
    CHECK(strstr(rec.buf[2], "\"choices\":[],\"usage\":{\"prompt_tokens\":1") != NULL);
    cJSON_Delete(c);
}

static void t_buf(apr_pool_t *p)
{
    llmp_buf_t b;
    char big[20000];
    int i;

    memset(big, 'y', sizeof(big));
    llmp_buf_init(&b, p, 40000);
    CHECK(b.data == NULL && b.len == 0);
    CHECK_INT(llmp_buf_append(&b, "ab", 2), APR_SUCCESS);
    CHECK_STR(b.data, "ab");
    CHECK_INT(llmp_buf_append(&b, big, sizeof(big)), APR_SUCCESS);
    CHECK_INT(b.len, 20002);
    CHECK(b.data[20002] == '\0' && b.data[20001] == 'y');
    /* past max: refused, nothing appended */
    CHECK_INT(llmp_buf_append(&b, big, sizeof(big)), APR_ENOSPC);
    CHECK_INT(b.len, 20002);
    for (i = 0; i < 19998; i++) llmp_buf_append(&b, "z", 1);
    CHECK_INT(b.len, 40000);
    CHECK_INT(llmp_buf_append(&b, "z", 1), APR_ENOSPC);
    CHECK_INT(llmp_buf_append(&b, "", 0), APR_SUCCESS);
}

/* The version read from a model id, and the administrator's patterns. */
static void t_reasoning_rule(apr_pool_t *p)
{
    static const struct { const char *id, *fam; int ok, major, minor; } v[] = {
        { "claude-3-7-sonnet-20250219", "claude", 1, 3, 7 },
        { "claude-3-opus-20240229", "claude", 1, 3, 0 },
        { "claude-opus-4-5", "claude", 1, 4, 5 },
        { "claude-sonnet-4-20250514", "claude", 1, 4, 0 },
        { "claude-2.1", "claude", 1, 2, 1 },
        { "us.anthropic.Claude-Haiku-4-5-v1:0", "claude", 1, 4, 5 },
        { "claude-raw", "claude", 0, 0, 0 },
        { "claude-20250101", "claude", 0, 0, 0 },
        { "gemini-2.5-flash-lite", "gemini", 1, 2, 5 },
        { "gemini-3-pro-preview", "gemini", 1, 3, 0 },
        { "gemini-exp-1206", "gemini", 0, 0, 0 },
        { "gpt-4o", "gemini", 0, 0, 0 },
        { "", "claude", 0, 0, 0 },
        { NULL, NULL, 0, 0, 0 } };
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));
    llmp_xlate_opts_t o;
    llmp_xlate_t x;
    int i, major, minor;

    for (i = 0; v[i].id; i++) {
        int ok = llmp_model_version(v[i].id, v[i].fam, &major, &minor);
        CHECK_INT(ok, v[i].ok);
        if (ok) {
            CHECK_INT(major, v[i].major);
            CHECK_INT(minor, v[i].minor);
        }
    }
    CHECK(!llmp_model_version(NULL, "claude", &major, &minor));
    CHECK(llmp_model_has("command-A-Reasoning", "reasoning"));
    CHECK(!llmp_model_has(NULL, "reasoning"));
    memset(&o, 0, sizeof(o));
    memset(&x, 0, sizeof(x));
    x.pool = p;
    x.model_id = "House-Claude";
    CHECK(!llmp_reasoning_allowed(&x, 0));      /* no opts */
    CHECK(llmp_reasoning_allowed(&x, 1));
    x.opts = &o;
    CHECK(!llmp_reasoning_allowed(&x, 0));      /* no patterns */
    o.reasoning_models = a;
    CHECK(!llmp_reasoning_allowed(&x, 0));      /* "none": empty */
    APR_ARRAY_PUSH(a, const char *) = "*-thinking";
    APR_ARRAY_PUSH(a, const char *) = "house-*";
    CHECK(llmp_reasoning_allowed(&x, 0));       /* case blind */
    x.model_id = "a-thinking";
    CHECK(llmp_reasoning_allowed(&x, 0));
    x.model_id = "a-thinking-b";
    CHECK(!llmp_reasoning_allowed(&x, 0));
    x.model_id = NULL;
    CHECK(!llmp_reasoning_allowed(&x, 0));
}

/* The IR sent to an OpenAI-compatible chat backend keeps reasoning_effort
 * only for reasoning models, verbosity only for gpt-5, and no extension. */
static void t_ir_for_openai(apr_pool_t *p)
{
    static const struct { const char *id; int effort, verbosity; } v[] = {
        { "gpt-4o", 0, 0 }, { "gpt-5-mini", 1, 1 }, { "o3", 1, 0 },
        { "openai/o4-mini", 1, 0 }, { "gpt-oss-120b", 1, 0 },
        { "ollama", 0, 0 }, { "accounts/fireworks/models/llama-v3", 0, 0 },
        { "house-thinker", 1, 1 }, { NULL, 0, 0 } };
    apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));
    llmp_xlate_opts_t o;
    llmp_xlate_t x;
    int i;

    memset(&o, 0, sizeof(o));
    memset(&x, 0, sizeof(x));
    APR_ARRAY_PUSH(a, const char *) = "house-*";
    o.reasoning_models = a;
    x.pool = p;
    x.opts = &o;
    for (i = 0; v[i].id; i++) {
        cJSON *ir = cJSON_Parse("{\"model\":\"m\",\"reasoning_effort\":"
            "\"high\",\"verbosity\":\"low\",\"x_llmp\":{},\"messages\":"
            "[{\"role\":\"assistant\",\"content\":\"a\","
            "\"reasoning_content\":\"r\",\"reasoning_signature\":\"s\"}]}");
        const cJSON *m;

        x.model_id = v[i].id;
        llmp_ir_for_openai(&x, ir);
        CHECK_INT(cJSON_HasObjectItem(ir, "reasoning_effort"), v[i].effort);
        CHECK_INT(cJSON_HasObjectItem(ir, "verbosity"), v[i].verbosity);
        CHECK(!cJSON_HasObjectItem(ir, "x_llmp"));
        m = cJSON_GetArrayItem(cJSON_GetObjectItem(ir, "messages"), 0);
        CHECK(!cJSON_HasObjectItem(m, "reasoning_content"));
        CHECK(!cJSON_HasObjectItem(m, "reasoning_signature"));
        CHECK(cJSON_HasObjectItem(m, "content"));
        cJSON_Delete(ir);
    }
}

TEST_MAIN_BEGIN("core")
    RUN(t_buf);
    RUN(t_stream_completion);
    RUN(t_embeddings);
    RUN(t_handle_safety);
    RUN(t_origin);
    RUN(t_provider);
    RUN(t_models);
    RUN(t_models_large);
    RUN(t_http_pool);
    RUN(t_sse);
    RUN(t_openai);
    RUN(t_reasoning_rule);
    RUN(t_ir_for_openai);
TEST_MAIN_END
