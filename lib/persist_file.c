/*
 * persist_file.c - the file-operation layer of persistence (see
 * persist_file.h): POSIX calls with EINTR handling, errno turned into
 * REPLKV_EIO details that name the file, and the per-instance fault hook.
 */
#include "persist_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

const char *rkv_fs_op_name(rkv_fs_op op)
{
    static const char *const names[RKV_FS_OP_COUNT] = {
        "open",      "read",   "write",     "fsync",
        "ftruncate", "rename", "dir fsync", "unlink", "fallocate"};
    return (unsigned)op < RKV_FS_OP_COUNT ? names[op] : "?";
}

/* The injected errno for op on path, or 0 to run it. */
static int fault(const rkv_fs *fs, rkv_fs_op op, const char *path)
{
    if (fs == NULL || fs->hook == NULL)
        return 0;
    return fs->hook(fs->ud, op, path);
}

static int io_fail(rkv_fs_op op, const char *path, int e)
{
    char msg[128];
    /* GNU strerror_r (_GNU_SOURCE): thread-safe, returns the text. */
    const char *s = strerror_r(e, msg, sizeof msg);
    return rkv_fail(REPLKV_EIO, "%s %s: %s (errno %d)", rkv_fs_op_name(op),
                    path, s, e);
}

int rkv_pf_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return rkv_fail(REPLKV_EINVAL, "path %s/%s is too long", dir, name);
    return 0;
}

int rkv_pf_check_dir(const rkv_fs *fs, const char *dir)
{
    struct stat st;
    if (dir == NULL || dir[0] == '\0')
        return rkv_fail(REPLKV_EINVAL, "persistence needs a dir");
    int e = fault(fs, RKV_FS_OPEN, dir);
    if (e == 0 && stat(dir, &st) != 0)
        e = errno;
    char msg[128];
    if (e != 0)
        return rkv_fail(REPLKV_EIO, "dir %s: %s (errno %d)", dir,
                        strerror_r(e, msg, sizeof msg), e);
    if (!S_ISDIR(st.st_mode))
        return rkv_fail(REPLKV_EIO, "dir %s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0) {
        e = errno;
        return rkv_fail(REPLKV_EIO, "dir %s: not writable: %s (errno %d)", dir,
                        strerror_r(e, msg, sizeof msg), e);
    }
    return 0;
}

int rkv_pf_open(const rkv_fs *fs, const char *path, int flags, int *fd)
{
    *fd = -1;
    int e = fault(fs, RKV_FS_OPEN, path);
    if (e == 0) {
        int f;
        do
            f = open(path, flags | O_CLOEXEC, 0644);
        while (f < 0 && errno == EINTR);
        if (f >= 0) {
            *fd = f;
            return 0;
        }
        e = errno;
    }
    if (e == ENOENT && !(flags & O_CREAT))
        return rkv_fail(REPLKV_ENOTFOUND, "%s: no such file", path);
    return io_fail(RKV_FS_OPEN, path, e);
}

void rkv_pf_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

int rkv_pf_pwrite(const rkv_fs *fs, int fd, const char *path, const void *p,
                  size_t n, uint64_t off)
{
    int e = fault(fs, RKV_FS_WRITE, path);
    if (e != 0)
        return io_fail(RKV_FS_WRITE, path, e);
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_fail(RKV_FS_WRITE, path, errno);
        }
        if (w == 0)
            return io_fail(RKV_FS_WRITE, path, ENOSPC);
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int rkv_pf_pread(const rkv_fs *fs, int fd, const char *path, void *p, size_t n,
                 uint64_t off)
{
    int e = fault(fs, RKV_FS_READ, path);
    if (e != 0)
        return io_fail(RKV_FS_READ, path, e);
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return io_fail(RKV_FS_READ, path, errno);
        }
        if (r == 0)
            return rkv_fail(REPLKV_EIO,
                            "read %s: file ends at byte %" PRIu64
                            ", %zu bytes short",
                            path, off, n);
        b += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int rkv_pf_size(int fd, const char *path, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return io_fail(RKV_FS_READ, path, errno);
    *size = (uint64_t)st.st_size;
    return 0;
}

int rkv_pf_fsync(const rkv_fs *fs, int fd, const char *path)
{
    int e = fault(fs, RKV_FS_FSYNC, path);
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    return e == 0 ? 0 : io_fail(RKV_FS_FSYNC, path, e);
}

int rkv_pf_datasync(const rkv_fs *fs, int fd, const char *path)
{
    int e = fault(fs, RKV_FS_FSYNC, path);
    if (e == 0 && fdatasync(fd) != 0)
        e = errno;
    return e == 0 ? 0 : io_fail(RKV_FS_FSYNC, path, e);
}

int rkv_pf_reserve(const rkv_fs *fs, int fd, const char *path, uint64_t off,
                   uint64_t len)
{
    int e = fault(fs, RKV_FS_RESERVE, path);
    if (e == 0) /* returns the error number; retried on EINTR */
        do
            e = posix_fallocate(fd, (off_t)off, (off_t)len);
        while (e == EINTR);
    return e == 0 ? 0 : io_fail(RKV_FS_RESERVE, path, e);
}

int rkv_pf_map_shared(int fd, const char *path, uint64_t off, size_t len,
                      uint8_t **p)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   (off_t)off);
    if (m == MAP_FAILED) {
        *p = NULL;
        return io_fail(RKV_FS_OPEN, path, errno);
    }
    *p = m;
    return 0;
}

int rkv_pf_truncate(const rkv_fs *fs, int fd, const char *path, uint64_t len)
{
    int e = fault(fs, RKV_FS_TRUNCATE, path);
    if (e == 0) {
        int r;
        do
            r = ftruncate(fd, (off_t)len);
        while (r != 0 && errno == EINTR);
        if (r != 0)
            e = errno;
    }
    return e == 0 ? 0 : io_fail(RKV_FS_TRUNCATE, path, e);
}

int rkv_pf_rename(const rkv_fs *fs, const char *from, const char *to)
{
    int e = fault(fs, RKV_FS_RENAME, to);
    if (e == 0 && rename(from, to) != 0)
        e = errno;
    if (e == 0)
        return 0;
    char msg[128];
    return rkv_fail(REPLKV_EIO, "rename %s to %s: %s (errno %d)", from, to,
                    strerror_r(e, msg, sizeof msg), e);
}

int rkv_pf_unlink(const rkv_fs *fs, const char *path)
{
    int e = fault(fs, RKV_FS_UNLINK, path);
    if (e == 0 && unlink(path) != 0 && errno != ENOENT)
        e = errno;
    return e == 0 ? 0 : io_fail(RKV_FS_UNLINK, path, e);
}

int rkv_pf_dirsync(const rkv_fs *fs, const char *dir)
{
    int e = fault(fs, RKV_FS_DIRSYNC, dir);
    if (e == 0) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            e = errno;
        else {
            if (fsync(fd) != 0)
                e = errno;
            close(fd);
        }
    }
    return e == 0 ? 0 : io_fail(RKV_FS_DIRSYNC, dir, e);
}

int rkv_pf_map(const rkv_fs *fs, int fd, const char *path, uint64_t size,
               const uint8_t **p)
{
    *p = NULL;
    int e = fault(fs, RKV_FS_READ, path);
    if (e != 0)
        return io_fail(RKV_FS_READ, path, e);
    if (size == 0)
        return 0;
    if (size > SIZE_MAX)
        return rkv_fail(REPLKV_EIO, "map %s: %" PRIu64 " bytes do not fit",
                        path, size);
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return io_fail(RKV_FS_READ, path, errno);
    madvise(m, (size_t)size, MADV_SEQUENTIAL);
    *p = m;
    return 0;
}

void rkv_pf_unmap(const uint8_t *p, uint64_t size)
{
    if (p != NULL && size > 0)
        munmap((void *)(uintptr_t)p, (size_t)size);
}

int rkv_pf_write_atomic(const rkv_fs *fs, const char *dir, const char *name,
                        const void *data, size_t len)
{
    char path[RKV_PATH_MAX], tmp[RKV_PATH_MAX + 8];
    int rc = rkv_pf_path(path, sizeof path, dir, name);
    if (rc != 0)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd;
    rc = rkv_pf_open(fs, tmp, O_WRONLY | O_CREAT | O_TRUNC, &fd);
    if (rc != 0)
        return rc;
    rc = rkv_pf_pwrite(fs, fd, tmp, data, len, 0);
    if (rc == 0)
        rc = rkv_pf_fsync(fs, fd, tmp);
    rkv_pf_close(fd);
    if (rc == 0)
        rc = rkv_pf_rename(fs, tmp, path);
    if (rc != 0) {
        /* Keep the first failure's detail: unlink quietly. */
        unlink(tmp);
        return rc;
    }
    return rkv_pf_dirsync(fs, dir);
}

int rkv_pf_read_all(const rkv_fs *fs, const char *path, size_t max,
                    uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd;
    int rc = rkv_pf_open(fs, path, O_RDONLY, &fd);
    if (rc != 0)
        return rc;
    uint64_t size;
    rc = rkv_pf_size(fd, path, &size);
    if (rc == 0 && size > max)
        rc = rkv_fail(REPLKV_ECORRUPT,
                      "%s: %" PRIu64 " bytes, more than the %zu such a file "
                      "can have",
                      path, size, max);
    uint8_t *p = NULL;
    if (rc == 0) {
        p = malloc(size > 0 ? (size_t)size : 1);
        if (p == NULL)
            rc = rkv_fail(REPLKV_ENOMEM, "%s: %" PRIu64 " bytes", path, size);
    }
    if (rc == 0)
        rc = rkv_pf_pread(fs, fd, path, p, (size_t)size, 0);
    rkv_pf_close(fd);
    if (rc != 0) {
        free(p);
        return rc;
    }
    *data = p;
    *len = (size_t)size;
    return 0;
}

int rkv_pf_check_header(const char *path, const uint8_t *h, uint64_t size,
                        const uint8_t magic[8], const char *what,
                        uint32_t max_version, size_t hdr_len, size_t sum_off)
{
    if (size < 8 || memcmp(h, magic, 8) != 0)
        return rkv_fail(REPLKV_ECORRUPT, "%s: not a libreplkv %s (bad magic)",
                        path, what);
    if (size < 12)
        return rkv_fail(REPLKV_ECORRUPT, "%s: truncated at byte %" PRIu64, path,
                        size);
    uint32_t version = rkv_get_be32(h + 8);
    if (version > max_version)
        return rkv_fail(REPLKV_EVERSION,
                        "%s: %s format version %" PRIu32
                        " was written by a newer libreplkv; this one reads "
                        "up to version %" PRIu32,
                        path, what, version, max_version);
    if (version == 0)
        return rkv_fail(REPLKV_ECORRUPT, "%s: format version 0", path);
    if (size < hdr_len)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: truncated at byte %" PRIu64
                        ", inside the %zu-byte header",
                        path, size, hdr_len);
    if (XXH3_64bits(h, sum_off) != rkv_get_be64(h + sum_off))
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: header checksum mismatch (bytes 0..%zu)", path,
                        hdr_len - 1);
    return 0;
}
