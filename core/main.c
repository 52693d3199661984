/* core/main.c - the spillway daemon: command line, configuration, sockets, workers, signals.
 *
 * owner: main. The main thread parses the configuration, opens every listening socket (so that
 * an address in use stops the start, before any worker runs), publishes the routing snapshot,
 * starts the pinned workers and then only handles signals (signalfd): SIGTERM and SIGINT stop
 * accepting at once and let in-flight requests finish, within `hard-stop-after` when set; a
 * second one stops at once.
 */
#include <ck_pr.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "balance/balance.h"
#include "core/config.h"
#include "core/log.h"
#include "core/logsink.h"
#include "core/timer.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/httplog.h"
#include "net/listener.h"
#include "stats/decisions.h"
#include "stats/stats.h"

#ifndef SP_VERSION
#define SP_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
    fprintf(out, "Usage: spillway -f FILE [-c] [-d] [-v] [-h]\n"
                 "  -f FILE  configuration file (HAProxy syntax)\n"
                 "  -c       check the configuration, print every error, exit 0 or 1\n"
                 "  -d       debug output on stderr, stay in the foreground\n"
                 "  -v       print the version and exit\n"
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

/* Raises the soft descriptor limit to the hard one and derives the global maxconn when it is
 * not set, as HAProxy does: about (descriptors - reserve) / 2 (a client and a server side per
 * connection), never below 100. */
static int setup_limits(struct sp_config *cfg)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    long fds = rl.rlim_cur == RLIM_INFINITY ? 1048576 : (long)rl.rlim_cur;
    if (fds > 1048576)
        fds = 1048576;
    long need = 2L * cfg->global.maxconn + 100;
    if (cfg->global.maxconn && need > fds)
        sp_log(SP_LOG_WARNING,
               "global maxconn %d needs about %ld file descriptors but the limit is %ld: "
               "connections beyond that will wait in the kernel queue or fail",
               cfg->global.maxconn, need, fds);
    if (!cfg->global.maxconn) {
        long mc = (fds - 100) / 2;
        cfg->global.maxconn = (int)(mc < 100 ? 100 : mc);
    }
    return 0;
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
                fprintf(stderr, "[ALERT] %s:%d: 'log-format' of frontend '%s': %s\n", p->where.file,
                        p->where.line, p->name, err);
                errors++;
                continue;
            }
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
    int rc = sp_logsink_open(targets, n, NULL, &http->logsink, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "[ALERT] cannot open the log targets: %s\n", err);
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
    http->logsink = sp_logsink_close(http->logsink);
}

struct runtime {
    struct sp_config *cfg;
    struct sp_gate *global_gate;
    struct sp_gate **fe_gates; /* by frontend idx */
    struct sp_bind *binds;
    struct sp_gate **bind_gates;
    int nbinds;
    struct sp_http_conf http;
    struct sp_worker *workers;
    struct sp_worker **wptrs;
    int nworkers;
};

/* the worker count, for the gates' slot sums */
static int gate_slots;

static struct sp_gate *gate_new(int limit)
{
    struct sp_gate *g = aligned_alloc(SP_CACHELINE, sizeof(*g));
    if (!g)
        return NULL;
    memset(g, 0, sizeof(*g));
    g->limit = limit;
    g->nslots = gate_slots;
    return g;
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

static int open_binds(struct runtime *rt, struct sp_routing *routing)
{
    struct sp_config *cfg = rt->cfg;
    int n = 0, errors = 0;

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
        if (!fe)
            return -EINVAL;
        /* HAProxy: a frontend without maxconn takes the global one */
        rt->fe_gates[fe->idx] = gate_new(fe->maxconn ? fe->maxconn : cfg->global.maxconn);
        if (!rt->fe_gates[fe->idx])
            return -ENOMEM;
        for (struct sp_cfg_bind *cb = p->binds; cb; cb = cb->next) {
            struct sp_bind *b = &rt->binds[rt->nbinds];
            const char *msg = "";
            char addr[160];

            b->text = cb->text;
            b->addr = cb->addr;
            b->addrlen = cb->addrlen;
            b->backlog = backlog_for(p, cb);
            b->fe_idx = fe->idx;
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

static void free_runtime(struct runtime *rt, int nfe)
{
    free(rt->binds);
    if (rt->bind_gates)
        for (int i = 0; i < rt->nbinds; i++)
            free(rt->bind_gates[i]);
    free(rt->bind_gates);
    if (rt->fe_gates)
        for (int i = 0; i < nfe; i++)
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

/* Waits for signals until the workers are done. Returns the exit status. */
static int main_loop(struct runtime *rt, int sfd, int cli, const struct sp_routing *routing)
{
    bool stopping = false;
    uint64_t hard_deadline = 0;
    int64_t hard_after = rt->cfg->global.hard_stop_after;

    for (;;) {
        struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = cli, .events = POLLIN}};
        int timeout = stopping ? 20 : 200;
        int n = poll(pfd, cli >= 0 ? 2 : 1, timeout);

        if (n > 0 && cli >= 0 && (pfd[1].revents & POLLIN))
            sp_statsvc_cli_serve(cli, routing, &rt->http);
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
                    sp_log(SP_LOG_WARNING, "SIGHUP: reload is not supported yet, ignored");
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
    return status;
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    bool check = false, debug = false;
    int opt;

    while ((opt = getopt(argc, argv, "f:cdvVh")) != -1) {
        switch (opt) {
        case 'f':
            file = optarg;
            break;
        case 'c':
            check = true;
            break;
        case 'd':
            debug = true;
            break;
        case 'v':
        case 'V':
            printf("spillway version %s\n", SP_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spillway: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (!file) {
        fprintf(stderr, "spillway: no configuration file (-f FILE)\n");
        usage(stderr);
        return 1;
    }
    if (debug)
        sp_log_verbosity = SP_LOG_DEBUG;

    struct sp_config *cfg = NULL;
    int err = sp_config_load(file, stderr, &cfg);
    if (err == -EINVAL) {
        fprintf(stderr, "[ALERT] %s: configuration has errors, %s\n", file,
                check ? "check failed" : "not starting");
        return 1;
    }
    if (err < 0) {
        fprintf(stderr, "[ALERT] cannot read '%s': %s\n", file, strerror(-err));
        return 1;
    }
    /* ACLs and switching rules compile into the routing snapshot: their errors belong to the
     * check as much as the parser's */
    int rerrors = 0;
    struct sp_routing *routing = sp_routing_build(cfg, stderr, &rerrors);
    if (!routing) {
        if (rerrors)
            fprintf(stderr, "[ALERT] %s: configuration has %d error%s, %s\n", file, rerrors,
                    rerrors > 1 ? "s" : "", check ? "check failed" : "not starting");
        else
            fprintf(stderr, "[ALERT] out of memory building the routing tables\n");
        sp_config_free(cfg);
        return 1;
    }
    struct runtime rt = {.cfg = cfg};
    int lerr = setup_logs(cfg, routing, &rt.http, check);
    /* HAProxy's default mode is tcp; spillway relays HTTP only so far: say so at check time
     * too, not only when the listeners open */
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if ((p->cap & SP_CAP_FE) && p->mode != SP_MODE_HTTP) {
            fprintf(stderr,
                    "[ALERT] %s:%d: 'mode': %s '%s' is in mode tcp, which spillway does not "
                    "support yet; set 'mode http'\n",
                    p->where.file, p->where.line, (p->cap & SP_CAP_BE) ? "listen" : "frontend",
                    p->name);
            lerr++;
        }
    }
    if (lerr || check) {
        free_logs(&rt.http, routing->nfe);
        sp_routing_discard(routing);
        sp_config_free(cfg);
        if (lerr) {
            fprintf(stderr, "[ALERT] %s: configuration has errors, %s\n", file,
                    check ? "check failed" : "not starting");
            return 1;
        }
        printf("Configuration file is valid\n");
        return 0;
    }

    int cpus[SP_MAX_WORKERS];
    int ncpus = allowed_cpus(cpus, SP_MAX_WORKERS);
    rt.nworkers = cfg->global.nbthread ? cfg->global.nbthread : (ncpus ? ncpus : 1);
    if (rt.nworkers > SP_MAX_WORKERS)
        rt.nworkers = SP_MAX_WORKERS;
    setup_limits(cfg);
    gate_slots = rt.nworkers;

    if (cfg->global.daemon && !debug && daemon(1, 0) < 0) {
        fprintf(stderr, "[ALERT] cannot go to the background: %s\n", strerror(errno));
        return 1;
    }

    /* signals are handled on main only: block them before any thread exists */
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
        return 1;
    }

    int nfe = routing->nfe;
    if (sp_stats_init(rt.nworkers, routing->nfe, routing->nbe, routing->nsrv) < 0 ||
        sp_decisions_init(rt.nworkers, cfg->global.decision_log) < 0) {
        sp_log(SP_LOG_ALERT, "out of memory allocating the counters");
        return 1;
    }
    sp_routing_publish(routing);

    int status = 1, cli = -1;
    err = open_binds(&rt, routing);
    if (err < 0) {
        if (err == -ENOMEM)
            sp_log(SP_LOG_ALERT, "out of memory opening the listeners");
        goto out;
    }
    if (cfg->global.pidfile && (err = write_pidfile(cfg->global.pidfile)) < 0) {
        sp_log(SP_LOG_ALERT, "cannot write pidfile '%s': %s", cfg->global.pidfile, strerror(-err));
        goto out;
    }

    sp_statsvc_init();
    if (cfg->global.stats_socket) {
        cli = sp_statsvc_cli_open(cfg->global.stats_socket, cfg->global.stats_socket_mode);
        if (cli < 0) {
            sp_log(SP_LOG_ALERT, "cannot open the stats socket '%s': %s", cfg->global.stats_socket,
                   strerror(-cli));
            goto out;
        }
    }

    rt.http.binds = rt.binds;
    rt.http.nbinds = rt.nbinds;
    rt.http.bufsize = cfg->global.bufsize;
    rt.http.maxaccept = cfg->global.maxaccept;
    rt.http.nworkers = rt.nworkers;
    rt.http.h2_max_streams = cfg->global.h2_fe_max_concurrent_streams
                                 ? cfg->global.h2_fe_max_concurrent_streams
                                 : cfg->global.h2_max_concurrent_streams;
    if (rt.http.h2_max_streams <= 0)
        rt.http.h2_max_streams = 100;
    rt.http.server_default_maxconn = cfg->global.server_default_maxconn;
    rt.http.fe_gates = rt.fe_gates;
    rt.http.global_gate = rt.global_gate;
    sp_http_set_conf(&rt.http);

    rt.workers = calloc((size_t)rt.nworkers, sizeof(*rt.workers));
    rt.wptrs = calloc((size_t)rt.nworkers, sizeof(*rt.wptrs));
    if (!rt.workers || !rt.wptrs) {
        sp_log(SP_LOG_ALERT, "out of memory");
        goto out;
    }
    for (int i = 0; i < rt.nworkers; i++) {
        int cpu = -1;
        if (i < 64 && cfg->global.cpu_map_has[i]) {
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &cfg->global.cpu_map[i])) {
                    cpu = c;
                    break;
                }
        } else if (ncpus) {
            cpu = cpus[i % ncpus];
        }
        err = sp_worker_init(&rt.workers[i], i, cpu, &sp_http_hooks);
        if (err < 0) {
            sp_log(SP_LOG_ALERT, "cannot create worker %d: %s", i, strerror(-err));
            goto out;
        }
        rt.wptrs[i] = &rt.workers[i];
    }
    sp_listener_set_workers(rt.wptrs, rt.nworkers);
    for (int i = 0; i < rt.nworkers; i++) {
        err = sp_worker_start(&rt.workers[i]);
        if (err < 0) {
            sp_log(SP_LOG_ALERT, "cannot start worker %d: %s", i, strerror(-err));
            for (int j = 0; j < i; j++)
                sp_worker_stop_mt(&rt.workers[j], true);
            for (int j = 0; j < i; j++)
                sp_worker_join(&rt.workers[j]);
            goto out;
        }
    }
    sp_log(SP_LOG_NOTICE, "spillway %s started: %d worker%s, %d listener%s", SP_VERSION,
           rt.nworkers, rt.nworkers > 1 ? "s" : "", rt.nbinds, rt.nbinds > 1 ? "s" : "");
    status = main_loop(&rt, sfd, cli, routing);
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        struct sp_frontend *fe =
            (p->cap & SP_CAP_FE) ? sp_routing_frontend(routing, p->name) : NULL;
        if (fe && rt.fe_gates[fe->idx])
            sp_log(SP_LOG_NOTICE, "frontend '%s': highest fe_conn %lld (maxconn %lld)", fe->name,
                   (long long)sp_gate_peak_mt(rt.fe_gates[fe->idx]),
                   (long long)rt.fe_gates[fe->idx]->limit);
    }
    if (cfg->global.pidfile)
        unlink(cfg->global.pidfile);
out:
    if (cli >= 0) {
        close(cli);
        unlink(cfg->global.stats_socket);
    }
    close_binds(&rt);
    sp_routing_shutdown();
    sp_stats_free();
    sp_decisions_free();
    free_logs(&rt.http, nfe);
    free_runtime(&rt, nfe);
    close(sfd);
    sp_config_free(cfg);
    return status;
}
