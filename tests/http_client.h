/* A small HTTP/1.1 client over plain sockets for the tests that talk to a server on
 * 127.0.0.1 (tests/test_api.c): one request per connection, Content-Length bodies.
 * (The same client as tests/test_http.c's, kept in a header of its own.) */
#ifndef ESEAL_HTTP_CLIENT_H
#define ESEAL_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "eseal/util.h"

/* Called in t_response between looking a response's Content-Length up and using it: a test
 * defines it first to do there what another thread of the client might (test_http.c,
 * test_client_framing). */
#ifndef T_HTTP_FRAMING_HOOK
#define T_HTTP_FRAMING_HOOK() ((void)0)
#endif

/* Seconds a response may take; a test of slow paths may define it lower first. */
#ifndef T_HTTP_TIMEOUT_S
#define T_HTTP_TIMEOUT_S 60
#endif

typedef struct t_resp {
    int status;
    char head[16384]; /* status line and headers, NUL-terminated */
    es_buf body;
} t_resp;

static inline void t_resp_init(t_resp *r)
{
    r->status = -1;
    r->head[0] = '\0';
    es_buf_init(&r->body, 64u << 20);
}

static inline void t_resp_free(t_resp *r)
{
    es_buf_cleanup(&r->body);
}

static inline int t_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {T_HTTP_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int t_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The value of a header in head (case-insensitive name), the idx-th of that name; copied into
 * out. NULL when absent. */
static inline const char *t_hdr_n(const t_resp *r, const char *name, int idx, char *out,
                                  size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2]) {
        p += 2;
        const char *e = strstr(p, "\r\n");
        if (!e) break;
        if ((size_t)(e - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0 && idx-- == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            size_t vl = (size_t)(e - v);
            if (vl >= outlen) vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p = e;
    }
    return NULL;
}

/* The value in a buffer of the calling thread's own, good until its next t_hdr: the bench and
 * the tests read responses on several threads at once. */
static inline const char *t_hdr(const t_resp *r, const char *name)
{
    static _Thread_local char buf[4096];
    return t_hdr_n(r, name, 0, buf, sizeof buf);
}

/* Reads one response (skipping 1xx). head_only: the request was HEAD (no body follows).
 * Returns the status, or -1 when the connection ended first. */
static inline int t_response(int fd, int head_only, t_resp *r)
{
    char buf[4096];
    es_buf in;
    es_buf_init(&in, 64u << 20);
    int rv = -1;
    for (;;) {
        char *end = NULL;
        while (!(in.len && es_buf_nul(&in) == ES_OK && (end = strstr((char *)in.p, "\r\n\r\n")))) {
            ssize_t k = recv(fd, buf, sizeof buf, 0);
            if (k <= 0) goto out;
            if (es_buf_append(&in, buf, (size_t)k) != ES_OK) goto out;
        }
        size_t hlen = (size_t)(end - (char *)in.p) + 4;
        int status = 0;
        if (sscanf((char *)in.p, "HTTP/1.%*d %d", &status) != 1) goto out;
        if (status >= 100 && status < 200) {
            memmove(in.p, in.p + hlen, in.len - hlen);
            in.len -= hlen;
            continue;
        }
        size_t copy = hlen < sizeof r->head ? hlen : sizeof r->head - 1;
        memcpy(r->head, in.p, copy);
        r->head[copy] = '\0';
        r->status = status;
        /* The length in a buffer of this call's own: read through t_hdr's, another lookup
         * between (another thread's, before that buffer was the thread's own) changed it, and
         * the answer was cut short or waited for bytes that never came (issue 10). */
        char clbuf[64];
        const char *cl = t_hdr_n(r, "Content-Length", 0, clbuf, sizeof clbuf);
        T_HTTP_FRAMING_HOOK();
        size_t want = cl && !head_only && status != 204 ? strtoul(cl, NULL, 10) : 0;
        while (in.len - hlen < want) {
            ssize_t k = recv(fd, buf, sizeof buf, 0);
            if (k <= 0) goto out;
            if (es_buf_append(&in, buf, (size_t)k) != ES_OK) goto out;
        }
        r->body.len = 0;
        if (es_buf_append(&r->body, in.p + hlen, want) != ES_OK || es_buf_nul(&r->body) != ES_OK)
            goto out;
        rv = status;
        break;
    }
out:
    es_buf_cleanup(&in);
    return rv;
}

/* One request on its own connection. */
static inline int t_raw(unsigned port, const char *req, size_t len, t_resp *r)
{
    int fd = t_connect(port);
    if (fd < 0) return -1;
    int head_only = strncmp(req, "HEAD ", 5) == 0;
    int rv = t_send(fd, req, len) == 0 ? t_response(fd, head_only, r) : -1;
    close(fd);
    return rv;
}

static inline int t_req(unsigned port, const char *method, const char *path, const char *headers,
                        const char *body, t_resp *r)
{
    es_buf q;
    es_buf_init(&q, 64u << 20);
    size_t blen = body ? strlen(body) : 0;
    int rv = -1;
    /* No "Connection: close": the client closes once it has the response, so the TIME_WAIT
     * of each connection stays on this side, where connect() knows it. With the server
     * closing first, thousands of server-side TIME_WAITs on loopback let connect() pick a
     * port whose old connection the server still remembers, and that connection fails. */
    if (es_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path,
                      headers ? headers : "") != ES_OK)
        goto out;
    if (body && es_buf_printf(&q, "Content-Length: %zu\r\n", blen) != ES_OK) goto out;
    if (es_buf_append_str(&q, "\r\n") != ES_OK || es_buf_append(&q, body, blen) != ES_OK) goto out;
    rv = t_raw(port, (const char *)q.p, q.len, r);
out:
    es_buf_cleanup(&q);
    return rv;
}

#endif
