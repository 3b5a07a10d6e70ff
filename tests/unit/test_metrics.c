/* Unit tests: the metrics table (slots, overflow into "other", a table
 * kept across a reopen, several processes adding at once) and its
 * Prometheus text. */
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "llmp_test.h"
#include "llmp_metrics.h"

static llmp_metrics_t *table(apr_pool_t *p, int models, int users)
{
    llmp_metrics_dims_t d = { models, users };
    apr_size_t n = llmp_metrics_size(&d);
    void *mem = apr_pcalloc(p, n);
    int kept = -1;
    llmp_metrics_t *m = llmp_metrics_open(p, mem, n, &d, &kept);
    CHECK(m != NULL);
    CHECK_INT(kept, 0);
    return m;
}

static llmp_metrics_event_t ev(const char *model, const char *provider,
                               const char *endpoint, int status)
{
    llmp_metrics_event_t e;
    memset(&e, 0, sizeof(e));
    e.model = model;
    e.provider = provider;
    e.endpoint = endpoint;
    e.status = status;
    e.duration = e.ttft = -1;
    return e;
}

static const char *render(apr_pool_t *p, llmp_metrics_t *m)
{
    apr_size_t len;
    const char *s = llmp_metrics_render(p, m, NULL, 0, NULL, &len);
    CHECK_INT(strlen(s), len);
    return s;
}

static int has(const char *text, const char *line)
{
    const char *s = text;
    apr_size_t n = strlen(line);
    while ((s = strstr(s, line)) != NULL) {
        if ((s == text || s[-1] == '\n') && s[n] == '\n') return 1;
        s++;
    }
    return 0;
}

static void t_counts(apr_pool_t *p)
{
    llmp_metrics_t *m = table(p, 8, 0);
    llmp_metrics_event_t e = ev("claude-3", "anthropic", "chat.completions",
                                200);
    const char *out;
    int i;

    e.has_tokens = 1;
    e.prompt_tokens = 10;
    e.completion_tokens = 5;
    e.cached_tokens = 4;
    e.cost = 0.125;
    e.duration = 0.3;
    e.ttft = 0.05;
    for (i = 0; i < 3; i++) llmp_metrics_add(m, &e);
    e = ev("claude-3", "anthropic", "chat.completions", 429);
    llmp_metrics_add(m, &e);
    e = ev(NULL, NULL, "models", 200);
    llmp_metrics_add(m, &e);
    e = ev("x", "openai", "nonsense", 418);     /* unknown endpoint, 4xx */
    llmp_metrics_add(m, &e);
    llmp_metrics_streams(m, 1);
    llmp_metrics_streams(m, 1);
    llmp_metrics_streams(m, -1);
    out = render(p, m);
    CHECK(has(out, "# TYPE llmproxy_requests_total counter"));
    CHECK(has(out, "llmproxy_requests_total{model=\"claude-3\",provider="
                   "\"anthropic\",endpoint=\"chat.completions\",status="
                   "\"200\"} 3"));
    CHECK(has(out, "llmproxy_requests_total{model=\"claude-3\",provider="
                   "\"anthropic\",endpoint=\"chat.completions\",status="
                   "\"429\"} 1"));
    CHECK(has(out, "llmproxy_requests_total{model=\"-\",provider=\"-\","
                   "endpoint=\"models\",status=\"200\"} 1"));
    CHECK(has(out, "llmproxy_requests_total{model=\"x\",provider=\"openai\","
                   "endpoint=\"unknown\",status=\"4xx\"} 1"));
    CHECK(has(out, "llmproxy_tokens_total{model=\"claude-3\",type=\"prompt\"}"
                   " 30"));
    CHECK(has(out, "llmproxy_tokens_total{model=\"claude-3\",type="
                   "\"completion\"} 15"));
    CHECK(has(out, "llmproxy_tokens_total{model=\"claude-3\",type=\"cached\"}"
                   " 12"));
    CHECK(has(out, "llmproxy_cost_total{model=\"claude-3\"} 0.375"));
    CHECK(has(out, "# TYPE llmproxy_backend_duration_seconds histogram"));
    CHECK(has(out, "llmproxy_backend_duration_seconds_bucket{model="
                   "\"claude-3\",le=\"0.25\"} 0"));
    CHECK(has(out, "llmproxy_backend_duration_seconds_bucket{model="
                   "\"claude-3\",le=\"0.5\"} 3"));
    CHECK(has(out, "llmproxy_backend_duration_seconds_bucket{model="
                   "\"claude-3\",le=\"+Inf\"} 3"));
    CHECK(has(out, "llmproxy_backend_duration_seconds_count{model="
                   "\"claude-3\"} 3"));
    CHECK(has(out, "llmproxy_backend_duration_seconds_bucket{model="
                   "\"claude-3\",le=\"300\"} 3"));
    CHECK(has(out, "llmproxy_time_to_first_token_seconds_bucket{model="
                   "\"claude-3\",le=\"0.1\"} 3"));
    CHECK(has(out, "llmproxy_active_streams 1"));
    /* no tokens: no series */
    CHECK(!strstr(out, "llmproxy_tokens_total{model=\"x\""));
    CHECK(!strstr(out, "user="));
}

static void t_overflow(apr_pool_t *p)
{
    llmp_metrics_t *m = table(p, 2, 0);
    const char *names[] = { "a", "b", "c", "d" };
    char longname[200];
    const char *out;
    int i;

    for (i = 0; i < 4; i++) {
        llmp_metrics_event_t e = ev(names[i], "openai", "chat.completions",
                                    200);
        e.has_tokens = 1;
        e.prompt_tokens = 1;
        llmp_metrics_add(m, &e);
        llmp_metrics_add(m, &e);
    }
    memset(longname, 'z', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    {
        llmp_metrics_event_t e = ev(longname, "openai", "chat.completions",
                                    200);
        llmp_metrics_add(m, &e);
    }
    out = render(p, m);
    /* two slots taken by two of the models, the rest under "other" */
    CHECK(has(out, "llmproxy_requests_total{model=\"other\",provider="
                   "\"other\",endpoint=\"chat.completions\",status=\"200\"} 5"));
    CHECK(has(out, "llmproxy_tokens_total{model=\"other\",type=\"prompt\"}"
                   " 4"));
    CHECK(!strstr(out, "zzzz"));
    {
        int named = 0;
        for (i = 0; i < 4; i++) {
            char *l = apr_psprintf(p, "llmproxy_requests_total{model=\"%s\","
                "provider=\"openai\",endpoint=\"chat.completions\","
                "status=\"200\"} 2", names[i]);
            named += has(out, l);
        }
        CHECK_INT(named, 2);
    }
    /* no slot at all: everything is "other" */
    m = table(p, 0, 0);
    {
        llmp_metrics_event_t e = ev("a", "openai", "embeddings", 200);
        llmp_metrics_add(m, &e);
    }
    CHECK(has(render(p, m), "llmproxy_requests_total{model=\"other\","
              "provider=\"other\",endpoint=\"embeddings\",status=\"200\"} 1"));
}

static void t_users_and_escaping(apr_pool_t *p)
{
    llmp_metrics_t *m = table(p, 4, 2);
    const char *users[] = { "alice", "bob", "carol", NULL };
    const char *out;
    int i;

    for (i = 0; i < 4; i++) {
        llmp_metrics_event_t e = ev("m\"1\\\n", "openai", "chat.completions",
                                    200);
        e.user = users[i];
        e.cost = 0.5;
        llmp_metrics_add(m, &e);
    }
    out = render(p, m);
    /* two user slots: alice and bob get them, carol counts as "other",
     * no user ("-") has its own */
    CHECK(strstr(out, "model=\"m\\\"1\\\\\\n\"") != NULL);
    for (i = 0; i < 4; i++) {
        const char *u = i == 2 ? "other" : users[i] ? users[i] : "-";
        CHECK(has(out, apr_psprintf(p, "llmproxy_requests_total{model="
            "\"m\\\"1\\\\\\n\",provider=\"openai\",endpoint="
            "\"chat.completions\",status=\"200\",user=\"%s\"} 1", u)));
        CHECK(has(out, apr_psprintf(p, "llmproxy_cost_total{model="
            "\"m\\\"1\\\\\\n\",user=\"%s\"} 0.5", u)));
    }
    CHECK(!strstr(out, "carol"));
    /* the "-" slots never take a model's or a user's */
    m = table(p, 1, 1);
    for (i = 0; i < 3; i++) {
        llmp_metrics_event_t e = ev(i ? "a" : NULL, i ? "openai" : NULL,
                                    "models", 200);
        e.user = i == 2 ? "dave" : NULL;
        llmp_metrics_add(m, &e);
    }
    out = render(p, m);
    CHECK(has(out, "llmproxy_requests_total{model=\"-\",provider=\"-\","
                   "endpoint=\"models\",status=\"200\",user=\"-\"} 1"));
    CHECK(has(out, "llmproxy_requests_total{model=\"a\",provider="
                   "\"openai\",endpoint=\"models\",status=\"200\",user="
                   "\"dave\"} 1"));
}

static void t_kept(apr_pool_t *p)
{
    llmp_metrics_dims_t d = { 4, 0 }, d2 = { 5, 0 };
    apr_size_t n = llmp_metrics_size(&d2);
    void *mem = apr_pcalloc(p, n);
    llmp_metrics_t *m;
    llmp_metrics_event_t e = ev("a", "openai", "chat.completions", 200);
    int kept = -1;

    CHECK(llmp_metrics_open(p, mem, llmp_metrics_size(&d) - 1, &d, &kept)
          == NULL);
    m = llmp_metrics_open(p, mem, n, &d, &kept);
    CHECK_INT(kept, 0);
    llmp_metrics_add(m, &e);
    m = llmp_metrics_open(p, mem, n, &d, &kept);
    CHECK_INT(kept, 1);
    llmp_metrics_add(m, &e);
    CHECK(has(render(p, m), "llmproxy_requests_total{model=\"a\",provider="
              "\"openai\",endpoint=\"chat.completions\",status=\"200\"} 2"));
    /* other dimensions: a new table */
    m = llmp_metrics_open(p, mem, n, &d2, &kept);
    CHECK_INT(kept, 0);
    CHECK(!strstr(render(p, m), "llmproxy_requests_total{"));
}

/* Several processes add to one shared table at once: nothing is lost. */
static void t_processes(apr_pool_t *p)
{
    llmp_metrics_dims_t d = { 16, 0 };
    apr_size_t n = llmp_metrics_size(&d);
    void *mem = mmap(NULL, n, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    llmp_metrics_t *m;
    int kept, k, i, status, nproc = 4, each = 5000;
    pid_t kids[4];

    CHECK(mem != MAP_FAILED);
    if (mem == MAP_FAILED) return;
    m = llmp_metrics_open(p, mem, n, &d, &kept);
    for (k = 0; k < nproc; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            for (i = 0; i < each; i++) {
                char model[16];
                llmp_metrics_event_t e;
                snprintf(model, sizeof(model), "m%d", i % 24);
                e = ev(model, "openai", "chat.completions", 200);
                e.has_tokens = 1;
                e.prompt_tokens = 2;
                e.cost = 0.25;
                e.duration = 1;
                llmp_metrics_add(m, &e);
            }
            _exit(0);
        }
    }
    for (k = 0; k < nproc; k++) waitpid(kids[k], &status, 0);
    {
        const char *out = render(p, m);
        const char *s = out;
        long long total = 0, tokens = 0, v;
        while ((s = strstr(s, "llmproxy_requests_total{")) != NULL) {
            s = strchr(s, '}');
            if (sscanf(s, "} %lld", &v) == 1) total += v;
        }
        s = out;
        while ((s = strstr(s, "llmproxy_tokens_total{")) != NULL) {
            s = strchr(s, '}');
            if (sscanf(s, "} %lld", &v) == 1) tokens += v;
        }
        CHECK_INT(total, nproc * each);
        CHECK_INT(tokens, 2 * nproc * each);
        /* 16 slots for 24 names: some under "other", every one once */
        s = out;
        v = 0;
        while ((s = strstr(s, "llmproxy_backend_duration_seconds_count{"))) {
            long long c;
            s = strchr(s, '}');
            if (sscanf(s, "} %lld", &c) == 1) v += c;
        }
        CHECK_INT(v, nproc * each);
        CHECK(strstr(out, "llmproxy_requests_total{model=\"other\"") != NULL);
    }
    munmap(mem, n);
}

static void t_sources(apr_pool_t *p)
{
    llmp_metrics_t *m = table(p, 1, 0);
    llmp_metrics_source_t src[2] = {
        { "https://u:pw@gw.example/models?key=1", 1, 12, 30.5, 2 },
        { "http://other/list", 0, 0, 0, 7 }
    };
    apr_size_t len;
    const char *out = llmp_metrics_render(p, m, src, 2, NULL, &len);

    CHECK(has(out, "llmproxy_model_list_models{source=\"https://"
                   "gw.example/models\"} 12"));
    CHECK(has(out, "llmproxy_model_list_age_seconds{source=\"https://"
                   "gw.example/models\"} 30.5"));
    CHECK(has(out, "llmproxy_model_list_fetch_failures_total{source="
                   "\"http://other/list\"} 7"));
    CHECK(has(out, "llmproxy_model_list_models{source=\"http://other/list\"}"
                   " 0"));
    CHECK(!strstr(out, "age_seconds{source=\"http://other"));
    CHECK(!strstr(out, "pw"));
    CHECK(has(out, "# TYPE llmproxy_model_list_age_seconds gauge"));
    CHECK(has(out, "llmproxy_active_streams 0"));
}

/* Refusals by limit: a known name as its label, anything else "other";
 * the back-off gauge from the scrape's extras. */
static void t_limits_and_backoff(apr_pool_t *p)
{
    llmp_metrics_t *m = table(p, 4, 0);
    llmp_metrics_event_t e = ev("gpt-4o", "openai", "chat.completions", 429);
    llmp_metrics_extra_t x = { 2 };
    const char *bad[] = { "requests/minute", "requests/minute/user/x",
                          "Requests/minute/user", "requests//user",
                          "tokens/week/model", "", "cost/day/\"x\"",
                          "/minute/user" };
    const char *out;
    apr_size_t len;
    int i;

    out = render(p, m);
    CHECK(strstr(out, "# TYPE llmproxy_limit_refusals_total counter\n"));
    CHECK(!strstr(out, "llmproxy_limit_refusals_total{"));
    CHECK(has(out, "llmproxy_pool_members_in_backoff 0"));
    CHECK(has(out, "llmproxy_usage_db_failures_total 0"));

    e.limit = "requests/minute/user";
    llmp_metrics_add(m, &e);
    llmp_metrics_add(m, &e);
    e.limit = "cost/month/server";
    llmp_metrics_add(m, &e);
    e.limit = "tokens/second/model";
    llmp_metrics_add(m, &e);
    for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
        e.limit = bad[i];
        llmp_metrics_add(m, &e);
    }
    e.limit = NULL;
    llmp_metrics_add(m, &e);
    out = llmp_metrics_render(p, m, NULL, 0, &x, &len);
    CHECK_INT(strlen(out), len);
    CHECK(has(out, "llmproxy_limit_refusals_total{limit=\"requests/minute/user\"} 2"));
    CHECK(has(out, "llmproxy_limit_refusals_total{limit=\"cost/month/server\"} 1"));
    CHECK(has(out, "llmproxy_limit_refusals_total{limit=\"tokens/second/model\"} 1"));
    CHECK(has(out, "llmproxy_limit_refusals_total{limit=\"other\"} 8"));
    CHECK(has(out, "llmproxy_pool_members_in_backoff 2"));
    CHECK(has(out, "llmproxy_requests_total{model=\"gpt-4o\",provider=\"openai\","
                   "endpoint=\"chat.completions\",status=\"429\"} 13"));
}

TEST_MAIN_BEGIN("metrics")
    RUN(t_counts);
    RUN(t_overflow);
    RUN(t_users_and_escaping);
    RUN(t_kept);
    RUN(t_processes);
    RUN(t_sources);
    RUN(t_limits_and_backoff);
TEST_MAIN_END
