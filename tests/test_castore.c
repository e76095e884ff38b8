/* The CA's state in the store (include/eseal/castore.h, docs/ca.md "State"): the same suite on
 * SQLite and on PostgreSQL (tests/store_test.h): issuance recorded and audited in one
 * transaction, serials never reused and a collision drawn again, revocation (a revoked one is
 * ES_ERR_REVOKED), CRL numbers, a rollback leaving neither the change nor its audit record, a
 * writer of another process refused at once (ES_ERR_BUSY) while a reader goes on, an es_ca
 * shared by threads with their own connections, and the import of a CA directory of the old
 * layout (index.txt, crlnumber, certs/). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_test.h"
#include "test.h"

#include "eseal/audit.h"
#include "eseal/castore.h"
#include "eseal/clients.h"
#include "eseal/keydev.h"
#include "eseal/pki.h"
#include "store/internal.h"

#define USCC "91350100M000100Y43"
#define UNIT "某某市人力资源和社会保障局"

static char g_dir[600];  /* the CA directory (config, ca.crt, profiles; no state) */
static es_signer *g_key; /* a subject key */
static es_secret_src g_pin;

static es_name name_of(const char *text)
{
    es_name n;
    char why[256];
    if (es_pki_name_parse(text, &n, why, sizeof why) != ES_OK) st_die("name %s: %s", text, why);
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A CA directory made once, on a soft key. */
static void make_ca(void)
{
    char keys[700], ref[800];
    snprintf(g_dir, sizeof g_dir, "%s/ca", st_tmp());
    snprintf(keys, sizeof keys, "%s/keys", st_tmp());
    snprintf(ref, sizeof ref, "soft:%s#root", keys);
    setenv("ESEAL_TEST_CA_PIN", "castore-test-passphrase", 1);
    g_pin = es_secret_env("ESEAL_TEST_CA_PIN");
    es_name subject = name_of("/C=CN/O=人力资源和社会保障部/CN=castore test root");
    es_ca_init_params p;
    memset(&p, 0, sizeof p);
    p.dir = g_dir;
    p.key_ref = ref;
    p.pin = &g_pin;
    p.generate_key = 1;
    p.subject = &subject;
    p.days = 3650;
    es_pki_lint lint;
    es_err rv = es_ca_init(&p, &lint);
    if (rv != ES_OK) st_die("es_ca_init: %s", es_err_str(rv));
    g_key = st_signer();
}

static es_ca *load_ca(void)
{
    es_ca *ca = NULL;
    char why[256];
    if (es_ca_load(g_dir, &ca, why, sizeof why) != ES_OK) st_die("es_ca_load: %s", why);
    if (es_ca_login(ca, &g_pin) != ES_OK) st_die("es_ca_login");
    return ca;
}

static es_err issue(es_ca *ca, const es_ca_state *st, const char *cn, es_buf *out,
                    char serial[2 * ES_PKI_SERIAL_MAX + 1])
{
    char subj[256];
    snprintf(subj, sizeof subj, "/C=CN/O=" USCC UNIT "/CN=%s", cn);
    es_name n = name_of(subj);
    es_ca_request r;
    memset(&r, 0, sizeof r);
    r.profile = "seal";
    r.subject = &n;
    r.pub = g_key->pub;
    r.not_before = ES_TIME_NONE;
    es_pki_lint lint;
    out->len = 0;
    return es_ca_issue_in(ca, st, &r, &lint, out, serial);
}

static int64_t count(es_store *s, const char *sql)
{
    int64_t n = -1;
    if (es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) return -1;
    return n;
}

typedef struct entry_copy {
    int n;
    es_ca_entry e;
    char subject[512];
    es_buf cert;
} entry_copy;

static es_err copy_cb(void *ctx, const es_ca_entry *e)
{
    entry_copy *c = ctx;
    c->n++;
    c->e = *e;
    snprintf(c->subject, sizeof c->subject, "%s", e->subject);
    c->e.subject = c->subject;
    c->cert.len = 0;
    return es_buf_append(&c->cert, e->cert.p, e->cert.len);
}

static es_err count_cb(void *ctx, const es_ca_entry *e)
{
    (void)e;
    (*(int *)ctx)++;
    return ES_OK;
}

/* --- a state whose record collides once, as if another writer had taken the serial --- */

typedef struct collide_ctx {
    es_castore *cs;
    int records;
    char first[64], second[64];
} collide_ctx;

static es_err co_begin(void *c, const char *ca, int w)
{
    return es_castore_ops.begin(((collide_ctx *)c)->cs, ca, w);
}
static es_err co_commit(void *c)
{
    return es_castore_ops.commit(((collide_ctx *)c)->cs);
}
static void co_rollback(void *c)
{
    es_castore_ops.rollback(((collide_ctx *)c)->cs);
}
static es_err co_get(void *c, const char *ca, const char *s, es_ca_entry_cb cb, void *x)
{
    return es_castore_ops.get(((collide_ctx *)c)->cs, ca, s, cb, x);
}
static es_err co_list(void *c, const char *ca, int r, es_ca_entry_cb cb, void *x)
{
    return es_castore_ops.list(((collide_ctx *)c)->cs, ca, r, cb, x);
}
static es_err co_record(void *c, const char *ca, const es_ca_entry *e)
{
    collide_ctx *cc = c;
    cc->records++;
    if (cc->records == 1) {
        /* Someone else's row with this serial lands first: the real record then refuses. */
        snprintf(cc->first, sizeof cc->first, "%s", e->serial);
        es_ca_entry other = *e;
        other.subject = "/CN=someone else";
        es_err rv = es_castore_ops.record(cc->cs, ca, &other);
        if (rv != ES_OK) return rv;
    } else {
        snprintf(cc->second, sizeof cc->second, "%s", e->serial);
    }
    return es_castore_ops.record(cc->cs, ca, e);
}
static es_err co_revoke(void *c, const char *ca, const es_ca_entry *e)
{
    return es_castore_ops.revoke(((collide_ctx *)c)->cs, ca, e);
}
static es_err co_crl_next(void *c, const char *ca, uint64_t *n)
{
    return es_castore_ops.crl_next(((collide_ctx *)c)->cs, ca, n);
}
static es_err co_crl_record(void *c, const char *ca, uint64_t n, es_slice d, es_time at)
{
    return es_castore_ops.crl_record(((collide_ctx *)c)->cs, ca, n, d, at);
}
/* A commit that fails: the unit is rolled back instead. */
static es_err co_commit_fails(void *c)
{
    co_rollback(c);
    return ES_ERR_IO;
}

static const es_ca_state_ops collide_ops = {co_begin,      co_commit, co_rollback, co_get,
                                            co_list,       co_record, co_revoke,   co_crl_next,
                                            co_crl_record, NULL};
static const es_ca_state_ops failing_ops = {
    co_begin,  co_commit_fails, co_rollback, co_get,        co_list,
    co_record, co_revoke,       co_crl_next, co_crl_record, NULL};

/* --- threads sharing one es_ca, each with its own connection --- */

typedef struct thread_job {
    es_ca *ca;
    const char *url;
    es_signer *audit;
    int issued;
    char serials[20][2 * ES_PKI_SERIAL_MAX + 1];
} thread_job;

static void *thread_issue(void *arg)
{
    thread_job *j = arg;
    es_store *s = st_open(j->url);
    es_castore cs = {s, j->audit, "thread", "ca-operator"};
    es_ca_state st = es_castore_state(&cs);
    es_buf out;
    es_buf_init(&out, ES_MAX_CERT_DER);
    for (int i = 0; i < 20; i++) {
        char cn[32];
        snprintf(cn, sizeof cn, "3501000010%04d", i);
        /* Another process is not in the picture: writers of this process wait their turn. */
        if (issue(j->ca, &st, cn, &out, j->serials[j->issued]) == ES_OK) j->issued++;
    }
    es_buf_cleanup(&out);
    es_store_close(s);
    return NULL;
}

/* --- two issuers on one CA: processes, each with its own es_ca and connection --- */

#define ISSUER_CERTS 15

/* In a child: waits for the start byte, then issues ISSUER_CERTS certificates and signs a CRL
 * after each, taking the CA's lock as a second daemon would (ES_ERR_BUSY while the other holds
 * it: try again, at most 20000 times), and writes the serials to path, one a line, and the
 * CRL numbers, "crl N". Exit 0 when all were issued and signed. */
static int issuer_child(const char *url, int start_fd, int who, const char *path)
{
    char b;
    if (read(start_fd, &b, 1) != 1) return 2;
    es_ca *ca = load_ca();
    es_store *s = NULL;
    if (es_store_open(url, &s) != ES_OK) return 2;
    es_castore cs = {s, NULL, "issuer", "ca-operator"};
    es_ca_state st = es_castore_state(&cs);
    es_buf out, crl, tmp;
    es_buf_init(&out, ES_MAX_CERT_DER);
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    es_buf_init(&tmp, ES_PKI_MAX_CRL);
    FILE *f = fopen(path, "w");
    int issued = 0, signed_ = 0, tries = 0;
    while (f && signed_ < ISSUER_CERTS && tries++ < 20000) {
        if (issued > signed_) { /* this round's CRL */
            es_pki_crl c;
            crl.len = tmp.len = 0;
            es_err rv = es_ca_crl_in(ca, &st, 0, NULL, &crl);
            if (rv == ES_ERR_BUSY) continue;
            if (rv != ES_OK || es_pki_crl_parse(crl.p, crl.len, &tmp, &c) != ES_OK) break;
            fprintf(f, "crl %llu\n", (unsigned long long)c.crl_number);
            es_pki_crl_cleanup(&c);
            signed_++;
            continue;
        }
        char cn[32], serial[2 * ES_PKI_SERIAL_MAX + 1];
        snprintf(cn, sizeof cn, "35010000%d%05d", who, issued);
        es_err rv = issue(ca, &st, cn, &out, serial);
        if (rv == ES_OK) {
            fprintf(f, "%s\n", serial);
            issued++;
        } else if (rv != ES_ERR_BUSY) {
            fprintf(stderr, "issuer %d: %s\n", who, es_err_str(rv));
            break;
        }
    }
    if (f) fclose(f);
    es_buf_cleanup(&out);
    es_buf_cleanup(&crl);
    es_buf_cleanup(&tmp);
    es_store_close(s);
    es_ca_close(ca);
    return signed_ == ISSUER_CERTS ? 0 : 1;
}

/* Two processes issue at once; then every serial is distinct, each is in the CA's index with
 * its certificate, and the index grew by exactly what was issued (no lost or doubled row). */
static void t_two_issuers(const char *kind, const char *url, es_store *s, es_ca *ca,
                          const es_ca_state *st)
{
    int64_t rows0 = count(s, "SELECT count(*) FROM ca_certs");
    int start[2];
    pid_t pid[2] = {-1, -1};
    char path[2][700];
    if (pipe(start) != 0) st_die("pipe");
    fflush(NULL);
    for (int i = 0; i < 2; i++) {
        snprintf(path[i], sizeof path[i], "%s/issuer-%s-%d.txt", st_tmp(), kind, i);
        pid[i] = fork();
        if (pid[i] == 0) {
            close(start[1]);
            _exit(issuer_child(url, start[0], i + 1, path[i]));
        }
    }
    close(start[0]);
    /* The barrier: both start when both exist (a byte each). */
    int go = write(start[1], "gg", 2) == 2;
    close(start[1]);
    int exited = 0;
    for (int i = 0; i < 2; i++) {
        int status = -1;
        exited += pid[i] > 0 && waitpid(pid[i], &status, 0) == pid[i] && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0;
    }
    ok(go && exited == 2, "%s: two issuing processes, %d certificates each (%d finished)", kind,
       ISSUER_CERTS, exited);
    char serials[2 * ISSUER_CERTS][2 * ES_PKI_SERIAL_MAX + 1];
    int n = 0, in_index = 0, distinct = 1, ncrl = 0;
    unsigned long long crls[2 * ISSUER_CERTS];
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(path[i], "r");
        char line[200];
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "crl ", 4) == 0 && ncrl < 2 * ISSUER_CERTS)
                crls[ncrl++] = strtoull(line + 4, NULL, 10);
            else if (n < 2 * ISSUER_CERTS &&
                     sscanf(line, "%40s", serials[n]) == 1) /* 2 x ES_PKI_SERIAL_MAX */
                n++;
        }
        if (f) fclose(f);
    }
    /* Each CRL signed took the next number: 2 x ISSUER_CERTS numbers, none twice. */
    int crl_distinct = ncrl == 2 * ISSUER_CERTS;
    for (int i = 0; i < ncrl; i++)
        for (int k = 0; k < i; k++) crl_distinct &= crls[i] != crls[k];
    ok(crl_distinct, "%s: %d CRLs signed by the two, each with its own cRLNumber", kind, ncrl);
    entry_copy got;
    memset(&got, 0, sizeof got);
    es_buf_init(&got.cert, ES_MAX_CERT_DER);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < i; k++) distinct &= strcmp(serials[i], serials[k]) != 0;
        got.n = 0;
        in_index += es_ca_get(ca, st, serials[i], copy_cb, &got) == ES_OK && got.n == 1 &&
                    got.cert.len > 0 && got.e.status == ES_CA_VALID;
    }
    es_buf_cleanup(&got.cert);
    ok(n == 2 * ISSUER_CERTS && distinct, "%s: %d serials, all distinct", kind, n);
    ok(in_index == n, "%s: each in the index with its certificate (%d of %d)", kind, in_index, n);
    int64_t rows1 = count(s, "SELECT count(*) FROM ca_certs");
    ok(rows1 == rows0 + n && count(s, "SELECT count(DISTINCT serial) FROM ca_certs") == rows1,
       "%s: the index grew by exactly %d (%lld -> %lld), no serial twice", kind, n,
       (long long)rows0, (long long)rows1);
}

/* --- the suite --- */

/* A business system's request: a new SM2 key, a PKCS#10 request for CN=cn. */
static es_err client_csr(const char *cn, es_signer **key, es_buf *csr)
{
    char subj[128];
    snprintf(subj, sizeof subj, "/C=CN/O=" UNIT "/CN=%s", cn);
    es_name n = name_of(subj);
    es_err rv = ES_OK;
    if (!*key) {
        es_sm2_key *k = NULL;
        rv = es_sm2_key_generate(&k);
        if (rv == ES_OK) rv = es_signer_from_key(k, key); /* takes k */
    }
    csr->len = 0;
    return rv == ES_OK ? es_pki_csr_make(&n, NULL, 0, *key, csr) : rv;
}

static es_err register_issue(es_accounts *a, const es_actor *by, es_ca *ca, const char *name,
                             es_slice csr, es_buf *cert, es_client *c)
{
    es_ca_request r;
    es_pki_lint lint;
    const char *why = NULL;
    memset(&r, 0, sizeof r);
    r.profile = "user";
    r.csr = csr.p;
    r.csr_len = csr.len;
    r.not_before = ES_TIME_NONE;
    return es_client_register_issue(a, by, ca, name, ES_ROLE_BIT(ES_ROLE_OPERATOR), &r, &lint, cert,
                                    c, &why);
}

/* A business system's certificate and its registration are one transaction; so are the
 * revocation of the client and of its certificate (src/svc/clients/clients.c). */
static void clients_suite(const char *kind, es_store *s, es_signer *audit, es_ca *ca)
{
    es_accounts a = {s, audit, 60, 5, 15};
    es_actor boss = {"boss", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), 0, 0};
    es_actor clerk = {"clerk", ES_ROLE_BIT(ES_ROLE_OPERATOR), 0, 0};
    es_signer *k1 = NULL, *k2 = NULL;
    es_buf csr, cert;
    es_client c;
    es_buf_init(&csr, 8192);
    es_buf_init(&cert, ES_MAX_CERT_DER);
    if (client_csr("erp", &k1, &csr) != ES_OK) st_die("csr");
    es_slice req = es_slice_make(csr.p, csr.len);
    int64_t certs0 = count(s, "SELECT count(*) FROM ca_certs");
    int64_t recs0 = count(s, "SELECT count(*) FROM audit");
    ok(register_issue(&a, &clerk, ca, "erp", req, &cert, &c) == ES_ERR_DENIED && cert.len == 0,
       "%s: an operator may not register a business system", kind);
    ok(count(s, "SELECT count(*) FROM ca_certs") == certs0, "%s: and nothing was issued", kind);
    recs0 = count(s, "SELECT count(*) FROM audit"); /* the refusal's access.denied record */
    ok(register_issue(&a, &boss, ca, "erp", req, &cert, &c) == ES_OK && cert.len > 0 &&
           strcmp(c.name, "erp") == 0,
       "%s: issued and registered", kind);
    ok(count(s, "SELECT count(*) FROM ca_certs") == certs0 + 1 &&
           count(s, "SELECT count(*) FROM api_clients WHERE name = 'erp'") == 1 &&
           count(s, "SELECT count(*) FROM audit") == recs0 + 2 &&
           count(s, "SELECT count(*) FROM audit WHERE action = 'ca.issue' AND actor = 'boss'") ==
               1 &&
           count(s, "SELECT count(*) FROM audit WHERE action = 'client.register'") == 1,
       "%s: the certificate, the client and both audit records", kind);
    /* The same key under another name: the CA signs, the registration fails (the key is
     * registered), and the transaction takes the certificate and its record with it. */
    int64_t certs1 = count(s, "SELECT count(*) FROM ca_certs");
    int64_t recs1 = count(s, "SELECT count(*) FROM audit");
    ok(register_issue(&a, &boss, ca, "erp-two", req, &cert, &c) == ES_ERR_EXISTS && cert.len == 0,
       "%s: the same key again: ES_ERR_EXISTS, no certificate handed out", kind);
    ok(count(s, "SELECT count(*) FROM ca_certs") == certs1 &&
           count(s, "SELECT count(*) FROM audit") == recs1 &&
           count(s, "SELECT count(*) FROM api_clients WHERE name = 'erp-two'") == 0,
       "%s: no certificate, no client, no audit record left", kind);
    ok(register_issue(&a, &boss, ca, "erp", req, &cert, &c) == ES_ERR_EXISTS &&
           count(s, "SELECT count(*) FROM ca_certs") == certs1,
       "%s: a taken name: refused before the CA signs", kind);
    /* Revocation: the client and its certificate together. */
    int revoked = 0;
    ok(es_client_revoke_ca(&a, &boss, ca, "erp", ES_REASON_KEY_COMPROMISE, &revoked) == ES_OK &&
           revoked,
       "%s: revoked with its certificate", kind);
    ok(count(s, "SELECT count(*) FROM api_clients WHERE name = 'erp' AND revoked = 1") == 1 &&
           count(s, "SELECT count(*) FROM audit WHERE action = 'client.revoke'") == 1 &&
           count(s, "SELECT count(*) FROM audit WHERE action = 'ca.revoke' AND actor = 'boss'") ==
               1,
       "%s: both revoked, both audited", kind);
    ok(es_client_revoke_ca(&a, &boss, ca, "erp", ES_REASON_KEY_COMPROMISE, &revoked) ==
           ES_ERR_REVOKED,
       "%s: again: ES_ERR_REVOKED", kind);
    es_signer_free(k1);
    es_signer_free(k2);
    es_buf_cleanup(&csr);
    es_buf_cleanup(&cert);
}

static void suite(const char *kind, const char *(*db)(const char *))
{
    const char *url = db("castore");
    es_store *s = st_open_migrated(url);
    int v = 0;
    ok(es_store_schema_version(s, &v) == ES_OK && v == es_store_schema_latest() && v >= 3,
       "%s: migrated to %d", kind, v);
    es_signer *audit = st_signer();
    es_castore cs = {s, audit, "alice", "ca-operator"};
    es_ca_state st = es_castore_state(&cs);
    es_ca *ca = load_ca();
    es_buf out, crl;
    es_buf_init(&out, ES_MAX_CERT_DER);
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    entry_copy got;
    memset(&got, 0, sizeof got);
    es_buf_init(&got.cert, ES_MAX_CERT_DER);
    char s1[64], s2[64], s3[64];

    /* Issuance: recorded with its certificate and audited. */
    ok(issue(ca, &st, "35010000000001", &out, s1) == ES_OK, "%s: issued %s", kind, s1);
    ok(es_ca_get(ca, &st, s1, copy_cb, &got) == ES_OK && got.n == 1 &&
           got.e.status == ES_CA_VALID && got.cert.len == out.len &&
           memcmp(got.cert.p, out.p, out.len) == 0 && strcmp(got.e.profile, "seal") == 0 &&
           strstr(got.subject, "CN=35010000000001") && got.e.issued_at != ES_TIME_NONE,
       "%s: the entry and the certificate kept", kind);
    ok(st_audit_count(s, "ca.issue") == 1, "%s: one ca.issue record", kind);
    ok(count(s, "SELECT count(*) FROM audit WHERE action = 'ca.issue' AND actor = 'alice' AND "
                "object LIKE 'cert:%'") == 1,
       "%s: the record names the actor and the certificate", kind);
    ok(issue(ca, &st, "35010000000002", &out, s2) == ES_OK &&
           issue(ca, &st, "35010000000003", &out, s3) == ES_OK && strcmp(s1, s2) && strcmp(s2, s3),
       "%s: two more, other serials", kind);

    /* A serial is never reused: the schema refuses it, lint refuses a given one. */
    es_ca_entry dup;
    memset(&dup, 0, sizeof dup);
    snprintf(dup.serial, sizeof dup.serial, "%.40s", s1);
    dup.status = ES_CA_VALID;
    dup.subject = "/CN=dup";
    snprintf(dup.profile, sizeof dup.profile, "seal");
    dup.issued_at = ES_TIME_NONE;
    ok(st.ops->begin(st.ctx, es_ca_id(ca), 1) == ES_OK &&
           st.ops->record(st.ctx, es_ca_id(ca), &dup) == ES_ERR_EXISTS,
       "%s: a recorded serial is refused by the state (unique per CA)", kind);
    st.ops->rollback(st.ctx);
    es_buf sb;
    es_buf_init(&sb, 64);
    ok(es_hex_decode(s1, strlen(s1), &sb) == ES_OK, "serial hex");
    es_name n = name_of("/C=CN/O=" USCC UNIT "/CN=35010000000009");
    es_ca_request r;
    memset(&r, 0, sizeof r);
    r.profile = "seal";
    r.subject = &n;
    r.pub = g_key->pub;
    r.not_before = ES_TIME_NONE;
    r.serial = sb.p;
    r.serial_len = sb.len;
    es_pki_lint lint;
    ok(es_ca_issue_in(ca, &st, &r, &lint, &out, NULL) == ES_ERR_LINT && lint.n >= 1,
       "%s: a given serial already issued is refused by lint", kind);
    es_buf_cleanup(&sb);

    /* A random serial found taken at the record is drawn again, in a new unit. */
    collide_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.cs = &cs;
    es_ca_state cst = {&collide_ops, &cc};
    int before = 0, after = 0;
    ok(es_ca_list(ca, &st, count_cb, &before) == ES_OK, "%s: list", kind);
    char s4[64];
    ok(issue(ca, &cst, "35010000000004", &out, s4) == ES_OK && cc.records == 2 &&
           strcmp(cc.first, cc.second) != 0 && strcmp(s4, cc.second) == 0,
       "%s: a collision drew another serial (%s, then %s)", kind, cc.first, cc.second);
    ok(es_ca_list(ca, &st, count_cb, &after) == ES_OK && after == before + 1,
       "%s: one certificate recorded, the other writer's row rolled back (%d -> %d)", kind, before,
       after);

    /* A rollback leaves neither the change nor its audit record. */
    int64_t audit_before = count(s, "SELECT count(*) FROM audit");
    es_ca_state fst = {&failing_ops, &cc};
    before = 0;
    ok(es_ca_list(ca, &st, count_cb, &before) == ES_OK, "list");
    ok(issue(ca, &fst, "35010000000005", &out, NULL) == ES_ERR_IO && out.len == 0,
       "%s: a unit that does not commit issues nothing", kind);
    after = 0;
    ok(es_ca_list(ca, &st, count_cb, &after) == ES_OK && after == before &&
           count(s, "SELECT count(*) FROM audit") == audit_before,
       "%s: rolled back: no certificate, no audit record", kind);
    ok(es_ca_revoke_in(ca, &fst, s3, ES_REASON_KEY_COMPROMISE, ES_TIME_NONE) == ES_ERR_IO,
       "%s: a revocation that does not commit", kind);
    ok(es_ca_get(ca, &st, s3, copy_cb, &got) == ES_OK && got.e.status == ES_CA_VALID &&
           count(s, "SELECT count(*) FROM audit") == audit_before,
       "%s: still valid, no audit record", kind);

    /* Revocation. */
    ok(es_ca_revoke_in(ca, &st, s1, ES_REASON_KEY_COMPROMISE, ES_TIME_NONE) == ES_OK, "%s: revoked",
       kind);
    ok(es_ca_revoke_in(ca, &st, s1, ES_REASON_SUPERSEDED, ES_TIME_NONE) == ES_ERR_REVOKED,
       "%s: revoked again: ES_ERR_REVOKED", kind);
    ok(es_ca_revoke_in(ca, &st, s2, ES_REASON_CERTIFICATE_HOLD, 1790000000) == ES_OK &&
           es_ca_revoke_in(ca, &st, s2, ES_REASON_CESSATION, ES_TIME_NONE) == ES_OK,
       "%s: on hold, then revoked", kind);
    ok(es_ca_get(ca, &st, s2, copy_cb, &got) == ES_OK && got.e.status == ES_CA_REVOKED &&
           got.e.reason == ES_REASON_CESSATION && got.e.revoked_at == 1790000000,
       "%s: the hold date stays", kind);
    ok(es_ca_revoke_in(ca, &st, "4abc", ES_REASON_UNSPECIFIED, ES_TIME_NONE) == ES_ERR_NOT_FOUND,
       "%s: unknown serial", kind);
    ok(st_audit_count(s, "ca.revoke") == 3, "%s: three ca.revoke records", kind);

    /* CRLs: numbered from 1, recorded, audited. */
    es_buf tmp;
    es_buf_init(&tmp, ES_PKI_MAX_CRL);
    es_pki_crl c;
    es_pki_cert cac;
    ok(es_pki_cert_parse(es_ca_cert(ca), &cac) == ES_OK, "CA certificate");
    ok(es_ca_crl_in(ca, &st, 0, NULL, &crl) == ES_OK &&
           es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK && c.crl_number == 1 &&
           c.n_revoked == 2 && es_pki_crl_verify(&c, cac.pub, NULL) == ES_OK,
       "%s: CRL 1 with the two revoked", kind);
    es_pki_crl_cleanup(&c);
    crl.len = tmp.len = 0;
    ok(es_ca_crl_in(ca, &st, 0, NULL, &crl) == ES_OK &&
           es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK && c.crl_number == 2,
       "%s: CRL 2", kind);
    es_pki_crl_cleanup(&c);
    ok(st_audit_count(s, "ca.crl") == 2, "%s: two ca.crl records", kind);
    ok(count(s, "SELECT count(*) FROM ca_state WHERE crl IS NOT NULL AND crl_number = 3") == 1,
       "%s: the latest CRL kept, the next number 3", kind);
    /* A delta CRL against CRL 2: nothing changed since, number 3 of the same sequence,
     * audited; the full CRL kept stays CRL 2. */
    crl.len = tmp.len = 0;
    ok(es_ca_delta_crl_in(ca, &st, 0, NULL, &crl) == ES_OK &&
           es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK && c.crl_number == 3 && c.delta &&
           c.base_number == 2 && c.n_revoked == 0 && es_pki_crl_verify(&c, cac.pub, NULL) == ES_OK,
       "%s: delta CRL 3 of CRL 2, no changes", kind);
    es_pki_crl_cleanup(&c);
    ok(st_audit_count(s, "ca.crl_delta") == 1, "%s: one ca.crl_delta record", kind);
    ok(count(s, "SELECT count(*) FROM ca_state WHERE crl IS NOT NULL AND crl_number = 4") == 1,
       "%s: the next number 4, the full CRL kept", kind);

    /* The audit trail is intact and verifies. */
    es_audit_report rep;
    ok(es_audit_verify_store(s, audit->pub, &rep) == ES_OK && es_audit_report_ok(&rep),
       "%s: the audit trail verifies", kind);
    es_audit_report_cleanup(&rep);

    clients_suite(kind, s, audit, ca);
    after = 0;
    if (es_ca_list(ca, &st, count_cb, &after) != ES_OK) st_die("list");

    /* Another process holds the CA: a writer is refused at once, a reader goes on. */
    int to_child[2], to_parent[2];
    ok(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipes");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        es_store *cs2 = NULL;
        char b = 0;
        if (es_store_open(url, &cs2) != ES_OK) _exit(2);
        es_castore other = {cs2, NULL, "other", ""};
        es_err rv = es_castore_ops.begin(&other, es_ca_id(ca), 1);
        b = rv == ES_OK ? 'h' : 'x';
        if (write(to_parent[1], &b, 1) != 1) _exit(2);
        if (read(to_child[0], &b, 1) != 1) _exit(2);
        es_castore_ops.rollback(&other);
        es_store_close(cs2);
        _exit(rv == ES_OK ? 0 : 1);
    }
    char b = 0;
    ok(pid > 0 && read(to_parent[0], &b, 1) == 1 && b == 'h', "%s: another process holds the CA",
       kind);
    double t0 = now_s();
    es_err busy = issue(ca, &st, "35010000000006", &out, NULL);
    double took = now_s() - t0;
    ok(busy == ES_ERR_BUSY, "%s: a writer is refused: %s", kind, es_err_str(busy));
    {
        /* A business system's registration meets the same lock: refused at once, nothing
         * stored. */
        es_accounts ac = {s, audit, 60, 5, 15};
        es_actor boss = {"boss", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), 0, 0};
        es_signer *k = NULL;
        es_buf csr, cert;
        es_client hr;
        es_buf_init(&csr, 8192);
        es_buf_init(&cert, ES_MAX_CERT_DER);
        int64_t n0 = count(s, "SELECT count(*) FROM api_clients");
        ok(client_csr("hr", &k, &csr) == ES_OK &&
               register_issue(&ac, &boss, ca, "hr", es_slice_make(csr.p, csr.len), &cert, &hr) ==
                   ES_ERR_BUSY &&
               count(s, "SELECT count(*) FROM api_clients") == n0 && cert.len == 0,
           "%s: a client registration while another holds the CA: ES_ERR_BUSY, nothing stored",
           kind);
        es_signer_free(k);
        es_buf_cleanup(&csr);
        es_buf_cleanup(&cert);
    }
    ok(took < 2.0, "%s: at once (%.3f s)", kind, took);
    ok(es_ca_revoke_in(ca, &st, s3, ES_REASON_UNSPECIFIED, ES_TIME_NONE) == ES_ERR_BUSY &&
           es_ca_crl_in(ca, &st, 0, NULL, &crl) == ES_ERR_BUSY,
       "%s: revocation and CRL refused too", kind);
    int listed = 0;
    t0 = now_s();
    ok(es_ca_list(ca, &st, count_cb, &listed) == ES_OK && listed == after,
       "%s: a reader goes on (%d certificates)", kind, listed);
    ok(es_ca_get(ca, &st, s1, copy_cb, &got) == ES_OK && now_s() - t0 < 2.0,
       "%s: get goes on, at once", kind);
    b = 'g';
    int status = -1;
    ok(write(to_child[1], &b, 1) == 1 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0,
       "%s: the other process let go", kind);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
    ok(issue(ca, &st, "35010000000006", &out, NULL) == ES_OK, "%s: then the writer gets in", kind);

    /* Threads sharing the es_ca, each with its own connection. */
    thread_job tj[2];
    pthread_t th[2];
    memset(tj, 0, sizeof tj);
    for (int i = 0; i < 2; i++) {
        tj[i].ca = ca;
        tj[i].url = url;
        tj[i].audit = audit;
    }
    /* The audit key is shared: es_signer is one thread at a time, so the threads audit
     * nothing here and the serialisation under test is the CA's own. */
    tj[0].audit = tj[1].audit = NULL;
    int started = 0;
    for (int i = 0; i < 2; i++) started += pthread_create(&th[i], NULL, thread_issue, &tj[i]) == 0;
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    int distinct = started == 2 && tj[0].issued == 20 && tj[1].issued == 20;
    for (int i = 0; distinct && i < 20; i++)
        for (int k = 0; k < 20; k++) distinct &= strcmp(tj[0].serials[i], tj[1].serials[k]) != 0;
    ok(distinct, "%s: two threads, 20 certificates each, all serials distinct (%d, %d)", kind,
       tj[0].issued, tj[1].issued);
    t_two_issuers(kind, url, s, ca, &st);

    /* eseal admin backup holds the CA's state: restored elsewhere, the same certificates. */
    char bpath[700];
    snprintf(bpath, sizeof bpath, "%s/castore-%s.backup", st_tmp(), kind);
    es_store *r2 = st_open(db("castore_restored"));
    ok(es_store_backup(s, bpath) == ES_OK && es_store_restore(r2, bpath, 0) == ES_OK,
       "%s: backup and restore: %s", kind, es_store_last_error(r2));
    es_castore rcs = {r2, NULL, NULL, NULL};
    es_ca_state rst = es_castore_state(&rcs);
    int restored = 0, live = 0;
    ok(es_ca_list(ca, &rst, count_cb, &restored) == ES_OK &&
           es_ca_list(ca, &st, count_cb, &live) == ES_OK && restored == live && live > 40,
       "%s: the restored store holds the CA's %d certificates (%d)", kind, live, restored);
    ok(es_ca_get(ca, &rst, s1, copy_cb, &got) == ES_OK && got.e.status == ES_CA_REVOKED &&
           got.e.reason == ES_REASON_KEY_COMPROMISE,
       "%s: and the revocations", kind);
    crl.len = tmp.len = 0;
    ok(es_ca_crl_in(ca, &rst, 0, NULL, &crl) == ES_OK &&
           es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK &&
           c.crl_number == 4 + 2 * ISSUER_CERTS, /* 2 and a delta, then t_two_issuers' */
       "%s: and the CRL numbering (%llu)", kind, (unsigned long long)c.crl_number);
    es_pki_crl_cleanup(&c);
    es_store_close(r2);

    es_buf_cleanup(&tmp);
    es_buf_cleanup(&out);
    es_buf_cleanup(&crl);
    es_buf_cleanup(&got.cert);
    es_ca_close(ca);
    es_signer_free(audit);
    es_store_close(s);
}

/* --- the import of a directory of the old layout --- */

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (es_file_write(path, text, strlen(text)) != ES_OK) st_die("write %s", path);
}

/* Copies the CA's fixed files into a new directory (the old layout kept them the same). */
static void old_dir(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/certs' && cp '%s/ca.crt' '%s/config' "
             "'%s/profiles.conf' '%s/'",
             dir, g_dir, g_dir, g_dir, dir);
    if (system(cmd) != 0) st_die("%s", cmd);
}

static void import_suite(const char *kind, const char *(*db)(const char *))
{
    char dir[700], path[1024], why[256];
    snprintf(dir, sizeof dir, "%s/old-%s", st_tmp(), kind);
    old_dir(dir);
    es_ca *ca = load_ca();
    /* A certificate of this CA, to put in certs/ as the old code did. */
    es_store *scratch = st_open_migrated(db("scratch"));
    es_castore scs = {scratch, NULL, NULL, NULL};
    es_ca_state sst = es_castore_state(&scs);
    es_buf out, pem;
    es_buf_init(&out, ES_MAX_CERT_DER);
    es_buf_init(&pem, ES_MAX_CERT_DER * 2);
    char serial[64];
    ok(issue(ca, &sst, "35010000000001", &out, serial) == ES_OK, "%s: a certificate", kind);
    es_store_close(scratch);
    es_ca_close(ca);
    snprintf(path, sizeof path, "certs/%s.pem", serial);
    ok(es_pki_pem_encode("CERTIFICATE", es_slice_make(out.p, out.len), &pem) == ES_OK &&
           es_buf_nul(&pem) == ES_OK,
       "pem");
    write_text(dir, path, (const char *)pem.p);
    char index[2048];
    snprintf(index, sizeof index,
             "# eseal CA index (docs/ca.md). One certificate a line, tab-separated: serial "
             "(hex), status\n"
             "%s\tV\t20291125170740Z\t-\t-\tseal\t/C=CN/O=" USCC UNIT "/CN=35010000000001\n"
             "6e0b\tR\t20291125170741Z\t20261126170800Z\tkeyCompromise\tuser\t/CN=two\n"
             "00c0ffee\tR\t20291125170742Z\t20261126170900Z\tcertificateHold\tuser\t/CN=three\n",
             serial);
    write_text(dir, "index.txt", index);
    write_text(dir, "crlnumber", "42\n");

    const char *url = db("import");
    es_store *s = st_open_migrated(url);
    es_signer *audit = st_signer();
    es_castore cs = {s, audit, "admin", "system"};
    es_ca_state st = es_castore_state(&cs);
    es_ca *old = NULL;
    int imported = -1;
    es_err rv = es_castore_open(dir, &cs, &old, why, sizeof why);
    ok(rv == ES_OK && old && es_ca_login(old, &g_pin) == ES_OK,
       "%s: the old directory opened on the store, imported (%s %s)", kind, es_err_str(rv), why);
    if (!old) return;
    snprintf(path, sizeof path, "%s/index.txt.migrated", dir);
    struct stat sb;
    ok(stat(path, &sb) == 0, "%s: index.txt renamed to index.txt.migrated", kind);
    int n = 0;
    ok(es_ca_list(old, &st, count_cb, &n) == ES_OK && n == 3, "%s: three rows (%d)", kind, n);
    entry_copy got;
    memset(&got, 0, sizeof got);
    es_buf_init(&got.cert, ES_MAX_CERT_DER);
    ok(es_ca_get(old, &st, serial, copy_cb, &got) == ES_OK && got.e.status == ES_CA_VALID &&
           got.cert.len == out.len && memcmp(got.cert.p, out.p, out.len) == 0 &&
           strstr(got.subject, "CN=35010000000001"),
       "%s: the valid one with its certificate from certs/", kind);
    ok(es_ca_get(old, &st, "6E:0B", copy_cb, &got) == ES_OK && got.e.status == ES_CA_REVOKED &&
           got.e.reason == ES_REASON_KEY_COMPROMISE && got.cert.len == 0 &&
           !strcmp(got.e.profile, "user"),
       "%s: the revoked one, its reason, no certificate file", kind);
    ok(es_ca_get(old, &st, "c0ffee", copy_cb, &got) == ES_OK && !strcmp(got.e.serial, "00c0ffee") &&
           got.e.reason == ES_REASON_CERTIFICATE_HOLD,
       "%s: a serial with a sign octet, found without it", kind);
    ok(st_audit_count(s, "ca.import") == 1, "%s: the import audited", kind);
    ok(es_ca_revoke_in(old, &st, "6e0b", ES_REASON_SUPERSEDED, ES_TIME_NONE) == ES_ERR_REVOKED &&
           es_ca_revoke_in(old, &st, "c0ffee", ES_REASON_KEY_COMPROMISE, ES_TIME_NONE) == ES_OK,
       "%s: revoked stays revoked; on hold may be revoked", kind);
    es_buf crl, tmp;
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    es_buf_init(&tmp, ES_PKI_MAX_CRL);
    es_pki_crl c;
    ok(es_ca_crl_in(old, &st, 0, NULL, &crl) == ES_OK &&
           es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK && c.crl_number == 42 &&
           c.n_revoked == 2,
       "%s: the CRL numbering goes on at 42", kind);
    es_pki_crl_cleanup(&c);

    /* index.txt back (a crash between the commit and the rename): not imported twice. */
    snprintf(index, sizeof index, "%s/index.txt", dir);
    ok(rename(path, index) == 0, "put index.txt back");
    ok(es_castore_import(&cs, old, &imported, why, sizeof why) == ES_OK && imported == 0 &&
           stat(path, &sb) == 0,
       "%s: a CA in the store already: only renamed", kind);
    n = 0;
    ok(es_ca_list(old, &st, count_cb, &n) == ES_OK && n == 3, "%s: still three rows", kind);
    es_ca_close(old);

    /* Bad input: nothing is stored, the file stays. */
    const char *bad[] = {
        "4a1f\tV\t20291125170740Z\t-\t-\tseal\t/CN=a\n4a1f\tV\t20291125170740Z\t-\t-\tseal\t/"
        "CN=b\n",
        "4a1f\tV\t20291125170740Z\t-\t-\tseal\t/CN=a\nzz\tV\t20291125170740Z\t-\t-\tseal\t/CN=b\n",
        "4a1f\tR\t20291125170740Z\t-\t-\tseal\t/CN=a\n",
        "4a1f\tV\tyesterday\t-\t-\tseal\t/CN=a\n",
    };
    const es_err want[] = {ES_ERR_EXISTS, ES_ERR_CONFIG, ES_ERR_CONFIG, ES_ERR_CONFIG};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char bdir[800];
        snprintf(bdir, sizeof bdir, "%s/bad-%s-%zu", st_tmp(), kind, i);
        old_dir(bdir);
        write_text(bdir, "index.txt", bad[i]);
        const char *burl = db(i == 0 ? "bad0" : i == 1 ? "bad1" : i == 2 ? "bad2" : "bad3");
        es_store *bs = st_open_migrated(burl);
        es_castore bcs = {bs, audit, "admin", "system"};
        es_ca *bca = NULL;
        why[0] = 0;
        ok(es_ca_load(bdir, &bca, why, sizeof why) == ES_OK, "load");
        rv = bca ? es_castore_import(&bcs, bca, &imported, why, sizeof why) : ES_ERR_ARG;
        snprintf(path, sizeof path, "%s/index.txt", bdir);
        ok(rv == want[i] && why[0] && stat(path, &sb) == 0 &&
               count(bs, "SELECT count(*) FROM ca_certs") == 0 &&
               count(bs, "SELECT count(*) FROM ca_state") == 0 &&
               count(bs, "SELECT count(*) FROM audit") == 0,
           "%s: bad index %zu refused (%s: %s), nothing stored, the file kept", kind, i,
           es_err_str(rv), why);
        es_ca_close(bca);
        es_store_close(bs);
    }

    es_buf_cleanup(&crl);
    es_buf_cleanup(&tmp);
    es_buf_cleanup(&out);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&got.cert);
    es_signer_free(audit);
    es_store_close(s);
}

/* es_ca_open: the directory mode, DIR/ca.db. */
static void t_dir_mode(void)
{
    char why[256], path[800];
    es_ca *ca = NULL;
    ok(es_ca_open(g_dir, &ca, why, sizeof why) == ES_OK && es_ca_login(ca, &g_pin) == ES_OK,
       "dir: opened: %s", why);
    if (!ca) return;
    es_buf out;
    es_buf_init(&out, ES_MAX_CERT_DER);
    char s1[64];
    ok(issue(ca, NULL, "35010000000001", &out, s1) == ES_ERR_ARG, "dir: a NULL state is refused");
    es_pki_lint lint;
    es_name n = name_of("/C=CN/O=" USCC UNIT "/CN=35010000000001");
    es_ca_request r;
    memset(&r, 0, sizeof r);
    r.profile = "seal";
    r.subject = &n;
    r.pub = g_key->pub;
    r.not_before = ES_TIME_NONE;
    ok(es_ca_issue(ca, &r, &lint, &out, s1) == ES_OK, "dir: issued on the default state");
    es_ca_close(ca);
    snprintf(path, sizeof path, "%s/ca.db", g_dir);
    struct stat sb;
    ok(stat(path, &sb) == 0, "dir: DIR/ca.db made");
    ok(es_ca_open(g_dir, &ca, why, sizeof why) == ES_OK && es_ca_revoke(ca, s1, 0, 0) == ES_OK &&
           es_ca_revoke(ca, s1, 0, 0) == ES_ERR_REVOKED,
       "dir: reopened, the certificate is there");
    es_ca_close(ca);
    /* A state newer than this build is refused, not used. */
    char url[900];
    snprintf(url, sizeof url, "sqlite:%s", path);
    es_store *s = st_open(url);
    st_sql(s, "INSERT INTO schema_version (version, applied_at, what) VALUES (99, 0, 'future')");
    ok(es_ca_open(g_dir, &ca, why, sizeof why) == ES_ERR_UNSUPPORTED && strstr(why, "schema"),
       "dir: a newer state refused: %s", why);
    st_sql(s, "DELETE FROM schema_version WHERE version = 99");
    es_store_close(s);
    ok(es_ca_open(g_dir, &ca, why, sizeof why) == ES_OK, "dir: usable again");
    es_ca_close(ca);
    /* A directory without a CA. */
    ok(es_ca_open(st_tmp(), &ca, why, sizeof why) == ES_ERR_NOT_FOUND, "dir: no CA there");
    es_buf_cleanup(&out);
}

/* Migrations written once: the dialect words. */
static void t_dialect(void)
{
    es_buf a, b;
    es_buf_init(&a, 4096);
    es_buf_init(&b, 4096);
    const char *sql = "CREATE TABLE t (id {ID}, n {INT64} NOT NULL, b {BLOB}){STRICT};";
    ok(store_sql_dialect(sql, 0, &a) == ES_OK && es_buf_nul(&a) == ES_OK &&
           strcmp((char *)a.p, "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER "
                               "NOT NULL, b BLOB) STRICT;") == 0,
       "dialect: SQLite: %s", (char *)a.p);
    ok(store_sql_dialect(sql, 1, &b) == ES_OK && es_buf_nul(&b) == ES_OK &&
           strcmp((char *)b.p, "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY "
                               "PRIMARY KEY, n BIGINT NOT NULL, b BYTEA);") == 0,
       "dialect: PostgreSQL: %s", (char *)b.p);
    a.len = 0;
    ok(store_sql_dialect("SELECT {NOPE}", 0, &a) == ES_ERR_ARG, "dialect: an unknown word");
    a.len = 0;
    ok(store_sql_dialect("SELECT '{'", 0, &a) == ES_ERR_ARG, "dialect: a lone brace");
    es_buf_cleanup(&a);
    es_buf_cleanup(&b);
}

int main(void)
{
    t_dialect();
    make_ca();
    t_dir_mode();
    int before = t_pass;
    suite("sqlite", st_sqlite_db);
    import_suite("sqlite", st_sqlite_db);
    printf("sqlite: %d checks passed\n", t_pass - before);
    if (st_pg_ready()) {
        before = t_pass;
        suite("postgresql", st_pg_db);
        import_suite("postgresql", st_pg_db);
        printf("postgresql: %d checks passed\n", t_pass - before);
    }
    es_signer_free(g_key);
    return t_done();
}
