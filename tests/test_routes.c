/* Every route the daemon serves, against what the documents say of it (issue 13: the role x
 * permission table and the route list were spot-checked, so a new route without its
 * authorisation check would have passed).
 *
 * A node runs in this process on SQLite (127.0.0.1:0); its routes are listed from its HTTP
 * server (es_http_routes_foreach), not from a list in this file. Then:
 *   - the routes, docs/openapi.json (as the daemon serves it) and the table "Routes and who may
 *     call them" of docs/accounts.md name the same method and path pairs;
 *   - a route is ES_HTTP_PUBLIC exactly when both documents say it is public;
 *   - every route that is not public answers an unauthenticated call 401;
 *   - for every route that is not public and every role, an account of that role gets 403
 *     "forbidden" exactly when the table (and the permission table of docs/accounts.md, read
 *     here) does not give it the route; otherwise neither 401 nor 403.
 * Calls carry "{}" as their body and "nobody-x" for every path parameter, so what is allowed
 * changes nothing (400 or 404) and nothing depends on the order. */
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eseal/auth.h"
#include "eseal/http.h"
#include "eseal/node.h"
#include "http_client.h"

#define ADMIN_PASS "Strong-Pass-2026!"
#define USER_PASS  "User-Pass-2026!x"
#define MAX_ROUTES 256
#define PARAM      "nobody-x"

typedef struct route {
    char method[8], path[160];
    unsigned flags;
    int in_code, in_openapi, in_table;
    int openapi_public;
    char needs[96]; /* from docs/accounts.md: public, signed-in, client, or a permission */
} route;

static route routes[MAX_ROUTES];
static size_t n_routes;
static unsigned port;
/* docs/accounts.md's permission table: grants[role][perm]. */
static int grants[ES_ROLE_COUNT][ES_PERM_COUNT];
static int grants_read;

static route *find_route(const char *method, const char *path)
{
    for (size_t i = 0; i < n_routes; i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, path) == 0)
            return &routes[i];
    return NULL;
}

static route *add_route(const char *method, const char *path)
{
    route *r = find_route(method, path);
    if (r) return r;
    if (n_routes >= MAX_ROUTES) return NULL;
    r = &routes[n_routes++];
    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    return r;
}

static es_err on_route(void *ctx, const char *method, const char *pattern, unsigned flags)
{
    (void)ctx;
    route *r = add_route(method, pattern);
    if (!r) return ES_ERR_LIMIT;
    r->in_code = 1;
    r->flags = flags;
    return ES_OK;
}

/* ---- The documents. */

/* The cells of a Markdown table row "| a | b |" into cells (trimmed, backticks removed). */
static int cells_of(char *line, char **cells, int max)
{
    int n = 0;
    if (line[0] != '|') return 0;
    char *p = line + 1;
    while (n < max) {
        char *bar = strchr(p, '|');
        if (!bar) break;
        *bar = 0;
        while (*p == ' ' || *p == '`') p++;
        char *e = bar;
        while (e > p && (e[-1] == ' ' || e[-1] == '`')) *--e = 0;
        cells[n++] = p;
        p = bar + 1;
    }
    return n;
}

static int role_of(const char *name)
{
    for (int i = 0; i < ES_ROLE_COUNT; i++)
        if (strcmp(es_role_name((es_role)i), name) == 0) return i;
    return -1;
}

static int perm_of(const char *name)
{
    for (int i = 0; i < ES_PERM_COUNT; i++)
        if (strcmp(es_perm_name((es_perm)i), name) == 0) return i;
    return -1;
}

/* Reads both tables of docs/accounts.md. */
static void read_accounts_md(void)
{
    es_buf b = t_read(t_path("ESEAL_TESTDATA", "../../docs/accounts.md"));
    if (es_buf_nul(&b) != ES_OK) exit(2);
    int role_col[16];
    int n_role_cols = 0, in_routes = 0, perm_rows = 0, route_rows = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)b.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "## ", 3) == 0) in_routes = strstr(line, "Routes and who") != NULL;
        char *c[16];
        int n = cells_of(line, c, 16);
        if (n < 3 || strncmp(c[0], "---", 3) == 0) continue;
        if (strcmp(c[0], "permission") == 0) { /* the permission table's head: role columns */
            n_role_cols = n - 2;
            for (int i = 2; i < n; i++) {
                role_col[i - 2] = role_of(c[i]);
                ok(role_col[i - 2] >= 0, "docs/accounts.md: a role column '%s' that is no role",
                   c[i]);
            }
            continue;
        }
        if (in_routes) {
            if (strcmp(c[0], "method") == 0) continue;
            route *r = add_route(c[0], c[1]);
            if (!r) continue;
            r->in_table++;
            snprintf(r->needs, sizeof r->needs, "%s", c[2]);
            char *sp = strchr(r->needs, ' '); /* "accounts (or the account itself)" */
            if (sp) *sp = 0;
            route_rows++;
            continue;
        }
        int p = perm_of(c[0]);
        if (p < 0 || n_role_cols == 0 || n != n_role_cols + 2) continue;
        perm_rows++;
        for (int i = 0; i < n_role_cols; i++)
            if (role_col[i] >= 0) grants[role_col[i]][p] = strstr(c[i + 2], "✓") != NULL;
    }
    ok(n_role_cols == ES_ROLE_COUNT, "docs/accounts.md: the permission table has %d role columns",
       n_role_cols);
    ok(perm_rows == ES_PERM_COUNT, "docs/accounts.md: %d permission rows (%d permissions)",
       perm_rows, ES_PERM_COUNT);
    ok(route_rows >= 20, "docs/accounts.md: the route table read (%d rows)", route_rows);
    grants_read = perm_rows == ES_PERM_COUNT && n_role_cols == ES_ROLE_COUNT;
    es_buf_cleanup(&b);
}

/* The OpenAPI document as the daemon serves it (test_http checks it is docs/openapi.json). */
static void read_openapi(void)
{
    t_resp r;
    t_resp_init(&r);
    int st = t_req(port, "GET", "/api/v1/openapi.json", NULL, NULL, &r);
    json_t *doc = st == 200 ? json_loadb((const char *)r.body.p, r.body.len, 0, NULL) : NULL;
    json_t *paths = json_object_get(doc, "paths");
    ok(json_is_object(paths), "GET /api/v1/openapi.json: a document with paths (%d)", st);
    const char *path;
    json_t *item;
    int ops = 0;
    json_object_foreach(paths, path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            static const char *const methods[] = {"get", "post", "put", "patch", "delete"};
            char upper[8] = "";
            for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
                if (strcmp(m, methods[i]) == 0)
                    for (size_t k = 0; k < strlen(m) && k < 7; k++)
                        upper[k] = (char)(m[k] - 'a' + 'A');
            if (!upper[0]) continue;
            route *rt = add_route(upper, path);
            if (!rt) continue;
            rt->in_openapi = 1;
            json_t *sec = json_object_get(op, "security");
            rt->openapi_public = json_is_array(sec) && json_array_size(sec) == 0;
            ops++;
        }
    }
    ok(ops >= 20, "openapi.json: %d operations read", ops);
    json_decref(doc);
    t_resp_free(&r);
}

/* ---- The node and its accounts. */

static char var[512], outpath[600];
static es_node *node;

static int call(const char *method, const char *path, const char *tok, const char *body, t_resp *r)
{
    char h[256] = "";
    size_t n = 0;
    if (tok) n += (size_t)snprintf(h + n, sizeof h - n, "Authorization: Bearer %s\r\n", tok);
    if (body) snprintf(h + n, sizeof h - n, "Content-Type: application/json\r\n");
    t_resp_init(r);
    return t_req(port, method, path, h, body, r);
}

static json_t *call_json(const char *method, const char *path, const char *tok, const char *body,
                         int *st)
{
    t_resp r;
    *st = call(method, path, tok, body, &r);
    json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    t_resp_free(&r);
    return v;
}

static int sign_in(const char *name, const char *pass, char tok[65])
{
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pass);
    json_t *v = call_json("POST", "/api/v1/sessions", NULL, body, &st);
    const char *t = json_string_value(json_object_get(v, "token"));
    snprintf(tok, 65, "%s", st == 201 && t ? t : "");
    json_decref(v);
    return st == 201 && tok[0];
}

static int change_password(const char *tok, const char *old, const char *new_)
{
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", old, new_);
    json_decref(call_json("POST", "/api/v1/users/me/password", tok, body, &st));
    return st == 200;
}

/* The one-time password the node printed for name, if any. */
static int printed_otp(const char *name, char otp[64])
{
    es_buf b;
    char said[96];
    int found = 0;
    snprintf(said, sizeof said, "one-time password for %s: ", name);
    es_buf_init(&b, 1u << 20);
    if (es_file_read(outpath, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        const char *o = strstr((const char *)b.p, said);
        if (o) found = sscanf(o + strlen(said), "%63s", otp) == 1;
    }
    es_buf_cleanup(&b);
    return found;
}

/* The first account other than admin whose one-time password the first start printed and
 * whose name has the role's first word ("audit" for audit_admin): its name and password. */
static int printed_for(int r, char name[40], char otp[64])
{
    char word[40];
    snprintf(word, sizeof word, "%s", es_role_name((es_role)r));
    word[strcspn(word, "_")] = 0;
    es_buf b;
    int found = 0;
    es_buf_init(&b, 1u << 20);
    if (es_file_read(outpath, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        static const char said[] = "one-time password for ";
        for (const char *o = strstr((const char *)b.p, said); o && !found;
             o = strstr(o + 1, said)) {
            char n[40];
            if (sscanf(o + sizeof said - 1, "%39[^:]: %63s", n, otp) == 2 &&
                strcmp(n, "admin") != 0 && strstr(n, word)) {
                snprintf(name, 40, "%s", n);
                found = 1;
            }
        }
    }
    es_buf_cleanup(&b);
    return found;
}

/* An account of role r, signed in, its password changed: created by the administrator, or
 * (when the administrator may not create it: audit administrators) the one the first start
 * printed. */
static int account_of(int r, const char *admin, char name[40], char tok[65])
{
    char body[256], otp[64] = "";
    int st;
    snprintf(name, 40, "rt-%s", es_role_name((es_role)r));
    for (char *c = name; *c; c++)
        if (*c == '_') *c = '-';
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"roles\":[\"%s\"]}", name,
             es_role_name((es_role)r));
    json_t *v = call_json("POST", "/api/v1/users", admin, body, &st);
    const char *o = json_string_value(json_object_get(v, "one_time_password"));
    if (st == 201 && o) snprintf(otp, sizeof otp, "%s", o);
    json_decref(v);
    if (!otp[0] && !printed_for(r, name, otp)) return 0;
    return sign_in(name, otp, tok) && change_password(tok, otp, USER_PASS);
}

/* ---- The checks. */

/* path with every "{param}" segment replaced by PARAM. */
static void concrete(const char *pattern, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 1 < len;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (!e) break;
            n += (size_t)snprintf(out + n, len - n, "%s", PARAM);
            p = e + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < len ? n : len - 1] = 0;
}

static int has_body(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0;
}

static int is_forbidden(const t_resp *r)
{
    json_t *v = json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
    const char *e = json_string_value(json_object_get(v, "error"));
    int good = r->status == 403 && e && strcmp(e, "forbidden") == 0;
    json_decref(v);
    return good;
}

/* 1: role r may call a route that needs `needs`; -1: the table says something unknown.
 * "a,b": either, each a permission or a role name. */
static int may(int r, const char *needs)
{
    if (strcmp(needs, "signed-in") == 0) return 1;
    if (strcmp(needs, "client") == 0) return 0; /* a business system's signed request only */
    char alt[96];
    int any = 0;
    snprintf(alt, sizeof alt, "%s", needs);
    for (char *save = NULL, *t = strtok_r(alt, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int p = perm_of(t), role = role_of(t);
        if (p < 0 && role < 0) return -1;
        any |= p >= 0 ? grants[r][p] : role == r;
    }
    return any;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(var, sizeof var, "%s/eseal-routes.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(var)) return 2;
    snprintf(outpath, sizeof outpath, "%s.out", var);
    FILE *out = fopen(outpath, "w");
    if (!out) return 2;
    /* Warnings only: a line per request would bury the failures. */
    char conf[700];
    snprintf(conf, sizeof conf, "%s.conf", var);
    FILE *cf = fopen(conf, "w");
    /* [factors] enforce = false: the second factor (test_otp) is not what this test is about;
     * with it, every account without one is refused everything but enrolment. */
    if (!cf || fputs("[log]\nlevel = warn\n[factors]\nenforce = false\n", cf) < 0 ||
        fclose(cf) != 0)
        return 2;
    es_node_opts o = {conf, "127.0.0.1:0", var, out};
    char why[600] = "";
    es_err rv = es_node_start(&o, &node, why, sizeof why);
    fflush(out);
    if (rv != ES_OK) {
        fprintf(stderr, "the node does not start: %s (%s)\n", why, es_err_str(rv));
        return 2;
    }
    port = es_node_port(node);

    ok(es_http_routes_foreach(es_node_http(node), on_route, NULL) == ES_OK,
       "the node's routes are listed");
    size_t in_code = n_routes;
    ok(in_code >= 20, "%zu routes", in_code);
    read_openapi();
    read_accounts_md();

    /* The three lists agree, and public means the same in all three. */
    for (size_t i = 0; i < n_routes; i++) {
        route *r = &routes[i];
        const char *m = r->method, *p = r->path;
        ok(r->in_code, "%s %s is documented but the daemon has no such route", m, p);
        ok(r->in_openapi, "%s %s: not in docs/openapi.json", m, p);
        ok(r->in_table == 1, "%s %s: %d rows in docs/accounts.md's route table (want 1)", m, p,
           r->in_table);
        if (!r->in_code) continue;
        int pub = (r->flags & ES_HTTP_PUBLIC) != 0;
        ok(pub == (strcmp(r->needs, "public") == 0),
           "%s %s: ES_HTTP_PUBLIC %d, docs/accounts.md says %s", m, p, pub, r->needs);
        ok(!r->in_openapi || pub == r->openapi_public,
           "%s %s: ES_HTTP_PUBLIC %d, openapi.json security %s", m, p, pub,
           r->openapi_public ? "[] (public)" : "required");
    }

    /* Unauthenticated: 401 for all but the public routes. */
    for (size_t i = 0; i < n_routes; i++) {
        route *r = &routes[i];
        if (!r->in_code || (r->flags & ES_HTTP_PUBLIC)) continue;
        char path[200];
        t_resp resp;
        concrete(r->path, path, sizeof path);
        int st = call(r->method, path, NULL, has_body(r->method) ? "{}" : NULL, &resp);
        ok(st == 401, "%s %s without authentication: 401 (%d)", r->method, path, st);
        t_resp_free(&resp);
    }

    /* Each role against each route. */
    char admin[65], otp[64] = "";
    ok(printed_otp("admin", otp) && sign_in("admin", otp, admin) &&
           change_password(admin, otp, ADMIN_PASS),
       "the administrator signs in and sets a password");
    ok(grants_read, "the permission table was read");
    for (int role = 0; role < ES_ROLE_COUNT && grants_read; role++) {
        char name[40], tok[65];
        if (role == ES_ROLE_SYSTEM_ADMIN) {
            snprintf(name, sizeof name, "admin");
            snprintf(tok, sizeof tok, "%s", admin);
        } else if (!account_of(role, admin, name, tok)) {
            ok(0, "an account of role %s, signed in", es_role_name((es_role)role));
            continue;
        }
        int allowed = 0, refused = 0;
        for (size_t i = 0; i < n_routes; i++) {
            route *r = &routes[i];
            if (!r->in_code || (r->flags & ES_HTTP_PUBLIC) || !r->in_table) continue;
            int want = may(role, r->needs);
            ok(want >= 0, "%s %s: docs/accounts.md needs '%s', which is no permission", r->method,
               r->path, r->needs);
            if (want < 0) continue;
            char path[200];
            t_resp resp;
            concrete(r->path, path, sizeof path);
            int st = call(r->method, path, tok, has_body(r->method) ? "{}" : NULL, &resp);
            if (want) {
                ok(st > 0 && st != 401 && st != 403, "%s: %s %s allowed by the tables (%d)", name,
                   r->method, path, st);
                allowed++;
            } else {
                ok(is_forbidden(&resp), "%s: %s %s refused with 403 forbidden (%d)", name,
                   r->method, path, st);
                refused++;
            }
            t_resp_free(&resp);
            /* Signing out ends the token: sign in again for the routes after it. */
            if (want && strcmp(r->method, "DELETE") == 0 &&
                strcmp(r->path, "/api/v1/sessions/current") == 0)
                ok(sign_in(name, role == ES_ROLE_SYSTEM_ADMIN ? ADMIN_PASS : USER_PASS, tok),
                   "%s signs in again", name);
        }
        if (role == ES_ROLE_SYSTEM_ADMIN) snprintf(admin, sizeof admin, "%s", tok);
        printf("%s: %d routes allowed, %d refused\n", es_role_name((es_role)role), allowed,
               refused);
    }

    es_node_stop(node);
    fclose(out);
    char cmd[2100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", var, outpath, conf);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", var);
    return t_done();
}
