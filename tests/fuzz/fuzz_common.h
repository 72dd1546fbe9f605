/*
 * fuzz_common.h - what the file-loading fuzz targets share: one temporary
 * directory per process (on tmpfs when there is one, so the loaders' fsyncs
 * cost nothing), created on first use and removed at exit, and a helper
 * that writes the input there under a fixed name; and the checksum
 * fix-ups.
 *
 * Every file and frame carries XXH3 checksums, which a mutation almost
 * always breaks, so raw inputs rarely get past the first check. Each target
 * therefore also runs a copy of its input whose checksums were recomputed
 * (docs/PROTOCOL.md sections 1 and 9) along the lengths the bytes declare:
 * the mutations then reach the decoders behind the checksums.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

static char fuzz_dir_path[256];

static void fuzz_dir_remove(void)
{
    DIR *d = opendir(fuzz_dir_path);
    if (d != NULL) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", fuzz_dir_path, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(fuzz_dir_path);
}

/* The per-process directory, created once. Aborts if it cannot be made:
 * a fuzz run without it would test nothing. */
static const char *fuzz_dir(void)
{
    if (fuzz_dir_path[0] != '\0')
        return fuzz_dir_path;
    const char *base = getenv("FUZZ_TMPDIR");
    struct stat st;
    if (base == NULL)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm"
                                                                  : "/tmp";
    snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/replkv-fuzz-XXXXXX",
             base);
    if (mkdtemp(fuzz_dir_path) == NULL) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_dir_remove);
    return fuzz_dir_path;
}

/* Writes data as dir/name, replacing what was there. */
static void fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fuzz_dir(), name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("fuzz: open");
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            perror("fuzz: write");
            abort();
        }
        off += (size_t)w;
    }
    close(fd);
}

static uint64_t fuzz_file_size(const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", fuzz_dir(), name);
    if (stat(p, &st) != 0)
        return UINT64_MAX;
    return (uint64_t)st.st_size;
}

static inline uint32_t fuzz_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline void fuzz_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Fixes the checksum of every whole frame in p[0 .. len), following the
 * declared lengths; stops at the first frame that does not fit. Returns
 * the end of the last whole frame. */
static inline size_t fuzz_fix_frames(uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= 12) {
        uint32_t n = fuzz_be32(p + off);
        if (n > len - off - 12)
            break;
        fuzz_put_be64(p + off + 4, XXH3_64bits(p + off + 12, n));
        off += 12 + (size_t)n;
    }
    return off;
}

/* appendonly.rkv: the header checksum, then every frame's. */
static inline void fuzz_fix_aof(uint8_t *p, size_t len)
{
    if (len < 72)
        return;
    fuzz_put_be64(p + 64, XXH3_64bits(p, 64));
    fuzz_fix_frames(p + 72, len - 72);
}

/* snapshot.rkv: the header checksum, the frames between header and
 * trailer, the trailer's body checksum and file checksum. */
static inline void fuzz_fix_snapshot(uint8_t *p, size_t len)
{
    if (len < 136)
        return;
    fuzz_put_be64(p + 128, XXH3_64bits(p, 128));
    if (len < 136 + 32)
        return;
    size_t body = len - 136 - 32;
    fuzz_fix_frames(p + 136, body);
    uint8_t *t = p + len - 32;
    fuzz_put_be64(t + 16, XXH3_64bits(p + 136, body));
    uint8_t both[136 + 24];
    memcpy(both, p, 136);
    memcpy(both + 136, t, 24);
    fuzz_put_be64(t + 24, XXH3_64bits(both, sizeof both));
}

/* node.state: the body length and the checksum (seeded with the hash of
 * the header's first 16 bytes). */
static inline void fuzz_fix_state(uint8_t *p, size_t len)
{
    if (len < 24 || len - 24 > UINT32_MAX)
        return;
    uint32_t blen = (uint32_t)(len - 24);
    p[12] = (uint8_t)(blen >> 24);
    p[13] = (uint8_t)(blen >> 16);
    p[14] = (uint8_t)(blen >> 8);
    p[15] = (uint8_t)blen;
    fuzz_put_be64(p + 16,
                  XXH3_64bits_withSeed(p + 24, blen, XXH3_64bits(p, 16)));
}

/* An exact-size heap copy (so ASan sees reads past the end); NULL when
 * out of memory. */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
    uint8_t *c = malloc(size ? size : 1);
    if (c != NULL && size > 0)
        memcpy(c, data, size);
    return c;
}

#endif /* FUZZ_COMMON_H */
