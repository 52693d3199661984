/* balance/resolver.h - run-time DNS resolution of servers (HAProxy 2.6's `resolvers`,
 * configuration.txt 5.3): every `timeout resolve` each resolution (one per resolvers
 * section, backend and host name: a server-template's slots share theirs) sends an A or
 * AAAA query to every nameserver of its section over UDP, takes the first valid answer, and
 * gives its addresses to the servers: a server keeps its address while the answer still has
 * it (or had it less than `hold obsolete` ago), a server without one takes a free address
 * (it leaves maintenance (resolution)), and a server left without one enters it. An NX,
 * refused, other or timed-out resolution keeps the last answer for its `hold` time, then
 * every server of the resolution enters maintenance (resolution).
 *
 * owner: main. Everything here runs on the main thread, from its poll loop: the sockets are
 * non-blocking and a turn does bounded work (at most SP_RESOLV_BURST datagrams per socket).
 * Workers see only what sp_srv_set_addr() and sp_srv_set_rmaint() publish. */
#ifndef SP_BALANCE_RESOLVER_H
#define SP_BALANCE_RESOLVER_H

#include <poll.h>
#include <stdint.h>

#include "balance/balance.h"
#include "balance/health.h"
#include "core/config.h"

struct sp_resolvers;

/* owner: main. What happened, for main's log: a server's state changed (`ch`, with `why`
 * for the log line's reason), or, with `s` NULL or ch SP_SRV_CH_NONE, a line to log as is
 * (an address change, a malformed answer: rate-limited by the resolver). */
typedef void (*sp_resolv_event_fn)(void *arg, const struct sp_server *s, enum sp_srv_change ch,
                                   const char *msg);

#define SP_RESOLV_BURST 64

/* owner: main. The resolutions of every resolving server in `routing` (which must outlive
 * the result), their sockets open. *ret_err is 0, or a negative errno with the result NULL
 * (then `why` says what failed). A routing with no resolving server gives NULL with 0. */
struct sp_resolvers *sp_resolvers_start(const struct sp_config *cfg,
                                        const struct sp_routing *routing, sp_resolv_event_fn fn,
                                        void *arg, uint64_t now_ms, int *ret_err, char *why,
                                        size_t whysize);
/* owner: main. Fills up to `max` pollfds with the sockets; returns how many. */
int sp_resolvers_pollfds(const struct sp_resolvers *rs, struct pollfd *pfd, int max);
/* owner: main. Milliseconds until the next timer (a query to send, a retry), at most
 * `cap`; 0 when one is due. Accepts NULL (returns cap). */
int sp_resolvers_timeout(const struct sp_resolvers *rs, uint64_t now_ms, int cap);
/* owner: main. Reads what arrived (the pollfds' revents are not needed: every socket is read
 * until EAGAIN, bounded) and runs the due timers. Accepts NULL. */
void sp_resolvers_run(struct sp_resolvers *rs, uint64_t now_ms);
/* owner: main. Closes and frees. Accepts NULL, returns NULL. */
struct sp_resolvers *sp_resolvers_free(struct sp_resolvers *rs);

#endif
