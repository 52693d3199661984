/* balance/health.c - server state changes with HAProxy 2.6's rules (src/check.c
 * set_server_check_status and check_notify_*, src/server.c srv_set_* and srv_adm_*), and
 * their publication to lock-free readers. The thread contract is in balance/health.h.
 */
#include "balance/health.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct sp_srv_hstate) % 4 == 0, "published word by word");

static void publish(struct sp_srv_health *h, const struct sp_srv_hstate *st)
{
    const uint32_t *src = (const uint32_t *)(const void *)st;
    uint32_t *dst = (uint32_t *)(void *)&h->st;

    ck_sequence_write_begin(&h->seq);
    for (size_t i = 0; i < sizeof(*st) / 4; i++)
        ck_pr_store_32(&dst[i], src[i]);
    ck_pr_store_int(&h->lbw, sp_srv_usable(st) ? st->uweight : 0);
    ck_sequence_write_end(&h->seq);
}

void sp_srv_health_read(const struct sp_srv_health *h, struct sp_srv_hstate *out)
{
    uint32_t *dst = (uint32_t *)(void *)out;
    const uint32_t *src = (const uint32_t *)(const void *)&h->st;
    unsigned v;

    do {
        v = ck_sequence_read_begin(&h->seq);
        for (size_t i = 0; i < sizeof(*out) / 4; i++)
            dst[i] = ck_pr_load_32((uint32_t *)(uintptr_t)&src[i]);
    } while (ck_sequence_read_retry(&h->seq, v));
}

bool sp_srv_usable(const struct sp_srv_hstate *h)
{
    return !(h->admin & (SP_SRV_MAINT | SP_SRV_FDRAIN)) &&
           (h->op == SP_SRV_RUNNING || h->op == SP_SRV_STARTING) && h->uweight > 0;
}

void sp_srv_health_init(struct sp_srv_health *h, int weight, bool backup, bool disabled, bool check,
                        int rise, int fall, uint64_t now_ms, const struct sockaddr_storage *addr,
                        uint32_t addrlen)
{
    struct sp_srv_hstate st = {
        .op = SP_SRV_RUNNING,
        .uweight = weight,
        .iweight = weight,
        .health = rise,
        .rise = rise,
        .fall = fall,
        .status = check ? SP_CHK_INI : SP_CHK_UNK,
        .backup = backup,
        .duration_ms = -1,
        .lastchg_ms = now_ms,
        .addr = *addr,
        .addrlen = addrlen,
    };

    if (check)
        st.chk_state = SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED;
    if (disabled) {
        st.admin = SP_SRV_FMAINT | SP_SRV_CMAINT;
        st.op = SP_SRV_STOPPED;
        st.health = 0;
        if (check)
            st.chk_state |= SP_CHK_ST_PAUSED;
    }
    memset(h, 0, sizeof(*h));
    ck_spinlock_init(&h->lock);
    ck_sequence_init(&h->seq);
    publish(h, &st);
}

/* The writer's side: the lock is held, so the record can be read plainly. */
static void wr_begin(struct sp_srv_health *h, struct sp_srv_hstate *st)
{
    ck_spinlock_lock(&h->lock);
    *st = h->st;
}

static void wr_end(struct sp_srv_health *h, const struct sp_srv_hstate *st)
{
    publish(h, st);
    ck_spinlock_unlock(&h->lock);
}

uint64_t sp_srv_downtime_ms(const struct sp_srv_hstate *h, uint64_t now_ms)
{
    uint64_t d = h->downtime_ms;

    if (h->op == SP_SRV_STOPPED && now_ms > h->lastchg_ms)
        d += now_ms - h->lastchg_ms;
    return d;
}

/* Enters `op`, keeping lastchg, downtime and chkdown as HAProxy does. */
static void set_op(struct sp_srv_hstate *st, int op, uint64_t now_ms)
{
    if (st->op == op)
        return;
    if (st->op == SP_SRV_STOPPED)
        st->downtime_ms = sp_srv_downtime_ms(st, now_ms);
    if (op == SP_SRV_STOPPED)
        st->chkdown++;
    st->op = op;
    st->lastchg_ms = now_ms;
}

static int chk_result(enum sp_chk_status s)
{
    switch (s) {
    case SP_CHK_L4OK:
    case SP_CHK_L6OK:
    case SP_CHK_L7OK:
        return SP_CHK_RES_PASSED;
    case SP_CHK_L7OKC:
        return SP_CHK_RES_CONDPASS;
    case SP_CHK_UNK:
    case SP_CHK_INI:
        return SP_CHK_RES_UNKNOWN;
    default:
        return SP_CHK_RES_FAILED;
    }
}

enum sp_srv_change sp_srv_check_done(struct sp_srv_health *h, enum sp_chk_status status, int code,
                                     int64_t duration_ms, const char *info, uint64_t now_ms)
{
    struct sp_srv_hstate st;
    enum sp_srv_change ch = SP_SRV_CH_NONE;
    int max;

    wr_begin(h, &st);
    st.chk_state &= ~SP_CHK_ST_INPROGRESS;
    if ((st.chk_state & (SP_CHK_ST_ENABLED | SP_CHK_ST_PAUSED)) != SP_CHK_ST_ENABLED) {
        wr_end(h, &st); /* disabled or paused meanwhile: the result is dropped */
        return ch;
    }
    max = st.rise + st.fall - 1;
    st.status = status;
    st.result = chk_result(status);
    st.code = sp_chk_status_has_code(status) ? code : 0;
    st.duration_ms = duration_ms;
    snprintf(st.info, sizeof(st.info), "%s", info ? info : "");
    if (st.result == SP_CHK_RES_FAILED) {
        if (st.health > 0) {
            st.chkfail++;
            st.health--;
            if (st.health < st.rise)
                st.health = 0;
        }
        if (st.health == 0 && st.op != SP_SRV_STOPPED) {
            set_op(&st, SP_SRV_STOPPED, now_ms);
            ch = SP_SRV_CH_DOWN;
        }
    } else if (st.result == SP_CHK_RES_PASSED || st.result == SP_CHK_RES_CONDPASS) {
        if (st.health < max) {
            st.health++;
            if (st.health >= st.rise)
                st.health = max;
        }
        if (st.health >= st.rise && !(st.admin & SP_SRV_MAINT)) {
            if (st.result == SP_CHK_RES_PASSED && st.op != SP_SRV_RUNNING) {
                set_op(&st, SP_SRV_RUNNING, now_ms);
                ch = SP_SRV_CH_UP;
            } else if (st.result == SP_CHK_RES_CONDPASS && st.op != SP_SRV_STOPPING) {
                set_op(&st, SP_SRV_STOPPING, now_ms);
                ch = SP_SRV_CH_STOPPING;
            }
        }
    }
    wr_end(h, &st);
    return ch;
}

void sp_srv_check_running(struct sp_srv_health *h, bool running)
{
    struct sp_srv_hstate st;

    wr_begin(h, &st);
    if (running)
        st.chk_state |= SP_CHK_ST_INPROGRESS;
    else
        st.chk_state &= ~SP_CHK_ST_INPROGRESS;
    wr_end(h, &st);
}

/* Leaves maintenance: "start OK but check immediately" (health = rise, RUNNING). */
static void leave_maint(struct sp_srv_hstate *st, uint64_t now_ms)
{
    st->admin &= ~SP_SRV_MAINT;
    st->chk_state &= ~SP_CHK_ST_PAUSED;
    st->health = st->rise;
    set_op(st, SP_SRV_RUNNING, now_ms);
}

enum sp_srv_change sp_srv_set_admin(struct sp_srv_health *h, int state, uint64_t now_ms)
{
    struct sp_srv_hstate st;
    enum sp_srv_change ch = SP_SRV_CH_NONE;

    wr_begin(h, &st);
    if (state == SP_SRV_FMAINT) {
        if (!(st.admin & SP_SRV_MAINT)) {
            ch = st.op == SP_SRV_STOPPED ? SP_SRV_CH_MAINT_DOWN : SP_SRV_CH_MAINT;
            st.admin = (st.admin & ~SP_SRV_FDRAIN) | SP_SRV_FMAINT;
            if (st.chk_state & SP_CHK_ST_CONFIGURED)
                st.chk_state |= SP_CHK_ST_PAUSED;
            st.health = 0;
            set_op(&st, SP_SRV_STOPPED, now_ms);
        } else {
            st.admin |= SP_SRV_FMAINT; /* already in maintenance (resolution): kept after it */
        }
    } else if (state == SP_SRV_FDRAIN) {
        if (st.admin & SP_SRV_MAINT) {
            leave_maint(&st, now_ms);
            ch = SP_SRV_CH_READY;
        }
        if (!(st.admin & SP_SRV_FDRAIN)) {
            st.admin |= SP_SRV_FDRAIN;
            st.lastchg_ms = now_ms;
            ch = SP_SRV_CH_DRAIN;
        }
    } else {
        if ((st.admin & SP_SRV_MAINT) == SP_SRV_RMAINT) {
            st.admin &= ~SP_SRV_FDRAIN; /* no address yet: it stays in maintenance */
        } else if (st.admin & SP_SRV_MAINT) {
            st.admin &= ~SP_SRV_FDRAIN;
            if (st.admin & SP_SRV_RMAINT) {
                st.admin &= ~(SP_SRV_FMAINT | SP_SRV_CMAINT);
            } else {
                leave_maint(&st, now_ms);
                ch = SP_SRV_CH_READY;
            }
        } else if (st.admin & SP_SRV_FDRAIN) {
            st.admin &= ~SP_SRV_FDRAIN;
            st.lastchg_ms = now_ms;
            ch = SP_SRV_CH_UNDRAIN;
        }
    }
    wr_end(h, &st);
    return ch;
}

enum sp_srv_change sp_srv_set_op(struct sp_srv_health *h, enum sp_srv_op op, uint64_t now_ms)
{
    struct sp_srv_hstate st;
    enum sp_srv_change ch = SP_SRV_CH_NONE;

    wr_begin(h, &st);
    if (!(st.admin & SP_SRV_MAINT) && st.op != (int)op) {
        st.health = op == SP_SRV_STOPPED ? 0 : st.rise + st.fall - 1;
        set_op(&st, op, now_ms);
        ch = op == SP_SRV_STOPPED    ? SP_SRV_CH_DOWN
             : op == SP_SRV_STOPPING ? SP_SRV_CH_STOPPING
                                     : SP_SRV_CH_UP;
    }
    wr_end(h, &st);
    return ch;
}

enum sp_srv_change sp_srv_set_weight(struct sp_srv_health *h, int weight, uint64_t now_ms)
{
    struct sp_srv_hstate st;

    (void)now_ms;
    wr_begin(h, &st);
    st.uweight = weight;
    wr_end(h, &st);
    return SP_SRV_CH_WEIGHT;
}

void sp_srv_set_addr(struct sp_srv_health *h, const struct sockaddr_storage *addr, uint32_t addrlen)
{
    struct sp_srv_hstate st;

    wr_begin(h, &st);
    st.addr = *addr;
    st.addrlen = addrlen;
    /* the record first, then the generation: a reader that sees the new generation reads
     * the new address (its sequence read orders after this write section) */
    publish(h, &st);
    ck_pr_store_int(&h->addr_gen, h->addr_gen + 1);
    ck_spinlock_unlock(&h->lock);
}

enum sp_srv_change sp_srv_set_rmaint(struct sp_srv_health *h, bool on, uint64_t now_ms)
{
    struct sp_srv_hstate st;
    enum sp_srv_change ch = SP_SRV_CH_NONE;

    wr_begin(h, &st);
    if (on && !(st.admin & SP_SRV_RMAINT)) {
        if (!(st.admin & SP_SRV_MAINT)) {
            ch = st.op == SP_SRV_STOPPED ? SP_SRV_CH_MAINT_DOWN : SP_SRV_CH_MAINT;
            if (st.chk_state & SP_CHK_ST_CONFIGURED)
                st.chk_state |= SP_CHK_ST_PAUSED;
            st.health = 0;
            set_op(&st, SP_SRV_STOPPED, now_ms);
        }
        st.admin |= SP_SRV_RMAINT;
    } else if (!on && (st.admin & SP_SRV_RMAINT)) {
        st.admin &= ~SP_SRV_RMAINT;
        if (!(st.admin & SP_SRV_MAINT)) {
            leave_maint(&st, now_ms);
            ch = SP_SRV_CH_RESOLVES;
        }
    }
    wr_end(h, &st);
    return ch;
}

int sp_srv_set_check_enabled(struct sp_srv_health *h, bool on)
{
    struct sp_srv_hstate st;
    int err = 0;

    wr_begin(h, &st);
    if (!(st.chk_state & SP_CHK_ST_CONFIGURED))
        err = on ? -EINVAL : 0;
    else if (on)
        st.chk_state |= SP_CHK_ST_ENABLED;
    else
        st.chk_state &= ~SP_CHK_ST_ENABLED;
    wr_end(h, &st);
    return err;
}

void sp_srv_status_text(const struct sp_srv_hstate *h, char *buf, size_t size)
{
    bool checked = (h->chk_state & (SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED)) ==
                   (SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED);
    int max = h->rise + h->fall - 1;

    if (h->admin & SP_SRV_RMAINT) {
        snprintf(buf, size, "MAINT (resolution)");
        return;
    }
    if (h->admin & SP_SRV_MAINT) {
        snprintf(buf, size, "MAINT");
        return;
    }
    switch (h->op) {
    case SP_SRV_RUNNING:
    case SP_SRV_STARTING:
        if (h->admin & SP_SRV_FDRAIN) {
            if (checked && h->health < max)
                snprintf(buf, size, "DRAIN %d/%d", h->health - h->rise + 1, h->fall);
            else
                snprintf(buf, size, "DRAIN");
        } else if (!checked) {
            snprintf(buf, size, "no check");
        } else if (h->health < max) {
            snprintf(buf, size, "UP %d/%d", h->health - h->rise + 1, h->fall);
        } else {
            snprintf(buf, size, "UP");
        }
        return;
    case SP_SRV_STOPPING:
        if (checked && h->health < max)
            snprintf(buf, size, "NOLB %d/%d", h->health - h->rise + 1, h->fall);
        else
            snprintf(buf, size, "NOLB");
        return;
    default:
        if (checked && h->health > 0 && h->health < h->rise)
            snprintf(buf, size, "DOWN %d/%d", h->health, h->rise);
        else
            snprintf(buf, size, "DOWN");
        return;
    }
}

static const struct {
    const char *name, *desc;
} chk_names[] = {
    [SP_CHK_UNK] = {"UNK", "Unknown"},
    [SP_CHK_INI] = {"INI", "Initializing"},
    [SP_CHK_SOCKERR] = {"SOCKERR", "Socket error"},
    [SP_CHK_L4OK] = {"L4OK", "Layer4 check passed"},
    [SP_CHK_L4TOUT] = {"L4TOUT", "Layer4 timeout"},
    [SP_CHK_L4CON] = {"L4CON", "Layer4 connection problem"},
    [SP_CHK_L6OK] = {"L6OK", "Layer6 check passed"},
    [SP_CHK_L6TOUT] = {"L6TOUT", "Layer6 timeout"},
    [SP_CHK_L6RSP] = {"L6RSP", "Layer6 invalid response"},
    [SP_CHK_L7TOUT] = {"L7TOUT", "Layer7 timeout"},
    [SP_CHK_L7RSP] = {"L7RSP", "Layer7 invalid response"},
    [SP_CHK_L7OK] = {"L7OK", "Layer7 check passed"},
    [SP_CHK_L7OKC] = {"L7OKC", "Layer7 check conditionally passed"},
    [SP_CHK_L7STS] = {"L7STS", "Layer7 wrong status"},
};

const char *sp_chk_status_name(int status)
{
    if (status < 0 || (size_t)status >= sizeof(chk_names) / sizeof(chk_names[0]) ||
        !chk_names[status].name)
        return "UNK";
    return chk_names[status].name;
}

const char *sp_chk_status_desc(int status)
{
    if (status < 0 || (size_t)status >= sizeof(chk_names) / sizeof(chk_names[0]) ||
        !chk_names[status].desc)
        return "Unknown";
    return chk_names[status].desc;
}

bool sp_chk_status_has_code(int status)
{
    return status == SP_CHK_L7OK || status == SP_CHK_L7OKC || status == SP_CHK_L7STS;
}

void sp_be_health_init(struct sp_be_health *b, int usable, uint64_t now_ms)
{
    memset(b, 0, sizeof(*b));
    ck_spinlock_init(&b->lock);
    b->down = usable == 0;
    b->lastchg_ms = now_ms;
}

int sp_be_health_update(struct sp_be_health *b, int usable, uint64_t now_ms)
{
    int r = 0;

    ck_spinlock_lock(&b->lock);
    if (!usable && !b->down) {
        b->down = 1;
        b->chkdown++;
        b->lastchg_ms = now_ms;
        r = 1;
    } else if (usable && b->down) {
        b->down = 0;
        if (now_ms > b->lastchg_ms)
            b->downtime_ms += now_ms - b->lastchg_ms;
        b->lastchg_ms = now_ms;
        r = -1;
    }
    ck_spinlock_unlock(&b->lock);
    return r;
}

void sp_be_health_read(struct sp_be_health *b, struct sp_be_health *out, uint64_t now_ms,
                       uint64_t *ret_downtime_ms)
{
    ck_spinlock_lock(&b->lock);
    *out = *b;
    ck_spinlock_unlock(&b->lock);
    *ret_downtime_ms = out->downtime_ms;
    if (out->down && now_ms > out->lastchg_ms)
        *ret_downtime_ms += now_ms - out->lastchg_ms;
}
