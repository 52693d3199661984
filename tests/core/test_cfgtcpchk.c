/* tests/core/test_cfgtcpchk.c - `option tcp-check` and its `tcp-check` lines, `option
 * mysql-check`, `option ssl-hello-chk`, on-marked-down|up: the parsed model, the errors, and
 * the steps balance/tcpchk.c compiles (HAProxy 2.6's implicit connect, step numbers, comment
 * folding, the fixed sequences).
 *
 * owner: the test thread.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "balance/health.h"
#include "core/config.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

#define TCP                                                                                        \
    "defaults\n"                                                                                   \
    "    mode tcp\n"                                                                               \
    "    timeout client 5s\n"                                                                      \
    "    timeout server 5s\n"                                                                      \
    "    timeout connect 1s\n"

static void test_parse(void)
{
    struct sp_config *cfg = cfgt_load_ok(
        TCP "backend b\n option httpchk\n option tcp-check\n tcp-check connect port 6380\n"
            " tcp-check send \"PING\\r\\n\" comment ping\n tcp-check comment role\n"
            " tcp-check send-binary 0a0B\n"
            " tcp-check expect min-recv 3 ok-status L6OK ! rstring ^-ERR\n"
            "backend m\n option mysql-check user bob pre-41\n"
            " server s 127.0.0.1:1 check on-marked-down shutdown-sessions\n"
            " server t 127.0.0.1:1 check on-marked-up shutdown-backup-sessions\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *b = cfgt_proxy(cfg, "b");
    CU_ASSERT_FALSE(b->httpchk.enabled); /* the last check option wins */
    CU_ASSERT_EQUAL(b->tcpchk.proto, SP_CHK_PROTO_TCP);
    CU_ASSERT_EQUAL(b->tcpchk.nrules, 5);
    const struct sp_cfg_tcpchk_rule *r = b->tcpchk.rules;
    CU_ASSERT_EQUAL_FATAL(r->act, SP_TCPCHK_CONNECT);
    CU_ASSERT_EQUAL(r->port, 6380);
    r = r->next;
    CU_ASSERT_EQUAL(r->act, SP_TCPCHK_SEND);
    CU_ASSERT_EQUAL(r->len, 6);
    CU_ASSERT(memcmp(r->data, "PING\r\n", 6) == 0);
    ASSERT_STR(r->comment, "ping");
    r = r->next;
    CU_ASSERT_EQUAL(r->act, SP_TCPCHK_COMMENT);
    r = r->next;
    CU_ASSERT_EQUAL(r->len, 2);
    CU_ASSERT(memcmp(r->data, "\n\v", 2) == 0);
    r = r->next;
    CU_ASSERT_EQUAL(r->act, SP_TCPCHK_EXPECT);
    CU_ASSERT_EQUAL(r->match, SP_TCPM_RSTRING);
    CU_ASSERT(r->neg);
    CU_ASSERT_EQUAL(r->min_recv, 3);
    CU_ASSERT_EQUAL(r->ok_status, SP_CHK_L6OK);
    CU_ASSERT_EQUAL(r->index, 4);
    const struct sp_cfg_proxy *m = cfgt_proxy(cfg, "m");
    CU_ASSERT_EQUAL(m->tcpchk.proto, SP_CHK_PROTO_MYSQL);
    ASSERT_STR(m->tcpchk.mysql_user, "bob");
    CU_ASSERT(m->tcpchk.mysql_pre41);
    CU_ASSERT(cfgt_server(m, "s")->on_down_shutdown);
    CU_ASSERT_FALSE(cfgt_server(m, "s")->on_up_shutdown_bk);
    CU_ASSERT(cfgt_server(m, "t")->on_up_shutdown_bk);
    sp_config_free(cfg);
}

static void test_errors(void)
{
    cfgt_expect_errors(TCP "backend b\n tcp-check expect string\n", 1,
                       "t.cfg:7: 'tcp-check expect': 'string' expects <pattern>", NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check expect rstring (\n", 1, "invalid regex '('",
                       NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check send-binary abc\n", 1, "an even number of digits",
                       NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check connect port 0\n", 1, "port", NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check connect addr 1.2.3.4\n", 1,
                       "'addr' is not supported by spillway", NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check expect string a status-code 1\n", 1,
                       "'status-code' is not supported by spillway", NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check set-var(check.x) int(1)\n", 1,
                       "not supported by spillway", NULL);
    cfgt_expect_errors(TCP "backend b\n tcp-check expect tout-status L7OK string a\n", 1,
                       "'tout-status' only supports 'L7TOUT', 'L6TOUT', 'L4TOUT'", NULL);
    cfgt_expect_errors(TCP "backend b\n option mysql-check user a b\n", 1,
                       "only supports 'post-41' and 'pre-41' (got 'b')", NULL);
    cfgt_expect_errors(TCP "backend b\n no option tcp-check\n", 1, "cannot be negated", NULL);
    cfgt_expect_errors(TCP "backend b\n server s 127.0.0.1:1 on-marked-up shutdown-sessions\n", 1,
                       "'on-marked-up' expects 'shutdown-backup-sessions'", NULL);
}

static struct sp_routing *build(const char *text)
{
    struct sp_config *cfg = cfgt_load_ok(text);
    char *buf = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&buf, &len);
    struct sp_routing *r = NULL;
    int nerr = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(diag);
    if (cfg)
        r = sp_routing_build(cfg, diag, &nerr);
    fclose(diag);
    sp_config_free(cfg);
    CU_ASSERT_EQUAL(nerr, 0);
    free(buf);
    return r;
}

static const struct sp_backend *be(const struct sp_routing *r, const char *name)
{
    for (int i = 0; r && i < r->nbe; i++)
        if (strcmp(r->be[i]->name, name) == 0)
            return r->be[i];
    CU_FAIL("no such backend");
    return NULL;
}

static void test_compiled(void)
{
    struct sp_routing *r =
        build(TCP "frontend f\n bind :1\n default_backend t\n"
                  "backend t\n option tcp-check\n tcp-check comment first\n tcp-check send a\n"
                  " tcp-check expect string b\n tcp-check expect string c\n"
                  " server s 127.0.0.1:1 check\n"
                  "backend plain\n option tcp-check\n server s 127.0.0.1:1 check\n"
                  "backend my\n option mysql-check user haproxy\n server s 127.0.0.1:1 check\n"
                  "backend ssl\n option ssl-hello-chk\n server s 127.0.0.1:1 check\n"
                  " server d 127.0.0.1:1 check on-marked-down shutdown-sessions\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_be_check *k = &be(r, "t")->chk;
    /* an implicit connect (step 0), then the lines numbered from 1, comments included */
    CU_ASSERT_EQUAL_FATAL(k->nsteps, 4);
    CU_ASSERT(k->steps[0].implicit);
    CU_ASSERT_EQUAL(k->steps[0].step_id, 0);
    CU_ASSERT_EQUAL(k->steps[1].act, SP_TCPCHK_SEND);
    CU_ASSERT_EQUAL(k->steps[1].step_id, 2);
    ASSERT_STR(k->steps[1].comment, "first");
    CU_ASSERT_PTR_NULL(k->steps[2].comment); /* the comment stops at the next kind of line */
    CU_ASSERT_EQUAL(k->steps[3].head, 2);    /* a run of expects restarts at its first */
    CU_ASSERT_EQUAL(be(r, "plain")->chk.nsteps, 1);
    const struct sp_be_check *m = &be(r, "my")->chk;
    CU_ASSERT_EQUAL_FATAL(m->nsteps, 4);
    CU_ASSERT_FALSE(m->steps[0].implicit);
    CU_ASSERT_EQUAL(m->steps[1].len, 4 + (7 + 7 + 27) + 5);
    CU_ASSERT_EQUAL((unsigned char)m->steps[1].data[0], 7 + 7 + 27);
    CU_ASSERT_EQUAL(m->steps[2].match, SP_TCPM_MYSQL_INIT);
    CU_ASSERT_EQUAL(m->steps[3].match, SP_TCPM_MYSQL_OK);
    const struct sp_be_check *s = &be(r, "ssl")->chk;
    CU_ASSERT_EQUAL_FATAL(s->nsteps, 3);
    CU_ASSERT_EQUAL(s->steps[1].len, 0x7e);
    CU_ASSERT(s->steps[1].ssl3_hello);
    CU_ASSERT_EQUAL(s->steps[2].match, SP_TCPM_RBINARY);
    CU_ASSERT_EQUAL(s->steps[2].min_recv, 5);
    CU_ASSERT_EQUAL(s->steps[2].err_status, SP_CHK_L6RSP);
    CU_ASSERT(r->srv_shutdowns);
    sp_routing_discard(r);
}

void test_cfgtcpchk_register(void)
{
    CU_pSuite s = sp_unit_suite("config-tcpchk");

    sp_unit_test(s, "option tcp-check, tcp-check lines, mysql-check, on-marked-*", test_parse);
    sp_unit_test(s, "bad tcp-check / mysql-check / on-marked-* lines", test_errors);
    sp_unit_test(s, "the compiled steps", test_compiled);
}
