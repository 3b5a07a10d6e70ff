/* bench/streamlat.c: per-event stream latency client for `make bench` and
 * `sh bench/run.sh latency` (loopback only). One thread, epoll, libc only.
 *
 *   streamlat latency --port P [--path PATH] [--model M] [--streams C]
 *                     [--duration S] [--clock kernel|user]
 *       C concurrent streams for S seconds; prints the JSON line
 *       bench/streamclient.py prints: {"events","p50_us","p90_us","p99_us",
 *       "max_us","outcomes"} (+ "clock").
 *   streamlat multi [--duration S] [--clock kernel|user] SPEC...
 *       SPEC = LABEL=PORT,PATH,MODEL,STREAMS: every SPEC's streams run at
 *       the same time, for S seconds; one JSON line per SPEC (+ "label").
 *       `run.sh latency` runs the direct stream and a proxied one side by
 *       side this way, so both see the same machine in the same seconds.
 *
 * Every content event from bench/mock_upstream carries "ts:<CLOCK_MONOTONIC
 * µs> " stamped when the mock writes it. The arrival of an event is taken,
 * with --clock kernel (the default), from the kernel's receive time stamp
 * of the bytes that completed it (SO_TIMESTAMPNS: when they reached this
 * socket, CLOCK_REALTIME, brought to CLOCK_MONOTONIC by an offset measured
 * at each connect), so that this client's own wake-up and work add nothing;
 * --clock user takes CLOCK_MONOTONIC after the read returns (what an
 * application sees; falls back to it when the kernel gives no stamp).
 * The body is de-chunked as it comes and cut into events at the blank line;
 * only whole events are counted; on a /responses path only the
 * "response.output_text.delta" events (the .done events repeat the text).
 * Each stream is one request on its own connection (Connection: close).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "benchtoken"
#define MAXSPEC 16

typedef struct {
    long long *v;
    size_t n, cap;
} vec_t;

typedef struct spec {
    const char *label;
    int port;
    const char *path, *model;
    int streams;
    const char *only;            /* count the events that hold this only */
    char req[2048];
    size_t req_len;
    vec_t lat;
    long answer, error, lost;
    long kernel_ts, user_ts;     /* how the arrivals were taken */
} spec_t;

enum { H_HEAD, H_SIZE, H_DATA, H_DATA_CRLF, H_TRAILER, H_DONE };

typedef struct conn {
    spec_t *s;
    int fd;
    size_t sent;
    int connected;
    /* response */
    char head[4096];
    size_t head_len;
    int status, chunked, st;
    size_t chunk_left;
    char szline[32];
    size_t szlen;
    /* the current event (de-chunked body since the last blank line) */
    char *ev;
    size_t ev_len, ev_cap;
    char last_ev[256];           /* the start of the last whole event */
    size_t last_len;
    long long mono_off;          /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
    long long pend[64];          /* stamps of the event just completed */
    int npend, ev_done;
} conn_t;

static int g_use_kernel = 1;
static const char *g_dump;        /* --dump PREFIX: raw latencies */

static long long clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* REALTIME - MONOTONIC, from the tightest of a few sandwiches */
static long long mono_offset(void)
{
    long long best = 0, width = -1;
    int i;

    for (i = 0; i < 5; i++) {
        long long a = clock_ns(CLOCK_MONOTONIC);
        long long r = clock_ns(CLOCK_REALTIME);
        long long b = clock_ns(CLOCK_MONOTONIC);
        if (width < 0 || b - a < width) {
            width = b - a;
            best = r - (a + (b - a) / 2);
        }
    }
    return best;
}

static void vec_add(vec_t *v, long long x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4096;
        v->v = realloc(v->v, v->cap * sizeof(*v->v));
        if (!v->v) { perror("realloc"); exit(1); }
    }
    v->v[v->n++] = x;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* as streamclient.py: sorted[round(p/100 * (n-1))] */
static long long pct(const vec_t *v, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(v->n - 1) + 0.5);
    if (i >= v->n) i = v->n - 1;
    return v->v[i];
}

static void spec_prepare(spec_t *s)
{
    char body[512];
    int n;

    if (strstr(s->path, "/responses")) {
        n = snprintf(body, sizeof(body), "{\"model\": \"%s\", \"stream\": true, "
                     "\"input\": \"Say hello.\"}", s->model);
        s->only = "response.output_text.delta";
    }
    else if (strstr(s->path, "/messages"))
        n = snprintf(body, sizeof(body), "{\"model\": \"%s\", \"stream\": true, "
                     "\"max_tokens\": 256, \"messages\": [{\"role\": \"user\", "
                     "\"content\": \"Say hello.\"}]}", s->model);
    else
        n = snprintf(body, sizeof(body), "{\"model\": \"%s\", \"stream\": true, "
                     "\"messages\": [{\"role\": \"user\", \"content\": "
                     "\"Say hello.\"}]}", s->model);
    s->req_len = (size_t)snprintf(s->req, sizeof(s->req),
        "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: OAuth %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n"
        "Connection: close\r\n\r\n%s", s->path, TOKEN, n, body);
}

static conn_t *conn_open(int ep, spec_t *s)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1;
    conn_t *c = calloc(1, sizeof(*c));

    if (!c) { perror("calloc"); exit(1); }
    c->s = s;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { perror("socket"); exit(1); }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (g_use_kernel)
        setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    c->mono_off = mono_offset();
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        && errno != EINPROGRESS) {
        s->lost++;
        close(c->fd);
        free(c);
        return NULL;
    }
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return c;
}

static void conn_free(int ep, conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->ev);
    free(c);
}

/* a whole event (without its blank line): its stamps wait for the
 * arrival time of its last byte */
static void on_event(conn_t *c, const char *e, size_t n)
{
    spec_t *s = c->s;
    const char *p = e, *end = e + n;

    c->last_len = n < sizeof(c->last_ev) - 1 ? n : sizeof(c->last_ev) - 1;
    memcpy(c->last_ev, e, c->last_len);
    c->last_ev[c->last_len] = '\0';
    if (s->only && !memmem(e, n, s->only, strlen(s->only))) return;
    while ((p = memmem(p, (size_t)(end - p), "ts:", 3)) != NULL) {
        long long ts = 0;
        int digits = 0;
        p += 3;
        while (p < end && *p >= '0' && *p <= '9') {
            ts = ts * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits && p < end && *p == ' '
            && c->npend < (int)(sizeof(c->pend) / sizeof(c->pend[0])))
            c->pend[c->npend++] = ts;
    }
    c->ev_done = 1;
}

/* de-chunked body bytes; stops after the end of an event: returns the
 * bytes taken */
static size_t body_bytes(conn_t *c, const char *d, size_t n)
{
    size_t i;

    for (i = 0; i < n && !c->ev_done; i++) {
        if (c->ev_len + 1 >= c->ev_cap) {
            c->ev_cap = c->ev_cap ? c->ev_cap * 2 : 1024;
            c->ev = realloc(c->ev, c->ev_cap);
            if (!c->ev) { perror("realloc"); exit(1); }
        }
        c->ev[c->ev_len++] = d[i];
        if (d[i] == '\n' && c->ev_len >= 2 && c->ev[c->ev_len - 2] == '\n') {
            on_event(c, c->ev, c->ev_len - 2);
            c->ev_len = 0;
        }
    }
    return i;
}

/* The events feed() completed arrived at t (ns): their latencies. */
static void arrived(conn_t *c, long long t)
{
    int j;
    for (j = 0; j < c->npend; j++)
        vec_add(&c->s->lat, t / 1000 - c->pend[j]);
    c->npend = c->ev_done = 0;
}

/* bytes of the response as read, up to the end of the next event (then
 * c->ev_done is set) or of the response (c->st is H_DONE); returns the
 * bytes taken, -1 on a response that is not HTTP */
static long feed(conn_t *c, const char *d, size_t n)
{
    size_t i = 0;

    while (i < n && c->st != H_DONE && !c->ev_done) {
        switch (c->st) {
        case H_HEAD: {
            char *e;
            size_t take = n - i;
            if (take > sizeof(c->head) - 1 - c->head_len)
                take = sizeof(c->head) - 1 - c->head_len;
            if (!take) return -1;
            memcpy(c->head + c->head_len, d + i, take);
            c->head[c->head_len + take] = '\0';
            e = strstr(c->head, "\r\n\r\n");
            if (!e) { c->head_len += take; i += take; break; }
            {
                size_t hl = (size_t)(e + 4 - c->head);
                i += hl - c->head_len;
                c->head_len = hl;
                e[2] = '\0';
                if (sscanf(c->head, "HTTP/1.%*d %d", &c->status) != 1)
                    return -1;
                c->chunked = strcasestr(c->head, "\r\ntransfer-encoding: chunked")
                             != NULL;
                c->st = c->chunked ? H_SIZE : H_DATA;
                c->chunk_left = (size_t)-1;   /* not chunked: to EOF */
            }
            break;
        }
        case H_SIZE:
            if (d[i] == '\n') {
                c->szline[c->szlen] = '\0';
                c->chunk_left = strtoul(c->szline, NULL, 16);
                c->szlen = 0;
                c->st = c->chunk_left ? H_DATA : H_TRAILER;
            }
            else if (c->szlen < sizeof(c->szline) - 1)
                c->szline[c->szlen++] = d[i];
            i++;
            break;
        case H_DATA: {
            size_t take = n - i;
            if (take > c->chunk_left) take = c->chunk_left;
            take = body_bytes(c, d + i, take);
            i += take;
            if (c->chunked) {
                c->chunk_left -= take;
                if (!c->chunk_left) c->st = H_DATA_CRLF;
            }
            break;
        }
        case H_DATA_CRLF:
            if (d[i] == '\n') c->st = H_SIZE;
            i++;
            break;
        case H_TRAILER:
            /* "0\r\n" was read; the trailer ends with an empty line */
            if (d[i] == '\n') {
                if (c->szlen == 0) c->st = H_DONE;
                c->szlen = 0;
            }
            else if (d[i] != '\r') c->szlen++;
            i++;
            break;
        }
    }
    return (long)i;
}

/* how the stream ended: answer, error (an error event or status) or lost */
static void classify(conn_t *c, int complete)
{
    spec_t *s = c->s;
    const char *e = c->last_ev;

    if (!c->status || (!complete && c->chunked)) { s->lost++; return; }
    if (c->status != 200) { s->error++; return; }
    if (strstr(e, "[DONE]") || strstr(e, "message_stop")
        || strstr(e, "response.completed"))
        s->answer++;
    else if (strstr(e, "\"error\"") || strstr(e, "response.failed"))
        s->error++;
    else
        s->lost++;
}

static void print_spec(const spec_t *s, int with_label)
{
    spec_t *w = (spec_t *)s;

    if (g_dump) {
        /* every latency, in arrival order, one a line: PREFIX.LABEL */
        char fn[512];
        FILE *f;
        size_t k;
        snprintf(fn, sizeof(fn), "%s.%s", g_dump, s->label);
        if ((f = fopen(fn, "w")) != NULL) {
            for (k = 0; k < s->lat.n; k++) fprintf(f, "%lld\n", s->lat.v[k]);
            fclose(f);
        }
    }
    if (w->lat.n) qsort(w->lat.v, w->lat.n, sizeof(long long), cmp_ll);
    printf("{");
    if (with_label) printf("\"label\": \"%s\", ", s->label);
    if (s->lat.n)
        printf("\"events\": %zu, \"p50_us\": %lld, \"p90_us\": %lld, "
               "\"p99_us\": %lld, \"max_us\": %lld, ", s->lat.n,
               pct(&s->lat, 50), pct(&s->lat, 90), pct(&s->lat, 99),
               s->lat.v[s->lat.n - 1]);
    else
        printf("\"events\": 0, \"p50_us\": null, \"p90_us\": null, "
               "\"p99_us\": null, \"max_us\": null, ");
    printf("\"outcomes\": {");
    {
        const char *sep = "";
        if (s->answer) { printf("\"answer\": %ld", s->answer); sep = ", "; }
        if (s->error) { printf("%s\"error\": %ld", sep, s->error); sep = ", "; }
        if (s->lost) printf("%s\"lost\": %ld", sep, s->lost);
    }
    printf("}, \"clock\": \"%s\"}\n",
           s->kernel_ts && !s->user_ts ? "kernel"
           : s->kernel_ts ? "mixed" : "user");
}

/* One read of the kernel's receive time stamp, or of the clock (user, or
 * when no stamp came): the arrival of the bytes just taken, monotonic ns. */
static long long take(conn_t *c, char *buf, size_t n, ssize_t *got)
{
    char cbuf[CMSG_SPACE(sizeof(struct timespec)) * 2];
    struct iovec iov;
    struct msghdr mh;
    struct cmsghdr *cm;
    long long t = -1, tu;

    iov.iov_base = buf;
    iov.iov_len = n;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof(cbuf);
    do *got = recvmsg(c->fd, &mh, MSG_DONTWAIT);
    while (*got < 0 && errno == EINTR);
    tu = clock_ns(CLOCK_MONOTONIC);
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
            t = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - c->mono_off;
        }
    /* a stamp from the future or far past is not usable */
    if (!g_use_kernel || t > tu + 1000000 || t < tu - 10000000000LL) t = -1;
    if (*got > 0) {
        if (t < 0) c->s->user_ts++;
        else c->s->kernel_ts++;
    }
    return t < 0 ? tu : t;
}

/* Read what is there. With kernel stamps, the bytes are peeked first and
 * then taken up to the end of each event in turn: a read's stamp is that
 * of the last segment it took, so each event gets the arrival time of its
 * own last byte (not that of a later event read in the same call).
 * Returns 1 when the connection is done with (ended or failed). */
static int read_conn(conn_t *c)
{
    static char buf[65536], sink[65536];

    for (;;) {
        ssize_t r, got;
        long long t;
        size_t off = 0;

        if (!g_use_kernel) {
            t = take(c, buf, sizeof(buf), &r);
            if (r < 0 && errno == EAGAIN) return 0;
            if (r <= 0) return 1;
            while (off < (size_t)r) {
                long k = feed(c, buf + off, (size_t)r - off);
                if (k < 0) return 1;
                arrived(c, t);
                off += (size_t)k;
                if (c->st == H_DONE) return 1;
            }
            continue;
        }
        do r = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
        while (r < 0 && errno == EINTR);
        if (r < 0 && errno == EAGAIN) return 0;
        if (r <= 0) return 1;
        while (off < (size_t)r) {
            long k = feed(c, buf + off, (size_t)r - off);
            if (k < 0) return 1;
            t = take(c, sink, (size_t)k, &got);
            if (got != k) return 1;     /* the peeked bytes are there */
            arrived(c, t);
            off += (size_t)k;
            if (c->st == H_DONE) return 1;
        }
    }
}

static void run(spec_t *specs, int nspec, double duration)
{
    int ep = epoll_create1(EPOLL_CLOEXEC), i, open_n = 0;
    long long end = clock_ns(CLOCK_MONOTONIC) + (long long)(duration * 1e9);
    /* a stream never outlives the run by more than this */
    long long hard_end = end + 60000000000LL;
    struct epoll_event evs[64];

    if (ep < 0) { perror("epoll_create1"); exit(1); }
    for (i = 0; i < nspec; i++) spec_prepare(&specs[i]);
    /* the SPECs' streams opened in turn (A1 B1 A2 B2 ...): none of them
     * is always first at the mock */
    {
        int k, more = 1;
        for (k = 0; more; k++) {
            more = 0;
            for (i = 0; i < nspec; i++)
                if (k < specs[i].streams) {
                    if (conn_open(ep, &specs[i])) open_n++;
                    more = 1;
                }
        }
    }
    while (open_n > 0) {
        long long now = clock_ns(CLOCK_MONOTONIC);
        int n, timeout = (int)((hard_end - now) / 1000000);

        if (timeout <= 0) {
            fprintf(stderr, "streamlat: %d stream(s) still open 60 s after "
                    "the end\n", open_n);
            break;
        }
        n = epoll_wait(ep, evs, 64, timeout > 1000 ? 1000 : timeout);
        if (n < 0 && errno == EINTR) continue;
        for (i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            int done = 0, fail = 0;

            if (!c->connected && (evs[i].events & EPOLLOUT)) {
                struct epoll_event ev;
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) fail = 1;
                else {
                    ssize_t w = send(c->fd, c->s->req + c->sent,
                                     c->s->req_len - c->sent, MSG_NOSIGNAL);
                    if (w > 0) c->sent += (size_t)w;
                    else if (w < 0 && errno != EAGAIN) fail = 1;
                    if (c->sent == c->s->req_len) {
                        c->connected = 1;
                        ev.events = EPOLLIN | EPOLLRDHUP;
                        ev.data.ptr = c;
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    }
                }
            }
            if (!fail && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP
                                           | EPOLLERR))) {
                if (read_conn(c) != 0) done = 1;
            }
            if (fail || done) {
                spec_t *s = c->s;
                if (fail) s->lost++;
                else classify(c, c->st == H_DONE);
                conn_free(ep, c);
                open_n--;
                if (clock_ns(CLOCK_MONOTONIC) < end && conn_open(ep, s))
                    open_n++;
            }
        }
    }
    close(ep);
}

static void usage(void)
{
    fprintf(stderr,
        "usage: streamlat latency --port P [--path PATH] [--model M] "
        "[--streams C] [--duration S] [--clock kernel|user] [--dump PREFIX]\n"
        "       streamlat multi [--duration S] [--clock kernel|user] "
        "LABEL=PORT,PATH,MODEL,STREAMS...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    spec_t specs[MAXSPEC];
    int nspec = 0, i, multi;
    double duration = 5.0;
    struct rlimit rl;

    if (argc < 2) usage();
    multi = !strcmp(argv[1], "multi");
    if (!multi && strcmp(argv[1], "latency")) usage();
    memset(specs, 0, sizeof(specs));
    if (!multi) {
        nspec = 1;
        specs[0].label = "latency";
        specs[0].path = "/v1/chat/completions";
        specs[0].model = "gpt-paced";
        specs[0].streams = 8;
    }
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--duration") && v) { duration = atof(v); i++; }
        else if (!strcmp(a, "--dump") && v) { g_dump = v; i++; }
        else if (!strcmp(a, "--clock") && v) {
            g_use_kernel = strcmp(v, "user") != 0;
            i++;
        }
        else if (!multi && !strcmp(a, "--port") && v) { specs[0].port = atoi(v); i++; }
        else if (!multi && !strcmp(a, "--path") && v) { specs[0].path = v; i++; }
        else if (!multi && !strcmp(a, "--model") && v) { specs[0].model = v; i++; }
        else if (!multi && !strcmp(a, "--streams") && v) { specs[0].streams = atoi(v); i++; }
        else if (multi && a[0] != '-' && nspec < MAXSPEC) {
            /* LABEL=PORT,PATH,MODEL,STREAMS */
            char *d = strdup(a), *eq = strchr(d, '='), *f[4];
            int k;
            if (!eq) usage();
            *eq = '\0';
            specs[nspec].label = d;
            f[0] = eq + 1;
            for (k = 1; k < 4; k++) {
                f[k] = f[k - 1] ? strchr(f[k - 1], ',') : NULL;
                if (!f[k]) usage();
                *f[k]++ = '\0';
            }
            specs[nspec].port = atoi(f[0]);
            specs[nspec].path = f[1];
            specs[nspec].model = f[2];
            specs[nspec].streams = atoi(f[3]);
            nspec++;
        }
        else usage();
    }
    if (!nspec || duration <= 0) usage();
    for (i = 0; i < nspec; i++)
        if (specs[i].port <= 0 || specs[i].streams <= 0) usage();
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (g_use_kernel) {
        /* the kernel turns receive time stamps on a moment after the first
         * socket asks for them: ask, and give it that moment */
        int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
        struct timespec ts = {0, 50000000};
        if (fd >= 0) {
            setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
            nanosleep(&ts, NULL);
        }
        run(specs, nspec, duration);
        if (fd >= 0) close(fd);
    }
    else run(specs, nspec, duration);
    for (i = 0; i < nspec; i++) print_spec(&specs[i], multi);
    return 0;
}
