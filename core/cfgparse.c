/* core/cfgparse.c - the configuration line parser: HAProxy's tokenizing rules, its sections,
 * the keyword table and the keywords of the global section (and `maxconn` and `log`, which
 * proxies share), each stored into the model of core/config.h. The parser state and the
 * helpers below are shared through core/config-int.h with core/cfgproxy.c (the proxy
 * keywords) and core/cfgrules.c (acl, use_backend, http-request and stats).
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
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "core/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* a configuration file bigger than this is refused rather than read into memory */
#define MAX_FILE_SIZE (64u * 1024 * 1024)

#define S_GLOBAL (1u << SP__CFG_SEC_GLOBAL)
#define S_DEF    (1u << SP__CFG_SEC_DEFAULTS)
#define S_FE     (1u << SP__CFG_SEC_FE)
#define S_BE     (1u << SP__CFG_SEC_BE)
#define S_LI     (1u << SP__CFG_SEC_LISTEN)
#define S_PROXY  (S_DEF | S_FE | S_BE | S_LI)

/* clang-format off */
const char *const sp__cfg_sec_names[] = {
    "none", "global", "defaults", "frontend", "backend", "listen", "skipped", "resolvers",
    "http-errors", "userlist",
};
/* clang-format on */

typedef void (*kw_fn)(struct sp__cfg_parser *ps, int argc, char **argv);

/* ---------------------------------------------------------------------------------------- */
/* helpers */

struct sp_cfg_where sp__cfg_here(const struct sp__cfg_parser *ps)
{
    struct sp_cfg_where w = {.file = ps->cfg->_file, .line = ps->line};
    return w;
}

void sp__cfg_alert(struct sp__cfg_parser *ps, const char *kw, const char *fmt, ...)
{
    struct sp_cfg_where w = sp__cfg_here(ps);
    va_list ap;

    va_start(ap, fmt);
    sp__cfg_vdiag(ps->cfg, ps->diag, true, &w, kw, fmt, ap);
    va_end(ap);
}

void sp__cfg_warn(struct sp__cfg_parser *ps, const char *kw, const char *fmt, ...)
{
    struct sp_cfg_where w = sp__cfg_here(ps);
    va_list ap;

    va_start(ap, fmt);
    sp__cfg_vdiag(ps->cfg, ps->diag, false, &w, kw, fmt, ap);
    va_end(ap);
}

void sp__cfg_not_supported(struct sp__cfg_parser *ps, const char *kw)
{
    sp__cfg_alert(ps, kw, "keyword not supported by spillway yet");
}

void *sp__cfg_xcalloc(struct sp__cfg_parser *ps, size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        ps->oom = true;
    return p;
}

char *sp__cfg_xstrdup(struct sp__cfg_parser *ps, const char *s)
{
    char *d = strdup(s);
    if (!d)
        ps->oom = true;
    return d;
}

bool sp__cfg_in_list(const char *word, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(word, list[i]) == 0)
            return true;
    return false;
}

/* Checks that a keyword got between `min` and `max` arguments after its `skip` words. */
bool sp__cfg_nargs_ok(struct sp__cfg_parser *ps, const char *kw, int argc, int skip, int min,
                      int max)
{
    int n = argc - skip;

    if (n < min) {
        sp__cfg_alert(ps, kw, "missing argument (expects %d, got %d)", min, n);
        return false;
    }
    if (n > max) {
        sp__cfg_alert(ps, kw, "too many arguments (expects at most %d, got %d)", max, n);
        return false;
    }
    return true;
}

/* Decimal integer within [min, max]; only a leading '-' when min < 0. */
bool sp__cfg_get_int(struct sp__cfg_parser *ps, const char *kw, const char *what, const char *txt,
                     long long min, long long max, int *out)
{
    const char *p = txt;
    bool neg = false;
    long long v = 0;

    if (!txt) {
        sp__cfg_alert(ps, kw, "%s: missing value", what);
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
    sp__cfg_alert(ps, kw, "%s: invalid value '%s' (expects an integer between %lld and %lld)", what,
                  txt, min, max);
    return false;
}

bool sp__cfg_get_time(struct sp__cfg_parser *ps, const char *kw, const char *what, const char *txt,
                      int64_t *out)
{
    if (!txt) {
        sp__cfg_alert(ps, kw, "%s: missing value", what);
        return false;
    }
    if (sp_parse_time_ms(txt, out) < 0) {
        sp__cfg_alert(
            ps, kw,
            "%s: invalid time '%s' (expects a number with an optional unit us, ms, s, m, h "
            "or d, at most 2147483647 ms)",
            what, txt);
        return false;
    }
    return true;
}

/* A proxy keyword that HAProxy accepts but ignores with a warning outside its side (e.g.
 * `timeout client` in a backend). Defaults sections serve both sides. */
bool sp__cfg_need_cap(struct sp__cfg_parser *ps, const char *kw, unsigned cap)
{
    const struct sp_cfg_proxy *px = ps->cur;

    if (ps->sec == SP__CFG_SEC_DEFAULTS || (px->cap & cap))
        return true;
    sp__cfg_warn(ps, kw, "ignored: %s '%s' has no %s part", sp__cfg_sec_names[ps->sec], px->name,
                 cap == SP_CAP_FE ? "frontend" : "backend");
    return false;
}

bool sp__cfg_valid_name(const char *s)
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

static struct sp_cfg_proxy *find_defaults(struct sp__cfg_parser *ps, const char *name)
{
    for (struct sp_cfg_proxy *d = ps->defs; d; d = d->next)
        if (d->name && strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

/* Starts a section from its line: `global`, `defaults [NAME] [from NAME]`,
 * `frontend|backend|listen NAME [from NAME]`. */
static void section_start(struct sp__cfg_parser *ps, enum sp__cfg_sec sec, int argc, char **argv)
{
    const char *kw = argv[0], *name = NULL, *from = NULL;
    const struct sp_cfg_proxy *base;
    struct sp_cfg_proxy *px;
    int i = 1;

    ps->sec = sec;
    ps->cur = NULL;
    if (sec == SP__CFG_SEC_GLOBAL) {
        if (argc > 1)
            sp__cfg_alert(ps, kw, "takes no argument");
        return;
    }
    if (i < argc && strcmp(argv[i], "from") != 0)
        name = argv[i++];
    if (i < argc && strcmp(argv[i], "from") == 0) {
        if (i + 1 >= argc)
            sp__cfg_alert(ps, kw, "'from' needs the name of a defaults section");
        else
            from = argv[i + 1];
        i += 2;
    }
    if (i < argc)
        sp__cfg_alert(ps, kw, "unexpected argument '%s' (expects [NAME] [from DEFAULTS])", argv[i]);
    if (!name && sec != SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw, "missing name");
        name = "";
    } else if (name && !sp__cfg_valid_name(name)) {
        sp__cfg_alert(ps, kw, "invalid name '%s' (letters, digits, '-', '_', '.' and ':' only)",
                      name);
    }

    base = ps->last_def;
    if (from) {
        base = find_defaults(ps, from);
        if (!base) {
            sp__cfg_alert(ps, kw, "unable to find defaults section '%s'", from);
            base = ps->last_def;
        }
    } else if (sec == SP__CFG_SEC_DEFAULTS) {
        base = NULL; /* a new defaults section starts from the built-in values */
    }

    px = sp__cfg_xcalloc(ps, sizeof(*px));
    if (!px)
        return;
    sp__cfg_proxy_init(px);
    px->where = sp__cfg_here(ps);
    if (base && sp__cfg_proxy_inherit(px, base) < 0)
        ps->oom = true;
    if (name) {
        px->name = sp__cfg_xstrdup(ps, name);
        if (!px->name) {
            sp__cfg_proxy_free(px);
            return;
        }
    }
    if (sec == SP__CFG_SEC_DEFAULTS) {
        px->cap = SP_CAP_FE | SP_CAP_BE;
        px->next = ps->defs;
        ps->defs = px;
        ps->last_def = px;
        ps->cur = px;
        return;
    }
    px->cap = sec == SP__CFG_SEC_FE   ? SP_CAP_FE
              : sec == SP__CFG_SEC_BE ? SP_CAP_BE
                                      : SP_CAP_FE | SP_CAP_BE;
    /* a frontend and a backend may share a name; two of one side, or a listen and
     * anything, may not */
    for (const struct sp_cfg_proxy *o = ps->cfg->proxies; o; o = o->next) {
        if ((o->cap & px->cap) && strcmp(o->name, px->name) == 0) {
            const char *okind = o->cap == (SP_CAP_FE | SP_CAP_BE) ? "listen"
                                : o->cap == SP_CAP_FE             ? "frontend"
                                                                  : "backend";
            sp__cfg_alert(ps, kw, "name '%s' already used by %s declared at %s:%d", px->name, okind,
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

static void kw_nbthread(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "thread count", argv[1], 1, 64, &ps->cfg->global.nbthread);
}

/* cpu-map [auto:]GROUP[/THREADS] CPUS...
 * As in HAProxy, the part before '/' is a thread group and spillway has exactly one (1, or
 * "all"); without '/THREADS' every thread of the group is meant, so `cpu-map 1 0-3` lets all
 * threads run on CPUs 0-3. `auto:` hands out one CPU per thread in ascending order, so both
 * sets must have the same size. */
static void kw_cpu_map(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    const char *spec = argv[1], *slash, *threads_txt;
    char group[16];
    bool automap = false;
    uint64_t threads;
    cpu_set_t cpus;
    size_t glen;

    if (argc < 3) {
        sp__cfg_alert(ps, argv[0], "missing argument (expects [auto:]GROUP[/THREADS] CPU-LIST)");
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
        sp__cfg_alert(ps, argv[0], "invalid thread group in '%s'", argv[1]);
        return;
    }
    memcpy(group, spec, glen);
    group[glen] = '\0';
    if (strcmp(group, "1") != 0 && strcmp(group, "all") != 0) {
        sp__cfg_alert(ps, argv[0], "invalid thread group '%s' (spillway has one group: 1)", group);
        return;
    }
    if (!sp__cfg_parse_thread_set(threads_txt, &threads)) {
        sp__cfg_alert(ps, argv[0],
                      "invalid thread set '%s' (expects 'all' or threads 1-64 as N, N-M, "
                      "lists with ',')",
                      threads_txt);
        return;
    }
    CPU_ZERO(&cpus);
    for (int i = 2; i < argc; i++) {
        if (!sp__cfg_parse_cpu_list(argv[i], &cpus)) {
            sp__cfg_alert(ps, argv[0], "invalid CPU list '%s' (expects N, N-M, lists with ',')",
                          argv[i]);
            return;
        }
    }
    if (automap) {
        int ncpu = CPU_COUNT(&cpus), nthr = 0, cpu = -1;

        if (threads == UINT64_MAX) /* all: as many threads as CPUs */
            threads = ncpu >= 64 ? UINT64_MAX : (UINT64_C(1) << ncpu) - 1;
        nthr = __builtin_popcountll(threads);
        if (nthr != ncpu) {
            sp__cfg_alert(ps, argv[0],
                          "'auto:' needs as many threads as CPUs (%d threads, %d CPUs)", nthr,
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
static void kw_maxconn(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (ps->sec == SP__CFG_SEC_GLOBAL) {
        if (sp__cfg_get_int(ps, argv[0], "connection count", argv[1], 0, INT_MAX,
                            &ps->cfg->global.maxconn))
            ps->cfg->global.maxconn_where = sp__cfg_here(ps);
        return;
    }
    int v;
    if (sp__cfg_get_int(ps, argv[0], "connection count", argv[1], 0, INT_MAX, &v) &&
        sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        ps->cur->maxconn = v;
}

static void kw_bufsize(struct sp__cfg_parser *ps, int argc, char **argv)
{
    uint64_t v;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (sp_parse_size(argv[1], &v) < 0 || v < 1024 || v > (1u << 30)) {
        sp__cfg_alert(ps, argv[0],
                      "invalid size '%s' (expects 1024 to 1g, with an optional k, m or g)",
                      argv[1]);
        return;
    }
    ps->cfg->global.bufsize = (int)v;
}

static void kw_spread_checks(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "percentage", argv[1], 0, 50, &ps->cfg->global.spread_checks);
}

static void kw_maxaccept(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (strcmp(argv[1], "-1") == 0) { /* HAProxy's "unlimited" */
        ps->cfg->global.maxaccept = INT_MAX;
        return;
    }
    sp__cfg_get_int(ps, argv[0], "accept count", argv[1], 1, INT_MAX, &ps->cfg->global.maxaccept);
}

static void kw_h2_streams(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    int *dst = strcmp(argv[0], "tune.h2.max-concurrent-streams") == 0
                   ? &g->h2_max_concurrent_streams
                   : &g->h2_fe_max_concurrent_streams;

    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "stream count", argv[1], 1, INT_MAX, dst);
}

/* spillway's own: upstream connections per server when its line has no maxconn */
static void kw_server_default_maxconn(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "connection count", argv[1], 1, 1000000,
                        &ps->cfg->global.server_default_maxconn);
}

/* spillway's own: routing decisions kept per worker for `show decisions` */
static void kw_decision_log(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "entry count", argv[1], 0, 1000000,
                        &ps->cfg->global.decision_log);
}

static void kw_hard_stop_after(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_time(ps, argv[0], "delay", argv[1], &ps->cfg->global.hard_stop_after);
}

static void kw_pidfile(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (g->pidfile) {
        sp__cfg_warn(ps, argv[0], "already set to '%s'; this line is ignored", g->pidfile);
        return;
    }
    g->pidfile = sp__cfg_xstrdup(ps, argv[1]);
}

static void kw_daemon(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 0))
        ps->cfg->global.daemon = true;
}

bool sp__cfg_get_uid(struct sp__cfg_parser *ps, const char *kw, const char *opt, const char *val,
                     int *ret)
{
    if (!val) {
        sp__cfg_alert(ps, kw, "'%s' expects a value", opt);
        return false;
    }
    if (strcmp(opt, "uid") == 0 || strcmp(opt, "gid") == 0)
        return sp__cfg_get_int(ps, kw, opt, val, 0, INT_MAX, ret);
    if (strcmp(opt, "user") == 0) {
        struct passwd *pw = getpwnam(val);
        if (!pw) {
            sp__cfg_alert(ps, kw, "unknown user '%s'", val);
            return false;
        }
        *ret = (int)pw->pw_uid;
        return true;
    }
    struct group *gr = getgrnam(val);
    if (!gr) {
        sp__cfg_alert(ps, kw, "unknown group '%s'", val);
        return false;
    }
    *ret = (int)gr->gr_gid;
    return true;
}

/* unix-bind [prefix P] [mode M] [user U] [uid N] [group G] [gid N]: what every unix@ bind
 * declared after it starts from */
static void kw_unix_bind(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects prefix, mode, user, uid, group or gid");
        return;
    }
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            sp__cfg_alert(ps, argv[0], "'%s' expects a value", opt);
            return;
        }
        if (strcmp(opt, "prefix") == 0) {
            free(g->unix_prefix);
            g->unix_prefix = sp__cfg_xstrdup(ps, val);
        } else if (strcmp(opt, "mode") == 0) {
            char *end;
            long m = strtol(val, &end, 8);
            if (!*val || *end || m < 0 || m > 07777) {
                sp__cfg_alert(ps, argv[0], "bad mode '%s' (octal expected)", val);
                return;
            }
            g->unix_mode = (int)m;
        } else if (strcmp(opt, "user") == 0 || strcmp(opt, "uid") == 0) {
            if (!sp__cfg_get_uid(ps, argv[0], opt, val, &g->unix_uid))
                return;
        } else if (strcmp(opt, "group") == 0 || strcmp(opt, "gid") == 0) {
            if (!sp__cfg_get_uid(ps, argv[0], opt, val, &g->unix_gid))
                return;
        } else {
            sp__cfg_alert(ps, argv[0],
                          "unknown option '%s' (expects prefix, mode, user, uid, group or gid)",
                          opt);
            return;
        }
    }
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
static void kw_log(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_log *l, **tail;
    const char *format = NULL;
    int len = 0, i = 2, r;

    if (argc == 2 && strcmp(argv[1], "global") == 0) {
        if (ps->sec == SP__CFG_SEC_GLOBAL)
            sp__cfg_alert(ps, argv[0], "'log global' is only valid in a proxy or defaults section");
        else
            ps->cur->log_global = true;
        return;
    }
    if (argc < 3) {
        sp__cfg_alert(ps, argv[0],
                      "missing argument (expects 'global' or TARGET [len N] "
                      "[format F] FACILITY [LEVEL])");
        return;
    }
    r = sp__cfg_check_log_target(argv[1]);
    if (r == -ENOENT) {
        sp__cfg_alert(ps, argv[0], "could not resolve address '%s'", argv[1]);
        return;
    }
    if (r < 0) {
        sp__cfg_alert(ps, argv[0],
                      "invalid log target '%s' (expects stdout, stderr, an absolute path "
                      "or [udp@]ADDRESS[:PORT])",
                      argv[1]);
        return;
    }
    for (;;) {
        if (i + 1 < argc && strcmp(argv[i], "len") == 0) {
            if (!sp__cfg_get_int(ps, argv[0], "'len'", argv[i + 1], 80, 65535, &len))
                return;
            i += 2;
        } else if (i + 1 < argc && strcmp(argv[i], "format") == 0) {
            format = argv[i + 1];
            if (sp__cfg_in_list(format, log_formats_unsupported,
                                ARRAY_SIZE(log_formats_unsupported))) {
                sp__cfg_alert(ps, argv[0], "log format '%s' not supported by spillway yet", format);
                return;
            }
            if (strcmp(format, "raw") != 0 && strcmp(format, "rfc3164") != 0 &&
                strcmp(format, "rfc5424") != 0) {
                sp__cfg_alert(ps, argv[0],
                              "unknown log format '%s' (expects raw, rfc3164 or rfc5424)", format);
                return;
            }
            i += 2;
        } else if (i < argc && strcmp(argv[i], "sample") == 0) {
            sp__cfg_alert(ps, argv[0], "'sample' not supported by spillway yet");
            return;
        } else {
            break;
        }
    }
    if (i >= argc) {
        sp__cfg_alert(ps, argv[0], "missing facility");
        return;
    }
    if (!sp__cfg_in_list(argv[i], log_facilities, ARRAY_SIZE(log_facilities))) {
        sp__cfg_alert(ps, argv[0], "unknown facility '%s'", argv[i]);
        return;
    }
    if (i + 1 < argc && !sp__cfg_in_list(argv[i + 1], log_levels, ARRAY_SIZE(log_levels))) {
        sp__cfg_alert(ps, argv[0],
                      "unknown level '%s' (expects emerg, alert, crit, err, warning, "
                      "notice, info or debug)",
                      argv[i + 1]);
        return;
    }
    if (i + 2 < argc) {
        if (sp__cfg_in_list(argv[i + 2], log_levels, ARRAY_SIZE(log_levels)))
            sp__cfg_alert(ps, argv[0], "a minimum level not supported by spillway yet");
        else
            sp__cfg_alert(ps, argv[0], "unexpected argument '%s'", argv[i + 2]);
        return;
    }

    l = sp__cfg_xcalloc(ps, sizeof(*l));
    if (!l)
        return;
    tail = ps->sec == SP__CFG_SEC_GLOBAL ? &ps->cfg->global.logs : &ps->cur->logs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    l->where = sp__cfg_here(ps);
    l->len = len;
    l->target = sp__cfg_xstrdup(ps, argv[1]);
    l->facility = sp__cfg_xstrdup(ps, argv[i]);
    if (format)
        l->format = sp__cfg_xstrdup(ps, format);
    if (i + 1 < argc)
        l->level = sp__cfg_xstrdup(ps, argv[i + 1]);
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
    {"spread-checks", S_GLOBAL, kw_spread_checks},
    {"tune.h2.max-concurrent-streams", S_GLOBAL, kw_h2_streams},
    {"tune.h2.fe.max-concurrent-streams", S_GLOBAL, kw_h2_streams},
    {"hard-stop-after", S_GLOBAL, kw_hard_stop_after},
    {"tune.server.default-maxconn", S_GLOBAL, kw_server_default_maxconn},
    {"decision-log", S_GLOBAL, kw_decision_log},
    {"pidfile", S_GLOBAL, kw_pidfile},
    {"daemon", S_GLOBAL, kw_daemon},
    {"unix-bind", S_GLOBAL, kw_unix_bind},
    {"description", S_GLOBAL | S_FE | S_BE | S_LI, sp__cfg_kw_description},
    {"log", S_GLOBAL | S_PROXY, kw_log},
    {"setenv", S_GLOBAL, sp__cfg_kw_setenv},
    {"presetenv", S_GLOBAL, sp__cfg_kw_setenv},
    {"unsetenv", S_GLOBAL, sp__cfg_kw_unsetenv},
    {"resetenv", S_GLOBAL, sp__cfg_kw_resetenv},
    {"user", S_GLOBAL, sp__cfg_kw_user},
    {"group", S_GLOBAL, sp__cfg_kw_user},
    {"uid", S_GLOBAL, sp__cfg_kw_uid},
    {"gid", S_GLOBAL, sp__cfg_kw_gid},
    {"chroot", S_GLOBAL, sp__cfg_kw_chroot},
    {"ulimit-n", S_GLOBAL, sp__cfg_kw_ulimit_n},
    {"strict-limits", S_GLOBAL, sp__cfg_kw_strict_limits},
    {"no", S_GLOBAL, sp__cfg_kw_global_no},
    {"zero-warning", S_GLOBAL, sp__cfg_kw_zero_warning},
    {"master-worker", S_GLOBAL, sp__cfg_kw_master_worker},
    {"node", S_GLOBAL, sp__cfg_kw_node},
    {"localpeer", S_GLOBAL, sp__cfg_kw_localpeer},
    {"tune.maxrewrite", S_GLOBAL, sp__cfg_kw_maxrewrite},
    {"tune.vars.global-max-size", S_GLOBAL, sp__cfg_kw_vars_max},
    {"tune.vars.proc-max-size", S_GLOBAL, sp__cfg_kw_vars_max},
    {"tune.vars.sess-max-size", S_GLOBAL, sp__cfg_kw_vars_max},
    {"tune.vars.txn-max-size", S_GLOBAL, sp__cfg_kw_vars_max},
    {"tune.vars.reqres-max-size", S_GLOBAL, sp__cfg_kw_vars_max},
    {"tune.http.maxhdr", S_GLOBAL, sp__cfg_kw_http_maxhdr},
    {"ssl-default-bind-ciphers", S_GLOBAL, sp__cfg_kw_ssl_default_bind},
    {"ssl-default-bind-ciphersuites", S_GLOBAL, sp__cfg_kw_ssl_default_bind},
    {"ssl-default-bind-options", S_GLOBAL, sp__cfg_kw_ssl_default_bind},
    {"tune.ssl.default-dh-param", S_GLOBAL, sp__cfg_kw_ssl_dh_param},
    {"crt-base", S_GLOBAL, sp__cfg_kw_crt_base},
    {"tune.comp.maxlevel", S_GLOBAL, sp__cfg_kw_comp_tune},
    {"tune.zlib.memlevel", S_GLOBAL, sp__cfg_kw_comp_tune},
    {"tune.zlib.windowsize", S_GLOBAL, sp__cfg_kw_comp_tune},
    /* proxies and defaults */
    {"mode", S_PROXY, sp__cfg_kw_mode},
    {"bind", S_FE | S_LI, sp__cfg_kw_bind},
    {"backlog", S_PROXY, sp__cfg_kw_backlog},
    {"timeout", S_PROXY, sp__cfg_kw_timeout},
    {"option", S_PROXY, sp__cfg_kw_option},
    {"no", S_PROXY, sp__cfg_kw_no},
    {"default_backend", S_PROXY, sp__cfg_kw_default_backend},
    {"acl", S_FE | S_BE | S_LI | S_DEF, sp__cfg_kw_acl},
    {"use_backend", S_FE | S_LI, sp__cfg_kw_use_backend},
    {"tcp-request", S_PROXY, sp__cfg_kw_tcp_request},
    {"tcp-response", S_PROXY, sp__cfg_kw_tcp_response},
    {"stick-table", S_PROXY, sp__cfg_kw_stick_table},
    {"stick", S_PROXY, sp__cfg_kw_stick},
    {"pp2-never-send-local", S_GLOBAL, sp__cfg_kw_pp2_never_send_local},
    {"stats", S_GLOBAL | S_PROXY, sp__cfg_kw_stats},
    {"http-request", S_PROXY, sp__cfg_kw_http_request},
    {"http-response", S_PROXY, sp__cfg_kw_http_response},
    {"http-after-response", S_PROXY, sp__cfg_kw_http_response},
    {"redirect", S_FE | S_BE | S_LI, sp__cfg_kw_redirect},
    {"capture", S_FE | S_LI, sp__cfg_kw_capture},
    {"declare", S_FE | S_LI, sp__cfg_kw_declare},
    {"reqadd", S_PROXY, sp__cfg_kw_pre21},
    {"reqdel", S_PROXY, sp__cfg_kw_pre21},
    {"reqidel", S_PROXY, sp__cfg_kw_pre21},
    {"reqrep", S_PROXY, sp__cfg_kw_pre21},
    {"reqirep", S_PROXY, sp__cfg_kw_pre21},
    {"reqdeny", S_PROXY, sp__cfg_kw_pre21},
    {"reqideny", S_PROXY, sp__cfg_kw_pre21},
    {"reqallow", S_PROXY, sp__cfg_kw_pre21},
    {"reqiallow", S_PROXY, sp__cfg_kw_pre21},
    {"reqpass", S_PROXY, sp__cfg_kw_pre21},
    {"reqipass", S_PROXY, sp__cfg_kw_pre21},
    {"reqtarpit", S_PROXY, sp__cfg_kw_pre21},
    {"reqitarpit", S_PROXY, sp__cfg_kw_pre21},
    {"rspadd", S_PROXY, sp__cfg_kw_pre21},
    {"rspdel", S_PROXY, sp__cfg_kw_pre21},
    {"rspidel", S_PROXY, sp__cfg_kw_pre21},
    {"rsprep", S_PROXY, sp__cfg_kw_pre21},
    {"rspirep", S_PROXY, sp__cfg_kw_pre21},
    {"rspdeny", S_PROXY, sp__cfg_kw_pre21},
    {"rspideny", S_PROXY, sp__cfg_kw_pre21},
    {"compression", S_PROXY, sp__cfg_kw_compression},
    {"log-format", S_PROXY, sp__cfg_kw_log_format},
    {"server", S_BE | S_LI, sp__cfg_kw_server},
    {"server-template", S_BE | S_LI, sp__cfg_kw_server_template},
    {"default-server", S_DEF | S_BE | S_LI, sp__cfg_kw_default_server},
    {"source", S_DEF | S_BE | S_LI, sp__cfg_kw_source},
    {"disabled", S_PROXY, sp__cfg_kw_disabled},
    {"enabled", S_PROXY, sp__cfg_kw_disabled},
    {"monitor-uri", S_DEF | S_FE | S_LI, sp__cfg_kw_monitor_uri},
    {"monitor", S_FE | S_LI, sp__cfg_kw_monitor},
    {"clitcpka-cnt", S_DEF | S_FE | S_LI, sp__cfg_kw_tcpka_param},
    {"clitcpka-idle", S_DEF | S_FE | S_LI, sp__cfg_kw_tcpka_param},
    {"clitcpka-intvl", S_DEF | S_FE | S_LI, sp__cfg_kw_tcpka_param},
    {"srvtcpka-cnt", S_DEF | S_BE | S_LI, sp__cfg_kw_tcpka_param},
    {"srvtcpka-idle", S_DEF | S_BE | S_LI, sp__cfg_kw_tcpka_param},
    {"srvtcpka-intvl", S_DEF | S_BE | S_LI, sp__cfg_kw_tcpka_param},
    {"balance", S_PROXY, sp__cfg_kw_balance},
    {"hash-type", S_PROXY, sp__cfg_kw_balance}, /* the same handler: see cfgproxy.c */
    {"retries", S_PROXY, sp__cfg_kw_retries},
    {"fullconn", S_PROXY, sp__cfg_kw_fullconn},
    {"http-check", S_PROXY, sp__cfg_kw_http_check},
    {"tcp-check", S_PROXY, sp__cfg_kw_tcp_check},
    {"retry-on", S_PROXY, sp__cfg_kw_retry_on},
    {"clitimeout", S_PROXY, sp__cfg_kw_removed},
    {"srvtimeout", S_PROXY, sp__cfg_kw_removed},
    {"contimeout", S_PROXY, sp__cfg_kw_removed},
    {"errorfile", S_PROXY, sp__cfg_kw_errorfile},
    {"errorloc", S_PROXY, sp__cfg_kw_errorloc},
    {"errorloc302", S_PROXY, sp__cfg_kw_errorloc},
    {"errorloc303", S_PROXY, sp__cfg_kw_errorloc},
    {"errorfiles", S_PROXY, sp__cfg_kw_errorfiles},
    {"http-error", S_PROXY, sp__cfg_kw_http_error},
    {"server-state-file", S_GLOBAL, sp__cfg_kw_server_state_file},
    {"server-state-base", S_GLOBAL, sp__cfg_kw_server_state_file},
    {"load-server-state-from-file", S_DEF | S_BE | S_LI, sp__cfg_kw_load_server_state},
    {"server-state-file-name", S_DEF | S_BE | S_LI, sp__cfg_kw_server_state_file_name},
    {"unique-id-format", S_DEF | S_FE | S_LI, sp__cfg_kw_unique_id},
    {"unique-id-header", S_DEF | S_FE | S_LI, sp__cfg_kw_unique_id},
    {"log-send-hostname", S_GLOBAL, sp__cfg_kw_log_send_hostname},
    {"ca-base", S_GLOBAL, sp__cfg_kw_ca_base},
    {"ssl-default-server-ciphers", S_GLOBAL, sp__cfg_kw_ssl_default_server},
    {"ssl-default-server-ciphersuites", S_GLOBAL, sp__cfg_kw_ssl_default_server},
    {"ssl-default-server-options", S_GLOBAL, sp__cfg_kw_ssl_default_server},
    {"lua-load", S_GLOBAL, sp__cfg_kw_lua},
    {"lua-load-per-thread", S_GLOBAL, sp__cfg_kw_lua},
    {"lua-prepend-path", S_GLOBAL, sp__cfg_kw_lua},
    {"cookie", S_DEF | S_BE | S_LI, sp__cfg_kw_cookie},
};

/* HAProxy keywords spillway does not support yet: an error naming the keyword. */
/* clang-format off */
static const char *const global_unsupported[] = {
    "nbproc",
    "maxsslconn", "maxconnrate", "maxsessrate", "maxsslrate",
    "maxcomprate", "maxcompcpuusage", "maxpipes", "maxzlibmem",
    "log-tag",
    "lua-load", "lua-load-per-thread", "lua-prepend-path", "expose-experimental-directives",
    "insecure-fork-wanted", "insecure-setuid-wanted", "h1-case-adjust", "h1-case-adjust-file",
    "numa-cpu-mapping", "cpu-policy",
    "cpu-set", "thread-groups", "thread-group", "max-threads-per-group", "thread-hard-limit",
    "fd-hard-limit", "quiet", "busy-polling", "noepoll", "nopoll", "nosplice",
    "nogetaddrinfo", "noreuseport", "profiling.tasks", "profiling.memory", "set-dumpable",
    "grace", "close-spread-time", "mworker-max-reloads", "external-check",
    "default-path", "issuers-chain-path", "pp2-never-send-local", "stats-file",
    "cluster-secret", "dns-accept-family", "limited-quic", "prealloc-fd", "debug",
    "ssl-default-bind-curves", "ssl-default-bind-sigalgs", "ssl-default-server-curves",
    "ssl-default-server-sigalgs", "ssl-dh-param-file", "ssl-server-verify", "ssl-engine",
    "ssl-mode-async", "ssl-load-extra-files", "ssl-load-extra-del-ext", "ssl-propquery",
    "ssl-provider", "ssl-provider-path", "ssl-skip-self-issued-ca", "ssl-security-level",
    "tune.ssl.cachesize", "tune.ssl.lifetime", "tune.ssl.maxrecord",
    "tune.ssl.force-private-cache", "tune.ssl.capture-buffer-size", "tune.ssl.ssl-ctx-cache-size",
    "tune.ssl.keylog", "tune.http.cookielen", "tune.http.logurilen",
    "tune.idletimer", "tune.rcvbuf.client", "tune.sndbuf.client",
    "tune.rcvbuf.server", "tune.sndbuf.server", "tune.rcvbuf.frontend", "tune.rcvbuf.backend",
    "tune.sndbuf.frontend", "tune.sndbuf.backend", "tune.h2.header-table-size",
    "tune.h2.initial-window-size", "tune.h2.fe.initial-window-size",
    "tune.h2.be.initial-window-size", "tune.h2.max-frame-size",
    "tune.h2.be.max-concurrent-streams", "tune.h2.fe.max-total-streams",
    "tune.h2.fe.glitches-threshold", "tune.h2.be.glitches-threshold", "tune.listener.multi-queue",
    "tune.listener.default-shards", "tune.runqueue-depth", "tune.maxpollevents",
    "tune.idle-pool.shared", "tune.pattern.cache-size", "tune.pipesize",
    "tune.recv_enough", "tune.buffers.limit", "tune.buffers.reserve", "tune.sched.low-latency",
    "tune.fd.edge-triggered", "tune.ring.queues", "tune.disable-zero-copy-forwarding",
    "tune.disable-fast-forward", "tune.memory.hot-size", "tune.lua.maxmem",
    "tune.lua.session-timeout", "tune.lua.task-timeout", "tune.lua.service-timeout",
    "tune.lua.forced-yield",
    "tune.stick-counters",
    "tune.max-checks-per-thread",
};
/* clang-format on */

/* clang-format off */
static const char *const proxy_unsupported[] = {
    "use-server",
    "log-format-sd", "error-log-format", "log-tag", "log-steps",
    "dynamic-cookie-key",
    "tcp-response", "filter", "email-alert",
    "id", "guid", "hash-balance-factor", "hash-preserve-affinity", "persist", "force-persist",
    "ignore-persist", "dispatch", "http-reuse", "http-send-name-header",
    "external-check", "rate-limit",
    "max-keep-alive-queue", "max-session-srv-conns", "bind-process", "use-fcgi-app", "default",
};
/* clang-format on */

/* Sections HAProxy has and spillway does not: reported once, their lines skipped. */
/* clang-format off */
static const char *const sections_unsupported[] = {
    "peers", "program", "ring", "mailers", "cache",
    "crt-store", "traces", "log-forward", "fcgi-app", "acme",
};
/* clang-format on */

static void section_list(unsigned secs, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int s = SP__CFG_SEC_GLOBAL; s <= SP__CFG_SEC_LISTEN; s++) {
        if (!(secs & (1u << s)))
            continue;
        int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", sp__cfg_sec_names[s]);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
}

static void dispatch(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *kw = argv[0];
    unsigned here_bit = 1u << ps->sec, found = 0;
    char where[64];

    if (!strcmp(kw, "global") || !strcmp(kw, "defaults") || !strcmp(kw, "frontend") ||
        !strcmp(kw, "backend") || !strcmp(kw, "listen") || !strcmp(kw, "resolvers") ||
        !strcmp(kw, "http-errors") || !strcmp(kw, "userlist") ||
        sp__cfg_in_list(kw, sections_unsupported, ARRAY_SIZE(sections_unsupported)))
        snprintf(ps->section, sizeof(ps->section), "%s", argc > 1 ? argv[1] : kw);
    if (strcmp(kw, "global") == 0) {
        section_start(ps, SP__CFG_SEC_GLOBAL, argc, argv);
        return;
    }
    if (strcmp(kw, "defaults") == 0) {
        section_start(ps, SP__CFG_SEC_DEFAULTS, argc, argv);
        return;
    }
    if (strcmp(kw, "frontend") == 0) {
        section_start(ps, SP__CFG_SEC_FE, argc, argv);
        return;
    }
    if (strcmp(kw, "backend") == 0) {
        section_start(ps, SP__CFG_SEC_BE, argc, argv);
        return;
    }
    if (strcmp(kw, "listen") == 0) {
        section_start(ps, SP__CFG_SEC_LISTEN, argc, argv);
        return;
    }
    if (strcmp(kw, "resolvers") == 0) {
        ps->cur = NULL;
        ps->sec = SP__CFG_SEC_RESOLVERS;
        sp__cfg_resolvers_start(ps, argc, argv);
        return;
    }
    if (strcmp(kw, "http-errors") == 0) {
        ps->cur = NULL;
        ps->sec = SP__CFG_SEC_HTTPERRS;
        sp__cfg_httperrs_start(ps, argc, argv);
        return;
    }
    if (strcmp(kw, "userlist") == 0) {
        ps->cur = NULL;
        ps->sec = SP__CFG_SEC_USERLIST;
        sp__cfg_userlist_start(ps, argc, argv);
        return;
    }
    const char *later = sp__cfg_later_keyword(SP__CFG_KW_SECTION, kw);
    if (later) {
        sp__cfg_alert(ps, kw,
                      "'%s' is an HAProxy %s keyword, not supported by spillway (HAProxy 2.6 "
                      "semantics); the section's lines are skipped",
                      kw, later[0] == '3' ? "3.x" : later);
        ps->sec = SP__CFG_SEC_SKIP;
        ps->cur = NULL;
        return;
    }
    if (sp__cfg_in_list(kw, sections_unsupported, ARRAY_SIZE(sections_unsupported))) {
        sp__cfg_alert(ps, kw, "section not supported by spillway yet; its lines are skipped");
        ps->sec = SP__CFG_SEC_SKIP;
        ps->cur = NULL;
        return;
    }
    if (ps->sec == SP__CFG_SEC_SKIP)
        return;
    if (ps->sec == SP__CFG_SEC_RESOLVERS) {
        sp__cfg_resolvers_line(ps, argc, argv);
        return;
    }
    if (ps->sec == SP__CFG_SEC_HTTPERRS) {
        sp__cfg_httperrs_line(ps, argc, argv);
        return;
    }
    if (ps->sec == SP__CFG_SEC_USERLIST) {
        sp__cfg_userlist_line(ps, argc, argv);
        return;
    }
    if (ps->sec == SP__CFG_SEC_NONE) {
        sp__cfg_alert(ps, kw,
                      "keyword outside of any section (expects global, defaults, frontend, "
                      "backend or listen first)");
        return;
    }
    if (ps->sec != SP__CFG_SEC_GLOBAL && !ps->cur)
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
    later = sp__cfg_later_keyword(
        ps->sec == SP__CFG_SEC_GLOBAL ? SP__CFG_KW_GLOBAL : SP__CFG_KW_PROXY, kw);
    if (later && !found) {
        sp__cfg_alert(ps, kw,
                      "'%s' is an HAProxy %s keyword, not supported by spillway (HAProxy "
                      "2.6 semantics)",
                      kw, later[0] == '3' ? "3.x" : later);
        return;
    }
    if (ps->sec == SP__CFG_SEC_GLOBAL &&
        sp__cfg_in_list(kw, global_unsupported, ARRAY_SIZE(global_unsupported))) {
        sp__cfg_not_supported(ps, kw);
        return;
    }
    if (ps->sec != SP__CFG_SEC_GLOBAL &&
        sp__cfg_in_list(kw, proxy_unsupported, ARRAY_SIZE(proxy_unsupported))) {
        sp__cfg_not_supported(ps, kw);
        return;
    }
    if (sp__cfg_in_list(kw, global_unsupported, ARRAY_SIZE(global_unsupported)))
        found |= S_GLOBAL;
    if (sp__cfg_in_list(kw, proxy_unsupported, ARRAY_SIZE(proxy_unsupported)))
        found |= S_PROXY;
    if (found) {
        section_list(found, where, sizeof(where));
        sp__cfg_alert(ps, kw, "not allowed in a '%s' section (only in: %s)",
                      sp__cfg_sec_names[ps->sec], where);
        return;
    }
    sp__cfg_alert(ps, kw, "unknown keyword '%s' in '%s' section", kw, sp__cfg_sec_names[ps->sec]);
}

/* ---------------------------------------------------------------------------------------- */
/* lines and words */

/* The states of a `.if` level, HAProxy's nested_cond_state. */
enum {
    COND_IF_TAKE = 1, /* .if true: its lines are read */
    COND_IF_DROP,     /* .if false: skipped until .elif or .else */
    COND_IF_SKIP,     /* inside a skipped block: everything up to its .endif is skipped */
    COND_ELIF_TAKE,   /* .elif true */
    COND_ELIF_DROP,   /* .elif false */
    COND_ELIF_SKIP,   /* .elif after a taken branch */
    COND_ELSE_TAKE,   /* .else after no taken branch */
    COND_ELSE_DROP,   /* .else after a taken branch */
};

static bool cond_masked(int st)
{
    return st == COND_IF_DROP || st == COND_IF_SKIP || st == COND_ELIF_DROP ||
           st == COND_ELIF_SKIP || st == COND_ELSE_DROP;
}

/* A `.if` or `.elif` condition: the words after the directive, joined with spaces (HAProxy
 * merges them back into one expression). Returns 1, 0, or -1 after an error. */
static int eval_cond(struct sp__cfg_parser *ps, int argc, char **argv)
{
    char expr[4096], err[512];
    size_t off = 0;
    int r;

    expr[0] = '\0';
    for (int i = 1; i < argc; i++) {
        int n = snprintf(expr + off, sizeof(expr) - off, "%s%s", i > 1 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof(expr) - off) {
            sp__cfg_alert(ps, argv[0], "condition too long (at most %zu bytes)", sizeof(expr) - 1);
            return -1;
        }
        off += (size_t)n;
    }
    r = sp__cfg_cond_eval(expr, err, sizeof(err));
    if (r < 0)
        sp__cfg_alert(ps, argv[0], "%s in '%s'", err, expr);
    return r;
}

/* `.notice`, `.warning`, `.alert`, `.diag "message"`: one word, as HAProxy wants it. */
static void message(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *kw = argv[0], *msg = argc > 1 ? argv[1] : "";

    if (argc > 2) {
        sp__cfg_alert(ps, kw,
                      "unexpected argument '%s' (use quotes if the message should contain "
                      "spaces)",
                      argv[2]);
        return;
    }
    if (!strcmp(kw, ".alert")) {
        sp__cfg_alert(ps, NULL, "'%s'", msg);
        ps->abort = true; /* HAProxy: always fatal, and the file is read no further */
    } else if (!strcmp(kw, ".warning")) {
        sp__cfg_warn(ps, NULL, "'%s'", msg);
    } else if (ps->diag && (!strcmp(kw, ".notice") || sp_log_enabled(SP_LOG_DEBUG))) {
        /* .diag: only in diagnostic output (-d), as HAProxy's -dD */
        char esc[4 * 1024 + 1], fesc[4 * 256 + 1];
        sp_log_escape(esc, sizeof(esc), msg, strlen(msg));
        sp_log_escape(fesc, sizeof(fesc), ps->cfg->_file, strlen(ps->cfg->_file));
        fprintf(ps->diag, "%s %s:%d: '%s'\n", !strcmp(kw, ".notice") ? "[NOTICE]" : "[DIAG]", fesc,
                ps->line, esc);
    }
}

/* A line starting with '.': the conditional blocks first (they are followed even inside a
 * skipped block, to find its end), then, only where lines are read, the messages. Returns
 * true when the line was a directive (handled), false for a line of a skipped block that the
 * caller must drop too. */
static bool directive(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *kw = argv[0];
    int *d = &ps->cond_depth;
    unsigned char *st = ps->cond;

    if (!strcmp(kw, ".if")) {
        if (*d >= SP__CFG_MAX_NESTED) {
            sp__cfg_alert(ps, kw, "too many nested '.if' (at most %d)", SP__CFG_MAX_NESTED);
            ps->abort = true;
            return true;
        }
        (*d)++;
        if (*d > 1 && cond_masked(st[*d - 1])) {
            st[*d] = COND_IF_SKIP; /* not evaluated: the whole block is skipped */
            return true;
        }
        int r = eval_cond(ps, argc, argv);
        if (r < 0)
            ps->abort = true; /* which lines belong would be a guess */
        st[*d] = r > 0 ? COND_IF_TAKE : COND_IF_DROP;
        return true;
    }
    if (!strcmp(kw, ".elif") || !strcmp(kw, ".else") || !strcmp(kw, ".endif")) {
        bool elif = kw[2] == 'l' && kw[3] == 'i', endif = kw[1] == 'e' && kw[2] == 'n';
        if (!elif && argc > 1) {
            sp__cfg_alert(ps, kw, "unexpected argument '%s'", argv[1]);
            ps->abort = !endif;
            return true;
        }
        if (!*d) {
            sp__cfg_alert(ps, kw, "'%s' with no matching '.if'", kw);
            ps->abort = !endif;
            return true;
        }
        if (endif) {
            (*d)--;
            return true;
        }
        if (st[*d] == COND_ELSE_TAKE || st[*d] == COND_ELSE_DROP) {
            sp__cfg_alert(ps, kw, "'%s' after '.else' is not permitted", kw);
            ps->abort = true;
            return true;
        }
        bool taken = st[*d] == COND_IF_TAKE || st[*d] == COND_IF_SKIP || st[*d] == COND_ELIF_TAKE ||
                     st[*d] == COND_ELIF_SKIP;
        if (!elif) {
            st[*d] = taken ? COND_ELSE_DROP : COND_ELSE_TAKE;
            return true;
        }
        if (taken) {
            st[*d] = COND_ELIF_SKIP;
            return true;
        }
        int r = eval_cond(ps, argc, argv);
        if (r < 0)
            ps->abort = true;
        st[*d] = r > 0 ? COND_ELIF_TAKE : COND_ELIF_DROP;
        return true;
    }
    if (*d && cond_masked(st[*d]))
        return false;
    if (!strcmp(kw, ".notice") || !strcmp(kw, ".warning") || !strcmp(kw, ".alert") ||
        !strcmp(kw, ".diag")) {
        message(ps, argc, argv);
        return true;
    }
    sp__cfg_alert(ps, kw,
                  "unknown directive (expects .if, .elif, .else, .endif, .notice, "
                  ".warning, .alert or .diag)");
    return true;
}

static void parse_line(struct sp__cfg_parser *ps, const char *line, size_t len, char *work)
{
    char *argv[SP__CFG_MAX_WORDS + 1];
    const char *err = NULL;
    struct sp__cfg_tokvars vars = {
        .file = ps->cfg->_file, .line = ps->line, .section = ps->section};
    int argc;

    if (len && line[len - 1] == '\r') /* CRLF files */
        len--;
    if (len > SP__CFG_MAX_LINE) {
        sp__cfg_alert(ps, NULL, "line too long (%zu bytes, at most %d)", len, SP__CFG_MAX_LINE);
        return;
    }
    if (memchr(line, '\0', len)) {
        sp__cfg_alert(ps, NULL, "NUL byte in line");
        return;
    }
    /* as HAProxy, every line is split (and its variables expanded) before the `.if` state
     * is looked at: a quoting error is one even in a skipped block */
    argc = sp__cfg_tokenize_env(line, len, work, SP__CFG_MAX_EXPANDED + 1, argv, &vars, &err);
    if (argc < 0)
        sp__cfg_alert(ps, NULL, "%s", err);
    if (argc <= 0)
        return;
    argv[argc] = NULL;
    if (argv[0][0] == '.' && directive(ps, argc, argv))
        return;
    if (ps->cond_depth && cond_masked(ps->cond[ps->cond_depth]))
        return; /* a line of a block whose condition is false: skipped, not checked */
    dispatch(ps, argc, argv);
}

static int parse(const char *buf, size_t len, const char *name, FILE *diag,
                 struct sp_config **ret_cfg)
{
    struct sp_config *cfg;
    struct sp__cfg_parser ps;
    char *work;
    size_t pos = 0;
    int ret;

    cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    sp__cfg_global_init(&cfg->global);
    cfg->_file = strdup(name ? name : "<string>");
    /* a tokenized line is never longer than its text once expanded, plus one NUL */
    work = malloc(SP__CFG_MAX_EXPANDED + 1);
    if (!cfg->_file || !work) {
        free(work);
        sp_config_free(cfg);
        return -ENOMEM;
    }
    memset(&ps, 0, sizeof(ps));
    ps.cfg = cfg;
    ps.diag = diag;
    ps.tail = &cfg->proxies;

    while (pos < len && !ps.oom && !ps.abort) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;

        ps.line++;
        parse_line(&ps, buf + pos, end - pos, work);
        pos = end + 1;
    }
    free(work);
    if (ps.cond_depth && !ps.abort)
        sp__cfg_alert(&ps, NULL,
                      "non-terminated '.if' block (%d level%s open at the end of the "
                      "file)",
                      ps.cond_depth, ps.cond_depth > 1 ? "s" : "");
    for (struct sp_cfg_proxy *d = ps.defs, *next; d; d = next) {
        next = d->next;
        sp__cfg_proxy_free(d);
    }
    if (!ps.oom) {
        sp__cfg_resolvers_check(&ps);
        sp__cfg_errors_check(&ps);
        sp__cfg_userlist_check(&ps);
        sp__cfg_check(cfg, diag);
    }
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
