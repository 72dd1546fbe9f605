/*
 * error.c - error codes, their names and messages, the per-thread detail of
 * the last failure, and the runtime version. The error list lives once, in
 * REPLKV_ERRNO_MAP (replkv.h); everything here is generated from it.
 */
#include "internal.h"

#include <stdio.h>

/* Per-thread, not per-handle: a handle's message would race between the
 * threads that share the handle. last_error points at last_error_buf for a
 * formatted detail, or at a static string for the cheap answers (a missing
 * key) so that the common path costs one store. */
static _Thread_local char last_error_buf[512];
static _Thread_local const char *last_error = "";

unsigned replkv_version_number(void)
{
    return REPLKV_VERSION_NUMBER;
}

const char *replkv_version_string(void)
{
    return REPLKV_VERSION_STRING;
}

const char *replkv_strerror(int err)
{
    switch (err) {
    case REPLKV_OK:
        return "success";
#define ERR_MSG(name, value, msg)                                              \
    case value:                                                                \
        return msg;
        REPLKV_ERRNO_MAP(ERR_MSG)
#undef ERR_MSG
    default:
        return "unknown error";
    }
}

const char *replkv_err_name(int err)
{
    switch (err) {
    case REPLKV_OK:
        return "REPLKV_OK";
#define ERR_NAME(name, value, msg)                                             \
    case value:                                                                \
        return "REPLKV_" #name;
        REPLKV_ERRNO_MAP(ERR_NAME)
#undef ERR_NAME
    default:
        return "REPLKV_UNKNOWN";
    }
}

const char *replkv_last_error(void)
{
    return last_error;
}

int rkv_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error_buf, sizeof last_error_buf, fmt, ap);
    va_end(ap);
    last_error = last_error_buf;
    return err;
}

int rkv_fail_static(int err, const char *detail)
{
    last_error = detail;
    return err;
}

void rkv_clear_error(void)
{
    last_error = "";
}
