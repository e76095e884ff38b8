/* The status publishing system (docs/status.md; issue 11, ST1, ST2, ST9, ST10, ST12) against a
 * node started inside this binary on 127.0.0.1:0, on SQLite and on the PostgreSQL of the "pg"
 * fixture: a seal made, then suspended, restored and reported lost (through the making API,
 * a second apart), its state asked about at times before and after each change, by code and
 * by certificate; an unknown seal; the cache (one ETag until a change, a new answer at once
 * after it, 304); answers with a nonce signed on demand; public access with no write endpoint
 * behind it; malformed input named with its field; every byte of an answer flipped and an
 * answer signed by another key refused by the verifier; `eseal status verify`. */
#include <sys/stat.h>

#include "eseal/keydev.h"
#include "eseal/status.h"
#include "making_test.h" /* the node, accounts, applications (one scaffolding) */

/* ---- status queries */

/* GET path with Accept (NULL: none) and extra headers (may be NULL). */
static int get(const node_t *d, const char *path, const char *accept, const char *extra,
               const char *tok, t_resp *r)
{
    char q[2048];
    snprintf(q, sizeof q, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s%s%s\r\n", path,
             accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "",
             tok ? "Authorization: Bearer " : "", tok ? tok : "", tok ? "\r\n" : "");
    if (extra) {
        size_t n = strlen(q);
        snprintf(q + n - 2, sizeof q - n + 2, "%s\r\n\r\n", extra);
    }
    t_resp_init(r);
    return t_raw(d->port, q, strlen(q), r);
}

#define DER_TYPE "application/vnd.eseal.status-answer"

static es_trust *g_trust;

/* The DER answer of path, verified against the site root with exp; 1 when it verifies. */
static int answer(const node_t *d, const char *path, const es_status_expect *exp,
                  es_status_answer *a, es_buf *der)
{
    t_resp r;
    char why[400] = "";
    int st = get(d, path, DER_TYPE, NULL, NULL, &r);
    der->len = 0;
    int good = st == 200 && es_buf_append(der, r.body.p, r.body.len) == ES_OK;
    t_resp_free(&r);
    if (!good) {
        fprintf(stderr, "  %s: HTTP %d\n", path, st);
        return 0;
    }
    es_err rv =
        es_status_answer_verify(es_slice_make(der->p, der->len), g_trust, exp, a, why, sizeof why);
    if (rv != ES_OK) fprintf(stderr, "  %s: %s (%s)\n", path, why, es_err_str(rv));
    return rv == ES_OK;
}

/* The state at t of code by the online query (its answer verified), or -1. */
static int state_at(const node_t *d, const char *code, es_time t)
{
    char path[256], iso[32];
    es_time_format_iso(t, iso);
    snprintf(path, sizeof path, "/api/v1/status/%s?at=%s", code, iso);
    es_status_answer *a = calloc(1, sizeof *a);
    es_buf der;
    es_buf_init(&der, ES_STATUS_ANSWER_MAX);
    es_status_expect exp = {code, NULL, t, {NULL, 0}, ES_TIME_NONE, 0};
    int s = a && answer(d, path, &exp, a, &der) ? a->r.state_at : -1;
    free(a);
    es_buf_cleanup(&der);
    return s;
}

/* The effective time of the last history entry in state s (ES_TIME_NONE: none). */
static es_time change_time(const es_status_answer *a, int s, const char *reason)
{
    es_time t = ES_TIME_NONE;
    for (size_t i = 0; i < a->r.n_history; i++)
        if (a->r.history[i].state == s && (!reason || !strcmp(a->r.history[i].reason, reason)))
            t = a->r.history[i].effective_at;
    return t;
}

static int lifecycle_step(const node_t *d, const char *issuer, const char *reviewer,
                          const char *code, const char *kind)
{
    char made[ES_SEAL_CODE_MAX];
    /* A second apart: effective times are seconds. */
    sleep_ms(1100);
    int64_t id = approved(
        d, issuer, reviewer,
        json_pack("{s:s,s:s,s:s}", "kind", kind, "seal_code", code, "reason", "测试"), kind);
    return id && execute(d, issuer, id, made) == 200;
}

/* es_status_changes callbacks: the order checked (the last seq kept, -1 when out of order),
 * and a count. */
static es_err feed(void *ctx, const char *code, const es_status_change *c)
{
    int64_t *last = ctx;
    *last = *last >= 0 && c->seq == *last + 1 && code[0] ? c->seq : -1;
    return ES_OK;
}

static es_err feed_count(void *ctx, const char *code, const es_status_change *c)
{
    (void)code;
    (void)c;
    (*(int64_t *)ctx)++;
    return ES_OK;
}

/* Every byte of der flipped in turn: each refused by the verifier. */
static size_t flips_accepted(es_slice der, const es_status_expect *exp)
{
    uint8_t *p = malloc(der.len);
    size_t accepted = 0;
    es_status_answer *a = calloc(1, sizeof *a);
    if (!p || !a) {
        free(p);
        free(a);
        return (size_t)-1;
    }
    for (size_t i = 0; i < der.len; i++) {
        memcpy(p, der.p, der.len);
        p[i] ^= 0x01;
        if (es_status_answer_verify(es_slice_make(p, der.len), g_trust, exp, a, NULL, 0) == ES_OK)
            accepted++;
    }
    free(p);
    free(a);
    return accepted;
}

/* An answer signed by a key of our own: with a certificate of another root (chain), and with
 * the site's real status certificate (signature). 1 when both are refused. */
static int other_key_refused(const es_status_result *r, es_slice real_cert)
{
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    es_buf der, own;
    int refused = 0;
    es_buf_init(&der, ES_STATUS_ANSWER_MAX);
    es_buf_init(&own, 8192);
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &s) != ES_OK) return 0;
    /* A self-made status certificate (profile status-system) under its own key. */
    es_profiles ps;
    char why[200];
    es_slice text = es_pki_profiles_builtin();
    es_name n;
    es_pki_tbs t;
    memset(&t, 0, sizeof t);
    if (es_pki_profiles_parse(text, &ps, why, sizeof why) != ES_OK ||
        es_pki_name_parse("/C=CN/ST=福建省/O=forger/CN=forger 电子印章状态发布系统", &n, why,
                          sizeof why) != ES_OK)
        goto out;
    es_buf issuer;
    es_buf_init(&issuer, 4096);
    if (es_pki_name_to_der(&n, &issuer) != ES_OK) goto out;
    es_pki_san san = {ES_SAN_URI, "http://127.0.0.1:1/"};
    t.profile = es_pki_profile_find(&ps, "status-system");
    t.serial[0] = 0x42;
    t.serial_len = 1;
    t.issuer = es_slice_make(issuer.p, issuer.len);
    t.subject = &n;
    t.not_before = es_time_now() - 3600;
    t.not_after = es_time_now() + 86400;
    memcpy(t.pub, s->pub, ES_SM2_PUB_LEN);
    t.san = &san;
    t.n_san = 1;
    t.seal_source = ES_SEAL_SOURCE_NONE;
    if (!t.profile || es_pki_cert_make(&t, s, &own) != ES_OK) {
        es_buf_cleanup(&issuer);
        goto out;
    }
    es_buf_cleanup(&issuer);
    es_status_responder forged = {s, es_slice_make(own.p, own.len), NULL, 0};
    es_status_responder stolen = {s, real_cert, NULL, 0};
    es_status_answer *a = calloc(1, sizeof *a);
    if (!a) goto out;
    int r1 = es_status_answer_sign(r, &forged, es_time_now(), es_time_now() + 3600,
                                   es_slice_make(NULL, 0), &der) == ES_OK &&
             es_status_answer_verify(es_slice_make(der.p, der.len), g_trust, NULL, a, why,
                                     sizeof why) == ES_ERR_VERIFY &&
             strstr(why, "chain") != NULL;
    der.len = 0;
    int r2 = es_status_answer_sign(r, &stolen, es_time_now(), es_time_now() + 3600,
                                   es_slice_make(NULL, 0), &der) == ES_OK &&
             es_status_answer_verify(es_slice_make(der.p, der.len), g_trust, NULL, a, why,
                                     sizeof why) == ES_ERR_VERIFY &&
             strstr(why, "signature") != NULL;
    free(a);
    refused = r1 && r2;
out:
    es_signer_free(s);
    es_buf_cleanup(&der);
    es_buf_cleanup(&own);
    return refused;
}

static int cli_rc(const char *args, const char *want_out, const char *var)
{
    char cmd[3000], outp[700];
    if (!g_cli) return -1;
    snprintf(outp, sizeof outp, "%s/cli.out", var);
    snprintf(cmd, sizeof cmd, "'%s' status verify %s > '%s' 2>&1", g_cli, args, outp);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (want_out) {
        es_buf b;
        es_buf_init(&b, 1u << 20);
        if (es_file_read(outp, &b) != ES_OK || es_buf_nul(&b) != ES_OK ||
            !strstr((const char *)b.p, want_out)) {
            fprintf(stderr, "  eseal status verify %s: no '%s' in:\n%.*s\n", args, want_out,
                    (int)b.len, b.p ? (const char *)b.p : "");
            rc = -2;
        }
        es_buf_cleanup(&b);
    }
    return rc;
}

static void suite(const char *kind, const char *url)
{
    node_t d;
    char admin[65], issuer[65], reviewer[65], outsider[65];
    char code[ES_SEAL_CODE_MAX], serial[ES_STATUS_SERIAL_MAX], path[700], why[400];
    int st;
    node_init(&d, kind, "var", url);
    snprintf(d.extra, sizeof d.extra, "[status]\nrate_address = 3000\n");
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts", kind);
        return;
    }
    char root[700];
    const char *store = d.store;
    snprintf(root, sizeof root, "%s/ca/ca.crt", d.var);
    es_buf rootb;
    es_buf_init(&rootb, 1u << 20);
    int added = 0;
    g_trust = NULL;
    ok(es_file_read(root, &rootb) == ES_OK && es_trust_new(&g_trust) == ES_OK &&
           es_trust_add(g_trust, rootb.p, rootb.len, &added) == ES_OK && added == 1,
       "%s: the site root read", kind);
    es_buf_cleanup(&rootb);
    /* The status system's own certificate (ST10), beside the maker's system certificate. */
    es_buf sc, scder;
    es_buf_init(&sc, 1u << 20);
    es_buf_init(&scder, 1u << 20);
    snprintf(path, sizeof path, "%s/keys/status.crt", d.var);
    es_pki_cert pc;
    ok(es_file_read(path, &sc) == ES_OK && es_cert_to_der(sc.p, sc.len, &scder) == ES_OK &&
           es_pki_cert_parse(es_slice_make(scder.p, scder.len), &pc) == ES_OK &&
           (pc.ext_key_usage & ES_EKU_OCSP_SIGNING) &&
           es_trust_verify(g_trust, es_slice_make(scder.p, scder.len), NULL, 0, ES_TIME_NONE, why,
                           sizeof why) == ES_OK,
       "%s: VAR/keys/status.crt: the status system's certificate (OCSPSigning), chained to the "
       "root",
       kind);

    char otp[64];
    snprintf(otp, sizeof otp, "%s", d.otp);
    ok(sign_in(&d, "admin", otp, admin) == 201, "%s: admin signs in", kind);
    json_decref(jcall(&d, "POST", "/api/v1/users/me/password", admin,
                      json_pack("{s:s,s:s}", "old_password", otp, "new_password", ADMIN_PASS),
                      &st));
    ok(account(&d, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&d, admin, "reviewer", "[\"reviewer\"]", reviewer) &&
           account(&d, admin, "operator1", "[\"operator\"]", outsider),
       "%s: accounts", kind);

    es_status_answer *a = calloc(1, sizeof *a);
    es_buf der;
    es_buf_init(&der, ES_STATUS_ANSWER_MAX);

    /* An unknown seal: an answer (unknown), signed, not an error. */
    es_status_expect exp_u = {"RS35010299999999", NULL, ES_TIME_NONE, {NULL, 0}, ES_TIME_NONE, 0};
    ok(answer(&d, "/api/v1/status/RS35010299999999", &exp_u, a, &der) &&
           a->r.state_now == ES_STATUS_UNKNOWN && a->r.state_at == ES_STATUS_UNKNOWN &&
           a->r.n_history == 0,
       "%s: an unknown seal: a signed answer, state unknown", kind);
    snprintf(path, sizeof path, "%s/unknown.der", d.var);
    ok(es_file_write(path, der.p, der.len) == ES_OK, "%s: kept", kind);
    char args[2000];
    snprintf(args, sizeof args, "'%s/unknown.der' --trust '%s'", d.var, root);
    ok(cli_rc(args, "未知", d.var) == 2, "%s: eseal status verify: unknown seal, exit 2", kind);

    /* A seal made. */
    int64_t id =
        approved(&d, issuer, reviewer, apply_body("福州市鼓楼区人力资源和社会保障局"), "apply");
    ok(id && execute(&d, issuer, id, code) == 200 && code[0], "%s: a seal made (%s)", kind, code);
    json_t *s = seal_get(&d, issuer, code);
    snprintf(serial, sizeof serial, "%s", sget(s, "seal.cert_serial"));
    json_decref(s);

    /* The cache: one answer about now until a change; 304 on If-None-Match. */
    t_resp r1, r2, r3;
    snprintf(path, sizeof path, "/api/v1/status/%s", code);
    int s1 = get(&d, path, DER_TYPE, NULL, NULL, &r1);
    int s2 = get(&d, path, DER_TYPE, NULL, NULL, &r2);
    char etag[64] = "", cc[128] = "";
    t_hdr_n(&r1, "ETag", 0, etag, sizeof etag);
    t_hdr_n(&r1, "Cache-Control", 0, cc, sizeof cc);
    ok(s1 == 200 && s2 == 200 && etag[0] && t_hdr(&r2, "ETag") &&
           !strcmp(t_hdr(&r2, "ETag"), etag) && r1.body.len == r2.body.len &&
           !memcmp(r1.body.p, r2.body.p, r1.body.len),
       "%s: the same answer and ETag %s twice (cached)", kind, etag);
    ok(strstr(cc, "public") && strstr(cc, "max-age="), "%s: Cache-Control: %s", kind, cc);
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    int s3 = get(&d, path, DER_TYPE, inm, NULL, &r3);
    ok(s3 == 304 && r3.body.len == 0, "%s: If-None-Match: 304 (%d)", kind, s3);
    t_resp_free(&r3);
    /* The JSON view: its own ETag, the same states, the DER inside. */
    json_t *jv = NULL;
    s3 = get(&d, path, NULL, NULL, NULL, &r3);
    jv = body_of(&r3);
    ok(s3 == 200 && !strcmp(sget(jv, "state_now"), "active") &&
           !strcmp(sget(jv, "state_now_zh"), "正常") && sget(jv, "answer")[0] &&
           t_hdr(&r3, "ETag") && strcmp(t_hdr(&r3, "ETag"), etag) != 0,
       "%s: the JSON view: active 正常, the answer inside, its own ETag", kind);
    json_decref(jv);
    t_resp_free(&r3);
    t_resp_free(&r2);

    /* suspend, restore, loss, a second apart */
    ok(lifecycle_step(&d, issuer, reviewer, code, "suspend"), "%s: suspended", kind);
    s2 = get(&d, path, DER_TYPE, inm, NULL, &r2);
    ok(s2 == 200 && t_hdr(&r2, "ETag") && strcmp(t_hdr(&r2, "ETag"), etag) != 0,
       "%s: after the change: a new answer at once (200, new ETag), not 304", kind);
    es_status_expect exp_c = {code, NULL, ES_TIME_NONE, {NULL, 0}, ES_TIME_NONE, 0};
    ok(es_status_answer_verify(es_slice_make(r2.body.p, r2.body.len), g_trust, &exp_c, a, why,
                               sizeof why) == ES_OK &&
           a->r.state_now == ES_STATUS_SUSPENDED,
       "%s: ... which says suspended", kind);
    t_resp_free(&r1);
    t_resp_free(&r2);
    ok(lifecycle_step(&d, issuer, reviewer, code, "restore"), "%s: restored", kind);
    ok(lifecycle_step(&d, issuer, reviewer, code, "loss"), "%s: reported lost", kind);

    ok(answer(&d, path, &exp_c, a, &der) && a->r.state_now == ES_STATUS_LOST &&
           a->r.state_at == ES_STATUS_LOST && a->r.n_history == 4 && a->r.history_complete,
       "%s: now: lost, with its history of 4 changes", kind);
    es_time t_made = change_time(a, ES_STATUS_ACTIVE, "made"),
            t_susp = change_time(a, ES_STATUS_SUSPENDED, NULL),
            t_rest = change_time(a, ES_STATUS_ACTIVE, "restore"),
            t_lost = change_time(a, ES_STATUS_LOST, NULL);
    ok(t_made != ES_TIME_NONE && t_made < t_susp && t_susp < t_rest && t_rest < t_lost,
       "%s: the history: made, suspended, restored, lost in order", kind);
    es_status_result keep = a->r;
    ok(state_at(&d, code, t_made - 1) == ES_STATUS_NOT_YET_VALID &&
           state_at(&d, code, t_made) == ES_STATUS_ACTIVE &&
           state_at(&d, code, t_susp - 1) == ES_STATUS_ACTIVE &&
           state_at(&d, code, t_susp) == ES_STATUS_SUSPENDED &&
           state_at(&d, code, t_rest - 1) == ES_STATUS_SUSPENDED &&
           state_at(&d, code, t_rest) == ES_STATUS_ACTIVE &&
           state_at(&d, code, t_lost - 1) == ES_STATUS_ACTIVE &&
           state_at(&d, code, t_lost) == ES_STATUS_LOST,
       "%s: the state at times before and after each change", kind);
    ok(state_at(&d, code, keep.not_after + 10) == ES_STATUS_LOST,
       "%s: after its validity a lost seal stays lost", kind);

    /* "Was this seal valid at T?" in one call. */
    es_store *db = NULL;
    ok(es_store_open(store, &db) == ES_OK && es_status_valid_at(db, code, t_rest) == 1 &&
           es_status_valid_at(db, code, t_susp) == 0 && es_status_valid_at(db, code, t_lost) == 0 &&
           es_status_valid_at(db, "RS35010299999999", t_rest) == 0,
       "%s: es_status_valid_at: yes after the restoration, no while suspended or lost", kind);
    int n_changes = 0;
    ok(db && es_status_changes(db, 0, 100, NULL, NULL) == ES_ERR_ARG, "%s: changes: cb needed",
       kind);
    int64_t last_seq = 0, n_seen = 0;
    int in_order = 1;
    ok(db && es_status_changes(db, 0, 100, feed, &last_seq) == ES_OK &&
           es_status_changes(db, 2, 100, feed_count, &n_seen) == ES_OK,
       "%s: es_status_changes: the feed read", kind);
    in_order = last_seq == count(store, "SELECT MAX(seq) FROM status_events") &&
               n_seen == count(store, "SELECT COUNT(*) FROM status_events") - 2;
    ok(in_order, "%s: every change after seq N, in order (last %lld, after 2: %lld)", kind,
       (long long)last_seq, (long long)n_seen);
    es_store_close(db);
    (void)n_changes;

    /* By certificate serial, in upper case too. */
    char up[ES_STATUS_SERIAL_MAX];
    for (size_t i = 0; i <= strlen(serial); i++)
        up[i] = (char)(serial[i] >= 'a' && serial[i] <= 'f' ? serial[i] - 32 : serial[i]);
    snprintf(path, sizeof path, "/api/v1/status/certs/%s", up);
    es_status_expect exp_s = {NULL, serial, ES_TIME_NONE, {NULL, 0}, ES_TIME_NONE, 0};
    ok(answer(&d, path, &exp_s, a, &der) && a->r.by == ES_STATUS_BY_CERT &&
           !strcmp(a->r.code, code) && a->r.state_now == ES_STATUS_LOST,
       "%s: by certificate serial: the seal %s, lost", kind, a->r.code);

    /* A second seal: expired after its certificate's validity; then its certificate revoked by
     * the CA's operator (the CA's own record in ca_certs, as `eseal ca revoke` writes it; the
     * making system records nothing): revoked, at once (the cache follows the CA's
     * revocations), with the CA's change in its history. */
    char code2[ES_SEAL_CODE_MAX], serial2[ES_STATUS_SERIAL_MAX];
    id = approved(&d, issuer, reviewer, apply_body("第二枚印章"), "apply");
    ok(id && execute(&d, issuer, id, code2) == 200 && code2[0], "%s: a second seal made (%s)", kind,
       code2);
    s = seal_get(&d, issuer, code2);
    snprintf(serial2, sizeof serial2, "%s", sget(s, "seal.cert_serial"));
    json_decref(s);
    es_status_expect exp_2 = {code2, NULL, ES_TIME_NONE, {NULL, 0}, ES_TIME_NONE, 0};
    snprintf(path, sizeof path, "/api/v1/status/%s", code2);
    sleep_ms(1100); /* the revocation a second after the seal was made */
    ok(answer(&d, path, &exp_2, a, &der) && a->r.state_now == ES_STATUS_ACTIVE && a->r.has_validity,
       "%s: the second seal: active", kind);
    es_time end2 = a->r.not_after, now2 = a->produced_at;
    ok(state_at(&d, code2, end2 + 10) == ES_STATUS_EXPIRED,
       "%s: asked about a time after its certificate's validity: expired", kind);
    /* Renewed (7.9): the same code, a new certificate; asked by the old certificate: revoked
     * (superseded), by the code: active on the new one. */
    ok(lifecycle_step(&d, issuer, reviewer, code2, "renew"), "%s: the second seal renewed", kind);
    snprintf(path, sizeof path, "/api/v1/status/certs/%s", serial2);
    es_status_expect exp_old = {NULL, serial2, ES_TIME_NONE, {NULL, 0}, ES_TIME_NONE, 0};
    ok(answer(&d, path, &exp_old, a, &der) && a->r.state_now == ES_STATUS_REVOKED &&
           a->r.state_at == ES_STATUS_REVOKED,
       "%s: its old certificate: revoked (superseded)", kind);
    snprintf(path, sizeof path, "/api/v1/status/%s", code2);
    ok(answer(&d, path, &exp_2, a, &der) && a->r.state_now == ES_STATUS_ACTIVE &&
           strcmp(a->r.cert_serial, serial2) != 0 && a->r.n_history == 2 &&
           !strcmp(a->r.history[1].reason, "renewed"),
       "%s: the seal: active on its new certificate %s", kind, a->r.cert_serial);
    snprintf(serial2, sizeof serial2, "%s", a->r.cert_serial);
    char sql[400];
    snprintf(sql, sizeof sql,
             "UPDATE ca_certs SET status = 'R', revoked_at = %lld, reason = 1 WHERE serial = '%s'",
             (long long)now2, serial2);
    ok(exec_sql(store, sql), "%s: the CA's operator revokes its certificate", kind);
    ok(answer(&d, path, &exp_2, a, &der) && a->r.state_now == ES_STATUS_REVOKED &&
           a->r.n_history == 3 && a->r.history[1].state == ES_STATUS_REVOKED &&
           !strcmp(a->r.history[1].reason, "ca:keyCompromise"),
       "%s: revoked at once, the CA's revocation in the history (%s)", kind,
       a->r.n_history == 3 ? a->r.history[1].reason : "");
    ok(state_at(&d, code2, now2 - 1) == ES_STATUS_ACTIVE &&
           state_at(&d, code2, end2 + 10) == ES_STATUS_REVOKED,
       "%s: active before the revocation, revoked after it", kind);

    /* Nonce: signed on demand, carried, never the same answer twice, not cacheable. */
    const char *nonce = "00112233445566778899aabbccddeeff";
    snprintf(path, sizeof path, "/api/v1/status/%s?nonce=%s", code, nonce);
    es_buf nb;
    es_buf_init(&nb, 64);
    if (es_hex_decode(nonce, strlen(nonce), &nb) != ES_OK) st_die("hex");
    es_status_expect exp_n = {code, NULL, ES_TIME_NONE, {nb.p, nb.len}, ES_TIME_NONE, 0};
    es_buf der2;
    es_buf_init(&der2, ES_STATUS_ANSWER_MAX);
    ok(answer(&d, path, &exp_n, a, &der) && a->nonce.len == 16 &&
           answer(&d, path, &exp_n, a, &der2) &&
           (der.len != der2.len || memcmp(der.p, der2.p, der.len) != 0),
       "%s: nonce answers carry the nonce and differ", kind);
    get(&d, path, DER_TYPE, NULL, NULL, &r1);
    ok(r1.status == 200 && !t_hdr(&r1, "ETag") && strstr(t_hdr(&r1, "Cache-Control"), "no-store"),
       "%s: a nonce answer is not cacheable (no ETag, no-store)", kind);
    t_resp_free(&r1);
    es_status_expect exp_n2 = exp_n;
    uint8_t other[16] = {1};
    exp_n2.nonce = es_slice_make(other, sizeof other);
    ok(es_status_answer_verify(es_slice_make(der.p, der.len), g_trust, &exp_n2, a, why,
                               sizeof why) == ES_ERR_VERIFY &&
           strstr(why, "nonce"),
       "%s: another nonce expected: refused (%s)", kind, why);
    es_buf_cleanup(&nb);
    es_buf_cleanup(&der2);

    /* The verifier: the question, freshness. */
    snprintf(path, sizeof path, "/api/v1/status/%s", code);
    ok(answer(&d, path, &exp_c, a, &der), "%s: an answer about now", kind);
    es_status_expect exp_o = {"RS35010200000999", NULL, ES_TIME_NONE, {NULL, 0}, ES_TIME_NONE, 0};
    ok(es_status_answer_verify(es_slice_make(der.p, der.len), g_trust, &exp_o, a, why,
                               sizeof why) == ES_ERR_VERIFY &&
           strstr(why, "question"),
       "%s: about another seal: refused (%s)", kind, why);
    es_status_expect exp_late = exp_c;
    exp_late.now = es_time_now() + 2 * ES_STATUS_NEXT_UPDATE;
    ok(es_status_answer_verify(es_slice_make(der.p, der.len), g_trust, &exp_late, a, why,
                               sizeof why) == ES_ERR_VERIFY &&
           strstr(why, "stale"),
       "%s: past nextUpdate: stale (%s)", kind, why);
    exp_late.no_freshness = 1;
    ok(es_status_answer_verify(es_slice_make(der.p, der.len), g_trust, &exp_late, a, why,
                               sizeof why) == ES_OK,
       "%s: kept as evidence (no freshness check): valid", kind);

    /* Tampering: every byte flipped in turn. */
    size_t acc = flips_accepted(es_slice_make(der.p, der.len), &exp_c);
    ok(acc == 0, "%s: every one of the %zu bytes flipped: refused (%zu accepted)", kind, der.len,
       acc);
    ok(other_key_refused(&keep, es_slice_make(scder.p, scder.len)),
       "%s: signed by another key: refused (another root: chain; the real certificate: "
       "signature)",
       kind);
    /* Signed by the site's own maker key with its maker-system certificate (chained to the same
     * root): refused for its profile (a making system's certificate is no status responder). */
    {
        char kp[700], pass[300] = "", ref[800];
        es_buf pb, mc, mder, out;
        es_buf_init(&pb, 4096);
        es_buf_init(&mc, 1u << 20);
        es_buf_init(&mder, 1u << 20);
        es_buf_init(&out, ES_STATUS_ANSWER_MAX);
        es_signer *maker = NULL;
        snprintf(kp, sizeof kp, "%s/keys/passphrase", d.var);
        if (es_file_read(kp, &pb) == ES_OK && pb.len < sizeof pass) {
            memcpy(pass, pb.p, pb.len);
            pass[pb.len] = 0;
            pass[strcspn(pass, "\r\n")] = 0;
        }
        setenv("ESEAL_TEST_STATUS_PASS", pass, 1);
        es_secret_src src = es_secret_env("ESEAL_TEST_STATUS_PASS");
        snprintf(ref, sizeof ref, "soft:%s/keys#system", d.var);
        snprintf(kp, sizeof kp, "%s/keys/system.crt", d.var);
        int refused = 0;
        if (es_keydev_signer(ref, &src, &maker) == ES_OK && es_file_read(kp, &mc) == ES_OK &&
            es_cert_to_der(mc.p, mc.len, &mder) == ES_OK) {
            es_status_responder mr = {maker, es_slice_make(mder.p, mder.len), NULL, 0};
            refused = es_status_answer_sign(&keep, &mr, es_time_now(), es_time_now() + 3600,
                                            es_slice_make(NULL, 0), &out) == ES_OK &&
                      es_status_answer_verify(es_slice_make(out.p, out.len), g_trust, NULL, a, why,
                                              sizeof why) == ES_ERR_VERIFY &&
                      strstr(why, "profile") != NULL;
        }
        ok(refused, "%s: signed with the maker-system certificate: refused for its profile (%s)",
           kind, why);
        unsetenv("ESEAL_TEST_STATUS_PASS");
        es_signer_free(maker);
        es_buf_cleanup(&pb);
        es_buf_cleanup(&mc);
        es_buf_cleanup(&mder);
        es_buf_cleanup(&out);
    }
    /* Truncated and with trailing bytes. */
    ok(es_status_answer_parse(es_slice_make(der.p, der.len - 1), a) != ES_OK,
       "%s: truncated: refused", kind);
    if (es_buf_append(&der, "\0", 1) != ES_OK) st_die("append");
    ok(es_status_answer_parse(es_slice_make(der.p, der.len), a) != ES_OK,
       "%s: a trailing byte: refused", kind);
    der.len--;

    /* The CLI. */
    snprintf(path, sizeof path, "%s/lost.der", d.var);
    ok(es_file_write(path, der.p, der.len) == ES_OK, "%s: kept", kind);
    /* Samples for the fuzz target's regression inputs (tests/data/fuzz-regress/). */
    /* With ESEAL_STATUS_SAMPLES=DIR: the answers and the root the CLI test (tests/cli/status.sh,
     * tests/data/status/) and the fuzz target's regression inputs were made from. */
    const char *samples = getenv("ESEAL_STATUS_SAMPLES");
    if (samples && !url) {
        char cmd[3000];
        snprintf(cmd, sizeof cmd,
                 "cp '%s' '%s/root.crt' && cp '%s/unknown.der' '%s/unknown.der' && cp '%s' "
                 "'%s/lost.der' && cp '%s' '%s/fuzz_status-answer.der' && echo %s > '%s/code'",
                 root, samples, d.var, samples, path, samples, path, samples, code, samples);
        ok(system(cmd) == 0, "%s: samples written to %s", kind, samples);
    }
    snprintf(args, sizeof args, "'%s/lost.der' --trust '%s' --code %s", d.var, root, code);
    ok(cli_rc(args, "挂失 lost", d.var) == 1,
       "%s: eseal status verify: lost now, exit 1 (Chinese first)", kind);
    char iso[32];
    es_time_format_iso(t_rest, iso);
    snprintf(path, sizeof path, "/api/v1/status/%s?at=%s", code, iso);
    es_status_expect exp_r = {code, NULL, t_rest, {NULL, 0}, ES_TIME_NONE, 0};
    ok(answer(&d, path, &exp_r, a, &der), "%s: an answer about the restoration", kind);
    snprintf(path, sizeof path, "%s/restored.der", d.var);
    ok(es_file_write(path, der.p, der.len) == ES_OK, "%s: kept", kind);
    if (samples && !url) {
        char cmd[3000];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s/restored.der' && echo %s > '%s/at'", path, samples,
                 iso, samples);
        ok(system(cmd) == 0, "%s: sample written", kind);
    }
    snprintf(args, sizeof args, "'%s' --trust '%s' --code %s --at %s", path, root, code, iso);
    ok(cli_rc(args, "正常 active", d.var) == 0,
       "%s: eseal status verify --at the restoration: valid then, exit 0", kind);
    snprintf(args, sizeof args, "'%s' --trust '%s' --code RS35010200000999", path, root);
    ok(cli_rc(args, "NOT valid", d.var) == 4, "%s: eseal status verify, another seal: exit 4",
       kind);
    der.p[der.len / 2] ^= 0x20;
    snprintf(path, sizeof path, "%s/tampered.der", d.var);
    ok(es_file_write(path, der.p, der.len) == ES_OK, "%s: kept", kind);
    snprintf(args, sizeof args, "'%s' --trust '%s'", path, root);
    ok(cli_rc(args, NULL, d.var) == 4, "%s: eseal status verify, a tampered answer: exit 4", kind);
    snprintf(args, sizeof args, "'%s/restored.der'", d.var);
    ok(cli_rc(args, NULL, d.var) == 3, "%s: eseal status verify without --trust: exit 3", kind);

    /* eseal status get: asks the daemon, verifies with --trust (exit 1: lost), writes the DER. */
    if (g_cli) {
        char cmd[3000];
        snprintf(cmd, sizeof cmd,
                 "'%s' status get http://127.0.0.1:%u %s --nonce random --trust '%s' -o "
                 "'%s/got.der' > '%s/get.out' 2>&1",
                 g_cli, d.port, code, root, d.var, d.var);
        int rc = system(cmd);
        rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        snprintf(args, sizeof args, "'%s/got.der' --trust '%s' --code %s", d.var, root, code);
        ok(rc == 1 && cli_rc(args, "挂失 lost", d.var) == 1,
           "%s: eseal status get --nonce random --trust: lost (exit %d), the DER kept", kind, rc);
        snprintf(cmd, sizeof cmd,
                 "'%s' status get http://127.0.0.1:%u %s --cert --trust '%s' > '%s/get.out' 2>&1",
                 g_cli, d.port, serial, root, d.var);
        rc = system(cmd);
        ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "%s: eseal status get --cert: lost (exit 1)",
           kind);
    }

    /* Public: no sign-in needed; another role's session works as well; no write behind it. */
    snprintf(path, sizeof path, "/api/v1/status/%s", code);
    get(&d, path, NULL, NULL, outsider, &r1);
    ok(r1.status == 200, "%s: an operator's session: 200 as well", kind);
    t_resp_free(&r1);
    int64_t events = count(store, "SELECT COUNT(*) FROM status_events"),
            audits = count(store, "SELECT COUNT(*) FROM audit");
    static const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    int refused = 1;
    for (size_t i = 0; i < 4; i++) {
        t_resp r;
        int w = call(&d, methods[i], path, NULL, "{}", &r);
        if (w != 405 && w != 404 && w != 401) refused = 0;
        t_resp_free(&r);
        snprintf(path, sizeof path, "/api/v1/status/certs/%s", serial);
        w = call(&d, methods[i], path, NULL, "{}", &r);
        if (w != 405 && w != 404 && w != 401) refused = 0;
        t_resp_free(&r);
        snprintf(path, sizeof path, "/api/v1/status/%s", code);
    }
    ok(refused, "%s: POST, PUT, DELETE, PATCH on the status routes: refused", kind);

    /* Malformed input: 400 naming the field, Chinese and English; nothing stored changes. */
    static const struct {
        const char *path, *error, *field;
    } bad[] = {
        {"/api/v1/status/bad%20code", "status_code", "code"},
        {"/api/v1/status/RS3501020000000123456789012345678901", "status_code", "code"},
        {"/api/v1/status/certs/xyz", "status_serial", "serial"},
        {"/api/v1/status/certs/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
         "status_serial", "serial"},
        {"/api/v1/status/RS35010200000001?at=yesterday", "status_time", "at"},
        {"/api/v1/status/RS35010200000001?at=2026-13-01", "status_time", "at"},
        {"/api/v1/status/RS35010200000001?nonce=abc", "status_nonce", "nonce"},
        {"/api/v1/status/RS35010200000001?nonce=0011223344556677", "", ""}, /* 8 bytes: fine */
        {"/api/v1/status/RS35010200000001?nonce=00112233445566", "status_nonce", "nonce"},
        {"/api/v1/status/RS35010200000001?nonce=zz112233445566778899", "status_nonce", "nonce"},
        {"/api/v1/status/RS35010200000001?format=xml", "invalid_argument", "format"},
    };
    int named = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_resp r;
        int w = get(&d, bad[i].path, NULL, NULL, NULL, &r);
        json_t *e = body_of(&r);
        int good = !bad[i].error[0] ? w == 200
                                    : w == 400 && !strcmp(sget(e, "error"), bad[i].error) &&
                                          !strcmp(sget(e, "field"), bad[i].field) &&
                                          sget(e, "message")[0] && sget(e, "message_zh")[0];
        if (!good) {
            fprintf(stderr, "  %s: %d %.*s\n", bad[i].path, w, (int)r.body.len,
                    (const char *)r.body.p);
            named = 0;
        }
        json_decref(e);
        t_resp_free(&r);
    }
    ok(named, "%s: malformed code, serial, time, nonce, format: 400 naming the field", kind);
    ok(count(store, "SELECT COUNT(*) FROM status_events") == events &&
           count(store, "SELECT COUNT(*) FROM audit") == audits,
       "%s: nothing stored changed", kind);

    /* The rate per address ([status] rate_address = 3000 a minute, burst 300): 429 with
     * Retry-After within 2000 more queries. */
    int limited = 0;
    snprintf(path, sizeof path, "/api/v1/status/%s", code);
    for (int i = 0; i < 2000 && !limited; i++) {
        t_resp r;
        int w = get(&d, path, DER_TYPE, NULL, NULL, &r);
        if (w == 429 && t_hdr(&r, "Retry-After")) limited = 1;
        t_resp_free(&r);
    }
    ok(limited, "%s: over the rate per address: 429 with Retry-After", kind);

    es_buf_cleanup(&der);
    es_buf_cleanup(&sc);
    es_buf_cleanup(&scder);
    free(a);
    es_trust_free(g_trust);
    g_trust = NULL;
    node_stop(&d);
}

int main(void)
{
    unsetenv("ESEAL_PIN");
    signal(SIGPIPE, SIG_IGN);
    g_cli = getenv("ESEAL_CLI");
    make_fixtures();
    suite("sqlite", NULL);
    if (st_pg_ready()) suite("postgresql", st_pg_db("status"));
    free_fixtures();
    return t_done();
}
