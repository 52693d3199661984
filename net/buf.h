/* net/buf.h - I/O buffers and the per-worker buffer pool.
 *
 * owner: worker. A buffer's storage comes from its worker's pool and goes back to it; nothing
 * here is thread-safe. Storage is attached lazily (first read) and given back as soon as the
 * buffer is empty and the connection idle, so an idle keep-alive connection holds no buffer.
 *
 * Layout: bytes [head, tail) of data[0..size) are pending. Readers append at tail, consumers
 * take from head; sp_buf_realign() moves pending bytes to the front when the tail reaches the
 * end. Buffers are tune.bufsize bytes (16 KiB by default).
 */
#ifndef SP_NET_BUF_H
#define SP_NET_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* owner: worker */
struct sp_buf {
    char *data; /* NULL: no storage attached */
    uint32_t size;
    uint32_t head;
    uint32_t tail;
};

/* owner: worker. A LIFO free list of equal-sized blocks. */
struct sp_bufpool {
    void *free;        /* singly linked through the first word of each free block */
    unsigned nfree;    /* blocks on the free list */
    unsigned max_free; /* above this, put() frees to malloc instead of caching */
    unsigned used;     /* blocks handed out and not yet returned */
    uint32_t size;     /* bytes per block */
};

/* owner: the pool's worker (from its start hook). An empty pool of `size`-byte blocks caching at
 * most `max_free`. */
void sp_bufpool_init(struct sp_bufpool *p, uint32_t size, unsigned max_free);
/* owner: the pool's worker.
 * Frees every cached block. Blocks still handed out are the caller's leak. */
void sp_bufpool_destroy(struct sp_bufpool *p);

/* owner: the buffer's worker (`p` is its pool).
 * Attaches storage to `b` if it has none. Returns 0 or -ENOMEM. */
int sp_buf_alloc(struct sp_buf *b, struct sp_bufpool *p);
/* owner: the buffer's worker (`p` is its pool).
 * Gives the storage back if the buffer is empty (or unconditionally with `force`). */
void sp_buf_release(struct sp_buf *b, struct sp_bufpool *p, int force);

/* owner: the buffer's worker, for every inline below. Pending bytes. */
static inline uint32_t sp_buf_len(const struct sp_buf *b)
{
    return b->tail - b->head;
}

/* owner: the buffer's worker. Free bytes after the tail. */
static inline uint32_t sp_buf_room(const struct sp_buf *b)
{
    return b->size - b->tail;
}

/* owner: the buffer's worker: free space counting what sp_buf_realign() would recover */
static inline uint32_t sp_buf_space(const struct sp_buf *b)
{
    return b->size - sp_buf_len(b);
}

/* owner: the buffer's worker. The first pending byte. */
static inline char *sp_buf_head(const struct sp_buf *b)
{
    return b->data + b->head;
}

/* owner: the buffer's worker. Where the next byte goes. */
static inline char *sp_buf_tail(const struct sp_buf *b)
{
    return b->data + b->tail;
}

/* owner: the buffer's worker. Drops n pending bytes from the head (an emptied buffer restarts
 * at 0). */
static inline void sp_buf_consume(struct sp_buf *b, uint32_t n)
{
    b->head += n;
    if (b->head == b->tail)
        b->head = b->tail = 0;
}

/* owner: the buffer's worker. Moves the pending bytes to the front. */
static inline void sp_buf_realign(struct sp_buf *b)
{
    if (b->head) {
        memmove(b->data, b->data + b->head, b->tail - b->head);
        b->tail -= b->head;
        b->head = 0;
    }
}

/* owner: the buffer's worker.
 * Appends n bytes; the caller checked sp_buf_room() (realigning first if needed). */
static inline void sp_buf_put(struct sp_buf *b, const void *p, uint32_t n)
{
    memcpy(b->data + b->tail, p, n);
    b->tail += n;
}

/* owner: the worker of both buffers.
 * Hands the storage of `from`, bytes included, to the empty buffer `to`, whose own storage (or
 * none) goes back to `from`, emptied: a move of the bytes without copying them. Both belong
 * to the same pool. */
static inline void sp_buf_move(struct sp_buf *to, struct sp_buf *from)
{
    struct sp_buf empty = *to;

    *to = *from;
    *from = empty;
    from->head = from->tail = 0;
}

/* owner: the buffer's worker.
 * Appends as much as fits (realigning when that makes room); returns the bytes taken. */
uint32_t sp_buf_append(struct sp_buf *b, const void *p, uint32_t n);

#endif
