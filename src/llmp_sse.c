/* Incremental Server-Sent Events parser (WHATWG EventSource rules) and
 * writer. Core: no httpd header. */
#include <string.h>
#include <apr_strings.h>

#include "llmp_sse.h"

struct llmp_sse_parser {
    apr_pool_t *pool;
    apr_size_t max_event;
    llmp_sse_event_fn *fn;
    llmp_sse_comment_fn *comment_fn;
    void *baton;
    char *line;              /* the current, unfinished line */
    apr_size_t line_len, line_cap;
    char *data;              /* data lines joined by "\n" */
    apr_size_t data_len, data_cap;
    int has_data;
    char event[64];
    int skip_lf;             /* last byte was CR: a following LF is eaten */
    int failed;
    apr_size_t count;
};

llmp_sse_parser_t *llmp_sse_parser_create(apr_pool_t *p, apr_size_t max_event,
                                          llmp_sse_event_fn *fn, void *baton)
{
    llmp_sse_parser_t *sp = apr_pcalloc(p, sizeof(*sp));

    sp->pool = p;
    sp->max_event = max_event ? max_event : 1024 * 1024;
    sp->fn = fn;
    sp->baton = baton;
    return sp;
}

void llmp_sse_set_comment_fn(llmp_sse_parser_t *sp, llmp_sse_comment_fn *fn)
{
    sp->comment_fn = fn;
}

static apr_status_t grow(apr_pool_t *p, char **buf, apr_size_t *cap,
                         apr_size_t used, apr_size_t need, apr_size_t max)
{
    apr_size_t ncap;
    char *nbuf;

    if (used + need > max) return APR_ENOSPC;
    if (used + need + 1 <= *cap) return APR_SUCCESS;
    ncap = *cap ? *cap : 256;
    while (ncap < used + need + 1) ncap *= 2;
    nbuf = apr_palloc(p, ncap);
    if (used) memcpy(nbuf, *buf, used);
    *buf = nbuf;
    *cap = ncap;
    return APR_SUCCESS;
}

static apr_status_t dispatch(llmp_sse_parser_t *sp)
{
    apr_status_t rv = APR_SUCCESS;

    if (sp->has_data) {
        sp->data[sp->data_len] = '\0';
        sp->count++;
        rv = sp->fn(sp->baton, sp->event, sp->data, sp->data_len);
    }
    sp->data_len = 0;
    sp->has_data = 0;
    sp->event[0] = '\0';
    return rv;
}

static apr_status_t field(llmp_sse_parser_t *sp, const char *line,
                          apr_size_t len)
{
    const char *colon = memchr(line, ':', len);
    apr_size_t nlen = colon ? (apr_size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    apr_size_t vlen = len - nlen - (colon ? 1 : 0);
    apr_status_t rv;

    if (len == 0) return dispatch(sp);
    if (nlen == 0)                               /* comment */
        return sp->comment_fn ? sp->comment_fn(sp->baton, val, vlen)
                              : APR_SUCCESS;
    if (vlen && *val == ' ') { val++; vlen--; }
    if (nlen == 4 && !memcmp(line, "data", 4)) {
        rv = grow(sp->pool, &sp->data, &sp->data_cap, sp->data_len,
                  vlen + 1, sp->max_event);
        if (rv != APR_SUCCESS) return rv;
        if (sp->has_data) sp->data[sp->data_len++] = '\n';
        memcpy(sp->data + sp->data_len, val, vlen);
        sp->data_len += vlen;
        sp->has_data = 1;
    }
    else if (nlen == 5 && !memcmp(line, "event", 5)) {
        if (vlen >= sizeof(sp->event)) vlen = sizeof(sp->event) - 1;
        memcpy(sp->event, val, vlen);
        sp->event[vlen] = '\0';
    }
    /* id, retry and unknown fields are ignored */
    return APR_SUCCESS;
}

apr_status_t llmp_sse_feed(llmp_sse_parser_t *sp, const char *buf,
                           apr_size_t len)
{
    apr_size_t i = 0;
    apr_status_t rv;

    if (sp->failed) return APR_EGENERAL;
    while (i < len) {
        const char *start = buf + i;
        apr_size_t n = 0;

        if (sp->skip_lf) {
            sp->skip_lf = 0;
            if (buf[i] == '\n') { i++; continue; }
        }
        while (i + n < len && start[n] != '\n' && start[n] != '\r') n++;
        if (i + n == len) {
            /* no line end yet: keep the piece */
            rv = grow(sp->pool, &sp->line, &sp->line_cap, sp->line_len, n,
                      sp->max_event);
            if (rv != APR_SUCCESS) { sp->failed = 1; return rv; }
            memcpy(sp->line + sp->line_len, start, n);
            sp->line_len += n;
            break;
        }
        if (start[n] == '\r') sp->skip_lf = 1;
        if (sp->line_len) {
            rv = grow(sp->pool, &sp->line, &sp->line_cap, sp->line_len, n,
                      sp->max_event);
            if (rv != APR_SUCCESS) { sp->failed = 1; return rv; }
            memcpy(sp->line + sp->line_len, start, n);
            sp->line_len += n;
            rv = field(sp, sp->line, sp->line_len);
            sp->line_len = 0;
        }
        else {
            rv = field(sp, start, n);
        }
        if (rv != APR_SUCCESS) { sp->failed = 1; return rv; }
        i += n + 1;
    }
    return APR_SUCCESS;
}

apr_status_t llmp_sse_finish(llmp_sse_parser_t *sp)
{
    apr_status_t rv;

    if (sp->failed) return APR_EGENERAL;
    if (sp->line_len) {
        rv = field(sp, sp->line, sp->line_len);
        sp->line_len = 0;
        if (rv != APR_SUCCESS) return rv;
    }
    return dispatch(sp);
}

apr_size_t llmp_sse_count(const llmp_sse_parser_t *sp)
{
    return sp->count;
}

char *llmp_sse_data(apr_pool_t *p, const char *data, apr_size_t len,
                    apr_size_t *outlen)
{
    char *out = apr_palloc(p, len + 9);

    memcpy(out, "data: ", 6);
    memcpy(out + 6, data, len);
    out[6 + len] = '\n';
    out[7 + len] = '\n';
    out[8 + len] = '\0';
    if (outlen) *outlen = len + 8;
    return out;
}
