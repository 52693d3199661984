/* balance/tcpchk.h - a backend's tcp-check sequence compiled into the routing snapshot
 * (`option tcp-check` and its `tcp-check` lines, `option mysql-check`, `option
 * ssl-hello-chk`), as HAProxy 2.6 builds its rulesets (src/tcpcheck.c).
 */
#ifndef SP_BALANCE_TCPCHK_H
#define SP_BALANCE_TCPCHK_H

#include <stdio.h>

#include "balance/balance.h"

/* owner: main, while the snapshot is built. Fills c->proto, c->steps and c->nsteps from the
 * proxy's configuration (warns on `diag` about unused `tcp-check` lines). 0, or -ENOMEM. */
int sp__tcpchk_compile(struct sp_be_check *c, const struct sp_cfg_proxy *p, FILE *diag);
/* owner: main (or whoever frees the snapshot). Frees what sp__tcpchk_compile() made. */
void sp__tcpchk_free(struct sp_be_check *c);

#endif
