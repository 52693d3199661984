/* tests/core/test_config_tcp.c - issue 19, the rest of the TCP side: `tcp-request session`,
 * a backend's `tcp-request content` and `inspect-delay`, `tcp-response content
 * accept|reject|close` and `tcp-response inspect-delay`, with the exact errors of what is
 * misplaced or not done; then, through the routing snapshot, the compiled rules (the listen
 * section's backend part, res.len / res.payload and the fetches of the wrong direction). The
 * effects seen from outside are in tests/integration/test_tcp2.py.
 *
 * owner: the test thread.
 */
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "balance/balance.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

#define TCP                                                                                        \
    "defaults\n"                                                                                   \
    " mode tcp\n"                                                                                  \
    " timeout client 5s\n"                                                                         \
    " timeout server 5s\n"                                                                         \
    " timeout connect 1s\n"

static void test_session_rules(void)
{
    struct sp_config *cfg =
        cfgt_load_ok(TCP "frontend f\n bind :1\n tcp-request session reject if { src 10.0.0.1 }\n"
                         " tcp-request session accept\n default_backend b\n"
                         "backend b\n server s 127.0.0.1:1\n");
    if (cfg) {
        const struct sp_cfg_proxy *f = cfgt_proxy(cfg, "f");
        const struct sp_cfg_rule *r = f ? f->tcp_session_rules : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        ASSERT_STR(r->words[0], "reject");
        CU_ASSERT_EQUAL(r->nwords, 6);
        CU_ASSERT_EQUAL(r->where.line, 8);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r->next);
        ASSERT_STR(r->next->words[0], "accept");
        CU_ASSERT_EQUAL(r->next->nwords, 1);
        CU_ASSERT_PTR_NULL(f->tcp_content_rules);
        sp_config_free(cfg);
    }
    /* either mode: a session rule reads no byte */
    cfg = cfgt_load_ok(TMO "frontend f\n bind :1\n tcp-request session reject\n");
    sp_config_free(cfg);
    cfgt_expect_errors(TCP "backend b\n tcp-request session reject\n", 1,
                       "t.cfg:7: 'tcp-request session': is not allowed because backend 'b' is not "
                       "a frontend",
                       NULL);
    cfgt_expect_errors(TCP " tcp-request session reject\n", 1,
                       "t.cfg:6: 'tcp-request session': in a defaults section is not supported "
                       "by spillway",
                       NULL);
    cfgt_expect_errors(TCP "frontend f\n bind :1\n tcp-request session drop\n", 1,
                       "t.cfg:8: 'tcp-request session': unknown action 'drop' (expects 'accept' "
                       "or 'reject')",
                       NULL);
    cfgt_expect_errors(TCP "frontend f\n bind :1\n tcp-request sessions reject\n", 1,
                       "t.cfg:8: 'tcp-request': expects 'inspect-delay', 'connection', "
                       "'session' or 'content' (got 'sessions')",
                       NULL);
}

static void test_backend_content_rules(void)
{
    struct sp_config *cfg = cfgt_load_ok(TCP "backend b\n tcp-request inspect-delay 3s\n"
                                             " tcp-request content reject if { req.len lt 2 }\n"
                                             " server s 127.0.0.1:1\n");
    if (cfg) {
        const struct sp_cfg_proxy *b = cfgt_proxy(cfg, "b");
        CU_ASSERT_EQUAL(b->inspect_delay, 3000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b->tcp_content_rules);
        ASSERT_STR(b->tcp_content_rules->words[0], "reject");
        sp_config_free(cfg);
    }
    /* an http backend's: run per stream over the parsed head (the delay waits for nothing) */
    cfg = cfgt_load_ok(TMO "backend b\n tcp-request inspect-delay 1s\n"
                           " tcp-request content reject\n");
    sp_config_free(cfg);
    /* a second delay is ignored, with the section's kind in the warning */
    cfg = cfgt_load_ok_w(TCP "backend b\n tcp-request inspect-delay 1s\n"
                             " tcp-request inspect-delay 2s\n",
                         1,
                         "t.cfg:8: 'tcp-request inspect-delay': ignoring tcp-request "
                         "inspect-delay (was already defined) in backend 'b'",
                         NULL);
    if (cfg)
        CU_ASSERT_EQUAL(cfgt_proxy(cfg, "b")->inspect_delay, 1000);
    sp_config_free(cfg);
}

static void test_response_rules(void)
{
    struct sp_config *cfg =
        cfgt_load_ok(TCP "backend b\n tcp-response inspect-delay 500ms\n"
                         " tcp-response content reject if { res.payload(0,4) -m str EVIL }\n"
                         " tcp-response content close unless { res.len gt 0 }\n"
                         " tcp-response content accept\n server s 127.0.0.1:1\n");
    if (cfg) {
        const struct sp_cfg_proxy *b = cfgt_proxy(cfg, "b");
        const struct sp_cfg_rule *r = b->tcp_res_rules;
        CU_ASSERT_EQUAL(b->res_inspect_delay, 500);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        ASSERT_STR(r->words[0], "reject");
        CU_ASSERT_PTR_NOT_NULL_FATAL(r->next);
        ASSERT_STR(r->next->words[0], "close");
        ASSERT_STR(r->next->words[1], "unless");
        CU_ASSERT_PTR_NOT_NULL_FATAL(r->next->next);
        ASSERT_STR(r->next->next->words[0], "accept");
        sp_config_free(cfg);
    }
    cfgt_expect_errors(TCP "frontend f\n bind :1\n tcp-response content reject\n", 1,
                       "t.cfg:8: 'tcp-response content': is only allowed in 'backend' sections "
                       "or 'defaults' section with a name",
                       NULL);
    cfgt_expect_errors(TCP "frontend f\n bind :1\n tcp-response inspect-delay 1s\n", 1,
                       "t.cfg:8: 'tcp-response inspect-delay': is only allowed in 'backend' "
                       "sections",
                       NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-response content drop\n", 1,
                       "t.cfg:7: 'tcp-response content': unknown action 'drop' (expects "
                       "'accept', 'reject' or 'close')",
                       NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-response content\n", 1,
                       "t.cfg:7: 'tcp-response content': expects an action ('accept', 'reject' "
                       "or 'close')",
                       NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-response something\n", 1,
                       "t.cfg:7: 'tcp-response': expects 'inspect-delay' or 'content' (got "
                       "'something')",
                       NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-response content set-mark 1\n", 1,
                       "t.cfg:7: 'tcp-response content set-mark': keyword not supported by "
                       "spillway",
                       NULL);
    cfgt_expect_errors(TMO "backend b\n tcp-response content reject\n", 1,
                       "t.cfg:7: 'tcp-response content': in an http backend ('b') is not "
                       "supported by spillway (only in mode tcp)",
                       NULL);
    cfgt_expect_errors(TCP " tcp-response inspect-delay 1s\n", 1,
                       "t.cfg:6: 'tcp-response inspect-delay': in a defaults section is not "
                       "supported by spillway",
                       NULL);
}

/* set-var and unset-var parse on request rules (their scope and expression are checked by
 * the routing stage); set-var-fmt, use-service and the response's variable actions do not */
static void test_later_actions(void)
{
    cfgt_expect_errors(TCP "frontend f\n bind :1\n"
                           " tcp-request content set-var(txn.x) int(1)\n"
                           " tcp-request content unset-var(txn.x)\n"
                           " tcp-request content use-service prometheus-exporter\n"
                           " tcp-request session set-var-fmt(sess.y) %[src]\n"
                           "backend b\n tcp-response content set-var(res.z) res.len\n",
                       3,
                       "t.cfg:10: 'tcp-request content use-service': not supported by spillway "
                       "yet\n",
                       "t.cfg:11: 'tcp-request session set-var-fmt(sess.y)': not supported by "
                       "spillway yet\n",
                       "t.cfg:13: 'tcp-response content set-var(res.z)': keyword not supported "
                       "by spillway yet\n",
                       NULL);
    /* HAProxy 2.6 has no `tcp-request content close` */
    cfgt_expect_errors(TCP "frontend f\n bind :1\n tcp-request content close\n", 1,
                       "t.cfg:8: 'tcp-request content': unknown action 'close' (expects 'accept' "
                       "or 'reject')",
                       NULL);
}

/* The snapshot builder's verdict on `text` (which loads): its error count and diagnostics. */
static struct sp_routing *build(const char *text, int *nerr, char **diag_out)
{
    struct sp_config *cfg = cfgt_load_ok(text);
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
    *diag_out = buf;
    return r;
}

static const struct sp_backend *find_backend(const struct sp_routing *r, const char *name)
{
    for (int i = 0; r && i < r->nbe; i++)
        if (strcmp(r->be[i]->name, name) == 0)
            return r->be[i];
    CU_FAIL("no such backend");
    return NULL;
}

static void test_compiled(void)
{
    char *diag = NULL;
    int nerr;
    struct sp_routing *r =
        build(TCP "frontend f\n bind :1\n tcp-request session reject if { src 10.0.0.0/8 }\n"
                  " default_backend b\n"
                  "backend b\n tcp-request inspect-delay 2s\n"
                  " tcp-request content reject if { req.payload(0,3) -m str BAD }\n"
                  " tcp-response content close if { res.len gt 4 }\n"
                  " server s 127.0.0.1:1\n"
                  "listen l\n bind :2\n tcp-request content accept\n"
                  " tcp-response content reject\n server s 127.0.0.1:1\n",
              &nerr, &diag);
    CU_ASSERT_EQUAL(nerr, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_frontend *f = sp_routing_frontend(r, "f");
    CU_ASSERT_EQUAL(f->ntcp_session, 1);
    CU_ASSERT_EQUAL(f->tcp_session[0].action, SP_TCP_REJECT);
    const struct sp_backend *b = find_backend(r, "b");
    CU_ASSERT_EQUAL(b->ntcp_content, 1);
    CU_ASSERT_EQUAL(b->tcp_content[0].action, SP_TCP_REJECT);
    CU_ASSERT_EQUAL(b->t_inspect, 2000);
    CU_ASSERT_EQUAL(b->ntcp_res, 1);
    CU_ASSERT_EQUAL(b->tcp_res[0].action, SP_TCP_CLOSE);
    CU_ASSERT_EQUAL(b->t_res_inspect, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(b->self_fe, -1);
    /* a listen section: the frontend part runs the request rules, the backend part knows it
     * is that frontend's own (and runs them for other frontends' sessions only) */
    const struct sp_frontend *lf = sp_routing_frontend(r, "l");
    const struct sp_backend *lb = find_backend(r, "l");
    CU_ASSERT_EQUAL(lf->ntcp_content, 1);
    CU_ASSERT_EQUAL(lb->ntcp_content, 1);
    CU_ASSERT_EQUAL(lb->self_fe, lf->idx);
    CU_ASSERT_EQUAL(lb->ntcp_res, 1);
    sp_routing_discard(r);
    free(diag);

    /* each direction's bytes in its own rules only */
    r = build(TCP "frontend f\n bind :1\n tcp-request content reject if { res.len gt 1 }\n"
                  " default_backend b\n"
                  "backend b\n tcp-response content reject if { req.payload(0,1) -m bin 00 }\n"
                  " tcp-response content reject if { path /x }\n"
                  " server s 127.0.0.1:1\n",
              &nerr, &diag);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nerr, 3);
    CU_ASSERT_EQUAL(cfgt_count(diag, "[ALERT]"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "t.cfg:8: 'tcp-request content': 'res.len' "
                                        "uses fetch 'res.len', which extracts information from "
                                        "'response buffer contents', only available to "
                                        "'tcp-response content' rules"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(diag, "t.cfg:11: 'tcp-response content': 'req.payload(0,1)' uses fetch "
                     "'req.payload', which reads the request, none of which is available to a "
                     "'tcp-response content' rule"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(diag, "t.cfg:12: 'tcp-response content': 'path' uses fetch 'path', which "
                     "reads the request"));
    if (nerr != 3 || r)
        fprintf(stderr, "\n%s", diag ? diag : "");
    sp_routing_discard(r);
    free(diag);

    /* a session rule sees no byte either */
    r = build(TCP "frontend f\n bind :1\n tcp-request session reject if { req.len gt 0 }\n"
                  " default_backend b\nbackend b\n server s 127.0.0.1:1\n",
              &nerr, &diag);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nerr, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "t.cfg:8: 'tcp-request session': 'req.len' uses fetch "
                                        "'req.len', which extracts information from 'request "
                                        "buffer contents', none of which is available to a "
                                        "'tcp-request connection' or 'tcp-request session' rule"));
    sp_routing_discard(r);
    free(diag);
}

/* global pp2-never-send-local; unix-bind leaves the stats socket alone (HAProxy 2.6 passes
 * no prefix for the CLI's frontend, and its bind settings start unset) */
static void test_global_small_ones(void)
{
    struct sp_config *cfg = cfgt_load_ok("global\n pp2-never-send-local\n");
    if (cfg) {
        CU_ASSERT_TRUE(cfg->global.pp2_never_send_local);
        sp_config_free(cfg);
    }
    cfg = cfgt_load_ok("global\n stats socket /tmp/x.sock\n");
    if (cfg) {
        CU_ASSERT_FALSE(cfg->global.pp2_never_send_local);
        sp_config_free(cfg);
    }
    cfgt_expect_errors("global\n pp2-never-send-local yes\n", 1,
                       "t.cfg:2: 'pp2-never-send-local': too many arguments (expects at most 0, "
                       "got 1)",
                       NULL);
    cfgt_expect_errors(
        TCP "frontend f\n bind :1\n pp2-never-send-local\n", 1,
        "t.cfg:8: 'pp2-never-send-local': not allowed in a 'frontend' section (only in: global)",
        NULL);
    cfg = cfgt_load_ok("global\n unix-bind prefix /tmp/pfx- mode 600\n"
                       " stats socket /tmp/admin.sock\n stats socket unix@/tmp/b.sock\n");
    if (cfg) {
        const struct sp_cfg_stats_socket *ss = cfg->global.stats_sockets;
        CU_ASSERT_PTR_NOT_NULL_FATAL(ss);
        ASSERT_STR(((const struct sockaddr_un *)&ss->addr)->sun_path, "/tmp/admin.sock");
        CU_ASSERT_EQUAL(ss->mode, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ss->next);
        ASSERT_STR(((const struct sockaddr_un *)&ss->next->addr)->sun_path, "/tmp/b.sock");
        sp_config_free(cfg);
    }
}

void test_config_tcp_register(void)
{
    CU_pSuite s = sp_unit_suite("config-tcp");

    sp_unit_test(s, "tcp-request session", test_session_rules);
    sp_unit_test(s, "a backend's tcp-request content and inspect-delay",
                 test_backend_content_rules);
    sp_unit_test(s, "tcp-response content and inspect-delay", test_response_rules);
    sp_unit_test(s, "set-var, unset-var, use-service: not supported yet", test_later_actions);
    sp_unit_test(s, "the compiled rules", test_compiled);
    sp_unit_test(s, "pp2-never-send-local; unix-bind and stats socket", test_global_small_ones);
}
