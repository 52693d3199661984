#include "net/buf.h"

#include <errno.h>
#include <stdlib.h>

#include "core/poison.h"

void sp_bufpool_init(struct sp_bufpool *p, uint32_t size, unsigned max_free)
{
    p->free = NULL;
    p->nfree = 0;
    p->max_free = max_free;
    p->used = 0;
    p->size = size;
}

void sp_bufpool_destroy(struct sp_bufpool *p)
{
    while (p->free) {
        void *next = *(void **)p->free;
        sp_unpoison(p->free, p->size);
        free(p->free);
        p->free = next;
    }
    p->nfree = 0;
}

int sp_buf_alloc(struct sp_buf *b, struct sp_bufpool *p)
{
    if (b->data)
        return 0;
    char *blk = p->free;
    if (blk) {
        sp_unpoison(blk, p->size);
        p->free = *(void **)blk;
        p->nfree--;
    } else {
        blk = malloc(p->size);
        if (!blk)
            return -ENOMEM;
    }
    p->used++;
    b->data = blk;
    b->size = p->size;
    b->head = b->tail = 0;
    return 0;
}

void sp_buf_release(struct sp_buf *b, struct sp_bufpool *p, int force)
{
    if (!b->data || (!force && b->head != b->tail))
        return;
    p->used--;
    if (p->nfree < p->max_free) {
        /* cached storage is poisoned (core/poison.h): a stale sp_buf pointing at it is a
         * report, not a silent read of another connection's bytes */
        sp_poison(b->data, sizeof(void *), p->size);
        *(void **)b->data = p->free;
        p->free = b->data;
        p->nfree++;
    } else {
        free(b->data);
    }
    b->data = NULL;
    b->size = 0;
    b->head = b->tail = 0;
}

uint32_t sp_buf_append(struct sp_buf *b, const void *p, uint32_t n)
{
    if (sp_buf_room(b) < n)
        sp_buf_realign(b);
    uint32_t room = sp_buf_room(b);
    if (n > room)
        n = room;
    /* with no storage attached (or nothing to copy) there is nothing to do, and memcpy() from
     * or to NULL is undefined even for 0 bytes */
    if (n)
        sp_buf_put(b, p, n);
    return n;
}
