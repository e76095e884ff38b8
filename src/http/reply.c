/* http: the request context (accessors) and the reply helpers: JSON, errors, the es_err to
 * status table, headers, cookies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/internal.h"

/* ---- Accessors. */

const char *es_http_req_method(const es_http_req *r)
{
    return r->method;
}

const char *es_http_req_path(const es_http_req *r)
{
    return r->path;
}

const char *es_http_req_target(const es_http_req *r)
{
    return r->uri;
}

const char *es_http_req_route(const es_http_req *r)
{
    return r->route ? r->route->pattern : NULL;
}

int es_http_req_is_public(const es_http_req *r)
{
    if (r->route) return (r->route->flags & ES_HTTP_PUBLIC) != 0;
    return r->is_static;
}

const char *es_http_req_param(const es_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0) return r->params[i].value;
    return NULL;
}

const char *es_http_req_query(const es_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nquery; i++)
        if (strcmp(r->query[i].name, name) == 0) return r->query[i].value;
    return NULL;
}

const char *es_http_req_header(const es_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *es_http_req_cookie(const es_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

es_slice es_http_req_body(const es_http_req *r)
{
    return es_slice_make(r->body.p, r->body.len);
}

const char *es_http_req_client(const es_http_req *r)
{
    return r->client;
}

void es_http_req_set_user(es_http_req *r, void *user, void (*free_fn)(void *))
{
    if (r->user && r->user_free && r->user != user) r->user_free(r->user);
    r->user = user;
    r->user_free = free_fn;
}

void *es_http_req_user(const es_http_req *r)
{
    return r->user;
}

/* ---- Replies. */

void http_reply_reset(es_http_req *r)
{
    r->replied = 0;
    r->status = 0;
    free(r->ctype);
    r->ctype = NULL;
    es_buf_cleanup(&r->out);
    r->out_static = NULL;
    r->out_static_len = 0;
    if (r->out_fd >= 0) close(r->out_fd);
    r->out_fd = -1;
    r->out_fd_len = 0;
    r->cache_console = 0;
}

es_err http_reply_start(es_http_req *r, unsigned status, const char *ctype)
{
    if (status < 100 || status > 599) return ES_ERR_ARG;
    http_reply_reset(r);
    if (ctype && !(r->ctype = strdup(ctype))) return ES_ERR_NOMEM;
    r->status = status;
    r->replied = 1;
    return ES_OK;
}

es_err es_http_reply_bytes(es_http_req *r, unsigned status, const char *content_type, const void *p,
                           size_t len)
{
    es_err rv;
    if ((rv = http_reply_start(r, status, content_type)) != ES_OK) return rv;
    if (len && (rv = es_buf_append(&r->out, p, len)) != ES_OK) {
        http_reply_reset(r);
        return rv;
    }
    return ES_OK;
}

es_err es_http_reply_empty(es_http_req *r, unsigned status)
{
    return http_reply_start(r, status, NULL);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return es_buf_append(data, buffer, size) == ES_OK ? 0 : -1;
}

es_err es_http_reply_json(es_http_req *r, unsigned status, const json_t *body)
{
    es_err rv;
    if (!body) return ES_ERR_ARG;
    if ((rv = http_reply_start(r, status, "application/json")) != ES_OK) return rv;
    /* Compact, keys in insertion order, non-ASCII kept as UTF-8 (Chinese names stay readable),
     * "/" not escaped. A reply is built by the server, so it is never larger than memory. */
    r->out.max = SIZE_MAX;
    if (json_dump_callback(body, dump_cb, &r->out, JSON_COMPACT | JSON_ENCODE_ANY) != 0 ||
        es_buf_append_byte(&r->out, '\n') != ES_OK) {
        http_reply_reset(r);
        return ES_ERR_NOMEM;
    }
    return ES_OK;
}

es_err es_http_reply_json_new(es_http_req *r, unsigned status, json_t *body)
{
    es_err rv = es_http_reply_json(r, status, body);
    json_decref(body);
    return rv;
}

/* What a client is told for rv: a server-side failure has three names only ("busy",
 * "unavailable", "internal"), whatever the cause. */
static es_err public_code(es_err rv)
{
    unsigned status = es_err_http_status(rv);
    if (status < 500 || rv == ES_ERR_BUSY) return rv;
    return status == 503 ? ES_ERR_UNAVAILABLE : ES_ERR_INTERNAL;
}

void es_http_err_status(es_err rv, unsigned *status, const char **code)
{
    rv = public_code(rv);
    *status = es_err_http_status(rv);
    *code = es_err_name(rv);
}

/* Sets key to a string, replacing bytes that are not UTF-8 (a detail quoting a client's
 * bytes) by a note rather than failing the reply. */
static int set_text(json_t *o, const char *key, const char *text)
{
    json_t *m = json_string(text);
    if (!m) m = json_string("(text not valid UTF-8)");
    return json_object_set_new(o, key, m);
}

es_err es_http_reply_err_field(es_http_req *r, es_err rv, const char *field, const char *detail)
{
    if (es_err_http_status(rv) >= 500) {
        /* No detail of a server-side failure leaves the server. */
        rv = public_code(rv);
        field = detail = NULL;
    }
    json_t *o = json_object();
    if (!o) return ES_ERR_NOMEM;
    int bad = json_object_set_new(o, "error", json_string(es_err_name(rv))) != 0 ||
              set_text(o, "message", es_err_str(rv)) != 0 ||
              set_text(o, "message_zh", es_err_str_zh(rv)) != 0;
    if (!bad && field && *field) bad = set_text(o, "field", field) != 0;
    if (!bad && detail && *detail) bad = set_text(o, "detail", detail) != 0;
    if (bad) {
        json_decref(o);
        return ES_ERR_NOMEM;
    }
    return es_http_reply_json_new(r, es_err_http_status(rv), o);
}

es_err es_http_reply_err(es_http_req *r, es_err rv, const char *detail)
{
    return es_http_reply_err_field(r, rv, NULL, detail);
}

es_err es_http_reply_errf(es_http_req *r, es_err rv, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return es_http_reply_err_field(r, rv, NULL, msg);
}

/* RFC 9110 5.6.2 token characters. */
static int is_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (!*s) return 0;
    for (; *s; s++) {
        char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
        if (strchr(extra, c)) continue;
        return 0;
    }
    return 1;
}

static es_err add_header(es_http_req *r, const char *name, const char *value)
{
    http_kv *n = realloc(r->hdrs, (r->nhdrs + 1) * sizeof *n);
    if (!n) return ES_ERR_NOMEM;
    r->hdrs = n;
    char *a = strdup(name), *b = strdup(value);
    if (!a || !b) {
        free(a);
        free(b);
        return ES_ERR_NOMEM;
    }
    r->hdrs[r->nhdrs].name = a;
    r->hdrs[r->nhdrs].value = b;
    r->nhdrs++;
    return ES_OK;
}

es_err es_http_add_header(es_http_req *r, const char *name, const char *value)
{
    if (!name || !value || !is_token(name)) return ES_ERR_ARG;
    /* RFC 9110 5.5: no control character but HTAB (DEL is one too). */
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return ES_ERR_ARG;
    if (strlen(value) > 8192) return ES_ERR_ARG;
    return add_header(r, name, value);
}

es_err es_http_set_cache(es_http_req *r, const char *value)
{
    if (!value || strlen(value) >= sizeof r->cache_control) return ES_ERR_ARG;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p >= 0x7f) return ES_ERR_ARG;
    snprintf(r->cache_control, sizeof r->cache_control, "%s", value);
    return ES_OK;
}

/* RFC 6265 4.1.1 cookie-octet. */
static int cookie_value_ok(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        unsigned c = *p;
        if (c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
            (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e))
            continue;
        return 0;
    }
    return n <= 4096;
}

es_err es_http_set_cookie(es_http_req *r, const char *name, const char *value, long max_age)
{
    char buf[4096 + 256];
    char age[48] = "";
    if (!name || !value || !is_token(name) || strlen(name) > 128 || !cookie_value_ok(value))
        return ES_ERR_ARG;
    if (max_age >= 0) snprintf(age, sizeof age, "; Max-Age=%ld", max_age);
    snprintf(buf, sizeof buf, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name, value,
             r->h->cfg.secure_cookies ? "; Secure" : "", age);
    return add_header(r, "Set-Cookie", buf);
}
