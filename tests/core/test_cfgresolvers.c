/* tests/core/test_cfgresolvers.c - core/cfgresolvers.c and the DNS server options of
 * core/cfgproxy.c: `resolvers` sections, `resolvers`/`resolve-prefer`/`init-addr`, and
 * `server-template`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/config.h"
#include "tests/unit.h"

#define TMO "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"

static int parse(const char *text, struct sp_config **cfg, char **diag)
{
    size_t len = 0;
    FILE *f = open_memstream(diag, &len);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    *cfg = NULL;
    rc = sp_config_parse_string(text, "t.cfg", f, cfg);
    fclose(f);
    return rc;
}

static void expect_error(const char *text, const char *msg)
{
    struct sp_config *cfg;
    char *diag;

    CU_ASSERT_EQUAL(parse(text, &cfg, &diag), -EINVAL);
    if (!strstr(diag, msg)) {
        CU_FAIL("expected message missing");
        fprintf(stderr, "\nmissing: %s\nin: %s", msg, diag);
    }
    sp_config_free(cfg);
    free(diag);
}

static void test_section(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse("resolvers dns\n nameserver ns1 127.0.0.1:5353\n nameserver ns2 "
                   "udp@[::1]:53\n resolve_retries 5\n timeout resolve 200ms\n timeout retry "
                   "100ms\n nameserver ns3 tcp@127.0.0.1:53\n hold valid 5s\n hold nx 2s\n hold "
                   "obsolete 1s\n hold other 3s\n"
                   " hold refused 4s\n hold timeout 6s\n accepted_payload_size 8192\n" TMO
                   "backend b\n server s app.test:8080 resolvers dns init-addr none "
                   "resolve-prefer ipv4\n",
                   &cfg, &diag);

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct sp_cfg_resolvers *r = sp_config_find_resolvers(cfg, "dns");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->nns, 3);
    CU_ASSERT_EQUAL(r->ns[1].ss_family, AF_INET6);
    CU_ASSERT_FALSE(r->ns_tcp[1]);
    CU_ASSERT_TRUE(r->ns_tcp[2]);
    CU_ASSERT_EQUAL(r->resolve_retries, 5);
    CU_ASSERT_EQUAL(r->timeout_resolve, 200);
    CU_ASSERT_EQUAL(r->timeout_retry, 100);
    CU_ASSERT_EQUAL(r->hold_valid, 5000);
    CU_ASSERT_EQUAL(r->hold_nx, 2000);
    CU_ASSERT_EQUAL(r->hold_obsolete, 1000);
    CU_ASSERT_EQUAL(r->hold_other, 3000);
    CU_ASSERT_EQUAL(r->hold_refused, 4000);
    CU_ASSERT_EQUAL(r->hold_timeout, 6000);
    CU_ASSERT_EQUAL(r->accepted_payload_size, 8192);
    struct sp_cfg_server *s = cfg->proxies->servers;
    CU_ASSERT_STRING_EQUAL(s->resolvers, "dns");
    CU_ASSERT_STRING_EQUAL(s->fqdn, "app.test");
    CU_ASSERT_EQUAL(s->dns_port, 8080);
    CU_ASSERT_TRUE(s->no_addr);
    CU_ASSERT_EQUAL(s->resolve_family, AF_INET);
    sp_config_free(cfg);
    free(diag);
}

static void test_section_errors(void)
{
    expect_error("resolvers dns\n nameserver a tcp@1.1.1.1\n",
                 "t.cfg:2: 'nameserver': invalid address 'tcp@1.1.1.1'");
    expect_error("resolvers dns\n nameserver a 1.1.1.1:53\n timeout foo 1s\n",
                 "t.cfg:3: 'timeout': 'timeout foo' not supported by spillway");
    expect_error("resolvers dns\n nameserver a 1.1.1.1:53\n hold bar 1s\n",
                 "t.cfg:3: 'hold': 'hold bar' not supported by spillway");
    expect_error("resolvers dns\n nameserver a 1.1.1.1:53\n frobnicate\n",
                 "t.cfg:3: 'frobnicate': 'frobnicate' in a resolvers section not supported by "
                 "spillway");
    expect_error("resolvers dns\n", "resolvers 'dns' has no nameserver");
    expect_error("resolvers dns\n nameserver a 1.1.1.1:53\n accepted_payload_size 100\n",
                 "t.cfg:3: 'accepted_payload_size'");
    expect_error(TMO "backend b\n server s app.test:80 resolvers nope init-addr none\n",
                 "t.cfg:7: 'server': server 'b/s': unable to find resolvers 'nope'");
    expect_error(TMO "backend b\n server s 1.2.3.4:80 init-addr last,foo\n",
                 "'init-addr': 'foo' not supported by spillway");
    expect_error(TMO "backend b\n server s no-such-host.invalid:80 init-addr last,libc\n",
                 "could not resolve address 'no-such-host.invalid:80'");
}

static void test_template(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse("resolvers dns\n nameserver ns1 127.0.0.1:5353\n" TMO
                   "backend b\n server-template srv 3 app.test:8080 resolvers dns init-addr none "
                   "check\n server-template web 5-6 app.test:81 resolvers dns\n",
                   &cfg, &diag);

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const char *names[] = {"srv1", "srv2", "srv3", "web5", "web6"};
    int i = 0;
    for (struct sp_cfg_server *s = cfg->proxies->servers; s; s = s->next, i++) {
        CU_ASSERT_FATAL(i < 5);
        CU_ASSERT_STRING_EQUAL(s->name, names[i]);
        CU_ASSERT_EQUAL(s->id, i + 1);
        CU_ASSERT_TRUE(s->no_addr);
        CU_ASSERT_EQUAL(s->tmpl, i < 3 ? 1 : 2);
        CU_ASSERT_EQUAL(s->dns_port, i < 3 ? 8080 : 81);
        CU_ASSERT_EQUAL(s->check, i < 3);
    }
    CU_ASSERT_EQUAL(i, 5);
    sp_config_free(cfg);
    free(diag);
    expect_error(TMO "backend b\n server-template srv 0 app.test:80 resolvers dns\n",
                 "invalid range '0'");
    /* without resolvers: the name resolved once at start (libc), as for `server` */
    expect_error(TMO "backend b\n server-template srv 3 app.test:80\n",
                 "could not resolve address 'app.test:80'");
    expect_error(TMO "backend b\n server-template srv 3 _http._tcp.app.test\n",
                 "SRV record '_http._tcp.app.test' needs 'resolvers'");
    {
        struct sp_config *c2 = NULL;
        char *d2 = NULL;
        CU_ASSERT_EQUAL(parse(TMO "backend b\n server-template web 2-4 127.0.0.1:8080 check\n"
                                  " server-template lo 2 localhost:81\n",
                              &c2, &d2),
                        0);
        int n = 0;
        for (const struct sp_cfg_server *s = c2 ? sp_config_find_proxy(c2, "b", SP_CAP_BE)->servers
                                                : NULL;
             s; s = s->next, n++) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&s->addr;
            CU_ASSERT_FALSE(s->no_addr);
            CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET);
            CU_ASSERT_EQUAL(ntohs(in->sin_port), n < 3 ? 8080 : 81);
            CU_ASSERT_EQUAL(ntohl(in->sin_addr.s_addr), 0x7f000001);
            CU_ASSERT_STRING_EQUAL(s->name, n == 0   ? "web2"
                                            : n == 1 ? "web3"
                                            : n == 2 ? "web4"
                                            : n == 3 ? "lo1"
                                                     : "lo2");
        }
        CU_ASSERT_EQUAL(n, 5);
        sp_config_free(c2);
        free(d2);
    }
    expect_error(TMO "backend b\n server-template srv 3 app.test resolvers dns\n",
                 "invalid address 'app.test'");
    expect_error(TMO "backend b\n server s a..b:80 resolvers dns init-addr none\n",
                 "invalid host name 'a..b'");
    expect_error(TMO "backend b\n server-template srv 3 _http._tcp.app.test:0 resolvers dns\n",
                 "invalid SRV record '_http._tcp.app.test:0'");
    expect_error(TMO "backend b\n server s _http._tcp.app.test init-addr none\n",
                 "SRV record '_http._tcp.app.test' needs 'resolvers'");
}

/* the server state file's keywords; init-addr `last` */
static void test_state_keywords(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse("global\n server-state-base /var/lib/sp\n server-state-file all.state\n"
                   "resolvers dns\n nameserver ns1 127.0.0.1:5353\n" TMO
                   " load-server-state-from-file global\n"
                   "backend b\n server s app.test:80 resolvers dns init-addr last\n"
                   "backend c\n load-server-state-from-file local\n server-state-file-name\n"
                   " server t 1.2.3.4:80\n"
                   "backend d\n load-server-state-from-file local\n server-state-file-name x.st\n"
                   " server u 1.2.3.4:80\n",
                   &cfg, &diag);

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(cfg->global.server_state_base, "/var/lib/sp");
    CU_ASSERT_STRING_EQUAL(cfg->global.server_state_file, "all.state");
    struct sp_cfg_proxy *b = cfg->proxies, *c = b->next, *d = c->next;
    CU_ASSERT_EQUAL(b->srv_state_load, SP_CFG_SSF_GLOBAL);
    CU_ASSERT_TRUE(b->servers->init_last);
    CU_ASSERT_TRUE(b->servers->need_last);
    CU_ASSERT_TRUE(b->servers->no_addr);
    CU_ASSERT_EQUAL(c->srv_state_load, SP_CFG_SSF_LOCAL);
    CU_ASSERT_STRING_EQUAL(c->srv_state_name, "");
    CU_ASSERT_STRING_EQUAL(d->srv_state_name, "x.st");
    sp_config_free(cfg);
    free(diag);
    /* the default with resolvers: last,libc,none (a name that does not resolve is a warning) */
    rc = parse("resolvers dns\n nameserver ns1 127.0.0.1:5353\n" TMO
               "backend b\n server s no-such-host.invalid:80 resolvers dns\n",
               &cfg, &diag);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "could not resolve address 'no-such-host.invalid:80', "
                                        "disabling server"));
    CU_ASSERT_TRUE(cfg && cfg->proxies->servers->no_addr && cfg->proxies->servers->init_last &&
                   !cfg->proxies->servers->need_last);
    sp_config_free(cfg);
    free(diag);
    expect_error("global\n server-state-file a\n server-state-file b\n",
                 "t.cfg:3: 'server-state-file': 'server-state-file' already specified");
    expect_error(TMO "backend b\n load-server-state-from-file foo\n",
                 "expects 'global', 'local' or 'none'. Got 'foo'");
    expect_error(TMO "backend b\n server s app.test:80 init-addr last\n",
                 "t.cfg:7: 'server': could not resolve address 'app.test:80' (init-addr: no state "
                 "file to take 'last' from");
    rc = parse(TMO "backend b\n load-server-state-from-file global\n server s 1.2.3.4:80\n", &cfg,
               &diag);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "t.cfg:7: 'load-server-state-from-file': backend 'b' "
                                        "configured to load server state file from global"));
    sp_config_free(cfg);
    free(diag);
}

/* an SRV record: a name starting with '_', no port needed; resolve-opts and resolve-net */
static void test_srv_opts(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse("resolvers dns\n nameserver ns1 127.0.0.1:5353\n" TMO
                   "backend b\n default-server resolve-net 10.0.0.0/8 resolve-opts allow-dup-ip\n"
                   " server-template srv 2 _http._tcp.app.test resolvers dns resolve-opts "
                   "ignore-weight resolve-net fd00::/8,192.168.1.0/24\n"
                   " server one one.test:80 resolvers dns init-addr none resolve-opts "
                   "prevent-dup-ip\n",
                   &cfg, &diag);

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct sp_cfg_server *s = cfg->proxies->servers;
    CU_ASSERT_STRING_EQUAL(s->fqdn, "_http._tcp.app.test");
    CU_ASSERT_EQUAL(s->dns_port, 0);
    CU_ASSERT_TRUE(s->no_addr);
    CU_ASSERT_TRUE(s->ropts.allow_dup);
    CU_ASSERT_TRUE(s->ropts.ignore_weight);
    CU_ASSERT_EQUAL_FATAL(s->ropts.nnet, 3);
    CU_ASSERT_EQUAL(s->ropts.net[0].family, AF_INET);
    CU_ASSERT_EQUAL(s->ropts.net[0].addr[0], 10);
    CU_ASSERT_EQUAL(s->ropts.net[0].mask[0], 0xff);
    CU_ASSERT_EQUAL(s->ropts.net[0].mask[1], 0);
    CU_ASSERT_EQUAL(s->ropts.net[1].family, AF_INET6);
    CU_ASSERT_EQUAL(s->ropts.net[1].addr[0], 0xfd);
    CU_ASSERT_EQUAL(s->ropts.net[2].mask[2], 0xff);
    CU_ASSERT_EQUAL(s->ropts.net[2].mask[3], 0);
    s = s->next->next;
    CU_ASSERT_FALSE(s->ropts.allow_dup);
    CU_ASSERT_FALSE(s->ropts.ignore_weight);
    CU_ASSERT_EQUAL(s->ropts.nnet, 1);
    sp_config_free(cfg);
    free(diag);
    expect_error(TMO "backend b\n server s 1.2.3.4:80 resolve-opts allow-dup-ip,foo\n",
                 "unknown resolve-opts option 'foo'");
    expect_error(TMO "backend b\n server s 1.2.3.4:80 resolve-net 10.0.0.0/8,bogus\n",
                 "'resolve-net' invalid network 'bogus'");
    expect_error(TMO "backend b\n server s 1.2.3.4:80 resolve-net "
                     "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8\n",
                 "'resolve-net' exceed 5 networks");
}

/* default-server resolvers: an IP literal, a unix socket or a portless address keep the plain
 * path (nothing to resolve), a name is resolved at run time */
static void test_default_server(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse("resolvers dns\n nameserver ns1 127.0.0.1:5353\n" TMO
                   "backend b\n default-server resolvers dns init-addr none\n"
                   " server ip 10.0.0.1:80\n server sock unix@/tmp/x.sock\n"
                   " server dst 10.0.0.2\n server name app.test:81\n",
                   &cfg, &diag);

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct sp_cfg_server *s = cfg->proxies->servers;
    CU_ASSERT_STRING_EQUAL(s->fqdn, "");
    CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET);
    CU_ASSERT_FALSE(s->no_addr);
    s = s->next;
    CU_ASSERT_EQUAL(s->addr.ss_family, AF_UNIX);
    s = s->next;
    CU_ASSERT_TRUE(s->port_from_dst);
    s = s->next;
    CU_ASSERT_STRING_EQUAL(s->fqdn, "app.test");
    CU_ASSERT_TRUE(s->no_addr);
    sp_config_free(cfg);
    free(diag);
}

void test_cfgresolvers_register(void)
{
    CU_pSuite s = sp_unit_suite("core/cfgresolvers");
    sp_unit_test(s, "resolvers section: every keyword, server options", test_section);
    sp_unit_test(s, "resolvers section: errors with file:line", test_section_errors);
    sp_unit_test(s, "server-template: slots, ranges, errors", test_template);
    sp_unit_test(s, "SRV records, resolve-opts, resolve-net", test_srv_opts);
    sp_unit_test(s, "server state file keywords, init-addr last", test_state_keywords);
    sp_unit_test(s, "default-server resolvers: literals and sockets stay plain",
                 test_default_server);
}
