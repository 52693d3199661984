/* tests/balance/test_routing.c - the routing snapshot of balance/routing.c: compiling `acl`
 * and `use_backend` lines from a parsed configuration, their errors, the per-request choice
 * of sp_frontend_route(), and the snapshot's lifetime under liburcu QSBR with readers on
 * other threads (run under ASan: a reader touching a freed snapshot is a heap-use-after-free,
 * and a snapshot never freed is a leak at exit). */
#include "balance/balance.h"

#include "core/config.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

/* ThreadSanitizer does not see liburcu's publication (an xchg in inline assembly), its grace
 * periods (futexes inside the uninstrumented library) or ck_pr's reference counts: under TSan
 * the test states those edges itself (an acquire/release pair per edge, and a mutex around
 * every reference drop so that the thread freeing a snapshot is ordered after every other
 * drop), so that what remains reported is about spillway's own accesses. Built without TSan
 * these are no-ops and the snapshots are freed exactly as in a worker. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define UNDER_TSAN      1
#define TSAN_RELEASE(p) __tsan_release((void *)(p))
#define TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define UNDER_TSAN      0
#define TSAN_RELEASE(p) ((void)(p))
#define TSAN_ACQUIRE(p) ((void)(p))
#endif

/* ---- fakes: one request and the live load -------------------------------------------- */

#define MAXHDR 8

static struct {
    const char *method, *uri;
    const char *hname[MAXHDR], *hval[MAXHDR];
    size_t nhdrs;
    struct sockaddr_storage src;
    int64_t fe_conn[4]; /* by frontend index */
    int nload_calls;
    enum sp_acl_load last_what;
    int last_idx;
} F;

static void reset(void)
{
    memset(&F, 0, sizeof(F));
    F.method = "GET";
    F.uri = "/";
    struct sockaddr_in *s4 = (struct sockaddr_in *)&F.src;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(40000);
    inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
}

static void set_src(const char *ip)
{
    inet_pton(AF_INET, ip, &((struct sockaddr_in *)&F.src)->sin_addr);
}

static void add_hdr(const char *name, const char *value)
{
    F.hname[F.nhdrs] = name;
    F.hval[F.nhdrs] = value;
    F.nhdrs++;
}

static void fake_hdr(const void *req, size_t i, const char **name, size_t *name_len,
                     const char **value, size_t *value_len)
{
    (void)req;
    *name = F.hname[i];
    *name_len = strlen(F.hname[i]);
    *value = F.hval[i];
    *value_len = strlen(F.hval[i]);
}

static int64_t fake_load(const void *ctx, enum sp_acl_load what, int idx)
{
    (void)ctx;
    F.nload_calls++;
    F.last_what = what;
    F.last_idx = idx;
    if (what != SP_LOAD_FE_CONN || idx < 0 || idx >= 4)
        return -1;
    return F.fe_conn[idx];
}

static struct sp_acl_env make_env(const struct sp_frontend *fe)
{
    struct sp_acl_env env = {
        .method = F.method,
        .method_len = strlen(F.method),
        .uri = F.uri,
        .uri_len = strlen(F.uri),
        .version = 11,
        .nhdrs = F.nhdrs,
        .hdr = fake_hdr,
        .req = &F,
        .src = &F.src,
        .dst = NULL,
        .load = fake_load,
        .load_ctx = &F,
        .fe_idx = fe->idx,
        .be_idx = -1,
    };
    return env;
}

/* The backend name chosen for the current fake request, "(none)" without one; *rule gets the
 * matching rule's index or -1. */
static const char *route(const struct sp_frontend *fe, int *rule)
{
    struct sp_acl_env env = make_env(fe);
    int r = -2;
    const struct sp_backend *be = sp_frontend_route(fe, &env, &r);
    if (rule)
        *rule = r;
    return be ? be->name : "(none)";
}

/* ---- configurations ---------------------------------------------------------------------- */

#define CFG_HEAD                                                                                   \
    "global\n"                       /* 1 */                                                       \
    "    nbthread 2\n"               /* 2 */                                                       \
    "defaults\n"                     /* 3 */                                                       \
    "    mode http\n"                /* 4 */                                                       \
    "    timeout client 5s\n"        /* 5 */                                                       \
    "    timeout server 5s\n"        /* 6 */                                                       \
    "    timeout connect 2s\n"       /* 7 */                                                       \
    "backend ade\n"                  /* 8 */                                                       \
    "    server a1 127.0.0.1:9001\n" /* 9 */                                                       \
    "backend pbcoffee\n"             /* 10 */                                                      \
    "    server p1 127.0.0.1:9002\n" /* 11 */                                                      \
    "backend api\n"                  /* 12 */                                                      \
    "    server x1 127.0.0.1:9003\n" /* 13 */                                                      \
    "frontend webserver\n"           /* 14 */                                                      \
    "    bind 127.0.0.1:8080\n"      /* 15 */

#define LINE_FE_BODY 16 /* the first line after CFG_HEAD */

/* The overflow configuration of HAPROXY-BEHAVIOUR.md section 0 */
static const char overflow_cfg[] =
    CFG_HEAD "    maxconn 310\n"
             "    acl too_many_connections fe_conn(webserver) gt 300\n" /* 17 */
             "    use_backend pbcoffee if too_many_connections\n"       /* 18 */
             "    default_backend ade\n"
             "    default_backend ade\n";

static struct sp_config *parse(const char *text)
{
    struct sp_config *cfg = NULL;
    int err = sp_config_parse_string(text, "test.cfg", stderr, &cfg);
    CU_ASSERT_EQUAL(err, 0);
    return err ? NULL : cfg;
}

/* Builds a snapshot from `text`; diagnostics go to *diag_out (malloc'ed, caller frees) and the
 * error count to *nerr. */
static struct sp_routing *build(const char *text, char **diag_out, int *nerr)
{
    struct sp_config *cfg = parse(text);
    char *buf = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&buf, &len);
    struct sp_routing *r = NULL;

    *nerr = -1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(diag);
    if (cfg)
        r = sp_routing_build(cfg, diag, nerr);
    fclose(diag);
    sp_config_free(cfg);
    if (diag_out)
        *diag_out = buf;
    else
        free(buf);
    return r;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

#define ASSERT_HAS(hay, needle)                                                                    \
    do {                                                                                           \
        const char *h_ = (hay);                                                                    \
        bool ok_ = h_ && strstr(h_, (needle)) != NULL;                                             \
        if (!ok_)                                                                                  \
            fprintf(stderr, "\n  expected \"%s\" in: %s\n", (needle), h_ ? h_ : "(null)");         \
        CU_ASSERT(ok_);                                                                            \
    } while (0)

/* ---- compilation ------------------------------------------------------------------------- */

static void test_compile_overflow(void)
{
    int nerr = -1;
    char *diag = NULL;
    struct sp_routing *r = build(overflow_cfg, &diag, &nerr);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(nerr, 0);
    CU_ASSERT_STRING_EQUAL(diag, "");
    CU_ASSERT_EQUAL(r->nfe, 1);
    CU_ASSERT_EQUAL(r->nbe, 3);
    CU_ASSERT_EQUAL(r->nsrv, 3);
    CU_ASSERT_EQUAL(r->refcnt, 1);

    struct sp_frontend *fe = sp_routing_frontend(r, "webserver");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_PTR_EQUAL(fe, r->fe[0]);
    CU_ASSERT_PTR_NULL(sp_routing_frontend(r, "ade"));
    CU_ASSERT_EQUAL(fe->maxconn, 310);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->defbe);
    CU_ASSERT_STRING_EQUAL(fe->defbe->name, "ade");
    CU_ASSERT_EQUAL_FATAL(fe->nrules, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->rules[0].be);
    CU_ASSERT_STRING_EQUAL(fe->rules[0].be->name, "pbcoffee");
    CU_ASSERT_PTR_NOT_NULL(fe->rules[0].cond);
    CU_ASSERT_EQUAL(fe->rules[0].line, LINE_FE_BODY + 2);
    if (fe->rules[0].cond)
        ASSERT_HAS(sp_acl_cond_text(fe->rules[0].cond), "too_many_connections");

    /* every build gets a fresh generation */
    int nerr2 = -1;
    struct sp_routing *r2 = build(overflow_cfg, NULL, &nerr2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
    CU_ASSERT(r2->generation > r->generation);
    sp_routing_discard(r2);
    CU_ASSERT_PTR_NULL(sp_routing_discard(r));
    CU_ASSERT_PTR_NULL(sp_routing_discard(NULL));
    free(diag);
}

/* A use_backend without a condition, several rules, and a frontend without default_backend */
static void test_compile_rules(void)
{
    static const char cfg[] = CFG_HEAD "    use_backend api if { path_beg /api }\n"
                                       "    use_backend pbcoffee\n"
                                       "    use_backend ade if TRUE\n";
    int nerr = -1;
    struct sp_routing *r = build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct sp_frontend *fe = r->fe[0];
    CU_ASSERT_PTR_NULL(fe->defbe);
    CU_ASSERT_EQUAL_FATAL(fe->nrules, 3);
    CU_ASSERT_STRING_EQUAL(fe->rules[0].be->name, "api");
    CU_ASSERT_STRING_EQUAL(fe->rules[1].be->name, "pbcoffee");
    CU_ASSERT_PTR_NULL(fe->rules[1].cond);
    CU_ASSERT_STRING_EQUAL(fe->rules[2].be->name, "ade");
    CU_ASSERT_EQUAL(fe->rules[0].line, LINE_FE_BODY);
    CU_ASSERT_EQUAL(fe->rules[1].line, LINE_FE_BODY + 1);
    CU_ASSERT_EQUAL(fe->rules[2].line, LINE_FE_BODY + 2);

    reset();
    int rule;
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "pbcoffee"); /* the unconditional rule */
    CU_ASSERT_EQUAL(rule, 1);
    F.uri = "/api/x";
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "api");
    CU_ASSERT_EQUAL(rule, 0);
    sp_routing_discard(r);

    /* no rule matches, no default backend: NULL (the request gets 503) */
    static const char cfg2[] = CFG_HEAD "    use_backend api if { path_beg /api }\n";
    r = build(cfg2, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    reset();
    struct sp_acl_env env = make_env(r->fe[0]);
    rule = 7;
    CU_ASSERT_PTR_NULL(sp_frontend_route(r->fe[0], &env, &rule));
    CU_ASSERT_EQUAL(rule, -1);
    sp_routing_discard(r);
}

static void test_error_unknown_backend(void)
{
    static const char cfg[] = CFG_HEAD "    use_backend nosuch if TRUE\n"
                                       "    default_backend ade\n";
    int nerr = -1;
    char *diag = NULL;
    struct sp_routing *r = build(cfg, &diag, &nerr);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nerr, 1);
    ASSERT_HAS(diag, "[ALERT]");
    ASSERT_HAS(diag, "test.cfg:16:");
    ASSERT_HAS(diag, "'use_backend'");
    ASSERT_HAS(diag, "nosuch");
    CU_ASSERT_EQUAL(count_lines(diag), 1);
    sp_routing_discard(r);
    free(diag);
}

static void test_error_bad_acl(void)
{
    static const char cfg[] = CFG_HEAD "    acl busy fe_conn(nosuchfe) gt 3\n"
                                       "    acl weird nosuchfetch 1\n"
                                       "    acl cnt fe_conn gt notanumber\n"
                                       "    default_backend ade\n";
    int nerr = -1;
    char *diag = NULL;
    struct sp_routing *r = build(cfg, &diag, &nerr);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nerr, 3);
    ASSERT_HAS(diag, "test.cfg:16: 'acl'");
    ASSERT_HAS(diag, "nosuchfe");
    ASSERT_HAS(diag, "test.cfg:17: 'acl'");
    ASSERT_HAS(diag, "nosuchfetch");
    ASSERT_HAS(diag, "test.cfg:18: 'acl'");
    ASSERT_HAS(diag, "notanumber");
    CU_ASSERT_EQUAL(count_lines(diag), 3);
    free(diag);
}

static void test_error_unknown_acl(void)
{
    static const char cfg[] =
        CFG_HEAD "    acl too_many_connections fe_conn(webserver) gt 300\n"       /* 16 */
                 "    use_backend pbcoffee if too_many_conections\n"              /* 17: typo */
                 "    use_backend pbcoffee if too_many_connections and TRUE\n"    /* 18: no `and` */
                 "    use_backend pbcoffee if too_many_connections || ! nosuch\n" /* 19 */
                 "    use_backend nosuch if too_many_connections\n"               /* 20 */
                 "    default_backend ade\n";
    int nerr = -1;
    char *diag = NULL;
    struct sp_routing *r = build(cfg, &diag, &nerr);
    CU_ASSERT_PTR_NULL(r);
    /* every error is reported and counted, not only the first */
    CU_ASSERT_EQUAL(nerr, 4);
    CU_ASSERT_EQUAL(count_lines(diag), 4);
    ASSERT_HAS(diag, "test.cfg:17: 'use_backend'");
    ASSERT_HAS(diag, "too_many_conections");
    ASSERT_HAS(diag, "test.cfg:18: 'use_backend'");
    ASSERT_HAS(diag, "'and'");
    ASSERT_HAS(diag, "test.cfg:19: 'use_backend'");
    ASSERT_HAS(diag, "nosuch'");
    ASSERT_HAS(diag, "test.cfg:20: 'use_backend'");
    free(diag);
}

/* A `use_backend` pointing at a backend of another mode is refused (HAPROXY-BEHAVIOUR 3.3) */
static void test_error_mode(void)
{
    static const char cfg[] = CFG_HEAD "    use_backend tcpbe if TRUE\n"
                                       "    default_backend ade\n"
                                       "backend tcpbe\n"
                                       "    mode tcp\n"
                                       "    server t1 127.0.0.1:9004\n";
    int nerr = -1;
    char *diag = NULL;
    struct sp_routing *r = build(cfg, &diag, &nerr);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nerr, 1);
    ASSERT_HAS(diag, "test.cfg:16: 'use_backend'");
    ASSERT_HAS(diag, "tcpbe");
    free(diag);
}

/* ---- routing decisions ------------------------------------------------------------------- */

static void test_route_fe_conn(void)
{
    int nerr = -1, rule;
    struct sp_routing *r = build(overflow_cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct sp_frontend *fe = r->fe[0];

    reset();
    F.fe_conn[0] = 300;
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "ade");
    CU_ASSERT_EQUAL(rule, -1);
    CU_ASSERT_EQUAL(F.last_what, SP_LOAD_FE_CONN);
    CU_ASSERT_EQUAL(F.last_idx, fe->idx);

    F.fe_conn[0] = 301;
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "pbcoffee");
    CU_ASSERT_EQUAL(rule, 0);

    /* evaluated per request, nothing cached: back under the threshold, back to ade */
    int calls = F.nload_calls;
    F.fe_conn[0] = 0;
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "ade");
    CU_ASSERT(F.nload_calls > calls);
    F.fe_conn[0] = 100000;
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "pbcoffee");
    /* a load that cannot be known fails the fetch: the ACL is false */
    F.fe_conn[0] = -1;
    CU_ASSERT_STRING_EQUAL(route(fe, &rule), "ade");
    sp_routing_discard(r);
}

/* fe_conn(NAME) reads the named frontend, not the evaluating one */
static void test_route_fe_conn_other(void)
{
    static const char cfg[] = CFG_HEAD "    acl busy fe_conn(other) gt 5\n"
                                       "    acl mine fe_conn gt 5\n"
                                       "    use_backend pbcoffee if busy\n"
                                       "    use_backend api if mine\n"
                                       "    default_backend ade\n"
                                       "frontend other\n"
                                       "    bind 127.0.0.1:8081\n"
                                       "    default_backend ade\n";
    int nerr = -1;
    struct sp_routing *r = build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct sp_frontend *fe = sp_routing_frontend(r, "webserver");
    struct sp_frontend *other = sp_routing_frontend(r, "other");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_NOT_EQUAL(fe->idx, other->idx);
    reset();
    F.fe_conn[fe->idx] = 6;
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "api");
    F.fe_conn[other->idx] = 6;
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "pbcoffee");
    F.fe_conn[fe->idx] = 0;
    F.fe_conn[other->idx] = 5;
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "ade");
    sp_routing_discard(r);
}

static void test_route_order_unless(void)
{
    static const char cfg[] = CFG_HEAD "    acl big fe_conn gt 10\n"
                                       "    acl huge fe_conn gt 20\n"
                                       "    use_backend api if big\n" /* first match wins */
                                       "    use_backend pbcoffee if huge\n"
                                       "    default_backend ade\n";
    int nerr = -1, rule;
    struct sp_routing *r = build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    reset();
    F.fe_conn[0] = 25; /* both match: the first one declared wins */
    CU_ASSERT_STRING_EQUAL(route(r->fe[0], &rule), "api");
    CU_ASSERT_EQUAL(rule, 0);
    F.fe_conn[0] = 10;
    CU_ASSERT_STRING_EQUAL(route(r->fe[0], &rule), "ade");
    CU_ASSERT_EQUAL(rule, -1);
    sp_routing_discard(r);

    static const char cfg2[] = CFG_HEAD "    acl too_many_connections fe_conn gt 300\n"
                                        "    use_backend ade unless too_many_connections\n"
                                        "    default_backend pbcoffee\n";
    r = build(cfg2, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    reset();
    F.fe_conn[0] = 300;
    CU_ASSERT_STRING_EQUAL(route(r->fe[0], &rule), "ade");
    CU_ASSERT_EQUAL(rule, 0);
    F.fe_conn[0] = 301;
    CU_ASSERT_STRING_EQUAL(route(r->fe[0], &rule), "pbcoffee");
    CU_ASSERT_EQUAL(rule, -1);
    sp_routing_discard(r);

    /* the position of default_backend among the rules does not matter; the last one wins */
    static const char cfg3[] = CFG_HEAD "    default_backend api\n"
                                        "    use_backend pbcoffee if { fe_conn gt 1 }\n"
                                        "    default_backend ade\n";
    r = build(cfg3, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    reset();
    F.fe_conn[0] = 1;
    CU_ASSERT_STRING_EQUAL(route(r->fe[0], NULL), "ade");
    F.fe_conn[0] = 2;
    CU_ASSERT_STRING_EQUAL(route(r->fe[0], NULL), "pbcoffee");
    sp_routing_discard(r);
}

static void test_route_request(void)
{
    static const char cfg[] = CFG_HEAD "    acl is_api path_beg /api\n"
                                       "    acl is_example hdr(host) -i example.com\n"
                                       "    acl is_post method POST\n"
                                       "    acl from_two src 127.0.0.2\n"
                                       "    use_backend api if is_api\n"
                                       "    use_backend pbcoffee if is_example || is_post\n"
                                       "    use_backend api if from_two !is_post\n"
                                       "    default_backend ade\n";
    int nerr = -1;
    struct sp_routing *r = build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct sp_frontend *fe = r->fe[0];

    reset();
    add_hdr("Host", "localhost");
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "ade");
    F.uri = "/api/v1?x=1";
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "api");
    F.uri = "/apx";
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "ade");

    reset();
    add_hdr("Host", "EXAMPLE.com");
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "pbcoffee");
    reset();
    add_hdr("Host", "example.org");
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "ade");

    reset();
    F.method = "POST";
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "pbcoffee");

    reset();
    set_src("127.0.0.2");
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "api");
    F.method = "POST"; /* from_two !is_post is false, is_post true */
    CU_ASSERT_STRING_EQUAL(route(fe, NULL), "pbcoffee");
    sp_routing_discard(r);
}

/* ---- publication and lifetime (single thread) -------------------------------------------- */

static void test_publish_ref(void)
{
    int nerr = -1;
    struct sp_routing *a = build(overflow_cfg, NULL, &nerr);
    struct sp_routing *b = build(overflow_cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);

    sp_routing_publish(a);
    CU_ASSERT_PTR_EQUAL(sp_routing_get(), a);
    sp_routing_ref(a);
    CU_ASSERT_EQUAL(a->refcnt, 2);
    /* replacing `a` drops only its published reference: ours keeps it readable */
    sp_routing_publish(b);
    CU_ASSERT_PTR_EQUAL(sp_routing_get(), b);
    CU_ASSERT_EQUAL(a->refcnt, 1);
    CU_ASSERT_STRING_EQUAL(a->fe[0]->name, "webserver");
    CU_ASSERT_STRING_EQUAL(a->fe[0]->rules[0].be->name, "pbcoffee");
    reset();
    F.fe_conn[0] = 301;
    CU_ASSERT_STRING_EQUAL(route(a->fe[0], NULL), "pbcoffee");
    sp_routing_unref(a); /* freed here (ASan catches any later use) */
    CU_ASSERT_EQUAL(b->refcnt, 1);
    sp_routing_shutdown();
    CU_ASSERT_PTR_NULL(sp_routing_get());
    sp_routing_shutdown(); /* nothing published: a no-op */
}

/* ---- publication under concurrent QSBR readers ---------------------------------------- */

#define NREADERS     4
#define NPUBLISH     200
#define HOLD_MAX     4
#define READER_ITERS 50000000L /* bound on a reader's loop, far above what it needs */
#define RCU_BUDGET   20.0      /* seconds */

static struct {
    atomic_bool done;
    atomic_long bad;   /* inconsistent reads */
    atomic_long reads; /* snapshots read */
    atomic_long refs;  /* references taken */
    atomic_long gens;  /* distinct snapshots seen, summed over readers */
    atomic_int started;
    int gp;        /* TSan only: the grace-period edge */
    unsigned gen0; /* generation of snapshot 0 */
} Q;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *rcu_cfg(int i, char *buf, size_t len)
{
    snprintf(buf, len,
             CFG_HEAD "    maxconn %d\n"
                      "    acl too_many_connections fe_conn(webserver) gt 300\n"
                      "    use_backend pbcoffee if too_many_connections\n"
                      "    default_backend ade\n",
             1000 + i);
    return buf;
}

/* Reads everything a worker would read from a snapshot and checks it is the snapshot its
 * generation says (maxconn 1000 + i for the i-th one published). */
static bool snapshot_ok(const struct sp_routing *r)
{
    if (r->nfe != 1 || r->nbe != 3 || r->nsrv != 3)
        return false;
    const struct sp_frontend *fe = r->fe[0];
    if (strcmp(fe->name, "webserver") || fe->nrules != 1 || !fe->defbe ||
        strcmp(fe->defbe->name, "ade") || strcmp(fe->rules[0].be->name, "pbcoffee"))
        return false;
    if (fe->maxconn != 1000 + (int)(r->generation - Q.gen0))
        return false;
    for (int i = 0; i < r->nsrv; i++)
        if (r->srv[i]->idx != i || !r->srv[i]->be || strlen(r->srv[i]->name) != 2)
            return false;
    if (atomic_load_explicit((_Atomic uint64_t *)&r->refcnt, memory_order_relaxed) == 0)
        return false;
    return true;
}

static int64_t const_load(const void *ctx, enum sp_acl_load what, int idx)
{
    (void)what;
    (void)idx;
    return *(const int64_t *)ctx;
}

static bool route_ok(const struct sp_routing *r)
{
    const struct sp_frontend *fe = r->fe[0];
    int64_t hi = 301, lo = 300;
    struct sp_acl_env env = {.method = "GET",
                             .method_len = 3,
                             .uri = "/",
                             .uri_len = 1,
                             .version = 11,
                             .load = const_load,
                             .load_ctx = &hi,
                             .fe_idx = fe->idx,
                             .be_idx = -1};
    int rule;
    const struct sp_backend *be = sp_frontend_route(fe, &env, &rule);
    if (!be || strcmp(be->name, "pbcoffee") || rule != 0)
        return false;
    env.load_ctx = &lo;
    be = sp_frontend_route(fe, &env, &rule);
    return be && !strcmp(be->name, "ade") && rule == -1;
}

static pthread_mutex_t drop_lock = PTHREAD_MUTEX_INITIALIZER; /* TSan builds only */

/* Drops a counted reference (see UNDER_TSAN above). */
static void drop(struct sp_routing *r)
{
    if (UNDER_TSAN)
        pthread_mutex_lock(&drop_lock);
    sp_routing_unref(r);
    if (UNDER_TSAN)
        pthread_mutex_unlock(&drop_lock);
}

/* Publishes `r`. Under TSan, main keeps the old snapshot until the grace period is over (as
 * seen by TSan) and drops it itself; otherwise sp_routing_publish() frees it, as on reload. */
static void publish(struct sp_routing *r)
{
    struct sp_routing *old = UNDER_TSAN ? sp_routing_get() : NULL;
    if (old)
        sp_routing_ref(old);
    TSAN_RELEASE(r); /* rcu_assign_pointer -> rcu_dereference */
    sp_routing_publish(r);
    TSAN_ACQUIRE(&Q.gp); /* every reader's quiescent state -> the end of the grace period */
    if (old)
        drop(old);
}

struct held {
    struct sp_routing *r;
    unsigned gen;
    int ttl; /* quiescent states left before the reference is dropped */
};

static void *reader(void *arg)
{
    unsigned seed = 2654435761u * (unsigned)(uintptr_t)arg + 1;
    struct held held[HOLD_MAX] = {{0}};
    unsigned last_gen = 0;
    long bad = 0, reads = 0, refs = 0, gens = 0;

    urcu_qsbr_register_thread();
    atomic_fetch_add(&Q.started, 1);
    for (long n = 0; n < READER_ITERS && !atomic_load(&Q.done); n++) {
        struct sp_routing *r = sp_routing_get();
        TSAN_ACQUIRE(r); /* rcu_assign_pointer -> rcu_dereference */
        if (!r) {
            bad++;
        } else {
            reads++;
            if (r->generation < last_gen)
                bad++; /* snapshots are seen in publication order */
            if (r->generation != last_gen)
                gens++;
            last_gen = r->generation;
            if (!snapshot_ok(r) || ((n & 15) == 0 && !route_ok(r)))
                bad++;
            /* a bare pointer stays valid until our next quiescent state, however long the
             * loop turn: give the publisher time to run, then read it again */
            if ((n & 3) == 0) {
                sched_yield();
                if (!snapshot_ok(r))
                    bad++;
            }
            seed = seed * 1103515245u + 12345u;
            if (((seed >> 16) & 7) == 0) {
                for (int i = 0; i < HOLD_MAX; i++) {
                    if (!held[i].r) {
                        sp_routing_ref(r);
                        held[i] = (struct held){r, r->generation, 2 + (int)((seed >> 20) % 64)};
                        refs++;
                        break;
                    }
                }
            }
        }
        /* every held snapshot stays whole until we let it go, however many publications
         * happened since */
        for (int i = 0; i < HOLD_MAX; i++) {
            if (!held[i].r)
                continue;
            if (held[i].r->generation != held[i].gen || !snapshot_ok(held[i].r))
                bad++;
            if (--held[i].ttl <= 0) {
                if (!route_ok(held[i].r))
                    bad++;
                drop(held[i].r);
                held[i].r = NULL;
            }
        }
        TSAN_RELEASE(&Q.gp); /* our reads so far -> the end of the grace period */
        urcu_qsbr_quiescent_state();
    }
    for (int i = 0; i < HOLD_MAX; i++)
        if (held[i].r)
            drop(held[i].r);
    TSAN_RELEASE(&Q.gp);
    urcu_qsbr_unregister_thread();
    atomic_fetch_add(&Q.bad, bad);
    atomic_fetch_add(&Q.reads, reads);
    atomic_fetch_add(&Q.refs, refs);
    atomic_fetch_add(&Q.gens, gens);
    return NULL;
}

static void test_rcu_readers(void)
{
    pthread_t th[NREADERS];
    char buf[4096];
    int nerr = -1;
    double t0 = now_s();

    memset(&Q, 0, sizeof(Q));
    struct sp_routing *r = build(rcu_cfg(0, buf, sizeof(buf)), NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    Q.gen0 = r->generation;
    publish(r);
    for (int i = 0; i < NREADERS; i++)
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)i) == 0);
    for (int k = 0; k < 1000 && atomic_load(&Q.started) < NREADERS; k++)
        usleep(1000);

    int published = 1;
    for (int i = 1; i <= NPUBLISH && now_s() - t0 < RCU_BUDGET; i++) {
        r = build(rcu_cfg(i, buf, sizeof(buf)), NULL, &nerr);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(r->generation, Q.gen0 + (unsigned)i);
        publish(r); /* waits for a grace period, then drops the old one */
        published++;
        if (i % 16 == 0)
            usleep(200); /* let readers hold references across several publications */
    }
    atomic_store(&Q.done, true);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_PTR_EQUAL(sp_routing_get(), r);
    CU_ASSERT_EQUAL(r->refcnt, 1); /* readers dropped everything they took */
    sp_routing_shutdown();
    CU_ASSERT_PTR_NULL(sp_routing_get());

    printf("\n    rcu: %d snapshots published in %.2fs; readers: %ld reads, %ld references, "
           "%ld snapshot changes seen\n",
           published, now_s() - t0, atomic_load(&Q.reads), atomic_load(&Q.refs),
           atomic_load(&Q.gens));
    CU_ASSERT_EQUAL(published, NPUBLISH + 1);
    CU_ASSERT_EQUAL(atomic_load(&Q.bad), 0);
    CU_ASSERT(atomic_load(&Q.reads) > 0);
    CU_ASSERT(atomic_load(&Q.refs) > 0);
    CU_ASSERT(atomic_load(&Q.gens) > NREADERS); /* readers did see publications happen */
}

/* weighted round-robin over the active servers; a backup only when none is usable */
static void test_pick_rr_backup(void)
{
    int nerr;
    struct sp_routing *r = build("defaults\n mode http\n timeout client 1s\n timeout server 1s\n"
                                 " timeout connect 1s\nbackend b\n server a1 127.0.0.1:1 weight 3\n"
                                 " server a2 127.0.0.1:2\n server k1 127.0.0.1:3 backup\n"
                                 " server k2 127.0.0.1:4 backup\n",
                                 NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    int64_t cw[8] = {0};
    int hits[4] = {0};
    for (int i = 0; i < 400; i++) {
        const struct sp_server *s = sp_backend_pick_rr(be, cw, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        hits[s->id - 1]++;
    }
    CU_ASSERT_EQUAL(hits[0], 300); /* weight 3 against 1, exactly over whole cycles */
    CU_ASSERT_EQUAL(hits[1], 100);
    CU_ASSERT_EQUAL(hits[2], 0);
    CU_ASSERT_EQUAL(hits[3], 0);
    /* `exclude` is skipped while another active server remains */
    CU_ASSERT_PTR_EQUAL(sp_backend_pick_rr(be, cw, be->srv[0]), be->srv[1]);
    /* no active server left (one in maintenance, one of weight 0): the first backup, always */
    sp_srv_set_admin(be->srv[0]->h, SP_SRV_FMAINT, 0);
    sp_srv_set_weight(be->srv[1]->h, 0, 0);
    CU_ASSERT_EQUAL(sp_backend_usable(be, false), 0);
    CU_ASSERT_EQUAL(sp_backend_usable(be, true), 2);
    CU_ASSERT_PTR_EQUAL(sp_backend_pick_rr(be, cw, NULL), be->srv[2]);
    CU_ASSERT_PTR_EQUAL(sp_backend_pick_rr(be, cw, NULL), be->srv[2]);
    /* a backup that is DOWN (its check failed) is passed over */
    sp_srv_set_op(be->srv[2]->h, SP_SRV_STOPPED, 0);
    CU_ASSERT_PTR_EQUAL(sp_backend_pick_rr(be, cw, NULL), be->srv[3]);
    sp_srv_set_admin(be->srv[3]->h, SP_SRV_FDRAIN, 0);
    CU_ASSERT_PTR_NULL(sp_backend_pick_rr(be, cw, NULL));
    /* back from maintenance: the active server takes over again */
    sp_srv_set_admin(be->srv[0]->h, 0, 0);
    CU_ASSERT_PTR_EQUAL(sp_backend_pick_rr(be, cw, NULL), be->srv[0]);
    sp_routing_discard(r);
}

void test_routing_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/routing");
    sp_unit_test(s, "overflow config compiles: rule, line, default backend", test_compile_overflow);
    sp_unit_test(s, "round-robin weights and backup servers", test_pick_rr_backup);
    sp_unit_test(s, "several rules, no condition, no default backend", test_compile_rules);
    sp_unit_test(s, "error: use_backend to an unknown backend", test_error_unknown_backend);
    sp_unit_test(s, "error: bad acl lines, each reported and counted", test_error_bad_acl);
    sp_unit_test(s, "error: unknown ACL, 'and' in a condition", test_error_unknown_acl);
    sp_unit_test(s, "error: use_backend to a backend of another mode", test_error_mode);
    sp_unit_test(s, "fe_conn 300 -> ade, 301 -> pbcoffee, per evaluation", test_route_fe_conn);
    sp_unit_test(s, "fe_conn(name) reads the named frontend", test_route_fe_conn_other);
    sp_unit_test(s, "rule order, unless, default_backend position", test_route_order_unless);
    sp_unit_test(s, "path_beg, hdr(host) -i, method, src", test_route_request);
    sp_unit_test(s, "publish, counted reference outlives replacement", test_publish_ref);
    sp_unit_test(s, "200 publications under 4 QSBR readers holding references", test_rcu_readers);
}
