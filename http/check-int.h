/* http/check-int.h - what http/check.c (the check connections) and http/tcpchk.c (the
 * tcp-check sequences run on them) share.
 */
#ifndef SP_HTTP_CHECK_INT_H
#define SP_HTTP_CHECK_INT_H

#include "http/http-int.h"
#include "net/transport.h"

/* owner: worker. One server's check. */
struct sp_check {
    struct sp_xconn x;    /* the connection of the check under way (fd -1 between checks) */
    struct sp_timer next; /* start of the next check */
    struct sp_http_worker *hw;
    const struct sp_server *s;
    uint64_t t_start; /* ms */
    bool running, connected;
    struct sp_h1_scan scan;
    /* a tcp-check sequence (be->chk.proto != NONE): where it stands */
    int step;       /* the step under way (an index into be->chk.steps) */
    bool must_read; /* the next expect reads first (a send came before it) */
    bool last_read; /* the server closed, or the buffer is full: nothing more will come */
    bool sending;   /* the send step's bytes are in wbuf */
};

/* owner: worker. The check ended with `status`: records it, logs a change, schedules the
 * next one. `info` may be NULL; it is copied before the connection's buffers go. */
void sp__check_done(struct sp_check *c, enum sp_chk_status status, int code, const char *info);

/* owner: worker (tcpchk.c). The tcp-check sequence: the connection is up (and a PROXY
 * header sent): run the steps after the connect; then on each event of the connection. */
void sp__tcpchk_run(struct sp_check *c);
/* owner: worker. The check timed out (connected or not). */
void sp__tcpchk_timeout(struct sp_check *c);
/* owner: worker. The connection failed before it was up (errno `err`). */
void sp__tcpchk_conn_failed(struct sp_check *c, int err);

#endif
