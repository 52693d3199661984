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
#include <urcu/urcu-qsbr.h>

#include "balance/balance.h"
#include "balance/stktable.h"
#include "core/config.h"
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
                         (long long)d[i].fe_conn, rule, be, srv,
                         d[i].proto == 20  ? "h2"
                         : d[i].proto == 0 ? "tcp"
                                           : "h1",
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
    sp_strbuf_printf(
        b,
        "Name: spillway\nVersion: %s\nNbthread: %lld\nNbproc: 1\nProcess_num: 1\n"
        "Pid: %d\nUptime: %lldd %02lldh%02lldm%02llds\nUptime_sec: %lld\n"
        "Maxconn: %lld\nCurrConns: %lld\nCumConns: %lld\nCumReq: %lld\n"
        "ConnRate: %llu\nMaxConnRate: %llu\nReqRate: %llu\n"
        "DecisionLogSize: %d\nDroppedLogs: %lld\nnode: %s\ndescription: %s\n",
        p.version, (long long)p.nbthread, (int)getpid(), (long long)(p.uptime_s / 86400),
        (long long)(p.uptime_s / 3600 % 24), (long long)(p.uptime_s / 60 % 60),
        (long long)(p.uptime_s % 60), (long long)p.uptime_s, (long long)p.max_conn,
        (long long)p.cur_conn, (long long)p.conn_tot, (long long)p.req_tot,
        (unsigned long long)rate, (unsigned long long)max_rate, (unsigned long long)req_rate,
        sp_decisions_size(), (long long)sp_stats_log_drops_mt(), p.node, p.desc ? p.desc : "");
}

/* `show servers state [BE]`: HAProxy's version-1 dump, one line per server. */
static void show_servers_state(const struct sp_routing *rt, const char *only, struct sp_strbuf *b)
{
    uint64_t now = sp_now_ms();
    bool found = !only;

    for (int i = 0; i < rt->nbe && !found; i++)
        found = !strcmp(rt->be[i]->name, only);
    if (!found) {
        sp_strbuf_puts(b, "Can't find backend.\n");
        return;
    }
    sp_strbuf_puts(b, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
                      "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
                      "srv_check_status srv_check_result srv_check_health srv_check_state "
                      "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port "
                      "srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
                      "srv_agent_port\n");
    for (int i = 0; i < rt->nbe; i++) {
        const struct sp_backend *be = rt->be[i];
        if (only && strcmp(be->name, only))
            continue;
        for (int k = 0; k < be->nsrv; k++) {
            const struct sp_server *s = be->srv[k];
            struct sp_srv_hstate st;
            char ip[64], chk[64] = "-";
            sp_srv_health_read(s->h, &st);
            if (st.addr.ss_family == AF_UNSPEC) /* init-addr none: no answer yet */
                snprintf(ip, sizeof(ip), "-");
            else
                sp_addr_ip(&st.addr, ip, sizeof(ip));
            int port = st.addr.ss_family == AF_UNSPEC ? s->dns_port : sp_addr_port(&st.addr);
            if (s->check && !s->chk_follow)
                sp_addr_ip(&s->chk_addr, chk, sizeof(chk));
            /* an SRV record's server: the target its answer gave it, and the record */
            const char *fqdn = s->srv_target ? (s->srv_target[0] ? s->srv_target : "-")
                                             : (s->fqdn ? s->fqdn : "-");
            const char *srvrec = s->srv_target ? s->fqdn : "-";
            sp_strbuf_printf(
                b, "%d %s %d %s %s %d %d %d %d %lld %d %d %d %d 0 0 0 %s %d %s 0 %d %s - 0\n",
                be->id, be->name, s->id, s->name, ip, st.op, st.admin, st.uweight, st.iweight,
                (long long)((now - st.lastchg_ms) / 1000), st.status, st.result, st.health,
                st.chk_state, fqdn, port, srvrec, s->check ? s->chk_port : 0, chk);
        }
    }
}

/* `show backend`: every proxy that can take requests as a backend, in declaration order. */
static void show_backend(const struct sp_routing *rt, struct sp_strbuf *b)
{
    sp_strbuf_puts(b, "# name\n");
    for (int i = 0; i < rt->nbe; i++)
        sp_strbuf_printf(b, "%s\n", rt->be[i]->name);
}

/* "BE/SRV" to a server, or the error HAProxy answers. */
static struct sp_server *find_server(const struct sp_routing *rt, const char *arg,
                                     struct sp_strbuf *b)
{
    const char *slash = arg ? strchr(arg, '/') : NULL;

    if (!slash || slash == arg || !slash[1]) {
        sp_strbuf_puts(b, "Require 'backend/server'.\n");
        return NULL;
    }
    for (int i = 0; i < rt->nbe; i++) {
        const struct sp_backend *be = rt->be[i];
        if (strlen(be->name) != (size_t)(slash - arg) || strncmp(be->name, arg, slash - arg))
            continue;
        for (int k = 0; k < be->nsrv; k++)
            if (!strcmp(be->srv[k]->name, slash + 1))
                return be->srv[k];
        sp_strbuf_puts(b, "No such server.\n");
        return NULL;
    }
    sp_strbuf_puts(b, "No such backend.\n");
    return NULL;
}

/* A change made from the socket: logged as HAProxy logs it. */
static void log_change(const struct sp_server *s, enum sp_srv_change ch, const char *why)
{
    if (ch == SP_SRV_CH_NONE || ch == SP_SRV_CH_WEIGHT)
        return;
    sp_http_srv_change_log(s, ch, false, why);
    sp_http_be_changed(s->be, sp_now_ms());
}

/* "N" or "N%" (of the configured weight), 0..256. */
static void set_weight(struct sp_server *s, const char *arg, struct sp_strbuf *b)
{
    struct sp_srv_hstate st;
    char *end;
    long w;

    if (!arg || !*arg) {
        sp_strbuf_puts(b, "Require <weight> or <weight%>.\n");
        return;
    }
    w = strtol(arg, &end, 10);
    if (end == arg || *arg == '-' || *arg == '+') {
        sp_strbuf_puts(b, "Empty weight string empty or preceded by garbage");
        return;
    }
    sp_srv_health_read(s->h, &st);
    if (*end == '%') {
        if (end[1]) {
            sp_strbuf_puts(b, "Trailing garbage in weight string");
            return;
        }
        if (w < 0) {
            sp_strbuf_puts(b, "Relative weight must be positive.\n");
            return;
        }
        w = (long)st.iweight * w / 100;
        if (w > 256)
            w = 256;
    } else if (*end) {
        sp_strbuf_puts(b, "Trailing garbage in weight string");
        return;
    } else if (w < 0 || w > 256) {
        sp_strbuf_puts(b, "Absolute weight can only be between 0 and 256 inclusive.\n");
        return;
    }
    /* a map built once from the weights (static-rr, map-based hashing): HAProxy accepts
     * only "off" and the configured weight */
    const struct sp_be_lb *lb = &s->be->lb;
    bool hashed = lb->algo == SP_BALANCE_SOURCE || lb->algo == SP_BALANCE_URI ||
                  lb->algo == SP_BALANCE_URL_PARAM || lb->algo == SP_BALANCE_HDR;
    if ((lb->algo == SP_BALANCE_STATIC_RR || (hashed && lb->arg.hash_type == SP_HASH_MAP_BASED)) &&
        w && w != st.iweight) {
        sp_strbuf_puts(b, "Backend is using a static LB algorithm and only accepts weights '0%' "
                          "and '100%'.\n");
        return;
    }
    sp_srv_set_weight(s->h, (int)w, sp_now_ms());
    sp_http_be_changed(s->be, sp_now_ms());
}

/* `set server BE/SRV addr IP [port P]`: HAProxy's informational answer. */
static void set_addr(struct sp_server *s, char **w, int n, struct sp_strbuf *b)
{
    struct sp_srv_hstate st;
    struct sockaddr_storage ss;
    socklen_t len;
    char spec[96], oldip[64], newip[64];
    int oldport, port;

    if (n < 5) {
        sp_strbuf_printf(b, "set server %s/%s addr requires an address and optionally a port.\n",
                         s->be->name, s->name);
        return;
    }
    sp_srv_health_read(s->h, &st);
    oldport = sp_addr_port(&st.addr);
    port = oldport;
    if (n >= 7 && !strcmp(w[5], "port")) {
        char *end;
        long p = strtol(w[6], &end, 10);
        if (end == w[6] || *end || p < 1 || p > 65535) {
            sp_strbuf_printf(b, "Invalid port '%s' by 'stats socket command'\n", w[6]);
            return;
        }
        port = (int)p;
    }
    snprintf(spec, sizeof(spec), strchr(w[4], ':') ? "[%s]:%d" : "%s:%d", w[4], port);
    if (st.addr.ss_family == AF_UNIX || sp_parse_addr(spec, false, &ss, &len) < 0 ||
        ss.ss_family == AF_UNIX) {
        sp_strbuf_printf(b, "Invalid addr '%s' by 'stats socket command'\n", w[4]);
        return;
    }
    sp_addr_ip(&st.addr, oldip, sizeof(oldip));
    sp_addr_ip(&ss, newip, sizeof(newip));
    bool ipchg = strcmp(oldip, newip) != 0, portchg = port != oldport;
    if (ipchg || portchg)
        sp_srv_set_addr(s->h, &ss, (uint32_t)len);
    if (ipchg)
        sp_strbuf_printf(b, "IP changed from '%s' to '%s'", oldip, newip);
    else
        sp_strbuf_puts(b, "no need to change the addr");
    if (portchg)
        sp_strbuf_printf(b, ", port changed from '%d' to '%d'", oldport, port);
    else
        sp_strbuf_puts(b, ", no need to change the port");
    sp_strbuf_puts(b, " by 'stats socket command'\n");
}

/* set server BE/SRV state|health|weight|addr ..., set weight, get weight, enable/disable
 * server|health. */
static void server_command(const struct sp_routing *rt, char **w, int n, bool admin,
                           struct sp_strbuf *b)
{
    bool get = !strcmp(w[0], "get");
    bool setsrv = !strcmp(w[0], "set") && !strcmp(w[1], "server");
    struct sp_server *s;

    if (!get && !admin) {
        sp_strbuf_puts(b, "Permission denied\n");
        return;
    }
    if (!(s = find_server(rt, n >= 3 ? w[2] : NULL, b)))
        return;
    uint64_t now = sp_now_ms();

    if (get) {
        struct sp_srv_hstate st;
        sp_srv_health_read(s->h, &st);
        sp_strbuf_printf(b, "%d (initial %d)\n", st.uweight, st.iweight);
    } else if (!setsrv && !strcmp(w[1], "weight")) {
        set_weight(s, n >= 4 ? w[3] : NULL, b);
    } else if (!setsrv) { /* enable|disable server|health */
        bool on = !strcmp(w[0], "enable");
        if (!strcmp(w[1], "server")) {
            log_change(s, sp_srv_set_admin(s->h, on ? 0 : SP_SRV_FMAINT, now), NULL);
        } else if (sp_srv_set_check_enabled(s->h, on) < 0) {
            sp_strbuf_puts(b, "Health check was not configured on this server, cannot enable.\n");
        }
    } else if (n >= 4 && !strcmp(w[3], "state")) {
        const char *v = n >= 5 ? w[4] : "";
        int st = !strcmp(v, "ready")   ? 0
                 : !strcmp(v, "drain") ? SP_SRV_FDRAIN
                 : !strcmp(v, "maint") ? SP_SRV_FMAINT
                                       : -1;
        if (st < 0)
            sp_strbuf_puts(b, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
        else
            log_change(s, sp_srv_set_admin(s->h, st, now), NULL);
    } else if (n >= 4 && !strcmp(w[3], "health")) {
        const char *v = n >= 5 ? w[4] : "";
        int op = !strcmp(v, "up")         ? SP_SRV_RUNNING
                 : !strcmp(v, "stopping") ? SP_SRV_STOPPING
                 : !strcmp(v, "down")     ? SP_SRV_STOPPED
                                          : -1;
        if (op < 0)
            sp_strbuf_puts(b, "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n");
        else
            log_change(s, sp_srv_set_op(s->h, (enum sp_srv_op)op, now), "changed from CLI");
    } else if (n >= 4 && !strcmp(w[3], "weight")) {
        set_weight(s, n >= 5 ? w[4] : NULL, b);
    } else if (n >= 4 && !strcmp(w[3], "addr")) {
        set_addr(s, w, n, b);
    } else {
        sp_strbuf_puts(b, "usage: set server <backend>/<server> addr | health | state | "
                          "weight\n");
    }
}

static const char help[] =
    "The following commands are valid at this level:\n"
    "  help                                    : this message\n"
    "  show info                               : report information about the running "
    "process\n"
    "  show stat [typed]                       : report counters for each proxy and server\n"
    "  show servers state [BE]                 : dump volatile server information\n"
    "  show backend                            : list backends in the current running config\n"
    "  get weight BE/SRV                       : report a server's current weight\n"
    "  set weight BE/SRV (N|N%)                : change a server's weight (deprecated)\n"
    "  set server BE/SRV state|health|weight|addr ... : change a server's state, weight or "
    "address\n"
    "  enable|disable server BE/SRV            : leave or enter maintenance\n"
    "  show table [NAME [data.TYPE OP V] [key K]] : report table usage stats or dump entries\n"
    "  clear table NAME [data.TYPE OP V] [key K] : remove entries from a stick table\n"
    "  enable|disable health BE/SRV            : start or stop a server's health checks\n"
    "  show decisions                          : the last routing decisions of every worker "
    "(decision-log)\n";

/* ---- stick tables: show table [NAME [filter]], clear table NAME [filter] ---- */

static void emit_line(void *ctx, const char *line)
{
    sp_strbuf_puts(ctx, line);
}

static void table_command(const struct sp_routing *rt, char **w, int n, struct sp_strbuf *b)
{
    bool show = !strcmp(w[0], "show");
    char line[512], err[256];
    struct sp_stkfilter f;

    if (show && n == 2) {
        for (int i = 0; i < rt->nstk; i++) {
            sp_stktable_head(rt->stk[i], line, sizeof(line));
            sp_strbuf_puts(b, line);
        }
        return;
    }
    struct sp_stktable *t = NULL;
    for (int i = 0; n >= 3 && i < rt->nstk; i++)
        if (!strcmp(sp_stktable_name(rt->stk[i]), w[2]))
            t = rt->stk[i];
    if (!t) {
        sp_strbuf_puts(b, n >= 3 ? "No such table\n" : "Optional table name expected\n");
        return;
    }
    if (sp_stkfilter_parse(t, w + 3, n - 3, &f, err, sizeof(err)) < 0) {
        sp_strbuf_puts(b, err);
        return;
    }
    /* the entries live in a QSBR-protected hash table: main reads it as a registered reader
     * for the length of the command (workers never wait for it: it is online only here) */
    urcu_qsbr_register_thread();
    if (show) {
        sp_stktable_head(t, line, sizeof(line));
        sp_strbuf_puts(b, line);
        sp_stktable_dump(t, &f, emit_line, b);
    } else {
        sp_stktable_clear(t, &f);
    }
    urcu_qsbr_unregister_thread();
}

static void run_command(const struct sp_routing *rt, const struct sp_http_conf *conf, char *cmd,
                        bool admin, struct sp_strbuf *b)
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
        show_servers_state(rt, n >= 4 ? w[3] : NULL, b);
    } else if (!strcmp(w[0], "show") && n >= 2 && !strcmp(w[1], "backend")) {
        show_backend(rt, b);
    } else if (n >= 2 && ((!strcmp(w[0], "set") && !strcmp(w[1], "server")) ||
                          (!strcmp(w[0], "set") && !strcmp(w[1], "weight")) ||
                          (!strcmp(w[0], "get") && !strcmp(w[1], "weight")) ||
                          ((!strcmp(w[0], "enable") || !strcmp(w[0], "disable")) &&
                           (!strcmp(w[1], "server") || !strcmp(w[1], "health"))))) {
        server_command(rt, w, n, admin, b);
    } else if (!strcmp(w[0], "show") && n >= 2 && !strcmp(w[1], "decisions")) {
        show_decisions(rt, b);
    } else if ((!strcmp(w[0], "show") || !strcmp(w[0], "clear")) && n >= 2 &&
               !strcmp(w[1], "table")) {
        table_command(rt, w, n, b);
    } else {
        sp_strbuf_printf(b, "Unknown command: '%s'\n", w[0]);
        sp_strbuf_puts(b, help);
    }
    sp_strbuf_puts(b, "\n");
}

int sp_cli_open(const struct sp_cfg_stats_socket *ss)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss->addr;
    bool local = ss->addr.ss_family == AF_UNIX;
    int fd, one = 1;

    fd = socket(ss->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (local)
        unlink(sun->sun_path);
    else
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&ss->addr, ss->addrlen) < 0 || listen(fd, 16) < 0)
        goto fail;
    if (local && (chmod(sun->sun_path, (mode_t)(ss->mode >= 0 ? ss->mode : 0600)) < 0 ||
                  ((ss->uid >= 0 || ss->gid >= 0) &&
                   chown(sun->sun_path, (uid_t)ss->uid, (gid_t)ss->gid) < 0)))
        goto fail;
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

void sp_cli_serve(int lfd, const struct sp_routing *rt, const struct sp_http_conf *conf, bool admin,
                  int timeout_ms)
{
    for (int guard = 0; guard < 16; guard++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        /* one command line per connection (several separated by ';'), as HAProxy's
         * non-interactive mode; bounded in time and size so a stuck client cannot hold main */
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000};
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
            run_command(rt, conf, c, admin, &b);
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
