/*
 * client.c - a client's I/O: reading requests, running them, batching the
 * replies into one write, and back-pressure.
 *
 * Read path: a client without a partial request reads into the server's
 * shared buffer; every complete request in it is executed and its reply
 * appended to the shared batch buffer; one uv_try_write sends the batch.
 * Only a leftover partial request, or output the socket would not take,
 * is copied into buffers of the client's own. A client with 1 MB of unsent
 * output is not read from (nor are its buffered requests run) until the
 * output drains, so a client that never reads cannot grow the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "replication.h"
#include "server.h"
#include "util.h"

#define BATCH_KEEP (1024 * 1024) /* the batch buffer shrinks back past this */

static void process_input(cache_client *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ------------------------------------------------------------ output */

size_t client_pending_output(const cache_client *c)
{
    size_t n = c->obuf.len + c->wbuf.len;
    if (c->reply == &c->srv->batch)
        n += c->srv->batch.len;
    return n;
}

void client_on_close(uv_handle_t *h)
{
    cache_client *c = h->data;
    resp_free(&c->parser);
    free(c->qbuf);
    rbuf_free(&c->obuf);
    rbuf_free(&c->wbuf);
    free(c);
}

void client_close(cache_client *c, bool graceful)
{
    if (c->flags & CF_CLOSING)
        return;
    if (graceful && (c->flags & CF_WRITING || c->obuf.len > 0)) {
        /* Closed by on_write once the output is out. */
        c->flags |= CF_CLOSE_AFTER_REPLY;
        return;
    }
    cache_server *srv = c->srv;
    if (c->flags & CF_BLOCKED)
        repl_block_remove(c);
    c->flags |= CF_CLOSING;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->nclients--;
    if (c->reply == &srv->batch) /* closed mid-batch: drop its replies */
        srv->batch.len = 0;
    c->reply = NULL;
    uv_close((uv_handle_t *)&c->tcp, client_on_close);
}

static void on_write(uv_write_t *req, int status);

static void start_write(cache_client *c)
{
    rbuf t = c->wbuf;
    c->wbuf = c->obuf;
    c->obuf = t;
    c->obuf.len = 0;
    c->flags |= CF_WRITING;
    uv_buf_t b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        c->flags &= ~CF_WRITING;
        client_close(c, false);
    }
}

void client_check_output_limits(cache_client *c)
{
    cache_server *srv = c->srv;
    size_t pending = client_pending_output(c);
    const cache_conf *cf = &srv->conf;
    if (cf->obuf_hard && pending >= cf->obuf_hard) {
        log_msg(srv->log, LOG_WARNING,
                "Client id=%llu addr=%s scheduled to be closed ASAP for "
                "overcoming of output buffer limits (%zu bytes pending).",
                (unsigned long long)c->id, c->addr, pending);
        srv->stat_obuf_closed++;
        client_close(c, false);
        return;
    }
    if (cf->obuf_soft && pending >= cf->obuf_soft) {
        uint64_t now = util_mono_ms();
        if (c->obuf_soft_since == 0) {
            c->obuf_soft_since = now;
        } else if (now - c->obuf_soft_since >=
                   (uint64_t)cf->obuf_soft_seconds * 1000) {
            log_msg(srv->log, LOG_WARNING,
                    "Client id=%llu addr=%s closed for overcoming the soft "
                    "output buffer limit for %lld seconds.",
                    (unsigned long long)c->id, c->addr,
                    cf->obuf_soft_seconds);
            srv->stat_obuf_closed++;
            client_close(c, false);
        }
    } else {
        c->obuf_soft_since = 0;
    }
}

static void pause_reading(cache_client *c)
{
    if (!(c->flags & CF_PAUSED)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->flags |= CF_PAUSED;
    }
}


static void resume_reading(cache_client *c)
{
    c->flags &= ~CF_PAUSED;
    /* Requests that arrived before the pause are executed first. */
    if (c->qlen > 0) {
        process_input(c);
        if (c->flags & (CF_CLOSING | CF_PAUSED))
            return;
    }
    if (c->flags & CF_CLOSE_AFTER_REPLY)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        client_close(c, false);
}

static void on_write(uv_write_t *req, int status)
{
    cache_client *c = req->data;
    c->flags &= ~CF_WRITING;
    if (status == 0) {
        c->srv->stat_net_out += c->wbuf.len;
        c->bytes_out += c->wbuf.len;
        c->last_ms = util_mono_ms();
    }
    /* Idle clients keep no output memory. */
    rbuf_free(&c->wbuf);
    if (c->flags & CF_CLOSING)
        return;
    if (status < 0) {
        client_close(c, false);
        return;
    }
    if (c->obuf.len > 0) {
        start_write(c);
        return;
    }
    rbuf_free(&c->obuf);
    c->obuf_soft_since = 0;
    if (c->flags & CF_CLOSE_AFTER_REPLY) {
        client_close(c, false);
        return;
    }
    if (c->flags & CF_PAUSED)
        resume_reading(c);
}

/* Sends what the batch produced for c: try_write first, the rest through
 * uv_write from c's own buffer. */
static void flush_output(cache_client *c)
{
    cache_server *srv = c->srv;
    if (c->flags & CF_CLOSING)
        return;
    if (c->reply == &srv->batch) {
        rbuf *b = &srv->batch;
        size_t off = 0;
        if (b->len > 0) {
            uv_buf_t ub = uv_buf_init(b->data, (unsigned)b->len);
            int n = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
            if (n < 0 && n != UV_EAGAIN) {
                b->len = 0;
                client_close(c, false);
                return;
            }
            off = n > 0 ? (size_t)n : 0;
            srv->stat_net_out += off;
            c->bytes_out += off;
            if (off < b->len)
                reply_raw(&c->obuf, b->data + off, b->len - off);
        }
        b->len = 0;
        if (b->cap > BATCH_KEEP)
            rbuf_free(b);
    }
    c->reply = NULL;
    if (c->obuf.oom) {
        client_close(c, false);
        return;
    }
    if (c->obuf.len > 0 && !(c->flags & CF_WRITING))
        start_write(c);
    if (c->flags & CF_CLOSING)
        return;
    if (!(c->flags & CF_WRITING) && (c->flags & CF_CLOSE_AFTER_REPLY)) {
        client_close(c, false);
        return;
    }
    client_check_output_limits(c);
}

/* ------------------------------------------------------------ input */

bool client_argv_reserve(cache_server *srv, size_t n)
{
    if (n <= srv->argv_cap)
        return true;
    size_t cap = srv->argv_cap ? srv->argv_cap : 16;
    while (cap < n)
        cap *= 2;
    char **a = realloc(srv->argv, cap * sizeof *a);
    if (a == NULL)
        return false;
    srv->argv = a;
    size_t *l = realloc(srv->argvlen, cap * sizeof *l);
    if (l == NULL)
        return false;
    srv->argvlen = l;
    srv->argv_cap = cap;
    return true;
}

static void protocol_error(cache_client *c)
{
    cache_server *srv = c->srv;
    char msg[128];
    snprintf(msg, sizeof msg, "ERR %s", c->parser.err);
    reply_error(c->reply, msg);
    server_count_error(srv, msg);
    log_msg(srv->log, LOG_VERBOSE,
            "Protocol error (%s) from client: id=%llu addr=%s",
            c->parser.err, (unsigned long long)c->id, c->addr);
    c->flags |= CF_CLOSE_AFTER_REPLY | CF_PROTO_ERROR;
}

/* Runs every complete request in buf[0..len), then keeps the unparsed rest
 * in the client's own buffer. Stops early when the client's unsent output
 * passes CACHE_PAUSE_OUTPUT: the rest waits until the output drains. Returns
 * true when it stopped early but the output all went out at once, so the
 * caller should go on with the buffered rest. */
static bool run_requests(cache_client *c, char *buf, size_t len)
{
    cache_server *srv = c->srv;
    resp_parser *p = &c->parser;
    c->reply = (c->flags & CF_WRITING || c->obuf.len > 0) ? &c->obuf
                                                          : &srv->batch;
    c->flags |= CF_IN_BATCH;
    bool paused = false;
    /* A blocked client's requests wait in its buffer until its reply. */
    while (!(c->flags & (CF_CLOSING | CF_CLOSE_AFTER_REPLY | CF_BLOCKED))) {
        p->max_bulk = srv->max_bulk;
        p->unauth = srv->conf.requirepass != NULL && !(c->flags & CF_AUTHED);
        int rc = resp_parse(p, buf, len);
        if (rc == RESP_NEED_MORE)
            break;
        if (rc == RESP_ERROR) {
            protocol_error(c);
            break;
        }
        if (rc == RESP_NOMEM || !client_argv_reserve(srv, p->argc)) {
            log_msg(srv->log, LOG_WARNING, "out of memory parsing a request "
                                           "from %s; closing it", c->addr);
            client_close(c, false);
            return false;
        }
        for (size_t i = 0; i < p->argc; i++) {
            srv->argv[i] = buf + p->argv[i].off;
            srv->argvlen[i] = p->argv[i].len;
        }
        c->argc = p->argc;
        c->argv = srv->argv;
        c->argvlen = srv->argvlen;
        cmd_dispatch(c);
        c->argc = 0;
        if (c->flags & CF_CLOSING)
            return false;
        if (c->reply->oom) {
            log_msg(srv->log, LOG_WARNING,
                    "out of memory building a reply for %s; closing it",
                    c->addr);
            client_close(c, false);
            return false;
        }
        size_t pending = client_pending_output(c);
        if (srv->conf.obuf_hard && pending >= srv->conf.obuf_hard) {
            client_check_output_limits(c);
            return false;
        }
        if (pending >= CACHE_PAUSE_OUTPUT) {
            paused = true;
            break;
        }
    }
    c->flags &= ~CF_IN_BATCH;

    /* Keep what is left (a partial request, or requests held back by the
     * pause) in the client's own buffer. */
    size_t consumed = resp_consumed(p);
    if (buf == srv->readbuf) {
        size_t left = len - consumed;
        if (left > 0) {
            size_t cap = left + resp_wanted(p, len);
            if (cap < CACHE_READ_CHUNK)
                cap = CACHE_READ_CHUNK;
            if (cap > left + CACHE_SHARED_READ_BUF * 2)
                cap = left + CACHE_SHARED_READ_BUF * 2;
            c->qbuf = malloc(cap);
            if (c->qbuf == NULL) {
                client_close(c, false);
                return false;
            }
            memcpy(c->qbuf, buf + consumed, left);
            c->qcap = cap;
            c->qlen = left;
        }
        resp_shift(p, consumed);
    } else if (consumed > 0) {
        memmove(c->qbuf, c->qbuf + consumed, c->qlen - consumed);
        c->qlen -= consumed;
        resp_shift(p, consumed);
    }
    if (c->qbuf != NULL && c->qlen == 0) {
        free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
    }
    /* The clock of the `timeout` on an unfinished request restarts with
     * each request that completes. */
    if (c->qlen == 0 || paused || (c->flags & CF_BLOCKED))
        c->partial_since_ms = 0;
    else if (consumed > 0 || c->partial_since_ms == 0)
        c->partial_since_ms = util_mono_ms();
    if (c->qlen > srv->conf.query_buf_limit) {
        log_msg(srv->log, LOG_WARNING,
                "Closing client that reached max query buffer length: "
                "id=%llu addr=%s (qbuf=%zu)",
                (unsigned long long)c->id, c->addr, c->qlen);
        srv->stat_qbuf_closed++;
        client_close(c, false);
        return false;
    }
    flush_output(c);
    if (paused && !(c->flags & CF_CLOSING)) {
        if (c->flags & CF_WRITING)
            pause_reading(c);
        else if (c->qlen > 0) /* everything was written at once: go on */
            return true;
    }
    return false;
}

/* Runs what is buffered in the client's own query buffer. */
static void process_input(cache_client *c)
{
    while (run_requests(c, c->qbuf, c->qlen))
        ;
}

void client_async_reply_begin(cache_client *c)
{
    c->reply = &c->obuf;
}

void client_async_reply_end(cache_client *c)
{
    flush_output(c);
    if (c->flags & (CF_CLOSING | CF_CLOSE_AFTER_REPLY | CF_PAUSED | CF_BLOCKED))
        return;
    if (c->qlen > 0)
        process_input(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    cache_client *c = h->data;
    cache_server *srv = c->srv;
    if (c->qbuf == NULL) {
        *buf = uv_buf_init(srv->readbuf, (unsigned)srv->readbuf_cap);
        return;
    }
    size_t want = resp_wanted(&c->parser, c->qlen);
    if (want < CACHE_READ_CHUNK)
        want = CACHE_READ_CHUNK;
    if (c->qcap - c->qlen < CACHE_READ_CHUNK ||
        (c->qcap - c->qlen < want)) {
        /* Grow toward the whole bulk, but at most doubling per read so a
         * header that lies about its length costs only what was sent. */
        size_t cap = c->qlen + want;
        size_t dbl = c->qcap * 2;
        if (cap > dbl && dbl >= c->qlen + CACHE_READ_CHUNK)
            cap = dbl;
        char *q = realloc(c->qbuf, cap);
        if (q == NULL) {
            *buf = uv_buf_init(NULL, 0); /* UV_ENOBUFS: closed in on_read */
            return;
        }
        c->qbuf = q;
        c->qcap = cap;
    }
    size_t room = c->qcap - c->qlen;
    if (room > UINT32_MAX)
        room = UINT32_MAX;
    *buf = uv_buf_init(c->qbuf + c->qlen, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    cache_client *c = s->data;
    cache_server *srv = c->srv;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_msg(srv->log, LOG_VERBOSE, "Reading from client %s: %s",
                    c->addr, uv_strerror((int)nread));
        client_close(c, false);
        return;
    }
    srv->stat_net_in += (uint64_t)nread;
    c->bytes_in += (uint64_t)nread;
    c->last_ms = util_mono_ms();
    if (buf->base == srv->readbuf) {
        if (run_requests(c, srv->readbuf, (size_t)nread))
            process_input(c);
    } else {
        c->qlen += (size_t)nread;
        process_input(c);
    }
}

int client_start_reading(cache_client *c)
{
    return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}
