/* The HTTP client on libcurl (core: no httpd header). */
#include <string.h>
#include <curl/curl.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "llmp_http.h"
#include "llmp_buf.h"

struct llmp_http_pool {
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;     /* guards idle[] */
    apr_thread_mutex_t *share_mutex;
    CURLSH *share;                 /* DNS and TLS sessions */
    CURL **idle;
    int nidle, max_idle;
};

apr_status_t llmp_http_global_init(const char **err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (rc != CURLE_OK) {
        *err = curl_easy_strerror(rc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void llmp_http_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *llmp_http_version(void)
{
    return curl_version();
}

/* The CA bundle and directory libcurl trusts when no CA file is set (what
 * it was built with); NULL when it knows none. */
void llmp_http_default_ca(apr_pool_t *p, const char **file, const char **dir)
{
    CURL *h = curl_easy_init();
    char *v;

    *file = *dir = NULL;
    if (!h) return;
#if LIBCURL_VERSION_NUM >= 0x075400
    v = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CAINFO, &v) == CURLE_OK && v && *v)
        *file = apr_pstrdup(p, v);
    v = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CAPATH, &v) == CURLE_OK && v && *v)
        *dir = apr_pstrdup(p, v);
#else
    (void)v; (void)p;
#endif
    curl_easy_cleanup(h);
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a,
                       void *u)
{
    (void)h; (void)d; (void)a;
    apr_thread_mutex_lock(((llmp_http_pool_t *)u)->share_mutex);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
    (void)h; (void)d;
    apr_thread_mutex_unlock(((llmp_http_pool_t *)u)->share_mutex);
}

static apr_status_t pool_cleanup(void *data)
{
    llmp_http_pool_t *hp = data;
    int i;

    for (i = 0; i < hp->nidle; i++) curl_easy_cleanup(hp->idle[i]);
    hp->nidle = 0;
    if (hp->share) curl_share_cleanup(hp->share);
    hp->share = NULL;
    return APR_SUCCESS;
}

llmp_http_pool_t *llmp_http_pool_create(apr_pool_t *p, int max_idle)
{
    llmp_http_pool_t *hp = apr_pcalloc(p, sizeof(*hp));

    if (!hp) return NULL;
    hp->pool = p;
    hp->max_idle = max_idle > 0 ? max_idle : 1;
    hp->idle = apr_pcalloc(p, sizeof(CURL *) * (apr_size_t)hp->max_idle);
    if (!hp->idle
        || apr_thread_mutex_create(&hp->mutex, APR_THREAD_MUTEX_DEFAULT, p)
           != APR_SUCCESS
        || apr_thread_mutex_create(&hp->share_mutex, APR_THREAD_MUTEX_DEFAULT,
                                   p) != APR_SUCCESS)
        return NULL;
    /* cleaned up with p from here on, whatever happens next */
    apr_pool_cleanup_register(p, hp, pool_cleanup, apr_pool_cleanup_null);
    hp->share = curl_share_init();
    if (!hp->share
        || curl_share_setopt(hp->share, CURLSHOPT_LOCKFUNC, share_lock)
           != CURLSHE_OK
        || curl_share_setopt(hp->share, CURLSHOPT_UNLOCKFUNC, share_unlock)
           != CURLSHE_OK
        || curl_share_setopt(hp->share, CURLSHOPT_USERDATA, hp) != CURLSHE_OK
        || curl_share_setopt(hp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)
           != CURLSHE_OK) {
        /* out of memory: fail now rather than on the first request */
        pool_cleanup(hp);
        apr_pool_cleanup_kill(p, hp, pool_cleanup);
        return NULL;
    }
    /* TLS session sharing is an optimisation a libcurl build may lack */
    curl_share_setopt(hp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return hp;
}

static CURL *acquire(llmp_http_pool_t *hp)
{
    CURL *h = NULL;

    apr_thread_mutex_lock(hp->mutex);
    if (hp->nidle > 0) h = hp->idle[--hp->nidle];
    apr_thread_mutex_unlock(hp->mutex);
    return h ? h : curl_easy_init();
}

/* A handle whose transfer ended well goes back with its connection. */
static void release(llmp_http_pool_t *hp, CURL *h, int reuse)
{
    if (reuse) {
        curl_easy_reset(h);
        apr_thread_mutex_lock(hp->mutex);
        if (hp->nidle < hp->max_idle) {
            hp->idle[hp->nidle++] = h;
            h = NULL;
        }
        apr_thread_mutex_unlock(hp->mutex);
    }
    if (h) curl_easy_cleanup(h);
}

typedef struct {
    CURL *h;
    const llmp_http_req_t *req;
    llmp_http_result_t *res;
    apr_pool_t *p;
    int aborted;
    int stalled;
    apr_time_t last_rx;        /* start, or when the last bytes came */
    apr_interval_time_t stall; /* streams: longest silence allowed */
} xfer_t;

static int call_head(xfer_t *x)
{
    char *ct = NULL;

    if (x->res->head_called) return 0;
    x->res->head_called = 1;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->res->status);
    if (curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        x->res->content_type = apr_pstrdup(x->p, ct);
    if (x->req->on_head
        && x->req->on_head(x->req->baton, x->res->status,
                           x->res->content_type)) {
        x->aborted = 1;
        return 1;
    }
    return 0;
}

static size_t on_write(char *buf, size_t size, size_t n, void *u)
{
    xfer_t *x = u;
    size_t len = size * n;

    x->last_rx = apr_time_now();
    if (call_head(x)) return 0;
    if (len && x->req->on_data
        && x->req->on_data(x->req->baton, buf, (apr_size_t)len)) {
        x->aborted = 1;
        return 0;
    }
    return len;
}

static int on_xferinfo(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    xfer_t *x = u;

    (void)dt; (void)dn; (void)ut; (void)un;
    /* curl's low-speed check averages over seconds of history and misses
     * a silence that follows a burst: time the silence ourselves */
    if (x->stall > 0 && apr_time_now() - x->last_rx > x->stall) {
        x->stalled = 1;
        return 1;
    }
    if (x->req->on_tick && x->req->on_tick(x->req->baton)) {
        x->aborted = 1;
        return 1;
    }
    return 0;
}

apr_status_t llmp_http_perform(llmp_http_pool_t *hp, const llmp_http_req_t *req,
                               llmp_http_result_t *res, apr_pool_t *p)
{
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE];
    const char *const *hl;
    xfer_t x;
    CURLcode rc;
    CURL *h;
    long reused = 0;

    memset(res, 0, sizeof(*res));
    res->retry_after = -1;
    h = acquire(hp);
    if (!h) {
        res->outcome = LLMP_HTTP_FAILED;
        res->error = "cannot create a libcurl handle";
        return APR_ENOMEM;
    }
    memset(&x, 0, sizeof(x));
    x.h = h;
    x.req = req;
    x.res = res;
    x.p = p;
    errbuf[0] = '\0';

    for (hl = req->headers; hl && *hl; hl++) hdrs = curl_slist_append(hdrs, *hl);
    hdrs = curl_slist_append(hdrs, "Expect:");

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_llmproxy/1.0");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->opts.connect_timeout_ms > 0
                     ? req->opts.connect_timeout_ms : 10000L);
    if (req->opts.stream) {
        x.stall = apr_time_from_msec(req->opts.timeout_ms > 0
                                     ? req->opts.timeout_ms : 300000L);
        x.last_rx = apr_time_now();
    }
    else if (req->opts.timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->opts.timeout_ms);
    }
    if (req->opts.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, req->opts.ca_file);
    if (!req->opts.verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (hp->share) curl_easy_setopt(h, CURLOPT_SHARE, hp->share);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    if (req->method && !strcmp(req->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    }
    else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }

    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        call_head(&x);         /* empty bodies */
        if (x.aborted) rc = CURLE_WRITE_ERROR;
    }
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &reused);
    res->reused = (reused == 0);
    {
        curl_off_t ra = 0;

        /* seconds, from delta-seconds or an HTTP date (0: no header) */
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK
            && ra > 0)
            res->retry_after = apr_time_from_sec(ra > 86400 ? 86400 : ra);
    }
    if (!res->status)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);

    switch (rc) {
    case CURLE_OK:
        res->outcome = LLMP_HTTP_OK;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        res->outcome = LLMP_HTTP_CONNECT;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        res->outcome = LLMP_HTTP_TIMEOUT;
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
        res->outcome = x.stalled ? LLMP_HTTP_TIMEOUT
                     : x.aborted ? LLMP_HTTP_ABORTED : LLMP_HTTP_FAILED;
        break;
    default:
        res->outcome = LLMP_HTTP_FAILED;
        break;
    }
    if (x.stalled)
        res->error = apr_psprintf(p, "no data for %" APR_TIME_T_FMT " ms",
                                  apr_time_as_msec(x.stall));
    else if (rc != CURLE_OK)
        res->error = apr_pstrdup(p, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    release(hp, h, rc == CURLE_OK);
    return rc == CURLE_OK ? APR_SUCCESS : APR_EGENERAL;
}

typedef struct {
    llmp_buf_t buf;
    int too_big;
} getbuf_t;

static int get_data(void *baton, const char *buf, apr_size_t len)
{
    getbuf_t *g = baton;

    if (llmp_buf_append(&g->buf, buf, len) != APR_SUCCESS) {
        g->too_big = 1;
        return 1;
    }
    return 0;
}

apr_status_t llmp_http_get(llmp_http_pool_t *hp, const char *url,
                           const char *const *headers,
                           const llmp_http_opts_t *opts, apr_size_t max,
                           char **body, apr_size_t *len,
                           llmp_http_result_t *res, apr_pool_t *p)
{
    llmp_http_req_t req;
    getbuf_t g;
    apr_status_t rv;

    memset(&req, 0, sizeof(req));
    llmp_buf_init(&g.buf, p, max);
    g.too_big = 0;
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.opts = *opts;
    req.on_data = get_data;
    req.baton = &g;
    rv = llmp_http_perform(hp, &req, res, p);
    if (g.too_big) {
        res->outcome = LLMP_HTTP_FAILED;
        res->error = apr_psprintf(p, "response larger than %" APR_SIZE_T_FMT
                                  " bytes", max);
        rv = APR_ENOSPC;
    }
    *body = g.buf.data ? g.buf.data : apr_pstrdup(p, "");
    *len = g.buf.len;
    return rv;
}
