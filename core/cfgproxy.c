/* core/cfgproxy.c - the configuration keywords of proxy and defaults sections: mode, bind,
 * backlog, timeout, option, no, default_backend, log-format, balance, hash-type,
 * retries, fullconn and the removed clitimeout / srvtimeout / contimeout. core/cfgparse.c
 * holds the parser state, the helpers and the keyword table that calls these handlers; the
 * rule and stats keywords are in core/cfgrules.c, the server keywords in core/cfgserver.c.
 *
 * owner: main.
 *
 * As everywhere in the parser, a handler reports a wrong line and returns, and running out
 * of memory sets ps->oom instead of unwinding.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "core/regexcost.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------------------------- */
/* proxy keywords */

void sp__cfg_kw_mode(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (strcmp(argv[1], "http") == 0)
        ps->cur->mode = SP_MODE_HTTP;
    else if (strcmp(argv[1], "tcp") == 0)
        ps->cur->mode = SP_MODE_TCP;
    else
        sp__cfg_alert(ps, argv[0], "unknown mode '%s' (expects 'http' or 'tcp')", argv[1]);
}

/* clang-format off */
static const char *const bind_opts_unsupported[] = {
    "crt-list", "ca-file", "ca-verify-file", "ca-ignore-err", "crt-ignore-err",
    "crl-file", "verify", "npn", "no-alpn", "curves", "ecdhe",
    "sigalgs", "client-sigalgs", "strict-sni", "allow-0rtt",
    "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12",
    "force-tlsv13", "no-ca-names",
    "generate-certificates", "ca-sign-file", "ca-sign-pass",
    "tls-ticket-keys", "accept-netscaler-cip", "transparent", "interface", "defer-accept", "tfo", "process", "thread", "mss", "tcp-ut",
    "tcp-md5sig", "idle-ping", "level", "severity-output", "expose-fd", "id", "nice", "namespace", "label", "guid-prefix", "quic-cc-algo",
    "quic-force-retry", "quic-socket", "set-mark", "set-tos", "nbconn",
};
/* clang-format on */

/* Lays out the options of one bind line, shared by all its addresses. */
struct bind_opts {
    int maxconn, backlog, shards;
    const char *name;
    bool h2_only;
    int v6only;                  /* -1 unset, 0 v4v6, 1 v6only */
    int ux_mode, ux_uid, ux_gid; /* -1 unset */
    const char *ux_opt;          /* the first unix-only option given, for the warning */
    bool accept_proxy;
    bool stop; /* an option whose arguments are unknown: the rest of the line is not read */
    bool ssl;  /* `ssl` */
    struct sp_cfg_tls *tls; /* the ssl options seen (allocated at the first) */
};

/* ssl-min-ver / ssl-max-ver values: the protocol's number, 0 when unknown */
int sp__cfg_tls_version(const char *v)
{
    static const struct {
        const char *name;
        int ver;
    } vers[] = {{"SSLv3", 0x0300},
                {"TLSv1.0", 0x0301},
                {"TLSv1.1", 0x0302},
                {"TLSv1.2", 0x0303},
                {"TLSv1.3", 0x0304}};
    for (size_t i = 0; i < ARRAY_SIZE(vers); i++)
        if (strcmp(v, vers[i].name) == 0)
            return vers[i].ver;
    return 0;
}

/* no-sslv3 ... no-tlsv13, no-tls-tickets, prefer-client-ciphers: their SP_CFG_TLS_* bit, 0
 * when `opt` is none */
unsigned sp__cfg_tls_opt(const char *opt)
{
    static const struct {
        const char *name;
        unsigned bit;
    } opts[] = {{"no-sslv3", SP_CFG_TLS_NO_SSLV3},
                {"no-tlsv10", SP_CFG_TLS_NO_TLSV10},
                {"no-tlsv11", SP_CFG_TLS_NO_TLSV11},
                {"no-tlsv12", SP_CFG_TLS_NO_TLSV12},
                {"no-tlsv13", SP_CFG_TLS_NO_TLSV13},
                {"no-tls-tickets", SP_CFG_TLS_NO_TICKETS},
                {"prefer-client-ciphers", SP_CFG_TLS_PREFER_CLIENT}};
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (strcmp(opt, opts[i].name) == 0)
            return opts[i].bit;
    return 0;
}

static bool str_opt(struct sp__cfg_parser *ps, const char *kw, char **dst, const char *val)
{
    free(*dst);
    *dst = sp__cfg_xstrdup(ps, val);
    (void)kw;
    return *dst != NULL;
}

/* crt FILE|DIR: crt-base in front of a relative path (HAProxy) */
static bool add_crt(struct sp__cfg_parser *ps, const char *kw, struct sp_cfg_tls *t,
                    const char *val)
{
    const char *base = ps->cfg->global.crt_base;
    char path[4096];
    int n = base && val[0] != '/' ? snprintf(path, sizeof(path), "%s/%s", base, val)
                                  : snprintf(path, sizeof(path), "%s", val);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        sp__cfg_alert(ps, kw, "certificate path too long ('%s')", val);
        return false;
    }
    char **nc = realloc(t->crt, (size_t)(t->ncrt + 1) * sizeof(*nc));
    if (nc)
        t->crt = nc;
    struct sp_cfg_where *nw = realloc(t->crt_where, (size_t)(t->ncrt + 1) * sizeof(*nw));
    if (nw)
        t->crt_where = nw;
    if (!nc || !nw || !(t->crt[t->ncrt] = sp__cfg_xstrdup(ps, path)))
        return false;
    t->crt_where[t->ncrt++] = sp__cfg_here(ps);
    return true;
}

/* The ssl bind options: true when `opt` is one (its value consumed), *ok its outcome. */
static bool bind_ssl_option(struct sp__cfg_parser *ps, int argc, char **argv, int *i,
                            struct bind_opts *o, bool *ok)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    unsigned bit = sp__cfg_tls_opt(opt);
    bool takes = strcmp(opt, "crt") == 0 || strcmp(opt, "alpn") == 0 ||
                 strcmp(opt, "ciphers") == 0 || strcmp(opt, "ciphersuites") == 0 ||
                 strcmp(opt, "ssl-min-ver") == 0 || strcmp(opt, "ssl-max-ver") == 0;

    if (strcmp(opt, "ssl") && !bit && !takes)
        return false;
    *ok = false;
    if (!o->tls && !(o->tls = sp__cfg_xcalloc(ps, sizeof(*o->tls))))
        return true;
    struct sp_cfg_tls *t = o->tls;
    if (strcmp(opt, "ssl") == 0) {
        o->ssl = true;
        *ok = true;
        return true;
    }
    if (bit) {
        t->opts |= bit;
        *ok = true;
        return true;
    }
    if (!val) {
        sp__cfg_alert(ps, argv[0], "option '%s' needs a value", opt);
        return true;
    }
    (*i)++;
    if (strcmp(opt, "crt") == 0)
        *ok = add_crt(ps, argv[0], t, val);
    else if (strcmp(opt, "alpn") == 0)
        *ok = str_opt(ps, argv[0], &t->alpn, val);
    else if (strcmp(opt, "ciphers") == 0)
        *ok = str_opt(ps, argv[0], &t->ciphers, val);
    else if (strcmp(opt, "ciphersuites") == 0)
        *ok = str_opt(ps, argv[0], &t->ciphersuites, val);
    else {
        int v = sp__cfg_tls_version(val);
        if (!v)
            sp__cfg_alert(ps, argv[0],
                          "'%s' expects one of SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3, not "
                          "'%s'",
                          opt, val);
        else if (opt[5] == 'i')
            t->min_ver = v;
        else
            t->max_ver = v;
        *ok = v != 0;
    }
    return true;
}

static bool bind_option(struct sp__cfg_parser *ps, int argc, char **argv, int *i,
                        struct bind_opts *o)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool ssl_ok;

    if (bind_ssl_option(ps, argc, argv, i, o, &ssl_ok))
        return ssl_ok;
    if (strcmp(opt, "maxconn") == 0 || strcmp(opt, "backlog") == 0 || strcmp(opt, "name") == 0 ||
        strcmp(opt, "shards") == 0) {
        if (!val) {
            sp__cfg_alert(ps, argv[0], "option '%s' needs a value", opt);
            return false;
        }
        (*i)++;
        if (strcmp(opt, "maxconn") == 0)
            return sp__cfg_get_int(ps, argv[0], "'maxconn'", val, 0, INT_MAX, &o->maxconn);
        if (strcmp(opt, "backlog") == 0)
            return sp__cfg_get_int(ps, argv[0], "'backlog'", val, 0, INT_MAX, &o->backlog);
        if (strcmp(opt, "name") == 0) {
            o->name = val;
            return true;
        }
        if (strcmp(val, "by-thread") == 0) {
            o->shards = 0;
            return true;
        }
        if (strcmp(val, "by-group") == 0 || strcmp(val, "by-process") == 0) {
            sp__cfg_alert(ps, argv[0], "'shards %s' not supported by spillway yet", val);
            return false;
        }
        return sp__cfg_get_int(ps, argv[0], "'shards'", val, 1, 64, &o->shards);
    }
    if (strcmp(opt, "v4v6") == 0 || strcmp(opt, "v6only") == 0) {
        o->v6only = opt[1] == '6';
        return true;
    }
    if (strcmp(opt, "mode") == 0) {
        char *end;
        long m = val ? strtol(val, &end, 8) : -1;
        (*i)++;
        if (!val || !*val || *end || m < 0 || m > 07777) {
            sp__cfg_alert(ps, argv[0], "'mode' expects an octal file mode, not '%s'",
                          val ? val : "");
            return false;
        }
        o->ux_mode = (int)m;
        o->ux_opt = o->ux_opt ? o->ux_opt : opt;
        return true;
    }
    if (strcmp(opt, "user") == 0 || strcmp(opt, "uid") == 0 || strcmp(opt, "group") == 0 ||
        strcmp(opt, "gid") == 0) {
        bool user = opt[0] == 'u';
        (*i)++;
        o->ux_opt = o->ux_opt ? o->ux_opt : opt;
        return sp__cfg_get_uid(ps, argv[0], opt, val, user ? &o->ux_uid : &o->ux_gid);
    }
    if (strcmp(opt, "accept-proxy") == 0) {
        o->accept_proxy = true;
        return true;
    }
    if (strcmp(opt, "proto") == 0) {
        /* HAProxy 2.6 names a multiplexer; spillway has HTTP/2 only (HTTP/1 is the
         * default's detection, which `proto h1` would not change) */
        if (!val) {
            sp__cfg_alert(ps, argv[0], "option 'proto' needs a value");
            return false;
        }
        (*i)++;
        if (strcmp(val, "h2") != 0) {
            sp__cfg_alert(ps, argv[0], "'proto %s' not supported by spillway (only 'proto h2')",
                          val);
            return false;
        }
        o->h2_only = true;
        return true;
    }
    /* an option HAProxy 2.6 knows takes a known number of arguments: they are skipped and
     * the rest of the line is still read; after an unknown one it cannot be */
    int nargs = sp__cfg_bind_arity(opt);
    if (sp__cfg_in_list(opt, bind_opts_unsupported, ARRAY_SIZE(bind_opts_unsupported)) ||
        nargs >= 0)
        sp__cfg_alert(ps, argv[0], "bind option '%s' not supported by spillway yet%s", opt,
                      nargs < 0 ? " (the rest of the line is not checked)" : "");
    else
        sp__cfg_alert(ps, argv[0], "unknown bind option '%s' (the rest of the line is not checked)",
                      opt);
    if (nargs < 0) {
        o->stop = true;
        return false;
    }
    *i += nargs;
    return false;
}

/* HAProxy's bind_parse_ssl(): what the line did not set comes from ssl-default-bind-*; a
 * line without a certificate is an error. */
static bool tls_defaults(struct sp__cfg_parser *ps, const char *kw, struct sp_cfg_tls *t)
{
    const struct sp_cfg_global *g = &ps->cfg->global;

    if (!t->ncrt) {
        sp__cfg_alert(ps, kw, "'ssl' needs at least one certificate ('crt FILE|DIR')");
        return false;
    }
    if (!t->ciphers && g->ssl_bind_ciphers &&
        !(t->ciphers = sp__cfg_xstrdup(ps, g->ssl_bind_ciphers)))
        return false;
    if (!t->ciphersuites && g->ssl_bind_ciphersuites &&
        !(t->ciphersuites = sp__cfg_xstrdup(ps, g->ssl_bind_ciphersuites)))
        return false;
    if (!t->min_ver)
        t->min_ver = g->ssl_bind_min_ver;
    if (!t->max_ver)
        t->max_ver = g->ssl_bind_max_ver;
    t->opts |= g->ssl_bind_opts;
    t->dh_param = g->ssl_dh_param;
    /* HAProxy 2.6: the default minimum is TLSv1.2, unless a lower maximum says otherwise */
    if (!t->min_ver && t->max_ver && t->max_ver < 0x0303) {
        sp__cfg_warn(ps, kw,
                     "the ssl-min-ver value is not configured and the ssl-max-ver value is lower "
                     "than the default ssl-min-ver value (TLSv1.2): ssl-min-ver set to the "
                     "ssl-max-ver value. Use 'ssl-min-ver' to fix this.");
        t->min_ver = t->max_ver;
    }
    if (t->min_ver && t->max_ver && t->min_ver > t->max_ver) {
        sp__cfg_alert(ps, kw, "'ssl-min-ver' is above 'ssl-max-ver'");
        return false;
    }
    return true;
}

static struct sp_cfg_tls *tls_dup(struct sp__cfg_parser *ps, const struct sp_cfg_tls *t)
{
    struct sp_cfg_tls *d = sp__cfg_xcalloc(ps, sizeof(*d));

    if (!d)
        return NULL;
    *d = *t;
    d->crt = calloc((size_t)t->ncrt, sizeof(*d->crt));
    d->crt_where = calloc((size_t)t->ncrt, sizeof(*d->crt_where));
    d->ncrt = 0;
    d->alpn = d->ciphers = d->ciphersuites = NULL;
    bool ok = d->crt && d->crt_where;
    for (int i = 0; ok && i < t->ncrt; i++) {
        ok = (d->crt[i] = sp__cfg_xstrdup(ps, t->crt[i])) != NULL;
        d->crt_where[i] = t->crt_where[i];
        d->ncrt += ok;
    }
    if (ok && t->alpn)
        ok = (d->alpn = sp__cfg_xstrdup(ps, t->alpn)) != NULL;
    if (ok && t->ciphers)
        ok = (d->ciphers = sp__cfg_xstrdup(ps, t->ciphers)) != NULL;
    if (ok && t->ciphersuites)
        ok = (d->ciphersuites = sp__cfg_xstrdup(ps, t->ciphersuites)) != NULL;
    if (!ok) {
        sp_cfg_tls_free(d);
        return NULL;
    }
    return d;
}

static void add_bind(struct sp__cfg_parser *ps, const char *kw, const char *text,
                     const struct bind_opts *o)
{
    const struct sp_cfg_global *g = &ps->cfg->global;
    struct sockaddr_storage ss;
    struct sp_cfg_bind *b, **tail;
    const char *colon = strrchr(text, ':');
    char prefixed[256];
    socklen_t len;

    /* unix-bind prefix: put in front of every unix socket path, as HAProxy does */
    if (g->unix_prefix && strncmp(text, "unix@", 5) == 0) {
        int n = snprintf(prefixed, sizeof(prefixed), "unix@%s%s", g->unix_prefix, text + 5);
        if (n < 0 || (size_t)n >= sizeof(prefixed)) {
            sp__cfg_alert(ps, kw, "unix socket path too long with the unix-bind prefix ('%s')",
                          text);
            return;
        }
        text = prefixed;
    }
    if (sp_parse_addr(text, false, &ss, &len) < 0) {
        if (colon && strchr(colon, '-') && strncmp(text, "unix@", 5) != 0)
            sp__cfg_alert(ps, kw, "port ranges are not supported by spillway ('%s')", text);
        else
            sp__cfg_alert(ps, kw,
                          "invalid address '%s' (expects ADDR:PORT, *:PORT, :PORT, "
                          "[IPv6]:PORT or unix@PATH)",
                          text);
        return;
    }
    if (o->ux_opt && ss.ss_family != AF_UNIX)
        sp__cfg_warn(ps, kw, "'%s' applies to unix@ sockets only; ignored for '%s'", o->ux_opt,
                     text);
    if (o->v6only >= 0 && ss.ss_family != AF_INET6)
        sp__cfg_warn(ps, kw, "'%s' applies to IPv6 addresses only; ignored for '%s'",
                     o->v6only ? "v6only" : "v4v6", text);
    b = sp__cfg_xcalloc(ps, sizeof(*b));
    if (!b)
        return;
    for (tail = &ps->cur->binds; *tail; tail = &(*tail)->next)
        ;
    *tail = b;
    b->text = sp__cfg_xstrdup(ps, text);
    b->addr = ss;
    b->addrlen = len;
    b->maxconn = o->maxconn;
    b->backlog = o->backlog;
    b->shards = o->shards;
    b->h2_only = o->h2_only;
    b->v6only = o->v6only;
    b->ux_mode = o->ux_mode >= 0 ? o->ux_mode : g->unix_mode;
    b->ux_uid = o->ux_uid >= 0 ? o->ux_uid : g->unix_uid;
    b->ux_gid = o->ux_gid >= 0 ? o->ux_gid : g->unix_gid;
    b->accept_proxy = o->accept_proxy;
    b->where = sp__cfg_here(ps);
    if (o->tls && !(b->tls = tls_dup(ps, o->tls)))
        return;
    if (o->name)
        b->name = sp__cfg_xstrdup(ps, o->name);
}

/* bind ADDR[,ADDR...] [ADDR...] [maxconn N] [backlog N] [name N] [shards N|by-thread]
 *      [proto h2] [v4v6|v6only] [mode M] [user U|uid N] [group G|gid N]
 * An address is a word holding ':' or '@'; the first word without is the first option. */
void sp__cfg_kw_bind(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct bind_opts o = {.v6only = -1, .ux_mode = -1, .ux_uid = -1, .ux_gid = -1};
    bool ok = true;
    int i = 1, first_opt;

    ps->cur->_bind_seen = true;
    while (i < argc && (strchr(argv[i], ':') || strchr(argv[i], '@')))
        i++;
    if (i == 1) {
        sp__cfg_alert(ps, argv[0], "missing address (expects ADDR:PORT)");
        return;
    }
    first_opt = i;
    /* every wrong option is reported, as long as where its arguments end is known (an
     * unknown option may take any number: the line stops there) */
    for (; i < argc && !o.stop; i++)
        ok = bind_option(ps, argc, argv, &i, &o) && ok;
    if (ok && o.tls && !o.ssl) {
        sp__cfg_warn(ps, argv[0], "ssl options without 'ssl' are ignored");
        sp_cfg_tls_free(o.tls);
        o.tls = NULL;
    }
    if (ok && o.ssl)
        ok = tls_defaults(ps, argv[0], o.tls);
    if (!ok) {
        sp_cfg_tls_free(o.tls);
        return;
    }
    for (i = 1; i < first_opt; i++) {
        char *copy = sp__cfg_xstrdup(ps, argv[i]);

        if (!copy)
            return;
        /* split on commas by hand: strtok would swallow empty elements (":80,,:81") */
        for (char *s = copy, *comma;; s = comma + 1) {
            comma = strchr(s, ',');
            if (comma)
                *comma = '\0';
            add_bind(ps, argv[0], s, &o);
            if (!comma)
                break;
        }
        free(copy);
    }
    sp_cfg_tls_free(o.tls);
}

void sp__cfg_kw_backlog(struct sp__cfg_parser *ps, int argc, char **argv)
{
    int v;

    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1) &&
        sp__cfg_get_int(ps, argv[0], "queue length", argv[1], 0, INT_MAX, &v) &&
        sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        ps->cur->backlog = v;
}

struct timeout_kw {
    const char *name;
    size_t off;   /* in struct sp_cfg_timeouts */
    unsigned cap; /* the side it applies to; the other side ignores it with a warning */
    unsigned bad; /* SP__CFG_TO_*: recorded when its line has an error */
};

static const struct timeout_kw timeouts[] = {
    {"client", offsetof(struct sp_cfg_timeouts, client), SP_CAP_FE, SP__CFG_TO_CLIENT},
    {"server", offsetof(struct sp_cfg_timeouts, server), SP_CAP_BE, SP__CFG_TO_SERVER},
    {"connect", offsetof(struct sp_cfg_timeouts, connect), SP_CAP_BE, SP__CFG_TO_CONNECT},
    {"http-request", offsetof(struct sp_cfg_timeouts, http_request), SP_CAP_FE | SP_CAP_BE,
     SP__CFG_TO_OTHER},
    {"http-keep-alive", offsetof(struct sp_cfg_timeouts, http_keep_alive), SP_CAP_FE | SP_CAP_BE,
     SP__CFG_TO_OTHER},
    {"queue", offsetof(struct sp_cfg_timeouts, queue), SP_CAP_BE, SP__CFG_TO_OTHER},
    {"tunnel", offsetof(struct sp_cfg_timeouts, tunnel), SP_CAP_BE, SP__CFG_TO_TUNNEL},
    {"client-fin", offsetof(struct sp_cfg_timeouts, client_fin), SP_CAP_FE, SP__CFG_TO_OTHER},
    {"server-fin", offsetof(struct sp_cfg_timeouts, server_fin), SP_CAP_BE, SP__CFG_TO_OTHER},
    {"check", offsetof(struct sp_cfg_timeouts, check), SP_CAP_BE, SP__CFG_TO_OTHER},
    {"tarpit", offsetof(struct sp_cfg_timeouts, tarpit), SP_CAP_FE | SP_CAP_BE, SP__CFG_TO_OTHER},
};

/* clang-format off */
static const char *const timeouts_unsupported[] = {
    "client-hs",
};
/* clang-format on */

void sp__cfg_kw_timeout(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const struct timeout_kw *t = NULL;
    char kw[64];
    int64_t ms;

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0],
                      "missing timeout name (client, server, connect, http-request, "
                      "http-keep-alive, queue, tunnel, client-fin, server-fin or check)");
        ps->cur->_to_bad |= SP__CFG_TO_UNKNOWN;
        return;
    }
    snprintf(kw, sizeof(kw), "timeout %s", argv[1]);
    for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++)
        if (strcmp(argv[1], timeouts[i].name) == 0)
            t = &timeouts[i];
    if (!t) {
        if (sp__cfg_in_list(argv[1], timeouts_unsupported, ARRAY_SIZE(timeouts_unsupported))) {
            sp__cfg_not_supported(ps, kw);
            return;
        }
        sp__cfg_alert(ps, argv[0],
                      "unknown timeout '%s' (expects client, server, connect, "
                      "http-request, http-keep-alive, queue, tunnel, client-fin, server-fin or "
                      "check)",
                      argv[1]);
        ps->cur->_to_bad |= SP__CFG_TO_UNKNOWN;
        return;
    }
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 1, 1) ||
        !sp__cfg_get_time(ps, kw, "timeout", argv[2], &ms)) {
        ps->cur->_to_bad |= t->bad;
        return;
    }
    if (strspn(argv[2], "0123456789") == strlen(argv[2]) && ms > 0 && ms < 100)
        sp__cfg_warn(ps, kw,
                     "%s ms is suspiciously small (a bare number is in milliseconds); "
                     "it is used as given",
                     argv[2]);
    if (!sp__cfg_need_cap(ps, kw, t->cap & (SP_CAP_FE | SP_CAP_BE)))
        return;
    /* 0 means "no timeout" in HAProxy, the same as not setting it */
    *(int64_t *)((char *)&ps->cur->to + t->off) = ms ? ms : SP_TIME_UNSET;
}

static void opt_forwardfor(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                           bool neg)
{
    struct sp_cfg_forwardfor f = {.enabled = true};
    struct sp_cfg_forwardfor *dst = &ps->cur->fwdfor;

    if (neg) {
        sp__cfg_alert(ps, kw, "this option cannot be negated");
        return;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "if-none") == 0) {
            f.if_none = true;
        } else if (strcmp(argv[i], "except") == 0 && i + 1 < argc) {
            if (!sp__cfg_parse_network(argv[++i], &f.except_addr, &f.except_prefix)) {
                sp__cfg_alert(ps, kw,
                              "invalid network '%s' after 'except' (expects an IPv4 or IPv6 "
                              "address with an optional /prefix)",
                              argv[i]);
                return;
            }
            f.has_except = true;
        } else if (strcmp(argv[i], "header") == 0 && i + 1 < argc) {
            if (!sp__cfg_valid_name(argv[++i])) {
                sp__cfg_alert(ps, kw, "invalid header name '%s'", argv[i]);
                return;
            }
            f.header = argv[i];
        } else {
            sp__cfg_alert(ps, kw,
                          "unexpected argument '%s' (expects [except NET] [header NAME] "
                          "[if-none])",
                          argv[i]);
            return;
        }
    }
    /* each line replaces the earlier settings, as in HAProxy */
    free(dst->header);
    *dst = f;
    if (f.header)
        dst->header = sp__cfg_xstrdup(ps, f.header);
}

static void opt_http_keep_alive(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                                bool neg)
{
    (void)argv;
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0))
        return;
    ps->cur->http_keep_alive = !neg;
    if (!neg)
        ps->cur->httpclose = ps->cur->srvclose = false;
}

static void opt_httpclose(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                          bool neg)
{
    (void)argv;
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0))
        return;
    ps->cur->httpclose = !neg;
    if (!neg)
        ps->cur->http_keep_alive = ps->cur->srvclose = false;
}

/* option http-server-close: the server side closes after each response, the client side
 * stays alive (HAProxy's PR_O_HTTP_SCL; the last of the three modes given wins) */
static void opt_http_server_close(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                                  bool neg)
{
    (void)argv;
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0))
        return;
    ps->cur->srvclose = !neg;
    if (!neg)
        ps->cur->http_keep_alive = ps->cur->httpclose = false;
}

/* The options that are one flag of a proxy, on one side or both. */
static const struct {
    const char *name;
    size_t off; /* of a bool in struct sp_cfg_proxy */
    unsigned cap;
} flag_opts[] = {
    {"abortonclose", offsetof(struct sp_cfg_proxy, abortonclose), SP_CAP_BE},
    {"logasap", offsetof(struct sp_cfg_proxy, logasap), SP_CAP_FE},
    {"prefer-last-server", offsetof(struct sp_cfg_proxy, prefer_last), SP_CAP_BE},
    {"http-buffer-request", offsetof(struct sp_cfg_proxy, buffer_request), SP_CAP_FE | SP_CAP_BE},
    {"http-ignore-probes", offsetof(struct sp_cfg_proxy, ignore_probes), SP_CAP_FE},
    {"clitcpka", offsetof(struct sp_cfg_proxy, clitcpka.on), SP_CAP_FE},
    {"srvtcpka", offsetof(struct sp_cfg_proxy, srvtcpka.on), SP_CAP_BE},
    {"socket-stats", offsetof(struct sp_cfg_proxy, socket_stats), SP_CAP_FE},
};

static void opt_flag(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv, bool neg)
{
    for (size_t k = 0; k < ARRAY_SIZE(flag_opts); k++) {
        if (strcmp(argv[1], flag_opts[k].name) != 0)
            continue;
        if (sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) && sp__cfg_need_cap(ps, kw, flag_opts[k].cap))
            *(bool *)((char *)ps->cur + flag_opts[k].off) = !neg;
        return;
    }
}

/* option tcpka: clitcpka and srvtcpka at once, on the sides the proxy has */
static void opt_tcpka(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv, bool neg)
{
    (void)argv;
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0))
        return;
    if (ps->sec == SP__CFG_SEC_DEFAULTS || (ps->cur->cap & SP_CAP_FE))
        ps->cur->clitcpka.on = !neg;
    if (ps->sec == SP__CFG_SEC_DEFAULTS || (ps->cur->cap & SP_CAP_BE))
        ps->cur->srvtcpka.on = !neg;
}

/* clitcpka-cnt|idle|intvl, srvtcpka-cnt|idle|intvl: times in seconds when bare */
void sp__cfg_kw_tcpka_param(struct sp__cfg_parser *ps, int argc, char **argv)
{
    bool cli = strncmp(argv[0], "cli", 3) == 0;
    struct sp_cfg_tcpka *ka = cli ? &ps->cur->clitcpka : &ps->cur->srvtcpka;
    const char *what = argv[0] + strlen("clitcpka-");

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (strcmp(what, "cnt") == 0) {
        int v;
        if (sp__cfg_get_int(ps, argv[0], "probe count", argv[1], 1, INT_MAX, &v) &&
            sp__cfg_need_cap(ps, argv[0], cli ? SP_CAP_FE : SP_CAP_BE))
            ka->cnt = v;
        return;
    }
    int64_t ms;
    char buf[32];
    const char *txt = argv[1];
    if (strspn(txt, "0123456789") == strlen(txt) && strlen(txt) < 20) {
        snprintf(buf, sizeof(buf), "%ss", txt);
        txt = buf;
    }
    if (!sp__cfg_get_time(ps, argv[0], "delay", txt, &ms) ||
        !sp__cfg_need_cap(ps, argv[0], cli ? SP_CAP_FE : SP_CAP_BE))
        return;
    if (ms < 1000) {
        sp__cfg_alert(ps, argv[0], "'%s' is below the socket option's unit of one second", argv[1]);
        return;
    }
    if (strcmp(what, "idle") == 0)
        ka->idle = ms;
    else
        ka->intvl = ms;
}

static void opt_httplog(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv, bool neg)
{
    bool clf = false;

    if (neg) {
        sp__cfg_alert(ps, kw, "this option cannot be negated");
        return;
    }
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 1))
        return;
    if (argc == 3) {
        if (strcmp(argv[2], "clf") != 0) {
            sp__cfg_alert(ps, kw, "unexpected argument '%s' (expects nothing or 'clf')", argv[2]);
            return;
        }
        clf = true;
    }
    if (!sp__cfg_need_cap(ps, kw, SP_CAP_FE))
        return;
    ps->cur->httplog = true;
    ps->cur->httplog_clf = clf;
    ps->cur->tcplog = false;
}

/* HAProxy's TCP log format; in an http proxy it is used as given (the last of `option
 * httplog` and `option tcplog` wins, as each sets the log format). */
static void opt_tcplog(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv, bool neg)
{
    (void)argv;
    if (neg) {
        sp__cfg_alert(ps, kw, "this option cannot be negated");
        return;
    }
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) || !sp__cfg_need_cap(ps, kw, SP_CAP_FE))
        return;
    ps->cur->tcplog = true;
    ps->cur->httplog = false;
    ps->cur->httplog_clf = false;
}

static void opt_dontlognull(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                            bool neg)
{
    (void)argv;
    if (sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) && sp__cfg_need_cap(ps, kw, SP_CAP_FE))
        ps->cur->dontlognull = !neg;
}

static void opt_log_separate_errors(struct sp__cfg_parser *ps, const char *kw, int argc,
                                    char **argv, bool neg)
{
    (void)argv;
    if (sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) && sp__cfg_need_cap(ps, kw, SP_CAP_FE))
        ps->cur->log_separate_errors = !neg;
}

/* option redispatch [N]: N > 0 every Nth retry, N < 0 the Nth retry from the end, 0 never;
 * without N, HAProxy's -1 (the last retry). */
static void opt_redispatch(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                           bool neg)
{
    int n = -1;

    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, neg ? 0 : 1))
        return;
    if (argc == 3 && !sp__cfg_get_int(ps, kw, "retry interval", argv[2], -INT_MAX, INT_MAX, &n))
        return;
    if (!sp__cfg_need_cap(ps, kw, SP_CAP_BE))
        return;
    ps->cur->redispatch = !neg && n != 0;
    ps->cur->redispatch_interval = neg ? -1 : n;
}

static void opt_allbackups(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                           bool neg)
{
    (void)argv;
    if (sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) && sp__cfg_need_cap(ps, kw, SP_CAP_BE))
        ps->cur->allbackups = !neg;
}

static void opt_log_health_checks(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                                  bool neg)
{
    (void)argv;
    if (sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) && sp__cfg_need_cap(ps, kw, SP_CAP_BE))
        ps->cur->log_health_checks = !neg;
}

/* Appends "name: value\r\n" with the name lower-cased (as HAProxy sends check headers). */
static bool chk_add_hdr(struct sp__cfg_parser *ps, struct sp_cfg_httpchk *h, const char *name,
                        size_t nlen, const char *value, size_t vlen)
{
    size_t old = h->hdrs ? strlen(h->hdrs) : 0;
    char *n = realloc(h->hdrs, old + nlen + vlen + 5);

    if (!n) {
        ps->oom = true;
        return false;
    }
    for (size_t k = 0; k < nlen; k++)
        n[old + k] = (char)tolower((unsigned char)name[k]);
    memcpy(n + old + nlen, ": ", 2);
    memcpy(n + old + nlen + 2, value, vlen);
    memcpy(n + old + nlen + 2 + vlen, "\r\n", 3);
    h->hdrs = n;
    return true;
}

/* The legacy form: header lines (and a body) after "\r\n" in the version word. */
static bool chk_legacy_hdrs(struct sp__cfg_parser *ps, const char *kw, struct sp_cfg_httpchk *h,
                            const char *ver)
{
    const char *p = strstr(ver, "\r\n");

    if (!p)
        return true;
    sp__cfg_warn(ps, kw,
                 "hiding headers or body at the end of the version string is deprecated; "
                 "consider 'http-check send'");
    free(h->ver);
    h->ver = strndup(ver, (size_t)(p - ver));
    p += 2;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (!len) { /* the blank line: the rest is the body */
            free(h->body);
            h->body = *(p + 2) ? strdup(p + 2) : NULL;
            break;
        }
        const char *colon = memchr(p, ':', len);
        if (!colon || colon == p) {
            sp__cfg_alert(ps, kw, "invalid header line '%.*s' in the version string", (int)len, p);
            return false;
        }
        const char *v = colon + 1, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (!chk_add_hdr(ps, h, p, (size_t)(colon - p), v, (size_t)(end - v)))
            return false;
        p = eol ? eol + 2 : p + len;
    }
    return true;
}

/* option httpchk [URI] | [METH URI [VER]] */
static void opt_httpchk(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv, bool neg)
{
    struct sp_cfg_httpchk *h = &ps->cur->httpchk;

    if (neg) {
        sp__cfg_alert(ps, kw, "this option cannot be negated");
        return;
    }
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 3) || !sp__cfg_need_cap(ps, kw, SP_CAP_BE))
        return;
    free(h->meth);
    free(h->uri);
    free(h->ver);
    free(h->hdrs);
    free(h->body);
    h->meth = h->uri = h->ver = h->hdrs = h->body = NULL;
    h->enabled = true;
    ps->cur->tcpchk.proto = SP_CHK_PROTO_NONE; /* the last check option wins */
    if (argc == 3) {
        h->uri = sp__cfg_xstrdup(ps, argv[2]);
    } else if (argc >= 4) {
        h->meth = sp__cfg_xstrdup(ps, argv[2]);
        h->uri = sp__cfg_xstrdup(ps, argv[3]);
        if (argc == 5) {
            h->ver = sp__cfg_xstrdup(ps, argv[4]);
            if (h->ver)
                chk_legacy_hdrs(ps, kw, h, argv[4]);
        }
    }
}

typedef void (*opt_fn)(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv, bool neg);

static const struct {
    const char *name;
    opt_fn fn;
} options[] = {
    {"forwardfor", opt_forwardfor},
    {"http-keep-alive", opt_http_keep_alive},
    {"httpclose", opt_httpclose},
    {"httplog", opt_httplog},
    {"tcplog", opt_tcplog},
    {"dontlognull", opt_dontlognull},
    {"log-separate-errors", opt_log_separate_errors},
    {"redispatch", opt_redispatch},
    {"httpchk", opt_httpchk},
    {"allbackups", opt_allbackups},
    {"log-health-checks", opt_log_health_checks},
    {"http-server-close", opt_http_server_close},
    {"abortonclose", opt_flag},
    {"logasap", opt_flag},
    {"prefer-last-server", opt_flag},
    {"http-buffer-request", opt_flag},
    {"http-ignore-probes", opt_flag},
    {"clitcpka", opt_flag},
    {"srvtcpka", opt_flag},
    {"tcpka", opt_tcpka},
    {"socket-stats", opt_flag},
    {"tcp-check", sp__cfg_opt_tcp_check},
    {"ssl-hello-chk", sp__cfg_opt_ssl_hello_chk},
    {"mysql-check", sp__cfg_opt_mysql_check},
};

/* clang-format off */
static const char *const options_unsupported[] = {
    "httpslog", "pgsql-check", "redis-check",
    "smtpchk", "ldap-check", "spop-check", "external-check", "http-pretend-keepalive",
    "http-no-delay", "persist", "socket-stats", "splice-auto", "splice-request", "splice-response", "tcp-smart-accept", "tcp-smart-connect", "transparent", "accept-invalid-http-request",
    "accept-invalid-http-response", "accept-unsafe-violations-in-http-request",
    "accept-unsafe-violations-in-http-response", "checkcache", "contstats", "disable-h2-upgrade",
    "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server", "http-restrict-req-hdr-names", "http-drop-request-trailers", "http-drop-response-trailers",
    "idle-close-on-response", "independent-streams", "nolinger", "originalto", "dontlog-normal",
    "forwarded", "http_proxy", "http-use-proxy-header", "forceclose",
};
/* clang-format on */

static void do_option(struct sp__cfg_parser *ps, int argc, char **argv, bool neg)
{
    char kw[96];

    if (argc < 2) {
        sp__cfg_alert(ps, "option", "missing option name");
        return;
    }
    snprintf(kw, sizeof(kw), "%soption %s", neg ? "no " : "", argv[1]);
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (strcmp(argv[1], options[i].name) == 0) {
            options[i].fn(ps, kw, argc, argv, neg);
            return;
        }
    }
    if (sp__cfg_in_list(argv[1], options_unsupported, ARRAY_SIZE(options_unsupported)))
        sp__cfg_not_supported(ps, kw + (neg ? 3 : 0));
    else
        sp__cfg_alert(ps, "option", "unknown option '%s'", argv[1]);
}

void sp__cfg_kw_option(struct sp__cfg_parser *ps, int argc, char **argv)
{
    do_option(ps, argc, argv, false);
}

/* `no option X` and `no log` */
void sp__cfg_kw_no(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "option") == 0) {
        do_option(ps, argc - 1, argv + 1, true);
        return;
    }
    if (argc == 2 && strcmp(argv[1], "log") == 0) {
        sp__cfg_logs_free(ps->cur->logs);
        ps->cur->logs = NULL;
        ps->cur->log_global = false;
        return;
    }
    sp__cfg_alert(ps, argv[0],
                  "'no' is supported before 'option X' and 'log' only, not before '%s'",
                  argc >= 2 ? argv[1] : "");
}

void sp__cfg_kw_default_backend(struct sp__cfg_parser *ps, int argc, char **argv)
{
    char *name;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1) || !sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        return;
    name = sp__cfg_xstrdup(ps, argv[1]);
    if (!name)
        return;
    /* the last line wins, silently, as in HAProxy */
    free(ps->cur->default_backend);
    ps->cur->default_backend = name;
    ps->cur->default_backend_where = sp__cfg_here(ps);
}
void sp__cfg_kw_log_format(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    free(ps->cur->log_format);
    ps->cur->log_format = sp__cfg_xstrdup(ps, argv[1]);
}

/* clang-format off */
static const char *const balance_unsupported[] = {"hash", "rdp-cookie"};
/* clang-format on */

/* A positive decimal count for `what` (a `uri` option, random's draws), HAProxy's words. */
static bool lb_count(struct sp__cfg_parser *ps, const char *kw, const char *algo, const char *what,
                     const char *txt, int *out)
{
    long v = 0;
    const char *p = txt;

    for (; p && *p >= '0' && *p <= '9' && v <= INT_MAX; p++)
        v = v * 10 + (*p - '0');
    if (!txt || p == txt || *p || v < 1 || v > INT_MAX) {
        sp__cfg_alert(ps, kw, "%s : '%s' expects a positive integer (got '%s')", algo, what,
                      txt ? txt : "");
        return false;
    }
    *out = (int)v;
    return true;
}

/* An HTTP field name (RFC 9110 token), as hdr() takes it. */
static bool lb_token(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
            return false;
    return true;
}

/* `random`, `random()` or `random(N)`: N draws, at least one (2 by default). */
static bool lb_random(struct sp__cfg_parser *ps, const char *kw, const char *arg, int *draws)
{
    const char *p = arg + 6;
    long v = 0;

    *draws = 2;
    if (!*p || strcmp(p, "()") == 0)
        return true;
    p++; /* '(' */
    const char *digits = p;
    for (; *p >= '0' && *p <= '9' && v <= INT_MAX; p++)
        v = v * 10 + (*p - '0');
    if (*p != ')' || p == digits) {
        if (!*p)
            sp__cfg_alert(ps, kw, "random : missing closing parenthesis");
        else
            sp__cfg_alert(ps, kw, "random : unexpected character '%c' after argument", *p);
        return false;
    }
    if (p[1]) {
        sp__cfg_alert(ps, kw, "random : unexpected character '%c' after ')'", p[1]);
        return false;
    }
    if (v < 1 || v > INT_MAX) {
        sp__cfg_alert(ps, kw, "random : number of draws must be at least 1");
        return false;
    }
    *draws = (int)v;
    return true;
}

/* The algorithm and its arguments into *algo and *lb (whose hash-type part is kept); false
 * after reporting the error. */
static bool lb_parse(struct sp__cfg_parser *ps, int argc, char **argv, enum sp_balance *algo,
                     struct sp_cfg_lb *lb)
{
    const char *kw = argv[0], *a = argv[1];
    static const struct {
        const char *name;
        enum sp_balance algo;
    } plain[] = {{"roundrobin", SP_BALANCE_ROUNDROBIN},
                 {"static-rr", SP_BALANCE_STATIC_RR},
                 {"leastconn", SP_BALANCE_LEASTCONN},
                 {"first", SP_BALANCE_FIRST},
                 {"source", SP_BALANCE_SOURCE}};

    for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
        if (strcmp(a, plain[i].name) == 0) {
            *algo = plain[i].algo;
            return sp__cfg_nargs_ok(ps, kw, argc, 1, 1, 1);
        }
    }
    if (strncmp(a, "random", 6) == 0 && (!a[6] || a[6] == '(')) {
        *algo = SP_BALANCE_RANDOM;
        return sp__cfg_nargs_ok(ps, kw, argc, 1, 1, 1) && lb_random(ps, kw, a, &lb->draws);
    }
    if (strcmp(a, "uri") == 0) {
        *algo = SP_BALANCE_URI;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "len") == 0 || strcmp(argv[i], "depth") == 0) {
                int *dst = argv[i][0] == 'l' ? &lb->uri_len : &lb->uri_depth;
                if (!lb_count(ps, kw, a, argv[i], i + 1 < argc ? argv[i + 1] : NULL, dst))
                    return false;
                i++;
            } else if (strcmp(argv[i], "whole") == 0) {
                lb->uri_whole = true;
            } else if (strcmp(argv[i], "path-only") == 0) {
                lb->uri_path_only = true;
            } else {
                sp__cfg_alert(ps, kw,
                              "uri only accepts parameters 'len', 'depth', 'path-only', and "
                              "'whole' (got '%s')",
                              argv[i]);
                return false;
            }
        }
        return true;
    }
    if (strcmp(a, "url_param") == 0) {
        *algo = SP_BALANCE_URL_PARAM;
        if (argc < 3 || !argv[2][0]) {
            sp__cfg_alert(ps, kw, "url_param requires an URL parameter name");
            return false;
        }
        if (argc > 3) {
            if (strcmp(argv[3], "check_post") != 0) {
                sp__cfg_alert(ps, kw, "url_param only accepts 'check_post' modifier (got '%s')",
                              argv[3]);
            } else {
                /* the server is chosen when the request head is in, before any body byte */
                sp__cfg_alert(ps, kw,
                              "url_param 'check_post' (a parameter in a POST body) not "
                              "supported by spillway yet");
            }
            return false;
        }
        lb->name = sp__cfg_xstrdup(ps, argv[2]);
        return lb->name != NULL;
    }
    if (strncmp(a, "hdr", 3) == 0 && (!a[3] || a[3] == '(')) {
        const char *beg = a + 4, *end = a[3] ? strchr(beg, ')') : NULL;
        *algo = SP_BALANCE_HDR;
        if (!end || !lb_token(beg, (size_t)(end - beg)) || end[1]) {
            sp__cfg_alert(ps, kw, "hdr requires an http header field name: hdr(<name>)");
            return false;
        }
        if (argc > 2 && strcmp(argv[2], "use_domain_only") != 0) {
            sp__cfg_alert(ps, kw, "%s only accepts 'use_domain_only' modifier (got '%s')", a,
                          argv[2]);
            return false;
        }
        if (!sp__cfg_nargs_ok(ps, kw, argc, 1, 1, 2))
            return false;
        lb->domain_only = argc > 2;
        lb->name = calloc(1, (size_t)(end - beg) + 1);
        if (!lb->name) {
            ps->oom = true;
            return false;
        }
        memcpy(lb->name, beg, (size_t)(end - beg));
        return true;
    }
    /* "rdp-cookie(name)": the name before the parenthesis */
    char name[32];
    size_t n = strcspn(a, "(");
    snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), a);
    if (sp__cfg_in_list(name, balance_unsupported, ARRAY_SIZE(balance_unsupported)))
        sp__cfg_alert(ps, kw, "algorithm '%s' not supported by spillway yet", a);
    else
        sp__cfg_alert(ps, kw, "unknown algorithm '%s'", a);
    return false;
}

/* `hash-type map-based|consistent [sdbm|djb2|wt6|crc32 [avalanche]]` (HAProxy's
 * cfgparse-listen.c): consistent with no function means sdbm with avalanche. */
static void hash_type(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const char *const fns[] = {"sdbm", "djb2", "wt6", "crc32"};
    static const enum sp_hash_fn fn_ids[] = {SP_HASH_SDBM, SP_HASH_DJB2, SP_HASH_WT6,
                                             SP_HASH_CRC32};
    enum sp_hash_type type;
    enum sp_hash_fn fn = SP_HASH_SDBM;
    bool aval;
    size_t k;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 3))
        return;
    if (strcmp(argv[1], "consistent") == 0) {
        type = SP_HASH_CONSISTENT;
    } else if (strcmp(argv[1], "map-based") == 0) {
        type = SP_HASH_MAP_BASED;
    } else if (strcmp(argv[1], "avalanche") == 0) {
        sp__cfg_alert(ps, argv[0],
                      "experimental feature 'hash-type avalanche' is not supported anymore, "
                      "please use 'hash-type map-based sdbm avalanche' instead");
        return;
    } else {
        sp__cfg_alert(ps, argv[0], "only supports 'consistent' and 'map-based' (got '%s')",
                      argv[1]);
        return;
    }
    aval = argc == 2 && type == SP_HASH_CONSISTENT;
    if (argc > 2) {
        for (k = 0; k < ARRAY_SIZE(fns) && strcmp(argv[2], fns[k]) != 0; k++)
            ;
        if (k == ARRAY_SIZE(fns)) {
            sp__cfg_alert(ps, argv[0],
                          "only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions "
                          "(got '%s')",
                          argv[2]);
            return;
        }
        fn = fn_ids[k];
    }
    if (argc > 3) {
        if (strcmp(argv[3], "avalanche") != 0) {
            sp__cfg_alert(ps, argv[0],
                          "only supports 'avalanche' as a modifier for hash functions (got '%s')",
                          argv[3]);
            return;
        }
        aval = true;
    }
    if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        return;
    ps->cur->lb.hash_type = type;
    ps->cur->lb.hash_fn = fn;
    ps->cur->lb.avalanche = aval;
}

/* `balance ALGO [ARGS]`. The keyword table names this handler for `hash-type` too, so that
 * the balancing syntax stays in one place. The last line wins; `hash-type` is independent of
 * the order of the two lines. */
void sp__cfg_kw_balance(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_lb lb;
    enum sp_balance algo = SP_BALANCE_ROUNDROBIN;

    if (strcmp(argv[0], "hash-type") == 0) {
        hash_type(ps, argc, argv);
        return;
    }
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, INT_MAX))
        return;
    lb = (struct sp_cfg_lb){
        .draws = 2,
        .hash_type = ps->cur->lb.hash_type,
        .hash_fn = ps->cur->lb.hash_fn,
        .avalanche = ps->cur->lb.avalanche,
    };
    if (!lb_parse(ps, argc, argv, &algo, &lb) || !sp__cfg_need_cap(ps, argv[0], SP_CAP_BE)) {
        free(lb.name);
        return;
    }
    free(ps->cur->lb.name);
    ps->cur->balance = algo;
    ps->cur->lb = lb;
}

void sp__cfg_kw_retries(struct sp__cfg_parser *ps, int argc, char **argv)
{
    int v;

    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1) &&
        sp__cfg_get_int(ps, argv[0], "retry count", argv[1], 0, INT_MAX, &v) &&
        sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        ps->cur->retries = v;
}

void sp__cfg_kw_fullconn(struct sp__cfg_parser *ps, int argc, char **argv)
{
    int v;

    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1) &&
        sp__cfg_get_int(ps, argv[0], "connection count", argv[1], 0, INT_MAX, &v) &&
        sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        ps->cur->fullconn = v;
}

void sp__cfg_kw_removed(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *repl = strcmp(argv[0], "clitimeout") == 0   ? "timeout client"
                       : strcmp(argv[0], "srvtimeout") == 0 ? "timeout server"
                                                            : "timeout connect";
    (void)argc;
    sp__cfg_alert(ps, argv[0], "removed from HAProxy's language; use '%s'", repl);
}

/* "200", "200-399", "200,301-302": each code 100-599, each range ordered. */
static bool status_list_ok(const char *s)
{
    while (*s) {
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end == s || lo < 100 || lo > 599)
            return false;
        if (*end == '-') {
            const char *h = end + 1;
            hi = strtol(h, &end, 10);
            if (end == h || hi < lo || hi > 599)
                return false;
        }
        if (*end == ',')
            end++;
        else if (*end)
            return false;
        s = end;
    }
    return true;
}

/* http-check expect [!] status|rstatus|string|rstring PATTERN */
static void http_check_expect(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_httpchk *h = &ps->cur->httpchk;
    static const struct {
        const char *name;
        enum sp_cfg_expect kind;
    } kinds[] = {{"status", SP_EXPECT_STATUS},
                 {"rstatus", SP_EXPECT_RSTATUS},
                 {"string", SP_EXPECT_STRING},
                 {"rstring", SP_EXPECT_RSTRING}};
    int i = 2;
    bool neg = false;

    if (h->expect != SP_EXPECT_DEFAULT) {
        sp__cfg_alert(ps, "http-check expect",
                      "only one 'http-check expect' rule per proxy is supported by spillway "
                      "(the first is at line %d)",
                      h->expect_where.line);
        return;
    }
    if (i < argc && strcmp(argv[i], "!") == 0) {
        neg = true;
        i++;
    }
    if (argc - i != 2) {
        sp__cfg_alert(ps, "http-check expect",
                      "expects [!] status|rstatus|string|rstring PATTERN (the options min-recv, "
                      "comment, ok-status, error-status, tout-status, on-success, on-error, "
                      "status-code and the hdr, fhdr and string-lf matches are not supported by "
                      "spillway)");
        return;
    }
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        if (strcmp(argv[i], kinds[k].name) != 0)
            continue;
        const char *pat = argv[i + 1];
        if (kinds[k].kind == SP_EXPECT_STATUS && !status_list_ok(pat)) {
            sp__cfg_alert(ps, "http-check expect",
                          "invalid list of status codes '%s' (expects codes 100-599 and "
                          "ranges LOW-HIGH separated by commas)",
                          pat);
            return;
        }
        if (kinds[k].kind == SP_EXPECT_RSTATUS || kinds[k].kind == SP_EXPECT_RSTRING) {
            regex_t re;
            char why[160];
            if (sp_regex_cost(pat, SP_REGEX_MAX_COPIES, why, sizeof(why)) < 0) {
                sp__cfg_alert(ps, "http-check expect", "regex '%s' is too complex: %s", pat, why);
                return;
            }
            if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
                sp__cfg_alert(ps, "http-check expect", "invalid regex '%s'", pat);
                return;
            }
            regfree(&re);
        }
        if (!*pat) {
            sp__cfg_alert(ps, "http-check expect", "empty pattern");
            return;
        }
        if (!sp__cfg_need_cap(ps, "http-check expect", SP_CAP_BE))
            return;
        h->expect = kinds[k].kind;
        h->expect_neg = neg;
        h->expect_pat = sp__cfg_xstrdup(ps, pat);
        h->expect_where = sp__cfg_here(ps);
        return;
    }
    if (strcmp(argv[i], "hdr") == 0 || strcmp(argv[i], "fhdr") == 0 ||
        strcmp(argv[i], "string-lf") == 0 || strcmp(argv[i], "custom") == 0)
        sp__cfg_alert(ps, "http-check expect", "match '%s' not supported by spillway", argv[i]);
    else
        sp__cfg_alert(ps, "http-check expect",
                      "unknown match '%s' (expects status, rstatus, string or rstring)", argv[i]);
}

/* http-check send [meth M] [uri U] [ver V] [hdr NAME VALUE]* [body S] */
static void http_check_send(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_httpchk *h = &ps->cur->httpchk;

    if (!sp__cfg_need_cap(ps, "http-check send", SP_CAP_BE))
        return;
    if (h->send_line) {
        sp__cfg_alert(ps, "http-check send",
                      "only one 'http-check send' rule per proxy is supported by spillway (the "
                      "first is at line %d)",
                      h->send_line);
        return;
    }
    /* merged into the request of `option httpchk` as HAProxy does
     * (tcpcheck_overwrite_send_http_rule): its own fields replace the option's, and its
     * headers replace all the option's headers */
    free(h->hdrs);
    h->hdrs = NULL;
    for (int i = 2; i < argc; i++) {
        const char *w = argv[i];
        char **dst = strcmp(w, "meth") == 0   ? &h->meth
                     : strcmp(w, "uri") == 0  ? &h->uri
                     : strcmp(w, "ver") == 0  ? &h->ver
                     : strcmp(w, "body") == 0 ? &h->body
                                              : NULL;
        if (dst && i + 1 < argc) {
            free(*dst);
            *dst = sp__cfg_xstrdup(ps, argv[++i]);
        } else if (strcmp(w, "hdr") == 0 && i + 2 < argc) {
            if (!sp__cfg_valid_name(argv[i + 1])) {
                sp__cfg_alert(ps, "http-check send", "invalid header name '%s'", argv[i + 1]);
                return;
            }
            if (strchr(argv[i + 2], '%')) {
                sp__cfg_alert(ps, "http-check send",
                              "log-format values ('%s') are not supported by spillway in "
                              "check headers",
                              argv[i + 2]);
                return;
            }
            if (!chk_add_hdr(ps, h, argv[i + 1], strlen(argv[i + 1]), argv[i + 2],
                             strlen(argv[i + 2])))
                return;
            i += 2;
        } else if (strcmp(w, "uri-lf") == 0 || strcmp(w, "body-lf") == 0 ||
                   strcmp(w, "comment") == 0) {
            sp__cfg_alert(ps, "http-check send", "'%s' not supported by spillway", w);
            return;
        } else {
            sp__cfg_alert(ps, "http-check send",
                          "unexpected '%s' (expects meth M, uri U, ver V, hdr NAME VALUE, "
                          "body S)",
                          w);
            return;
        }
    }
    h->send_line = ps->line;
}

void sp__cfg_kw_http_check(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "missing directive (expects expect, send or disable-on-404)");
        return;
    }
    if (strcmp(argv[1], "expect") == 0) {
        http_check_expect(ps, argc, argv);
    } else if (strcmp(argv[1], "send") == 0) {
        http_check_send(ps, argc, argv);
    } else if (strcmp(argv[1], "disable-on-404") == 0) {
        if (sp__cfg_nargs_ok(ps, "http-check disable-on-404", argc, 2, 0, 0) &&
            sp__cfg_need_cap(ps, "http-check disable-on-404", SP_CAP_BE))
            ps->cur->httpchk.disable_on_404 = true;
    } else if (strcmp(argv[1], "connect") == 0 || strcmp(argv[1], "comment") == 0 ||
               strcmp(argv[1], "set-var") == 0 || strcmp(argv[1], "unset-var") == 0 ||
               strcmp(argv[1], "send-state") == 0) {
        char kw[64];
        snprintf(kw, sizeof(kw), "http-check %s", argv[1]);
        sp__cfg_not_supported(ps, kw);
    } else {
        sp__cfg_alert(ps, argv[0], "unknown directive '%s'", argv[1]);
    }
}

/* retry-on KEYWORD...: the list replaces the previous one (HAProxy's proxy_parse_retry_on). */
void sp__cfg_kw_retry_on(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const struct {
        const char *name;
        int bits;
    } kws[] = {{"conn-failure", SP_RETRY_CONN},
               {"empty-response", SP_RETRY_EMPTY},
               {"junk-response", SP_RETRY_JUNK},
               {"response-timeout", SP_RETRY_TIMEOUT},
               {"0rtt-rejected", SP_RETRY_0RTT}};
    int bits = 0;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, INT_MAX) ||
        !sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        return;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        char *end;
        long code = strtol(w, &end, 10);
        if (!strcmp(w, "none")) {
            if (argc != 2) {
                sp__cfg_alert(ps, argv[0], "'none' keyword only usable alone");
                return;
            }
            continue;
        }
        if (!strcmp(w, "all-retryable-errors")) {
            bits |= SP_RETRY_ALL | sp_retry_status_bit(500) | sp_retry_status_bit(502) |
                    sp_retry_status_bit(503) | sp_retry_status_bit(504);
            continue;
        }
        if (end != w && !*end && sp_retry_status_bit((int)code)) {
            bits |= sp_retry_status_bit((int)code);
            continue;
        }
        size_t k;
        for (k = 0; k < ARRAY_SIZE(kws) && strcmp(w, kws[k].name); k++)
            ;
        if (k == ARRAY_SIZE(kws)) {
            sp__cfg_alert(ps, argv[0],
                          "unknown keyword '%s' (expects none, conn-failure, empty-response, "
                          "junk-response, response-timeout, 0rtt-rejected, "
                          "all-retryable-errors, 401, 403, 404, 408, 425, 500, 501, 502, 503 or "
                          "504)",
                          w);
            return;
        }
        bits |= kws[k].bits;
    }
    ps->cur->retry_on = bits;
}

/* Appends "; PFX VAL" to a fixed buffer of a `cookie` line; false when it does not fit. */
static bool ck_append(char *buf, size_t size, const char *pfx, const char *val)
{
    size_t off = strlen(buf);
    int n = snprintf(buf + off, size - off, "; %s%s", pfx, val);
    return n >= 0 && (size_t)n < size - off;
}

/* `cookie NAME [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly]
 * [secure] [domain D]* [attr A]*` (HAProxy 2.6 cfgparse-listen.c); maxidle, maxlife and
 * dynamic are refused. The last line given wins, as in HAProxy. */
void sp__cfg_kw_cookie(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const struct {
        const char *name;
        unsigned bit;
    } flags[] = {{"rewrite", SP_CK_RW},  {"indirect", SP_CK_IND},      {"insert", SP_CK_INS},
                 {"nocache", SP_CK_NOC}, {"postonly", SP_CK_POST},     {"preserve", SP_CK_PSV},
                 {"prefix", SP_CK_PFX},  {"httponly", SP_CK_HTTPONLY}, {"secure", SP_CK_SECURE}};
    struct sp_cfg_cookie ck = {0};

    if (argc < 2 || !*argv[1]) {
        sp__cfg_alert(ps, argv[0], "'cookie' expects <cookie_name> as argument");
        return;
    }
    if (strlen(argv[1]) >= sizeof(ck.name) || strpbrk(argv[1], ";,= \t\"")) {
        sp__cfg_alert(ps, argv[0],
                      "'cookie' expects a name of 1 to %zu characters without ';', ',', '=', "
                      "'\"' or blanks",
                      sizeof(ck.name) - 1);
        return;
    }
    snprintf(ck.name, sizeof(ck.name), "%s", argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t f = 0;
        while (f < ARRAY_SIZE(flags) && strcmp(a, flags[f].name) != 0)
            f++;
        if (f < ARRAY_SIZE(flags)) {
            ck.opts |= flags[f].bit;
            continue;
        }
        if (!strcmp(a, "domain") || !strcmp(a, "attr")) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            bool dom = a[0] == 'd';
            if (!v || !*v) {
                sp__cfg_alert(ps, argv[0], "'cookie': '%s' expects <%s> as argument", a,
                              dom ? "domain" : "value");
                return;
            }
            for (const char *p = v; *p; p++) {
                bool bad = dom ? !(isalnum((unsigned char)*p) || *p == '.' || *p == '-')
                               : ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ';');
                if (bad) {
                    sp__cfg_alert(ps, argv[0],
                                  "'cookie': character '%c' is not permitted in %s '%s'", *p,
                                  dom ? "domain name" : "attribute value", v);
                    return;
                }
            }
            if (!(dom ? ck_append(ck.domains, sizeof(ck.domains), "domain=", v)
                      : ck_append(ck.attrs, sizeof(ck.attrs), "", v))) {
                sp__cfg_alert(ps, argv[0],
                              "'cookie': the %s values are too long (%zu bytes at most)", a,
                              sizeof(ck.domains) - 1);
                return;
            }
            continue;
        }
        if (!strcmp(a, "maxidle") || !strcmp(a, "maxlife") || !strcmp(a, "dynamic")) {
            sp__cfg_alert(ps, argv[0],
                          "'cookie': '%s' not supported by spillway (the date-stamped and "
                          "dynamic cookie formats are not implemented)",
                          a);
            return;
        }
        sp__cfg_alert(ps, argv[0],
                      "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', "
                      "'postonly', 'preserve', 'httponly', 'secure', 'domain' and 'attr' options "
                      "(got '%s')",
                      a);
        return;
    }
    unsigned m = ck.opts & (SP_CK_RW | SP_CK_IND);
    if (m & (m - 1)) {
        sp__cfg_alert(ps, argv[0], "cookie 'rewrite' and 'indirect' modes are incompatible");
        return;
    }
    m = ck.opts & (SP_CK_RW | SP_CK_INS | SP_CK_PFX);
    if (m & (m - 1)) {
        sp__cfg_alert(ps, argv[0],
                      "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible");
        return;
    }
    if ((ck.opts & (SP_CK_PSV | SP_CK_INS | SP_CK_IND)) == SP_CK_PSV) {
        sp__cfg_alert(ps, argv[0], "cookie 'preserve' requires at least 'insert' or 'indirect'");
        return;
    }
    ps->cur->ck = ck;
}
