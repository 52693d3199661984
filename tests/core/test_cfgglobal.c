/* tests/core/test_cfgglobal.c - the global keywords of core/cfgglobal.c, the `.if` blocks and
 * messages of core/cfgparse.c and core/cfgcond.c, environment variables in the tokenizer, and
 * the `stats socket|timeout|maxconn` lines: every value lands in its field, and every error
 * names its file, line and keyword. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "core/config.h"
#include "tests/unit.h"

#define TAIL                                                                                       \
    "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"          \
    "frontend fe\n bind 127.0.0.1:1\n"

/* Parses `text`: the return code, the model (when 0) and the diagnostics (to free). */
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

/* Loads `text` (must succeed); checks that `want` (may be NULL) is in the diagnostics. */
static struct sp_config *ok(const char *text, const char *want)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse(text, &cfg, &diag);

    CU_ASSERT_EQUAL(rc, 0);
    if (want)
        CU_ASSERT_PTR_NOT_NULL(strstr(diag, want));
    if (rc != 0 || (want && !strstr(diag, want)))
        fprintf(stderr, "\nunexpected (rc %d, want %s):\n%s\n", rc, want ? want : "-", diag);
    free(diag);
    return rc == 0 ? cfg : NULL;
}

/* `text` must fail with `want` in the diagnostics. */
static void bad(const char *text, const char *want)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse(text, &cfg, &diag);

    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, want));
    if (rc != -EINVAL || !strstr(diag, want))
        fprintf(stderr, "\nwanted '%s' (rc %d) in:\n%s\n", want, rc, diag);
    if (rc == 0)
        sp_config_free(cfg);
    free(diag);
}

static void test_env_expansion(void)
{
    struct sp_config *cfg;

    unsetenv("SPT_UNSET");
    setenv("SPT_PORT", "1234", 1);
    setenv("SPT_WORDS", "a  b c", 1);
    /* inside double quotes only; ${X-default}; ${X[*]} splits into words */
    cfg = ok("global\n description \"${SPT_WORDS[*]}\" '$SPT_PORT' $SPT_PORT \"$SPT_PORT\" "
             "\"${SPT_UNSET-dflt}\" \"[$SPT_UNSET]\" \"$.LINE:${.SECTION}\"\n" TAIL,
             NULL);
    if (cfg)
        CU_ASSERT_STRING_EQUAL(cfg->global.description,
                               "a b c $SPT_PORT $SPT_PORT 1234 dflt [] 2:global");
    sp_config_free(cfg);
    /* the bind address itself comes from the environment */
    cfg = ok("global\n" TAIL " bind \"127.0.0.1:${SPT_PORT}\"\n", NULL);
    if (cfg) {
        const struct sp_cfg_bind *b = cfg->proxies->binds->next;
        CU_ASSERT_EQUAL(ntohs(((const struct sockaddr_in *)&b->addr)->sin_port), 1234);
    }
    sp_config_free(cfg);
    bad("global\n description \"${SPT_PORT\"\n" TAIL, "t.cfg:2: unmatched brace");
    bad("global\n description \"$1\"\n" TAIL, "t.cfg:2: forbidden first character");
    bad("global\n description \"${.NOPE}\"\n" TAIL, "t.cfg:2: unknown pseudo-variable");
    bad("global\n description \"${SPT_PORT[x]}\"\n" TAIL, "t.cfg:2: truncated or invalid word");
    unsetenv("SPT_PORT");
    unsetenv("SPT_WORDS");
}

static void test_setenv_family(void)
{
    struct sp_config *cfg;

    unsetenv("SPT_A");
    setenv("SPT_KEEP", "k", 1);
    cfg = ok("global\n setenv SPT_A one\n presetenv SPT_A two\n description \"${SPT_A}\"\n"
             " unsetenv SPT_A\n node \"n${SPT_A}x\"\n" TAIL,
             NULL);
    if (cfg) {
        CU_ASSERT_STRING_EQUAL(cfg->global.description, "one");
        CU_ASSERT_STRING_EQUAL(cfg->global.node, "nx");
    }
    CU_ASSERT_PTR_NULL(getenv("SPT_A"));
    sp_config_free(cfg);
    /* resetenv keeps only the names given; save and restore PATH for the rest of the run */
    char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    cfg = ok("global\n resetenv SPT_KEEP PATH\n" TAIL, NULL);
    sp_config_free(cfg);
    CU_ASSERT_STRING_EQUAL(getenv("SPT_KEEP"), "k");
    CU_ASSERT_PTR_NULL(getenv("HOME"));
    if (path) {
        setenv("PATH", path, 1);
        free(path);
    }
    unsetenv("SPT_KEEP");
    bad("global\n setenv A\n" TAIL, "t.cfg:2: 'setenv': missing argument");
    bad("global\n unsetenv\n" TAIL, "t.cfg:2: 'unsetenv': expects at least one variable name");
}

static void test_conditions(void)
{
    struct sp_config *cfg;

    setenv("SPT_C", "yes", 1);
    /* taken and dropped branches, nesting, skipped lines never checked */
    cfg = ok("global\n"
             ".if streq(\"$SPT_C\",yes) && version_atleast(2.6) && version_before(2.7)\n"
             " node a\n"
             ".elif 1\n"
             " node b\n"
             ".else\n"
             " this is not a keyword\n"
             ".endif\n"
             ".if !defined(SPT_C) || strneq(x,x)\n"
             " .alert \"not reached\"\n"
             " .if 1\n"
             "  node c\n"
             " .else\n"
             "  node d\n"
             " .endif\n"
             ".elif feature(PROMEX) && !feature(OPENSSL) && (0 || 2)\n"
             " description taken\n"
             ".endif\n" TAIL,
             NULL);
    if (cfg) {
        CU_ASSERT_STRING_EQUAL(cfg->global.node, "a");
        CU_ASSERT_STRING_EQUAL(cfg->global.description, "taken");
    }
    sp_config_free(cfg);
    cfg = ok("global\n.if version_atleast(2.6.1) || version_before(2.6.0)\n node x\n.else\n"
             " node y\n.endif\n" TAIL,
             NULL);
    if (cfg)
        CU_ASSERT_STRING_EQUAL(cfg->global.node, "y");
    sp_config_free(cfg);
    cfg = ok("global\n.if version_atleast(2.4-dev19) && version_before(2.6.1) && "
             "version_atleast(2) && !version_before(2.6-rc1)\n node v\n.endif\n" TAIL,
             NULL);
    if (cfg)
        CU_ASSERT_STRING_EQUAL(cfg->global.node, "v");
    sp_config_free(cfg);
    bad("global\n.if 1\n node a\n" TAIL, "non-terminated '.if' block");
    bad("global\n.endif\n" TAIL, "t.cfg:2: '.endif': '.endif' with no matching '.if'");
    bad("global\n.if 1\n.else\n.elif 1\n.endif\n" TAIL, "'.elif' after '.else' is not permitted");
    bad("global\n.if nosuch(1)\n.endif\n" TAIL, "t.cfg:2: '.if': unparsable conditional");
    bad("global\n.if version_atleast(x)\n.endif\n" TAIL, "invalid version 'x'");
    bad("global\n.if streq(a)\n.endif\n" TAIL, "missing arguments to predicate 'streq'");
    bad("global\n.if (1\n.endif\n" TAIL, "expected ')'");
    bad("global\n.unknown\n" TAIL, "t.cfg:2: '.unknown': unknown directive");
    unsetenv("SPT_C");
}

static void test_messages(void)
{
    struct sp_config *cfg;
    char *diag;

    cfg = ok("global\n .notice \"hello ${.LINE}\"\n" TAIL, "[NOTICE] t.cfg:2: 'hello 2'");
    if (cfg)
        CU_ASSERT_EQUAL(cfg->nwarnings, 0);
    sp_config_free(cfg);
    cfg = ok("global\n .warning careful\n" TAIL, "[WARNING] t.cfg:2: 'careful'");
    if (cfg)
        CU_ASSERT_EQUAL(cfg->nwarnings, 1);
    sp_config_free(cfg);
    /* .alert fails the load and stops reading: the bad line after it is not reported */
    int rc = parse("global\n .alert \"stop here\"\n bogus\n" TAIL, &cfg, &diag);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "[ALERT] t.cfg:2: 'stop here'"));
    CU_ASSERT_PTR_NULL(strstr(diag, "bogus"));
    free(diag);
    bad("global\n .warning two words\n" TAIL, "unexpected argument 'words'");
}

static void test_identity_and_limits(void)
{
    struct sp_config *cfg;

    cfg = ok("global\n user root\n group root\n chroot /tmp\n ulimit-n 4096\n"
             " no strict-limits\n zero-warning\n node host-1.a_b\n description a  b\n"
             " tune.maxrewrite 2048\n tune.http.maxhdr 50\n" TAIL,
             NULL);
    if (cfg) {
        const struct sp_cfg_global *g = &cfg->global;
        CU_ASSERT_EQUAL(g->uid, 0);
        CU_ASSERT_EQUAL(g->gid, 0);
        CU_ASSERT_STRING_EQUAL(g->chroot, "/tmp");
        CU_ASSERT_EQUAL(g->ulimit_n, 4096);
        CU_ASSERT_EQUAL(g->ulimit_where.line, 5);
        CU_ASSERT_FALSE(g->strict_limits);
        CU_ASSERT_TRUE(g->zero_warning);
        CU_ASSERT_STRING_EQUAL(g->node, "host-1.a_b");
        CU_ASSERT_STRING_EQUAL(g->description, "a b");
        CU_ASSERT_EQUAL(g->maxrewrite, 2048);
        CU_ASSERT_EQUAL(g->http_maxhdr, 50);
    }
    sp_config_free(cfg);
    cfg = ok("global\n uid 65534\n gid 65534\n strict-limits\n" TAIL, NULL);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->global.uid, 65534);
        CU_ASSERT_EQUAL(cfg->global.gid, 65534);
        CU_ASSERT_TRUE(cfg->global.strict_limits);
        CU_ASSERT_EQUAL(cfg->global.http_maxhdr, 101);
        CU_ASSERT_EQUAL(cfg->global.maxrewrite, -1);
    }
    sp_config_free(cfg);
    bad("global\n user no-such-user-spt\n" TAIL,
        "t.cfg:2: 'user': cannot find user id for 'no-such-user-spt'");
    bad("global\n group no-such-group-spt\n" TAIL,
        "t.cfg:2: 'group': cannot find group id for 'no-such-group-spt'");
    bad("global\n uid nobody\n" TAIL, "t.cfg:2: 'uid': id: invalid value 'nobody'");
    bad("global\n uid 1\n user root\n" TAIL, "t.cfg:3: 'user': user/uid already specified");
    bad("global\n ulimit-n 0\n" TAIL, "t.cfg:2: 'ulimit-n'");
    bad("global\n no nbthread\n" TAIL, "only 'no strict-limits'");
    bad("global\n node bad/name\n" TAIL, "'node': requires a valid node name");
    bad("global\n tune.http.maxhdr 200\n" TAIL, "'tune.http.maxhdr': 200 is more than spillway");
    /* tune.vars.*-max-size (bytes) */
    cfg = ok("global\n tune.vars.global-max-size 5000\n tune.vars.proc-max-size 4000\n"
             " tune.vars.sess-max-size 3000\n tune.vars.txn-max-size 2000\n"
             " tune.vars.reqres-max-size 1000\n" TAIL,
             NULL);
    if (cfg) {
        const struct sp_cfg_global *g = &cfg->global;
        CU_ASSERT_EQUAL(g->vars_max_global, 5000);
        CU_ASSERT_EQUAL(g->vars_max_proc, 4000);
        CU_ASSERT_EQUAL(g->vars_max_sess, 3000);
        CU_ASSERT_EQUAL(g->vars_max_txn, 2000);
        CU_ASSERT_EQUAL(g->vars_max_reqres, 1000);
    }
    sp_config_free(cfg);
    bad("global\n tune.vars.txn-max-size 1k\n" TAIL, "t.cfg:2: 'tune.vars.txn-max-size'");
    bad("global\n tune.vars.sess-max-size\n" TAIL, "t.cfg:2: 'tune.vars.sess-max-size'");
    bad("global\n tune.vars.proc-max-size -1\n" TAIL, "t.cfg:2: 'tune.vars.proc-max-size'");
    bad("global\n master-worker bogus\n" TAIL, "only supports the 'no-exit-on-failure'");
    sp_config_free(
        ok("global\n master-worker\n" TAIL, "[WARNING] t.cfg:2: 'master-worker': ignored"));
    sp_config_free(
        ok("global\n localpeer p1\n" TAIL, "'localpeer': 'p1' ignored: spillway has no 'peers'"));
}

static void test_stats_lines(void)
{
    struct sp_config *cfg;

    cfg = ok("global\n stats socket /tmp/a.sock mode 640 level admin uid 1 gid 2\n"
             " stats socket ipv4@127.0.0.1:9999 level user\n stats socket 127.0.0.1:9998\n"
             " stats socket ipv6@[::1]:9997\n stats timeout 5s\n stats maxconn 3\n"
             " stats socket unix@/tmp/b.sock expose-fd listeners user root group root\n" TAIL,
             "'expose-fd listeners' accepted but nothing is exposed");
    if (cfg) {
        const struct sp_cfg_stats_socket *s = cfg->global.stats_sockets;
        CU_ASSERT_EQUAL(s->addr.ss_family, AF_UNIX);
        CU_ASSERT_EQUAL(s->mode, 0640);
        CU_ASSERT_EQUAL(s->level, SP_CLI_LEVEL_ADMIN);
        CU_ASSERT_EQUAL(s->uid, 1);
        CU_ASSERT_EQUAL(s->gid, 2);
        s = s->next;
        CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET);
        CU_ASSERT_EQUAL(s->level, SP_CLI_LEVEL_USER);
        s = s->next;
        CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET);
        CU_ASSERT_EQUAL(s->level, SP_CLI_LEVEL_OPERATOR);
        s = s->next;
        CU_ASSERT_EQUAL(s->addr.ss_family, AF_INET6);
        s = s->next;
        CU_ASSERT_TRUE(s->expose_fd);
        CU_ASSERT_EQUAL(s->uid, 0);
        CU_ASSERT_PTR_NULL(s->next);
        CU_ASSERT_EQUAL(cfg->global.stats_timeout, 5000);
        CU_ASSERT_EQUAL(cfg->global.stats_maxconn, 3);
    }
    sp_config_free(cfg);
    bad("global\n stats socket 127.0.0.1:0\n" TAIL, "invalid address '127.0.0.1:0'");
    bad("global\n stats socket /a user no-such-user-spt\n" TAIL, "cannot find user id");
    bad("global\n stats socket /a expose-fd all\n" TAIL, "only supports 'listeners'");
    bad("global\n stats timeout 0\n" TAIL, "'stats timeout': expects a positive value");
    bad("global\n stats maxconn 0\n" TAIL, "'stats maxconn'");
}

/* The gaps a survey of public configurations found: accepted as HAProxy 2.6 accepts them
 * (no warning where it gives none), or refused with the reason. */
static void test_survey_gaps(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc = parse("global\n log-send-hostname edge-1\n ca-base /etc/ssl/certs\n"
                   " ssl-default-server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:kEECDH\n"
                   " ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256\n"
                   " ssl-default-server-options ssl-min-ver TLSv1.2 no-tls-tickets\n"
                   " stats bind-process 1\n stats bind-process all\n" TAIL
                   " stats enable\n stats show-desc Stats for  the ocp4 cluster\n"
                   "backend b\n stats enable\n",
                   &cfg, &diag);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(strstr(diag, "[WARNING]"));
    if (rc != 0 || strstr(diag, "[WARNING]"))
        fprintf(stderr, "\nunexpected (rc %d):\n%s\n", rc, diag);
    free(diag);
    if (rc == 0) {
        CU_ASSERT_STRING_EQUAL(cfg->global.log_send_hostname, "edge-1");
        CU_ASSERT_STRING_EQUAL(cfg->global.ca_base, "/etc/ssl/certs");
        CU_ASSERT_STRING_EQUAL(cfg->global.ssl_server_ciphers,
                               "ECDHE-ECDSA-AES128-GCM-SHA256:kEECDH");
        CU_ASSERT_STRING_EQUAL(cfg->global.ssl_server_ciphersuites, "TLS_AES_128_GCM_SHA256");
        const struct sp_cfg_proxy *fe = sp_config_find_proxy(cfg, "fe", SP_CAP_FE);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
        /* every word after show-desc, joined by one space */
        CU_ASSERT_TRUE(fe->stats_show_desc);
        CU_ASSERT_STRING_EQUAL(fe->stats_desc, "Stats for the ocp4 cluster");
        sp_config_free(cfg);
    }
    /* log-send-hostname without a name: this host's, resolved when the logs open */
    cfg = ok("global\n log-send-hostname\n" TAIL, NULL);
    if (cfg)
        CU_ASSERT_STRING_EQUAL(cfg->global.log_send_hostname, "");
    sp_config_free(cfg);
    /* `stats scope .` in defaults is kept as written: each proxy resolves it to itself */
    cfg = ok("defaults\n mode http\n stats scope .\n timeout client 5s\n timeout server 5s\n"
             " timeout connect 1s\nfrontend fe\n bind 127.0.0.1:1\n stats enable\n",
             NULL);
    if (cfg) {
        const struct sp_cfg_proxy *fe = sp_config_find_proxy(cfg, "fe", SP_CAP_FE);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
        CU_ASSERT_EQUAL_FATAL(fe->nstats_scope, 1);
        CU_ASSERT_STRING_EQUAL(fe->stats_scope[0], ".");
    }
    sp_config_free(cfg);

    /* abns@: an abstract unix socket, its name zero-padded to the whole sun_path (HAProxy) */
    cfg = ok("global\n" TAIL " default_backend b\nbackend b\n server a abns@spt-x\n", NULL);
    if (cfg) {
        const struct sp_cfg_proxy *b = sp_config_find_proxy(cfg, "b", SP_CAP_BE);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        const struct sockaddr_un *un = (const struct sockaddr_un *)&b->servers->addr;
        CU_ASSERT_EQUAL(un->sun_family, AF_UNIX);
        CU_ASSERT_EQUAL(un->sun_path[0], '\0');
        CU_ASSERT_STRING_EQUAL(un->sun_path + 1, "spt-x");
        CU_ASSERT_EQUAL(b->servers->addrlen, sizeof(struct sockaddr_un));
    }
    sp_config_free(cfg);
    bad("global\n stats socket abns@x\n" TAIL, "abns@ is not supported by spillway for the stats");
    bad("global\n" TAIL "backend b\n server a abns@\n", "invalid address 'abns@'");

    bad("global\n log-send-hostname a b\n" TAIL, "'log-send-hostname'");
    bad("global\n log-send-hostname a\n log-send-hostname b\n" TAIL,
        "t.cfg:3: 'log-send-hostname': 'log-send-hostname' already specified");
    bad("global\n ca-base /a\n ca-base /b\n" TAIL, "t.cfg:3: 'ca-base': 'ca-base' already");
    bad("global\n ca-base\n" TAIL, "'ca-base'");
    bad("global\n ssl-default-server-options no-sslv4\n" TAIL, "unknown option 'no-sslv4'");
    bad("global\n ssl-default-server-options ssl-min-ver TLSv9\n" TAIL, "'ssl-min-ver' expects");
    bad("global\n ssl-default-server-options\n" TAIL, "expects an option");
    bad("global\n ssl-default-server-ciphers\n" TAIL, "'ssl-default-server-ciphers'");
    bad("global\n stats bind-process 2\n" TAIL,
        "t.cfg:2: 'stats bind-process': '2' is not a valid number/range");
    bad("global\n stats bind-process x\n" TAIL, "'x' is not a valid number/range");
    bad("global\n lua-load /x.lua\n" TAIL, "t.cfg:2: 'lua-load': not supported by spillway");
    bad("global\n stats bind-proc 1\n" TAIL, "'stats bind-proc' is not supported");
}

/* `bind ... ssl` and the ssl globals: the settings land in the bind's struct sp_cfg_tls, the
 * globals fill what the line did not set, crt-base goes in front of relative paths; every
 * error names its line (the certificates themselves are read by net/tls.c) */
static void test_ssl_lines(void)
{
    struct sp_config *cfg =
        ok("global\n crt-base /etc/certs\n ssl-default-bind-ciphers ECDHE+AESGCM\n"
           " ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n"
           " ssl-default-bind-options no-sslv3 no-tls-tickets ssl-min-ver TLSv1.2\n"
           " tune.ssl.default-dh-param 2048\n" TAIL
           " bind 127.0.0.1:2 ssl crt a.pem crt /abs/dir alpn h2,http/1.1 "
           "ssl-max-ver TLSv1.3 no-tlsv11 ciphers AES256-SHA\n",
           NULL);
    if (cfg) {
        const struct sp_cfg_bind *b = cfg->proxies->binds;
        CU_ASSERT_PTR_NULL(b->tls); /* the clear bind of TAIL */
        b = b->next;
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        const struct sp_cfg_tls *t = b->tls;
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_EQUAL(t->ncrt, 2);
        CU_ASSERT_STRING_EQUAL(t->crt[0], "/etc/certs/a.pem");
        CU_ASSERT_STRING_EQUAL(t->crt[1], "/abs/dir");
        CU_ASSERT_EQUAL(t->crt_where[1].line, 14);
        CU_ASSERT_STRING_EQUAL(t->alpn, "h2,http/1.1");
        CU_ASSERT_STRING_EQUAL(t->ciphers, "AES256-SHA"); /* the line's, not the default */
        CU_ASSERT_STRING_EQUAL(t->ciphersuites, "TLS_AES_128_GCM_SHA256");
        CU_ASSERT_EQUAL(t->min_ver, 0x0303);
        CU_ASSERT_EQUAL(t->max_ver, 0x0304);
        CU_ASSERT_EQUAL(t->opts,
                        SP_CFG_TLS_NO_SSLV3 | SP_CFG_TLS_NO_TICKETS | SP_CFG_TLS_NO_TLSV11);
        CU_ASSERT_EQUAL(t->dh_param, 2048);
    }
    sp_config_free(cfg);
    /* two addresses on one line: each its own copy */
    cfg = ok(TAIL " bind 127.0.0.1:3,127.0.0.1:4 ssl crt x.pem\n", NULL);
    if (cfg) {
        const struct sp_cfg_bind *b = cfg->proxies->binds->next;
        CU_ASSERT_PTR_NOT_NULL_FATAL(b->next);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b->tls);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b->next->tls);
        CU_ASSERT_PTR_NOT_EQUAL(b->tls, b->next->tls);
        CU_ASSERT_STRING_EQUAL(b->next->tls->crt[0], "x.pem");
    }
    sp_config_free(cfg);
    cfg = ok(TAIL " bind 127.0.0.1:3 ssl crt a ssl-max-ver TLSv1.1\n",
             "ssl-min-ver set to the ssl-max-ver value");
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->proxies->binds->next->tls->min_ver, 0x0302);
        CU_ASSERT_EQUAL(cfg->proxies->binds->next->tls->max_ver, 0x0302);
    }
    sp_config_free(cfg);
    bad(TAIL " bind 127.0.0.1:3 ssl\n", "t.cfg:8: 'bind': 'ssl' needs at least one certificate");
    bad(TAIL " bind 127.0.0.1:3 ssl crt\n", "t.cfg:8: 'bind': option 'crt' needs a value");
    bad(TAIL " bind 127.0.0.1:3 ssl crt a ssl-min-ver TLSv9\n", "'ssl-min-ver' expects one of");
    bad(TAIL " bind 127.0.0.1:3 ssl crt a ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2\n",
        "'ssl-min-ver' is above 'ssl-max-ver'");
    bad(TAIL " bind 127.0.0.1:3 ssl crt a strict-sni\n",
        "bind option 'strict-sni' not supported by spillway yet");
    bad("global\n ssl-default-bind-options force-tlsv12\n" TAIL,
        "t.cfg:2: 'ssl-default-bind-options': option 'force-tlsv12' not supported by spillway");
    bad("global\n tune.ssl.default-dh-param 1024\n" TAIL, "1024 not supported by spillway");
    sp_config_free(
        ok(TAIL " bind 127.0.0.1:3 crt a.pem\n", "ssl options without 'ssl' are ignored"));
}

void test_cfgglobal_register(void)
{
    CU_pSuite s = sp_unit_suite("config-global");

    sp_unit_test(s, "environment variables in words", test_env_expansion);
    sp_unit_test(s, "setenv, presetenv, unsetenv, resetenv", test_setenv_family);
    sp_unit_test(s, ".if/.elif/.else/.endif and predicates", test_conditions);
    sp_unit_test(s, ".notice, .warning, .alert", test_messages);
    sp_unit_test(s, "identity, limits, node, tune", test_identity_and_limits);
    sp_unit_test(s, "stats socket, timeout, maxconn", test_stats_lines);
    sp_unit_test(s, "survey gaps: log-send-hostname, ca-base, ssl-default-server-*, stats",
                 test_survey_gaps);
    sp_unit_test(s, "bind ssl options, ssl globals, crt-base", test_ssl_lines);
}
