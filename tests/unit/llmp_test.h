/* A small unit-test harness for the core: each tests/unit/test_*.c is one
 * program; it prints one line per failure and a closing
 * "unit <name>: N passed, N failed" line. */
#ifndef LLMP_TEST_H
#define LLMP_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <cjson/cJSON.h>
#include "llmp_provider.h"
#include "llmp_sse.h"

static int llmp_t_passed, llmp_t_failed;
static const char *llmp_t_current = "";

#define CHECK(cond) do { \
    if (cond) llmp_t_passed++; \
    else { llmp_t_failed++; \
        fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, \
                llmp_t_current, #cond); } \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *llmp_a_ = (a), *llmp_b_ = (b); \
    if (llmp_a_ && llmp_b_ && !strcmp(llmp_a_, llmp_b_)) llmp_t_passed++; \
    else { llmp_t_failed++; \
        fprintf(stderr, "FAIL %s:%d [%s]: %s == %s\n  got:      %s\n" \
                "  expected: %s\n", __FILE__, __LINE__, llmp_t_current, \
                #a, #b, llmp_a_ ? llmp_a_ : "(null)", \
                llmp_b_ ? llmp_b_ : "(null)"); } \
} while (0)

#define CHECK_INT(a, b) do { \
    long long llmp_a_ = (long long)(a), llmp_b_ = (long long)(b); \
    if (llmp_a_ == llmp_b_) llmp_t_passed++; \
    else { llmp_t_failed++; \
        fprintf(stderr, "FAIL %s:%d [%s]: %s == %s (got %lld, expected %lld)\n", \
                __FILE__, __LINE__, llmp_t_current, #a, #b, llmp_a_, llmp_b_); } \
} while (0)

/* Run one test function with a fresh pool. */
#define RUN(fn) do { \
    apr_pool_t *llmp_tp_; \
    apr_pool_create(&llmp_tp_, NULL); \
    llmp_t_current = #fn; \
    fn(llmp_tp_); \
    apr_pool_destroy(llmp_tp_); \
} while (0)

#define TEST_MAIN_BEGIN(name) \
    int main(int argc, const char *const *argv) { \
        const char *llmp_t_name_ = (name); \
        (void)argc; (void)argv; \
        apr_app_initialize(&argc, &argv, NULL);

#define TEST_MAIN_END \
        printf("unit %s: %d passed, %d failed\n", llmp_t_name_, \
               llmp_t_passed, llmp_t_failed); \
        apr_terminate(); \
        return llmp_t_failed ? 1 : 0; \
    }

/* Read a fixture file (relative to tests/fixtures, or $LLMP_FIXTURES) into
 * pool memory, NUL terminated. Aborts the test program if it is missing. */
static inline char *llmp_fixture(apr_pool_t *p, const char *rel,
                                 apr_size_t *len)
{
    const char *dir = getenv("LLMP_FIXTURES");
    const char *path = apr_pstrcat(p, dir ? dir : "tests/fixtures", "/", rel,
                                   NULL);
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;

    if (apr_file_open(&f, path, APR_READ | APR_BINARY, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        fprintf(stderr, "missing fixture %s\n", path);
        exit(2);
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    if (n && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    buf[n] = '\0';
    apr_file_close(f);
    if (len) *len = n;
    return buf;
}

/* A fixture parsed as JSON (pool-owned), or NULL when it is not JSON. */
static inline cJSON *llmp_fixture_json(apr_pool_t *p, const char *rel)
{
    apr_size_t len;
    char *buf = llmp_fixture(p, rel, &len);
    return llmp_json_parse_pool(p, buf, len);
}

/* Dotted path lookup: "a.b.0.c" (a number indexes an array). */
static inline const cJSON *at(const cJSON *j, const char *path)
{
    char buf[256], *tok, *save = NULL;

    if (strlen(path) >= sizeof(buf)) return NULL;
    strcpy(buf, path);
    for (tok = strtok_r(buf, ".", &save); tok && j;
         tok = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(j) && tok[0] >= '0' && tok[0] <= '9')
            j = cJSON_GetArrayItem(j, atoi(tok));
        else
            j = cJSON_GetObjectItemCaseSensitive(j, tok);
    }
    return j;
}

/* The string at path, or NULL. */
static inline const char *at_str(const cJSON *j, const char *path)
{
    const cJSON *v = at(j, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The number at path, or -12345 when there is none. */
static inline double at_num(const cJSON *j, const char *path)
{
    const cJSON *v = at(j, path);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

/* Feeding native SSE through the real parser into a translator. */
typedef struct {
    const llmp_provider_ops_t *ops;
    llmp_xlate_t *x;
    llmp_error_t *err;     /* the first error of chat_stream_event */
} llmp_feed_t;

static inline apr_status_t llmp_feed_event(void *baton, const char *event,
                                           const char *data, apr_size_t len)
{
    llmp_feed_t *f = baton;
    f->err = f->ops->chat_stream_event(f->x, event, data, len);
    return f->err ? APR_EGENERAL : APR_SUCCESS;
}

/* Feeds buf to ops->chat_stream_event through an SSE parser (events up to
 * max_event bytes), in pieces of step bytes (0: all at once), then ends the
 * parse unless it failed. Returns the error of a stream event, or NULL;
 * chat_stream_end is left to the caller. */
static inline llmp_error_t *llmp_feed_sse(apr_pool_t *p,
                                          const llmp_provider_ops_t *ops,
                                          llmp_xlate_t *x, const char *buf,
                                          apr_size_t len, apr_size_t step,
                                          apr_size_t max_event)
{
    llmp_feed_t f = { ops, x, NULL };
    llmp_sse_parser_t *sp = llmp_sse_parser_create(p, max_event,
                                                   llmp_feed_event, &f);
    apr_status_t rv = APR_SUCCESS;
    apr_size_t off;

    if (!step) step = len;
    for (off = 0; off < len && rv == APR_SUCCESS; off += step)
        rv = llmp_sse_feed(sp, buf + off, len - off < step ? len - off : step);
    if (rv == APR_SUCCESS) llmp_sse_finish(sp);
    return f.err;
}

/* CPU seconds used by this process, for the tests that a translator's work
 * is linear in its input (a quadratic one takes minutes, not seconds). */
static inline double llmp_test_cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

/* ops->chat_request into *out (cleared first), timed: its CPU seconds in
 * *secs, said on stderr under label when it took a second or more (the
 * linear-time tests bound it). */
static inline llmp_error_t *llmp_test_timed_request(
    const llmp_provider_ops_t *ops, llmp_xlate_t *x, const cJSON *req,
    llmp_native_req_t *out, const char *label, double *secs)
{
    double t0;
    llmp_error_t *err;

    memset(out, 0, sizeof(*out));
    t0 = llmp_test_cpu_seconds();
    err = ops->chat_request(x, req, out);
    *secs = llmp_test_cpu_seconds() - t0;
    if (*secs >= 1.0) fprintf(stderr, "  %s: %.2f s\n", label, *secs);
    return err;
}

/* ASan/UBSan builds are slower: their time bounds are stretched. */
#if defined(__SANITIZE_ADDRESS__)
#define LLMP_TEST_SLOW 5
#else
#define LLMP_TEST_SLOW 1
#endif

#endif
