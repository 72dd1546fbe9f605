/*
 * persist_file.h - every file operation of the persistence modules
 * (persist_aof, persist_snapshot, persist_state) goes through here, so that
 * each failure becomes REPLKV_EIO with a detail naming the operation, the
 * path and errno, and so that tests can inject faults.
 *
 * Faults are per instance, never global: the caller passes an rkv_fs whose
 * hook is asked before each operation and may fail it with an errno value
 * (ENOSPC for a full disk, EIO for a failed fsync, EACCES or EROFS for a
 * read-only directory). A NULL rkv_fs, or one without a hook, runs every
 * operation for real. The hook is also how tests count operations (fsyncs
 * for group commit).
 *
 * Thread-safety: the functions themselves are stateless; the hook may be
 * called from several threads at once and must be thread-safe itself.
 */
#ifndef RKV_PERSIST_FILE_H
#define RKV_PERSIST_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef enum rkv_fs_op {
    RKV_FS_OPEN,     /* open or create a file */
    RKV_FS_READ,     /* read or map a file */
    RKV_FS_WRITE,    /* pwrite (one call per write_all, not per chunk) */
    RKV_FS_FSYNC,    /* fsync of a file */
    RKV_FS_TRUNCATE, /* ftruncate */
    RKV_FS_RENAME,   /* rename (path is the destination) */
    RKV_FS_DIRSYNC,  /* open + fsync of a directory */
    RKV_FS_UNLINK,   /* unlink */
    RKV_FS_RESERVE,  /* posix_fallocate: space reserved ahead of writes */
    RKV_FS_OP_COUNT
} rkv_fs_op;

/* Asked before op on path runs: returns 0 to let it run, or an errno value
 * (> 0) to make it fail with that errno without running. */
typedef int (*rkv_fs_hook_fn)(void *ud, rkv_fs_op op, const char *path);

typedef struct rkv_fs {
    rkv_fs_hook_fn hook; /* NULL: no faults */
    void *ud;
} rkv_fs;

/* "open", "fsync", ... for details and logs. A static string. */
const char *rkv_fs_op_name(rkv_fs_op op);

/* Joins dir and name into out (cap bytes, NUL-terminated). Returns 0;
 * REPLKV_EINVAL if it does not fit. */
int rkv_pf_path(char *out, size_t cap, const char *dir, const char *name);

/* Checks that dir exists, is a directory and is writable. Returns 0;
 * REPLKV_EIO naming the path and the reason. */
int rkv_pf_check_dir(const rkv_fs *fs, const char *dir);

/* open(path, flags | O_CLOEXEC, 0644). Returns 0 with *fd set; REPLKV_EIO.
 * REPLKV_ENOTFOUND when the file does not exist and flags has no O_CREAT. */
int rkv_pf_open(const rkv_fs *fs, const char *path, int flags, int *fd);

/* close(fd); errors are ignored (fsync reports what matters). -1 is a no-op. */
void rkv_pf_close(int fd);

/* Writes all n bytes at file offset off (pwrite, retried on EINTR and short
 * writes). Returns 0; REPLKV_EIO. After a failure any part of the range may
 * or may not have been written. */
int rkv_pf_pwrite(const rkv_fs *fs, int fd, const char *path, const void *p,
                  size_t n, uint64_t off);

/* Reads exactly n bytes at off. Returns 0; REPLKV_EIO (also when the file
 * ends first). */
int rkv_pf_pread(const rkv_fs *fs, int fd, const char *path, void *p, size_t n,
                 uint64_t off);

/* The file's size. Returns 0; REPLKV_EIO. */
int rkv_pf_size(int fd, const char *path, uint64_t *size);

/* fsync(fd). Returns 0; REPLKV_EIO. */
int rkv_pf_fsync(const rkv_fs *fs, int fd, const char *path);

/* fdatasync(fd): the data and what is needed to read it back, not the
 * timestamps (cheaper than fsync when the space was reserved before).
 * Fails through the hook as RKV_FS_FSYNC. Returns 0; REPLKV_EIO. */
int rkv_pf_datasync(const rkv_fs *fs, int fd, const char *path);

/* posix_fallocate(fd, off, len): allocates the blocks (a file shorter than
 * off + len grows to it, reading as zeros), so that later writes into the
 * range, through write(2) or a shared mapping, cannot fail for want of
 * space. Returns 0; REPLKV_EIO (ENOSPC: the disk is full). */
int rkv_pf_reserve(const rkv_fs *fs, int fd, const char *path, uint64_t off,
                   uint64_t len);

/* Maps file bytes [off, off + len) of fd read-write and shared (off a
 * multiple of the page size): stores into it go to the page cache, which
 * outlives the process. The range may pass the end of the file, but
 * touching a page past the end raises SIGBUS: the caller only touches
 * space it reserved. Returns 0; REPLKV_EIO. Unmap with rkv_pf_unmap(). */
int rkv_pf_map_shared(int fd, const char *path, uint64_t off, size_t len,
                      uint8_t **p);

/* ftruncate(fd, len). Returns 0; REPLKV_EIO. */
int rkv_pf_truncate(const rkv_fs *fs, int fd, const char *path, uint64_t len);

/* rename(from, to). Returns 0; REPLKV_EIO. */
int rkv_pf_rename(const rkv_fs *fs, const char *from, const char *to);

/* unlink(path); a missing file is success. Returns 0; REPLKV_EIO. */
int rkv_pf_unlink(const rkv_fs *fs, const char *path);

/* Makes renames and creations in dir durable (open dir, fsync, close).
 * Returns 0; REPLKV_EIO. */
int rkv_pf_dirsync(const rkv_fs *fs, const char *dir);

/* Maps the first size bytes of fd read-only (size 0 maps nothing and sets
 * *p to NULL). Returns 0; REPLKV_EIO. Unmap with rkv_pf_unmap(). */
int rkv_pf_map(const rkv_fs *fs, int fd, const char *path, uint64_t size,
               const uint8_t **p);
void rkv_pf_unmap(const uint8_t *p, uint64_t size);

/* Replaces dir/name with data[0 .. len) atomically: writes dir/name.tmp,
 * fsyncs it, renames it over dir/name and fsyncs dir. After a crash the
 * file is either the old or the new one, whole. On failure the temporary
 * file is removed and dir/name is untouched. Returns 0; REPLKV_EIO;
 * REPLKV_EINVAL (path too long). */
int rkv_pf_write_atomic(const rkv_fs *fs, const char *dir, const char *name,
                        const void *data, size_t len);

/* Reads all of dir/name into a malloc'd buffer (*data, *len; free() it),
 * refusing a file over max bytes. Returns 0; REPLKV_ENOTFOUND (no such
 * file); REPLKV_ECORRUPT (over max, naming the file); REPLKV_EIO;
 * REPLKV_ENOMEM. */
int rkv_pf_read_all(const rkv_fs *fs, const char *path, size_t max,
                    uint8_t **data, size_t *len);

/* Big-endian helpers for the file headers. */
static inline void rkv_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void rkv_put_be64(uint8_t *p, uint64_t v)
{
    rkv_put_be32(p, (uint32_t)(v >> 32));
    rkv_put_be32(p + 4, (uint32_t)v);
}

static inline uint32_t rkv_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t rkv_get_be64(const uint8_t *p)
{
    return (uint64_t)rkv_get_be32(p) << 32 | rkv_get_be32(p + 4);
}

/* Longest path the persistence modules build (dir + "/" + name). */
#define RKV_PATH_MAX 4096

/* The checks every file header starts with: 8-byte magic, a u32 format
 * version (one newer than max_version is REPLKV_EVERSION, checked before
 * the checksum so that a newer file is never reported as damaged), the
 * whole header present (hdr_len bytes of size), and the XXH3 of its first
 * sum_off bytes stored big-endian at sum_off. what names the file kind in
 * messages ("snapshot"). Returns 0, REPLKV_ECORRUPT or REPLKV_EVERSION with
 * a detail naming path. */
int rkv_pf_check_header(const char *path, const uint8_t *h, uint64_t size,
                        const uint8_t magic[8], const char *what,
                        uint32_t max_version, size_t hdr_len, size_t sum_off);

#endif /* RKV_PERSIST_FILE_H */
