/* mod_llmproxy: an OpenAI-compatible LLM gateway inside Apache httpd.
 *
 * This file is the module record, the hooks and the handler: it finds the
 * endpoint, reads and checks the request, looks the model up in the shared
 * list, and hands the call to the translator of the model's provider (or
 * passes it through). The work lives in src/llmp_*.c (no httpd headers). */
#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_mutex.h>

#include "mod_llmproxy_features.h"
#include "llmp_scrub.h"
#include "llmp_responses.h"
#include "llmp_messages.h"


static const char *const endpoint_names[] = {
    "models", "model", "chat.completions", "embeddings",
    "images.generations", "completions", "health", "unknown",
    "responses", "response", "messages", "count_tokens"
};

/* A <Location> that holds no directive of this module has no configuration
 * of its own (httpd creates one only for a module with a directive there):
 * its path is then core's (NULL at server level or for a regex). */
static const char *core_mount(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    apr_size_t n;

    if (!cd || !cd->d || cd->d[0] != '/' || cd->r || cd->d_is_fnmatch)
        return NULL;
    n = strlen(cd->d);
    while (n > 1 && cd->d[n - 1] == '/') n--;
    return apr_pstrmemdup(r->pool, cd->d, n);
}

static llmp_endpoint_e endpoint_at(request_rec *r, const char *mount,
                                   const char **model_id);

/* The endpoint, relative to where the handler is mounted: the <Location>
 * of our configuration; without one, the URL as it is (/v1/...) and else
 * relative to the innermost <Location> (<Location /limited/v1> with only
 * SetHandler and core directives in it). */
static llmp_endpoint_e find_endpoint(request_rec *r, const char **model_id)
{
    llmp_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                               &llmproxy_module);
    llmp_endpoint_e ep;
    const char *mount;

    if (dc && dc->mount) return endpoint_at(r, dc->mount, model_id);
    ep = endpoint_at(r, NULL, model_id);
    if (ep == LLMP_EP_UNKNOWN && (mount = core_mount(r)) != NULL)
        ep = endpoint_at(r, mount, model_id);
    return ep;
}

static llmp_endpoint_e endpoint_at(request_rec *r, const char *mount,
                                   const char **model_id)
{
    const char *rest = r->uri;
    apr_size_t n;

    if (mount && strcmp(mount, "/")) {
        n = strlen(mount);
        if (!strncmp(r->uri, mount, n)
            && (r->uri[n] == '/' || r->uri[n] == '\0'))
            rest = r->uri + n;
        if (!*rest) {
            /* the mount point itself: <Location /health> */
            const char *slash = strrchr(mount, '/');
            rest = slash ? slash : mount;
        }
    }
    if (!strncmp(rest, "/v1/", 4) && (!mount || !strcmp(mount, "/")))
        rest += 3;
    if (!strcmp(rest, "/health") || !strcmp(rest, "/health/"))
        return LLMP_EP_HEALTH;
    if (!strcmp(rest, "/models") || !strcmp(rest, "/models/"))
        return LLMP_EP_MODELS;
    if (!strncmp(rest, "/models/", 8)) {
        *model_id = rest + 8;
        return LLMP_EP_MODEL;
    }
    if (!strcmp(rest, "/chat/completions")) return LLMP_EP_CHAT;
    if (!strcmp(rest, "/embeddings")) return LLMP_EP_EMBEDDINGS;
    if (!strcmp(rest, "/images/generations")) return LLMP_EP_IMAGES;
    if (!strcmp(rest, "/completions")) return LLMP_EP_COMPLETIONS;
    if (!strcmp(rest, "/responses")) return LLMP_EP_RESPONSES;
    /* Anthropic's Messages API (the query, Claude Code's "?beta=true", is
     * not part of r->uri) */
    if (!strcmp(rest, "/messages")) return LLMP_EP_MESSAGES;
    if (!strcmp(rest, "/messages/count_tokens"))
        return LLMP_EP_COUNT_TOKENS;
    if (!strncmp(rest, "/responses/", 11) && rest[11]) {
        *model_id = rest + 11;         /* the response's id */
        return LLMP_EP_RESPONSE;
    }
    return LLMP_EP_UNKNOWN;
}

static int method_not_allowed(request_rec *r, const char *allow)
{
    apr_table_setn(r->err_headers_out, "Allow", allow);
    return llmp_io_send_error(r, llmp_error_make(r->pool, 405, NULL,
        "method_not_allowed", NULL, "%s is not allowed here; use %s",
        r->method, allow));
}

static int list_unavailable(request_rec *r, llmp_server_conf_t *sc)
{
    llmp_store_status_t st;

    llmp_store_status(sc->source, &st);
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    return llmp_io_send_error(r, llmp_error_make(r->pool, 503, "api_error",
        "model_list_unavailable", NULL,
        "the model list has not been loaded yet%s; try again shortly",
        st.failures ? " (the gateway's list URL is failing)" : ""));
}

static int handle_health(request_rec *r, llmp_server_conf_t *sc)
{
    llmp_store_status_t st;
    cJSON *j = cJSON_CreateObject();
    apr_time_t now = apr_time_now();
    char *out;
    apr_size_t len;
    int status;

    if (r->method_number != M_GET) return method_not_allowed(r, "GET, HEAD");
    llmp_store_status(sc->source, &st);
    cJSON_AddStringToObject(j, "status", !st.has_list ? "unavailable"
                            : st.last_error[0] ? "degraded" : "ok");
    cJSON_AddNumberToObject(j, "models", st.models);
    cJSON_AddNumberToObject(j, "skipped_entries", st.skipped);
    if (st.has_list) {
        char date[APR_RFC822_DATE_LEN];
        apr_rfc822_date(date, st.fetched_at);
        cJSON_AddNumberToObject(j, "list_age_seconds",
                                (double)apr_time_sec(now - st.fetched_at));
        cJSON_AddStringToObject(j, "last_refresh", date);
    }
    else {
        cJSON_AddNullToObject(j, "list_age_seconds");
        cJSON_AddNullToObject(j, "last_refresh");
    }
    if (st.last_error[0]) cJSON_AddStringToObject(j, "last_error",
                                                  st.last_error);
    else cJSON_AddNullToObject(j, "last_error");
    cJSON_AddNumberToObject(j, "fetches", st.fetches);
    cJSON_AddNumberToObject(j, "failures", st.failures);
    cJSON_AddNumberToObject(j, "refresh_interval_seconds",
                            (double)apr_time_sec(sc->refresh));
    llmp_pool_health(r, j);        /* members in back-off */
    llmp_limits_health(r, j);
    out = llmp_json_print(r->pool, j, &len);
    cJSON_Delete(j);
    status = st.has_list ? 200 : 503;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return llmp_io_send_json(r, status, out, len);
}

/* The list model an alias (LLMProxyModelAlias) names, or NULL. */
static const char *alias_target(const llmp_server_conf_t *sc,
                                const char *name)
{
    return sc->alias_map ? apr_hash_get(sc->alias_map, name,
                                        APR_HASH_KEY_STRING) : NULL;
}

static int handle_models(request_rec *r, llmp_server_conf_t *sc,
                         llmp_endpoint_e ep, const char *id)
{
    llmp_snapshot_t *snap;
    const llmp_model_t *m;
    const char *target;
    char *json;

    if (r->method_number != M_GET) return method_not_allowed(r, "GET, HEAD");
    snap = llmp_store_acquire(sc->source, r->pool);
    if (!snap) return list_unavailable(r, sc);
    if (ep == LLMP_EP_MODELS) {
        const llmp_rendered_t *rd = llmp_store_models_json(snap, sc);
        if (rd)
            return llmp_io_send_json(r, 200, rd->json, rd->len);
        return llmp_io_send_json(r, 200, snap->models->models_json,
                                 snap->models->models_json_len);
    }
    if (strchr(id, '%')) {
        /* SDKs encode the slashes of ids like "accounts/x/models/y"
         * (AllowEncodedSlashes NoDecode lets them reach us) */
        char *dec = apr_pstrdup(r->pool, id);
        if (ap_unescape_url_keep2f(dec, 1) == OK) id = dec;
    }
    target = alias_target(sc, id);
    m = llmp_models_find(snap->models, target ? target : id);
    if (!m) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 404, NULL,
            "model_not_found", "model", "The model '%s' does not exist", id));
    }
    json = llmp_model_json_as(r->pool, m, id,
                              apr_time_sec(snap->fetched_at));
    return llmp_io_send_json(r, 200, json, strlen(json));
}

static llmp_kind_e kind_of(llmp_endpoint_e ep)
{
    switch (ep) {
    case LLMP_EP_CHAT: return LLMP_KIND_CHAT;
    case LLMP_EP_EMBEDDINGS: return LLMP_KIND_EMBEDDINGS;
    case LLMP_EP_IMAGES: return LLMP_KIND_IMAGES;
    case LLMP_EP_COMPLETIONS: return LLMP_KIND_COMPLETIONS;
    default: return LLMP_KIND_ANY;
    }
}

/* What every backend needs, checked before any call. */
static llmp_error_t *check_required(request_rec *r, const cJSON *req,
                                    llmp_endpoint_e ep)
{
    const cJSON *v;

    switch (ep) {
    case LLMP_EP_CHAT:
        v = cJSON_GetObjectItemCaseSensitive(req, "messages");
        if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
            return llmp_error_make(r->pool, 400, NULL, "invalid_value",
                                   "messages", "'messages' must be a "
                                   "non-empty array");
        break;
    case LLMP_EP_EMBEDDINGS:
        v = cJSON_GetObjectItemCaseSensitive(req, "input");
        if (!(cJSON_IsString(v) && *v->valuestring)
            && !(cJSON_IsArray(v) && cJSON_GetArraySize(v)))
            return llmp_error_make(r->pool, 400, NULL, "invalid_value",
                                   "input", "'input' must be a non-empty "
                                   "string or array");
        break;
    case LLMP_EP_IMAGES:
        v = cJSON_GetObjectItemCaseSensitive(req, "prompt");
        if (!cJSON_IsString(v) || !*v->valuestring)
            return llmp_error_make(r->pool, 400, NULL, "invalid_value",
                                   "prompt", "'prompt' is required");
        break;
    case LLMP_EP_COMPLETIONS:
        if (!cJSON_GetObjectItemCaseSensitive(req, "prompt"))
            return llmp_error_make(r->pool, 400, NULL, "invalid_value",
                                   "prompt", "'prompt' is required");
        break;
    default:
        break;
    }
    return NULL;
}

/* A control character (or DEL) in the first len bytes of s? */
static int has_control(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 1;
    }
    return 0;
}

/* Names and the model as they are at the top level of the request, for
 * messages: printable ASCII only. */
static const char *shown(request_rec *r, const char *s)
{
    return llmp_excerpt(r->pool, s, strlen(s), 64);
}

/* The request must mean to the backend what it means to us. cJSON keeps
 * every member of an object and finds the first of a name, while most
 * backends read the last: a member named twice is refused. cJSON's strings
 * end at a NUL (a raw one, or \u0000) where the backend's do not: a body
 * with a NUL is parsed again with each NUL read as U+0001, and a top-level
 * name or a model with a control character is refused. */
static llmp_error_t *check_top_level(request_rec *r, const char *body,
                                     apr_size_t len, const cJSON *req)
{
    apr_hash_t *seen = NULL;
    const cJSON *c, *d, *top = req;
    apr_size_t i;
    int nul = memchr(body, 0, len) != NULL, n = 0;

    for (c = req->child; c; c = c->next) {
        int dup = 0;

        if (!c->string) continue;
        if (++n <= 16) {
            /* a request has a handful of members: compare with the ones
             * before (no hash table for them) */
            for (d = req->child; d != c && !dup; d = d->next)
                dup = d->string && !strcmp(d->string, c->string);
        }
        else {
            if (!seen) {
                seen = apr_hash_make(r->pool);
                for (d = req->child; d != c; d = d->next) {
                    if (d->string)
                        apr_hash_set(seen, d->string, APR_HASH_KEY_STRING, d);
                }
            }
            dup = apr_hash_get(seen, c->string, APR_HASH_KEY_STRING) != NULL;
            apr_hash_set(seen, c->string, APR_HASH_KEY_STRING, c);
        }
        if (dup) {
            const char *name = shown(r, c->string);
            return llmp_error_make(r->pool, 400, NULL, "duplicate_key",
                name, "'%s' appears more than once in the request body",
                name);
        }
    }
    /* look for "\u0000" from one backslash to the next (memchr): no
     * per-byte loop over a body that has few or none */
    for (i = 0; !nul && i + 6 <= len; i++) {
        const char *bs = memchr(body + i, '\\', len - 5 - i);

        if (!bs) break;
        i = (apr_size_t)(bs - body);
        if (!memcmp(body + i + 1, "u0000", 5)) nul = 1;
    }
    if (nul) {
        char *copy = apr_pmemdup(r->pool, body, len);

        for (i = 0; i < len; i++) {
            if (!copy[i]) copy[i] = 1;
            else if (copy[i] == '\\' && i + 6 <= len
                     && !memcmp(copy + i + 1, "u0000", 5))
                copy[i + 5] = '1';
        }
        top = llmp_json_parse_pool(r->pool, copy, len);
        if (!cJSON_IsObject(top)) top = req;
    }
    for (c = top->child; c; c = c->next) {
        if (!c->string) continue;
        if (has_control(c->string, strlen(c->string))) {
            return llmp_error_make(r->pool, 400, NULL, "invalid_key", NULL,
                "a member name of the request body holds a control "
                "character");
        }
        if (!strcmp(c->string, "model") && cJSON_IsString(c)
            && c->valuestring
            && (has_control(c->valuestring, strlen(c->valuestring))
                || !llmp_utf8_valid(c->valuestring,
                                    strlen(c->valuestring)))) {
            return llmp_error_make(r->pool, 400, NULL, "invalid_model",
                "model", "'model' holds a control character or invalid "
                "UTF-8: '%s'", shown(r, c->valuestring));
        }
    }
    return NULL;
}

/* Keep a finished Response for previous_response_id and GET
 * /v1/responses/{id}, unless the client said "store": false or the server
 * keeps no store (then the record is not even made). */
/* A front's request (its IR) to an OpenAI-compatible chat backend: the IR
 * is the Chat Completions request (a stream's with
 * stream_options.include_usage), sent as it is once fitted to the model;
 * the answer or the stream goes back through x->front. */
static int call_openai_ir(request_rec *r, llmp_server_conf_t *sc,
                          llmp_endpoint_e ep, const llmp_model_t *m,
                          llmp_xlate_t *x, cJSON *ir)
{
    llmp_native_req_t native;

    memset(&native, 0, sizeof(native));
    llmp_ir_for_openai(x, ir);
    native.body = llmp_json_print(r->pool, ir, &native.len);
    if (!native.body) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 500, NULL,
            NULL, NULL, "out of memory"));
    }
    native.path = m->handle;
    native.stream = x->stream;
    return llmp_io_proxy(r, sc, ep, m, &native, NULL, x);
}

static void responses_keep(request_rec *r, llmp_server_conf_t *sc,
                           llmp_front_t *f, const cJSON *req)
{
    const char *status, *rec;
    apr_size_t n = 0;

    if (!sc->rstore || !f->answer
        || cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(req, "store")))
        return;
    status = llmp_json_str(f->answer, "status");
    if (status && !strcmp(status, "failed")) return;
    rec = llmp_responses_record(f, &n);
    if (rec) llmp_rstore_put(r, f->id, rec, n);
}

typedef struct {
    llmp_server_conf_t *sc;
    llmp_front_t *f;
    const cJSON *req;
} responses_keep_t;

/* The keep hook (llmp_req_conf_t): run by the glue once the answer is
 * final, before its last bytes reach the client. */
static void responses_keep_hook(request_rec *r, void *baton)
{
    responses_keep_t *k = baton;

    responses_keep(r, k->sc, k->f, k->req);
}

/* POST /v1/responses: through the Responses front translator to any chat
 * backend (the internal representation, llmp_front.h), or as it is to a
 * backend of the Responses API (kind LLMP_KIND_RESPONSES). */
static int handle_responses(request_rec *r, llmp_server_conf_t *sc,
                            const llmp_model_t *m,
                            const llmp_provider_ops_t *ops, llmp_kind_e kind,
                            cJSON *req, char *body, apr_size_t len,
                            llmp_xlate_t *x)
{
    llmp_native_req_t native;
    llmp_front_t *f;
    const cJSON *jprev;
    cJSON *ir = NULL;
    llmp_error_t *e;
    int rc;

    memset(&native, 0, sizeof(native));
    if (kind == LLMP_KIND_RESPONSES) {
        /* the client's bytes, unchanged; the answer or the events relayed
         * by the pass-through path of mod_llmproxy_io.c (the backend keeps
         * its own state: nothing stored here) */
        native.path = m->handle;
        native.body = body;
        native.len = len;
        native.stream = x->stream;
        return llmp_io_proxy(r, sc, LLMP_EP_RESPONSES, m, &native, NULL, x);
    }
    jprev = cJSON_GetObjectItemCaseSensitive(req, "previous_response_id");
    if (cJSON_IsString(jprev) && *jprev->valuestring) {
        cJSON *rec = llmp_rstore_get(r, jprev->valuestring), *full = NULL;

        if (!rec) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 404, NULL,
                "previous_response_not_found", "previous_response_id",
                "Previous response with id '%s' not found.",
                shown(r, jprev->valuestring)));
        }
        e = llmp_responses_expand(r->pool, req,
                                  cJSON_GetObjectItemCaseSensitive(rec,
                                                                   "history"),
                                  &full);
        if (e) return llmp_io_send_error(r, e);
        req = full;
    }
    else if (jprev && !cJSON_IsNull(jprev)
             && !(cJSON_IsString(jprev) && !*jprev->valuestring)) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
            "invalid_type", "previous_response_id",
            "'previous_response_id' must be a string"));
    }
    f = llmp_front_create(r->pool, &llmp_front_responses, m->id, x->created,
                          x->stream, req);
    /* the id is the key to the stored response: never a guessable one */
    f->id = llmp_make_key_id(r->pool, "resp_");
    if (!f->id) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "no random bytes for a response id");
        return llmp_io_send_error(r, llmp_error_make(r->pool, 500, NULL,
            NULL, NULL, "could not make a response id"));
    }
    e = f->ops->request(f, req, &ir);
    if (e) return llmp_io_send_error(r, e);
    /* the front reads the usage of every answer; the back's chunks carry
     * the front's id (never shown) */
    x->front = f;
    x->include_usage = 1;
    x->id = f->id;
    {
        llmp_req_conf_t *rc = llmp_req_conf(r);
        responses_keep_t *k = apr_palloc(r->pool, sizeof(*k));

        k->sc = sc;
        k->f = f;
        k->req = req;
        rc->keep = responses_keep_hook;
        rc->keep_baton = k;
    }
    if (m->provider == LLMP_PROV_OPENAI) {
        rc = call_openai_ir(r, sc, LLMP_EP_RESPONSES, m, x, ir);
    }
    else {
        if (!ops->chat_request) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
                "unsupported_endpoint", "model", "The model '%s' (%s) cannot "
                "be used with /v1/responses", m->id, ops->name));
        }
        x->want_reasoning = 1;
        e = ops->chat_request(x, ir, &native);
        if (e) return llmp_io_send_error(r, e);
        if (!native.path) native.path = m->handle;
        rc = llmp_io_proxy(r, sc, LLMP_EP_RESPONSES, m, &native, ops, x);
    }
    llmp_io_keep(r);               /* (when the glue did not already) */
    return rc;
}

/* anthropic-beta: a comma-separated list of plain tokens (names such as
 * "claude-code-20250219,interleaved-thinking-2025-05-14"). */
static int beta_header_ok(const char *v)
{
    const char *c;

    if (!*v || strlen(v) > 1024) return 0;
    for (c = v; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("-_.,: ", *c)) return 0;
    }
    return 1;
}

/* A request whose model is known but that calls no backend for tokens
 * (count_tokens): who would have been used, at no cost. */
static void usage_model(request_rec *r, const llmp_model_t *m,
                        const llmp_provider_ops_t *ops)
{
    llmp_usage_t *u = &llmp_req_conf(r)->usage;

    u->model = m->id;
    u->provider = ops->name;
    u->prompt_price_1k = m->prompt_price_1k;
    u->completion_price_1k = m->completion_price_1k;
}

/* count_tokens for a Gemini model: the backend's own counter
 * (models/<model>:countTokens with {"generateContentRequest": ...}, the
 * request as it would be sent to generateContent). 1 and *tokens when it
 * answered; 0 on any failure (logged at info: the estimate stands in). */
static int gemini_count_tokens(request_rec *r, llmp_server_conf_t *sc,
                               const llmp_model_t *m,
                               const llmp_provider_ops_t *ops,
                               const cJSON *req, llmp_xlate_t *x,
                               long *tokens)
{
    llmp_native_req_t native;
    llmp_front_t *f;
    cJSON *creq, *ir = NULL, *gen, *ans;
    const cJSON *total;
    llmp_error_t *e;
    const char *why = NULL, *colon;
    char *path, *body, *out = NULL;
    apr_size_t len, outlen = 0;

    /* the front wants what a Messages request has: max_tokens */
    creq = cJSON_Duplicate(req, 1);
    if (!creq) return 0;
    llmp_json_pool_own(r->pool, creq);
    if (!cJSON_GetObjectItemCaseSensitive(creq, "max_tokens"))
        cJSON_AddNumberToObject(creq, "max_tokens", 1);
    cJSON_DeleteItemFromObjectCaseSensitive(creq, "stream");
    x->stream = 0;
    f = llmp_front_create(r->pool, &llmp_front_messages, m->id, x->created,
                          0, creq);
    memset(&native, 0, sizeof(native));
    e = f->ops->request(f, creq, &ir);
    if (!e) {
        x->front = f;
        e = ops->chat_request(x, ir, &native);
        x->front = NULL;
    }
    if (e) {
        why = e->message;
        goto fail;
    }
    path = apr_pstrdup(r->pool, native.path ? native.path : m->handle);
    colon = strrchr(path, ':');
    if (!colon || strcmp(colon, ":generateContent")) {
        why = "no :generateContent in the backend path";
        goto fail;
    }
    path = apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, path,
                                               (apr_size_t)(colon - path)),
                       ":countTokens", NULL);
    gen = llmp_json_parse_pool(r->pool, native.body, native.len);
    if (!cJSON_IsObject(gen)) {
        why = "the translated request is not a JSON object";
        goto fail;
    }
    /* a generateContentRequest names its model ("models/<id>") */
    {
        const char *name = apr_pstrmemdup(r->pool, path,
                                          (apr_size_t)(strrchr(path, ':')
                                                       - path));
        const char *slash = strrchr(name, '/');

        cJSON_DeleteItemFromObjectCaseSensitive(gen, "model");
        cJSON_AddStringToObject(gen, "model", apr_pstrcat(r->pool,
            "models/", slash ? slash + 1 : name, NULL));
    }
    ans = cJSON_CreateObject();
    llmp_json_pool_own(r->pool, ans);
    cJSON_AddItemReferenceToObject(ans, "generateContentRequest", gen);
    body = llmp_json_print(r->pool, ans, &len);
    if (!body) {
        why = "out of memory";
        goto fail;
    }
    {
        /* a call that costs nothing: no tokens */
        llmp_usage_t *u = &llmp_req_conf(r)->usage;

        u->called = 1;
        u->call_start = apr_time_now();
        why = llmp_io_call(r, sc, path, body, len, &out, &outlen);
        u->call_end = apr_time_now();
    }
    if (why) goto fail;
    ans = llmp_json_parse_pool(r->pool, out, outlen);
    ans = llmp_envelope_unwrap(ans);
    total = cJSON_GetObjectItemCaseSensitive(ans, "totalTokens");
    if (!cJSON_IsNumber(total) || total->valuedouble < 0
        || total->valuedouble > 1e12) {
        why = "the answer has no totalTokens";
        goto fail;
    }
    *tokens = (long)total->valuedouble;
    return 1;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                  "count_tokens for model '%s': the backend's counter "
                  "failed (%s); answering an estimate", m->id, why);
    return 0;
}

/* POST /v1/messages and /v1/messages/count_tokens (Anthropic's Messages
 * API). An Anthropic model gets the client's bytes as they are, with the
 * client's anthropic-version (else LLMProxyAnthropicVersion) and
 * anthropic-beta, and the answer or the events relayed
 * (mod_llmproxy_io.c); any other chat model goes through the Messages
 * front translator (llmp_messages.c) and the model's back translator, and
 * count_tokens is answered with an estimate (llmp_messages_count_tokens). */
static int handle_messages(request_rec *r, llmp_server_conf_t *sc,
                           const llmp_model_t *m,
                           const llmp_provider_ops_t *ops,
                           llmp_endpoint_e ep, cJSON *req, char *body,
                           apr_size_t len, llmp_xlate_t *x)
{
    llmp_native_req_t native;
    llmp_front_t *f;
    cJSON *ir = NULL;
    llmp_error_t *e;
    apr_size_t hl = strlen(m->handle);

    memset(&native, 0, sizeof(native));
    if (m->provider == LLMP_PROV_ANTHROPIC && hl >= 9
        && !strcmp(m->handle + hl - 9, "/messages")) {
        const char **h = apr_pcalloc(r->pool, 3 * sizeof(*h));
        const char *v = apr_table_get(r->headers_in, "anthropic-version");
        const char *beta = apr_table_get(r->headers_in, "anthropic-beta");
        int n = 0;

        if (v && (!*v || strlen(v) > 64 || has_control(v, strlen(v))
                  || !beta_header_ok(v))) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 400,
                "invalid_request_error", NULL, NULL,
                "anthropic-version: invalid header value"));
        }
        if (beta && !beta_header_ok(beta)) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 400,
                "invalid_request_error", NULL, NULL,
                "anthropic-beta: invalid header value (a comma-separated "
                "list of beta names)"));
        }
        if (!v) v = sc->anthropic_version;
        h[n++] = apr_pstrcat(r->pool, "anthropic-version: ", v, NULL);
        if (beta) h[n++] = apr_pstrcat(r->pool, "anthropic-beta: ", beta,
                                       NULL);
        native.headers = h;
        native.path = ep == LLMP_EP_COUNT_TOKENS
                      ? apr_pstrcat(r->pool, m->handle, "/count_tokens", NULL)
                      : m->handle;
        native.body = body;
        native.len = len;
        native.stream = ep == LLMP_EP_MESSAGES && x->stream;
        /* no x: nothing is translated, a JSON answer to a stream request
         * is relayed as it is */
        return llmp_io_proxy(r, sc, ep, m, &native, NULL, NULL);
    }
    if (ep == LLMP_EP_COUNT_TOKENS) {
        long tokens = 0;
        char buf[64];
        int n;

        usage_model(r, m, ops);
        e = llmp_messages_count_tokens(r->pool, req, &tokens);
        if (e) return llmp_io_send_error(r, e);
        if (m->provider == LLMP_PROV_GEMINI
            && gemini_count_tokens(r, sc, m, ops, req, x, &tokens)) {
            apr_table_setn(r->notes, "llmproxy-count-tokens", "backend");
            n = apr_snprintf(buf, sizeof(buf), "{\"input_tokens\":%ld}",
                             tokens);
            return llmp_io_send_json(r, 200, apr_pstrmemdup(r->pool, buf, n),
                                     (apr_size_t)n);
        }
        apr_table_setn(r->notes, "llmproxy-count-tokens", "estimate");
        n = apr_snprintf(buf, sizeof(buf), "{\"input_tokens\":%ld}", tokens);
        return llmp_io_send_json(r, 200, apr_pstrmemdup(r->pool, buf, n),
                                 (apr_size_t)n);
    }
    {
        /* as Anthropic answers (the front takes an empty list: a backend
         * would answer an empty conversation) */
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");

        if (cJSON_IsArray(msgs) && !msgs->child) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 400,
                "invalid_request_error", NULL, "messages",
                "messages: at least one message is required"));
        }
    }
    f = llmp_front_create(r->pool, &llmp_front_messages, m->id, x->created,
                          x->stream, req);
    f->id = llmp_make_id(r->pool, "msg_");
    e = f->ops->request(f, req, &ir);
    if (e) return llmp_io_send_error(r, e);
    x->front = f;
    x->include_usage = 1;
    x->id = f->id;
    x->want_reasoning = llmp_messages_wants_reasoning(req);
    if (m->provider == LLMP_PROV_OPENAI)
        return call_openai_ir(r, sc, ep, m, x, ir);
    if (!ops->chat_request) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
            "unsupported_endpoint", "model", "The model '%s' (%s) cannot "
            "be used with /v1/messages", m->id, ops->name));
    }
    e = ops->chat_request(x, ir, &native);
    if (e) return llmp_io_send_error(r, e);
    if (!native.path) native.path = m->handle;
    return llmp_io_proxy(r, sc, ep, m, &native, ops, x);
}

/* GET /v1/responses/{id}: a Response this server kept; DELETE forgets
 * it. */
static int handle_response_get(request_rec *r, const char *id)
{
    cJSON *rec;
    const cJSON *resp;
    char *out;
    apr_size_t n;

    if (r->method_number != M_GET && r->method_number != M_DELETE)
        return method_not_allowed(r, "GET, HEAD, DELETE");
    rec = llmp_rstore_get(r, id);
    resp = rec ? cJSON_GetObjectItemCaseSensitive(rec, "response") : NULL;
    if (!cJSON_IsObject(resp)) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 404, NULL,
            "response_not_found", NULL, "Response with id '%s' not found.",
            shown(r, id)));
    }
    if (r->method_number == M_DELETE) {
        cJSON *d = cJSON_CreateObject();

        llmp_rstore_delete(r, id);
        cJSON_AddStringToObject(d, "id", id);
        cJSON_AddStringToObject(d, "object", "response");
        cJSON_AddTrueToObject(d, "deleted");
        out = llmp_json_print(r->pool, d, &n);
        cJSON_Delete(d);
    }
    else out = llmp_json_print(r->pool, resp, &n);
    if (!out) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 500, NULL,
            NULL, NULL, "out of memory"));
    }
    return llmp_io_send_json(r, 200, out, n);
}

typedef struct {
    llmp_server_conf_t *sc;
    llmp_endpoint_e ep;
    cJSON *req;                    /* the client's request (the list's
                                      model for an alias) */
    char *body;                    /* ... and its bytes */
    apr_size_t len;
} call_baton_t;

static int call_one(request_rec *r, const llmp_model_t *m, int attempt,
                    void *baton);

/* The client's request with stream_options.include_usage true, printed
 * (NULL: out of memory). (A stream_options that is not an object or null
 * goes as the client sent it: the backend's to refuse.) */
static char *stream_with_usage(request_rec *r, cJSON *req, apr_size_t *len)
{
    cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");

    if (!cJSON_IsObject(so)) {
        cJSON_DeleteItemFromObjectCaseSensitive(req, "stream_options");
        so = cJSON_AddObjectToObject(req, "stream_options");
        if (!so) return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
    if (!cJSON_AddTrueToObject(so, "include_usage")) return NULL;
    return llmp_json_print(r->pool, req, len);
}

static int handle_call(request_rec *r, llmp_server_conf_t *sc,
                       llmp_endpoint_e ep)
{
    llmp_error_t *e = NULL;
    llmp_snapshot_t *snap;
    const llmp_model_t *m;
    const cJSON *jmodel;
    const char *target;
    cJSON *req;
    char *body;
    apr_size_t len;
    call_baton_t b;
    int rc;

    if (r->method_number != M_POST) return method_not_allowed(r, "POST");
    rc = llmp_io_read_body(r, sc->max_body, &body, &len, &e);
    if (rc != OK) {
        if (rc == AP_FILTER_ERROR) return rc;
        return llmp_io_send_error(r, e);
    }
    req = llmp_json_parse_pool(r->pool, body, len);
    if (!cJSON_IsObject(req)) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
            "invalid_json", NULL, "We could not parse the JSON body of your "
            "request: it must be a JSON object"));
    }
    e = check_top_level(r, body, len, req);
    if (e) return llmp_io_send_error(r, e);
    jmodel = cJSON_GetObjectItemCaseSensitive(req, "model");
    if (!cJSON_IsString(jmodel) || !*jmodel->valuestring) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
            "missing_model", "model", "you must provide a model parameter"));
    }
    apr_table_setn(r->notes, "llmproxy-model",
                   apr_pstrdup(r->pool, jmodel->valuestring));
    snap = llmp_store_acquire(sc->source, r->pool);
    if (!snap) return list_unavailable(r, sc);
    target = alias_target(sc, jmodel->valuestring);
    m = llmp_models_find(snap->models, target ? target : jmodel->valuestring);
    if (!m) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 404, NULL,
            "model_not_found", "model",
            "The model '%s' does not exist or is not available",
            jmodel->valuestring));
    }
    if (target) {
        /* an alias: the backend (and every translator) sees the list's
         * model, as if the client had asked for it */
        apr_table_setn(r->notes, "llmproxy-model-target", m->id);
        cJSON_ReplaceItemInObjectCaseSensitive(req, "model",
                                               cJSON_CreateString(m->id));
        jmodel = cJSON_GetObjectItemCaseSensitive(req, "model");
        body = llmp_json_print(r->pool, req, &len);
        if (!body || !cJSON_IsString(jmodel)) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 500, NULL,
                NULL, NULL, "out of memory"));
        }
    }
    b.sc = sc;
    b.ep = ep;
    b.req = req;
    b.body = body;
    b.len = len;
    /* the members of the model's pool, then its fallbacks, while a call
     * fails in a way that may be retried (mod_llmproxy_pool.c) */
    return llmp_pool_call(r, sc, snap->models, m, call_one, &b);
}

/* Call one model (a member of the pool of the model asked for, or of a
 * fallback's): check the request against it, translate it for its family
 * and call its backend (llmp_io_proxy). Returns LLMP_POOL_RETRY when the
 * call failed before anything reached the client and another candidate
 * is to be tried. */
static int call_one(request_rec *r, const llmp_model_t *m, int attempt,
                    void *baton)
{
    call_baton_t *b = baton;
    llmp_server_conf_t *sc = b->sc;
    llmp_endpoint_e ep = b->ep;
    llmp_error_t *e = NULL;
    const llmp_provider_ops_t *ops;
    llmp_native_req_t native;
    llmp_xlate_t *x = NULL;
    const cJSON *jmodel, *jstream, *so;
    cJSON *req = b->req;
    llmp_kind_e kind;
    char *body = b->body;
    apr_size_t len = b->len;

    /* a translator may have changed the tree of the call before: the
     * client's request again */
    if (attempt > 0) req = llmp_json_parse_pool(r->pool, body, len);
    jmodel = req ? cJSON_GetObjectItemCaseSensitive(req, "model") : NULL;
    if (!jmodel || strcmp(jmodel->valuestring, m->id)) {
        /* a fallback: the request names the model that serves it */
        cJSON *name = req ? cJSON_CreateString(m->id) : NULL;

        if (name && !cJSON_ReplaceItemInObjectCaseSensitive(req, "model",
                                                            name)) {
            cJSON_Delete(name);
            name = NULL;
        }
        body = name ? llmp_json_print(r->pool, req, &len) : NULL;
        if (!body) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 500, NULL,
                NULL, NULL, "out of memory"));
        }
    }
    ops = llmp_provider_ops(m->provider);
    llmp_call_note(r, attempt == 0, "llmproxy-provider", ops->name);
    llmp_call_note(r, attempt == 0, "llmproxy-handle", m->handle);

    kind = llmp_route_kind(m->handle, m->provider);
    if (ep == LLMP_EP_MESSAGES || ep == LLMP_EP_COUNT_TOKENS) {
        /* any chat model (an Anthropic one as it is) */
        if (kind != LLMP_KIND_ANY && kind != LLMP_KIND_CHAT) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
                "wrong_endpoint", "model", "The model '%s' is served by %s, "
                "not by /v1/messages", m->id, llmp_kind_endpoint(kind)));
        }
    }
    else if (ep == LLMP_EP_RESPONSES) {
        /* any chat model, and a backend of the Responses API itself */
        if (kind != LLMP_KIND_ANY && kind != LLMP_KIND_CHAT
            && kind != LLMP_KIND_RESPONSES) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
                "wrong_endpoint", "model", "The model '%s' is served by %s, "
                "not by /v1/responses", m->id, llmp_kind_endpoint(kind)));
        }
    }
    else if (kind != LLMP_KIND_ANY && kind != kind_of(ep)) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
            "wrong_endpoint", "model", "The model '%s' is served by %s, "
            "not by %s", m->id, llmp_kind_endpoint(kind),
            llmp_kind_endpoint(kind_of(ep))));
    }
    e = check_required(r, req, ep);
    if (e) return llmp_io_send_error(r, e);
    jstream = cJSON_GetObjectItemCaseSensitive(req, "stream");
    if (jstream && !cJSON_IsBool(jstream) && !cJSON_IsNull(jstream)) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
            "invalid_type", "stream", "'stream' must be a boolean"));
    }
    memset(&native, 0, sizeof(native));
    x = apr_pcalloc(r->pool, sizeof(*x));
    x->pool = r->pool;
    x->model_id = m->id;
    x->handle = m->handle;
    x->created = apr_time_sec(r->request_time);
    x->stream = cJSON_IsTrue(jstream);
    x->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(req, "stream_options"),
        "include_usage"));
    x->opts = &sc->xlate_opts;
    if (ep == LLMP_EP_RESPONSES)
        return handle_responses(r, sc, m, ops, kind, req, body, len, x);
    if (ep == LLMP_EP_MESSAGES || ep == LLMP_EP_COUNT_TOKENS)
        return handle_messages(r, sc, m, ops, ep, req, body, len, x);
    if (m->provider == LLMP_PROV_OPENAI) {
        /* pass-through: the client's bytes, unchanged (x only serves to
         * replay a JSON answer to a stream request as chunks) */
        native.path = m->handle;
        native.body = body;
        native.len = len;
        native.stream = x->stream = x->stream
            && (ep == LLMP_EP_CHAT || ep == LLMP_EP_COMPLETIONS);
        so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
        if (x->stream && !x->include_usage && llmp_usage_stream_usage(sc)
            && (!so || cJSON_IsNull(so) || cJSON_IsObject(so))) {
            /* the stream's usage: asked for here, kept from the client
             * (mod_llmproxy_io.c), who sees what it would have seen */
            body = stream_with_usage(r, req, &len);
            if (!body) {
                return llmp_io_send_error(r, llmp_error_make(r->pool, 500,
                    NULL, NULL, NULL, "out of memory"));
            }
            native.body = body;
            native.len = len;
            x->include_usage = 1;
            x->usage_hidden = 1;
        }
        /* the SDKs ask for base64 vectors: floats from a backend that
         * ignores it are encoded on the way back (mod_llmproxy_io.c) */
        if (ep == LLMP_EP_EMBEDDINGS && llmp_embeddings_base64(req) == 1)
            apr_table_setn(r->notes, "llmproxy-embeddings-base64", "1");
        return llmp_io_proxy(r, sc, ep, m, &native, NULL, x);
    }
    x->id = llmp_make_id(r->pool, ep == LLMP_EP_CHAT ? "chatcmpl-" : "req-");
    if (x->stream && !x->include_usage) {
        /* the back translator reports the usage (llmp_xlate_emit takes
         * it), the client does not see it */
        x->include_usage = 1;
        x->usage_hidden = 1;
    }
    switch (ep) {
    case LLMP_EP_CHAT:
        if (!ops->chat_request) goto unsupported;
        e = ops->chat_request(x, req, &native);
        break;
    case LLMP_EP_EMBEDDINGS:
        if (!ops->embeddings_request) goto unsupported;
        x->stream = 0;
        e = ops->embeddings_request(x, req, &native);
        break;
    case LLMP_EP_IMAGES:
        if (!ops->images_request) goto unsupported;
        x->stream = 0;
        e = ops->images_request(x, req, &native);
        break;
    default:
        goto unsupported;
    }
    if (e) return llmp_io_send_error(r, e);
    if (!native.path) native.path = m->handle;
    return llmp_io_proxy(r, sc, ep, m, &native, ops, x);

unsupported:
    return llmp_io_send_error(r, llmp_error_make(r->pool, 400, NULL,
        "unsupported_endpoint", "model", "The model '%s' (%s) cannot be used "
        "with /v1/%s", m->id, ops->name, ep == LLMP_EP_CHAT
        ? "chat/completions" : ep == LLMP_EP_EMBEDDINGS ? "embeddings"
        : ep == LLMP_EP_IMAGES ? "images/generations" : "completions"));
}

static int llmp_handler(request_rec *r)
{
    llmp_server_conf_t *sc;
    llmp_endpoint_e ep;
    const char *model_id = NULL;

    if (!r->handler || strcmp(r->handler, "llmproxy")) return DECLINED;
    sc = llmp_sconf(r->server);
    if (!sc->source) return HTTP_INTERNAL_SERVER_ERROR;
    ep = find_endpoint(r, &model_id);
    apr_table_setn(r->notes, "llmproxy-endpoint", endpoint_names[ep]);
    llmp_req_conf(r)->usage.endpoint = endpoint_names[ep];
    /* the errors of a URL of another protocol take its shape */
    if (ep == LLMP_EP_RESPONSES || ep == LLMP_EP_RESPONSE)
        llmp_req_conf(r)->front = &llmp_front_responses;
    else if (ep == LLMP_EP_MESSAGES || ep == LLMP_EP_COUNT_TOKENS
             || (ep == LLMP_EP_UNKNOWN && strstr(r->uri, "/v1/messages/")))
        llmp_req_conf(r)->front = &llmp_front_messages;
    switch (ep) {
    case LLMP_EP_HEALTH:
        return handle_health(r, sc);
    case LLMP_EP_MODELS:
    case LLMP_EP_MODEL:
        return handle_models(r, sc, ep, model_id);
    case LLMP_EP_RESPONSE:
        return handle_response_get(r, model_id);
    case LLMP_EP_UNKNOWN:
        return llmp_io_send_error(r, llmp_error_make(r->pool, 404, NULL,
            "unknown_url", NULL, "Unknown request URL: %s %s", r->method,
            r->uri));
    default:
        return handle_call(r, sc, ep);
    }
}

/* ---- hooks ---- */

/* No file stands behind the gateway's URLs: when SetHandler llmproxy
 * applies, skip httpd's directory and file walks (several stat() calls per
 * request), as mod_proxy does. <Location> sections still apply: httpd walks
 * them again after this hook. */
static int llmp_map_to_storage(request_rec *r)
{
    core_dir_config *d;
    const char *h, *err = NULL;

    if (r->proxyreq || !r->uri || r->uri[0] != '/') return DECLINED;
    if (ap_location_walk(r) != OK) return DECLINED;
    d = ap_get_core_module_config(r->per_dir_config);
    if (!d || !d->expr_handler) return DECLINED;
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (err || !h || strcmp(h, "llmproxy")) return DECLINED;
    return OK;
}

static apr_status_t http_cleanup(void *data)
{
    (void)data;
    llmp_http_global_cleanup();
    return APR_SUCCESS;
}

static int llmp_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, LLMP_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT,
                             0) == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* Defaults from the environment and checks: runs for `apachectl configtest`
 * too, so that a bad MODEL_LIST_URL is reported there. */
static int llmp_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    return llmp_config_finish(pconf, ptemp, s);
}

static int llmp_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    const char *err = NULL;
    int rc;

    /* the first of the two start-up passes only checks the configuration */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    if (llmp_http_global_init(&err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, LLMP_LOG_TAG
                     "libcurl initialisation failed: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, http_cleanup,
                              apr_pool_cleanup_null);
    rc = llmp_store_post_config(pconf, ptemp, s);
    if (rc == OK)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, LLMP_LOG_TAG
                     "ready (%s)", llmp_http_version());
    return rc;
}

static void llmp_child_init(apr_pool_t *pchild, server_rec *s)
{
    llmp_server_conf_t *mc = llmp_sconf(s);
    int threads = 1;

    if (!mc->sources) return;
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1) threads = 1;
    llmp_store_child_init(pchild, s);
    /* an idle handle (and connection) per worker thread, plus the fetcher */
    mc->http = llmp_http_pool_create(pchild, threads + 1);
    if (!mc->http)
        llmp_store_child_fatal(s, APR_ENOMEM, "create the HTTP client "
                               "(libcurl handle pool)");
}

static void llmp_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(llmp_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(llmp_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(llmp_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* before mod_watchdog starts its threads in child_init */
    ap_hook_child_init(llmp_child_init, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(llmp_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(llmp_handler, NULL, NULL, APR_HOOK_MIDDLE);
    llmp_store_register_hooks(p);
    llmp_rstore_register_hooks(p);
    llmp_modproxy_register_hooks(p);
    llmp_io_register_hooks(p);
    llmp_usage_register_hooks(p);
    llmp_keys_register_hooks(p);
    llmp_metrics_register_hooks(p);
    llmp_usagedb_register_hooks(p);
    llmp_limits_register_hooks(p);
    llmp_pool_register_hooks(p);
    llmp_docs_register_hooks(p);
}

AP_DECLARE_MODULE(llmproxy) = {
    STANDARD20_MODULE_STUFF,
    llmp_create_dir_conf,
    llmp_merge_dir_conf,
    llmp_create_server_conf,
    llmp_merge_server_conf,
    llmp_cmds,
    llmp_register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
