/* core/config.c - the configuration model: its lifetime, the value parsers shared with other
 * modules, and the checks that need the whole file (cfgparse.c reads the lines).
 *
 * owner: main.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/config-int.h"
#include "core/log.h"
#include "core/util.h"

/* HAProxy's ceiling for any time value: the largest positive tick (about 24.8 days). */
#define TIME_MAX_MS INT32_MAX

/* ---------------------------------------------------------------------------------------- */
/* diagnostics */

/* Writes `s` to `out` with its non-printable bytes escaped (sp_log_escape()): diagnostics
 * quote words of the file, and a binary file must not reach the terminal as raw bytes. */
static void put_escaped(FILE *out, const char *s, size_t len)
{
    char small[1024], *buf = small;
    size_t need = 4 * len + 1;

    if (need > sizeof(small)) {
        buf = malloc(need);
        if (!buf) {
            fputs("(message lost: out of memory)", out);
            return;
        }
    }
    sp_log_escape(buf, need, s, len);
    fputs(buf, out);
    if (buf != small)
        free(buf);
}

void sp__cfg_vdiag(struct sp_config *cfg, FILE *out, bool error, const struct sp_cfg_where *w,
                   const char *kw, const char *fmt, va_list ap)
{
    char small[512], *msg = small;
    const char *file = w->file ? w->file : "?";
    va_list ap2;
    int n;

    if (error)
        cfg->nerrors++;
    else
        cfg->nwarnings++;
    if (!out)
        return;
    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(small)) {
        msg = malloc((size_t)n + 1);
        if (msg)
            vsnprintf(msg, (size_t)n + 1, fmt, ap);
        else
            msg = small; /* the truncated text is better than none */
        n = (int)strlen(msg);
    }
    fprintf(out, "%s ", error ? "[ALERT]" : "[WARNING]");
    put_escaped(out, file, strlen(file));
    fprintf(out, ":%d: ", w->line);
    if (kw) {
        fputc('\'', out);
        put_escaped(out, kw, strlen(kw));
        fputs("': ", out);
    }
    put_escaped(out, msg, (size_t)n);
    fputc('\n', out);
    if (msg != small)
        free(msg);
}

void sp__cfg_diag(struct sp_config *cfg, FILE *out, bool error, const struct sp_cfg_where *w,
                  const char *kw, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sp__cfg_vdiag(cfg, out, error, w, kw, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------- */
/* model lifetime */

void sp__cfg_global_init(struct sp_cfg_global *g)
{
    memset(g, 0, sizeof(*g));
    g->bufsize = 16384;
    g->maxaccept = 64;
    g->h2_max_concurrent_streams = 100;
    g->server_default_maxconn = 1000;
    g->hard_stop_after = SP_TIME_UNSET;
    g->stats_timeout = 2000;
    g->stats_maxconn = 10;
    g->uid = -1;
    g->gid = -1;
    g->strict_limits = true;
    g->maxrewrite = -1;
    g->http_maxhdr = SP_CFG_MAXHDR_DEFAULT;
    g->unix_mode = g->unix_uid = g->unix_gid = -1;
    g->comp_maxlevel = 1;
    g->zlib_memlevel = 8;
    g->zlib_windowsize = 15;
}

void sp__cfg_server_init(struct sp_cfg_server *s)
{
    memset(s, 0, sizeof(*s));
    s->weight = 1;
    s->rise = 2;
    s->fall = 3;
    s->inter = s->fastinter = s->downinter = SP_TIME_UNSET;
    s->check_send_proxy = -1;
    s->resolve_family = AF_INET6; /* HAProxy's default resolve-prefer */
}

void sp__cfg_proxy_init(struct sp_cfg_proxy *px)
{
    memset(px, 0, sizeof(*px));
    /* HAProxy's default mode is tcp when no `mode` line applies; spillway keeps that so a
     * configuration means the same thing under both. */
    px->mode = SP_MODE_TCP;
    px->to.client = SP_TIME_UNSET;
    px->to.server = SP_TIME_UNSET;
    px->to.connect = SP_TIME_UNSET;
    px->to.http_request = SP_TIME_UNSET;
    px->to.http_keep_alive = SP_TIME_UNSET;
    px->to.queue = SP_TIME_UNSET;
    px->to.tunnel = SP_TIME_UNSET;
    px->to.client_fin = SP_TIME_UNSET;
    px->to.server_fin = SP_TIME_UNSET;
    px->to.check = SP_TIME_UNSET;
    px->to.tarpit = SP_TIME_UNSET;
    px->inspect_delay = SP_TIME_UNSET;
    px->res_inspect_delay = SP_TIME_UNSET;
    px->balance = SP_BALANCE_ROUNDROBIN;
    px->lb.draws = 2;
    px->retries = 3;
    px->retry_on = SP_RETRY_CONN;
    px->redispatch_interval = -1;
    sp__cfg_server_init(&px->defsrv);
    px->clitcpka.idle = px->clitcpka.intvl = SP_TIME_UNSET;
    px->srvtcpka.idle = px->srvtcpka.intvl = SP_TIME_UNSET;
}

static const int retry_codes[] = {401, 403, 404, 408, 425, 500, 501, 502, 503, 504};

int sp_retry_status_bit(int status)
{
    for (size_t i = 0; i < sizeof(retry_codes) / sizeof(retry_codes[0]); i++)
        if (retry_codes[i] == status)
            return SP_RETRY_401 << i;
    return 0;
}

void sp__cfg_logs_free(struct sp_cfg_log *l)
{
    while (l) {
        struct sp_cfg_log *next = l->next;
        free(l->target);
        free(l->format);
        free(l->facility);
        free(l->level);
        free(l);
        l = next;
    }
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

struct sp_cfg_log *sp__cfg_logs_dup(const struct sp_cfg_log *l, bool *ret_oom)
{
    struct sp_cfg_log *head = NULL, **tail = &head;
    bool oom = false;

    for (; l; l = l->next) {
        struct sp_cfg_log *n = calloc(1, sizeof(*n));
        if (!n) {
            oom = true;
            break;
        }
        *tail = n;
        tail = &n->next;
        n->len = l->len;
        n->where = l->where;
        n->target = dup_or_null(l->target, &oom);
        n->format = dup_or_null(l->format, &oom);
        n->facility = dup_or_null(l->facility, &oom);
        n->level = dup_or_null(l->level, &oom);
        if (oom)
            break;
    }
    if (oom) {
        sp__cfg_logs_free(head);
        *ret_oom = true;
        return NULL;
    }
    return head;
}

void sp__cfg_httpchk_free(struct sp_cfg_httpchk *h)
{
    free(h->meth);
    free(h->uri);
    free(h->ver);
    free(h->hdrs);
    free(h->body);
    free(h->expect_pat);
    h->meth = h->uri = h->ver = h->hdrs = h->body = h->expect_pat = NULL;
}

int sp__cfg_proxy_inherit(struct sp_cfg_proxy *dst, const struct sp_cfg_proxy *src)
{
    bool oom = false;

    dst->mode = src->mode;
    dst->maxconn = src->maxconn;
    dst->backlog = src->backlog;
    dst->to = src->to;
    dst->_to_bad = src->_to_bad; /* an error in the defaults is not repeated as a warning */
    dst->fwdfor = src->fwdfor;
    dst->fwdfor.header = dup_or_null(src->fwdfor.header, &oom);
    dst->httplog = src->httplog;
    dst->httplog_clf = src->httplog_clf;
    dst->tcplog = src->tcplog;
    dst->dontlognull = src->dontlognull;
    dst->log_separate_errors = src->log_separate_errors;
    dst->http_keep_alive = src->http_keep_alive;
    dst->httpclose = src->httpclose;
    dst->redispatch = src->redispatch;
    dst->redispatch_interval = src->redispatch_interval;
    dst->ck = src->ck;
    dst->retry_on = src->retry_on;
    dst->allbackups = src->allbackups;
    dst->log_health_checks = src->log_health_checks;
    dst->httpchk = src->httpchk;
    dst->httpchk.meth = dup_or_null(src->httpchk.meth, &oom);
    dst->httpchk.uri = dup_or_null(src->httpchk.uri, &oom);
    dst->httpchk.ver = dup_or_null(src->httpchk.ver, &oom);
    dst->httpchk.hdrs = dup_or_null(src->httpchk.hdrs, &oom);
    dst->httpchk.body = dup_or_null(src->httpchk.body, &oom);
    dst->httpchk.expect_pat = dup_or_null(src->httpchk.expect_pat, &oom);
    if (sp__cfg_tcpchk_copy(&dst->tcpchk, &src->tcpchk) < 0)
        oom = true;
    dst->balance = src->balance;
    dst->lb = src->lb;
    dst->lb.name = dup_or_null(src->lb.name, &oom);
    dst->retries = src->retries;
    dst->fullconn = src->fullconn;
    dst->default_backend = dup_or_null(src->default_backend, &oom);
    dst->default_backend_where = src->default_backend_where;
    dst->logs = sp__cfg_logs_dup(src->logs, &oom);
    dst->log_global = src->log_global;
    dst->log_format = dup_or_null(src->log_format, &oom);
    dst->stats_enabled = src->stats_enabled;
    dst->stats_uri = dup_or_null(src->stats_uri, &oom);
    dst->stats_refresh = src->stats_refresh;
    /* issue 19 */
    dst->defsrv = src->defsrv; /* plain values: nothing owned */
    dst->errlines = sp__cfg_errlines_dup(src->errlines, &oom);
    dst->defsrv.name = dst->defsrv.addr_text = NULL;
    dst->defsrv.next = NULL;
    dst->disabled = src->disabled;
    dst->srvclose = src->srvclose;
    dst->abortonclose = src->abortonclose;
    dst->logasap = src->logasap;
    dst->socket_stats = src->socket_stats;
    dst->prefer_last = src->prefer_last;
    dst->buffer_request = src->buffer_request;
    sp__cfg_comp_inherit(&dst->comp, &src->comp, &oom);
    dst->ignore_probes = src->ignore_probes;
    dst->clitcpka = src->clitcpka;
    dst->srvtcpka = src->srvtcpka;
    dst->source = src->source;
    dst->sourcelen = src->sourcelen;
    dst->monitor_uri = dup_or_null(src->monitor_uri, &oom);
    dst->unique_id_format = dup_or_null(src->unique_id_format, &oom);
    dst->unique_id_header = dup_or_null(src->unique_id_header, &oom);
    dst->uid_where = src->uid_where;
    dst->stats_hide_version = src->stats_hide_version;
    dst->stats_realm = dup_or_null(src->stats_realm, &oom);
    dst->stats_show_node = src->stats_show_node;
    dst->stats_show_legends = src->stats_show_legends;
    dst->stats_show_desc = src->stats_show_desc;
    dst->stats_show_modules = src->stats_show_modules;
    dst->stats_node = dup_or_null(src->stats_node, &oom);
    dst->stats_desc = dup_or_null(src->stats_desc, &oom);
    dst->srv_state_load = src->srv_state_load;
    memcpy(dst->srv_state_name, src->srv_state_name, sizeof(dst->srv_state_name));
    dst->srv_state_where = src->srv_state_where;
    if (src->nstats_scope) {
        dst->stats_scope = calloc((size_t)src->nstats_scope, sizeof(char *));
        if (!dst->stats_scope)
            oom = true;
        for (int i = 0; dst->stats_scope && i < src->nstats_scope; i++) {
            dst->stats_scope[i] = dup_or_null(src->stats_scope[i], &oom);
            dst->nstats_scope = i + 1;
        }
    }
    if (src->nstats_auth) {
        dst->stats_auth = calloc((size_t)src->nstats_auth, sizeof(char *));
        if (!dst->stats_auth)
            oom = true;
        for (int i = 0; dst->stats_auth && i < src->nstats_auth; i++) {
            dst->stats_auth[i] = dup_or_null(src->stats_auth[i], &oom);
            dst->nstats_auth = i + 1;
        }
    }
    return oom ? -ENOMEM : 0;
}

void sp__cfg_rules_free(struct sp_cfg_rule *r)
{
    while (r) {
        struct sp_cfg_rule *next = r->next;
        for (int i = 0; i < r->nwords; i++)
            free(r->words[i]);
        free(r->words);
        free(r);
        r = next;
    }
}

void sp_cfg_tls_free(struct sp_cfg_tls *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->ncrt; i++)
        free(t->crt[i]);
    free(t->crt);
    free(t->crt_where);
    free(t->alpn);
    free(t->ciphers);
    free(t->ciphersuites);
    free(t);
}

void sp__cfg_proxy_free(struct sp_cfg_proxy *px)
{
    if (!px)
        return;
    sp__cfg_errlines_free(px->errlines);
    for (struct sp_cfg_bind *b = px->binds, *nb; b; b = nb) {
        nb = b->next;
        free(b->text);
        free(b->name);
        sp_cfg_tls_free(b->tls);
        free(b);
    }
    for (struct sp_cfg_server *s = px->servers, *ns; s; s = ns) {
        ns = s->next;
        free(s->name);
        free(s->addr_text);
        free(s);
    }
    sp__cfg_rules_free(px->acls);
    sp__cfg_rules_free(px->prometheus_cond);
    sp__cfg_rules_free(px->http_req);
    sp__cfg_rules_free(px->http_res);
    sp__cfg_rules_free(px->http_after);
    sp__cfg_rules_free(px->redirects);
    for (struct sp_cfg_capture *c = px->captures, *n; c; c = n) {
        n = c->next;
        free(c->name);
        free(c);
    }
    free(px->log_format);
    free(px->lb.name);
    sp__cfg_httpchk_free(&px->httpchk);
    sp__cfg_tcpchk_free(&px->tcpchk);
    free(px->stats_uri);
    for (int i = 0; i < px->nstats_auth; i++)
        free(px->stats_auth[i]);
    free(px->stats_auth);
    free(px->description);
    free(px->monitor_uri);
    free(px->unique_id_format);
    free(px->unique_id_header);
    sp__cfg_comp_clear(&px->comp);
    sp__cfg_rules_free(px->monitor_fail);
    sp__cfg_rules_free(px->stats_http_req);
    sp__cfg_rules_free(px->stats_admin);
    free(px->stats_realm);
    free(px->stats_node);
    free(px->stats_desc);
    for (int i = 0; i < px->nstats_scope; i++)
        free(px->stats_scope[i]);
    free(px->stats_scope);
    sp__cfg_rules_free(px->use_backends);
    sp__cfg_rules_free(px->stick_rules);
    sp__cfg_rules_free(px->tcp_conn_rules);
    sp__cfg_rules_free(px->tcp_content_rules);
    sp__cfg_rules_free(px->tcp_session_rules);
    sp__cfg_rules_free(px->tcp_res_rules);
    sp__cfg_logs_free(px->logs);
    free(px->name);
    free(px->fwdfor.header);
    free(px->default_backend);
    free(px);
}

struct sp_config *sp_config_free(struct sp_config *cfg)
{
    if (!cfg)
        return NULL;
    for (struct sp_cfg_proxy *px = cfg->proxies, *next; px; px = next) {
        next = px->next;
        sp__cfg_proxy_free(px);
    }
    sp__cfg_logs_free(cfg->global.logs);
    sp__cfg_errors_free(cfg);
    sp__cfg_userlists_free(cfg);
    free(cfg->global.pidfile);
    for (struct sp_cfg_stats_socket *ss = cfg->global.stats_sockets, *next; ss; ss = next) {
        next = ss->next;
        free(ss->text);
        free(ss);
    }
    free(cfg->global.chroot);
    free(cfg->global.node);
    free(cfg->global.log_send_hostname);
    free(cfg->global.ca_base);
    free(cfg->global.ssl_server_ciphers);
    free(cfg->global.ssl_server_ciphersuites);
    free(cfg->global.description);
    free(cfg->global.unix_prefix);
    free(cfg->global.ssl_bind_ciphers);
    free(cfg->global.ssl_bind_ciphersuites);
    free(cfg->global.crt_base);
    for (struct sp_cfg_resolvers *r = cfg->resolvers, *next; r; r = next) {
        next = r->next;
        free(r->name);
        free(r);
    }
    free(cfg->_file);
    free(cfg);
    return NULL;
}

struct sp_cfg_resolvers *sp_config_find_resolvers(const struct sp_config *cfg, const char *name)
{
    for (struct sp_cfg_resolvers *r = cfg ? cfg->resolvers : NULL; r; r = r->next)
        if (r->name && strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

int sp_config_count_listeners(const struct sp_config *cfg)
{
    int n = 0;

    if (!cfg)
        return 0;
    for (const struct sp_cfg_proxy *px = cfg->proxies; px; px = px->next)
        if ((px->cap & SP_CAP_FE) && !px->disabled)
            for (const struct sp_cfg_bind *b = px->binds; b; b = b->next)
                n++;
    return n;
}

struct sp_cfg_proxy *sp_config_find_proxy(const struct sp_config *cfg, const char *name,
                                          unsigned cap)
{
    if (!cfg || !name)
        return NULL;
    for (struct sp_cfg_proxy *px = cfg->proxies; px; px = px->next)
        if ((px->cap & cap) && strcmp(px->name, name) == 0)
            return px;
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* value parsers */

int sp_parse_time_ms(const char *text, int64_t *ret_ms)
{
    /* A value in us may be up to 1000 times the ms ceiling before conversion. */
    const uint64_t digits_max = (uint64_t)TIME_MAX_MS * 1000 + 999;
    uint64_t v = 0, mult, ms;
    const char *p = text;

    if (!text || !isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > digits_max)
            return -EINVAL;
    }
    if (strcmp(p, "us") == 0) {
        ms = v / 1000 + (v % 1000 != 0);
        goto done;
    }
    if (*p == '\0' || strcmp(p, "ms") == 0)
        mult = 1;
    else if (strcmp(p, "s") == 0)
        mult = 1000;
    else if (strcmp(p, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(p, "h") == 0)
        mult = 3600 * 1000;
    else if (strcmp(p, "d") == 0)
        mult = 86400 * 1000;
    else
        return -EINVAL;
    if (v > TIME_MAX_MS / mult)
        return -EINVAL;
    ms = v * mult;
done:
    if (ms > TIME_MAX_MS)
        return -EINVAL;
    *ret_ms = (int64_t)ms;
    return 0;
}

int sp_parse_size(const char *text, uint64_t *ret)
{
    uint64_t v = 0, mult = 1;
    const char *p = text;

    if (!text || !isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    switch (*p) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1024;
        break;
    case 'm':
    case 'M':
        mult = 1024 * 1024;
        break;
    case 'g':
    case 'G':
        mult = 1024 * 1024 * 1024;
        break;
    default:
        return -EINVAL;
    }
    if (*p && p[1] != '\0')
        return -EINVAL;
    if (v > UINT64_MAX / mult)
        return -EINVAL;
    *ret = v * mult;
    return 0;
}

static bool is_port(const char *p, unsigned *ret)
{
    unsigned v = 0;
    size_t n = 0;

    for (; p[n]; n++) {
        if (!isdigit((unsigned char)p[n]) || n >= 5)
            return false;
        v = v * 10 + (unsigned)(p[n] - '0');
    }
    if (n == 0 || v > 65535)
        return false;
    *ret = v;
    return true;
}

static int resolve_host(const char *host, int family, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    int ret = -ENOENT;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return -ENOENT;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ai->ai_addrlen <= sizeof(*ss)) {
            memcpy(ss, ai->ai_addr, ai->ai_addrlen);
            *len = ai->ai_addrlen;
            ret = 0;
            break;
        }
    }
    freeaddrinfo(res);
    return ret;
}

int sp_parse_addr(const char *text, bool resolve, struct sockaddr_storage *ss, socklen_t *ret_len)
{
    struct sockaddr_storage tmp;
    socklen_t len = 0;
    int family = AF_UNSPEC;
    char host[256];
    const char *rest, *hend, *port_txt;
    size_t hlen;
    unsigned port;
    bool bracketed = false;

    if (!text)
        return -EINVAL;
    memset(&tmp, 0, sizeof(tmp));

    if (strncmp(text, "unix@", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&tmp;
        size_t plen = strlen(text + 5);

        if (plen == 0 || plen >= sizeof(sun->sun_path))
            return -EINVAL;
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, text + 5, plen + 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
        goto ok;
    }
    if (strncmp(text, "abns@", 5) == 0) {
        /* a Linux abstract unix socket: sun_path[0] is 0 and the name follows, padded with
         * zeros to the whole sun_path as HAProxy 2.6 binds and connects it (the full size
         * as the length), so that its peers find it */
        struct sockaddr_un *sun = (struct sockaddr_un *)&tmp;
        size_t plen = strlen(text + 5);

        if (plen == 0 || plen >= sizeof(sun->sun_path) - 1)
            return -EINVAL;
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path + 1, text + 5, plen);
        len = (socklen_t)sizeof(struct sockaddr_un);
        goto ok;
    }
    rest = text;
    if (strncmp(rest, "ipv4@", 5) == 0) {
        family = AF_INET;
        rest += 5;
    } else if (strncmp(rest, "ipv6@", 5) == 0) {
        family = AF_INET6;
        rest += 5;
    }
    /* any other prefix (abns@, fd@, sockpair@, udp@...) is not a stream address we serve */
    if (strchr(rest, '@'))
        return -EINVAL;

    if (rest[0] == '[') {
        const char *rb = strchr(rest, ']');
        if (!rb || rb[1] != ':' || family == AF_INET)
            return -EINVAL;
        rest++;
        hend = rb;
        port_txt = rb + 2;
        family = AF_INET6;
        bracketed = true;
    } else {
        /* the last colon separates the port, so "::1:80" is [::1]:80 as in HAProxy */
        hend = strrchr(rest, ':');
        if (!hend)
            return -EINVAL;
        port_txt = hend + 1;
    }
    if (!is_port(port_txt, &port))
        return -EINVAL; /* includes port ranges ("80-85") and offsets ("+1") */
    hlen = (size_t)(hend - rest);
    if (hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, rest, hlen);
    host[hlen] = '\0';

    if (hlen == 0 || strcmp(host, "*") == 0) {
        /* a wildcard is IPv4's unless ipv6@ asks for "::" (HAProxy's meaning of "*") */
        if (family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&tmp;
            s6->sin6_family = AF_INET6;
            s6->sin6_addr = in6addr_any;
            len = sizeof(*s6);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&tmp;
            s4->sin_family = AF_INET;
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
            len = sizeof(*s4);
        }
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&tmp;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&tmp;

        if (family != AF_INET6 && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            len = sizeof(*s4);
        } else if (family != AF_INET && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            len = sizeof(*s6);
        } else if (bracketed || inet_pton(AF_INET, host, &s4->sin_addr) == 1 ||
                   inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
            /* brackets hold a numeric IPv6 address only; a numeric address of the family
             * that ipv4@/ipv6@ excludes is a mistake, not a name to resolve */
            return -EINVAL;
        } else {
            for (const char *c = host; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
                    return -EINVAL;
            if (!resolve)
                return -EINVAL;
            int r = resolve_host(host, family, &tmp, &len);
            if (r < 0)
                return r;
        }
    }
    if (tmp.ss_family == AF_INET)
        ((struct sockaddr_in *)&tmp)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&tmp)->sin6_port = htons((uint16_t)port);
ok:
    *ss = tmp;
    *ret_len = len;
    return 0;
}

int sp__cfg_check_log_target(const char *target)
{
    const char *pfx = "", *host = target;
    struct sockaddr_storage ss;
    struct in6_addr a6;
    socklen_t len;
    char buf[300];
    int n;

    if (strcmp(target, "stdout") == 0 || strcmp(target, "stderr") == 0)
        return 0;
    if (target[0] == '/')
        return 0;
    if (strncmp(target, "udp@", 4) == 0) {
        host = target + 4;
    } else if (strncmp(target, "ipv4@", 5) == 0 || strncmp(target, "ipv6@", 5) == 0) {
        pfx = strncmp(target, "ipv4@", 5) == 0 ? "ipv4@" : "ipv6@";
        host = target + 5;
    }
    if (*host == '\0')
        return -EINVAL;
    /* syslog's port 514 when none is given; a bare IPv6 address has colons but no port */
    if (host[0] == '[' && host[strlen(host) - 1] == ']')
        n = snprintf(buf, sizeof(buf), "%s%s:514", pfx, host);
    else if (inet_pton(AF_INET6, host, &a6) == 1)
        n = snprintf(buf, sizeof(buf), "%s[%s]:514", pfx, host);
    else if (!strchr(host, ':'))
        n = snprintf(buf, sizeof(buf), "%s%s:514", pfx, host);
    else
        n = snprintf(buf, sizeof(buf), "%s%s", pfx, host);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -EINVAL;
    return sp_parse_addr(buf, true, &ss, &len);
}

/* ---------------------------------------------------------------------------------------- */
/* words and lists of the configuration language */

/* Parses a thread set ("1", "1-4", "1,3-5", "all") into bits 0..63 for threads 1..64. */
bool sp__cfg_parse_thread_set(const char *txt, uint64_t *ret)
{
    uint64_t set = 0;
    const char *p = txt;

    if (strcmp(txt, "all") == 0) {
        *ret = UINT64_MAX;
        return true;
    }
    while (*p) {
        unsigned long lo, hi;
        char *end;

        if (!isdigit((unsigned char)*p))
            return false;
        lo = strtoul(p, &end, 10);
        hi = lo;
        p = end;
        if (*p == '-') {
            if (!isdigit((unsigned char)p[1]))
                return false;
            hi = strtoul(p + 1, &end, 10);
            p = end;
        }
        if (lo < 1 || hi > 64 || lo > hi)
            return false;
        for (unsigned long t = lo; t <= hi; t++)
            set |= UINT64_C(1) << (t - 1);
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    if (!set)
        return false;
    *ret = set;
    return true;
}

/* Adds a CPU list ("0-3,5") to `set`. */
bool sp__cfg_parse_cpu_list(const char *txt, cpu_set_t *set)
{
    const char *p = txt;

    if (!*p)
        return false;
    while (*p) {
        unsigned long lo, hi;
        char *end;

        if (!isdigit((unsigned char)*p))
            return false;
        lo = strtoul(p, &end, 10);
        hi = lo;
        p = end;
        if (*p == '-') {
            if (!isdigit((unsigned char)p[1]))
                return false;
            hi = strtoul(p + 1, &end, 10);
            p = end;
        }
        if (hi >= CPU_SETSIZE || lo > hi)
            return false;
        for (unsigned long c = lo; c <= hi; c++)
            CPU_SET(c, set);
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    return true;
}

/* `except` network: IPv4 with an optional /len or /mask, IPv6 with an optional /len. */
bool sp__cfg_parse_network(const char *txt, struct sockaddr_storage *ss, int *ret_prefix)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(txt, '/');
    size_t alen = slash ? (size_t)(slash - txt) : strlen(txt);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    unsigned char *bytes;
    int prefix, max, nbytes;

    if (alen >= sizeof(buf))
        return false;
    memcpy(buf, txt, alen);
    buf[alen] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        bytes = (unsigned char *)&s4->sin_addr;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        bytes = (unsigned char *)&s6->sin6_addr;
        max = 128;
    } else {
        return false;
    }
    nbytes = max / 8;
    prefix = max;
    if (slash) {
        const char *p = slash + 1;
        struct in_addr mask;

        if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 3) {
            prefix = atoi(p);
            if (prefix > max)
                return false;
        } else if (max == 32 && inet_pton(AF_INET, p, &mask) == 1) {
            uint32_t m = ntohl(mask.s_addr);
            prefix = __builtin_popcount(m);
            if (m != (prefix ? UINT32_MAX << (32 - prefix) : 0))
                return false; /* not a contiguous mask */
        } else {
            return false;
        }
    }
    for (int i = 0; i < nbytes; i++) {
        int keep = prefix - i * 8;
        if (keep <= 0)
            bytes[i] = 0;
        else if (keep < 8)
            bytes[i] &= (unsigned char)(0xff << (8 - keep));
    }
    *ret_prefix = prefix;
    return true;
}

/* Appends one byte to the word being built; false when `out` is full. */
#define EMIT(ch)                                                                                   \
    do {                                                                                           \
        if (o >= oend) {                                                                           \
            *ret_err = "line too long once its variables are expanded";                            \
            return -1;                                                                             \
        }                                                                                          \
        *o++ = (ch);                                                                               \
    } while (0)

/* Starts a new word at `o`; -1 when the line has too many. */
#define NEW_WORD()                                                                                 \
    do {                                                                                           \
        if (argc == SP__CFG_MAX_WORDS) {                                                           \
            *ret_err = "too many words on one line (at most 64)";                                  \
            return -1;                                                                             \
        }                                                                                          \
        argv[argc++] = o;                                                                          \
    } while (0)

/* Splits one line (no '\n') into words, HAProxy's way: blanks separate words, '#' starts a
 * comment, "..." and '...' quote (and may join parts of one word: a"b c"d), and a backslash
 * escapes a blank, '#', '\', a quote or '$', or gives \t \n \r \xHH; other backslashes stay
 * as written (regexes keep their "\d"). Single quotes take everything literally.
 *
 * With `vars`, "$NAME" and "${NAME}" are expanded inside double quotes only, as HAProxy 2.6's
 * parse_line() does (PARSE_OPT_ENV with PARSE_OPT_DQUOTE): a name starts with a letter or '_'
 * and goes on with letters, digits and '_'; an unset variable expands to nothing;
 * "${NAME-default}" gives `default` when NAME is unset (not when it is empty); "${NAME[*]}"
 * splits the value on blanks into several words; ".FILE", ".LINE" and ".SECTION" are the
 * pseudo-variables. Returns the word count, or -1 with *ret_err set to a message. */
int sp__cfg_tokenize_env(const char *line, size_t len, char *out, size_t outsize, char **argv,
                         const struct sp__cfg_tokvars *vars, const char **ret_err)
{
    char *o = out, *oend = out + outsize;
    size_t i = 0;
    int argc = 0;

    for (;;) {
        char quote = 0;

        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= len || line[i] == '#')
            return argc;
        NEW_WORD();
        while (i < len) {
            char c = line[i];

            if (!quote && (c == ' ' || c == '\t' || c == '#'))
                break;
            if (c == '\'' && quote != '"') {
                quote = quote ? 0 : '\'';
                i++;
                continue;
            }
            if (c == '"' && quote != '\'') {
                quote = quote ? 0 : '"';
                i++;
                continue;
            }
            if (c == '$' && quote == '"' && vars) {
                char name[256];
                const char *value, *def = NULL;
                size_t nlen = 0, deflen = 0;
                bool brace = false, split = false;
                char num[16];

                i++;
                if (i < len && line[i] == '{') {
                    brace = true;
                    i++;
                }
                if (i >= len ||
                    (!isalpha((unsigned char)line[i]) && line[i] != '_' && line[i] != '.')) {
                    *ret_err = "forbidden first character in an environment variable name "
                               "(expects a letter, '_' or '.')";
                    return -1;
                }
                if (line[i] == '.')
                    name[nlen++] = line[i++];
                while (i < len && (isalnum((unsigned char)line[i]) || line[i] == '_')) {
                    if (nlen + 1 >= sizeof(name)) {
                        *ret_err = "environment variable name too long (at most 255 bytes)";
                        return -1;
                    }
                    name[nlen++] = line[i++];
                }
                name[nlen] = '\0';
                if (name[0] == '.') {
                    if (!strcmp(name, ".LINE")) {
                        snprintf(num, sizeof(num), "%d", vars->line);
                        value = num;
                    } else if (!strcmp(name, ".FILE")) {
                        value = vars->file;
                    } else if (!strcmp(name, ".SECTION")) {
                        value = vars->section;
                    } else {
                        *ret_err = "unknown pseudo-variable (expects .FILE, .LINE or .SECTION)";
                        return -1;
                    }
                } else {
                    value = getenv(name);
                }
                if (brace && i < len && line[i] == '[') {
                    if (i + 2 >= len || line[i + 1] != '*' || line[i + 2] != ']') {
                        *ret_err = "truncated or invalid word expansion (expects ${NAME[*]})";
                        return -1;
                    }
                    split = true;
                    i += 3;
                }
                if (brace) {
                    if (i < len && line[i] == '-') {
                        def = line + ++i;
                        while (i < len && line[i] != '}')
                            i++;
                        deflen = (size_t)(line + i - def);
                    }
                    if (i >= len || line[i] != '}') {
                        *ret_err = "unmatched brace in an environment variable name";
                        return -1;
                    }
                    i++;
                }
                if (!value && def) {
                    for (size_t k = 0; k < deflen; k++)
                        EMIT(def[k]);
                    continue;
                }
                for (; value && *value; value++) {
                    if (split && (*value == ' ' || *value == '\t')) {
                        while (value[1] == ' ' || value[1] == '\t')
                            value++;
                        EMIT('\0');
                        NEW_WORD();
                        continue;
                    }
                    EMIT(*value);
                }
                continue;
            }
            if (c != '\\' || quote == '\'') {
                EMIT(c);
                i++;
                continue;
            }
            if (i + 1 >= len) {
                *ret_err = "unfinished escape sequence at the end of the line";
                return -1;
            }
            c = line[i + 1];
            i += 2;
            if (strchr(" \t#\\\"'$", c)) {
                EMIT(c);
            } else if (c == 't') {
                EMIT('\t');
            } else if (c == 'n') {
                EMIT('\n');
            } else if (c == 'r') {
                EMIT('\r');
            } else if (c == 'x') {
                int hi = i < len ? sp_hexval(line[i]) : -1;
                int lo = i + 1 < len ? sp_hexval(line[i + 1]) : -1;
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                    *ret_err = "invalid '\\x' escape (expects two hex digits, not 00)";
                    return -1;
                }
                EMIT((char)(hi * 16 + lo));
                i += 2;
            } else {
                EMIT('\\');
                EMIT(c);
            }
        }
        if (quote) {
            *ret_err = quote == '"' ? "unterminated double quote" : "unterminated single quote";
            return -1;
        }
        EMIT('\0');
    }
}

#undef EMIT
#undef NEW_WORD

int sp__cfg_tokenize(const char *line, size_t len, char *out, char **argv, const char **ret_err)
{
    /* without expansion a line never grows: len + 1 bytes hold every word and its NUL */
    return sp__cfg_tokenize_env(line, len, out, len + 1, argv, NULL, ret_err);
}

/* ---------------------------------------------------------------------------------------- */
/* post-parse checks */

static const char *proxy_kind(const struct sp_cfg_proxy *px)
{
    if (px->cap == (SP_CAP_FE | SP_CAP_BE))
        return "listen";
    return px->cap == SP_CAP_FE ? "frontend" : "backend";
}

static bool has_log_target(const struct sp_config *cfg, const struct sp_cfg_proxy *px)
{
    return px->logs || (px->log_global && cfg->global.logs);
}

static void check_default_backend(struct sp_config *cfg, FILE *diag, struct sp_cfg_proxy *px)
{
    struct sp_cfg_proxy *be;

    if (!(px->cap & SP_CAP_FE) || !px->default_backend)
        return;
    be = sp_config_find_proxy(cfg, px->default_backend, SP_CAP_BE);
    if (!be) {
        sp__cfg_diag(cfg, diag, true, &px->default_backend_where, "default_backend",
                     "%s '%s': unable to find the required backend '%s'", proxy_kind(px), px->name,
                     px->default_backend);
        return;
    }
    if (px->mode == SP_MODE_HTTP && be->mode == SP_MODE_TCP) {
        sp__cfg_diag(cfg, diag, true, &px->default_backend_where, "default_backend",
                     "http %s '%s' cannot use tcp backend '%s' (set 'mode http' there)",
                     proxy_kind(px), px->name, be->name);
        return;
    }
    /* a tcp frontend using an http backend: its connections are upgraded to HTTP once routed
     * there, as HAProxy does (http/tcp.c) */
    px->defbe = be;
}

/* HAProxy's warning for a proxy that runs without its side's timeouts. A timeout whose line
 * had an error was reported already: the error is the news, and "missing" would send the
 * reader looking for a line that is there. */
static void check_timeouts(struct sp_config *cfg, FILE *diag, const struct sp_cfg_proxy *px)
{
    unsigned bad = px->_to_bad;
    bool missing = false;

    if ((px->cap & SP_CAP_FE) && px->to.client == SP_TIME_UNSET && !(bad & SP__CFG_TO_CLIENT))
        missing = true;
    if ((px->cap & SP_CAP_BE) && px->servers) {
        if (px->to.connect == SP_TIME_UNSET && !(bad & SP__CFG_TO_CONNECT))
            missing = true;
        /* in tcp mode `timeout tunnel` covers the server side once the relay runs */
        if (px->to.server == SP_TIME_UNSET && !(bad & SP__CFG_TO_SERVER) &&
            (px->mode != SP_MODE_TCP ||
             (px->to.tunnel == SP_TIME_UNSET && !(bad & SP__CFG_TO_TUNNEL))))
            missing = true;
    }
    if (missing)
        sp__cfg_diag(cfg, diag, false, &px->where, proxy_kind(px),
                     "missing timeouts for %s '%s'; it will run with infinite timeouts, "
                     "which lets idle or stuck connections pile up. Set 'timeout client', "
                     "'timeout connect' and 'timeout server' to non-zero values.",
                     proxy_kind(px), px->name);
}

/* What a frontend's mode rules out: an http proxy's tcp-response content rules would read the
 * raw response bytes that it parses (refused). Its `tcp-request content` rules run per stream
 * over the parsed request head before the http-request rules (http/route.c), as HAProxy 2.6
 * runs them once its mux made the request; `tcp-request inspect-delay` then has nothing to
 * wait for (the head is whole) and is accepted without effect. An http frontend's services
 * (stats page, http-request) mean nothing to a tcp one, which HAProxy ignores with a
 * warning. */
static void check_tcp(struct sp_config *cfg, FILE *diag, const struct sp_cfg_proxy *px)
{
    if (px->mode == SP_MODE_HTTP) {
        /* a backend's tcp-response rules read raw bytes */
        for (const struct sp_cfg_rule *r = px->tcp_res_rules; r; r = r->next)
            sp__cfg_diag(cfg, diag, true, &r->where, "tcp-response content",
                         "in an http %s ('%s') is not supported by spillway (only in mode tcp)",
                         proxy_kind(px), px->name);
        if (px->res_inspect_delay != SP_TIME_UNSET && !px->tcp_res_rules)
            sp__cfg_diag(cfg, diag, true, &px->where, "tcp-response inspect-delay",
                         "in an http %s ('%s') is not supported by spillway (only in mode tcp)",
                         proxy_kind(px), px->name);
    }
    if (!(px->cap & SP_CAP_FE) || px->mode == SP_MODE_HTTP)
        return;
    if (px->stats_enabled)
        sp__cfg_diag(cfg, diag, false, &px->where, "stats",
                     "'stats' statement ignored for %s '%s' as it requires HTTP mode",
                     proxy_kind(px), px->name);
    if (px->prometheus)
        sp__cfg_diag(cfg, diag, false, &px->where, "http-request",
                     "'http-request' rules ignored for %s '%s' as they require HTTP mode",
                     proxy_kind(px), px->name);
    for (const struct sp_cfg_bind *b = px->binds; b; b = b->next)
        if (b->h2_only)
            sp__cfg_diag(cfg, diag, true, &b->where, "bind",
                         "'proto h2' on %s '%s', which is in mode tcp: a tcp proxy relays bytes "
                         "(set 'mode http')",
                         proxy_kind(px), px->name);
}

void sp__cfg_check(struct sp_config *cfg, FILE *diag)
{
    int id = 0;

    for (struct sp_cfg_proxy *px = cfg->proxies; px; px = px->next) {
        px->id = ++id;
        check_default_backend(cfg, diag, px);
        /* a bind line with errors was reported already: no second error for it */
        if ((px->cap & SP_CAP_FE) && !px->binds && !px->_bind_seen) {
            if (px->cap & SP_CAP_BE)
                sp__cfg_diag(cfg, diag, false, &px->where, "listen",
                             "listen '%s' has no 'bind' line and accepts no connection; "
                             "declare it as a backend if that was intended",
                             px->name);
            else
                sp__cfg_diag(cfg, diag, true, &px->where, "frontend",
                             "frontend '%s' has no 'bind' line", px->name);
        }
        check_timeouts(cfg, diag, px);
        if ((px->cap & SP_CAP_FE) && px->httplog) {
            if (px->mode == SP_MODE_TCP)
                sp__cfg_diag(cfg, diag, false, &px->where, proxy_kind(px),
                             "'option httplog' needs 'mode http'; %s '%s' is tcp and will "
                             "log like tcp",
                             proxy_kind(px), px->name);
            if (!has_log_target(cfg, px))
                sp__cfg_diag(cfg, diag, false, &px->where, proxy_kind(px),
                             "'option httplog' ignored for %s '%s': it has no log target "
                             "(no 'log' line of its own, or 'log global' without a global "
                             "'log')",
                             proxy_kind(px), px->name);
        }
        for (const struct sp_cfg_server *sv = px->servers; sv; sv = sv->next) {
            /* HAProxy's init_srv_check(): a check needs a port from somewhere */
            bool chk_port = sv->check_port ||
                            (sv->check_addr.ss_family == AF_INET &&
                             ((const struct sockaddr_in *)&sv->check_addr)->sin_port) ||
                            (sv->check_addr.ss_family == AF_INET6 &&
                             ((const struct sockaddr_in6 *)&sv->check_addr)->sin6_port);
            if (sv->check && sv->port_from_dst && !chk_port)
                sp__cfg_diag(cfg, diag, true, &sv->where, "server",
                             "%s '%s': server '%s' has neither service port nor check port",
                             proxy_kind(px), px->name, sv->name);
        }
        check_tcp(cfg, diag, px);
        if (px->fwdfor.enabled && px->mode == SP_MODE_TCP)
            sp__cfg_diag(cfg, diag, false, &px->where, proxy_kind(px),
                         "'option forwardfor' ignored for %s '%s': it needs 'mode http'",
                         proxy_kind(px), px->name);
        if (px->comp.set && px->mode == SP_MODE_TCP)
            sp__cfg_diag(cfg, diag, false, &px->where, proxy_kind(px),
                         "'compression' ignored for %s '%s': it needs 'mode http'", proxy_kind(px),
                         px->name);
        if (px->ck.name[0] && px->mode == SP_MODE_TCP && (px->cap & SP_CAP_BE))
            sp__cfg_diag(cfg, diag, false, &px->where, proxy_kind(px),
                         "'cookie' statement ignored for %s '%s': it needs 'mode http'",
                         proxy_kind(px), px->name);
    }
    cfg->nproxies = id;
}
