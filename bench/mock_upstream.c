/* bench/mock_upstream.c: a fast mock LLM gateway for `make bench` and the
 * soak (loopback only). Plain HTTP/1.1 keep-alive, epoll, one event loop per
 * thread (SO_REUSEPORT), libc only. Never meant to be the bottleneck.
 *
 *   mock_upstream -p PORT [-n MODELS] [-t THREADS] [-a TOKEN]
 *                 [-k EVENTS] [-d DELAY_US] [-D PACED_DELAY_US]
 *
 * Every request except /__stats and /__ctl needs "Authorization: OAuth TOKEN".
 *   GET  /models                       the list: N entries (fillers first, then
 *                                      the bench models below, last)
 *   POST /openai/v1/chat/completions   OpenAI JSON, or SSE when "stream":true
 *   POST /anthropic/v1/messages        Anthropic JSON, or the Anthropic SSE
 *                                      event sequence when "stream":true
 *   GET  /__stats                      {"connections":..,"requests":..,...}
 *   GET  /__ctl?models=N&status=S&events=K&delay_us=D&paced_us=P
 *                                      change the list size, make /models
 *                                      answer S (503: the list is "down"),
 *                                      stream length and delays
 * Behaviour by model (the "model" field of the body):
 *   gpt-bench, claude-bench     K events, DELAY_US apart (default 0)
 *   gpt-paced, claude-paced     K events, PACED_DELAY_US apart (default 2 ms)
 *   bench-reset                 stream: RST after 3 events; JSON: RST at once
 *   bench-stall, claude-stall   stream: silence after 3 events; JSON: never
 *                               answers (the proxy's timeout must fire)
 *   bench-garbage, claude-garbage   a body / events that are not JSON
 * Each streamed content delta carries "ts:<CLOCK_MONOTONIC µs>" stamped when
 * the event is written, so a client can measure per-event delivery latency.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---- configuration and counters (shared by the threads) ---- */
static int g_port = 19001;
static const char *g_token = "benchtoken";
static volatile int g_events = 50;          /* K */
static volatile long g_delay_us = 0;        /* *-bench streams */
static volatile long g_paced_us = 2000;     /* *-paced streams */
static volatile int g_models_status = 200;

static pthread_mutex_t g_list_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_list;                        /* the /models document */
static size_t g_list_len;
static int g_nmodels = 10;

static unsigned long g_conns, g_requests, g_open, g_list_fetches,
                     g_stream_events, g_resets;

#define ADD(v, n) __atomic_add_fetch(&(v), (n), __ATOMIC_RELAXED)
#define GET(v) __atomic_load_n(&(v), __ATOMIC_RELAXED)

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* ---- growable buffer ---- */
typedef struct { char *p; size_t len, cap, off; } buf_t;

static void buf_reserve(buf_t *b, size_t n)
{
    if (b->len + n + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) { perror("realloc"); exit(1); }
    b->cap = cap;
}

static void buf_add(buf_t *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        size_t room = b->cap > b->len ? b->cap - b->len : 0;
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < room) { b->len += (size_t)n; return; }
        buf_reserve(b, (size_t)n + 1);
    }
}

/* ---- the model list ---- */
static const char *const named_models[][2] = {
    {"gpt-bench", "/openai/v1/chat/completions"},
    {"claude-bench", "/anthropic/v1/messages"},
    {"gpt-paced", "/openai/v1/chat/completions"},
    {"claude-paced", "/anthropic/v1/messages"},
    {"bench-reset", "/openai/v1/chat/completions"},
    {"bench-stall", "/openai/v1/chat/completions"},
    {"bench-garbage", "/openai/v1/chat/completions"},
    {"claude-garbage", "/anthropic/v1/messages"},
    {"claude-stall", "/anthropic/v1/messages"},
};
#define NNAMED (int)(sizeof(named_models) / sizeof(named_models[0]))

static void build_list(int n)
{
    buf_t b = {0};
    int i, fillers = n > NNAMED ? n - NNAMED : 0;

    buf_printf(&b, "{\"models\": [\n");
    for (i = 0; i < fillers; i++)
        buf_printf(&b, "{\"model_version\":\"filler-model-%05d\","
                   "\"model_family\":\"filler\",\"handle\":\"%s\","
                   "\"prompt_price_1k\":0.001,\"completion_price_1k\":0.002},\n",
                   i, (i % 2) ? "/anthropic/v1/messages"
                              : "/openai/v1/chat/completions");
    for (i = 0; i < NNAMED; i++)
        buf_printf(&b, "{\"model_version\":\"%s\",\"model_family\":\"%s\","
                   "\"handle\":\"%s\",\"prompt_price_1k\":0.001,"
                   "\"completion_price_1k\":0.002}%s\n", named_models[i][0],
                   strstr(named_models[i][1], "anthropic") ? "claude" : "gpt-4",
                   named_models[i][1], i + 1 < NNAMED ? "," : "");
    buf_printf(&b, "]}\n");
    pthread_mutex_lock(&g_list_mu);
    free(g_list);
    g_list = b.p;
    g_list_len = b.len;
    g_nmodels = fillers + NNAMED;
    pthread_mutex_unlock(&g_list_mu);
}

/* ---- connections ---- */
enum { ST_READ, ST_STREAM, ST_STALL };
enum { PROV_OPENAI, PROV_ANTHROPIC };

typedef struct conn {
    int fd, tfd;
    int state;
    int closed;
    struct conn *next_dead;
    int want_close;          /* close once the output is written */
    int reset_now;           /* RST once the output is written */
    buf_t in, out;
    /* the stream in progress */
    int prov, idx, total, reset_after, stall_after, garbage;
    long delay_us;
    char model[64];
} conn_t;

typedef struct loop { int ep; struct conn *dead; } loop_t;

#define TAG_TIMER 1UL

static void conn_close(loop_t *l, conn_t *c)
{
    epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->tfd >= 0) {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, c->tfd, NULL);
        close(c->tfd);
        c->tfd = -1;
    }
    c->closed = 1;
    c->next_dead = l->dead;    /* freed after this epoll batch */
    l->dead = c;
    ADD(g_open, -1UL);
}

static void conn_reset(loop_t *l, conn_t *c)
{
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ADD(g_resets, 1);
    conn_close(l, c);
}

static void want_out(loop_t *l, conn_t *c, int on)
{
    struct epoll_event ev;
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is pending. Returns -1 when the connection was closed. */
static int flush_out(loop_t *l, conn_t *c)
{
    while (c->out.off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len - c->out.off,
                         MSG_NOSIGNAL);
        if (n > 0) { c->out.off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want_out(l, c, 1);
            return 0;
        }
        conn_close(l, c);
        return -1;
    }
    c->out.len = c->out.off = 0;
    want_out(l, c, 0);
    if (c->reset_now) { conn_reset(l, c); return -1; }
    if (c->want_close && c->state == ST_READ) { conn_close(l, c); return -1; }
    return 0;
}

static void respond(conn_t *c, int status, const char *ctype, const char *body,
                    size_t len)
{
    const char *reason = status == 200 ? "OK" : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found" : status == 400
                       ? "Bad Request" : "Service Unavailable";
    buf_printf(&c->out, "HTTP/1.1 %d %s\r\nServer: mock-bench\r\n"
               "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
               reason, ctype, len, c->want_close ? "Connection: close\r\n" : "");
    buf_add(&c->out, body, len);
}

static void respond_json(conn_t *c, int status, const char *json)
{
    respond(c, status, "application/json", json, strlen(json));
}

/* one chunk of a chunked body */
static void chunk(buf_t *b, const char *data, size_t len)
{
    buf_printf(b, "%zx\r\n", len);
    buf_add(b, data, len);
    buf_add(b, "\r\n", 2);
}

static void chunkf(buf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof(tmp)) n = sizeof(tmp) - 1;
    chunk(b, tmp, (size_t)n);
}

#define OAI_CHUNK "data: {\"id\":\"chatcmpl-bench\",\"object\":" \
    "\"chat.completion.chunk\",\"created\":1732000000,\"model\":\"%s\"," \
    "\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n"

static void stream_head(conn_t *c)
{
    buf_printf(&c->out, "HTTP/1.1 200 OK\r\nServer: mock-bench\r\n"
               "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               "X-Accel-Buffering: no\r\n"
               "Transfer-Encoding: chunked\r\n%s\r\n",
               c->want_close ? "Connection: close\r\n" : "");
    if (c->garbage) return;
    if (c->prov == PROV_ANTHROPIC) {
        chunkf(&c->out, "event: message_start\ndata: {\"type\":\"message_start\","
               "\"message\":{\"id\":\"msg_bench01\",\"type\":\"message\",\"role\":"
               "\"assistant\",\"content\":[],\"model\":\"%s\",\"stop_reason\":null,"
               "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
               "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
               "\"output_tokens\":1}}}\n\n", c->model);
        chunkf(&c->out, "event: content_block_start\ndata: {\"type\":"
               "\"content_block_start\",\"index\":0,\"content_block\":"
               "{\"type\":\"text\",\"text\":\"\"}}\n\n");
    }
    else {
        chunkf(&c->out, OAI_CHUNK, c->model,
               "{\"role\":\"assistant\",\"content\":\"\"}", "null");
    }
}

static void stream_event(conn_t *c)
{
    long long ts = now_us();

    ADD(g_stream_events, 1);
    if (c->garbage)
        chunkf(&c->out, "data: {\"this is\": not json ts:%lld\n\n", ts);
    else if (c->prov == PROV_ANTHROPIC)
        chunkf(&c->out, "event: content_block_delta\ndata: {\"type\":"
               "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
               "\"text_delta\",\"text\":\"ts:%lld tok%d \"}}\n\n", ts, c->idx);
    else {
        char delta[96];
        snprintf(delta, sizeof(delta), "{\"content\":\"ts:%lld tok%d \"}", ts,
                 c->idx);
        chunkf(&c->out, OAI_CHUNK, c->model, delta, "null");
    }
    c->idx++;
}

static void stream_tail(conn_t *c)
{
    if (c->garbage) {
        chunkf(&c->out, "data: [DONE]\n\n");
    }
    else if (c->prov == PROV_ANTHROPIC) {
        chunkf(&c->out, "event: content_block_stop\ndata: {\"type\":"
               "\"content_block_stop\",\"index\":0}\n\n");
        chunkf(&c->out, "event: message_delta\ndata: {\"type\":\"message_delta\","
               "\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
               "\"usage\":{\"output_tokens\":%d}}\n\n", c->total);
        chunkf(&c->out, "event: message_stop\ndata: {\"type\":"
               "\"message_stop\"}\n\n");
    }
    else {
        chunkf(&c->out, OAI_CHUNK, c->model, "{}", "\"stop\"");
        chunkf(&c->out, "data: [DONE]\n\n");
    }
    buf_add(&c->out, "0\r\n\r\n", 5);
}

static void arm_timer(loop_t *l, conn_t *c)
{
    struct itimerspec its;

    if (c->tfd < 0) {
        struct epoll_event ev;
        c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (c->tfd < 0) { perror("timerfd_create"); exit(1); }
        ev.events = EPOLLIN;
        ev.data.u64 = (unsigned long)c | TAG_TIMER;
        epoll_ctl(l->ep, EPOLL_CTL_ADD, c->tfd, &ev);
    }
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = c->delay_us / 1000000;
    its.it_value.tv_nsec = (c->delay_us % 1000000) * 1000;
    if (!its.it_value.tv_sec && !its.it_value.tv_nsec) its.it_value.tv_nsec = 1;
    timerfd_settime(c->tfd, 0, &its, NULL);
}

/* Produce what the stream has to say now. Returns -1 when c was closed. */
static int stream_step(loop_t *l, conn_t *c)
{
    for (;;) {
        if (c->reset_after >= 0 && c->idx >= c->reset_after) {
            if (flush_out(l, c) < 0) return -1;
            conn_reset(l, c);
            return -1;
        }
        if (c->stall_after >= 0 && c->idx >= c->stall_after) {
            c->state = ST_STALL;          /* silence until the client leaves */
            return flush_out(l, c);
        }
        if (c->idx >= c->total) {
            stream_tail(c);
            c->state = ST_READ;
            return flush_out(l, c);
        }
        stream_event(c);
        if (c->delay_us > 0) {
            if (flush_out(l, c) < 0) return -1;
            arm_timer(l, c);
            return 0;
        }
    }
}

static const char *OAI_JSON =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":"
    "1732000000,\"model\":\"%s\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Hello! How can I help you today? "
    "This is the benchmark answer.\"},\"logprobs\":null,\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":12,"
    "\"total_tokens\":132}}";

static const char *ANT_JSON =
    "{\"id\":\"msg_bench01\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"%s\",\"content\":[{\"type\":\"text\",\"text\":\"Hello! How "
    "can I help you today? This is the benchmark answer.\"}],\"stop_reason\":"
    "\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":120,"
    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
    "\"output_tokens\":12}}";

/* "model": "<value>" of a JSON body, found by text (good enough here) */
static void body_model(const char *body, char *out, size_t outsz)
{
    const char *p = strstr(body, "\"model\"");
    size_t n = 0;

    out[0] = '\0';
    if (!p) return;
    p += 7;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':') p++;
    if (*p != '"') return;
    p++;
    while (*p && *p != '"' && n + 1 < outsz) out[n++] = *p++;
    out[n] = '\0';
}

static int body_stream(const char *body)
{
    const char *p = strstr(body, "\"stream\"");
    if (!p) return 0;
    p += 8;
    while (*p == ' ' || *p == ':' || *p == '\t') p++;
    return !strncmp(p, "true", 4);
}

static int header_value(const char *hdrs, const char *name, char *out,
                        size_t outsz)
{
    size_t nl = strlen(name);
    const char *p = hdrs;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            size_t n;
            while (*v == ' ' || *v == '\t') v++;
            e = strstr(v, "\r\n");
            n = e ? (size_t)(e - v) : strlen(v);
            if (n >= outsz) n = outsz - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
    }
    return 0;
}

static long qparam(const char *q, const char *name, long dflt)
{
    size_t nl = strlen(name);
    const char *p = q;
    while (p && *p) {
        if (!strncmp(p, name, nl) && p[nl] == '=') return atol(p + nl + 1);
        p = strchr(p, '&');
        if (p) p++;
    }
    return dflt;
}

static void handle_request(loop_t *l, conn_t *c, const char *method,
                           char *path, const char *hdrs, const char *body)
{
    char auth[256], model[64];
    char *q = strchr(path, '?');
    int prov;

    if (q) *q++ = '\0';
    ADD(g_requests, 1);
    if (!strcmp(path, "/__stats")) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "{\"connections\":%lu,\"requests\":%lu,"
                 "\"open\":%lu,\"list_fetches\":%lu,\"stream_events\":%lu,"
                 "\"resets\":%lu,\"models\":%d,\"models_status\":%d}\n",
                 GET(g_conns), GET(g_requests), GET(g_open),
                 GET(g_list_fetches), GET(g_stream_events), GET(g_resets),
                 g_nmodels, g_models_status);
        respond_json(c, 200, tmp);
        return;
    }
    if (!strcmp(path, "/__ctl")) {
        long n = qparam(q, "models", -1);
        if (n > 0) build_list((int)n);
        g_models_status = (int)qparam(q, "status", g_models_status);
        g_events = (int)qparam(q, "events", g_events);
        g_delay_us = qparam(q, "delay_us", g_delay_us);
        g_paced_us = qparam(q, "paced_us", g_paced_us);
        respond_json(c, 200, "{\"ok\":true}\n");
        return;
    }
    snprintf(auth, sizeof(auth), "OAuth %s", g_token);
    {
        char got[256];
        if (!header_value(hdrs, "Authorization", got, sizeof(got))
            || strcmp(got, auth)) {
            respond_json(c, 401, "{\"error\":{\"message\":\"missing or wrong "
                         "OAuth token\",\"type\":\"authentication_error\"}}\n");
            return;
        }
    }
    if (!strcmp(path, "/models") && !strcmp(method, "GET")) {
        ADD(g_list_fetches, 1);
        if (g_models_status != 200) {
            c->want_close = 1;
            respond(c, g_models_status, "application/json",
                    "{\"error\":\"list down\"}", 21);
            return;
        }
        pthread_mutex_lock(&g_list_mu);
        respond(c, 200, "application/json", g_list, g_list_len);
        pthread_mutex_unlock(&g_list_mu);
        return;
    }
    if (!strcmp(path, "/openai/v1/chat/completions")) prov = PROV_OPENAI;
    else if (!strcmp(path, "/anthropic/v1/messages")) prov = PROV_ANTHROPIC;
    else {
        respond_json(c, 404, "{\"error\":{\"message\":\"no such path\"}}\n");
        return;
    }
    if (strcmp(method, "POST")) {
        respond_json(c, 400, "{\"error\":{\"message\":\"POST only\"}}\n");
        return;
    }
    body_model(body, model, sizeof(model));
    if (!model[0]) {
        respond_json(c, 400, "{\"error\":{\"message\":\"no model\"}}\n");
        return;
    }
    memcpy(c->model, model, sizeof(model));
    c->prov = prov;
    c->garbage = strstr(model, "garbage") != NULL;
    c->reset_after = strstr(model, "reset") ? 3 : -1;
    c->stall_after = strstr(model, "stall") ? 3 : -1;
    if (!body_stream(body)) {
        char tmp[1024];
        if (c->reset_after >= 0) { c->reset_now = 1; return; }
        if (c->stall_after >= 0) { c->state = ST_STALL; return; }
        if (c->garbage) {
            respond(c, 200, "application/json", "<html>garbage{{{ not json",
                    25);
            return;
        }
        snprintf(tmp, sizeof(tmp), prov == PROV_ANTHROPIC ? ANT_JSON : OAI_JSON,
                 model);
        respond_json(c, 200, tmp);
        return;
    }
    c->idx = 0;
    c->total = g_events;
    c->delay_us = strstr(model, "paced") ? g_paced_us
                : (c->stall_after >= 0 || c->reset_after >= 0) ? 1000
                : g_delay_us;
    c->state = ST_STREAM;
    stream_head(c);
    (void)l;
}

/* Parse and answer the complete requests in c->in. -1: c closed. */
static int process_input(loop_t *l, conn_t *c)
{
    while (c->state == ST_READ && c->in.len > 0) {
        char *end = strstr(c->in.p, "\r\n\r\n");
        char method[16], path[1024], ver[16], tmp[64];
        size_t hlen, blen = 0, total;
        char *body, save;

        if (!end) {
            if (c->in.len > 65536) { conn_close(l, c); return -1; }
            return 0;
        }
        hlen = (size_t)(end - c->in.p) + 4;
        end[2] = '\0';   /* headers end with one \r\n, NUL after it */
        if (sscanf(c->in.p, "%15s %1023s %15s", method, path, ver) != 3) {
            conn_close(l, c);
            return -1;
        }
        if (header_value(c->in.p, "Content-Length", tmp, sizeof(tmp)))
            blen = (size_t)atol(tmp);
        else if (header_value(c->in.p, "Transfer-Encoding", tmp, sizeof(tmp))
                 && strcasestr(tmp, "chunked")) {
            char *z;
            end[2] = '\r';
            z = strstr(c->in.p + hlen - 2, "\r\n0\r\n\r\n");
            if (!z) { end[2] = '\r'; return 0; }
            blen = (size_t)(z + 7 - (c->in.p + hlen));
            end[2] = '\0';
        }
        total = hlen + blen;
        if (c->in.len < total) { end[2] = '\r'; return 0; }
        c->want_close = !strcmp(ver, "HTTP/1.0");
        if (header_value(c->in.p, "Connection", tmp, sizeof(tmp)))
            c->want_close = strcasestr(tmp, "close") ? 1
                          : strcasestr(tmp, "keep-alive") ? 0 : c->want_close;
        body = c->in.p + hlen;
        save = body[blen];
        body[blen] = '\0';
        handle_request(l, c, method, path, c->in.p, body);
        body[blen] = save;
        memmove(c->in.p, c->in.p + total, c->in.len - total);
        c->in.len -= total;
        if (c->in.p) c->in.p[c->in.len] = '\0';
        if (c->state == ST_STREAM) {
            if (stream_step(l, c) < 0) return -1;
        }
        else if (flush_out(l, c) < 0) return -1;
    }
    return 0;
}

static int listen_socket(void)
{
    struct sockaddr_in sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0) { perror("socket"); exit(1); }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)g_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bind");
        exit(1);
    }
    if (listen(fd, 4096) < 0) { perror("listen"); exit(1); }
    return fd;
}

static void *loop_main(void *arg)
{
    loop_t l;
    int lfd = listen_socket();
    struct epoll_event ev, evs[256];

    (void)arg;
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.dead = NULL;
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(l.ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int i, n = epoll_wait(l.ep, evs, 256, -1);
        while (l.dead) {
            conn_t *d = l.dead;
            l.dead = d->next_dead;
            free(d->in.p);
            free(d->out.p);
            free(d);
        }
        for (i = 0; i < n; i++) {
            unsigned long u = evs[i].data.u64;
            conn_t *c;
            if (!evs[i].data.ptr) {
                for (;;) {
                    int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK
                                              | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    c->tfd = -1;
                    c->state = ST_READ;
                    ADD(g_conns, 1);
                    ADD(g_open, 1);
                    ev.events = EPOLLIN | EPOLLRDHUP;
                    ev.data.ptr = c;
                    epoll_ctl(l.ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (u & TAG_TIMER) {
                unsigned long long exp;
                c = (conn_t *)(u & ~TAG_TIMER);
                if (c->closed) continue;
                if (read(c->tfd, &exp, sizeof(exp)) < 0) continue;
                if (c->state == ST_STREAM && stream_step(&l, c) < 0) continue;
                if (c->state == ST_READ) process_input(&l, c);
                continue;
            }
            c = evs[i].data.ptr;
            if (c->closed) continue;
            if (evs[i].events & EPOLLOUT) {
                if (flush_out(&l, c) < 0) continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                char tmp[16384];
                ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    conn_close(&l, c);
                    continue;
                }
                if (r > 0 && c->state == ST_STALL) continue;
                if (r > 0) {
                    buf_add(&c->in, tmp, (size_t)r);
                    if (c->state == ST_READ) process_input(&l, c);
                }
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int opt, i, threads = 1;
    int nmodels = 10;
    struct rlimit rl;
    pthread_t *tids;

    while ((opt = getopt(argc, argv, "p:n:t:a:k:d:D:")) != -1) {
        switch (opt) {
        case 'p': g_port = atoi(optarg); break;
        case 'n': nmodels = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'a': g_token = optarg; break;
        case 'k': g_events = atoi(optarg); break;
        case 'd': g_delay_us = atol(optarg); break;
        case 'D': g_paced_us = atol(optarg); break;
        default:
            fprintf(stderr, "usage: %s -p PORT [-n MODELS] [-t THREADS] "
                    "[-a TOKEN] [-k EVENTS] [-d DELAY_US] [-D PACED_US]\n",
                    argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    build_list(nmodels);
    if (threads < 1) threads = 1;
    tids = calloc((size_t)threads, sizeof(*tids));
    for (i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, loop_main, NULL);
    fprintf(stderr, "mock_upstream: 127.0.0.1:%d, %d models, %d thread(s)\n",
            g_port, g_nmodels, threads);
    for (i = 0; i < threads; i++) pthread_join(tids[i], NULL);
    return 0;
}
