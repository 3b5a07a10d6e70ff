/* mod_llmproxy: AuthType llmproxy-key and LLMProxyKeyFile (issue 12).
 *
 * A client sends its key as "Authorization: Bearer <key>" (OpenAI's SDKs,
 * Claude Code's auth token) or "x-api-key" (Anthropic's SDKs); the user of
 * the key in the LLMProxyKeyFile becomes r->user, so that Require user,
 * Require valid-user, %u and every other authorization module work as with
 * Basic authentication. Each child keeps each key file's table (digest ->
 * user) and reads the file again when a stat() of it shows another file
 * (mtime, ctime, size, inode, device): keys are added and revoked without a
 * restart. A file that cannot be read or parsed lets no one in (500). */
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_thread_rwlock.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mod_llmproxy_features.h"
#include "llmp_keys.h"
#include "llmp_front.h"
#include "llmp_openai.h"

APLOG_USE_MODULE(llmproxy);

#define KEYS_REGISTRY "llmproxy-keyfiles"
#define KEYS_ERROR_FILTER "LLMPROXY_KEYS_ERROR"

/* What a stat() of the file said: another value, another file. */
typedef struct {
    apr_status_t rv;
    apr_time_t mtime, ctime;
    apr_off_t size;
    apr_ino_t inode;
    apr_dev_t device;
} keys_sig_t;

/* One key file, shared by every section naming it (a registry in the
 * configuration pool). Each child has its own copy of the table. */
typedef struct llmp_keyfile {
    const char *path;
    apr_pool_t *pool;              /* child: parent of the tables' pools */
    apr_thread_rwlock_t *lock;     /* child: guards what follows */
    int tried;                     /* the file was read once */
    keys_sig_t sig;                /* ... as it was then */
    apr_pool_t *tpool;             /* the table's pool */
    llmp_keys_t *keys;             /* NULL: the file is unusable */
} llmp_keyfile_t;

struct llmp_keys_dconf {
    const char *file;              /* LLMProxyKeyFile */
    llmp_keyfile_t *kf;
};

void *llmp_keys_create_dconf(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct llmp_keys_dconf));
}

void *llmp_keys_merge_dconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_keys_dconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->file = a->file ? a->file : b->file;
    c->kf = a->file ? a->kf : b->kf;
    return c;
}

static apr_hash_t *keys_registry(apr_pool_t *pconf, int create)
{
    void *v = NULL;

    apr_pool_userdata_get(&v, KEYS_REGISTRY, pconf);
    if (!v && create) {
        v = apr_hash_make(pconf);
        apr_pool_userdata_set(v, KEYS_REGISTRY, apr_pool_cleanup_null, pconf);
    }
    return v;
}

const char *llmp_keys_set_file(cmd_parms *cmd, void *dv, const char *arg)
{
    llmp_dir_conf_t *d = dv;
    struct llmp_keys_dconf *kd;
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_hash_t *reg;
    llmp_keyfile_t *kf;

    if (!path)
        return apr_pstrcat(cmd->pool, "LLMProxyKeyFile: invalid path ", arg,
                           NULL);
    if (!d) {
        /* server or virtual host context: its default directory
         * configuration */
        d = ap_get_module_config(cmd->server->lookup_defaults,
                                 &llmproxy_module);
        if (!d) return "LLMProxyKeyFile: no configuration to set";
    }
    kd = d->keys;
    reg = keys_registry(cmd->pool, 1);
    kf = apr_hash_get(reg, path, APR_HASH_KEY_STRING);
    if (!kf) {
        kf = apr_pcalloc(cmd->pool, sizeof(*kf));
        kf->path = path;
        apr_hash_set(reg, path, APR_HASH_KEY_STRING, kf);
    }
    kd->file = path;
    kd->kf = kf;
    return NULL;
}

static void keys_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_hash_t *reg = keys_registry(s->process->pconf, 0);
    apr_hash_index_t *hi;
    apr_status_t rv;

    if (!reg) return;
    for (hi = apr_hash_first(pchild, reg); hi; hi = apr_hash_next(hi)) {
        llmp_keyfile_t *kf = apr_hash_this_val(hi);

        if ((rv = apr_pool_create(&kf->pool, pchild)) != APR_SUCCESS
            || (rv = apr_thread_rwlock_create(&kf->lock, pchild))
               != APR_SUCCESS)
            llmp_store_child_fatal(s, rv, "the API key files' lock");
        apr_pool_tag(kf->pool, "llmproxy-keys");
        kf->tried = 0;
        kf->tpool = NULL;
        kf->keys = NULL;
    }
}

static void keys_stat(const char *path, keys_sig_t *sig, apr_pool_t *p)
{
    apr_finfo_t fi;

    memset(sig, 0, sizeof(*sig));
    sig->rv = apr_stat(&fi, path, APR_FINFO_MTIME | APR_FINFO_CTIME
                       | APR_FINFO_SIZE | APR_FINFO_INODE | APR_FINFO_DEV, p);
    if (sig->rv == APR_INCOMPLETE) sig->rv = APR_SUCCESS;
    if (sig->rv != APR_SUCCESS) return;
    sig->mtime = fi.mtime;
    sig->ctime = fi.ctime;
    sig->size = fi.size;
    sig->inode = fi.inode;
    sig->device = fi.device;
}

static int keys_sig_same(const keys_sig_t *a, const keys_sig_t *b)
{
    return a->rv == b->rv && a->mtime == b->mtime && a->ctime == b->ctime
           && a->size == b->size && a->inode == b->inode
           && a->device == b->device;
}

/* Read the whole file into pool p: NULL, or why not. */
static const char *keys_read(apr_pool_t *p, const char *path, char **text,
                             apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t n;
    char *buf;

    if ((rv = apr_file_open(&f, path, APR_READ | APR_BINARY, 0, p))
        != APR_SUCCESS)
        return apr_psprintf(p, "cannot open it: %pm", &rv);
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)) != APR_SUCCESS) {
        apr_file_close(f);
        return apr_psprintf(p, "cannot stat it: %pm", &rv);
    }
    if (fi.size > LLMP_KEYS_MAX_FILE) {
        apr_file_close(f);
        return "it is larger than 64M";
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    rv = n ? apr_file_read_full(f, buf, n, &n) : APR_SUCCESS;
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot read it: %pm", &rv);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return NULL;
}

/* Read kf again (write lock held): its table, or none when it cannot be
 * used (logged once per state of the file). */
static void keys_reload(request_rec *r, llmp_keyfile_t *kf,
                        const keys_sig_t *sig)
{
    apr_pool_t *np;
    const char *why = NULL;
    llmp_keys_t *keys = NULL;
    char *text = NULL;
    apr_size_t len = 0;

    kf->sig = *sig;
    kf->tried = 1;
    if (apr_pool_create(&np, kf->pool) != APR_SUCCESS) {
        why = "out of memory";
        np = NULL;
    }
    else if (sig->rv != APR_SUCCESS)
        why = apr_psprintf(np, "cannot stat it: %pm", &sig->rv);
    else if (!(why = keys_read(np, kf->path, &text, &len)))
        why = llmp_keys_parse(np, text, len, &keys);
    if (kf->tpool) apr_pool_destroy(kf->tpool);
    kf->tpool = NULL;
    kf->keys = NULL;
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "API key file %s cannot be used, every key is refused "
                      "until it is fixed: %s", kf->path, why);
        if (np) apr_pool_destroy(np);
        return;
    }
    kf->tpool = np;
    kf->keys = keys;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                  "API key file %s read: %d keys", kf->path,
                  keys->entries->nelts);
}

/* The user of the key (copied to r->pool) in *user, NULL when the key is
 * unknown: OK; HTTP_INTERNAL_SERVER_ERROR when the file is unusable. */
static int keys_find(request_rec *r, llmp_keyfile_t *kf, const char *key,
                     apr_size_t len, const char **user)
{
    keys_sig_t sig;
    const llmp_key_entry_t *e;
    int status = OK;

    *user = NULL;
    if (!kf->lock) {
        /* (child_init did not run for this configuration) */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "API key file %s cannot be used, every key is refused "
                      "until it is fixed: not set up in this process",
                      kf->path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    keys_stat(kf->path, &sig, r->pool);
    if (apr_thread_rwlock_rdlock(kf->lock) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (!kf->tried || !keys_sig_same(&sig, &kf->sig)) {
        apr_thread_rwlock_unlock(kf->lock);
        if (apr_thread_rwlock_wrlock(kf->lock) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
        /* another thread may have read it meanwhile */
        if (!kf->tried || !keys_sig_same(&sig, &kf->sig))
            keys_reload(r, kf, &sig);
    }
    if (!kf->keys)
        status = HTTP_INTERNAL_SERVER_ERROR;
    else if ((e = llmp_keys_lookup(kf->keys, key, len)) != NULL)
        *user = apr_pstrdup(r->pool, e->user);
    apr_thread_rwlock_unlock(kf->lock);
    return status;
}

static int keys_ours(request_rec *r)
{
    const char *t = ap_auth_type(r);
    return t && !strcasecmp(t, LLMP_KEYS_AUTH_TYPE);
}

/* The Messages API's paths answer errors in its shape. */
static void keys_set_front(request_rec *r)
{
    const char *u = r->uri;
    apr_size_t n = u ? strlen(u) : 0;
    llmp_req_conf_t *rc = llmp_req_conf(r);

    if (rc->front) return;
    while (n > 1 && u[n - 1] == '/') n--;
    if ((n >= 9 && !strncmp(u + n - 9, "/messages", 9))
        || (n >= 22 && !strncmp(u + n - 22, "/messages/count_tokens", 22)))
        rc->front = &llmp_front_messages;
}

static void keys_challenge(request_rec *r)
{
    const char *realm = ap_auth_name(r);

    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   realm && *realm && !strpbrk(realm, "\"\\\r\n")
                   ? apr_pstrcat(r->pool, "Bearer realm=\"", realm, "\"",
                                 NULL)
                   : "Bearer");
}

/* The error for an authentication or authorization failure; never names
 * the key. */
static llmp_error_t *keys_error(request_rec *r, int status, int sent)
{
    switch (status) {
    case HTTP_UNAUTHORIZED:
        if (r->user)
            return llmp_error_make(r->pool, 401, "invalid_request_error",
                "insufficient_permissions", NULL, "The user of this API key "
                "may not use this resource");
        return llmp_error_make(r->pool, 401, "invalid_request_error",
            "invalid_api_key", NULL, sent
            ? "Incorrect API key provided"
            : "Missing API key: send it as 'Authorization: Bearer <key>' or "
              "'x-api-key: <key>'");
    case HTTP_FORBIDDEN:
        return llmp_error_make(r->pool, 403, NULL, "insufficient_permissions",
            NULL, "The user of this API key may not use this resource");
    case HTTP_INTERNAL_SERVER_ERROR:
        return llmp_error_make(r->pool, 500, NULL, "key_file_unusable", NULL,
            "The server cannot check API keys now");
    default:
        return llmp_error_make(r->pool, status, NULL, NULL, NULL, "%s",
                               ap_get_status_line(status) + 4);
    }
}

static int keys_check_authn(request_rec *r)
{
    llmp_dir_conf_t *d;
    const char *key, *user = NULL;
    apr_size_t len;
    int status;

    if (!keys_ours(r)) return DECLINED;
    keys_set_front(r);
    d = ap_get_module_config(r->per_dir_config, &llmproxy_module);
    if (!d || !d->keys->kf) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG "AuthType "
                      LLMP_KEYS_AUTH_TYPE " without LLMProxyKeyFile for %s",
                      r->uri);
        llmp_io_send_error(r, keys_error(r, HTTP_INTERNAL_SERVER_ERROR, 0));
        return DONE;
    }
    key = llmp_keys_from_headers(apr_table_get(r->headers_in,
                                               "Authorization"),
                                 apr_table_get(r->headers_in, "x-api-key"),
                                 &len);
    if (!key) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMP_LOG_TAG
                      "no API key sent for %s", r->uri);
        keys_challenge(r);
        llmp_io_send_error(r, keys_error(r, HTTP_UNAUTHORIZED, 0));
        return DONE;
    }
    status = keys_find(r, d->keys->kf, key, len, &user);
    if (status != OK) {
        llmp_io_send_error(r, keys_error(r, status, 1));
        return DONE;
    }
    if (!user) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                      "unknown API key for %s", r->uri);
        keys_challenge(r);
        llmp_io_send_error(r, keys_error(r, HTTP_UNAUTHORIZED, 1));
        return DONE;
    }
    r->user = (char *)user;
    r->ap_auth_type = (char *)LLMP_KEYS_AUTH_TYPE;
    return OK;
}

/* mod_authz_core's refusals (Require user ...) under our AuthType. */
static int keys_note_auth_failure(request_rec *r, const char *type)
{
    if (!type || strcasecmp(type, LLMP_KEYS_AUTH_TYPE)) return DECLINED;
    keys_challenge(r);
    return OK;
}

/* httpd's error page (a refusal of mod_authz_core, an error another
 * module returned) for a request under our AuthType becomes the JSON
 * error of the request's protocol: whatever httpd writes is dropped and
 * the JSON goes out at the end. */
static apr_status_t keys_error_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket *e;
    int eos = 0;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_EOS(e)) eos = 1;
    }
    apr_brigade_cleanup(bb);
    if (!eos) return APR_SUCCESS;
    {
        const llmp_req_conf_t *rc = llmp_req_conf(r);
        /* the key check's own 500 was sent by the hook: a 500 here is
         * another module's (a handler's), not the key file's */
        const llmp_error_t *err = r->status == HTTP_INTERNAL_SERVER_ERROR
            ? llmp_error_make(r->pool, 500, NULL, NULL, NULL, "%s",
                              ap_get_status_line(HTTP_INTERNAL_SERVER_ERROR)
                              + 4)
            : keys_error(r, r->status, 1);
        const char *json = rc->front && rc->front->error_json
                           ? rc->front->error_json(r->pool, err)
                           : llmp_error_json(r->pool, err);
        apr_size_t len = strlen(json);

        ap_remove_output_filter(f);
        ap_set_content_type(r, "application/json");
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only)
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(json, len,
                                        r->pool, f->c->bucket_alloc));
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
        return ap_pass_brigade(f->next, bb);
    }
}

static void keys_insert_error_filter(request_rec *r)
{
    if (r->status < 400 || !keys_ours(r)) return;
    keys_set_front(r);
    ap_add_output_filter(KEYS_ERROR_FILTER, NULL, r, r->connection);
}

void llmp_keys_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_check_authn(keys_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(keys_note_auth_failure, NULL, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(keys_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_child_init(keys_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(KEYS_ERROR_FILTER, keys_error_out, NULL,
                              AP_FTYPE_CONTENT_SET);
}
