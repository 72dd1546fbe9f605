/*
 * persist_aof_int.h - what persist_aof.c (writing), persist_aof_space.c
 * (the reserved space and its mapping) and persist_aof_load.c (loading)
 * share: the writer's state and the header of dir/appendonly.rkv
 * (docs/PROTOCOL.md section 9.1). Not for other modules.
 */
#ifndef RKV_PERSIST_AOF_INT_H
#define RKV_PERSIST_AOF_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <pthread.h>
#include <stdatomic.h>

#include "buf.h"
#include "persist_aof.h"

/* The file is mapped through one window of this many bytes (address space
 * only; moved forward as the file grows). */
#define RKV_AOF_WIN ((size_t)256 << 20)
/* The reserver prefaults the window writable this far ahead of the
 * appends, so that the page faults (and the file system's page_mkwrite)
 * happen on its thread, not the writer's. */
#define RKV_AOF_PREFAULT ((uint64_t)1 << 20)
/* Space is reserved ahead in chunks of a quarter of the file, within these
 * bounds, so an idle node holds little and a busy one asks rarely. */
#define RKV_AOF_CHUNK_MIN ((uint64_t)4 << 20)
#define RKV_AOF_CHUNK_MAX ((uint64_t)64 << 20)

/* The writer (persist_aof.c explains the fields' rules). */
struct rkv_aof {
    rkv_fs fs;
    rkv_fsync_policy policy;
    char dir[RKV_PATH_MAX];
    char path[RKV_PATH_MAX];
    char tmp[RKV_PATH_MAX];

    pthread_mutex_t mu;
    pthread_cond_t cv; /* a flush or a reservation ended */
    /* Under mu: */
    int fd;
    uint64_t gen; /* bumped when a rewrite switches files */
    char replid[RKV_ID_LEN + 1];
    int64_t start; /* offset of the first frame in the file */
    rkv_buf keep;  /* [buf_off, buf_off + keep.len): the flusher's */
    rkv_buf fresh; /* from there to end: appended since the last flush */
    int64_t buf_off;
    int64_t written; /* in the file (page cache) up to here */
    int64_t durable; /* fsynced up to here */
    int64_t end;     /* appended up to here */
    _Atomic int64_t written_pub; /* written, for waiters' lock-free check */
    bool flushing;     /* a thread owns the fd's writes and syncs */
    bool need_dirsync; /* a rewrite's rename is not yet durable */
    bool rewriting;    /* one rewrite at a time */
    uint64_t fail_seq; /* bumped on every failed flush */
    int last_error;
    char errmsg[320];
    uint64_t base_size;
    uint64_t writes, fsyncs, errors;
    /* Space (persist_aof_space.c), under mu: file positions below
     * `reserved` are allocated; the window maps [map_off, map_off +
     * RKV_AOF_WIN); appends are copied into it below `room`. */
    uint64_t reserved;
    uint8_t *map;
    uint64_t map_off;
    uint64_t room;
    uint64_t low_water;  /* ask for more when less than this is left */
    uint64_t faulted;    /* the window is prefaulted writable up to here */
    bool reserving;      /* a thread is in posix_fallocate */
    bool reserve_asked;  /* the reserver was woken */
    bool stopping;       /* close: the reserver exits */
    int reserve_error;   /* REPLKV_EIO while reserving fails */
    char reserve_msg[320];
    uint64_t reserves;
    pthread_cond_t rcv; /* wakes the reserver */
    pthread_t reserver;
    bool reserver_started;
};

/* File position of replication offset off. mu held. */
static inline uint64_t rkv_aof_fpos(const rkv_aof *a, int64_t off)
{
    return RKV_AOF_HDR + (uint64_t)(off - a->start);
}

/* Reserves space so that file positions up to need (and a chunk more) are
 * allocated, and the window covers them (moving it forward to the page of
 * `written` when needed). mu held; it is released around the fallocate
 * and held again on return. Only one reservation runs at a time; a caller
 * that finds one running waits for it. Returns 0; REPLKV_EIO (the disk is
 * full: also recorded in reserve_error until a reservation succeeds). */
int rkv_aof_reserve_locked(rkv_aof *a, uint64_t need);

/* Maps the window of the current fd for `written` if the reserved space
 * passes it. mu held. Returns 0; REPLKV_EIO. */
int rkv_aof_remap_locked(rkv_aof *a);

/* Starts the reserver thread (which keeps a chunk ahead of the appends
 * so that writers never wait for the disk) after an initial reservation.
 * Returns 0; REPLKV_EIO; REPLKV_ENOMEM. */
int rkv_aof_space_start(rkv_aof *a);

/* Stops the reserver and unmaps the window (mu not held). */
void rkv_aof_space_stop(rkv_aof *a);

/* True if s starts with RKV_ID_LEN lowercase hex characters. */
bool rkv_aof_valid_replid(const char *s);

/* Fills the RKV_AOF_HDR bytes of h for (replid, start). */
void rkv_aof_put_header(uint8_t *h, const char *replid, int64_t start);

/* Checks the header h of path, of which size bytes exist (magic, version,
 * checksum, replid, start). Returns 0 with replid (NUL-terminated) and
 * *start; REPLKV_ECORRUPT; REPLKV_EVERSION. */
int rkv_aof_check_header(const char *path, const uint8_t *h, uint64_t size,
                         char *replid, int64_t *start);

/* Reads and checks the header of path; *size is the file's size. Returns 0;
 * REPLKV_ENOTFOUND; REPLKV_ECORRUPT; REPLKV_EVERSION; REPLKV_EIO. */
int rkv_aof_read_header(const rkv_fs *fs, const char *path, char *replid,
                        int64_t *start, uint64_t *size);

#endif /* RKV_PERSIST_AOF_INT_H */
