/* Unit tests: the Ideogram (classic JSON and 3.0 multipart) and Recraft
 * image translators, driven by the fixtures in tests/fixtures/ideogram/ and
 * tests/fixtures/recraft/. */
#include "llmp_test.h"
#include "llmp_provider.h"
#include "llmp_openai.h"

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

#define CLASSIC "/ideogram/generate"
#define V3 "/ideogram/v1/ideogram-v3/generate"
#define RECRAFT "/recraft/v1/images/generations"

static llmp_xlate_t *new_x(apr_pool_t *p, const char *model,
                           const char *handle)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));

    x->pool = p;
    x->model_id = model;
    x->handle = handle;
    x->id = "chatcmpl-test1";
    x->created = 1700000000;
    x->opts = &opts;
    return x;
}

static cJSON *parse(apr_pool_t *p, const char *s)
{
    cJSON *j = llmp_json_parse_pool(p, s, strlen(s));
    if (!j) fprintf(stderr, "bad JSON in test: %s\n", s);
    return j;
}

/* Translate a request; returns the native JSON (classic/Recraft) or NULL
 * and sets *err. */
static cJSON *xreq(apr_pool_t *p, const llmp_provider_ops_t *ops,
                   llmp_xlate_t *x, const char *req, llmp_native_req_t *nr,
                   llmp_error_t **err)
{
    memset(nr, 0, sizeof(*nr));
    *err = ops->images_request(x, parse(p, req), nr);
    if (*err) return NULL;
    if (nr->content_type) return NULL;
    return llmp_json_parse_pool(p, nr->body, nr->len);
}

/* A multipart/form-data body as a table name -> value; NULL if malformed. */
static apr_table_t *form(apr_pool_t *p, const llmp_native_req_t *nr)
{
    const char *b, *s, *end;
    const char *delim;
    apr_table_t *t = apr_table_make(p, 8);

    if (!nr->content_type
        || strncmp(nr->content_type, "multipart/form-data; boundary=", 30))
        return NULL;
    b = nr->content_type + 30;
    if (strlen(nr->body) != nr->len) return NULL;
    delim = apr_pstrcat(p, "--", b, NULL);
    s = nr->body;
    if (strncmp(s, delim, strlen(delim))) return NULL;
    for (;;) {
        const char *name, *q, *v;
        s += strlen(delim);
        if (!strcmp(s, "--\r\n")) return t;
        if (strncmp(s, "\r\nContent-Disposition: form-data; name=\"", 40))
            return NULL;
        s += 40;
        q = strchr(s, '"');
        if (!q || strncmp(q, "\"\r\n\r\n", 5)) return NULL;
        name = apr_pstrmemdup(p, s, q - s);
        v = q + 5;
        end = strstr(v, apr_pstrcat(p, "\r\n", delim, NULL));
        if (!end) return NULL;
        apr_table_add(t, name, apr_pstrmemdup(p, v, end - v));
        s = end + 2;
    }
}

/* ---------------- Ideogram classic ---------------- */

static void t_classic_request(apr_pool_t *p)
{
    const llmp_provider_ops_t *ops = &llmp_ideogram_ops;
    llmp_xlate_t *x = new_x(p, "ideogram-v2", CLASSIC);
    llmp_native_req_t nr;
    llmp_error_t *err;
    cJSON *j;

    CHECK(ops->chat_request == NULL && ops->embeddings_request == NULL);
    CHECK_STR(ops->name, "ideogram");
    j = xreq(p, ops, x, "{\"model\":\"ideogram-v2\",\"prompt\":\"a cat\","
             "\"n\":3,\"size\":\"1792x1024\",\"style\":\"natural\","
             "\"quality\":\"hd\",\"response_format\":\"url\","
             "\"user\":\"u1\"}", &nr, &err);
    CHECK(err == NULL);
    CHECK(j != NULL);
    CHECK_STR(nr.path, CLASSIC);
    CHECK(nr.content_type == NULL);
    CHECK_INT(nr.stream, 0);
    CHECK_STR(at_str(j, "image_request.prompt"), "a cat");
    CHECK_STR(at_str(j, "image_request.model"), "V_2");
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_16_9");
    CHECK_INT(at_num(j, "image_request.num_images"), 3);
    CHECK_STR(at_str(j, "image_request.style_type"), "REALISTIC");
    CHECK(at(j, "image_request.rendering_speed") == NULL);
    CHECK(at(j, "image_request.user") == NULL);
    CHECK(at(j, "image_request.quality") == NULL);
    CHECK_INT(cJSON_GetArraySize(j), 1);

    /* defaults: n 1, no aspect, no style */
    j = xreq(p, ops, x, "{\"prompt\":\"a dog\"}", &nr, &err);
    CHECK(err == NULL);
    CHECK_INT(at_num(j, "image_request.num_images"), 1);
    CHECK(at(j, "image_request.aspect_ratio") == NULL);
    CHECK(at(j, "image_request.style_type") == NULL);
    j = xreq(p, ops, x, "{\"prompt\":\"a dog\",\"size\":\"auto\","
             "\"n\":null,\"style\":\"vivid\"}", &nr, &err);
    CHECK(err == NULL);
    CHECK(at(j, "image_request.aspect_ratio") == NULL);
    CHECK_STR(at_str(j, "image_request.style_type"), "AUTO");

    /* aspect ratios: nearest */
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1024x1792\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_9_16");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1024x1024\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_1_1");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"512x512\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_1_1");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1536x1024\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_3_2");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1024x1536\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_2_3");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1280x800\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_16_10");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"3000x900\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_3_1");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"256x1024\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_1_3");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"4:3\"}", &nr, &err);
    CHECK_STR(at_str(j, "image_request.aspect_ratio"), "ASPECT_4_3");

    /* native passthroughs */
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"style\":\"RENDER_3D\","
             "\"magic_prompt\":\"off\",\"negative_prompt\":\"blur\","
             "\"seed\":42}", &nr, &err);
    CHECK(err == NULL);
    CHECK_STR(at_str(j, "image_request.style_type"), "RENDER_3D");
    CHECK_STR(at_str(j, "image_request.magic_prompt_option"), "OFF");
    CHECK_STR(at_str(j, "image_request.negative_prompt"), "blur");
    CHECK_INT(at_num(j, "image_request.seed"), 42);
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"magic_prompt_option\":\"ON\"}",
             &nr, &err);
    CHECK_STR(at_str(j, "image_request.magic_prompt_option"), "ON");
}

static void t_classic_models(apr_pool_t *p)
{
    static const struct { const char *id, *native; } m[] = {
        { "ideogram-v2", "V_2" }, { "ideogram-v2-turbo", "V_2_TURBO" },
        { "V_2_TURBO", "V_2_TURBO" }, { "ideogram_v1", "V_1" },
        { "Ideogram-V1-Turbo", "V_1_TURBO" }, { "ideogram-v2a", "V_2A" },
        { "ideogram-v2a-turbo", "V_2A_TURBO" }, { "v2", "V_2" },
        { NULL, NULL } };
    llmp_native_req_t nr;
    llmp_error_t *err;
    cJSON *j;
    int i;

    for (i = 0; m[i].id; i++) {
        j = xreq(p, &llmp_ideogram_ops, new_x(p, m[i].id, CLASSIC),
                 "{\"prompt\":\"a\"}", &nr, &err);
        CHECK_STR(at_str(j, "image_request.model"), m[i].native);
    }
    j = xreq(p, &llmp_ideogram_ops, new_x(p, "ideogram", CLASSIC),
             "{\"prompt\":\"a\"}", &nr, &err);
    CHECK(err == NULL && at(j, "image_request.model") == NULL);
    j = xreq(p, &llmp_ideogram_ops, new_x(p, "ideogram-v9", CLASSIC),
             "{\"prompt\":\"a\"}", &nr, &err);
    CHECK(err == NULL && at(j, "image_request.model") == NULL);
    /* V_1 takes no style_type */
    j = xreq(p, &llmp_ideogram_ops, new_x(p, "ideogram-v1", CLASSIC),
             "{\"prompt\":\"a\",\"style\":\"natural\"}", &nr, &err);
    CHECK(err == NULL && at(j, "image_request.style_type") == NULL);
}

static void t_classic_errors(apr_pool_t *p)
{
    static const struct { const char *req, *param; } bad[] = {
        { "{}", "prompt" },
        { "{\"prompt\":\"\"}", "prompt" },
        { "{\"prompt\":null}", "prompt" },
        { "{\"prompt\":42}", "prompt" },
        { "{\"prompt\":[\"a\"]}", "prompt" },
        { "{\"prompt\":\"a\",\"n\":0}", "n" },
        { "{\"prompt\":\"a\",\"n\":9}", "n" },
        { "{\"prompt\":\"a\",\"n\":1.5}", "n" },
        { "{\"prompt\":\"a\",\"n\":\"2\"}", "n" },
        { "{\"prompt\":\"a\",\"n\":1e300}", "n" },
        { "{\"prompt\":\"a\",\"n\":-1e300}", "n" },
        { "{\"prompt\":\"a\",\"size\":\"big\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":\"0x100\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":\"1024x\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":\"1024x1024x1\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":\"99999999x1\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":\"-5x10\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":1024}", "size" },
        { "{\"prompt\":\"a\",\"response_format\":\"b64_json\"}",
          "response_format" },
        { "{\"prompt\":\"a\",\"response_format\":\"png\"}", "response_format" },
        { "{\"prompt\":\"a\",\"style\":\"FICTION\"}", "style" },
        { "{\"prompt\":\"a\",\"style\":\"neon\"}", "style" },
        { "{\"prompt\":\"a\",\"magic_prompt\":\"maybe\"}", "magic_prompt" },
        { "{\"prompt\":\"a\",\"seed\":-1}", "seed" },
        { "{\"prompt\":\"a\",\"seed\":3000000000}", "seed" },
        { "{\"prompt\":\"a\",\"seed\":\"1\"}", "seed" },
        { "{\"prompt\":\"a\",\"negative_prompt\":5}", "negative_prompt" },
        { NULL, NULL } };
    llmp_xlate_t *x = new_x(p, "ideogram-v2", CLASSIC);
    llmp_native_req_t nr;
    llmp_error_t *err;
    int i;

    for (i = 0; bad[i].req; i++) {
        xreq(p, &llmp_ideogram_ops, x, bad[i].req, &nr, &err);
        CHECK(err != NULL);
        if (!err) { fprintf(stderr, "  for %s\n", bad[i].req); continue; }
        CHECK_INT(err->status, 400);
        CHECK_STR(err->param, bad[i].param);
        CHECK_STR(err->type, "invalid_request_error");
    }
    xreq(p, &llmp_ideogram_ops, x,
         "{\"prompt\":\"a\",\"response_format\":\"b64_json\"}", &nr, &err);
    CHECK_STR(err ? err->message : NULL,
              "response_format b64_json is not supported for this model");
    err = llmp_ideogram_ops.images_request(x, parse(p, "[1]"), &nr);
    CHECK(err && err->status == 400);
    err = llmp_ideogram_ops.images_request(x, NULL, &nr);
    CHECK(err && err->status == 400);
}

/* ---------------- Ideogram 3.0 (multipart) ---------------- */

static void t_v3_request(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, "ideogram-v3", V3);
    llmp_native_req_t nr;
    llmp_error_t *err;
    apr_table_t *t;

    xreq(p, &llmp_ideogram_ops, x, "{\"model\":\"ideogram-v3\","
         "\"prompt\":\"a cat \\\"quoted\\\"\\r\\nline2 ü\",\"n\":2,"
         "\"size\":\"1024x1024\",\"quality\":\"hd\",\"style\":\"natural\","
         "\"user\":\"x\"}", &nr, &err);
    CHECK(err == NULL);
    CHECK_STR(nr.path, V3);
    CHECK(nr.content_type != NULL);
    t = form(p, &nr);
    CHECK(t != NULL);
    if (!t) return;
    CHECK_STR(apr_table_get(t, "prompt"), "a cat \"quoted\"\r\nline2 ü");
    CHECK_STR(apr_table_get(t, "num_images"), "2");
    CHECK_STR(apr_table_get(t, "resolution"), "1024x1024");
    CHECK(apr_table_get(t, "aspect_ratio") == NULL);
    CHECK_STR(apr_table_get(t, "rendering_speed"), "QUALITY");
    CHECK_STR(apr_table_get(t, "style_type"), "REALISTIC");
    CHECK(apr_table_get(t, "model") == NULL);
    CHECK(apr_table_get(t, "user") == NULL);
    CHECK_INT(apr_table_elts(t)->nelts, 5);

    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"a\",\"size\":\"1792x1024\","
         "\"quality\":\"standard\",\"style\":\"FICTION\","
         "\"magic_prompt\":\"ON\",\"seed\":7,\"negative_prompt\":\"x\"}",
         &nr, &err);
    CHECK(err == NULL);
    t = form(p, &nr);
    CHECK(t != NULL);
    if (!t) return;
    CHECK_STR(apr_table_get(t, "aspect_ratio"), "16x9");
    CHECK(apr_table_get(t, "resolution") == NULL);
    CHECK_STR(apr_table_get(t, "rendering_speed"), "DEFAULT");
    CHECK_STR(apr_table_get(t, "style_type"), "FICTION");
    CHECK_STR(apr_table_get(t, "magic_prompt"), "ON");
    CHECK_STR(apr_table_get(t, "seed"), "7");
    CHECK_STR(apr_table_get(t, "negative_prompt"), "x");
    CHECK_STR(apr_table_get(t, "num_images"), "1");

    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"a\",\"size\":\"1024x1792\","
         "\"quality\":\"low\",\"style\":\"vivid\"}", &nr, &err);
    t = form(p, &nr);
    CHECK_STR(t ? apr_table_get(t, "aspect_ratio") : NULL, "9x16");
    CHECK_STR(t ? apr_table_get(t, "rendering_speed") : NULL, "TURBO");
    CHECK_STR(t ? apr_table_get(t, "style_type") : NULL, "AUTO");
    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"a\",\"size\":\"1312x736\","
         "\"quality\":\"auto\"}", &nr, &err);
    t = form(p, &nr);
    CHECK_STR(t ? apr_table_get(t, "resolution") : NULL, "1312x736");
    CHECK(t && apr_table_get(t, "rendering_speed") == NULL);
    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"a\",\"size\":\"1000x800\","
         "\"quality\":\"flash\"}", &nr, &err);
    t = form(p, &nr);
    CHECK_STR(t ? apr_table_get(t, "aspect_ratio") : NULL, "5x4");
    CHECK_STR(t ? apr_table_get(t, "rendering_speed") : NULL, "FLASH");

    /* the boundary never appears inside a value */
    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"x --llmproxy-ideogram-"
         "7f3a9c1e5b2d4068 and llmproxy-ideogram-7f3a9c1e5b2d4068-1 y\"}",
         &nr, &err);
    CHECK(err == NULL);
    t = form(p, &nr);
    CHECK(t != NULL);
    CHECK_STR(t ? apr_table_get(t, "prompt") : NULL,
              "x --llmproxy-ideogram-7f3a9c1e5b2d4068 and "
              "llmproxy-ideogram-7f3a9c1e5b2d4068-1 y");
    CHECK_STR(nr.content_type, "multipart/form-data; "
              "boundary=llmproxy-ideogram-7f3a9c1e5b2d4068-2");

    /* v3 validation */
    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"a\",\"quality\":\"ultra\"}",
         &nr, &err);
    CHECK(err && err->status == 400 && !strcmp(err->param, "quality"));
    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"a\",\"style\":\"ANIME\"}",
         &nr, &err);
    CHECK(err && err->status == 400 && !strcmp(err->param, "style"));
    xreq(p, &llmp_ideogram_ops, x, "{\"prompt\":\"\"}", &nr, &err);
    CHECK(err && err->status == 400 && !strcmp(err->param, "prompt"));
    xreq(p, &llmp_ideogram_ops, x,
         "{\"prompt\":\"a\",\"response_format\":\"b64_json\"}", &nr, &err);
    CHECK(err && err->status == 400);
}

static void t_ideogram_response(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, "ideogram-v2", CLASSIC);
    apr_size_t len, olen;
    char *body, *out = NULL;
    cJSON *j;
    llmp_error_t *err;

    body = llmp_fixture(p, "ideogram/generate_response.json", &len);
    err = llmp_ideogram_ops.images_response(x, parse(p, body), &out, &olen);
    CHECK(err == NULL);
    j = out ? llmp_json_parse_pool(p, out, olen) : NULL;
    CHECK(j != NULL);
    CHECK_INT(at_num(j, "created"), 1700000000);
    CHECK_INT(cJSON_GetArraySize(at(j, "data")), 1);
    CHECK(!strncmp(at_str(j, "data.0.url") ? at_str(j, "data.0.url") : "",
                   "https://ideogram.ai/api/images/ephemeral/xtdZ", 45));
    CHECK(!strncmp(at_str(j, "data.0.revised_prompt")
                   ? at_str(j, "data.0.revised_prompt") : "",
                   "A serene tropical beach scene.", 30));
    CHECK(at(j, "data.0.b64_json") == NULL);
    CHECK(at(j, "data.0.seed") == NULL);

    body = llmp_fixture(p, "ideogram/generate_v3_response.json", &len);
    out = NULL;
    err = llmp_ideogram_ops.images_response(x, parse(p, body), &out, &olen);
    CHECK(err == NULL);
    j = out ? llmp_json_parse_pool(p, out, olen) : NULL;
    CHECK_INT(cJSON_GetArraySize(at(j, "data")), 2);
    CHECK_STR(at_str(j, "data.1.url"),
              "https://ideogram.ai/api/images/ephemeral/a2.png?exp=1743867804&sig=01");

    body = llmp_fixture(p, "ideogram/response_partly_unsafe.json", &len);
    out = NULL;
    err = llmp_ideogram_ops.images_response(x, parse(p, body), &out, &olen);
    CHECK(err == NULL);
    j = out ? llmp_json_parse_pool(p, out, olen) : NULL;
    CHECK_INT(cJSON_GetArraySize(at(j, "data")), 1);
    CHECK_STR(at_str(j, "data.0.url"),
              "https://ideogram.ai/api/images/ephemeral/ok.png");
    CHECK_STR(at_str(j, "data.0.revised_prompt"), "p2");

    body = llmp_fixture(p, "ideogram/response_all_unsafe.json", &len);
    err = llmp_ideogram_ops.images_response(x, parse(p, body), &out, &olen);
    CHECK(err != NULL);
    CHECK_INT(err ? err->status : 0, 400);
    CHECK_STR(err ? err->code : NULL, "content_policy_violation");

    err = llmp_ideogram_ops.images_response(x, parse(p, "{\"data\":[]}"),
                                            &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
    err = llmp_ideogram_ops.images_response(x, parse(p, "{\"created\":1}"),
                                            &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
    err = llmp_ideogram_ops.images_response(x, parse(p, "[]"), &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
    err = llmp_ideogram_ops.images_response(x, NULL, &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
    err = llmp_ideogram_ops.images_response(x,
        parse(p, "{\"data\":[1,{\"url\":5},{\"url\":\"u\"}]}"), &out, &olen);
    CHECK(err == NULL);
    j = err ? NULL : llmp_json_parse_pool(p, out, olen);
    CHECK_INT(cJSON_GetArraySize(at(j, "data")), 1);
    CHECK(at(j, "data.0.revised_prompt") == NULL);
}

static void t_ideogram_error(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, "ideogram-v2", CLASSIC);
    apr_size_t len;
    char *body;
    llmp_error_t *e;

    body = llmp_fixture(p, "ideogram/error_422_detail.json", &len);
    e = llmp_ideogram_ops.error(x, 422, parse(p, body), body, len);
    CHECK_INT(e->status, 422);
    CHECK_STR(e->message, "Prompt failed the safety check.");
    CHECK_STR(e->type, "invalid_request_error");

    body = llmp_fixture(p, "ideogram/error_422_validation.json", &len);
    e = llmp_ideogram_ops.error(x, 422, parse(p, body), body, len);
    CHECK_INT(e->status, 422);
    CHECK(strstr(e->message, "aspect_ratio: value is not a valid "
                 "enumeration member") != NULL);

    body = llmp_fixture(p, "ideogram/error_429.json", &len);
    e = llmp_ideogram_ops.error(x, 429, parse(p, body), body, len);
    CHECK_INT(e->status, 429);
    CHECK_STR(e->message, "Too many requests. Please slow down.");

    body = llmp_fixture(p, "ideogram/error_400_error.json", &len);
    e = llmp_ideogram_ops.error(x, 400, parse(p, body), body, len);
    CHECK_INT(e->status, 400);
    CHECK_STR(e->message, "Invalid input provided.");

    e = llmp_ideogram_ops.error(x, 503, NULL, "<html>down</html>", 17);
    CHECK_INT(e->status, 503);
    CHECK(strstr(e->message, "down") != NULL);
    e = llmp_ideogram_ops.error(x, 500, parse(p, "{\"detail\":[]}"),
                                "{\"detail\":[]}", 13);
    CHECK_INT(e->status, 500);
    CHECK(e->message != NULL);
    e = llmp_ideogram_ops.error(x, 401, parse(p, "{\"detail\":{\"msg\":\"bad key\"}}"),
                                "", 0);
    CHECK_INT(e->status, 401);
    CHECK_STR(e->message, "bad key");
    e = llmp_ideogram_ops.error(x, 400, NULL, NULL, 0);
    CHECK_INT(e->status, 400);
}

/* The error built from Ideogram's "detail" must not point into a tree that
 * was deleted: every string of it stays readable as long as x->pool (under
 * ASan a use after cJSON_Delete is reported here). */
static void touch(const char *s)
{
    if (s) CHECK(strlen(s) < 100000);
}

static void t_ideogram_error_lifetime(apr_pool_t *p)
{
    static const char *const docs[] = {
        "{\"detail\":{\"msg\":\"bad key\",\"type\":\"auth\"}}",
        "{\"detail\":{\"message\":\"slow down\"}}",
        "{\"detail\":[{\"loc\":[\"body\",\"prompt\"],\"msg\":\"field "
        "required\",\"type\":\"value_error.missing\"},\"plain\"]}",
        NULL
    };
    int i;

    for (i = 0; docs[i]; i++) {
        llmp_xlate_t *x = new_x(p, "ideogram-v2", CLASSIC);
        apr_size_t len = strlen(docs[i]);
        cJSON *native = parse(p, docs[i]);
        llmp_error_t *e = llmp_ideogram_ops.error(x, 422, native, docs[i],
                                                  len);
        char *json;

        CHECK(e != NULL);
        if (!e) continue;
        /* reuse freed memory, as a busy server would */
        cJSON_Delete(cJSON_Parse("{\"message\":\"XXXXXXXXXXXXXXXX\","
                                 "\"code\":\"YYYYYYYY\"}"));
        touch(e->message);
        touch(e->type);
        touch(e->code);
        touch(e->param);
        json = llmp_error_json(p, e);
        CHECK(json && !strstr(json, "XXXX") && !strstr(json, "YYYY"));
        CHECK(e->message && !strstr(e->message, "XXXX"));
    }
    {
        llmp_xlate_t *x = new_x(p, "ideogram-v2", CLASSIC);
        llmp_error_t *e = llmp_ideogram_ops.error(x, 422, parse(p, docs[2]),
                                                  docs[2], strlen(docs[2]));
        CHECK_STR(e->message, "prompt: field required; plain");
        CHECK_INT(e->status, 422);
    }
}

/* ---------------- Recraft ---------------- */

static void t_recraft_request(apr_pool_t *p)
{
    const llmp_provider_ops_t *ops = &llmp_recraft_ops;
    llmp_xlate_t *x = new_x(p, "recraftv3", RECRAFT);
    llmp_native_req_t nr;
    llmp_error_t *err;
    cJSON *j;

    CHECK_STR(ops->name, "recraft");
    CHECK(ops->chat_request == NULL && ops->embeddings_request == NULL);
    j = xreq(p, ops, x, "{\"model\":\"recraftv3\",\"prompt\":\"red point "
             "siamese cat\",\"n\":2,\"size\":\"1024x1024\",\"style\":"
             "\"digital_illustration\",\"substyle\":\"hand_drawn\","
             "\"response_format\":\"b64_json\",\"quality\":\"hd\","
             "\"user\":\"u\"}", &nr, &err);
    CHECK(err == NULL);
    CHECK_STR(nr.path, RECRAFT);
    CHECK(nr.content_type == NULL);
    CHECK_STR(at_str(j, "prompt"), "red point siamese cat");
    CHECK_STR(at_str(j, "model"), "recraftv3");
    CHECK_INT(at_num(j, "n"), 2);
    CHECK_STR(at_str(j, "size"), "1024x1024");
    CHECK_STR(at_str(j, "style"), "digital_illustration");
    CHECK_STR(at_str(j, "substyle"), "hand_drawn");
    CHECK_STR(at_str(j, "response_format"), "b64_json");
    CHECK(at(j, "quality") == NULL && at(j, "user") == NULL);
    CHECK_INT(cJSON_GetArraySize(j), 7);

    j = xreq(p, ops, x, "{\"prompt\":\"a\"}", &nr, &err);
    CHECK(err == NULL);
    CHECK_INT(cJSON_GetArraySize(j), 2);   /* prompt, model */

    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1792x1024\","
             "\"style\":\"vivid\"}", &nr, &err);
    CHECK_STR(at_str(j, "size"), "1820x1024");
    CHECK_STR(at_str(j, "style"), "digital_illustration");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1024x1792\","
             "\"style\":\"natural\"}", &nr, &err);
    CHECK_STR(at_str(j, "size"), "1024x1820");
    CHECK_STR(at_str(j, "style"), "realistic_image");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1365x1024\"}", &nr, &err);
    CHECK_STR(at_str(j, "size"), "1365x1024");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"16:9\"}", &nr, &err);
    CHECK_STR(at_str(j, "size"), "1820x1024");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"512x512\"}", &nr, &err);
    CHECK_STR(at_str(j, "size"), "1024x1024");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"1536x1024\"}", &nr, &err);
    CHECK_STR(at_str(j, "size"), "1536x1024");
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"size\":\"auto\"}", &nr, &err);
    CHECK(err == NULL && at(j, "size") == NULL);

    /* extras pass through */
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"style\":\"vector_illustration\","
             "\"negative_prompt\":\"blur\",\"controls\":{\"colors\":[{\"rgb\":"
             "[1,2,3]}],\"no_text\":true},\"text_layout\":[]}", &nr, &err);
    CHECK(err == NULL);
    CHECK_STR(at_str(j, "style"), "vector_illustration");
    CHECK_STR(at_str(j, "negative_prompt"), "blur");
    CHECK_INT(at_num(j, "controls.colors.0.rgb.2"), 3);
    CHECK(cJSON_IsTrue(at(j, "controls.no_text")));
    CHECK(cJSON_IsArray(at(j, "text_layout")));
    /* style_id replaces OpenAI styles */
    j = xreq(p, ops, x, "{\"prompt\":\"a\",\"style\":\"vivid\",\"style_id\":"
             "\"229b2a75-05e4-4580-85f9-b47ee521a00d\"}", &nr, &err);
    CHECK(err == NULL && at(j, "style") == NULL);
    CHECK_STR(at_str(j, "style_id"), "229b2a75-05e4-4580-85f9-b47ee521a00d");
}

static void t_recraft_models(apr_pool_t *p)
{
    static const struct { const char *id, *native; } m[] = {
        { "recraftv3", "recraftv3" }, { "recraft-v3", "recraftv3" },
        { "Recraft-V2", "recraftv2" }, { "recraftv3_vector", "recraftv3_vector" },
        { "recraft-v4.1", "recraftv4_1" }, { "recraft-v4-pro", "recraftv4_pro" },
        { NULL, NULL } };
    llmp_native_req_t nr;
    llmp_error_t *err;
    cJSON *j;
    int i;

    for (i = 0; m[i].id; i++) {
        j = xreq(p, &llmp_recraft_ops, new_x(p, m[i].id, RECRAFT),
                 "{\"prompt\":\"a\"}", &nr, &err);
        CHECK_STR(at_str(j, "model"), m[i].native);
    }
    for (i = 0; i < 4; i++) {
        static const char *const none[] = { "recraft", "my-images",
                                            "recraft-x", "recraftv3/../x" };
        j = xreq(p, &llmp_recraft_ops, new_x(p, none[i], RECRAFT),
                 "{\"prompt\":\"a\"}", &nr, &err);
        CHECK(err == NULL && at(j, "model") == NULL);
    }
    /* V4: aspect-ratio sizes, OpenAI styles dropped, Recraft styles kept */
    j = xreq(p, &llmp_recraft_ops, new_x(p, "recraftv4", RECRAFT),
             "{\"prompt\":\"a\",\"size\":\"1792x1024\",\"style\":\"vivid\"}",
             &nr, &err);
    CHECK(err == NULL);
    CHECK_STR(at_str(j, "size"), "16:9");
    CHECK(at(j, "style") == NULL);
    j = xreq(p, &llmp_recraft_ops, new_x(p, "recraftv4", RECRAFT),
             "{\"prompt\":\"a\",\"size\":\"1024x1024\",\"style\":\"icon\"}",
             &nr, &err);
    CHECK_STR(at_str(j, "size"), "1:1");
    CHECK_STR(at_str(j, "style"), "icon");
}

static void t_recraft_errors(apr_pool_t *p)
{
    static const struct { const char *req, *param; } bad[] = {
        { "{}", "prompt" },
        { "{\"prompt\":\"\"}", "prompt" },
        { "{\"prompt\":true}", "prompt" },
        { "{\"prompt\":\"a\",\"n\":7}", "n" },
        { "{\"prompt\":\"a\",\"n\":0}", "n" },
        { "{\"prompt\":\"a\",\"n\":2.5}", "n" },
        { "{\"prompt\":\"a\",\"n\":1e19}", "n" },
        { "{\"prompt\":\"a\",\"size\":\"huge\"}", "size" },
        { "{\"prompt\":\"a\",\"size\":\"x1024\"}", "size" },
        { "{\"prompt\":\"a\",\"style\":\"neon_dream\"}", "style" },
        { "{\"prompt\":\"a\",\"style\":\"REALISTIC_IMAGE\"}", "style" },
        { "{\"prompt\":\"a\",\"style\":3}", "style" },
        { "{\"prompt\":\"a\",\"substyle\":[]}", "substyle" },
        { "{\"prompt\":\"a\",\"response_format\":\"png\"}", "response_format" },
        { "{\"prompt\":\"a\",\"controls\":\"x\"}", "controls" },
        { "{\"prompt\":\"a\",\"text_layout\":{}}", "text_layout" },
        { NULL, NULL } };
    llmp_xlate_t *x = new_x(p, "recraftv3", RECRAFT);
    llmp_native_req_t nr;
    llmp_error_t *err;
    int i;

    for (i = 0; bad[i].req; i++) {
        xreq(p, &llmp_recraft_ops, x, bad[i].req, &nr, &err);
        CHECK(err != NULL);
        if (!err) { fprintf(stderr, "  for %s\n", bad[i].req); continue; }
        CHECK_INT(err->status, 400);
        CHECK_STR(err->param, bad[i].param);
    }
    err = llmp_recraft_ops.images_request(x, NULL, &nr);
    CHECK(err && err->status == 400);
}

static void t_recraft_response(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, "recraftv3", RECRAFT);
    apr_size_t len, olen;
    char *body, *out = NULL;
    cJSON *j;
    llmp_error_t *err;

    body = llmp_fixture(p, "recraft/generate_response.json", &len);
    err = llmp_recraft_ops.images_response(x, parse(p, body), &out, &olen);
    CHECK(err == NULL);
    j = out ? llmp_json_parse_pool(p, out, olen) : NULL;
    CHECK_INT(at_num(j, "created"), 1748140800);
    CHECK_INT(cJSON_GetArraySize(at(j, "data")), 2);
    CHECK_STR(at_str(j, "data.0.url"),
              "https://img.recraft.ai/a1f2c8d4-1234-4abc-9def-1111111111aa.png");
    CHECK(at(j, "data.0.image_id") == NULL && at(j, "credits") == NULL);

    body = llmp_fixture(p, "recraft/generate_response_b64.json", &len);
    out = NULL;
    err = llmp_recraft_ops.images_response(x, parse(p, body), &out, &olen);
    CHECK(err == NULL);
    j = out ? llmp_json_parse_pool(p, out, olen) : NULL;
    CHECK_INT(cJSON_GetArraySize(at(j, "data")), 1);
    CHECK(!strncmp(at_str(j, "data.0.b64_json") ? at_str(j, "data.0.b64_json")
                   : "", "iVBORw0KGgo", 11));
    CHECK(at(j, "data.0.url") == NULL);

    err = llmp_recraft_ops.images_response(x,
        parse(p, "{\"created\":\"x\",\"data\":[{\"url\":\"u\","
              "\"revised_prompt\":\"rp\"}]}"), &out, &olen);
    CHECK(err == NULL);
    j = err ? NULL : llmp_json_parse_pool(p, out, olen);
    CHECK_INT(at_num(j, "created"), 1700000000);
    CHECK_STR(at_str(j, "data.0.revised_prompt"), "rp");
    err = llmp_recraft_ops.images_response(x, parse(p, "{\"data\":[{}]}"),
                                           &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
    err = llmp_recraft_ops.images_response(x, parse(p, "{}"), &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
    err = llmp_recraft_ops.images_response(x, NULL, &out, &olen);
    CHECK_INT(err ? err->status : 0, 502);
}

static void t_recraft_error(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, "recraftv3", RECRAFT);
    apr_size_t len;
    char *body;
    llmp_error_t *e;
    char *json;

    body = llmp_fixture(p, "recraft/error_400.json", &len);
    e = llmp_recraft_ops.error(x, 400, parse(p, body), body, len);
    CHECK_INT(e->status, 400);
    CHECK_STR(e->message, "Invalid style: neon_dream");
    CHECK_STR(e->code, "invalid_style");
    json = llmp_error_json(p, e);
    CHECK(strstr(json, "\"code\":\"invalid_style\"") != NULL);

    body = llmp_fixture(p, "recraft/error_429.json", &len);
    e = llmp_recraft_ops.error(x, 429, parse(p, body), body, len);
    CHECK_INT(e->status, 429);
    CHECK_STR(e->code, "too_many_requests");
    CHECK_STR(e->type, "rate_limit_error");

    e = llmp_recraft_ops.error(x, 502, NULL, "Bad Gateway", 11);
    CHECK_INT(e->status, 502);
    CHECK(strstr(e->message, "Bad Gateway") != NULL);
    e = llmp_recraft_ops.error(x, 400, parse(p, "{\"code\":5}"), "", 0);
    CHECK_INT(e->status, 400);
}

TEST_MAIN_BEGIN("images")
    RUN(t_classic_request);
    RUN(t_classic_models);
    RUN(t_classic_errors);
    RUN(t_v3_request);
    RUN(t_ideogram_response);
    RUN(t_ideogram_error);
    RUN(t_ideogram_error_lifetime);
    RUN(t_recraft_request);
    RUN(t_recraft_models);
    RUN(t_recraft_errors);
    RUN(t_recraft_response);
    RUN(t_recraft_error);
TEST_MAIN_END
