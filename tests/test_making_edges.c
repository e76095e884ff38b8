/* The making system's edges (issue 10; docs/making.md) through its API, against a node
 * started inside this binary on 127.0.0.1:0, on SQLite and on the PostgreSQL of the "pg"
 * fixture: the making tables under data protection (`eseal protect check` reports them, a
 * byte changed with SQL is reported and refused at read, a key rotation re-encrypts them and
 * they still read); suspend and restore putting the seal's certificate on hold and releasing
 * it (the CRL read by `openssl crl -text`); a revoked certificate not restored; idempotent
 * creates; the decisions table append-only, their list and an export verified offline;
 * a material of exactly the size limit. */
#include "test.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eseal/making.h"
#include "eseal/national.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "http_client.h"
#include "making_test.h"
#include "store_test.h"

/* ---- parts of the suite */

/* ---- helpers of these parts */

/* Runs the eseal CLI with args (ESEAL_PIN the node's key passphrase); its output in out, its
 * exit status returned (-1: no CLI). */
static int run_cli(const node_t *d, const char *args, char *out, size_t outlen)
{
    char cmd[4096], pinf[700];
    out[0] = 0;
    if (!g_cli) return -1;
    snprintf(pinf, sizeof pinf, "%s/keys/passphrase", d->var);
    snprintf(cmd, sizeof cmd, "ESEAL_PIN=\"$(cat '%s')\" '%s' %s 2>&1", pinf, g_cli, args);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct blob_t {
    uint8_t p[4096];
    size_t len;
} blob_t;

static es_err blob_cb(void *ctx, const es_row *r)
{
    blob_t *b = ctx;
    es_slice s = es_row_blob(r, 0);
    if (s.len > sizeof b->p) return ES_ERR_LIMIT;
    memcpy(b->p, s.p, s.len);
    b->len = s.len;
    return ES_OK;
}

/* Flips one byte of a sealed value with SQL, as someone with the database file would. */
static int flip_byte(const char *url, const char *table, const char *column, int64_t id, size_t at)
{
    es_store *s = NULL;
    char sql[300];
    static blob_t b;
    int good = 0;
    memset(&b, 0, sizeof b);
    es_value p[1] = {es_v_int(id)};
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?", column, table);
    if (es_store_open(url, &s) == ES_OK && es_store_query(s, sql, p, 1, blob_cb, &b) == ES_OK &&
        b.len > at) {
        b.p[at] ^= 0x01;
        es_value u[2] = {es_v_blob(b.p, b.len), es_v_int(id)};
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE id = ?", table, column);
        good = es_store_begin(s) == ES_OK && es_store_exec(s, sql, u, 2, NULL) == ES_OK &&
               es_store_commit(s) == ES_OK;
    }
    es_store_close(s);
    return good;
}

static int64_t material_id(const char *url, int64_t app, const char *name)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT id FROM application_materials WHERE application_id = %lld AND name = '%s'",
             (long long)app, name);
    return count(url, sql);
}

static int get_material(const node_t *d, const char *tok, int64_t id, const char *name, es_buf *out)
{
    char path[200];
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/materials/%s", (long long)id, name);
    int st = req_bytes(d, "GET", path, tok, NULL, NULL, 0, &r);
    out->len = 0;
    if (st == 200 && es_buf_append(out, r.body.p, r.body.len) != ES_OK) st = -1;
    t_resp_free(&r);
    return st;
}

/* ---- 1. the making tables under data protection */

static void protection(const node_t *d, const char *issuer, const char *reviewer, const char *url,
                       const char *kind)
{
    char args[2400], out[16384], path[200];
    int st;
    int64_t id = create(d, issuer, apply_body("数据保护测试章"), &st);
    ok(st == 201 && put_materials(d, issuer, id, "apply"),
       "%s: protect: an application with its materials", kind);
    ok(count(url, "SELECT COUNT(*) FROM protect_tables WHERE tbl IN ('applications', "
                  "'application_materials')") == 2,
       "%s: protect: both making tables are registered at the node's start", kind);
    snprintf(args, sizeof args, "protect status --store '%s'", url);
    int rc = run_cli(d, args, out, sizeof out);
    if (rc < 0) {
        ok(0, "%s: protect: ESEAL_CLI is not set", kind);
        return;
    }
    ok(rc == 0 && strstr(out, "applications") && strstr(out, "application_materials"),
       "%s: eseal protect status lists the making tables: %d\n%s", kind, rc, out);
    int64_t blobs = count(url, "SELECT (SELECT COUNT(agent_idno) + COUNT(agent_mobile) + "
                               "COUNT(unit_address) FROM applications) + (SELECT COUNT(*) FROM "
                               "application_materials)");
    char want[64];
    snprintf(want, sizeof want, " %lld blobs", (long long)blobs);
    snprintf(args, sizeof args, "protect check --store '%s' --kek 'soft:%s/keys#protect'", url,
             d->var);
    rc = run_cli(d, args, out, sizeof out);
    ok(rc == 0 && strstr(out, want) && strstr(out, "PASSED"),
       "%s: eseal protect check opens every sealed value of the making tables (%s): %d\n%s", kind,
       want, rc, out);

    /* A byte changed behind the system's back: reported by the check, refused at read. */
    int64_t mid = material_id(url, id, "licence");
    ok(flip_byte(url, "applications", "agent_idno", id, 40) &&
           flip_byte(url, "application_materials", "bytes", mid, 40),
       "%s: protect: one byte changed in a sealed idno and a sealed material (SQL)", kind);
    rc = run_cli(d, args, out, sizeof out);
    char f1[96], f2[96];
    snprintf(f1, sizeof f1, "FAILED applications/%lld/agent_idno", (long long)id);
    snprintf(f2, sizeof f2, "FAILED application_materials/%lld/bytes", (long long)mid);
    ok(rc == 1 && strstr(out, f1) && strstr(out, f2),
       "%s: eseal protect check reports both and exits 1: %d\n%s", kind, rc, out);
    snprintf(path, sizeof path, "/api/v1/applications/%lld?whole=1", (long long)id);
    json_t *v = jcall(d, "GET", path, reviewer, NULL, &st);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    ok(st >= 400 && (!text || !strstr(text, IDNO)),
       "%s: protect: the changed idno is refused at "
       "read: %d",
       kind, st);
    free(text);
    json_decref(v);
    es_buf got;
    es_buf_init(&got, 1u << 20);
    st = get_material(d, reviewer, id, "licence", &got);
    ok(st >= 400, "%s: protect: the changed material is refused at read: %d", kind, st);
    ok(flip_byte(url, "applications", "agent_idno", id, 40) &&
           flip_byte(url, "application_materials", "bytes", mid, 40),
       "%s: protect: the bytes put back", kind);

    /* A key rotation re-encrypts them; they still read. */
    snprintf(args, sizeof args,
             "protect rotate --store '%s' --kek 'soft:%s/keys#protect' --reencrypt", url, d->var);
    rc = run_cli(d, args, out, sizeof out);
    ok(rc == 0 && strstr(out, "re-encrypted"), "%s: eseal protect rotate --reencrypt: %d\n%s", kind,
       rc, out);
    ok(count(url, "SELECT COUNT(*) FROM protect_keys WHERE purpose = 'data' AND state = "
                  "'previous'") == 0 &&
           count(url, "SELECT COUNT(*) FROM protect_keys WHERE purpose = 'data' AND state = "
                      "'retired'") >= 1,
       "%s: protect: nothing is left under the old data key (retired)", kind);
    snprintf(args, sizeof args, "protect check --store '%s' --kek 'soft:%s/keys#protect'", url,
             d->var);
    rc = run_cli(d, args, out, sizeof out);
    ok(rc == 0 && strstr(out, want), "%s: protect: after the rotation the check passes: %d\n%s",
       kind, rc, out);
    v = jcall(d, "GET", path, reviewer, NULL, &st);
    ok(st == 200 && !strcmp(sget(v, "application.agent_idno"), IDNO),
       "%s: protect: the application reads after the rotation (%d)", kind, st);
    json_decref(v);
    st = get_material(d, reviewer, id, "licence", &got);
    ok(st == 200 && got.len == sizeof pdf - 1 && !memcmp(got.p, pdf, got.len),
       "%s: protect: the material reads after the rotation (%d)", kind, st);
    es_buf_cleanup(&got);
}

/* ---- 2. suspend and restore: the certificate on hold, then released */

/* The CRL the site publishes, as `openssl crl -text` reads it (lower case), in out. */
static int crl_text(const node_t *d, char *out, size_t outlen)
{
    char file[700], cmd[1600];
    t_resp r;
    int st = req_bytes(d, "GET", "/api/v1/ca/crl", NULL, NULL, NULL, 0, &r);
    snprintf(file, sizeof file, "%s/site.crl", d->var);
    int good = st == 200 && es_file_write(file, r.body.p, r.body.len) == ES_OK;
    t_resp_free(&r);
    out[0] = 0;
    if (!good) return 0;
    snprintf(cmd, sizeof cmd, "openssl crl -inform DER -in '%s' -noout -text 2>&1", file);
    FILE *f = popen(cmd, "r");
    if (!f) return 0;
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z') out[i] = (char)(out[i] - 'A' + 'a');
    return pclose(f) == 0;
}

/* The entry of serial in a CRL's text: its lines up to the next entry ("" when not listed). */
static void crl_entry(const char *text, const char *serial, char *out, size_t n)
{
    char want[128];
    snprintf(want, sizeof want, "serial number: %s", serial);
    const char *at = strstr(text, want);
    out[0] = 0;
    if (!at) return;
    const char *end = strstr(at + strlen(want), "serial number:");
    size_t len = end ? (size_t)(end - at) : strlen(at);
    snprintf(out, n, "%.*s", (int)(len < n - 1 ? len : n - 1), at);
}

static void hold(const node_t *d, const char *issuer, const char *reviewer, const char *url,
                 const char *kind)
{
    char code[ES_SEAL_CODE_MAX], made[ES_SEAL_CODE_MAX], serial[80], q[300], text[65536],
        entry[1024];
    int64_t id = approved(d, issuer, reviewer, apply_body("暂停恢复测试章"), "apply");
    ok(id && execute(d, issuer, id, code) == 200, "%s: hold: a seal made (%s)", kind, code);
    json_t *s = seal_get(d, issuer, code);
    snprintf(serial, sizeof serial, "%s", sget(s, "seal.cert_serial"));
    json_decref(s);
    for (char *c = serial; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');

    id = approved(d, issuer, reviewer, json_pack("{s:s,s:s}", "kind", "suspend", "seal_code", code),
                  "suspend");
    ok(id && execute(d, issuer, id, made) == 200, "%s: hold: the seal suspended", kind);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'R' AND reason = 6",
             serial);
    ok(count(url, q) == 1, "%s: hold: its certificate is on hold in the CA (certificateHold)",
       kind);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM audit WHERE action = 'ca.revoke' AND object = 'cert:%s' AND "
             "detail LIKE '%%certificateHold%%'",
             serial);
    ok(count(url, q) == 1, "%s: hold: audited ca.revoke certificateHold", kind);
    ok(crl_text(d, text, sizeof text), "%s: hold: openssl crl -text reads the site's CRL", kind);
    crl_entry(text, serial, entry, sizeof entry);
    ok(entry[0] && strstr(entry, "certificate hold"),
       "%s: hold: the CRL lists %s with certificateHold:\n%s", kind, serial, entry);

    id = approved(d, issuer, reviewer, json_pack("{s:s,s:s}", "kind", "restore", "seal_code", code),
                  "restore");
    ok(id && execute(d, issuer, id, made) == 200, "%s: hold: the seal restored", kind);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'V' AND revoked_at "
             "IS NULL AND reason IS NULL",
             serial);
    ok(count(url, q) == 1, "%s: hold: its certificate released (valid again)", kind);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM audit WHERE action = 'ca.release' AND object = 'cert:%s'",
             serial);
    ok(count(url, q) == 1, "%s: hold: audited ca.release", kind);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM seal_certs WHERE cert_serial = '%s' AND revoked_at IS NULL",
             serial);
    ok(count(url, q) == 1, "%s: hold: the seal's certificate record is unrevoked", kind);
    ok(crl_text(d, text, sizeof text), "%s: hold: the CRL after the restore", kind);
    crl_entry(text, serial, entry, sizeof entry);
    ok(!entry[0] && strstr(text, "certificate revocation list"),
       "%s: hold: the next CRL no longer lists %s", kind, serial);

    /* Suspended again, then revoked for good through the CA: not restored. */
    id = approved(d, issuer, reviewer, json_pack("{s:s,s:s}", "kind", "suspend", "seal_code", code),
                  "suspend");
    ok(id && execute(d, issuer, id, made) == 200, "%s: hold: suspended again", kind);
    snprintf(q, sizeof q, "UPDATE ca_certs SET reason = 1 WHERE serial = '%s'", serial);
    ok(exec_sql(url, q), "%s: hold: the CA revokes the certificate for keyCompromise", kind);
    id = approved(d, issuer, reviewer, json_pack("{s:s,s:s}", "kind", "restore", "seal_code", code),
                  "restore");
    json_t *v = NULL;
    int st = step(d, issuer, id, "execute", pin(), &v);
    ok(id && st == 409 && !strcmp(sget(v, "error"), "seal_cert_revoked"),
       "%s: hold: restoring a seal whose certificate is revoked: 409 seal_cert_revoked (%d %s)",
       kind, st, sget(v, "error"));
    json_decref(v);
    s = seal_get(d, issuer, code);
    ok(s && !strcmp(sget(s, "seal.state"), "suspended"), "%s: hold: the seal stays suspended",
       kind);
    json_decref(s);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'R' AND reason = 1",
             serial);
    ok(count(url, q) == 1, "%s: hold: the certificate stays revoked", kind);
}

/* ---- 3. idempotent creates */

/* POST /api/v1/applications with an Idempotency-Key; the id answered (0: none), *st the status,
 * *replayed whether the answer says so. */
static int64_t create_keyed(const node_t *d, const char *tok, const char *key, const char *body,
                            int *st, int *replayed)
{
    char head[600];
    es_buf q;
    t_resp r;
    es_buf_init(&q, 1u << 20);
    snprintf(head, sizeof head,
             "POST /api/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
             "%s\r\nIdempotency-Key: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             tok, key, strlen(body));
    t_resp_init(&r);
    *st = -1;
    if (es_buf_append_str(&q, head) == ES_OK && es_buf_append_str(&q, body) == ES_OK)
        *st = t_raw(d->port, (const char *)q.p, q.len, &r);
    es_buf_cleanup(&q);
    json_t *v = body_of(&r);
    int64_t id = json_integer_value(json_object_get(json_object_get(v, "application"), "id"));
    if (replayed) {
        char val[32] = "";
        *replayed = t_hdr_n(&r, "Idempotent-Replayed", 0, val, sizeof val) && !strcmp(val, "true");
    }
    json_decref(v);
    t_resp_free(&r);
    return id;
}

typedef struct keyed_race {
    const node_t *d;
    const char *tok, *key, *body;
    int st;
    int64_t id;
} keyed_race;

static void *keyed_run(void *p)
{
    keyed_race *k = p;
    k->id = create_keyed(k->d, k->tok, k->key, k->body, &k->st, NULL);
    return NULL;
}

static void idempotency(const node_t *d, const char *issuer, const char *issuer2, const char *url,
                        const char *kind)
{
    int st, again;
    json_t *b = apply_body("幂等测试章");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int64_t n0 = count(url, "SELECT COUNT(*) FROM applications");
    int64_t id = create_keyed(d, issuer, "create-0001", body, &st, &again);
    ok(st == 201 && id > 0 && !again, "%s: idem: a create with a key: 201 (%d)", kind, st);
    int64_t id2 = create_keyed(d, issuer, "create-0001", body, &st, &again);
    ok(st == 200 && id2 == id && again,
       "%s: idem: the same key and body again: 200, the same application %lld, marked replayed "
       "(%d %lld)",
       kind, (long long)id, st, (long long)id2);
    ok(count(url, "SELECT COUNT(*) FROM applications") == n0 + 1,
       "%s: idem: one application for both", kind);
    ok(count(url, "SELECT COUNT(*) FROM audit WHERE action = 'application.create_repeated'") == 1,
       "%s: idem: the retry is audited", kind);
    json_t *b2 = apply_body("另一个印章");
    char *other = json_dumps(b2, JSON_COMPACT);
    json_decref(b2);
    create_keyed(d, issuer, "create-0001", other, &st, NULL);
    ok(st == 409, "%s: idem: the key with another body: 409 (%d)", kind, st);
    ok(count(url, "SELECT COUNT(*) FROM applications") == n0 + 1, "%s: idem: ... nothing made",
       kind);
    int64_t id3 = create_keyed(d, issuer2, "create-0001", body, &st, &again);
    ok(st == 201 && id3 > 0 && id3 != id && !again,
       "%s: idem: keys are per account: another issuer's same key makes its own (%d)", kind, st);
    create_keyed(d, issuer, "bad key", body, &st, NULL);
    ok(st == 400, "%s: idem: a key with a space: 400 (%d)", kind, st);
    char longkey[200];
    memset(longkey, 'k', 129);
    longkey[129] = 0;
    create_keyed(d, issuer, longkey, body, &st, NULL);
    ok(st == 400, "%s: idem: a key of 129 characters: 400 (%d)", kind, st);

    /* Six concurrent identical creates: one application. */
    json_t *b3 = apply_body("并发幂等测试章");
    char *body3 = json_dumps(b3, JSON_COMPACT);
    json_decref(b3);
    keyed_race kr[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        kr[i] = (keyed_race){d, issuer, "concurrent-0001", body3, 0, 0};
        pthread_create(&th[i], NULL, keyed_run, &kr[i]);
    }
    int created = 0, answered = 0, same = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        created += kr[i].st == 201;
        answered += kr[i].st == 200 || kr[i].st == 201;
        same &= kr[i].id == kr[0].id && kr[i].id > 0;
    }
    ok(created == 1 && answered == THREADS && same &&
           count(url, "SELECT COUNT(*) FROM applications WHERE seal_name = '并发幂等测试章'") == 1,
       "%s: idem: %d concurrent identical creates: %d made it, %d answered, one application", kind,
       THREADS, created, answered);
    free(body);
    free(other);
    free(body3);
}

/* ---- 4. decisions: append-only, listed, exported and verified offline */

/* Writes v to path and runs `eseal decision verify path --trust VAR/ca/ca.crt`. */
static int verify_export(const node_t *d, const json_t *v, const char *name, char *out,
                         size_t outlen)
{
    char path[700], args[1600];
    snprintf(path, sizeof path, "%s/%s", d->var, name);
    if (json_dump_file(v, path, JSON_COMPACT) != 0) return -1;
    snprintf(args, sizeof args, "decision verify '%s' --trust '%s/ca/ca.crt'", path, d->var);
    return run_cli(d, args, out, outlen);
}

static void decisions(const node_t *d, const char *issuer, const char *reviewer,
                      const char *auditor, const char *operator, const char * url, int pg,
                      const char *kind)
{
    char code[ES_SEAL_CODE_MAX], path[200], out[16384];
    int st;
    int64_t id = approved(d, issuer, reviewer, apply_body("决定导出测试章"), "apply");
    ok(id && execute(d, issuer, id, code) == 200, "%s: decisions: an application carried out",
       kind);
    int64_t other = approved(d, issuer, reviewer, apply_body("另一申请的决定"), "apply");

    /* Append-only in the store. */
    int64_t n = count(url, "SELECT COUNT(*) FROM decisions");
    ok(n >= 3 && !exec_sql(url, "UPDATE decisions SET actor = 'mallory'"),
       "%s: decisions: UPDATE refused by the store", kind);
    ok(!exec_sql(url, "DELETE FROM decisions"), "%s: decisions: DELETE refused by the store", kind);
    if (pg)
        ok(!exec_sql(url, "TRUNCATE decisions CASCADE"),
           "%s: decisions: TRUNCATE refused by the store", kind);
    ok(count(url, "SELECT COUNT(*) FROM decisions") == n &&
           count(url, "SELECT COUNT(*) FROM decisions WHERE actor = 'mallory'") == 0,
       "%s: decisions: all %lld still there, unchanged", kind, (long long)n);

    /* The list, by application, by actor, paged; who may. */
    snprintf(path, sizeof path, "/api/v1/decisions?application=%lld", (long long)id);
    json_t *v = jcall(d, "GET", path, reviewer, NULL, &st);
    json_t *items = json_object_get(v, "items");
    ok(st == 200 && json_array_size(items) == 3 &&
           !strcmp(sget(json_array_get(items, 0), "action"), "application.submit") &&
           !strcmp(sget(json_array_get(items, 1), "action"), "application.review") &&
           !strcmp(sget(json_array_get(items, 2), "action"), "application.execute") &&
           !json_object_get(json_array_get(items, 0), "tbs"),
       "%s: decisions: the reviewer lists the application's three (%d, %zu)", kind, st,
       json_array_size(items));
    json_decref(v);
    v = jcall(d, "GET", path, issuer, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 3,
       "%s: decisions: the issuer lists them (%d)", kind, st);
    json_decref(v);
    v = jcall(d, "GET", path, operator, NULL, &st);
    ok(st == 403, "%s: decisions: an operator may not list them: 403 (%d)", kind, st);
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/decisions", reviewer, NULL, &st);
    ok(st == 400 && !strcmp(sget(v, "field"), "application"),
       "%s: decisions: the reviewer without application or actor: 400 application (%d)", kind, st);
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/applications/999999/decisions", reviewer, NULL, &st);
    ok(st == 404, "%s: decisions: the export of no application: 404 (%d)", kind, st);
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/decisions?actor=issuer", reviewer, NULL, &st);
    ok(st == 403, "%s: decisions: the reviewer may not list another's: 403 (%d)", kind, st);
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/decisions?actor=reviewer&limit=200", reviewer, NULL, &st);
    items = json_object_get(v, "items");
    size_t i;
    json_t *it;
    int all = json_array_size(items) > 0;
    json_array_foreach(items, i, it) all &= !strcmp(sget(it, "actor"), "reviewer");
    ok(st == 200 && all, "%s: decisions: the reviewer lists their own (%zu)", kind,
       json_array_size(items));
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/decisions?limit=2", auditor, NULL, &st);
    int64_t next = json_integer_value(json_object_get(v, "next_after"));
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 2 && next > 0,
       "%s: decisions: the auditor pages through all (%d)", kind, st);
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/decisions?limit=2&after=%lld", (long long)next);
    v = jcall(d, "GET", path, auditor, NULL, &st);
    ok(st == 200 && json_integer_value(json_object_get(
                        json_array_get(json_object_get(v, "items"), 0), "id")) > next,
       "%s: decisions: ... the next page starts after %lld", kind, (long long)next);
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/decisions?limit=0", auditor, NULL, &st);
    ok(st == 400 && !strcmp(sget(v, "field"), "limit"), "%s: decisions: limit=0: 400 limit", kind);
    json_decref(v);
    v = jcall(d, "GET", "/api/v1/decisions", NULL, NULL, &st);
    ok(st == 401, "%s: decisions: no session: 401 (%d)", kind, st);
    json_decref(v);

    /* The export, verified offline; tampered, it fails. */
    snprintf(path, sizeof path, "/api/v1/applications/%lld/decisions", (long long)id);
    json_t *ex = jcall(d, "GET", path, reviewer, NULL, &st);
    json_t *list = json_object_get(ex, "decisions");
    ok(st == 200 && json_array_size(list) == 3 && json_object_get(json_array_get(list, 0), "tbs"),
       "%s: decisions: the export of the application (%d)", kind, st);
    json_decref(jcall(d, "GET", path, operator, NULL, &st));
    ok(st == 403, "%s: decisions: an operator may not export: 403 (%d)", kind, st);
    int rc = verify_export(d, ex, "export.json", out, sizeof out);
    if (rc < 0) {
        ok(0, "%s: decisions: ESEAL_CLI is not set", kind);
        json_decref(ex);
        return;
    }
    ok(rc == 0 && strstr(out, "3 of 3 decisions PASSED"),
       "%s: eseal decision verify passes the export: %d\n%s", kind, rc, out);
    /* One signature byte changed. */
    json_t *t = json_deep_copy(ex);
    json_t *second = json_array_get(json_object_get(t, "decisions"), 1);
    char sig[512];
    snprintf(sig, sizeof sig, "%s", sget(second, "signature"));
    sig[20] = sig[20] == 'A' ? 'B' : 'A';
    json_object_set_new(second, "signature", json_string(sig));
    rc = verify_export(d, t, "tampered.json", out, sizeof out);
    ok(rc == 1 && strstr(out, "decision 2: FAILED") && strstr(out, "2 of 3"),
       "%s: eseal decision verify: a changed signature fails: %d\n%s", kind, rc, out);
    json_decref(t);
    /* A decision of another application slipped in. */
    snprintf(path, sizeof path, "/api/v1/applications/%lld/decisions", (long long)other);
    json_t *ox = jcall(d, "GET", path, reviewer, NULL, &st);
    t = json_deep_copy(ex);
    json_array_append(json_object_get(t, "decisions"),
                      json_array_get(json_object_get(ox, "decisions"), 0));
    rc = verify_export(d, t, "foreign.json", out, sizeof out);
    ok(other && rc == 1 && strstr(out, "decision 4: FAILED") && strstr(out, "not application:"),
       "%s: eseal decision verify: another application's decision fails: %d\n%s", kind, rc, out);
    json_decref(t);
    json_decref(ox);
    json_decref(ex);
}

/* ---- 7. materials at the size limit */

/* The built-in tables with the apply licence row raised to ES_MK_MATERIAL_MAX (the largest a
 * row may allow), for the node's [making] tables. */
static void write_tables(const node_t *d)
{
    char path[700];
    es_buf b;
    es_buf_init(&b, 1u << 20);
    if (es_tables_write(es_tables_builtin(), &b) != ES_OK || es_buf_nul(&b) != ES_OK)
        st_die("tables");
    char *row = strstr((char *)b.p, "[material.apply.licence]");
    char *max = row ? strstr(row, "max_bytes = 10485760") : NULL;
    if (!max) st_die("no licence row in the built-in tables");
    char big[32];
    snprintf(big, sizeof big, "max_bytes = %-8u", (unsigned)ES_MK_MATERIAL_MAX);
    memcpy(max, big, strlen(big)); /* the same length: "20971520" for "10485760" */
    snprintf(path, sizeof path, "%s.tables", d->var);
    if (es_file_write(path, b.p, strlen((char *)b.p)) != ES_OK) st_die("cannot write %s", path);
    es_buf_cleanup(&b);
}

/* A PDF (as the type sniffing sees it) of exactly n bytes, each call's content different. */
static uint8_t *pdf_of(size_t n, char fill)
{
    static const char head[] = "%PDF-1.4\n%", tail[] = "\n%%EOF\n";
    uint8_t *p = malloc(n);
    if (!p) st_die("memory");
    memset(p, fill, n);
    memcpy(p, head, sizeof head - 1);
    memcpy(p + n - (sizeof tail - 1), tail, sizeof tail - 1);
    return p;
}

static void material_limit(const node_t *d, const char *issuer, const char *reviewer,
                           const char *url, const char *kind)
{
    int st;
    es_buf got;
    es_buf_init(&got, ES_MK_MATERIAL_MAX + 64);
    int64_t id = create(d, issuer, apply_body("材料上限测试章"), &st);
    ok(st == 201, "%s: limit: an application", kind);
    const size_t max = ES_MK_MATERIAL_MAX, doc = 10485760;
    uint8_t *a = pdf_of(max, 'a'), *b = pdf_of(max + 1, 'b');
    st = put_material(d, issuer, id, "licence", a, max);
    ok(st == 200,
       "%s: limit: a material of exactly %zu bytes (the largest a row may allow) is stored (%d)",
       kind, max, st);
    st = get_material(d, reviewer, id, "licence", &got);
    ok(st == 200 && got.len == max && !memcmp(got.p, a, max),
       "%s: limit: ... and reads back whole (%d, %zu bytes)", kind, st, got.len);
    /* One byte more: answered 413 from the head, before the body is read (the client sends
     * the head only and reads the answer, as a client that waits for it would). */
    char head[600];
    snprintf(head, sizeof head,
             "PUT /api/v1/applications/%lld/materials/licence HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/pdf\r\n"
             "Content-Length: %zu\r\n\r\n",
             (long long)id, issuer, max + 1);
    t_resp hr;
    t_resp_init(&hr);
    int fd = t_connect(d->port);
    st = fd >= 0 && t_send(fd, head, strlen(head)) == 0 ? t_response(fd, 0, &hr) : -1;
    if (fd >= 0) close(fd);
    t_resp_free(&hr);
    ok(st == 413, "%s: limit: one byte more is refused before it is read: 413 (%d)", kind, st);
    st = get_material(d, reviewer, id, "licence", &got);
    ok(st == 200 && got.len == max && !memcmp(got.p, a, max),
       "%s: limit: ... and the stored one is intact", kind);
    /* A row of the built-in tables: 10 MiB. */
    ok(put_material(d, issuer, id, "agent_id_card", a, doc) == 200,
       "%s: limit: exactly the row's 10 MiB is stored", kind);
    st = get_material(d, reviewer, id, "agent_id_card", &got);
    ok(st == 200 && got.len == doc && !memcmp(got.p, a, doc),
       "%s: limit: ... and reads back whole (%d)", kind, st);
    t_resp r;
    char path[200];
    snprintf(path, sizeof path, "/api/v1/applications/%lld/materials/agent_contact", (long long)id);
    st = req_bytes(d, "PUT", path, issuer, "application/pdf", b, doc + 1, &r);
    json_t *e = body_of(&r);
    ok(st == 413 && e, "%s: limit: the row's limit + 1: 413 (%d %.*s)", kind, st, (int)r.body.len,
       (const char *)r.body.p);
    json_decref(e);
    t_resp_free(&r);
    char q[200];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM application_materials WHERE application_id = %lld AND name = "
             "'agent_contact'",
             (long long)id);
    ok(count(url, q) == 0, "%s: limit: ... and nothing stored for it", kind);
    free(a);
    free(b);
    es_buf_cleanup(&got);
}

/* ---- 5. a decision signed with a USBKey (here a key file, as `eseal decision sign` takes) */

static void usbkey(const node_t *d, const char *admin, const char *issuer, const char *url,
                   const char *kind)
{
    char tok[65], keyfile[700], tbsfile[700], sigfile[700], args[2400], out[8192], path[300];
    int st;
    /* A reviewer whose signing key is in a USBKey: enrolled with its CSR, no PIN. */
    json_t *v = jcall(d, "POST", "/api/v1/users", admin,
                      json_pack("{s:s,s:s,s:[s]}", "name", "tokrev", "display_name", "tokrev",
                                "roles", "reviewer"),
                      &st);
    char otp[64];
    snprintf(otp, sizeof otp, "%s", sget(v, "one_time_password"));
    json_decref(v);
    ok(st == 201 && sign_in(d, "tokrev", otp, tok) == 201, "%s: usbkey: a reviewer signs in", kind);
    json_decref(jcall(d, "POST", "/api/v1/users/me/password", tok,
                      json_pack("{s:s,s:s}", "old_password", otp, "new_password", USER_PASS), &st));
    es_sm2_key *k = NULL;
    es_signer *sg = NULL;
    es_buf kp, csr, pem;
    es_buf_init(&kp, 8192);
    es_buf_init(&csr, 65536);
    es_buf_init(&pem, 65536);
    es_name subj;
    char why[200];
    snprintf(keyfile, sizeof keyfile, "%s/tokrev.pem", d->var);
    if (es_sm2_key_generate(&k) != ES_OK || es_sm2_key_to_pem(k, NULL, &kp) != ES_OK ||
        es_file_write(keyfile, kp.p, kp.len) != ES_OK || es_signer_from_key(k, &sg) != ES_OK ||
        es_pki_name_parse("/CN=tokrev", &subj, why, sizeof why) != ES_OK ||
        es_pki_csr_make(&subj, NULL, 0, sg, &csr) != ES_OK ||
        es_pem_encode("CERTIFICATE REQUEST", csr.p, csr.len, &pem) != ES_OK ||
        es_buf_nul(&pem) != ES_OK)
        st_die("the token key");
    v = jcall(d, "POST", "/api/v1/me/signing-key", tok,
              json_pack("{s:s}", "csr", (const char *)pem.p), &st);
    ok(st == 201 && !strcmp(sget(v, "kind"), "token"), "%s: usbkey: its key enrolled (%d)", kind,
       st);
    json_decref(v);

    int64_t id = create(d, issuer, apply_body("USBKey审核测试章"), &st);
    ok(id && put_materials(d, issuer, id, "apply") && put_picture(d, issuer, id, 42, 42) == 200 &&
           step(d, issuer, id, "submit", pin(), NULL) == 200,
       "%s: usbkey: an application submitted", kind);
    ok(step(d, tok, id, "review", approve(), NULL) == 409,
       "%s: usbkey: a PIN for a USBKey's key: 409", kind);

    /* The canonical bytes of the review about to be taken, signed offline. */
    snprintf(path, sizeof path,
             "/api/v1/applications/%lld/decision-tbs?step=review&verdict=approve&opinion=ok",
             (long long)id);
    v = jcall(d, "GET", path, tok, NULL, &st);
    es_time at = (es_time)json_integer_value(json_object_get(v, "at"));
    es_buf tbs, sig, b64;
    es_buf_init(&tbs, 65536);
    es_buf_init(&sig, 4096);
    es_buf_init(&b64, 8192);
    const char *t64 = sget(v, "tbs");
    ok(st == 200 && at > 0 && es_base64_decode(t64, strlen(t64), &tbs) == ES_OK && tbs.len > 0 &&
           strstr(sget(v, "command"), "eseal decision sign --key 'skf:"),
       "%s: usbkey: GET decision-tbs gives the canonical bytes, their time and the command (%d)",
       kind, st);
    json_decref(v);
    json_decref(jcall(d, "GET", path, issuer, NULL, &st));
    ok(st == 403, "%s: usbkey: the bytes of a review for an issuer: 403 (%d)", kind, st);
    snprintf(tbsfile, sizeof tbsfile, "%s/review.tbs", d->var);
    snprintf(sigfile, sizeof sigfile, "%s/review.sig", d->var);
    ok(es_file_write(tbsfile, tbs.p, tbs.len) == ES_OK, "%s: usbkey: bytes saved", kind);
    snprintf(args, sizeof args, "decision sign --key '%s' '%s' -o '%s'", keyfile, tbsfile, sigfile);
    int rc = run_cli(d, args, out, sizeof out);
    ok(rc == 0 && es_file_read(sigfile, &sig) == ES_OK,
       "%s: usbkey: eseal decision sign signs them: %d\n%s", kind, rc, out);
    ok(es_base64_encode(sig.p, sig.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK,
       "%s: usbkey: base64", kind);
    const char *s64 = (const char *)b64.p;
    /* The wrong time (the signature covers another): refused; too old: refused. */
    ok(step(d, tok, id, "review",
            json_pack("{s:s,s:s,s:s,s:I}", "verdict", "approve", "opinion", "ok", "signature", s64,
                      "at", (json_int_t)(at - 1)),
            NULL) >= 400,
       "%s: usbkey: the signature with another time is refused", kind);
    ok(step(d, tok, id, "review",
            json_pack("{s:s,s:s,s:s,s:I}", "verdict", "approve", "opinion", "ok", "signature", s64,
                      "at", (json_int_t)(at - 3600)),
            NULL) == 400,
       "%s: usbkey: bytes an hour old: 400", kind);
    ok(step(d, tok, id, "review",
            json_pack("{s:s,s:s,s:s,s:I}", "verdict", "approve", "opinion", "changed", "signature",
                      s64, "at", (json_int_t)at),
            NULL) >= 400,
       "%s: usbkey: another opinion than signed is refused", kind);
    v = NULL;
    st = step(d, tok, id, "review",
              json_pack("{s:s,s:s,s:s,s:I}", "verdict", "approve", "opinion", "ok", "signature",
                        s64, "at", (json_int_t)at),
              &v);
    ok(st == 200 && !strcmp(sget(v, "application.state"), "approved"),
       "%s: usbkey: the review signed with the USBKey is taken: 200 approved (%d)", kind, st);
    json_decref(v);
    char q[300];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM decisions WHERE actor = 'tokrev' AND action = "
             "'application.review' AND object = 'application:%lld' AND at = %lld",
             (long long)id, (long long)at);
    ok(count(url, q) == 1, "%s: usbkey: stored with the signed time", kind);
    snprintf(path, sizeof path, "/api/v1/applications/%lld/decisions", (long long)id);
    json_t *ex = jcall(d, "GET", path, tok, NULL, &st);
    rc = verify_export(d, ex, "usbkey-export.json", out, sizeof out);
    ok(rc == 0 && strstr(out, "2 of 2 decisions PASSED"),
       "%s: usbkey: the export verifies offline: %d\n%s", kind, rc, out);
    json_decref(ex);

    /* The delivery signed with the USBKey of an issuer whose key is in a token. */
    char code[ES_SEAL_CODE_MAX] = "", itok[65], ikey[700], dtbs[700], dsig[700];
    ok(execute(d, issuer, id, code) == 200 && code[0], "%s: usbkey: the seal made (%s)", kind,
       code);
    v = jcall(d, "POST", "/api/v1/users", admin,
              json_pack("{s:s,s:s,s:[s]}", "name", "tokiss", "display_name", "tokiss", "roles",
                        "seal_issuer"),
              &st);
    snprintf(otp, sizeof otp, "%s", sget(v, "one_time_password"));
    json_decref(v);
    ok(st == 201 && sign_in(d, "tokiss", otp, itok) == 201, "%s: usbkey: an issuer signs in", kind);
    json_decref(jcall(d, "POST", "/api/v1/users/me/password", itok,
                      json_pack("{s:s,s:s}", "old_password", otp, "new_password", USER_PASS), &st));
    es_sm2_key *ik = NULL;
    es_signer *isg = NULL;
    kp.len = csr.len = pem.len = 0;
    snprintf(ikey, sizeof ikey, "%s/tokiss.pem", d->var);
    if (es_sm2_key_generate(&ik) != ES_OK || es_sm2_key_to_pem(ik, NULL, &kp) != ES_OK ||
        es_file_write(ikey, kp.p, kp.len) != ES_OK || es_signer_from_key(ik, &isg) != ES_OK ||
        es_pki_name_parse("/CN=tokiss", &subj, why, sizeof why) != ES_OK ||
        es_pki_csr_make(&subj, NULL, 0, isg, &csr) != ES_OK ||
        es_pem_encode("CERTIFICATE REQUEST", csr.p, csr.len, &pem) != ES_OK ||
        es_buf_nul(&pem) != ES_OK)
        st_die("the issuer's token key");
    json_decref(jcall(d, "POST", "/api/v1/me/signing-key", itok,
                      json_pack("{s:s}", "csr", (const char *)pem.p), &st));
    ok(st == 201, "%s: usbkey: the issuer's key enrolled (%d)", kind, st);
    snprintf(path, sizeof path, "/api/v1/seals/%s/decision-tbs?to=%s", code, "unit-agent");
    json_decref(jcall(d, "GET", path, tok, NULL, &st));
    ok(st == 403, "%s: usbkey: a reviewer asks for the bytes of a delivery: 403 (%d)", kind, st);
    v = jcall(d, "GET", path, itok, NULL, &st);
    at = (es_time)json_integer_value(json_object_get(v, "at"));
    tbs.len = sig.len = b64.len = 0;
    t64 = sget(v, "tbs");
    ok(st == 200 && at > 0 && es_base64_decode(t64, strlen(t64), &tbs) == ES_OK && tbs.len > 0,
       "%s: usbkey: GET /seals/{code}/decision-tbs gives the delivery's bytes (%d)", kind, st);
    json_decref(v);
    snprintf(dtbs, sizeof dtbs, "%s/deliver.tbs", d->var);
    snprintf(dsig, sizeof dsig, "%s/deliver.sig", d->var);
    snprintf(args, sizeof args, "decision sign --key '%s' '%s' -o '%s'", ikey, dtbs, dsig);
    ok(es_file_write(dtbs, tbs.p, tbs.len) == ES_OK && run_cli(d, args, out, sizeof out) == 0 &&
           es_file_read(dsig, &sig) == ES_OK && es_base64_encode(sig.p, sig.len, &b64) == ES_OK &&
           es_buf_nul(&b64) == ES_OK,
       "%s: usbkey: the delivery signed offline\n%s", kind, out);
    s64 = (const char *)b64.p;
    snprintf(path, sizeof path, "/api/v1/seals/%s/deliver", code);
    json_decref(jcall(
        d, "POST", path, itok,
        json_pack("{s:s,s:s,s:I}", "to", "someone-else", "signature", s64, "at", (json_int_t)at),
        &st));
    ok(st >= 400, "%s: usbkey: the signature handed in for another recipient: refused (%d)", kind,
       st);
    json_decref(jcall(d, "POST", path, itok,
                      json_pack("{s:s,s:s,s:I}", "to", "unit-agent", "signature", s64, "at",
                                (json_int_t)(at - 3600)),
                      &st));
    ok(st == 400, "%s: usbkey: delivery bytes an hour old: 400 (%d)", kind, st);
    v = jcall(
        d, "POST", path, itok,
        json_pack("{s:s,s:s,s:I}", "to", "unit-agent", "signature", s64, "at", (json_int_t)at),
        &st);
    ok(st == 200 && !strcmp(sget(v, "seal.delivered_to"), "unit-agent"),
       "%s: usbkey: the delivery signed with the USBKey is taken (%d)", kind, st);
    json_decref(v);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM decisions WHERE actor = 'tokiss' AND action = 'seal.deliver' "
             "AND object = 'seal:%s' AND at = %lld",
             code, (long long)at);
    ok(count(url, q) == 1, "%s: usbkey: the delivery's decision stored with the signed time", kind);
    es_signer_free(isg);

    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b64);
    es_buf_cleanup_secret(&kp);
    es_buf_cleanup(&csr);
    es_buf_cleanup(&pem);
    es_signer_free(sg);
}

/* PARTS */

static void suite(const char *kind, const char *url)
{
    node_t d;
    char admin[65], issuer[65], issuer2[65], reviewer[65], auditor[65], operator[65];
    int st;
    node_init(&d, kind, "var", url);
    write_tables(&d);
    snprintf(d.extra, sizeof d.extra, "[making]\ntables = %s.tables\n", d.var);
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts", kind);
        return;
    }
    const char *store = d.store;
    ok(admin_in(&d, admin), "%s: admin signs in", kind);
    ok(account(&d, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&d, admin, "issuer2", "[\"seal_issuer\"]", issuer2) &&
           account(&d, admin, "reviewer", "[\"reviewer\"]", reviewer) &&
           account(&d, admin, "operator1", "[\"operator\"]", operator),
       "%s: accounts of the making roles", kind);
    ok(auditor_in(&d, auditor), "%s: the auditor signs in", kind);

    protection(&d, issuer, reviewer, store, kind);
    hold(&d, issuer, reviewer, store, kind);
    idempotency(&d, issuer, issuer2, store, kind);
    decisions(&d, issuer, reviewer, auditor, operator, store, url != NULL, kind);
    material_limit(&d, issuer, reviewer, store, kind);
    usbkey(&d, admin, issuer, store, kind);
    /* SUITE */

    json_t *v = jcall(&d, "GET", "/api/v1/audit/verify", auditor, NULL, &st);
    ok(st == 200 && json_is_true(json_object_get(v, "intact")),
       "%s: the audit trail verifies after these parts", kind);
    json_decref(v);
    node_stop(&d);
}

int main(void)
{
    unsetenv("ESEAL_PIN");
    unsetenv(ES_MAKING_PAUSE_ENV);
    signal(SIGPIPE, SIG_IGN);
    g_cli = getenv("ESEAL_CLI");
    make_fixtures();
    suite("sqlite", NULL);
    if (st_pg_ready()) suite("postgresql", st_pg_db("making_edges"));
    free_fixtures();
    return t_done();
}
