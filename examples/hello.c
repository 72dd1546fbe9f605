/*
 * hello.c - the smallest libreplkv program: open a standalone node, set a
 * key, read it back, close. Build against an installed library with
 *     cc hello.c $(pkg-config --cflags --libs replkv)
 */
#include <replkv.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    replkv_t *kv;
    int rc = replkv_open(NULL, &kv);
    if (rc != 0) {
        fprintf(stderr, "open: %s (%s)\n", replkv_strerror(rc),
                replkv_last_error());
        return 1;
    }

    const char *key = "greeting", *val = "hello, world";
    rc = replkv_set(kv, key, strlen(key), val, strlen(val), 0, 0);
    if (rc < 0) {
        fprintf(stderr, "set: %s\n", replkv_strerror(rc));
        replkv_close(kv);
        return 1;
    }

    char buf[64];
    size_t len;
    rc = replkv_get(kv, key, strlen(key), buf, sizeof buf, &len);
    if (rc != 0) {
        fprintf(stderr, "get: %s\n", replkv_strerror(rc));
        replkv_close(kv);
        return 1;
    }
    printf("%s = %.*s (libreplkv %s)\n", key, (int)len, buf,
           replkv_version_string());
    replkv_close(kv);
    return 0;
}
