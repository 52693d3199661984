/* balance/srvstate.h - the server state file (HAProxy 2.6's server_state.c): at start, the
 * servers take back what `show servers state` saved of them (version 1), as HAProxy's
 * apply_server_state() and srv_state_srv_update() do.
 *
 * - Files: the global `server-state-file` (relative to `server-state-base`), read by the
 *   backends with `load-server-state-from-file global`, its lines matched by backend and
 *   server name; or each backend's own (`local`: `server-state-file-name`, the backend's name
 *   by default), whose lines must name the backend (by id or name: an id mismatch is a
 *   warning, a name mismatch skips the line).
 * - A server takes: its operational state; its administrative state (forced maintenance and
 *   drain, the configuration winning when its `disabled` changed); `disable health`; its
 *   weight when the configured one did not change; its port; its address, when it resolves
 *   its name and init-addr has `last` before what gave it one; for an SRV slot, its target
 *   (the slot takes that record back at the first answer). Not applied: the check's last
 *   status, result and health counter, the last change time, check and agent addresses
 *   (spillway has no agent, and a check's address is fixed at load).
 * - Bad input never stops the start: a missing or unreadable file, a bad version line or a
 *   corrupted line (the whole file is then ignored, as by HAProxy) and a bad value (that
 *   server's line is ignored) are warnings naming file:line. The one error: a server whose
 *   only init-addr method left was `last` and that found no address.
 *
 * owner: main, at start, before the snapshot is published. */
#ifndef SP_BALANCE_SRVSTATE_H
#define SP_BALANCE_SRVSTATE_H

#include <stdint.h>
#include <stdio.h>

#include "balance/balance.h"
#include "core/config.h"

/* owner: main. Applies the state files of `cfg` to `routing` (built from it, not yet
 * published); warnings and errors to `diag` as "[WARNING] ..." / "[ALERT] ..." lines. Returns
 * the number of errors (0: the start may go on). */
int sp_srvstate_apply(const struct sp_config *cfg, struct sp_routing *routing, uint64_t now_ms,
                      FILE *diag);

#endif
