/*
 * persist_aof_int.h - what persist_aof.c (writing) and persist_aof_load.c
 * (loading) share: the header of dir/appendonly.rkv (docs/PROTOCOL.md
 * section 9.1). Not for other modules.
 */
#ifndef RKV_PERSIST_AOF_INT_H
#define RKV_PERSIST_AOF_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "persist_aof.h"

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
