/* http/check.c - health checks, HAProxy 2.6's way (src/check.c, src/tcpcheck.c): a TCP
 * connect, or with `option httpchk` an HTTP/1 request on a fresh connection whose response
 * must meet `http-check expect` (2xx or 3xx by default). Each result goes through
 * balance/health.h, which turns it into a state (HAProxy's rise/fall counter) that every
 * worker's balancer reads without a lock.
 *
 * owner: worker. Each checked server is checked by exactly one worker (its position among the
 * checked servers, modulo the number of workers), so check traffic does not grow with the
 * thread count. A check's connection goes through the transport layer (net/transport.h) like
 * every other connection; its request is small and sent whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "http/check-int.h"
#include "http/http-int.h"
#include "net/proxyproto.h"
#include "net/sock.h"
#include "net/transport.h"

static void check_start(struct sp_timer *tm);

/* HAProxy's srv_getinter(): inter when fully up, downinter when fully down, fastinter in
 * between (and in the initial state). */
static int64_t interval(const struct sp_server *s, const struct sp_srv_hstate *st)
{
    if (st->health == st->rise + st->fall - 1)
        return s->inter;
    if (st->op == SP_SRV_STOPPED && st->health == 0)
        return s->downinter;
    return s->fastinter;
}

/* `spread-checks`: the interval moved by up to +-P percent. */
static int64_t spread(const struct sp_routing *rt, int64_t ms)
{
    if (!rt->spread_checks || ms <= 0)
        return ms;
    int64_t rv = ms * rt->spread_checks / 100;
    return ms - rv + (int64_t)((uint64_t)random() % (uint64_t)(2 * rv + 1));
}

/* on-marked-down shutdown-sessions: the server went DOWN, every worker ends the sessions it
 * runs on it; on-marked-up shutdown-backup-sessions: an active server came UP, every worker
 * ends its sessions on the backend's backup servers (HAProxy's srv_shutdown_streams() and
 * srv_shutdown_backup_streams()). Each worker closes its own connections when woken. */
static void shutdown_sessions(const struct sp_server *s, enum sp_srv_change ch)
{
    bool any = false;

    if ((ch == SP_SRV_CH_DOWN || ch == SP_SRV_CH_MAINT) && s->on_down_shutdown) {
        sp_srv_kill_sessions(s->h);
        any = true;
    } else if ((ch == SP_SRV_CH_UP || ch == SP_SRV_CH_READY) && s->on_up_shutdown_bk &&
               !s->backup && sp_srv_lbw(s->h) > 0) {
        for (int i = 0; i < s->be->nsrv; i++) {
            if (s->be->srv[i]->backup) {
                sp_srv_kill_sessions(s->be->srv[i]->h);
                any = true;
            }
        }
    }
    if (any)
        sp_listener_wake_workers();
}

/* "Server be/s1 is DOWN, reason: ..., check duration: 0ms. 1 active and 0 backup servers
 * left. 0 sessions active, 0 requeued, 0 remaining in queue." */
void sp_http_srv_change_log(const struct sp_server *s, enum sp_srv_change ch, bool reason,
                            const char *why)
{
    static const char *const what[] = {
        [SP_SRV_CH_DOWN] = "is DOWN",
        [SP_SRV_CH_UP] = "is UP",
        [SP_SRV_CH_STOPPING] = "is stopping",
        [SP_SRV_CH_MAINT] = "is going DOWN for maintenance",
        [SP_SRV_CH_MAINT_DOWN] = "was DOWN and now enters maintenance",
        [SP_SRV_CH_READY] = "is UP/READY (leaving forced maintenance)",
        [SP_SRV_CH_DRAIN] = "enters drain state",
        [SP_SRV_CH_UNDRAIN] = "is UP (leaving forced drain)",
        [SP_SRV_CH_RESOLVES] = "is UP/READY (resolves again)",
    };
    struct sp_srv_hstate st;
    char msg[512];
    int n;

    if (s->on_down_shutdown || s->on_up_shutdown_bk)
        shutdown_sessions(s, ch); /* whoever changed it: a check, the CLI, the stats page */
    if (ch <= SP_SRV_CH_NONE || ch >= SP_SRV_CH_WEIGHT || !what[ch])
        return;
    sp_srv_health_read(s->h, &st);
    if (ch == SP_SRV_CH_RESOLVES && s->fqdn) /* HAProxy names the host here */
        n = snprintf(msg, sizeof(msg), "%sServer %s/%s ('%s') %s", s->backup ? "Backup " : "",
                     s->be->name, s->name, s->fqdn, what[ch]);
    else
        n = snprintf(msg, sizeof(msg), "%sServer %s/%s %s", s->backup ? "Backup " : "", s->be->name,
                     s->name, what[ch]);
    if (why && why[0] == '(') { /* a cause, HAProxy's adm_st_chg_cause */
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, " %s", why);
    } else if (why) {
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, ", %s", why);
    } else if (reason && st.status != SP_CHK_UNK && st.status != SP_CHK_INI &&
               (ch == SP_SRV_CH_DOWN || ch == SP_SRV_CH_UP || ch == SP_SRV_CH_STOPPING)) {
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, ", reason: %s",
                      sp_chk_status_desc(st.status));
        if (sp_chk_status_has_code(st.status))
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, ", code: %d", st.code);
        if (st.info[0]) {
            char esc[4 * sizeof(st.info) + 1];
            sp_log_escape(esc, sizeof(esc), st.info, strlen(st.info));
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, ", info: \"%s\"", esc);
        }
        if (st.duration_ms >= 0)
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, ", check duration: %lldms",
                          (long long)st.duration_ms);
    }
    if (ch != SP_SRV_CH_MAINT_DOWN && ch != SP_SRV_CH_READY && ch != SP_SRV_CH_UNDRAIN &&
        ch != SP_SRV_CH_RESOLVES && n < (int)sizeof(msg)) {
        int act = sp_backend_usable(s->be, false), bck = sp_backend_usable(s->be, true);
        const char *onbck = !act && bck ? " Running on backup." : "";
        long long cur = (long long)sp_stats_cur_mt(SP_STATS_SRV, s->idx);
        long long q = (long long)sp_stats_qcur_mt(SP_STATS_SRV, s->idx);
        if (ch == SP_SRV_CH_DOWN || ch == SP_SRV_CH_MAINT)
            snprintf(msg + n, sizeof(msg) - (size_t)n,
                     ". %d active and %d backup servers left.%s %lld sessions active, 0 "
                     "requeued, %lld remaining in queue",
                     act, bck, onbck, cur, q);
        else
            snprintf(msg + n, sizeof(msg) - (size_t)n,
                     ". %d active and %d backup servers online.%s 0 sessions requeued, %lld "
                     "total in queue",
                     act, bck, onbck, (long long)sp_stats_qcur_mt(SP_STATS_BE, s->be->idx));
    }
    sp_log(SP_LOG_WARNING, "%s.", msg);
}

void sp_http_be_changed(const struct sp_backend *be, uint64_t now_ms)
{
    int usable = sp_backend_usable(be, false) + sp_backend_usable(be, true);

    if (sp_be_health_update(be->bh, usable, now_ms) > 0)
        sp_log(SP_LOG_ALERT, "backend '%s' has no server available!", be->name);
}

/* `option log-health-checks`: a line for every check whose result or counter moved. */
static void log_check(const struct sp_server *s, const struct sp_srv_hstate *before,
                      const struct sp_srv_hstate *st)
{
    char esc[4 * sizeof(st->info) + 1], info[sizeof(esc) + 16] = "", code[24] = "";
    const char *state;
    int x, y;

    if (before->status == st->status && before->health == st->health)
        return;
    if (sp_chk_status_has_code(st->status))
        snprintf(code, sizeof(code), ", code: %d", st->code);
    if (st->info[0]) {
        sp_log_escape(esc, sizeof(esc), st->info, strlen(st->info));
        snprintf(info, sizeof(info), ", info: \"%s\"", esc);
    }
    if (st->health >= st->rise) {
        x = st->health - st->rise + 1;
        y = st->fall;
        state = st->admin & SP_SRV_FDRAIN ? "DRAIN" : "UP";
    } else {
        x = st->health;
        y = st->rise;
        state = "DOWN";
    }
    sp_log(SP_LOG_WARNING,
           "Health check for %sserver %s/%s %s, reason: %s%s%s, check duration: %lldms, "
           "status: %d/%d %s.",
           s->backup ? "backup " : "", s->be->name, s->name,
           st->result == SP_CHK_RES_CONDPASS ? "conditionally succeeded"
           : st->result == SP_CHK_RES_PASSED ? "succeeded"
                                             : "failed",
           sp_chk_status_desc(st->status), code, info, (long long)st->duration_ms, x, y, state);
}

void sp__checks_kill_scan(struct sp_http_worker *hw)
{
    const struct sp_routing *rt = hw->rt;
    bool any = false;

    for (int i = 0; i < rt->nsrv; i++) {
        int g = sp_srv_kill_gen(rt->srv[i]->h);
        hw->kill_now[i] = g != hw->kill_seen[i];
        any |= hw->kill_now[i];
        hw->kill_seen[i] = g;
    }
    if (!any)
        return;
    for (struct sp_conn *c = hw->conns, *next; c; c = next) {
        next = c->_next;
        /* a running session (tcp, or an HTTP/1 transaction) on one of those servers */
        if (c->state != SP_CONN_H2 && c->txn && c->txn->srv && hw->kill_now[c->txn->srv->idx])
            sp__conn_close(c);
    }
}

/* The check ended with `status`: record it, log a change, schedule the next one. */
void sp__check_done(struct sp_check *c, enum sp_chk_status status, int code, const char *info)
{
    struct sp_worker *w = c->hw->w;
    const struct sp_server *s = c->s;
    struct sp_srv_hstate before, st;
    char copy[sizeof(st.info)];

    if (info) /* it may point into the buffers released below */
        snprintf(copy, sizeof(copy), "%s", info);
    sp_xconn_close(&c->x, w, &c->hw->bufs);
    c->x.ev.fd = -1;
    c->running = c->connected = false;
    sp_srv_health_read(s->h, &before);
    enum sp_srv_change ch = sp_srv_check_done(s->h, status, code, (int64_t)(w->now - c->t_start),
                                              info ? copy : NULL, w->now);
    sp_srv_health_read(s->h, &st);
    if (s->be->log_health_checks)
        log_check(s, &before, &st);
    if (ch != SP_SRV_CH_NONE) {
        sp_http_srv_change_log(s, ch, !s->be->log_health_checks, NULL);
        sp_http_be_changed(s->be, w->now);
    }
    sp_timer_arm(&w->tw, &c->next, w->now + (uint64_t)spread(c->hw->rt, interval(s, &st)));
}

/* Whether the response meets `http-check expect`; on a failure the status and message say
 * why. `body` is what arrived after the head (at most a buffer). */
static bool expect_ok(const struct sp_be_check *k, const struct sp_h1_msg *m, const char *base,
                      const char *body, size_t blen, int *ret_status, const char **ret_msg)
{
    char digits[4];
    bool match;

    snprintf(digits, sizeof(digits), "%03d", m->status);
    switch (k->expect) {
    case SP_EXPECT_DEFAULT:
        match = m->status >= 200 && m->status <= 399;
        break;
    case SP_EXPECT_STATUS: {
        const char *p = k->pat;
        match = false;
        while (*p && !match) {
            char *end;
            long lo = strtol(p, &end, 10), hi = lo;
            if (*end == '-')
                hi = strtol(end + 1, &end, 10);
            match = m->status >= lo && m->status <= hi;
            p = *end == ',' ? end + 1 : end;
        }
        break;
    }
    case SP_EXPECT_RSTATUS:
        match = regexec(&k->re, digits, 0, NULL, 0) == 0;
        break;
    default: {
        if (!blen) {
            *ret_status = SP_CHK_L7RSP;
            *ret_msg = "HTTP content check could not find a response body";
            return false;
        }
        /* the body as a string: regexec stops at a NUL, as HAProxy's match on a buffer */
        char *b = strndup(body, blen);
        if (!b) {
            *ret_status = SP_CHK_SOCKERR;
            *ret_msg = "out of memory";
            return false;
        }
        match = k->expect == SP_EXPECT_STRING ? memmem(body, blen, k->pat, strlen(k->pat)) != NULL
                                              : regexec(&k->re, b, 0, NULL, 0) == 0;
        free(b);
        if (match != k->expect_neg)
            return true;
        *ret_status = SP_CHK_L7RSP;
        *ret_msg = k->expect_neg ? "HTTP check matched unwanted content"
                                 : "HTTP content check did not match";
        return false;
    }
    }
    (void)base;
    if (match != k->expect_neg)
        return true;
    *ret_status = SP_CHK_L7STS;
    *ret_msg = NULL; /* the reason phrase */
    return false;
}

/* Reads what the server answered and decides once enough is there. */
static void http_read(struct sp_check *c)
{
    const struct sp_be_check *k = &c->s->be->chk;
    struct sp_buf *rb = &c->x.rbuf;
    struct sp_h1_msg *m = &c->hw->msg;

    if (!rb->data && sp_buf_alloc(rb, &c->hw->bufs)) {
        sp__check_done(c, SP_CHK_SOCKERR, 0, "out of memory");
        return;
    }
    while (c->x.can_read && !c->x.rd_eof && sp_buf_room(rb)) {
        ssize_t n = sp_xconn_read(&c->x);
        if (n == -EAGAIN)
            break;
        if (n < 0 && !sp_buf_len(rb)) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, strerror((int)-n));
            return;
        }
    }
    long r =
        sp_h1_parse_response(sp_buf_head(rb), sp_buf_len(rb), rb->size, SP_METH_GET, &c->scan, m);
    bool full = !sp_buf_room(rb);
    if (r < 0 || (r == 0 && (c->x.rd_eof || full))) {
        sp__check_done(c, SP_CHK_L7RSP, 0, NULL); /* not HTTP, or closed without a response */
        return;
    }
    if (r == 0)
        return;
    const char *body = sp_buf_head(rb) + r;
    size_t blen = sp_buf_len(rb) - (size_t)r;
    bool body_match = k->expect == SP_EXPECT_STRING || k->expect == SP_EXPECT_RSTRING;
    if (body_match && !c->x.rd_eof && !full &&
        !(m->body == SP_H1_BODY_CL && blen >= m->content_length) && m->body != SP_H1_BODY_NONE)
        return; /* the body is still coming */
    if (m->body == SP_H1_BODY_CL && blen > m->content_length)
        blen = (size_t)m->content_length;

    char reason[64];
    snprintf(reason, sizeof(reason), "%.*s", (int)m->reason_len, sp_buf_head(rb) + m->reason_off);
    if (k->disable_on_404 && m->status == 404) {
        /* conditionally passed: the server stops taking new traffic, unless it is DOWN */
        sp__check_done(c, SP_CHK_L7OKC, 404, reason);
        return;
    }
    int status = SP_CHK_L7OK;
    const char *msg = NULL;
    if (!expect_ok(k, m, sp_buf_head(rb), body, blen, &status, &msg)) {
        sp__check_done(c, status, m->status, msg ? msg : reason);
        return;
    }
    sp__check_done(c, SP_CHK_L7OK, m->status, NULL);
}

/* The PROXY protocol header of a check (check-send-proxy, or the server's send-proxy): HAProxy
 * 2.6's conn_send_proxy() without a stream, that is v1 with the check connection's own
 * addresses, v2 LOCAL (or, under global `pp2-never-send-local`, v2 PROXY with those same
 * addresses), each with the server's v2 options. Written at once: it is the first thing on
 * a fresh connection, a hundred bytes at most. */
static int send_proxy(struct sp_check *c)
{
    struct sp_xconn *x = &c->x;
    const struct sp_server *s = c->s;
    uint8_t pp[SP_PP_BUILD_MAX];
    size_t n;
    struct sockaddr_storage src, dst;
    socklen_t sl = sizeof(src), dl = sizeof(dst);

    if (getsockname(x->ev.fd, (struct sockaddr *)&src, &sl) < 0)
        src.ss_family = AF_UNSPEC;
    if (getpeername(x->ev.fd, (struct sockaddr *)&dst, &dl) < 0)
        dst.ss_family = AF_UNSPEC;
    if (s->pp_opts & SP_PP_SEND_V2) {
        bool addrs = c->hw->rt->pp2_never_send_local;
        n = sp_pp_build_v2(pp, sizeof(pp), addrs ? &src : NULL, addrs ? &dst : NULL, s->pp_opts,
                           NULL, 0);
    } else {
        n = sp_pp_build_v1((char *)pp, sizeof(pp), &src, &dst);
    }
    if (!n || sp_buf_alloc(&x->wbuf, &c->hw->bufs) || sp_buf_append(&x->wbuf, pp, (uint32_t)n) != n)
        return -ENOSPC;
    ssize_t r = sp_xconn_flush(x);
    return r < 0 && r != -EAGAIN ? (int)r : 0;
}

static void check_io(struct sp_xconn *x, uint32_t events)
{
    struct sp_check *c = sp_container_of(x, struct sp_check, x);
    const struct sp_be_check *k = &c->s->be->chk;
    struct sp_worker *w = c->hw->w;

    if (c->connected && k->proto != SP_CHK_PROTO_NONE) {
        sp__tcpchk_run(c);
        return;
    }
    if (!c->connected) {
        if (!x->can_write && !(events & (EPOLLERR | EPOLLHUP)))
            return;
        int err = sp_xconn_error(x);
        if (err < 0 || (events & EPOLLERR)) {
            if (k->proto != SP_CHK_PROTO_NONE)
                sp__tcpchk_conn_failed(c, err < 0 ? -err : ECONNREFUSED);
            else
                sp__check_done(c, SP_CHK_L4CON, 0, strerror(err < 0 ? -err : ECONNREFUSED));
            return;
        }
        c->connected = true;
        /* a tcp-check's connect sends the PROXY header when it says so, or with `default`
         * when the server's check does */
        bool pp = k->proto == SP_CHK_PROTO_NONE
                      ? c->s->chk_send_proxy
                      : k->steps[0].send_proxy || (k->steps[0].def && c->s->chk_send_proxy);
        if (pp && send_proxy(c) < 0) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, "cannot send the PROXY protocol header");
            return;
        }
        if (k->proto != SP_CHK_PROTO_NONE) {
            if (k->t_check != SP_TIME_UNSET)
                sp_timer_arm(&w->tw, &x->timer, w->now + (uint64_t)k->t_check);
            c->step = 1;
            c->must_read = true;
            c->last_read = c->sending = false;
            sp__tcpchk_run(c);
            return;
        }
        if (!k->http) {
            /* with a PROXY header, the check passes once it is sent, as HAProxy's does */
            sp__check_done(c, SP_CHK_L4OK, 0, NULL);
            return;
        }
        /* connected: from now on `timeout check` bounds the rest, when set */
        if (k->t_check != SP_TIME_UNSET)
            sp_timer_arm(&w->tw, &x->timer, w->now + (uint64_t)k->t_check);
        if (sp_buf_alloc(&x->wbuf, &c->hw->bufs) ||
            sp_buf_append(&x->wbuf, k->req, (uint32_t)k->reqlen) != k->reqlen) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, "request does not fit in a buffer");
            return;
        }
    }
    if (sp_buf_len(&x->wbuf) && x->can_write) {
        ssize_t n = sp_xconn_flush(x);
        if (n < 0 && n != -EAGAIN && !x->can_read) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, strerror((int)-n));
            return;
        }
    }
    if (x->can_read || x->rdhup)
        http_read(c);
}

static void check_timeout(struct sp_xconn *x)
{
    struct sp_check *c = sp_container_of(x, struct sp_check, x);

    if (c->s->be->chk.proto != SP_CHK_PROTO_NONE) {
        sp__tcpchk_timeout(c);
        return;
    }
    sp__check_done(c, c->connected ? SP_CHK_L7TOUT : SP_CHK_L4TOUT, 0, NULL);
}

static const struct sp_xconn_hooks check_hooks = {.io = check_io, .timer = check_timeout};

static void check_start(struct sp_timer *tm)
{
    struct sp_check *c = sp_container_of(tm, struct sp_check, next);
    struct sp_worker *w = c->hw->w;
    const struct sp_server *s = c->s;
    const struct sp_be_check *k = &s->be->chk;
    struct sp_srv_hstate st;

    sp_srv_health_read(s->h, &st);
    if ((st.chk_state & (SP_CHK_ST_ENABLED | SP_CHK_ST_PAUSED)) != SP_CHK_ST_ENABLED) {
        /* disabled or in maintenance: skipped, still scheduled */
        sp_timer_arm(&w->tw, &c->next, w->now + (uint64_t)spread(c->hw->rt, interval(s, &st)));
        return;
    }
    c->t_start = w->now;
    c->running = true;
    c->connected = false;
    sp_h1_scan_init(&c->scan);
    struct sockaddr_storage to = s->chk_addr;
    socklen_t tolen = s->chk_addrlen;
    if (s->chk_follow && sp_srv_addr_gen(s->h)) {
        /* moved by `set server ... addr`: the check follows, with its own port if any */
        to = st.addr;
        tolen = st.addrlen;
        if (s->chk_port && to.ss_family == AF_INET)
            ((struct sockaddr_in *)&to)->sin_port = htons(s->chk_port);
        else if (s->chk_port && to.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&to)->sin6_port = htons(s->chk_port);
    }
    if (k->proto != SP_CHK_PROTO_NONE && k->steps[0].port) { /* tcp-check connect port N */
        if (to.ss_family == AF_INET)
            ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)k->steps[0].port);
        else if (to.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)k->steps[0].port);
    }
    c->step = 0;
    int fd = sp_sock_connect_from(&to, tolen, &s->source, s->sourcelen);
    if (fd < 0) {
        char why[96];
        if ((fd == -ECONNREFUSED || fd == -ENOENT) && k->proto != SP_CHK_PROTO_NONE) {
            sp__tcpchk_conn_failed(c, -fd);
            return;
        }
        if (fd == -ECONNREFUSED || fd == -ENOENT) {
            sp__check_done(c, SP_CHK_L4CON, 0, strerror(-fd));
            return;
        }
        snprintf(why, sizeof(why), "General socket error (%s)", strerror(-fd));
        sp__check_done(c, SP_CHK_SOCKERR, 0, why);
        return;
    }
    int err = sp_xconn_open(&c->x, w, fd, &sp_xprt_raw, &check_hooks);
    if (err < 0) {
        char why[96];
        close(fd);
        snprintf(why, sizeof(why), "General socket error (%s)", strerror(-err));
        sp__check_done(c, SP_CHK_SOCKERR, 0, why);
        return;
    }
    /* the connect gets `inter` (the configured one), or `timeout connect` when both it and
     * `timeout check` are set and it is shorter */
    int64_t limit = s->inter;
    if (k->t_check != SP_TIME_UNSET && k->t_connect != SP_TIME_UNSET && k->t_connect < limit)
        limit = k->t_connect;
    sp_timer_arm(&w->tw, &c->x.timer, w->now + (uint64_t)limit);
    sp_srv_check_running(s->h, true);
}

int sp__checks_start(struct sp_http_worker *hw)
{
    const struct sp_routing *rt = hw->rt;
    struct sp_worker *w = hw->w;
    int nworkers = hw->conf->nworkers > 0 ? hw->conf->nworkers : 1;
    int64_t mininter = 0;

    if (rt->srv_shutdowns) {
        hw->kill_seen = calloc((size_t)rt->nsrv, sizeof(*hw->kill_seen));
        hw->kill_now = calloc((size_t)rt->nsrv, sizeof(*hw->kill_now));
        if (!hw->kill_seen || !hw->kill_now)
            return -ENOMEM;
        for (int i = 0; i < rt->nsrv; i++)
            hw->kill_seen[i] = sp_srv_kill_gen(rt->srv[i]->h);
    }
    if (!rt->nchecks)
        return 0;
    hw->checks = calloc((size_t)rt->nchecks, sizeof(*hw->checks));
    if (!hw->checks)
        return -ENOMEM;
    /* HAProxy spreads the first checks evenly over about one interval: the smallest one of
     * at least a second among all checks */
    for (int i = 0; i < rt->nsrv; i++) {
        const struct sp_server *s = rt->srv[i];
        struct sp_srv_hstate st;
        if (!s->check)
            continue;
        sp_srv_health_read(s->h, &st);
        int64_t iv = interval(s, &st);
        if (iv >= 1000 && (!mininter || iv < mininter))
            mininter = iv;
    }
    for (int i = 0; i < rt->nsrv; i++) {
        const struct sp_server *s = rt->srv[i];
        if (!s->check || s->check_pos % nworkers != w->id)
            continue;
        struct sp_check *c = calloc(1, sizeof(*c));
        if (!c)
            return -ENOMEM;
        hw->checks[hw->nchecks++] = c;
        c->hw = hw;
        c->s = s;
        c->x.ev.fd = -1;
        sp_timer_init(&c->next, check_start);
        sp_timer_init(&c->x.timer, NULL);
        struct sp_srv_hstate st;
        sp_srv_health_read(s->h, &st);
        int64_t m = interval(s, &st);
        if (mininter > m)
            m = mininter;
        sp_timer_arm(&w->tw, &c->next, w->now + (uint64_t)(m * s->check_pos / rt->nchecks));
    }
    return 0;
}

void sp__checks_stop(struct sp_http_worker *hw)
{
    for (int i = 0; i < hw->nchecks; i++) {
        struct sp_check *c = hw->checks[i];
        sp_timer_disarm(&hw->w->tw, &c->next);
        if (c->running) {
            sp_xconn_close(&c->x, hw->w, &hw->bufs);
            c->x.ev.fd = -1;
            c->running = false;
            sp_srv_check_running(c->s->h, false);
        }
        free(c);
    }
    free(hw->checks);
    hw->checks = NULL;
    hw->nchecks = 0;
    free(hw->kill_seen);
    free(hw->kill_now);
    hw->kill_seen = NULL;
    hw->kill_now = NULL;
}
