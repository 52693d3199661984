/* tests/http/test_hrules2.c - http/hrules_build.c: the compilation of reject, set-src,
 * set-src-port, set-tos, set-mark, early-hint, strict-mode, disable-l7-retry,
 * set-priority-class/-offset and http-response return/redirect, and the errors (file:line, the
 * reason) for their bad forms and for set-nice, which spillway refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "http/hrule.h"
#include "http/hrules.h"
#include "http/http-int.h"
#include "tests/unit.h"

#define TMO "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"

/* owner: the test thread. A configuration's rules compiled; diag holds the messages. */
struct env {
    struct sp_config *cfg;
    struct sp_routing *rt;
    struct sp_hrules *h;
    char *diag;
    int errors;
};

static int env_up(struct env *e, const char *text)
{
    size_t dl = 0;
    int rerr = 0;

    memset(e, 0, sizeof(*e));
    FILE *diag = open_memstream(&e->diag, &dl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(diag);
    if (sp_config_parse_string(text, "t.cfg", diag, &e->cfg) < 0 ||
        !(e->rt = sp_routing_build(e->cfg, diag, &rerr))) {
        fclose(diag);
        return -1;
    }
    e->errors = sp__hrules_build(e->cfg, e->rt, diag, &e->h);
    fclose(diag);
    return 0;
}

static void env_down(struct env *e)
{
    sp__hrules_free(e->h);
    sp_routing_discard(e->rt);
    sp_config_free(e->cfg);
    free(e->diag);
}

static const struct sp_hruleset *fe_req(const struct env *e)
{
    const struct sp_frontend *fe = sp_routing_frontend(e->rt, "fe");
    return fe ? &e->h->fe[fe->idx].req : NULL;
}

static void test_compile(void)
{
    struct env e;
    int rc = env_up(&e, TMO "frontend fe\n bind 127.0.0.1:1\n"
                            " http-request reject if { path /r }\n"
                            " http-request set-src hdr(x-ip)\n"
                            " http-request set-src-port int(4)\n"
                            " http-request set-tos 0x20\n"
                            " http-request set-mark 42\n"
                            " http-request early-hint Link \"</a>; %[path]\"\n"
                            " http-request strict-mode off\n"
                            " http-request disable-l7-retry\n"
                            " http-request set-priority-class int(-3)\n"
                            " http-request set-priority-offset prio_class\n"
                            " http-response return status 203 string x if { status 404 }\n"
                            " http-response redirect location /l code 303\n"
                            " http-response set-tos 8\n"
                            " http-after-response strict-mode on\n"
                            " default_backend be\n"
                            "backend be\n server s 127.0.0.1:2\n");

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(e.errors, 0);
    const struct sp_hruleset *s = fe_req(&e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(s->n, 10);
    CU_ASSERT_EQUAL(s->r[0].act, A_REJECT);
    CU_ASSERT_PTR_NOT_NULL(s->r[0].cond);
    CU_ASSERT_EQUAL(s->r[1].act, A_SET_SRC);
    CU_ASSERT_PTR_NOT_NULL(s->r[1].expr);
    CU_ASSERT_EQUAL(s->r[2].act, A_SET_SRC_PORT);
    CU_ASSERT_EQUAL(s->r[3].act, A_SET_TOS);
    CU_ASSERT_EQUAL(s->r[3].status, 0x20);
    CU_ASSERT_EQUAL(s->r[4].act, A_SET_MARK);
    CU_ASSERT_EQUAL(s->r[4].status, 42);
    CU_ASSERT_EQUAL(s->r[5].act, A_EARLY_HINT);
    CU_ASSERT_STRING_EQUAL(s->r[5].name, "Link");
    CU_ASSERT_PTR_NOT_NULL(s->r[5].val.lf); /* a log-format value */
    CU_ASSERT_EQUAL(s->r[6].act, A_STRICT_MODE);
    CU_ASSERT_EQUAL(s->r[6].status, 0);
    CU_ASSERT_EQUAL(s->r[7].act, A_DISABLE_L7_RETRY);
    CU_ASSERT_EQUAL(s->r[8].act, A_SET_PRIO_CLASS);
    CU_ASSERT_EQUAL(s->r[9].act, A_SET_PRIO_OFFSET);
    CU_ASSERT_PTR_NOT_NULL(s->r[9].expr);
    const struct sp_frontend *fe = sp_routing_frontend(e.rt, "fe");
    const struct sp_hruleset *res = &e.h->fe[fe->idx].res;
    CU_ASSERT_EQUAL_FATAL(res->n, 3);
    CU_ASSERT_EQUAL(res->r[0].act, A_RETURN);
    CU_ASSERT_EQUAL(res->r[0].status, 203);
    CU_ASSERT_EQUAL(res->r[1].act, A_REDIRECT);
    CU_ASSERT_EQUAL(res->r[1].status, 303);
    CU_ASSERT_EQUAL(res->r[2].act, A_SET_TOS);
    CU_ASSERT_EQUAL(e.h->fe[fe->idx].after.n, 1);
    CU_ASSERT_EQUAL(e.h->fe[fe->idx].after.r[0].status, 1);
    env_down(&e);
}

/* one bad line each: the error names t.cfg:LINE and says why */
static void expect(const char *rule, const char *what)
{
    char text[1024];
    struct env e;

    snprintf(text, sizeof(text),
             TMO "frontend fe\n bind 127.0.0.1:1\n%s\n default_backend be\n"
                 "backend be\n server s 127.0.0.1:2\n",
             rule);
    CU_ASSERT_EQUAL_FATAL(env_up(&e, text), 0);
    bool ok = e.errors == 1 && e.diag && strstr(e.diag, "t.cfg:8:") && strstr(e.diag, what);
    if (!ok)
        fprintf(stderr, "\n  '%s': %d error(s): %s\n", rule, e.errors, e.diag ? e.diag : "");
    CU_ASSERT(ok);
    env_down(&e);
}

static void test_errors(void)
{
    expect(" http-request set-nice 10", "'set-nice' is not supported by spillway: a worker");
    expect(" http-request set-priority-class", "expects a sample expression");
    expect(" http-request set-priority-offset nosuchfetch", "nosuchfetch");
    expect(" http-response set-priority-class int(1)", "is an http-request action");
    expect(" http-request set-tos 256", "from 0 to 255");
    expect(" http-request set-tos", "expects exactly 1 argument");
    expect(" http-request set-mark 0x1g", "invalid value '0x1g'");
    expect(" http-request set-mark -1", "invalid value '-1'");
    expect(" http-request early-hint Link", "expects exactly 2 arguments");
    expect(" http-request early-hint Li:nk x", "not a valid header name");
    expect(" http-request early-hint Link %[nosuchfetch]", "failed to parse log-format");
    expect(" http-request strict-mode", "expects 'on' or 'off'");
    expect(" http-request strict-mode yes", "expects 'on' or 'off'");
    expect(" http-request set-src", "expects a sample expression");
    expect(" http-request set-src-port if TRUE", "expects a sample expression");
    expect(" http-request set-src nosuchfetch", "nosuchfetch");
    expect(" http-request reject now", "unexpected 'now'");
    expect(" http-request disable-l7-retry x", "unexpected 'x'");
    expect(" http-response reject", "'reject' is an http-request action");
    expect(" http-response set-src src", "'set-src' is an http-request action");
    expect(" http-response early-hint Link x", "'early-hint' is an http-request action");
    expect(" http-response disable-l7-retry", "'disable-l7-retry' is an http-request action");
    expect(" http-after-response set-tos 1", "not an http-after-response action");
    expect(" http-after-response return status 200", "'return'");
    expect(" http-after-response redirect location /x", "'redirect'");
    expect(" http-response redirect prefix /x", "supports 'location' only");
}

void test_hrules2_register(void)
{
    CU_pSuite s = sp_unit_suite("http/hrules2");
    sp_unit_test(s, "reject, set-src, set-tos, early-hint, strict-mode... compiled", test_compile);
    sp_unit_test(s, "their bad forms and the refused actions, with file:line", test_errors);
}
