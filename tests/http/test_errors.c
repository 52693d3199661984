/* tests/http/test_errors.c - http/errors.c: the configured messages set up for the routing
 * snapshot's frontends and backends, and the one sp__errmsg_get() picks: the backend's once a
 * backend was chosen, else the frontend's, else the built-in page; http-error bodies and
 * header values rendered from log-format; an empty errorfile; a log-format that does not
 * compile counted as a start-up error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "http/http-int.h"
#include "tests/unit.h"

static char dir[64];

static const char *put(const char *name, const char *text)
{
    static char path[8][128];
    static int n;
    char *p = path[n++ % 8];
    FILE *f;

    snprintf(p, 128, "%s/%s", dir, name);
    f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

struct env {
    struct sp_config *cfg;
    struct sp_routing *rt;
    struct sp_http_conf conf;
    struct sp_http_worker hw;
};

static int env_up(struct env *e, const char *text, int *ret_setup)
{
    FILE *diag = fopen("/dev/null", "w");
    int rerr = 0;

    memset(e, 0, sizeof(*e));
    if (!diag || sp_config_parse_string(text, "t.cfg", diag, &e->cfg) < 0) {
        if (diag)
            fclose(diag);
        return -1;
    }
    e->rt = sp_routing_build(e->cfg, diag, &rerr);
    fclose(diag);
    if (!e->rt)
        return -1;
    e->conf.bufsize = e->cfg->global.bufsize;
    *ret_setup = sp_http_errors_setup(e->cfg, e->rt, &e->conf);
    e->hw.conf = &e->conf;
    sp_log_ctx_init(&e->hw.logctx, 1, "h");
    return 0;
}

static void env_down(struct env *e)
{
    sp_http_errors_free(&e->conf);
    free(e->hw.rbuf);
    sp_routing_discard(e->rt);
    sp_config_free(e->cfg);
}

static const struct sp_backend *be_named(const struct sp_routing *rt, const char *name)
{
    for (int i = 0; i < rt->nbe; i++)
        if (!strcmp(rt->be[i]->name, name))
            return rt->be[i];
    return NULL;
}

#define TMO "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"

static void test_pick(void)
{
    struct env e;
    char text[2048];
    int serr = -1;

    snprintf(dir, sizeof(dir), "/tmp/sp-errors-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    const char *fe503 = put("fe503", "HTTP/1.1 503 X\r\nContent-Length: 2\r\n\r\nfe");
    const char *be503 = put("be503", "HTTP/1.1 503 X\r\nContent-Length: 2\r\n\r\nbe");
    const char *empty = put("empty", "");
    snprintf(text, sizeof(text),
             TMO "frontend fe\n bind 127.0.0.1:1\n errorfile 503 %s\n errorfile 502 %s\n"
                 " http-error status 504 content-type text/plain lf-string \"fe=%%f st=%%ST\""
                 " hdr X-B \"%%b\" hdr X-Empty \"\"\n"
                 " default_backend own\n"
                 "backend own\n errorfile 503 %s\n"
                 "backend plain\n"
                 "backend dflt\n http-error status 503 default-errorfiles\n",
             fe503, empty, be503);
    CU_ASSERT_EQUAL_FATAL(env_up(&e, text, &serr), 0);
    CU_ASSERT_EQUAL(serr, 0);
    const struct sp_frontend *fe = sp_routing_frontend(e.rt, "fe");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    const char *resp;
    struct sp__reply_ctx x = {.fe = fe};
    long n = sp__errmsg_get(&e.hw, 503, &x, &resp, NULL);
    CU_ASSERT_EQUAL(n, 39);
    CU_ASSERT_TRUE(n > 0 && !memcmp(resp + n - 2, "fe", 2));
    x.be = be_named(e.rt, "own");
    n = sp__errmsg_get(&e.hw, 503, &x, &resp, NULL);
    CU_ASSERT_TRUE(n > 0 && !memcmp(resp + n - 2, "be", 2));
    x.be = be_named(e.rt, "plain"); /* nothing of its own: the frontend's */
    n = sp__errmsg_get(&e.hw, 503, &x, &resp, NULL);
    CU_ASSERT_TRUE(n > 0 && !memcmp(resp + n - 2, "fe", 2));
    x.be = be_named(e.rt, "dflt"); /* default-errorfiles: no message, the frontend's */
    n = sp__errmsg_get(&e.hw, 503, &x, &resp, NULL);
    CU_ASSERT_TRUE(n > 0 && !memcmp(resp + n - 2, "fe", 2));
    n = sp__errmsg_get(&e.hw, 502, &x, &resp, NULL); /* empty errorfile */
    CU_ASSERT_EQUAL(n, 0);
    n = sp__errmsg_get(&e.hw, 400, &x, &resp, NULL); /* none configured: the built-in page */
    CU_ASSERT_TRUE(n > 0 && !strncmp(resp, "HTTP/1.1 400 Bad Request\r\n", 26));
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "<h1>400 Bad Request</h1>"));
    x.be = be_named(e.rt, "own");
    n = sp__errmsg_get(&e.hw, 504, &x, &resp, NULL);
    CU_ASSERT_FATAL(n > 0);
    static const char want[] = "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 12\r\n"
                               "content-type: text/plain\r\nX-B: own\r\n\r\nfe=fe st=504";
    CU_ASSERT_EQUAL(n, (long)sizeof(want) - 1);
    if (n != (long)sizeof(want) - 1 || memcmp(resp, want, sizeof(want) - 1))
        fprintf(stderr, "\ngot: %.*s\n", (int)n, resp);
    CU_ASSERT_EQUAL(memcmp(resp, want, sizeof(want) - 1), 0);
    env_down(&e);

    /* a log-format that does not compile is a start-up error */
    CU_ASSERT_EQUAL_FATAL(env_up(&e,
                                 TMO "frontend fe\n bind 127.0.0.1:1\n http-error status 503"
                                     " content-type text/plain lf-string \"%{\"\n",
                                 &serr),
                          0);
    CU_ASSERT_EQUAL(serr, 1);
    env_down(&e);
    /* nothing configured: no table at all */
    CU_ASSERT_EQUAL_FATAL(env_up(&e, TMO "frontend fe\n bind 127.0.0.1:1\n", &serr), 0);
    CU_ASSERT_EQUAL(serr, 0);
    CU_ASSERT_PTR_NULL(e.conf.errs);
    env_down(&e);
    unlink(fe503);
    unlink(be503);
    unlink(empty);
    rmdir(dir);
}

void test_errors_register(void)
{
    CU_pSuite s = sp_unit_suite("http/errors");
    sp_unit_test(s, "backend, frontend, built-in; rendered http-error; empty", test_pick);
}
