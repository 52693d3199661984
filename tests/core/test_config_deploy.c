/* tests/core/test_config_deploy.c - issue 19, the proxy-side keywords every deployment
 * carries: `default-server` (and its inheritance from defaults), server `minconn`, `source`,
 * `no-check`/`no-backup` and addresses without a port; backend `source`; the options
 * http-server-close, abortonclose, logasap, prefer-last-server, http-buffer-request,
 * http-ignore-probes, tcpka/clitcpka/srvtcpka and the *tcpka-* settings; monitor-uri and
 * monitor fail; description, disabled/enabled; the stats page keywords; bind v4v6, v6only,
 * mode, user, group; global unix-bind, node and description. Then, through the routing
 * snapshot, HAProxy's fullconn default and srv_dynamic_maxconn(). The effects seen from
 * outside are in tests/integration/test_deploy.py. */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

static int port_of(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                                    : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void test_default_server(void)
{
    struct sp_config *cfg =
        cfgt_load_ok(TMO "    default-server inter 3s fall 5 rise 1 weight 7 "
                         "maxconn 30 maxqueue 4 check port 9000\n"
                         "backend b\n"
                         "    server s1 127.0.0.1:8001\n"
                         "    default-server weight 2 no-check backup\n"
                         "    server s2 127.0.0.1:8002\n"
                         "    server s3 127.0.0.1:8003 check no-backup weight 9\n"
                         "backend c\n"
                         "    server s4 127.0.0.1:8004\n"
                         "listen l\n"
                         "    bind :1\n"
                         "    default-server disabled minconn 3\n"
                         "    server s5 127.0.0.1:8005 enabled\n"
                         "    server s6 127.0.0.1:8006\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *b = cfgt_proxy(cfg, "b"), *c = cfgt_proxy(cfg, "c"),
                              *l = cfgt_proxy(cfg, "l");
    const struct sp_cfg_server *s = cfgt_server(b, "s1");
    /* from the defaults section */
    CU_ASSERT_EQUAL(s->inter, 3000);
    CU_ASSERT_EQUAL(s->fall, 5);
    CU_ASSERT_EQUAL(s->rise, 1);
    CU_ASSERT_EQUAL(s->weight, 7);
    CU_ASSERT_EQUAL(s->maxconn, 30);
    CU_ASSERT_EQUAL(s->maxqueue, 4);
    CU_ASSERT_TRUE(s->check);
    CU_ASSERT_EQUAL(s->check_port, 9000);
    CU_ASSERT_FALSE(s->backup);
    CU_ASSERT_EQUAL(s->id, 1);
    CU_ASSERT_STRING_EQUAL(s->name, "s1");
    /* the backend's own default-server applies to the servers after it, over the defaults */
    s = cfgt_server(b, "s2");
    CU_ASSERT_EQUAL(s->weight, 2);
    CU_ASSERT_FALSE(s->check);
    CU_ASSERT_TRUE(s->backup);
    CU_ASSERT_EQUAL(s->inter, 3000);
    CU_ASSERT_EQUAL(s->maxconn, 30);
    s = cfgt_server(b, "s3");
    CU_ASSERT_EQUAL(s->weight, 9);
    CU_ASSERT_TRUE(s->check);
    CU_ASSERT_FALSE(s->backup);
    /* another backend starts from the defaults again */
    s = cfgt_server(c, "s4");
    CU_ASSERT_EQUAL(s->weight, 7);
    CU_ASSERT_FALSE(s->backup);
    CU_ASSERT_TRUE(s->check);
    s = cfgt_server(l, "s5");
    CU_ASSERT_FALSE(s->disabled);
    CU_ASSERT_EQUAL(s->minconn, 3);
    CU_ASSERT_TRUE(cfgt_server(l, "s6")->disabled);
    sp_config_free(cfg);

    cfgt_expect_errors(TMO "backend b\n default-server id 3\n", 1,
                       "t.cfg:7: 'default-server': 'id' is only supported on 'server' lines", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n default-server weight 1\n", 1,
                       "'default-server': not allowed in a 'frontend' section", NULL);
    cfgt_expect_errors(TMO "backend b\n default-server weight 300\n", 1, "'weight': invalid value",
                       NULL);
    cfgt_expect_errors(TMO "backend b\n default-server ssl\n", 1,
                       "server option 'ssl' not supported by spillway yet", NULL);
    /* a wrong line changes nothing */
    cfg = cfgt_load_ok(TMO "backend b\n server s 1.2.3.4:80\n");
    sp_config_free(cfg);
}

static void test_server_addresses(void)
{
    struct sp_config *cfg = cfgt_load_ok(TMO "backend b\n"
                                             "    source 127.0.0.9\n"
                                             "    server s1 127.0.0.2\n"
                                             "    server s2 127.0.0.2:+10\n"
                                             "    server s3 127.0.0.2:-1 source 127.0.0.3:4000\n"
                                             "    server s4 [::1]\n"
                                             "    server s5 127.0.0.2:\n"
                                             "    server s6 127.0.0.2:80 minconn 5 maxconn 50\n"
                                             "    server s7 127.0.0.2 check port 81\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *b = cfgt_proxy(cfg, "b");
    const struct sp_cfg_server *s = cfgt_server(b, "s1");
    CU_ASSERT_TRUE(s->port_from_dst);
    CU_ASSERT_EQUAL(s->port_offset, 0);
    CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET);
    CU_ASSERT_EQUAL(s->sourcelen, 0);
    s = cfgt_server(b, "s2");
    CU_ASSERT_TRUE(s->port_from_dst);
    CU_ASSERT_EQUAL(s->port_offset, 10);
    s = cfgt_server(b, "s3");
    CU_ASSERT_EQUAL(s->port_offset, -1);
    CU_ASSERT_EQUAL(s->source.ss_family, AF_INET);
    CU_ASSERT_EQUAL(port_of(&s->source), 4000);
    s = cfgt_server(b, "s4");
    CU_ASSERT_TRUE(s->port_from_dst);
    CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET6);
    CU_ASSERT_TRUE(cfgt_server(b, "s5")->port_from_dst);
    s = cfgt_server(b, "s6");
    CU_ASSERT_FALSE(s->port_from_dst);
    CU_ASSERT_EQUAL(port_of(&s->addr), 80);
    CU_ASSERT_EQUAL(s->minconn, 5);
    CU_ASSERT_EQUAL(b->source.ss_family, AF_INET);
    CU_ASSERT_EQUAL(port_of(&b->source), 0);

    /* the snapshot: a server without its own source takes the backend's */
    int nerr = 0;
    struct sp_routing *r = sp_routing_build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    char ip[64];
    inet_ntop(AF_INET, &((const struct sockaddr_in *)&be->srv[0]->source)->sin_addr, ip,
              sizeof(ip));
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.9");
    inet_ntop(AF_INET, &((const struct sockaddr_in *)&be->srv[2]->source)->sin_addr, ip,
              sizeof(ip));
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.3");
    CU_ASSERT_TRUE(be->srv[0]->port_from_dst);
    sp_routing_discard(r);
    sp_config_free(cfg);

    cfgt_expect_errors(TMO "backend b\n server s1 127.0.0.2 check\n", 1,
                       "backend 'b': server 's1' has neither service port nor check port", NULL);
    cfgt_expect_errors(TMO "backend b\n server s1 127.0.0.2:+x\n", 1, "'server': invalid address",
                       NULL);
    cfgt_expect_errors(TMO "backend b\n source 1.2.3.4 usesrc clientip\n", 1,
                       "'source': 'usesrc' not supported by spillway", NULL);
    cfgt_expect_errors(TMO "backend b\n source 1.2.3.4:1000-2000\n", 1,
                       "port ranges ('1.2.3.4:1000-2000') are not supported", NULL);
    cfgt_expect_errors(TMO "backend b\n server s 1.2.3.4:80 source nowhere\n", 1,
                       "'source' expects an IPv4 or IPv6 address[:port], not 'nowhere'", NULL);
    cfgt_expect_errors(TMO "backend b\n server s 1.2.3.4:80 source 1.2.3.5 usesrc client\n", 1,
                       "'source': 'usesrc' not supported by spillway", NULL);
    cfgt_expect_errors(TMO "backend b\n server s 1.2.3.4:80 minconn x\n", 1, "'minconn'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n source 1.2.3.4\n", 1,
                       "'source': not allowed in a 'frontend' section", NULL);
}

/* HAProxy's fullconn default and srv_dynamic_maxconn() (src/queue.c) */
static void test_dynamic_maxconn(void)
{
    struct sp_config *cfg = cfgt_load_ok(TMO "frontend f1\n bind :1\n maxconn 1000\n"
                                             " default_backend b\n"
                                             "frontend f2\n bind :2\n maxconn 991\n"
                                             " use_backend b if TRUE\n"
                                             "backend b\n"
                                             " server s1 1.2.3.4:80 minconn 10 maxconn 100\n"
                                             " server s2 1.2.3.4:81 maxconn 100\n"
                                             " server s3 1.2.3.4:82 minconn 50\n"
                                             "backend c\n fullconn 40\n"
                                             " server s4 1.2.3.4:80 minconn 2 maxconn 20\n");
    if (!cfg)
        return;
    int nerr = 0;
    struct sp_routing *r = sp_routing_build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *b = r->be[0], *c = r->be[1];
    CU_ASSERT_EQUAL(b->fullconn, 200); /* (1000 + 991 + 9) / 10 */
    CU_ASSERT_EQUAL(c->fullconn, 40);
    const struct sp_server *s1 = b->srv[0], *s2 = b->srv[1], *s3 = b->srv[2], *s4 = c->srv[0];
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s1, 0), 10);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s1, 100), 50);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s1, 199), 99);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s1, 200), 100);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s1, 5000), 100);
    /* maxconn alone: a static limit */
    CU_ASSERT_EQUAL(s2->minconn, 100);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s2, 0), 100);
    /* minconn alone becomes maxconn */
    CU_ASSERT_EQUAL(s3->maxconn, 50);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s3, 0), 50);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s4, 1), 2);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s4, 10), 5);
    CU_ASSERT_EQUAL(sp_server_dynamic_maxconn(s4, 40), 20);
    sp_routing_discard(r);
    sp_config_free(cfg);
}

static void test_options(void)
{
    struct sp_config *cfg = cfgt_load_ok(TMO "    option http-server-close\n"
                                             "    option abortonclose\n"
                                             "    option logasap\n"
                                             "    option prefer-last-server\n"
                                             "    option http-ignore-probes\n"
                                             "    option tcpka\n"
                                             "    clitcpka-idle 30\n"
                                             "    clitcpka-intvl 5s\n"
                                             "    clitcpka-cnt 4\n"
                                             "    srvtcpka-idle 2m\n"
                                             "frontend f\n bind :1\n default_backend b\n"
                                             "backend b\n"
                                             "    no option abortonclose\n"
                                             "    option http-keep-alive\n"
                                             "    no option srvtcpka\n"
                                             "    server s 1.2.3.4:80\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *f = cfgt_proxy(cfg, "f"), *b = cfgt_proxy(cfg, "b");
    CU_ASSERT_TRUE(f->srvclose);
    CU_ASSERT_TRUE(f->logasap);
    CU_ASSERT_TRUE(f->ignore_probes);
    CU_ASSERT_TRUE(f->clitcpka.on);
    CU_ASSERT_EQUAL(f->clitcpka.idle, 30000);
    CU_ASSERT_EQUAL(f->clitcpka.intvl, 5000);
    CU_ASSERT_EQUAL(f->clitcpka.cnt, 4);
    CU_ASSERT_FALSE(b->srvclose); /* http-keep-alive, the last mode given, wins */
    CU_ASSERT_TRUE(b->http_keep_alive);
    CU_ASSERT_FALSE(b->abortonclose);
    CU_ASSERT_TRUE(b->prefer_last);
    CU_ASSERT_FALSE(b->srvtcpka.on);
    CU_ASSERT_EQUAL(b->srvtcpka.idle, 120000);
    sp_config_free(cfg);

    /* each side's option outside its side is ignored with HAProxy's warning */
    cfg = cfgt_load_ok_w(TMO "backend b\n option logasap\n option http-ignore-probes\n"
                             " option clitcpka\n",
                         3, "'option logasap': ignored: backend 'b' has no frontend part", NULL);
    sp_config_free(cfg);
    cfg =
        cfgt_load_ok_w(TMO "frontend f\n bind :1\n option abortonclose\n option srvtcpka\n"
                           " option prefer-last-server\n",
                       3, "'option abortonclose': ignored: frontend 'f' has no backend part", NULL);
    sp_config_free(cfg);
    /* http-buffer-request: done for both client protocols, no warning */
    cfg = cfgt_load_ok(TMO "frontend f\n bind :1\n option http-buffer-request\n");
    CU_ASSERT_TRUE(cfg && cfgt_proxy(cfg, "f")->buffer_request);
    sp_config_free(cfg);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n option logasap x\n", 1, "too many arguments",
                       NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n clitcpka-idle 500ms\n", 1,
                       "below the socket option's unit", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n clitcpka-cnt 0\n", 1, "'clitcpka-cnt'", NULL);
    cfgt_expect_errors(TMO "backend b\n srvtcpka-idle x\n", 1, "invalid time", NULL);
    /* option socket-stats: a frontend's (inherited from defaults), a warning in a backend */
    cfg = cfgt_load_ok(TMO "    option socket-stats\nfrontend f\n bind :1\n");
    CU_ASSERT_TRUE(cfg && cfgt_proxy(cfg, "f")->socket_stats);
    sp_config_free(cfg);
    sp_config_free(cfgt_load_ok_w(TMO "backend b\n option socket-stats\n", 1,
                                  "'option socket-stats': ignored: backend 'b' has no frontend "
                                  "part",
                                  NULL));
}

static void test_monitor_and_proxy_state(void)
{
    struct sp_config *cfg = cfgt_load_ok("global\n description the  global one\n node n1\n" TMO
                                         "    monitor-uri /alive\n"
                                         "frontend f\n bind :1\n description my front end\n"
                                         " monitor fail if FALSE\n monitor fail unless TRUE\n"
                                         " default_backend b\n"
                                         "backend b\n disabled\n server s 1.2.3.4:80\n"
                                         "backend c\n disabled\n enabled\n server s 1.2.3.4:80\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *f = cfgt_proxy(cfg, "f");
    CU_ASSERT_STRING_EQUAL(f->monitor_uri, "/alive");
    CU_ASSERT_STRING_EQUAL(f->description, "my front end");
    CU_ASSERT_STRING_EQUAL(cfg->global.description, "the global one");
    CU_ASSERT_STRING_EQUAL(cfg->global.node, "n1");
    CU_ASSERT_PTR_NOT_NULL(f->monitor_fail);
    CU_ASSERT_STRING_EQUAL(f->monitor_fail->words[0], "if");
    CU_ASSERT_STRING_EQUAL(f->monitor_fail->next->words[0], "unless");
    CU_ASSERT_TRUE(cfgt_proxy(cfg, "b")->disabled);
    CU_ASSERT_FALSE(cfgt_proxy(cfg, "c")->disabled);
    sp_config_free(cfg);

    /* a disabled frontend has no listener: none at all is what main refuses */
    cfg = cfgt_load_ok(TMO "frontend f\n bind :1\n bind :2\n disabled\n");
    CU_ASSERT_EQUAL(sp_config_count_listeners(cfg), 0);
    sp_config_free(cfg);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n monitor fail\n", 1, "expects 'if' or 'unless'",
                       NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n monitor x\n", 1, "'monitor': expects 'fail'",
                       NULL);
    cfgt_expect_errors(TMO "backend b\n monitor fail if TRUE\n", 1,
                       "'monitor': not allowed in a 'backend' section", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n description\n", 1, "expects a string", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n disabled now\n", 1, "too many arguments", NULL);
    /* the condition is compiled with the routing snapshot */
    cfg = cfgt_load_ok(TMO "frontend f\n bind :1\n monitor fail if nosuchacl\n");
    int nerr = 0;
    struct sp_routing *r = sp_routing_build(cfg, NULL, &nerr);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nerr, 1);
    sp_routing_discard(r);
    sp_config_free(cfg);
}

static void test_stats_page_keywords(void)
{
    struct sp_config *cfg = cfgt_load_ok(TMO "frontend f\n bind :1\n"
                                             " stats hide-version\n"
                                             " stats realm My\\ Realm\n"
                                             " stats show-node\n"
                                             " stats show-desc Front\\ desc\n"
                                             " stats show-legends\n"
                                             " stats scope .\n"
                                             " stats scope b\n"
                                             "backend b\n server s 1.2.3.4:80\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *f = cfgt_proxy(cfg, "f");
    CU_ASSERT_TRUE(f->stats_enabled);
    CU_ASSERT_TRUE(f->stats_hide_version);
    CU_ASSERT_STRING_EQUAL(f->stats_realm, "My Realm");
    CU_ASSERT_TRUE(f->stats_show_node);
    CU_ASSERT_PTR_NULL(f->stats_node);
    CU_ASSERT_TRUE(f->stats_show_desc);
    CU_ASSERT_STRING_EQUAL(f->stats_desc, "Front desc");
    CU_ASSERT_TRUE(f->stats_show_legends);
    CU_ASSERT_EQUAL(f->nstats_scope, 2);
    CU_ASSERT_STRING_EQUAL(f->stats_scope[0], "f");
    CU_ASSERT_STRING_EQUAL(f->stats_scope[1], "b");
    sp_config_free(cfg);
    /* show-modules: no module to show, and the warning says so */
    cfg = cfgt_load_ok_w(TMO "frontend f\n bind :1\n stats show-modules\n", 1,
                         "spillway has no statistics modules", NULL);
    sp_config_free(cfg);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stats realm\n", 1,
                       "wrong number of arguments to 'stats realm'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stats show-node a b\n", 1,
                       "wrong number of arguments", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stats frobnicate\n", 1,
                       "'stats frobnicate' is not supported", NULL);
}

static void test_bind_and_unix_bind(void)
{
    struct sp_config *cfg = cfgt_load_ok(
        "global\n unix-bind prefix /tmp/sp- mode 640 uid 12 gid 34\n" TMO "frontend f\n"
        " bind [::]:1 v4v6\n"
        " bind [::]:2 v6only\n"
        " bind [::]:3\n"
        " bind unix@a.sock\n"
        " bind unix@b.sock mode 600 uid 7 gid 8\n");
    if (!cfg)
        return;
    const struct sp_cfg_bind *b = cfgt_proxy(cfg, "f")->binds;
    CU_ASSERT_EQUAL(b->v6only, 0);
    b = b->next;
    CU_ASSERT_EQUAL(b->v6only, 1);
    b = b->next;
    CU_ASSERT_EQUAL(b->v6only, -1);
    b = b->next;
    CU_ASSERT_STRING_EQUAL(b->text, "unix@/tmp/sp-a.sock");
    CU_ASSERT_EQUAL(b->ux_mode, 0640);
    CU_ASSERT_EQUAL(b->ux_uid, 12);
    CU_ASSERT_EQUAL(b->ux_gid, 34);
    b = b->next;
    CU_ASSERT_EQUAL(b->ux_mode, 0600);
    CU_ASSERT_EQUAL(b->ux_uid, 7);
    CU_ASSERT_EQUAL(b->ux_gid, 8);
    sp_config_free(cfg);

    cfg = cfgt_load_ok(TMO "frontend f\n bind unix@/tmp/x.sock user root group root\n");
    CU_ASSERT_TRUE(cfg && cfg->proxies->binds->ux_uid == 0 && cfg->proxies->binds->ux_gid == 0);
    sp_config_free(cfg);
    cfg = cfgt_load_ok_w(TMO "frontend f\n bind 127.0.0.1:1 v6only mode 600\n", 2,
                         "'v6only' applies to IPv6 addresses only",
                         "'mode' applies to unix@ sockets", NULL);
    sp_config_free(cfg);
    cfgt_expect_errors(TMO "frontend f\n bind unix@/x mode 9\n", 1, "'mode' expects an octal",
                       NULL);
    cfgt_expect_errors(TMO "frontend f\n bind unix@/x user no-such-user-here\n", 1,
                       "unknown user 'no-such-user-here'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind unix@/x group no-such-group-here\n", 1,
                       "unknown group", NULL);
    cfgt_expect_errors("global\n unix-bind frob 1\n", 1, "unknown option 'frob'", NULL);
    cfgt_expect_errors("global\n unix-bind mode\n", 1, "'mode' expects a value", NULL);
}

void test_config_deploy_register(void)
{
    CU_pSuite s = sp_unit_suite("config-deploy");

    sp_unit_test(s, "default-server", test_default_server);
    sp_unit_test(s, "server addresses, source, minconn", test_server_addresses);
    sp_unit_test(s, "fullconn and the dynamic maxconn", test_dynamic_maxconn);
    sp_unit_test(s, "options", test_options);
    sp_unit_test(s, "monitor, description, disabled", test_monitor_and_proxy_state);
    sp_unit_test(s, "stats page keywords", test_stats_page_keywords);
    sp_unit_test(s, "bind options and unix-bind", test_bind_and_unix_bind);
}
