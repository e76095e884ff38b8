/* One signed HTTP/1.1 request to another esealsd (node/internal.h): the witness's and the
 * upstream link's, plain sockets, one request per connection, bounded in time and size. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "eseal/clients.h"
#include "node/internal.h"

#define CONNECT_MS 5000
#define ANSWER_MS  10000

typedef struct target {
    char host[256], port[8], path[512];
} target;

/* "http://HOST[:PORT][/PREFIX]" -> host, port, PREFIX + path. */
static es_err parse_base(const char *base, const char *path, target *t, char *why, size_t whylen)
{
    if (strncmp(base, "http://", 7) != 0) {
        snprintf(why, whylen, "%s: not http://HOST:PORT/", base);
        return ES_ERR_CONFIG;
    }
    const char *h = base + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hl);
    size_t nl = colon ? (size_t)(colon - h) : hl;
    size_t pl = colon ? hl - nl - 1 : 0;
    if (nl == 0 || nl >= sizeof t->host || (colon && (pl == 0 || pl >= sizeof t->port))) {
        snprintf(why, whylen, "%s: not http://HOST:PORT/", base);
        return ES_ERR_CONFIG;
    }
    memcpy(t->host, h, nl);
    t->host[nl] = 0;
    if (colon) {
        memcpy(t->port, colon + 1, pl);
        t->port[pl] = 0;
        if (strspn(t->port, "0123456789") != pl) {
            snprintf(why, whylen, "%s: the port is a number", base);
            return ES_ERR_CONFIG;
        }
    } else {
        snprintf(t->port, sizeof t->port, "80");
    }
    const char *prefix = slash ? slash : "";
    size_t prl = strlen(prefix);
    while (prl && prefix[prl - 1] == '/') prl--;
    int k = snprintf(t->path, sizeof t->path, "%.*s%s", (int)prl, prefix, path);
    if (k < 0 || (size_t)k >= sizeof t->path) {
        snprintf(why, whylen, "%s: the path is too long", base);
        return ES_ERR_CONFIG;
    }
    return ES_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return 0;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, (int)left);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return 0;
    }
}

static int connect_to(const target *t, char *why, size_t whylen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(t->host, t->port, &hints, &res);
    if (e != 0) {
        snprintf(why, whylen, "%s: %s", t->host, gai_strerror(e));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        int err = 0;
        socklen_t el = sizeof err;
        if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, now_ms() + CONNECT_MS) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            snprintf(why, whylen, "cannot connect to %s:%s: %s", t->host, t->port,
                     err                    ? strerror(err)
                     : errno == EINPROGRESS ? "timed out"
                                            : strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0 && !why[0]) snprintf(why, whylen, "cannot connect to %s:%s", t->host, t->port);
    return fd;
}

/* The value of the header name in the head [p, end) ("" when absent), at most n - 1 bytes. */
static void header_of(const uint8_t *p, const uint8_t *end, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = 0;
    for (const uint8_t *line = p; line < end;) {
        const uint8_t *eol = line;
        while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n')) eol++;
        if (eol + 1 >= end) eol = end;
        if ((size_t)(eol - line) > nl && line[nl] == ':' &&
            strncasecmp((const char *)line, name, nl) == 0) {
            const uint8_t *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            size_t vl = (size_t)(eol - v);
            if (vl >= n) vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return;
        }
        line = eol + 2;
    }
}

es_err node_http_exchange(const char *base, const char *path, const char *query, const char *client,
                          es_signer *key, const char *method, es_slice body, unsigned *status,
                          es_buf *answer, const char *header, char *value, size_t valuelen,
                          char *why, size_t whylen)
{
    if (header && value && valuelen) value[0] = 0;
    target t;
    es_err rv = parse_base(base, path, &t, why, whylen);
    if (rv != ES_OK) return rv;
    if (query && strlen(t.path) + strlen(query) + 2 < sizeof t.path) {
        strcat(t.path, "?");
        strcat(t.path, query);
    }
    es_buf auth, req, in;
    es_buf_init(&auth, 4096);
    es_buf_init(&req, 8192 + body.len);
    es_buf_init(&in, answer->max + 16384);
    int fd = -1;
    if ((rv = es_client_sign_request(key, client, method, t.path, body, NULL, NULL, &auth)) !=
            ES_OK ||
        (rv = es_buf_nul(&auth)) != ES_OK) {
        snprintf(why, whylen, "cannot sign the request: %s", es_err_str(rv));
        goto out;
    }
    if ((rv = es_buf_printf(&req,
                            "%s %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: %s\r\n"
                            "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                            method, t.path, t.host, t.port, (const char *)auth.p,
                            body.len ? "Content-Type: application/json\r\n" : "", body.len)) !=
            ES_OK ||
        (rv = es_buf_append(&req, body.p, body.len)) != ES_OK)
        goto out;
    rv = ES_ERR_UNAVAILABLE;
    if ((fd = connect_to(&t, why, whylen)) < 0) goto out;
    int64_t deadline = now_ms() + ANSWER_MS;
    for (size_t off = 0; off < req.len;) {
        ssize_t k = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, deadline)) {
                snprintf(why, whylen, "%s: timed out sending", base);
                goto out;
            }
            continue;
        }
        if (k <= 0) {
            snprintf(why, whylen, "%s: %s", base, strerror(errno));
            goto out;
        }
        off += (size_t)k;
    }
    for (;;) {
        uint8_t buf[16384];
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLIN, deadline)) {
                snprintf(why, whylen, "%s: no answer within %d s", base, ANSWER_MS / 1000);
                goto out;
            }
            continue;
        }
        if (k < 0) {
            snprintf(why, whylen, "%s: %s", base, strerror(errno));
            goto out;
        }
        if (k == 0) break;
        if (es_buf_append(&in, buf, (size_t)k) != ES_OK) {
            snprintf(why, whylen, "%s: the answer is too long", base);
            goto out;
        }
    }
    /* "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" (the server closes: the body runs to the end) */
    const uint8_t *end = NULL;
    for (size_t i = 0; i + 3 < in.len && !end; i++)
        if (!memcmp(in.p + i, "\r\n\r\n", 4)) end = in.p + i;
    unsigned st = 0;
    if (!end || in.len < 12 || memcmp(in.p, "HTTP/1.", 7) != 0 ||
        sscanf((const char *)in.p + 9, "%3u", &st) != 1) {
        snprintf(why, whylen, "%s: not an HTTP answer", base);
        goto out;
    }
    *status = st;
    if (header && value && valuelen) header_of(in.p, end, header, value, valuelen);
    answer->len = 0;
    if (es_buf_append(answer, end + 4, in.len - (size_t)(end + 4 - in.p)) != ES_OK) goto out;
    rv = ES_OK;
out:
    if (fd >= 0) close(fd);
    es_buf_cleanup(&auth);
    es_buf_cleanup(&req);
    es_buf_cleanup(&in);
    return rv;
}
