/* mod_llmproxy: SetHandler llmproxy-docs (issue 15). The OpenAPI 3.1
 * document of the API at .../openapi.json (src/llmp_openapi.c: the base
 * docs/openapi-base.json with the live model list, the server URL and the
 * security of the location), and the interactive page (Swagger UI) with
 * its assets from LLMProxyDocsDir everywhere else under the location. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "mod_llmproxy_features.h"
#include "llmp_openapi.h"

APLOG_USE_MODULE(llmproxy);

#ifndef LLMP_DOCS_DIR
#define LLMP_DOCS_DIR "/usr/share/mod_llmproxy/docs"
#endif
#define LLMP_DOCS_HANDLER "llmproxy-docs"
#define LLMP_DOCS_BASE "openapi-base.json"
#define LLMP_DOCS_DOCUMENT "openapi.json"
/* the base is a few hundred KB; refuse a file far beyond that */
#define LLMP_DOCS_BASE_MAX (16 * 1024 * 1024)

struct llmp_docs_dconf {
    const char *dir;               /* LLMProxyDocsDir; NULL unset */
};

void *llmp_docs_create_dconf(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct llmp_docs_dconf));
}

void *llmp_docs_merge_dconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_docs_dconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->dir = a->dir ? a->dir : b->dir;
    return c;
}

const char *llmp_docs_set_dir(cmd_parms *cmd, void *dconf, const char *arg)
{
    llmp_dir_conf_t *d = dconf;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path)
        return apr_pstrcat(cmd->pool, "LLMProxyDocsDir: invalid path '", arg,
                           "'", NULL);
    d->docs->dir = path;
    return NULL;
}

static const char *docs_dir(request_rec *r)
{
    llmp_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                               &llmproxy_module);
    return dc && dc->docs && dc->docs->dir ? dc->docs->dir : LLMP_DOCS_DIR;
}

/* Where the location is: ours when it holds a directive of this module,
 * else core's (NULL for a regex or at server level). */
static const char *docs_mount(request_rec *r)
{
    llmp_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                               &llmproxy_module);
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    apr_size_t n;

    if (dc && dc->mount) return dc->mount;
    if (!cd || !cd->d || cd->d[0] != '/' || cd->r || cd->d_is_fnmatch)
        return NULL;
    n = strlen(cd->d);
    while (n > 1 && cd->d[n - 1] == '/') n--;
    return apr_pstrmemdup(r->pool, cd->d, n);
}

static int send_error(request_rec *r, int status, const char *code,
                      const char *msg)
{
    return llmp_io_send_error(r, llmp_error_make(r->pool, status, NULL, code,
                                                 NULL, "%s", msg));
}

static const char *content_type_of(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" },
        { ".png", "image/png" },
        { ".svg", "image/svg+xml" },
        { ".txt", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(name, '.');
    unsigned i;

    for (i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
        if (!strcmp(dot, types[i].ext)) return types[i].type;
    return "text/plain; charset=utf-8";
}

/* A file name of the docs directory: letters, digits, '.', '-', '_', not
 * starting with a dot (no path, nothing hidden). */
static int plain_name(const char *s)
{
    if (!*s || *s == '.') return 0;
    for (; *s; s++)
        if (!apr_isalnum(*s) && *s != '.' && *s != '-' && *s != '_')
            return 0;
    return 1;
}

static int send_file(request_rec *r, const char *name)
{
    const char *path = apr_pstrcat(r->pool, docs_dir(r), "/", name, NULL);
    apr_bucket_brigade *bb;
    apr_file_t *f;
    apr_status_t rv;
    int rc;

    rv = apr_stat(&r->finfo, path, APR_FINFO_MIN, r->pool);
    if (rv != APR_SUCCESS || r->finfo.filetype != APR_REG) {
        if (!strcmp(name, "index.html") || rv != APR_ENOENT)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, LLMP_LOG_TAG
                          "docs: cannot read %s (LLMProxyDocsDir)", path);
        return send_error(r, 404, "unknown_url", apr_psprintf(r->pool,
            "Unknown request URL: %s %s", r->method, r->uri));
    }
    r->filename = apr_pstrdup(r->pool, path);
    ap_set_content_type(r, content_type_of(name));
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_update_mtime(r, r->finfo.mtime);
    ap_set_last_modified(r);
    ap_set_etag(r);
    if ((rc = ap_meets_conditions(r)) != OK) return rc;
    ap_set_content_length(r, r->finfo.size);
    if (r->header_only) return OK;
    rv = apr_file_open(&f, path, APR_READ | APR_BINARY
#if APR_HAS_SENDFILE
                       | APR_SENDFILE_ENABLED
#endif
                       , 0, r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, LLMP_LOG_TAG
                      "docs: cannot open %s", path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_brigade_insert_file(bb, f, 0, r->finfo.size, r->pool);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    return rv == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}

/* The ids clients may name: the list's (with the kind each serves), then
 * the aliases whose target is in it. NULL while no list is loaded. */
static apr_array_header_t *live_models(request_rec *r,
                                       llmp_server_conf_t *sc)
{
    llmp_snapshot_t *snap = sc->source ? llmp_store_acquire(sc->source,
                                                            r->pool)
                                       : NULL;
    apr_array_header_t *out;
    int i;

    if (!snap || !snap->models) return NULL;
    out = apr_array_make(r->pool, snap->models->list->nelts + 1,
                         sizeof(llmp_openapi_model_t));
    for (i = 0; i < snap->models->list->nelts; i++) {
        const llmp_model_t *m = APR_ARRAY_IDX(snap->models->list, i,
                                              const llmp_model_t *);
        llmp_openapi_model_t *o = apr_array_push(out);
        o->id = m->id;
        o->kind = llmp_route_kind(m->handle, m->provider);
    }
    for (i = 0; sc->aliases && i < sc->aliases->nelts; i++) {
        const llmp_alias_t *a = &APR_ARRAY_IDX(sc->aliases, i, llmp_alias_t);
        const llmp_model_t *m = llmp_models_find(snap->models, a->target);
        llmp_openapi_model_t *o;
        if (!m) continue;
        o = apr_array_push(out);
        o->id = a->name;
        o->kind = llmp_route_kind(m->handle, m->provider);
    }
    return out;
}

static int send_document(request_rec *r)
{
    llmp_server_conf_t *sc = llmp_sconf(r->server);
    const char *path = apr_pstrcat(r->pool, docs_dir(r), "/" LLMP_DOCS_BASE,
                                   NULL);
    const char *auth = ap_auth_type(r), *err = NULL;
    llmp_openapi_opts_t o;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len, outlen;
    apr_status_t rv;
    char *base, *out;

    rv = apr_file_open(&f, path, APR_READ | APR_BINARY, 0, r->pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && (fi.size <= 0 || fi.size > LLMP_DOCS_BASE_MAX))
        rv = APR_EINVAL;
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        base = apr_palloc(r->pool, len + 1);
        rv = apr_file_read_full(f, base, len, &len);
        base[len] = '\0';
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, LLMP_LOG_TAG
                      "docs: cannot read %s (LLMProxyDocsDir)", path);
        return send_error(r, 500, "docs_unavailable",
                          "the API description is not installed");
    }
    o.server_url = llmp_openapi_server_url(r->pool, r->uri, docs_mount(r));
    o.auth_required = auth && !strcasecmp(auth, "llmproxy-key");
    o.models = live_models(r, sc);
    out = llmp_openapi_build(r->pool, base, len, &o, &outlen, &err);
    if (!out) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "docs: %s is unusable: %s", path, err);
        return send_error(r, 500, "docs_unavailable",
                          "the API description is unusable");
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "Access-Control-Allow-Origin", "*");
    return llmp_io_send_json(r, 200, out, outlen);
}

static int docs_handler(request_rec *r)
{
    const char *mount, *rest, *name;
    apr_size_t n;

    if (!r->handler || strcmp(r->handler, LLMP_DOCS_HANDLER)) return DECLINED;
    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return send_error(r, 405, "method_not_allowed", apr_psprintf(r->pool,
            "%s is not allowed here; use GET, HEAD", r->method));
    }
    name = strrchr(r->uri, '/');
    name = name ? name + 1 : r->uri;
    if (!strcmp(name, LLMP_DOCS_DOCUMENT)) return send_document(r);

    /* the page: its location without a slash goes to the location with
     * one, so that the page's relative URLs resolve under it */
    mount = docs_mount(r);
    n = mount ? strlen(mount) : 0;
    if (mount && strcmp(mount, "/") && !strncmp(r->uri, mount, n)) {
        rest = r->uri + n;
        if (!*rest) {
            const char *to = apr_pstrcat(r->pool, mount, "/",
                                         r->args ? "?" : "", r->args, NULL);
            apr_table_setn(r->headers_out, "Location",
                           ap_construct_url(r->pool, to, r));
            return HTTP_MOVED_PERMANENTLY;
        }
        if (*rest != '/' || strchr(rest + 1, '/'))
            name = "";                      /* /docsx, or deeper: unknown */
        else if (!rest[1]) name = "index.html";
    }
    else if (!*name) {
        name = "index.html";
    }
    if (!plain_name(name) || !strcmp(name, LLMP_DOCS_BASE))
        return send_error(r, 404, "unknown_url", apr_psprintf(r->pool,
            "Unknown request URL: %s %s", r->method, r->uri));
    return send_file(r, name);
}

void llmp_docs_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(docs_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
