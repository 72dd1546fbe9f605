/*
 * commands_persist.c - SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE over the
 * library's snapshots. With appendonly, a snapshot is what both Redis
 * commands amount to here: it is written atomically and the append-only
 * file is trimmed to what follows it. The background forms run
 * replkv_snapshot() on libuv's thread pool so the loop never waits on disk.
 */
#include <time.h>

#include "cmd.h"

static void reply_snapshot_error(cache_client *c, int rc)
{
    if (rc == REPLKV_ESTATE)
        c_err(c, "ERR persistence is off: set dir and appendonly yes");
    else
        c_libfail(c, rc);
}

void cmd_save(cache_client *c)
{
    cache_server *srv = c->srv;
    if (srv->bgsave_running) {
        c_err(c, "ERR Background save already in progress");
        return;
    }
    /* Like Redis's SAVE, this blocks the server until the disk is done. */
    int rc = replkv_snapshot(srv->kv);
    if (rc != 0) {
        reply_snapshot_error(c, rc);
        return;
    }
    srv->lastsave = (int64_t)time(NULL);
    c_ok(c);
}

static void bgsave_run(uv_work_t *w)
{
    cache_server *srv = w->data;
    srv->bgsave_rc = replkv_snapshot(srv->kv);
}

static void bgsave_done(uv_work_t *w, int status)
{
    cache_server *srv = w->data;
    srv->bgsave_running = false;
    if (status == 0 && srv->bgsave_rc == 0) {
        srv->lastsave = (int64_t)time(NULL);
        log_msg(srv->log, LOG_NOTICE, "Background saving terminated with success");
    } else {
        log_msg(srv->log, LOG_WARNING, "Background saving error: %s",
                replkv_strerror(status != 0 ? REPLKV_EIO : srv->bgsave_rc));
    }
}

/* Starts a background snapshot; false (with the error replied) if one is
 * running or persistence is off. */
static bool start_background(cache_client *c)
{
    cache_server *srv = c->srv;
    if (srv->bgsave_running) {
        c_err(c, "ERR Background save already in progress");
        return false;
    }
    char v[8];
    if (replkv_config_get(srv->kv, "appendonly", v, sizeof v, NULL) != 0 ||
        v[0] != 'y') {
        reply_snapshot_error(c, REPLKV_ESTATE);
        return false;
    }
    srv->bgsave_work.data = srv;
    if (uv_queue_work(srv->loop, &srv->bgsave_work, bgsave_run,
                      bgsave_done) != 0) {
        c_err(c, "ERR could not start a background save");
        return false;
    }
    srv->bgsave_running = true;
    return true;
}

void cmd_bgsave(cache_client *c)
{
    if (start_background(c))
        reply_simple(c->reply, "Background saving started");
}

void cmd_bgrewriteaof(cache_client *c)
{
    if (start_background(c))
        reply_simple(c->reply,
                     "Background append only file rewriting started");
}

void cmd_lastsave(cache_client *c)
{
    cache_server *srv = c->srv;
    int64_t t = srv->lastsave ? srv->lastsave
                              : (int64_t)(srv->start_wall_ms / 1000);
    reply_int(c->reply, (long long)t);
}
