/* Rate limits and budgets: parsing, windows, decisions, header texts
 * (core). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "llmp_limits.h"

static const char *const what_names[] = { "requests", "tokens", "cost" };
static const char *const period_names[] = { "second", "minute", "hour",
                                            "day", "month" };
static const char *const scope_names[] = { "user", "model", "server" };

const char *llmp_limit_what_name(llmp_limit_what_e w)
{
    return (unsigned)w < 3 ? what_names[w] : "?";
}

const char *llmp_limit_period_name(llmp_limit_period_e p)
{
    return (unsigned)p < 5 ? period_names[p] : "?";
}

const char *llmp_limit_scope_name(llmp_limit_scope_e s)
{
    return (unsigned)s < 3 ? scope_names[s] : "?";
}

static int name_index(const char *const *names, int n, const char *v)
{
    int i;
    for (i = 0; i < n; i++)
        if (!strcasecmp(names[i], v)) return i;
    return -1;
}

const char *llmp_limit_parse(apr_pool_t *p, const char *what,
                             const char *amount_period, const char *scope,
                             llmp_limit_t *out)
{
    const char *slash;
    char *amount, *end;
    int w, per, sc = LLMP_SCOPE_USER;

    memset(out, 0, sizeof(*out));
    if (!what || (w = name_index(what_names, 3, what)) < 0)
        return apr_psprintf(p, "'%s' is not requests, tokens or cost",
                            what ? what : "");
    if (!amount_period || !(slash = strchr(amount_period, '/')))
        return apr_psprintf(p, "'%s' is not AMOUNT/PERIOD",
                            amount_period ? amount_period : "");
    per = name_index(period_names, 5, slash + 1);
    if (per < 0)
        return apr_psprintf(p, "the period '%s' is not second, minute, "
                            "hour, day or month", slash + 1);
    if (scope && (sc = name_index(scope_names, 3, scope)) < 0)
        return apr_psprintf(p, "the scope '%s' is not user, model or server",
                            scope);
    amount = apr_pstrmemdup(p, amount_period, slash - amount_period);
    if (!*amount || *amount == '-' || *amount == '+' || apr_isspace(*amount))
        return apr_psprintf(p, "the amount '%s' is not a positive number",
                            amount);
    errno = 0;
    if (w == LLMP_LIMIT_COST) {
        double d = strtod(amount, &end);
        if (errno || *end || !(d > 0) || d > 9e9 || !isfinite(d))
            return apr_psprintf(p, "the cost '%s' is not a positive "
                                "decimal", amount);
        out->amount = (apr_int64_t)(d * LLMP_LIMIT_COST_UNIT + 0.5);
        if (out->amount < 1) out->amount = 1;
    }
    else {
        long long v = strtoll(amount, &end, 10);
        if (errno || *end || v <= 0)
            return apr_psprintf(p, "the amount '%s' is not a positive "
                                "integer", amount);
        out->amount = v;
    }
    out->what = w;
    out->period = per;
    out->scope = sc;
    return NULL;
}

void llmp_limit_window(llmp_limit_period_e period, apr_time_t now,
                       apr_time_t *start, apr_time_t *end)
{
    apr_int64_t sec = apr_time_sec(now), len;
    apr_time_exp_t tm;

    switch (period) {
    case LLMP_PERIOD_SECOND: len = 1; break;
    case LLMP_PERIOD_MINUTE: len = 60; break;
    case LLMP_PERIOD_HOUR: len = 3600; break;
    case LLMP_PERIOD_DAY: len = 86400; break;
    default: {
        apr_time_t s, e;
        apr_time_exp_gmt(&tm, now);
        tm.tm_usec = 0; tm.tm_sec = 0; tm.tm_min = 0; tm.tm_hour = 0;
        tm.tm_mday = 1; tm.tm_gmtoff = 0; tm.tm_isdst = 0;
        apr_time_exp_gmt_get(&s, &tm);
        if (++tm.tm_mon == 12) { tm.tm_mon = 0; tm.tm_year++; }
        apr_time_exp_gmt_get(&e, &tm);
        *start = s;
        *end = e;
        return;
    }
    }
    *start = apr_time_from_sec(sec - sec % len);
    *end = *start + apr_time_from_sec(len);
}

apr_int64_t llmp_limit_retry_after(apr_time_t now, apr_time_t end)
{
    apr_int64_t d = end - now;
    if (d <= 0) return 1;
    d = (d + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    return d < 1 ? 1 : d;
}

static int plain_value(const char *v)
{
    const unsigned char *c;
    if (strlen(v) > 64) return 0;
    for (c = (const unsigned char *)v; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || *c == ':') return 0;
    return 1;
}

const char *llmp_limit_key(apr_pool_t *p, const llmp_limit_t *l,
                           const char *value, apr_time_t wstart)
{
    static const char wc[] = "rtc", pc[] = "smhdM", sc[] = "ums";
    char v[24];

    if (!value) value = "";
    if (!plain_value(value)) {
        /* FNV-1a, 64 bits */
        apr_uint64_t h = APR_UINT64_C(14695981039346656037);
        const unsigned char *c;
        for (c = (const unsigned char *)value; *c; c++) {
            h ^= *c;
            h *= APR_UINT64_C(1099511628211);
        }
        apr_snprintf(v, sizeof(v), "#%016" APR_UINT64_T_HEX_FMT, h);
        value = v;
    }
    return apr_psprintf(p, "llmp:%c%c%c:%s:%" APR_INT64_T_FMT,
                        wc[l->what % 3], pc[l->period % 5], sc[l->scope % 3],
                        value, (apr_int64_t)apr_time_sec(wstart));
}

static int refuses(const llmp_limit_state_t *s)
{
    if (s->limit->what == LLMP_LIMIT_REQUESTS)
        return s->value > s->limit->amount;
    return s->value - s->inc >= s->limit->amount;
}

int llmp_limits_decide(const llmp_limit_state_t *st, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (refuses(&st[i])) return i;
    return -1;
}

apr_int64_t llmp_limit_remaining(const llmp_limit_state_t *st)
{
    apr_int64_t r = st->limit->amount - st->value;
    return r < 0 ? 0 : r;
}

apr_int64_t llmp_limits_retry_after(const llmp_limit_state_t *st, int n,
                                    apr_time_t now)
{
    apr_time_t end = 0;
    int i;
    for (i = 0; i < n; i++)
        if (refuses(&st[i]) && st[i].end > end) end = st[i].end;
    return llmp_limit_retry_after(now, end ? end : now);
}

int llmp_limits_tightest(const llmp_limit_state_t *st, int n,
                         llmp_limit_what_e what)
{
    int i, best = -1;
    for (i = 0; i < n; i++) {
        apr_int64_t r;
        if (st[i].limit->what != what) continue;
        r = llmp_limit_remaining(&st[i]);
        if (best < 0 || r < llmp_limit_remaining(&st[best])
            || (r == llmp_limit_remaining(&st[best])
                && st[i].end > st[best].end))
            best = i;
    }
    return best;
}

const char *llmp_limit_reset_text(apr_pool_t *p, apr_interval_time_t d)
{
    apr_int64_t s, h, m;

    if (d < 0) d = 0;
    if (d < APR_USEC_PER_SEC)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "ms",
                            (apr_int64_t)((d + 999) / 1000));
    s = (d + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    h = s / 3600;
    m = (s % 3600) / 60;
    s %= 60;
    if (h)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "h%" APR_INT64_T_FMT "m%"
                            APR_INT64_T_FMT "s", h, m, s);
    if (m)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "m%" APR_INT64_T_FMT "s",
                            m, s);
    return apr_psprintf(p, "%" APR_INT64_T_FMT "s", s);
}

const char *llmp_limit_rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int same_limit(const llmp_limit_t *a, const llmp_limit_t *b)
{
    return a->what == b->what && a->period == b->period
        && a->scope == b->scope;
}

apr_array_header_t *llmp_limits_merge(apr_pool_t *p,
                                      const apr_array_header_t *base,
                                      const apr_array_header_t *add)
{
    apr_array_header_t *c;
    int i, j, nadd;

    c = apr_array_make(p, (base ? base->nelts : 0) + (add ? add->nelts : 0)
                       + 1, sizeof(llmp_limit_t));
    for (i = 0; add && i < add->nelts; i++) {
        const llmp_limit_t *a = &APR_ARRAY_IDX(add, i, llmp_limit_t);
        /* within one context, a later line replaces an earlier one */
        for (j = 0; j < c->nelts; j++)
            if (same_limit(&APR_ARRAY_IDX(c, j, llmp_limit_t), a)) break;
        if (j < c->nelts) APR_ARRAY_IDX(c, j, llmp_limit_t) = *a;
        else APR_ARRAY_PUSH(c, llmp_limit_t) = *a;
    }
    nadd = c->nelts;
    for (i = 0; base && i < base->nelts; i++) {
        const llmp_limit_t *b = &APR_ARRAY_IDX(base, i, llmp_limit_t);
        for (j = 0; j < nadd; j++)
            if (same_limit(&APR_ARRAY_IDX(c, j, llmp_limit_t), b)) break;
        if (j == nadd) APR_ARRAY_PUSH(c, llmp_limit_t) = *b;
    }
    return c;
}
