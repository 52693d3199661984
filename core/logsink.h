/* core/logsink.h - where access-log lines go: stdout, stderr, a file, a syslog server.
 *
 * Two objects:
 *  - struct sp_logsink, opened on main from `log` lines (struct sp_cfg_log): the targets'
 *    fds and sockets, addresses, framing, facility, level and line length. shared: immutable
 *    after open; every worker's buffer reads it, nobody writes it. Closed by main after the
 *    last buffer is freed.
 *  - struct sp_logsink_buf, one per worker (owner: worker, no locks): the framed lines waiting
 *    for that worker's next sp_logsink_flush(), which the loop calls once per turn.
 *
 * Cost model: a line costs one memcpy into the worker's buffer; a flush costs at most one
 * system call per target (one write()/send() of every buffered line for a stream target,
 * one sendmmsg() carrying one datagram per line for syslog). Nothing ever blocks: what the
 * kernel does not take now stays buffered for the next turn, and a line that finds the
 * buffer full is dropped and counted.
 *
 * Framing (HAProxy's):
 *   raw      msg
 *   rfc3164  <PRI>Mmm dd hh:mm:ss [hostname ]tag[pid]: msg     (local time; day space-padded;
 *            the host name only with send_hostname, HAProxy's log-send-hostname)
 *   rfc5424  <PRI>1 yyyy-mm-ddThh:mm:ss.uuuuuu+hh:mm hostname tag pid - - msg  (hostname "-"
 *            without send_hostname)
 * PRI = facility * 8 + severity. `len N` (default 1024) caps header + message; stream targets
 * (stdout, stderr, files) then get a '\n' after each line, datagrams do not.
 *
 * Targets: "stdout", "stderr"; an absolute path: a UNIX datagram socket such as /dev/log
 * when the path is one (what HAProxy does with a path), otherwise a file opened for append;
 * "[udp@|ipv4@|ipv6@]host[:port]" (port 514 by default, "[v6]:port" or a bare IPv6 address).
 */
#ifndef SP_CORE_LOGSINK_H
#define SP_CORE_LOGSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* syslog severities */
enum {
    SP_SYSLOG_EMERG = 0,
    SP_SYSLOG_ALERT,
    SP_SYSLOG_CRIT,
    SP_SYSLOG_ERR,
    SP_SYSLOG_WARNING,
    SP_SYSLOG_NOTICE,
    SP_SYSLOG_INFO, /* a normal request's line */
    SP_SYSLOG_DEBUG,
};

#define SP_LOGSINK_DEFAULT_LEN 1024

/* owner: main (read by sp_logsink_open only) */
struct sp_logsink_opts {
    const char *hostname; /* the header's HOSTNAME with send_hostname;
                             NULL: gethostname() at open */
    bool send_hostname;   /* the header carries the host name (off by default, as HAProxy:
                             rfc3164 then has none, rfc5424 "-") */
    const char *tag;      /* NULL: "spillway" */
    int pid;              /* 0: getpid() at open */
};

struct sp_logsink;
struct sp_logsink_buf;

/* owner: main. Opens the n targets logs[0..n) (target i is index i in emit). opts may be
 * NULL. Returns 0 and sets *ret_sink, or a negative errno with a one-line reason naming the
 * target in err (may be NULL): -EINVAL for a malformed line, -ENOENT for a host that does
 * not resolve, the open()/socket() error otherwise. */
int sp_logsink_open(const struct sp_cfg_log *const *logs, unsigned n,
                    const struct sp_logsink_opts *opts, struct sp_logsink **ret_sink, char *err,
                    size_t errlen);

/* owner: main, after every buffer on it was freed. Accepts NULL, returns NULL. */
struct sp_logsink *sp_logsink_close(struct sp_logsink *sink);

/* any thread (the sink is immutable after open). Number of targets. */
unsigned sp_logsink_count(const struct sp_logsink *sink);

/* owner: the worker that will use it (may be created on main before the worker starts).
 * `bytes` per target (0: 64 KiB, at least 2 lines of `len`) and at most `max_dgrams`
 * datagrams waiting per syslog target (0: 256, capped at 1024). NULL when out of memory. */
struct sp_logsink_buf *sp_logsink_buf_new(const struct sp_logsink *sink, size_t bytes,
                                          unsigned max_dgrams);

/* owner: worker. Frees without flushing. Accepts NULL, returns NULL. */
struct sp_logsink_buf *sp_logsink_buf_free(struct sp_logsink_buf *buf);

/* owner: worker. The wall clock (CLOCK_REALTIME, us) the next headers carry; the loop sets
 * it each turn from the time it already read. Left at 0, each emit reads the clock. */
void sp_logsink_buf_set_now(struct sp_logsink_buf *buf, int64_t now_us);

/* owner: worker. Frames msg[0..len) for target `idx` at `severity` and queues it.
 * Returns 1 when queued, 0 when the target's level filters it out, -ENOBUFS when the
 * buffer is full (the line is dropped and counted), -EINVAL for a bad index. */
int sp_logsink_emit_level(struct sp_logsink_buf *buf, unsigned idx, int severity, const char *msg,
                          size_t len);

/* owner: worker. As sp_logsink_emit_level() at SP_SYSLOG_INFO, a normal request's severity. */
int sp_logsink_emit(struct sp_logsink_buf *buf, unsigned idx, const char *msg, size_t len);

/* owner: worker, once per loop turn. At most one system call per target with queued lines.
 * Lines the kernel does not take (EAGAIN, a short write) stay queued; on any other error
 * the target's queued lines are dropped and counted. Returns the number of lines handed
 * to the kernel. */
unsigned sp_logsink_flush(struct sp_logsink_buf *buf);

/* shared: one writer (the owning worker), any reader. Counters over all targets. */
struct sp_logsink_stats {
    uint64_t queued;   /* lines accepted by emit */
    uint64_t sent;     /* lines handed to the kernel */
    uint64_t dropped;  /* lines lost: buffer full or write error */
    uint64_t syscalls; /* write()/send()/sendmmsg() calls made by flush */
};

/* any thread (relaxed reads of counters written by one worker) */
uint64_t sp_logsink_buf_drops_mt(const struct sp_logsink_buf *buf);
void sp_logsink_buf_stats_mt(const struct sp_logsink_buf *buf, struct sp_logsink_stats *ret);

#endif
