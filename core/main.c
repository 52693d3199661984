/* core/main.c - the spillway daemon: command line, configuration, sockets, workers, signals.
 *
 * owner: main. The main thread parses the configuration, opens every listening socket (so that
 * an address in use stops the start, before any worker runs), publishes the routing snapshot,
 * starts the pinned workers and then only handles signals (signalfd): SIGTERM and SIGINT stop
 * accepting at once and let in-flight requests finish, within `hard-stop-after` when set; a
 * second one stops at once. main() runs the start-up steps at the end of this file, in order;
 * the stats socket it serves between signals is core/cli.c.
 */
#include <ck_pr.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "balance/balance.h"
#include "balance/resolver.h"
#include "balance/srvstate.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/config-int.h"
#include "core/log.h"
#include "core/logsink.h"
#include "core/timer.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/compress.h"
#include "http/h1.h"
#include "http/hrules.h"
#include "http/http.h"
#include "http/httplog.h"
#include "net/listener.h"
#include "net/tls.h"
#include "stats/stats.h"

#ifndef SP_VERSION
#define SP_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
    fprintf(out, "Usage: spillway -f FILE [-c] [-d] [-v] [-h]\n"
                 "  -f FILE  configuration file (HAProxy syntax)\n"
                 "  -c       check the configuration, print every error, exit 0 (valid),\n"
                 "           1 (errors, or it could not start) or 2 (no listener)\n"
                 "  -d       debug output on stderr, stay in the foreground\n"
                 "  -v       print the version and exit (-vv: and the feature list)\n"
                 "  -h       this help\n");
}

/* Allowed CPUs in ascending order; returns their count. */
static int allowed_cpus(int *cpus, int max)
{
    cpu_set_t set;
    int n = 0;

    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return 0;
    for (int i = 0; i < CPU_SETSIZE && n < max; i++)
        if (CPU_ISSET(i, &set))
            cpus[n++] = i;
    return n;
}

/* the most descriptors counted on when the limit is unlimited or huge, as HAProxy's default */
#define FD_CEIL 1048576LL
/* descriptors held outside connections and listeners besides those counted one by one: the
 * configuration file, name resolution at start, the pidfile, /proc reads, a CLI client */
#define FD_MARGIN 16
/* what a derived maxconn leaves aside at least, for what is not a connection */
#define FD_RESERVE 100LL

/* What a start needs in file descriptors, HAProxy's rule (about two per connection, plus the
 * listeners and a reserve) applied to what spillway opens. */
struct fd_budget {
    long long clients;   /* global maxconn: the gate bounds client connections */
    long long servers;   /* one server connection per client connection (HAProxy's rule), but
                          * never more than the servers' pools may open together */
    long long listeners; /* one SO_REUSEPORT socket per worker per address, one for unix@ */
    long long other;     /* stdio, signalfd, each worker's epoll and eventfd, the stats socket,
                          * log targets, the resolvers' sockets, FD_MARGIN */
};

static long long fd_total(const struct fd_budget *b)
{
    return b->clients + b->servers + b->listeners + b->other;
}

/* The budget for `maxconn` client connections and `nworkers` workers. */
static void fd_budget(const struct sp_config *cfg, int nworkers, long long maxconn,
                      struct fd_budget *b)
{
    long long server_caps = 0;
    int nlogs = 0;

    memset(b, 0, sizeof(*b));
    for (const struct sp_cfg_log *l = cfg->global.logs; l; l = l->next)
        nlogs++;
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (p->cap & SP_CAP_FE) {
            for (const struct sp_cfg_bind *cb = p->binds; cb; cb = cb->next)
                b->listeners += cb->addr.ss_family == AF_UNIX ? 1 : nworkers;
            for (const struct sp_cfg_log *l = p->logs; l; l = l->next)
                nlogs++;
        }
        if (!(p->cap & SP_CAP_BE))
            continue;
        /* a pool per worker and server, capped at the server's maxconn (or the default)
         * split across workers and rounded up: see http/hworker.c */
        for (const struct sp_cfg_server *s = p->servers; s; s = s->next) {
            long long cap = s->maxconn ? s->maxconn : cfg->global.server_default_maxconn;
            server_caps += (cap + nworkers - 1) / nworkers * nworkers;
        }
    }
    b->clients = maxconn;
    b->servers = server_caps < maxconn ? server_caps : maxconn;
    /* 3 stdio, signalfd, the probe socket sp_bind_open() opens before the shards */
    b->other = 3 + 1 + 1 + 2LL * nworkers + nlogs + FD_MARGIN;
    for (const struct sp_cfg_stats_socket *ss = cfg->global.stats_sockets; ss; ss = ss->next)
        b->other += 2; /* its listening socket and the client being served */
    for (const struct sp_cfg_resolvers *r = cfg->resolvers; r; r = r->next)
        for (int i = 0; i < r->nns; i++) /* a connected UDP socket, or TCP sessions */
            b->other += r->ns_tcp[i] ? SP_CFG_DNS_TCP_SESSIONS : 1;
}

/* the level of setup_limits()'s refusals: an alert at start; with `-c` a notice, since
 * HAProxy 2.6 checks the descriptor limits only when it starts (`haproxy -c` exits 0 on a
 * configuration whose maxconn the hard limit cannot hold, and its start exits 1) */
static enum sp_log_level limits_lvl = SP_LOG_ALERT;

static void fd_alert(const struct sp_config *cfg, const struct fd_budget *b, long long limit)
{
    char where[300] = "";

    if (cfg->global.maxconn_where.line)
        snprintf(where, sizeof(where), " (%s:%d)", cfg->global.maxconn_where.file,
                 cfg->global.maxconn_where.line);
    sp_log(limits_lvl,
           "Cannot raise FD limit to %lld, limit is %lld: global 'maxconn %lld'%s needs %lld "
           "client and %lld server connections, %lld listening sockets and %lld descriptors "
           "for the workers, logs and spillway itself. Lower 'maxconn' or raise the hard "
           "limit ('ulimit -Hn', systemd's LimitNOFILE=).",
           fd_total(b), limit, b->clients, where, b->clients, b->servers, b->listeners, b->other);
}

/* Makes room for the descriptors the configuration needs, the way HAProxy 2.6 does by default
 * (its `strict-limits`): starting short of descriptors would only turn the shortage into
 * failed accepts and 503s under load, so it is refused at start instead.
 *
 * The soft RLIMIT_NOFILE goes up to the hard one: room beyond the estimate costs nothing
 * and covers what it cannot see (an HTTP/2 connection whose streams each hold a server
 * connection). When even the hard limit is too low, it is raised too where allowed
 * (CAP_SYS_RESOURCE). Without `global maxconn`, maxconn is derived from what is available,
 * two descriptors per connection. Returns 0, or -1 after an alert (a notice with `-c`, which
 * does not fail on them: see limits_lvl). `-c` runs it too: the limits it changes die with
 * the check. */
static int setup_limits(struct sp_config *cfg, int nworkers)
{
    const struct sp_cfg_global *g = &cfg->global;
    struct fd_budget b;
    struct rlimit rl;

    fd_budget(cfg, nworkers, cfg->global.maxconn, &b);
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0; /* cannot tell: the accept path copes with EMFILE */
    if (g->ulimit_n) {
        /* `ulimit-n N`: exactly N, as HAProxy sets it (the hard limit raised to N if lower,
         * which takes CAP_SYS_RESOURCE) */
        struct rlimit want = {.rlim_cur = (rlim_t)g->ulimit_n,
                              .rlim_max = rl.rlim_max != RLIM_INFINITY &&
                                                  (long long)rl.rlim_max < g->ulimit_n
                                              ? (rlim_t)g->ulimit_n
                                              : rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
            long long have = rl.rlim_max == RLIM_INFINITY ? LLONG_MAX : (long long)rl.rlim_max;
            if (g->strict_limits) {
                sp_log(limits_lvl,
                       "%s:%d: 'ulimit-n': Cannot raise FD limit to %d, limit is %lld (%s); "
                       "'no strict-limits' would start with the highest possible limit",
                       g->ulimit_where.file, g->ulimit_where.line, g->ulimit_n, have,
                       strerror(errno));
                return -1;
            }
            struct rlimit max = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
            if (setrlimit(RLIMIT_NOFILE, &max) == 0)
                rl = max;
            sp_log(SP_LOG_WARNING,
                   "%s:%d: 'ulimit-n': Cannot raise FD limit to %d, limit is %lld; starting with "
                   "it ('no strict-limits')",
                   g->ulimit_where.file, g->ulimit_where.line, g->ulimit_n,
                   rl.rlim_cur == RLIM_INFINITY ? LLONG_MAX : (long long)rl.rlim_cur);
        } else {
            rl = want;
        }
    } else if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit up = rl;
        /* an unlimited hard limit is still capped by fs.nr_open: aim at what we need */
        if (up.rlim_max == RLIM_INFINITY) {
            long long want = SP_MAX(fd_total(&b), FD_CEIL);
            up.rlim_cur = (rlim_t)SP_MAX((long long)rl.rlim_cur, want);
        } else {
            up.rlim_cur = up.rlim_max;
        }
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    long long avail = rl.rlim_cur == RLIM_INFINITY ? LLONG_MAX : (long long)rl.rlim_cur;

    if (!cfg->global.maxconn) {
        /* two descriptors per connection once the rest is set aside: at least FD_RESERVE
         * (the derived value operators and `show stat` have always seen), more when the
         * listeners and workers need it */
        long long fds = SP_MIN(avail, FD_CEIL);
        long long mc = (fds - SP_MAX(FD_RESERVE, b.listeners + b.other)) / 2;
        if (mc < 1) {
            sp_log(limits_lvl,
                   "Cannot raise FD limit: it is %lld, and with no 'maxconn' in global spillway "
                   "sets %lld descriptors aside (%lld listening sockets, the workers, logs and "
                   "itself) and needs two per connection. Raise the limit (%s).",
                   avail, SP_MAX(FD_RESERVE, b.listeners + b.other), b.listeners,
                   g->ulimit_n ? "'ulimit-n'" : "'ulimit -n'");
            return -1;
        }
        cfg->global.maxconn = (int)SP_MIN(mc, (long long)INT_MAX);
        return 0;
    }
    if (fd_total(&b) <= avail)
        return 0;
    if (!g->ulimit_n) {
        struct rlimit up = {.rlim_cur = (rlim_t)fd_total(&b), .rlim_max = rl.rlim_max};
        if (rl.rlim_max != RLIM_INFINITY && (long long)rl.rlim_max < fd_total(&b))
            up.rlim_max = (rlim_t)fd_total(&b);
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return 0;
    }
    if (!g->strict_limits) {
        sp_log(SP_LOG_WARNING,
               "FD limit (%lld) too low for global 'maxconn %d', which needs %lld descriptors; "
               "starting anyway ('no strict-limits'): accepts and server connections will fail "
               "once descriptors run out",
               avail, cfg->global.maxconn, fd_total(&b));
        return 0;
    }
    if (g->ulimit_n) {
        sp_log(limits_lvl,
               "%s:%d: 'ulimit-n %d' is too low for global 'maxconn %d', which needs %lld "
               "descriptors. Raise 'ulimit-n' or lower 'maxconn'.",
               g->ulimit_where.file, g->ulimit_where.line, g->ulimit_n, cfg->global.maxconn,
               fd_total(&b));
        return -1;
    }
    fd_alert(cfg, &b, avail);
    return -1;
}

/* Copies diagnostic lines to `out` with their non-printable bytes escaped: the routing
 * builder quotes ACL words as written in the file, which may be any bytes. */
static void put_escaped_lines(FILE *out, const char *text, size_t len)
{
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        char *esc = malloc(4 * n + 1);

        if (esc) {
            sp_log_escape(esc, 4 * n + 1, text, n);
            fprintf(out, "%s\n", esc);
            free(esc);
        }
        n += nl ? 1 : 0;
        text += n;
        len -= n;
    }
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f) ? -errno : 0;
}

/* Compiles each frontend's log format and gathers the log targets: global `log` lines first,
 * then each frontend's own. Opens the sink unless `check`. Returns the number of errors, or
 * -ENOMEM. */
static int setup_logs(const struct sp_config *cfg, const struct sp_routing *routing,
                      struct sp_http_conf *http, bool check)
{
    const struct sp_cfg_log *targets[256];
    unsigned n = 0, nglobal = 0;
    int errors = 0;

    http->felog = calloc((size_t)(routing->nfe ? routing->nfe : 1), sizeof(*http->felog));
    if (!http->felog)
        return -ENOMEM;
    for (const struct sp_cfg_log *l = cfg->global.logs; l && n < 256; l = l->next)
        targets[n++] = l;
    nglobal = n;
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        struct sp_frontend *fe =
            (p->cap & SP_CAP_FE) ? sp_routing_frontend(routing, p->name) : NULL;
        if (!fe)
            continue;
        struct sp_http_felog *fl = &http->felog[fe->idx];
        char err[256];
        if (p->log_format) {
            fl->fmt = sp_logfmt_compile(p->log_format, err, sizeof(err));
            if (!fl->fmt) {
                sp_log(SP_LOG_ALERT, "%s:%d: 'log-format' of frontend '%s': %s", p->where.file,
                       p->where.line, p->name, err);
                errors++;
                continue;
            }
        } else if (p->tcplog || (p->httplog && p->mode == SP_MODE_TCP)) {
            /* HAProxy falls back to tcplog for httplog in a tcp proxy (warned at check) */
            fl->fmt = sp_logfmt_tcp();
        } else if (p->httplog) {
            fl->fmt = sp_logfmt_default(p->httplog_clf);
        }
        if (!fl->fmt)
            continue;
        fl->dontlognull = p->dontlognull;
        unsigned own = 0;
        for (const struct sp_cfg_log *l = p->logs; l; l = l->next)
            own++;
        fl->targets = calloc((size_t)own + nglobal + 1, sizeof(unsigned));
        if (!fl->targets)
            return -ENOMEM;
        if (p->log_global)
            for (unsigned i = 0; i < nglobal; i++)
                fl->targets[fl->ntargets++] = i;
        for (const struct sp_cfg_log *l = p->logs; l && n < 256; l = l->next) {
            fl->targets[fl->ntargets++] = n;
            targets[n++] = l;
        }
    }
    if (errors || check || !n)
        return errors;
    char err[256];
    /* `log-send-hostname [NAME]`: the header's host name ("": gethostname()) */
    const char *lsh = cfg->global.log_send_hostname;
    struct sp_logsink_opts lopts = {.hostname = lsh && lsh[0] ? lsh : NULL,
                                    .send_hostname = lsh != NULL};
    int rc = sp_logsink_open(targets, n, &lopts, &http->logsink, err, sizeof(err));
    if (rc < 0) {
        sp_log(SP_LOG_ALERT, "cannot open the log targets: %s", err);
        return 1;
    }
    return 0;
}

static void free_logs(struct sp_http_conf *http, int nfe)
{
    for (int i = 0; http->felog && i < nfe; i++) {
        sp_logfmt_free(http->felog[i].fmt);
        free(http->felog[i].targets);
    }
    free(http->felog);
    http->felog = NULL;
    sp_http_errors_free(http);
    http->logsink = sp_logsink_close(http->logsink);
}

/* owner: main. What the start-up steps build, one step after the other, and teardown() frees. */
struct runtime {
    struct sp_config *cfg;
    int nfe; /* the routing snapshot's frontends (it is gone by teardown()) */
    struct sp_gate *global_gate;
    struct sp_gate **fe_gates; /* by frontend idx */
    struct sp_bind *binds;
    struct sp_gate **bind_gates;
    int nbinds;
    struct sp_http_conf http;
    struct sp_worker *workers;
    struct sp_worker **wptrs;
    int nworkers;
    int cpus[SP_MAX_WORKERS]; /* the CPUs this process may run on, ascending */
    int ncpus;
    int sfd;             /* signalfd, -1 before open_signals() */
    int cli[SP_CLI_MAX]; /* the stats sockets, in `stats socket` order */
    bool cli_admin[SP_CLI_MAX];
    int ncli;
    bool jailed; /* chrooted: the paths of the pidfile and unix sockets are gone */
    struct sp_resolvers *resolvers; /* servers resolved at run time, NULL when none */
};

/* the worker count, for the gates' slot sums */
static int gate_slots;

static struct sp_gate *gate_new(int limit)
{
    return sp_gate_new(limit, gate_slots);
}

/* listen() backlog, in HAProxy's order: bind backlog, frontend backlog, bind maxconn,
 * frontend maxconn, 1024 */
static int backlog_for(const struct sp_cfg_proxy *p, const struct sp_cfg_bind *b)
{
    if (b->backlog)
        return b->backlog;
    if (p->backlog)
        return p->backlog;
    if (b->maxconn)
        return b->maxconn;
    if (p->maxconn)
        return p->maxconn;
    return 1024;
}

/* `option socket-stats`: whether the binds of `p` get listener counters (init_counters()
 * allocates them, open_binds() numbers them, in the same order) */
static bool socket_stats(const struct sp_cfg_proxy *p)
{
    return (p->cap & SP_CAP_FE) && !p->disabled && p->socket_stats;
}

static int open_binds(struct runtime *rt, struct sp_routing *routing)
{
    struct sp_config *cfg = rt->cfg;
    int n = 0, errors = 0, li = 0;

    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next)
        for (struct sp_cfg_bind *b = p->binds; b; b = b->next)
            n++;
    rt->binds = calloc((size_t)(n ? n : 1), sizeof(*rt->binds));
    rt->bind_gates = calloc((size_t)(n ? n : 1), sizeof(*rt->bind_gates));
    rt->fe_gates = calloc((size_t)(routing->nfe ? routing->nfe : 1), sizeof(*rt->fe_gates));
    rt->global_gate = gate_new(cfg->global.maxconn);
    if (!rt->binds || !rt->bind_gates || !rt->fe_gates || !rt->global_gate)
        return -ENOMEM;
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (!(p->cap & SP_CAP_FE))
            continue;
        struct sp_frontend *fe = sp_routing_frontend(routing, p->name);
        if (p->disabled) {
            /* a disabled proxy does not start: no listener (it still has its gate, for the
             * statistics) */
            if (fe && !(rt->fe_gates[fe->idx] = gate_new(fe->maxconn)))
                return -ENOMEM;
            continue;
        }
        if (!fe)
            return -EINVAL;
        /* HAProxy: a frontend without maxconn takes the global one */
        rt->fe_gates[fe->idx] = gate_new(fe->maxconn ? fe->maxconn : cfg->global.maxconn);
        if (!rt->fe_gates[fe->idx])
            return -ENOMEM;
        int luid = 0;
        for (struct sp_cfg_bind *cb = p->binds; cb; cb = cb->next) {
            struct sp_bind *b = &rt->binds[rt->nbinds];
            const char *msg = "";
            char addr[160];

            b->text = cb->text;
            b->addr = cb->addr;
            b->addrlen = cb->addrlen;
            b->backlog = backlog_for(p, cb);
            b->fe_idx = fe->idx;
            b->h2_only = cb->h2_only;
            b->v4v6 = cb->v6only == 0;
            b->ux_mode = cb->ux_mode;
            b->ux_uid = cb->ux_uid;
            b->ux_gid = cb->ux_gid;
            b->accept_proxy = cb->accept_proxy;
            b->tls = cb->tls_ctx;
            b->name = cb->name;
            b->luid = ++luid;
            if (socket_stats(p)) {
                b->li = ++li;
                snprintf(b->li_name, sizeof(b->li_name), "sock-%d", b->luid);
            }
            if (cb->maxconn) {
                rt->bind_gates[rt->nbinds] = gate_new(cb->maxconn);
                if (!rt->bind_gates[rt->nbinds])
                    return -ENOMEM;
            }
            b->gates[0] = rt->bind_gates[rt->nbinds];
            b->gates[1] = rt->fe_gates[fe->idx];
            b->gates[2] = rt->global_gate;
            int err = sp_bind_open(b, rt->nworkers, &msg);
            if (err < 0) {
                sp_log(SP_LOG_ALERT, "%s:%d: starting frontend '%s': %s (%s) [%s]", cb->where.file,
                       cb->where.line, p->name, msg, strerror(-err),
                       sp_addr_str(&cb->addr, addr, sizeof(addr)));
                errors++;
                continue;
            }
            rt->nbinds++;
        }
    }
    return errors ? -EADDRINUSE : 0;
}

static void close_binds(struct runtime *rt)
{
    for (int i = 0; i < rt->nbinds; i++)
        sp_bind_close(&rt->binds[i]);
}

static void free_runtime(struct runtime *rt)
{
    free(rt->binds);
    if (rt->bind_gates)
        for (int i = 0; i < rt->nbinds; i++)
            free(rt->bind_gates[i]);
    free(rt->bind_gates);
    if (rt->fe_gates)
        for (int i = 0; i < rt->nfe; i++)
            free(rt->fe_gates[i]);
    free(rt->fe_gates);
    free(rt->global_gate);
    free(rt->workers);
    free(rt->wptrs);
}

static bool all_exited(struct runtime *rt)
{
    for (int i = 0; i < rt->nworkers; i++)
        if (!ck_pr_load_int(&rt->workers[i].mt.exited))
            return false;
    return true;
}

/* ---- the start-up steps, in the order main() runs them ---- */

/* owner: main. The command line. */
struct args {
    const char *file; /* -f FILE */
    bool check;       /* -c: check the configuration and exit */
    bool debug;       /* -d: debug output on stderr, stay in the foreground */
};

/* Step 1. Reads the command line into `a` and turns debug output on for -d. Returns -1 when
 * the start goes on with load_config(), else the exit status: 0 after -v or -h, 1 after a
 * usage error (said on stderr). */
static int parse_args(int argc, char **argv, struct args *a)
{
    int opt, nv = 0;

    memset(a, 0, sizeof(*a));
    while ((opt = getopt(argc, argv, "f:cdvVh")) != -1) {
        switch (opt) {
        case 'f':
            a->file = optarg;
            break;
        case 'c':
            a->check = true;
            break;
        case 'd':
            a->debug = true;
            break;
        case 'v':
        case 'V':
            nv++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (nv) {
        printf("spillway version %s\n", SP_VERSION);
        if (nv > 1) /* -vv: what `.if version_atleast()` and `feature()` answer */
            printf("Configuration language: HAProxy %s\nFeature list : %s\n",
                   SP__CFG_HAPROXY_VERSION, SP__CFG_FEATURES);
        return 0;
    }
    if (optind < argc) {
        fprintf(stderr, "spillway: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (!a->file) {
        fprintf(stderr, "spillway: no configuration file (-f FILE)\n");
        usage(stderr);
        return 1;
    }
    if (a->debug)
        sp_log_verbosity = SP_LOG_DEBUG;
    return -1;
}

/* Step 2. Reads and parses the configuration file (its errors on stderr). Returns it, or NULL
 * after an alert (exit 1); leaves its proxies, ACLs and rules to build_routing(). */
static struct sp_config *load_config(const struct args *a)
{
    struct sp_config *cfg = NULL;
    int err = sp_config_load(a->file, stderr, &cfg);

    if (err == -EINVAL) {
        sp_log(SP_LOG_ALERT, "%s: configuration has errors, %s", a->file,
               a->check ? "check failed" : "not starting");
        return NULL;
    }
    if (err < 0) {
        sp_log(SP_LOG_ALERT, "cannot read '%s': %s", a->file, strerror(-err));
        return NULL;
    }
    return cfg;
}

/* Step 2b. The TLS contexts of every `bind ... ssl` line (net/tls.h): every certificate read
 * and checked now, so that `-c` reports a missing file, a missing key or a key that does not
 * match with the line that named it. Returns the number of errors (said on stderr). */
static int build_tls(const struct args *a, struct sp_config *cfg)
{
    int errors = 0;

    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next)
        for (struct sp_cfg_bind *b = p->binds; b; b = b->next) {
            char err[512];
            if (!b->tls || p->disabled)
                continue;
            b->tls_ctx = sp_tls_ctx_build(b->tls, err, sizeof(err));
            if (!b->tls_ctx) {
                sp_log(SP_LOG_ALERT, "%s:%d: bind '%s' in proxy '%s': %s", b->where.file,
                       b->where.line, b->text, p->name, err);
                errors++;
            }
        }
    if (errors)
        sp_log(SP_LOG_ALERT, "%s: configuration has errors, %s", a->file,
               a->check ? "check failed" : "not starting");
    return errors;
}

/* owner: main. Frees the configuration and the TLS contexts built from it. */
static void free_config(struct sp_config *cfg)
{
    if (!cfg)
        return;
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next)
        for (struct sp_cfg_bind *b = p->binds; b; b = b->next) {
            sp_tls_ctx_free(b->tls_ctx);
            b->tls_ctx = NULL;
        }
    sp_config_free(cfg);
}

/* warnings the routing builder printed, for `zero-warning` */
static int routing_warnings;

/* Step 3. Compiles the ACLs and switching rules into the routing snapshot: their errors belong
 * to the check as much as the parser's, copied to stderr escaped. Returns the snapshot, not
 * yet published, or NULL after an alert (exit 1; the caller still owns `cfg`); leaves the
 * frontends' logs and modes to setup_frontends(). */
static struct sp_routing *build_routing(const struct args *a, struct sp_config *cfg)
{
    int rerrors = 0;
    char *rdiag_buf = NULL;
    size_t rdiag_len = 0;
    FILE *rdiag = open_memstream(&rdiag_buf, &rdiag_len);
    struct sp_routing *routing = sp_routing_build(cfg, rdiag ? rdiag : stderr, &rerrors);

    /* the server state file, before anything reads the servers' state (`-c` too: an
     * init-addr `last` without a saved address fails the start) */
    if (routing && (rerrors = sp_srvstate_apply(cfg, routing, sp_now_ms(), rdiag ? rdiag : stderr)))
        routing = sp_routing_discard(routing);
    if (rdiag) {
        fclose(rdiag);
        for (const char *p = rdiag_buf; p && (p = strstr(p, "[WARNING]")); p++)
            routing_warnings++;
        put_escaped_lines(stderr, rdiag_buf, rdiag_len);
        free(rdiag_buf);
    }
    if (!routing) {
        if (rerrors)
            sp_log(SP_LOG_ALERT, "%s: configuration has %d error%s, %s", a->file, rerrors,
                   rerrors > 1 ? "s" : "", a->check ? "check failed" : "not starting");
        else
            sp_log(SP_LOG_ALERT, "out of memory building the routing tables");
    }
    return routing;
}

/* Step 4. Compiles each frontend's log format and opens the log targets (not with -c).
 * Returns the number of configuration errors, each alerted (negative: out of memory); leaves
 * rt->http's log fields for the workers and the worker count to count_workers(). */
static int setup_frontends(const struct args *a, const struct sp_routing *routing,
                           struct runtime *rt)
{
    int errors = setup_logs(rt->cfg, routing, &rt->http, a->check);
    int eerr = sp_http_errors_setup(rt->cfg, routing, &rt->http); /* errorfile & co */
    if (errors < 0 || eerr < 0)
        return -ENOMEM;
    errors += eerr;
    /* the http rules: compiled against this snapshot, freed before it */
    int e = sp__hrules_build(rt->cfg, routing, stderr, &rt->http.hrules);
    if (e < 0)
        return e;
    return errors + e;
}

/* Step 5. Counts the workers (`nbthread`, else one per allowed CPU, at most SP_MAX_WORKERS)
 * and notes the CPUs they may be pinned on; leaves rt->nworkers to check_start() and the
 * CPUs to start_workers(). */
static void count_workers(struct runtime *rt)
{
    const struct sp_config *cfg = rt->cfg;

    rt->ncpus = allowed_cpus(rt->cpus, SP_MAX_WORKERS);
    rt->nworkers = cfg->global.nbthread ? cfg->global.nbthread : (rt->ncpus ? rt->ncpus : 1);
    if (rt->nworkers > SP_MAX_WORKERS)
        rt->nworkers = SP_MAX_WORKERS;
    gate_slots = rt->nworkers;
}

/* Step 6. The checks about running, not about the file's syntax; but `-c` is how an operator
 * asks "will it start?": it answers them too, with HAProxy's exit statuses. `lerr` is what
 * setup_frontends() returned. Returns the exit status so far (0: it would start), each refusal
 * alerted; raises the descriptor limits (and may set global maxconn) for what follows. */
static int check_start(const struct args *a, struct runtime *rt, int lerr)
{
    struct sp_config *cfg = rt->cfg;
    int status = lerr ? 1 : 0;

    if (!status && sp_config_count_listeners(cfg) == 0) {
        /* nothing to accept on: a process that would only sit there is refused (a `listen`
         * without `bind` was warned about; the stats socket alone is not a proxy) */
        sp_log(SP_LOG_ALERT,
               "%s: no enabled listener found (check for 'bind' lines in a frontend or listen "
               "section); %s",
               a->file, a->check ? "spillway would not start" : "exiting");
        if (a->check)
            printf("Configuration file has no error but will not start (no listener) => "
                   "exit(2).\n");
        status = a->check ? 2 : 1;
    }
    limits_lvl = a->check ? SP_LOG_NOTICE : SP_LOG_ALERT;
    if (!status && setup_limits(cfg, rt->nworkers) < 0) {
        if (a->check) {
            sp_log(SP_LOG_NOTICE,
                   "%s: a start under these descriptor limits would fail (above); '-c' does "
                   "not fail on them, as HAProxy 2.6 checks them only when it starts",
                   a->file);
        } else {
            sp_log(SP_LOG_ALERT, "%s: not starting", a->file);
            status = 1;
        }
    }
    /* HAProxy's zero-warning: the warnings of the file, of the routing tables and of the
     * checks above all count */
    unsigned nwarn = (unsigned)cfg->nwarnings + (unsigned)routing_warnings + sp_log_nwarnings_mt();
    if (!status && cfg->global.zero_warning && nwarn) {
        sp_log(SP_LOG_ALERT, "%s: %u warning%s found and 'zero-warning' is set: %s", a->file, nwarn,
               nwarn > 1 ? "s were" : " was", a->check ? "check failed" : "not starting");
        status = 1;
    }
    return status;
}

/* Step 6 ends here with -c, or when the start was refused: frees what steps 2 to 5 built and
 * says the verdict. Returns `status`, the exit status. */
static int end_check(const struct args *a, struct sp_routing *routing, struct runtime *rt,
                     int status, int lerr)
{
    free_logs(&rt->http, routing->nfe);
    rt->http.hrules = sp__hrules_free(rt->http.hrules);
    sp_routing_discard(routing);
    free_config(rt->cfg);
    if (lerr)
        sp_log(SP_LOG_ALERT, "%s: configuration has errors, %s", a->file,
               a->check ? "check failed" : "not starting");
    else if (!status)
        printf("Configuration file is valid\n");
    return status;
}

/* Step 7. Goes to the background when `daemon` is set (not with -d). Returns 0, or -1 after a
 * message (exit 1); leaves the signals to open_signals(). */
static int detach(const struct args *a, const struct sp_config *cfg)
{
    if (cfg->global.daemon && !a->debug && daemon(1, 0) < 0) {
        fprintf(stderr, "[ALERT] cannot go to the background: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Step 7, continued. Signals are handled on main only: blocks them before any thread exists
 * (SIGPIPE for good) and returns a signalfd for SIGTERM, SIGINT and SIGHUP, or -1 after an
 * alert (exit 1); leaves the counters to init_counters(). */
static int open_signals(void)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    sigdelset(&mask, SIGPIPE);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        sp_log(SP_LOG_ALERT, "signalfd: %s", strerror(errno));
        return -1;
    }
    return sfd;
}

/* Step 7, continued. Allocates every worker's counters and decision ring, sized from the
 * snapshot. Returns 0, or -1 after an alert (exit 1); the caller then publishes the snapshot
 * and leaves the sockets to open_sockets(). */
static int init_counters(const struct runtime *rt, const struct sp_routing *routing)
{
    int nli = 0;
    for (const struct sp_cfg_proxy *p = rt->cfg->proxies; p; p = p->next)
        for (const struct sp_cfg_bind *b = p->binds; b && socket_stats(p); b = b->next)
            nli++;
    if (sp_stats_init(rt->nworkers, routing->nfe, routing->nbe, routing->nsrv) < 0 ||
        sp_stats_init_li(nli) < 0 ||
        sp_decisions_init(rt->nworkers, rt->cfg->global.decision_log) < 0) {
        sp_log(SP_LOG_ALERT, "out of memory allocating the counters");
        return -1;
    }
    return 0;
}

/* Step 8. Opens every listening socket (an address in use stops the start, before any worker
 * runs), writes the pidfile, notes the start time and opens the stats socket. Returns 0, or
 * -1 after an alert (exit 1, through teardown()); leaves the binds and gates to
 * start_workers(). */
static int open_sockets(struct runtime *rt, struct sp_routing *routing)
{
    struct sp_config *cfg = rt->cfg;
    int err = open_binds(rt, routing);

    if (err < 0) {
        if (err == -ENOMEM)
            sp_log(SP_LOG_ALERT, "out of memory opening the listeners");
        return -1;
    }
    if (cfg->global.pidfile && (err = write_pidfile(cfg->global.pidfile)) < 0) {
        sp_log(SP_LOG_ALERT, "cannot write pidfile '%s': %s", cfg->global.pidfile, strerror(-err));
        return -1;
    }

    sp_statsvc_init();
    for (const struct sp_cfg_stats_socket *ss = cfg->global.stats_sockets; ss; ss = ss->next) {
        if (rt->ncli == SP_CLI_MAX) {
            sp_log(SP_LOG_ALERT, "%s:%d: 'stats socket': at most %d stats sockets", ss->where.file,
                   ss->where.line, SP_CLI_MAX);
            return -1;
        }
        int fd = sp_cli_open(ss);
        if (fd < 0) {
            sp_log(SP_LOG_ALERT, "%s:%d: cannot open the stats socket '%s': %s", ss->where.file,
                   ss->where.line, ss->text, strerror(-fd));
            return -1;
        }
        rt->cli[rt->ncli] = fd;
        rt->cli_admin[rt->ncli++] = ss->level == SP_CLI_LEVEL_ADMIN;
    }
    return 0;
}

/* Step 8, continued. `chroot`, then `group`/`gid` and `user`/`uid`, as HAProxy 2.6 does them
 * once everything that needs a path or a privilege is open (listeners, stats sockets, log
 * files, the pidfile) and before any worker runs: what serves clients never runs as root.
 * The supplementary groups go with any change of identity. Returns 0, or -1 after an alert
 * (exit 1, through teardown()). */
static int drop_privileges(struct runtime *rt)
{
    const struct sp_cfg_global *g = &rt->cfg->global;

    if (g->chroot) {
        if (chroot(g->chroot) < 0 || chdir("/") < 0) {
            sp_log(SP_LOG_ALERT, "cannot chroot to '%s': %s", g->chroot, strerror(errno));
            return -1;
        }
        rt->jailed = true;
    }
    if ((g->uid >= 0 || g->gid >= 0) && geteuid() == 0 && setgroups(0, NULL) < 0) {
        sp_log(SP_LOG_ALERT, "cannot drop the supplementary groups: %s", strerror(errno));
        return -1;
    }
    if (g->gid >= 0 && setgid((gid_t)g->gid) < 0) {
        sp_log(SP_LOG_ALERT, "cannot set gid %d: %s", g->gid, strerror(errno));
        return -1;
    }
    if (g->uid >= 0 && setuid((uid_t)g->uid) < 0) {
        sp_log(SP_LOG_ALERT, "cannot set uid %d: %s", g->uid, strerror(errno));
        return -1;
    }
    return 0;
}

/* What every worker's HTTP layer reads, immutable once they run. */
static void set_http_conf(struct runtime *rt)
{
    const struct sp_config *cfg = rt->cfg;

    static char host[256];

    rt->http.binds = rt->binds;
    rt->http.nbinds = rt->nbinds;
    /* HAProxy: `node` defaults to the host name */
    if (!cfg->global.node && gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    rt->http.node = cfg->global.node ? cfg->global.node : host;
    rt->http.description = cfg->global.description;
    /* tune.maxrewrite: HAProxy's reserve, at most half the buffer; unset, spillway (which
     * never rewrites a head in place) lets a head use the whole buffer */
    rt->http.head_reserve = cfg->global.maxrewrite < 0 ? 0
                            : cfg->global.maxrewrite > cfg->global.bufsize / 2
                                ? cfg->global.bufsize / 2
                                : cfg->global.maxrewrite;
    sp_h1_max_hdrs = cfg->global.http_maxhdr - 1; /* HAProxy counts the start line too */
    sp_vars_limits_set(&(struct sp_vars_limits){.global = (uint64_t)cfg->global.vars_max_global,
                                                .proc = (uint64_t)cfg->global.vars_max_proc,
                                                .sess = (uint64_t)cfg->global.vars_max_sess,
                                                .txn = (uint64_t)cfg->global.vars_max_txn,
                                                .reqres = (uint64_t)cfg->global.vars_max_reqres});
    sp_comp_level = cfg->global.comp_maxlevel;
    sp_comp_memlevel = cfg->global.zlib_memlevel;
    sp_comp_windowsize = cfg->global.zlib_windowsize;
    rt->http.bufsize = cfg->global.bufsize;
    rt->http.maxaccept = cfg->global.maxaccept;
    rt->http.nworkers = rt->nworkers;
    rt->http.h2_max_streams = cfg->global.h2_fe_max_concurrent_streams
                                  ? cfg->global.h2_fe_max_concurrent_streams
                                  : cfg->global.h2_max_concurrent_streams;
    if (rt->http.h2_max_streams <= 0)
        rt->http.h2_max_streams = 100;
    rt->http.server_default_maxconn = cfg->global.server_default_maxconn;
    rt->http.fe_gates = rt->fe_gates;
    rt->http.global_gate = rt->global_gate;
    sp_http_set_conf(&rt->http);
}

/* Step 8, continued. Hands the HTTP configuration to the workers' layer, creates the workers
 * pinned (`cpu-map`, else one allowed CPU each in turn) and starts them; a start that fails
 * stops those already running. Returns 0 ("started" logged), or -1 after an alert (exit 1,
 * through teardown()); leaves the running workers to main_loop(). */
static int start_workers(struct runtime *rt)
{
    const struct sp_config *cfg = rt->cfg;
    int err;

    set_http_conf(rt);
    rt->workers = calloc((size_t)rt->nworkers, sizeof(*rt->workers));
    rt->wptrs = calloc((size_t)rt->nworkers, sizeof(*rt->wptrs));
    if (!rt->workers || !rt->wptrs) {
        sp_log(SP_LOG_ALERT, "out of memory");
        return -1;
    }
    for (int i = 0; i < rt->nworkers; i++) {
        int cpu = -1;
        if (i < 64 && cfg->global.cpu_map_has[i]) {
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &cfg->global.cpu_map[i])) {
                    cpu = c;
                    break;
                }
        } else if (rt->ncpus) {
            cpu = rt->cpus[i % rt->ncpus];
        }
        err = sp_worker_init(&rt->workers[i], i, cpu, &sp_http_hooks);
        if (err < 0) {
            sp_log(SP_LOG_ALERT, "cannot create worker %d: %s", i, strerror(-err));
            return -1;
        }
        rt->wptrs[i] = &rt->workers[i];
    }
    sp_listener_set_workers(rt->wptrs, rt->nworkers);
    for (int i = 0; i < rt->nworkers; i++) {
        err = sp_worker_start(&rt->workers[i]);
        if (err < 0) {
            sp_log(SP_LOG_ALERT, "cannot start worker %d: %s", i, strerror(-err));
            for (int j = 0; j < i; j++)
                sp_worker_stop_mt(&rt->workers[j], true);
            for (int j = 0; j < i; j++)
                sp_worker_join(&rt->workers[j]);
            for (int j = 0; j < i; j++)
                sp_worker_destroy(&rt->workers[j]);
            return -1;
        }
    }
    sp_log(SP_LOG_NOTICE, "spillway %s started: %d worker%s, %d listener%s", SP_VERSION,
           rt->nworkers, rt->nworkers > 1 ? "s" : "", rt->nbinds, rt->nbinds > 1 ? "s" : "");
    return 0;
}

/* What the resolvers did, in HAProxy's words: a server's state change through the health
 * log line (and its backend's record), anything else as a notice. */
static void resolv_event(void *arg, const struct sp_server *s, enum sp_srv_change ch,
                         const char *msg)
{
    (void)arg;
    if (s && ch != SP_SRV_CH_NONE) {
        sp_http_srv_change_log(s, ch, false, msg);
        sp_http_be_changed(s->be, sp_now_ms());
    } else {
        sp_log(SP_LOG_NOTICE, "%s", msg);
    }
}

/* Opens the resolvers' sockets (before privileges are dropped): 0, or -1 after an alert. */
static int start_resolvers(struct runtime *rt, const struct sp_routing *routing)
{
    char why[256] = "";
    int err;

    rt->resolvers = sp_resolvers_start(rt->cfg, routing, resolv_event, NULL, sp_now_ms(), &err, why,
                                       sizeof(why));
    if (err < 0) {
        sp_log(SP_LOG_ALERT, "%s", why);
        return -1;
    }
    return 0;
}

/* Step 9. Serves the stats socket and waits for signals until the workers are done, then
 * joins and destroys them. Returns the exit status; leaves the sockets, counters and
 * snapshot for report_stop() and teardown(). */
static int main_loop(struct runtime *rt, const struct sp_routing *routing)
{
    int sfd = rt->sfd;
    bool stopping = false;
    uint64_t hard_deadline = 0;
    int64_t hard_after = rt->cfg->global.hard_stop_after;

    for (;;) {
        enum { NRES = SP_CFG_MAX_NAMESERVERS * 8 };
        struct pollfd pfd[1 + SP_CLI_MAX + NRES] = {{.fd = sfd, .events = POLLIN}};
        for (int i = 0; i < rt->ncli; i++)
            pfd[1 + i] = (struct pollfd){.fd = rt->cli[i], .events = POLLIN};
        int nres = stopping ? 0 : sp_resolvers_pollfds(rt->resolvers, pfd + 1 + rt->ncli, NRES);
        int timeout = stopping ? 20 : sp_resolvers_timeout(rt->resolvers, sp_now_ms(), 200);
        int n = poll(pfd, (nfds_t)(1 + rt->ncli + nres), timeout);
        if (!stopping)
            sp_resolvers_run(rt->resolvers, sp_now_ms());

        for (int i = 0; n > 0 && i < rt->ncli; i++)
            if (pfd[1 + i].revents & POLLIN)
                sp_cli_serve(rt->cli[i], routing, &rt->http, rt->cli_admin[i],
                             (int)rt->cfg->global.stats_timeout);
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGTERM || sig == SIGINT) {
                    if (stopping) {
                        sp_log(SP_LOG_NOTICE, "second stop signal: stopping now");
                        for (int i = 0; i < rt->nworkers; i++)
                            sp_worker_stop_mt(&rt->workers[i], true);
                        continue;
                    }
                    stopping = true;
                    sp_log(SP_LOG_NOTICE, "stopping: no new connections, finishing in-flight "
                                          "requests");
                    if (hard_after != SP_TIME_UNSET)
                        hard_deadline = sp_now_ms() + (uint64_t)hard_after;
                    for (int i = 0; i < rt->nworkers; i++)
                        sp_worker_stop_mt(&rt->workers[i], false);
                } else if (sig == SIGHUP) {
                    static struct sp_log_rl rl_hup = SP_LOG_RL_INIT;
                    sp_log_rl_mt(&rl_hup, SP_LOG_WARNING,
                                 "SIGHUP: reload is not supported yet, ignored");
                }
            }
        }
        if (all_exited(rt))
            break;
        if (!stopping) {
            /* a worker that failed on its own takes the process down */
            for (int i = 0; i < rt->nworkers; i++) {
                if (ck_pr_load_int(&rt->workers[i].mt.exited)) {
                    sp_log(SP_LOG_ALERT, "worker %d exited unexpectedly, stopping", i);
                    stopping = true;
                    for (int j = 0; j < rt->nworkers; j++)
                        sp_worker_stop_mt(&rt->workers[j], true);
                    break;
                }
            }
        }
        if (stopping && hard_deadline && sp_now_ms() >= hard_deadline) {
            sp_log(SP_LOG_NOTICE, "hard-stop-after reached: closing the remaining connections");
            hard_deadline = 0;
            for (int i = 0; i < rt->nworkers; i++)
                sp_worker_stop_mt(&rt->workers[i], true);
        }
    }
    int status = 0;
    for (int i = 0; i < rt->nworkers; i++) {
        sp_worker_join(&rt->workers[i]);
        if (rt->workers[i].exit_status)
            status = 1;
    }
    for (int i = 0; i < rt->nworkers; i++)
        sp_worker_destroy(&rt->workers[i]);
    return status;
}

/* Step 10, after a run. Logs each frontend's highest fe_conn and removes the pidfile; leaves
 * the rest to teardown(). */
static void report_stop(const struct runtime *rt, const struct sp_routing *routing)
{
    const struct sp_config *cfg = rt->cfg;

    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        struct sp_frontend *fe =
            (p->cap & SP_CAP_FE) ? sp_routing_frontend(routing, p->name) : NULL;
        if (fe && rt->fe_gates[fe->idx])
            sp_log(SP_LOG_NOTICE, "frontend '%s': highest fe_conn %lld (maxconn %lld)", fe->name,
                   (long long)sp_gate_peak_mt(rt->fe_gates[fe->idx]),
                   (long long)rt->fe_gates[fe->idx]->limit);
    }
    if (cfg->global.pidfile && !rt->jailed)
        unlink(cfg->global.pidfile);
}

/* Step 11, last. Closes the stats socket (and removes its file) and the listeners, retires
 * the snapshot and frees everything steps 2 to 9 built, whether or not the workers ran. */
static void teardown(struct runtime *rt)
{
    const struct sp_cfg_stats_socket *ss = rt->cfg->global.stats_sockets;
    for (int i = 0; i < rt->ncli; i++, ss = ss->next) {
        close(rt->cli[i]);
        if (ss->addr.ss_family == AF_UNIX && !rt->jailed)
            unlink(((const struct sockaddr_un *)&ss->addr)->sun_path);
    }
    rt->resolvers = sp_resolvers_free(rt->resolvers);
    close_binds(rt);
    rt->http.hrules = sp__hrules_free(rt->http.hrules);
    sp_routing_shutdown();
    sp_stats_free();
    sp_decisions_free();
    free_logs(&rt->http, rt->nfe);
    free_runtime(rt);
    close(rt->sfd);
    free_config(rt->cfg);
}

int main(int argc, char **argv)
{
    struct args a;
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;

    /* what `-c` answers: is the file valid, and would it start? */
    struct sp_config *cfg = load_config(&a);
    if (!cfg)
        return 1;
    if (build_tls(&a, cfg)) {
        free_config(cfg);
        return 1;
    }
    struct sp_routing *routing = build_routing(&a, cfg);
    if (!routing) {
        free_config(cfg);
        return 1;
    }
    struct runtime rt = {.cfg = cfg, .nfe = routing->nfe, .sfd = -1};
    int lerr = setup_frontends(&a, routing, &rt);
    count_workers(&rt);
    status = check_start(&a, &rt, lerr);
    if (status || a.check)
        return end_check(&a, routing, &rt, status, lerr);

    /* the start itself */
    if (detach(&a, cfg) < 0 || (rt.sfd = open_signals()) < 0 || init_counters(&rt, routing) < 0)
        return 1;
    sp_routing_publish(routing);
    status = 1;
    if (open_sockets(&rt, routing) == 0 && start_resolvers(&rt, routing) == 0 &&
        drop_privileges(&rt) == 0 && start_workers(&rt) == 0) {
        status = main_loop(&rt, routing);
        report_stop(&rt, routing);
    }
    teardown(&rt);
    return status;
}
