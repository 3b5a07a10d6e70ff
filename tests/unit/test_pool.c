/* Unit tests: back-off arithmetic, what is retryable, Retry-After, the
 * order of a pool's members (llmp_pool.c). */
#include "llmp_test.h"
#include "llmp_pool.h"

static void t_backoff(apr_pool_t *p)
{
    apr_interval_time_t s30 = apr_time_from_sec(30);

    (void)p;
    CHECK_INT(llmp_pool_backoff(s30, 1), s30);
    CHECK_INT(llmp_pool_backoff(s30, 2), 2 * s30);
    CHECK_INT(llmp_pool_backoff(s30, 3), 4 * s30);
    CHECK_INT(llmp_pool_backoff(s30, 5), 16 * s30);
    CHECK_INT(llmp_pool_backoff(s30, 6), apr_time_from_sec(600));
    CHECK_INT(llmp_pool_backoff(s30, 4000000000u), apr_time_from_sec(600));
    CHECK_INT(llmp_pool_backoff(apr_time_from_sec(1), 2),
              apr_time_from_sec(2));
    CHECK_INT(llmp_pool_backoff(0, 3), 0);
    CHECK_INT(llmp_pool_backoff(apr_time_from_sec(900), 3),
              apr_time_from_sec(900));
}

static const char *fail_of(llmp_http_outcome_e o, long status, int sent,
                           int stream, int events, int done)
{
    llmp_pool_call_t c;

    memset(&c, 0, sizeof(c));
    c.outcome = o;
    c.status = status;
    c.sent = sent;
    c.stream = stream;
    c.events = (apr_size_t)events;
    c.stream_done = done;
    return llmp_pool_failure(&c);
}

static void t_failure(apr_pool_t *p)
{
    static const long retry[] = { 429, 500, 502, 503, 504, 529 };
    static const long keep[] = { 200, 201, 400, 401, 403, 404, 408, 413,
                                 422, 501, 505, 599 };
    size_t i;

    (void)p;
    CHECK_STR(fail_of(LLMP_HTTP_CONNECT, 0, 0, 0, 0, 0), "connect");
    CHECK_STR(fail_of(LLMP_HTTP_TIMEOUT, 0, 0, 0, 0, 0), "timeout");
    /* a timeout after the answer began is not retried */
    CHECK(!fail_of(LLMP_HTTP_TIMEOUT, 200, 0, 0, 0, 0));
    CHECK(!fail_of(LLMP_HTTP_ABORTED, 0, 0, 0, 0, 0));
    for (i = 0; i < sizeof(retry) / sizeof(*retry); i++) {
        CHECK(fail_of(LLMP_HTTP_OK, retry[i], 0, 0, 0, 0) != NULL);
        /* never once the client has a byte */
        CHECK(!fail_of(LLMP_HTTP_OK, retry[i], 1, 0, 0, 0));
    }
    CHECK_STR(fail_of(LLMP_HTTP_OK, 503, 0, 0, 0, 0), "http-503");
    for (i = 0; i < sizeof(keep) / sizeof(*keep); i++)
        CHECK(!fail_of(LLMP_HTTP_OK, keep[i], 0, 0, 0, 0));
    /* a stream that broke before its first event; not after one */
    CHECK_STR(fail_of(LLMP_HTTP_FAILED, 200, 0, 1, 0, 0), "stream-broken");
    CHECK_STR(fail_of(LLMP_HTTP_OK, 200, 0, 1, 0, 0), "stream-broken");
    CHECK(!fail_of(LLMP_HTTP_FAILED, 200, 0, 1, 3, 0));
    CHECK(!fail_of(LLMP_HTTP_FAILED, 200, 1, 1, 0, 0));
    CHECK(!fail_of(LLMP_HTTP_OK, 200, 0, 1, 0, 1));
    CHECK_STR(fail_of(LLMP_HTTP_FAILED, 0, 0, 0, 0, 0), "failed");
    {
        llmp_pool_call_t c;
        memset(&c, 0, sizeof(c));
        c.outcome = LLMP_HTTP_OK;
        c.status = 503;
        c.local_error = 1;
        CHECK(!llmp_pool_failure(&c));
    }
}

static void t_retry_after(apr_pool_t *p)
{
    apr_time_t now = apr_time_from_sec(1700000000);

    (void)p;
    CHECK_INT(llmp_pool_retry_after("1", now), apr_time_from_sec(1));
    CHECK_INT(llmp_pool_retry_after(" 120", now), apr_time_from_sec(120));
    CHECK_INT(llmp_pool_retry_after("0", now), 0);
    CHECK_INT(llmp_pool_retry_after(NULL, now), -1);
    CHECK_INT(llmp_pool_retry_after("", now), -1);
    CHECK_INT(llmp_pool_retry_after("soon", now), -1);
    CHECK_INT(llmp_pool_retry_after("-3", now), -1);
    CHECK_INT(llmp_pool_retry_after("1.5", now), -1);
    CHECK_INT(llmp_pool_retry_after("99999999999999", now),
              apr_time_from_sec(86400));
    /* Tue, 14 Nov 2023 22:13:20 GMT is 1700000000 */
    CHECK_INT(llmp_pool_retry_after("Tue, 14 Nov 2023 22:13:25 GMT", now),
              apr_time_from_sec(5));
    CHECK_INT(llmp_pool_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
}

static void t_order(apr_pool_t *p)
{
    apr_time_t now = apr_time_from_sec(1000);
    apr_time_t none[3] = { 0, 0, 0 };
    apr_time_t first_out[3] = { apr_time_from_sec(1030), 0, 0 };
    apr_time_t all_out[3] = { apr_time_from_sec(1050),
                              apr_time_from_sec(1010),
                              apr_time_from_sec(1030) };
    apr_time_t past[2] = { apr_time_from_sec(999), 0 };
    int order[3], healthy, n;

    (void)p;
    n = llmp_pool_order(none, 3, 0, now, order, &healthy);
    CHECK_INT(n, 3);
    CHECK_INT(healthy, 3);
    CHECK_INT(order[0], 0);
    CHECK_INT(order[1], 1);
    CHECK_INT(order[2], 2);
    /* round robin: each start begins one further */
    n = llmp_pool_order(none, 3, 4, now, order, &healthy);
    CHECK_INT(order[0], 1);
    CHECK_INT(order[1], 2);
    CHECK_INT(order[2], 0);
    /* a member in back-off is skipped */
    n = llmp_pool_order(first_out, 3, 0, now, order, &healthy);
    CHECK_INT(n, 2);
    CHECK_INT(healthy, 2);
    CHECK_INT(order[0], 1);
    CHECK_INT(order[1], 2);
    n = llmp_pool_order(first_out, 3, 2, now, order, &healthy);
    CHECK_INT(n, 2);
    CHECK_INT(order[0], 2);
    CHECK_INT(order[1], 1);
    /* all in back-off: the soonest back first */
    n = llmp_pool_order(all_out, 3, 0, now, order, &healthy);
    CHECK_INT(n, 3);
    CHECK_INT(healthy, 0);
    CHECK_INT(order[0], 1);
    CHECK_INT(order[1], 2);
    CHECK_INT(order[2], 0);
    /* a back-off that ended counts as none */
    n = llmp_pool_order(past, 2, 0, now, order, &healthy);
    CHECK_INT(n, 2);
    CHECK_INT(healthy, 2);
    CHECK_INT(llmp_pool_order(none, 0, 0, now, order, &healthy), 0);
}

static void t_hash(apr_pool_t *p)
{
    (void)p;
    CHECK(llmp_pool_hash("http://a/x") != llmp_pool_hash("http://a/y"));
    CHECK(llmp_pool_hash("") == APR_UINT64_C(14695981039346656037));
}

TEST_MAIN_BEGIN("pool")
    RUN(t_backoff);
    RUN(t_failure);
    RUN(t_retry_after);
    RUN(t_order);
    RUN(t_hash);
TEST_MAIN_END
