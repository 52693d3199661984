/* core/cli.c - the stats socket's command interpreter (see core/cli.h).
 *
 * owner: main. Reads the counters and decision rings through stats/stats.h as any reader does,
 * and the routing snapshot main published; `show stat` and the process values come from
 * http/statsvc.c, which builds the same rows for the stats page.
 */
#include "core/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "balance/balance.h"
#include "core/timer.h"
#include "core/util.h"
#include "http/http.h"
#include "stats/stats.h"

static const char *name_fe(const struct sp_routing *rt, int i)
{
    return i >= 0 && i < rt->nfe ? rt->fe[i]->name : "?";
}

static void show_decisions(const struct sp_routing *rt, struct sp_strbuf *b)
{
    int size = sp_decisions_size();

    if (!size) {
        sp_strbuf_puts(b, "The decision log is off: set 'decision-log N' in the global "
                          "section.\n");
        return;
    }
    int max = size * sp_stats_nworkers();
    struct sp_decision *d = calloc((size_t)max, sizeof(*d));
    if (!d) {
        b->oom = true;
        return;
    }
    int n = sp_decisions_read(d, max);
    sp_strbuf_puts(b, "# time worker frontend fe_conn rule backend/server proto request\n");
    for (int i = 0; i < n; i++) {
        time_t sec = (time_t)(d[i].wall_us / 1000000);
        struct tm tm;
        char when[32], rule[160];
        gmtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        const struct sp_frontend *fe = d[i].fe >= 0 && d[i].fe < rt->nfe ? rt->fe[d[i].fe] : NULL;
        if (d[i].rule < 0 || !fe || d[i].rule >= fe->nrules)
            snprintf(rule, sizeof(rule), "default_backend");
        else
            snprintf(rule, sizeof(rule), "use_backend(line %d) %s", fe->rules[d[i].rule].line,
                     fe->rules[d[i].rule].cond ? sp_acl_cond_text(fe->rules[d[i].rule].cond)
                                               : "always");
        const char *be = d[i].be >= 0 && d[i].be < rt->nbe ? rt->be[d[i].be]->name : "<NOBACKEND>";
        const char *srv =
            d[i].srv >= 0 && d[i].srv < rt->nsrv ? rt->srv[d[i].srv]->name : "<NOSRV>";
        sp_strbuf_printf(b, "%s.%06uZ %d %s fe_conn=%lld %s -> %s/%s %s \"%s\"\n", when,
                         (unsigned)(d[i].wall_us % 1000000), d[i].worker, name_fe(rt, d[i].fe),
                         (long long)d[i].fe_conn, rule, be, srv, d[i].proto == 20 ? "h2" : "h1",
                         d[i].target);
    }
    free(d);
}

static void show_info(const struct sp_routing *rt, const struct sp_http_conf *conf,
                      struct sp_strbuf *b)
{
    struct sp_stats_proc p;
    uint64_t now_ms = sp_now_ms();

    sp_statsvc_proc_info(rt, conf, now_ms, &p);
    uint64_t rate = 0, req_rate = 0, max_rate = 0;
    for (int i = 0; i < rt->nfe; i++) {
        struct sp_stats_obj o;
        sp_stats_read(SP_STATS_FE, i, now_ms, &o);
        rate += o.conn_rate.cur;
        req_rate += o.req_rate.cur;
        max_rate = SP_MAX(max_rate, o.conn_rate.max);
    }
    sp_strbuf_printf(b,
                     "Name: spillway\nVersion: %s\nNbthread: %lld\nNbproc: 1\nProcess_num: 1\n"
                     "Pid: %d\nUptime: %lldd %02lldh%02lldm%02llds\nUptime_sec: %lld\n"
                     "Maxconn: %lld\nCurrConns: %lld\nCumConns: %lld\nCumReq: %lld\n"
                     "ConnRate: %llu\nMaxConnRate: %llu\nReqRate: %llu\n"
                     "DecisionLogSize: %d\nDroppedLogs: %lld\n",
                     p.version, (long long)p.nbthread, (int)getpid(),
                     (long long)(p.uptime_s / 86400), (long long)(p.uptime_s / 3600 % 24),
                     (long long)(p.uptime_s / 60 % 60), (long long)(p.uptime_s % 60),
                     (long long)p.uptime_s, (long long)p.max_conn, (long long)p.cur_conn,
                     (long long)p.conn_tot, (long long)p.req_tot, (unsigned long long)rate,
                     (unsigned long long)max_rate, (unsigned long long)req_rate,
                     sp_decisions_size(), (long long)sp_stats_log_drops_mt());
}

static void show_servers_state(const struct sp_routing *rt, const struct sp_http_conf *conf,
                               struct sp_strbuf *b)
{
    struct sp_stats_proc p;

    sp_statsvc_proc_info(rt, conf, sp_now_ms(), &p); /* for its uptime */
    sp_strbuf_puts(b, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
                      "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
                      "srv_check_status srv_check_result srv_check_health srv_check_state "
                      "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port "
                      "srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
                      "srv_agent_port\n");
    for (int i = 0; i < rt->nbe; i++) {
        const struct sp_backend *be = rt->be[i];
        for (int k = 0; k < be->nsrv; k++) {
            const struct sp_server *s = be->srv[k];
            char ip[64];
            sp_addr_ip(&s->addr, ip, sizeof(ip));
            sp_strbuf_printf(b, "%d %s %d %s %s %d %d %d %d %lld 1 0 0 0 0 0 0 - %d - 0 0 - - 0\n",
                             be->id, be->name, s->id, s->name, ip, s->disabled ? 0 : 2,
                             s->disabled ? 1 : 0, s->weight, s->weight, (long long)p.uptime_s,
                             sp_addr_port(&s->addr));
        }
    }
}

static const char help[] =
    "The following commands are valid at this level:\n"
    "  help                                    : this message\n"
    "  show info                               : report information about the running "
    "process\n"
    "  show stat [typed]                       : report counters for each proxy and server\n"
    "  show servers state                      : dump volatile server information\n"
    "  show decisions                          : the last routing decisions of every worker "
    "(decision-log)\n";

static void run_command(const struct sp_routing *rt, const struct sp_http_conf *conf, char *cmd,
                        struct sp_strbuf *b)
{
    char *w[8];
    int n = 0;
    for (char *save = NULL, *p = strtok_r(cmd, " \t", &save); p && n < 8;
         p = strtok_r(NULL, " \t", &save))
        w[n++] = p;
    if (!n)
        return;
    if (!strcmp(w[0], "help")) {
        sp_strbuf_puts(b, help);
    } else if (!strcmp(w[0], "show") && n >= 2 && !strcmp(w[1], "info")) {
        show_info(rt, conf, b);
    } else if (!strcmp(w[0], "show") && n >= 2 && !strcmp(w[1], "stat")) {
        bool typed = n >= 3 && !strcmp(w[2], "typed");
        if (n >= 3 && !typed) {
            sp_strbuf_printf(b,
                             "Unknown option '%s' to 'show stat': only 'typed' is "
                             "supported.\n",
                             w[2]);
        } else if (sp_statsvc_show_stat(rt, conf, typed, b) < 0) {
            b->oom = true;
        }
    } else if (!strcmp(w[0], "show") && n >= 3 && !strcmp(w[1], "servers") &&
               !strcmp(w[2], "state")) {
        show_servers_state(rt, conf, b);
    } else if (!strcmp(w[0], "show") && n >= 2 && !strcmp(w[1], "decisions")) {
        show_decisions(rt, b);
    } else {
        sp_strbuf_printf(b, "Unknown command: '%s'\n", w[0]);
        sp_strbuf_puts(b, help);
    }
    sp_strbuf_puts(b, "\n");
}

int sp_cli_open(const char *path, int mode)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    chmod(path, (mode_t)(mode >= 0 ? mode : 0600));
    return fd;
}

void sp_cli_serve(int lfd, const struct sp_routing *rt, const struct sp_http_conf *conf)
{
    for (int guard = 0; guard < 16; guard++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        /* one command line per connection (several separated by ';'), as HAProxy's
         * non-interactive mode; bounded in time and size so a stuck client cannot hold main */
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        char line[4096];
        size_t len = 0;
        while (len < sizeof(line) - 1) {
            ssize_t r = read(fd, line + len, sizeof(line) - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            if (memchr(line, '\n', len))
                break;
        }
        line[len] = 0;
        char *nl = strpbrk(line, "\r\n");
        if (nl)
            *nl = 0;
        struct sp_strbuf b;
        sp_strbuf_init(&b);
        for (char *save = NULL, *c = strtok_r(line, ";", &save); c; c = strtok_r(NULL, ";", &save))
            run_command(rt, conf, c, &b);
        if (b.oom) {
            sp_strbuf_reset(&b);
            sp_strbuf_puts(&b, "Out of memory.\n\n");
        }
        for (size_t off = 0; off < b.len;) {
            ssize_t w = write(fd, b.p + off, b.len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        sp_strbuf_free(&b);
        close(fd);
    }
}
