/* http: routes (method + path pattern with {parameters}) and percent-decoding. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

static const char *const method_names[M_COUNT] = {
    [M_GET] = "GET",     [M_HEAD] = "HEAD",     [M_POST] = "POST",   [M_PUT] = "PUT",
    [M_PATCH] = "PATCH", [M_DELETE] = "DELETE", [M_OTHER] = "other",
};

int http_method_index(const char *method)
{
    /* RFC 9110 9.1: methods are case-sensitive. */
    for (int m = 0; m < M_OTHER; m++)
        if (strcmp(method, method_names[m]) == 0) return m;
    return M_OTHER;
}

const char *http_method_name(int m)
{
    return m >= 0 && m < M_COUNT ? method_names[m] : "other";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *http_pct_decode(const char *in, size_t len, int plus, int *bad)
{
    *bad = 0;
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (len - i < 3) goto bad;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0) goto bad;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0') goto bad;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
bad:
    free(out);
    *bad = 1;
    return NULL;
}

/* Characters of a literal pattern segment: RFC 3986 pchar without '%' (patterns are written
 * decoded) and without the braces that mark parameters. */
static int literal_ok(const char *s, size_t n)
{
    static const char extra[] = "-._~!$&'()*+,;=:@";
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
        if (c && strchr(extra, c)) continue;
        return 0;
    }
    return 1;
}

static int param_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') continue;
        if (i > 0 && c >= '0' && c <= '9') continue;
        return 0;
    }
    return 1;
}

static void route_cleanup(http_route *r)
{
    for (size_t i = 0; i < r->nsegs; i++) free(r->segs[i]);
    free(r->segs);
    free(r->is_param);
    free(r->pattern);
}

void http_router_cleanup(http_router *rt)
{
    for (size_t i = 0; i < rt->n; i++) route_cleanup(&rt->routes[i]);
    free(rt->routes);
    rt->routes = NULL;
    rt->n = 0;
}

static es_err parse_pattern(const char *pattern, http_route *r)
{
    size_t plen = strlen(pattern);
    if (plen == 0 || pattern[0] != '/' || plen > 1024) return ES_ERR_ARG;
    size_t n = 0;
    if (plen > 1)
        for (size_t i = 0; i < plen; i++) n += pattern[i] == '/';
    r->segs = calloc(n ? n : 1, sizeof *r->segs);
    r->is_param = calloc(n ? n : 1, 1);
    if (!r->segs || !r->is_param) return ES_ERR_NOMEM;
    const char *p = pattern + 1;
    for (size_t k = 0; k < n; k++) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *name = p;
        size_t nlen = len;
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            name = p + 1;
            nlen = len - 2;
            if (!param_name_ok(name, nlen)) return ES_ERR_ARG;
            r->is_param[k] = 1;
        } else if (!literal_ok(p, len)) {
            return ES_ERR_ARG;
        }
        r->segs[k] = strndup(name, nlen);
        if (!r->segs[k]) return ES_ERR_NOMEM;
        r->nsegs = k + 1;
        if (r->is_param[k])
            for (size_t j = 0; j < k; j++)
                if (r->is_param[j] && strcmp(r->segs[j], r->segs[k]) == 0) return ES_ERR_ARG;
        p += len + 1;
    }
    return ES_OK;
}

/* Two patterns are the same route when they match the same paths ({id} and {name} too). */
static int same_shape(const http_route *a, const http_route *b)
{
    if (a->nsegs != b->nsegs) return 0;
    for (size_t i = 0; i < a->nsegs; i++) {
        if (a->is_param[i] != b->is_param[i]) return 0;
        if (!a->is_param[i] && strcmp(a->segs[i], b->segs[i]) != 0) return 0;
    }
    return 1;
}

es_err http_router_add(http_router *rt, const char *method, const char *pattern, es_http_handler fn,
                       void *arg, unsigned flags)
{
    es_err rv;
    http_route r = {0};
    if (!method || !pattern || !fn) return ES_ERR_ARG;
    r.method = http_method_index(method);
    if (r.method == M_OTHER || r.method == M_HEAD) return ES_ERR_ARG;
    if (rt->n >= ES_MAX_HTTP_ROUTES) return ES_ERR_LIMIT;
    if ((rv = parse_pattern(pattern, &r)) != ES_OK) goto out;
    for (size_t i = 0; i < rt->n; i++) {
        if (rt->routes[i].method == r.method && same_shape(&rt->routes[i], &r)) {
            rv = ES_ERR_EXISTS;
            goto out;
        }
    }
    if (!(r.pattern = strdup(pattern))) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    http_route *nr = realloc(rt->routes, (rt->n + 1) * sizeof *nr);
    if (!nr) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    rt->routes = nr;
    r.fn = fn;
    r.arg = arg;
    r.flags = flags;
    rt->routes[rt->n++] = r;
    return ES_OK;
out:
    route_cleanup(&r);
    return rv;
}

static int path_matches(const http_route *r, char *const *segs, size_t nsegs)
{
    if (r->nsegs != nsegs) return 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (r->is_param[i]) {
            if (segs[i][0] == '\0') return 0; /* an empty segment is no parameter value */
        } else if (strcmp(r->segs[i], segs[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

/* 1 when a is more specific than b: at the first segment where they differ, a has a literal. */
static int more_specific(const http_route *a, const http_route *b)
{
    for (size_t i = 0; i < a->nsegs; i++)
        if (a->is_param[i] != b->is_param[i]) return !a->is_param[i];
    return 0;
}

const http_route *http_router_match(const http_router *rt, int method, char *const *segs,
                                    size_t nsegs, unsigned *allow)
{
    const http_route *best = NULL;
    int want = method == M_HEAD ? M_GET : method;
    *allow = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const http_route *r = &rt->routes[i];
        if (!path_matches(r, segs, nsegs)) continue;
        *allow |= 1u << r->method;
        if (r->method == M_GET) *allow |= 1u << M_HEAD;
        if (r->method == want && (!best || more_specific(r, best))) best = r;
    }
    return best;
}
