#include "stats/stats.h"

#include <ck_pr.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* owner: its worker (writes), shared (reads) */
struct ring {
    uint64_t next; /* entries written so far */
    struct sp_decision *e;
} __attribute__((aligned(SP_CACHELINE)));

/* shared: set by main before the workers start */
static struct ring *rings;
static int nrings, size;

int sp_decisions_init(int nworkers, int n)
{
    if (n <= 0)
        return 0;
    rings = aligned_alloc(SP_CACHELINE, sizeof(*rings) * (size_t)nworkers);
    if (!rings)
        return -ENOMEM;
    memset(rings, 0, sizeof(*rings) * (size_t)nworkers);
    nrings = nworkers;
    for (int i = 0; i < nworkers; i++) {
        rings[i].e = calloc((size_t)n, sizeof(struct sp_decision));
        if (!rings[i].e)
            return -ENOMEM;
    }
    size = n;
    return 0;
}

void sp_decisions_free(void)
{
    for (int i = 0; rings && i < nrings; i++)
        free(rings[i].e);
    free(rings);
    rings = NULL;
    nrings = size = 0;
}

int sp_decisions_size(void)
{
    return size;
}

/* An entry after its sequence word, as 64-bit words that the writer stores and the readers
 * load with relaxed atomics: the seqlock tells a reader whether what it loaded is whole, and
 * no access races, even formally (a plain memcpy on both sides is a data race that the
 * sequence check only makes harmless, and that ThreadSanitizer rightly reports). */
typedef uint64_t __attribute__((may_alias)) word;
#define NWORDS ((sizeof(struct sp_decision) - sizeof(uint64_t)) / sizeof(word))
_Static_assert(sizeof(struct sp_decision) % sizeof(word) == 0 &&
                   offsetof(struct sp_decision, seq) == 0,
               "a decision is whole 64-bit words, its sequence word first");

static void words_store(struct sp_decision *e, const struct sp_decision *d)
{
    word *dst = (word *)e + 1;
    const word *src = (const word *)d + 1;

    for (size_t i = 0; i < NWORDS; i++)
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

static void words_load(struct sp_decision *out, const struct sp_decision *e)
{
    word *dst = (word *)out + 1;
    const word *src = (const word *)e + 1;

    for (size_t i = 0; i < NWORDS; i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void sp_decision_add(int wid, const struct sp_decision *d)
{
    if (!size || wid < 0 || wid >= nrings)
        return;
    struct ring *r = &rings[wid];
    struct sp_decision *e = &r->e[r->next % (uint64_t)size];
    uint64_t seq = ck_pr_load_64(&e->seq);

    /* the sequence word is never copied from `d`: it stays odd for the whole write */
    ck_pr_store_64(&e->seq, seq + 1); /* odd: being written */
    ck_pr_fence_store();
    words_store(e, d);
    ck_pr_fence_store();
    ck_pr_store_64(&e->seq, seq + 2);
    ck_pr_store_64(&r->next, r->next + 1);
}

static int by_time(const void *a, const void *b)
{
    const struct sp_decision *x = a, *y = b;
    return x->wall_us < y->wall_us ? -1 : x->wall_us > y->wall_us;
}

int sp_decisions_read(struct sp_decision *out, int max)
{
    int n = 0;

    for (int w = 0; w < nrings; w++) {
        uint64_t next = ck_pr_load_64(&rings[w].next);
        uint64_t count = next < (uint64_t)size ? next : (uint64_t)size;
        for (uint64_t k = 0; k < count && n < max; k++) {
            const struct sp_decision *e = &rings[w].e[(next - 1 - k) % (uint64_t)size];
            uint64_t s1 = ck_pr_load_64((uint64_t *)&e->seq);
            ck_pr_fence_load();
            words_load(&out[n], e);
            out[n].seq = s1;
            ck_pr_fence_load();
            uint64_t s2 = ck_pr_load_64((uint64_t *)&e->seq);
            if ((s1 & 1) || s1 != s2)
                continue; /* being rewritten: skip rather than show a torn entry */
            n++;
        }
    }
    qsort(out, (size_t)n, sizeof(*out), by_time);
    return n;
}
