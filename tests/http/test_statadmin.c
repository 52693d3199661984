/* tests/http/test_statadmin.c - the stats page's admin form: the POST body parser
 * (http/statadmin.c) against fake proxies, hostile bodies included, the `stats admin`
 * keyword (core/cfgrules.c) and its compiled conditions (balance/routing.c), and the 303. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-int.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

/* ---- the parser, over fake proxies: backend "be" (#3) with servers a, b, dup, dup ---- */

struct call {
    int action;
    char name[64];
};

struct fake {
    struct call calls[64];
    int ncalls;
    int nbackend_calls;
    char last_backend[64];
};

static const int BE = 3; /* its address is the backend */

static const void *fake_backend(void *ctx, const char *name)
{
    struct fake *f = ctx;
    f->nbackend_calls++;
    snprintf(f->last_backend, sizeof(f->last_backend), "%s", name);
    return !strcmp(name, "be") || !strcmp(name, "#3") ? &BE : NULL;
}

static int fake_server(void *ctx, const void *be, int action, const char *name)
{
    struct fake *f = ctx;
    CU_ASSERT_PTR_EQUAL(be, &BE);
    if (f->ncalls < 64) {
        f->calls[f->ncalls].action = action;
        snprintf(f->calls[f->ncalls].name, sizeof(f->calls[0].name), "%s", name);
    }
    f->ncalls++;
    if (!strcmp(name, "a") || !strcmp(name, "b") || !strcmp(name, "a b"))
        return action == SP__STADM_DAGENT ? 0 : 1; /* no agent: not counted */
    return -1;                                     /* unknown, or duplicated */
}

static const struct sp__stadm_ops OPS = {.backend = fake_backend, .server = fake_server};

static int post(struct fake *f, const char *body)
{
    memset(f, 0, sizeof(*f));
    return sp__stats_admin_parse(body, strlen(body), &OPS, f);
}

static void test_parse(void)
{
    struct fake f;

    /* HAProxy's form: servers first, then action and b */
    CU_ASSERT_EQUAL(post(&f, "s=a&s=b&action=maint&b=%233"), SP_STATS_ST_DONE);
    CU_ASSERT_EQUAL(f.ncalls, 2);
    /* read from the end: b is processed last */
    ASSERT_STR(f.calls[0].name, "b");
    ASSERT_STR(f.calls[1].name, "a");
    CU_ASSERT_EQUAL(f.calls[0].action, SP__STADM_MAINT);
    ASSERT_STR(f.last_backend, "#3");
    /* any order; the backend by name */
    CU_ASSERT_EQUAL(post(&f, "b=be&action=ready&s=a"), SP_STATS_ST_DONE);
    CU_ASSERT_EQUAL(f.ncalls, 1);
    CU_ASSERT_EQUAL(f.calls[0].action, SP__STADM_READY);
    /* servers around the action and the backend: each one once */
    CU_ASSERT_EQUAL(post(&f, "s=a&action=drain&s=b&b=be&s=a"), SP_STATS_ST_DONE);
    CU_ASSERT_EQUAL(f.ncalls, 3);
    /* the last action and b of the body count */
    CU_ASSERT_EQUAL(post(&f, "action=bogus&b=nope&s=a&action=hrunn&b=be"), SP_STATS_ST_DONE);
    CU_ASSERT_EQUAL(f.calls[0].action, SP__STADM_HRUNN);
    CU_ASSERT_EQUAL(f.nbackend_calls, 1);
    /* every action name of HAProxy 2.6, and the older ones */
    static const char *const names[] = {"ready", "drain",   "maint",  "shutdown", "dhlth",  "ehlth",
                                        "hrunn", "hnolb",   "hdown",  "dagent",   "eagent", "arunn",
                                        "adown", "disable", "enable", "stop",     "start"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char body[64];
        snprintf(body, sizeof(body), "s=b&action=%s&b=be", names[i]);
        post(&f, body);
        CU_ASSERT_EQUAL(f.ncalls, 1);
        CU_ASSERT_EQUAL(f.calls[0].action, (int)i + 1);
    }
    /* form decoding: '+' and %XX in names */
    CU_ASSERT_EQUAL(post(&f, "s=a+b&action=m%61int&b=b%65"), SP_STATS_ST_DONE);
    ASSERT_STR(f.calls[0].name, "a b");
}

static void test_results(void)
{
    struct fake f;

    CU_ASSERT_EQUAL(post(&f, ""), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(post(&f, "s=a&s=b"), SP_STATS_ST_NONE); /* no action, no backend */
    CU_ASSERT_EQUAL(f.ncalls, 0);
    CU_ASSERT_EQUAL(post(&f, "action=maint&b=be"), SP_STATS_ST_NONE); /* no server */
    CU_ASSERT_EQUAL(post(&f, "s=a&action=maint"), SP_STATS_ST_NONE);  /* no backend */
    CU_ASSERT_EQUAL(f.ncalls, 0);
    CU_ASSERT_EQUAL(post(&f, "s=zz&action=maint&b=be"), SP_STATS_ST_ERRP); /* unknown server */
    CU_ASSERT_EQUAL(post(&f, "s=dup&action=maint&b=be"), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(post(&f, "s=zz&s=a&action=maint&b=be"), SP_STATS_ST_PART);
    CU_ASSERT_EQUAL(post(&f, "s=a&action=bogus&b=be"), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(post(&f, "s=a&action=&b=be"), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(post(&f, "s=a&action=maint&b=nope"), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(post(&f, "s=a&action=maint&b=%2399"), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(f.ncalls, 0);
    /* an action a server does not have (no agent) is not counted: nothing changed */
    CU_ASSERT_EQUAL(post(&f, "s=a&action=dagent&b=be"), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(f.ncalls, 1);
}

static void test_hostile(void)
{
    struct fake f;

    /* a bad %-escape stops the reading: what came after it (read first) is done */
    CU_ASSERT_EQUAL(post(&f, "s=a&action=maint&b=%zz"), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(f.ncalls, 0);
    CU_ASSERT_EQUAL(post(&f, "s=%&action=maint&b=be"), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(post(&f, "s=%4&action=maint&b=be"), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(post(&f, "s=a&s=%2&action=maint&b=be&s=b"), SP_STATS_ST_DONE);
    CU_ASSERT_EQUAL(f.ncalls, 1); /* b only: the reading stopped at s=%2 */
    CU_ASSERT_EQUAL(post(&f, "action=maint&b=be&s=a%"), SP_STATS_ST_NONE);
    /* separators, empty and odd parameters */
    CU_ASSERT_EQUAL(post(&f, "&&&"), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(post(&f, "s=a&&action=maint&&b=be&"), SP_STATS_ST_DONE);
    /* a leading '&' stays in the first key ("&s"), as in HAProxy 2.6 (checked against it) */
    CU_ASSERT_EQUAL(post(&f, "&s=a&&action=maint&&b=be&"), SP_STATS_ST_NONE);
    CU_ASSERT_EQUAL(post(&f, "s&action&b"), SP_STATS_ST_ERRP);                /* action "" */
    CU_ASSERT_EQUAL(post(&f, "==&s==a&action=maint&b=be"), SP_STATS_ST_ERRP); /* server "=a" */
    /* a NUL byte ends a parameter, as in HAProxy's copy */
    static const char nul[] = "s=a\0zz&action=maint&b=be";
    memset(&f, 0, sizeof(f));
    CU_ASSERT_EQUAL(sp__stats_admin_parse(nul, sizeof(nul) - 1, &OPS, &f), SP_STATS_ST_DONE);
    ASSERT_STR(f.calls[0].name, "a");
    /* a parameter of HAProxy's line size or more is invalid; just under it is read */
    size_t big = 2048 + 64;
    char *body = malloc(big + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    int n = sprintf(body, "action=maint&b=be&s=");
    memset(body + n, 'x', 2047 - 2);
    body[n + 2045] = '\0';
    memset(&f, 0, sizeof(f));
    CU_ASSERT_EQUAL(sp__stats_admin_parse(body, strlen(body), &OPS, &f), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(f.ncalls, 1); /* s=xxx...: 2047 bytes, read (an unknown server) */
    body[n + 2045] = 'x';
    body[n + 2046] = '\0';
    memset(&f, 0, sizeof(f));
    CU_ASSERT_EQUAL(sp__stats_admin_parse(body, strlen(body), &OPS, &f), SP_STATS_ST_ERRP);
    CU_ASSERT_EQUAL(f.ncalls, 0); /* 2048 bytes: refused before any change */
    free(body);
    /* tens of thousands of servers: each one asked once, in bounded memory */
    size_t cnt = 40000, cap = cnt * 4 + 64, len = 0;
    char *many = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    for (size_t i = 0; i < cnt; i++)
        len += (size_t)snprintf(many + len, cap - len, "s=a&");
    len += (size_t)snprintf(many + len, cap - len, "action=maint&b=be");
    memset(&f, 0, sizeof(f));
    CU_ASSERT_EQUAL(sp__stats_admin_parse(many, len, &OPS, &f), SP_STATS_ST_DONE);
    CU_ASSERT_EQUAL(f.ncalls, (int)cnt);
    /* every prefix of a body, and every byte value in a short one: no overrun (ASan) */
    static const char form[] = "s=a&s=b%20c&action=maint&b=%233";
    for (size_t i = 0; i <= sizeof(form) - 1; i++) {
        char *cut = malloc(i ? i : 1); /* exact size: an overrun is caught */
        memcpy(cut, form, i);
        memset(&f, 0, sizeof(f));
        int st = sp__stats_admin_parse(cut, i, &OPS, &f);
        CU_ASSERT(st == SP_STATS_ST_NONE || st == SP_STATS_ST_DONE || st == SP_STATS_ST_ERRP ||
                  st == SP_STATS_ST_PART);
        free(cut);
    }
    for (int c = 0; c < 256; c++) {
        char b3[3] = {'%', (char)c, '%'};
        memset(&f, 0, sizeof(f));
        CU_ASSERT_EQUAL(sp__stats_admin_parse(b3, 3, &OPS, &f), SP_STATS_ST_NONE);
    }
    free(many);
}

static void test_redirect(void)
{
    char buf[256];
    int n = sp__stats_admin_redirect("/st", SP_STATS_ST_DONE, buf, sizeof(buf));
    CU_ASSERT(n > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 303 See Other\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\nLocation: /st;st=DONE\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\nContent-Length: 0\r\n"));
    CU_ASSERT(sp__stats_admin_redirect("/st", SP_STATS_ST_ERRP, buf, 20) < 0);
    ASSERT_STR(sp_stats_st_name(SP_STATS_ST_PART), "PART");
    ASSERT_STR(sp_stats_st_name(99), "UNKN");
    CU_ASSERT_EQUAL(sp_stats_st_parse("DENY", 4), SP_STATS_ST_DENY);
    CU_ASSERT_EQUAL(sp_stats_st_parse("DON", 3), SP_STATS_ST_UNKN);
    CU_ASSERT_EQUAL(sp_stats_st_parse("XXXX", 4), SP_STATS_ST_UNKN);
}

/* ---- the keyword ---- */

static void test_config(void)
{
    struct sp_config *cfg = cfgt_load_ok(TMO "listen l\n"
                                             "    bind 127.0.0.1:8000\n"
                                             "    stats uri /st\n"
                                             "    stats admin if { src 127.0.0.1 }\n"
                                             "    stats admin unless FALSE\n"
                                             "    server a 127.0.0.1:8001\n"
                                             "    server c 127.0.0.1:8003\n"
                                             "frontend f\n"
                                             "    bind 127.0.0.1:8002\n"
                                             "    stats admin if TRUE\n"
                                             "    default_backend l\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *l = cfgt_proxy(cfg, "l"), *f = cfgt_proxy(cfg, "f");
    CU_ASSERT_FATAL(l && f && l->stats_admin && f->stats_admin);
    ASSERT_STR(l->stats_admin->words[0], "if");
    CU_ASSERT_EQUAL(l->stats_admin->nwords, 5);
    ASSERT_STR(l->stats_admin->next->words[0], "unless");
    CU_ASSERT(f->stats_enabled); /* any stats keyword enables the page, as in HAProxy */

    int nerr = -1;
    char *diag = NULL;
    size_t dlen = 0;
    FILE *d = open_memstream(&diag, &dlen);
    struct sp_routing *rt = sp_routing_build(cfg, d, &nerr);
    fclose(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    CU_ASSERT_EQUAL(nerr, 0);
    const struct sp_frontend *fl = sp_routing_frontend(rt, "l");
    const struct sp_frontend *ff = sp_routing_frontend(rt, "f");
    CU_ASSERT_FATAL(fl && ff);
    CU_ASSERT_EQUAL(fl->nstats_admin, 2);
    CU_ASSERT_EQUAL(ff->nstats_admin, 1);

    /* on the snapshot: the server's state changes as `set server` changes it */
    struct sp_backend *be = sp_routing_backend(rt, "l");
    CU_ASSERT_FATAL(be && be->nsrv == 2);
    struct sp_srv_hstate st;
    static const char maint[] = "s=a&action=maint&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, maint, sizeof(maint) - 1, 1000), SP_STATS_ST_DONE);
    sp_srv_health_read(be->srv[0]->h, &st);
    CU_ASSERT(st.admin & SP_SRV_FMAINT);
    CU_ASSERT_EQUAL(sp_srv_lbw(be->srv[0]->h), 0);
    sp_srv_health_read(be->srv[1]->h, &st);
    CU_ASSERT_EQUAL(st.admin, 0);
    static const char drain[] = "s=a&s=c&action=drain&b=%231";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, drain, sizeof(drain) - 1, 2000), SP_STATS_ST_DONE);
    sp_srv_health_read(be->srv[0]->h, &st);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FDRAIN); /* out of maintenance, draining */
    CU_ASSERT_EQUAL(st.uweight, 1);           /* HAProxy keeps the weight; not used by LB */
    CU_ASSERT_EQUAL(sp_srv_lbw(be->srv[0]->h), 0);
    static const char ready[] = "s=a&s=nope&action=ready&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, ready, sizeof(ready) - 1, 3000), SP_STATS_ST_PART);
    CU_ASSERT_EQUAL(sp_srv_lbw(be->srv[0]->h), 1);
    /* no check configured: the health actions leave it out; no agent either */
    static const char dhlth[] = "s=a&action=dhlth&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, dhlth, sizeof(dhlth) - 1, 4000), SP_STATS_ST_NONE);
    static const char eagent[] = "s=a&action=eagent&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, eagent, sizeof(eagent) - 1, 4000), SP_STATS_ST_NONE);
    static const char shut[] = "s=a&action=shutdown&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, shut, sizeof(shut) - 1, 4000), SP_STATS_ST_ERRP);
    static const char hdown[] = "s=c&action=hdown&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, hdown, sizeof(hdown) - 1, 5000), SP_STATS_ST_DONE);
    sp_srv_health_read(be->srv[1]->h, &st);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    static const char hrunn[] = "s=c&action=hrunn&b=l";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, hrunn, sizeof(hrunn) - 1, 6000), SP_STATS_ST_DONE);
    sp_srv_health_read(be->srv[1]->h, &st);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    /* a frontend is not a backend */
    static const char fe[] = "s=a&action=maint&b=f";
    CU_ASSERT_EQUAL(sp__stats_admin_post(rt, fe, sizeof(fe) - 1, 7000), SP_STATS_ST_ERRP);
    sp_routing_discard(rt);
    free(diag);
    sp_config_free(cfg);
}

static void test_config_errors(void)
{
    cfgt_expect_errors(TMO "defaults\n    stats admin if TRUE\n", 1,
                       "t.cfg:7: 'stats admin': not allowed in 'defaults' section", NULL);
    cfgt_expect_errors(TMO "frontend f\n    bind :8000\n    stats admin\n", 1,
                       "t.cfg:8: 'stats admin': requires either 'if' or 'unless' followed by a "
                       "condition",
                       NULL);
    cfgt_expect_errors(TMO "frontend f\n    bind :8000\n    stats admin TRUE\n", 1,
                       "t.cfg:8: 'stats admin': requires either 'if' or 'unless'", NULL);
    cfgt_expect_errors(TMO "frontend f\n    bind :8000\n    stats admin unless\n", 1,
                       "t.cfg:8: 'stats admin': 'unless' expects a condition", NULL);
    cfgt_expect_errors(TMO "backend b\n    stats admin if TRUE\n", 1,
                       "t.cfg:7: 'stats admin': not supported by spillway in a backend", NULL);
}

/* A condition that does not compile is an error with its file:line (the -c check). */
static void test_config_cond(void)
{
    struct sp_config *cfg = cfgt_load_ok(TMO "frontend f\n"
                                             "    bind 127.0.0.1:8000\n"
                                             "    stats admin if { nosuchfetch }\n"
                                             "    stats admin if NOSUCHACL\n"
                                             "    default_backend b\n"
                                             "backend b\n"
                                             "    server a 127.0.0.1:8001\n");
    if (!cfg)
        return;
    int nerr = 0;
    char *diag = NULL;
    size_t dlen = 0;
    FILE *d = open_memstream(&diag, &dlen);
    struct sp_routing *rt = sp_routing_build(cfg, d, &nerr);
    fclose(d);
    CU_ASSERT_EQUAL(nerr, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "t.cfg:8: 'stats admin':"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "t.cfg:9: 'stats admin':"));
    if (nerr != 2)
        fprintf(stderr, "\n%s\n", diag);
    sp_routing_discard(rt);
    free(diag);
    sp_config_free(cfg);
}

void test_statadmin_register(void)
{
    CU_pSuite s = CU_add_suite("statadmin", NULL, NULL);
    CU_add_test(s, "POST body parsing", test_parse);
    CU_add_test(s, "results", test_results);
    CU_add_test(s, "hostile bodies", test_hostile);
    CU_add_test(s, "303 and ;st= codes", test_redirect);
    CU_add_test(s, "stats admin keyword", test_config);
    CU_add_test(s, "stats admin errors", test_config_errors);
    CU_add_test(s, "stats admin conditions", test_config_cond);
}
