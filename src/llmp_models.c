/* The gateway's model list: parse, validate, index, render. Core. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "llmp_models.h"
#include "llmp_openai.h"

static void warn(llmp_models_t *m, const char *fmt, const char *a,
                 const char *b)
{
    APR_ARRAY_PUSH(m->warnings, const char *) = apr_psprintf(m->pool, fmt,
                                                             a, b);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v)) return strtod(v->valuestring, NULL);
    return 0.0;
}

llmp_models_t *llmp_models_parse(apr_pool_t *p, const char *json,
                                 apr_size_t len, apr_int64_t created,
                                 const llmp_route_rules_t *rules,
                                 const char **err)
{
    cJSON *root, *arr, *e, *out, *data;
    llmp_models_t *m;
    int idx = -1;

    /* the tree is deleted before returning: every child keeps only the
     * index (strings copied into p), not the whole document */
    root = json && len ? cJSON_ParseWithLength(json, len) : NULL;
    if (!root) {
        *err = "the model list is not valid JSON";
        return NULL;
    }
    arr = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!cJSON_IsArray(arr) && cJSON_IsArray(root)) arr = root;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(root);
        *err = "the model list has no \"models\" array";
        return NULL;
    }
    m = apr_pcalloc(p, sizeof(*m));
    m->pool = p;
    m->list = apr_array_make(p, cJSON_GetArraySize(arr) + 1,
                             sizeof(llmp_model_t *));
    m->by_id = apr_hash_make(p);
    m->warnings = apr_array_make(p, 4, sizeof(const char *));

    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "object", "list");
    data = cJSON_AddArrayToObject(out, "data");

    cJSON_ArrayForEach(e, arr) {
        const char *id = llmp_json_str(e, "model_version");
        const char *family = llmp_json_str(e, "model_family");
        const char *handle = llmp_json_str(e, "handle");
        const char *where;
        llmp_model_t *mod;
        apr_array_header_t *same;

        idx++;
        m->entries++;
        where = NULL;
        if (!cJSON_IsObject(e) || !id || !*id)
            where = apr_psprintf(p, "#%d", idx);
        if (!cJSON_IsObject(e)) {
            warn(m, "model list entry %s skipped: not an object%s", where, "");
            continue;
        }
        if (!id || !*id) {
            warn(m, "model list entry %s skipped: no model_version%s", where,
                 "");
            continue;
        }
        if (handle && !strcmp(handle, "unavailable")) {
            m->skipped_unavailable++;
            continue;
        }
        if (!handle || !llmp_handle_is_safe(handle)) {
            warn(m, "model list entry \"%s\" skipped: handle is not a plain "
                 "absolute path (%s)", id,
                 handle ? "refused" : "missing");
            continue;
        }
        mod = apr_pcalloc(p, sizeof(*mod));
        mod->id = apr_pstrdup(p, id);
        mod->family = apr_pstrdup(p, family ? family : "");
        mod->handle = apr_pstrdup(p, handle);
        mod->owned_by = llmp_route_owner(p, mod->handle, mod->family);
        mod->prompt_price_1k = num(e, "prompt_price_1k");
        mod->completion_price_1k = num(e, "completion_price_1k");
        mod->provider = llmp_route_provider(mod->handle, mod->family, rules);
        APR_ARRAY_PUSH(m->list, llmp_model_t *) = mod;

        same = apr_hash_get(m->by_id, mod->id, APR_HASH_KEY_STRING);
        if (!same) {
            cJSON *o = cJSON_CreateObject();
            same = apr_array_make(p, 1, sizeof(llmp_model_t *));
            apr_hash_set(m->by_id, mod->id, APR_HASH_KEY_STRING, same);
            cJSON_AddStringToObject(o, "id", mod->id);
            cJSON_AddStringToObject(o, "object", "model");
            llmp_json_add_int(o, "created", created);
            cJSON_AddStringToObject(o, "owned_by", mod->owned_by);
            cJSON_AddItemToArray(data, o);
        }
        APR_ARRAY_PUSH(same, llmp_model_t *) = mod;
    }
    m->models_json = llmp_json_print(p, out, &m->models_json_len);
    cJSON_Delete(out);
    cJSON_Delete(root);
    if (!m->models_json) {
        *err = "out of memory rendering the model list";
        return NULL;
    }
    return m;
}

const char *llmp_models_empty_reason(apr_pool_t *p, const llmp_models_t *m)
{
    int refused;

    if (m->list->nelts > 0) return NULL;
    if (!m->entries) return "it has no entries";
    refused = m->entries - m->skipped_unavailable;
    return apr_psprintf(p, "none of its %d entries is usable (%d refused, %d "
                        "unavailable)", m->entries, refused,
                        m->skipped_unavailable);
}

const apr_array_header_t *llmp_models_find_all(const llmp_models_t *m,
                                               const char *id)
{
    if (!m || !id) return NULL;
    return apr_hash_get(m->by_id, id, APR_HASH_KEY_STRING);
}

const llmp_model_t *llmp_models_find(const llmp_models_t *m, const char *id)
{
    const apr_array_header_t *a = llmp_models_find_all(m, id);
    return a && a->nelts ? APR_ARRAY_IDX(a, 0, llmp_model_t *) : NULL;
}

char *llmp_model_json(apr_pool_t *p, const llmp_model_t *m,
                      apr_int64_t created)
{
    return llmp_model_json_as(p, m, m->id, created);
}

char *llmp_model_json_as(apr_pool_t *p, const llmp_model_t *m,
                         const char *id, apr_int64_t created)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "model");
    llmp_json_add_int(o, "created", created);
    cJSON_AddStringToObject(o, "owned_by", m->owned_by);
    s = llmp_json_print(p, o, NULL);
    cJSON_Delete(o);
    return s;
}

char *llmp_models_render_aliases(apr_pool_t *p, const llmp_models_t *m,
                                 const apr_array_header_t *aliases,
                                 apr_int64_t created, apr_size_t *len,
                                 apr_array_header_t *missing)
{
    struct iovec *v;
    apr_size_t n = 0;
    int i, any = apr_hash_count(m->by_id) > 0;
    char *out;

    /* m->models_json is {"object":"list","data":[...]}: keep all of it but
     * the closing "]}", append the entries, close again */
    v = apr_palloc(p, sizeof(*v) * (2 * (aliases ? aliases->nelts : 0) + 2));
    if (m->models_json_len < 2) return NULL;
    v[n].iov_base = (void *)m->models_json;
    v[n++].iov_len = m->models_json_len - 2;
    for (i = 0; aliases && i < aliases->nelts; i++) {
        const llmp_alias_t *a = &APR_ARRAY_IDX(aliases, i, llmp_alias_t);
        const llmp_model_t *t = llmp_models_find(m, a->target);
        char *e;

        if (!t) {
            if (missing) APR_ARRAY_PUSH(missing, const llmp_alias_t *) = a;
            continue;
        }
        if (llmp_models_find(m, a->name)) continue;
        e = llmp_model_json_as(p, t, a->name, created);
        if (!e) return NULL;
        if (any) {
            v[n].iov_base = (void *)",";
            v[n++].iov_len = 1;
        }
        v[n].iov_base = e;
        v[n++].iov_len = strlen(e);
        any = 1;
    }
    v[n].iov_base = (void *)"]}";
    v[n++].iov_len = 2;
    out = apr_pstrcatv(p, v, n, len);
    return out;
}
