/* The OpenAPI 3.1 document of the API the module serves (core): the static
 * base with the live parts put in. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>

#include "llmp_openapi.h"
#include "llmp_openai.h"

/* In info.description: at most this many ids (the enum has them all). */
#define LLMP_OPENAPI_DESC_MODELS 100
/* The placeholder of the base's request examples. */
#define LLMP_OPENAPI_MODEL_PLACEHOLDER "MODEL"

static cJSON *obj_at(cJSON *o, const char *name)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsObject(c) ? c : NULL;
}

static int set_item(cJSON *o, const char *name, cJSON *v)
{
    if (!v) return 0;
    if (cJSON_GetObjectItemCaseSensitive(o, name))
        return cJSON_ReplaceItemInObjectCaseSensitive(o, name, v) ? 1 : 0;
    return cJSON_AddItemToObject(o, name, v) ? 1 : 0;
}

static cJSON *string_array(const apr_array_header_t *a)
{
    cJSON *arr = cJSON_CreateArray();
    int i;

    if (!arr) return NULL;
    for (i = 0; i < a->nelts; i++) {
        cJSON *s = cJSON_CreateString(APR_ARRAY_IDX(a, i, const char *));
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* The first model of kind want; else one that can be anything; else the
 * first; NULL without models. */
static const char *model_for(const apr_array_header_t *models,
                             llmp_kind_e want)
{
    const llmp_openapi_model_t *any = NULL;
    int i;

    if (!models || !models->nelts) return NULL;
    for (i = 0; i < models->nelts; i++) {
        const llmp_openapi_model_t *m =
            &APR_ARRAY_IDX(models, i, llmp_openapi_model_t);
        if (m->kind == want) return m->id;
        if (!any && m->kind == LLMP_KIND_ANY) any = m;
    }
    if (any) return any->id;
    return APR_ARRAY_IDX(models, 0, llmp_openapi_model_t).id;
}

static llmp_kind_e kind_of_path(const char *path)
{
    if (strstr(path, "/embeddings")) return LLMP_KIND_EMBEDDINGS;
    if (strstr(path, "/images/")) return LLMP_KIND_IMAGES;
    if (!strcmp(path, "/v1/completions")) return LLMP_KIND_COMPLETIONS;
    return LLMP_KIND_CHAT;
}

/* example.model "MODEL" -> id (nothing to do when id is NULL). */
static int fill_example(cJSON *example, const char *id)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(example, "model");

    if (!id || !cJSON_IsString(m)
        || strcmp(m->valuestring, LLMP_OPENAPI_MODEL_PLACEHOLDER))
        return 1;
    return set_item(example, "model", cJSON_CreateString(id));
}

static int fill_examples(cJSON *doc, const apr_array_header_t *models)
{
    cJSON *paths = obj_at(doc, "paths");
    cJSON *schemas = obj_at(obj_at(doc, "components"), "schemas");
    cJSON *path, *s;

    if (paths) cJSON_ArrayForEach(path, paths) {
        cJSON *op;
        if (!cJSON_IsObject(path) || !path->string) continue;
        cJSON_ArrayForEach(op, path) {
            cJSON *ex = obj_at(obj_at(obj_at(obj_at(op, "requestBody"),
                                             "content"),
                                      "application/json"), "example");
            if (ex && !fill_example(ex, model_for(models,
                                                  kind_of_path(path->string))))
                return 0;
        }
    }
    /* the Anthropic shapes carry theirs in the schema */
    if (schemas) cJSON_ArrayForEach(s, schemas) {
        cJSON *ex = obj_at(s, "example");
        if (ex && !fill_example(ex, model_for(models, LLMP_KIND_CHAT)))
            return 0;
    }
    return 1;
}

static int set_models(apr_pool_t *p, cJSON *doc,
                      const apr_array_header_t *models)
{
    cJSON *schemas = obj_at(obj_at(doc, "components"), "schemas");
    cJSON *mid = obj_at(schemas, "LLMProxyModelId");
    cJSON *info = obj_at(doc, "info");
    cJSON *d = info ? cJSON_GetObjectItemCaseSensitive(info, "description")
                    : NULL;
    apr_array_header_t *ids = apr_array_make(p, 16, sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(p);
    const char *text = cJSON_IsString(d) ? d->valuestring : "";
    int i;

    if (!mid) return 0;
    for (i = 0; models && i < models->nelts; i++) {
        const char *id = APR_ARRAY_IDX(models, i, llmp_openapi_model_t).id;
        if (!id || apr_hash_get(seen, id, APR_HASH_KEY_STRING)) continue;
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
        APR_ARRAY_PUSH(ids, const char *) = id;
    }
    if (!models) {
        text = apr_pstrcat(p, text, "\n\nThe server has no model list yet "
                           "(GET /health tells why).", NULL);
    }
    else if (ids->nelts) {
        const char *first = model_for(models, LLMP_KIND_CHAT);
        cJSON *ex;
        if (!set_item(mid, "enum", string_array(ids))) return 0;
        ex = cJSON_CreateArray();
        if (!ex || !cJSON_AddItemToArray(ex, cJSON_CreateString(first))
            || !set_item(mid, "examples", ex)) {
            cJSON_Delete(ex);
            return 0;
        }
        text = apr_psprintf(p, "%s\n\nModels served now (%d, from the "
                            "gateway's list; `model` takes one of them):",
                            text, ids->nelts);
        for (i = 0; i < ids->nelts && i < LLMP_OPENAPI_DESC_MODELS; i++)
            text = apr_pstrcat(p, text, i ? ", `" : " `",
                               APR_ARRAY_IDX(ids, i, const char *), "`",
                               NULL);
        if (ids->nelts > LLMP_OPENAPI_DESC_MODELS)
            text = apr_psprintf(p, "%s and %d more (GET /v1/models).", text,
                                ids->nelts - LLMP_OPENAPI_DESC_MODELS);
    }
    else {
        text = apr_pstrcat(p, text, "\n\nThe model list is empty.", NULL);
    }
    return info ? set_item(info, "description", cJSON_CreateString(text))
                : 1;
}

/* Top-level security from the base's schemes: every one is a way in; an
 * empty requirement ({}) in the list makes them optional. */
static int set_security(cJSON *doc, int required)
{
    cJSON *schemes = obj_at(obj_at(doc, "components"), "securitySchemes");
    cJSON *sec = cJSON_CreateArray(), *s;

    if (!sec) return 0;
    if (!required && !cJSON_AddItemToArray(sec, cJSON_CreateObject()))
        goto fail;
    if (schemes) cJSON_ArrayForEach(s, schemes) {
        cJSON *req = cJSON_CreateObject();
        if (!req || !cJSON_AddItemToArray(sec, req)
            || !cJSON_AddItemToObject(req, s->string, cJSON_CreateArray()))
            goto fail;
    }
    return set_item(doc, "security", sec);
fail:
    cJSON_Delete(sec);
    return 0;
}

static int set_servers(cJSON *doc, const char *url)
{
    cJSON *servers = cJSON_CreateArray(), *s = cJSON_CreateObject();

    if (!servers || !s || !cJSON_AddItemToArray(servers, s)) {
        cJSON_Delete(servers);
        cJSON_Delete(s);
        return 0;
    }
    if (!cJSON_AddStringToObject(s, "url", url && *url ? url : "/")
        || !cJSON_AddStringToObject(s, "description", "this server")) {
        cJSON_Delete(servers);
        return 0;
    }
    return set_item(doc, "servers", servers);
}

char *llmp_openapi_build(apr_pool_t *p, const char *base, apr_size_t len,
                         const llmp_openapi_opts_t *o, apr_size_t *outlen,
                         const char **err)
{
    cJSON *doc = llmp_json_parse_pool(p, base, len), *v;
    char *out;

    v = doc ? cJSON_GetObjectItemCaseSensitive(doc, "openapi") : NULL;
    if (!cJSON_IsObject(doc)) {
        *err = "it is not a JSON object";
        return NULL;
    }
    if (!cJSON_IsString(v) || strncmp(v->valuestring, "3.1.", 4)) {
        *err = "its \"openapi\" is not 3.1.x";
        return NULL;
    }
    if (!obj_at(doc, "paths")
        || !obj_at(obj_at(obj_at(doc, "components"), "schemas"),
                   "LLMProxyModelId")) {
        *err = "it has no paths or no components.schemas.LLMProxyModelId";
        return NULL;
    }
    if (!set_servers(doc, o->server_url)
        || !set_models(p, doc, o->models)
        || !fill_examples(doc, o->models)
        || !set_security(doc, o->auth_required)) {
        *err = "out of memory";
        return NULL;
    }
    out = llmp_json_print(p, doc, outlen);
    if (!out) *err = "out of memory";
    return out;
}

static const char *parent_of(apr_pool_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash || slash == path) return "/";
    return apr_pstrmemdup(p, path, (apr_size_t)(slash - path));
}

const char *llmp_openapi_server_url(apr_pool_t *p, const char *uri,
                                    const char *mount)
{
    apr_size_t n;

    if (!uri || *uri != '/') return "/";
    if (mount && *mount == '/' && strcmp(mount, "/")) {
        n = strlen(mount);
        while (n > 1 && mount[n - 1] == '/') n--;
        /* the document inside the mount (/docs/openapi.json under
         * /docs), not the mount itself (<Location /openapi.json>) */
        if (!strncmp(uri, mount, n) && uri[n] == '/')
            return parent_of(p, apr_pstrmemdup(p, mount, n));
    }
    return parent_of(p, uri);
}
