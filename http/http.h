/* http/http.h - the HTTP layer's face toward main: per-worker start and stop, and the
 * statistics the stats socket (core/cli.c) shares with the stats page.
 *
 * owner: main builds the struct sp_http_conf before workers start; it is immutable afterwards
 * and every worker reads it. The worker hooks run on their worker; each sp_statsvc_ function
 * names its thread.
 */
#ifndef SP_HTTP_HTTP_H
#define SP_HTTP_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "balance/balance.h"
#include "core/worker.h"
#include "net/listener.h"

struct sp_logsink;
struct sp_logfmt;
struct sp_hrules;
struct sp_strbuf;
struct sp_stats_proc;
struct sp_config;
struct sp_http_errs;

/* shared: immutable once workers run. What one frontend logs, and where. */
struct sp_http_felog {
    struct sp_logfmt *fmt; /* NULL: the frontend does not log requests */
    unsigned *targets;     /* indexes in the sink */
    unsigned ntargets;
    bool dontlognull;
};

/* shared: immutable once workers run */
struct sp_http_conf {
    struct sp_bind *binds;
    int nbinds;
    int bufsize;
    int maxaccept;
    int nworkers;
    int h2_max_streams;          /* SETTINGS_MAX_CONCURRENT_STREAMS we advertise */
    int server_default_maxconn;  /* upstream connections per server when `maxconn` is absent */
    struct sp_gate **fe_gates;   /* by frontend index: fe_conn */
    struct sp_gate *global_gate; /* act_conn */
    struct sp_logsink *logsink;  /* NULL: no log target anywhere */
    struct sp_http_felog *felog; /* by frontend index */
    const char *node;            /* global `node`, or the host name */
    const char *description;     /* global `description`, NULL when unset */
    int head_reserve;            /* `tune.maxrewrite`: bytes of the buffer a head may not use */
    struct sp_hrules *hrules;    /* http-request/-response rules (hrules.c), NULL: none */
    struct sp_http_errs *errs;   /* errorfile & co by proxy (http/errors.c); NULL: none */
};

/* owner: main. Sets up the error messages of `cfg` (errorfile, errorloc, errorfiles,
 * http-error) for the frontends and backends of `rt` into http->errs, compiling their
 * log-format parts. Returns the number of errors (each alerted with its file:line), or
 * -ENOMEM. */
int sp_http_errors_setup(const struct sp_config *cfg, const struct sp_routing *rt,
                         struct sp_http_conf *http);
/* owner: main, once no worker runs. Frees http->errs. */
void sp_http_errors_free(struct sp_http_conf *http);

struct sp_routing;

/* owner: main. Notes the process start (uptime). */
void sp_statsvc_init(void);
/* owner: main, with the routing snapshot it published; reads the counters as any reader does.
 * Appends the `show stat` CSV (header then rows), or with `typed` the `show stat typed` lines,
 * of every proxy and server of `rt`: the rows the stats page renders. 0 or -ENOMEM. */
int sp_statsvc_show_stat(const struct sp_routing *rt, const struct sp_http_conf *conf, bool typed,
                         struct sp_strbuf *b);
/* owner: main or a worker, each with the routing snapshot it holds (main: the one it
 * published); reads the counters and gates as any reader does. The process-wide values
 * (connections, requests, workers, uptime, version) of `show info` and of the Prometheus
 * process families, counters read at `now_ms`. */
void sp_statsvc_proc_info(const struct sp_routing *rt, const struct sp_http_conf *conf,
                          uint64_t now_ms, struct sp_stats_proc *p);

/* shared: any thread (the check's owner, or main for the stats socket's commands). Logs a
 * server's state change `ch` as HAProxy words it ("Server be/s1 is DOWN, reason: ..., check
 * duration: 0ms. 1 active and 0 backup servers left. ..."): with the check's reason when
 * `reason`, or `why` instead when not NULL ("changed from CLI"; in parentheses without a comma
 * when it starts with '(': a maintenance cause, "(DNS NX status)"). Also applies the server's
 * on-marked-down shutdown-sessions / on-marked-up shutdown-backup-sessions (every worker is
 * woken to close its own sessions), whoever made the change. */
void sp_http_srv_change_log(const struct sp_server *s, enum sp_srv_change ch, bool reason,
                            const char *why);
/* shared: any thread that changed a server of `be`: updates the backend's down/up record
 * and logs "backend 'be' has no server available!" when its last usable server is gone. */
void sp_http_be_changed(const struct sp_backend *be, uint64_t now_ms);

/* owner: main. Must be set before the workers start. */
void sp_http_set_conf(const struct sp_http_conf *conf);

/* the hooks main gives every worker */
extern const struct sp_worker_hooks sp_http_hooks;

#endif
