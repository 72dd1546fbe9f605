/*
 * metrics.c - the Prometheus endpoint (see metrics.h): the HTTP connections
 * on metrics-port and the exposition text.
 *
 * The figures come from the server itself (clients, commands, network) and
 * from the library: replkv_repl_info_get() for replication and
 * replkv_info() for memory, keys and the keyspace counters, so /metrics and
 * INFO never disagree. Ports in labels are client ports, as INFO shows them.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "replication.h"
#include "server.h"
#include "sentinel.h"
#include "util.h"

typedef struct http_conn http_conn;

struct cache_metrics {
    cache_server *srv;
    uv_tcp_t listener;
    char addr[80];
    http_conn *conns;
    size_t nconns;
};

enum { HC_READING, HC_WRITING, HC_DRAINING };

struct http_conn {
    uv_tcp_t tcp;
    cache_metrics *m;
    http_conn *prev, *next;
    int state;
    uint64_t deadline_ms; /* monotonic: closed by metrics_cron after it */
    size_t len;
    char req[METRICS_MAX_REQUEST];
    uv_write_t wreq;
    uv_shutdown_t sreq;
    rbuf out;
};

/* ------------------------------------------------------------ request */

static bool is_tchar_upper(char ch)
{
    return ch >= 'A' && ch <= 'Z';
}

/* True if the start of a request line (no newline yet) can still become a
 * valid one: an upper-case method, then visible characters. */
static bool plausible_prefix(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && is_tchar_upper(buf[i]))
        i++;
    if (i == len)
        return i <= 16;
    if (i == 0 || i > 16 || buf[i] != ' ')
        return false;
    for (i++; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\r' && i + 1 == len)
            return true;
        if (ch != ' ' && (ch < 0x21 || ch > 0x7e))
            return false;
    }
    return true;
}

metrics_req metrics_parse_request(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL) {
        if (!plausible_prefix(buf, len))
            return MREQ_BAD;
        return len >= METRICS_MAX_REQUEST ? MREQ_TOO_LARGE : MREQ_MORE;
    }
    /* Request line (RFC 9112 3): method SP request-target SP HTTP-version. */
    size_t ll = (size_t)(nl - buf);
    if (ll > 0 && buf[ll - 1] == '\r')
        ll--;
    size_t m = 0;
    while (m < ll && is_tchar_upper(buf[m]))
        m++;
    if (m == 0 || m > 16 || m >= ll || buf[m] != ' ')
        return MREQ_BAD;
    size_t t0 = m + 1, t = t0;
    while (t < ll && buf[t] >= 0x21 && buf[t] <= 0x7e)
        t++;
    if (t == t0 || t >= ll || buf[t] != ' ' || buf[t0] != '/')
        return MREQ_BAD;
    const char *ver = buf + t + 1;
    size_t vlen = ll - t - 1;
    if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || ver[7] < '0' ||
        ver[7] > '9')
        return MREQ_BAD;
    /* The headers are skipped, up to the empty line. */
    const char *rest = nl;
    size_t rlen = len - (size_t)(nl - buf);
    bool end = false;
    for (size_t i = 0; i + 1 < rlen && !end; i++) {
        if (rest[i] != '\n')
            continue;
        if (rest[i + 1] == '\n' ||
            (i + 2 < rlen && rest[i + 1] == '\r' && rest[i + 2] == '\n'))
            end = true;
    }
    if (!end)
        return len >= METRICS_MAX_REQUEST ? MREQ_TOO_LARGE : MREQ_MORE;
    bool get = m == 3 && memcmp(buf, "GET", 3) == 0;
    bool head = m == 4 && memcmp(buf, "HEAD", 4) == 0;
    if (!get && !head)
        return MREQ_BAD_METHOD;
    size_t plen = 0;
    while (t0 + plen < t && buf[t0 + plen] != '?' && buf[t0 + plen] != '#')
        plen++;
    if (plen == 8 && memcmp(buf + t0, "/metrics", 8) == 0)
        return get ? MREQ_METRICS : MREQ_METRICS_HEAD;
    return MREQ_NOT_FOUND;
}

/* ------------------------------------------------------------ connections */

static void hc_on_close(uv_handle_t *h)
{
    http_conn *hc = h->data;
    rbuf_free(&hc->out);
    free(hc);
}

static void hc_close(http_conn *hc)
{
    if (uv_is_closing((uv_handle_t *)&hc->tcp))
        return;
    cache_metrics *m = hc->m;
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        m->conns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    hc->prev = hc->next = NULL;
    m->nconns--;
    uv_close((uv_handle_t *)&hc->tcp, hc_on_close);
}

static void hc_on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn *hc = req->data;
    if (status < 0 && status != UV_ECANCELED)
        hc_close(hc);
}

static void hc_on_write(uv_write_t *req, int status)
{
    http_conn *hc = req->data;
    rbuf_free(&hc->out);
    if (status < 0) {
        if (status != UV_ECANCELED)
            hc_close(hc);
        return;
    }
    /* Close after the response: send our FIN, then read (and drop) what the
     * client still sends until its FIN, so our close never resets a
     * response it has not read yet. */
    hc->state = HC_DRAINING;
    hc->deadline_ms = util_mono_ms() + METRICS_DRAIN_MS;
    hc->sreq.data = hc;
    if (uv_shutdown(&hc->sreq, (uv_stream_t *)&hc->tcp, hc_on_shutdown) != 0)
        hc_close(hc);
}

static void respond(http_conn *hc, metrics_req what)
{
    cache_server *srv = hc->m->srv;
    int code = 200;
    const char *reason = "OK";
    const char *ctype = "text/plain; version=0.0.4; charset=utf-8";
    const char *extra = "";
    rbuf body = {0};
    switch (what) {
    case MREQ_METRICS:
    case MREQ_METRICS_HEAD:
        metrics_render(srv, &body);
        break;
    case MREQ_NOT_FOUND:
        code = 404, reason = "Not Found";
        break;
    case MREQ_BAD_METHOD:
        code = 405, reason = "Method Not Allowed";
        extra = "Allow: GET, HEAD\r\n";
        break;
    case MREQ_TOO_LARGE:
        code = 431, reason = "Request Header Fields Too Large";
        break;
    default:
        code = 400, reason = "Bad Request";
        break;
    }
    if (code != 200) {
        ctype = "text/plain; charset=utf-8";
        reply_addf(&body, "%d %s\n", code, reason);
        log_msg(srv->log, LOG_VERBOSE, "metrics: answered %d %s", code, reason);
    }
    if (body.oom) {
        rbuf_free(&body);
        hc_close(hc);
        return;
    }
    reply_addf(&hc->out,
         "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
         "%sConnection: close\r\n\r\n",
         code, reason, ctype, body.len, extra);
    if (what != MREQ_METRICS_HEAD)
        reply_raw(&hc->out, body.data, body.len);
    rbuf_free(&body);
    if (hc->out.oom) {
        hc_close(hc);
        return;
    }
    hc->state = HC_WRITING;
    hc->len = 0;
    hc->wreq.data = hc;
    uv_buf_t b = uv_buf_init(hc->out.data, (unsigned)hc->out.len);
    if (uv_write(&hc->wreq, (uv_stream_t *)&hc->tcp, &b, 1, hc_on_write) != 0)
        hc_close(hc);
}

static void hc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn *hc = h->data;
    if (hc->state != HC_READING)
        hc->len = 0; /* what comes after the request is dropped */
    *buf = uv_buf_init(hc->req + hc->len, (unsigned)(sizeof hc->req - hc->len));
}

static void hc_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    http_conn *hc = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* EOF before a whole request, an error, or the client's FIN after
         * our response: done. */
        hc_close(hc);
        return;
    }
    if (hc->state != HC_READING)
        return;
    hc->len += (size_t)nread;
    metrics_req r = metrics_parse_request(hc->req, hc->len);
    if (r != MREQ_MORE)
        respond(hc, r);
}

static void on_metrics_connection(uv_stream_t *ls, int status)
{
    cache_metrics *m = ls->data;
    cache_server *srv = m->srv;
    if (status < 0) {
        log_msg(srv->log, LOG_WARNING, "metrics: accepting a connection: %s",
                uv_strerror(status));
        return;
    }
    http_conn *hc = calloc(1, sizeof *hc);
    if (hc == NULL) {
        /* The pending connection stays in the backlog: the next accept
         * after memory frees up takes it. */
        log_msg(srv->log, LOG_WARNING, "metrics: out of memory accepting");
        return;
    }
    hc->m = m;
    uv_tcp_init(srv->loop, &hc->tcp);
    hc->tcp.data = hc;
    hc->next = m->conns;
    if (m->conns)
        m->conns->prev = hc;
    m->conns = hc;
    m->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&hc->tcp) != 0) {
        hc_close(hc);
        return;
    }
    if (m->nconns > METRICS_MAX_CONNS) {
        log_msg(srv->log, LOG_WARNING,
                "metrics: refused a connection: %d scrapes already open",
                METRICS_MAX_CONNS);
        hc_close(hc);
        return;
    }
    hc->state = HC_READING;
    hc->deadline_ms = util_mono_ms() + METRICS_REQUEST_MS;
    if (uv_read_start((uv_stream_t *)&hc->tcp, hc_alloc, hc_on_read) != 0)
        hc_close(hc);
}

/* ------------------------------------------------------------ lifecycle */

static void on_listener_close(uv_handle_t *h)
{
    free(h->data);
}

int metrics_start(cache_server *srv)
{
    const cache_conf *conf = &srv->conf;
    if (conf->metrics_port == 0)
        return 0;
    /* The first required bind address, as for the library's repl-port. */
    const char *addr = NULL;
    for (size_t i = 0; i < conf->nbind && addr == NULL; i++)
        if (conf->bind[i][0] != '-')
            addr = conf->bind[i];
    if (addr == NULL)
        addr = conf->nbind > 0 ? conf->bind[0] + 1 : "127.0.0.1";
    if (strcmp(addr, "*") == 0)
        addr = "0.0.0.0";
    else if (strcmp(addr, "::*") == 0)
        addr = "::";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int rc = uv_ip4_addr(addr, conf->metrics_port, (struct sockaddr_in *)&ss);
    if (rc != 0)
        rc = uv_ip6_addr(addr, conf->metrics_port, (struct sockaddr_in6 *)&ss);
    if (rc != 0) {
        log_msg(srv->log, LOG_WARNING, "metrics: bad bind address %s: %s", addr,
                uv_strerror(rc));
        return -1;
    }
    cache_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) {
        log_msg(srv->log, LOG_WARNING, "metrics: out of memory");
        return -1;
    }
    m->srv = srv;
    snprintf(m->addr, sizeof m->addr, "%s:%d", addr, conf->metrics_port);
    uv_tcp_init(srv->loop, &m->listener);
    m->listener.data = m;
    rc = uv_tcp_bind(&m->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&m->listener, 64, on_metrics_connection);
    if (rc != 0) {
        log_msg(srv->log, LOG_WARNING,
                "Could not create the metrics listening socket %s: %s", m->addr,
                uv_strerror(rc));
        uv_close((uv_handle_t *)&m->listener, on_listener_close);
        return -1;
    }
    srv->metrics = m;
    log_msg(srv->log, LOG_NOTICE, "Metrics at http://%s%s%s:%d/metrics",
            strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "",
            conf->metrics_port);
    return 0;
}

void metrics_cron(cache_server *srv)
{
    cache_metrics *m = srv->metrics;
    if (m == NULL)
        return;
    uint64_t now = util_mono_ms();
    http_conn *next;
    for (http_conn *hc = m->conns; hc != NULL; hc = next) {
        next = hc->next;
        if (now < hc->deadline_ms || hc->state == HC_WRITING)
            continue;
        if (hc->state == HC_READING)
            log_msg(srv->log, LOG_VERBOSE,
                    "metrics: closed a connection that sent no whole "
                    "request in %d ms (%zu bytes)",
                    METRICS_REQUEST_MS, hc->len);
        hc_close(hc);
    }
}

void metrics_stop(cache_server *srv)
{
    cache_metrics *m = srv->metrics;
    if (m == NULL)
        return;
    srv->metrics = NULL;
    while (m->conns != NULL)
        hc_close(m->conns);
    uv_close((uv_handle_t *)&m->listener, on_listener_close);
}

/* ------------------------------------------------------------ exposition */

static void family(rbuf *b, const char *name, const char *type,
                   const char *help)
{
    reply_addf(b, "# HELP replkv_%s %s\n# TYPE replkv_%s %s\n", name, help, name,
         type);
}

static void sample_u(rbuf *b, const char *name, const char *labels, uint64_t v)
{
    reply_addf(b, "replkv_%s%s%s%s %" PRIu64 "\n", name, labels ? "{" : "",
         labels ? labels : "", labels ? "}" : "", v);
}

static void sample_i(rbuf *b, const char *name, const char *labels, int64_t v)
{
    reply_addf(b, "replkv_%s%s%s%s %" PRId64 "\n", name, labels ? "{" : "",
         labels ? labels : "", labels ? "}" : "", v);
}

static void sample_d(rbuf *b, const char *name, const char *labels, double v)
{
    reply_addf(b, "replkv_%s%s%s%s %.6f\n", name, labels ? "{" : "",
         labels ? labels : "", labels ? "}" : "", v);
}

static void gauge(rbuf *b, const char *name, const char *help, int64_t v)
{
    family(b, name, "gauge", help);
    sample_i(b, name, NULL, v);
}

static void counter(rbuf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    sample_u(b, name, NULL, v);
}

/* A label value with \, " and newline escaped (text format 0.0.4). */
static void escape_label(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

/* The integer after "name:" at a line start of INFO text, or def. */
static long long info_ll(const char *text, const char *name, long long def)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return def;
}

/* "expires=N" of the db0 line. */
static long long info_db_field(const char *text, const char *field)
{
    const char *db = strstr(text, "db0:");
    if (db == NULL)
        return 0;
    const char *eol = strchr(db, '\r');
    const char *f = strstr(db, field);
    if (f == NULL || (eol && f > eol))
        return 0;
    return strtoll(f + strlen(field), NULL, 10);
}

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

/* True if replica i has the same labels as an earlier one (two replicas
 * without a repl-port on one host): a series must appear once. */
static bool same_labels_earlier(const repl_snapshot *s, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (s->all[j].port == s->all[i].port &&
            strcmp(s->all[j].addr, s->all[i].addr) == 0)
            return true;
    return false;
}

static void render_replication(cache_server *srv, rbuf *b,
                               const repl_snapshot *snap)
{
    const replkv_repl_info *in = &snap->in;
    bool replica = in->role == REPLKV_ROLE_REPLICA;
    bool witness = in->role == REPLKV_ROLE_WITNESS;
    family(b, "role", "gauge",
           "Replication role of this node: 1 for the current role.");
    sample_u(b, "role", "role=\"primary\"", replica || witness ? 0 : 1);
    sample_u(b, "role", "role=\"replica\"", replica ? 1 : 0);
    if (srv->conf.sentinel_name != NULL)
        sample_u(b, "role", "role=\"witness\"", witness ? 1 : 0);
    gauge(b, "repl_offset", "Replication stream offset (master_repl_offset).",
          in->offset);
    gauge(b, "connected_replicas", "Replicas connected to this node.",
          in->connected_replicas);

    size_t n = snap->nall;
    char labels[160], addr[140];
    family(b, "replica_acked_offset", "gauge",
           "Stream offset each replica acknowledged (client port).");
    for (size_t i = 0; i < n; i++) {
        const replkv_replica_info *r = &snap->all[i];
        if (r->acked_offset < 0 || same_labels_earlier(snap, i))
            continue;
        escape_label(addr, sizeof addr, r->addr);
        snprintf(labels, sizeof labels, "addr=\"%s\",port=\"%d\"", addr,
                 repl_replica_client_port(r->port));
        sample_i(b, "replica_acked_offset", labels, r->acked_offset);
    }
    family(b, "replica_lag_seconds", "gauge",
           "Seconds since each replica's last acknowledgement.");
    for (size_t i = 0; i < n; i++) {
        const replkv_replica_info *r = &snap->all[i];
        if (r->lag_ms < 0 || same_labels_earlier(snap, i))
            continue;
        escape_label(addr, sizeof addr, r->addr);
        snprintf(labels, sizeof labels, "addr=\"%s\",port=\"%d\"", addr,
                 repl_replica_client_port(r->port));
        sample_d(b, "replica_lag_seconds", labels, (double)r->lag_ms / 1000.0);
    }
    family(b, "replica_online", "gauge",
           "1 for a replica that streams, 0 while it syncs.");
    for (size_t i = 0; i < n; i++) {
        const replkv_replica_info *r = &snap->all[i];
        if (same_labels_earlier(snap, i))
            continue;
        escape_label(addr, sizeof addr, r->addr);
        snprintf(labels, sizeof labels, "addr=\"%s\",port=\"%d\"", addr,
                 repl_replica_client_port(r->port));
        sample_u(b, "replica_online", labels, strcmp(r->state, "online") == 0);
    }
    if (replica) {
        gauge(b, "master_link_up",
              "1 while this replica's link to its primary is up.", in->link_up);
        gauge(b, "master_sync_in_progress",
              "1 while this replica loads a full resync.",
              in->sync_in_progress);
        uint64_t since = srv->link_down_since_ms;
        gauge(b, "master_link_down_seconds",
              "Seconds since the link to the primary went down (0 while "
              "up).",
              in->link_up || since == 0
                  ? 0
                  : ((int64_t)util_now_ms() - (int64_t)since) / 1000);
        char host[300], hl[340];
        escape_label(host, sizeof host, in->primary_host);
        snprintf(hl, sizeof hl, "host=\"%s\",port=\"%d\"", host,
                 repl_primary_client_port(srv, in->primary_port));
        family(b, "master_info", "gauge",
               "The primary this replica follows (client port).");
        sample_u(b, "master_info", hl, 1);
    }
    counter(b, "sync_full_total", "Full resyncs served to replicas.",
            in->sync_full);
    counter(b, "sync_partial_ok_total",
            "Partial resyncs accepted from replicas.", in->sync_partial_ok);
    counter(b, "sync_partial_err_total",
            "Partial resyncs refused (a full resync followed).",
            in->sync_partial_err);
    counter(b, "repl_bytes_sent_total", "Bytes sent to replication peers.",
            in->bytes_sent);
    counter(b, "repl_bytes_received_total",
            "Bytes received from replication peers.", in->bytes_received);
}

/* Failover: epochs, this node's failovers, and every node's state as
 * this node sees it (ports as clients use them). */
static void render_failover(cache_server *srv, rbuf *b)
{
    replkv_cluster_info *ci = sentinel_cluster(srv);
    if (ci == NULL)
        return;
    gauge(b, "sentinel_current_epoch", "Highest failover epoch seen.",
          (int64_t)ci->current_epoch);
    gauge(b, "sentinel_config_epoch",
          "Epoch of the cluster configuration this node holds.",
          (int64_t)ci->config_epoch);
    counter(b, "sentinel_failovers_total",
            "Failovers this node led to the end.", ci->failovers);
    counter(b, "sentinel_role_changes_total",
            "Role changes the cluster made on this node.",
            srv->stat_role_events);
    gauge(b, "sentinel_primary_down",
          "1 when this node sees the primary subjectively down.",
          ci->primary_sdown || ci->primary_odown);
    gauge(b, "sentinel_primary_odown",
          "1 when quorum nodes agree the primary is down.",
          ci->primary_odown);
    gauge(b, "sentinel_failover_running",
          "1 while this node leads a failover.", ci->failover_running);
    gauge(b, "sentinel_writes_paused",
          "1 while a manual failover pauses writes here.",
          ci->writes_paused);
    gauge(b, "sentinel_fenced",
          "1 while self-fence refuses writes (no majority in reach).",
          ci->fenced);
    gauge(b, "sentinel_voters", "Voting nodes known, this one included.",
          ci->voters);
    static const char *const states[] = {"up", "sdown", "odown"};
    family(b, "sentinel_peer_state", "gauge",
           "Each node of the cluster as this node sees it: 1 for its state "
           "(port = client port of a data node, Sentinel port of a "
           "witness).");
    char labels[256], host[140];
    for (int i = 0; i < ci->npeers; i++) {
        const replkv_peer_info *p = &ci->peers[i];
        escape_label(host, sizeof host, p->host);
        int port = p->witness ? sentinel_port_of(srv, p)
                   : p->self  ? srv->conf.port
                              : sentinel_data_port(p->port);
        for (int k = 0; k < 3; k++) {
            snprintf(labels, sizeof labels,
                     "node_id=\"%s\",addr=\"%s\",port=\"%d\",kind=\"%s\","
                     "state=\"%s\"",
                     p->node_id, host, port, p->witness ? "witness" : "data",
                     states[k]);
            bool on = p->self ? k == 0
                              : (int)p->state == k + (int)REPLKV_PEER_UP;
            sample_u(b, "sentinel_peer_state", labels, on);
        }
    }
    family(b, "sentinel_peer_last_heard_seconds", "gauge",
           "Seconds since each other node was last heard (-1: never).");
    for (int i = 0; i < ci->npeers; i++) {
        const replkv_peer_info *p = &ci->peers[i];
        if (p->self)
            continue;
        snprintf(labels, sizeof labels, "node_id=\"%s\"", p->node_id);
        sample_d(b, "sentinel_peer_last_heard_seconds", labels,
                 p->last_heard_ms < 0 ? -1.0
                                      : (double)p->last_heard_ms / 1000.0);
    }
    free(ci);
}

void metrics_render(cache_server *srv, rbuf *b)
{
    char *info = NULL;
    if (replkv_info(srv->kv, NULL, &info) != 0)
        info = NULL;
    const char *text = info ? info : "";

    family(b, "build_info", "gauge", "Versions: replkv-cache and libreplkv.");
    reply_addf(b, "replkv_build_info{version=\"%s\",libreplkv=\"%s\"} 1\n",
         REPLKV_VERSION_STRING, replkv_version_string());
    gauge(b, "uptime_seconds", "Seconds since the server started.",
          (int64_t)((util_mono_ms() - srv->start_ms) / 1000));

    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap != NULL)
        render_replication(srv, b, snap);
    repl_info_free(snap);
    render_failover(srv, b);

    gauge(b, "connected_clients", "Client connections open.",
          (int64_t)srv->nclients);
    gauge(b, "maxclients", "The maxclients limit.", srv->conf.maxclients);
    gauge(b, "blocked_clients", "Clients blocked in WAIT.",
          (int64_t)srv->nblocked);
    counter(b, "connections_received_total", "Client connections accepted.",
            srv->stat_connections);
    counter(b, "rejected_connections_total",
            "Client connections refused (maxclients, protected mode).",
            srv->stat_rejected_conn);
    family(b, "client_disconnections_total", "counter",
           "Clients closed by a limit: output buffer, query buffer, "
           "idle timeout, incomplete request timeout.");
    sample_u(b, "client_disconnections_total", "reason=\"output_buffer\"",
             srv->stat_obuf_closed);
    sample_u(b, "client_disconnections_total", "reason=\"query_buffer\"",
             srv->stat_qbuf_closed);
    sample_u(b, "client_disconnections_total", "reason=\"timeout\"",
             srv->stat_expired_clients);
    counter(b, "commands_processed_total", "Commands run.", srv->stat_commands);
    counter(b, "error_replies_total", "Error replies sent.", srv->stat_errors);
    counter(b, "net_input_bytes_total", "Bytes read from clients.",
            srv->stat_net_in);
    counter(b, "net_output_bytes_total", "Bytes written to clients.",
            srv->stat_net_out);

    char labels[96];
    family(b, "commands_total", "counter", "Calls per command.");
    for (size_t i = 0; i < cmd_count; i++)
        if (srv->cmd_stats[i].calls > 0) {
            snprintf(labels, sizeof labels, "cmd=\"%s\"", cmd_table[i].name);
            sample_u(b, "commands_total", labels, srv->cmd_stats[i].calls);
        }
    family(b, "commands_duration_seconds_total", "counter",
           "Time spent running each command.");
    for (size_t i = 0; i < cmd_count; i++)
        if (srv->cmd_stats[i].calls > 0) {
            snprintf(labels, sizeof labels, "cmd=\"%s\"", cmd_table[i].name);
            sample_d(b, "commands_duration_seconds_total", labels,
                     (double)srv->cmd_stats[i].usec / 1e6);
        }
    family(b, "commands_failed_total", "counter",
           "Calls per command that failed or were rejected.");
    for (size_t i = 0; i < cmd_count; i++) {
        uint64_t f = srv->cmd_stats[i].failed + srv->cmd_stats[i].rejected;
        if (f > 0) {
            snprintf(labels, sizeof labels, "cmd=\"%s\"", cmd_table[i].name);
            sample_u(b, "commands_failed_total", labels, f);
        }
    }

    gauge(b, "memory_used_bytes", "Memory used by the keyspace (used_memory).",
          info_ll(text, "used_memory", 0));
    gauge(b, "memory_max_bytes", "The maxmemory limit, 0 = none.",
          info_ll(text, "maxmemory", 0));
    gauge(b, "memory_rss_bytes", "Resident set size of the process.",
          rss_bytes());
    uint64_t keys = 0;
    replkv_count(srv->kv, &keys);
    gauge(b, "keys", "Keys in the keyspace (as DBSIZE).", (int64_t)keys);
    gauge(b, "keys_with_expiry", "Keys with a time to live.",
          info_db_field(text, "expires="));
    counter(b, "expired_keys_total", "Keys deleted because they expired.",
            (uint64_t)info_ll(text, "expired_keys", 0));
    counter(b, "evicted_keys_total", "Keys evicted by maxmemory.",
            (uint64_t)info_ll(text, "evicted_keys", 0));
    counter(b, "keyspace_hits_total", "Reads that found their key.",
            (uint64_t)info_ll(text, "keyspace_hits", 0));
    counter(b, "keyspace_misses_total", "Reads that missed their key.",
            (uint64_t)info_ll(text, "keyspace_misses", 0));
    replkv_free(info);
}
