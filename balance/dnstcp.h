/* balance/dnstcp.h - DNS over TCP to one nameserver (`nameserver ID tcp@ADDR:PORT`, RFC 1035
 * 4.2.2, RFC 7766), as HAProxy 2.6's dns_stream_server does it: each message carries a 2-byte
 * length in front; a session (one TCP connection) carries at most SP_DNSTCP_PIPELINE queries
 * at a time, answered in any order; a query that finds every session full opens another, up
 * to SP_CFG_DNS_TCP_SESSIONS; a query unanswered after SP_DNSTCP_QUERY_TIMEOUT_MS is
 * forgotten (the resolver's own retry sends it again); every 5 s half the sessions that were
 * busy at the last peak but are idle now are closed (one kept busy stays open); a session
 * the nameserver closes, or that fails, is dropped with its queries.
 *
 * owner: main (the resolvers). Non-blocking sockets; a run does bounded work per session. */
#ifndef SP_BALANCE_DNSTCP_H
#define SP_BALANCE_DNSTCP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SP_DNSTCP_PIPELINE         4    /* HAProxy's DNS_STREAM_MAX_PIPELINED_REQ */
#define SP_DNSTCP_QUERY_TIMEOUT_MS 5000 /* HAProxy's query expiry in a session */
#define SP_DNSTCP_IDLE_PERIOD_MS   5000 /* HAProxy's dns_process_idle_exp() period */

struct sp_dnstcp;

/* owner: main. What a session delivers: one whole DNS message. */
typedef void (*sp_dnstcp_msg_fn)(void *arg, const uint8_t *msg, size_t len);

/* owner: main. A nameserver's session set; no connection yet. NULL when out of memory. */
struct sp_dnstcp *sp_dnstcp_new(const struct sockaddr_storage *ss, socklen_t len, uint64_t now_ms);
/* owner: main. Queues query `pkt` (id `id`) on a session with room, opening one when needed.
 * 0, or a negative errno (-EAGAIN: every session full and no more may open; the connect's
 * error otherwise). */
int sp_dnstcp_send(struct sp_dnstcp *t, const uint8_t *pkt, size_t len, uint16_t id,
                   uint64_t now_ms);
/* owner: main. The sessions' pollfds (POLLIN, and POLLOUT while connecting or with bytes to
 * write); returns how many were filled, at most `max`. */
int sp_dnstcp_pollfds(const struct sp_dnstcp *t, struct pollfd *pfd, int max);
/* owner: main. Milliseconds until the next expiry, at most `cap`. */
int sp_dnstcp_timeout(const struct sp_dnstcp *t, uint64_t now_ms, int cap);
/* owner: main. Writes what waits, reads what arrived (each message to `fn`), expires queries
 * and idle sessions. */
void sp_dnstcp_run(struct sp_dnstcp *t, uint64_t now_ms, sp_dnstcp_msg_fn fn, void *arg);
/* owner: main. The sessions open now (for tests and `show`). */
int sp_dnstcp_sessions(const struct sp_dnstcp *t);
/* owner: main. Closes and frees. Accepts NULL, returns NULL. */
struct sp_dnstcp *sp_dnstcp_free(struct sp_dnstcp *t);

#endif
