/* tests/balance/test_acl.c - ACL declarations, fetches, match methods and conditions of
 * balance/acl.c and balance/acl-fetch.c, against a fake resolver and a fake request. */
#include "balance/acl.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- fakes ------------------------------------------------------------------------------ */

#define NLOAD  (SP_LOAD_ACT_CONN + 1)
#define MAXHDR 16

/* The request, connection and load values the next evaluation sees; reset() before each
 * test. Loads default to 0; idx -1 (act_conn) reads slot 3. */
static struct {
    const char *method, *uri;
    int version;
    const char *hname[MAXHDR], *hval[MAXHDR];
    size_t nhdrs;
    struct sockaddr_storage src, dst;
    bool has_src, has_dst;
    int64_t load[NLOAD][4];
    int nload_calls;
    enum sp_acl_load last_what;
    int last_idx;
} F;

static char last_err[512];

static void reset(void)
{
    memset(&F, 0, sizeof(F));
    F.method = "GET";
    F.uri = "/";
    F.version = 11;
    last_err[0] = '\0';
}

static void add_hdr(const char *name, const char *value)
{
    F.hname[F.nhdrs] = name;
    F.hval[F.nhdrs] = value;
    F.nhdrs++;
}

static void set_addr(struct sockaddr_storage *ss, bool *has, const char *ip, int port)
{
    memset(ss, 0, sizeof(*ss));
    *has = true;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        CU_ASSERT_FATAL(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        CU_ASSERT_FATAL(inet_pton(AF_INET, ip, &s4->sin_addr) == 1);
    }
}

static void set_src(const char *ip, int port)
{
    set_addr(&F.src, &F.has_src, ip, port);
}

static void set_dst(const char *ip, int port)
{
    set_addr(&F.dst, &F.has_dst, ip, port);
}

static void fake_hdr(const void *req, size_t i, const char **name, size_t *name_len,
                     const char **value, size_t *value_len)
{
    CU_ASSERT_PTR_EQUAL(req, &F);
    CU_ASSERT(i < F.nhdrs);
    *name = F.hname[i];
    *name_len = strlen(F.hname[i]);
    *value = F.hval[i];
    *value_len = strlen(F.hval[i]);
}

static int64_t fake_load(const void *ctx, enum sp_acl_load what, int idx)
{
    CU_ASSERT_PTR_EQUAL(ctx, &F);
    F.nload_calls++;
    F.last_what = what;
    F.last_idx = idx;
    return F.load[what][idx < 0 ? 3 : idx];
}

static struct sp_acl_env make_env(void)
{
    struct sp_acl_env env = {
        .method = F.method,
        .method_len = F.method ? strlen(F.method) : 0,
        .uri = F.uri,
        .uri_len = F.uri ? strlen(F.uri) : 0,
        .version = F.version,
        .nhdrs = F.nhdrs,
        .hdr = fake_hdr,
        .req = &F,
        .src = F.has_src ? &F.src : NULL,
        .dst = F.has_dst ? &F.dst : NULL,
        .load = fake_load,
        .load_ctx = &F,
        .fe_idx = 0,
        .be_idx = 0,
    };
    return env;
}

static const char *const fe_names[] = {"webserver", "fe2"};
static const char *const be_names[] = {"ade", "pbcoffee"};

static int find_name(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

static int fake_fe(const void *ctx, const char *name)
{
    (void)ctx;
    return find_name(fe_names, 2, name);
}

static int fake_be(const void *ctx, const char *name)
{
    (void)ctx;
    return find_name(be_names, 2, name);
}

static int fake_srv(const void *ctx, const char *be, const char *srv)
{
    (void)ctx;
    return !strcmp(be, "ade") && !strcmp(srv, "s1") ? 2 : -1;
}

/* the declaring proxy: a `listen` whose frontend is "webserver" and backend "ade" */
static struct sp_acl_resolver R = {fake_fe, fake_be,        fake_srv, NULL, 0,
                                   0,       SP_ACL_CTX_ANY, NULL,     NULL};

/* ---- helpers ------------------------------------------------------------------------- */

#define MAXW 64

static int split(char *buf, char **words)
{
    int n = 0;
    for (char *tok = strtok(buf, " "); tok && n < MAXW; tok = strtok(NULL, " "))
        words[n++] = tok;
    return n;
}

/* Declares each line of `acls` (`NAME CRITERION ...`, lines separated by '\n') into set.
 * Returns 0, or -1 with the message in last_err. */
static int declare(struct sp_acl_set *set, const char *acls)
{
    char *copy = strdup(acls), *save = NULL;
    int ret = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char lbuf[1024], *w[MAXW];
        snprintf(lbuf, sizeof(lbuf), "%s", line);
        int n = split(lbuf, w);
        if (sp_acl_declare(set, &R, w, n, last_err, sizeof(last_err))) {
            ret = -1;
            break;
        }
    }
    free(copy);
    return ret;
}

/* A compiled set and condition, evaluated as often as a test needs. */
struct tc {
    struct sp_acl_set *set;
    struct sp_acl_cond *cond;
};

static bool tc_build(struct tc *t, const char *acls, const char *cond)
{
    char cbuf[1024], *w[MAXW];
    t->set = sp_acl_set_new();
    t->cond = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t->set);
    if (acls && declare(t->set, acls))
        return false;
    snprintf(cbuf, sizeof(cbuf), "%s", cond);
    int n = split(cbuf, w);
    t->cond = sp_acl_cond_parse(t->set, &R, w, n, last_err, sizeof(last_err));
    return t->cond != NULL;
}

static int tc_eval(const struct tc *t)
{
    struct sp_acl_env env = make_env();
    return sp_acl_cond_eval(t->cond, &env) ? 1 : 0;
}

static void tc_free(struct tc *t)
{
    t->cond = sp_acl_cond_free(t->cond);
    t->set = sp_acl_set_free(t->set);
}

/* 1 or 0: the condition's value on the current fake request; -1: it did not compile. */
static int run(const char *acls, const char *cond)
{
    struct tc t;
    int ret = tc_build(&t, acls, cond) ? tc_eval(&t) : -1;
    tc_free(&t);
    return ret;
}

/* `acl x CRITERION...` then `if x` */
static int acl1(const char *def)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "x %s", def);
    return run(buf, "if x");
}

/* The error a declaration or condition gives, "" when it compiles. */
static const char *err_of(const char *acls, const char *cond)
{
    struct tc t;
    last_err[0] = '\0';
    bool ok = tc_build(&t, acls, cond ? cond : "if TRUE");
    tc_free(&t);
    if (ok)
        return "";
    CU_ASSERT(last_err[0] != '\0');
    CU_ASSERT_PTR_NULL(strchr(last_err, '\n'));
    return last_err;
}

#define ASSERT_ERR(acls, cond, expect)                                                             \
    do {                                                                                           \
        const char *e_ = err_of(acls, cond);                                                       \
        if (!strstr(e_, expect) || !*e_)                                                           \
            fprintf(stderr, "\n  error for [%s | %s]: got \"%s\", want \"%s\"\n", acls,            \
                    cond ? cond : "", e_, expect);                                                 \
        CU_ASSERT(*e_ &&strstr(e_, expect) != NULL);                                               \
    } while (0)

#define ASSERT_ERR_EXACT(acls, cond, expect)                                                       \
    do {                                                                                           \
        const char *e_ = err_of(acls, cond);                                                       \
        if (strcmp(e_, expect))                                                                    \
            fprintf(stderr, "\n  error for [%s | %s]: got \"%s\"\n", acls, cond ? cond : "", e_);  \
        CU_ASSERT_STRING_EQUAL(e_, expect);                                                        \
    } while (0)

static char tmpfile_path[64];

static const char *write_tmp(const char *content)
{
    snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/test_acl_XXXXXX");
    int fd = mkstemp(tmpfile_path);
    CU_ASSERT_FATAL(fd >= 0);
    size_t len = strlen(content);
    CU_ASSERT_FATAL(write(fd, content, len) == (ssize_t)len);
    close(fd);
    return tmpfile_path;
}

/* ---- integer operators ---------------------------------------------------------------- */

static void test_gt_boundary(void)
{
    struct tc t;
    reset();
    CU_ASSERT_FATAL(
        tc_build(&t, "too_many_connections fe_conn(webserver) gt 300", "if too_many_connections"));
    F.load[SP_LOAD_FE_CONN][0] = 300;
    CU_ASSERT_EQUAL(tc_eval(&t), 0);
    CU_ASSERT_EQUAL(F.nload_calls, 1);
    CU_ASSERT_EQUAL(F.last_what, SP_LOAD_FE_CONN);
    CU_ASSERT_EQUAL(F.last_idx, 0);
    F.load[SP_LOAD_FE_CONN][0] = 301;
    CU_ASSERT_EQUAL(tc_eval(&t), 1);
    CU_ASSERT_EQUAL(F.nload_calls, 2);
    F.load[SP_LOAD_FE_CONN][0] = 0;
    CU_ASSERT_EQUAL(tc_eval(&t), 0);
    F.load[SP_LOAD_FE_CONN][0] = 1000000;
    CU_ASSERT_EQUAL(tc_eval(&t), 1);
    /* a value that cannot be known: the fetch fails, the ACL is false, its negation true */
    F.load[SP_LOAD_FE_CONN][0] = -1;
    CU_ASSERT_EQUAL(tc_eval(&t), 0);
    CU_ASSERT_STRING_EQUAL(sp_acl_cond_text(t.cond), "if too_many_connections");
    tc_free(&t);

    CU_ASSERT_EQUAL(run("t fe_conn(webserver) gt 300", "if !t"), 1);
    CU_ASSERT_EQUAL(run("t fe_conn(webserver) gt 300", "unless t"), 1);
}

/* Each case: definition, then value/expected pairs for fe_conn(webserver). */
static void check_int(const char *def, const int64_t *vals, const int *want, int n)
{
    struct tc t;
    char buf[256];
    snprintf(buf, sizeof(buf), "x %s", def);
    CU_ASSERT_FATAL(tc_build(&t, buf, "if x"));
    for (int i = 0; i < n; i++) {
        F.load[SP_LOAD_FE_CONN][0] = vals[i];
        int got = tc_eval(&t);
        if (got != want[i])
            fprintf(stderr, "\n  '%s' with %lld: got %d\n", def, (long long)vals[i], got);
        CU_ASSERT_EQUAL(got, want[i]);
    }
    tc_free(&t);
}

#define CHECK_INT(def, vals, want) check_int(def, vals, want, (int)(sizeof(vals) / sizeof(vals[0])))

static void test_int_operators(void)
{
    reset();
    static const int64_t v1[] = {299, 300, 301};
    static const int ge[] = {0, 1, 1}, lt[] = {1, 0, 0}, le[] = {1, 1, 0}, eq[] = {0, 1, 0},
                     gt[] = {0, 0, 1};
    CHECK_INT("fe_conn(webserver) ge 300", v1, ge);
    CHECK_INT("fe_conn(webserver) lt 300", v1, lt);
    CHECK_INT("fe_conn(webserver) le 300", v1, le);
    CHECK_INT("fe_conn(webserver) eq 300", v1, eq);
    CHECK_INT("fe_conn(webserver) 300", v1, eq);
    CHECK_INT("fe_conn(webserver) gt 300", v1, gt);

    static const int64_t v0[] = {0, 1};
    static const int lt0[] = {0, 0}, le0[] = {1, 0};
    CHECK_INT("fe_conn lt 0", v0, lt0);
    CHECK_INT("fe_conn le 0", v0, le0);
}

static void test_int_ranges(void)
{
    reset();
    static const int64_t v[] = {0, 9, 10, 15, 20, 21, 9223372036854775807LL};
    static const int ab[] = {0, 0, 1, 1, 1, 0, 0}, a_[] = {0, 0, 1, 1, 1, 1, 1},
                     _b[] = {1, 1, 1, 1, 1, 0, 0};
    CHECK_INT("fe_conn(webserver) 10:20", v, ab);
    CHECK_INT("fe_conn(webserver) 10-20", v, ab);
    CHECK_INT("fe_conn(webserver) 10:", v, a_);
    CHECK_INT("fe_conn(webserver) :20", v, _b);
    CHECK_INT("fe_conn(webserver) eq 10:20", v, ab);

    /* several values ORed */
    static const int64_t w[] = {0, 1, 2, 5, 6, 11, 13};
    static const int multi[] = {0, 1, 0, 1, 0, 1, 0};
    CHECK_INT("fe_conn(webserver) eq 1 5 10:12", w, multi);
    /* an operator holds until the next one */
    static const int64_t u[] = {4, 5, 10, 11};
    static const int two[] = {1, 0, 0, 1};
    CHECK_INT("fe_conn(webserver) lt 5 gt 10", u, two);
    static const int two_b[] = {1, 1, 0, 1};
    CHECK_INT("fe_conn(webserver) lt 5 eq 5 gt 10", u, two_b);
    static const int64_t u2[] = {3, 4, 5};
    static const int held[] = {0, 1, 1}; /* `gt 5 3`: both values are `gt` */
    CHECK_INT("fe_conn(webserver) gt 5 3", u2, held);
}

/* ---- load fetches ----------------------------------------------------------------------- */

static void test_load_fetches(void)
{
    static const struct {
        const char *crit;
        enum sp_acl_load what;
        int idx;
    } cases[] = {
        {"fe_conn(webserver)", SP_LOAD_FE_CONN, 0},
        {"fe_conn(fe2)", SP_LOAD_FE_CONN, 1},
        {"fe_conn", SP_LOAD_FE_CONN, 0},
        {"be_conn(pbcoffee)", SP_LOAD_BE_CONN, 1},
        {"be_conn", SP_LOAD_BE_CONN, 0},
        {"be_conn_free(pbcoffee)", SP_LOAD_BE_CONN_FREE, 1},
        {"nbsrv(pbcoffee)", SP_LOAD_NBSRV, 1},
        {"nbsrv(ade)", SP_LOAD_NBSRV, 0},
        {"connslots(pbcoffee)", SP_LOAD_CONNSLOTS, 1},
        {"queue(pbcoffee)", SP_LOAD_QUEUE, 1},
        {"avg_queue(pbcoffee)", SP_LOAD_AVG_QUEUE, 1},
        {"fe_req_rate(fe2)", SP_LOAD_FE_REQ_RATE, 1},
        {"fe_sess_rate(fe2)", SP_LOAD_FE_SESS_RATE, 1},
        {"be_sess_rate(pbcoffee)", SP_LOAD_BE_SESS_RATE, 1},
        {"act_conn", SP_LOAD_ACT_CONN, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char def[128];
        reset();
        snprintf(def, sizeof(def), "%s eq 7", cases[i].crit);
        CU_ASSERT_EQUAL(acl1(def), 0);
        F.load[cases[i].what][cases[i].idx < 0 ? 3 : cases[i].idx] = 7;
        int got = acl1(def);
        if (got != 1)
            fprintf(stderr, "\n  %s: got %d (%s)\n", def, got, last_err);
        CU_ASSERT_EQUAL(got, 1);
        CU_ASSERT_EQUAL(F.last_what, cases[i].what);
        if (cases[i].idx >= 0)
            CU_ASSERT_EQUAL(F.last_idx, cases[i].idx);
    }

    /* srv_is_up: a boolean, matched as such with no value */
    reset();
    CU_ASSERT_EQUAL(acl1("srv_is_up(ade/s1)"), 0);
    F.load[SP_LOAD_SRV_IS_UP][2] = 1;
    CU_ASSERT_EQUAL(acl1("srv_is_up(ade/s1)"), 1);
    CU_ASSERT_EQUAL(F.last_what, SP_LOAD_SRV_IS_UP);
    CU_ASSERT_EQUAL(F.last_idx, 2);
    CU_ASSERT_EQUAL(run("x srv_is_up(ade/s1)", "if !x"), 0);

    /* the default argument is the resolver's own proxy */
    reset();
    R.self_fe = 1;
    R.self_be = 1;
    F.load[SP_LOAD_FE_CONN][1] = 5;
    F.load[SP_LOAD_BE_CONN][1] = 6;
    CU_ASSERT_EQUAL(acl1("fe_conn eq 5"), 1);
    CU_ASSERT_EQUAL(acl1("be_conn eq 6"), 1);
    R.self_fe = 0;
    R.self_be = 0;
}

/* ---- flags -------------------------------------------------------------------------- */

static void test_flag_i(void)
{
    reset();
    add_hdr("Host", "EXAMPLE.com");
    CU_ASSERT_EQUAL(acl1("hdr(host) example.com"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(host) -i example.com"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_beg(host) -i exam"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_beg(host) exam"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_end(host) -i .COM"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_sub(host) -i ple.C"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_sub(host) ple.C"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_sub(host) PLE.c"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_reg(host) ^example"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_reg(host) -i ^example\\.COM$"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) -i example"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) example"), 0);

    /* -i holds for the patterns read after it, not before */
    const char *f1 = write_tmp("/ABC\n");
    char p1[64], def[256];
    snprintf(p1, sizeof(p1), "%s", f1);
    const char *f2 = write_tmp("/XYZ\n");
    snprintf(def, sizeof(def), "path -f %s -i -f %s", p1, f2);
    F.uri = "/xyz";
    CU_ASSERT_EQUAL(acl1(def), 1);
    F.uri = "/abc";
    CU_ASSERT_EQUAL(acl1(def), 0);
    F.uri = "/ABC";
    CU_ASSERT_EQUAL(acl1(def), 1);
    unlink(p1);
    unlink(f2);
}

static void test_flag_m(void)
{
    reset();
    add_hdr("X-Num", "6");
    add_hdr("X-Zero", "0");
    add_hdr("X-Word", "abc");
    add_hdr("X-Ip", "10.1.2.3");
    add_hdr("X-Ip6", "2001:db8::1");
    add_hdr("X-Bin", "ABC");
    F.uri = "/v1/api/items?x=1";

    CU_ASSERT_EQUAL(acl1("hdr(x-num) -m found"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-none) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-num) -m bool"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-zero) -m bool"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m bool"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-num) -m int gt 5"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-num) -m int gt 6"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m int eq 0"), 1); /* no digits: 0 (test_str_to_int) */
    CU_ASSERT_EQUAL(acl1("hdr(x-ip) -m ip 10.0.0.0/8"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-ip) -m ip 11.0.0.0/8"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-ip6) -m ip 2001:db8::/32"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-ip6) -m ip 2001:db9::/32"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m ip 0.0.0.0/0"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-bin) -m bin 414243"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-bin) -m bin 414244"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m len 3"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m len gt 3"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m str abc"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m str ab"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m sub b"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m sub d"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m reg ^a.c$"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m reg ^b"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m beg ab"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m beg bc"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m end bc"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m end ab"), 0);
    CU_ASSERT_EQUAL(acl1("path -m dir api"), 1);
    CU_ASSERT_EQUAL(acl1("path -m dir /api/"), 1);
    CU_ASSERT_EQUAL(acl1("path -m dir ap"), 0);
    CU_ASSERT_EQUAL(acl1("path -m dir v1/api"), 1);
    CU_ASSERT_EQUAL(acl1("path -m dom api"), 1);
    CU_ASSERT_EQUAL(acl1("path -m beg /v1"), 1);

    /* methods that need a conversion of an integer or an address to text */
    F.load[SP_LOAD_FE_CONN][0] = 300;
    CU_ASSERT_EQUAL(acl1("fe_conn -m str 300"), 1);
    CU_ASSERT_EQUAL(acl1("fe_conn -m beg 3"), 1);
    CU_ASSERT_EQUAL(acl1("fe_conn -m len 3"), 1);
    CU_ASSERT_EQUAL(acl1("fe_conn -m bool"), 1);
    CU_ASSERT_EQUAL(acl1("fe_conn -m found"), 1);
    F.load[SP_LOAD_FE_CONN][0] = 0;
    CU_ASSERT_EQUAL(acl1("fe_conn -m bool"), 0);
    CU_ASSERT_EQUAL(acl1("fe_conn -m found"), 1);
    F.load[SP_LOAD_FE_CONN][0] = -1;
    CU_ASSERT_EQUAL(acl1("fe_conn -m found"), 0);
    set_src("10.1.2.3", 4000);
    CU_ASSERT_EQUAL(acl1("src -m beg 10.1."), 1);
    CU_ASSERT_EQUAL(acl1("src -m str 10.1.2.3"), 1);
    CU_ASSERT_EQUAL(acl1("src -m str 10.1.2.4"), 0);
    CU_ASSERT_EQUAL(acl1("src -m found"), 1);
}

static void test_flag_dir_dom(void)
{
    reset();
    add_hdr("Host", "www.example.com:8080");
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) example"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) www.example.com"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) .example.com."), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) 8080"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) xample"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) example.co"), 0);
    F.uri = "/img/logo.png?x=/y";
    CU_ASSERT_EQUAL(acl1("path_dir img"), 1);
    CU_ASSERT_EQUAL(acl1("path_dir logo.png"), 1);
    CU_ASSERT_EQUAL(acl1("path_dir logo"), 0);
    CU_ASSERT_EQUAL(acl1("path_dir y"), 0); /* the query is not part of the path */
    CU_ASSERT_EQUAL(acl1("url_dir y"), 1);
    CU_ASSERT_EQUAL(acl1("path_dir im"), 0);
}

static void test_flag_f(void)
{
    reset();
    const char *f = write_tmp("# networks\n\n  10.0.0.0/8  \n\t192.168.1.1\n# 172.16.0.0/12\n"
                              "2001:db8::/32\r\n");
    char def[128];
    snprintf(def, sizeof(def), "src -f %s", f);
    set_src("10.9.9.9", 1);
    CU_ASSERT_EQUAL(acl1(def), 1);
    set_src("192.168.1.1", 1);
    CU_ASSERT_EQUAL(acl1(def), 1);
    set_src("192.168.1.2", 1);
    CU_ASSERT_EQUAL(acl1(def), 0);
    set_src("172.16.0.1", 1); /* commented out */
    CU_ASSERT_EQUAL(acl1(def), 0);
    set_src("2001:db8::77", 1);
    CU_ASSERT_EQUAL(acl1(def), 1);
    /* file patterns and inline values together */
    snprintf(def, sizeof(def), "src -f %s 172.16.0.0/12", f);
    set_src("172.16.0.1", 1);
    CU_ASSERT_EQUAL(acl1(def), 1);
    unlink(f);

    /* an integer file: ranges, no operators */
    f = write_tmp("1:3\n10\n");
    snprintf(def, sizeof(def), "fe_conn(webserver) -f %s", f);
    F.load[SP_LOAD_FE_CONN][0] = 2;
    CU_ASSERT_EQUAL(acl1(def), 1);
    F.load[SP_LOAD_FE_CONN][0] = 10;
    CU_ASSERT_EQUAL(acl1(def), 1);
    F.load[SP_LOAD_FE_CONN][0] = 5;
    CU_ASSERT_EQUAL(acl1(def), 0);
    unlink(f);

    /* an empty file is allowed: the ACL never matches */
    f = write_tmp("# nothing\n");
    snprintf(def, sizeof(def), "path -f %s", f);
    CU_ASSERT_EQUAL(acl1(def), 0);
    unlink(f);
}

static void test_flag_dashdash_n(void)
{
    reset();
    add_hdr("X-Opt", "-foo");
    CU_ASSERT_EQUAL(acl1("hdr(x-opt) -- -foo"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-opt) -i -- -FOO"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-opt) -- -bar"), 0);
    /* `--` with no value: accepted, never matches */
    F.load[SP_LOAD_FE_CONN][0] = 5;
    CU_ASSERT_EQUAL(acl1("fe_conn --"), 0);
    /* -n is accepted and changes nothing */
    set_src("10.0.0.1", 1);
    CU_ASSERT_EQUAL(acl1("src -n 10.0.0.0/8"), 1);
    CU_ASSERT_EQUAL(acl1("src -n 11.0.0.0/8"), 0);
    /* -u ID is accepted */
    CU_ASSERT_EQUAL(acl1("src -u 7 10.0.0.0/8"), 1);
    /* a flag-like word after a value is a value */
    CU_ASSERT_EQUAL(acl1("hdr(x-opt) bar -foo"), 1);
}

/* ---- request fetches ----------------------------------------------------------------- */

static void test_fetch_path_url(void)
{
    reset();
    add_hdr("Host", "example.com");
    F.uri = "/a/b.jpg?x=1&y=2";
    CU_ASSERT_EQUAL(acl1("path /a/b.jpg"), 1);
    CU_ASSERT_EQUAL(acl1("path /a/b.jpg?x=1&y=2"), 0);
    CU_ASSERT_EQUAL(acl1("path_beg /a/"), 1);
    CU_ASSERT_EQUAL(acl1("path_beg /b"), 0);
    CU_ASSERT_EQUAL(acl1("path_end .jpg"), 1);
    CU_ASSERT_EQUAL(acl1("path_end y=2"), 0);
    CU_ASSERT_EQUAL(acl1("path_sub /b."), 1);
    CU_ASSERT_EQUAL(acl1("path_sub x="), 0);
    CU_ASSERT_EQUAL(acl1("path_dir a"), 1);
    CU_ASSERT_EQUAL(acl1("path_reg ^/a/[a-z]+\\.jpg$"), 1);
    CU_ASSERT_EQUAL(acl1("path_reg \\?"), 0);
    CU_ASSERT_EQUAL(acl1("path_len 8"), 1);
    CU_ASSERT_EQUAL(acl1("path_len gt 8"), 0);
    CU_ASSERT_EQUAL(acl1("url /a/b.jpg?x=1&y=2"), 1);
    CU_ASSERT_EQUAL(acl1("url /a/b.jpg"), 0);
    CU_ASSERT_EQUAL(acl1("url_beg /a/b.jpg?"), 1);
    CU_ASSERT_EQUAL(acl1("url_end y=2"), 1);
    CU_ASSERT_EQUAL(acl1("url_sub x=1"), 1);
    CU_ASSERT_EQUAL(acl1("url_reg y=[0-9]$"), 1);
    CU_ASSERT_EQUAL(acl1("url_len 16"), 1);
    CU_ASSERT_EQUAL(acl1("base example.com/a/b.jpg"), 1);
    CU_ASSERT_EQUAL(acl1("base_beg example.com/a"), 1);
    CU_ASSERT_EQUAL(acl1("base /a/b.jpg"), 0);
    CU_ASSERT_EQUAL(acl1("query x=1&y=2"), 1);
    CU_ASSERT_EQUAL(acl1("query x=1"), 0);
    CU_ASSERT_EQUAL(acl1("query -m sub y=2"), 1);

    /* absolute form: scheme://authority skipped */
    F.uri = "http://example.org:8080/p/q?z=1";
    CU_ASSERT_EQUAL(acl1("path /p/q"), 1);
    CU_ASSERT_EQUAL(acl1("path_beg /p"), 1);
    CU_ASSERT_EQUAL(acl1("url_beg http://"), 1);
    CU_ASSERT_EQUAL(acl1("query z=1"), 1);
    F.uri = "https://example.org";
    CU_ASSERT_EQUAL(acl1("path -m found"), 0);
    CU_ASSERT_EQUAL(run("x path -m found", "if !x"), 1);
    F.uri = "*";
    CU_ASSERT_EQUAL(acl1("path -m found"), 0);
    CU_ASSERT_EQUAL(acl1("url *"), 1);

    /* no Host: base is the path */
    reset();
    F.uri = "/only";
    CU_ASSERT_EQUAL(acl1("base /only"), 1);
}

static void test_fetch_query_absent(void)
{
    reset();
    F.uri = "/a/b";
    CU_ASSERT_EQUAL(acl1("query -m found"), 0);
    CU_ASSERT_EQUAL(acl1("query -m len 0"), 0);
    CU_ASSERT_EQUAL(run("q query -m len 0", "if !q"), 1);
    CU_ASSERT_EQUAL(run("q query x", "if !q"), 1);
    CU_ASSERT_EQUAL(run("q query x", "unless q"), 1);
    F.uri = "/a/b?";
    CU_ASSERT_EQUAL(acl1("query -m found"), 1);
    CU_ASSERT_EQUAL(acl1("query -m len 0"), 1);
}

/* HAProxy 2.6 http_fetch.c smp_fetch_url_param() and http.c http_find_url_param_pos() */
static void test_fetch_url_param(void)
{
    reset();
    F.uri = "/s?a=1&x=2&flag&x=3&empty=";
    CU_ASSERT_EQUAL(acl1("url_param(a) 1"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(x) 2"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(x) 3"), 1); /* every occurrence is tried */
    CU_ASSERT_EQUAL(acl1("url_param(x) 4"), 0);
    CU_ASSERT_EQUAL(acl1("urlp(x) -m int gt 2"), 1);
    /* a name counts only when '=' follows it */
    CU_ASSERT_EQUAL(acl1("urlp(flag) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("urlp(flag) -m len 0"), 0);
    CU_ASSERT_EQUAL(acl1("urlp(empty) -m len 0"), 1);
    CU_ASSERT_EQUAL(acl1("urlp(fla) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("urlp(A) 1"), 0); /* names are case-sensitive */
    CU_ASSERT_EQUAL(acl1("urlp_beg(a) 1"), 1);
    F.uri = "/s?x&x=5";
    CU_ASSERT_EQUAL(acl1("url_param(x) 5"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(x) -m len 0"), 0);
    F.uri = "/s?a";
    CU_ASSERT_EQUAL(acl1("url_param(a) -m found"), 0);
    F.uri = "/s?ab=1&b=2&c=1=2";
    CU_ASSERT_EQUAL(acl1("url_param(b) 2"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(b) 1"), 0); /* "ab" is not "b" */
    CU_ASSERT_EQUAL(acl1("url_param(c) 1=2"), 1);
    /* ';' separates parameters as '&' does */
    F.uri = "/s?a=1;b=2";
    CU_ASSERT_EQUAL(acl1("url_param(b) 2"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(a) 1"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(b,;) 2"), 1);
    /* the delimiter opens the list instead of '?' (which is then a plain byte) */
    F.uri = "/s;jsessionid=abc?x=1";
    CU_ASSERT_EQUAL(acl1("url_param(jsessionid,;) -m beg abc"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(jsessionid) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("url_param(x) 1"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(x,;) -m found"), 0);
    F.uri = "/p|k=v|w=2";
    CU_ASSERT_EQUAL(acl1("url_param(k,|) v"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(w,|) 2"), 1);
    CU_ASSERT_EQUAL(acl1("url_param(k) -m found"), 0);
    F.uri = "/s";
    CU_ASSERT_EQUAL(acl1("url_param(a) -m found"), 0);
    /* an HTTP/2 request's absolute URI */
    F.uri = "https://example.org/p?q=1";
    CU_ASSERT_EQUAL(acl1("url_param(q) 1"), 1);
}

static void headers_fixture(void)
{
    reset();
    add_hdr("Host", "example.com");
    add_hdr("X-A", "a, b");
    add_hdr("Accept", "*/*");
    add_hdr("x-a", "c");
    add_hdr("Cookie", "s=1; t=2");
    add_hdr("cookie", "u=3;v");
}

static void test_fetch_hdr(void)
{
    headers_fixture();
    /* hdr / req.hdr: every comma-separated value of every occurrence, names in any case */
    CU_ASSERT_EQUAL(acl1("hdr(x-a) a"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-a) b"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(X-A) c"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-a) d"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-a) a,b"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-a) -m sub ,"), 0);
    CU_ASSERT_EQUAL(acl1("req.hdr(x-a) b"), 1);
    CU_ASSERT_EQUAL(acl1("req.hdr(x-a) c"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-b) -m found"), 0);
    CU_ASSERT_EQUAL(run("x hdr(x-b) foo", "if !x"), 1);
    /* req.fhdr: whole values */
    CU_ASSERT_EQUAL(acl1("req.fhdr(x-a) -m beg a,"), 1);
    CU_ASSERT_EQUAL(acl1("req.fhdr(x-a) a"), 0);
    CU_ASSERT_EQUAL(acl1("req.fhdr(x-a) c"), 1);
    CU_ASSERT_EQUAL(acl1("req.fhdr(x-a) -m len 4"), 1);
    /* counts */
    CU_ASSERT_EQUAL(acl1("hdr_cnt(x-a) 3"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(x-a) gt 3"), 0);
    CU_ASSERT_EQUAL(acl1("req.hdr_cnt(X-A) eq 3"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(host) eq 1"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(nope) eq 0"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt eq 7"), 1); /* every value of every header */
    /* variants */
    CU_ASSERT_EQUAL(acl1("hdr_beg(host) exa"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_end(host) .com"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_end(host) .org"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_sub(host) mple"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_dom(host) com"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_reg(host) ^ex.*com$"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_reg(host) ^com"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_len(host) 11"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_len(x-a) 1"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_len(x-a) 4"), 0);
    /* occurrences: counted over the values */
    CU_ASSERT_EQUAL(acl1("hdr(x-a,1) a"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,1) b"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,2) b"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,-1) c"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,-1) a"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,-3) a"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,-4) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-a,4) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("req.fhdr(x-a,-1) c"), 1);
}

static void test_fetch_method_ver_cook(void)
{
    headers_fixture();
    F.method = "GET";
    CU_ASSERT_EQUAL(acl1("method GET"), 1);
    CU_ASSERT_EQUAL(acl1("method get"), 1);
    CU_ASSERT_EQUAL(acl1("method POST"), 0);
    CU_ASSERT_EQUAL(acl1("method POST GET"), 1);
    F.method = "post";
    CU_ASSERT_EQUAL(acl1("method POST"), 1);
    F.version = 10;
    CU_ASSERT_EQUAL(acl1("req.ver 1.0"), 1);
    CU_ASSERT_EQUAL(acl1("req.ver 1.1"), 0);
    F.version = 11;
    CU_ASSERT_EQUAL(acl1("req.ver 1.1"), 1);
    F.version = 20;
    CU_ASSERT_EQUAL(acl1("req.ver 2.0"), 1);
    CU_ASSERT_EQUAL(acl1("req.ver 1.1"), 0);

    CU_ASSERT_EQUAL(acl1("req.cook(s) 1"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(t) 2"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(u) 3"), 1); /* second Cookie header */
    CU_ASSERT_EQUAL(acl1("cook(s) 2"), 0);
    CU_ASSERT_EQUAL(acl1("cook(S) 1"), 0);
    CU_ASSERT_EQUAL(acl1("cook(w) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("cook(v) -m found"), 0); /* no '=': not a cookie value */
    CU_ASSERT_EQUAL(acl1("cook_beg(t) 2"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(t) -m int gt 1"), 1);
}

/* HAProxy 2.6 sample.c c_str2int() and tools.c read_int64() */
static void test_str_to_int(void)
{
    reset();
    add_hdr("x-neg", "-12");
    add_hdr("x-plus", "+7");
    add_hdr("x-word", "abc");
    add_hdr("x-mixed", "42abc");
    add_hdr("x-big", "99999999999999999999");
    add_hdr("x-nbig", "-99999999999999999999");
    add_hdr("x-max", "9223372036854775807");
    add_hdr("x-empty", "");
    add_hdr("x-minus", "-");
    CU_ASSERT_EQUAL(acl1("hdr(x-neg) -m int lt 0"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-neg) -m int ge 0"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-neg) -m bool"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-plus) -m int 7"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m int 0"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m int ge 1"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-word) -m bool"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-mixed) -m int 42"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-big) -m int 9223372036854775807"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-big) -m bool"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-max) -m int 9223372036854775807"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-max) -m int le 9223372036854775806"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-nbig) -m int lt 0"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-nbig) -m bool"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-minus) -m int 0"), 1);
    /* an empty string does not convert: nothing to match, but it was found */
    CU_ASSERT_EQUAL(acl1("hdr(x-empty) -m int 0"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-empty) -m bool"), 0);
    CU_ASSERT_EQUAL(acl1("hdr(x-empty) -m found"), 1);
    F.uri = "/s?n=-3&m=x";
    CU_ASSERT_EQUAL(acl1("urlp(n) -m int lt 0"), 1);
    CU_ASSERT_EQUAL(acl1("urlp(m) -m int 0"), 1);
}

/* HAProxy 2.6 http.c http_find_hdr_value_end(): a comma inside a quoted string does not
 * split a value */
static void test_fetch_hdr_quoted(void)
{
    reset();
    add_hdr("x-q", "\"a,b\", c");
    add_hdr("x-esc", "\"x\\\",y\", z");
    add_hdr("x-open", "\"a, b");
    CU_ASSERT_EQUAL(acl1("hdr(x-q) \"a,b\""), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-q) c"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-q) -m sub ,"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-q) \"a"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(x-q) 2"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-q,1) \"a,b\""), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-q,-1) c"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(x-esc) 2"), 1);
    CU_ASSERT_EQUAL(acl1("hdr(x-esc) z"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(x-open) 1"), 1);
    CU_ASSERT_EQUAL(acl1("hdr_cnt 5"), 1);
}

/* HAProxy 2.6 smp_fetch_cookie() over http_find_header() (commas split a Cookie field) and
 * http_extract_cookie_value() */
static void test_fetch_cook_lists(void)
{
    reset();
    add_hdr("Cookie", "a=1, b=2");
    add_hdr("cookie", "c=\"x;y,z\"; d=4");
    add_hdr("cookie", "$Version=1; e=5;  i  =  9  ");
    add_hdr("cookie", "g=; h=8");
    add_hdr("cookie", "f=");
    CU_ASSERT_EQUAL(acl1("req.cook(a) 1"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(b) 2"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(c) \"x;y,z\""), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(d) 4"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook($Version) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("req.cook(e) 5"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(i) 9"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(g) -m len 0"), 1);
    CU_ASSERT_EQUAL(acl1("req.cook(h) 8"), 1);
    /* an empty value at the very end of an element is not found (HAProxy's bound) */
    CU_ASSERT_EQUAL(acl1("req.cook(f) -m found"), 0);
    CU_ASSERT_EQUAL(acl1("cook_beg(b) 2"), 1);
}

static void test_fetch_fhdr_cnt(void)
{
    headers_fixture();
    CU_ASSERT_EQUAL(acl1("req.fhdr_cnt(x-a) 2"), 1);
    CU_ASSERT_EQUAL(acl1("req.fhdr_cnt(X-A) gt 2"), 0);
    CU_ASSERT_EQUAL(acl1("hdr_cnt(x-a) 3"), 1);
    CU_ASSERT_EQUAL(acl1("req.fhdr_cnt(cookie) 2"), 1);
    CU_ASSERT_EQUAL(acl1("req.fhdr_cnt(nope) 0"), 1);
    CU_ASSERT_EQUAL(acl1("req.fhdr_cnt 6"), 1); /* every field */
    CU_ASSERT_EQUAL(acl1("req.fhdr_cnt() 6"), 1);
    ASSERT_ERR("x req.fhdr_cnt(a,1) 1", NULL, "too many arguments");
}

static void test_fetch_conn(void)
{
    reset();
    set_src("10.1.2.3", 5555);
    set_dst("192.168.0.1", 80);
    CU_ASSERT_EQUAL(acl1("src 10.0.0.0/8"), 1);
    CU_ASSERT_EQUAL(acl1("src 10.1.2.3"), 1);
    CU_ASSERT_EQUAL(acl1("src 10.1.2.4"), 0);
    CU_ASSERT_EQUAL(acl1("src 10.1.2.0/24"), 1);
    CU_ASSERT_EQUAL(acl1("src 10.1.3.0/24"), 0);
    CU_ASSERT_EQUAL(acl1("src 10.0.0.0/255.0.0.0"), 1);
    CU_ASSERT_EQUAL(acl1("src 0.0.0.0/0"), 1);
    CU_ASSERT_EQUAL(acl1("src 11.0.0.0/8 10.0.0.0/8"), 1);
    CU_ASSERT_EQUAL(acl1("src ::ffff:10.0.0.0/104"), 1); /* IPv4 source against a mapped net */
    CU_ASSERT_EQUAL(acl1("src 2001:db8::/32"), 0);
    CU_ASSERT_EQUAL(acl1("src_port 5555"), 1);
    CU_ASSERT_EQUAL(acl1("src_port gt 5555"), 0);
    CU_ASSERT_EQUAL(acl1("dst 192.168.0.0/16"), 1);
    CU_ASSERT_EQUAL(acl1("dst 10.0.0.0/8"), 0);
    CU_ASSERT_EQUAL(acl1("dst_port 80"), 1);
    CU_ASSERT_EQUAL(acl1("dst_port 443"), 0);
    CU_ASSERT_EQUAL(acl1("dst_port 80:90"), 1);

    set_src("2001:db8::5", 1);
    CU_ASSERT_EQUAL(acl1("src 2001:db8::/32"), 1);
    CU_ASSERT_EQUAL(acl1("src 2001:db8::5"), 1);
    CU_ASSERT_EQUAL(acl1("src 2001:db8::6"), 0);
    CU_ASSERT_EQUAL(acl1("src 2001:db8::4/127"), 1);
    CU_ASSERT_EQUAL(acl1("src 2001:db8::6/127"), 0);
    CU_ASSERT_EQUAL(acl1("src ::1/128"), 0);
    CU_ASSERT_EQUAL(acl1("src 10.0.0.0/8"), 0);
    CU_ASSERT_EQUAL(acl1("src ::/0"), 1);

    /* an IPv4 pattern matches a v4-mapped IPv6 source */
    set_src("::ffff:10.1.2.3", 1);
    CU_ASSERT_EQUAL(acl1("src 10.0.0.0/8"), 1);
    CU_ASSERT_EQUAL(acl1("src 10.1.2.3"), 1);
    CU_ASSERT_EQUAL(acl1("src 11.0.0.0/8"), 0);
    /* but not a non-mapped one with the same low bits */
    set_src("::10.1.2.3", 1);
    CU_ASSERT_EQUAL(acl1("src 10.0.0.0/8"), 0);

    /* no address: the fetch fails */
    reset();
    CU_ASSERT_EQUAL(acl1("src 0.0.0.0/0"), 0);
    CU_ASSERT_EQUAL(acl1("src_port ge 0"), 0);
    CU_ASSERT_EQUAL(run("x src 0.0.0.0/0", "if !x"), 1);
}

/* ---- built-in ACLs ------------------------------------------------------------------- */

static void test_builtins(void)
{
    reset();
    CU_ASSERT_EQUAL(run(NULL, "if TRUE"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if FALSE"), 0);
    CU_ASSERT_EQUAL(run(NULL, "if !FALSE"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP"), 1);
    set_src("127.0.0.5", 1);
    CU_ASSERT_EQUAL(run(NULL, "if LOCALHOST"), 1);
    set_src("::1", 1);
    CU_ASSERT_EQUAL(run(NULL, "if LOCALHOST"), 1);
    set_src("::ffff:127.0.0.1", 1);
    CU_ASSERT_EQUAL(run(NULL, "if LOCALHOST"), 1);
    set_src("10.0.0.1", 1);
    CU_ASSERT_EQUAL(run(NULL, "if LOCALHOST"), 0);
    set_src("::2", 1);
    CU_ASSERT_EQUAL(run(NULL, "if LOCALHOST"), 0);

    F.version = 10;
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_1.0"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_1.1"), 0);
    F.version = 11;
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_1.1"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_2.0"), 0);
    F.version = 20;
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_2.0"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_1.0"), 0);

    static const char *const meths[] = {"CONNECT", "DELETE", "GET", "HEAD",
                                        "OPTIONS", "POST",   "PUT", "TRACE"};
    for (size_t i = 0; i < 8; i++) {
        for (size_t j = 0; j < 8; j++) {
            char cond[64];
            snprintf(cond, sizeof(cond), "if METH_%s", meths[j]);
            F.method = meths[i];
            int want = i == j || (!strcmp(meths[j], "GET") && !strcmp(meths[i], "HEAD"));
            int got = run(NULL, cond);
            if (got != want)
                fprintf(stderr, "\n  %s with %s: got %d\n", cond, meths[i], got);
            CU_ASSERT_EQUAL(got, want);
        }
    }

    F.uri = "http://x/y";
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_ABS"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_SLASH"), 0);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_STAR"), 0);
    F.uri = "/y";
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_ABS"), 0);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_SLASH"), 1);
    F.uri = "*";
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_STAR"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if HTTP_URL_SLASH"), 0);

    /* the same built-in twice in one condition */
    CU_ASSERT_EQUAL(run(NULL, "if TRUE TRUE or FALSE FALSE"), 1);

    /* a proxy ACL of the same name wins */
    CU_ASSERT_EQUAL(run("TRUE always_false", "if TRUE"), 0);
    CU_ASSERT_EQUAL(run("METH_GET method POST", "if METH_GET"), 0);
    F.method = "POST";
    CU_ASSERT_EQUAL(run("METH_GET method POST", "if METH_GET"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if METH_GET"), 0);
}

/* ---- conditions ---------------------------------------------------------------------- */

#define AB "a always_true\nb always_false"

static void test_cond_and_or(void)
{
    reset();
    CU_ASSERT_EQUAL(run(AB, "if a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if b"), 0);
    CU_ASSERT_EQUAL(run(AB, "if a a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if a b"), 0);
    CU_ASSERT_EQUAL(run(AB, "if b a"), 0);
    CU_ASSERT_EQUAL(run(AB, "if b or a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if b || a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if b OR a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if b Or b"), 0);
    CU_ASSERT_EQUAL(run(AB, "if a or b"), 1);
    /* AND binds tighter: (b a) or a; an OR-first reading would give b (a or a) = false */
    CU_ASSERT_EQUAL(run(AB, "if b a or a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if a b or b a"), 0);
    CU_ASSERT_EQUAL(run(AB, "if a b or a a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if b or b or a a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if b or b or a b"), 0);
}

static void test_cond_neg(void)
{
    reset();
    CU_ASSERT_EQUAL(run(AB, "if !a"), 0);
    CU_ASSERT_EQUAL(run(AB, "if !b"), 1);
    CU_ASSERT_EQUAL(run(AB, "if !!a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if !!b"), 0);
    CU_ASSERT_EQUAL(run(AB, "if ! b"), 1);
    CU_ASSERT_EQUAL(run(AB, "if ! a"), 0);
    CU_ASSERT_EQUAL(run(AB, "if ! !b"), 0);
    CU_ASSERT_EQUAL(run(AB, "if ! ! a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if a !b"), 1);
    CU_ASSERT_EQUAL(run(AB, "if !b !b a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if !a or !b"), 1);
    CU_ASSERT_EQUAL(run(AB, "if !a or b"), 0);
    /* a lone '!' applies to the next term only */
    CU_ASSERT_EQUAL(run(AB, "if ! b a"), 1);
    CU_ASSERT_EQUAL(run(AB, "if ! b b"), 0);
}

static void test_cond_unless(void)
{
    reset();
    CU_ASSERT_EQUAL(run(AB, "unless a"), 0);
    CU_ASSERT_EQUAL(run(AB, "unless b"), 1);
    CU_ASSERT_EQUAL(run(AB, "unless b or a"), 0);
    CU_ASSERT_EQUAL(run(AB, "unless a b"), 1);
    CU_ASSERT_EQUAL(run(AB, "unless !a"), 1);
}

static void test_cond_anonymous(void)
{
    reset();
    F.load[SP_LOAD_FE_CONN][0] = 301;
    F.uri = "/x/y";
    CU_ASSERT_EQUAL(run(NULL, "if { fe_conn(webserver) gt 300 }"), 1);
    CU_ASSERT_EQUAL(run(NULL, "if ! { fe_conn(webserver) gt 300 }"), 0);
    CU_ASSERT_EQUAL(run(NULL, "if !{ fe_conn(webserver) gt 300 }"), 0);
    CU_ASSERT_EQUAL(run(NULL, "if { path_beg /x } { fe_conn(webserver) gt 400 }"), 0);
    CU_ASSERT_EQUAL(run(NULL, "if { path_beg /z } or { fe_conn(webserver) gt 300 }"), 1);
    CU_ASSERT_EQUAL(run(AB, "if a { path_beg -i /X } !b"), 1);
    /* words inside braces are not condition operators */
    add_hdr("X-W", "or");
    CU_ASSERT_EQUAL(run(NULL, "if { hdr(x-w) or }"), 1);

    struct tc t;
    CU_ASSERT_FATAL(tc_build(&t, NULL, "if { fe_conn(webserver) gt 300 } || FALSE"));
    CU_ASSERT_STRING_EQUAL(sp_acl_cond_text(t.cond), "if { fe_conn(webserver) gt 300 } || FALSE");
    tc_free(&t);
}

static void test_cond_repeated_names(void)
{
    reset();
    const char *acls = "x path /a\nx path /b\nx fe_conn(webserver) gt 300";
    F.uri = "/a";
    CU_ASSERT_EQUAL(run(acls, "if x"), 1);
    F.uri = "/b";
    CU_ASSERT_EQUAL(run(acls, "if x"), 1);
    F.uri = "/c";
    CU_ASSERT_EQUAL(run(acls, "if x"), 0);
    F.load[SP_LOAD_FE_CONN][0] = 301;
    CU_ASSERT_EQUAL(run(acls, "if x"), 1);
    CU_ASSERT_EQUAL(run(acls, "if !x"), 0);
    /* a failing fetch in one expression does not stop the next one */
    F.uri = "/c";
    CU_ASSERT_EQUAL(run("y query z\ny path /c", "if y"), 1);

    /* names are case-sensitive */
    CU_ASSERT_EQUAL(run("x always_true\nX always_false", "if x"), 1);
    CU_ASSERT_EQUAL(run("x always_true\nX always_false", "if X"), 0);
}

static void test_cond_short_circuit(void)
{
    struct tc t;
    reset();
    CU_ASSERT_FATAL(tc_build(&t, "b always_false\nc fe_conn(webserver) gt 300\nt always_true",
                             "if b c or t or c"));
    CU_ASSERT_EQUAL(tc_eval(&t), 1);
    CU_ASSERT_EQUAL(F.nload_calls, 0);
    tc_free(&t);

    CU_ASSERT_FATAL(tc_build(&t, "c fe_conn(webserver) gt 300", "if c c c"));
    F.load[SP_LOAD_FE_CONN][0] = 1;
    CU_ASSERT_EQUAL(tc_eval(&t), 0);
    CU_ASSERT_EQUAL(F.nload_calls, 1);
    tc_free(&t);
}

static void test_cond_null_and_text(void)
{
    reset();
    struct sp_acl_env env = make_env();
    CU_ASSERT_TRUE(sp_acl_cond_eval(NULL, &env));
    CU_ASSERT_STRING_EQUAL(sp_acl_cond_text(NULL), "");
    CU_ASSERT_PTR_NULL(sp_acl_cond_free(NULL));
    CU_ASSERT_PTR_NULL(sp_acl_set_free(NULL));

    struct tc t;
    CU_ASSERT_FATAL(tc_build(&t, AB, "unless !a or b"));
    CU_ASSERT_STRING_EQUAL(sp_acl_cond_text(t.cond), "unless !a or b");
    tc_free(&t);

    /* a failed declaration leaves the set usable and the earlier expressions in place */
    struct sp_acl_set *set = sp_acl_set_new();
    CU_ASSERT_EQUAL(declare(set, "x path /a"), 0);
    CU_ASSERT_EQUAL(declare(set, "x path_reg ("), -1);
    char c[] = "if x", *w[2];
    int n = split(c, w);
    struct sp_acl_cond *cond = sp_acl_cond_parse(set, &R, w, n, last_err, sizeof(last_err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cond);
    F.uri = "/a";
    env = make_env();
    CU_ASSERT_TRUE(sp_acl_cond_eval(cond, &env));
    F.uri = "/b";
    env = make_env();
    CU_ASSERT_FALSE(sp_acl_cond_eval(cond, &env));
    sp_acl_cond_free(cond);
    sp_acl_set_free(set);
}

/* ---- errors -------------------------------------------------------------------------- */

/* ---- mode tcp: the request bytes --------------------------------------------------- */

/* A minimal TLS ClientHello (TLS 1.2, one cipher, no compression) whose only extension is
 * server_name = "example.test": 73 bytes, a whole record. */
static const unsigned char hello[] = {
    0x16, 0x03, 0x01, 0x00, 0x44, /* record: handshake, 68 bytes */
    0x01, 0x00, 0x00, 0x40,       /* ClientHello, 64 bytes */
    0x03, 0x03,                   /* client_version */
    1,    2,    3,    4,    5,    6,   7,   8,   9,   10,  11,  12,  13, 14, 15, 16,
    17,   18,   19,   20,   21,   22,  23,  24,  25,  26,  27,  28,  29, 30, 31, 32, /* random */
    0x00,                         /* session_id */
    0x00, 0x02, 0x13, 0x01,       /* cipher_suites */
    0x01, 0x00,                   /* compression_methods */
    0x00, 0x15,                   /* extensions: 21 bytes */
    0x00, 0x00, 0x00, 0x11,       /* server_name, 17 bytes */
    0x00, 0x0f, 0x00, 0x00, 0x0c, /* list 15, host_name, 12 */
    'e',  'x',  'a',  'm',  'p',  'l', 'e', '.', 't', 'e', 's', 't',
};

static struct sp_acl_resolver R_TCP = {fake_fe, fake_be,        fake_srv, NULL, 0,
                                       0,       SP_ACL_CTX_TCP, NULL,     NULL};

/* sp_acl_cond_exec() of `cond` over payload[0..len) (capacity 16384): 1, 0, -1 (wait), or -2
 * when it does not compile. */
static int exec_on(const char *cond, const void *payload, size_t len, bool partial)
{
    char cbuf[1024], *w[MAXW];
    struct sp_acl_set *set = sp_acl_set_new();
    snprintf(cbuf, sizeof(cbuf), "%s", cond);
    int n = split(cbuf, w);
    struct sp_acl_cond *c = sp_acl_cond_parse(set, &R_TCP, w, n, last_err, sizeof(last_err));
    int ret = -2;
    if (c) {
        struct sp_acl_env env = make_env();
        env.payload = payload ? payload : "";
        env.payload_len = len;
        env.payload_cap = 16384;
        env.partial = partial;
        ret = sp_acl_cond_exec(c, &env);
        /* without `partial`, never "wait", and the same answer as sp_acl_cond_eval() */
        env.partial = false;
        int final = sp_acl_cond_exec(c, &env);
        CU_ASSERT(final == 0 || final == 1);
        CU_ASSERT_EQUAL(final, sp_acl_cond_eval(c, &env) ? 1 : 0);
    }
    sp_acl_cond_free(c);
    sp_acl_set_free(set);
    return ret;
}

static void test_fetch_payload(void)
{
    /* req.len: more bytes may always change it, so a miss waits while partial */
    CU_ASSERT_EQUAL(exec_on("if { req.len ge 5 }", "abcdef", 6, true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req.len ge 5 }", "abc", 3, true), -1);
    CU_ASSERT_EQUAL(exec_on("if { req.len ge 5 }", "abc", 3, false), 0);
    CU_ASSERT_EQUAL(exec_on("if { req_len eq 0 }", NULL, 0, false), 1);
    /* req.payload(off,len): binary by default (hex patterns), text methods too */
    CU_ASSERT_EQUAL(exec_on("if { req.payload(0,3) 535348 }", "SSH-2.0", 7, true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(0,3) -m str SSH }", "SSH-2.0", 7, true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(4,3) -m str 2.0 }", "SSH-2.0", 7, true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(0,3) -m str SSH }", "SS", 2, true), -1);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(0,3) -m str SSH }", "SS", 2, false), 0);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(0,3) -m str SSH }", "GET /", 5, true), 0);
    /* length 0: to the end of what arrived, which may still grow */
    CU_ASSERT_EQUAL(exec_on("if { req.payload(2,0) -m sub 2.0 }", "SSH-2", 5, true), -1);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(2,0) -m sub 2.0 }", "SSH-2.0", 7, true), 1);
    /* beyond the buffer: never, so no waiting */
    CU_ASSERT_EQUAL(exec_on("if { req.payload(16380,10) -m found }", "x", 1, true), 0);
    CU_ASSERT_EQUAL(exec_on("if { payload(0,1) -m found }", "x", 1, true), 1);
    /* three-valued logic: a wait does not turn into a yes through `!` or `unless` */
    CU_ASSERT_EQUAL(exec_on("if !{ req.len ge 5 }", "abc", 3, true), -1);
    CU_ASSERT_EQUAL(exec_on("unless { req.len ge 5 }", "abc", 3, true), -1);
    CU_ASSERT_EQUAL(exec_on("if { req.len ge 5 } or TRUE", "abc", 3, true), 1);
    CU_ASSERT_EQUAL(exec_on("if FALSE { req.len ge 5 }", "abc", 3, true), 0);
    CU_ASSERT_EQUAL(exec_on("if { req.len ge 5 } FALSE", "abc", 3, true), -1);
    /* errors */
    CU_ASSERT_EQUAL(exec_on("if { req.payload(0) -m found }", "x", 1, true), -2);
    CU_ASSERT_EQUAL(exec_on("if { req.payload(-1,2) -m found }", "x", 1, true), -2);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "two non-negative integers"));
}

static void test_fetch_ssl(void)
{
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_hello_type 1 }", hello, sizeof(hello), true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req_ssl_hello_type 1 }", hello, 20, true), -1);
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_hello_type 1 }", hello, 20, false), 0);
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_hello_type 1 }", "GET / HTTP/1.1\r\n", 16, true), 0);
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni example.test }", hello, sizeof(hello), true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni -i EXAMPLE.test }", hello, sizeof(hello), true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req_ssl_sni -m end .test }", hello, sizeof(hello), true), 1);
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni other.test }", hello, sizeof(hello), true), 0);
    /* a hello cut anywhere waits for its end, and fails once nothing more can come */
    for (size_t cut = 0; cut < sizeof(hello); cut++) {
        CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni example.test }", hello, cut, true), -1);
        CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni -m found }", hello, cut, false), 0);
    }
    /* not TLS: no waiting */
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni -m found }", "SSH-2.0", 7, true), 0);
    /* a server_name longer than the bytes it claims is not read past the buffer */
    unsigned char bad[sizeof(hello)];
    memcpy(bad, hello, sizeof(hello));
    bad[sizeof(hello) - 13] = 0x40; /* name length 0x400c */
    CU_ASSERT_EQUAL(exec_on("if { req.ssl_sni -m found }", bad, sizeof(bad), true), 0);
}

/* what a rule can see decides the fetches it may use */
static void test_fetch_contexts(void)
{
    char cbuf[256], *w[MAXW];
    struct sp_acl_resolver http = R, conn = R;
    struct sp_acl_set *set = sp_acl_set_new();
    http.what = SP_ACL_CTX_HTTP;
    conn.what = SP_ACL_CTX_CONN;

    CU_ASSERT_EQUAL(exec_on("if { path /x }", "", 0, false), -2);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "not supported by spillway"));
    CU_ASSERT_EQUAL(exec_on("if METH_GET", "", 0, false), -2);
    CU_ASSERT_EQUAL(exec_on("if HTTP", "", 0, false), -2);
    CU_ASSERT_EQUAL(
        exec_on("if { src 127.0.0.1 } { dst_port 80 } { fe_conn gt 1 }", "", 0, false) >= 0, 1);
    snprintf(cbuf, sizeof(cbuf), "if { req.len gt 0 }");
    int n = split(cbuf, w);
    CU_ASSERT_PTR_NULL(sp_acl_cond_parse(set, &http, w, n, last_err, sizeof(last_err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "mode http"));
    snprintf(cbuf, sizeof(cbuf), "if { req.ssl_sni x }");
    n = split(cbuf, w);
    CU_ASSERT_PTR_NULL(sp_acl_cond_parse(set, &conn, w, n, last_err, sizeof(last_err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "tcp-request connection"));
    /* a named ACL compiled for a tcp frontend, then used by a connection rule */
    snprintf(cbuf, sizeof(cbuf), "big req.len gt 10");
    n = split(cbuf, w);
    CU_ASSERT_EQUAL(sp_acl_declare(set, &R_TCP, w, n, last_err, sizeof(last_err)), 0);
    snprintf(cbuf, sizeof(cbuf), "if big");
    n = split(cbuf, w);
    CU_ASSERT_PTR_NULL(sp_acl_cond_parse(set, &conn, w, n, last_err, sizeof(last_err)));
    n = split(strcpy(cbuf, "if big"), w);
    struct sp_acl_cond *ok = sp_acl_cond_parse(set, &R_TCP, w, n, last_err, sizeof(last_err));
    CU_ASSERT_PTR_NOT_NULL(ok);
    sp_acl_cond_free(ok);
    sp_acl_set_free(set);
}

static void test_errors_declaration(void)
{
    reset();
    ASSERT_ERR_EXACT("x fe_con(webserver) gt 300", NULL,
                     "unknown fetch method 'fe_con' in ACL expression 'fe_con(webserver)'");
    ASSERT_ERR("x path_foo /a", NULL, "unknown fetch method 'path_foo'");
    ASSERT_ERR("x query_beg a", NULL, "unknown fetch method 'query_beg'");
    /* operator values */
    ASSERT_ERR("x fe_conn(webserver) gt abc", NULL, "'abc' is not an integer or a range");
    ASSERT_ERR("x fe_conn(webserver) gt 1:5", NULL, "'1:5'");
    ASSERT_ERR("x fe_conn(webserver) 10:5", NULL, "'10:5' is an empty range");
    ASSERT_ERR("x fe_conn(webserver) 1:2:3", NULL, "'1:2:3'");
    ASSERT_ERR("x fe_conn(webserver) :", NULL, "':'");
    ASSERT_ERR("x fe_conn(webserver) gt 9223372036854775807", NULL, "can never match");
    ASSERT_ERR("x fe_conn(webserver) 99999999999999999999", NULL, "'99999999999999999999'");
    ASSERT_ERR("x fe_conn(webserver) gt", NULL, "missing value after operator 'gt'");
    ASSERT_ERR("x fe_conn(webserver) gt lt 3", NULL, "missing value after operator 'gt'");
    ASSERT_ERR("x fe_conn(webserver)", NULL, "no value to match 'fe_conn(webserver)' against");
    ASSERT_ERR("x path", NULL, "no value to match 'path' against");
    ASSERT_ERR("x fe_conn(webserver) -5", NULL, "'-5' is not an ACL flag");
    /* -m */
    ASSERT_ERR("x path -m beg -m end /a", NULL, "only one '-m' is allowed");
    ASSERT_ERR("x path_beg -m end /a", NULL,
               "'-m' cannot be used with 'path_beg', which sets its own match method");
    ASSERT_ERR("x path -m foo /a", NULL, "unknown match method 'foo'");
    ASSERT_ERR("x path -m", NULL, "'-m' needs a value");
    ASSERT_ERR("x path -f", NULL, "'-f' needs a value");
    ASSERT_ERR("x hdr(host) -m found example.com", NULL, "'-m found' takes no value");
    ASSERT_ERR("x fe_conn -m bool 1", NULL, "'-m bool' takes no value");
    ASSERT_ERR("x fe_conn -m ip 10.0.0.1", NULL,
               "match method '-m ip' cannot apply to 'fe_conn', which returns an integer");
    ASSERT_ERR("x src -m int 1", NULL, "cannot apply to 'src'");
    ASSERT_ERR("x path -x /a", NULL, "'-x' is not an ACL flag");
    ASSERT_ERR("x path -M /a", NULL, "'-M'");
    /* arguments */
    ASSERT_ERR_EXACT("x fe_conn(nope) gt 3", NULL,
                     "no such frontend 'nope' in ACL expression 'fe_conn(nope)'");
    ASSERT_ERR("x be_conn(webserver) gt 3", NULL, "no such backend 'webserver'");
    ASSERT_ERR("x nbsrv(nope) lt 1", NULL, "no such backend 'nope'");
    ASSERT_ERR("x fe_req_rate(ade) gt 1", NULL, "no such frontend 'ade'");
    ASSERT_ERR("x srv_is_up(ade/s2)", NULL, "no such server 'ade/s2'");
    ASSERT_ERR("x srv_is_up(nope/s1)", NULL, "no such backend 'nope'");
    ASSERT_ERR("x srv_is_up(s1)", NULL, "expects 'backend/server'");
    ASSERT_ERR("x srv_is_up", NULL, "expects 'backend/server'");
    ASSERT_ERR("x fe_conn(webserver,fe2) gt 1", NULL, "too many arguments");
    ASSERT_ERR("x path(x) /a", NULL, "'path' takes no argument");
    ASSERT_ERR("x act_conn(webserver) gt 1", NULL, "'act_conn' takes no argument");
    ASSERT_ERR("x hdr -m found", NULL, "'hdr' needs a name");
    ASSERT_ERR("x hdr() foo", NULL, "'hdr' needs a name");
    ASSERT_ERR("x url_param -m found", NULL, "'url_param' needs a name");
    ASSERT_ERR("x req.cook -m found", NULL, "'req.cook' needs a name");
    ASSERT_ERR("x hdr(host,abc) foo", NULL, "bad occurrence 'abc'");
    ASSERT_ERR("x hdr(host foo", NULL, "missing ')'");
    ASSERT_ERR("x hdr(host)x foo", NULL, "unexpected 'x'");
    ASSERT_ERR("x hdr (host) foo", NULL,
               "'(host)' is separated from 'hdr' by a space: write 'hdr(host)'");
    /* converters compile (balance/sample.c; their evaluation: tests/balance/test_sample.c) */
    CU_ASSERT_STRING_EQUAL(err_of("x hdr(host),lower -i example.com", NULL), "");
    CU_ASSERT_STRING_EQUAL(err_of("x fe_conn,add(1) gt 3", NULL), "");
    ASSERT_ERR("x hdr(host),nosuch foo", NULL, "unknown converter 'nosuch'");
    /* the declaring proxy has no frontend / backend for a fetch without argument */
    R.self_fe = -1;
    ASSERT_ERR("x fe_conn gt 3", NULL, "'fe_conn' without an argument needs a frontend");
    CU_ASSERT_STRING_EQUAL(err_of("x fe_conn(fe2) gt 3", NULL), "");
    R.self_fe = 0;
    R.self_be = -1;
    ASSERT_ERR("x be_conn gt 3", NULL, "needs a backend");
    R.self_be = 0;
    /* patterns */
    ASSERT_ERR("x src 10.0.0.300", NULL, "'10.0.0.300' is not an IP address or network");
    ASSERT_ERR("x src 10.0.0.0/33", NULL, "bad network mask in '10.0.0.0/33'");
    ASSERT_ERR("x src ::1/129", NULL, "bad prefix length in '::1/129'");
    ASSERT_ERR("x src www.example.com", NULL, "'www.example.com' is not an IP address");
    ASSERT_ERR("x path_reg (", NULL, "bad regex '('");
    ASSERT_ERR("x path_reg (a", NULL, "bad regex '(a'");
    ASSERT_ERR("x path -m reg a[", NULL, "bad regex 'a['");
    ASSERT_ERR("x hdr(x) -m bin 4G", NULL, "'4G' is not a hex string");
    ASSERT_ERR("x hdr(x) -m bin 414", NULL, "'414'");
    ASSERT_ERR("x path_dir /", NULL, "has nothing to match");
    /* -f */
    ASSERT_ERR("x path -f /nonexistent/acl/file", NULL,
               "cannot open pattern file '/nonexistent/acl/file'");
    const char *f = write_tmp("10\nabc\n");
    char def[128], want[128];
    snprintf(def, sizeof(def), "x fe_conn(webserver) -f %s", f);
    snprintf(want, sizeof(want), "'abc' is not an integer or a range (line 2 of '%s')", f);
    ASSERT_ERR_EXACT(def, NULL, want);
    unlink(f);
    f = write_tmp("10\n");
    snprintf(def, sizeof(def), "x fe_conn(webserver) -f %s -m int", f);
    ASSERT_ERR(def, NULL, "'-m' must come before '-f'");
    snprintf(def, sizeof(def), "x hdr(x) -m found -f %s", f);
    ASSERT_ERR(def, NULL, "'-m found' takes no pattern");
    unlink(f);
    /* names */
    ASSERT_ERR("b@d path /a", NULL, "invalid ACL name 'b@d'");
    ASSERT_ERR("a!b path /a", NULL, "invalid ACL name 'a!b'");
    ASSERT_ERR("or path /a", NULL, "'or' cannot be an ACL name");
    ASSERT_ERR("OR path /a", NULL, "'OR' cannot be an ACL name");
    ASSERT_ERR("lonely", NULL, "missing criterion after ACL name 'lonely'");
    CU_ASSERT_STRING_EQUAL(err_of("a-b_c.d:e9 path /a", "if a-b_c.d:e9"), "");
    CU_ASSERT_STRING_EQUAL(err_of("ORx path /a", "if ORx"), "");

    struct sp_acl_set *set = sp_acl_set_new();
    CU_ASSERT_EQUAL(sp_acl_declare(set, &R, NULL, 0, last_err, sizeof(last_err)), -EINVAL);
    sp_acl_set_free(set);
}

static void test_errors_condition(void)
{
    reset();
    ASSERT_ERR_EXACT(AB, "if too_many", "no such ACL 'too_many'");
    ASSERT_ERR_EXACT(AB, "if a and b",
                     "'and' is not an ACL operator: terms are ANDed when written next to each "
                     "other");
    ASSERT_ERR(AB, "if a && b", "'&&' is not an ACL operator");
    ASSERT_ERR(AB, "if a AND b", "'AND' is not an ACL operator");
    ASSERT_ERR(AB, "if", "empty condition after 'if'");
    ASSERT_ERR(AB, "unless", "empty condition after 'unless'");
    ASSERT_ERR(AB, "when a", "starts with 'if' or 'unless', not 'when'");
    ASSERT_ERR(AB, "If a", "not 'If'");
    ASSERT_ERR(AB, "if a or", "ends with 'or'");
    ASSERT_ERR(AB, "if a ||", "ends with '||'");
    ASSERT_ERR(AB, "if or a", "'or' needs a term before it");
    ASSERT_ERR(AB, "if a or or b", "'or' needs a term before it");
    ASSERT_ERR(AB, "if a !", "'!' at the end of the condition");
    ASSERT_ERR(AB, "if ! or a", "'!' before 'or'");
    ASSERT_ERR(AB, "if { path /a", "missing '}'");
    ASSERT_ERR(AB, "if { }", "empty anonymous ACL");
    ASSERT_ERR(AB, "if { { path /a } }", "braces do not nest");
    ASSERT_ERR(AB, "if {path /a }", "'{path': the braces of an anonymous ACL must be separate");
    ASSERT_ERR(AB, "if { path /a}", "missing '}'");
    ASSERT_ERR(AB, "if a }", "'}'");
    ASSERT_ERR(AB, "if { fe_con gt 3 }", "unknown fetch method 'fe_con'");
    ASSERT_ERR(AB, "if { fe_conn(nope) gt 3 }", "no such frontend 'nope'");
    ASSERT_ERR(AB, "if a !nope", "no such ACL 'nope'");
    ASSERT_ERR(AB, "if true", "no such ACL 'true'"); /* built-ins are case-sensitive */

    char err[64];
    CU_ASSERT_PTR_NULL(sp_acl_cond_parse(NULL, &R, NULL, 0, err, sizeof(err)));
    CU_ASSERT(err[0] != '\0');
    /* a small err buffer truncates, never overflows */
    char *w[] = {"if", "a_name_that_does_not_exist_anywhere"};
    char small[8];
    CU_ASSERT_PTR_NULL(sp_acl_cond_parse(NULL, &R, w, 2, small, sizeof(small)));
    CU_ASSERT_EQUAL(strlen(small), 7);
}

void test_acl_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/acl");
    sp_unit_test(s, "fe_conn gt 300 boundary and failed fetch", test_gt_boundary);
    sp_unit_test(s, "integer operators eq ge gt le lt", test_int_operators);
    sp_unit_test(s, "integer ranges and ORed values", test_int_ranges);
    sp_unit_test(s, "load fetches and their arguments", test_load_fetches);
    sp_unit_test(s, "flag -i", test_flag_i);
    sp_unit_test(s, "flag -m, every method", test_flag_m);
    sp_unit_test(s, "-m dir and -m dom words", test_flag_dir_dom);
    sp_unit_test(s, "flag -f", test_flag_f);
    sp_unit_test(s, "flags --, -n, -u", test_flag_dashdash_n);
    sp_unit_test(s, "path, url, base, query", test_fetch_path_url);
    sp_unit_test(s, "query absent: false, negation true", test_fetch_query_absent);
    sp_unit_test(s, "url_param", test_fetch_url_param);
    sp_unit_test(s, "hdr, req.hdr, req.fhdr, hdr_cnt", test_fetch_hdr);
    sp_unit_test(s, "method, req.ver, req.cook", test_fetch_method_ver_cook);
    sp_unit_test(s, "-m int / -m bool on strings", test_str_to_int);
    sp_unit_test(s, "quoted commas do not split header values", test_fetch_hdr_quoted);
    sp_unit_test(s, "req.cook: commas, quotes, $attributes", test_fetch_cook_lists);
    sp_unit_test(s, "req.fhdr_cnt", test_fetch_fhdr_cnt);
    sp_unit_test(s, "src, dst, ports", test_fetch_conn);
    sp_unit_test(s, "req.len, req.payload: waiting for bytes", test_fetch_payload);
    sp_unit_test(s, "req.ssl_hello_type, req.ssl_sni", test_fetch_ssl);
    sp_unit_test(s, "fetches by what the rules see", test_fetch_contexts);
    sp_unit_test(s, "built-in ACLs and overriding", test_builtins);
    sp_unit_test(s, "conditions: AND, OR, precedence", test_cond_and_or);
    sp_unit_test(s, "conditions: negation", test_cond_neg);
    sp_unit_test(s, "conditions: unless", test_cond_unless);
    sp_unit_test(s, "conditions: anonymous ACLs", test_cond_anonymous);
    sp_unit_test(s, "repeated ACL names are ORed", test_cond_repeated_names);
    sp_unit_test(s, "evaluation short-circuits", test_cond_short_circuit);
    sp_unit_test(s, "NULL condition, text, failed declaration", test_cond_null_and_text);
    sp_unit_test(s, "declaration errors", test_errors_declaration);
    sp_unit_test(s, "condition errors", test_errors_condition);
}
