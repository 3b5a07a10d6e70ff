/* mod_llmproxy: the request body in, the backend call, and what the client
 * sees: JSON answers, or an SSE stream written and flushed event by event
 * (glue). A client that goes away stops the backend transfer. */
#include <poll.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <apr_portable.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "mod_llmproxy_features.h"
#include "llmp_messages.h"
#include "llmp_sse.h"
#include "llmp_buf.h"
#include "llmp_scrub.h"
#include "llmp_responses.h"
#include "llmp_pool.h"
#include "llmp_keys.h"

APLOG_USE_MODULE(llmproxy);

#define LLMP_MAX_RESPONSE  (64 * 1024 * 1024)   /* non-streamed bodies */
#define LLMP_MAX_EVENT     (8 * 1024 * 1024)    /* one SSE event */

/* ap_rwrite takes an int: a body of any size goes in pieces. */
static void write_body(request_rec *r, const char *data, apr_size_t len)
{
    while (len) {
        apr_size_t n = len > (1u << 30) ? (1u << 30) : len;

        if (ap_rwrite(data, (int)n, r) < 0) return;
        data += n;
        len -= n;
    }
}

/* The status of the answer. httpd writes a status it does not know as 500:
 * Anthropic's 529 (overloaded_error) gets its own status line. */
static void set_status(request_rec *r, int status)
{
    r->status = status;
    if (status == 529) r->status_line = "529 Overloaded";
}

int llmp_io_send_json(request_rec *r, int status, const char *json,
                      apr_size_t len)
{
    set_status(r, status);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)len);
    if (r->header_only) return OK;
    write_body(r, json, len);
    return OK;
}

llmp_req_conf_t *llmp_req_conf(request_rec *r)
{
    llmp_req_conf_t *rc = ap_get_module_config(r->request_config,
                                               &llmproxy_module);

    if (!rc) {
        rc = apr_pcalloc(r->pool, sizeof(*rc));
        ap_set_module_config(r->request_config, &llmproxy_module, rc);
    }
    return rc;
}

void llmp_io_keep(request_rec *r)
{
    llmp_req_conf_t *rc = ap_get_module_config(r->request_config,
                                               &llmproxy_module);
    void (*keep)(request_rec *, void *) = rc ? rc->keep : NULL;

    if (!keep) return;
    rc->keep = NULL;
    keep(r, rc->keep_baton);
}

int llmp_io_send_error(request_rec *r, const llmp_error_t *e)
{
    const llmp_req_conf_t *rc = ap_get_module_config(r->request_config,
                                                     &llmproxy_module);
    const char *json = rc && rc->front && rc->front->error_json
                       ? rc->front->error_json(r->pool, e)
                       : llmp_error_json(r->pool, e);

    apr_table_setn(r->notes, "llmproxy-error",
                   e->code ? e->code : e->type);
    if (e->status == HTTP_METHOD_NOT_ALLOWED && !apr_table_get(
            r->err_headers_out, "Allow"))
        apr_table_setn(r->err_headers_out, "Allow", "POST");
    return llmp_io_send_json(r, e->status, json, strlen(json));
}

#define LLMP_BODY_ERROR_FILTER "LLMPROXY_BODY_ERROR"

/* httpd's input filter reports a body it refuses (over LimitRequestBody,
 * a broken chunk) with an error bucket sent down the output filters, which
 * answers with httpd's HTML error page at once. While the body is read,
 * this filter keeps the status of such a bucket and drops it: the client
 * gets the OpenAI-shaped error instead. */
static apr_status_t body_error_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    int *status = f->ctx;
    apr_bucket *e;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (AP_BUCKET_IS_ERROR(e) && !*status)
            *status = ((ap_bucket_error *)e->data)->status;
    }
    if (*status) {
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    return ap_pass_brigade(f->next, bb);
}

/* The filter's record, set once while the hooks are registered (before
 * any request or thread) and only read afterwards: adding the filter by
 * its handle spares a lookup of its name per request. */
static ap_filter_rec_t *body_error_filter;

void llmp_io_register_hooks(apr_pool_t *p)
{
    (void)p;
    body_error_filter = ap_register_output_filter(LLMP_BODY_ERROR_FILTER,
                                                  body_error_out, NULL,
                                                  AP_FTYPE_RESOURCE);
}

static int read_body(request_rec *r, apr_off_t limit, char **body,
                     apr_size_t *len, llmp_error_t **err, int *refused);

int llmp_io_read_body(request_rec *r, apr_off_t limit, char **body,
                      apr_size_t *len, llmp_error_t **err)
{
    int refused = 0, rc;
    ap_filter_t *f = ap_add_output_filter_handle(body_error_filter, &refused,
                                                 r, r->connection);

    rc = read_body(r, limit, body, len, err, &refused);
    if (f) ap_remove_output_filter(f);
    return rc;
}

static int read_body(request_rec *r, apr_off_t limit, char **body,
                     apr_size_t *len, llmp_error_t **err, int *refused)
{
    apr_off_t core_limit = ap_get_limit_req_body(r);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    char *buf = NULL;
    apr_size_t used = 0, cap = 0;
    int seen_eos = 0;

    if (core_limit > 0 && core_limit < limit) limit = core_limit;
    if (cl) {
        char *end;
        apr_off_t n;
        if (apr_strtoff(&n, cl, &end, 10) != APR_SUCCESS || *end || n < 0) {
            *err = llmp_error_make(r->pool, 400, NULL, NULL, NULL,
                                   "invalid Content-Length");
            return 400;
        }
        if (n > limit) goto too_large;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);
        if (*refused) {
            /* httpd's input filter refused the body (see body_error_out);
             * ap_pass_brigade marked the EOS that came with the error as
             * sent, but it was dropped: the answer is still to come */
            r->eos_sent = 0;
            r->connection->keepalive = AP_CONN_CLOSE;
            if (*refused == HTTP_REQUEST_ENTITY_TOO_LARGE) goto too_large;
            *err = llmp_error_make(r->pool, ap_is_HTTP_ERROR(*refused)
                                   ? *refused : 400, NULL, NULL, NULL,
                                   "could not read the request body");
            return (*err)->status;
        }
        if (rv != APR_SUCCESS) {
            int st = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
            if (st == HTTP_REQUEST_ENTITY_TOO_LARGE) goto too_large;
            *err = llmp_error_make(r->pool, st == AP_FILTER_ERROR ? 400 : st,
                                   NULL, NULL, NULL,
                                   "could not read the request body");
            return st;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) { seen_eos = 1; break; }
            if (APR_BUCKET_IS_METADATA(b)) continue;
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
                *err = llmp_error_make(r->pool, 400, NULL, NULL, NULL,
                                       "could not read the request body");
                return 400;
            }
            if ((apr_off_t)(used + n) > limit) goto too_large;
            if (used + n + 1 > cap) {
                apr_size_t ncap = cap ? cap * 2 : 8192;
                char *nb;
                while (ncap < used + n + 1) ncap *= 2;
                nb = apr_palloc(r->pool, ncap);
                if (used) memcpy(nb, buf, used);
                buf = nb;
                cap = ncap;
            }
            memcpy(buf + used, data, n);
            used += n;
        }
        apr_brigade_cleanup(bb);
    }
    *body = buf ? buf : apr_pstrdup(r->pool, "");
    (*body)[used] = '\0';
    *len = used;
    return OK;

too_large:
    r->connection->keepalive = AP_CONN_CLOSE;
    *err = llmp_error_make(r->pool, 413, NULL, "request_too_large", NULL,
                           "request body larger than %" APR_OFF_T_FMT
                           " bytes", limit);
    return 413;
}

/* ---- the backend call ---- */

typedef struct proxy_ctx {
    request_rec *r;
    apr_bucket_brigade *bb;
    llmp_endpoint_e ep;
    const llmp_provider_ops_t *ops;    /* NULL: pass-through */
    llmp_xlate_t *x;
    llmp_front_t *front;               /* the client's protocol is not
                                          Chat Completions (x->front) */
    int want_stream;
    long status;
    const char *ctype;
    int streaming;                     /* relaying an SSE stream */
    int started;                       /* response headers are out */
    llmp_buf_t body;                   /* buffered body (not streaming) */
    int too_big;
    llmp_sse_parser_t *sse;            /* every stream, pass-through too */
    llmp_error_t *stream_err;          /* what ends the stream early */
    int client_gone;
    apr_size_t events;
    int pending;                       /* stream bytes written, not flushed */
    apr_time_t gone_checked;           /* last peek at the client socket */
    const char *model_id;
    apr_time_t t0;                     /* the backend call began */
    apr_off_t stream_bytes;            /* backend bytes (decoded) so far */
    apr_off_t max_stream_bytes;        /* LLMProxyMaxStreamBytes */
    apr_interval_time_t max_duration;  /* LLMProxyStreamMaxDuration, 0: off */
    apr_interval_time_t ping_interval; /* translated Messages stream: a ping
                                          after this much silence; 0: none */
    apr_time_t last_write;             /* the last flush to the client */
    int done;                          /* pass-through: "data: [DONE]" seen */
    const char *const *secrets;        /* scrubbed from every relayed byte */
    int backend_error;                 /* pass-through: relayed an error event */
    /* pass-through of a Responses API stream (a "/responses" handle): its
     * end is response.completed, .incomplete or .failed, not [DONE] */
    int responses;
    /* pass-through of a Messages API stream (a "/messages" handle asked
     * on /v1/messages): its end is message_stop, not [DONE] */
    int messages;
    cJSON *resp;                       /* the response of response.created
                                          (pool-owned), for response.failed */
    double resp_seq;                   /* the last sequence_number */
    const char *req_body;              /* Responses-native: the client's
                                          request (for response.failed) */
    apr_size_t req_len;
    llmp_usage_t *usage;               /* the request's record */
    /* pass-through chat stream whose stream_options.include_usage the
     * glue added: the usage chunk and the "usage": null members are kept
     * from the client */
    int strip_usage;
    char *strip_buf;                   /* an event without its member */
    apr_size_t strip_cap;
    /* the request's first backend call, and its status not noted yet:
     * the notes of a call are not there yet (added, without
     * apr_table_setn's scan of every llmproxy- note) */
    int first_call;
    int status_noted;
} proxy_ctx;

static const char *const *backend_secrets(request_rec *r,
                                          const llmp_server_conf_t *sc);

/* How often a running transfer peeks at the client's socket. */
#define LLMP_GONE_CHECK apr_time_from_msec(500)

/* Did the client go away? c->aborted is set only by a failed write, so
 * also peek at the socket: an orderly close reads as EOF. */
static int client_gone(conn_rec *c)
{
    apr_socket_t *sock;
    apr_os_sock_t fd;
    struct pollfd pfd;

    if (c->aborted) return 1;
    if (c->master) return 0;               /* HTTP/2 stream: no own socket */
    sock = ap_get_conn_socket(c);
    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) return 0;
    pfd.fd = fd;
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) <= 0) return 0;
    if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) return 1;
    if (pfd.revents & POLLIN) {
        char ch;
        ssize_t n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return 1;
    }
    return 0;
}

static void start_stream(proxy_ctx *ctx)
{
    request_rec *r = ctx->r;

    if (ctx->started) return;
    ctx->started = 1;
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/event-stream; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_table_setn(r->subprocess_env, "no-brotli", "1");
    apr_table_unset(r->headers_out, "Content-Length");
    llmp_metrics_stream_begin(r);
}

/* Write bytes (copied) and optionally flush them to the client now. */
static int client_write(proxy_ctx *ctx, const char *data, apr_size_t len,
                        int flush)
{
    conn_rec *c = ctx->r->connection;
    apr_status_t rv;

    if (ctx->client_gone) return 1;
    start_stream(ctx);
    if (len) apr_brigade_write(ctx->bb, NULL, NULL, data, len);
    if (flush) {
        APR_BRIGADE_INSERT_TAIL(ctx->bb,
                                apr_bucket_flush_create(c->bucket_alloc));
        rv = ap_pass_brigade(ctx->r->output_filters, ctx->bb);
        apr_brigade_cleanup(ctx->bb);
        if (rv != APR_SUCCESS || c->aborted) {
            ctx->client_gone = 1;
            return 1;
        }
    }
    return 0;
}

/* One translated chunk as "data: ...\n\n", copied into the brigade (no
 * allocation from the request pool per event). */
static apr_status_t emit_chunk(void *baton, const char *data, apr_size_t len)
{
    proxy_ctx *ctx = baton;

    if (ctx->client_gone) return APR_ECONNABORTED;
    start_stream(ctx);
    apr_brigade_write(ctx->bb, NULL, NULL, "data: ", 6);
    apr_brigade_write(ctx->bb, NULL, NULL, data, len);
    apr_brigade_write(ctx->bb, NULL, NULL, "\n\n", 2);
    return APR_SUCCESS;
}

/* One event of a front's protocol: "event: <name>\n" and "data: ...\n\n",
 * copied into the brigade (flushed as chunks are: by on_tick, or at the
 * end). */
static apr_status_t emit_event(void *baton, const char *event,
                               const char *data, apr_size_t len)
{
    proxy_ctx *ctx = baton;

    if (ctx->client_gone) return APR_ECONNABORTED;
    start_stream(ctx);
    if (event) {
        apr_brigade_write(ctx->bb, NULL, NULL, "event: ", 7);
        apr_brigade_write(ctx->bb, NULL, NULL, event, strlen(event));
        apr_brigade_write(ctx->bb, NULL, NULL, "\n", 1);
    }
    apr_brigade_write(ctx->bb, NULL, NULL, "data: ", 6);
    apr_brigade_write(ctx->bb, NULL, NULL, data, len);
    apr_brigade_write(ctx->bb, NULL, NULL, "\n\n", 2);
    return APR_SUCCESS;
}

static apr_status_t on_native_event(void *baton, const char *event,
                                    const char *data, apr_size_t len)
{
    proxy_ctx *ctx = baton;
    llmp_error_t *e;

    ctx->events++;
    /* a backend that reflects the token in its text must not show it */
    data = llmp_scrub(ctx->r->pool, data, len, ctx->secrets, &len);
    e = ctx->ops->chat_stream_event(ctx->x, event, data, len);
    /* the front's refusal of a chunk says more than the translator's
     * "could not write" */
    if (ctx->x->front_err) e = ctx->x->front_err;
    if (e) {
        ctx->stream_err = e;
        return APR_EGENERAL;
    }
    /* flushed by on_tick once curl has handed over what it read: every
     * event of one backend read goes out in one write, none waits */
    ctx->pending = 1;
    return APR_SUCCESS;
}

/* Bytes a client may be given as they came: valid UTF-8 without a raw
 * control byte other than white space (JSON has none: cJSON alone would
 * let ESC and the like through in strings). */
static int clean_text(const char *buf, apr_size_t n)
{
    const unsigned char *b = (const unsigned char *)buf;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        /* eight bytes at a time while none is below 0x20 (SWAR, no false
         * negative; a flagged word is looked at byte by byte) */
        while (n - i >= 8) {
            apr_uint64_t v;

            memcpy(&v, b + i, 8);
            if ((v - UINT64_C(0x2020202020202020)) & ~v
                & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i >= n) break;
        if (b[i] < 0x20 && b[i] != ' ' && b[i] != '\t' && b[i] != '\n'
            && b[i] != '\r')
            return 0;
    }
    return llmp_utf8_valid(buf, n);
}

/* An SSE event name a client may be given: printable ASCII, no ':'. */
static int clean_event_name(const char *e)
{
    for (; *e; e++)
        if (*e <= ' ' || *e > '~' || *e == ':') return 0;
    return 1;
}

/* A Responses event relayed as it came: note what response.failed would
 * need, and whether it ends the stream. */
static void responses_event(proxy_ctx *ctx, cJSON *j, const char *event)
{
    const char *type = llmp_json_str(j, "type");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "sequence_number");
    cJSON *resp = cJSON_GetObjectItemCaseSensitive(j, "response");

    if (!type) type = event;
    if (cJSON_IsNumber(seq) && seq->valuedouble > ctx->resp_seq)
        ctx->resp_seq = seq->valuedouble;
    if (!ctx->resp && cJSON_IsObject(resp)) {
        cJSON_DetachItemViaPointer(j, resp);
        llmp_json_pool_own(ctx->r->pool, resp);
        ctx->resp = resp;
    }
    if (!strcmp(type, "error")) ctx->backend_error = 1;
    else if (!strcmp(type, "response.completed")
             || !strcmp(type, "response.incomplete")
             || !strcmp(type, "response.failed")) {
        ctx->done = 1;   /* relayed, and nothing after it */
        /* (the first response seen is detached above: resp is it) */
        llmp_usage_take(ctx->usage, cJSON_GetObjectItemCaseSensitive(
                            resp, "usage"), LLMP_USAGE_RESPONSES);
    }
    else if (!ctx->usage->first_token) {
        apr_size_t n = strlen(type);

        /* response.output_text.delta, ...reasoning_text.delta, ... */
        if (n > 6 && !strcmp(type + n - 6, ".delta"))
            ctx->usage->first_token = apr_time_now();
    }
}

/* A Messages event relayed as it came: its usage (message_start's, then
 * message_delta's), its first content. */
static void messages_event(proxy_ctx *ctx, const cJSON *j, const char *type)
{
    if (!strcmp(type, "message_start"))
        llmp_usage_take(ctx->usage, cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(j, "message"),
                            "usage"), LLMP_USAGE_MESSAGES);
    else if (!strcmp(type, "message_delta"))
        llmp_usage_take(ctx->usage, cJSON_GetObjectItemCaseSensitive(
                            j, "usage"), LLMP_USAGE_MESSAGES);
    else if (!ctx->usage->first_token && !strcmp(type, "content_block_delta"))
        ctx->usage->first_token = apr_time_now();
}

/* A chat (or legacy completions) chunk relayed as it came: its usage and
 * first content. When the glue asked for the usage (strip_usage): 1 when
 * the chunk is the usage chunk the client did not ask for (not relayed);
 * a "usage": null member is taken out of *data (the rest as it came). */
static int chat_event_usage(proxy_ctx *ctx, const cJSON *j,
                            const char **data, apr_size_t *len)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    apr_size_t from, to;

    if (cJSON_IsObject(u)) {
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");

        llmp_usage_take(ctx->usage, u, LLMP_USAGE_CHAT);
        if (ctx->strip_usage && (!ch || (cJSON_IsArray(ch) && !ch->child)))
            return 1;
    }
    if (!ctx->usage->first_token && llmp_usage_chunk_has_content(j))
        ctx->usage->first_token = apr_time_now();
    if (ctx->strip_usage && cJSON_IsNull(u)
        && llmp_usage_null_span(*data, *len, &from, &to)) {
        /* one buffer for the stream: nothing grows per event */
        apr_size_t n = *len - (to - from);

        if (n + 1 > ctx->strip_cap) {
            ctx->strip_cap = n + 1 > 2 * ctx->strip_cap ? n + 1
                                                        : 2 * ctx->strip_cap;
            ctx->strip_buf = apr_palloc(ctx->r->pool, ctx->strip_cap);
        }
        memcpy(ctx->strip_buf, *data, from);
        memcpy(ctx->strip_buf + from, *data + to, *len - to);
        ctx->strip_buf[n] = '\0';
        *data = ctx->strip_buf;
        *len = n;
    }
    return 0;
}

/* A pass-through chat stream read by a front: each chunk, checked and
 * parsed once, goes to the front, which writes its own events; "[DONE]"
 * is the end; an error event ends the stream with the backend's error. */
static apr_status_t front_pass_event(proxy_ctx *ctx, const char *data,
                                     apr_size_t len)
{
    llmp_error_t *e = NULL;
    cJSON *j = NULL;

    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        ctx->done = 1;
        return APR_SUCCESS;
    }
    if (clean_text(data, len)) {
        /* no credential reaches the front's events */
        data = llmp_scrub(ctx->r->pool, data, len, ctx->secrets, &len);
        j = llmp_json_parse_strict(data, len);
    }
    if (!cJSON_IsObject(j)) {
        e = llmp_error_make(ctx->r->pool, 502, "api_error",
            "bad_backend_response", NULL, "the backend for model '%s' "
            "sent a stream event that is not %s", ctx->model_id,
            j ? "a JSON object" : "valid JSON text");
    }
    else if (cJSON_GetObjectItemCaseSensitive(j, "error")) {
        ctx->backend_error = 1;
        e = llmp_provider_generic_error(ctx->x, 502, j, data, len);
    }
    else {
        llmp_usage_take(ctx->usage, cJSON_GetObjectItemCaseSensitive(
                            j, "usage"), LLMP_USAGE_CHAT);
        if (!ctx->usage->first_token && llmp_usage_chunk_has_content(j))
            ctx->usage->first_token = apr_time_now();
        e = ctx->front->ops->stream_chunk(ctx->front, j);
    }
    cJSON_Delete(j);
    if (e) {
        ctx->stream_err = e;
        return APR_EGENERAL;
    }
    ctx->pending = 1;
    return APR_SUCCESS;
}

/* A pass-through event: relayed as it came ("event:" and "data:" lines),
 * once its data is known to be a JSON object or "[DONE]"; written into the
 * brigade, flushed by on_tick. Nothing is allocated per event but the
 * cJSON tree of the check. */
static apr_status_t on_pass_event(void *baton, const char *event,
                                  const char *data, apr_size_t len)
{
    proxy_ctx *ctx = baton;
    const char *p = data, *end = data + len, *nl;
    apr_size_t elen;

    ctx->events++;
    if (ctx->done || !len) return APR_SUCCESS;   /* nothing after [DONE] */
    if (ctx->front) return front_pass_event(ctx, data, len);
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        /* not of these protocols */
        if (ctx->responses || ctx->messages) return APR_SUCCESS;
        ctx->done = 1;
    }
    else {
        cJSON *j;
        int ok, clean, drop = 0;

        /* the bytes are relayed as they came, but with no credential in
         * them (a copy only when one occurs): what is parsed and kept of
         * them (the response of response.created) is the scrubbed text */
        data = llmp_scrub(ctx->r->pool, data, len, ctx->secrets, &len);
        end = data + len;
        p = data;
        j = llmp_json_parse_strict(data, len);
        ok = cJSON_IsObject(j);
        clean = ok && clean_text(data, len);
        if (ok && cJSON_GetObjectItemCaseSensitive(j, "error"))
            ctx->backend_error = 1;
        /* only an event that is relayed counts (a terminal one refused
         * here is not the end the client saw) */
        if (clean && ctx->responses) responses_event(ctx, j, event);
        if (clean && ctx->messages) {
            const char *type = llmp_json_str(j, "type");

            /* relayed, and nothing after it */
            if (type && (!strcmp(type, "message_stop")
                         || !strcmp(type, "error")))
                ctx->done = 1;
            if (type) messages_event(ctx, j, type);
        }
        if (clean && !ctx->responses && !ctx->messages)
            drop = chat_event_usage(ctx, j, &data, &len);
        cJSON_Delete(j);
        if (!clean) {
            ctx->stream_err = llmp_error_make(ctx->r->pool, 502, "api_error",
                "bad_backend_response", NULL, "the backend for model '%s' "
                "sent a stream event that is not %s", ctx->model_id,
                ok ? "valid UTF-8 text" : "JSON");
            return APR_EGENERAL;
        }
        if (drop) return APR_SUCCESS;
        p = data;
        end = data + len;
    }
    /* an event name is relayed only when it is a plain token */
    if (*event) {
        event = llmp_scrub(ctx->r->pool, event, strlen(event), ctx->secrets,
                           &elen);
        if (!clean_event_name(event)) event = "";
    }
    if (ctx->client_gone) return APR_ECONNABORTED;
    start_stream(ctx);
    if (*event) {
        apr_brigade_write(ctx->bb, NULL, NULL, "event: ", 7);
        apr_brigade_write(ctx->bb, NULL, NULL, event, strlen(event));
        apr_brigade_write(ctx->bb, NULL, NULL, "\n", 1);
    }
    for (;;) {
        nl = memchr(p, '\n', (apr_size_t)(end - p));
        apr_brigade_write(ctx->bb, NULL, NULL, "data: ", 6);
        apr_brigade_write(ctx->bb, NULL, NULL, p,
                          (apr_size_t)((nl ? nl : end) - p));
        apr_brigade_write(ctx->bb, NULL, NULL, "\n", 1);
        if (!nl) break;
        p = nl + 1;
    }
    apr_brigade_write(ctx->bb, NULL, NULL, "\n", 1);
    ctx->pending = 1;
    return APR_SUCCESS;
}

/* A pass-through comment line (": keep-alive"): relayed, so that proxies in
 * front see traffic while the model thinks. */
static apr_status_t on_pass_comment(void *baton, const char *text,
                                    apr_size_t len)
{
    proxy_ctx *ctx = baton;

    if (ctx->done || !ctx->started) return APR_SUCCESS;
    if (ctx->client_gone) return APR_ECONNABORTED;
    /* a comment that is not plain text is still a sign of life */
    if (!clean_text(text, len) || memchr(text, '\n', len)
        || memchr(text, '\r', len)) {
        text = " keep-alive";
        len = 11;
    }
    text = llmp_scrub(ctx->r->pool, text, len, ctx->secrets, &len);
    apr_brigade_write(ctx->bb, NULL, NULL, ":", 1);
    apr_brigade_write(ctx->bb, NULL, NULL, text, len);
    apr_brigade_write(ctx->bb, NULL, NULL, "\n\n", 2);
    ctx->pending = 1;
    return APR_SUCCESS;
}

static int on_head(void *baton, long status, const char *ctype)
{
    proxy_ctx *ctx = baton;

    ctx->status = status;
    ctx->ctype = ctype;
    llmp_call_note(ctx->r, ctx->first_call && !ctx->status_noted,
                   "llmproxy-backend-status", apr_ltoa(ctx->r->pool, status));
    ctx->status_noted = 1;
    if (ctx->want_stream && status >= 200 && status < 300 && ctype
        && !strncasecmp(ctype, "text/event-stream", 17)) {
        ctx->streaming = 1;
        /* pass-through too: only whole, checked events reach the client,
         * and the end tells whether "data: [DONE]" came */
        ctx->sse = llmp_sse_parser_create(ctx->r->pool, LLMP_MAX_EVENT,
                                          ctx->ops ? on_native_event
                                                   : on_pass_event, ctx);
        if (!ctx->ops) llmp_sse_set_comment_fn(ctx->sse, on_pass_comment);
    }
    return 0;
}

static int buffer_data(proxy_ctx *ctx, const char *data, apr_size_t len)
{
    /* a final 1xx (curl takes a 101 as one) or a status out of range is
     * no HTTP answer: stop, nothing of it is kept */
    if (ctx->status < 200 || ctx->status > 599) return 1;
    if (llmp_buf_append(&ctx->body, data, len) != APR_SUCCESS) {
        ctx->too_big = 1;
        return 1;
    }
    return 0;
}

static int on_data(void *baton, const char *data, apr_size_t len)
{
    proxy_ctx *ctx = baton;

    if (!ctx->streaming) return buffer_data(ctx, data, len);
    /* curl hands over decoded bytes: a small compressed answer that
     * inflates without end is cut here too */
    ctx->stream_bytes += (apr_off_t)len;
    if (ctx->stream_bytes > ctx->max_stream_bytes) {
        ctx->stream_err = llmp_error_make(ctx->r->pool, 502, "api_error",
            "stream_too_large", NULL, "the stream from the backend for model "
            "'%s' is longer than the %" APR_OFF_T_FMT " bytes this server "
            "relays", ctx->model_id, ctx->max_stream_bytes);
        return 1;
    }
    /* the parser calls on_native_event (translated) or on_pass_event for
     * each complete event; on_tick flushes after each read */
    if (llmp_sse_feed(ctx->sse, data, len) != APR_SUCCESS) {
        if (!ctx->stream_err && !ctx->client_gone)
            ctx->stream_err = llmp_error_make(ctx->r->pool, 502, "api_error",
                "bad_backend_response", NULL, "the backend for model '%s' "
                "sent a stream event larger than %d bytes", ctx->model_id,
                LLMP_MAX_EVENT);
        return 1;
    }
    return 0;
}

/* curl calls this after each read from the backend and about once a
 * second when idle: flush what that read produced, and now and then peek
 * at the client's socket (a poll per call costs more than the proxying). */
static int on_tick(void *baton)
{
    proxy_ctx *ctx = baton;
    apr_time_t now;

    now = apr_time_now();
    if (ctx->pending) {
        ctx->pending = 0;
        ctx->last_write = now;
        if (client_write(ctx, NULL, 0, 1)) return 1;
    }
    else if (ctx->ping_interval && ctx->started && !ctx->stream_err
             && !ctx->client_gone
             && now - ctx->last_write >= ctx->ping_interval) {
        /* a long silence of the backend (a model that thinks): Anthropic
         * pings; nothing before message_start or after the end */
        ctx->last_write = now;
        if (llmp_messages_ping(ctx->front)) return 1;
        if (client_write(ctx, NULL, 0, 1)) return 1;
    }
    if (ctx->streaming && ctx->max_duration > 0 && !ctx->stream_err
        && now - ctx->t0 > ctx->max_duration) {
        ctx->stream_err = llmp_error_make(ctx->r->pool, 504, "api_error",
            "stream_too_long", NULL, "the stream from the backend for model "
            "'%s' lasted longer than the %" APR_TIME_T_FMT " seconds this "
            "server allows", ctx->model_id,
            apr_time_sec(ctx->max_duration));
        return 1;
    }
    if (!ctx->client_gone && now - ctx->gone_checked >= LLMP_GONE_CHECK) {
        ctx->gone_checked = now;
        if (client_gone(ctx->r->connection)) ctx->client_gone = 1;
    }
    return ctx->client_gone;
}

/* One named event ("event: <name>", "data: <json>"), flushed. */
static void write_named_event(proxy_ctx *ctx, const char *name,
                              const cJSON *j)
{
    apr_size_t n;
    char *out = llmp_json_print(ctx->r->pool, j, &n);

    if (!out) return;
    /* what it holds came from the backend: no credential in it */
    out = llmp_scrub(ctx->r->pool, out, n, ctx->secrets, &n);
    apr_brigade_write(ctx->bb, NULL, NULL, "event: ", 7);
    apr_brigade_write(ctx->bb, NULL, NULL, name, strlen(name));
    apr_brigade_write(ctx->bb, NULL, NULL, "\ndata: ", 7);
    apr_brigade_write(ctx->bb, NULL, NULL, out, n);
    client_write(ctx, "\n\n", 2, 0);
}

/* A Responses stream that ends early ends as that protocol says: an
 * "error" event (unless the backend sent one), then response.failed with
 * the response of response.created. */
static void responses_fail(proxy_ctx *ctx, const llmp_error_t *e)
{
    apr_pool_t *p = ctx->r->pool;
    cJSON *ev, *err, *resp = ctx->resp;

    if (ctx->done || ctx->client_gone) {
        client_write(ctx, NULL, 0, 1);
        return;
    }
    if (!ctx->backend_error) {
        ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "type", "error");
        cJSON_AddStringToObject(ev, "code", e->code ? e->code : e->type);
        cJSON_AddStringToObject(ev, "message", e->message);
        if (e->param) cJSON_AddStringToObject(ev, "param", e->param);
        else cJSON_AddNullToObject(ev, "param");
        cJSON_AddNumberToObject(ev, "sequence_number", ++ctx->resp_seq);
        write_named_event(ctx, "error", ev);
        cJSON_Delete(ev);
    }
    if (!resp && ctx->req_body) {
        /* a backend that never sent response.created: the Response the
         * schema wants, of the client's request */
        cJSON *req = llmp_json_parse_pool(p, ctx->req_body, ctx->req_len);

        if (cJSON_IsObject(req)) {
            llmp_front_t *f = llmp_front_create(p, &llmp_front_responses,
                ctx->model_id, apr_time_sec(ctx->r->request_time), 1, req);

            f->id = llmp_make_id(p, "resp_");
            resp = llmp_responses_new(f, "failed");
            if (resp) llmp_json_pool_own(p, resp);
        }
    }
    if (!resp) {
        /* (not even the request could be read) */
        resp = cJSON_CreateObject();
        llmp_json_pool_own(p, resp);
        cJSON_AddStringToObject(resp, "id", llmp_make_id(p, "resp_"));
        cJSON_AddStringToObject(resp, "object", "response");
        cJSON_AddNumberToObject(resp, "created_at",
                                (double)apr_time_sec(ctx->r->request_time));
        cJSON_AddStringToObject(resp, "model", ctx->model_id);
        cJSON_AddItemToObject(resp, "output", cJSON_CreateArray());
    }
    cJSON_DeleteItemFromObjectCaseSensitive(resp, "status");
    cJSON_AddStringToObject(resp, "status", "failed");
    cJSON_DeleteItemFromObjectCaseSensitive(resp, "error");
    err = cJSON_AddObjectToObject(resp, "error");
    cJSON_AddStringToObject(err, "code", "server_error");
    cJSON_AddStringToObject(err, "message", e->message);
    ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "response.failed");
    cJSON_AddNumberToObject(ev, "sequence_number", ++ctx->resp_seq);
    cJSON_AddItemReferenceToObject(ev, "response", resp);
    write_named_event(ctx, "response.failed", ev);
    cJSON_Delete(ev);
    client_write(ctx, NULL, 0, 1);
}

static void stream_error_event(proxy_ctx *ctx, const llmp_error_t *e)
{
    const char *json;
    apr_size_t n;
    char *ev;

    /* only whole events were written: this one follows them */
    apr_table_setn(ctx->r->notes, "llmproxy-error",
                   e->code ? e->code : e->type);
    if (ctx->responses) {
        responses_fail(ctx, e);
        return;
    }
    if (ctx->messages) {
        /* Anthropic's: "event: error", the error in its shape */
        if (ctx->done) {
            client_write(ctx, NULL, 0, 1);
            return;
        }
        json = llmp_front_messages.error_json(ctx->r->pool, e);
        apr_brigade_write(ctx->bb, NULL, NULL, "event: error\ndata: ", 19);
        apr_brigade_write(ctx->bb, NULL, NULL, json, strlen(json));
        client_write(ctx, "\n\n", 2, 1);
        return;
    }
    json = llmp_error_json(ctx->r->pool, e);
    ev = llmp_sse_data(ctx->r->pool, json, strlen(json), &n);
    client_write(ctx, ev, n, 1);
}

/* A front's stream is over (e: what ended it, or NULL): its last events
 * (for Responses: "error" and response.failed, or response.completed /
 * response.incomplete), flushed; never "data: [DONE]". */
static void front_stream_end(proxy_ctx *ctx, const llmp_error_t *e)
{
    llmp_error_t *fe;

    if (e)
        apr_table_setn(ctx->r->notes, "llmproxy-error",
                       e->code ? e->code : e->type);
    fe = ctx->front->ops->stream_end(ctx->front, e);
    if (fe)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ctx->r, LLMP_LOG_TAG
                      "the %s stream for model '%s' could not end well: %s",
                      ctx->front->ops->name, ctx->model_id, fe->message);
    /* the last events are still in the brigade: the answer is kept
     * before the client can see its end */
    llmp_io_keep(ctx->r);
    client_write(ctx, NULL, 0, 1);
}

/* The backend's status, Content-Type and body, as they are (pass-through);
 * no other upstream header is echoed. */
static int send_backend_body(proxy_ctx *ctx)
{
    request_rec *r = ctx->r;

    set_status(r, (int)ctx->status);
    ap_set_content_type(r, ctx->ctype ? apr_pstrdup(r->pool, ctx->ctype)
                                      : "application/json");
    ap_set_content_length(r, (apr_off_t)ctx->body.len);
    if (ctx->body.len && !r->header_only)
        write_body(r, ctx->body.data, ctx->body.len);
    return OK;
}

/* The buffered body as JSON, when it is JSON that a client can read:
 * cJSON parses it (bounded by its nesting limit), and it holds no control
 * byte other than white space (cJSON lets them through inside strings, a
 * NUL too) and is valid UTF-8 (cJSON does not check). NULL otherwise. */
static cJSON *backend_json(proxy_ctx *ctx)
{
    if (!ctx->body.data || !ctx->body.len
        || !clean_text(ctx->body.data, ctx->body.len))
        return NULL;
    return llmp_json_parse_pool(ctx->r->pool, ctx->body.data, ctx->body.len);
}

/* A short printable excerpt of the body, for an error message. */
static const char *body_excerpt(proxy_ctx *ctx)
{
    return llmp_excerpt(ctx->r->pool, ctx->body.data, ctx->body.len, 200);
}

/* A pass-through backend's error (4xx, 5xx): its JSON object as it is
 * (OpenAI-shaped already); anything else (an HTML page from a load
 * balancer, text) becomes an OpenAI error with the backend's status and a
 * short printable excerpt. */
static int send_backend_error(proxy_ctx *ctx, const llmp_model_t *model)
{
    request_rec *r = ctx->r;
    const char *ex;

    if (cJSON_IsObject(backend_json(ctx))) return send_backend_body(ctx);
    ex = body_excerpt(ctx);
    return llmp_io_send_error(r, llmp_error_make(r->pool, (int)ctx->status,
        NULL, "backend_http_error", NULL,
        "the backend for model '%s' answered HTTP %ld%s%s", model->id,
        ctx->status, *ex ? ": " : "", ex));
}

/* What the backend could reflect that a client must never see: the
 * gateway's token and, when they are forwarded, the client's credentials
 * (NULL-terminated). */
static const char *const *backend_secrets(request_rec *r,
                                          const llmp_server_conf_t *sc)
{
    const char **s = apr_pcalloc(r->pool, 8 * sizeof(*s));
    int n = 0;

    if (sc->token && *sc->token) {
        s[n++] = sc->token;
        if (strchr(sc->token, '/')) {
            /* as a JSON encoder may write it: "\/" */
            char *esc = apr_palloc(r->pool, 2 * strlen(sc->token) + 1), *o = esc;
            const char *c;
            for (c = sc->token; *c; c++) {
                if (*c == '/') *o++ = '\\';
                *o++ = *c;
            }
            *o = '\0';
            s[n++] = esc;
        }
    }
    if (sc->forward_client_auth > 0) {
        const char *a = apr_table_get(r->headers_in, "Authorization");
        const char *k = apr_table_get(r->headers_in, "x-api-key");

        /* (short values are not hunted for: they would match anything) */
        if (a && strlen(a) >= 8) {
            const char *cred = strchr(a, ' ');
            s[n++] = a;
            if (cred) {
                while (*cred == ' ') cred++;
                if (strlen(cred) >= 8) s[n++] = cred;
            }
        }
        if (k && strlen(k) >= 8) s[n++] = k;
    }
    s[n] = NULL;
    return s;
}

static llmp_error_t *transport_error(request_rec *r,
                                     const llmp_http_result_t *res,
                                     const llmp_model_t *model)
{
    switch (res->outcome) {
    case LLMP_HTTP_CONNECT:
        return llmp_error_make(r->pool, 502, "api_error",
                               "backend_unreachable", NULL,
                               "the backend for model '%s' is unreachable",
                               model->id);
    case LLMP_HTTP_TIMEOUT:
        return llmp_error_make(r->pool, 504, "api_error", "backend_timeout",
                               NULL, "the backend for model '%s' timed out",
                               model->id);
    default:
        return llmp_error_make(r->pool, 502, "api_error", "backend_error",
                               NULL, "the backend for model '%s' failed",
                               model->id);
    }
}

/* The client asked for a stream, the backend answered one JSON body with
 * a 2xx (some gateways ignore "stream"): replay a completion as chunks, so
 * that stream parsers (the SDKs) get what they asked for. Anything else is
 * a 502, never relayed as it came. Always OK: the client has its answer. */
static int send_tree_as_stream(proxy_ctx *ctx, const cJSON *c)
{
    request_rec *r = ctx->r;
    const char *obj = c ? llmp_json_str(c, "object") : NULL;

    if (ctx->front && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
                          c, "choices"))) {
        /* the completion's chunks go to the front, which writes its
         * events */
        llmp_error_t *e = NULL;

        apr_table_setn(r->notes, "llmproxy-stream-replayed", "1");
        if (llmp_xlate_stream_completion(ctx->x, c) != APR_SUCCESS) {
            e = ctx->x->front_err;
            if (!e)
                e = llmp_error_make(r->pool, 500, NULL, NULL, NULL,
                                    "could not write the stream");
            if (!ctx->started) return llmp_io_send_error(r, e);
        }
        front_stream_end(ctx, e);
        return OK;
    }
    if (obj && ctx->ep == LLMP_EP_CHAT && !strcmp(obj, "chat.completion")) {
        apr_table_setn(r->notes, "llmproxy-stream-replayed", "1");
        if (llmp_xlate_stream_completion(ctx->x, c) == APR_SUCCESS)
            client_write(ctx, "data: [DONE]\n\n", 14, 1);
        else
            client_write(ctx, NULL, 0, 1);
        return OK;
    }
    if (obj && ctx->ep == LLMP_EP_COMPLETIONS
        && !strcmp(obj, "text_completion")) {
        /* a legacy completion's chunks have the answer's shape: one chunk */
        apr_size_t n;
        char *out = llmp_json_print(r->pool, c, &n);

        if (out) {
            apr_table_setn(r->notes, "llmproxy-stream-replayed", "1");
            emit_chunk(ctx, out, n);
            client_write(ctx, "data: [DONE]\n\n", 14, 1);
            return OK;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                  "backend for model '%s' answered a stream request with "
                  "HTTP %ld and a body that is not a %s", ctx->model_id,
                  ctx->status, ctx->ep == LLMP_EP_CHAT ? "chat completion"
                  : "completion");
    return llmp_io_send_error(r, llmp_error_make(r->pool, 502, "api_error",
        "bad_backend_response", NULL, "the backend for model '%s' answered a "
        "stream request with neither a stream nor a completion",
        ctx->model_id));
}

/* A chat.completion (the backend's, or translated) as a front's answer:
 * its body, or its events when the client asked for a stream. */
static int front_answer(proxy_ctx *ctx, const cJSON *completion)
{
    request_rec *r = ctx->r;
    llmp_error_t *e;
    char *out = NULL;
    apr_size_t n = 0;

    llmp_usage_take(ctx->usage, cJSON_GetObjectItemCaseSensitive(
                        completion, "usage"), LLMP_USAGE_CHAT);
    if (ctx->x->stream) return send_tree_as_stream(ctx, completion);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(completion,
                                                        "choices"))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                      "backend for model '%s' answered HTTP %ld with a body "
                      "that is not a chat completion", ctx->model_id,
                      ctx->status);
        return llmp_io_send_error(r, llmp_error_make(r->pool, 502,
            "api_error", "bad_backend_response", NULL, "the backend for "
            "model '%s' returned a body that is not a chat completion",
            ctx->model_id));
    }
    e = ctx->front->ops->response(ctx->front, completion, &out, &n);
    if (e) return llmp_io_send_error(r, e);
    llmp_io_keep(r);               /* kept before the client has it */
    return llmp_io_send_json(r, 200, out, n);
}

static int send_completion_as_stream(proxy_ctx *ctx, const char *json,
                                     apr_size_t len)
{
    return send_tree_as_stream(ctx, llmp_json_parse_pool(ctx->r->pool, json,
                                                         len));
}

/* The usage of a pass-through answer in the shape of the endpoint's
 * protocol (a translated answer's is taken by its translator: a large
 * embeddings answer is not parsed again). */
static void answer_usage(proxy_ctx *ctx, const cJSON *ans)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(ans, "usage");

    switch (ctx->ep) {
    case LLMP_EP_COUNT_TOKENS:
        return;                    /* a count, nothing used */
    case LLMP_EP_RESPONSES:
        llmp_usage_take(ctx->usage, u, ctx->front ? LLMP_USAGE_CHAT
                                                  : LLMP_USAGE_RESPONSES);
        return;
    case LLMP_EP_MESSAGES:
        llmp_usage_take(ctx->usage, u, ctx->front ? LLMP_USAGE_CHAT
                                                  : LLMP_USAGE_MESSAGES);
        return;
    case LLMP_EP_IMAGES:
        /* gpt-image-1 counts as the Responses API does */
        if (!llmp_usage_take(ctx->usage, u, LLMP_USAGE_RESPONSES))
            llmp_usage_take(ctx->usage, u, LLMP_USAGE_CHAT);
        return;
    default:
        llmp_usage_take(ctx->usage, u, LLMP_USAGE_CHAT);
    }
}

/* A translated non-streamed 2xx body: parse, unwrap, translate. */
static int finish_translated(proxy_ctx *ctx, const llmp_model_t *model)
{
    request_rec *r = ctx->r;
    cJSON *native = backend_json(ctx);
    llmp_error_t *e = NULL;
    char *out = NULL;
    apr_size_t outlen = 0;

    if (!native) {
        return llmp_io_send_error(r, llmp_error_make(r->pool, 502,
            "api_error", "bad_backend_response", NULL,
            "the backend for model '%s' returned a body that is not JSON",
            model->id));
    }
    native = llmp_envelope_unwrap(native);
    if (ctx->front) {
        cJSON *tree = NULL;

        e = ctx->ops->chat_response(ctx->x, native, &tree);
        if (e) return llmp_io_send_error(r, e);
        return front_answer(ctx, tree);
    }
    switch (ctx->ep) {
    case LLMP_EP_CHAT:
        e = llmp_xlate_chat_response(ctx->ops, ctx->x, native, &out, &outlen);
        break;
    case LLMP_EP_EMBEDDINGS:
        e = ctx->ops->embeddings_response(ctx->x, native, &out, &outlen);
        break;
    case LLMP_EP_IMAGES:
        e = ctx->ops->images_response(ctx->x, native, &out, &outlen);
        break;
    default:
        e = llmp_error_make(r->pool, 500, NULL, NULL, NULL, "no translator");
    }
    if (e) return llmp_io_send_error(r, e);
    if (ctx->ep == LLMP_EP_CHAT && ctx->x->stream
        && send_completion_as_stream(ctx, out, outlen) == OK)
        return OK;
    return llmp_io_send_json(r, 200, out, outlen);
}

/* The backend's Authorization header line: the gateway's OAuth token, or
 * the client's own header when LLMProxyForwardClientAuth says so; NULL:
 * none. */
static const char *backend_auth(request_rec *r, const llmp_server_conf_t *sc)
{
    const char *a;

    if (sc->source && sc->token)
        return apr_pstrcat(r->pool, "Authorization: OAuth ", sc->token, NULL);
    if (!sc->forward_client_auth) return NULL;
    /* a client's API key of AuthType llmproxy-key is ours, never the
     * backend's */
    if ((a = ap_auth_type(r)) != NULL && !strcasecmp(a, LLMP_KEYS_AUTH_TYPE))
        return NULL;
    a = apr_table_get(r->headers_in, "Authorization");
    if (!a || strpbrk(a, "\r\n")) return NULL;
    return apr_pstrcat(r->pool, "Authorization: ", a, NULL);
}

/* A backend call for model begins: the request's usage record says who
 * is called, at what prices, and gets what the call reports. */
static llmp_usage_t *llmp_usage_begin(request_rec *r,
                                      const llmp_model_t *model,
                                      const llmp_provider_ops_t *ops,
                                      const llmp_native_req_t *native,
                                      llmp_xlate_t *x, apr_time_t t0)
{
    llmp_usage_t *u = &llmp_req_conf(r)->usage;

    u->called = 1;
    u->model = model->id;
    u->provider = ops ? ops->name : llmp_provider_name(model->provider);
    u->prompt_price_1k = model->prompt_price_1k;
    u->completion_price_1k = model->completion_price_1k;
    u->stream = native->stream || (x && x->stream);
    u->call_start = t0;
    u->call_end = 0;
    u->first_token = 0;
    /* (a call made again is counted once: the last one's) */
    u->has_tokens = 0;
    u->prompt_tokens = u->completion_tokens = u->cached_tokens = 0;
    if (x) x->usage = u;
    return u;
}

int llmp_io_proxy(request_rec *r, llmp_server_conf_t *sc,
                  llmp_endpoint_e ep, const llmp_model_t *model,
                  const llmp_native_req_t *native,
                  const llmp_provider_ops_t *ops, llmp_xlate_t *x)
{
    llmp_http_req_t req;
    llmp_http_result_t res;
    proxy_ctx ctx;
    const char *headers[16];
    llmp_server_conf_t *mc = llmp_sconf(ap_server_conf);
    apr_time_t t0 = apr_time_now();
    const char *auth;
    int nh = 0, own_url = 0;

    if (!llmp_handle_is_safe(native->path)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "refusing backend path for model '%s'", model->id);
        return llmp_io_send_error(r, llmp_error_make(r->pool, 502,
            "api_error", "bad_handle", NULL,
            "the gateway's handle for model '%s' is not a plain path",
            model->id));
    }
    {
        int rv = llmp_limits_check(r, model);
        if (rv != DECLINED) return rv;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.r = r;
    ctx.first_call = !llmp_req_conf(r)->usage.called;
    ctx.usage = llmp_usage_begin(r, model, ops, native, x, t0);
    ctx.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    ctx.ep = ep;
    ctx.ops = ops;
    ctx.x = x;
    ctx.want_stream = native->stream;
    llmp_buf_init(&ctx.body, r->pool, LLMP_MAX_RESPONSE);
    ctx.gone_checked = t0;
    ctx.model_id = model->id;
    ctx.t0 = t0;
    ctx.last_write = t0;
    ctx.max_stream_bytes = sc->max_stream_bytes;
    ctx.max_duration = sc->stream_max_duration;
    ctx.secrets = llmp_pool_secrets(r, sc, backend_secrets(r, sc));
    /* a Responses-native backend: its own stream relayed (no front) */
    ctx.responses = !ops && ep == LLMP_EP_RESPONSES && !(x && x->front);
    /* an Anthropic backend's own Messages stream relayed (no front) */
    ctx.messages = !ops && ep == LLMP_EP_MESSAGES && !(x && x->front);
    ctx.strip_usage = !ops && x && x->usage_hidden && !x->front;
    if (ctx.responses) {
        ctx.req_body = native->body;
        ctx.req_len = native->len;
    }
    if (x) {
        x->emit = emit_chunk;
        x->emit_baton = &ctx;
        if (x->front) {
            /* valid while this call runs */
            ctx.front = x->front;
            ctx.front->emit = emit_event;
            ctx.front->emit_baton = &ctx;
            if (ctx.front->ops == &llmp_front_messages
                && native->stream)
                ctx.ping_interval = sc->ping_interval;
        }
    }

    if ((auth = llmp_pool_auth(r, sc, native->path, backend_auth(r, sc)))
        != NULL)
        headers[nh++] = auth;
    headers[nh++] = native->content_type
        ? apr_pstrcat(r->pool, "Content-Type: ", native->content_type, NULL)
        : "Content-Type: application/json";
    headers[nh++] = native->stream ? "Accept: text/event-stream"
                                   : "Accept: application/json";
    if (native->headers) {
        const char *const *h;
        for (h = native->headers; *h && nh < 15; h++) headers[nh++] = *h;
    }
    headers[nh] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = llmp_pool_url(r, sc, native->path, &own_url);
    req.headers = headers;
    req.body = native->body;
    req.body_len = native->len;
    req.opts.connect_timeout_ms = (long)apr_time_as_msec(sc->connect_timeout);
    req.opts.timeout_ms = (long)apr_time_as_msec(sc->timeout);
    req.opts.stream = native->stream;
    req.opts.ca_file = sc->ca_file;
    req.opts.verify = sc->verify;
    req.on_head = on_head;
    req.on_data = on_data;
    req.on_tick = on_tick;
    req.baton = &ctx;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMP_LOG_TAG
                  "model '%s' -> %s%s (%s%s)", model->id,
                  llmp_pool_base(sc, native->path),
                  native->path, ops ? ops->name : "pass-through",
                  native->stream ? ", stream" : "");
    /* a buffered call over http goes through mod_proxy when it can */
    if (native->stream || !sc->via_proxy || own_url
        || llmp_modproxy_perform(r, req.url, headers, req.body, req.body_len,
                                 &ctx.body, &ctx.too_big, &res) == DECLINED) {
        llmp_call_note(r, ctx.first_call, "llmproxy-via", "libcurl");
        llmp_http_perform(mc->http, &req, &res, r->pool);
    }
    else {
        llmp_call_note(r, ctx.first_call, "llmproxy-via", "mod_proxy");
        if (res.status) on_head(&ctx, res.status, res.content_type);
    }
    ctx.usage->call_end = apr_time_now();
    llmp_call_note(r, ctx.first_call, "llmproxy-backend-time-ms",
                   apr_off_t_toa(r->pool, (apr_off_t)apr_time_as_msec(
                       ctx.usage->call_end - t0)));
    {
        /* passive health, and another member or model while the client
         * has nothing yet (mod_llmproxy_pool.c) */
        llmp_pool_call_t pc;

        memset(&pc, 0, sizeof(pc));
        pc.outcome = res.outcome;
        pc.status = ctx.status;
        pc.sent = ctx.started;
        pc.stream = ctx.streaming;
        pc.events = ctx.events;
        pc.stream_done = ctx.done;
        pc.local_error = ctx.client_gone || r->connection->aborted
                         || ctx.too_big || ctx.stream_err;
        if (llmp_pool_after_call(r, sc, model, &pc, res.retry_after))
            return LLMP_POOL_RETRY;
    }

    if (ctx.client_gone || r->connection->aborted) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                      "client went away; backend transfer for model '%s' "
                      "stopped", model->id);
        apr_table_setn(r->notes, "llmproxy-error", "client_gone");
        r->connection->keepalive = AP_CONN_CLOSE;
        return OK;
    }

    if (ctx.streaming) {
        llmp_error_t *e = ctx.stream_err;
        int complete = res.outcome == LLMP_HTTP_OK;
        int logged = !e && !complete && res.outcome != LLMP_HTTP_ABORTED;

        if (logged)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                          "stream from the backend for model '%s' ended "
                          "early: %s", model->id, res.error);
        if (!e && complete && llmp_sse_finish(ctx.sse) != APR_SUCCESS)
            e = ctx.stream_err;
        if (ops) {
            if (!e) {
                e = ops->chat_stream_end(x, complete);
                if (x->front_err) e = x->front_err;
                /* the answer is incomplete: a failed transfer says why (a
                 * silent backend is a 504 backend_timeout) */
                if (e && !complete) e = transport_error(r, &res, model);
                else if (e && !e->code)
                    e = llmp_error_make(r->pool, e->status, e->type,
                                        "stream_truncated", e->param, "%s",
                                        e->message);
            }
        }
        else if (!e && !ctx.done
                 && (!ctx.backend_error || ctx.responses || ctx.messages)) {
            /* a stream that ends without "data: [DONE]" (Responses:
             * without response.completed, .incomplete or .failed) lost
             * its end */
            e = complete ? llmp_error_make(r->pool, 502, "api_error",
                    "stream_truncated", NULL, "the stream from the backend "
                    "for model '%s' ended without its last event: the "
                    "answer is incomplete", model->id)
                : transport_error(r, &res, model);
        }
        if (e) {
            /* a limit of this server's is no fault of the backend's */
            int limit = e->code && (!strcmp(e->code, "stream_too_large")
                                    || !strcmp(e->code, "stream_too_long"));
            if (!logged)
                ap_log_rerror(APLOG_MARK, limit ? APLOG_INFO : APLOG_WARNING,
                              0, r, LLMP_LOG_TAG "stream for model '%s' ended "
                              "with an error: %s", model->id, e->message);
            /* nothing sent yet: a plain HTTP error */
            if (!ctx.started) return llmp_io_send_error(r, e);
            if (!ctx.front) {
                stream_error_event(&ctx, e);
                return OK;
            }
        }
        if (ctx.front) front_stream_end(&ctx, e);
        else if (ops) client_write(&ctx, "data: [DONE]\n\n", 14, 1);
        else client_write(&ctx, NULL, 0, 1);
        return OK;
    }

    /* nothing the backend sent reaches the client with a credential in
     * it: scrubbed before it is relayed, quoted or translated; its
     * Content-Type (relayed with a pass-through body) too */
    if (ctx.ctype) {
        const char *c;
        apr_size_t n;

        for (c = ctx.ctype; *c && *c >= 0x20 && *c < 0x7f; c++)
            ;
        ctx.ctype = *c ? NULL : llmp_scrub(r->pool, ctx.ctype,
                                           strlen(ctx.ctype),
                                           ctx.secrets, &n);
    }
    if (ctx.body.len) {
        apr_size_t n;
        char *clean = llmp_scrub(r->pool, ctx.body.data, ctx.body.len,
                                 ctx.secrets, &n);
        if (clean != ctx.body.data) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                          "the answer of the backend for model '%s' held a "
                          "credential: redacted", model->id);
            apr_table_setn(r->notes, "llmproxy-redacted", "1");
            ctx.body.data = clean;
            ctx.body.len = n;
        }
    }
    if (ctx.status && (ctx.status < 200 || ctx.status > 599)) {
        /* not an HTTP answer (a final 1xx, a status out of range): none
         * of its bytes are shown */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                      "backend for model '%s' answered with HTTP status %ld",
                      model->id, ctx.status);
        return llmp_io_send_error(r, llmp_error_make(r->pool, 502,
            "api_error", "bad_backend_response", NULL,
            "the backend for model '%s' answered with an invalid HTTP "
            "status", model->id));
    }
    if (res.outcome != LLMP_HTTP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "backend call for model '%s' failed: %s", model->id,
                      ctx.too_big ? "response too large"
                      : res.error ? res.error : "error");
        return llmp_io_send_error(r, transport_error(r, &res, model));
    }
    if (ctx.status >= 300) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                      "backend for model '%s' answered HTTP %ld", model->id,
                      ctx.status);
        if (ctx.status < 400) {
            return llmp_io_send_error(r, llmp_error_make(r->pool, 502,
                "api_error", "bad_backend_response", NULL,
                "the backend for model '%s' answered HTTP %ld",
                model->id, ctx.status));
        }
        /* pass the backend's own error through (a front gets it in its
         * protocol's shape) */
        if (!ops && !ctx.front) return send_backend_error(&ctx, model);
        {
            /* a translator quotes only JSON a client can read, or a
             * printable excerpt */
            cJSON *native = backend_json(&ctx);
            const char *ex = native ? ctx.body.data : body_excerpt(&ctx);
            const llmp_provider_ops_t *eops = ops ? ops : &llmp_openai_ops;

            return llmp_io_send_error(r, eops->error(x, (int)ctx.status,
                native, ex, native ? ctx.body.len : strlen(ex)));
        }
    }
    if (ops) return finish_translated(&ctx, model);
    /* every OpenAI answer is a JSON object: a 2xx body that is not one (an
     * HTML page from a load balancer, garbage, invalid UTF-8, cut short)
     * is a 502, not a success the SDKs cannot parse */
    {
        cJSON *root = backend_json(&ctx), *inner;
        int changed = 0;

        if (!cJSON_IsObject(root)) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                          "backend for model '%s' answered HTTP %ld with a "
                          "body that is not a JSON object", model->id,
                          ctx.status);
            return llmp_io_send_error(r, llmp_error_make(r->pool, 502,
                "api_error", "bad_backend_response", NULL,
                "the backend for model '%s' returned a body that is not "
                "JSON", model->id));
        }
        inner = llmp_envelope_unwrap(root);
        if (inner != root) {
            apr_table_setn(r->notes, "llmproxy-envelope", "1");
            changed = 1;
        }
        if (ctx.front) return front_answer(&ctx, inner);
        answer_usage(&ctx, inner);
        /* the SDKs ask for base64 by default: a backend that answers
         * floats anyway gets them encoded */
        if (ep == LLMP_EP_EMBEDDINGS
            && apr_table_get(r->notes, "llmproxy-embeddings-base64")
            && llmp_embeddings_to_base64(r->pool, inner))
            changed = 1;
        if (x && x->stream && send_tree_as_stream(&ctx, inner) == OK)
            return OK;
        if (changed) {
            apr_size_t outlen = 0;
            char *out = llmp_json_print(r->pool, inner, &outlen);
            if (!out) {
                return llmp_io_send_error(r, llmp_error_make(r->pool, 500,
                    NULL, NULL, NULL, "out of memory"));
            }
            return llmp_io_send_json(r, (int)ctx.status, out, outlen);
        }
    }
    return send_backend_body(&ctx);
}

/* ---- a side call whose answer the module reads itself ---- */

typedef struct {
    llmp_buf_t body;
    int too_big;
    long status;
} call_ctx;

static int call_head(void *baton, long status, const char *ctype)
{
    ((call_ctx *)baton)->status = status;
    (void)ctype;
    return 0;
}

static int call_data(void *baton, const char *data, apr_size_t len)
{
    call_ctx *c = baton;

    if (llmp_buf_append(&c->body, data, len) != APR_SUCCESS) {
        c->too_big = 1;
        return 1;
    }
    return 0;
}

const char *llmp_io_call(request_rec *r, llmp_server_conf_t *sc,
                         const char *path, const char *body, apr_size_t len,
                         char **out, apr_size_t *outlen)
{
    llmp_server_conf_t *mc = llmp_sconf(ap_server_conf);
    llmp_http_req_t req;
    llmp_http_result_t res;
    const char *headers[5];
    call_ctx c;
    const char *auth;
    int nh = 0, own_url = 0;

    if (!llmp_handle_is_safe(path)) return "the path is not a plain path";
    if ((auth = llmp_pool_auth(r, sc, path, backend_auth(r, sc))) != NULL)
        headers[nh++] = auth;
    headers[nh++] = "Content-Type: application/json";
    headers[nh++] = "Accept: application/json";
    headers[nh] = NULL;
    memset(&c, 0, sizeof(c));
    memset(&res, 0, sizeof(res));
    llmp_buf_init(&c.body, r->pool, LLMP_MAX_RESPONSE);
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = llmp_pool_url(r, sc, path, &own_url);
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    req.opts.connect_timeout_ms = (long)apr_time_as_msec(sc->connect_timeout);
    req.opts.timeout_ms = (long)apr_time_as_msec(sc->timeout);
    req.opts.ca_file = sc->ca_file;
    req.opts.verify = sc->verify;
    req.on_head = call_head;
    req.on_data = call_data;
    req.baton = &c;
    if (!sc->via_proxy || own_url
        || llmp_modproxy_perform(r, req.url, headers, body, len, &c.body,
                                 &c.too_big, &res) == DECLINED) {
        llmp_http_perform(mc->http, &req, &res, r->pool);
    }
    else {
        c.status = res.status;
        if (res.status) res.outcome = LLMP_HTTP_OK;
    }
    if (c.too_big) return "the answer is too large";
    if (res.outcome != LLMP_HTTP_OK)
        return apr_psprintf(r->pool, "%s", res.error ? res.error : "failed");
    if (c.status != 200)
        return apr_psprintf(r->pool, "HTTP %ld", c.status);
    *out = c.body.data;
    *outlen = c.body.len;
    return NULL;
}

