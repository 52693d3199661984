/* core/cfgglobal.c - the global keywords every deployment carries: the environment (setenv,
 * presetenv, resetenv, unsetenv: applied while parsing, so later lines expand the result),
 * the identity (user, group, uid, gid, chroot: applied by main once the sockets are open),
 * the limits (ulimit-n, strict-limits), zero-warning, master-worker, node, description,
 * localpeer, tune.maxrewrite and tune.http.maxhdr. HAProxy 2.6's semantics
 * (src/cfgparse-global.c) unless a comment says otherwise.
 *
 * owner: main.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"

extern char **environ;

/* setenv NAME VALUE | presetenv NAME VALUE (only when NAME is not set yet) */
void sp__cfg_kw_setenv(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 2, 2))
        return;
    if (!argv[1][0] || strchr(argv[1], '=')) {
        sp__cfg_alert(ps, argv[0], "invalid variable name '%s'", argv[1]);
        return;
    }
    if (setenv(argv[1], argv[2], argv[0][0] == 's') != 0)
        sp__cfg_alert(ps, argv[0], "failed on variable '%s': %s", argv[1], strerror(errno));
}

/* unsetenv NAME... */
void sp__cfg_kw_unsetenv(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects at least one variable name");
        return;
    }
    for (int i = 1; i < argc; i++) {
        if (!argv[i][0] || strchr(argv[i], '=') || unsetenv(argv[i]) != 0) {
            sp__cfg_alert(ps, argv[0], "failed on variable '%s': invalid name", argv[i]);
            return;
        }
    }
}

/* resetenv [NAME...]: removes every variable but those named */
void sp__cfg_kw_resetenv(struct sp__cfg_parser *ps, int argc, char **argv)
{
    char name[1024];
    size_t guard = 0;

    for (char **env = environ; *env && guard < 1000000; guard++) {
        const char *eq = strchr(*env, '=');
        size_t n = eq ? (size_t)(eq - *env) : strlen(*env);
        bool keep = false;

        for (int i = 1; i < argc && !keep; i++)
            keep = strlen(argv[i]) == n && !strncmp(*env, argv[i], n);
        if (keep) {
            env++;
            continue;
        }
        if (n >= sizeof(name)) {
            sp__cfg_alert(ps, argv[0], "cannot unset a variable with a name of %zu bytes", n);
            return;
        }
        memcpy(name, *env, n);
        name[n] = '\0';
        if (unsetenv(name) != 0) {
            sp__cfg_alert(ps, argv[0], "failed to unset variable '%s': %s", name, strerror(errno));
            return;
        }
        /* unsetenv() moved the next entry into this slot: look at the same index again */
    }
}

/* A decimal id, 0..INT_MAX. HAProxy only warns about a non-number uid and goes on as root:
 * spillway refuses it rather than run with privileges the operator meant to drop. */
static void numeric_id(struct sp__cfg_parser *ps, int argc, char **argv, int *dst, const char *hint)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (*dst >= 0) {
        sp__cfg_alert(ps, argv[0], "%s already specified", hint);
        return;
    }
    sp__cfg_get_int(ps, argv[0], "id", argv[1], 0, INT_MAX, dst);
}

void sp__cfg_kw_uid(struct sp__cfg_parser *ps, int argc, char **argv)
{
    numeric_id(ps, argc, argv, &ps->cfg->global.uid, "user/uid");
}

void sp__cfg_kw_gid(struct sp__cfg_parser *ps, int argc, char **argv)
{
    numeric_id(ps, argc, argv, &ps->cfg->global.gid, "group/gid");
}

int sp__cfg_lookup_user(const char *name, int *ret_uid)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(name);
    if (!pw)
        return errno ? -errno : -ENOENT;
    *ret_uid = (int)pw->pw_uid;
    return 0;
}

int sp__cfg_lookup_group(const char *name, int *ret_gid)
{
    struct group *gr;

    errno = 0;
    gr = getgrnam(name);
    if (!gr)
        return errno ? -errno : -ENOENT;
    *ret_gid = (int)gr->gr_gid;
    return 0;
}

/* user NAME | group NAME: looked up now, as HAProxy does, so an unknown name stops the load */
void sp__cfg_kw_user(struct sp__cfg_parser *ps, int argc, char **argv)
{
    bool user = argv[0][0] == 'u';
    int *dst = user ? &ps->cfg->global.uid : &ps->cfg->global.gid;
    int id, r;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (*dst >= 0) {
        sp__cfg_alert(ps, argv[0], "%s already specified", user ? "user/uid" : "group/gid");
        return;
    }
    r = user ? sp__cfg_lookup_user(argv[1], &id) : sp__cfg_lookup_group(argv[1], &id);
    if (r < 0) {
        sp__cfg_alert(ps, argv[0], "cannot find %s id for '%s'%s%s", user ? "user" : "group",
                      argv[1], r == -ENOENT ? "" : ": ", r == -ENOENT ? "" : strerror(-r));
        return;
    }
    *dst = id;
}

void sp__cfg_kw_chroot(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (g->chroot) {
        sp__cfg_alert(ps, argv[0], "already specified");
        return;
    }
    if (!argv[1][0]) {
        sp__cfg_alert(ps, argv[0], "expects a directory");
        return;
    }
    g->chroot = sp__cfg_xstrdup(ps, argv[1]);
}

void sp__cfg_kw_ulimit_n(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (g->ulimit_n) {
        sp__cfg_alert(ps, argv[0], "already specified");
        return;
    }
    if (sp__cfg_get_int(ps, argv[0], "descriptor count", argv[1], 1, INT_MAX, &g->ulimit_n))
        g->ulimit_where = sp__cfg_here(ps);
}

/* strict-limits (the default) and, through `no`, no strict-limits */
void sp__cfg_kw_strict_limits(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 0))
        ps->cfg->global.strict_limits = true;
}

/* `no KEYWORD` in global: HAProxy 2.6 takes it for a few keywords; spillway for those it
 * has. */
void sp__cfg_kw_global_no(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "strict-limits")) {
        if (sp__cfg_nargs_ok(ps, "no strict-limits", argc, 2, 0, 0))
            ps->cfg->global.strict_limits = false;
        return;
    }
    sp__cfg_alert(ps, argv[0],
                  "'no %s': in the global section spillway supports only 'no strict-limits'",
                  argc >= 2 ? argv[1] : "");
}

void sp__cfg_kw_zero_warning(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 0))
        ps->cfg->global.zero_warning = true;
}

/* master-worker [no-exit-on-failure]: spillway is one process (no master to restart
 * workers, no reload yet); accepted with a warning that says so, as HAProxy's -W would
 * change nothing a client sees. */
void sp__cfg_kw_master_worker(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 1))
        return;
    if (argc == 2 && strcmp(argv[1], "no-exit-on-failure")) {
        sp__cfg_alert(ps, argv[0], "only supports the 'no-exit-on-failure' option");
        return;
    }
    sp__cfg_warn(ps, argv[0],
                 "ignored: spillway runs as one process without a master (no master CLI, no "
                 "worker restart, no reload); it starts as if this line were absent");
}

void sp__cfg_kw_node(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    const char *p = argv[1];
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            break;
    if (p == argv[1] || *p) {
        sp__cfg_alert(ps, argv[0],
                      "requires a valid node name: a non-empty string of digits, letters, "
                      "'.', '-' or '_'");
        return;
    }
    free(g->node);
    g->node = sp__cfg_xstrdup(ps, argv[1]);
}

void sp__cfg_kw_localpeer(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (!argv[1][0]) {
        sp__cfg_alert(ps, argv[0], "expects a name as an argument");
        return;
    }
    sp__cfg_warn(ps, argv[0],
                 "'%s' ignored: spillway has no 'peers' section (no stick-table "
                 "synchronisation), so the local peer name is not used",
                 argv[1]);
}

void sp__cfg_kw_maxrewrite(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "size", argv[1], 0, INT_MAX, &ps->cfg->global.maxrewrite);
}

/* tune.vars.{global,proc,sess,txn,reqres}-max-size <bytes> (balance/vars.c) */
void sp__cfg_kw_vars_max(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    const char *s = argv[0] + 10; /* after "tune.vars." */
    int *v = !strncmp(s, "global", 6) ? &g->vars_max_global
             : !strncmp(s, "proc", 4) ? &g->vars_max_proc
             : !strncmp(s, "sess", 4) ? &g->vars_max_sess
             : !strncmp(s, "txn", 3)  ? &g->vars_max_txn
                                      : &g->vars_max_reqres;

    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "size", argv[1], 0, INT_MAX, v);
}

void sp__cfg_kw_http_maxhdr(struct sp__cfg_parser *ps, int argc, char **argv)
{
    int v;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1) ||
        !sp__cfg_get_int(ps, argv[0], "header count", argv[1], 1, 32767, &v))
        return;
    if (v > SP_CFG_MAXHDR_MAX) {
        sp__cfg_alert(ps, argv[0],
                      "%d is more than spillway supports: at most %d (the start line and %d "
                      "header fields, HAProxy's default)",
                      v, SP_CFG_MAXHDR_MAX, SP_CFG_MAXHDR_MAX - 1);
        return;
    }
    ps->cfg->global.http_maxhdr = v;
}

/* `log-send-hostname [NAME]`: the syslog header's host name field, NAME or this host's
 * name (gethostname() when the logs open). Without it rfc3164 lines have no host name and
 * rfc5424 lines have "-" there, as HAProxy 2.6. */
void sp__cfg_kw_log_send_hostname(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 1))
        return;
    if (g->log_send_hostname) {
        sp__cfg_alert(ps, argv[0], "'%s' already specified", argv[0]);
        return;
    }
    g->log_send_hostname = sp__cfg_xstrdup(ps, argc > 1 ? argv[1] : "");
}

/* `ca-base DIR`: the directory relative `ca-file`/`crl-file` paths start from. Kept for
 * them; every keyword that reads it is refused today (spillway has no TLS client
 * verification), so on its own it changes nothing, as in HAProxy 2.6 without them. */
void sp__cfg_kw_ca_base(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (g->ca_base) {
        sp__cfg_alert(ps, argv[0], "'%s' already specified", argv[0]);
        return;
    }
    if (!argv[1][0]) {
        sp__cfg_alert(ps, argv[0], "expects a directory path as an argument");
        return;
    }
    g->ca_base = sp__cfg_xstrdup(ps, argv[1]);
}

/* a TLS protocol version name as `ssl-min-ver`/`ssl-max-ver` take it */
static bool tls_version_name(const char *v)
{
    static const char *const names[] = {"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(v, names[i]))
            return true;
    return false;
}

/* `ssl-default-server-ciphers LIST`, `ssl-default-server-ciphersuites LIST`,
 * `ssl-default-server-options OPT...`: the defaults of servers with `ssl`. HAProxy 2.6
 * stores them at parse time (the cipher lists reach OpenSSL only with an `ssl` server) and
 * checks the option words. spillway has no TLS to servers and refuses `ssl` on a server,
 * so they never apply: kept (ciphers) or checked (options) the same way, no warning, as
 * HAProxy gives none for a configuration without `ssl` servers. */
void sp__cfg_kw_ssl_default_server(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (strcmp(argv[0], "ssl-default-server-options") != 0) {
        if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
            return;
        if (!argv[1][0]) {
            sp__cfg_alert(ps, argv[0], "expects a cipher suite as an argument");
            return;
        }
        char **dst = strcmp(argv[0], "ssl-default-server-ciphers") == 0
                         ? &g->ssl_server_ciphers
                         : &g->ssl_server_ciphersuites;
        free(*dst);
        *dst = sp__cfg_xstrdup(ps, argv[1]);
        return;
    }
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects an option as an argument");
        return;
    }
    static const char *const opts[] = {
        "no-tls-tickets", "no-sslv3",     "no-tlsv10",    "no-tlsv11",
        "no-tlsv12",      "no-tlsv13",    "force-sslv3",  "force-tlsv10",
        "force-tlsv11",   "force-tlsv12", "force-tlsv13",
    };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "ssl-min-ver") || !strcmp(argv[i], "ssl-max-ver")) {
            if (i + 1 >= argc || !tls_version_name(argv[i + 1])) {
                sp__cfg_alert(ps, argv[0],
                              "'%s' expects one of SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3",
                              argv[i]);
                return;
            }
            i++;
            continue;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]) && !known; k++)
            known = !strcmp(argv[i], opts[k]);
        if (!known) {
            sp__cfg_alert(ps, argv[0], "unknown option '%s'", argv[i]);
            return;
        }
    }
}

/* `lua-load FILE`, `lua-load-per-thread FILE`, `lua-prepend-path PATH`: refused, with the
 * reason, rather than loaded and never run. */
void sp__cfg_kw_lua(struct sp__cfg_parser *ps, int argc, char **argv)
{
    (void)argc;
    sp__cfg_alert(ps, argv[0],
                  "not supported by spillway: it embeds no Lua interpreter, so the script's "
                  "actions, services, fetches, converters and tasks could not run");
}

/* ssl-default-bind-ciphers C | ssl-default-bind-ciphersuites C | ssl-default-bind-options
 * OPT...: the defaults of every `bind ... ssl` line (applied at its end, HAProxy 2.6) */
void sp__cfg_kw_ssl_default_bind(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (strcmp(argv[0], "ssl-default-bind-options") != 0) {
        char **dst = argv[0][strlen(argv[0]) - 1] == 's' && strstr(argv[0], "ciphersuites")
                         ? &g->ssl_bind_ciphersuites
                         : &g->ssl_bind_ciphers;
        if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
            return;
        free(*dst);
        *dst = sp__cfg_xstrdup(ps, argv[1]);
        return;
    }
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects at least one option");
        return;
    }
    for (int i = 1; i < argc; i++) {
        unsigned bit = sp__cfg_tls_opt(argv[i]);
        if (bit) {
            g->ssl_bind_opts |= bit;
            continue;
        }
        if (strcmp(argv[i], "ssl-min-ver") == 0 || strcmp(argv[i], "ssl-max-ver") == 0) {
            int v = i + 1 < argc ? sp__cfg_tls_version(argv[i + 1]) : 0;
            if (!v) {
                sp__cfg_alert(ps, argv[0],
                              "'%s' expects one of SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3",
                              argv[i]);
                return;
            }
            if (argv[i][5] == 'i')
                g->ssl_bind_min_ver = v;
            else
                g->ssl_bind_max_ver = v;
            i++;
            continue;
        }
        sp__cfg_alert(ps, argv[0],
                      "option '%s' not supported by spillway (supported: no-sslv3, no-tlsv10, "
                      "no-tlsv11, no-tlsv12, no-tlsv13, no-tls-tickets, prefer-client-ciphers, "
                      "ssl-min-ver V, "
                      "ssl-max-ver V)",
                      argv[i]);
        return;
    }
}

/* tune.ssl.default-dh-param BITS: HAProxy 2.6 enables the DHE ciphers only with it (or DH
 * parameters in a certificate file, which spillway does not read); spillway gives them an
 * RFC 7919 group of the size (capped by an RSA key's, as HAProxy) */
void sp__cfg_kw_ssl_dh_param(struct sp__cfg_parser *ps, int argc, char **argv)
{
    int v;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1) ||
        !sp__cfg_get_int(ps, argv[0], "size", argv[1], 1, 65536, &v))
        return;
    if (v < 2048) {
        sp__cfg_alert(ps, argv[0],
                      "%d not supported by spillway: DH groups under 2048 bits are refused (use "
                      "2048, 3072 or 4096)",
                      v);
        return;
    }
    ps->cfg->global.ssl_dh_param = v;
}

/* crt-base DIR: in front of every relative `crt` path that follows */
void sp__cfg_kw_crt_base(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    free(ps->cfg->global.crt_base);
    ps->cfg->global.crt_base = sp__cfg_xstrdup(ps, argv[1]);
}
