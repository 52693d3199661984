/* balance/health.h - the live state of every server: what its health checks found, what an
 * operator set (maintenance, drain, weight), and from both what load balancing may use.
 * HAProxy 2.6's model (src/server.c, src/check.c): an operational state (STOPPED, STARTING,
 * RUNNING, STOPPING), administrative flags (forced or configured maintenance, forced drain),
 * a health counter from 0 to rise+fall-1 that is "good" from `rise` up, and the check's last
 * status with HAProxy's codes.
 *
 * shared: one struct sp_srv_health per server (sp_server.h in the routing snapshot, which is
 * otherwise immutable: this block is its one mutable part, kept for the snapshot's life).
 * - Writers: the worker that owns the server's check (check results), main (start-up and
 *   the stats socket's commands), and the worker answering a stats page's admin POST.
 *   Every change holds the server's write lock (a spinlock: a change is rare, one per check
 *   interval or operator command, never on the request path) and updates the record inside
 *   a ck_sequence write section.
 * - Readers: any thread, without a lock. The balancer reads `lbw` alone (one atomic load per
 *   server per pick); whoever needs a consistent record (stats, the stats socket, a log
 *   line) copies it with sp_srv_health_read(), which retries while a write is under way.
 */
#ifndef SP_BALANCE_HEALTH_H
#define SP_BALANCE_HEALTH_H

#include <ck_pr.h>
#include <ck_sequence.h>
#include <ck_spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sp_server;

/* operational state (HAProxy's srv_op_state, with its numbers) */
enum sp_srv_op {
    SP_SRV_STOPPED = 0,
    SP_SRV_STARTING = 1,
    SP_SRV_RUNNING = 2,
    SP_SRV_STOPPING = 3, /* NOLB: conditionally passed (disable-on-404), or set from the CLI */
};

/* administrative flags (HAProxy's srv_admin_state bits) */
enum {
    SP_SRV_FMAINT = 0x01, /* forced maintenance (stats socket) */
    SP_SRV_CMAINT = 0x04, /* maintenance from the configuration (`disabled`) */
    SP_SRV_FDRAIN = 0x08, /* forced drain (stats socket) */
    SP_SRV_RMAINT = 0x20, /* maintenance from DNS resolution: no address (HAProxy's RMAINT) */
};
#define SP_SRV_MAINT (SP_SRV_FMAINT | SP_SRV_CMAINT | SP_SRV_RMAINT)

/* check status (HAProxy's HCHK_STATUS_* numbers, as `show servers state` prints them) */
enum sp_chk_status {
    SP_CHK_UNK = 0,
    SP_CHK_INI = 1,
    SP_CHK_SOCKERR = 5,
    SP_CHK_L4OK = 6,
    SP_CHK_L4TOUT = 7,
    SP_CHK_L4CON = 8,
    SP_CHK_L6OK = 9,
    SP_CHK_L6TOUT = 10,
    SP_CHK_L6RSP = 11,
    SP_CHK_L7TOUT = 12,
    SP_CHK_L7RSP = 13,
    SP_CHK_L7OK = 15,
    SP_CHK_L7OKC = 16,
    SP_CHK_L7STS = 17,
};

/* check result (HAProxy's CHK_RES_*) */
enum sp_chk_result {
    SP_CHK_RES_UNKNOWN = 0,
    SP_CHK_RES_NEUTRAL = 1,
    SP_CHK_RES_FAILED = 2,
    SP_CHK_RES_PASSED = 3,
    SP_CHK_RES_CONDPASS = 4,
};

/* check state flags (HAProxy's CHK_ST_*, as `show servers state` prints them) */
enum {
    SP_CHK_ST_INPROGRESS = 0x01,
    SP_CHK_ST_CONFIGURED = 0x02,
    SP_CHK_ST_ENABLED = 0x04,
    SP_CHK_ST_PAUSED = 0x08,
};

/* owner: the caller, as a copy (inside struct sp_srv_health: shared, see there).
 * A server's state as one plain record: what sp_srv_health_read() copies out. Times are
 * monotonic milliseconds. Its size is a multiple of 4 bytes (published word by word). */
struct sp_srv_hstate {
    int op;               /* enum sp_srv_op */
    int admin;            /* SP_SRV_* admin flags */
    int uweight, iweight; /* current (stats socket) and configured weight */
    int health;           /* 0 .. rise+fall-1 */
    int rise, fall;
    int chk_state;            /* SP_CHK_ST_* */
    int status;               /* enum sp_chk_status of the last finished check */
    int result;               /* enum sp_chk_result */
    int code;                 /* L7 status code, 0: none */
    int backup;               /* a backup server */
    int64_t duration_ms;      /* of the last finished check, -1: none */
    int64_t chkfail, chkdown; /* failed checks; transitions to DOWN */
    uint64_t lastchg_ms;      /* last state change (the start before any) */
    uint64_t downtime_ms;     /* time spent DOWN before the current period */
    char info[128]; /* the check's detail ("Connection refused"...), or "": HAProxy's HCHK_DESC_LEN
                     */
    struct sockaddr_storage addr; /* where the server is now (`set server ... addr`) */
    uint32_t addrlen;
};

/* shared: see the header comment. */
struct sp_srv_health {
    ck_spinlock_t lock; /* writers only */
    ck_sequence_t seq;
    int lbw;      /* the weight load balancing uses now: the weight when usable, 0 otherwise */
    int addr_gen; /* bumped by each address change: readers compare it with what they hold */
    int kill_gen; /* bumped when the server's sessions must end (on-marked-down|up shutdown-*) */
    struct sp_srv_hstate st; /* written word by word inside `seq` write sections */
} __attribute__((aligned(64)));

/* shared: a backend's own record (HAProxy's set_backend_down() and the UP path): how often it
 * lost its last usable server, when its state last changed, how long it was down. Any thread
 * that changed one of its servers (a check owner, main) updates it under its lock; readers
 * copy it under the lock too (stats only: rare). */
struct sp_be_health {
    ck_spinlock_t lock;
    int down; /* no usable server */
    int64_t chkdown;
    uint64_t lastchg_ms;  /* monotonic ms */
    uint64_t downtime_ms; /* before the current down period */
} __attribute__((aligned(64)));

/* owner: main, before publish. Up (or down when `usable` is 0) since `now_ms`. */
void sp_be_health_init(struct sp_be_health *b, int usable, uint64_t now_ms);
/* shared: any thread that changed one of its servers (a check owner, main), under `lock`.
 * The backend has `usable` usable servers now: 1 when that made it go down (the
 * caller logs "has no server available!"), -1 when it came back, 0 otherwise. */
int sp_be_health_update(struct sp_be_health *b, int usable, uint64_t now_ms);
/* shared: any thread, under `lock`. A copy, and the downtime until `now_ms` (current period
 * included). */
void sp_be_health_read(struct sp_be_health *b, struct sp_be_health *out, uint64_t now_ms,
                       uint64_t *ret_downtime_ms);

/* What a change did to the server, for the caller's log line. */
enum sp_srv_change {
    SP_SRV_CH_NONE = 0,
    SP_SRV_CH_DOWN,       /* is DOWN (check failures, or set from the CLI) */
    SP_SRV_CH_UP,         /* is UP */
    SP_SRV_CH_STOPPING,   /* is stopping (NOLB) */
    SP_SRV_CH_MAINT,      /* is going DOWN for maintenance */
    SP_SRV_CH_MAINT_DOWN, /* was DOWN and now enters maintenance */
    SP_SRV_CH_READY,      /* leaves forced maintenance */
    SP_SRV_CH_DRAIN,      /* enters drain state */
    SP_SRV_CH_UNDRAIN,    /* leaves forced drain */
    SP_SRV_CH_RESOLVES,   /* leaves maintenance (resolution): it resolves again */
    SP_SRV_CH_WEIGHT,     /* the weight changed; usable or not may have followed */
};

/* owner: main, before the snapshot is published. Initial state from the configuration:
 * RUNNING with health = rise ("UP, falls at the first failure", as HAProxy), or maintenance
 * for `disabled`; status INI when checked. */
void sp_srv_health_init(struct sp_srv_health *h, int weight, bool backup, bool disabled, bool check,
                        int rise, int fall, uint64_t now_ms, const struct sockaddr_storage *addr,
                        uint32_t addrlen);

/* shared: the weight load balancing uses now (0: not usable). */
static inline int sp_srv_lbw(const struct sp_srv_health *h)
{
    return ck_pr_load_int(&h->lbw);
}

/* shared: a consistent copy of `h` into `out`. */
void sp_srv_health_read(const struct sp_srv_health *h, struct sp_srv_hstate *out);

/* owner: the server's check owner (a worker). One finished check: HAProxy's counter rules
 * (a failure at health 0 changes nothing), the state it leads to, the counters. `info` may be
 * NULL. Returns what changed. */
enum sp_srv_change sp_srv_check_done(struct sp_srv_health *h, enum sp_chk_status status, int code,
                                     int64_t duration_ms, const char *info, uint64_t now_ms);
/* owner: the check owner. A check started or ended (the "* " in front of check_status). */
void sp_srv_check_running(struct sp_srv_health *h, bool running);

/* shared: main (the stats socket), or the worker answering a stats page's admin POST
 * (http/statadmin.c); writers serialize on the lock. `set server ... state
 * ready|drain|maint`: 0 ready, SP_SRV_FDRAIN, SP_SRV_FMAINT. */
enum sp_srv_change sp_srv_set_admin(struct sp_srv_health *h, int state, uint64_t now_ms);
/* shared: main, or the worker of a stats admin POST (as above). `set server ... health
 * up|stopping|down`. */
enum sp_srv_change sp_srv_set_op(struct sp_srv_health *h, enum sp_srv_op op, uint64_t now_ms);
/* owner: main. `set server ... weight`: 0..256. */
enum sp_srv_change sp_srv_set_weight(struct sp_srv_health *h, int weight, uint64_t now_ms);
/* owner: main. `set server ... addr`: the new address, for the connections opened from now
 * on (each worker compares addr_gen with the one its pool was opened for). */
void sp_srv_set_addr(struct sp_srv_health *h, const struct sockaddr_storage *addr,
                     uint32_t addrlen);
/* owner: main (the resolvers). Enters (`on`) or leaves maintenance for resolution, HAProxy's
 * RMAINT: independent of the operator's flags, so `set server state ready` does not give an
 * address to a server that has none. Returns what changed (MAINT, MAINT_DOWN, RESOLVES, NONE). */
enum sp_srv_change sp_srv_set_rmaint(struct sp_srv_health *h, bool on, uint64_t now_ms);
/* shared: the address generation (0 until the first change). */
static inline int sp_srv_addr_gen(const struct sp_srv_health *h)
{
    return ck_pr_load_int(&h->addr_gen);
}
/* shared: any thread. on-marked-down shutdown-sessions, on-marked-up shutdown-backup-sessions:
 * asks every worker to end its sessions on this server (each compares kill_gen with the last
 * one it acted on, when woken). */
static inline void sp_srv_kill_sessions(struct sp_srv_health *h)
{
    ck_pr_inc_int(&h->kill_gen);
}
/* shared: the kill generation (0 until the first). */
static inline int sp_srv_kill_gen(const struct sp_srv_health *h)
{
    return ck_pr_load_int(&h->kill_gen);
}
/* shared: main, or the worker of a stats admin POST (as above). `disable health` /
 * `enable health` (0, or -EINVAL: no check configured). */
int sp_srv_set_check_enabled(struct sp_srv_health *h, bool on);

/* Pure (on a copy). Whether a server in this state is usable for load balancing. */
bool sp_srv_usable(const struct sp_srv_hstate *h);
/* Pure. HAProxy's `status` column: "UP", "UP 1/3", "DOWN 1/2", "NOLB", "DRAIN", "MAINT",
 * "no check". */
void sp_srv_status_text(const struct sp_srv_hstate *h, char *buf, size_t size);
/* Pure. HAProxy's short name of a check status ("L4CON"), and its description ("Layer4
 * connection problem"). */
const char *sp_chk_status_name(int status);
const char *sp_chk_status_desc(int status);
/* Pure. Whether the status carries an L7 code (check_code column, ", code: N"). */
bool sp_chk_status_has_code(int status);
/* Pure. Time DOWN until `now_ms`, current period included. */
uint64_t sp_srv_downtime_ms(const struct sp_srv_hstate *h, uint64_t now_ms);

#endif
