/* mod_llmproxy: non-streamed backend calls through httpd's own mod_proxy
 * and mod_proxy_http (glue).
 *
 * When mod_proxy and mod_proxy_http are loaded and the gateway is plain
 * http, a buffered call (a chat completion, an embedding, an image) is
 * handed to mod_proxy's handler as a reverse-proxy request: its connection
 * pool (a worker for the gateway's origin, defined at start-up), its HTTP
 * parser and its timeouts do the transfer. The request only borrows the
 * request_rec for that call:
 *   - the client's headers are set aside and replaced by the ones we send
 *     (the gateway's token, Content-Type, Accept, Content-Length);
 *   - an input filter replays the body we already read (and maybe
 *     translated);
 *   - an output filter captures the backend's answer in a bounded buffer,
 *     so that nothing from the backend reaches the client as it is: the
 *     caller answers from the captured status, Content-Type and body, and
 *     no upstream header is echoed.
 * Everything is put back before the caller answers.
 *
 * An https gateway needs mod_ssl as well, and mod_ssl's proxy settings
 * must be ours (LLMProxySSLVerify, LLMProxyCACertificateFile), whatever
 * SSLProxy* the server has or lacks. mod_ssl reads them from the
 * request's per-directory configuration when mod_proxy opens or reuses a
 * backend connection (ap_proxy_ssl_engine). So at start-up each such
 * server gets what a <Proxy "https://gateway"> section holding SSLProxyEngine
 * on, SSLProxyVerify, SSLProxyCACertificateFile... would give: the
 * directives are parsed into a configuration vector of its own (mod_ssl's
 * part only), which mod_ssl initialises through mod_proxy's
 * section_post_config hook (its SSL_CTX, CA store loaded once); each call
 * runs with the request's configuration merged with it, as mod_proxy's
 * own <Proxy> sections are merged. The section is not registered with
 * mod_proxy: it applies to our calls only.
 *
 * Streams and servers without mod_proxy (or, for https, without mod_ssl)
 * keep libcurl (llmp_http). */
#include <dlfcn.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <mod_proxy.h>

#include "mod_llmproxy.h"
#include "llmp_pool.h"

APLOG_USE_MODULE(llmproxy);

#define LLMP_REPLAY_FILTER   "LLMPROXY_REPLAY"
#define LLMP_CAPTURE_FILTER  "LLMPROXY_CAPTURE"

typedef struct {
    const char *data;
    apr_size_t len, off;
} replay_ctx;

typedef struct {
    llmp_buf_t *body;
    int too_big;       /* the answer outgrew the buffer */
    int seen;          /* mod_proxy passed an answer (or part of one) */
    int eos;           /* ... and its end */
    int error;         /* an error bucket: the backend failed mid-answer */
    apr_time_t last;   /* when the backend last sent something */
} capture_ctx;

/* The body, in pieces of at most readbytes, then EOS. */
static apr_status_t replay_in(ap_filter_t *f, apr_bucket_brigade *bb,
                              ap_input_mode_t mode, apr_read_type_e block,
                              apr_off_t readbytes)
{
    replay_ctx *c = f->ctx;
    apr_size_t n;

    (void)block;
    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE
        && mode != AP_MODE_GETLINE)
        return APR_ENOTIMPL;
    n = c->len - c->off;
    if (readbytes > 0 && (apr_off_t)n > readbytes) n = (apr_size_t)readbytes;
    if (n) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(
            c->data + c->off, n, bb->bucket_alloc));
        if (mode != AP_MODE_SPECULATIVE) c->off += n;
    }
    else {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    }
    return APR_SUCCESS;
}

/* Keep what mod_proxy would send the client; pass nothing on. */
static apr_status_t capture_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    capture_ctx *c = f->ctx;
    apr_bucket *e;
    apr_status_t rv = APR_SUCCESS;

    c->seen = 1;
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        const char *d;
        apr_size_t n;

        if (APR_BUCKET_IS_EOS(e)) { c->eos = 1; break; }
        if (AP_BUCKET_IS_ERROR(e)) { c->error = 1; continue; }
        if (APR_BUCKET_IS_METADATA(e) || c->too_big) continue;
        rv = apr_bucket_read(e, &d, &n, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) break;
        if (n) c->last = apr_time_now();   /* (not for the error bucket) */
        if (n && llmp_buf_append(c->body, d, n) != APR_SUCCESS) {
            c->too_big = 1;
            rv = APR_ENOSPC;
            break;
        }
    }
    apr_brigade_cleanup(bb);
    return rv;
}

/* mod_proxy's worker functions, found at run time: mod_llmproxy loads and
 * works without mod_proxy (and may be loaded before it). */
typedef proxy_worker *llmp_get_worker_fn(apr_pool_t *, proxy_balancer *,
                                         proxy_server_conf *, const char *);
typedef char *llmp_define_worker_fn(apr_pool_t *, proxy_worker **,
                                    proxy_balancer *, proxy_server_conf *,
                                    const char *, int);
typedef int llmp_section_post_config_fn(apr_pool_t *, apr_pool_t *,
                                       apr_pool_t *, server_rec *,
                                       ap_conf_vector_t *);

static void no_modproxy(server_rec *s, const char *why)
{
    server_rec *v;
    int said = 0;

    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);

        if (!c->via_proxy) continue;
        c->via_proxy = 0;
        if (!said++)
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, v, LLMP_LOG_TAG
                         "%s: libcurl makes every backend call", why);
    }
}

static int is_https(const llmp_server_conf_t *c)
{
    return !strncmp(c->origin, "https://", 8);
}

/* Servers with an https gateway use libcurl (why: once, at info). */
static void no_modproxy_tls(server_rec *s, const char *why)
{
    server_rec *v;
    int said = 0;

    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);

        if (!c->via_proxy || !is_https(c)) continue;
        c->via_proxy = 0;
        if (!said++)
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, v, LLMP_LOG_TAG
                         "%s: libcurl makes every call to an https gateway",
                         why);
    }
}

/* What decides whether a TLS connection may be reused for another
 * server's calls: the peer checks it was made with. */
static const char *tls_key(apr_pool_t *p, const llmp_server_conf_t *c)
{
    if (!c->verify) return "noverify";
    return apr_pstrcat(p, "verify ", c->ca_file ? c->ca_file : "-", NULL);
}

/* The generated configuration lines, read by ap_build_config. */
typedef struct {
    const char *const *lines;
    int i;
} conf_lines;

static apr_status_t lines_gets(void *buf, apr_size_t size, void *param)
{
    conf_lines *l = param;

    if (!l->lines[l->i]) return APR_EOF;
    apr_cpystrn(buf, l->lines[l->i++], size);
    return APR_SUCCESS;
}

static apr_status_t lines_close(void *param)
{
    (void)param;
    return APR_SUCCESS;
}

/* A path as one configuration argument, or NULL when it cannot be one. */
static const char *conf_arg(apr_pool_t *p, const char *path)
{
    if (!path || strpbrk(path, "\"\\\r\n")) return NULL;
    return apr_pstrcat(p, "\"", path, "\"", NULL);
}

/* mod_ssl's proxy configuration for server v's https gateway, from our
 * directives: a configuration vector with mod_ssl's per-directory part,
 * initialised by mod_ssl (section_post_config). NULL, with *why, when it
 * cannot be made. */
static ap_conf_vector_t *tls_section(apr_pool_t *pconf, apr_pool_t *plog,
                                     apr_pool_t *ptemp, server_rec *v,
                                     llmp_section_post_config_fn *post,
                                     module *ssl, const char **why)
{
    llmp_server_conf_t *c = llmp_sconf(v);
    apr_array_header_t *a = apr_array_make(ptemp, 12, sizeof(char *));
    ap_conf_vector_t *sec = ap_create_per_dir_config(pconf);
    ap_directive_t *tree = NULL;
    conf_lines cl;
    cmd_parms parms;
    const char *err, *file = NULL, *dir = NULL;

    APR_ARRAY_PUSH(a, const char *) = "SSLProxyEngine on";
    if (c->verify) {
        file = c->ca_file;

        if (!file) llmp_http_default_ca(ptemp, &file, &dir);
        if (!file && !dir) {
            *why = "no CA bundle is known (set LLMProxyCACertificateFile)";
            return NULL;
        }
        if ((file && !conf_arg(ptemp, file))
            || (dir && !conf_arg(ptemp, dir))) {
            *why = "the CA file's name cannot be handed to mod_ssl";
            return NULL;
        }
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyVerify require";
        /* as OpenSSL and libcurl: chains of intermediates */
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyVerifyDepth 100";
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyCheckPeerName on";
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyCheckPeerExpire on";
        if (file)
            APR_ARRAY_PUSH(a, const char *) = apr_pstrcat(ptemp,
                "SSLProxyCACertificateFile ", conf_arg(ptemp, file), NULL);
        if (dir)
            APR_ARRAY_PUSH(a, const char *) = apr_pstrcat(ptemp,
                "SSLProxyCACertificatePath ", conf_arg(ptemp, dir), NULL);
    }
    else {
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyVerify none";
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyCheckPeerName off";
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyCheckPeerCN off";
        APR_ARRAY_PUSH(a, const char *) = "SSLProxyCheckPeerExpire off";
    }
    APR_ARRAY_PUSH(a, const char *) = NULL;
    cl.lines = (const char *const *)a->elts;
    cl.i = 0;

    /* as the contents of a <Proxy "https://gateway"> section */
    memset(&parms, 0, sizeof(parms));
    parms.pool = pconf;
    parms.temp_pool = ptemp;
    parms.server = v;
    parms.override = ACCESS_CONF | PROXY_CONF;
    parms.override_opts = OPT_ALL | OPT_SYM_OWNER | OPT_MULTI;
    parms.limited = -1;
    parms.path = apr_pstrcat(pconf, "proxy:", c->origin, NULL);
    parms.config_file = ap_pcfg_open_custom(ptemp, "mod_llmproxy TLS",
                                            &cl, NULL, lines_gets,
                                            lines_close);
    if (!parms.config_file) {
        *why = "out of memory";
        return NULL;
    }
    err = ap_build_config(&parms, pconf, ptemp, &tree);
    if (!err) err = ap_walk_config(tree, &parms, sec);
    ap_cfg_closefile(parms.config_file);
    if (err) {
        *why = apr_pstrcat(ptemp, "mod_ssl refused its proxy settings: ",
                           err, NULL);
        return NULL;
    }
    if (!ap_get_module_config(sec, ssl)) {
        *why = "mod_ssl kept no proxy settings";
        return NULL;
    }
    if (post(pconf, plog, ptemp, v, sec) != OK) {
        *why = "mod_ssl could not set up its proxy TLS context (see above)";
        return NULL;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, v, LLMP_LOG_TAG
                 "calls to %s through mod_proxy_http and mod_ssl: %s%s%s%s%s",
                 c->origin, c->verify ? "certificate checked against "
                 : "certificate not checked", file ? file : "",
                 file && dir ? " and " : "", dir ? dir : "",
                 c->verify && !c->ca_file ? " (libcurl's default)" : "");
    return sec;
}

/* Each call runs with the request's per-directory configuration merged
 * with the TLS section (mod_ssl's part), as mod_proxy merges its <Proxy>
 * sections. Unless a <Location> or <Directory> of the request holds a
 * mod_ssl directive, mod_ssl's part of the request's configuration is the
 * server's default: merged with ours here, once, a call only swaps it in
 * (llmp_modproxy_perform) instead of merging every module's
 * configuration again. */
static void tls_premerge(apr_pool_t *pconf, server_rec *v,
                         llmp_server_conf_t *c, module *ssl)
{
    ap_conf_vector_t *m;
    module *mod;
    int n = 0;

    c->tls_ssl_merged = NULL;
    for (mod = ap_top_module; mod; mod = mod->next) {
        /* only mod_ssl's part of the section is set */
        if (mod != ssl && ap_get_module_config(c->tls_section, mod)) return;
        if (mod->module_index >= n) n = mod->module_index + 1;
    }
    m = ap_merge_per_dir_configs(pconf, v->lookup_defaults, c->tls_section);
    c->tls_ssl = ssl;
    c->tls_conf_len = n;
    c->tls_ssl_base = ap_get_module_config(v->lookup_defaults, ssl);
    c->tls_ssl_merged = ap_get_module_config(m, ssl);
}

/* Server v's calls go through libcurl after all: why, at info (or, when
 * something failed, at warning) level. */
static void use_libcurl(server_rec *v, int level, const char *why)
{
    llmp_server_conf_t *c = llmp_sconf(v);

    ap_log_error(APLOG_MARK, level, 0, v, LLMP_LOG_TAG
                 "%s: libcurl makes this server's backend calls", why);
    c->via_proxy = 0;
    c->tls_section = NULL;
    c->tls_ssl_merged = NULL;
}

/* A mod_proxy worker (its connection pool) for each gateway origin, in the
 * mod_proxy configuration of every server that sends calls through it:
 * what <Proxy "http://gateway"> ProxySet ... </Proxy> would define; for an
 * https gateway, mod_ssl's proxy settings too (tls_section). Runs in
 * post_config, after mod_ssl's and before mod_proxy's; mod_proxy's
 * child_init sets the workers up. */
static int modproxy_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    module *pm = ap_find_linked_module("mod_proxy.c");
    module *ssl = ap_find_linked_module("mod_ssl.c");
    llmp_get_worker_fn *get_worker;
    llmp_define_worker_fn *define_worker;
    llmp_section_post_config_fn *section_post = NULL;
    /* https: "<mod_proxy configuration> <origin>" -> the tls_key() of the
     * servers that would share that worker ("" when they differ); and the
     * workers we defined */
    apr_hash_t *keys = apr_hash_make(ptemp);
    apr_hash_t *ours = apr_hash_make(ptemp);
    server_rec *v;

    if (!pm || !ap_find_linked_module("mod_proxy_http.c")) {
        no_modproxy(s, "mod_proxy_http is not loaded");
        return OK;
    }
    get_worker = (llmp_get_worker_fn *)dlsym(RTLD_DEFAULT,
                                             "ap_proxy_get_worker");
    define_worker = (llmp_define_worker_fn *)dlsym(RTLD_DEFAULT,
                                                   "ap_proxy_define_worker");
    if (!get_worker || !define_worker) {
        no_modproxy(s, "mod_proxy's worker API was not found");
        return OK;
    }
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 116)
    if (!ssl || !ap_ssl_has_outgoing_handlers())
#else
    if (!ssl)
#endif
        no_modproxy_tls(s, "mod_ssl is not loaded");
    else if (!(section_post = (llmp_section_post_config_fn *)dlsym(
                   RTLD_DEFAULT, "proxy_run_section_post_config")))
        no_modproxy_tls(s, "mod_proxy's section_post_config hook was not "
                           "found");

    /* Servers that share a mod_proxy configuration (a virtual host with no
     * mod_proxy directive shares the main server's) share its worker for
     * the gateway, so its pooled connections: only when they check the
     * gateway's certificate alike. */
    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        proxy_server_conf *pc = ap_get_module_config(v->module_config, pm);
        const char *wk, *key, *seen;

        if (!c->via_proxy || !pc || !is_https(c)) continue;
        wk = apr_psprintf(ptemp, "%pp %s", (void *)pc, c->origin);
        key = tls_key(ptemp, c);
        seen = apr_hash_get(keys, wk, APR_HASH_KEY_STRING);
        apr_hash_set(keys, wk, APR_HASH_KEY_STRING,
                     !seen || !strcmp(seen, key) ? key : "");
    }

    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        proxy_server_conf *pc = ap_get_module_config(v->module_config, pm);
        proxy_worker *w;
        char *err;
        const char *wk, *why = NULL;
        int tls;

        if (!c->via_proxy || !pc) continue;
        wk = apr_psprintf(ptemp, "%pp %s", (void *)pc, c->origin);
        tls = is_https(c);
        if (tls && !*(const char *)apr_hash_get(keys, wk,
                                                APR_HASH_KEY_STRING)) {
            use_libcurl(v, APLOG_INFO, apr_psprintf(ptemp,
                "servers sharing a mod_proxy configuration (so its worker "
                "for %s) check the gateway's certificate differently "
                "(LLMProxySSLVerify, LLMProxyCACertificateFile; a mod_proxy "
                "directive in a virtual host gives it a configuration of "
                "its own)", c->origin));
            continue;
        }
        if (tls) {
            c->tls_section = tls_section(pconf, plog, ptemp, v, section_post,
                                         ssl, &why);
            if (c->tls_section) tls_premerge(pconf, v, c, ssl);
            if (!c->tls_section) {
                use_libcurl(v, APLOG_INFO, apr_psprintf(ptemp,
                    "no TLS through mod_proxy for %s (%s)", c->origin, why));
                continue;
            }
        }
        w = get_worker(pconf, NULL, pc, c->origin);
        if (w && tls && !apr_hash_get(ours, wk, APR_HASH_KEY_STRING)) {
            /* the administrator's own (<Proxy>, ProxyPass): its
             * connections are checked with mod_ssl's settings for it, and
             * never reused for these calls */
            use_libcurl(v, APLOG_INFO, apr_psprintf(ptemp,
                "a mod_proxy worker for %s is configured, with TLS "
                "settings of its own", c->origin));
            continue;
        }
        if (w) {
            /* one defined for another server that shares this mod_proxy
             * configuration, or the administrator's own <Proxy> or
             * ProxyPass: usable only with this server's timeouts */
            if (!w->s->timeout_set || w->s->timeout != c->timeout
                || !w->s->conn_timeout_set
                || w->s->conn_timeout != c->connect_timeout) {
                use_libcurl(v, APLOG_INFO, apr_psprintf(ptemp,
                    "the mod_proxy worker for %s has other timeouts than "
                    "LLMProxyTimeout and LLMProxyConnectTimeout",
                    c->origin));
            }
            continue;
        }
        err = define_worker(pconf, &w, NULL, pc, c->origin, 0);
        if (err || !w) {
            use_libcurl(v, APLOG_WARNING, apr_psprintf(ptemp,
                "cannot define a mod_proxy worker for %s (%s)", c->origin,
                err ? err : "no worker"));
            continue;
        }
        if (tls) apr_hash_set(ours, wk, APR_HASH_KEY_STRING, "");
        w->s->timeout = c->timeout;
        w->s->timeout_set = 1;
        w->s->conn_timeout = c->connect_timeout;
        w->s->conn_timeout_set = 1;
        /* a gateway that was down is tried again on the next request */
        w->s->retry = 0;
        w->s->retry_set = 1;
        w->s->status |= PROXY_WORKER_IGNORE_ERRORS;
    }
    return OK;
}

/* The filters' records, set once while the hooks are registered (before
 * any request or thread) and only read afterwards: adding a filter by its
 * handle spares a lookup of its name per call. */
static ap_filter_rec_t *replay_filter, *capture_filter;

/* The request's per-directory configuration with mod_ssl's part for the
 * TLS section (see tls_premerge): a copy with one slot swapped when that
 * part is the server's default, merged as mod_proxy would otherwise. */
static ap_conf_vector_t *tls_dir_config(request_rec *r,
                                        const llmp_server_conf_t *sc)
{
    ap_conf_vector_t *v;

    if (!sc->tls_ssl_merged
        || ap_get_module_config(r->per_dir_config, sc->tls_ssl)
           != sc->tls_ssl_base)
        return ap_merge_per_dir_configs(r->pool, r->per_dir_config,
                                        sc->tls_section);
    v = apr_pmemdup(r->pool, r->per_dir_config,
                    (apr_size_t)sc->tls_conf_len * sizeof(void *));
    ap_set_module_config(v, sc->tls_ssl, sc->tls_ssl_merged);
    return v;
}

void llmp_modproxy_register_hooks(apr_pool_t *p)
{
    /* the workers exist before mod_proxy looks at its configuration */
    static const char *const succ[] = { "mod_proxy.c", NULL };
    /* mod_ssl set up before its proxy contexts are made */
    static const char *const pred[] = { "mod_ssl.c", NULL };

    (void)p;
    ap_hook_post_config(modproxy_post_config, pred, succ, APR_HOOK_MIDDLE);
    replay_filter = ap_register_input_filter(LLMP_REPLAY_FILTER, replay_in,
                                             NULL, AP_FTYPE_RESOURCE);
    capture_filter = ap_register_output_filter(LLMP_CAPTURE_FILTER,
                                               capture_out, NULL,
                                               AP_FTYPE_RESOURCE);
}

/* Did the answer break off because the backend went silent for the
 * worker's timeout (LLMProxyTimeout)? mod_proxy_http reports a body that
 * stops coming as it reports a reset (an error bucket, a 502), so tell
 * them apart by the silence before the end, as libcurl's timeout would:
 * the same stall gives the same 504 whichever client made the call. */
static int stalled(request_rec *r, const capture_ctx *cc)
{
    apr_interval_time_t t = llmp_sconf(r->server)->timeout;

    return t > 0 && apr_time_now() - cc->last
                    >= t - apr_time_from_msec(100);
}

int llmp_modproxy_perform(request_rec *r, const char *url,
                          const char *const *headers, const char *body,
                          apr_size_t len, llmp_buf_t *out, int *too_big,
                          llmp_http_result_t *res)
{
    replay_ctx rc;
    capture_ctx cc;
    ap_filter_t *fin, *fout;
    apr_table_t *saved_in = r->headers_in;
    apr_table_t *saved_out = r->headers_out;
    apr_table_t *saved_err = r->err_headers_out;
    int saved_keepalive = r->connection->keepalive;
    int saved_aborted = r->connection->aborted;
    char *saved_filename = r->filename;
    const char *saved_handler = r->handler;
    ap_conf_vector_t *saved_dir = r->per_dir_config;
    ap_conf_vector_t *tls = llmp_sconf(r->server)->tls_section;
    int saved_expecting = r->expecting_100;
    const char *const *hl;
    int status;

    memset(res, 0, sizeof(*res));
    memset(&cc, 0, sizeof(cc));
    rc.data = body;
    rc.len = len;
    rc.off = 0;
    cc.body = out;

    r->headers_in = apr_table_make(r->pool, 8);
    /* mod_proxy fills these with the backend's headers: its own tables,
     * dropped after the call */
    r->headers_out = apr_table_make(r->pool, 8);
    r->err_headers_out = apr_table_make(r->pool, 2);
    for (hl = headers; hl && *hl; hl++) {
        const char *colon = strchr(*hl, ':');
        if (!colon) continue;
        apr_table_setn(r->headers_in,
                       apr_pstrmemdup(r->pool, *hl, (apr_size_t)(colon - *hl)),
                       colon[1] == ' ' ? colon + 2 : colon + 1);
    }
    apr_table_setn(r->headers_in, "Content-Length",
                   apr_off_t_toa(r->pool, (apr_off_t)len));
    apr_table_setn(r->headers_in, "User-Agent", "mod_llmproxy/1.0");
    r->expecting_100 = 0;
    /* a 1xx from the backend would go to the client directly */
    apr_table_setn(r->subprocess_env, "proxy-interim-response", "Suppress");
    r->filename = apr_pstrcat(r->pool, "proxy:", url, NULL);
    r->handler = "proxy-server";
    r->proxyreq = PROXYREQ_REVERSE;
    fin = ap_add_input_filter_handle(replay_filter, &rc, r, r->connection);
    fout = ap_add_output_filter_handle(capture_filter, &cc, r,
                                       r->connection);

    /* mod_ssl's proxy settings for this gateway, as a <Proxy> section's
     * are merged by mod_proxy */
    if (tls) r->per_dir_config = tls_dir_config(r, llmp_sconf(r->server));

    cc.last = apr_time_now();
    status = ap_run_handler(r);

    r->per_dir_config = saved_dir;

    ap_remove_input_filter(fin);
    ap_remove_output_filter(fout);
    res->status = r->status;
    res->content_type = r->content_type;
    {
        /* the one backend header a retry reads (mod_llmproxy_pool.c) */
        const char *ra = apr_table_get(r->headers_out, "Retry-After");

        if (!ra) ra = apr_table_get(r->err_headers_out, "Retry-After");
        res->retry_after = llmp_pool_retry_after(ra, apr_time_now());
    }
    r->headers_in = saved_in;
    r->filename = saved_filename;
    r->handler = saved_handler;
    r->expecting_100 = saved_expecting;
    r->proxyreq = PROXYREQ_NONE;
    /* nothing of the backend's headers reaches the client */
    r->headers_out = saved_out;
    r->err_headers_out = saved_err;
    /* mod_proxy closes the client connection after a failed backend; the
     * answer here is a whole JSON error, so keep-alive stays as it was */
    r->connection->keepalive = saved_keepalive;
    /* and takes a failed write (our buffer full) for a client that left;
     * nothing was written to the client during the call */
    r->connection->aborted = saved_aborted;
    apr_table_unset(r->subprocess_env, "proxy-interim-response");
    r->status = HTTP_OK;
    r->status_line = NULL;
    r->content_type = NULL;
    r->sent_bodyct = 0;
    r->eos_sent = 0;
    r->bytes_sent = 0;
    r->clength = 0;

    *too_big = cc.too_big;
    if (status == DECLINED) return DECLINED;
    if (cc.seen && cc.eos && !cc.error && !cc.too_big) {
        res->outcome = LLMP_HTTP_OK;
        return OK;
    }
    res->status = cc.seen ? res->status : 0;
    if (cc.too_big) {
        res->outcome = LLMP_HTTP_FAILED;
        res->error = "response too large";
    }
    else if (!cc.seen && status == HTTP_SERVICE_UNAVAILABLE) {
        res->outcome = LLMP_HTTP_CONNECT;
        res->error = "cannot connect";
    }
    else if (status == HTTP_GATEWAY_TIME_OUT
             || apr_table_get(r->notes, "proxy_timedout")
             || stalled(r, &cc)) {
        res->outcome = LLMP_HTTP_TIMEOUT;
        res->error = "timed out";
    }
    else {
        res->outcome = LLMP_HTTP_FAILED;
        res->error = apr_psprintf(r->pool, "mod_proxy answered %d", status);
    }
    return OK;
}
