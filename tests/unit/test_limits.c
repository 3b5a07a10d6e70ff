/* Unit tests: rate limits and budgets (parsing, windows, keys, decisions,
 * header texts, merge of contexts). */
#include "llmp_test.h"
#include "llmp_limits.h"

static apr_time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    apr_time_exp_t tm;
    apr_time_t t;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
    tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s;
    apr_time_exp_gmt_get(&t, &tm);
    return t;
}

static void t_parse(apr_pool_t *p)
{
    llmp_limit_t l;
    CHECK(!llmp_limit_parse(p, "requests", "60/minute", NULL, &l));
    CHECK_INT(l.what, LLMP_LIMIT_REQUESTS);
    CHECK_INT(l.period, LLMP_PERIOD_MINUTE);
    CHECK_INT(l.scope, LLMP_SCOPE_USER);
    CHECK_INT(l.amount, 60);
    CHECK(!llmp_limit_parse(p, "tokens", "200000/day", "server", &l));
    CHECK_INT(l.what, LLMP_LIMIT_TOKENS);
    CHECK_INT(l.period, LLMP_PERIOD_DAY);
    CHECK_INT(l.scope, LLMP_SCOPE_SERVER);
    CHECK_INT(l.amount, 200000);
    CHECK(!llmp_limit_parse(p, "cost", "500/month", "user", &l));
    CHECK_INT(l.period, LLMP_PERIOD_MONTH);
    CHECK_INT(l.amount, APR_INT64_C(500000000000));
    CHECK(!llmp_limit_parse(p, "cost", "0.0025/hour", "model", &l));
    CHECK_INT(l.amount, 2500000);
    CHECK_INT(l.scope, LLMP_SCOPE_MODEL);
    CHECK(!llmp_limit_parse(p, "requests", "10/second", "model", &l));
    CHECK_INT(l.period, LLMP_PERIOD_SECOND);
    CHECK(llmp_limit_parse(p, "calls", "10/second", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "10", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "10/week", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "0/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "-1/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "1.5/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "requests", "5x/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "cost", "nan/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "cost", "0/minute", NULL, &l) != NULL);
    CHECK(llmp_limit_parse(p, "tokens", "5/minute", "group", &l) != NULL);
}

static void t_windows(apr_pool_t *p)
{
    apr_time_t s, e, now = utc(2026, 12, 2, 12, 34, 56) + 250000;
    llmp_limit_window(LLMP_PERIOD_SECOND, now, &s, &e);
    CHECK_INT(s, utc(2026, 12, 2, 12, 34, 56));
    CHECK_INT(e, utc(2026, 12, 2, 12, 34, 57));
    llmp_limit_window(LLMP_PERIOD_MINUTE, now, &s, &e);
    CHECK_INT(s, utc(2026, 12, 2, 12, 34, 0));
    CHECK_INT(e, utc(2026, 12, 2, 12, 35, 0));
    llmp_limit_window(LLMP_PERIOD_HOUR, now, &s, &e);
    CHECK_INT(s, utc(2026, 12, 2, 12, 0, 0));
    CHECK_INT(e, utc(2026, 12, 2, 13, 0, 0));
    llmp_limit_window(LLMP_PERIOD_DAY, now, &s, &e);
    CHECK_INT(s, utc(2026, 12, 2, 0, 0, 0));
    CHECK_INT(e, utc(2026, 12, 3, 0, 0, 0));
    /* calendar months, December into January, February of a leap year */
    llmp_limit_window(LLMP_PERIOD_MONTH, now, &s, &e);
    CHECK_INT(s, utc(2026, 12, 1, 0, 0, 0));
    CHECK_INT(e, utc(2027, 1, 1, 0, 0, 0));
    llmp_limit_window(LLMP_PERIOD_MONTH, utc(2028, 2, 29, 23, 59, 59), &s,
                      &e);
    CHECK_INT(s, utc(2028, 2, 1, 0, 0, 0));
    CHECK_INT(e, utc(2028, 3, 1, 0, 0, 0));
    CHECK_INT(e - s, apr_time_from_sec(29 * 86400));
    llmp_limit_window(LLMP_PERIOD_MONTH, utc(2027, 1, 1, 0, 0, 0), &s, &e);
    CHECK_INT(s, utc(2027, 1, 1, 0, 0, 0));
    CHECK_INT(e, utc(2027, 2, 1, 0, 0, 0));
    /* Retry-After: whole seconds rounded up, at least 1 */
    CHECK_INT(llmp_limit_retry_after(now, utc(2026, 12, 2, 12, 35, 0)), 4);
    CHECK_INT(llmp_limit_retry_after(now, now + 1), 1);
    CHECK_INT(llmp_limit_retry_after(now, now), 1);
    CHECK_INT(llmp_limit_retry_after(now, now - 5), 1);
    CHECK_INT(llmp_limit_retry_after(now, now + apr_time_from_sec(60)), 60);
}

static void t_keys(apr_pool_t *p)
{
    llmp_limit_t l = { LLMP_LIMIT_REQUESTS, LLMP_PERIOD_MINUTE,
                       LLMP_SCOPE_USER, 60 };
    apr_time_t w = utc(2026, 12, 2, 12, 34, 0);
    const char *k;

    CHECK_STR(llmp_limit_key(p, &l, "alice", w),
              apr_psprintf(p, "llmp:rmu:alice:%" APR_INT64_T_FMT,
                           (apr_int64_t)apr_time_sec(w)));
    l.what = LLMP_LIMIT_COST; l.period = LLMP_PERIOD_MONTH;
    l.scope = LLMP_SCOPE_SERVER;
    CHECK(!strncmp(llmp_limit_key(p, &l, "", w), "llmp:cMs::", 10));
    /* a value with a space, a colon or too long becomes a hash */
    k = llmp_limit_key(p, &l, "a b:c", w);
    CHECK(!strncmp(k, "llmp:cMs:#", 10));
    CHECK(!strchr(k + 10, ' '));
    CHECK(strcmp(k, llmp_limit_key(p, &l, "a b:d", w)) != 0);
    CHECK_STR(k, llmp_limit_key(p, &l, "a b:c", w));
    k = llmp_limit_key(p, &l, "x\r\ny", w);
    CHECK(!strpbrk(k, "\r\n"));
    CHECK(strlen(llmp_limit_key(p, &l, apr_pstrcat(p, "0123456789012345678"
        "9012345678901234567890123456789012345678901234567890", NULL), w))
        < 50);
    CHECK(strcmp(llmp_limit_key(p, &l, "bob", w),
                 llmp_limit_key(p, &l, "bob", w + apr_time_from_sec(60)))
          != 0);
}

static void t_decide(apr_pool_t *p)
{
    llmp_limit_t rq = { LLMP_LIMIT_REQUESTS, LLMP_PERIOD_MINUTE,
                        LLMP_SCOPE_USER, 3 };
    llmp_limit_t tk = { LLMP_LIMIT_TOKENS, LLMP_PERIOD_DAY,
                        LLMP_SCOPE_USER, 100 };
    llmp_limit_t rq2 = { LLMP_LIMIT_REQUESTS, LLMP_PERIOD_SECOND,
                         LLMP_SCOPE_SERVER, 10 };
    apr_time_t now = utc(2026, 12, 2, 12, 34, 56);
    llmp_limit_state_t st[3] = {
        { &rq, 3, 1, utc(2026, 12, 2, 12, 35, 0) },
        { &tk, 99, 0, utc(2026, 12, 3, 0, 0, 0) },
        { &rq2, 1, 1, now + apr_time_from_sec(1) },
    };
    int i;

    /* the third request of 3 passes; the budget has 1 token left */
    CHECK_INT(llmp_limits_decide(st, 3), -1);
    CHECK_INT(llmp_limit_remaining(&st[0]), 0);
    CHECK_INT(llmp_limit_remaining(&st[1]), 1);
    i = llmp_limits_tightest(st, 3, LLMP_LIMIT_REQUESTS);
    CHECK_INT(i, 0);
    CHECK_INT(llmp_limits_tightest(st, 3, LLMP_LIMIT_TOKENS), 1);
    CHECK_INT(llmp_limits_tightest(st, 3, LLMP_LIMIT_COST), -1);
    /* the fourth is refused; Retry-After to the end of the minute */
    st[0].value = 4;
    CHECK_INT(llmp_limits_decide(st, 3), 0);
    CHECK_INT(llmp_limits_retry_after(st, 3, now), 4);
    /* the budget used up: refused, until the end of the day */
    st[0].value = 2;
    st[1].value = 100;
    CHECK_INT(llmp_limits_decide(st, 3), 1);
    CHECK_INT(llmp_limits_retry_after(st, 3, now),
              apr_time_sec(utc(2026, 12, 3, 0, 0, 0) - now));
    /* past the budget (a call in flight went over): still refused */
    st[1].value = 150;
    CHECK_INT(llmp_limits_decide(st, 3), 1);
    CHECK_INT(llmp_limit_remaining(&st[1]), 0);
    /* both refuse: the later end */
    st[0].value = 5;
    CHECK_INT(llmp_limits_retry_after(st, 3, now),
              apr_time_sec(utc(2026, 12, 3, 0, 0, 0) - now));
}

static void t_texts(apr_pool_t *p)
{
    CHECK_STR(llmp_limit_reset_text(p, 20000), "20ms");
    CHECK_STR(llmp_limit_reset_text(p, 1), "1ms");
    CHECK_STR(llmp_limit_reset_text(p, 0), "0ms");
    CHECK_STR(llmp_limit_reset_text(p, apr_time_from_sec(1)), "1s");
    CHECK_STR(llmp_limit_reset_text(p, apr_time_from_sec(1) + 1), "2s");
    CHECK_STR(llmp_limit_reset_text(p, apr_time_from_sec(360)), "6m0s");
    CHECK_STR(llmp_limit_reset_text(p, apr_time_from_sec(3723)), "1h2m3s");
    CHECK_STR(llmp_limit_rfc3339(p, utc(2026, 12, 2, 1, 2, 3) + 5),
              "2026-12-02T01:02:03Z");
}

static void t_merge(apr_pool_t *p)
{
    apr_array_header_t *base = apr_array_make(p, 2, sizeof(llmp_limit_t));
    apr_array_header_t *add = apr_array_make(p, 2, sizeof(llmp_limit_t));
    apr_array_header_t *m;
    llmp_limit_t l;

    llmp_limit_parse(p, "requests", "60/minute", NULL, &l);
    APR_ARRAY_PUSH(base, llmp_limit_t) = l;
    llmp_limit_parse(p, "tokens", "200000/day", NULL, &l);
    APR_ARRAY_PUSH(base, llmp_limit_t) = l;
    llmp_limit_parse(p, "requests", "10/second", "model", &l);
    APR_ARRAY_PUSH(base, llmp_limit_t) = l;
    /* alice: another request limit, and a cost budget */
    llmp_limit_parse(p, "requests", "600/minute", "user", &l);
    APR_ARRAY_PUSH(add, llmp_limit_t) = l;
    llmp_limit_parse(p, "cost", "5/month", NULL, &l);
    APR_ARRAY_PUSH(add, llmp_limit_t) = l;
    m = llmp_limits_merge(p, base, add);
    CHECK_INT(m->nelts, 4);
    CHECK_INT(APR_ARRAY_IDX(m, 0, llmp_limit_t).amount, 600);
    CHECK_INT(APR_ARRAY_IDX(m, 1, llmp_limit_t).what, LLMP_LIMIT_COST);
    CHECK_INT(APR_ARRAY_IDX(m, 2, llmp_limit_t).what, LLMP_LIMIT_TOKENS);
    CHECK_INT(APR_ARRAY_IDX(m, 3, llmp_limit_t).scope, LLMP_SCOPE_MODEL);
    /* within one context the later line wins */
    llmp_limit_parse(p, "requests", "700/minute", NULL, &l);
    APR_ARRAY_PUSH(add, llmp_limit_t) = l;
    m = llmp_limits_merge(p, NULL, add);
    CHECK_INT(m->nelts, 2);
    CHECK_INT(APR_ARRAY_IDX(m, 0, llmp_limit_t).amount, 700);
    m = llmp_limits_merge(p, base, NULL);
    CHECK_INT(m->nelts, 3);
    CHECK_INT(llmp_limits_merge(p, NULL, NULL)->nelts, 0);
}

TEST_MAIN_BEGIN("limits")
    RUN(t_parse);
    RUN(t_windows);
    RUN(t_keys);
    RUN(t_decide);
    RUN(t_texts);
    RUN(t_merge);
TEST_MAIN_END
