/* http/statsvc.c - the statistics services: rows for `show stat`, the stats page and the
 * Prometheus exporter (served over HTTP by the client side as local answers), and the stats
 * socket's command interpreter (run by main).
 *
 * shared: reads the per-worker counters, gates and decision rings with plain atomic loads;
 * writes nothing shared. The HTTP services run on a worker with its snapshot; the stats
 * socket runs on main with the published snapshot, which main owns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timer.h"
#include "core/util.h"
#include "http/http-int.h"
#include "stats/render.h"

/* shared: set by main at start */
static uint64_t start_mono_us;
static const char *version = SP_VERSION;

void sp_statsvc_init(void)
{
    start_mono_us = sp_now_us();
}

/* fullconn as HAProxy defaults it: 10% of the summed maxconn of the frontends that can route
 * to the backend */
static int64_t fullconn(const struct sp_routing *rt, const struct sp_backend *be)
{
    int64_t sum = 0;

    for (int i = 0; i < rt->nfe; i++) {
        const struct sp_frontend *fe = rt->fe[i];
        bool uses = fe->defbe == be;
        for (int r = 0; r < fe->nrules && !uses; r++)
            uses = fe->rules[r].be == be;
        if (uses)
            sum += fe->maxconn;
    }
    return sum / 10;
}

static bool srv_usable(const struct sp_server *s)
{
    return !s->disabled && s->weight > 0;
}

/* Builds every row, in proxy id order: FRONTEND, servers, BACKEND. Addresses are written in
 * `addrs` (one per server). */
/* The columns every row has: names, ids, and the counters summed over the workers. */
static struct sp_stats_row *row_start(struct sp_stats_row *r, enum sp_stats_type type,
                                      const char *pxname, int iid, enum sp_stats_kind kind, int idx,
                                      uint64_t now_ms)
{
    r->pxname = pxname;
    r->type = type;
    r->iid = (uint32_t)iid;
    r->pid = 1;
    r->now_ms = now_ms;
    sp_stats_read(kind, idx, now_ms, &r->obj);
    return r;
}

static int build_rows(const struct sp_routing *rt, const struct sp_http_conf *conf, uint64_t now_ms,
                      struct sp_stats_row **ret_rows, size_t *ret_n, char (**ret_addrs)[64])
{
    size_t cap = (size_t)(rt->nfe + rt->nbe + rt->nsrv);
    struct sp_stats_row *rows = calloc(cap ? cap : 1, sizeof(*rows));
    char(*addrs)[64] = calloc((size_t)(rt->nsrv ? rt->nsrv : 1), sizeof(*addrs));
    int64_t uptime = (int64_t)((sp_now_us() - start_mono_us) / 1000000);
    size_t n = 0;
    int maxid = 0;

    if (!rows || !addrs) {
        free(rows);
        free(addrs);
        return -ENOMEM;
    }
    for (int i = 0; i < rt->nfe; i++)
        maxid = SP_MAX(maxid, rt->fe[i]->id);
    for (int i = 0; i < rt->nbe; i++)
        maxid = SP_MAX(maxid, rt->be[i]->id);
    for (int id = 1; id <= maxid; id++) {
        for (int i = 0; i < rt->nfe; i++) {
            const struct sp_frontend *fe = rt->fe[i];
            if (fe->id != id)
                continue;
            struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_FE, fe->name, fe->id,
                                               SP_STATS_FE, fe->idx, now_ms);
            struct sp_gate *g = conf->fe_gates[fe->idx];
            r->scur_set = true;
            r->scur = g ? sp_gate_count_mt(g) : 0;
            r->obj.max = g ? sp_gate_peak_mt(g) : 0;
            r->slim = g ? (int64_t)g->limit : fe->maxconn; /* the global maxconn when unset */
            r->status = "OPEN";
        }
        for (int i = 0; i < rt->nbe; i++) {
            const struct sp_backend *be = rt->be[i];
            if (be->id != id)
                continue;
            uint32_t weight = 0, act = 0;
            for (int k = 0; k < be->nsrv; k++) {
                const struct sp_server *s = be->srv[k];
                struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_SRV, be->name, be->id,
                                                   SP_STATS_SRV, s->idx, now_ms);
                r->svname = s->name;
                r->sid = (uint32_t)s->id;
                r->slim = s->maxconn;
                r->qlimit = s->maxqueue;
                r->status = s->disabled ? "MAINT" : "UP";
                r->weight = (uint32_t)s->weight;
                r->act = srv_usable(s);
                r->lastchg = uptime;
                sp_addr_str(&s->addr, addrs[s->idx], sizeof(addrs[s->idx]));
                r->addr = addrs[s->idx];
                if (srv_usable(s)) {
                    weight += (uint32_t)s->weight;
                    act++;
                }
            }
            struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_BE, be->name, be->id,
                                               SP_STATS_BE, be->idx, now_ms);
            r->slim = fullconn(rt, be);
            r->status = act ? "UP" : "DOWN";
            r->weight = weight;
            r->act = act;
            r->lastchg = uptime;
            r->algo = "roundrobin";
        }
    }
    *ret_rows = rows;
    *ret_n = n;
    *ret_addrs = addrs;
    return 0;
}

static void proc_info(const struct sp_routing *rt, const struct sp_http_conf *conf, uint64_t now_ms,
                      struct sp_stats_proc *p)
{
    struct sp_stats_obj o;
    uint64_t now_us = sp_now_us();

    memset(p, 0, sizeof(*p));
    p->cur_conn = sp_gate_count_mt(conf->global_gate);
    p->max_conn = conf->global_gate->limit;
    for (int i = 0; i < rt->nfe; i++) {
        sp_stats_read(SP_STATS_FE, i, now_ms, &o);
        p->conn_tot += o.stot;
        p->req_tot += o.req_tot;
    }
    p->nbthread = conf->nworkers;
    p->uptime_s = (int64_t)((now_us - start_mono_us) / 1000000);
    p->start_time_s = (int64_t)(sp_wall_us(start_mono_us) / 1000000);
    p->version = version;
}

static int render(const struct sp_routing *rt, const struct sp_http_conf *conf,
                  const struct sp_frontend *fe, enum sp_local kind, bool typed, struct sp_strbuf *b)
{
    uint64_t now_ms = sp_now_ms();
    struct sp_stats_row *rows;
    char(*addrs)[64];
    size_t n;
    struct sp_stats_proc proc;
    int err = build_rows(rt, conf, now_ms, &rows, &n, &addrs);

    if (err)
        return err;
    proc_info(rt, conf, now_ms, &proc);
    switch (kind) {
    case SP_LOCAL_PROMETHEUS:
        err = sp_stats_prom(b, &proc, rows, n, SP_PROM_ALL);
        break;
    case SP_LOCAL_STATS_HTML: {
        struct sp_stats_html_opts o = {
            .uri = fe ? fe->stats_uri : NULL,
            .refresh = fe ? (int)(fe->stats_refresh / 1000) : 0,
            .proc = &proc,
        };
        err = sp_stats_html(b, &o, rows, n);
        break;
    }
    default:
        if (!typed)
            err = sp_stats_csv_header(b);
        for (size_t i = 0; i < n && !err; i++)
            err = typed ? sp_stats_typed_row(b, &rows[i]) : sp_stats_csv_row(b, &rows[i]);
        break;
    }
    free(rows);
    free(addrs);
    return b->oom ? -ENOMEM : err;
}

int sp__statsvc_body(struct sp_http_worker *hw, const struct sp_frontend *fe, enum sp_local kind,
                     char **ret_body, size_t *ret_len, const char **ret_ctype)
{
    struct sp_strbuf b;

    sp_strbuf_init(&b);
    int err = render(hw->rt, hw->conf, fe, kind, false, &b);
    if (err) {
        sp_strbuf_free(&b);
        return err;
    }
    *ret_body = b.p ? b.p : strdup("");
    *ret_len = b.len;
    *ret_ctype = kind == SP_LOCAL_PROMETHEUS  ? "text/plain; version=0.0.4; charset=utf-8"
                 : kind == SP_LOCAL_STATS_CSV ? "text/plain"
                                              : "text/html";
    return *ret_body ? 0 : -ENOMEM;
}

/* ---- the stats socket (main) ---- */

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

    proc_info(rt, conf, now_ms, &p);
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
                     version, (long long)p.nbthread, (int)getpid(), (long long)(p.uptime_s / 86400),
                     (long long)(p.uptime_s / 3600 % 24), (long long)(p.uptime_s / 60 % 60),
                     (long long)(p.uptime_s % 60), (long long)p.uptime_s, (long long)p.max_conn,
                     (long long)p.cur_conn, (long long)p.conn_tot, (long long)p.req_tot,
                     (unsigned long long)rate, (unsigned long long)max_rate,
                     (unsigned long long)req_rate, sp_decisions_size(),
                     (long long)sp_stats_log_drops_mt());
}

static void show_servers_state(const struct sp_routing *rt, struct sp_strbuf *b)
{
    int64_t uptime = (int64_t)((sp_now_us() - start_mono_us) / 1000000);

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
                             s->disabled ? 1 : 0, s->weight, s->weight, (long long)uptime,
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
        } else if (render(rt, conf, NULL, SP_LOCAL_STATS_CSV, typed, b) < 0) {
            b->oom = true;
        }
    } else if (!strcmp(w[0], "show") && n >= 3 && !strcmp(w[1], "servers") &&
               !strcmp(w[2], "state")) {
        show_servers_state(rt, b);
    } else if (!strcmp(w[0], "show") && n >= 2 && !strcmp(w[1], "decisions")) {
        show_decisions(rt, b);
    } else {
        sp_strbuf_printf(b, "Unknown command: '%s'\n", w[0]);
        sp_strbuf_puts(b, help);
    }
    sp_strbuf_puts(b, "\n");
}

int sp_statsvc_cli_open(const char *path, int mode)
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

void sp_statsvc_cli_serve(int lfd, const struct sp_routing *rt, const struct sp_http_conf *conf)
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
