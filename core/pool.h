/* core/pool.h - typed per-worker free lists for fixed-size objects (connections, transactions).
 *
 * owner: worker. Not thread-safe, by design: an object goes back to the free list of the
 * worker that allocated it, which is the only one that ever touches it. Objects come back
 * zeroed from sp_pool_get(). Up to `max_free` objects are cached; beyond that they go back
 * to malloc, so a burst does not pin memory for ever. A cached object is poisoned
 * (core/poison.h): touching it before sp_pool_get() hands it out again is an ASan report.
 */
#ifndef SP_CORE_POOL_H
#define SP_CORE_POOL_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/poison.h"

/* owner: worker */
struct sp_pool {
    void *free;
    unsigned nfree;
    unsigned max_free;
    unsigned used;
    size_t size;
};

/* owner: the pool's worker (from its start hook). Sets up an empty pool of `size`-byte objects
 * caching at most `max_free`. */
static inline void sp_pool_init(struct sp_pool *p, size_t size, unsigned max_free)
{
    p->free = NULL;
    p->nfree = 0;
    p->used = 0;
    p->max_free = max_free;
    p->size = size < sizeof(void *) ? sizeof(void *) : size;
}

/* owner: the pool's worker. A zeroed object, or NULL when out of memory. */
static inline void *sp_pool_get(struct sp_pool *p)
{
    void *o = p->free;
    if (o) {
        sp_unpoison(o, p->size);
        p->free = *(void **)o;
        p->nfree--;
        memset(o, 0, p->size);
    } else {
        o = calloc(1, p->size);
        if (!o)
            return NULL;
    }
    p->used++;
    return o;
}

/* owner: the pool's worker (the one that got `o` from it). Accepts NULL. */
static inline void sp_pool_put(struct sp_pool *p, void *o)
{
    if (!o)
        return;
    p->used--;
    if (p->nfree < p->max_free) {
        sp_poison(o, sizeof(void *), p->size);
        *(void **)o = p->free;
        p->free = o;
        p->nfree++;
    } else {
        free(o);
    }
}

/* owner: the pool's worker, once nothing it handed out is in use any more. Frees the cached
 * objects. */
static inline void sp_pool_destroy(struct sp_pool *p)
{
    while (p->free) {
        void *next = *(void **)p->free;
        sp_unpoison(p->free, p->size);
        free(p->free);
        p->free = next;
    }
    p->nfree = 0;
}

#endif
