/* core/cfgserver.c - the configuration keywords of servers: server, server-template,
 * default-server and their options (addresses, DNS names and SRV records, resolvers options,
 * proxy-v2-options), and the proxy's `source`. Split from core/cfgproxy.c; core/cfgparse.c's
 * keyword table calls these handlers.
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
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format off */
static const char *const server_opts_unsupported[] = {
    "ssl", "no-ssl", "verify", "verifyhost", "no-verifyhost", "ca-file", "crl-file", "crt", "sni",
    "alpn", "npn", "proto", "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn", "check-ssl",
    "no-check-ssl", "check-sni", "check-alpn", "check-proto",
    "check-via-socks4", "check-reuse-pool", "agent-check", "no-agent-check",
    "agent-port", "agent-inter", "agent-addr", "agent-send", "id",
    "init-state", "observe",
    "error-limit", "on-error", "slowstart", "track",
    "redir", "usesrc", "pool-max-conn", "pool-purge-delay", "pool-low-conn",
    "pool-conn-name", "max-reuse", "tfo", "non-stick", "namespace", "socks4", "ws", "allow-0rtt", "ciphers", "ciphersuites", "curves", "sigalgs", "client-sigalgs",
    "ssl-min-ver", "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
    "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13",
    "no-tls-tickets", "tls-tickets", "ssl-reuse", "no-ssl-reuse", "set-proxy-v2-tlv-fmt", "shard",
    "guid", "hash-key", "log-proto", "strict-maxconn", "tcp-ut", "mss", "set-mark", "set-tos",
};
/* clang-format on */

/* An address with an optional port for `source`: "10.0.0.1", "10.0.0.1:1234", "::1",
 * "[::1]:1234", "*". Port ranges are refused. */
static bool parse_source_addr(struct sp__cfg_parser *ps, const char *kw, const char *val,
                              struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (val && (strcmp(val, "*") == 0 || strcmp(val, "0.0.0.0") == 0)) {
        v4->sin_family = AF_INET;
        *len = sizeof(*v4);
        return true;
    }
    if (val && inet_pton(AF_INET, val, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        *len = sizeof(*v4);
        return true;
    }
    if (val && inet_pton(AF_INET6, val, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        *len = sizeof(*v6);
        return true;
    }
    if (val && strchr(val, '-') && strrchr(val, ':') && strchr(strrchr(val, ':'), '-')) {
        sp__cfg_alert(ps, kw, "'source': port ranges ('%s') are not supported by spillway", val);
        return false;
    }
    if (!val || sp_parse_addr(val, false, ss, len) < 0 || ss->ss_family == AF_UNIX) {
        sp__cfg_alert(ps, kw, "'source' expects an IPv4 or IPv6 address[:port], not '%s'",
                      val ? val : "");
        return false;
    }
    return true;
}

/* proxy-v2-options OPT[,OPT...], HAProxy 2.6's list: what spillway can send is taken, the
 * TLS ones need a TLS client and the unique id a unique-id-format, neither of which spillway
 * has. Every wrong element is named. */
static bool proxy_v2_options(struct sp__cfg_parser *ps, const char *kw, const char *val,
                             struct sp_cfg_server *s)
{
    static const char *const tls[] = {"cert-cn", "cert-key", "cert-sig", "ssl-cipher"};
    bool ok = true;

    if (!val || !*val) {
        sp__cfg_alert(ps, kw, "'proxy-v2-options' expects a comma-separated list of options");
        return false;
    }
    for (const char *p = val;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char opt[32];
        snprintf(opt, sizeof(opt), "%.*s", (int)(n < sizeof(opt) ? n : sizeof(opt) - 1), p);
        if (strcmp(opt, "crc32c") == 0) {
            s->pp_opts |= SP_CFG_PP_CRC32C;
        } else if (strcmp(opt, "authority") == 0) {
            s->pp_opts |= SP_CFG_PP_AUTHORITY;
        } else if (strcmp(opt, "ssl") == 0) {
            s->pp_opts |= SP_CFG_PP_SSL;
        } else if (sp__cfg_in_list(opt, tls, ARRAY_SIZE(tls))) {
            sp__cfg_alert(ps, kw,
                          "proxy-v2-options '%s' not supported by spillway (it has no TLS "
                          "clients)",
                          opt);
            ok = false;
        } else if (strcmp(opt, "unique-id") == 0) {
            sp__cfg_alert(ps, kw,
                          "proxy-v2-options 'unique-id' not supported by spillway (no "
                          "unique-id-format)");
            ok = false;
        } else {
            sp__cfg_alert(ps, kw, "'%s' : proxy v2 option not implemented", opt);
            ok = false;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return ok;
}

/* `resolve-opts allow-dup-ip|ignore-weight|prevent-dup-ip,...` and `resolve-net NET,...`
 * (HAProxy 2.6's srv_parse_resolve_opts/_net; at most SP_CFG_MAX_PREF_NET networks over all
 * the lines of a server, default-server's included). Returns -1 for another option, else
 * whether it was right. */
static int resolv_option(struct sp__cfg_parser *ps, const char *kw, const char *opt,
                         const char *val, struct sp_cfg_server *s)
{
    struct sp_cfg_resolv_opts *o = &s->ropts;
    char item[128];
    bool net = strcmp(opt, "resolve-net") == 0;

    if (!net && strcmp(opt, "resolve-opts") != 0)
        return -1;
    if (!val || !*val) {
        sp__cfg_alert(ps, kw, "'%s' expects %s", opt,
                      net ? "a list of networks" : "allow-dup-ip, ignore-weight or prevent-dup-ip");
        return 0;
    }
    for (const char *p = val; *p;) {
        size_t len = strcspn(p, ",");
        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1), p);
        p += len + (p[len] == ',');
        if (!net) {
            if (strcmp(item, "allow-dup-ip") == 0)
                o->allow_dup = true;
            else if (strcmp(item, "prevent-dup-ip") == 0)
                o->allow_dup = false;
            else if (strcmp(item, "ignore-weight") == 0)
                o->ignore_weight = true;
            else {
                sp__cfg_alert(ps, kw,
                              "'%s' : unknown resolve-opts option '%s', supported methods are "
                              "'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'",
                              opt, item);
                return 0;
            }
            continue;
        }
        struct sockaddr_storage ss;
        int prefix;
        if (o->nnet >= SP_CFG_MAX_PREF_NET) {
            sp__cfg_alert(ps, kw, "'%s' exceed %d networks", opt, SP_CFG_MAX_PREF_NET);
            return 0;
        }
        if (len >= sizeof(item) || !sp__cfg_parse_network(item, &ss, &prefix)) {
            sp__cfg_alert(ps, kw, "'%s' invalid network '%s'", opt, item);
            return 0;
        }
        int n = o->nnet++, alen = ss.ss_family == AF_INET ? 4 : 16;
        o->net[n].family = ss.ss_family;
        memset(o->net[n].mask, 0, sizeof(o->net[n].mask));
        for (int b = 0; b < prefix && b < alen * 8; b++)
            o->net[n].mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
        memcpy(o->net[n].addr,
               ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                                       : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
               (size_t)alen);
    }
    return 1;
}

static bool server_option(struct sp__cfg_parser *ps, int argc, char **argv, int *i,
                          struct sp_cfg_server *s, bool *stop)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct {
        const char *name;
        int min, max;
        int *dst;
    } ints[] = {{"weight", 0, 256, &s->weight},         {"maxconn", 0, INT_MAX, &s->maxconn},
                {"maxqueue", 0, INT_MAX, &s->maxqueue}, {"minconn", 0, INT_MAX, &s->minconn},
                {"rise", 1, INT_MAX, &s->rise},         {"fall", 1, INT_MAX, &s->fall}};
    struct {
        const char *name;
        int64_t *dst;
    } times[] = {{"inter", &s->inter}, {"fastinter", &s->fastinter}, {"downinter", &s->downinter}};
    char what[32];

    if (strcmp(opt, "check") == 0)
        return (s->check = true);
    if (strcmp(opt, "no-check") == 0)
        return !(s->check = false);
    if (strcmp(opt, "port") == 0) {
        (*i)++;
        return sp__cfg_get_int(ps, argv[0], "'port'", val, 1, 65535, &s->check_port);
    }
    if (strcmp(opt, "source") == 0) {
        (*i)++;
        if (!parse_source_addr(ps, argv[0], val, &s->source, &s->sourcelen))
            return false;
        if (*i + 1 < argc &&
            (strcmp(argv[*i + 1], "usesrc") == 0 || strcmp(argv[*i + 1], "interface") == 0)) {
            /* source's own sub-options (HAProxy's transparent proxying): their arguments vary,
             * so the rest of the line is not read */
            sp__cfg_alert(ps, argv[0], "'source': '%s' not supported by spillway", argv[*i + 1]);
            *stop = true;
            return false;
        }
        return true;
    }
    if (strcmp(opt, "addr") == 0) {
        (*i)++;
        /* the port is optional: a bare IPv4 or IPv6 address keeps the server's port */
        struct sockaddr_in *v4 = (struct sockaddr_in *)&s->check_addr;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&s->check_addr;
        memset(&s->check_addr, 0, sizeof(s->check_addr));
        if (val && inet_pton(AF_INET, val, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            s->check_addrlen = sizeof(*v4);
            return true;
        }
        if (val && inet_pton(AF_INET6, val, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            s->check_addrlen = sizeof(*v6);
            return true;
        }
        if (!val || sp_parse_addr(val, true, &s->check_addr, &s->check_addrlen) < 0 ||
            s->check_addr.ss_family == AF_UNIX) {
            sp__cfg_alert(ps, argv[0], "'addr' expects an IPv4 or IPv6 address[:port], not '%s'",
                          val ? val : "");
            return false;
        }
        return true;
    }
    if (strcmp(opt, "send-proxy") == 0 || strcmp(opt, "no-send-proxy") == 0 ||
        strcmp(opt, "send-proxy-v2") == 0 || strcmp(opt, "no-send-proxy-v2") == 0) {
        unsigned bit = strstr(opt, "-v2") ? SP_CFG_PP_V2 : SP_CFG_PP_V1;
        if (opt[0] == 'n')
            s->pp_opts &= ~bit;
        else
            s->pp_opts |= bit;
        return true;
    }
    if (strcmp(opt, "on-marked-down") == 0 || strcmp(opt, "on-marked-up") == 0) {
        bool down = opt[10] == 'd';
        const char *want = down ? "shutdown-sessions" : "shutdown-backup-sessions";
        (*i)++;
        if (!val || strcmp(val, want) != 0) {
            sp__cfg_alert(ps, argv[0], "'%s' expects '%s' but got '%s'", opt, want, val ? val : "");
            return false;
        }
        if (down)
            s->on_down_shutdown = true;
        else
            s->on_up_shutdown_bk = true;
        return true;
    }
    if (strcmp(opt, "check-send-proxy") == 0 || strcmp(opt, "no-check-send-proxy") == 0) {
        s->check_send_proxy = opt[0] != 'n';
        return true;
    }
    if (strcmp(opt, "proxy-v2-options") == 0) {
        (*i)++;
        return proxy_v2_options(ps, argv[0], val, s);
    }
    int rr = resolv_option(ps, argv[0], opt, val, s);
    if (rr >= 0) {
        (*i)++;
        return rr;
    }
    if (strcmp(opt, "resolvers") == 0) {
        (*i)++;
        if (!val || !*val || strlen(val) >= sizeof(s->resolvers)) {
            sp__cfg_alert(ps, argv[0], "'resolvers' expects the name of a resolvers section");
            return false;
        }
        snprintf(s->resolvers, sizeof(s->resolvers), "%s", val);
        return true;
    }
    if (strcmp(opt, "resolve-prefer") == 0) {
        (*i)++;
        if (val && strcmp(val, "ipv4") == 0)
            s->resolve_family = AF_INET;
        else if (val && strcmp(val, "ipv6") == 0)
            s->resolve_family = AF_INET6;
        else {
            sp__cfg_alert(ps, argv[0], "'resolve-prefer' expects 'ipv4' or 'ipv6'");
            return false;
        }
        return true;
    }
    if (strcmp(opt, "init-addr") == 0) {
        unsigned list = 0;
        int n = 0;
        (*i)++;
        for (const char *p = val; p && *p && n < 3;) {
            size_t len = strcspn(p, ",");
            unsigned m = len == 4 && !strncmp(p, "last", 4)   ? SP_CFG_INIT_LAST
                         : len == 4 && !strncmp(p, "libc", 4) ? SP_CFG_INIT_LIBC
                         : len == 4 && !strncmp(p, "none", 4) ? SP_CFG_INIT_NONE
                                                              : 0;
            if (!m) {
                sp__cfg_alert(ps, argv[0],
                              "'init-addr': '%.*s' not supported by spillway (expects "
                              "last, libc or none, comma-separated)",
                              (int)len, p);
                return false;
            }
            list |= m << (4 * n++);
            p += len;
            if (*p == ',')
                p++;
        }
        if (!list) {
            sp__cfg_alert(ps, argv[0], "'init-addr' expects last, libc or none");
            return false;
        }
        s->init_addr = list;
        return true;
    }
    if (strcmp(opt, "cookie") == 0) {
        (*i)++;
        /* the value the persistence cookie carries for this server (http/cookie.c) */
        if (!val || !*val || strlen(val) >= sizeof(s->cookie) || strpbrk(val, ";,= \t\"")) {
            sp__cfg_alert(ps, argv[0],
                          "'cookie' expects a value of 1 to %zu characters without ';', ',', "
                          "'=', '\"' or blanks",
                          sizeof(s->cookie) - 1);
            return false;
        }
        snprintf(s->cookie, sizeof(s->cookie), "%s", val);
        return true;
    }
    if (strcmp(opt, "backup") == 0)
        return (s->backup = true);
    if (strcmp(opt, "no-backup") == 0)
        return !(s->backup = false);
    if (strcmp(opt, "disabled") == 0)
        return (s->disabled = true);
    if (strcmp(opt, "enabled") == 0)
        return !(s->disabled = false);
    for (size_t k = 0; k < ARRAY_SIZE(ints); k++) {
        if (strcmp(opt, ints[k].name) == 0) {
            snprintf(what, sizeof(what), "'%s'", opt);
            (*i)++;
            return sp__cfg_get_int(ps, argv[0], what, val, ints[k].min, ints[k].max, ints[k].dst);
        }
    }
    for (size_t k = 0; k < ARRAY_SIZE(times); k++) {
        if (strcmp(opt, times[k].name) == 0) {
            int64_t ms;
            snprintf(what, sizeof(what), "'%s'", opt);
            (*i)++;
            if (!sp__cfg_get_time(ps, argv[0], what, val, &ms))
                return false;
            if (ms == 0) {
                sp__cfg_alert(ps, argv[0], "%s: expects a delay above zero", what);
                return false;
            }
            *times[k].dst = ms;
            return true;
        }
    }
    /* as bind_option(): a known option's arguments are skipped, an unknown one ends the line */
    int nargs = sp__cfg_server_arity(opt);
    if (strcmp(opt, "id") == 0 && strcmp(argv[0], "default-server") == 0)
        sp__cfg_alert(ps, argv[0], "'id' is only supported on 'server' lines");
    else if (sp__cfg_in_list(opt, server_opts_unsupported, ARRAY_SIZE(server_opts_unsupported)) ||
             nargs >= 0)
        sp__cfg_alert(ps, argv[0], "server option '%s' not supported by spillway yet%s", opt,
                      nargs < 0 ? " (the rest of the line is not checked)" : "");
    else
        sp__cfg_alert(ps, argv[0],
                      "unknown server option '%s' (the rest of the line is not checked)", opt);
    if (nargs < 0)
        *stop = true;
    else
        *i += nargs;
    return false;
}

/* A server address: HOST:PORT, [IPv6]:PORT, unix@PATH, or, as HAProxy 2.6 allows, no port
 * at all (HOST, [IPv6], HOST:) or a port offset (HOST:+N, HOST:-N): connections then go to
 * the port the client connected to, plus the offset. Returns 0, -EINVAL or -ENOENT. */
static int server_addr(const char *text, struct sp_cfg_server *s)
{
    char buf[300];
    const char *colon = strrchr(text, ':'), *rb = strrchr(text, ']');
    size_t hlen;
    int r;

    s->port_from_dst = false;
    s->port_offset = 0;
    if (strncmp(text, "unix@", 5) == 0 || strncmp(text, "abns@", 5) == 0)
        return sp_parse_addr(text, true, &s->addr, &s->addrlen);
    if (text[0] == '[' && rb && !rb[1]) { /* [IPv6] */
        hlen = strlen(text);
    } else if (!colon || (text[0] != '[' && strchr(text, ':') != colon)) {
        /* no colon (IPv4, a name), or a bare IPv6 address: HAProxy reads its last colon as
         * the port separator, so only the forms above are portless */
        if (colon)
            return sp_parse_addr(text, true, &s->addr, &s->addrlen);
        hlen = strlen(text);
    } else if (!colon[1] || colon[1] == '+' || colon[1] == '-') {
        hlen = (size_t)(colon - text);
        if (colon[1]) {
            char *end;
            long off = strtol(colon + 1, &end, 10);
            if (!isdigit((unsigned char)colon[2]) || *end || off < -65535 || off > 65535)
                return -EINVAL;
            s->port_offset = (int)off;
        }
    } else {
        return sp_parse_addr(text, true, &s->addr, &s->addrlen);
    }
    if (hlen + 3 > sizeof(buf))
        return -EINVAL;
    snprintf(buf, sizeof(buf), "%.*s:0", (int)hlen, text);
    r = sp_parse_addr(buf, true, &s->addr, &s->addrlen);
    if (r == 0)
        s->port_from_dst = true;
    return r;
}

/* whether `name` (no port) can go in a DNS question: labels of 1 to 63 bytes, 253 in all, a
 * trailing dot allowed */
static bool dns_name_ok(const char *name)
{
    size_t flen = strlen(name);

    if (flen && name[flen - 1] == '.')
        flen--;
    if (!flen || flen > 253)
        return false;
    for (size_t i = 0; i < flen;) {
        size_t l = strcspn(name + i, ".");
        if (l == 0 || l > 63)
            return false;
        i += l + 1;
    }
    return true;
}

/* `_service._proto.name[:PORT]` (an SRV record, as HAProxy reads a name starting with '_'):
 * the servers start without an address, in maintenance (resolution), and take target, port
 * and weight from the answers (balance/resolver.c). A port, when given, is what `show servers
 * state` prints before the first answer. */
static void srv_record_addr(struct sp__cfg_parser *ps, const char *kw, const char *text,
                            struct sp_cfg_server *s)
{
    const char *colon = strrchr(text, ':');
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;

    if ((colon && (!colon[1] || *end || port < 1 || port > 65535)) || nlen >= sizeof(s->fqdn)) {
        sp__cfg_alert(ps, kw, "invalid SRV record '%s' (expects _service._proto.name[:PORT])",
                      text);
        return;
    }
    if (!s->resolvers[0]) {
        sp__cfg_alert(ps, kw, "SRV record '%s' needs 'resolvers'", text);
        return;
    }
    snprintf(s->fqdn, sizeof(s->fqdn), "%.*s", (int)nlen, text);
    if (!dns_name_ok(s->fqdn)) {
        sp__cfg_alert(ps, kw, "invalid SRV record '%s' (labels of 1 to 63 bytes, 253 in all)",
                      s->fqdn);
        s->fqdn[0] = '\0';
        return;
    }
    s->dns_port = (uint16_t)port;
    s->port_from_dst = false;
    s->port_offset = 0;
    memset(&s->addr, 0, sizeof(s->addr));
    s->addrlen = 0;
    s->no_addr = true;
    /* init-addr (default last,libc,none with resolvers): only `last`, the state file's
     * address, can give one before the first answer; libc is skipped (HAProxy's
     * srv_iterate_initaddr(): an SRV server has no host name yet) */
    bool none = false;
    for (unsigned list = s->init_addr ? s->init_addr : SP_CFG_INIT_LAST; list && !none;
         list >>= 4) {
        s->init_last |= (list & 0xf) == SP_CFG_INIT_LAST;
        none = (list & 0xf) == SP_CFG_INIT_NONE;
    }
    if (!s->init_addr)
        none = true;
    if (!none && !s->init_last)
        sp__cfg_alert(ps, kw, "no method found to resolve address '%s' (init-addr)", text);
    s->need_last = !none;
}

/* A server that resolves its name at run time (`resolvers`, or a template): HOST:PORT split
 * into fqdn and port, then the init-addr methods in order (HAProxy's default: last,libc, then
 * none with resolvers; `last` is the server state file's, applied at start by
 * balance/srvstate.c). `none` leaves it without an address,
 * in maintenance (resolution) until the first answer. An IP literal is not resolved. */
static void server_dns_addr(struct sp__cfg_parser *ps, const char *kw, const char *text,
                            struct sp_cfg_server *s)
{
    const char *colon = strrchr(text, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    /* HAProxy's default: last,libc, and none after them when resolvers are set */
    unsigned list = s->init_addr ? s->init_addr
                    : s->resolvers[0]
                        ? (SP_CFG_INIT_LAST | SP_CFG_INIT_LIBC << 4 | SP_CFG_INIT_NONE << 8)
                        : (SP_CFG_INIT_LAST | SP_CFG_INIT_LIBC << 4);

    if (text[0] == '_') { /* an SRV record (HAProxy's rule): its answers give the ports */
        srv_record_addr(ps, kw, text, s);
        return;
    }
    if (!colon || colon == text || !colon[1] || *end || port < 1 || port > 65535 ||
        (size_t)(colon - text) >= sizeof(s->fqdn) || text[0] == '[' || strchr(text, '@')) {
        sp__cfg_alert(ps, kw, "invalid address '%s' (a server with 'resolvers' expects FQDN:PORT)",
                      text);
        return;
    }
    snprintf(s->fqdn, sizeof(s->fqdn), "%.*s", (int)(colon - text), text);
    /* what a DNS query can carry: labels of 1 to 63 bytes, 253 in all (a trailing dot
     * allowed) */
    size_t flen = strlen(s->fqdn) - (s->fqdn[strlen(s->fqdn) - 1] == '.');
    for (size_t i = 0; i < flen;) {
        size_t l = strcspn(s->fqdn + i, ".");
        if (l == 0 || l > 63 || flen > 253) {
            sp__cfg_alert(ps, kw, "invalid host name '%s' (labels of 1 to 63 bytes, 253 in all)",
                          s->fqdn);
            s->fqdn[0] = '\0';
            return;
        }
        i += l + 1;
    }
    s->dns_port = (uint16_t)port;
    s->port_from_dst = false;
    s->port_offset = 0;
    if (sp_parse_addr(text, false, &s->addr, &s->addrlen) == 0) {
        s->fqdn[0] = '\0'; /* an IP literal: nothing to resolve */
        return;
    }
    /* a template's slots start empty whatever libc would say (HAProxy would put the same
     * first address in every slot until the first answer): `libc` counts as `none` there.
     * `last` is the server state file's address, read at start (balance/srvstate.c): it is
     * noted here, and wins there over what a later method gave */
    bool libc_failed = false;
    for (; list; list >>= 4) {
        unsigned m = list & 0xf;
        if (m == SP_CFG_INIT_LAST)
            s->init_last = true;
        bool slots = s->tmpl && s->resolvers[0]; /* filled by the answers */
        if (m == SP_CFG_INIT_LIBC && !slots) {
            if (sp_parse_addr(text, true, &s->addr, &s->addrlen) == 0)
                return;
            libc_failed = true;
        }
        if (m == SP_CFG_INIT_NONE || (m == SP_CFG_INIT_LIBC && slots)) {
            memset(&s->addr, 0, sizeof(s->addr));
            s->addrlen = 0;
            s->no_addr = true;
            if (libc_failed)
                sp__cfg_warn(ps, kw, "could not resolve address '%s', disabling server", text);
            return;
        }
    }
    if (s->init_last) { /* only `last` is left: the start fails without a saved address */
        memset(&s->addr, 0, sizeof(s->addr));
        s->addrlen = 0;
        s->no_addr = s->need_last = true;
        return;
    }
    sp__cfg_alert(ps, kw,
                  "could not resolve address '%s' (init-addr found none; add 'none' to start "
                  "without one)",
                  text);
}

/* whether a server line asks for run-time resolution (its own options or default-server's)
 * of a NAME:PORT address: an IP literal, a unix socket, an address without a port or with an
 * offset keep the plain path (HAProxy resolves nothing there either) */
static bool wants_dns(const struct sp_cfg_server *s, int argc, char **argv, int first)
{
    const char *addr = argv[first - 1], *colon = strrchr(addr, ':');

    if (addr[0] != '_' && (strchr(addr, '@') || addr[0] == '[' || !colon ||
                           !isdigit((unsigned char)colon[1]) || strchr(addr, ':') != colon))
        return false;
    if (s->resolvers[0] || s->init_addr)
        return true;
    for (int i = first; i < argc; i++)
        if (!strcmp(argv[i], "resolvers") || !strcmp(argv[i], "init-addr"))
            return true;
    return false;
}

/* One server from a `server` or `server-template` line: options from argv[first]. */
static struct sp_cfg_server *add_server(struct sp__cfg_parser *ps, const char *name, int argc,
                                        char **argv, int first, int tmpl)
{
    struct sp_cfg_proxy *px = ps->cur;
    struct sp_cfg_server *s, **tail;
    const char *addr = argv[first - 1];
    int r;

    if (!sp__cfg_valid_name(name)) {
        sp__cfg_alert(ps, argv[0], "invalid server name '%s'", name);
        return NULL;
    }
    for (tail = &px->servers; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, name) == 0) {
            sp__cfg_alert(ps, argv[0], "server '%s' already declared at %s:%d in %s '%s'", name,
                          (*tail)->where.file, (*tail)->where.line, sp__cfg_sec_names[ps->sec],
                          px->name);
            return NULL;
        }
    }
    s = sp__cfg_xcalloc(ps, sizeof(*s));
    if (!s)
        return NULL;
    *s = px->defsrv; /* plain values only: nothing owned is shared */
    s->next = NULL;
    s->where = sp__cfg_here(ps);
    s->name = sp__cfg_xstrdup(ps, name);
    s->addr_text = sp__cfg_xstrdup(ps, addr);
    s->tmpl = tmpl;
    if (!s->name || !s->addr_text) {
        free(s->name);
        free(s->addr_text);
        free(s);
        return NULL;
    }
    /* the server is kept even when a part of its line is wrong, so that a later duplicate
     * still gets reported */
    *tail = s;
    s->id = ++px->nservers;
    /* a template without `resolvers` is as many plain servers, its name resolved once at
     * start (libc) as for `server` (HAProxy 2.6: every slot gets that address); an SRV
     * record still needs resolvers (said below) */
    bool tmpl_dns = tmpl && (addr[0] == '_' || s->resolvers[0]);
    for (int i = first; i < argc && tmpl && !tmpl_dns; i++)
        tmpl_dns = !strcmp(argv[i], "resolvers");
    bool dns = tmpl_dns || wants_dns(s, argc, argv, first);
    if (!dns) {
        r = server_addr(addr, s);
        if (r == -ENOENT)
            sp__cfg_alert(ps, argv[0], "could not resolve address '%s'", addr);
        else if (r < 0 || (s->addr.ss_family != AF_UNIX && !s->port_from_dst &&
                           ((struct sockaddr_in *)&s->addr)->sin_port == 0))
            sp__cfg_alert(ps, argv[0],
                          "invalid address '%s' (expects HOST[:PORT], [IPv6][:PORT], HOST:+N, "
                          "HOST:-N, unix@PATH or abns@NAME, port 1-65535)",
                          addr);
    }
    /* every wrong option is reported; an unknown one may take arguments: the line stops */
    bool stop = false;
    for (int i = first; i < argc && !stop; i++)
        server_option(ps, argc, argv, &i, s, &stop);
    if (dns)
        server_dns_addr(ps, argv[0], addr, s);
    return s;
}

/* server NAME ADDR[:PORT] [options]: starts from the proxy's `default-server` settings */
void sp__cfg_kw_server(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 3) {
        sp__cfg_alert(ps, argv[0], "missing argument (expects NAME ADDR:PORT [options])");
        return;
    }
    add_server(ps, argv[1], argc, argv, 3, 0);
}

/* server-template PREFIX NUM|LOW-HIGH FQDN:PORT [options]: servers PREFIX<LOW>..PREFIX<HIGH>,
 * slots that DNS answers fill at run time (HAProxy 2.6). */
void sp__cfg_kw_server_template(struct sp__cfg_parser *ps, int argc, char **argv)
{
    long lo = 1, hi;
    char *end, name[128];

    if (argc < 4) {
        sp__cfg_alert(ps, argv[0],
                      "missing argument (expects PREFIX NUM|LOW-HIGH FQDN:PORT "
                      "[options])");
        return;
    }
    hi = strtol(argv[2], &end, 10);
    if (*end == '-') {
        lo = hi;
        hi = strtol(end + 1, &end, 10);
    }
    if (*end || lo < 1 || hi < lo || hi - lo >= 1024 || !isdigit((unsigned char)argv[2][0])) {
        sp__cfg_alert(ps, argv[0], "invalid range '%s' (expects NUM or LOW-HIGH, at most 1024)",
                      argv[2]);
        return;
    }
    if (strlen(argv[1]) > 100) {
        sp__cfg_alert(ps, argv[0], "prefix '%s' too long", argv[1]);
        return;
    }
    int tmpl = ++ps->cur->ntmpl;
    for (long n = lo; n <= hi; n++) {
        snprintf(name, sizeof(name), "%s%ld", argv[1], n);
        int errs = ps->cfg->nerrors;
        add_server(ps, name, argc, argv, 4, tmpl);
        if (ps->cfg->nerrors != errs)
            break; /* one report per line, not one per slot */
    }
}

/* default-server [options]: the settings of the servers declared after it in this section
 * (and, from a defaults section, in the proxies that inherit it). Every server option may
 * be given, `id` excepted, as in HAProxy. */
void sp__cfg_kw_default_server(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_server tmp = ps->cur->defsrv;
    bool stop = false, ok = true;

    /* every wrong option is reported; a wrong line changes nothing */
    for (int i = 1; i < argc && !stop; i++)
        ok = server_option(ps, argc, argv, &i, &tmp, &stop) && ok;
    if (ok)
        ps->cur->defsrv = tmp;
}

/* source ADDR[:PORT]: the address the backend's connections to servers leave from (a
 * server's own `source` wins) */
void sp__cfg_kw_source(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t len;

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "missing address (expects ADDR[:PORT])");
        return;
    }
    if (argc > 2) {
        if (strcmp(argv[2], "usesrc") == 0 || strcmp(argv[2], "interface") == 0)
            sp__cfg_alert(ps, argv[0], "'%s' not supported by spillway", argv[2]);
        else
            sp__cfg_alert(ps, argv[0], "unexpected argument '%s'", argv[2]);
        return;
    }
    if (!parse_source_addr(ps, argv[0], argv[1], &ss, &len) ||
        !sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        return;
    ps->cur->source = ss;
    ps->cur->sourcelen = len;
}
