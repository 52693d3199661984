/* http/http.h - the HTTP layer's face toward main: per-worker start and stop.
 *
 * owner: main builds the struct sp_http_conf before workers start; it is immutable afterwards
 * and every worker reads it. The worker hooks run on their worker.
 */
#ifndef SP_HTTP_HTTP_H
#define SP_HTTP_HTTP_H

#include "core/worker.h"
#include "net/listener.h"

struct sp_logsink;
struct sp_logfmt;

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
};

struct sp_routing;

/* owner: main. Notes the process start (uptime). */
void sp_statsvc_init(void);
/* owner: main. Opens the stats socket (`stats socket PATH [mode M]`): a listening unix socket,
 * or a negative errno. */
int sp_statsvc_cli_open(const char *path, int mode);
/* owner: main. Serves the clients waiting on the stats socket, one command line each. */
void sp_statsvc_cli_serve(int lfd, const struct sp_routing *rt, const struct sp_http_conf *conf);

/* owner: main. Must be set before the workers start. */
void sp_http_set_conf(const struct sp_http_conf *conf);

/* the hooks main gives every worker */
extern const struct sp_worker_hooks sp_http_hooks;

#endif
