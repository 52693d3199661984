/* core/cli.h - the stats socket (`stats socket PATH|ADDR:PORT [mode M]...`): HAProxy's command
 * interpreter on a unix or TCP socket, one command line per connection (several commands separated
 * by ';'), as HAProxy's non-interactive mode: help, show info, show stat [typed], show servers
 * state, show decisions.
 *
 * owner: main. Part of the daemon (linked into the spillway executable with core/main.c, not
 * into sp_core): main opens the socket and serves it between signals. The answers read the
 * counters and decision rings as any reader does (stats/stats.h), and the routing snapshot and
 * HTTP configuration main published, which main owns.
 */
#ifndef SP_CORE_CLI_H
#define SP_CORE_CLI_H

#include <stdbool.h>

struct sp_routing;
struct sp_http_conf;

struct sp_cfg_stats_socket;

/* the most `stats socket` lines one process serves */
#define SP_CLI_MAX 16

/* owner: main. Opens one `stats socket`: a unix socket (an existing file there is replaced;
 * its mode, 0600 by default, and owner as the line says) or a TCP address
 * (SO_REUSEADDR). Returns a listening, non-blocking socket, or a negative errno. */
int sp_cli_open(const struct sp_cfg_stats_socket *ss);

/* owner: main, with the routing snapshot `rt` it published and the `conf` it gave the workers.
 * Serves the clients waiting on the listening socket `lfd` (at most 16 a call), one command
 * line each; each read and write is bounded by `timeout_ms` (`stats timeout`, 2 s by default)
 * so that a stuck client cannot hold main longer. */
void sp_cli_serve(int lfd, const struct sp_routing *rt, const struct sp_http_conf *conf, bool admin,
                  int timeout_ms);

#endif
