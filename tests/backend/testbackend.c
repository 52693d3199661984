/*
 * sp-testbackend: the origin server spillway's integration tests run behind the proxy.
 *
 * One thread, one level-triggered epoll loop, non-blocking sockets. HTTP/1.1 with keep-alive
 * and pipelining (one request handled at a time per connection; later pipelined bytes wait in
 * the input buffer). Request bodies, Content-Length or chunked, are consumed as they arrive and
 * never buffered whole (except by /echo, which must return them, capped at ECHO_MAX). Response
 * bodies are generated into a fixed output buffer only when it has room, so a slow reader
 * back-pressures /size/N without memory growing with N.
 *
 * Usage: sp-testbackend --listen 127.0.0.1:PORT [--name NAME] [--keepalive-requests K]
 *                      [--close-after-ms MS] [--announce-close] [--random-close PCT]
 *                      [--seed S] [--max-conns N]
 * Prints "listening 127.0.0.1:PORT" on stdout once accepting (PORT 0 picks a free one).
 *
 * Servers close keep-alive connections on their own (request limits, idle timeouts), most of
 * them without a `Connection: close` in the last response. To reproduce that, a connection is
 * closed "silently" (close(), no header, a FIN or a reset as the kernel decides):
 *   --keepalive-requests K  after its K-th response (nginx's keepalive_requests, 0 = never);
 *                           with --announce-close that response says `Connection: close`.
 *   --close-after-ms MS     MS ms after each response (an idle timeout; 0 = at once), unless
 *                           the next request has begun to arrive by then.
 *   --random-close PCT      after PCT % of keep-alive responses, drawn at random (--seed S,
 *                           default 1, makes a run repeatable): half of them a silent close at
 *                           once, half a dropnext= (FIN or RST, even odds) for the next request.
 *                           The first request on a connection is always answered.
 *   --max-conns N           connections held at once (default 1024); beyond, accept and close.
 * and per request, in the query string (any route):
 *   closeafter=MS           as --close-after-ms, for the connection this response was sent on.
 *   close=header            this response says `Connection: close`, then the server closes.
 *   dropnext=fin|rst        the next request on this connection is read whole, counted, and
 *                           left unanswered: close() (FIN) or an abortive close (RST). This
 *                           is the race of an idle close with a request in flight, made certain.
 * GET /headers returns the request head (request line and fields, as received) as its body.
 *
 * Hostile responses (any method; the request is read whole first):
 *   /hang             never answered; the connection stays open, input is discarded, until the
 *                     peer closes it.
 *   /headcut/N        the first N bytes of a response head (a 200 with a few fields, about 150
 *                     bytes; N is clamped so that the head never completes), then then=.
 *   /cut/N            a response that announces more body than it sends: Content-Length M
 *                     (cl=M; default N + 1000000), or chunked with no last chunk (mode=chunked),
 *                     or close-delimited (mode=close); N bytes of the /size pattern, then then=.
 *   /bighead/N        a 200 whose head (status line to the empty line) is N bytes (at most
 *                     1 MiB; raised to what its fixed part needs) of X-Filler-NNNN fields of
 *                     line=L bytes each (18 to 8000, default 1000; the last one shorter), body
 *                     "bighead\n"; keep-alive.
 *   /overlong/N       Content-Length: N, N pattern bytes, then a second, unrequested response
 *                     (X-Backend: smuggled, body "SMUGGLED\n") in the same write, or late=MS
 *                     ms later; the connection then carries on as if nothing happened.
 *   /raw?hex=HEX      the bytes HEX decodes to (at most 4 KiB), as the whole response; then=.
 *   then=fin|rst|hang|keep   how a response ends (any route): close (FIN), abortive close
 *                     (RST), stay open and silent (as /hang), or carry on with keep-alive.
 *                     Default: rst for /headcut, fin for /cut and /raw, the route's own
 *                     otherwise. wait=MS delays the fin/rst/hang by MS ms once the bytes are
 *                     queued (so the proxy has passed them on before).
 * GET /stats: "accepts=A requests=R posts=P dropped=D quits=Q conns=C hostile=H": connections
 * accepted; request heads parsed (/stats excluded; a dropped request counts); POST and PUT heads
 * among them, so a test can tell whether a request with a body reached the origin twice;
 * requests dropnext left unanswered; connections closed silently by any of the above;
 * connections open now (this one included); hostile responses begun (the routes above).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP       (64 * 1024)
#define OUT_CAP      (64 * 1024)
#define HDR_ROOM     4096 /* free output space needed before starting a response */
#define ECHO_MAX     (1024 * 1024)
#define MAX_CONNS    1024 /* --max-conns default */
#define LINGER_MS    2000
#define CHUNK_MAX    (16 * 1024)
#define SIZE_LIMIT   (1ULL << 40)
#define RUN_ROUNDS   64 /* work rounds per wakeup before yielding to other connections */
#define NAME_MAX_LEN 200
#define RAW_MAX      4096
#define BIGHEAD_MAX  (1024 * 1024)

enum state { ST_HEAD, ST_BODY, ST_TIMER, ST_SEND, ST_CLOSING, ST_LINGER, ST_QUIT, ST_HANG };
enum body { BODY_NONE, BODY_CL, BODY_CHUNKED };
enum chunk { CH_SIZE, CH_DATA, CH_CRLF, CH_TRAILER };
enum route {
    R_NOTFOUND,
    R_BADMETHOD,
    R_NAME,
    R_ECHO,
    R_SIZE,
    R_SINK,
    R_SLOW,
    R_SLOWBODY,
    R_ABORT,
    R_CLOSE,
    R_GARBAGE,
    R_STATUS,
    R_STATS,
    R_HEADERS,
    R_HANG,
    R_HEADCUT,
    R_CUT,
    R_BIGHEAD,
    R_OVERLONG,
    R_RAW
};
enum size_mode { MODE_CL, MODE_CHUNKED, MODE_CLOSE };
enum drop { DROP_NONE, DROP_FIN, DROP_RST };
/* how a response ends (then=): THEN_DEFAULT is the route's own behaviour */
enum then { THEN_DEFAULT, THEN_KEEP, THEN_FIN, THEN_RST, THEN_HANG };

struct conn {
    int fd;
    uint32_t events; /* epoll interest currently registered */
    enum state st;
    bool rd_eof;
    bool more;          /* work left when the round budget ran out */
    long long deadline; /* monotonic ms; 0 = no timer */
    struct conn *prev, *next;

    /* the connection's own end, kept across requests */
    uint64_t nres;       /* responses completed */
    bool idle_close;     /* ST_HEAD's deadline is a silent close (idle timeout) */
    enum drop drop;      /* what to do with the next request (dropnext=) */
    enum drop quit_mode; /* ST_QUIT: how to close */

    /* the request being handled */
    bool keepalive, head_only, http10;
    enum route route;
    enum body body;
    enum chunk ch;
    uint64_t body_left; /* Content-Length or current chunk remaining */
    uint64_t arg;       /* numeric path argument */
    enum size_mode mode;
    uint64_t sink_count;
    uint32_t sink_sum;
    char *echo; /* raw head, then decoded body */
    size_t echo_len;
    bool echo_over;

    /* the response body generator: a blob, then a pattern, then maybe the chunked trailer */
    char *blob;
    size_t blob_len, blob_off;
    uint64_t pat_off, pat_len;
    bool chunked_out, gen_active;
    bool body_after_timer; /* /slowbody: the blob is queued when the timer fires */
    bool close_after;      /* close once the response is out, whatever keep-alive says */
    long long quiet_ms;    /* closeafter=MS, or -1 for the --close-after-ms default */
    enum drop drop_next;   /* dropnext= of this request, applied when its response is out */
    enum then then;        /* then= of this request */
    long long then_wait;   /* wait=MS before the then= close; 0 = at once */
    bool then_pending;     /* ST_TIMER: the then= close waits for the timer */
    bool no_last_chunk;    /* /cut?mode=chunked: the last chunk never goes out */
    char *tail;            /* /overlong: the unrequested response, sent after the body */
    size_t tail_len;
    long long tail_ms; /* late=MS; 0 = in the same write */
    uint64_t cl_arg;   /* cl=M */
    uint64_t line_arg; /* line=L of /bighead */
    bool have_cl_arg;
    char *hex; /* hex= of /raw, decoded */
    size_t hex_len;

    size_t in_off, in_len, out_off, out_len;
    char in[IN_CAP];
    char out[OUT_CAP];
};

static int epfd, lfd;
static struct conn *conns;
static unsigned nconns;
static unsigned long long n_accepts, n_requests, n_posts, n_dropped, n_quits, n_hostile;
static unsigned max_conns = MAX_CONNS; /* --max-conns */
static uint64_t random_close_pct;      /* --random-close */
static uint64_t rng_state = 1;         /* --seed */
static const char *name = "backend";
static uint64_t ka_requests;          /* --keepalive-requests; 0 = no limit */
static long long close_after_ms = -1; /* --close-after-ms; -1 = never */
static bool announce_close;           /* --announce-close */
static char pattern[CHUNK_MAX + 32];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64: --random-close draws, repeatable from --seed */
static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void conn_free(struct conn *c)
{
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->echo);
    free(c->blob);
    free(c->tail);
    free(c->hex);
    free(c);
    nconns--;
}

static void set_events(struct conn *c, uint32_t ev)
{
    if (ev == c->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

static size_t out_room(struct conn *c)
{
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    } else if (c->out_off > 0 && OUT_CAP - c->out_len < HDR_ROOM) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    return OUT_CAP - c->out_len;
}

static void out_put(struct conn *c, const void *p, size_t n)
{
    /* callers checked out_room() */
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static const char *reason(int status)
{
    static const struct {
        int status;
        const char *text;
    } reasons[] = {
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Payload Too Large"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "Status";
}

/*
 * Queue a status line and header block. cl >= 0: Content-Length framing; cl == -1: chunked
 * (falls back to close-delimited for an HTTP/1.0 client); cl == -2: close-delimited; cl == -3:
 * no body at all (204, 304). Needs HDR_ROOM of output space.
 */
static void start_response(struct conn *c, int status, long long cl)
{
    char h[HDR_ROOM];
    int n;
    if (cl == -1 && c->http10)
        cl = -2;
    if (cl == -2)
        c->keepalive = false;
    if (c->close_after)
        c->keepalive = false;
    if (announce_close && ka_requests && c->nres + 1 >= ka_requests)
        c->keepalive = false;
    n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nServer: sp-testbackend\r\nX-Backend: %s\r\n",
                 status, reason(status), name);
    if (cl >= 0)
        n += snprintf(h + n, sizeof(h) - n, "Content-Length: %lld\r\n", cl);
    else if (cl == -1)
        n += snprintf(h + n, sizeof(h) - n, "Transfer-Encoding: chunked\r\n");
    if (!c->keepalive)
        n += snprintf(h + n, sizeof(h) - n, "Connection: close\r\n");
    else if (c->http10)
        n += snprintf(h + n, sizeof(h) - n, "Connection: keep-alive\r\n");
    n += snprintf(h + n, sizeof(h) - n, "\r\n");
    out_room(c);
    out_put(c, h, (size_t)n);
    c->chunked_out = cl == -1 && !c->head_only;
    c->st = ST_SEND;
    c->gen_active = true;
}

/* Queue a whole small response whose body is the given text (copied). */
static void respond_text(struct conn *c, int status, const char *text)
{
    size_t n = strlen(text);
    start_response(c, status, (long long)n);
    if (c->head_only)
        return;
    c->blob = malloc(n ? n : 1);
    if (!c->blob) {
        c->close_after = true;
        c->keepalive = false;
        return;
    }
    memcpy(c->blob, text, n);
    c->blob_len = n;
}

static void respond_error(struct conn *c, int status, const char *text)
{
    c->keepalive = false;
    c->close_after = true;
    c->head_only = false;
    respond_text(c, status, text);
}

static void reset_request(struct conn *c)
{
    free(c->echo);
    free(c->blob);
    free(c->tail);
    free(c->hex);
    c->echo = c->blob = c->tail = c->hex = NULL;
    c->tail_len = c->hex_len = 0;
    c->tail_ms = c->then_wait = 0;
    c->then = THEN_DEFAULT;
    c->then_pending = c->no_last_chunk = c->have_cl_arg = false;
    c->cl_arg = 0;
    c->line_arg = 1000;
    c->echo_len = c->blob_len = c->blob_off = 0;
    c->echo_over = false;
    c->pat_off = c->pat_len = 0;
    c->sink_count = 0;
    c->sink_sum = 0;
    c->chunked_out = c->gen_active = c->body_after_timer = c->close_after = false;
    c->route = R_NOTFOUND;
    c->body = BODY_NONE;
    c->mode = MODE_CL;
    c->arg = 0;
    c->quiet_ms = -1;
    c->drop_next = DROP_NONE;
    c->st = ST_HEAD;
}

static bool parse_u64(const char *p, size_t n, uint64_t *ret)
{
    uint64_t v = 0;
    if (n == 0 || n > 19)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *ret = v;
    return true;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Does the comma-separated list v (length n) contain token tok, case-insensitively? */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return true;
    }
    return false;
}

static bool path_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

static bool path_arg(const char *p, size_t n, const char *prefix, uint64_t *ret)
{
    size_t pl = strlen(prefix);
    return n > pl && memcmp(p, prefix, pl) == 0 && parse_u64(p + pl, n - pl, ret);
}

/* The value of "key=" (key given with its '='), as a decimal number, in query q. */
static bool query_u64(const char *q, size_t ql, const char *key, uint64_t *ret)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < ql;) {
        const char *amp = memchr(q + i, '&', ql - i);
        size_t e = amp ? (size_t)(amp - q) : ql;
        if (e - i > n && memcmp(q + i, key, n) == 0)
            return parse_u64(q + i + n, e - i - n, ret);
        i = e + 1;
    }
    return false;
}

/* Is param (like "mode=close") one of the '&'-separated parameters of query q? */
static bool query_has(const char *q, size_t ql, const char *param)
{
    size_t n = strlen(param);
    for (size_t i = 0; i < ql;) {
        const char *amp = memchr(q + i, '&', ql - i);
        size_t e = amp ? (size_t)(amp - q) : ql;
        if (e - i == n && memcmp(q + i, param, n) == 0)
            return true;
        i = e + 1;
    }
    return false;
}

static int hexval(char h)
{
    return h >= '0' && h <= '9'   ? h - '0'
           : h >= 'a' && h <= 'f' ? h - 'a' + 10
           : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                  : -1;
}

/* The value of "hex=" in query q, decoded into c->hex (at most RAW_MAX bytes). */
static void query_hex(struct conn *c, const char *q, size_t ql)
{
    for (size_t i = 0; i < ql;) {
        const char *amp = memchr(q + i, '&', ql - i);
        size_t e = amp ? (size_t)(amp - q) : ql;
        if (e - i >= 4 && memcmp(q + i, "hex=", 4) == 0) {
            size_t n = (e - i - 4) / 2;
            if (n > RAW_MAX)
                n = RAW_MAX;
            free(c->hex);
            c->hex = malloc(n ? n : 1);
            c->hex_len = 0;
            if (!c->hex)
                return;
            for (size_t k = 0; k < n; k++) {
                int hi = hexval(q[i + 4 + 2 * k]), lo = hexval(q[i + 5 + 2 * k]);
                if (hi < 0 || lo < 0)
                    break;
                c->hex[c->hex_len++] = (char)(hi << 4 | lo);
            }
            return;
        }
        i = e + 1;
    }
}

static void route_request(struct conn *c, const char *m, size_t ml, const char *t, size_t tl)
{
    const char *q = memchr(t, '?', tl);
    size_t pl = q ? (size_t)(q - t) : tl;
    bool get = (ml == 3 && !memcmp(m, "GET", 3)) || (ml == 4 && !memcmp(m, "HEAD", 4));
    bool post = (ml == 4 && !memcmp(m, "POST", 4)) || (ml == 3 && !memcmp(m, "PUT", 3));

    c->head_only = ml == 4 && !memcmp(m, "HEAD", 4);
    if (path_is(t, pl, "/name"))
        c->route = get ? R_NAME : R_BADMETHOD;
    else if (path_is(t, pl, "/echo"))
        c->route = R_ECHO;
    else if (path_is(t, pl, "/sink"))
        c->route = post ? R_SINK : R_BADMETHOD;
    else if (path_is(t, pl, "/stats"))
        c->route = get ? R_STATS : R_BADMETHOD;
    else if (path_is(t, pl, "/abort"))
        c->route = R_ABORT;
    else if (path_is(t, pl, "/close"))
        c->route = R_CLOSE;
    else if (path_is(t, pl, "/garbage"))
        c->route = R_GARBAGE;
    else if (path_is(t, pl, "/headers"))
        c->route = get ? R_HEADERS : R_BADMETHOD;
    else if (path_is(t, pl, "/hang"))
        c->route = R_HANG;
    else if (path_is(t, pl, "/raw"))
        c->route = R_RAW;
    else if (path_arg(t, pl, "/headcut/", &c->arg))
        c->route = R_HEADCUT;
    else if (path_arg(t, pl, "/cut/", &c->arg) && c->arg <= SIZE_LIMIT)
        c->route = R_CUT;
    else if (path_arg(t, pl, "/bighead/", &c->arg))
        c->route = R_BIGHEAD;
    else if (path_arg(t, pl, "/overlong/", &c->arg) && c->arg <= SIZE_LIMIT)
        c->route = R_OVERLONG;
    else if (path_arg(t, pl, "/size/", &c->arg) && c->arg <= SIZE_LIMIT)
        c->route = R_SIZE;
    else if (path_arg(t, pl, "/slowbody/", &c->arg))
        c->route = R_SLOWBODY;
    else if (path_arg(t, pl, "/slow/", &c->arg))
        c->route = R_SLOW;
    else if (path_arg(t, pl, "/status/", &c->arg) && c->arg >= 200 && c->arg <= 599)
        c->route = R_STATUS;
    else
        c->route = R_NOTFOUND;

    if (q) {
        size_t ql = tl - pl - 1;
        if (query_has(q + 1, ql, "mode=chunked"))
            c->mode = MODE_CHUNKED;
        else if (query_has(q + 1, ql, "mode=close"))
            c->mode = MODE_CLOSE;
        uint64_t ms;
        if (query_u64(q + 1, ql, "closeafter=", &ms))
            c->quiet_ms = ms > 3600000 ? 3600000 : (long long)ms;
        if (query_has(q + 1, ql, "close=header"))
            c->close_after = true;
        if (query_has(q + 1, ql, "dropnext=fin"))
            c->drop_next = DROP_FIN;
        else if (query_has(q + 1, ql, "dropnext=rst"))
            c->drop_next = DROP_RST;
        if (query_has(q + 1, ql, "then=fin"))
            c->then = THEN_FIN;
        else if (query_has(q + 1, ql, "then=rst"))
            c->then = THEN_RST;
        else if (query_has(q + 1, ql, "then=hang"))
            c->then = THEN_HANG;
        else if (query_has(q + 1, ql, "then=keep"))
            c->then = THEN_KEEP;
        if (query_u64(q + 1, ql, "wait=", &ms))
            c->then_wait = ms > 3600000 ? 3600000 : (long long)ms;
        if (query_u64(q + 1, ql, "late=", &ms))
            c->tail_ms = ms > 3600000 ? 3600000 : (long long)ms;
        if (query_u64(q + 1, ql, "cl=", &c->cl_arg))
            c->have_cl_arg = true;
        if (query_u64(q + 1, ql, "line=", &c->line_arg))
            c->line_arg = c->line_arg < 18 ? 18 : c->line_arg > 8000 ? 8000 : c->line_arg;
        if (c->route == R_RAW)
            query_hex(c, q + 1, ql);
    }
}

/*
 * Parse the head occupying in[in_off, in_off + len) (ending with CRLF CRLF).
 * Returns 0, or an HTTP status to answer with before closing.
 */
static int parse_head(struct conn *c, size_t len)
{
    char *p = c->in + c->in_off, *end = p + len - 2; /* end: the final CRLF */
    char *eol = memmem(p, len, "\r\n", 2);
    char *sp1, *sp2;
    bool have_cl = false, have_te = false, te_chunked = false, conn_close = false, conn_ka = false,
         expect = false;
    uint64_t cl = 0;

    /* request line: METHOD SP TARGET SP HTTP/1.x */
    sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p)
        return 400;
    for (char *s = p; s < sp1; s++)
        if (!is_tchar((unsigned char)*s))
            return 400;
    sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1 || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return 400;
    if (sp2[8] != '0' && sp2[8] != '1')
        return 400;
    for (char *s = sp1 + 1; s < sp2; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 400;
    c->http10 = sp2[8] == '0';

    /* fields */
    for (char *l = eol + 2; l < end; l = eol + 2) {
        eol = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
        char *colon = memchr(l, ':', (size_t)(eol - l));
        if (!colon || colon == l)
            return 400; /* also rejects obs-fold: a leading SP is not a tchar below */
        for (char *s = l; s < colon; s++)
            if (!is_tchar((unsigned char)*s))
                return 400;
        char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (char *s = v; s < ve; s++)
            if ((*s == 0x7f || (unsigned char)*s < 0x20) && *s != '\t')
                return 400;
        size_t nl = (size_t)(colon - l), vl = (size_t)(ve - v);
        if (nl == 14 && !strncasecmp(l, "Content-Length", nl)) {
            uint64_t x;
            if (!parse_u64(v, vl, &x) || (have_cl && x != cl))
                return 400;
            have_cl = true;
            cl = x;
        } else if (nl == 17 && !strncasecmp(l, "Transfer-Encoding", nl)) {
            /* chunked must be the last coding; anything else we cannot frame */
            have_te = true;
            te_chunked = vl >= 7 && !strncasecmp(ve - 7, "chunked", 7) &&
                         (vl == 7 || ve[-8] == ',' || ve[-8] == ' ' || ve[-8] == '\t');
            if (!te_chunked)
                return 400;
        } else if (nl == 10 && !strncasecmp(l, "Connection", nl)) {
            conn_close |= has_token(v, vl, "close");
            conn_ka |= has_token(v, vl, "keep-alive");
        } else if (nl == 6 && !strncasecmp(l, "Expect", nl)) {
            expect = vl == 12 && !strncasecmp(v, "100-continue", 12);
        }
    }
    if (have_cl && have_te)
        return 400;

    c->keepalive = c->http10 ? conn_ka && !conn_close : !conn_close;
    c->body = te_chunked ? BODY_CHUNKED : (have_cl && cl > 0) ? BODY_CL : BODY_NONE;
    c->body_left = cl;
    c->ch = CH_SIZE;
    route_request(c, p, (size_t)(sp1 - p), sp1 + 1, (size_t)(sp2 - sp1 - 1));

    if (c->route == R_ECHO || c->route == R_HEADERS) {
        c->echo = malloc(len);
        if (!c->echo)
            return 500;
        memcpy(c->echo, p, len);
        c->echo_len = len;
    }
    if (expect && c->body != BODY_NONE && !c->http10) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        out_put(c, cont, sizeof(cont) - 1);
    }
    return 0;
}

static void body_data(struct conn *c, const char *p, size_t n)
{
    if (c->route == R_SINK) {
        c->sink_count += n;
        for (size_t i = 0; i < n; i++)
            c->sink_sum += (unsigned char)p[i];
    } else if (c->route == R_ECHO && !c->echo_over) {
        if (c->echo_len + n > ECHO_MAX + (size_t)IN_CAP) {
            c->echo_over = true;
            return;
        }
        char *e = realloc(c->echo, c->echo_len + n);
        if (!e) {
            c->echo_over = true;
            return;
        }
        memcpy(e + c->echo_len, p, n);
        c->echo = e;
        c->echo_len += n;
    }
}

/* Consume request body bytes from the input buffer. 1: progress, 0: need more, 2: body done,
 * -1: malformed. */
static int body_consume(struct conn *c)
{
    int progress = 0;
    for (;;) {
        char *p = c->in + c->in_off;
        size_t avail = c->in_len - c->in_off;
        if (c->body == BODY_NONE)
            return 2;
        if (c->body == BODY_CL || c->ch == CH_DATA) {
            size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
            if (n == 0 && c->body_left > 0)
                return progress;
            body_data(c, p, n);
            c->in_off += n;
            c->body_left -= n;
            progress = 1;
            if (c->body_left > 0)
                return progress;
            if (c->body == BODY_CL) {
                c->body = BODY_NONE;
                return 2;
            }
            c->ch = CH_CRLF;
            continue;
        }
        if (c->ch == CH_CRLF) {
            if (avail < 2)
                return progress;
            if (p[0] != '\r' || p[1] != '\n')
                return -1;
            c->in_off += 2;
            c->ch = CH_SIZE;
            progress = 1;
            continue;
        }
        /* CH_SIZE or CH_TRAILER: one line at a time */
        char *nl = memchr(p, '\n', avail);
        if (!nl)
            return avail > 4096 ? -1 : progress;
        size_t ll = (size_t)(nl - p);
        if (ll == 0 || p[ll - 1] != '\r')
            return -1;
        c->in_off += ll + 1;
        progress = 1;
        if (c->ch == CH_TRAILER) {
            if (ll == 1) {
                c->body = BODY_NONE;
                return 2;
            }
            continue;
        }
        uint64_t sz = 0;
        size_t i = 0;
        for (; i < ll - 1 && i < 16; i++) {
            char h = p[i];
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0)
                break;
            sz = sz * 16 + (uint64_t)d;
        }
        if (i == 0 || i == 16 || (i < ll - 1 && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
            return -1;
        c->body_left = sz;
        c->ch = sz ? CH_DATA : CH_TRAILER;
    }
}

/* Queue bytes (owned from now on) as the whole response, sent as they are. */
static void respond_raw(struct conn *c, char *bytes, size_t n)
{
    free(c->blob);
    c->blob = bytes;
    c->blob_len = bytes ? n : 0;
    c->blob_off = 0;
    c->chunked_out = false;
    c->st = ST_SEND;
    c->gen_active = true;
}

/* /headcut/N: the first N bytes of a head that never completes. */
static void respond_headcut(struct conn *c)
{
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 200 OK\r\nServer: sp-testbackend\r\nX-Backend: %s\r\n"
                     "Content-Type: text/plain\r\nX-Filler: %.60s\r\nContent-Length: 10\r\n\r\n",
                     name, pattern);
    size_t len = c->arg < (uint64_t)n - 3 ? (size_t)c->arg : (size_t)n - 3;
    char *b = malloc(len ? len : 1);
    if (b)
        memcpy(b, h, len);
    if (c->then == THEN_DEFAULT)
        c->then = THEN_RST;
    respond_raw(c, b, len);
}

/* /bighead/N: a 200 whose head is exactly N bytes (raised to what the fixed part needs). */
static void respond_bighead(struct conn *c)
{
    char pre[512];
    int n = snprintf(pre, sizeof(pre),
                     "HTTP/1.1 200 OK\r\nServer: sp-testbackend\r\nX-Backend: %s\r\n"
                     "Content-Length: 8\r\n%s",
                     name, c->keepalive ? "" : "Connection: close\r\n");
    size_t base = (size_t)n + 2, want = c->arg > BIGHEAD_MAX ? BIGHEAD_MAX : (size_t)c->arg;
    if (want < base + 18)
        want = base + 18;
    char *b = malloc(want + 8);
    if (!b) {
        respond_error(c, 500, "out of memory\n");
        return;
    }
    memcpy(b, pre, (size_t)n);
    size_t o = (size_t)n, r = want - base, line = c->line_arg;
    unsigned i = 0;
    /* lines of 18 to `line` bytes: "X-Filler-NNNN: " (15), at least one 'x', CRLF */
    while (r > 0) {
        size_t l = r > line ? line : r;
        if (r - l > 0 && r - l < 18)
            l = r - 18;
        o += (size_t)sprintf(b + o, "X-Filler-%04u: ", i++ % 10000);
        memset(b + o, 'x', l - 17);
        o += l - 17;
        memcpy(b + o, "\r\n", 2);
        o += 2;
        r -= l;
    }
    memcpy(b + o, "\r\nbighead\n", 10);
    respond_raw(c, b, o + 10);
}

/* The then= of a hostile response, now. */
static void apply_then(struct conn *c)
{
    c->then_pending = false;
    if (c->then == THEN_RST) {
        c->quit_mode = DROP_RST;
        c->st = ST_QUIT;
    } else if (c->then == THEN_HANG) {
        c->st = ST_HANG;
    } else {
        c->st = ST_CLOSING;
    }
}

static void response_done(struct conn *c);

/* The response's bytes are all queued: what happens to the connection next. */
static void response_end(struct conn *c)
{
    if (c->tail) {
        /* /overlong late=: the unrequested response goes out when the timer fires */
        c->st = ST_TIMER;
        c->deadline = now_ms() + c->tail_ms;
        return;
    }
    if (c->then == THEN_FIN || c->then == THEN_RST || c->then == THEN_HANG) {
        if (c->then_wait > 0) {
            c->then_pending = true;
            c->st = ST_TIMER;
            c->deadline = now_ms() + c->then_wait;
            return;
        }
        apply_then(c);
        return;
    }
    if (c->close_after || !c->keepalive)
        c->st = ST_CLOSING;
    else
        response_done(c);
}

/* The request head and body are in: produce the response. */
static void dispatch(struct conn *c)
{
    char txt[256];
    if (c->drop) {
        /* dropnext: read whole, counted, never answered */
        n_dropped++;
        c->quit_mode = c->drop;
        c->st = ST_QUIT;
        return;
    }
    switch (c->route) {
    case R_NAME:
        snprintf(txt, sizeof(txt), "%s\n", name);
        respond_text(c, 200, txt);
        break;
    case R_HEADERS:
        start_response(c, 200, (long long)c->echo_len);
        if (!c->head_only) {
            c->blob = c->echo;
            c->blob_len = c->echo_len;
            c->echo = NULL;
        }
        break;
    case R_ECHO:
        if (c->echo_over) {
            respond_error(c, 413, "echo body too large\n");
            break;
        }
        start_response(c, 200, (long long)c->echo_len);
        if (!c->head_only) {
            c->blob = c->echo;
            c->blob_len = c->echo_len;
            c->echo = NULL;
        }
        break;
    case R_SIZE:
        if (c->mode == MODE_CLOSE)
            c->close_after = true;
        start_response(c, 200,
                       c->mode == MODE_CL        ? (long long)c->arg
                       : c->mode == MODE_CHUNKED ? -1
                                                 : -2);
        c->pat_len = c->head_only ? 0 : c->arg;
        break;
    case R_SINK:
        snprintf(txt, sizeof(txt), "bytes=%llu sum=%u\n", (unsigned long long)c->sink_count,
                 c->sink_sum);
        respond_text(c, 200, txt);
        break;
    case R_SLOW:
    case R_SLOWBODY:
        if (c->route == R_SLOWBODY) {
            start_response(c, 200, 10);
            c->body_after_timer = !c->head_only;
        }
        c->st = ST_TIMER;
        c->deadline = now_ms() + (long long)(c->arg > 3600000 ? 3600000 : c->arg);
        if (c->deadline == 0)
            c->deadline = 1;
        break;
    case R_ABORT:
        c->close_after = true;
        start_response(c, 200, 1000000);
        c->pat_len = 100;
        break;
    case R_CLOSE:
        c->st = ST_CLOSING;
        break;
    case R_GARBAGE: {
        static const char g[] = "HTTP/1.1 abc\r\n\r\n";
        out_put(c, g, sizeof(g) - 1);
        c->st = ST_CLOSING;
        break;
    }
    case R_STATUS:
        if (c->arg == 204 || c->arg == 304) {
            start_response(c, (int)c->arg, -3);
        } else {
            snprintf(txt, sizeof(txt), "status %d\n", (int)c->arg);
            respond_text(c, (int)c->arg, txt);
        }
        break;
    case R_STATS:
        snprintf(txt, sizeof(txt),
                 "accepts=%llu requests=%llu posts=%llu dropped=%llu quits=%llu conns=%u "
                 "hostile=%llu\n",
                 n_accepts, n_requests, n_posts, n_dropped, n_quits, nconns, n_hostile);
        respond_text(c, 200, txt);
        break;
    case R_HANG:
        n_hostile++;
        c->st = ST_HANG;
        break;
    case R_HEADCUT:
        n_hostile++;
        respond_headcut(c);
        break;
    case R_CUT:
        n_hostile++;
        if (c->mode == MODE_CHUNKED)
            c->no_last_chunk = true;
        start_response(c, 200,
                       c->mode == MODE_CHUNKED ? -1
                       : c->mode == MODE_CLOSE ? -2
                       : c->have_cl_arg        ? (long long)c->cl_arg
                                               : (long long)c->arg + 1000000);
        c->pat_len = c->head_only ? 0 : c->arg;
        if (c->then == THEN_DEFAULT)
            c->then = THEN_FIN;
        break;
    case R_BIGHEAD:
        n_hostile++;
        respond_bighead(c);
        break;
    case R_OVERLONG: {
        static const char fake[] = "HTTP/1.1 200 OK\r\nServer: sp-testbackend\r\n"
                                   "X-Backend: smuggled\r\nContent-Length: 9\r\n\r\nSMUGGLED\n";
        n_hostile++;
        start_response(c, 200, (long long)c->arg);
        c->pat_len = c->head_only ? 0 : c->arg;
        c->tail = malloc(sizeof(fake) - 1);
        if (c->tail) {
            memcpy(c->tail, fake, sizeof(fake) - 1);
            c->tail_len = sizeof(fake) - 1;
        }
        break;
    }
    case R_RAW:
        n_hostile++;
        respond_raw(c, c->hex, c->hex_len);
        c->hex = NULL;
        c->hex_len = 0;
        if (c->then == THEN_DEFAULT)
            c->then = THEN_FIN;
        break;
    case R_BADMETHOD:
        respond_text(c, 405, "method not allowed\n");
        break;
    case R_NOTFOUND:
        respond_text(c, 404, "not found\n");
        break;
    }
}

static void timer_fired(struct conn *c)
{
    if (c->st == ST_HEAD && c->idle_close) {
        /* idle timeout: a request that has begun to arrive keeps the connection */
        c->idle_close = false;
        if (c->in_off == c->in_len) {
            c->quit_mode = DROP_FIN;
            c->st = ST_QUIT;
        }
        return;
    }
    if (c->st == ST_LINGER) {
        c->rd_eof = true; /* give up waiting for the peer's FIN */
        return;
    }
    if (c->st != ST_TIMER)
        return;
    if (c->then_pending) {
        apply_then(c);
        return;
    }
    if (c->tail) {
        /* /overlong late=: the unrequested response, then carry on as the response would */
        if (out_room(c) >= c->tail_len)
            out_put(c, c->tail, c->tail_len);
        free(c->tail);
        c->tail = NULL;
        response_end(c);
        return;
    }
    if (c->route == R_SLOW) {
        respond_text(c, 200, "slow\n");
    } else {
        c->st = ST_SEND;
        if (c->body_after_timer) {
            c->blob = malloc(10);
            if (c->blob) {
                memcpy(c->blob, "slowbody!\n", 10);
                c->blob_len = 10;
            } else {
                c->close_after = true;
                c->keepalive = false;
            }
        }
    }
}

/* A keep-alive response is out (or queued): the next request, or a silent close. */
static void response_done(struct conn *c)
{
    long long ms = c->quiet_ms >= 0 ? c->quiet_ms : close_after_ms;
    c->drop = c->drop_next;
    reset_request(c);
    if (ka_requests && c->nres >= ka_requests)
        ms = 0;
    if (random_close_pct && ms != 0 && c->drop == DROP_NONE &&
        rng_next() % 100 < random_close_pct) {
        uint64_t r = rng_next();
        if (r & 1)
            ms = 0;
        else
            c->drop = r & 2 ? DROP_RST : DROP_FIN;
    }
    if (ms == 0) {
        c->quit_mode = DROP_FIN;
        c->st = ST_QUIT;
    } else if (ms > 0) {
        c->idle_close = true;
        c->deadline = now_ms() + ms;
    }
}

/* Move response body bytes into the output buffer. Returns 1 on progress. */
static int generate(struct conn *c)
{
    int progress = 0;
    while (c->gen_active) {
        size_t room = out_room(c);
        if (c->blob_off < c->blob_len) {
            size_t n = c->blob_len - c->blob_off;
            /* blobs are small, Content-Length framed bodies */
            if (room == 0)
                break;
            if (n > room)
                n = room;
            out_put(c, c->blob + c->blob_off, n);
            c->blob_off += n;
            progress = 1;
        } else if (c->pat_off < c->pat_len) {
            uint64_t left = c->pat_len - c->pat_off;
            size_t n = left < CHUNK_MAX ? (size_t)left : CHUNK_MAX;
            size_t over = c->chunked_out ? 32 : 0;
            if (room < over + 1)
                break;
            if (n > room - over)
                n = room - over;
            if (c->chunked_out)
                c->out_len += (size_t)sprintf(c->out + c->out_len, "%zx\r\n", n);
            out_put(c, pattern + c->pat_off % 26, n);
            if (c->chunked_out)
                out_put(c, "\r\n", 2);
            c->pat_off += n;
            progress = 1;
        } else if (c->body_after_timer && c->blob_len == 0) {
            break; /* /slowbody: wait for the timer */
        } else {
            bool last = c->chunked_out && !c->no_last_chunk;
            bool tail = c->tail && !c->tail_ms;
            if (room < (last ? 5 : 0) + (tail ? c->tail_len : 0))
                break;
            if (last)
                out_put(c, "0\r\n\r\n", 5);
            if (tail) {
                out_put(c, c->tail, c->tail_len);
                free(c->tail);
                c->tail = NULL;
            }
            c->gen_active = false;
            progress = 1;
            c->nres++;
            response_end(c);
        }
    }
    return progress;
}

/* Advance the request state machine. Returns 1 on progress, 0 when waiting, -1 to close now. */
static int process(struct conn *c)
{
    int progress = 0;
    for (int round = 0; round < RUN_ROUNDS; round++) {
        if (c->st == ST_HEAD) {
            char *p;
            size_t avail;
            if (out_room(c) < 2 * HDR_ROOM)
                return progress; /* let the previous response drain first */
            /* tolerate empty lines before a request line */
            while (c->in_len - c->in_off >= 2 && c->in[c->in_off] == '\r' &&
                   c->in[c->in_off + 1] == '\n')
                c->in_off += 2;
            p = c->in + c->in_off;
            avail = c->in_len - c->in_off;
            char *e = memmem(p, avail, "\r\n\r\n", 4);
            if (!e) {
                if (avail == IN_CAP) {
                    respond_error(c, 431, "request head too large\n");
                    progress = 1;
                    continue;
                }
                if (!c->rd_eof)
                    return progress;
                c->st = ST_CLOSING; /* flush what is queued, then close */
                progress = 1;
                continue;
            }
            size_t hl = (size_t)(e - p) + 4;
            int st = parse_head(c, hl);
            c->in_off += hl;
            progress = 1;
            if (st) {
                respond_error(c, st, "bad request\n");
                continue;
            }
            if (c->route != R_STATS)
                n_requests++;
            if (!memcmp(p, "POST ", 5) || !memcmp(p, "PUT ", 4))
                n_posts++;
            if (c->idle_close) {
                c->idle_close = false;
                c->deadline = 0;
            }
            c->st = ST_BODY;
        }
        if (c->st == ST_BODY) {
            int r = body_consume(c);
            if (r < 0) {
                respond_error(c, 400, "bad request body\n");
                progress = 1;
                continue;
            }
            if (r == 2) {
                dispatch(c);
                progress = 1;
                continue;
            }
            if (r == 0 && c->rd_eof) {
                c->st = ST_CLOSING; /* truncated body: nothing to answer */
                progress = 1;
                continue;
            }
            return progress | r;
        }
        if (c->st == ST_SEND) {
            int r = generate(c);
            if (!r)
                return progress;
            progress = 1;
            continue;
        }
        if (c->st == ST_CLOSING) {
            if (c->out_off < c->out_len)
                return progress;
            shutdown(c->fd, SHUT_WR);
            c->st = ST_LINGER;
            c->deadline = now_ms() + LINGER_MS;
            progress = 1;
        }
        if (c->st == ST_LINGER) {
            c->in_off = c->in_len = 0; /* discard whatever the peer still sends */
            return c->rd_eof ? -1 : progress;
        }
        if (c->st == ST_QUIT) {
            if (c->out_off < c->out_len)
                return progress; /* the response goes out whole first */
            if (c->then != THEN_RST)
                n_quits++; /* a hostile RST counts in hostile= only */
            if (c->quit_mode == DROP_RST) {
                struct linger lg = {.l_onoff = 1, .l_linger = 0};
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            }
            return -1; /* conn_free() closes: FIN, or RST if unread bytes wait */
        }
        if (c->st == ST_HANG) {
            c->in_off = c->in_len = 0; /* discard whatever the peer sends */
            return c->rd_eof ? -1 : progress;
        }
        return progress; /* ST_TIMER */
    }
    c->more = true;
    return progress;
}

static int do_read(struct conn *c)
{
    if (c->rd_eof)
        return 0;
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off > 0 && c->in_len == IN_CAP) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_len == IN_CAP)
        return 0;
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        return 1;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        c->rd_eof = true;
        return 1;
    }
    return 0;
}

static int do_write(struct conn *c)
{
    if (c->out_off == c->out_len)
        return 0;
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
        c->out_off += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return -1;
}

/* Run a connection until it waits on I/O or a timer. Frees it when done. */
static void conn_run(struct conn *c, uint32_t ev)
{
    /* HUP: both directions are shut (or the peer reset us); nothing more can be exchanged */
    if (ev & (EPOLLERR | EPOLLHUP))
        goto close;
    c->more = false;
    for (int i = 0; i < RUN_ROUNDS; i++) {
        int progress = do_read(c);
        int r = process(c);
        if (r < 0)
            goto close;
        progress |= r;
        int w = do_write(c);
        if (w < 0)
            goto close;
        progress |= w;
        if (!progress)
            break;
        if (i == RUN_ROUNDS - 1)
            c->more = true;
    }
    ev = 0;
    if (!c->rd_eof && c->in_len - c->in_off < IN_CAP)
        ev |= EPOLLIN;
    if (c->out_off < c->out_len || c->more)
        ev |= EPOLLOUT; /* more: a writable socket wakes us at once to continue */
    set_events(c, ev);
    return;
close:
    conn_free(c);
}

static void accept_some(void)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        n_accepts++;
        struct conn *c = nconns < max_conns ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        reset_request(c);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = conns;
        if (conns)
            conns->prev = c;
        conns = c;
        nconns++;
    }
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    uint64_t port;
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    if (!parse_u64(colon + 1, strlen(colon + 1), &port) || port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1;
    uint64_t ms;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen_at = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "--keepalive-requests") && i + 1 < argc &&
                 parse_u64(argv[i + 1], strlen(argv[i + 1]), &ka_requests))
            i++;
        else if (!strcmp(argv[i], "--close-after-ms") && i + 1 < argc &&
                 parse_u64(argv[i + 1], strlen(argv[i + 1]), &ms) && ms <= 3600000)
            close_after_ms = (long long)ms, i++;
        else if (!strcmp(argv[i], "--announce-close"))
            announce_close = true;
        else if (!strcmp(argv[i], "--random-close") && i + 1 < argc &&
                 parse_u64(argv[i + 1], strlen(argv[i + 1]), &random_close_pct) &&
                 random_close_pct <= 100)
            i++;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc &&
                 parse_u64(argv[i + 1], strlen(argv[i + 1]), &rng_state))
            rng_state = rng_state ? rng_state : 1, i++;
        else if (!strcmp(argv[i], "--max-conns") && i + 1 < argc &&
                 parse_u64(argv[i + 1], strlen(argv[i + 1]), &ms) && ms >= 1 && ms <= 1000000)
            max_conns = (unsigned)ms, i++;
        else
            listen_at = NULL, i = argc;
    }
    if (!listen_at || strlen(name) > NAME_MAX_LEN || parse_listen(listen_at, &sa) < 0) {
        fprintf(stderr, "usage: sp-testbackend --listen IPV4:PORT [--name NAME] "
                        "[--keepalive-requests K] [--close-after-ms MS] [--announce-close] "
                        "[--random-close PCT] [--seed S] [--max-conns N]\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (char)('a' + i % 26);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        fprintf(stderr, "sp-testbackend: cannot listen on %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &le) < 0) {
        perror("sp-testbackend: epoll");
        return 1;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
    printf("listening %s:%u\n", ip, ntohs(sa.sin_port));
    fflush(stdout);

    for (;;) {
        struct epoll_event evs[64];
        long long now = now_ms(), next = -1;
        for (struct conn *c = conns; c; c = c->next)
            if (c->deadline && (next < 0 || c->deadline < next))
                next = c->deadline;
        int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
        int n = epoll_wait(epfd, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            perror("sp-testbackend: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_some();
            else
                conn_run(evs[i].data.ptr, evs[i].events);
        }
        now = now_ms();
        for (struct conn *c = conns, *nx; c; c = nx) {
            nx = c->next;
            if (c->deadline && c->deadline <= now) {
                c->deadline = 0;
                timer_fired(c);
                conn_run(c, 0);
            }
        }
    }
}
