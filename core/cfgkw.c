/* core/cfgkw.c - what the parser knows of HAProxy keywords it does not implement: how many
 * arguments each HAProxy 2.6 bind and server option takes (so that a line's every unsupported
 * option can be reported, not only its first), and which keywords came after 2.6 (so that a
 * 3.x configuration is told so, not called unknown).
 *
 * pure: immutable tables, any thread.
 *
 * Generated from HAProxy's sources: the arities from the bind and server keyword tables of
 * v2.6.0 (`{ "name", parser, skip, ... }` in src/ *.c), the versions from the keyword lists of
 * doc/configuration.txt at v2.6.0 to v3.3.0 (global parameters, proxy keywords matrix, section
 * headings), keeping those not documented at all in 2.6.
 */
#include "core/config-int.h"

#include <string.h>

struct kw_arity {
    const char *name;
    int nargs;
};

struct kw_version {
    const char *name;
    const char *version; /* the first HAProxy version that documents it */
};

/* clang-format off */
static const struct kw_arity bind26[] = {
    {"accept-netscaler-cip", 1}, {"accept-proxy", 0}, {"allow-0rtt", 0}, {"alpn", 1},
    {"backlog", 1}, {"ca-file", 1}, {"ca-ignore-err", 1}, {"ca-sign-file", 1}, {"ca-sign-pass", 1},
    {"ca-verify-file", 1}, {"ciphers", 1}, {"ciphersuites", 1}, {"crl-file", 1}, {"crt", 1},
    {"crt-ignore-err", 1}, {"crt-list", 1}, {"curves", 1}, {"defer-accept", 0}, {"ecdhe", 1},
    {"expose-fd", 1}, {"force-sslv3", 0}, {"force-tlsv10", 0}, {"force-tlsv11", 0},
    {"force-tlsv12", 0}, {"force-tlsv13", 0}, {"generate-certificates", 0}, {"gid", 1},
    {"group", 1}, {"id", 1}, {"interface", 1}, {"level", 1}, {"maxconn", 1}, {"mode", 1},
    {"mss", 1}, {"name", 1}, {"namespace", 1}, {"nice", 1}, {"no-ca-names", 0}, {"no-sslv3", 0},
    {"no-tls-tickets", 0}, {"no-tlsv10", 0}, {"no-tlsv11", 0}, {"no-tlsv12", 0}, {"no-tlsv13", 0},
    {"npn", 1}, {"prefer-client-ciphers", 0}, {"process", 1}, {"proto", 1},
    {"quic-force-retry", 0}, {"severity-output", 1}, {"shards", 1}, {"ssl", 0}, {"ssl-max-ver", 1},
    {"ssl-min-ver", 1}, {"strict-sni", 0}, {"tcp-ut", 1}, {"tfo", 0}, {"thread", 1},
    {"tls-ticket-keys", 1}, {"transparent", 0}, {"uid", 1}, {"user", 1}, {"v4v6", 0},
    {"v6only", 0}, {"verify", 1},
};

static const struct kw_arity server26[] = {
    {"addr", 1}, {"agent-addr", 1}, {"agent-check", 0}, {"agent-inter", 1}, {"agent-port", 1},
    {"agent-send", 1}, {"allow-0rtt", 0}, {"alpn", 1}, {"backup", 0}, {"ca-file", 1}, {"check", 0},
    {"check-alpn", 1}, {"check-proto", 1}, {"check-send-proxy", 0}, {"check-sni", 1},
    {"check-ssl", 0}, {"check-via-socks4", 0}, {"ciphers", 1}, {"ciphersuites", 1}, {"cookie", 1},
    {"crl-file", 1}, {"crt", 1}, {"disabled", 0}, {"downinter", 1}, {"enabled", 0},
    {"error-limit", 1}, {"fall", 1}, {"fastinter", 1}, {"force-sslv3", 0}, {"force-tlsv10", 0},
    {"force-tlsv11", 0}, {"force-tlsv12", 0}, {"force-tlsv13", 0}, {"id", 1}, {"init-addr", 1},
    {"inter", 1}, {"log-proto", 1}, {"max-reuse", 1}, {"maxconn", 1}, {"maxqueue", 1},
    {"minconn", 1}, {"namespace", 1}, {"no-agent-check", 0}, {"no-backup", 0}, {"no-check", 0},
    {"no-check-send-proxy", 0}, {"no-check-ssl", 0}, {"no-send-proxy", 0}, {"no-send-proxy-v2", 0},
    {"no-send-proxy-v2-ssl", 0}, {"no-send-proxy-v2-ssl-cn", 0}, {"no-ssl", 0},
    {"no-ssl-reuse", 0}, {"no-sslv3", 0}, {"no-tfo", 0}, {"no-tls-tickets", 0}, {"no-tlsv10", 0},
    {"no-tlsv11", 0}, {"no-tlsv12", 0}, {"no-tlsv13", 0}, {"non-stick", 0}, {"npn", 1},
    {"observe", 1}, {"on-error", 1}, {"on-marked-down", 1}, {"on-marked-up", 1},
    {"pool-low-conn", 1}, {"pool-max-conn", 1}, {"pool-purge-delay", 1}, {"port", 1}, {"proto", 1},
    {"proxy-v2-options", 1}, {"redir", 1}, {"resolve-net", 1}, {"resolve-opts", 1},
    {"resolve-prefer", 1}, {"resolvers", 1}, {"rise", 1}, {"send-proxy", 0}, {"send-proxy-v2", 0},
    {"send-proxy-v2-ssl", 0}, {"send-proxy-v2-ssl-cn", 0}, {"slowstart", 1}, {"sni", 1},
    {"socks4", 1}, {"ssl", 0}, {"ssl-max-ver", 1}, {"ssl-min-ver", 1}, {"ssl-reuse", 0},
    {"stick", 0}, {"tcp-ut", 1}, {"tfo", 0}, {"tls-tickets", 0}, {"track", 1}, {"usesrc", 0},
    {"verify", 1}, {"verifyhost", 1}, {"weight", 1}, {"ws", 1},
};

static const struct kw_version global_later[] = {
    {"51degrees-allow-unmatched", "2.8"}, {"51degrees-difference", "2.8"},
    {"51degrees-drift", "2.8"}, {"51degrees-use-performance-graph", "2.8"},
    {"51degrees-use-predictive-graph", "2.8"}, {"anonkey", "2.7"}, {"cpu-policy", "3.2"},
    {"cpu-set", "3.2"}, {"debug.counters", "3.2"}, {"dns-accept-family", "3.2"},
    {"expose-deprecated-directives", "3.0"}, {"force-cfg-parser-pause", "3.2"},
    {"h1-do-not-close-on-insecure-transfer-encoding", "3.1"},
    {"harden.reject-privileged-ports.quic", "3.0"}, {"harden.reject-privileged-ports.tcp", "3.0"},
    {"httpclient.resolvers.disabled", "2.8"}, {"httpclient.retries", "2.9"},
    {"httpclient.timeout.connect", "2.9"}, {"key-base", "3.0"}, {"limited-quic", "3.3"},
    {"noktls", "3.3"}, {"ocsp-update.disable", "3.0"}, {"ocsp-update.httpproxy", "3.0"},
    {"ocsp-update.maxdelay", "3.0"}, {"ocsp-update.mindelay", "3.0"}, {"ocsp-update.mode", "3.0"},
    {"prealloc-fd", "2.8"}, {"ssl-default-bind-client-sigalgs", "2.8"},
    {"ssl-default-bind-sigalgs", "2.8"}, {"ssl-default-server-client-sigalgs", "2.9"},
    {"ssl-default-server-curves", "2.9"}, {"ssl-default-server-sigalgs", "2.9"},
    {"ssl-security-level", "3.0"}, {"stats-file", "3.0"},
    {"tune.applet.zero-copy-forwarding", "3.0"}, {"tune.bufsize.small", "3.1"},
    {"tune.disable-fast-forward", "2.8"}, {"tune.disable-zero-copy-forwarding", "2.9"},
    {"tune.epoll.mask-events", "3.2"}, {"tune.events.max-events-at-once", "2.9"},
    {"tune.h1.zero-copy-fwd-recv", "2.9"}, {"tune.h1.zero-copy-fwd-send", "2.9"},
    {"tune.h2.be.glitches-threshold", "3.0"}, {"tune.h2.be.initial-window-size", "2.9"},
    {"tune.h2.be.max-concurrent-streams", "2.9"}, {"tune.h2.be.rxbuf", "3.1"},
    {"tune.h2.fe.glitches-threshold", "3.0"}, {"tune.h2.fe.initial-window-size", "2.9"},
    {"tune.h2.fe.max-concurrent-streams", "2.9"}, {"tune.h2.fe.max-total-streams", "3.0"},
    {"tune.h2.fe.rxbuf", "3.1"}, {"tune.h2.zero-copy-fwd-send", "2.9"},
    {"tune.lua.bool-sample-conversion", "3.2"}, {"tune.lua.burst-timeout", "3.2"},
    {"tune.lua.log.loggers", "2.9"}, {"tune.lua.log.stderr", "2.9"},
    {"tune.max-checks-per-thread", "2.9"}, {"tune.max-rules-at-once", "3.2"},
    {"tune.memory.hot-size", "2.8"}, {"tune.peers.max-updates-at-once", "2.7"},
    {"tune.pt.zero-copy-forwarding", "2.9"}, {"tune.quic.be.cc.cubic-min-losses", "3.3"},
    {"tune.quic.be.cc.hystart", "3.3"}, {"tune.quic.be.cc.max-frame-loss", "3.3"},
    {"tune.quic.be.cc.max-win-size", "3.3"}, {"tune.quic.be.cc.reorder-ratio", "3.3"},
    {"tune.quic.be.max-idle-timeout", "3.3"}, {"tune.quic.be.sec.glitches-threshold", "3.3"},
    {"tune.quic.be.stream.data-ratio", "3.3"}, {"tune.quic.be.stream.max-concurrent", "3.3"},
    {"tune.quic.be.stream.rxbuf", "3.3"}, {"tune.quic.be.tx.pacing", "3.3"},
    {"tune.quic.be.tx.udp-gso", "3.3"}, {"tune.quic.cc-hystart", "3.0"},
    {"tune.quic.cc.cubic.min-losses", "3.3"}, {"tune.quic.disable-tx-pacing", "3.2"},
    {"tune.quic.disable-udp-gso", "3.1"}, {"tune.quic.fe.cc.cubic-min-losses", "3.3"},
    {"tune.quic.fe.cc.hystart", "3.3"}, {"tune.quic.fe.cc.max-frame-loss", "3.3"},
    {"tune.quic.fe.cc.max-win-size", "3.3"}, {"tune.quic.fe.cc.reorder-ratio", "3.3"},
    {"tune.quic.fe.max-idle-timeout", "3.3"}, {"tune.quic.fe.sec.glitches-threshold", "3.3"},
    {"tune.quic.fe.sec.retry-threshold", "3.3"}, {"tune.quic.fe.sock-per-conn", "3.3"},
    {"tune.quic.fe.stream.data-ratio", "3.3"}, {"tune.quic.fe.stream.max-concurrent", "3.3"},
    {"tune.quic.fe.stream.rxbuf", "3.3"}, {"tune.quic.fe.tx.pacing", "3.3"},
    {"tune.quic.fe.tx.udp-gso", "3.3"}, {"tune.quic.frontend.default-max-window-size", "3.1"},
    {"tune.quic.frontend.glitches-threshold", "3.0"}, {"tune.quic.frontend.max-data-size", "3.2"},
    {"tune.quic.frontend.max-tx-mem", "3.2"}, {"tune.quic.frontend.stream-data-ratio", "3.2"},
    {"tune.quic.listen", "3.3"}, {"tune.quic.max-frame-loss", "2.8"},
    {"tune.quic.mem.tx-max", "3.3"}, {"tune.quic.reorder-ratio", "3.0"},
    {"tune.quic.socket-owner", "2.8"}, {"tune.quic.zero-copy-fwd-send", "2.9"},
    {"tune.rcvbuf.backend", "2.9"}, {"tune.rcvbuf.frontend", "2.9"},
    {"tune.renice.runtime", "3.1"}, {"tune.renice.startup", "3.1"}, {"tune.ring.queues", "3.0"},
    {"tune.sndbuf.backend", "2.9"}, {"tune.sndbuf.frontend", "2.9"},
    {"tune.ssl.ocsp-update.maxdelay", "2.8"}, {"tune.ssl.ocsp-update.mindelay", "2.8"},
    {"tune.stick-counters", "2.8"}, {"tune.takeover-other-tg-connections", "3.2"},
    {"warn-blocked-traffic-after", "3.1"},
};

static const struct kw_version proxy_later[] = {
    {"guid", "3.0"}, {"hash-key", "3.0"}, {"hash-preserve-affinity", "3.2"}, {"log-steps", "3.1"},
    {"quic-initial", "3.1"},
};

static const struct kw_version section_later[] = {
    {"crt-store", "3.0"}, {"traces", "3.1"}, {"log-profile", "3.1"}, {"acme", "3.2"},
    {"jwt", "3.3"},
};
/* clang-format on */

static int arity(const struct kw_arity *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].nargs;
    return -1;
}

int sp__cfg_bind_arity(const char *opt)
{
    return arity(bind26, sizeof(bind26) / sizeof(bind26[0]), opt);
}

int sp__cfg_server_arity(const char *opt)
{
    return arity(server26, sizeof(server26) / sizeof(server26[0]), opt);
}

static const char *version(const struct kw_version *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].version;
    return NULL;
}

const char *sp__cfg_later_keyword(int kind, const char *kw)
{
    switch (kind) {
    case SP__CFG_KW_GLOBAL:
        return version(global_later, sizeof(global_later) / sizeof(global_later[0]), kw);
    case SP__CFG_KW_PROXY:
        return version(proxy_later, sizeof(proxy_later) / sizeof(proxy_later[0]), kw);
    default:
        return version(section_later, sizeof(section_later) / sizeof(section_later[0]), kw);
    }
}
