/* A small unit-test harness for the core: each tests/unit/test_*.c is one
 * program; it prints one line per failure and a closing
 * "unit <name>: N passed, N failed" line. */
#ifndef LLMP_TEST_H
#define LLMP_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_file_io.h>

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

#endif
