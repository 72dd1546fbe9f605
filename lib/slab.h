/*
 * slab.h - the keyspace's private allocator: size classes of 8-byte steps up
 * to RKV_SLAB_MAX bytes carved out of aligned pages, larger objects from
 * malloc. One allocator per rkv_ks: no locking, no global state.
 *
 * Why not plain malloc: glibc rounds a 136-byte entry up to a 144-byte chunk
 * (8 bytes of header plus 16-byte steps); with 1M entries that is the
 * difference between meeting the memory target and missing it.
 *
 * Frees are sized: the caller passes the size it asked for (the keyspace
 * recomputes it from the entry), so objects carry no header. Pages are
 * aligned to their own power-of-two size, so an object's page is found by
 * masking its address. A page that becomes empty goes back to the kernel
 * (madvise) unless it is its class's one spare page.
 */
#ifndef RKV_SLAB_H
#define RKV_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RKV_SLAB_MAX 1024u
#define RKV_SLAB_NCLASS (RKV_SLAB_MAX / 8u)
/* Page sizes are 2^12 .. 2^16 bytes; each class uses one of them. */
#define RKV_SLAB_MIN_SHIFT 12u
#define RKV_SLAB_MAX_SHIFT 16u
#define RKV_SLAB_NSHIFT (RKV_SLAB_MAX_SHIFT - RKV_SLAB_MIN_SHIFT + 1u)

struct rkv_slab_page;
struct rkv_slab_arena;
struct rkv_slab_big;

struct rkv_slab_class {
    struct rkv_slab_page *avail; /* pages with a free slot, most recent first */
    struct rkv_slab_page *spare; /* an empty page kept to avoid churn */
    uint16_t cap;                /* objects per page */
    uint8_t shift;               /* log2 of the page size */
};

/* Empty pages given back to the kernel, kept (by address) for reuse. */
struct rkv_slab_pool {
    void **pages;
    size_t n, cap;
};

typedef struct rkv_slab {
    struct rkv_slab_class cls[RKV_SLAB_NCLASS];
    struct rkv_slab_pool pool[RKV_SLAB_NSHIFT];
    struct rkv_slab_arena *arenas; /* mmap'd regions that pages are cut from */
    uintptr_t bump, bump_end;      /* the uncut rest of the newest arena */
    size_t next_arena;             /* size of the next arena to map */
    struct rkv_slab_big *big;      /* objects above RKV_SLAB_MAX */
    size_t held;                   /* pages, large objects, bookkeeping */
    size_t sys;                    /* rkv_slab_sys_alloc'd bytes */
    size_t live;                   /* objects handed out, class-rounded */
} rkv_slab;

/* An empty allocator; it holds nothing until the first allocation. */
void rkv_slab_init(rkv_slab *s);

/* Gives back every page, arena and large object at once (objects need not
 * be freed one by one). The allocator is empty and usable afterwards. */
void rkv_slab_release_all(rkv_slab *s);

/* size bytes aligned to 8, or NULL when out of memory. size may be 0. */
void *rkv_slab_alloc(rkv_slab *s, size_t size);

/* Frees p, which rkv_slab_alloc(s, size) returned (same size). */
void rkv_slab_free(rkv_slab *s, void *p, size_t size);

/* Whether p, allocated for oldsize, can be reused in place for newsize, and
 * then freed as rkv_slab_free(s, p, newsize): true when both sizes map to the
 * same slab class, or both are large and newsize fits p without wasting more
 * than half of it. */
bool rkv_slab_fits(const rkv_slab *s, const void *p, size_t oldsize,
                   size_t newsize);

/* The bytes a request of size really takes from its slab class (pages'
 * slack aside), or size itself for a large request. */
size_t rkv_slab_class_size(size_t size);

/* Plain malloc/calloc and free for the owner's own arrays (bucket arrays),
 * counted in rkv_slab_held so that one figure covers everything. */
void *rkv_slab_sys_alloc(rkv_slab *s, size_t size, bool zero);
void rkv_slab_sys_free(rkv_slab *s, void *p, size_t size);

/* Tells the allocator that bytes [off, off + len) of the sys allocation p of
 * size bytes will only be read as zeros from now on (the owner has zeroed
 * them), so that their pages may go back to the system early. A no-op for
 * blocks that did not get their own mapping. */
void rkv_slab_sys_discard(rkv_slab *s, void *p, size_t size, size_t off,
                          size_t len);

/* Bytes held from the system: pages in use by classes (whole, with their
 * free slots), large objects and sys allocations with malloc's rounding,
 * and the allocator's bookkeeping. O(1). */
size_t rkv_slab_held(const rkv_slab *s);

/* Bytes in live objects only (class-rounded slab objects, large objects
 * with malloc's rounding) plus sys allocations: what Redis calls
 * used_memory, without the free slots of partly used pages. A maxmemory
 * loop that evicts until under its limit needs this figure, because freeing
 * one object rarely frees a page. O(1). */
size_t rkv_slab_live(const rkv_slab *s);

#endif /* RKV_SLAB_H */
