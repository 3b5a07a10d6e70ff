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
 * Everything is put back before the caller answers. Streams, https and
 * servers without mod_proxy keep libcurl (llmp_http). */
#include <dlfcn.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <mod_proxy.h>

#include "mod_llmproxy.h"

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

/* A mod_proxy worker (its connection pool) for each http origin, in the
 * mod_proxy configuration of every server that sends calls through it:
 * what <Proxy "http://gateway"> ProxySet ... </Proxy> would define. Runs in
 * post_config, before mod_proxy's child_init sets the workers up. */
static int modproxy_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    module *pm = ap_find_linked_module("mod_proxy.c");
    llmp_get_worker_fn *get_worker;
    llmp_define_worker_fn *define_worker;
    server_rec *v;

    (void)plog; (void)ptemp;

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
    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        proxy_server_conf *pc = ap_get_module_config(v->module_config, pm);
        proxy_worker *w;
        char *err;

        if (!c->via_proxy || !pc) continue;
        w = get_worker(pconf, NULL, pc, c->origin);
        if (w) {
            /* one defined for another server that shares this mod_proxy
             * configuration, or the administrator's own <Proxy> or
             * ProxyPass: usable only with this server's timeouts */
            if (!w->s->timeout_set || w->s->timeout != c->timeout
                || !w->s->conn_timeout_set
                || w->s->conn_timeout != c->connect_timeout) {
                ap_log_error(APLOG_MARK, APLOG_INFO, 0, v, LLMP_LOG_TAG
                             "the mod_proxy worker for %s has other "
                             "timeouts than LLMProxyTimeout and "
                             "LLMProxyConnectTimeout: libcurl makes this "
                             "server's backend calls", c->origin);
                c->via_proxy = 0;
            }
            continue;
        }
        err = define_worker(pconf, &w, NULL, pc, c->origin, 0);
        if (err || !w) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, LLMP_LOG_TAG
                         "cannot define a mod_proxy worker for %s (%s): "
                         "libcurl makes this server's backend calls",
                         c->origin, err ? err : "no worker");
            c->via_proxy = 0;
            continue;
        }
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

void llmp_modproxy_register_hooks(apr_pool_t *p)
{
    /* the workers exist before mod_proxy looks at its configuration */
    static const char *const succ[] = { "mod_proxy.c", NULL };

    (void)p;
    ap_hook_post_config(modproxy_post_config, NULL, succ, APR_HOOK_MIDDLE);
    ap_register_input_filter(LLMP_REPLAY_FILTER, replay_in, NULL,
                             AP_FTYPE_RESOURCE);
    ap_register_output_filter(LLMP_CAPTURE_FILTER, capture_out, NULL,
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
                   apr_psprintf(r->pool, "%" APR_SIZE_T_FMT, len));
    apr_table_setn(r->headers_in, "User-Agent", "mod_llmproxy/1.0");
    r->expecting_100 = 0;
    /* a 1xx from the backend would go to the client directly */
    apr_table_setn(r->subprocess_env, "proxy-interim-response", "Suppress");
    r->filename = apr_pstrcat(r->pool, "proxy:", url, NULL);
    r->handler = "proxy-server";
    r->proxyreq = PROXYREQ_REVERSE;
    fin = ap_add_input_filter(LLMP_REPLAY_FILTER, &rc, r, r->connection);
    fout = ap_add_output_filter(LLMP_CAPTURE_FILTER, &cc, r, r->connection);

    cc.last = apr_time_now();
    status = ap_run_handler(r);

    ap_remove_input_filter(fin);
    ap_remove_output_filter(fout);
    res->status = r->status;
    res->content_type = r->content_type;
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
