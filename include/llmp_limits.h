/* Rate limits and budgets: what a limit is, its windows, the decision and
 * the texts of the rate-limit headers (core, no httpd header).
 *
 * A limit counts requests, tokens or cost in fixed windows (a UTC second,
 * minute, hour, day or calendar month) per user, model or server. Counters
 * are integers: requests, tokens, or cost in billionths of the list's
 * currency. The counter of one window has a key that names the window
 * (llmp_limit_key), so a store only adds to keys and forgets them when the
 * window is over. */
#ifndef LLMP_LIMITS_H
#define LLMP_LIMITS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef enum {
    LLMP_LIMIT_REQUESTS = 0,
    LLMP_LIMIT_TOKENS,
    LLMP_LIMIT_COST
} llmp_limit_what_e;

typedef enum {
    LLMP_PERIOD_SECOND = 0,
    LLMP_PERIOD_MINUTE,
    LLMP_PERIOD_HOUR,
    LLMP_PERIOD_DAY,
    LLMP_PERIOD_MONTH               /* calendar month, UTC */
} llmp_limit_period_e;

typedef enum {
    LLMP_SCOPE_USER = 0,            /* the authenticated user, else the
                                       client address */
    LLMP_SCOPE_MODEL,
    LLMP_SCOPE_SERVER
} llmp_limit_scope_e;

/* Cost counters count billionths of the currency (a cheap call costs
 * about a millionth). */
#define LLMP_LIMIT_COST_UNIT 1000000000.0

typedef struct llmp_limit {
    llmp_limit_what_e what;
    llmp_limit_period_e period;
    llmp_limit_scope_e scope;
    apr_int64_t amount;             /* requests, tokens or cost units */
} llmp_limit_t;

/* Parse "requests|tokens|cost", "AMOUNT/PERIOD" and an optional scope
 * ("user", "model", "server"; NULL: user) into *out. AMOUNT is a positive
 * integer for requests and tokens, a positive decimal for cost. NULL, or
 * why the text is wrong. */
const char *llmp_limit_parse(apr_pool_t *p, const char *what,
                             const char *amount_period, const char *scope,
                             llmp_limit_t *out);

/* The window of period that holds now: [*start, *end). */
void llmp_limit_window(llmp_limit_period_e period, apr_time_t now,
                       apr_time_t *start, apr_time_t *end);

/* Whole seconds from now until end, rounded up, at least 1 (a
 * Retry-After). */
apr_int64_t llmp_limit_retry_after(apr_time_t now, apr_time_t end);

/* The store key of a limit's counter for one scope value in the window
 * that begins at wstart: "llmp:<what><period><scope>:<value>:<wstart s>"
 * (what r/t/c, period s/m/h/d/M, scope u/m/s). A value of more than 64
 * bytes or with bytes other than printable ASCII without space and ':' is
 * replaced by a hash of it ("#" and 16 hex digits). */
const char *llmp_limit_key(apr_pool_t *p, const llmp_limit_t *l,
                           const char *value, apr_time_t wstart);

/* One limit's state for a decision: its counter after this request's
 * increment (inc: 1 for a request limit, 0 for budgets). */
typedef struct llmp_limit_state {
    const llmp_limit_t *limit;
    apr_int64_t value;              /* the counter, after inc */
    apr_int64_t inc;                /* what this request added */
    apr_time_t end;                 /* the window's end */
} llmp_limit_state_t;

/* The index of the first state that refuses the request, or -1: a request
 * limit refuses when its counter after the increment exceeds the amount, a
 * budget (tokens, cost) when it is already used up (counter >= amount). */
int llmp_limits_decide(const llmp_limit_state_t *st, int n);

/* What remains of a limit (never below 0). */
apr_int64_t llmp_limit_remaining(const llmp_limit_state_t *st);

/* The Retry-After of a refusal: the latest window end of the states that
 * refuse, from now. */
apr_int64_t llmp_limits_retry_after(const llmp_limit_state_t *st, int n,
                                    apr_time_t now);

/* The tightest state of one kind (requests or tokens): the least remaining,
 * then the latest end; -1 when there is none. */
int llmp_limits_tightest(const llmp_limit_state_t *st, int n,
                         llmp_limit_what_e what);

/* A duration as OpenAI writes x-ratelimit-reset-*: "20ms", "1s", "6m0s",
 * "1h2m3s" (whole seconds rounded up from one second on). */
const char *llmp_limit_reset_text(apr_pool_t *p, apr_interval_time_t d);

/* A time as RFC 3339 UTC ("2026-12-02T12:34:56Z", Anthropic's
 * anthropic-ratelimit-*-reset). */
const char *llmp_limit_rfc3339(apr_pool_t *p, apr_time_t t);

/* The limits of a context: base's, with add's replacing those of the same
 * what, period and scope (add's own first). Arrays of llmp_limit_t; either
 * may be NULL. */
apr_array_header_t *llmp_limits_merge(apr_pool_t *p,
                                      const apr_array_header_t *base,
                                      const apr_array_header_t *add);

/* "requests", "tokens", "cost"; "second", ... "month"; "user", ... */
const char *llmp_limit_what_name(llmp_limit_what_e w);
const char *llmp_limit_period_name(llmp_limit_period_e p);
const char *llmp_limit_scope_name(llmp_limit_scope_e s);

#endif
