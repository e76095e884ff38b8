/* Bulk import of other vendors' seals into the registry (include/eseal/making_import.h,
 * docs/making.md "Import of other vendors' seals"; issue 10, MK20-MK23). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/making_import.h"
#include "eseal/pki.h"
#include "eseal/seal.h"
#include "svc/internal.h"
#include "svc/making/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

static int may(const es_actor *by, es_perm p)
{
    return by && !by->is_system && es_roles_allow(by->roles, p);
}

static es_err deny(es_making *m, const es_actor *by, const char *what)
{
    es_err rv = es_acct_audit_denied(m->a, by, what);
    return rv == ES_OK ? ES_ERR_DENIED : rv;
}

static es_err bad(const char **field, es_reason *why, const char *f, const char *en, const char *zh)
{
    if (field) *field = f;
    if (why) {
        why->en = en;
        why->zh = zh;
    }
    return ES_ERR_ARG;
}

/* ---- the reasons a file is not imported */

static const struct {
    const char *reason, *en, *zh;
} reasons[] = {
    {"same_file", "this file was imported before", "该文件此前已导入"},
    {"same_code", "a seal with this code is in the registry", "登记库中已有该编码的印章"},
    {"same_certificate", "a seal with this certificate is in the registry",
     "登记库中已有使用该证书的印章"},
    {"empty", "the file is empty", "文件为空"},
    {"too_large", "the file is larger than 1 MiB", "文件超过 1 MiB"},
    {"format", "the file is not a seal (GB/T 38540 or GM/T 0031) or is damaged or truncated",
     "文件不是电子印章（GB/T 38540 或 GM/T 0031），或已损坏、被截断"},
    {"maker_signature", "the maker's signature on the seal does not verify",
     "印章的制章者签名验证不通过"},
    {"maker_chain", "the maker certificate does not chain to the trust roots given",
     "制章者证书无法验证到所给的信任根"},
    {"code_format",
     "the seal code is empty, longer than 32 characters or has other characters "
     "than letters, digits, '-', '_' and '.'",
     "印章编码为空、超过32个字符或含有字母、数字、“-”、“_”、“.”以外的字符"},
    {"code_reserved", "the seal code is in this system's own industry code space (RS...)",
     "印章编码属于本系统的行业印章编码空间（RS...）"},
    {"validity", "the seal's validity period is empty or reversed", "印章有效期为空或起止颠倒"},
    {"holder_certificate",
     "the seal names no certificate of its holder, or names it by digest and no certificate "
     "given matches",
     "印章未包含持章者证书，或仅以摘要引用而所给证书均不匹配"},
    {"serial_collision",
     "another certificate with the same serial number is in the registry (a certificate serial "
     "serves one seal)",
     "登记库中已有另一张序列号相同的证书（一个证书序列号只能对应一枚印章）"},
    {"data", "a name or field of the seal is too long for the registry",
     "印章的名称或字段超出登记库的长度限制"},
};

static void set_reason(es_import_outcome *o, const char *outcome, const char *reason,
                       const char *detail)
{
    snprintf(o->outcome, sizeof o->outcome, "%s", outcome);
    snprintf(o->reason, sizeof o->reason, "%s", reason);
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (strcmp(reasons[i].reason, reason) != 0) continue;
        if (detail && *detail) {
            snprintf(o->message, sizeof o->message, "%s: %s", reasons[i].en, detail);
            snprintf(o->message_zh, sizeof o->message_zh, "%s：%s", reasons[i].zh, detail);
        } else {
            snprintf(o->message, sizeof o->message, "%s", reasons[i].en);
            snprintf(o->message_zh, sizeof o->message_zh, "%s", reasons[i].zh);
        }
    }
}

/* ---- the batch's subject: what the importer decides on */

static es_err subject_of(const es_import_request *rq, char hex[65])
{
    es_buf b;
    uint8_t h[ES_SM3_LEN];
    char fh[65];
    es_err rv;
    es_buf_init(&b, 4u << 20);
    CHECK(es_buf_printf(&b, "eseal-import-1\nvendor=%s\nallow_unverified=%d\n", rq->vendor,
                        rq->allow_unverified ? 1 : 0));
    for (size_t i = 0; i < rq->n_files; i++) {
        CHECK(es_sm3(rq->files[i].bytes.len ? rq->files[i].bytes.p : (const uint8_t *)"",
                     rq->files[i].bytes.len, h));
        es_hex_encode(h, sizeof h, fh);
        CHECK(es_buf_printf(&b, "file=%s %s\n", fh, rq->files[i].name));
    }
    for (size_t i = 0; i < rq->n_certs; i++) {
        CHECK(es_sm3(rq->certs[i].p, rq->certs[i].len, h));
        es_hex_encode(h, sizeof h, fh);
        CHECK(es_buf_printf(&b, "cert=%s\n", fh));
    }
    for (size_t i = 0; i < rq->n_roots; i++) {
        CHECK(es_sm3(rq->roots[i].p, rq->roots[i].len, h));
        es_hex_encode(h, sizeof h, fh);
        CHECK(es_buf_printf(&b, "root=%s\n", fh));
    }
    CHECK(es_sm3(b.p, b.len, h));
    es_hex_encode(h, sizeof h, hex);
out:
    es_buf_cleanup(&b);
    return rv;
}

/* ---- checks of one file */

static int code_ok(const char *c, size_t len)
{
    if (len == 0 || len >= ES_SEAL_CODE_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        char x = c[i];
        if (!((x >= '0' && x <= '9') || (x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z') ||
              x == '-' || x == '_' || x == '.'))
            return 0;
    }
    return 1;
}

/* Our own industry codes: "RS" + 6-digit division + 8-digit serial (es_code_next_in). */
static int code_reserved(const char *c)
{
    if (strlen(c) != 16 || c[0] != 'R' || c[1] != 'S') return 0;
    for (int i = 2; i < 16; i++)
        if (c[i] < '0' || c[i] > '9') return 0;
    return 1;
}

static es_result check_of(const es_entry *e, const char *name, const char **detail)
{
    for (size_t i = 0; i < e->n_checks; i++)
        if (strcmp(e->checks[i].name, name) == 0) {
            if (detail) *detail = e->checks[i].detail ? e->checks[i].detail : "";
            return e->checks[i].result;
        }
    if (detail) *detail = "";
    return ES_SKIPPED;
}

/* What a file will be in the registry, once checked. */
typedef struct candidate {
    es_application app; /* scope, carrier, uscc, division, unit_name, seal_name, seal_type */
    char code[ES_SEAL_CODE_MAX];
    char serial[2 * ES_PKI_SERIAL_MAX + 1];
    es_slice holder_cert;  /* DER (borrowed: the file or the request's certs) */
    es_slice picture;      /* the seal's PNG picture (borrowed: the file); empty: not usable */
    char picture_note[24]; /* "png", or why the picture is not kept ("gif", "size") */
    int64_t valid_start, valid_end;
    int verified;
} candidate;

/* Fills unit data from the holder certificate's subject: O = credit code + unit name
 * (spec/national.md) when it reads so, else the whole O as the unit's name. */
static void unit_of(const es_pki_cert *pc, es_application *a)
{
    es_name n;
    memset(&n, 0, sizeof n);
    if (es_pki_name_from_der(pc->subject, &n) != ES_OK) return;
    const char *o = es_pki_name_get(&n, ES_NAME_O);
    if (!o) return;
    const char *why = NULL;
    if (strlen(o) > 18 && es_pki_uscc_check(o, 18, &why) == ES_OK) {
        snprintf(a->uscc, sizeof a->uscc, "%.18s", o);
        snprintf(a->unit_name, sizeof a->unit_name, "%s", o + 18);
    } else {
        snprintf(a->unit_name, sizeof a->unit_name, "%s", o);
    }
}

/* The seal's picture (SES_ESPictrueInfo) for its standing application, so a renewal, change
 * or replacement of the seal executes with it: kept when it is a PNG (by its bytes and its
 * type) of at most ES_MK_PICTURE_MAX bytes whose printed size is 10 to 100 mm each way, as an
 * application's own picture must be (the making system puts PNG pictures into the seals it
 * makes). Other pictures (GIF, JPG, BMP, SVG, OFD) are not kept: a self-service renewal of
 * such a seal is refused (ES_ERR_MK_NO_PICTURE) and an application entered at the counter
 * asks for a PNG picture before it is submitted. */
static void keep_picture(const es_seal *s, candidate *c)
{
    const char *sniffed = es_picture_sniff(s->picture);
    int type_png = s->picture_type.len == 3 && (s->picture_type.p[0] | 0x20) == 'p' &&
                   (s->picture_type.p[1] | 0x20) == 'n' && (s->picture_type.p[2] | 0x20) == 'g';
    if (!sniffed || strcmp(sniffed, "PNG") != 0 || !type_png) {
        snprintf(c->picture_note, sizeof c->picture_note, "%.23s", sniffed ? sniffed : "unknown");
        return;
    }
    if (s->picture.len > ES_MK_PICTURE_MAX || s->picture_width < 10 || s->picture_width > 100 ||
        s->picture_height < 10 || s->picture_height > 100) {
        snprintf(c->picture_note, sizeof c->picture_note, "png-size");
        return;
    }
    c->picture = s->picture;
    c->app.width_mm = (int)s->picture_width;
    c->app.height_mm = (int)s->picture_height;
    snprintf(c->picture_note, sizeof c->picture_note, "png");
}

/* Checks a file that is not a duplicate by its bytes. ES_OK with *c filled, or ES_ERR_VERIFY
 * with o's outcome set to refused. */
static es_err examine(const es_import_request *rq, const es_trust *trust, es_slice bytes,
                      const char *sm3, candidate *c, es_import_outcome *o)
{
    es_seal s;
    es_report rep;
    es_verify_opts vo;
    es_pki_cert pc;
    const char *detail = "";
    char hex[2 * ES_PKI_SERIAL_MAX + 8];
    es_err rv;
    memset(c, 0, sizeof *c);
    if (es_seal_from_der(bytes, 0, &s) != ES_OK) {
        set_reason(o, "refused", "format", NULL);
        return ES_ERR_VERIFY;
    }
    memset(&vo, 0, sizeof vo);
    vo.now = ES_TIME_NONE;
    vo.trust = trust;
    es_report_init(&rep);
    if ((rv = es_seal_verify(bytes, &vo, &rep)) != ES_OK) {
        es_report_cleanup(&rep);
        return rv;
    }
    rv = ES_ERR_VERIFY;
    if (rep.n_entries != 1 || check_of(&rep.entries[0], ES_CHECK_FORMAT, &detail) == ES_FAILED) {
        set_reason(o, "refused", "format", detail);
        goto out;
    }
    if (check_of(&rep.entries[0], ES_CHECK_SEAL_SIGNATURE, &detail) != ES_PASSED) {
        set_reason(o, "refused", "maker_signature", detail);
        goto out;
    }
    c->verified = check_of(&rep.entries[0], ES_CHECK_CHAIN_TRUST, &detail) == ES_PASSED;
    if (!c->verified && !rq->allow_unverified) {
        set_reason(o, "refused", "maker_chain", detail);
        goto out;
    }
    if (!code_ok((const char *)s.es_id.p, s.es_id.len)) {
        set_reason(o, "refused", "code_format", NULL);
        goto out;
    }
    memcpy(c->code, s.es_id.p, s.es_id.len);
    c->code[s.es_id.len] = 0;
    if (code_reserved(c->code)) {
        set_reason(o, "refused", "code_reserved", NULL);
        goto out;
    }
    if (s.valid_start == ES_TIME_NONE || s.valid_end == ES_TIME_NONE ||
        s.valid_start >= s.valid_end) {
        set_reason(o, "refused", "validity", NULL);
        goto out;
    }
    c->valid_start = s.valid_start;
    c->valid_end = s.valid_end;
    /* The holder's certificate: the first of the list, or the given certificate whose SM3
     * is the first digest of a list of digests. */
    if (s.n_certs && s.cert_list_type != 2) {
        c->holder_cert = s.certs[0];
    } else if (s.n_certs) {
        for (size_t i = 0; i < rq->n_certs && !c->holder_cert.len; i++) {
            uint8_t h[ES_SM3_LEN];
            if (es_sm3(rq->certs[i].p, rq->certs[i].len, h) != ES_OK) continue;
            if (s.certs[0].len == sizeof h && memcmp(s.certs[0].p, h, sizeof h) == 0)
                c->holder_cert = rq->certs[i];
        }
    }
    memset(&pc, 0, sizeof pc);
    if (s.n_certs == 0) {
        /* A seal that names no certificate of its holder (GM/T 0031 seals without a list):
         * a placeholder serial from the file's SM3, which is no certificate's (docs/making.md). */
        snprintf(c->serial, sizeof c->serial, "esl-sm3-%.32s", sm3);
    } else if (!c->holder_cert.len || es_pki_cert_parse(c->holder_cert, &pc) != ES_OK ||
               pc.serial.len == 0 || pc.serial.len > ES_PKI_SERIAL_MAX) {
        set_reason(o, "refused", "holder_certificate", NULL);
        goto out;
    } else {
        es_hex_encode(pc.serial.p, pc.serial.len, hex);
        if (!es_ca_serial_norm(hex, c->serial)) {
            set_reason(o, "refused", "holder_certificate", NULL);
            goto out;
        }
    }
    if (s.name.len > ES_MK_NAME_MAX || !es_utf8_valid(s.name.p, s.name.len)) {
        set_reason(o, "refused", "data", "seal name");
        goto out;
    }
    es_application *a = &c->app;
    memcpy(a->seal_name, s.name.p, s.name.len);
    a->seal_name[s.name.len] = 0;
    a->seal_type = s.type > 0 && s.type < 1000000 ? (int)s.type : 0;
    snprintf(a->carrier, sizeof a->carrier, "usbkey");
    if (es_pki_seal_code_is_national(c->code)) {
        snprintf(a->scope, sizeof a->scope, "national");
        snprintf(a->division, sizeof a->division, "%.6s", c->code);
    } else {
        snprintf(a->scope, sizeof a->scope, "industry");
    }
    if (c->holder_cert.len) unit_of(&pc, a);
    if (!a->unit_name[0]) snprintf(a->unit_name, sizeof a->unit_name, "%s", a->seal_name);
    snprintf(a->made_code, sizeof a->made_code, "%s", c->code);
    keep_picture(&s, c);
    rv = ES_OK;
out:
    es_report_cleanup(&rep);
    return rv;
}

/* ---- duplicates */

typedef struct dup_row {
    char code[ES_SEAL_CODE_MAX];
    int found;
} dup_row;

static es_err dup_cb(void *ctx, const es_row *r)
{
    dup_row *d = ctx;
    snprintf(d->code, sizeof d->code, "%s", es_row_text(r, 0, NULL));
    d->found = 1;
    return ES_OK;
}

/* Sets o to a duplicate (ES_ERR_EXISTS) or a refusal when the registry holds the file, the
 * code or the certificate already; ES_OK otherwise. */
static es_err duplicate_of(es_making *m, const char *sm3, const candidate *c, es_import_outcome *o)
{
    dup_row d;
    es_err rv;
    memset(&d, 0, sizeof d);
    es_value p[1] = {es_v_text(sm3)};
    if ((rv = es_store_query(m->a->store, "SELECT code FROM seal_import_sources WHERE sm3 = ?", p,
                             1, dup_cb, &d)) != ES_OK)
        return rv;
    if (d.found) {
        snprintf(o->code, sizeof o->code, "%s", d.code);
        set_reason(o, "duplicate", "same_file", NULL);
        return ES_ERR_EXISTS;
    }
    if (!c) return ES_OK;
    es_value q[1] = {es_v_text(c->code)};
    if ((rv = es_store_query(m->a->store, "SELECT code FROM seals WHERE code = ?", q, 1, dup_cb,
                             &d)) != ES_OK)
        return rv;
    if (d.found) {
        snprintf(o->code, sizeof o->code, "%s", d.code);
        set_reason(o, "duplicate", "same_code", NULL);
        return ES_ERR_EXISTS;
    }
    /* The same serial: the same certificate is a duplicate, another one a collision. */
    es_value r[2] = {
        es_v_text(c->serial),
        es_v_blob(c->holder_cert.len ? c->holder_cert.p : (const uint8_t *)"", c->holder_cert.len)};
    if ((rv = es_store_query(m->a->store,
                             "SELECT code FROM seal_certs WHERE cert_serial = ? AND cert = ?", r, 2,
                             dup_cb, &d)) != ES_OK)
        return rv;
    if (d.found) {
        snprintf(o->code, sizeof o->code, "%s", d.code);
        set_reason(o, "duplicate", "same_certificate", NULL);
        return ES_ERR_EXISTS;
    }
    if ((rv = es_store_query(m->a->store,
                             "SELECT code FROM seal_certs WHERE cert_serial = ? UNION "
                             "SELECT code FROM seals WHERE cert_serial = ?",
                             (es_value[]){es_v_text(c->serial), es_v_text(c->serial)}, 2, dup_cb,
                             &d)) != ES_OK)
        return rv;
    if (d.found) {
        set_reason(o, "refused", "serial_collision", d.code);
        return ES_ERR_EXISTS;
    }
    return ES_OK;
}

/* ---- recording */

static es_err record_outcome(es_making *m, int64_t batch, const es_import_outcome *o)
{
    es_value p[] = {es_v_int(batch),         es_v_text(o->sm3),        es_v_text(o->name),
                    es_v_text(o->outcome),   es_v_text(o->code),       es_v_text(o->reason),
                    es_v_text(o->message),   es_v_text(o->message_zh), es_v_int(o->verified),
                    es_v_int(es_time_now()), es_v_int(o->index)};
    return es_store_exec(
        m->a->store,
        "INSERT INTO seal_import_files (import_id, sm3, name, outcome, code, "
        "reason, message, message_zh, verified, at, idx) VALUES (?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?)",
        p, sizeof p / sizeof p[0], NULL);
}

/* A duplicate or a refusal: its row and audit record in a transaction of their own. */
static es_err record_not_imported(es_making *m, const es_actor *by, int64_t batch,
                                  const es_import_outcome *o)
{
    char object[64], detail[512];
    es_err rv;
    snprintf(object, sizeof object, "import:%lld", (long long)batch);
    snprintf(detail, sizeof detail, "file=%.200s sm3=%s outcome=%s reason=%s code=%s", o->name,
             o->sm3, o->outcome, o->reason, o->code);
    CHECK(es_store_begin(m->a->store));
    CHECK(record_outcome(m, batch, o));
    CHECK(svc_audit(m->a, by, "seal.import_file", object, detail));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    return rv;
}

/* The seal in one transaction: its application, seal and certificate rows, its source, its
 * status event, the file's outcome, the audit record. ES_ERR_EXISTS when a concurrent import
 * took the code, the certificate or the file first (everything rolled back). */
static es_err record_imported(es_making *m, const es_actor *by, int64_t batch, const char *vendor,
                              const candidate *c, es_slice esl, es_import_outcome *o)
{
    char object[64], detail[512];
    int64_t app = 0;
    es_time now = es_time_now();
    es_err rv;
    es_application a = c->app;
    snprintf(a.reason, sizeof a.reason, "imported from %.200s (import %lld, file %.200s)", vendor,
             (long long)batch, o->name);
    CHECK(es_store_begin(m->a->store));
    CHECK(making_app_imported(m, by, &a, c->picture, &app));
    es_value p[] = {es_v_text(c->code),     es_v_text(c->serial),
                    es_v_text(a.scope),     es_v_text(a.carrier),
                    es_v_text(a.uscc),      es_v_text(a.unit_name),
                    es_v_text(a.seal_name), es_v_int(a.seal_type),
                    es_v_text(a.division),  es_v_int(c->valid_start),
                    es_v_int(c->valid_end), es_v_int(app),
                    es_v_int(now),          es_v_text(by->name),
                    es_v_text(vendor),      es_v_int(c->verified)};
    CHECK(es_store_exec(m->a->store,
                        "INSERT INTO seals (code, state, cert_serial, scope, carrier, uscc, "
                        "unit_name, seal_name, seal_type, division, valid_start, valid_end, "
                        "application_id, made_at, made_by, source, vendor, verified) VALUES (?, "
                        "'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, ?)",
                        p, sizeof p / sizeof p[0], NULL));
    es_value q[] = {
        es_v_text(c->code),
        es_v_text(c->serial),
        es_v_blob(c->holder_cert.len ? c->holder_cert.p : (const uint8_t *)"", c->holder_cert.len),
        es_v_blob(esl.p, esl.len),
        es_v_int(c->valid_start),
        es_v_int(c->valid_end),
        es_v_int(app),
        es_v_int(now)};
    CHECK(es_store_exec(m->a->store,
                        "INSERT INTO seal_certs (code, cert_serial, cert, esl, valid_start, "
                        "valid_end, application_id, made_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        q, sizeof q / sizeof q[0], NULL));
    es_value s[] = {es_v_text(o->sm3), es_v_text(c->code), es_v_int(batch)};
    CHECK(es_store_exec(m->a->store,
                        "INSERT INTO seal_import_sources (sm3, code, import_id) VALUES (?, ?, ?)",
                        s, 3, NULL));
    CHECK(making_status_event(m, c->code, c->serial, "active", "imported", app));
    snprintf(o->outcome, sizeof o->outcome, "imported");
    snprintf(o->code, sizeof o->code, "%s", c->code);
    o->verified = c->verified;
    o->expired = c->valid_end < now;
    CHECK(record_outcome(m, batch, o));
    snprintf(object, sizeof object, "seal:%s", c->code);
    snprintf(detail, sizeof detail,
             "import=%lld vendor=%.100s file=%.150s sm3=%s serial=%s verified=%d application=%lld "
             "picture=%s",
             (long long)batch, vendor, o->name, o->sm3, c->serial, c->verified, (long long)app,
             c->picture_note);
    CHECK(svc_audit(m->a, by, "seal.import", object, detail));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    return rv;
}

/* ---- the batch */

typedef struct batch_row {
    es_import_batch b;
    char subject[65];
} batch_row;

static es_err batch_cb(void *ctx, const es_row *r)
{
    batch_row *x = ctx;
    x->b.id = es_row_int(r, 0);
    snprintf(x->b.vendor, sizeof x->b.vendor, "%s", es_row_text(r, 1, NULL));
    x->b.allow_unverified = (int)es_row_int(r, 2);
    snprintf(x->subject, sizeof x->subject, "%s", es_row_text(r, 3, NULL));
    x->b.files = es_row_int(r, 4);
    snprintf(x->b.created_by, sizeof x->b.created_by, "%s", es_row_text(r, 5, NULL));
    x->b.created_at = es_row_int(r, 6);
    x->b.updated_at = es_row_int(r, 7);
    x->b.decision = es_row_int(r, 8);
    x->b.imported = es_row_int(r, 9);
    x->b.duplicates = es_row_int(r, 10);
    x->b.refused = es_row_int(r, 11);
    return ES_OK;
}

static es_err load_batch(es_making *m, int64_t id, batch_row *x)
{
    memset(x, 0, sizeof *x);
    es_value p[1] = {es_v_int(id)};
    es_err rv = es_store_query(
        m->a->store,
        "SELECT id, vendor, allow_unverified, subject, files, created_by, created_at, updated_at, "
        "decision, (SELECT COUNT(*) FROM seal_import_files f WHERE f.import_id = i.id AND "
        "outcome = 'imported'), (SELECT COUNT(*) FROM seal_import_files f WHERE f.import_id = "
        "i.id AND outcome = 'duplicate'), (SELECT COUNT(*) FROM seal_import_files f WHERE "
        "f.import_id = i.id AND outcome = 'refused') FROM seal_imports i WHERE id = ?",
        p, 1, batch_cb, x);
    if (rv != ES_OK) return rv;
    return x->b.id ? ES_OK : ES_ERR_NOT_FOUND;
}

typedef struct file_row {
    es_import_outcome o;
    int found;
} file_row;

static void fill_outcome(es_import_outcome *o, const es_row *r)
{
    memset(o, 0, sizeof *o);
    snprintf(o->sm3, sizeof o->sm3, "%s", es_row_text(r, 0, NULL));
    snprintf(o->name, sizeof o->name, "%s", es_row_text(r, 1, NULL));
    snprintf(o->outcome, sizeof o->outcome, "%s", es_row_text(r, 2, NULL));
    snprintf(o->code, sizeof o->code, "%s", es_row_text(r, 3, NULL));
    snprintf(o->reason, sizeof o->reason, "%s", es_row_text(r, 4, NULL));
    snprintf(o->message, sizeof o->message, "%s", es_row_text(r, 5, NULL));
    snprintf(o->message_zh, sizeof o->message_zh, "%s", es_row_text(r, 6, NULL));
    o->verified = (int)es_row_int(r, 7);
    o->expired = (int)es_row_int(r, 8);
    o->index = es_row_int(r, 9);
}

#define FILE_COLS                                                                                  \
    "f.sm3, f.name, f.outcome, f.code, f.reason, f.message, f.message_zh, f.verified, "            \
    "CASE WHEN f.outcome = 'imported' AND s.valid_end < ? THEN 1 ELSE 0 END, f.idx"

static es_err file_cb(void *ctx, const es_row *r)
{
    file_row *x = ctx;
    fill_outcome(&x->o, r);
    x->found = 1;
    return ES_OK;
}

static es_err find_file(es_making *m, int64_t batch, const char *sm3, file_row *x)
{
    memset(x, 0, sizeof *x);
    es_value p[3] = {es_v_int(es_time_now()), es_v_int(batch), es_v_text(sm3)};
    return es_store_query(m->a->store,
                          "SELECT " FILE_COLS " FROM seal_import_files f LEFT JOIN seals s ON "
                          "s.code = f.code WHERE f.import_id = ? AND f.sm3 = ?",
                          p, 3, file_cb, x);
}

static es_err check_request(const es_import_request *rq, const char **field, es_reason *why)
{
    if (!rq->vendor || !rq->vendor[0] || strlen(rq->vendor) > ES_IMPORT_VENDOR_MAX ||
        !es_utf8_valid(rq->vendor, strlen(rq->vendor)))
        return bad(field, why, "vendor",
                   "vendor names the system the seals come from (1 to 100 bytes of UTF-8)",
                   "vendor 应为印章来源系统的名称（1至100字节 UTF-8）");
    if (!rq->n_files || rq->n_files > ES_IMPORT_FILES_MAX)
        return bad(field, why, "files", "a batch holds 1 to 500 seal files",
                   "一个批次应包含1至500个印章文件");
    for (size_t i = 0; i < rq->n_files; i++) {
        const char *n = rq->files[i].name;
        if (!n || !n[0] || strlen(n) > ES_IMPORT_NAME_MAX || !es_utf8_valid(n, strlen(n)))
            return bad(field, why, "files", "every file has a name (1 to 255 bytes of UTF-8)",
                       "每个文件须有名称（1至255字节 UTF-8）");
    }
    if (rq->n_certs > ES_IMPORT_CERTS_MAX)
        return bad(field, why, "certs", "at most 500 certificate files", "证书文件最多500个");
    if (rq->n_roots > ES_IMPORT_ROOTS_MAX)
        return bad(field, why, "roots", "at most 32 trust roots", "信任根证书最多32个");
    for (size_t i = 0; i < rq->n_certs; i++) {
        es_pki_cert pc;
        if (rq->certs[i].len > ES_IMPORT_FILE_MAX || es_pki_cert_parse(rq->certs[i], &pc) != ES_OK)
            return bad(field, why, "certs", "every certificate file is one DER certificate",
                       "每个证书文件应为一张 DER 编码证书");
    }
    return ES_OK;
}

es_err es_making_import(es_making *m, const es_actor *by, const es_import_request *rq,
                        const es_decision_proof *proof, int64_t *id, es_import_cb cb, void *ctx,
                        const char **field, es_reason *why)
{
    es_trust *trust = NULL;
    es_decision_sig sig;
    es_decision d;
    char subject[65], object[64], detail[300];
    int64_t batch = rq->resume, did = 0;
    batch_row br;
    es_err rv;
    if (field) *field = NULL;
    es_decision_sig_init(&sig);
    if (!may(by, ES_PERM_SEAL_MAKE)) {
        rv = deny(m, by, "seal.import");
        goto out;
    }
    CHECK(check_request(rq, field, why));
    CHECK(es_trust_new(&trust));
    for (size_t i = 0; i < rq->n_roots; i++) {
        int added = 0;
        if (rq->roots[i].len > ES_IMPORT_FILE_MAX ||
            es_trust_add(trust, rq->roots[i].p, rq->roots[i].len, &added) != ES_OK || !added) {
            rv = bad(field, why, "roots", "every trust root is a certificate (DER or PEM)",
                     "每个信任根应为证书（DER 或 PEM）");
            goto out;
        }
    }
    CHECK(subject_of(rq, subject));
    if (batch) {
        /* A resumed batch: the same person, the same files. */
        CHECK(load_batch(m, batch, &br));
        if (strcmp(br.b.created_by, by->name) != 0 || strcmp(br.subject, subject) != 0) {
            rv = ES_ERR_MK_IMPORT_BATCH;
            goto out;
        }
    } else {
        es_time now = es_time_now();
        es_value p[] = {es_v_text(rq->vendor), es_v_int(rq->allow_unverified ? 1 : 0),
                        es_v_text(subject),    es_v_int((int64_t)rq->n_files),
                        es_v_text(by->name),   es_v_int(now),
                        es_v_int(now)};
        /* The id names the decision's object: reserved first, then signed, then stored with the
         * decision (a refused signature leaves a batch without decision and without files). */
        CHECK(es_store_begin(m->a->store));
        CHECK(es_store_query_int(m->a->store,
                                 "INSERT INTO seal_imports (vendor, allow_unverified, subject, "
                                 "files, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, "
                                 "?, ?, ?) RETURNING id",
                                 p, sizeof p / sizeof p[0], &batch));
        CHECK(es_store_commit(m->a->store));
    }
    snprintf(object, sizeof object, "import:%lld", (long long)batch);
    memset(&d, 0, sizeof d);
    d.action = "seal.import";
    d.object = object;
    d.verdict = rq->resume ? "resume" : "import";
    d.opinion = "";
    d.at = es_time_now();
    {
        es_buf hb;
        es_buf_init(&hb, 64);
        rv = es_hex_decode(subject, strlen(subject), &hb);
        if (rv == ES_OK && hb.len == sizeof d.subject_sm3) memcpy(d.subject_sm3, hb.p, hb.len);
        es_buf_cleanup(&hb);
        CHECK(rv);
    }
    CHECK(es_decision_sign(m->decisions, m->a->store, by, &d, proof, &sig, NULL, 0));
    snprintf(detail, sizeof detail, "vendor=%.100s files=%zu certs=%zu roots=%zu unverified=%d",
             rq->vendor, rq->n_files, rq->n_certs, rq->n_roots, rq->allow_unverified ? 1 : 0);
    CHECK(es_store_begin(m->a->store));
    CHECK(es_decision_store_in(m->a->store, &sig, &did));
    if (!rq->resume) {
        es_value q[2] = {did ? es_v_int(did) : es_v_null(), es_v_int(batch)};
        CHECK(es_store_exec(m->a->store, "UPDATE seal_imports SET decision = ? WHERE id = ?", q, 2,
                            NULL));
    }
    CHECK(svc_audit(m->a, by, rq->resume ? "seal_import.resume" : "seal_import.create", object,
                    detail));
    CHECK(es_store_commit(m->a->store));
    if (id) *id = batch;

    for (size_t i = 0; i < rq->n_files; i++) {
        es_import_outcome o;
        candidate c;
        file_row fr;
        uint8_t h[ES_SM3_LEN];
        es_slice bytes = rq->files[i].bytes;
        memset(&o, 0, sizeof o);
        o.index = (int64_t)i;
        snprintf(o.name, sizeof o.name, "%s", rq->files[i].name);
        CHECK(es_sm3(bytes.len ? bytes.p : (const uint8_t *)"", bytes.len, h));
        es_hex_encode(h, sizeof h, o.sm3);
        /* Done before in this batch (a resumed batch, or the same file twice in it). */
        CHECK(find_file(m, batch, o.sm3, &fr));
        if (fr.found) {
            if (cb) CHECK(cb(ctx, i, rq->n_files, &fr.o));
            continue;
        }
        if (bytes.len == 0) {
            set_reason(&o, "refused", "empty", NULL);
        } else if (bytes.len > ES_IMPORT_FILE_MAX) {
            set_reason(&o, "refused", "too_large", NULL);
        } else if ((rv = duplicate_of(m, o.sm3, NULL, &o)) == ES_OK) {
            rv = examine(rq, trust, bytes, o.sm3, &c, &o);
            if (rv == ES_OK) {
                rv = duplicate_of(m, o.sm3, &c, &o);
                if (rv == ES_OK) {
                    rv = record_imported(m, by, batch, rq->vendor, &c, bytes, &o);
                    /* Another import took the file, the code or the certificate first. */
                    if (rv == ES_ERR_EXISTS) {
                        memset(o.outcome, 0, sizeof o.outcome);
                        rv = duplicate_of(m, o.sm3, &c, &o);
                        if (rv == ES_OK) rv = ES_ERR_BUSY;
                    }
                }
            }
            if (rv != ES_OK && rv != ES_ERR_EXISTS && rv != ES_ERR_VERIFY) goto out;
            rv = ES_OK;
        } else if (rv != ES_ERR_EXISTS) {
            goto out;
        }
        if (strcmp(o.outcome, "imported") != 0) {
            rv = record_not_imported(m, by, batch, &o);
            if (rv == ES_ERR_EXISTS) { /* the same file twice, concurrently: recorded once */
                CHECK(find_file(m, batch, o.sm3, &fr));
                if (fr.found) o = fr.o;
                rv = ES_OK;
            }
            CHECK(rv);
        }
        if (cb) CHECK(cb(ctx, i, rq->n_files, &o));
    }
    {
        es_value u[2] = {es_v_int(es_time_now()), es_v_int(batch)};
        CHECK(es_store_begin(m->a->store));
        CHECK(es_store_exec(m->a->store, "UPDATE seal_imports SET updated_at = ? WHERE id = ?", u,
                            2, NULL));
        CHECK(es_store_commit(m->a->store));
    }
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    es_decision_sig_free(&sig);
    es_trust_free(trust);
    return rv;
}

typedef struct list_ctx {
    es_import_cb cb;
    void *ctx;
    size_t i, n;
    es_err err;
} list_ctx;

static es_err list_cb(void *ctx, const es_row *r)
{
    list_ctx *l = ctx;
    es_import_outcome o;
    fill_outcome(&o, r);
    return l->cb(l->ctx, l->i++, l->n, &o);
}

es_err es_making_import_get(es_making *m, const es_actor *by, int64_t id, es_import_batch *out,
                            es_import_cb cb, void *ctx)
{
    batch_row br;
    if (!(may(by, ES_PERM_SEAL_APPLY) || may(by, ES_PERM_SEAL_REVIEW) ||
          may(by, ES_PERM_SEAL_MAKE)))
        return deny(m, by, "seal.import_view");
    es_err rv = load_batch(m, id, &br);
    if (rv != ES_OK) return rv;
    if (out) *out = br.b;
    if (!cb) return ES_OK;
    list_ctx l = {cb, ctx, 0, (size_t)br.b.files, ES_OK};
    es_value p[2] = {es_v_int(es_time_now()), es_v_int(id)};
    return es_store_query(m->a->store,
                          "SELECT " FILE_COLS " FROM seal_import_files f LEFT JOIN seals s ON "
                          "s.code = f.code WHERE f.import_id = ? ORDER BY f.idx, f.sm3",
                          p, 2, list_cb, &l);
}
