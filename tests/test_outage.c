/* The store failing under authentication (issue 13, "claims with no test"): while the node's
 * PostgreSQL database refuses every connection (its sessions terminated, connections to it
 * disallowed: what a stopped or unreachable server looks like to the node), a sign-in and a
 * request with a valid session token answer 503 with the error table's shape and no detail,
 * never 401 (an outage must not look like a wrong password or sign people out) nor 500; once
 * the database is back, the same token works and sign-in succeeds: nothing was lost.
 *
 * PostgreSQL only: the node reconnects there, and stopping a database under a running node is
 * real. (SQLite's failures under a live connection are a lock held for its 30 s busy timeout.)
 * Without PostgreSQL outside CI the test is skipped (77), in CI it fails (store_test.h). */
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eseal/node.h"
#include "http_client.h"
#include "store_test.h"

#define ADMIN_PASS "Strong-Pass-2026!"

static unsigned port;
static char outpath[600];

static int call(const char *method, const char *path, const char *tok, const char *body, t_resp *r)
{
    char h[256] = "";
    size_t n = 0;
    if (tok) n += (size_t)snprintf(h + n, sizeof h - n, "Authorization: Bearer %s\r\n", tok);
    if (body) snprintf(h + n, sizeof h - n, "Content-Type: application/json\r\n");
    t_resp_init(r);
    return t_req(port, method, path, h, body, r);
}

/* Signs in; the token into tok; returns the status (the response's error code in err). */
static int sign_in(const char *name, const char *pass, char tok[65], char err[32])
{
    char body[256];
    t_resp r;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pass);
    int st = call("POST", "/api/v1/sessions", NULL, body, &r);
    json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(v, "token"));
    const char *e = json_string_value(json_object_get(v, "error"));
    snprintf(tok, 65, "%s", st == 201 && t ? t : "");
    if (err) snprintf(err, 32, "%s", e ? e : "");
    json_decref(v);
    t_resp_free(&r);
    return st;
}

/* A 503 as the error table gives it (io, busy or unavailable), its messages, nothing of the
 * store's own words. */
static int is_outage(const t_resp *r, const char *db)
{
    json_t *v = json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
    const char *e = json_string_value(json_object_get(v, "error"));
    int good = r->status == 503 && e &&
               (strcmp(e, "io") == 0 || strcmp(e, "busy") == 0 || strcmp(e, "unavailable") == 0) &&
               json_is_string(json_object_get(v, "message")) &&
               json_is_string(json_object_get(v, "message_zh")) &&
               !strstr((const char *)r->body.p, db) && !strstr((const char *)r->body.p, "FATAL");
    if (!good)
        fprintf(stderr, "  got %d: %.*s\n", r->status, (int)(r->body.len > 300 ? 300 : r->body.len),
                (const char *)r->body.p);
    json_decref(v);
    return good;
}

static void set_db(const char *db, int allow)
{
    char sql[200];
    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS %s", db,
             allow ? "true" : "false");
    st_pg_admin(sql);
    if (!allow) {
        snprintf(sql, sizeof sql,
                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' "
                 "AND pid <> pg_backend_pid()",
                 db);
        st_pg_admin(sql);
    }
}

int main(void)
{
    if (!st_pg_ready()) return t_done();
    const char *url = st_pg_db("outage");
    char db[64];
    snprintf(db, sizeof db, "es_outage_%ld", (long)getpid());

    char var[512], conf[700];
    snprintf(var, sizeof var, "%s/var", st_tmp());
    snprintf(conf, sizeof conf, "%s/esealsd.conf", st_tmp());
    snprintf(outpath, sizeof outpath, "%s/out", st_tmp());
    FILE *cf = fopen(conf, "w");
    if (!cf ||
        fprintf(cf, "[store]\nurl = %s\n[log]\nlevel = error\n[factors]\nenforce = false\n", url) <
            0 ||
        fclose(cf) != 0)
        return 2;
    FILE *out = fopen(outpath, "w");
    if (!out) return 2;
    es_node_opts o = {conf, "127.0.0.1:0", var, out};
    es_node *node = NULL;
    char why[600] = "";
    es_err rv = es_node_start(&o, &node, why, sizeof why);
    fflush(out);
    if (rv != ES_OK) {
        fprintf(stderr, "the node does not start: %s (%s)\n", why, es_err_str(rv));
        return 2;
    }
    port = es_node_port(node);

    /* The administrator, with a password of their own and a session. */
    char otp[64] = "", tok[65], tok2[65], err[32];
    es_buf b = t_read(outpath);
    if (es_buf_nul(&b) == ES_OK) {
        const char *p = strstr((const char *)b.p, "one-time password for admin: ");
        if (p) sscanf(p + strlen("one-time password for admin: "), "%63s", otp);
    }
    es_buf_cleanup(&b);
    ok(otp[0] && sign_in("admin", otp, tok, NULL) == 201, "the administrator signs in");
    char body[256];
    t_resp r;
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", otp,
             ADMIN_PASS);
    ok(call("POST", "/api/v1/users/me/password", tok, body, &r) == 200, "and sets a password");
    t_resp_free(&r);
    ok(call("GET", "/api/v1/users", tok, NULL, &r) == 200, "the session works");
    t_resp_free(&r);

    /* The database goes away under the node. */
    set_db(db, 0);
    snprintf(body, sizeof body, "{\"username\":\"admin\",\"password\":\"%s\"}", ADMIN_PASS);
    call("POST", "/api/v1/sessions", NULL, body, &r);
    ok(is_outage(&r, db), "store down: sign-in with the right password answers 503");
    t_resp_free(&r);
    call("POST", "/api/v1/sessions", NULL,
         "{\"username\":\"admin\",\"password\":\"wrong-Pass-1!\"}", &r);
    ok(is_outage(&r, db), "store down: sign-in with a wrong password answers 503, not 401");
    t_resp_free(&r);
    call("GET", "/api/v1/sessions/current", tok, NULL, &r);
    ok(is_outage(&r, db), "store down: a valid session token answers 503, not 401");
    t_resp_free(&r);
    call("GET", "/api/v1/users", tok, NULL, &r);
    ok(is_outage(&r, db), "store down: a request of the session answers 503");
    t_resp_free(&r);
    call("GET", "/healthz", NULL, NULL, &r);
    ok(r.status == 200 || r.status == 503, "/healthz answers (%d)", r.status);
    t_resp_free(&r);

    /* Back. The node's connections were cut: each fails once more, on whatever request comes
     * to it first, and reconnects. So the first requests may still be 503, never 401 (a store
     * failure taken for "no such account" was a 401 here). Then the same session token works,
     * and sign-in succeeds: nothing was lost or locked. */
    set_db(db, 1);
    int n401 = 0, st = -1;
    for (int i = 0; i < 40; i++) {
        st = sign_in("admin", ADMIN_PASS, tok2, err);
        if (st == 401) n401++;
        int st2 = call("GET", "/api/v1/sessions/current", tok, NULL, &r);
        t_resp_free(&r);
        if (st2 == 401) n401++;
        if (st != 201 && st != 503) break;
        if (i >= 8 && st == 201 && st2 == 200) break; /* past every connection of the pool */
    }
    ok(n401 == 0, "store back: no request was answered 401 while the node reconnected (%d)", n401);
    ok(st == 201, "store back: sign-in succeeds (%d %s)", st, err);
    ok(call("GET", "/api/v1/sessions/current", tok, NULL, &r) == 200,
       "store back: the session of before the outage works");
    t_resp_free(&r);

    es_node_stop(node);
    fclose(out);
    return t_done();
}
