/* core/cfgparse.c - the configuration line parser: HAProxy's tokenizing rules, its sections
 * and the keywords spillway supports, each stored into the model of core/config.h.
 *
 * owner: main.
 *
 * Every line is handled on its own: an error is reported and counted, and parsing goes on
 * with the next line, so one run reports every error of a file. Keywords that HAProxy knows
 * and spillway does not are errors that say so, never silent no-ops. Out of memory stops
 * storing (the flag is checked once at the end) rather than unwinding every handler.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* a configuration file bigger than this is refused rather than read into memory */
#define MAX_FILE_SIZE (64u * 1024 * 1024)

enum sec {
    SEC_NONE,     /* before the first section keyword */
    SEC_GLOBAL,   /* global */
    SEC_DEFAULTS, /* defaults [name] [from name] */
    SEC_FE,       /* frontend */
    SEC_BE,       /* backend */
    SEC_LISTEN,   /* listen */
    SEC_SKIP,     /* a section spillway does not support: its lines are skipped */
};

#define S_GLOBAL (1u << SEC_GLOBAL)
#define S_DEF    (1u << SEC_DEFAULTS)
#define S_FE     (1u << SEC_FE)
#define S_BE     (1u << SEC_BE)
#define S_LI     (1u << SEC_LISTEN)
#define S_PROXY  (S_DEF | S_FE | S_BE | S_LI)

/* clang-format off */
static const char *const sec_names[] = {
    "none", "global", "defaults", "frontend", "backend", "listen", "skipped",
};
/* clang-format on */

/* The parser's state across the lines of one file. */
struct ps {
    struct sp_config *cfg;
    FILE *diag;
    int line;
    enum sec sec;
    struct sp_cfg_proxy *cur;      /* the proxy or defaults section being filled */
    struct sp_cfg_proxy *defs;     /* every defaults section, newest first */
    struct sp_cfg_proxy *last_def; /* the one in effect; NULL: built-in values */
    struct sp_cfg_proxy **tail;    /* where the next proxy is appended */
    bool oom;
};

typedef void (*kw_fn)(struct ps *ps, int argc, char **argv);

/* ---------------------------------------------------------------------------------------- */
/* helpers */

static struct sp_cfg_where here(const struct ps *ps)
{
    struct sp_cfg_where w = {.file = ps->cfg->_file, .line = ps->line};
    return w;
}

static void __attribute__((format(printf, 3, 4)))
alert(struct ps *ps, const char *kw, const char *fmt, ...)
{
    struct sp_cfg_where w = here(ps);
    va_list ap;

    va_start(ap, fmt);
    sp__cfg_vdiag(ps->cfg, ps->diag, true, &w, kw, fmt, ap);
    va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
warn(struct ps *ps, const char *kw, const char *fmt, ...)
{
    struct sp_cfg_where w = here(ps);
    va_list ap;

    va_start(ap, fmt);
    sp__cfg_vdiag(ps->cfg, ps->diag, false, &w, kw, fmt, ap);
    va_end(ap);
}

static void not_supported(struct ps *ps, const char *kw)
{
    alert(ps, kw, "keyword not supported by spillway yet");
}

static void *xcalloc(struct ps *ps, size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        ps->oom = true;
    return p;
}

static char *xstrdup(struct ps *ps, const char *s)
{
    char *d = strdup(s);
    if (!d)
        ps->oom = true;
    return d;
}

static bool in_list(const char *word, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(word, list[i]) == 0)
            return true;
    return false;
}

/* Checks that a keyword got between `min` and `max` arguments after its `skip` words. */
static bool nargs_ok(struct ps *ps, const char *kw, int argc, int skip, int min, int max)
{
    int n = argc - skip;

    if (n < min) {
        alert(ps, kw, "missing argument (expects %d, got %d)", min, n);
        return false;
    }
    if (n > max) {
        alert(ps, kw, "too many arguments (expects at most %d, got %d)", max, n);
        return false;
    }
    return true;
}

/* Decimal integer within [min, max]; only a leading '-' when min < 0. */
static bool get_int(struct ps *ps, const char *kw, const char *what, const char *txt, long long min,
                    long long max, int *out)
{
    const char *p = txt;
    bool neg = false;
    long long v = 0;

    if (!txt) {
        alert(ps, kw, "%s: missing value", what);
        return false;
    }
    if (*p == '-' && min < 0) {
        neg = true;
        p++;
    }
    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > (long long)INT_MAX + 1)
            goto bad;
    }
    if (*p)
        goto bad;
    if (neg)
        v = -v;
    if (v < min || v > max)
        goto bad;
    *out = (int)v;
    return true;
bad:
    alert(ps, kw, "%s: invalid value '%s' (expects an integer between %lld and %lld)", what, txt,
          min, max);
    return false;
}

static bool get_time(struct ps *ps, const char *kw, const char *what, const char *txt, int64_t *out)
{
    if (!txt) {
        alert(ps, kw, "%s: missing value", what);
        return false;
    }
    if (sp_parse_time_ms(txt, out) < 0) {
        alert(ps, kw,
              "%s: invalid time '%s' (expects a number with an optional unit us, ms, s, m, h "
              "or d, at most 2147483647 ms)",
              what, txt);
        return false;
    }
    return true;
}

/* A proxy keyword that HAProxy accepts but ignores with a warning outside its side (e.g.
 * `timeout client` in a backend). Defaults sections serve both sides. */
static bool need_cap(struct ps *ps, const char *kw, unsigned cap)
{
    const struct sp_cfg_proxy *px = ps->cur;

    if (ps->sec == SEC_DEFAULTS || (px->cap & cap))
        return true;
    warn(ps, kw, "ignored: %s '%s' has no %s part", sec_names[ps->sec], px->name,
         cap == SP_CAP_FE ? "frontend" : "backend");
    return false;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.:", *s))
            return false;
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* sections */

static struct sp_cfg_proxy *find_defaults(struct ps *ps, const char *name)
{
    for (struct sp_cfg_proxy *d = ps->defs; d; d = d->next)
        if (d->name && strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

/* Starts a section from its line: `global`, `defaults [NAME] [from NAME]`,
 * `frontend|backend|listen NAME [from NAME]`. */
static void section_start(struct ps *ps, enum sec sec, int argc, char **argv)
{
    const char *kw = argv[0], *name = NULL, *from = NULL;
    const struct sp_cfg_proxy *base;
    struct sp_cfg_proxy *px;
    int i = 1;

    ps->sec = sec;
    ps->cur = NULL;
    if (sec == SEC_GLOBAL) {
        if (argc > 1)
            alert(ps, kw, "takes no argument");
        return;
    }
    if (i < argc && strcmp(argv[i], "from") != 0)
        name = argv[i++];
    if (i < argc && strcmp(argv[i], "from") == 0) {
        if (i + 1 >= argc)
            alert(ps, kw, "'from' needs the name of a defaults section");
        else
            from = argv[i + 1];
        i += 2;
    }
    if (i < argc)
        alert(ps, kw, "unexpected argument '%s' (expects [NAME] [from DEFAULTS])", argv[i]);
    if (!name && sec != SEC_DEFAULTS) {
        alert(ps, kw, "missing name");
        name = "";
    } else if (name && !valid_name(name)) {
        alert(ps, kw, "invalid name '%s' (letters, digits, '-', '_', '.' and ':' only)", name);
    }

    base = ps->last_def;
    if (from) {
        base = find_defaults(ps, from);
        if (!base) {
            alert(ps, kw, "unable to find defaults section '%s'", from);
            base = ps->last_def;
        }
    } else if (sec == SEC_DEFAULTS) {
        base = NULL; /* a new defaults section starts from the built-in values */
    }

    px = xcalloc(ps, sizeof(*px));
    if (!px)
        return;
    sp__cfg_proxy_init(px);
    px->where = here(ps);
    if (base && sp__cfg_proxy_inherit(px, base) < 0)
        ps->oom = true;
    if (name) {
        px->name = xstrdup(ps, name);
        if (!px->name) {
            sp__cfg_proxy_free(px);
            return;
        }
    }
    if (sec == SEC_DEFAULTS) {
        px->cap = SP_CAP_FE | SP_CAP_BE;
        px->next = ps->defs;
        ps->defs = px;
        ps->last_def = px;
        ps->cur = px;
        return;
    }
    px->cap = sec == SEC_FE ? SP_CAP_FE : sec == SEC_BE ? SP_CAP_BE : SP_CAP_FE | SP_CAP_BE;
    /* a frontend and a backend may share a name; two of one side, or a listen and
     * anything, may not */
    for (const struct sp_cfg_proxy *o = ps->cfg->proxies; o; o = o->next) {
        if ((o->cap & px->cap) && strcmp(o->name, px->name) == 0) {
            const char *okind = o->cap == (SP_CAP_FE | SP_CAP_BE) ? "listen"
                                : o->cap == SP_CAP_FE             ? "frontend"
                                                                  : "backend";
            alert(ps, kw, "name '%s' already used by %s declared at %s:%d", px->name, okind,
                  o->where.file, o->where.line);
            break;
        }
    }
    *ps->tail = px;
    ps->tail = &px->next;
    ps->cur = px;
}

/* ---------------------------------------------------------------------------------------- */
/* global keywords */

static void kw_nbthread(struct ps *ps, int argc, char **argv)
{
    if (nargs_ok(ps, argv[0], argc, 1, 1, 1))
        get_int(ps, argv[0], "thread count", argv[1], 1, 64, &ps->cfg->global.nbthread);
}

/* cpu-map [auto:]GROUP[/THREADS] CPUS...
 * As in HAProxy, the part before '/' is a thread group and spillway has exactly one (1, or
 * "all"); without '/THREADS' every thread of the group is meant, so `cpu-map 1 0-3` lets all
 * threads run on CPUs 0-3. `auto:` hands out one CPU per thread in ascending order, so both
 * sets must have the same size. */
static void kw_cpu_map(struct ps *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    const char *spec = argv[1], *slash, *threads_txt;
    char group[16];
    bool automap = false;
    uint64_t threads;
    cpu_set_t cpus;
    size_t glen;

    if (argc < 3) {
        alert(ps, argv[0], "missing argument (expects [auto:]GROUP[/THREADS] CPU-LIST)");
        return;
    }
    if (strncmp(spec, "auto:", 5) == 0) {
        automap = true;
        spec += 5;
    }
    slash = strchr(spec, '/');
    glen = slash ? (size_t)(slash - spec) : strlen(spec);
    threads_txt = slash ? slash + 1 : "all";
    if (glen >= sizeof(group)) {
        alert(ps, argv[0], "invalid thread group in '%s'", argv[1]);
        return;
    }
    memcpy(group, spec, glen);
    group[glen] = '\0';
    if (strcmp(group, "1") != 0 && strcmp(group, "all") != 0) {
        alert(ps, argv[0], "invalid thread group '%s' (spillway has one group: 1)", group);
        return;
    }
    if (!sp__cfg_parse_thread_set(threads_txt, &threads)) {
        alert(ps, argv[0],
              "invalid thread set '%s' (expects 'all' or threads 1-64 as N, N-M, "
              "lists with ',')",
              threads_txt);
        return;
    }
    CPU_ZERO(&cpus);
    for (int i = 2; i < argc; i++) {
        if (!sp__cfg_parse_cpu_list(argv[i], &cpus)) {
            alert(ps, argv[0], "invalid CPU list '%s' (expects N, N-M, lists with ',')", argv[i]);
            return;
        }
    }
    if (automap) {
        int ncpu = CPU_COUNT(&cpus), nthr = 0, cpu = -1;

        if (threads == UINT64_MAX) /* all: as many threads as CPUs */
            threads = ncpu >= 64 ? UINT64_MAX : (UINT64_C(1) << ncpu) - 1;
        nthr = __builtin_popcountll(threads);
        if (nthr != ncpu) {
            alert(ps, argv[0], "'auto:' needs as many threads as CPUs (%d threads, %d CPUs)", nthr,
                  ncpu);
            return;
        }
        for (int t = 0; t < 64; t++) {
            if (!(threads & (UINT64_C(1) << t)))
                continue;
            while (!CPU_ISSET(++cpu, &cpus))
                ;
            CPU_ZERO(&g->cpu_map[t]);
            CPU_SET(cpu, &g->cpu_map[t]);
            g->cpu_map_has[t] = true;
        }
    } else {
        for (int t = 0; t < 64; t++) {
            if (threads & (UINT64_C(1) << t)) {
                g->cpu_map[t] = cpus;
                g->cpu_map_has[t] = true;
            }
        }
    }
    g->cpu_map_set = true;
}

/* maxconn: process-wide in global, the frontend's limit in a proxy */
static void kw_maxconn(struct ps *ps, int argc, char **argv)
{
    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (ps->sec == SEC_GLOBAL) {
        get_int(ps, argv[0], "connection count", argv[1], 0, INT_MAX, &ps->cfg->global.maxconn);
        return;
    }
    int v;
    if (get_int(ps, argv[0], "connection count", argv[1], 0, INT_MAX, &v) &&
        need_cap(ps, argv[0], SP_CAP_FE))
        ps->cur->maxconn = v;
}

static void kw_bufsize(struct ps *ps, int argc, char **argv)
{
    uint64_t v;

    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (sp_parse_size(argv[1], &v) < 0 || v < 1024 || v > (1u << 30)) {
        alert(ps, argv[0], "invalid size '%s' (expects 1024 to 1g, with an optional k, m or g)",
              argv[1]);
        return;
    }
    ps->cfg->global.bufsize = (int)v;
}

static void kw_maxaccept(struct ps *ps, int argc, char **argv)
{
    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (strcmp(argv[1], "-1") == 0) { /* HAProxy's "unlimited" */
        ps->cfg->global.maxaccept = INT_MAX;
        return;
    }
    get_int(ps, argv[0], "accept count", argv[1], 1, INT_MAX, &ps->cfg->global.maxaccept);
}

static void kw_h2_streams(struct ps *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    int *dst = strcmp(argv[0], "tune.h2.max-concurrent-streams") == 0
                   ? &g->h2_max_concurrent_streams
                   : &g->h2_fe_max_concurrent_streams;

    if (nargs_ok(ps, argv[0], argc, 1, 1, 1))
        get_int(ps, argv[0], "stream count", argv[1], 1, INT_MAX, dst);
}

/* spillway's own: upstream connections per server when its line has no maxconn */
static void kw_server_default_maxconn(struct ps *ps, int argc, char **argv)
{
    if (nargs_ok(ps, argv[0], argc, 1, 1, 1))
        get_int(ps, argv[0], "connection count", argv[1], 1, 1000000,
                &ps->cfg->global.server_default_maxconn);
}

/* spillway's own: routing decisions kept per worker for `show decisions` */
static void kw_decision_log(struct ps *ps, int argc, char **argv)
{
    if (nargs_ok(ps, argv[0], argc, 1, 1, 1))
        get_int(ps, argv[0], "entry count", argv[1], 0, 1000000, &ps->cfg->global.decision_log);
}

static void kw_hard_stop_after(struct ps *ps, int argc, char **argv)
{
    if (nargs_ok(ps, argv[0], argc, 1, 1, 1))
        get_time(ps, argv[0], "delay", argv[1], &ps->cfg->global.hard_stop_after);
}

static void kw_pidfile(struct ps *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (g->pidfile) {
        warn(ps, argv[0], "already set to '%s'; this line is ignored", g->pidfile);
        return;
    }
    g->pidfile = xstrdup(ps, argv[1]);
}

static void kw_daemon(struct ps *ps, int argc, char **argv)
{
    if (nargs_ok(ps, argv[0], argc, 1, 0, 0))
        ps->cfg->global.daemon = true;
}

/* ---------------------------------------------------------------------------------------- */
/* log */

/* clang-format off */
static const char *const log_facilities[] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
};
/* clang-format on */
/* clang-format off */
static const char *const log_levels[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};
/* clang-format on */
/* clang-format off */
static const char *const log_formats_unsupported[] = {
    "local", "short", "timed", "iso", "priority",
};
/* clang-format on */

/* log global | log TARGET [len N] [format F] FACILITY [LEVEL] */
static void kw_log(struct ps *ps, int argc, char **argv)
{
    struct sp_cfg_log *l, **tail;
    const char *format = NULL;
    int len = 0, i = 2, r;

    if (argc == 2 && strcmp(argv[1], "global") == 0) {
        if (ps->sec == SEC_GLOBAL)
            alert(ps, argv[0], "'log global' is only valid in a proxy or defaults section");
        else
            ps->cur->log_global = true;
        return;
    }
    if (argc < 3) {
        alert(ps, argv[0],
              "missing argument (expects 'global' or TARGET [len N] "
              "[format F] FACILITY [LEVEL])");
        return;
    }
    r = sp__cfg_check_log_target(argv[1]);
    if (r == -ENOENT) {
        alert(ps, argv[0], "could not resolve address '%s'", argv[1]);
        return;
    }
    if (r < 0) {
        alert(ps, argv[0],
              "invalid log target '%s' (expects stdout, stderr, an absolute path "
              "or [udp@]ADDRESS[:PORT])",
              argv[1]);
        return;
    }
    for (;;) {
        if (i + 1 < argc && strcmp(argv[i], "len") == 0) {
            if (!get_int(ps, argv[0], "'len'", argv[i + 1], 80, 65535, &len))
                return;
            i += 2;
        } else if (i + 1 < argc && strcmp(argv[i], "format") == 0) {
            format = argv[i + 1];
            if (in_list(format, log_formats_unsupported, ARRAY_SIZE(log_formats_unsupported))) {
                alert(ps, argv[0], "log format '%s' not supported by spillway yet", format);
                return;
            }
            if (strcmp(format, "raw") != 0 && strcmp(format, "rfc3164") != 0 &&
                strcmp(format, "rfc5424") != 0) {
                alert(ps, argv[0], "unknown log format '%s' (expects raw, rfc3164 or rfc5424)",
                      format);
                return;
            }
            i += 2;
        } else if (i < argc && strcmp(argv[i], "sample") == 0) {
            alert(ps, argv[0], "'sample' not supported by spillway yet");
            return;
        } else {
            break;
        }
    }
    if (i >= argc) {
        alert(ps, argv[0], "missing facility");
        return;
    }
    if (!in_list(argv[i], log_facilities, ARRAY_SIZE(log_facilities))) {
        alert(ps, argv[0], "unknown facility '%s'", argv[i]);
        return;
    }
    if (i + 1 < argc && !in_list(argv[i + 1], log_levels, ARRAY_SIZE(log_levels))) {
        alert(ps, argv[0],
              "unknown level '%s' (expects emerg, alert, crit, err, warning, "
              "notice, info or debug)",
              argv[i + 1]);
        return;
    }
    if (i + 2 < argc) {
        if (in_list(argv[i + 2], log_levels, ARRAY_SIZE(log_levels)))
            alert(ps, argv[0], "a minimum level not supported by spillway yet");
        else
            alert(ps, argv[0], "unexpected argument '%s'", argv[i + 2]);
        return;
    }

    l = xcalloc(ps, sizeof(*l));
    if (!l)
        return;
    tail = ps->sec == SEC_GLOBAL ? &ps->cfg->global.logs : &ps->cur->logs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    l->where = here(ps);
    l->len = len;
    l->target = xstrdup(ps, argv[1]);
    l->facility = xstrdup(ps, argv[i]);
    if (format)
        l->format = xstrdup(ps, format);
    if (i + 1 < argc)
        l->level = xstrdup(ps, argv[i + 1]);
}

/* ---------------------------------------------------------------------------------------- */
/* proxy keywords */

static void kw_mode(struct ps *ps, int argc, char **argv)
{
    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (strcmp(argv[1], "http") == 0)
        ps->cur->mode = SP_MODE_HTTP;
    else if (strcmp(argv[1], "tcp") == 0)
        ps->cur->mode = SP_MODE_TCP;
    else
        alert(ps, argv[0], "unknown mode '%s' (expects 'http' or 'tcp')", argv[1]);
}

/* clang-format off */
static const char *const bind_opts_unsupported[] = {
    "ssl", "crt", "crt-list", "ca-file", "ca-verify-file", "ca-ignore-err", "crt-ignore-err",
    "crl-file", "verify", "alpn", "npn", "no-alpn", "ciphers", "ciphersuites", "curves", "ecdhe",
    "sigalgs", "client-sigalgs", "strict-sni", "allow-0rtt", "no-sslv3", "no-tlsv10", "no-tlsv11",
    "no-tlsv12", "no-tlsv13", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12",
    "force-tlsv13", "ssl-min-ver", "ssl-max-ver", "no-ca-names", "no-tls-tickets",
    "prefer-client-ciphers", "generate-certificates", "ca-sign-file", "ca-sign-pass",
    "tls-ticket-keys", "proto", "accept-proxy", "accept-netscaler-cip", "v4v6", "v6only",
    "transparent", "interface", "defer-accept", "tfo", "process", "thread", "mss", "tcp-ut",
    "tcp-md5sig", "idle-ping", "level", "severity-output", "expose-fd", "mode", "user", "group",
    "uid", "gid", "id", "nice", "namespace", "label", "guid-prefix", "quic-cc-algo",
    "quic-force-retry", "quic-socket", "set-mark", "set-tos", "nbconn",
};
/* clang-format on */

/* Lays out the options of one bind line, shared by all its addresses. */
struct bind_opts {
    int maxconn, backlog, shards;
    const char *name;
};

static bool bind_option(struct ps *ps, int argc, char **argv, int *i, struct bind_opts *o)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;

    if (strcmp(opt, "maxconn") == 0 || strcmp(opt, "backlog") == 0 || strcmp(opt, "name") == 0 ||
        strcmp(opt, "shards") == 0) {
        if (!val) {
            alert(ps, argv[0], "option '%s' needs a value", opt);
            return false;
        }
        (*i)++;
        if (strcmp(opt, "maxconn") == 0)
            return get_int(ps, argv[0], "'maxconn'", val, 0, INT_MAX, &o->maxconn);
        if (strcmp(opt, "backlog") == 0)
            return get_int(ps, argv[0], "'backlog'", val, 0, INT_MAX, &o->backlog);
        if (strcmp(opt, "name") == 0) {
            o->name = val;
            return true;
        }
        if (strcmp(val, "by-thread") == 0) {
            o->shards = 0;
            return true;
        }
        if (strcmp(val, "by-group") == 0 || strcmp(val, "by-process") == 0) {
            alert(ps, argv[0], "'shards %s' not supported by spillway yet", val);
            return false;
        }
        return get_int(ps, argv[0], "'shards'", val, 1, 64, &o->shards);
    }
    if (in_list(opt, bind_opts_unsupported, ARRAY_SIZE(bind_opts_unsupported)))
        alert(ps, argv[0], "bind option '%s' not supported by spillway yet", opt);
    else
        alert(ps, argv[0], "unknown bind option '%s'", opt);
    return false;
}

static void add_bind(struct ps *ps, const char *kw, const char *text, const struct bind_opts *o)
{
    struct sockaddr_storage ss;
    struct sp_cfg_bind *b, **tail;
    const char *colon = strrchr(text, ':');
    socklen_t len;

    if (sp_parse_addr(text, false, &ss, &len) < 0) {
        if (colon && strchr(colon, '-') && strncmp(text, "unix@", 5) != 0)
            alert(ps, kw, "port ranges are not supported by spillway ('%s')", text);
        else
            alert(ps, kw,
                  "invalid address '%s' (expects ADDR:PORT, *:PORT, :PORT, "
                  "[IPv6]:PORT or unix@PATH)",
                  text);
        return;
    }
    b = xcalloc(ps, sizeof(*b));
    if (!b)
        return;
    for (tail = &ps->cur->binds; *tail; tail = &(*tail)->next)
        ;
    *tail = b;
    b->text = xstrdup(ps, text);
    b->addr = ss;
    b->addrlen = len;
    b->maxconn = o->maxconn;
    b->backlog = o->backlog;
    b->shards = o->shards;
    b->where = here(ps);
    if (o->name)
        b->name = xstrdup(ps, o->name);
}

/* bind ADDR[,ADDR...] [ADDR...] [maxconn N] [backlog N] [name N] [shards N|by-thread]
 * An address is a word holding ':' or '@'; the first word without is the first option. */
static void kw_bind(struct ps *ps, int argc, char **argv)
{
    struct bind_opts o = {0};
    bool ok = true;
    int i = 1, first_opt;

    ps->cur->_bind_seen = true;
    while (i < argc && (strchr(argv[i], ':') || strchr(argv[i], '@')))
        i++;
    if (i == 1) {
        alert(ps, argv[0], "missing address (expects ADDR:PORT)");
        return;
    }
    first_opt = i;
    /* after a wrong option the rest of the line cannot be read reliably (an unknown option
     * may take arguments): one error per line is enough */
    for (; i < argc && ok; i++)
        ok = bind_option(ps, argc, argv, &i, &o);
    if (!ok)
        return;
    for (i = 1; i < first_opt; i++) {
        char *copy = xstrdup(ps, argv[i]);

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
}

static void kw_backlog(struct ps *ps, int argc, char **argv)
{
    int v;

    if (nargs_ok(ps, argv[0], argc, 1, 1, 1) &&
        get_int(ps, argv[0], "queue length", argv[1], 0, INT_MAX, &v) &&
        need_cap(ps, argv[0], SP_CAP_FE))
        ps->cur->backlog = v;
}

struct timeout_kw {
    const char *name;
    size_t off;   /* in struct sp_cfg_timeouts */
    unsigned cap; /* the side it applies to; the other side ignores it with a warning */
};

static const struct timeout_kw timeouts[] = {
    {"client", offsetof(struct sp_cfg_timeouts, client), SP_CAP_FE},
    {"server", offsetof(struct sp_cfg_timeouts, server), SP_CAP_BE},
    {"connect", offsetof(struct sp_cfg_timeouts, connect), SP_CAP_BE},
    {"http-request", offsetof(struct sp_cfg_timeouts, http_request), SP_CAP_FE | SP_CAP_BE},
    {"http-keep-alive", offsetof(struct sp_cfg_timeouts, http_keep_alive), SP_CAP_FE | SP_CAP_BE},
    {"queue", offsetof(struct sp_cfg_timeouts, queue), SP_CAP_BE},
    {"tunnel", offsetof(struct sp_cfg_timeouts, tunnel), SP_CAP_BE},
    {"client-fin", offsetof(struct sp_cfg_timeouts, client_fin), SP_CAP_FE},
    {"server-fin", offsetof(struct sp_cfg_timeouts, server_fin), SP_CAP_BE},
    {"check", offsetof(struct sp_cfg_timeouts, check), SP_CAP_BE},
};

/* clang-format off */
static const char *const timeouts_unsupported[] = {
    "client-hs", "tarpit",
};
/* clang-format on */

static void kw_timeout(struct ps *ps, int argc, char **argv)
{
    const struct timeout_kw *t = NULL;
    char kw[64];
    int64_t ms;

    if (argc < 2) {
        alert(ps, argv[0],
              "missing timeout name (client, server, connect, http-request, "
              "http-keep-alive, queue, tunnel, client-fin, server-fin or check)");
        return;
    }
    snprintf(kw, sizeof(kw), "timeout %s", argv[1]);
    for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++)
        if (strcmp(argv[1], timeouts[i].name) == 0)
            t = &timeouts[i];
    if (!t) {
        if (in_list(argv[1], timeouts_unsupported, ARRAY_SIZE(timeouts_unsupported)))
            not_supported(ps, kw);
        else
            alert(ps, argv[0],
                  "unknown timeout '%s' (expects client, server, connect, "
                  "http-request, http-keep-alive, queue, tunnel, client-fin, server-fin or "
                  "check)",
                  argv[1]);
        return;
    }
    if (!nargs_ok(ps, kw, argc, 2, 1, 1) || !get_time(ps, kw, "timeout", argv[2], &ms))
        return;
    if (strspn(argv[2], "0123456789") == strlen(argv[2]) && ms > 0 && ms < 100)
        warn(ps, kw,
             "%s ms is suspiciously small (a bare number is in milliseconds); "
             "it is used as given",
             argv[2]);
    if (!need_cap(ps, kw, t->cap & (SP_CAP_FE | SP_CAP_BE)))
        return;
    /* 0 means "no timeout" in HAProxy, the same as not setting it */
    *(int64_t *)((char *)&ps->cur->to + t->off) = ms ? ms : SP_TIME_UNSET;
}

static void opt_forwardfor(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    struct sp_cfg_forwardfor f = {.enabled = true};
    struct sp_cfg_forwardfor *dst = &ps->cur->fwdfor;

    if (neg) {
        alert(ps, kw, "this option cannot be negated");
        return;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "if-none") == 0) {
            f.if_none = true;
        } else if (strcmp(argv[i], "except") == 0 && i + 1 < argc) {
            if (!sp__cfg_parse_network(argv[++i], &f.except_addr, &f.except_prefix)) {
                alert(ps, kw,
                      "invalid network '%s' after 'except' (expects an IPv4 or IPv6 "
                      "address with an optional /prefix)",
                      argv[i]);
                return;
            }
            f.has_except = true;
        } else if (strcmp(argv[i], "header") == 0 && i + 1 < argc) {
            if (!valid_name(argv[++i])) {
                alert(ps, kw, "invalid header name '%s'", argv[i]);
                return;
            }
            f.header = argv[i];
        } else {
            alert(ps, kw,
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
        dst->header = xstrdup(ps, f.header);
}

static void opt_http_keep_alive(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    (void)argv;
    if (!nargs_ok(ps, kw, argc, 2, 0, 0))
        return;
    ps->cur->http_keep_alive = !neg;
    if (!neg)
        ps->cur->httpclose = false;
}

static void opt_httpclose(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    (void)argv;
    if (!nargs_ok(ps, kw, argc, 2, 0, 0))
        return;
    ps->cur->httpclose = !neg;
    if (!neg)
        ps->cur->http_keep_alive = false;
}

static void opt_httplog(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    bool clf = false;

    if (neg) {
        alert(ps, kw, "this option cannot be negated");
        return;
    }
    if (!nargs_ok(ps, kw, argc, 2, 0, 1))
        return;
    if (argc == 3) {
        if (strcmp(argv[2], "clf") != 0) {
            alert(ps, kw, "unexpected argument '%s' (expects nothing or 'clf')", argv[2]);
            return;
        }
        clf = true;
    }
    if (!need_cap(ps, kw, SP_CAP_FE))
        return;
    ps->cur->httplog = true;
    ps->cur->httplog_clf = clf;
}

static void opt_dontlognull(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    (void)argv;
    if (nargs_ok(ps, kw, argc, 2, 0, 0) && need_cap(ps, kw, SP_CAP_FE))
        ps->cur->dontlognull = !neg;
}

static void opt_log_separate_errors(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    (void)argv;
    if (nargs_ok(ps, kw, argc, 2, 0, 0) && need_cap(ps, kw, SP_CAP_FE))
        ps->cur->log_separate_errors = !neg;
}

/* option redispatch [N]: N > 0 every Nth retry, N < 0 the Nth retry from the end, 0 never;
 * without N, HAProxy's -1 (the last retry). */
static void opt_redispatch(struct ps *ps, const char *kw, int argc, char **argv, bool neg)
{
    int n = -1;

    if (!nargs_ok(ps, kw, argc, 2, 0, neg ? 0 : 1))
        return;
    if (argc == 3 && !get_int(ps, kw, "retry interval", argv[2], -INT_MAX, INT_MAX, &n))
        return;
    if (!need_cap(ps, kw, SP_CAP_BE))
        return;
    ps->cur->redispatch = !neg && n != 0;
    ps->cur->redispatch_interval = neg ? -1 : n;
}

typedef void (*opt_fn)(struct ps *ps, const char *kw, int argc, char **argv, bool neg);

static const struct {
    const char *name;
    opt_fn fn;
} options[] = {
    {"forwardfor", opt_forwardfor},   {"http-keep-alive", opt_http_keep_alive},
    {"httpclose", opt_httpclose},     {"httplog", opt_httplog},
    {"dontlognull", opt_dontlognull}, {"log-separate-errors", opt_log_separate_errors},
    {"redispatch", opt_redispatch},
};

/* clang-format off */
static const char *const options_unsupported[] = {
    "httpchk", "tcplog", "httpslog", "http-server-close", "abortonclose", "http-buffer-request",
    "allbackups", "tcp-check", "ssl-hello-chk", "mysql-check", "pgsql-check", "redis-check",
    "smtpchk", "ldap-check", "spop-check", "external-check", "http-pretend-keepalive",
    "http-no-delay", "logasap", "log-health-checks", "persist", "prefer-last-server",
    "socket-stats", "splice-auto", "splice-request", "splice-response", "srvtcpka", "clitcpka",
    "tcpka", "tcp-smart-accept", "tcp-smart-connect", "transparent", "accept-invalid-http-request",
    "accept-invalid-http-response", "accept-unsafe-violations-in-http-request",
    "accept-unsafe-violations-in-http-response", "checkcache", "contstats", "disable-h2-upgrade",
    "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server", "http-ignore-probes",
    "http-restrict-req-hdr-names", "http-drop-request-trailers", "http-drop-response-trailers",
    "idle-close-on-response", "independent-streams", "nolinger", "originalto", "dontlog-normal",
    "forwarded", "http_proxy", "http-use-proxy-header", "forceclose",
};
/* clang-format on */

static void do_option(struct ps *ps, int argc, char **argv, bool neg)
{
    char kw[96];

    if (argc < 2) {
        alert(ps, "option", "missing option name");
        return;
    }
    snprintf(kw, sizeof(kw), "%soption %s", neg ? "no " : "", argv[1]);
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (strcmp(argv[1], options[i].name) == 0) {
            options[i].fn(ps, kw, argc, argv, neg);
            return;
        }
    }
    if (in_list(argv[1], options_unsupported, ARRAY_SIZE(options_unsupported)))
        not_supported(ps, kw + (neg ? 3 : 0));
    else
        alert(ps, "option", "unknown option '%s'", argv[1]);
}

static void kw_option(struct ps *ps, int argc, char **argv)
{
    do_option(ps, argc, argv, false);
}

/* `no option X` and `no log` */
static void kw_no(struct ps *ps, int argc, char **argv)
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
    alert(ps, argv[0], "'no' is supported before 'option X' and 'log' only, not before '%s'",
          argc >= 2 ? argv[1] : "");
}

static void kw_default_backend(struct ps *ps, int argc, char **argv)
{
    char *name;

    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1) || !need_cap(ps, argv[0], SP_CAP_FE))
        return;
    name = xstrdup(ps, argv[1]);
    if (!name)
        return;
    /* the last line wins, silently, as in HAProxy */
    free(ps->cur->default_backend);
    ps->cur->default_backend = name;
    ps->cur->default_backend_where = here(ps);
}

/* Keeps an `acl` or `use_backend` line as words, at the tail of `list` (order matters: the
 * first matching use_backend wins). balance/ compiles them and reports their errors. */
static void add_rule(struct ps *ps, struct sp_cfg_rule **list, int argc, char **argv)
{
    struct sp_cfg_rule *r = xcalloc(ps, sizeof(*r));

    if (!r)
        return;
    r->where = here(ps);
    r->words = xcalloc(ps, sizeof(char *) * (size_t)(argc - 1));
    for (int i = 1; r->words && i < argc; i++) {
        r->words[i - 1] = xstrdup(ps, argv[i]);
        if (!r->words[i - 1])
            break;
        r->nwords++;
    }
    if (!r->words || r->nwords != argc - 1) {
        sp__cfg_rules_free(r);
        return;
    }
    while (*list)
        list = &(*list)->next;
    *list = r;
}

static void kw_acl(struct ps *ps, int argc, char **argv)
{
    if (!nargs_ok(ps, argv[0], argc, 1, 2, SP__CFG_MAX_WORDS))
        return;
    if (ps->sec == SEC_DEFAULTS) {
        alert(ps, argv[0], "ACLs in a defaults section are not supported by spillway yet");
        return;
    }
    add_rule(ps, &ps->cur->acls, argc, argv);
}

static void kw_use_backend(struct ps *ps, int argc, char **argv)
{
    if (!nargs_ok(ps, argv[0], argc, 1, 1, SP__CFG_MAX_WORDS) || !need_cap(ps, argv[0], SP_CAP_FE))
        return;
    if (argc > 2 && strcmp(argv[2], "if") && strcmp(argv[2], "unless")) {
        alert(ps, argv[0], "expects 'if' or 'unless' after the backend name, not '%s'", argv[2]);
        return;
    }
    add_rule(ps, &ps->cur->use_backends, argc, argv);
}

/* global `stats socket PATH [mode M] [level L]` and proxy `stats enable|uri|refresh|auth` */
static void kw_stats(struct ps *ps, int argc, char **argv)
{
    if (argc < 2) {
        alert(ps, argv[0], "expects a sub-keyword");
        return;
    }
    if (ps->sec == SEC_GLOBAL) {
        struct sp_cfg_global *g = &ps->cfg->global;
        if (strcmp(argv[1], "socket")) {
            alert(ps, argv[0], "'stats %s' is not supported by spillway yet", argv[1]);
            return;
        }
        if (argc < 3 || argv[2][0] == 0) {
            alert(ps, argv[0], "'stats socket' expects a path");
            return;
        }
        const char *path = argv[2];
        if (!strncmp(path, "unix@", 5))
            path += 5;
        if (path[0] != '/' || strlen(path) >= 100) {
            alert(ps, argv[0], "'stats socket' expects an absolute path of less than 100 bytes");
            return;
        }
        for (int i = 3; i < argc; i += 2) {
            if (i + 1 >= argc) {
                alert(ps, argv[0], "'%s' expects a value", argv[i]);
                return;
            }
            if (!strcmp(argv[i], "mode")) {
                char *end;
                long m = strtol(argv[i + 1], &end, 8);
                if (*end || m < 0 || m > 0777) {
                    alert(ps, argv[0], "bad mode '%s' (octal expected)", argv[i + 1]);
                    return;
                }
                g->stats_socket_mode = (int)m;
            } else if (!strcmp(argv[i], "level")) {
                if (strcmp(argv[i + 1], "user") && strcmp(argv[i + 1], "operator") &&
                    strcmp(argv[i + 1], "admin")) {
                    alert(ps, argv[0], "level must be user, operator or admin, not '%s'",
                          argv[i + 1]);
                    return;
                }
                free(g->stats_socket_level);
                g->stats_socket_level = xstrdup(ps, argv[i + 1]);
            } else {
                alert(ps, argv[0], "'stats socket' option '%s' is not supported by spillway yet",
                      argv[i]);
                return;
            }
        }
        free(g->stats_socket);
        g->stats_socket = xstrdup(ps, path);
        return;
    }
    struct sp_cfg_proxy *px = ps->cur;
    if (!strcmp(argv[1], "enable") && argc == 2) {
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "uri") && argc == 3) {
        if (argv[2][0] != '/') {
            alert(ps, argv[0], "'stats uri' expects a prefix starting with '/'");
            return;
        }
        free(px->stats_uri);
        px->stats_uri = xstrdup(ps, argv[2]);
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "refresh") && argc == 3) {
        if (get_time(ps, argv[0], "refresh delay", argv[2], &px->stats_refresh))
            px->stats_enabled = true;
    } else if (!strcmp(argv[1], "auth") && argc == 3) {
        if (!strchr(argv[2], ':')) {
            alert(ps, argv[0], "'stats auth' expects user:password");
            return;
        }
        char **n = realloc(px->stats_auth, sizeof(char *) * (size_t)(px->nstats_auth + 1));
        if (!n) {
            ps->oom = true;
            return;
        }
        px->stats_auth = n;
        px->stats_auth[px->nstats_auth] = xstrdup(ps, argv[2]);
        if (px->stats_auth[px->nstats_auth])
            px->nstats_auth++;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "enable") || !strcmp(argv[1], "uri") ||
               !strcmp(argv[1], "refresh") || !strcmp(argv[1], "auth")) {
        alert(ps, argv[0], "wrong number of arguments to 'stats %s'", argv[1]);
    } else {
        alert(ps, argv[0], "'stats %s' is not supported by spillway yet", argv[1]);
    }
}

/* only `http-request use-service prometheus-exporter [if|unless COND]` for now */
static void kw_http_request(struct ps *ps, int argc, char **argv)
{
    if (argc < 2) {
        alert(ps, argv[0], "expects an action");
        return;
    }
    if (strcmp(argv[1], "use-service")) {
        alert(ps, argv[0], "action '%s' is not supported by spillway yet", argv[1]);
        return;
    }
    if (argc < 3 || strcmp(argv[2], "prometheus-exporter")) {
        alert(ps, argv[0], "'use-service' supports 'prometheus-exporter' only");
        return;
    }
    if (ps->sec == SEC_DEFAULTS) {
        alert(ps, argv[0], "not supported in a defaults section by spillway yet");
        return;
    }
    if (!need_cap(ps, argv[0], SP_CAP_FE))
        return;
    if (argc > 3 && strcmp(argv[3], "if") && strcmp(argv[3], "unless")) {
        alert(ps, argv[0], "expects 'if' or 'unless' after the service, not '%s'", argv[3]);
        return;
    }
    ps->cur->prometheus = true;
    sp__cfg_rules_free(ps->cur->prometheus_cond);
    ps->cur->prometheus_cond = NULL;
    if (argc > 3)
        add_rule(ps, &ps->cur->prometheus_cond, argc - 2, argv + 2);
}

static void kw_log_format(struct ps *ps, int argc, char **argv)
{
    if (!nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    free(ps->cur->log_format);
    ps->cur->log_format = xstrdup(ps, argv[1]);
}

/* clang-format off */
static const char *const server_opts_unsupported[] = {
    "ssl", "no-ssl", "verify", "verifyhost", "no-verifyhost", "ca-file", "crl-file", "crt", "sni",
    "alpn", "npn", "proto", "send-proxy", "send-proxy-v2", "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn", "proxy-v2-options", "no-send-proxy", "no-send-proxy-v2", "check-ssl",
    "no-check-ssl", "check-send-proxy", "check-sni", "check-alpn", "check-proto",
    "check-via-socks4", "check-reuse-pool", "port", "addr", "agent-check", "no-agent-check",
    "agent-port", "agent-inter", "agent-addr", "agent-send", "cookie", "id", "init-addr",
    "init-state", "resolvers", "resolve-prefer", "resolve-net", "resolve-opts", "observe",
    "error-limit", "on-error", "on-marked-down", "on-marked-up", "slowstart", "minconn", "track",
    "redir", "source", "usesrc", "pool-max-conn", "pool-purge-delay", "pool-low-conn",
    "pool-conn-name", "max-reuse", "tfo", "non-stick", "namespace", "no-check", "no-backup",
    "socks4", "ws", "allow-0rtt", "ciphers", "ciphersuites", "curves", "sigalgs", "client-sigalgs",
    "ssl-min-ver", "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
    "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13",
    "no-tls-tickets", "tls-tickets", "ssl-reuse", "no-ssl-reuse", "set-proxy-v2-tlv-fmt", "shard",
    "guid", "hash-key", "log-proto", "strict-maxconn", "tcp-ut", "mss", "set-mark", "set-tos",
};
/* clang-format on */

static bool server_option(struct ps *ps, int argc, char **argv, int *i, struct sp_cfg_server *s)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct {
        const char *name;
        int min, max;
        int *dst;
    } ints[] = {{"weight", 0, 256, &s->weight},
                {"maxconn", 0, INT_MAX, &s->maxconn},
                {"maxqueue", 0, INT_MAX, &s->maxqueue},
                {"rise", 1, INT_MAX, &s->rise},
                {"fall", 1, INT_MAX, &s->fall}};
    struct {
        const char *name;
        int64_t *dst;
    } times[] = {{"inter", &s->inter}, {"fastinter", &s->fastinter}, {"downinter", &s->downinter}};
    char what[32];

    if (strcmp(opt, "check") == 0) {
        /* accepted so that existing files load, but said out loud: nothing checks yet */
        warn(ps, argv[0],
             "health checks are not performed by spillway yet: server '%s' is "
             "always considered UP",
             s->name ? s->name : "?");
        return (s->check = true);
    }
    if (strcmp(opt, "backup") == 0)
        return (s->backup = true);
    if (strcmp(opt, "disabled") == 0)
        return (s->disabled = true);
    if (strcmp(opt, "enabled") == 0)
        return !(s->disabled = false);
    for (size_t k = 0; k < ARRAY_SIZE(ints); k++) {
        if (strcmp(opt, ints[k].name) == 0) {
            snprintf(what, sizeof(what), "'%s'", opt);
            (*i)++;
            return get_int(ps, argv[0], what, val, ints[k].min, ints[k].max, ints[k].dst);
        }
    }
    for (size_t k = 0; k < ARRAY_SIZE(times); k++) {
        if (strcmp(opt, times[k].name) == 0) {
            int64_t ms;
            snprintf(what, sizeof(what), "'%s'", opt);
            (*i)++;
            if (!get_time(ps, argv[0], what, val, &ms))
                return false;
            if (ms == 0) {
                alert(ps, argv[0], "%s: expects a delay above zero", what);
                return false;
            }
            *times[k].dst = ms;
            return true;
        }
    }
    if (in_list(opt, server_opts_unsupported, ARRAY_SIZE(server_opts_unsupported)))
        alert(ps, argv[0], "server option '%s' not supported by spillway yet", opt);
    else
        alert(ps, argv[0], "unknown server option '%s'", opt);
    return false;
}

/* server NAME ADDR:PORT [options] */
static void kw_server(struct ps *ps, int argc, char **argv)
{
    struct sp_cfg_proxy *px = ps->cur;
    struct sp_cfg_server *s, **tail;
    int r;

    if (argc < 3) {
        alert(ps, argv[0], "missing argument (expects NAME ADDR:PORT [options])");
        return;
    }
    if (!valid_name(argv[1])) {
        alert(ps, argv[0], "invalid server name '%s'", argv[1]);
        return;
    }
    for (tail = &px->servers; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, argv[1]) == 0) {
            alert(ps, argv[0], "server '%s' already declared at %s:%d in %s '%s'", argv[1],
                  (*tail)->where.file, (*tail)->where.line, sec_names[ps->sec], px->name);
            return;
        }
    }
    s = xcalloc(ps, sizeof(*s));
    if (!s)
        return;
    s->weight = 1;
    s->rise = 2;
    s->fall = 3;
    s->inter = s->fastinter = s->downinter = SP_TIME_UNSET;
    s->where = here(ps);
    s->name = xstrdup(ps, argv[1]);
    s->addr_text = xstrdup(ps, argv[2]);
    if (!s->name || !s->addr_text) {
        free(s->name);
        free(s->addr_text);
        free(s);
        return;
    }
    /* the server is kept even when a part of its line is wrong, so that a later duplicate
     * still gets reported */
    *tail = s;
    s->id = ++px->nservers;
    r = sp_parse_addr(argv[2], true, &s->addr, &s->addrlen);
    if (r == -ENOENT)
        alert(ps, argv[0], "could not resolve address '%s'", argv[2]);
    else if (r < 0 ||
             (s->addr.ss_family != AF_UNIX && ((struct sockaddr_in *)&s->addr)->sin_port == 0))
        alert(ps, argv[0],
              "invalid address '%s' (expects HOST:PORT, [IPv6]:PORT or "
              "unix@PATH, port 1-65535)",
              argv[2]);
    /* stop at the first wrong option: an unknown one may take arguments */
    for (int i = 3; i < argc; i++)
        if (!server_option(ps, argc, argv, &i, s))
            break;
}

/* clang-format off */
static const char *const balance_unsupported[] = {
    "static-rr", "leastconn", "first", "source", "uri", "url_param", "random", "hash", "hdr",
    "rdp-cookie",
};
/* clang-format on */

static void kw_balance(struct ps *ps, int argc, char **argv)
{
    char algo[32];
    size_t n;

    if (!nargs_ok(ps, argv[0], argc, 1, 1, INT_MAX))
        return;
    if (strcmp(argv[1], "roundrobin") == 0) {
        if (nargs_ok(ps, argv[0], argc, 1, 1, 1) && need_cap(ps, argv[0], SP_CAP_BE))
            ps->cur->balance = SP_BALANCE_ROUNDROBIN;
        return;
    }
    /* "random(3)", "hdr(host)": the name before the parenthesis */
    n = strcspn(argv[1], "(");
    snprintf(algo, sizeof(algo), "%.*s", (int)(n < sizeof(algo) ? n : sizeof(algo) - 1), argv[1]);
    if (in_list(algo, balance_unsupported, ARRAY_SIZE(balance_unsupported)))
        alert(ps, argv[0], "algorithm '%s' not supported by spillway yet", argv[1]);
    else
        alert(ps, argv[0], "unknown algorithm '%s'", argv[1]);
}

static void kw_retries(struct ps *ps, int argc, char **argv)
{
    int v;

    if (nargs_ok(ps, argv[0], argc, 1, 1, 1) &&
        get_int(ps, argv[0], "retry count", argv[1], 0, INT_MAX, &v) &&
        need_cap(ps, argv[0], SP_CAP_BE))
        ps->cur->retries = v;
}

static void kw_fullconn(struct ps *ps, int argc, char **argv)
{
    int v;

    if (nargs_ok(ps, argv[0], argc, 1, 1, 1) &&
        get_int(ps, argv[0], "connection count", argv[1], 0, INT_MAX, &v) &&
        need_cap(ps, argv[0], SP_CAP_BE))
        ps->cur->fullconn = v;
}

static void kw_removed(struct ps *ps, int argc, char **argv)
{
    const char *repl = strcmp(argv[0], "clitimeout") == 0   ? "timeout client"
                       : strcmp(argv[0], "srvtimeout") == 0 ? "timeout server"
                                                            : "timeout connect";
    (void)argc;
    alert(ps, argv[0], "removed from HAProxy's language; use '%s'", repl);
}

/* ---------------------------------------------------------------------------------------- */
/* the keyword table */

struct kw {
    const char *name;
    unsigned secs; /* S_*: the sections it may appear in */
    kw_fn fn;      /* NULL: HAProxy knows it, spillway does not support it yet */
};

static const struct kw keywords[] = {
    /* global */
    {"nbthread", S_GLOBAL, kw_nbthread},
    {"cpu-map", S_GLOBAL, kw_cpu_map},
    {"maxconn", S_GLOBAL | S_PROXY, kw_maxconn},
    {"tune.bufsize", S_GLOBAL, kw_bufsize},
    {"tune.maxaccept", S_GLOBAL, kw_maxaccept},
    {"tune.h2.max-concurrent-streams", S_GLOBAL, kw_h2_streams},
    {"tune.h2.fe.max-concurrent-streams", S_GLOBAL, kw_h2_streams},
    {"hard-stop-after", S_GLOBAL, kw_hard_stop_after},
    {"tune.server.default-maxconn", S_GLOBAL, kw_server_default_maxconn},
    {"decision-log", S_GLOBAL, kw_decision_log},
    {"pidfile", S_GLOBAL, kw_pidfile},
    {"daemon", S_GLOBAL, kw_daemon},
    {"log", S_GLOBAL | S_PROXY, kw_log},
    /* proxies and defaults */
    {"mode", S_PROXY, kw_mode},
    {"bind", S_FE | S_LI, kw_bind},
    {"backlog", S_PROXY, kw_backlog},
    {"timeout", S_PROXY, kw_timeout},
    {"option", S_PROXY, kw_option},
    {"no", S_PROXY, kw_no},
    {"default_backend", S_PROXY, kw_default_backend},
    {"acl", S_FE | S_BE | S_LI | S_DEF, kw_acl},
    {"use_backend", S_FE | S_LI, kw_use_backend},
    {"stats", S_GLOBAL | S_PROXY, kw_stats},
    {"http-request", S_FE | S_LI | S_DEF, kw_http_request},
    {"log-format", S_PROXY, kw_log_format},
    {"server", S_BE | S_LI, kw_server},
    {"balance", S_PROXY, kw_balance},
    {"retries", S_PROXY, kw_retries},
    {"fullconn", S_PROXY, kw_fullconn},
    {"clitimeout", S_PROXY, kw_removed},
    {"srvtimeout", S_PROXY, kw_removed},
    {"contimeout", S_PROXY, kw_removed},
};

/* HAProxy keywords spillway does not support yet: an error naming the keyword. */
/* clang-format off */
static const char *const global_unsupported[] = {
    "user", "group", "uid", "gid", "chroot", "ca-base", "crt-base", "nbproc",
    "master-worker", "ulimit-n", "maxsslconn", "maxconnrate", "maxsessrate", "maxsslrate",
    "maxcomprate", "maxcompcpuusage", "maxpipes", "maxzlibmem", "spread-checks", "node",
    "description", "log-send-hostname", "log-tag", "setenv", "presetenv", "unsetenv", "resetenv",
    "lua-load", "lua-load-per-thread", "lua-prepend-path", "expose-experimental-directives",
    "insecure-fork-wanted", "insecure-setuid-wanted", "h1-case-adjust", "h1-case-adjust-file",
    "server-state-file", "server-state-base", "localpeer", "numa-cpu-mapping", "cpu-policy",
    "cpu-set", "thread-groups", "thread-group", "max-threads-per-group", "thread-hard-limit",
    "fd-hard-limit", "quiet", "zero-warning", "busy-polling", "noepoll", "nopoll", "nosplice",
    "nogetaddrinfo", "noreuseport", "profiling.tasks", "profiling.memory", "set-dumpable",
    "strict-limits", "grace", "close-spread-time", "mworker-max-reloads", "external-check",
    "default-path", "unix-bind", "issuers-chain-path", "pp2-never-send-local", "stats-file",
    "cluster-secret", "dns-accept-family", "limited-quic", "prealloc-fd", "debug",
    "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites", "ssl-default-bind-curves",
    "ssl-default-bind-options", "ssl-default-bind-sigalgs", "ssl-default-server-ciphers",
    "ssl-default-server-ciphersuites", "ssl-default-server-curves", "ssl-default-server-options",
    "ssl-default-server-sigalgs", "ssl-dh-param-file", "ssl-server-verify", "ssl-engine",
    "ssl-mode-async", "ssl-load-extra-files", "ssl-load-extra-del-ext", "ssl-propquery",
    "ssl-provider", "ssl-provider-path", "ssl-skip-self-issued-ca", "ssl-security-level",
    "tune.ssl.default-dh-param", "tune.ssl.cachesize", "tune.ssl.lifetime", "tune.ssl.maxrecord",
    "tune.ssl.force-private-cache", "tune.ssl.capture-buffer-size", "tune.ssl.ssl-ctx-cache-size",
    "tune.ssl.keylog", "tune.http.maxhdr", "tune.http.cookielen", "tune.http.logurilen",
    "tune.maxrewrite", "tune.idletimer", "tune.rcvbuf.client", "tune.sndbuf.client",
    "tune.rcvbuf.server", "tune.sndbuf.server", "tune.rcvbuf.frontend", "tune.rcvbuf.backend",
    "tune.sndbuf.frontend", "tune.sndbuf.backend", "tune.h2.header-table-size",
    "tune.h2.initial-window-size", "tune.h2.fe.initial-window-size",
    "tune.h2.be.initial-window-size", "tune.h2.max-frame-size",
    "tune.h2.be.max-concurrent-streams", "tune.h2.fe.max-total-streams",
    "tune.h2.fe.glitches-threshold", "tune.h2.be.glitches-threshold", "tune.listener.multi-queue",
    "tune.listener.default-shards", "tune.runqueue-depth", "tune.maxpollevents",
    "tune.idle-pool.shared", "tune.comp.maxlevel", "tune.pattern.cache-size", "tune.pipesize",
    "tune.recv_enough", "tune.buffers.limit", "tune.buffers.reserve", "tune.sched.low-latency",
    "tune.fd.edge-triggered", "tune.ring.queues", "tune.disable-zero-copy-forwarding",
    "tune.disable-fast-forward", "tune.memory.hot-size", "tune.lua.maxmem",
    "tune.lua.session-timeout", "tune.lua.task-timeout", "tune.lua.service-timeout",
    "tune.lua.forced-yield", "tune.vars.global-max-size", "tune.vars.proc-max-size",
    "tune.vars.reqres-max-size", "tune.vars.sess-max-size", "tune.vars.txn-max-size",
    "tune.zlib.memlevel", "tune.zlib.windowsize", "tune.stick-counters",
    "tune.max-checks-per-thread",
};
/* clang-format on */

/* clang-format off */
static const char *const proxy_unsupported[] = {
    "use-server", "http-response", "http-after-response",
    "errorfile", "errorfiles", "errorloc", "errorloc302", "errorloc303", "http-error",
    "http-check", "log-format-sd", "error-log-format", "log-tag", "log-steps",
    "capture", "cookie", "dynamic-cookie-key", "stick-table", "stick", "redirect", "tcp-request",
    "tcp-response", "unique-id-format", "unique-id-header", "compression", "filter", "email-alert",
    "description", "id", "guid", "default-server", "server-template", "monitor-uri", "monitor",
    "hash-type", "hash-balance-factor", "hash-preserve-affinity", "persist", "force-persist",
    "ignore-persist", "dispatch", "source", "http-reuse", "http-send-name-header", "tcp-check",
    "external-check", "load-server-state-from-file", "server-state-file-name", "rate-limit",
    "retry-on", "max-keep-alive-queue", "max-session-srv-conns", "declare", "enabled", "disabled",
    "bind-process", "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "srvtcpka-cnt",
    "srvtcpka-idle", "srvtcpka-intvl", "use-fcgi-app", "default",
};
/* clang-format on */

/* Sections HAProxy has and spillway does not: reported once, their lines skipped. */
/* clang-format off */
static const char *const sections_unsupported[] = {
    "resolvers", "peers", "userlist", "program", "http-errors", "ring", "mailers", "cache",
    "crt-store", "traces", "log-forward", "fcgi-app", "acme",
};
/* clang-format on */

static void section_list(unsigned secs, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int s = SEC_GLOBAL; s <= SEC_LISTEN; s++) {
        if (!(secs & (1u << s)))
            continue;
        int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", sec_names[s]);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
}

static void dispatch(struct ps *ps, int argc, char **argv)
{
    const char *kw = argv[0];
    unsigned here_bit = 1u << ps->sec, found = 0;
    char where[64];

    if (strcmp(kw, "global") == 0) {
        section_start(ps, SEC_GLOBAL, argc, argv);
        return;
    }
    if (strcmp(kw, "defaults") == 0) {
        section_start(ps, SEC_DEFAULTS, argc, argv);
        return;
    }
    if (strcmp(kw, "frontend") == 0) {
        section_start(ps, SEC_FE, argc, argv);
        return;
    }
    if (strcmp(kw, "backend") == 0) {
        section_start(ps, SEC_BE, argc, argv);
        return;
    }
    if (strcmp(kw, "listen") == 0) {
        section_start(ps, SEC_LISTEN, argc, argv);
        return;
    }
    if (in_list(kw, sections_unsupported, ARRAY_SIZE(sections_unsupported))) {
        alert(ps, kw, "section not supported by spillway yet; its lines are skipped");
        ps->sec = SEC_SKIP;
        ps->cur = NULL;
        return;
    }
    if (ps->sec == SEC_SKIP)
        return;
    if (ps->sec == SEC_NONE) {
        alert(ps, kw,
              "keyword outside of any section (expects global, defaults, frontend, "
              "backend or listen first)");
        return;
    }
    if (ps->sec != SEC_GLOBAL && !ps->cur)
        return; /* the section could not be created (out of memory) */

    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        if (strcmp(kw, keywords[i].name) != 0)
            continue;
        if (keywords[i].secs & here_bit) {
            keywords[i].fn(ps, argc, argv);
            return;
        }
        found |= keywords[i].secs;
    }
    if (ps->sec == SEC_GLOBAL && in_list(kw, global_unsupported, ARRAY_SIZE(global_unsupported))) {
        not_supported(ps, kw);
        return;
    }
    if (ps->sec != SEC_GLOBAL && in_list(kw, proxy_unsupported, ARRAY_SIZE(proxy_unsupported))) {
        not_supported(ps, kw);
        return;
    }
    if (in_list(kw, global_unsupported, ARRAY_SIZE(global_unsupported)))
        found |= S_GLOBAL;
    if (in_list(kw, proxy_unsupported, ARRAY_SIZE(proxy_unsupported)))
        found |= S_PROXY;
    if (found) {
        section_list(found, where, sizeof(where));
        alert(ps, kw, "not allowed in a '%s' section (only in: %s)", sec_names[ps->sec], where);
        return;
    }
    alert(ps, kw, "unknown keyword '%s' in '%s' section", kw, sec_names[ps->sec]);
}

/* ---------------------------------------------------------------------------------------- */
/* lines and words */

static void parse_line(struct ps *ps, const char *line, size_t len, char *work)
{
    char *argv[SP__CFG_MAX_WORDS + 1];
    const char *err = NULL;
    int argc;

    if (len && line[len - 1] == '\r') /* CRLF files */
        len--;
    if (len > SP__CFG_MAX_LINE) {
        alert(ps, NULL, "line too long (%zu bytes, at most %d)", len, SP__CFG_MAX_LINE);
        return;
    }
    if (memchr(line, '\0', len)) {
        alert(ps, NULL, "NUL byte in line");
        return;
    }
    argc = sp__cfg_tokenize(line, len, work, argv, &err);
    if (argc < 0)
        alert(ps, NULL, "%s", err);
    if (argc <= 0)
        return;
    argv[argc] = NULL;
    dispatch(ps, argc, argv);
}

static int parse(const char *buf, size_t len, const char *name, FILE *diag,
                 struct sp_config **ret_cfg)
{
    struct sp_config *cfg;
    struct ps ps;
    char *work;
    size_t pos = 0;
    int ret;

    cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    sp__cfg_global_init(&cfg->global);
    cfg->_file = strdup(name ? name : "<string>");
    /* a tokenized line is never longer than its text, plus one NUL */
    work = malloc(SP__CFG_MAX_LINE + 2);
    if (!cfg->_file || !work) {
        free(work);
        sp_config_free(cfg);
        return -ENOMEM;
    }
    memset(&ps, 0, sizeof(ps));
    ps.cfg = cfg;
    ps.diag = diag;
    ps.tail = &cfg->proxies;

    while (pos < len && !ps.oom) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;

        ps.line++;
        parse_line(&ps, buf + pos, end - pos, work);
        pos = end + 1;
    }
    free(work);
    for (struct sp_cfg_proxy *d = ps.defs, *next; d; d = next) {
        next = d->next;
        sp__cfg_proxy_free(d);
    }
    if (!ps.oom)
        sp__cfg_check(cfg, diag);
    if (ps.oom)
        ret = -ENOMEM;
    else if (cfg->nerrors)
        ret = -EINVAL;
    else
        ret = 0;
    if (ret < 0) {
        sp_config_free(cfg);
        return ret;
    }
    *ret_cfg = cfg;
    return 0;
}

int sp_config_parse_string(const char *text, const char *name, FILE *diag,
                           struct sp_config **ret_cfg)
{
    if (!text)
        return -EINVAL;
    return parse(text, strlen(text), name, diag, ret_cfg);
}

int sp_config_load(const char *path, FILE *diag, struct sp_config **ret_cfg)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;
    FILE *f;
    int ret;

    f = fopen(path, "rb");
    if (!f)
        return -errno;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            char *nbuf;
            if (ncap > MAX_FILE_SIZE) {
                ret = -EFBIG;
                goto out;
            }
            nbuf = realloc(buf, ncap);
            if (!nbuf) {
                ret = -ENOMEM;
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                ret = -EIO;
                goto out;
            }
            break;
        }
    }
    ret = parse(buf, len, path, diag, ret_cfg);
out:
    free(buf);
    fclose(f);
    return ret;
}
