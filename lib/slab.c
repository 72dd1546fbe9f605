/*
 * slab.c - the keyspace's size-class allocator (see slab.h for the why).
 *
 * Layout: arenas are mmap'd regions aligned to the largest page size; pages
 * of 4..64 KiB are cut from them in order. Each class keeps its page size
 * fixed (chosen so that a page's header and tail waste stay under 1/128 of
 * its payload), which lets a sized free find the page header by masking.
 * A page starts with its header; its objects follow, handed out first from a
 * bump offset (so a new page is not touched all at once) and then from an
 * intrusive free list of released slots.
 *
 * Pages that hold a free slot are on their class's doubly-linked avail list,
 * so alloc and free are O(1). An emptied page goes back to the kernel with
 * MADV_DONTNEED and into a per-size pool for reuse, except one spare page per
 * class, kept so that a set/delete cycle at a class boundary does not make a
 * system call each time. Arenas themselves are unmapped only by
 * rkv_slab_release_all.
 */
#include "slab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
/* Free slots and pages are poisoned, so that ASan still catches a use after
 * free or an overrun into a free slot inside our pages. */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct rkv_slab_page {
    struct rkv_slab_page *next, *prev; /* the class's avail list */
    void *free;                        /* released slots of this page */
    uint32_t bump;                     /* offset of the first unused slot */
    uint32_t used;                     /* objects handed out */
    uint8_t listed;                    /* on the avail list */
};

#define PAGE_HDR ((sizeof(struct rkv_slab_page) + 7u) & ~(size_t)7u)

struct rkv_slab_arena {
    struct rkv_slab_arena *next;
    void *base;
    size_t len;
};

/* Arenas start small so that a small table holds little address space and
 * double up to 8 MiB so that a big one needs few mappings. */
#define ARENA_FIRST ((size_t)256 << 10)
#define ARENA_MAX ((size_t)8 << 20)
#define ARENA_ALIGN ((size_t)1 << RKV_SLAB_MAX_SHIFT)
/* sys allocations this big are mapped directly: fresh mappings are zero
 * without a memset, whereas glibc's calloc may serve a big block from its
 * heap (its mmap threshold rises after big frees) and clear it all at once,
 * stalling the put that grows the table. */
#define SYS_MAP_MIN ((size_t)1 << 20)
#define SYS_PAGE ((size_t)4096)

/* A large object's header: the list lets release_all free every one without
 * the owner walking its entries. */
struct rkv_slab_big {
    struct rkv_slab_big *next, *prev;
    size_t cap;  /* bytes usable after the header */
    size_t held; /* bytes counted in rkv_slab_held */
};

static size_t class_of(size_t size)
{
    return size ? (size - 1) >> 3 : 0;
}

static size_t class_bytes(size_t ci)
{
    return (ci + 1) << 3;
}

size_t rkv_slab_class_size(size_t size)
{
    return size > RKV_SLAB_MAX ? size : class_bytes(class_of(size));
}

/* What malloc really takes for a block: its usable size plus the chunk
 * header. Without glibc, an estimate of the same. */
static size_t sys_size(void *p, size_t size)
{
#if defined(__GLIBC__)
    (void)size;
    return malloc_usable_size(p) + sizeof(size_t);
#else
    (void)p;
    return ((size + sizeof(size_t) + 15u) & ~(size_t)15u);
#endif
}

void rkv_slab_init(rkv_slab *s)
{
    memset(s, 0, sizeof(*s));
    s->next_arena = ARENA_FIRST;
    for (size_t ci = 0; ci < RKV_SLAB_NCLASS; ci++) {
        size_t cs = class_bytes(ci), shift, cap = 0;
        for (shift = RKV_SLAB_MIN_SHIFT; shift <= RKV_SLAB_MAX_SHIFT; shift++) {
            size_t page = (size_t)1 << shift;
            cap = (page - PAGE_HDR) / cs;
            if (cap >= 8 && (page - cap * cs) * 128 <= cap * cs)
                break;
        }
        if (shift > RKV_SLAB_MAX_SHIFT)
            shift = RKV_SLAB_MAX_SHIFT;
        cap = (((size_t)1 << shift) - PAGE_HDR) / cs;
        s->cls[ci].shift = (uint8_t)shift;
        s->cls[ci].cap = (uint16_t)cap;
    }
}

static void *map_aligned(size_t len, size_t align);

static size_t map_len(size_t size)
{
    return (size + SYS_PAGE - 1) & ~(SYS_PAGE - 1);
}

void *rkv_slab_sys_alloc(rkv_slab *s, size_t size, bool zero)
{
    void *p;
    if (size >= SYS_MAP_MIN && size <= SIZE_MAX - SYS_PAGE) {
        p = map_aligned(map_len(size), SYS_PAGE);
        if (p)
            s->sys += map_len(size);
        return p;
    }
    p = zero ? calloc(1, size) : malloc(size);
    if (p)
        s->sys += sys_size(p, size);
    return p;
}

void rkv_slab_sys_free(rkv_slab *s, void *p, size_t size)
{
    if (!p)
        return;
    if (size >= SYS_MAP_MIN && size <= SIZE_MAX - SYS_PAGE) {
        s->sys -= map_len(size);
        munmap(p, map_len(size));
        return;
    }
    s->sys -= sys_size(p, size);
    free(p);
}

void rkv_slab_sys_discard(rkv_slab *s, void *p, size_t size, size_t off,
                          size_t len)
{
    (void)s;
    if (size < SYS_MAP_MIN || off > size || len > size - off)
        return;
    uintptr_t a = ((uintptr_t)p + off + SYS_PAGE - 1) & ~(uintptr_t)(SYS_PAGE - 1);
    uintptr_t b = ((uintptr_t)p + off + len) & ~(uintptr_t)(SYS_PAGE - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

size_t rkv_slab_held(const rkv_slab *s)
{
    return s->held + s->sys;
}

size_t rkv_slab_live(const rkv_slab *s)
{
    return s->live + s->sys;
}

/* The bookkeeping arrays are resized with realloc, so their malloc rounding
 * is estimated rather than asked for. */
static size_t est_size(size_t size)
{
    return (size + sizeof(size_t) + 15u) & ~(size_t)15u;
}

/* ------------------------------------------------------------ pages */

/* Maps len bytes aligned to align (a power of two, at least the system page)
 * by over-mapping and trimming. No MADV_HUGEPAGE: measured, it bought a few
 * per cent of lookup speed but made every 2 MiB of growth stall the put that
 * faulted it for milliseconds. */
static void *map_aligned(size_t len, size_t align)
{
    if (align <= SYS_PAGE) {
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return m == MAP_FAILED ? NULL : m;
    }
    if (len > SIZE_MAX - align)
        return NULL;
    char *m = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t base = ((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = base - (uintptr_t)m;
    if (head)
        munmap(m, head);
    if (align - head)
        munmap((char *)base + len, align - head);
    return (void *)base;
}

static bool new_arena(rkv_slab *s)
{
    size_t len = s->next_arena;
    struct rkv_slab_arena *a = malloc(sizeof(*a));
    if (!a)
        return false;
    /* Aligned to the largest page size at least, so that every page size
     * divides the offsets of the pages cut from it. */
    void *base = map_aligned(len, ARENA_ALIGN);
    if (!base) {
        free(a);
        return false;
    }
    a->base = base;
    a->len = len;
    a->next = s->arenas;
    s->arenas = a;
    s->held += est_size(sizeof(*a));
    s->bump = (uintptr_t)base;
    s->bump_end = (uintptr_t)base + len;
    if (s->next_arena < ARENA_MAX)
        s->next_arena *= 2;
    return true;
}

static void *page_get(rkv_slab *s, unsigned shift)
{
    struct rkv_slab_pool *pool = &s->pool[shift - RKV_SLAB_MIN_SHIFT];
    size_t size = (size_t)1 << shift;
    if (pool->n) {
        void *p = pool->pages[--pool->n];
        UNPOISON(p, size);
        return p;
    }
    uintptr_t p = (s->bump + size - 1) & ~(uintptr_t)(size - 1);
    if (!s->bump || p + size > s->bump_end) {
        if (!new_arena(s))
            return NULL;
        p = s->bump;
    }
    s->bump = p + size;
    return (void *)p;
}

static void avail_push(struct rkv_slab_class *c, struct rkv_slab_page *pg)
{
    pg->prev = NULL;
    pg->next = c->avail;
    if (c->avail)
        c->avail->prev = pg;
    c->avail = pg;
    pg->listed = 1;
}

static void avail_unlink(struct rkv_slab_class *c, struct rkv_slab_page *pg)
{
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        c->avail = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
    pg->listed = 0;
}

static struct rkv_slab_page *page_new(rkv_slab *s, struct rkv_slab_class *c)
{
    struct rkv_slab_page *pg = page_get(s, c->shift);
    if (!pg)
        return NULL;
    memset(pg, 0, sizeof(*pg));
    pg->bump = (uint32_t)PAGE_HDR;
    POISON((char *)pg + PAGE_HDR, ((size_t)1 << c->shift) - PAGE_HDR);
    s->held += (size_t)1 << c->shift;
    avail_push(c, pg);
    return pg;
}

/* Returns an empty page to the kernel and the pool. When the pool cannot
 * grow, the page simply stays in its class, still counted. */
static void page_release(rkv_slab *s, struct rkv_slab_class *c,
                         struct rkv_slab_page *pg)
{
    struct rkv_slab_pool *pool = &s->pool[c->shift - RKV_SLAB_MIN_SHIFT];
    size_t size = (size_t)1 << c->shift;
    if (pool->n == pool->cap) {
        size_t ncap = pool->cap ? pool->cap * 2 : 16;
        void **v = realloc(pool->pages, ncap * sizeof(*v));
        if (!v)
            return;
        if (pool->cap)
            s->held -= est_size(pool->cap * sizeof(*v));
        s->held += est_size(ncap * sizeof(*v));
        pool->pages = v;
        pool->cap = ncap;
    }
    avail_unlink(c, pg);
    madvise(pg, size, MADV_DONTNEED);
    POISON(pg, size);
    pool->pages[pool->n++] = pg;
    s->held -= size;
}

/* ------------------------------------------------------------ large objects */

static void *big_alloc(rkv_slab *s, size_t size)
{
    if (size > SIZE_MAX - sizeof(struct rkv_slab_big))
        return NULL;
    size_t want = sizeof(struct rkv_slab_big) + size;
    struct rkv_slab_big *b = malloc(want);
    if (!b)
        return NULL;
    b->held = sys_size(b, want);
#if defined(__GLIBC__)
    b->cap = malloc_usable_size(b) - sizeof(*b);
#else
    b->cap = size;
#endif
    b->prev = NULL;
    b->next = s->big;
    if (s->big)
        s->big->prev = b;
    s->big = b;
    s->held += b->held;
    s->live += b->held;
    return b + 1;
}

static void big_free(rkv_slab *s, void *p)
{
    struct rkv_slab_big *b = (struct rkv_slab_big *)p - 1;
    if (b->prev)
        b->prev->next = b->next;
    else
        s->big = b->next;
    if (b->next)
        b->next->prev = b->prev;
    s->held -= b->held;
    s->live -= b->held;
    free(b);
}

/* ------------------------------------------------------------ objects */

void *rkv_slab_alloc(rkv_slab *s, size_t size)
{
    if (size > RKV_SLAB_MAX)
        return big_alloc(s, size);
    size_t ci = class_of(size), cs = class_bytes(ci);
    struct rkv_slab_class *c = &s->cls[ci];
    struct rkv_slab_page *pg = c->avail;
    if (RKV_UNLIKELY(!pg)) {
        pg = page_new(s, c);
        if (!pg)
            return NULL;
    }
    void *o = pg->free;
    if (o) {
        UNPOISON(o, cs);
        memcpy(&pg->free, o, sizeof(void *));
    } else {
        o = (char *)pg + pg->bump;
        UNPOISON(o, cs);
        pg->bump += (uint32_t)cs;
    }
    if (RKV_UNLIKELY(pg == c->spare))
        c->spare = NULL;
    pg->used++;
    s->live += cs;
    if (!pg->free && pg->bump + cs > PAGE_HDR + (size_t)c->cap * cs)
        avail_unlink(c, pg);
    return o;
}

void rkv_slab_free(rkv_slab *s, void *p, size_t size)
{
    if (!p)
        return;
    if (size > RKV_SLAB_MAX) {
        big_free(s, p);
        return;
    }
    size_t ci = class_of(size);
    struct rkv_slab_class *c = &s->cls[ci];
    struct rkv_slab_page *pg =
        (void *)((uintptr_t)p & ~(((uintptr_t)1 << c->shift) - 1));
    memcpy(p, &pg->free, sizeof(void *));
    pg->free = p;
    s->live -= class_bytes(ci);
    POISON(p, class_bytes(ci));
    if (!pg->listed)
        avail_push(c, pg);
    if (--pg->used == 0) {
        if (!c->spare)
            c->spare = pg;
        else
            page_release(s, c, pg);
    }
}

bool rkv_slab_fits(const rkv_slab *s, const void *p, size_t oldsize,
                   size_t newsize)
{
    (void)s;
    if (oldsize <= RKV_SLAB_MAX || newsize <= RKV_SLAB_MAX)
        return oldsize <= RKV_SLAB_MAX && newsize <= RKV_SLAB_MAX &&
               class_of(oldsize) == class_of(newsize);
    const struct rkv_slab_big *b = (const struct rkv_slab_big *)p - 1;
    return newsize <= b->cap && newsize >= b->cap / 2;
}

void rkv_slab_release_all(rkv_slab *s)
{
    struct rkv_slab_arena *a = s->arenas;
    while (a) {
        struct rkv_slab_arena *next = a->next;
        UNPOISON(a->base, a->len);
        munmap(a->base, a->len);
        free(a);
        a = next;
    }
    struct rkv_slab_big *b = s->big;
    while (b) {
        struct rkv_slab_big *next = b->next;
        free(b);
        b = next;
    }
    for (size_t i = 0; i < RKV_SLAB_NSHIFT; i++)
        free(s->pool[i].pages);
    /* The owner's sys allocations outlive this. */
    size_t sys = s->sys;
    rkv_slab_init(s);
    s->sys = sys;
}
