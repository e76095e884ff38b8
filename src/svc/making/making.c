/* The seal making system (include/eseal/making.h, docs/making.md; LD/T 01.1 7.4-7.10):
 * applications, materials, review with four eyes, execution (code, certificate and seal in one
 * transaction with the CA's lock), the lifecycle and the status events. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "eseal/audit.h"
#include "eseal/castore.h"
#include "eseal/crypto.h"
#include "eseal/making.h"
#include "eseal/package.h"
#include "eseal/seal.h"
#include "svc/internal.h"
#include "svc/making/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

/* ---- permissions */

static int may(const es_actor *by, es_perm p)
{
    return by && !by->is_system && es_roles_allow(by->roles, p);
}

static int may_read(const es_actor *by)
{
    return may(by, ES_PERM_SEAL_APPLY) || may(by, ES_PERM_SEAL_REVIEW) ||
           may(by, ES_PERM_SEAL_MAKE);
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

static void say(char *why, size_t whylen, const char *text)
{
    if (why && whylen) snprintf(why, whylen, "%s", text);
}

/* ---- kinds */

static const char *const kinds[] = {"apply", "change",  "loss",    "cancel",
                                    "renew", "replace", "suspend", "restore"};

static int kind_ok(const char *k)
{
    for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0) return 1;
    return 0;
}

/* Kinds whose execution makes a seal (and needs the seal's data, picture and key). */
static int makes_seal(const char *k)
{
    return !strcmp(k, "apply") || !strcmp(k, "change") || !strcmp(k, "replace") ||
           !strcmp(k, "renew");
}

/* The seal states a lifecycle kind applies to. */
static int kind_applies(const char *kind, const char *state)
{
    if (!strcmp(kind, "renew") || !strcmp(kind, "suspend")) return !strcmp(state, "active");
    if (!strcmp(kind, "restore")) return !strcmp(state, "suspended");
    return !strcmp(state, "active") || !strcmp(state, "suspended");
}

/* ---- an application with its blobs and its personal fields in the clear */

typedef struct full_app {
    es_application a;
    es_buf csr, pkg, picture;
    es_buf s_idno, s_mobile, s_address; /* sealed, as stored */
    char mac[65];
    int64_t seal_app; /* lifecycle: the application that made the seal (copy source) */
} full_app;

static void full_init(full_app *f)
{
    memset(f, 0, sizeof *f);
    es_buf_init(&f->csr, ES_MK_CSR_MAX);
    es_buf_init(&f->pkg, 1u << 20);
    es_buf_init(&f->picture, ES_MK_PICTURE_MAX);
    es_buf_init(&f->s_idno, 4096);
    es_buf_init(&f->s_mobile, 4096);
    es_buf_init(&f->s_address, 8192);
}

static void full_free(full_app *f)
{
    es_buf_cleanup(&f->csr);
    es_buf_cleanup(&f->pkg);
    es_buf_cleanup(&f->picture);
    es_buf_cleanup(&f->s_idno);
    es_buf_cleanup(&f->s_mobile);
    es_buf_cleanup(&f->s_address);
    es_wipe(&f->a, sizeof f->a);
}

#define APP_COLS                                                                                   \
    "id, kind, state, scope, carrier, seal_code, made_code, uscc, division, unit_type, "           \
    "unit_name, agent_name, agent_idno, agent_mobile, unit_address, approver_name, "               \
    "approver_division, seal_name, seal_type, reason, csr, package_req, picture, width_mm, "       \
    "height_mm, mac, created_by, created_at, updated_at, version, submitted_by, submitted_at, "    \
    "submit_decision, reviewed_by, reviewed_at, verdict, opinion, review_decision, executed_by, "  \
    "executed_at, execute_decision"

#define TXT(dst, col) snprintf(dst, sizeof dst, "%s", es_row_text(r, col, NULL))

static es_err copy_blob(es_buf *b, const es_row *r, int col)
{
    b->len = 0;
    if (es_row_is_null(r, col)) return ES_OK;
    es_slice s = es_row_blob(r, col);
    return s.len ? es_buf_append(b, s.p, s.len) : ES_OK;
}

/* Fills the row's columns; the personal fields stay sealed (s_*) until open_personal. */
static es_err app_row(void *ctx, const es_row *r)
{
    full_app *f = ctx;
    es_application *a = &f->a;
    es_err rv;
    a->id = es_row_int(r, 0);
    TXT(a->kind, 1);
    TXT(a->state, 2);
    TXT(a->scope, 3);
    TXT(a->carrier, 4);
    TXT(a->seal_code, 5);
    TXT(a->made_code, 6);
    TXT(a->uscc, 7);
    TXT(a->division, 8);
    TXT(a->unit_type, 9);
    TXT(a->unit_name, 10);
    TXT(a->agent_name, 11);
    if ((rv = copy_blob(&f->s_idno, r, 12)) != ES_OK) return rv;
    if ((rv = copy_blob(&f->s_mobile, r, 13)) != ES_OK) return rv;
    if ((rv = copy_blob(&f->s_address, r, 14)) != ES_OK) return rv;
    TXT(a->approver_name, 15);
    TXT(a->approver_division, 16);
    TXT(a->seal_name, 17);
    a->seal_type = (int)es_row_int(r, 18);
    TXT(a->reason, 19);
    if ((rv = copy_blob(&f->csr, r, 20)) != ES_OK) return rv;
    if ((rv = copy_blob(&f->pkg, r, 21)) != ES_OK) return rv;
    if ((rv = copy_blob(&f->picture, r, 22)) != ES_OK) return rv;
    a->has_csr = f->csr.len > 0;
    a->has_package_request = f->pkg.len > 0;
    a->has_picture = f->picture.len > 0;
    a->width_mm = (int)es_row_int(r, 23);
    a->height_mm = (int)es_row_int(r, 24);
    TXT(f->mac, 25);
    TXT(a->created_by, 26);
    a->created_at = es_row_int(r, 27);
    a->updated_at = es_row_int(r, 28);
    a->version = es_row_int(r, 29);
    TXT(a->submitted_by, 30);
    a->submitted_at = es_row_int(r, 31);
    a->submit_decision = es_row_int(r, 32);
    TXT(a->reviewed_by, 33);
    a->reviewed_at = es_row_int(r, 34);
    TXT(a->verdict, 35);
    TXT(a->opinion, 36);
    a->review_decision = es_row_int(r, 37);
    TXT(a->executed_by, 38);
    a->executed_at = es_row_int(r, 39);
    a->execute_decision = es_row_int(r, 40);
    return ES_OK;
}

/* The place a sealed value is bound to: "{table}/{id}/{column}", as registered with
 * es_protect_register (es_making_protect_register), so that the re-encryption pass and
 * `eseal protect check` find the same place. */
static void aad_of(int64_t id, const char *column, char *out, size_t n)
{
    snprintf(out, n, "applications/%lld/%s", (long long)id, column);
}

static void material_aad(int64_t mid, char *out, size_t n)
{
    snprintf(out, n, "application_materials/%lld/bytes", (long long)mid);
}

es_err es_making_protect_register(es_store *st, char *why, size_t whylen)
{
    static const char *const app_cols[] = {"agent_idno", "agent_mobile", "unit_address"};
    static const char *const mat_cols[] = {"bytes"};
    /* The applications' integrity value covers their own canonical form (record_bytes), not
     * es_protect_record's: no record MAC in the registration. */
    const es_protect_table apps = {"applications", "id", app_cols, 3, NULL, NULL, NULL, 0};
    const es_protect_table mats = {"application_materials", "id", mat_cols, 1, NULL, NULL, NULL, 0};
    es_err rv = ES_ERR_EXISTS;
    /* Daemons starting at once on one PostgreSQL store may race on the same row: the loser
     * of the race registers again (idempotent). */
    for (int i = 0; i < 3 && rv == ES_ERR_EXISTS; i++) {
        rv = es_protect_register(st, &apps, why, whylen);
        if (rv == ES_OK) rv = es_protect_register(st, &mats, why, whylen);
    }
    return rv;
}

static es_err open_one(es_making *m, int64_t id, const char *column, const es_buf *sealed,
                       char *out, size_t n)
{
    char aad[96];
    es_buf plain;
    out[0] = 0;
    if (!sealed->len) return ES_OK;
    aad_of(id, column, aad, sizeof aad);
    /* Room for the cipher's padding while it decrypts; the value itself must fit out. */
    es_buf_init(&plain, n + 64);
    es_err rv = es_protect_open(m->protect, m->a->store, es_slice_make(sealed->p, sealed->len),
                                es_slice_make((const uint8_t *)aad, strlen(aad)), &plain);
    if (rv == ES_OK && plain.len >= n) rv = ES_ERR_LIMIT;
    if (rv == ES_OK) {
        memcpy(out, plain.p, plain.len);
        out[plain.len] = 0;
    }
    es_buf_cleanup_secret(&plain);
    return rv;
}

static es_err open_personal(es_making *m, full_app *f)
{
    es_err rv =
        open_one(m, f->a.id, "agent_idno", &f->s_idno, f->a.agent_idno, sizeof f->a.agent_idno);
    if (rv == ES_OK)
        rv = open_one(m, f->a.id, "agent_mobile", &f->s_mobile, f->a.agent_mobile,
                      sizeof f->a.agent_mobile);
    if (rv == ES_OK)
        rv = open_one(m, f->a.id, "unit_address", &f->s_address, f->a.unit_address,
                      sizeof f->a.unit_address);
    return rv;
}

/* The canonical bytes of an application's data (what its integrity value and the decisions'
 * subject cover): one field a line, in a fixed order, the blobs by their SM3. */
static es_err record_bytes(const full_app *f, es_buf *out)
{
    const es_application *a = &f->a;
    uint8_t h[ES_SM3_LEN];
    char csr[65], pic[65], pkg[65], line[3 * ES_MK_NAME_MAX + ES_MK_ADDRESS_MAX + 1400];
    es_err rv = es_sm3(f->csr.len ? f->csr.p : (const uint8_t *)"", f->csr.len, h);
    if (rv != ES_OK) return rv;
    es_hex_encode(h, sizeof h, csr);
    if ((rv = es_sm3(f->picture.len ? f->picture.p : (const uint8_t *)"", f->picture.len, h)) !=
        ES_OK)
        return rv;
    es_hex_encode(h, sizeof h, pic);
    if ((rv = es_sm3(f->pkg.len ? f->pkg.p : (const uint8_t *)"", f->pkg.len, h)) != ES_OK)
        return rv;
    es_hex_encode(h, sizeof h, pkg);
    int k =
        snprintf(line, sizeof line,
                 "eseal-application-1\nid=%lld\nkind=%s\nscope=%s\ncarrier=%s\nseal_code=%s\n"
                 "uscc=%s\ndivision=%s\nunit_type=%s\nunit_name=%s\nagent_name=%s\n"
                 "agent_idno=%s\nagent_mobile=%s\nunit_address=%s\napprover_name=%s\n"
                 "approver_division=%s\nseal_name=%s\nseal_type=%d\nreason=%s\ncsr=%s\n"
                 "package_request=%s\npicture=%s\nwidth_mm=%d\nheight_mm=%d\n",
                 (long long)a->id, a->kind, a->scope, a->carrier, a->seal_code, a->uscc,
                 a->division, a->unit_type, a->unit_name, a->agent_name, a->agent_idno,
                 a->agent_mobile, a->unit_address, a->approver_name, a->approver_division,
                 a->seal_name, a->seal_type, a->reason, csr, pkg, pic, a->width_mm, a->height_mm);
    if (k < 0 || (size_t)k >= sizeof line) return ES_ERR_LIMIT;
    rv = es_buf_append(out, line, (size_t)k);
    es_wipe(line, sizeof line);
    return rv;
}

static es_err record_sm3(const full_app *f, uint8_t out[ES_SM3_LEN])
{
    es_buf b;
    es_buf_init(&b, 64u << 10);
    es_err rv = record_bytes(f, &b);
    if (rv == ES_OK) rv = es_sm3(b.p, b.len, out);
    es_buf_cleanup_secret(&b);
    return rv;
}

static es_err check_mac(es_making *m, const full_app *f)
{
    es_buf b;
    es_buf_init(&b, 64u << 10);
    es_err rv = record_bytes(f, &b);
    if (rv == ES_OK) rv = es_protect_mac_check(m->protect, es_slice_make(b.p, b.len), f->mac);
    es_buf_cleanup_secret(&b);
    return rv;
}

/* Loads application id with its personal fields opened and its integrity checked. */
static es_err load_full(es_making *m, int64_t id, full_app *f)
{
    es_value p[1] = {es_v_int(id)};
    f->a.id = 0;
    es_err rv = es_store_query(m->a->store, "SELECT " APP_COLS " FROM applications WHERE id = ?", p,
                               1, app_row, f);
    if (rv != ES_OK) return rv;
    if (!f->a.id) return ES_ERR_NOT_FOUND;
    rv = open_personal(m, f);
    if (rv == ES_OK) rv = check_mac(m, f);
    /* A sealed field moved or changed, or a record changed outside the system. */
    return rv == ES_ERR_VERIFY || rv == ES_ERR_FORMAT ? ES_ERR_MK_INTEGRITY : rv;
}

static void mask(es_application *a)
{
    char t[ES_MK_ADDRESS_MAX + 1];
    es_mask_idno(a->agent_idno, t, sizeof a->agent_idno);
    memcpy(a->agent_idno, t, sizeof a->agent_idno);
    es_mask_mobile(a->agent_mobile, t, sizeof a->agent_mobile);
    memcpy(a->agent_mobile, t, sizeof a->agent_mobile);
    es_mask_text(a->unit_address, t, sizeof t);
    snprintf(a->unit_address, sizeof a->unit_address, "%s", t);
}

/* ---- validation */

static int utf8_len_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && es_utf8_valid((const uint8_t *)s, n);
}

/* Checks every field in given; kind is the application's. */
static es_err validate(es_making *m, const es_application_input *in, const char **field,
                       es_reason *why)
{
    es_reason r = {NULL, NULL};
    es_err rv;
    if (in->scope && strcmp(in->scope, "national") && strcmp(in->scope, "industry"))
        return bad(field, why, "scope", "scope is national (cross-industry) or industry",
                   "适用范围应为 national（跨行业）或 industry（行业内部）");
    if (in->carrier && strcmp(in->carrier, "usbkey") && strcmp(in->carrier, "server"))
        return bad(field, why, "carrier", "carrier is usbkey or server",
                   "载体应为 usbkey（智能密码钥匙）或 server（服务器）");
    if (in->uscc && es_uscc_check(in->uscc, &r) != ES_OK)
        return bad(field, why, "uscc", r.en, r.zh);
    static const es_reason unknown_division = {"the division code is not in the GB/T 2260 table",
                                               "行政区划代码不在 GB/T 2260 代码表中"};
    if (in->division) {
        rv = es_division_find(in->division, NULL, &r);
        if (rv == ES_ERR_NOT_FOUND && !r.en) r = unknown_division;
        if (rv != ES_OK) return bad(field, why, "division", r.en, r.zh);
    }
    if (in->approver_division) {
        r.en = r.zh = NULL;
        rv = es_division_find(in->approver_division, NULL, &r);
        if (rv == ES_ERR_NOT_FOUND && !r.en) r = unknown_division;
        if (rv != ES_OK) return bad(field, why, "approver_division", r.en, r.zh);
    }
    if (in->unit_type && !es_tables_unit_type_ok(m->tables, in->unit_type))
        return bad(field, why, "unit_type",
                   "unit type is organ (state administrative organ) or institution (public "
                   "institution)",
                   "单位类型应为 organ（国家行政机关）或 institution（事业单位）");
    static const struct {
        size_t off;
        const char *name;
        size_t max;
    } texts[] = {
        {offsetof(es_application_input, unit_name), "unit_name", ES_MK_NAME_MAX},
        {offsetof(es_application_input, agent_name), "agent_name", ES_MK_NAME_MAX},
        {offsetof(es_application_input, approver_name), "approver_name", ES_MK_NAME_MAX},
        {offsetof(es_application_input, seal_name), "seal_name", ES_MK_NAME_MAX},
        {offsetof(es_application_input, unit_address), "unit_address", ES_MK_ADDRESS_MAX},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *v = *(const char *const *)((const char *)in + texts[i].off);
        if (v && !utf8_len_ok(v, texts[i].max))
            return bad(field, why, texts[i].name,
                       "this text must be 1 to 200 bytes of UTF-8 (address: 400)",
                       "该文本应为1至200字节的UTF-8文本（地址为400字节）");
    }
    if (in->reason && (strlen(in->reason) > ES_MK_OPINION_MAX ||
                       !es_utf8_valid((const uint8_t *)in->reason, strlen(in->reason))))
        return bad(field, why, "reason", "the reason is at most 1000 bytes of UTF-8",
                   "原因最多1000字节的UTF-8文本");
    if (in->agent_idno && es_idno_check(in->agent_idno, &r) != ES_OK)
        return bad(field, why, "agent_idno", r.en, r.zh);
    if (in->agent_mobile && es_mobile_check(in->agent_mobile, &r) != ES_OK)
        return bad(field, why, "agent_mobile", r.en, r.zh);
    if (in->has_seal_type && !es_tables_seal_type(m->tables, in->seal_type))
        return bad(field, why, "seal_type", "not a seal type of the configured table",
                   "不是配置的印章类型");
    if (in->csr.len) {
        es_buf der;
        es_pki_csr c;
        es_buf_init(&der, ES_MK_CSR_MAX);
        rv = in->csr.len > ES_MK_CSR_MAX ? ES_ERR_LIMIT
                                         : es_pki_csr_parse(in->csr.p, in->csr.len, &der, &c);
        if (rv == ES_OK) rv = es_pki_csr_verify(&c);
        es_buf_cleanup(&der);
        if (rv != ES_OK)
            return bad(field, why, "csr",
                       "not a PKCS#10 request for an SM2 key whose signature (proof of "
                       "possession) verifies",
                       "不是签名（私钥持有证明）可验证的 SM2 密钥 PKCS#10 证书请求");
    }
    if (in->package_request.len) {
        /* The request's own signature and validity now; its requester's chain to the site's
         * root at execution (docs/delivery.md). */
        char w[200] = "";
        es_package_req *pr = NULL;
        rv = es_package_req_parse(in->package_request, ES_SLICE_NULL, &pr, w, sizeof w);
        es_package_req_free(pr);
        if (rv != ES_OK)
            return bad(field, why, "package_request",
                       "not a request package of an application system whose signature verifies "
                       "and that is valid now",
                       "不是签名可验证且在有效期内的应用系统申请包");
    }
    return ES_OK;
}

#define SET(dst, src)                                                                              \
    do {                                                                                           \
        if (src) snprintf(dst, sizeof dst, "%s", src);                                             \
    } while (0)

static es_err apply_input(full_app *f, const es_application_input *in)
{
    es_application *a = &f->a;
    es_err rv = ES_OK;
    SET(a->scope, in->scope);
    SET(a->carrier, in->carrier);
    SET(a->uscc, in->uscc);
    SET(a->division, in->division);
    SET(a->unit_type, in->unit_type);
    SET(a->unit_name, in->unit_name);
    SET(a->agent_name, in->agent_name);
    SET(a->agent_idno, in->agent_idno);
    SET(a->agent_mobile, in->agent_mobile);
    SET(a->unit_address, in->unit_address);
    SET(a->approver_name, in->approver_name);
    SET(a->approver_division, in->approver_division);
    SET(a->seal_name, in->seal_name);
    SET(a->reason, in->reason);
    if (in->has_seal_type) a->seal_type = in->seal_type;
    if (in->csr.len) {
        f->csr.len = 0;
        rv = es_buf_append(&f->csr, in->csr.p, in->csr.len);
    }
    if (rv == ES_OK && in->package_request.len) {
        f->pkg.len = 0;
        rv = es_buf_append(&f->pkg, in->package_request.p, in->package_request.len);
    }
    a->has_csr = f->csr.len > 0;
    a->has_package_request = f->pkg.len > 0;
    a->has_picture = f->picture.len > 0;
    return rv;
}

static es_err seal_one(es_making *m, int64_t id, const char *what, const char *value, es_buf *out)
{
    char aad[96];
    out->len = 0;
    if (!value[0]) return ES_OK;
    aad_of(id, what, aad, sizeof aad);
    return es_protect_seal(m->protect, m->a->store,
                           es_slice_make((const uint8_t *)value, strlen(value)),
                           es_slice_make((const uint8_t *)aad, strlen(aad)), out);
}

static es_value blob_or_null(const es_buf *b)
{
    return b->len ? es_v_blob(b->p, b->len) : es_v_null();
}

/* Writes the application's data (sealed personal fields, index, integrity value) inside the
 * caller's transaction, when its version is still `version` (the row's version moves on). */
static es_err write_data(es_making *m, full_app *f, int64_t version)
{
    es_application *a = &f->a;
    char idx_id[65] = "", idx_mob[65] = "";
    es_buf rec;
    int64_t changes = 0;
    es_err rv;
    es_buf_init(&rec, 64u << 10);
    CHECK(seal_one(m, a->id, "agent_idno", a->agent_idno, &f->s_idno));
    CHECK(seal_one(m, a->id, "agent_mobile", a->agent_mobile, &f->s_mobile));
    CHECK(seal_one(m, a->id, "unit_address", a->unit_address, &f->s_address));
    if (a->agent_idno[0])
        CHECK(es_protect_index(m->protect, "idno",
                               es_slice_make((const uint8_t *)a->agent_idno, strlen(a->agent_idno)),
                               idx_id));
    if (a->agent_mobile[0])
        CHECK(es_protect_index(
            m->protect, "mobile",
            es_slice_make((const uint8_t *)a->agent_mobile, strlen(a->agent_mobile)), idx_mob));
    CHECK(record_bytes(f, &rec));
    CHECK(es_protect_mac(m->protect, es_slice_make(rec.p, rec.len), f->mac));
    es_value p[] = {es_v_text(a->scope),
                    es_v_text(a->carrier),
                    es_v_text(a->uscc),
                    es_v_text(a->division),
                    es_v_text(a->unit_type),
                    es_v_text(a->unit_name),
                    es_v_text(a->agent_name),
                    blob_or_null(&f->s_idno),
                    es_v_text(idx_id),
                    blob_or_null(&f->s_mobile),
                    es_v_text(idx_mob),
                    blob_or_null(&f->s_address),
                    es_v_text(a->approver_name),
                    es_v_text(a->approver_division),
                    es_v_text(a->seal_name),
                    es_v_int(a->seal_type),
                    es_v_text(a->reason),
                    blob_or_null(&f->csr),
                    blob_or_null(&f->pkg),
                    blob_or_null(&f->picture),
                    es_v_int(a->width_mm),
                    es_v_int(a->height_mm),
                    es_v_text(f->mac),
                    es_v_int(es_time_now()),
                    es_v_int(a->id),
                    es_v_int(version)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET scope = ?, carrier = ?, uscc = ?, division = ?, "
                        "unit_type = ?, unit_name = ?, agent_name = ?, agent_idno = ?, "
                        "idno_index = ?, agent_mobile = ?, mobile_index = ?, unit_address = ?, "
                        "approver_name = ?, approver_division = ?, seal_name = ?, seal_type = ?, "
                        "reason = ?, csr = ?, package_req = ?, picture = ?, width_mm = ?, "
                        "height_mm = ?, mac = ?, updated_at = ?, version = version + 1 "
                        "WHERE id = ? AND version = ? AND state = 'draft'",
                        p, sizeof p / sizeof p[0], &changes));
    if (changes != 1)
        rv = ES_ERR_MK_VERSION;
    else
        a->version = version + 1;
out:
    es_buf_cleanup_secret(&rec);
    return rv;
}

/* ---- seals */

#define SEAL_COLS                                                                                  \
    "code, state, cert_serial, scope, carrier, uscc, division, unit_name, seal_name, seal_type, "  \
    "valid_start, valid_end, application_id, made_at, made_by, delivered_at, delivered_by, "       \
    "delivered_to, package IS NOT NULL, source, vendor, verified"

static void fill_seal(es_seal_rec *s, const es_row *r)
{
    memset(s, 0, sizeof *s);
    TXT(s->code, 0);
    TXT(s->state, 1);
    TXT(s->cert_serial, 2);
    TXT(s->scope, 3);
    TXT(s->carrier, 4);
    TXT(s->uscc, 5);
    TXT(s->division, 6);
    TXT(s->unit_name, 7);
    TXT(s->seal_name, 8);
    s->seal_type = (int)es_row_int(r, 9);
    s->valid_start = es_row_int(r, 10);
    s->valid_end = es_row_int(r, 11);
    s->application_id = es_row_int(r, 12);
    s->made_at = es_row_int(r, 13);
    TXT(s->made_by, 14);
    s->delivered_at = es_row_int(r, 15);
    TXT(s->delivered_by, 16);
    TXT(s->delivered_to, 17);
    s->has_package = (int)es_row_int(r, 18);
    TXT(s->source, 19);
    TXT(s->vendor, 20);
    s->verified = (int)es_row_int(r, 21);
}

static es_err seal_row(void *ctx, const es_row *r)
{
    fill_seal(ctx, r);
    return ES_OK;
}

static es_err load_seal(es_making *m, const char *code, es_seal_rec *s)
{
    es_value p[1] = {es_v_text(code)};
    s->code[0] = 0;
    es_err rv = es_store_query(m->a->store, "SELECT " SEAL_COLS " FROM seals WHERE code = ?", p, 1,
                               seal_row, s);
    if (rv != ES_OK) return rv;
    return s->code[0] ? ES_OK : ES_ERR_NOT_FOUND;
}

/* ---- create, update, read */

/* An earlier create of by's with this key, not older than ES_MK_IDEM_TTL: ES_OK with *id
 * when it had the same body, ES_ERR_IDEMPOTENCY when another, ES_ERR_NOT_FOUND when none. */
static es_err idem_find(es_making *m, const es_actor *by, const char *key, const char *sm3,
                        int64_t *id)
{
    int64_t same = 0;
    es_value p[] = {es_v_text(by->name), es_v_text(key), es_v_int(es_time_now() - ES_MK_IDEM_TTL)};
    es_err rv = es_store_query_int(m->a->store,
                                   "SELECT application_id FROM application_idempotency WHERE "
                                   "account = ? AND idem_key = ? AND created_at >= ?",
                                   p, 3, id);
    if (rv != ES_OK) return rv;
    es_value q[] = {es_v_text(by->name), es_v_text(key), es_v_text(sm3)};
    rv = es_store_query_int(m->a->store,
                            "SELECT COUNT(*) FROM application_idempotency WHERE account = ? AND "
                            "idem_key = ? AND body_sm3 = ?",
                            q, 3, &same);
    if (rv != ES_OK) return rv;
    return same ? ES_OK : ES_ERR_IDEMPOTENCY;
}

es_err es_making_create(es_making *m, const es_actor *by, const es_application_input *in,
                        int64_t *id, const char **field, es_reason *why)
{
    return es_making_create_idem(m, by, in, NULL, NULL, id, NULL, field, why);
}

es_err es_making_create_idem(es_making *m, const es_actor *by, const es_application_input *in,
                             const char *key, const char *body_sm3, int64_t *id, int *replayed,
                             const char **field, es_reason *why)
{
    full_app f;
    es_seal_rec seal;
    char object[64], detail[320];
    es_err rv;
    int tries = 0;
    if (field) *field = NULL;
    if (replayed) *replayed = 0;
    if (!may(by, ES_PERM_SEAL_APPLY)) return deny(m, by, "application.create");
    if (key) {
        size_t n = strlen(key);
        int printable = n >= 1 && n <= ES_MK_IDEM_KEY_MAX && body_sm3 && strlen(body_sm3) == 64;
        for (size_t i = 0; i < n && printable; i++) printable = key[i] > 0x20 && key[i] < 0x7f;
        if (!printable)
            return bad(field, why, "Idempotency-Key",
                       "the Idempotency-Key header is 1 to 128 printable ASCII characters",
                       "Idempotency-Key 请求头应为 1 至 128 个可打印 ASCII 字符");
    }
again:
    if (key) {
        int64_t earlier = 0;
        rv = idem_find(m, by, key, body_sm3, &earlier);
        if (rv == ES_OK) {
            /* A retry: the application the first request made. */
            if (id) *id = earlier;
            if (replayed) *replayed = 1;
            snprintf(object, sizeof object, "application:%lld", (long long)earlier);
            return svc_audit_alone(m->a, by, "application.create_repeated", object, key);
        }
        if (rv == ES_ERR_IDEMPOTENCY) {
            (void)bad(field, why, "Idempotency-Key",
                      "this Idempotency-Key was used for another request (another body)",
                      "该 Idempotency-Key 已用于内容不同的请求");
            return ES_ERR_IDEMPOTENCY;
        }
        if (rv != ES_ERR_NOT_FOUND) return rv;
    }
    full_init(&f);
    if (!in->kind || !kind_ok(in->kind)) {
        rv = bad(field, why, "kind",
                 "kind is apply, change, loss, cancel, renew, replace, suspend or restore",
                 "申请类型应为 apply、change、loss、cancel、renew、replace、suspend 或 restore");
        goto out;
    }
    CHECK(validate(m, in, field, why));
    snprintf(f.a.kind, sizeof f.a.kind, "%s", in->kind);
    snprintf(f.a.scope, sizeof f.a.scope, "industry");
    snprintf(f.a.carrier, sizeof f.a.carrier, "usbkey");
    if (strcmp(in->kind, "apply") != 0) {
        /* A lifecycle application names the seal it changes, and starts from the data of the
         * application that made it. */
        if (!in->seal_code || !in->seal_code[0]) {
            rv = bad(field, why, "seal_code", "a change of a seal names the seal (its code)",
                     "印章变更类申请须填写印章编码");
            goto out;
        }
        rv = load_seal(m, in->seal_code, &seal);
        if (rv == ES_ERR_NOT_FOUND) {
            rv = bad(field, why, "seal_code", "no seal has this code", "没有该编码的印章");
            goto out;
        }
        if (rv != ES_OK) goto out;
        if (!kind_applies(in->kind, seal.state)) {
            if (why) {
                why->en = "the seal's state does not allow this kind of application";
                why->zh = "印章当前状态不允许此类申请";
            }
            if (field) *field = "seal_code";
            rv = ES_ERR_MK_SEAL_STATE;
            goto out;
        }
        CHECK(load_full(m, seal.application_id, &f));
        snprintf(f.a.kind, sizeof f.a.kind, "%s", in->kind);
        snprintf(f.a.seal_code, sizeof f.a.seal_code, "%s", seal.code);
        f.a.reason[0] = 0;
    } else if (in->seal_code && in->seal_code[0]) {
        rv = bad(field, why, "seal_code", "an application for a new seal names no seal code",
                 "新申领印章不得填写印章编码");
        goto out;
    }
    CHECK(apply_input(&f, in));
    es_time now = es_time_now();
    int64_t new_id = 0;
    es_value p[] = {
        es_v_text(f.a.kind), es_v_text(f.a.scope), es_v_text(f.a.carrier), es_v_text(f.a.seal_code),
        es_v_text(by->name), es_v_int(now),        es_v_int(now)};
    CHECK(es_store_begin(m->a->store));
    CHECK(es_store_query_int(m->a->store,
                             "INSERT INTO applications (kind, state, scope, carrier, seal_code, "
                             "created_by, created_at, updated_at) VALUES (?, 'draft', ?, ?, ?, ?, "
                             "?, ?) RETURNING id",
                             p, sizeof p / sizeof p[0], &new_id));
    f.a.id = new_id;
    CHECK(write_data(m, &f, 1));
    if (key) {
        /* The key's row in the same transaction: a concurrent create with the same key fails
         * on its primary key here and answers this one (again, below). Expired keys go. */
        es_value px[] = {es_v_int(now - ES_MK_IDEM_TTL)};
        CHECK(es_store_exec(m->a->store, "DELETE FROM application_idempotency WHERE created_at < ?",
                            px, 1, NULL));
        es_value pk[] = {es_v_text(by->name), es_v_text(key), es_v_text(body_sm3), es_v_int(new_id),
                         es_v_int(now)};
        CHECK(es_store_exec(m->a->store,
                            "INSERT INTO application_idempotency (account, idem_key, body_sm3, "
                            "application_id, created_at) VALUES (?, ?, ?, ?, ?)",
                            pk, 5, NULL));
    }
    snprintf(object, sizeof object, "application:%lld", (long long)new_id);
    snprintf(detail, sizeof detail, "kind=%s scope=%s carrier=%s seal=%s%s%.128s", f.a.kind,
             f.a.scope, f.a.carrier, f.a.seal_code, key ? " key=" : "", key ? key : "");
    CHECK(svc_audit(m->a, by, "application.create", object, detail));
    CHECK(es_store_commit(m->a->store));
    if (id) *id = new_id;
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    full_free(&f);
    /* Lost the race for the key (or the database's serialisation): the winner's answer. */
    if (key && tries++ < 3 && (rv == ES_ERR_EXISTS || rv == ES_ERR_BUSY)) goto again;
    return rv;
}

es_err es_making_update(es_making *m, const es_actor *by, int64_t id, int64_t version,
                        const es_application_input *in, const char **field, es_reason *why)
{
    full_app f;
    char object[64];
    es_err rv;
    if (field) *field = NULL;
    if (!may(by, ES_PERM_SEAL_APPLY)) return deny(m, by, "application.update");
    full_init(&f);
    CHECK(load_full(m, id, &f));
    if (strcmp(f.a.state, "draft") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    if (version != f.a.version) {
        rv = ES_ERR_MK_VERSION;
        goto out;
    }
    if (in->kind || in->seal_code) {
        rv = bad(field, why, in->kind ? "kind" : "seal_code",
                 "the kind and the seal of an application do not change: make a new one",
                 "申请类型和所涉印章不可修改，请新建申请");
        goto out;
    }
    CHECK(validate(m, in, field, why));
    CHECK(apply_input(&f, in));
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    svc_rec ar; /* signed before the transaction (docs/audit.md) */
    CHECK(svc_audit_prepare(m->a, by, "application.update", object, "", &ar));
    CHECK(es_store_begin(m->a->store));
    CHECK(write_data(m, &f, version));
    CHECK(svc_audit_append(m->a, &ar));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    full_free(&f);
    return rv;
}

es_err es_making_get(es_making *m, const es_actor *by, int64_t id, int whole, es_application *out)
{
    full_app f;
    char object[64];
    es_err rv;
    if (!may_read(by)) return deny(m, by, "application.get");
    full_init(&f);
    CHECK(load_full(m, id, &f));
    if (whole) {
        /* GB/T 39786: every whole view of personal data is audited. */
        snprintf(object, sizeof object, "application:%lld", (long long)id);
        CHECK(svc_audit_alone(m->a, by, "application.view", object, "personal fields in full"));
    } else {
        mask(&f.a);
    }
    *out = f.a;
out:
    full_free(&f);
    return rv;
}

typedef struct list_ctx {
    es_making *m;
    full_app *rows;
    size_t n, cap;
} list_ctx;

static es_err list_row(void *ctx, const es_row *r)
{
    list_ctx *l = ctx;
    if (l->n == l->cap) return ES_ERR_LIMIT;
    full_app *f = &l->rows[l->n];
    full_init(f);
    l->n++;
    return app_row(f, r);
}

es_err es_making_list(es_making *m, const es_actor *by, const es_application_filter *fl,
                      es_application_cb cb, void *ctx)
{
    char idx[65] = "";
    es_err rv = ES_OK;
    if (!may_read(by)) return deny(m, by, "application.list");
    int64_t limit = fl->limit > 0 && fl->limit <= ES_MK_PAGE_MAX ? fl->limit : ES_MK_PAGE_MAX;
    if (fl->agent_idno && fl->agent_idno[0] &&
        (rv = es_protect_index(
             m->protect, "idno",
             es_slice_make((const uint8_t *)fl->agent_idno, strlen(fl->agent_idno)), idx)) != ES_OK)
        return rv;
    list_ctx l = {m, calloc((size_t)limit, sizeof(full_app)), 0, (size_t)limit};
    if (!l.rows) return ES_ERR_NOMEM;
    es_value p[] = {es_v_int(fl->after_id),
                    es_v_text(fl->state ? fl->state : ""),
                    es_v_text(fl->state ? fl->state : ""),
                    es_v_text(fl->kind ? fl->kind : ""),
                    es_v_text(fl->kind ? fl->kind : ""),
                    es_v_text(fl->uscc ? fl->uscc : ""),
                    es_v_text(fl->uscc ? fl->uscc : ""),
                    es_v_text(fl->seal_code ? fl->seal_code : ""),
                    es_v_text(fl->seal_code ? fl->seal_code : ""),
                    es_v_text(idx),
                    es_v_text(idx),
                    es_v_int(limit)};
    rv = es_store_query(m->a->store,
                        "SELECT " APP_COLS " FROM applications WHERE id > ? "
                        "AND (? = '' OR state = ?) AND (? = '' OR kind = ?) "
                        "AND (? = '' OR uscc = ?) AND (? = '' OR seal_code = ?) "
                        "AND (? = '' OR idno_index = ?) ORDER BY id LIMIT ?",
                        p, sizeof p / sizeof p[0], list_row, &l);
    for (size_t i = 0; i < l.n && rv == ES_OK; i++) {
        rv = open_personal(m, &l.rows[i]);
        if (rv == ES_OK) rv = check_mac(m, &l.rows[i]);
        if (rv == ES_ERR_VERIFY || rv == ES_ERR_FORMAT) rv = ES_ERR_MK_INTEGRITY;
        if (rv == ES_OK) {
            mask(&l.rows[i].a);
            rv = cb(ctx, &l.rows[i].a);
        }
    }
    for (size_t i = 0; i < l.n; i++) full_free(&l.rows[i]);
    free(l.rows);
    return rv;
}

/* ---- materials and picture */

/* The type of a material by its bytes: "pdf", "ofd" (a zip holding OFD.xml), "jpeg", "png";
 * NULL for anything else. */
const char *es_making_material_type(es_slice b)
{
    if (b.len >= 5 && memcmp(b.p, "%PDF-", 5) == 0) return "pdf";
    if (b.len >= 8 && memcmp(b.p, "\x89PNG\r\n\x1a\n", 8) == 0) return "png";
    if (b.len >= 3 && memcmp(b.p, "\xff\xd8\xff", 3) == 0) return "jpeg";
    if (b.len >= 30 && memcmp(b.p, "PK\x03\x04", 4) == 0) {
        /* GB/T 33190: the container's entry point is OFD.xml; look for its name among the
         * zip's local file headers in the first 64 KiB. */
        size_t lim = b.len < 65536 ? b.len : 65536;
        for (size_t i = 0; i + 30 + 7 <= lim; i++)
            if (memcmp(b.p + i, "PK\x03\x04", 4) == 0) {
                size_t nl = (size_t)b.p[i + 26] | ((size_t)b.p[i + 27] << 8);
                if (nl == 7 && i + 30 + nl <= b.len && memcmp(b.p + i + 30, "OFD.xml", 7) == 0)
                    return "ofd";
            }
    }
    return NULL;
}

static const char *media_type_of(const char *t)
{
    if (!strcmp(t, "pdf")) return "application/pdf";
    if (!strcmp(t, "ofd")) return "application/ofd";
    if (!strcmp(t, "jpeg")) return "image/jpeg";
    return "image/png";
}

static int type_listed(const char *types, const char *t)
{
    size_t n = strlen(t);
    for (const char *p = types; p && *p;) {
        const char *c = strchr(p, ',');
        size_t k = c ? (size_t)(c - p) : strlen(p);
        if (k == n && strncmp(p, t, n) == 0) return 1;
        p = c ? c + 1 : NULL;
    }
    return 0;
}

static const es_material_spec *material_spec(es_making *m, const char *kind, const char *name)
{
    size_t n = 0;
    const es_material_spec *s = es_tables_materials(m->tables, kind, &n);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(s[i].name, name) == 0) return &s[i];
    return NULL;
}

/* Light row: kind, state, created_by, version. */
typedef struct app_head {
    int64_t id, version;
    char kind[16], state[16], created_by[ES_ACCOUNT_NAME_MAX + 8];
} app_head;

static es_err head_row(void *ctx, const es_row *r)
{
    app_head *h = ctx;
    h->id = es_row_int(r, 0);
    TXT(h->kind, 1);
    TXT(h->state, 2);
    TXT(h->created_by, 3);
    h->version = es_row_int(r, 4);
    return ES_OK;
}

static es_err load_head(es_making *m, int64_t id, app_head *h)
{
    es_value p[1] = {es_v_int(id)};
    h->id = 0;
    es_err rv = es_store_query(
        m->a->store, "SELECT id, kind, state, created_by, version FROM applications WHERE id = ?",
        p, 1, head_row, h);
    if (rv != ES_OK) return rv;
    return h->id ? ES_OK : ES_ERR_NOT_FOUND;
}

es_err es_making_material_put(es_making *m, const es_actor *by, int64_t id, const char *name,
                              es_slice bytes, es_reason *why)
{
    app_head h;
    uint8_t d[ES_SM3_LEN];
    char hex[65], aad[160], object[64], detail[200];
    es_buf sealed;
    int64_t changes = 0;
    es_err rv;
    if (!may(by, ES_PERM_SEAL_APPLY)) return deny(m, by, "application.material_put");
    if ((rv = load_head(m, id, &h)) != ES_OK) return rv;
    if (strcmp(h.state, "draft") != 0) return ES_ERR_MK_STATE;
    const es_material_spec *spec = material_spec(m, h.kind, name);
    if (!spec) {
        if (why) {
            why->en = "this kind of application takes no material of this name";
            why->zh = "此类申请没有该名称的材料";
        }
        return ES_ERR_NOT_FOUND;
    }
    const char *type = es_making_material_type(bytes);
    if (!type || !type_listed(spec->types, type)) {
        if (why) {
            why->en = "the material is not a PDF, OFD, JPEG or PNG file this material accepts";
            why->zh = "材料不是该项允许的 PDF、OFD、JPEG 或 PNG 文件";
        }
        return ES_ERR_ARG;
    }
    if (bytes.len > spec->max_bytes) {
        if (why) {
            why->en = "the material is larger than this material's limit";
            why->zh = "材料超过该项的大小限制";
        }
        return ES_ERR_LIMIT;
    }
    if ((rv = es_sm3(bytes.p, bytes.len, d)) != ES_OK) return rv;
    es_hex_encode(d, sizeof d, hex);
    es_buf_init(&sealed, spec->max_bytes + 4096);
    es_time now = es_time_now();
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    snprintf(detail, sizeof detail, "material=%s type=%s size=%zu sm3=%s", name, type, bytes.len,
             hex);
    svc_rec ar; /* signed before the transaction (docs/audit.md) */
    CHECK(svc_audit_prepare(m->a, by, "application.material_put", object, detail, &ar));
    CHECK(es_store_begin(m->a->store));
    es_value up[] = {es_v_int(now), es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET version = version + 1, updated_at = ? "
                        "WHERE id = ? AND state = 'draft'",
                        up, 2, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    /* The row first (its id is the place its sealed bytes are bound to), then its bytes. */
    static const uint8_t none = 0;
    int64_t mid = 0;
    es_value p[] = {es_v_int(id),        es_v_text(name), es_v_text(media_type_of(type)),
                    es_v_blob(&none, 1), es_v_text(hex),  es_v_int((int64_t)bytes.len),
                    es_v_text(by->name), es_v_int(now)};
    CHECK(es_store_exec(m->a->store,
                        "INSERT INTO application_materials (application_id, name, media_type, "
                        "bytes, sm3, size, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                        "?) ON CONFLICT (application_id, name) DO UPDATE SET media_type = "
                        "excluded.media_type, bytes = excluded.bytes, sm3 = excluded.sm3, size = "
                        "excluded.size, uploaded_by = excluded.uploaded_by, uploaded_at = "
                        "excluded.uploaded_at",
                        p, sizeof p / sizeof p[0], NULL));
    CHECK(es_store_query_int(m->a->store,
                             "SELECT id FROM application_materials WHERE application_id = ? AND "
                             "name = ?",
                             p, 2, &mid));
    material_aad(mid, aad, sizeof aad);
    CHECK(es_protect_seal(m->protect, m->a->store, bytes,
                          es_slice_make((const uint8_t *)aad, strlen(aad)), &sealed));
    es_value pb[] = {es_v_blob(sealed.p, sealed.len), es_v_int(mid)};
    CHECK(es_store_exec(m->a->store, "UPDATE application_materials SET bytes = ? WHERE id = ?", pb,
                        2, NULL));
    CHECK(svc_audit_append(m->a, &ar));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    es_buf_cleanup(&sealed);
    return rv;
}

typedef struct mat_ctx {
    es_material *mat;
    es_buf *sealed;
    es_material_cb cb;
    void *cbctx;
    int found;
    int64_t mid; /* the row's id (the place of its sealed bytes) */
} mat_ctx;

static void fill_mat(es_material *t, const es_row *r)
{
    memset(t, 0, sizeof *t);
    TXT(t->name, 0);
    TXT(t->media_type, 1);
    TXT(t->sm3, 2);
    t->size = es_row_int(r, 3);
    TXT(t->uploaded_by, 4);
    t->uploaded_at = es_row_int(r, 5);
}

static es_err mat_row(void *ctx, const es_row *r)
{
    mat_ctx *x = ctx;
    x->found = 1;
    fill_mat(x->mat, r);
    x->mid = es_row_int(r, 7);
    return x->sealed ? copy_blob(x->sealed, r, 6) : ES_OK;
}

es_err es_making_material_get(es_making *m, const es_actor *by, int64_t id, const char *name,
                              es_material *out, es_buf *bytes)
{
    es_buf sealed;
    char aad[160], object[64], detail[120];
    es_err rv;
    if (!may_read(by)) return deny(m, by, "application.material_get");
    es_buf_init(&sealed, ES_MK_MATERIAL_MAX + 4096);
    mat_ctx x = {out, bytes ? &sealed : NULL, NULL, NULL, 0, 0};
    es_value p[] = {es_v_int(id), es_v_text(name)};
    CHECK(es_store_query(m->a->store,
                         "SELECT name, media_type, sm3, size, uploaded_by, uploaded_at, bytes, id "
                         "FROM application_materials WHERE application_id = ? AND name = ?",
                         p, 2, mat_row, &x));
    if (!x.found) {
        rv = ES_ERR_NOT_FOUND;
        goto out;
    }
    if (bytes) {
        uint8_t d[ES_SM3_LEN];
        char hex[65];
        size_t start = bytes->len;
        material_aad(x.mid, aad, sizeof aad);
        CHECK(es_protect_open(m->protect, m->a->store, es_slice_make(sealed.p, sealed.len),
                              es_slice_make((const uint8_t *)aad, strlen(aad)), bytes));
        CHECK(es_sm3(bytes->p + start, bytes->len - start, d));
        es_hex_encode(d, sizeof d, hex);
        if (strcmp(hex, out->sm3) != 0) {
            rv = ES_ERR_VERIFY; /* the bytes are not those recorded */
            goto out;
        }
        snprintf(object, sizeof object, "application:%lld", (long long)id);
        snprintf(detail, sizeof detail, "material=%s", name);
        CHECK(svc_audit_alone(m->a, by, "application.material_view", object, detail));
    }
out:
    es_buf_cleanup(&sealed);
    return rv;
}

static es_err mat_list_row(void *ctx, const es_row *r)
{
    mat_ctx *x = ctx;
    fill_mat(x->mat, r);
    return x->cb(x->cbctx, x->mat);
}

es_err es_making_material_list(es_making *m, const es_actor *by, int64_t id, es_material_cb cb,
                               void *ctx)
{
    es_material t;
    if (!may_read(by)) return deny(m, by, "application.material_list");
    mat_ctx x = {&t, NULL, cb, ctx, 0};
    es_value p[] = {es_v_int(id)};
    return es_store_query(m->a->store,
                          "SELECT name, media_type, sm3, size, uploaded_by, uploaded_at FROM "
                          "application_materials WHERE application_id = ? ORDER BY name",
                          p, 1, mat_list_row, &x);
}

es_err es_making_picture_put(es_making *m, const es_actor *by, int64_t id, es_slice png,
                             int width_mm, int height_mm, const char **field, es_reason *why)
{
    full_app f;
    char object[64], detail[96];
    es_err rv;
    if (field) *field = NULL;
    if (!may(by, ES_PERM_SEAL_APPLY)) return deny(m, by, "application.picture_put");
    full_init(&f);
    CHECK(load_full(m, id, &f));
    if (strcmp(f.a.state, "draft") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    const char *t = es_picture_sniff(png);
    if (!t || strcmp(t, "PNG") != 0 || png.len > ES_MK_PICTURE_MAX) {
        rv = bad(field, why, "picture", "the seal picture is a PNG of at most 2 MiB",
                 "印章图片应为不超过2 MiB的PNG图片");
        goto out;
    }
    if (width_mm < 10 || width_mm > 100 || height_mm < 10 || height_mm > 100) {
        rv = bad(field, why, width_mm < 10 || width_mm > 100 ? "width_mm" : "height_mm",
                 "the printed size of a seal is 10 to 100 mm each way",
                 "印章打印尺寸的宽和高应各为10至100毫米");
        goto out;
    }
    f.picture.len = 0;
    CHECK(es_buf_append(&f.picture, png.p, png.len));
    f.a.has_picture = 1;
    f.a.width_mm = width_mm;
    f.a.height_mm = height_mm;
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    snprintf(detail, sizeof detail, "picture png %zu bytes %dx%d mm", png.len, width_mm, height_mm);
    svc_rec ar; /* signed before the transaction (docs/audit.md) */
    CHECK(svc_audit_prepare(m->a, by, "application.picture_put", object, detail, &ar));
    CHECK(es_store_begin(m->a->store));
    CHECK(write_data(m, &f, f.a.version));
    CHECK(svc_audit_append(m->a, &ar));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    full_free(&f);
    return rv;
}

/* ---- decisions */

typedef struct decided {
    es_decision_sig sig;
    int signed_;
} decided;

/* The time of a decision: now, or, for a signature made beforehand (a USBKey), the time of
 * the bytes it was given (es_making_decision_tbs, es_making_deliver_tbs), accepted within the
 * window. */
static es_err signed_at(const es_decision_proof *proof, es_time *at, char *why, size_t whylen)
{
    *at = es_time_now();
    if (proof && proof->signature.len && proof->at) {
        if (proof->at > *at + 60 || proof->at < *at - ES_MK_SIGN_WINDOW) {
            say(why, whylen,
                "at: the signed bytes are older than 10 minutes (or in the future): "
                "fetch them again and sign");
            return ES_ERR_ARG;
        }
        *at = proof->at;
    }
    return ES_OK;
}

/* Signs the decision before the transaction (decision.h). */
static es_err decide(es_making *m, const es_actor *by, const full_app *f, const char *action,
                     const char *verdict, const char *opinion, const es_decision_proof *proof,
                     decided *out, char *why, size_t whylen)
{
    char object[64];
    es_decision d;
    memset(&d, 0, sizeof d);
    es_decision_sig_init(&out->sig);
    out->signed_ = 1;
    snprintf(object, sizeof object, "application:%lld", (long long)f->a.id);
    d.action = action;
    d.object = object;
    d.verdict = verdict ? verdict : "";
    d.opinion = opinion ? opinion : "";
    es_err rv = signed_at(proof, &d.at, why, whylen);
    if (rv != ES_OK) return rv;
    rv = record_sm3(f, d.subject_sm3);
    if (rv != ES_OK) return rv;
    return es_decision_sign(m->decisions, m->a->store, by, &d, proof, &out->sig, why, whylen);
}

es_err es_making_decision_tbs(es_making *m, const es_actor *by, int64_t id, const char *step,
                              const char *verdict, const char *opinion, es_time *at, es_buf *tbs,
                              const char **field)
{
    static const struct {
        const char *step, *action;
        es_perm perm;
    } steps[] = {{"submit", "application.submit", ES_PERM_SEAL_APPLY},
                 {"review", "application.review", ES_PERM_SEAL_REVIEW},
                 {"execute", "application.execute", ES_PERM_SEAL_MAKE}};
    full_app f;
    char object[64];
    es_decision d;
    size_t k = 0;
    if (field) *field = NULL;
    while (k < 3 && (!step || strcmp(step, steps[k].step) != 0)) k++;
    if (k == 3) {
        if (field) *field = "step";
        return ES_ERR_ARG;
    }
    if (!may(by, steps[k].perm)) return deny(m, by, "application.decision_tbs");
    if (k == 1 && (!verdict || (strcmp(verdict, "approve") && strcmp(verdict, "reject")))) {
        if (field) *field = "verdict";
        return ES_ERR_ARG;
    }
    memset(&d, 0, sizeof d);
    full_init(&f);
    es_err rv = load_full(m, id, &f);
    if (rv == ES_OK) {
        snprintf(object, sizeof object, "application:%lld", (long long)id);
        d.action = steps[k].action;
        d.object = object;
        d.verdict = k == 1 ? verdict : "";
        d.opinion = k == 1 && opinion ? opinion : "";
        d.at = es_time_now();
        rv = record_sm3(&f, d.subject_sm3);
    }
    if (rv == ES_OK) rv = es_decision_tbs(&d, by->name, tbs);
    if (rv == ES_OK && at) *at = d.at;
    full_free(&f);
    return rv;
}

static void decided_free(decided *d)
{
    if (d->signed_) es_decision_sig_free(&d->sig);
}

/* The keys of the open application index. */
static void open_key_of(const es_application *a, char *out, size_t n)
{
    if (!strcmp(a->kind, "apply"))
        snprintf(out, n, "unit:%s|%s", a->uscc, a->seal_name);
    else
        snprintf(out, n, "seal:%s", a->seal_code);
}

typedef struct names_ctx {
    char names[32][64];
    size_t n;
} names_ctx;

static es_err name_row(void *ctx, const es_row *r)
{
    names_ctx *x = ctx;
    if (x->n < 32) snprintf(x->names[x->n++], 64, "%s", es_row_text(r, 0, NULL));
    return ES_OK;
}

/* What submission needs besides the materials: the data of the kind. */
static const char *missing_data(const full_app *f)
{
    const es_application *a = &f->a;
    if (!makes_seal(a->kind)) return NULL;
    const struct {
        const char *v, *name;
    } req[] = {
        {a->uscc, "uscc"},
        {a->division, "division"},
        {a->unit_type, "unit_type"},
        {a->unit_name, "unit_name"},
        {a->agent_name, "agent_name"},
        {a->agent_idno, "agent_idno"},
        {a->agent_mobile, "agent_mobile"},
        {a->unit_address, "unit_address"},
        {a->approver_name, "approver_name"},
        {a->approver_division, "approver_division"},
        {a->seal_name, "seal_name"},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (!req[i].v[0]) return req[i].name;
    if (!a->seal_type) return "seal_type";
    if (!f->picture.len) return "picture";
    if (!strcmp(a->carrier, "usbkey") && !f->csr.len) return "csr";
    if (!strcmp(a->carrier, "server") && !f->pkg.len) return "package_request";
    return NULL;
}

es_err es_making_submit(es_making *m, const es_actor *by, int64_t id,
                        const es_decision_proof *proof, char *why, size_t whylen)
{
    full_app f;
    decided dec = {0};
    names_ctx have = {0};
    char object[64], key[ES_MK_NAME_MAX + 64];
    int64_t changes = 0, did = 0;
    es_err rv;
    if (!may(by, ES_PERM_SEAL_APPLY)) return deny(m, by, "application.submit");
    full_init(&f);
    CHECK(load_full(m, id, &f));
    if (strcmp(f.a.state, "draft") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    es_value pid[1] = {es_v_int(id)};
    CHECK(es_store_query(m->a->store,
                         "SELECT name FROM application_materials WHERE application_id = ?", pid, 1,
                         name_row, &have));
    size_t n = 0;
    const es_material_spec *spec = es_tables_materials(m->tables, f.a.kind, &n);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < have.n; j++) found |= strcmp(have.names[j], spec[i].name) == 0;
        if (spec[i].required && !found) {
            if (why && whylen)
                snprintf(why, whylen, "material %s (%s) is missing", spec[i].name,
                         spec[i].title_en);
            rv = ES_ERR_MK_MATERIALS;
            goto out;
        }
    }
    const char *gap = missing_data(&f);
    if (gap) {
        if (why && whylen) snprintf(why, whylen, "%s is missing", gap);
        rv = ES_ERR_MK_INCOMPLETE;
        goto out;
    }
    CHECK(decide(m, by, &f, "application.submit", "", "", proof, &dec, why, whylen));
    open_key_of(&f.a, key, sizeof key);
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    svc_rec ar; /* signed before the transaction (docs/audit.md) */
    CHECK(svc_audit_prepare(m->a, by, "application.submit", object, f.a.kind, &ar));
    CHECK(es_store_begin(m->a->store));
    CHECK(es_decision_store_in(m->a->store, &dec.sig, &did));
    es_value p[] = {es_v_text(key),
                    es_v_text(by->name),
                    es_v_int(es_time_now()),
                    did ? es_v_int(did) : es_v_null(),
                    es_v_int(id),
                    es_v_int(f.a.version)};
    rv = es_store_exec(m->a->store,
                       "UPDATE applications SET state = 'submitted', open_key = ?, "
                       "submitted_by = ?, submitted_at = ?, submit_decision = ?, "
                       "version = version + 1 WHERE id = ? AND version = ? AND state = 'draft'",
                       p, sizeof p / sizeof p[0], &changes);
    if (rv == ES_ERR_EXISTS) {
        say(why, whylen,
            strcmp(f.a.kind, "apply") == 0
                ? "another application for this unit and seal name is open"
                : "another application for this seal is open");
        rv = ES_ERR_MK_DUPLICATE;
        goto out;
    }
    if (rv != ES_OK) goto out;
    if (changes != 1) {
        rv = ES_ERR_MK_VERSION;
        goto out;
    }
    CHECK(svc_audit_append(m->a, &ar));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    decided_free(&dec);
    full_free(&f);
    return rv;
}

es_err es_making_review(es_making *m, const es_actor *by, int64_t id, int approve,
                        const char *opinion, const es_decision_proof *proof, char *why,
                        size_t whylen)
{
    full_app f;
    decided dec = {0};
    char object[64], detail[64];
    int64_t changes = 0, did = 0;
    es_err rv;
    if (!may(by, ES_PERM_SEAL_REVIEW)) return deny(m, by, "application.review");
    if (!opinion) opinion = "";
    if (strlen(opinion) > ES_MK_OPINION_MAX ||
        !es_utf8_valid((const uint8_t *)opinion, strlen(opinion)))
        return ES_ERR_ARG;
    if (!approve && !opinion[0]) {
        say(why, whylen, "a rejection needs an opinion");
        return ES_ERR_ARG;
    }
    full_init(&f);
    CHECK(load_full(m, id, &f));
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    if (strcmp(f.a.created_by, by->name) == 0 || strcmp(f.a.submitted_by, by->name) == 0) {
        /* Four eyes: the one who entered or submitted it never reviews it. Audited. */
        CHECK(svc_audit_alone(m->a, by, "access.denied", object,
                              "refused: four eyes: the reviewer entered this application"));
        say(why, whylen, "you entered or submitted this application: another reviewer decides");
        rv = ES_ERR_MK_FOUR_EYES;
        goto out;
    }
    if (strcmp(f.a.state, "submitted") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    const char *verdict = approve ? "approve" : "reject";
    CHECK(decide(m, by, &f, "application.review", verdict, opinion, proof, &dec, why, whylen));
    snprintf(detail, sizeof detail, "verdict=%s", verdict);
    svc_rec ar; /* signed before the transaction (docs/audit.md) */
    CHECK(svc_audit_prepare(m->a, by, "application.review", object, detail, &ar));
    CHECK(es_store_begin(m->a->store));
    CHECK(es_decision_store_in(m->a->store, &dec.sig, &did));
    es_value p[] = {es_v_text(approve ? "approved" : "rejected"),
                    es_v_int(approve),
                    es_v_text(by->name),
                    es_v_int(es_time_now()),
                    es_v_text(verdict),
                    es_v_text(opinion),
                    did ? es_v_int(did) : es_v_null(),
                    es_v_int(id)};
    /* A rejected application is closed: its unit and seal name may be applied for again. */
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = ?, open_key = CASE WHEN ? = 1 THEN "
                        "open_key ELSE NULL END, reviewed_by = ?, reviewed_at = ?, verdict = ?, "
                        "opinion = ?, review_decision = ?, version = version + 1 "
                        "WHERE id = ? AND state = 'submitted'",
                        p, sizeof p / sizeof p[0], &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    CHECK(svc_audit_append(m->a, &ar));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    decided_free(&dec);
    full_free(&f);
    return rv;
}

/* ---- execution */

/* Appends a status event (gap-free number from the counter row, whose lock orders concurrent
 * writers on PostgreSQL) inside the transaction. */
static es_err status_event(es_making *m, const char *code, const char *serial, const char *state,
                           const char *reason, int64_t app_id)
{
    int64_t seq = 0;
    /* One statement: the new number comes back from the update (a round trip less under the
     * CA's lock). */
    es_err rv = es_store_query_int(m->a->store,
                                   "UPDATE making_counters SET value = value + 1 WHERE name = "
                                   "'status_events' RETURNING value",
                                   NULL, 0, &seq);
    if (rv != ES_OK) return rv;
    es_value p[] = {es_v_int(seq),           es_v_text(code),   es_v_text(serial), es_v_text(state),
                    es_v_int(es_time_now()), es_v_text(reason), es_v_int(app_id)};
    return es_store_exec(m->a->store,
                         "INSERT INTO status_events (seq, code, cert_serial, state, effective_at, "
                         "reason, application_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         p, sizeof p / sizeof p[0], NULL);
}

/* The test hook of making.h: waits inside the transaction until the file is removed. */
static void pause_hook(void)
{
    const char *path = getenv(ES_MAKING_PAUSE_ENV);
    if (!path || !*path) return;
    FILE *fp = fopen(path, "w");
    if (!fp) return;
    fclose(fp);
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (access(path, F_OK) == 0) nanosleep(&ts, NULL);
}

/* Prepares the seal certificate for application f with code (es_ca_issue_prepare: signed and
 * checked, nothing recorded, no lock held); for the server carrier the seal key is made here
 * (*pk, freed by the caller). */
static es_err prepare_cert(es_making *m, const full_app *f, const char *code, es_ca_issued *ci,
                           es_package_key **pk, char *why, size_t whylen)
{
    es_name subj;
    char o[ES_PKI_VALUE_MAX + 1];
    es_pki_lint lint;
    es_package_req *preq = NULL;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_buf trust;
    es_err rv;
    *pk = NULL;
    memset(&subj, 0, sizeof subj);
    memset(&lint, 0, sizeof lint);
    es_buf_init(&trust, 2 * ES_MAX_CERT_DER);
    /* spec/national.md: CN = the seal code, O = the credit code immediately followed by the
     * unit's name. */
    if (strlen(f->a.uscc) + strlen(f->a.unit_name) > ES_PKI_VALUE_MAX) {
        say(why, whylen, "the credit code and the unit name are too long for the certificate");
        rv = ES_ERR_ARG;
        goto out;
    }
    snprintf(o, sizeof o, "%s%s", f->a.uscc, f->a.unit_name);
    CHECK(es_pki_name_add(&subj, ES_NAME_C, "CN"));
    CHECK(es_pki_name_add(&subj, ES_NAME_O, o));
    CHECK(es_pki_name_add(&subj, ES_NAME_CN, code));
    es_ca_request req = {.profile = "seal",
                         .subject = &subj,
                         .csr = f->csr.p,
                         .csr_len = f->csr.len,
                         .seal_source = strcmp(f->a.scope, "national") == 0
                                            ? ES_SEAL_SOURCE_GOVERNMENT
                                            : ES_SEAL_SOURCE_HRSS,
                         .not_before = ES_TIME_NONE};
    if (!strcmp(f->a.carrier, "server")) {
        /* §7.5 server package: the request's application system must hold a certificate of
         * this site's root; the seal key is made here, certified, and leaves only enveloped to
         * the request's encryption key (docs/delivery.md). */
        es_slice root = es_ca_cert(m->ca);
        CHECK(es_pem_encode("CERTIFICATE", root.p, root.len, &trust));
        CHECK(es_package_req_parse(es_slice_make(f->pkg.p, f->pkg.len),
                                   es_slice_make(trust.p, trust.len), &preq, why, whylen));
        CHECK(es_package_key_new(preq, pk, pub));
        req.csr = NULL;
        req.csr_len = 0;
        req.pub = pub;
    } else {
        /* The request's proof of possession was verified when the application was entered
         * (validate), and the request is inside the record whose MAC load_full checked: its
         * key is certified without a second SM2 verification under the CA's lock. A request
         * asking for names (subjectAltName) goes the CA's whole way. */
        es_pki_csr csr;
        CHECK(es_pki_csr_parse(f->csr.p, f->csr.len, &trust, &csr));
        if (!csr.san.len) {
            memcpy(pub, csr.pub, ES_SM2_PUB_LEN);
            req.csr = NULL;
            req.csr_len = 0;
            req.pub = pub;
        }
    }
    rv = es_ca_issue_prepare(m->ca, &req, &lint, ci);
    if (rv == ES_ERR_LINT) {
        size_t k = 0;
        for (size_t i = 0; i < lint.n && why && k + 2 < whylen; i++)
            k += (size_t)snprintf(why + k, whylen - k, "%s%s", i ? "; " : "", lint.msg[i]);
    }
out:
    if (rv != ES_OK) {
        es_package_key_free(*pk);
        *pk = NULL;
    }
    es_package_req_free(preq);
    es_buf_cleanup(&trust);
    return rv;
}

/* Makes the GB/T 38540 v4 seal of application f with code for certificate cert (parsed: pc),
 * signed by the maker; the server carrier's package with key pk. Appends to esl and pkg. */
static es_err make_seal(es_making *m, const full_app *f, const char *code, const es_buf *cert,
                        const es_pki_cert *pc, es_package_key *pk, es_buf *esl, es_buf *pkg)
{
    es_err rv;
    es_slice certs[1] = {es_slice_make(cert->p, cert->len)};
    /* The seal's validity is its certificate's: never past it. */
    es_seal_params sp = {.es_id = code,
                         .type = f->a.seal_type,
                         .name = f->a.seal_name,
                         .signer_certs = certs,
                         .n_signer_certs = 1,
                         .create_date = ES_TIME_NONE,
                         .valid_start = pc->not_before,
                         .valid_end = pc->not_after,
                         .picture_type = "PNG",
                         .picture = es_slice_make(f->picture.p, f->picture.len),
                         .width_mm = f->a.width_mm,
                         .height_mm = f->a.height_mm,
                         .maker_cert = m->maker_cert};
    if ((rv = es_seal_make(&sp, m->maker, esl)) != ES_OK) return rv;
    if (pk)
        rv = es_package_finish(pk, es_slice_make(cert->p, cert->len),
                               es_slice_make(esl->p, esl->len), m->maker, pkg);
    return rv;
}

/* Keeps the server package of a seal made for the server carrier (none: nothing). */
static es_err record_package(es_making *m, const char *code, const es_buf *pkg)
{
    if (!pkg->len) return ES_OK;
    es_value p[] = {es_v_blob(pkg->p, pkg->len), es_v_text(code)};
    return es_store_exec(m->a->store, "UPDATE seals SET package = ? WHERE code = ?", p, 2, NULL);
}

static es_err revoke_cert(es_making *m, es_ca_state *st, const char *code, const char *serial,
                          int reason)
{
    es_err rv = es_ca_revoke_in(m->ca, st, serial, reason, ES_TIME_NONE);
    if (rv == ES_ERR_REVOKED || rv == ES_ERR_NOT_FOUND) rv = ES_OK; /* imported, or on hold */
    if (rv != ES_OK) return rv;
    es_value p[] = {es_v_int(es_time_now()), es_v_text(es_pki_reason_name(reason)), es_v_text(code),
                    es_v_text(serial)};
    return es_store_exec(m->a->store,
                         "UPDATE seal_certs SET revoked_at = ?, reason = ? WHERE code = ? AND "
                         "cert_serial = ? AND (revoked_at IS NULL OR reason = 'certificateHold')",
                         p, 4, NULL);
}

/* Restore: the hold on the seal's certificate released (removeFromCRL). A certificate
 * revoked for good (by the CA's operator, or a loss) cannot be: ES_ERR_MK_CERT_REVOKED. */
static es_err release_cert(es_making *m, es_ca_state *st, const char *code, const char *serial,
                           char *why, size_t whylen)
{
    es_err rv = es_ca_revoke_in(m->ca, st, serial, ES_REASON_REMOVE_FROM_CRL, ES_TIME_NONE);
    if (rv == ES_ERR_NOT_FOUND || rv == ES_ERR_ARG) rv = ES_OK; /* imported, or not on hold */
    if (rv == ES_ERR_REVOKED) {
        say(why, whylen, "the seal's certificate is revoked, not on hold: it cannot be restored");
        return ES_ERR_MK_CERT_REVOKED;
    }
    if (rv != ES_OK) return rv;
    es_value p[] = {es_v_text(code), es_v_text(serial)};
    return es_store_exec(m->a->store,
                         "UPDATE seal_certs SET revoked_at = NULL, reason = '' WHERE code = ? AND "
                         "cert_serial = ? AND reason = 'certificateHold'",
                         p, 2, NULL);
}

static es_err record_cert(es_making *m, const char *code, const char *serial, const es_buf *cert,
                          const es_buf *esl, const es_pki_cert *pc, int64_t app_id)
{
    es_value p[] = {es_v_text(code),
                    es_v_text(serial),
                    es_v_blob(cert->p, cert->len),
                    es_v_blob(esl->p, esl->len),
                    es_v_int(pc->not_before),
                    es_v_int(pc->not_after),
                    es_v_int(app_id),
                    es_v_int(es_time_now())};
    return es_store_exec(m->a->store,
                         "INSERT INTO seal_certs (code, cert_serial, cert, esl, valid_start, "
                         "valid_end, application_id, made_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         p, sizeof p / sizeof p[0], NULL);
}

/* National scope (the section at the end of this file). */
static es_err national_execute(es_making *m, const es_actor *by, full_app *f,
                               const es_decision_proof *proof, char *why, size_t whylen);
static es_err national_status_in(es_making *m, const es_seal_rec *s, const char *state,
                                 const char *reason);

/* ---- execution: the SM2 work before the transaction (issue 10)
 *
 * The certificate (its serial is random: it needs no CA state), the seal (it names the
 * certificate) and their audit records are signed before the transaction; inside it the
 * state is checked again (the application still approved, the code the one prepared) and the
 * rows are inserted. What was prepared and not recorded was never issued: it is discarded. */

/* A new industry code is gap-free per division (es_code_next_in, taken in the transaction
 * that uses it), but the certificate and the seal carry it and are made before. So the code
 * is predicted: the division's last serial + 1, above every code this process is preparing
 * for the division; the transaction takes the next code as before and, when it is not the
 * one predicted (an execution ahead failed, or another process took it), rolls back and
 * prepares again. An execution waits (at most CODE_WAIT_S) for those ahead of it in its
 * division to end before it begins its transaction, so that the codes commit in order. */
#define CODE_SLOTS  64
#define CODE_WAIT_S 2

typedef struct code_slot {
    int used;
    char division[7];
    int64_t serial;
} code_slot;

static code_slot code_slots[CODE_SLOTS];
static pthread_mutex_t code_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t code_cv = PTHREAD_COND_INITIALIZER;

/* Predicts the next code of division into code; *slot: its place in the table (-1: the
 * table is full, no order kept: the check in the transaction still holds). */
static es_err code_reserve(es_making *m, const char *division, char code[ES_SEAL_CODE_MAX],
                           int *slot)
{
    int64_t last = 0;
    *slot = -1;
    es_value p[1] = {es_v_text(division)};
    es_err rv = es_store_query_int(
        m->a->store,
        "SELECT COALESCE(MAX(last_serial), 0) FROM seal_code_serials WHERE division = ?", p, 1,
        &last);
    if (rv != ES_OK) return rv;
    pthread_mutex_lock(&code_mu);
    int64_t next = last + 1;
    int free_i = -1;
    for (int i = 0; i < CODE_SLOTS; i++) {
        code_slot *c = &code_slots[i];
        if (c->used && !strcmp(c->division, division) && c->serial >= next) next = c->serial + 1;
        if (!c->used && free_i < 0) free_i = i;
    }
    if (next > ES_SEAL_SERIAL_MAX) {
        pthread_mutex_unlock(&code_mu);
        return ES_ERR_LIMIT;
    }
    if (free_i >= 0) {
        code_slots[free_i].used = 1;
        snprintf(code_slots[free_i].division, sizeof code_slots[free_i].division, "%.6s", division);
        code_slots[free_i].serial = next;
        *slot = free_i;
    }
    pthread_mutex_unlock(&code_mu);
    snprintf(code, ES_SEAL_CODE_MAX, "RS%.6s%08lld", division, (long long)next);
    return ES_OK;
}

/* Waits until no execution of this process holds an earlier code of the slot's division. */
static void code_wait(int slot)
{
    if (slot < 0) return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CODE_WAIT_S;
    pthread_mutex_lock(&code_mu);
    const code_slot *me = &code_slots[slot];
    for (;;) {
        int ahead = 0;
        for (int i = 0; i < CODE_SLOTS && !ahead; i++) {
            const code_slot *c = &code_slots[i];
            ahead = i != slot && c->used && !strcmp(c->division, me->division) &&
                    c->serial < me->serial;
        }
        if (!ahead || pthread_cond_timedwait(&code_cv, &code_mu, &until) != 0) break;
    }
    pthread_mutex_unlock(&code_mu);
}

static void code_release(int *slot)
{
    if (*slot < 0) return;
    pthread_mutex_lock(&code_mu);
    code_slots[*slot].used = 0;
    pthread_cond_broadcast(&code_cv);
    pthread_mutex_unlock(&code_mu);
    *slot = -1;
}

/* What one attempt of an execution prepares: the certificate, the seal (and the server
 * carrier's package), the ca.issue audit record. */
typedef struct prepared {
    es_ca_issued ci;
    es_castore_issued ai;
    es_package_key *pk;
    es_buf esl, pkg;
    es_pki_cert pc;
    int slot;
} prepared;

static void prepared_init(prepared *pr)
{
    memset(pr, 0, sizeof *pr);
    es_ca_issued_init(&pr->ci);
    es_buf_init(&pr->esl, ES_MAX_SEAL_DER);
    es_buf_init(&pr->pkg, ES_MAX_PACKAGE);
    pr->slot = -1;
}

static void prepared_free(prepared *pr)
{
    es_ca_issued_free(&pr->ci);
    es_castore_issued_free(&pr->ai);
    es_package_key_free(pr->pk);
    pr->pk = NULL;
    es_buf_cleanup(&pr->esl);
    es_buf_cleanup(&pr->pkg);
    code_release(&pr->slot);
}

/* Signs the certificate, the seal and the ca.issue record of f with code (no lock held). */
static es_err prepare_made(es_making *m, es_castore *cs, const full_app *f, const char *code,
                           prepared *pr, char *why, size_t whylen)
{
    es_err rv;
    CHECK(prepare_cert(m, f, code, &pr->ci, &pr->pk, why, whylen));
    CHECK(es_pki_cert_parse(pr->ci.entry.cert, &pr->pc));
    CHECK(make_seal(m, f, code, &pr->ci.cert, &pr->pc, pr->pk, &pr->esl, &pr->pkg));
    CHECK(es_castore_issue_prepare(cs, m->ca, &pr->ci, &pr->ai));
out:
    return rv;
}

/* The test hook of a serial collision (tests/test_making.c): with ESEAL_TEST_MAKING_COLLIDE=N
 * in the environment, prepared certificates are recorded (without audit) before their own
 * transaction, as another writer taking the serial would, until the process has made N such
 * collisions in all: the transaction finds the serial taken and prepares again. */
#define MAKING_COLLIDE_ENV "ESEAL_TEST_MAKING_COLLIDE"
static int collided_so_far;

static void collide_hook(es_making *m, const prepared *pr)
{
    const char *v = getenv(MAKING_COLLIDE_ENV);
    if (!v || !*v) return;
    pthread_mutex_lock(&code_mu);
    int go = collided_so_far < atoi(v);
    if (go) collided_so_far++;
    pthread_mutex_unlock(&code_mu);
    if (!go) return;
    es_castore other = {m->a->store, NULL, "test", NULL, NULL};
    es_ca_state st = es_castore_state(&other);
    if (es_store_begin(m->a->store) != ES_OK) return;
    if (es_ca_issue_record(m->ca, &st, &pr->ci) != ES_OK || es_store_commit(m->a->store) != ES_OK)
        es_store_rollback(m->a->store);
}

/* Records the prepared certificate with its prepared ca.issue record (cs->issued) in the
 * transaction; a serial found taken sets *retry. */
static es_err record_prepared(es_making *m, es_castore *cs, es_ca_state *st, prepared *pr,
                              char serial[2 * ES_PKI_SERIAL_MAX + 1], int *retry)
{
    cs->issued = &pr->ai;
    es_err rv = es_ca_issue_record(m->ca, st, &pr->ci);
    cs->issued = NULL;
    if (rv == ES_ERR_EXISTS) *retry = 1;
    if (rv != ES_OK) return rv;
    snprintf(serial, 2 * ES_PKI_SERIAL_MAX + 1, "%s", pr->ci.entry.serial);
    pause_hook();
    return ES_OK;
}

/* What an execution's commit lets go once it is visible (es_store_commit_visible), without
 * waiting for the disk: the next code of the division and the CA's writer wait only for the
 * order of the commits, which a crash keeps. */
typedef struct exec_hold {
    pthread_mutex_t *ca_lock; /* NULL: not held */
    int *slot;
} exec_hold;

static void exec_let_go(void *arg)
{
    exec_hold *h = arg;
    if (h->ca_lock) pthread_mutex_unlock(h->ca_lock);
    h->ca_lock = NULL;
    code_release(h->slot);
}

/* One transaction of an execution, with what was prepared (pr: nothing for the kinds that
 * make no seal). *retry: the prepared certificate or code cannot be used (prepare again). */
static es_err execute_tx(es_making *m, const es_actor *by, int64_t id, const full_app *f,
                         const es_seal_rec *old, decided *dec, svc_rec *ar, es_castore *cs,
                         prepared *pr, char code[ES_SEAL_CODE_MAX], int *retry, char *why,
                         size_t whylen)
{
    char serial[2 * ES_PKI_SERIAL_MAX + 1] = "";
    int64_t changes = 0, did = 0;
    es_err rv;
    es_ca_state st = es_castore_joined_state(cs);
    const es_buf *cert = &pr->ci.cert, *esl = &pr->esl, *pkg = &pr->pkg;
    const es_pki_cert *pc = &pr->pc;
    /* The CA's lock is still taken, though no SM2 work remains under it: the lifecycle kinds
     * revoke the old certificate in this transaction (revocation, like the CRL number, needs
     * the CA's one writer), and on SQLite the write transaction is the database's one lock
     * anyway. What it now covers is SQL and the commit. */
    exec_hold hold = {NULL, &pr->slot};
    if (m->ca_lock) {
        pthread_mutex_lock(m->ca_lock);
        hold.ca_lock = m->ca_lock;
    }
    CHECK(es_castore_begin_joined(cs, m->ca));
    es_time now = es_time_now();
    /* The state moves first: a concurrent or repeated execution finds it moved and stops. */
    es_value pa[] = {es_v_text(by->name), es_v_int(now), es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = 'made', open_key = NULL, executed_by = ?, "
                        "executed_at = ?, version = version + 1 WHERE id = ? AND state = "
                        "'approved'",
                        pa, 3, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    CHECK(es_decision_store_in(m->a->store, &dec->sig, &did));
    const char *k = f->a.kind;
    if (!strcmp(k, "change") || !strcmp(k, "replace") || !strcmp(k, "loss") ||
        !strcmp(k, "cancel")) {
        int reason = !strcmp(k, "loss")     ? ES_REASON_KEY_COMPROMISE
                     : !strcmp(k, "cancel") ? ES_REASON_CESSATION
                                            : ES_REASON_SUPERSEDED;
        const char *to = !strcmp(k, "loss") ? "lost" : "cancelled";
        CHECK(revoke_cert(m, &st, old->code, old->cert_serial, reason));
        es_value p[] = {es_v_text(to), es_v_text(old->code)};
        CHECK(es_store_exec(m->a->store, "UPDATE seals SET state = ? WHERE code = ?", p, 2, NULL));
        CHECK(status_event(m, old->code, old->cert_serial, to, es_pki_reason_name(reason), id));
        CHECK(national_status_in(m, old, to, es_pki_reason_name(reason)));
        if (!makes_seal(k)) snprintf(code, ES_SEAL_CODE_MAX, "%s", old->code);
    } else if (!strcmp(k, "suspend") || !strcmp(k, "restore")) {
        const char *to = !strcmp(k, "suspend") ? "suspended" : "active";
        /* The certificate follows (RFC 5280): on hold while suspended, released on restore. */
        if (!strcmp(k, "suspend"))
            CHECK(revoke_cert(m, &st, old->code, old->cert_serial, ES_REASON_CERTIFICATE_HOLD));
        else
            CHECK(release_cert(m, &st, old->code, old->cert_serial, why, whylen));
        es_value p[] = {es_v_text(to), es_v_text(old->code)};
        CHECK(es_store_exec(m->a->store, "UPDATE seals SET state = ? WHERE code = ?", p, 2, NULL));
        CHECK(status_event(m, old->code, old->cert_serial, to, k, id));
        CHECK(national_status_in(m, old, to, k));
        snprintf(code, ES_SEAL_CODE_MAX, "%s", old->code);
    }
    if (!strcmp(k, "renew")) {
        /* 7.9: the same code, a new certificate and seal; the old certificate superseded. */
        CHECK(record_prepared(m, cs, &st, pr, serial, retry));
        CHECK(revoke_cert(m, &st, old->code, old->cert_serial, ES_REASON_SUPERSEDED));
        CHECK(record_cert(m, code, serial, cert, esl, pc, id));
        es_value p[] = {
            es_v_text(serial), es_v_int(pc->not_before), es_v_int(pc->not_after), es_v_int(id),
            es_v_int(now),     es_v_text(by->name),      es_v_text(code)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE seals SET state = 'active', cert_serial = ?, valid_start = ?, "
                            "valid_end = ?, application_id = ?, made_at = ?, made_by = ?, "
                            "delivered_at = NULL, delivered_by = '', delivered_to = '', "
                            "deliver_decision = NULL WHERE code = ?",
                            p, sizeof p / sizeof p[0], NULL));
        CHECK(record_package(m, code, pkg));
        CHECK(status_event(m, code, serial, "active", "renewed", id));
    } else if (makes_seal(k)) {
        /* apply, and the new seal of a change or replacement: a new code, the one prepared. */
        char got[ES_SEAL_CODE_MAX];
        CHECK(es_code_next_in(m->a->store, f->a.division, got));
        if (strcmp(got, code) != 0) {
            *retry = 1;
            rv = ES_ERR_BUSY;
            goto out;
        }
        CHECK(record_prepared(m, cs, &st, pr, serial, retry));
        es_value p[] = {es_v_text(code),
                        es_v_text(serial),
                        es_v_text(f->a.scope),
                        es_v_text(f->a.carrier),
                        es_v_text(f->a.uscc),
                        es_v_text(f->a.unit_name),
                        es_v_text(f->a.seal_name),
                        es_v_int(f->a.seal_type),
                        es_v_text(f->a.division),
                        es_v_int(pc->not_before),
                        es_v_int(pc->not_after),
                        es_v_int(id),
                        es_v_int(now),
                        es_v_text(by->name)};
        CHECK(es_store_exec(m->a->store,
                            "INSERT INTO seals (code, state, cert_serial, scope, carrier, uscc, "
                            "unit_name, seal_name, seal_type, division, valid_start, valid_end, "
                            "application_id, made_at, made_by) VALUES (?, 'active', ?, ?, ?, ?, "
                            "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            p, sizeof p / sizeof p[0], NULL));
        CHECK(record_cert(m, code, serial, cert, esl, pc, id));
        CHECK(record_package(m, code, pkg));
        CHECK(status_event(m, code, serial, "active", "made", id));
    }
    es_value pm[] = {es_v_text(code), did ? es_v_int(did) : es_v_null(), es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET made_code = ?, execute_decision = ? WHERE id = ?",
                        pm, 3, NULL));
    CHECK(svc_audit_append(m->a, ar));
    CHECK(es_store_commit_visible(m->a->store, exec_let_go, &hold));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    exec_let_go(&hold);
    return rv;
}

es_err es_making_execute(es_making *m, const es_actor *by, int64_t id,
                         const es_decision_proof *proof, char code[ES_SEAL_CODE_MAX], char *why,
                         size_t whylen)
{
    full_app f;
    decided dec = {0};
    es_seal_rec old;
    prepared pr;
    char object[64], detail[256];
    es_err rv;
    code[0] = 0;
    memset(&old, 0, sizeof old);
    if (!may(by, ES_PERM_SEAL_MAKE)) return deny(m, by, "application.execute");
    full_init(&f);
    prepared_init(&pr);
    CHECK(load_full(m, id, &f));
    if (!strcmp(f.a.state, "made") || !strcmp(f.a.state, "delivered")) {
        /* A retry finds the first result. */
        snprintf(code, ES_SEAL_CODE_MAX, "%s", f.a.made_code);
        goto out;
    }
    if (!strcmp(f.a.scope, "national") && makes_seal(f.a.kind)) {
        /* 7.5: the code comes from upstream, and filing precedes generation: the steps run
         * through the upstream link (national_execute below); the answer is the state. */
        rv = national_execute(m, by, &f, proof, why, whylen);
        goto out;
    }
    if (strcmp(f.a.state, "approved") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    if (!m->ca || !m->maker || !m->maker_cert.len) {
        rv = ES_ERR_UNAVAILABLE;
        goto out;
    }
    if (strcmp(f.a.kind, "apply") != 0) {
        CHECK(load_seal(m, f.a.seal_code, &old));
        if (!kind_applies(f.a.kind, old.state)) {
            say(why, whylen, "the seal's state changed since the application was made");
            rv = ES_ERR_MK_SEAL_STATE;
            goto out;
        }
    }
    CHECK(decide(m, by, &f, "application.execute", "", "", proof, &dec, why, whylen));
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    /* Signed before the transaction (docs/audit.md): the code and the certificate are in the
     * ca.issue record (subject, serial) and in the application's row. */
    snprintf(detail, sizeof detail, "kind=%s scope=%s carrier=%s old=%s", f.a.kind, f.a.scope,
             f.a.carrier, f.a.seal_code);
    svc_rec ar;
    CHECK(svc_audit_prepare(m->a, by, "application.execute", object, detail, &ar));
    es_castore cs = {m->a->store, m->a->audit, by->name, NULL, NULL};
    const char *k = f.a.kind;
    for (int attempt = 0;; attempt++) {
        int retry = 0;
        prepared_free(&pr);
        prepared_init(&pr);
        code[0] = 0;
        if (!strcmp(k, "renew")) {
            snprintf(code, ES_SEAL_CODE_MAX, "%s", old.code);
        } else if (makes_seal(k)) {
            CHECK(code_reserve(m, f.a.division, code, &pr.slot));
        }
        if (makes_seal(k)) {
            CHECK(prepare_made(m, &cs, &f, code, &pr, why, whylen));
            collide_hook(m, &pr);
            code_wait(pr.slot);
        }
        rv = execute_tx(m, by, id, &f, &old, &dec, &ar, &cs, &pr, code, &retry, why, whylen);
        if (rv == ES_OK || !retry || attempt >= 4) break;
    }
out:
    if (rv != ES_OK) code[0] = 0;
    prepared_free(&pr);
    decided_free(&dec);
    full_free(&f);
    return rv;
}

/* The decision of a delivery (its time left to the caller): seal.deliver on seal:CODE, the
 * recipient as its opinion, over the application that made the seal. dobj: 64 bytes. */
static es_err deliver_decision(const full_app *f, const char *code, const char *to, es_decision *d,
                               char *dobj)
{
    memset(d, 0, sizeof *d);
    snprintf(dobj, 64, "seal:%s", code);
    d->action = "seal.deliver";
    d->object = dobj;
    d->verdict = "";
    d->opinion = to;
    return record_sm3(f, d->subject_sm3);
}

es_err es_making_deliver_tbs(es_making *m, const es_actor *by, const char *code, const char *to,
                             es_time *at, es_buf *tbs)
{
    es_seal_rec s;
    full_app f;
    es_decision d;
    char dobj[64];
    if (!may(by, ES_PERM_SEAL_MAKE)) return deny(m, by, "seal.deliver_tbs");
    if (!to || !utf8_len_ok(to, ES_MK_NAME_MAX)) return ES_ERR_ARG;
    full_init(&f);
    es_err rv = load_seal(m, code, &s);
    if (rv == ES_OK) rv = load_full(m, s.application_id, &f);
    if (rv == ES_OK) rv = deliver_decision(&f, code, to, &d, dobj);
    if (rv == ES_OK) {
        d.at = es_time_now();
        rv = es_decision_tbs(&d, by->name, tbs);
    }
    if (rv == ES_OK && at) *at = d.at;
    full_free(&f);
    return rv;
}

es_err es_making_deliver(es_making *m, const es_actor *by, const char *code, const char *to,
                         const es_decision_proof *proof, char *why, size_t whylen)
{
    es_seal_rec s;
    full_app f;
    decided dec = {0};
    char object[64], detail[ES_MK_NAME_MAX + 64];
    int64_t changes = 0, did = 0;
    es_err rv;
    if (!may(by, ES_PERM_SEAL_MAKE)) return deny(m, by, "seal.deliver");
    if (!to || !utf8_len_ok(to, ES_MK_NAME_MAX)) {
        say(why, whylen, "to names who received the seal (1 to 200 bytes)");
        return ES_ERR_ARG;
    }
    full_init(&f);
    CHECK(load_seal(m, code, &s));
    if (s.delivered_at || strcmp(s.state, "active") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    CHECK(load_full(m, s.application_id, &f));
    {
        char dobj[64];
        es_decision d;
        es_decision_sig_init(&dec.sig);
        dec.signed_ = 1;
        CHECK(deliver_decision(&f, code, to, &d, dobj));
        CHECK(signed_at(proof, &d.at, why, whylen));
        CHECK(es_decision_sign(m->decisions, m->a->store, by, &d, proof, &dec.sig, why, whylen));
    }
    snprintf(object, sizeof object, "seal:%s", code);
    snprintf(detail, sizeof detail, "to=%s carrier=%s", to, s.carrier);
    svc_rec ar; /* signed before the transaction (docs/audit.md) */
    CHECK(svc_audit_prepare(m->a, by, "seal.deliver", object, detail, &ar));
    CHECK(es_store_begin(m->a->store));
    CHECK(es_decision_store_in(m->a->store, &dec.sig, &did));
    es_value p[] = {es_v_int(es_time_now()), es_v_text(by->name), es_v_text(to),
                    did ? es_v_int(did) : es_v_null(), es_v_text(code)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE seals SET delivered_at = ?, delivered_by = ?, delivered_to = ?, "
                        "deliver_decision = ? WHERE code = ? AND delivered_at IS NULL",
                        p, 5, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    es_value pa[] = {es_v_int(s.application_id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = 'delivered', version = version + 1 "
                        "WHERE id = ? AND state = 'made'",
                        pa, 1, NULL));
    CHECK(svc_audit_append(m->a, &ar));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    decided_free(&dec);
    full_free(&f);
    return rv;
}

/* ---- reading seals and events */

typedef struct blobs_ctx {
    es_buf *cert, *esl;
    int found;
    es_err rv;
} blobs_ctx;

static es_err blobs_row(void *ctx, const es_row *r)
{
    blobs_ctx *x = ctx;
    x->found = 1;
    if (x->cert && x->rv == ES_OK) x->rv = copy_blob(x->cert, r, 0);
    if (x->esl && x->rv == ES_OK) x->rv = copy_blob(x->esl, r, 1);
    return ES_OK;
}

es_err es_making_seal_get(es_making *m, const es_actor *by, const char *code, es_seal_rec *out,
                          es_buf *cert, es_buf *esl)
{
    if (!may_read(by)) return deny(m, by, "seal.get");
    es_err rv = load_seal(m, code, out);
    if (rv != ES_OK || (!cert && !esl)) return rv;
    blobs_ctx x = {cert, esl, 0, ES_OK};
    es_value p[] = {es_v_text(code), es_v_text(out->cert_serial)};
    rv = es_store_query(m->a->store,
                        "SELECT cert, esl FROM seal_certs WHERE code = ? AND cert_serial = ?", p, 2,
                        blobs_row, &x);
    if (rv != ES_OK) return rv;
    return x.found ? x.rv : ES_ERR_INTERNAL;
}

static es_err pkg_row(void *ctx, const es_row *r)
{
    blobs_ctx *x = ctx;
    x->found = !es_row_is_null(r, 0);
    if (x->found) x->rv = copy_blob(x->cert, r, 0);
    return ES_OK;
}

es_err es_making_seal_package(es_making *m, const es_actor *by, const char *code, es_buf *pkg)
{
    if (!may(by, ES_PERM_SEAL_MAKE)) return deny(m, by, "seal.package");
    blobs_ctx x = {pkg, NULL, 0, ES_OK};
    es_value p[] = {es_v_text(code)};
    es_err rv =
        es_store_query(m->a->store, "SELECT package FROM seals WHERE code = ?", p, 1, pkg_row, &x);
    if (rv != ES_OK) return rv;
    return x.found ? x.rv : ES_ERR_NOT_FOUND;
}

typedef struct seal_list_ctx {
    es_seal_cb cb;
    void *ctx;
} seal_list_ctx;

static es_err seal_list_row(void *ctx, const es_row *r)
{
    seal_list_ctx *x = ctx;
    es_seal_rec s;
    fill_seal(&s, r);
    return x->cb(x->ctx, &s);
}

es_err es_making_seal_list(es_making *m, const es_actor *by, const es_seal_filter *f, es_seal_cb cb,
                           void *ctx)
{
    char like[ES_MK_NAME_MAX + 3] = "";
    if (!may_read(by)) return deny(m, by, "seal.list");
    int64_t limit = f->limit > 0 && f->limit <= ES_MK_PAGE_MAX ? f->limit : ES_MK_PAGE_MAX;
    if (f->name && f->name[0]) {
        /* A substring: LIKE's wildcards in the name are taken literally. */
        size_t k = 0;
        like[k++] = '%';
        for (const char *c = f->name; *c && k + 3 < sizeof like; c++) {
            if (*c == '%' || *c == '_' || *c == '\\') {
                if (k + 4 >= sizeof like) break;
                like[k++] = '\\';
            }
            like[k++] = *c;
        }
        like[k++] = '%';
        like[k] = 0;
    }
    seal_list_ctx x = {cb, ctx};
    es_value p[] = {es_v_text(f->after_code ? f->after_code : ""),
                    es_v_text(f->code ? f->code : ""),
                    es_v_text(f->code ? f->code : ""),
                    es_v_text(like),
                    es_v_text(like),
                    es_v_text(f->uscc ? f->uscc : ""),
                    es_v_text(f->uscc ? f->uscc : ""),
                    es_v_text(f->state ? f->state : ""),
                    es_v_text(f->state ? f->state : ""),
                    es_v_int(limit)};
    return es_store_query(m->a->store,
                          "SELECT " SEAL_COLS " FROM seals WHERE code > ? "
                          "AND (? = '' OR code = ?) AND (? = '' OR seal_name LIKE ? ESCAPE '\\') "
                          "AND (? = '' OR uscc = ?) AND (? = '' OR state = ?) "
                          "ORDER BY code LIMIT ?",
                          p, sizeof p / sizeof p[0], seal_list_row, &x);
}

typedef struct ev_ctx {
    es_status_event_cb cb;
    void *ctx;
} ev_ctx;

static es_err ev_row(void *ctx, const es_row *r)
{
    ev_ctx *x = ctx;
    es_status_event e;
    memset(&e, 0, sizeof e);
    e.seq = es_row_int(r, 0);
    TXT(e.code, 1);
    TXT(e.cert_serial, 2);
    TXT(e.state, 3);
    e.effective_at = es_row_int(r, 4);
    TXT(e.reason, 5);
    e.application_id = es_row_int(r, 6);
    return x->cb(x->ctx, &e);
}

es_err es_making_events(es_making *m, const es_actor *by, int64_t after, const char *code,
                        int64_t limit, es_status_event_cb cb, void *ctx)
{
    if (!may_read(by) && !may(by, ES_PERM_VERIFY)) return deny(m, by, "status.events");
    if (limit <= 0 || limit > 1000) limit = 1000;
    ev_ctx x = {cb, ctx};
    es_value p[] = {es_v_int(after), es_v_text(code ? code : ""), es_v_text(code ? code : ""),
                    es_v_int(limit)};
    return es_store_query(m->a->store,
                          "SELECT seq, code, cert_serial, state, effective_at, reason, "
                          "application_id FROM status_events WHERE seq > ? AND (? = '' OR code = "
                          "?) ORDER BY seq LIMIT ?",
                          p, 4, ev_row, &x);
}

/* ---- national scope (LD/T 01.1 7.5; docs/making.md "National scope")
 *
 * A national-scope application that makes a seal goes, after its execution, through the
 * upstream link in steps, each one transaction (national_flows, migration 12):
 *
 *   approved (step code_requested: code.assign queued by the execution)
 *     -> code_assigned   the answer's transaction records code, police key and information
 *     -> certified       the job: certificate for the code (CA lock); seal.file queued
 *     -> filed           the answer's transaction
 *     -> made            the job: the seal generated (maker key), rows, status event
 *
 * renew keeps its code: its execution starts at code_assigned. A refusal (4xx) of code.assign
 * or seal.file moves the step to refused with the reason; executing again queues the refused
 * request anew with a new idempotency key (tries). */

static const es_actor national_system = {"system", 0, 0, 1};

typedef struct flow_row {
    int found;
    char step[16], waits[16], code[ES_SEAL_CODE_MAX], serial[2 * ES_PKI_SERIAL_MAX + 1];
    char refusal[256];
    int tries;
    int64_t updated_at;
    es_buf cert, info, pkey, pinfo;
} flow_row;

static void flow_init(flow_row *r)
{
    memset(r, 0, sizeof *r);
    es_buf_init(&r->cert, ES_MAX_CERT_DER);
    es_buf_init(&r->info, 8192);
    es_buf_init(&r->pkey, 8192);
    es_buf_init(&r->pinfo, 16384);
}

static void flow_free(flow_row *r)
{
    es_buf_cleanup(&r->cert);
    es_buf_cleanup(&r->info);
    es_buf_cleanup_secret(&r->pkey);
    es_buf_cleanup(&r->pinfo);
}

static es_err flow_cb(void *ctx, const es_row *r)
{
    flow_row *f = ctx;
    es_err rv;
    f->found = 1;
    TXT(f->step, 0);
    TXT(f->waits, 1);
    TXT(f->code, 2);
    TXT(f->serial, 3);
    TXT(f->refusal, 4);
    f->tries = (int)es_row_int(r, 5);
    f->updated_at = es_row_int(r, 6);
    if ((rv = copy_blob(&f->cert, r, 7)) != ES_OK) return rv;
    if ((rv = copy_blob(&f->info, r, 8)) != ES_OK) return rv;
    if ((rv = copy_blob(&f->pkey, r, 9)) != ES_OK) return rv;
    return copy_blob(&f->pinfo, r, 10);
}

static es_err load_flow(es_making *m, int64_t id, flow_row *f)
{
    es_value p[1] = {es_v_int(id)};
    f->found = 0;
    return es_store_query(m->a->store,
                          "SELECT step, waits, code, cert_serial, refusal, tries, updated_at, "
                          "cert, seal_info, police_key, police_info FROM national_flows "
                          "WHERE application_id = ?",
                          p, 1, flow_cb, f);
}

/* The idempotency key of the flow's requests: the first try "application:ID", a retry after a
 * refusal "application:ID/try:N" (code.assign and seal.file are apart in the outbox by kind). */
static void flow_key(int64_t id, int tries, char *out, size_t n)
{
    if (tries <= 1)
        snprintf(out, n, "application:%lld", (long long)id);
    else
        snprintf(out, n, "application:%lld/try:%d", (long long)id, tries);
}

static es_err json_str(es_buf *b, const char *name, const char *v, int comma)
{
    es_err rv = es_buf_printf(b, "%s\"%s\":\"", comma ? "," : "", name);
    for (const char *p = v; rv == ES_OK && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            rv = es_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            rv = es_buf_printf(b, "\\u%04x", c);
        else
            rv = es_buf_append(b, p, 1);
    }
    return rv == ES_OK ? es_buf_append(b, "\"", 1) : rv;
}

/* The code.assign body: what the platform needs of the unit and the seal (no personal data of
 * the agent leaves the site). */
static es_err code_body(const full_app *f, es_buf *b)
{
    const es_application *a = &f->a;
    char n[24];
    es_err rv = es_buf_printf(b, "{\"application\":%lld", (long long)a->id);
    if (rv == ES_OK) rv = json_str(b, "kind", a->kind, 1);
    if (rv == ES_OK) rv = json_str(b, "carrier", a->carrier, 1);
    if (rv == ES_OK) rv = json_str(b, "uscc", a->uscc, 1);
    if (rv == ES_OK) rv = json_str(b, "division", a->division, 1);
    if (rv == ES_OK) rv = json_str(b, "unit_type", a->unit_type, 1);
    if (rv == ES_OK) rv = json_str(b, "unit_name", a->unit_name, 1);
    if (rv == ES_OK) rv = json_str(b, "approver_name", a->approver_name, 1);
    if (rv == ES_OK) rv = json_str(b, "approver_division", a->approver_division, 1);
    if (rv == ES_OK) rv = json_str(b, "seal_name", a->seal_name, 1);
    snprintf(n, sizeof n, "%d", a->seal_type);
    if (rv == ES_OK) rv = es_buf_printf(b, ",\"seal_type\":%s", n);
    if (rv == ES_OK && a->seal_code[0]) rv = json_str(b, "replaces", a->seal_code, 1);
    return rv == ES_OK ? es_buf_append(b, "}", 1) : rv;
}

/* The seal information filed before the seal is generated (7.5: filing, then generation):
 * what the seal will say, one field a line; the seal made after the filing carries exactly
 * these values (es_making_national_advance checks the validity against the certificate). */
static es_err seal_info(const full_app *f, const char *code, const es_pki_cert *pc,
                        const es_buf *cert, es_buf *out)
{
    uint8_t h[ES_SM3_LEN];
    char pic[65], crt[65];
    es_err rv = es_sm3(f->picture.len ? f->picture.p : (const uint8_t *)"", f->picture.len, h);
    if (rv != ES_OK) return rv;
    es_hex_encode(h, sizeof h, pic);
    if ((rv = es_sm3(cert->p, cert->len, h)) != ES_OK) return rv;
    es_hex_encode(h, sizeof h, crt);
    return es_buf_printf(out,
                         "eseal-seal-info-1\ncode=%s\nname=%s\ntype=%d\nuscc=%s\nunit_name=%s\n"
                         "valid_start=%lld\nvalid_end=%lld\npicture_type=PNG\npicture_sm3=%s\n"
                         "width_mm=%d\nheight_mm=%d\ncertificate_sm3=%s\n",
                         code, f->a.seal_name, f->a.seal_type, f->a.uscc, f->a.unit_name,
                         (long long)pc->not_before, (long long)pc->not_after, pic, f->a.width_mm,
                         f->a.height_mm, crt);
}

static es_err b64_member(es_buf *b, const char *name, const es_buf *v)
{
    es_err rv = es_buf_printf(b, ",\"%s\":\"", name);
    if (rv == ES_OK) rv = es_base64_encode(v->p, v->len, b);
    return rv == ES_OK ? es_buf_append(b, "\"", 1) : rv;
}

static es_err file_body(const char *code, const es_buf *cert, const es_buf *info, es_buf *b)
{
    es_err rv = es_buf_printf(b, "{\"code\":\"%s\"", code);
    if (rv == ES_OK) rv = b64_member(b, "certificate", cert);
    if (rv == ES_OK) rv = b64_member(b, "seal", info);
    return rv == ES_OK ? es_buf_append(b, "}", 1) : rv;
}

/* A national seal's status change is filed upstream (the 2025 measure art. 17): seal.status
 * queued in the transaction of its status event (the last one appended), keyed by its number. */
static es_err national_status_in(es_making *m, const es_seal_rec *s, const char *state,
                                 const char *reason)
{
    int64_t seq = 0;
    char key[48];
    es_buf b;
    if (strcmp(s->scope, "national") != 0) return ES_OK;
    es_err rv = es_store_query_int(m->a->store,
                                   "SELECT value FROM making_counters WHERE name = 'status_events'",
                                   NULL, 0, &seq);
    if (rv != ES_OK) return rv;
    snprintf(key, sizeof key, "event:%lld", (long long)seq);
    es_buf_init(&b, 4096);
    rv = es_buf_printf(&b, "{\"code\":\"%s\",\"state\":\"%s\"", s->code, state);
    if (rv == ES_OK) rv = json_str(&b, "reason", reason ? reason : "", 1);
    if (rv == ES_OK) rv = es_buf_printf(&b, ",\"at\":%lld}", (long long)es_time_now());
    if (rv == ES_OK)
        rv = es_upstream_enqueue_in(m->a->store, ES_UPSTREAM_SEAL_STATUS, key,
                                    es_slice_make(b.p, b.len));
    es_buf_cleanup(&b);
    return rv;
}

/* The execution of a national-scope application that makes a seal: the decision, and the
 * first request queued, in one transaction; or, after a refusal, the refused request queued
 * anew under a new key. While the flow runs a second execution answers its state (ES_OK). */
static es_err national_execute(es_making *m, const es_actor *by, full_app *f,
                               const es_decision_proof *proof, char *why, size_t whylen)
{
    flow_row fl;
    decided dec = {0};
    es_seal_rec old;
    es_buf body;
    char object[64], detail[128], key[ES_UPSTREAM_KEY_MAX + 1];
    int64_t changes = 0, did = 0;
    const int64_t id = f->a.id;
    const int renew = !strcmp(f->a.kind, "renew");
    es_err rv;
    flow_init(&fl);
    es_buf_init(&body, 1u << 20);
    CHECK(load_flow(m, id, &fl));
    if (fl.found && strcmp(fl.step, "refused") != 0) goto out; /* under way: its state */
    if (!fl.found && strcmp(f->a.state, "approved") != 0) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    if (strcmp(f->a.kind, "apply") != 0) {
        CHECK(load_seal(m, f->a.seal_code, &old));
        if (!kind_applies(f->a.kind, old.state)) {
            say(why, whylen, "the seal's state changed since the application was made");
            rv = ES_ERR_MK_SEAL_STATE;
            goto out;
        }
    }
    CHECK(decide(m, by, f, "application.execute", "", "", proof, &dec, why, whylen));
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    CHECK(es_store_begin(m->a->store));
    CHECK(es_decision_store_in(m->a->store, &dec.sig, &did));
    const char *kind = ES_UPSTREAM_CODE_ASSIGN;
    int tries = 1;
    if (fl.found) {
        /* A retry after a refusal: the refused request again, under a new key. */
        tries = fl.tries + 1;
        const int refile = !strcmp(fl.waits, ES_UPSTREAM_SEAL_FILE);
        kind = refile ? ES_UPSTREAM_SEAL_FILE : ES_UPSTREAM_CODE_ASSIGN;
        const char *step = refile ? "certified" : "code_requested";
        es_value p[] = {es_v_text(step), es_v_int(tries), es_v_int(es_time_now()), es_v_int(id),
                        es_v_int(fl.tries)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE national_flows SET step = ?, tries = ?, refusal = '', "
                            "updated_at = ? WHERE application_id = ? AND step = 'refused' AND "
                            "tries = ?",
                            p, 5, &changes));
        if (changes != 1) goto out; /* another retry came first: its state */
        if (refile)
            CHECK(file_body(fl.code, &fl.cert, &fl.info, &body));
        else
            CHECK(code_body(f, &body));
        snprintf(detail, sizeof detail, "scope=national retry=%d request=%s", tries, kind);
    } else if (renew) {
        /* 7.9: renewal keeps the code: no code.assign; the certificate comes next. */
        es_value p[] = {es_v_int(id), es_v_text(old.code), es_v_int(es_time_now())};
        rv = es_store_exec(m->a->store,
                           "INSERT INTO national_flows (application_id, step, code, updated_at) "
                           "VALUES (?, 'code_assigned', ?, ?)",
                           p, 3, NULL);
        if (rv == ES_ERR_EXISTS) {
            rv = ES_OK; /* a concurrent execution came first */
            goto out;
        }
        if (rv != ES_OK) goto out;
        kind = NULL;
        snprintf(detail, sizeof detail, "scope=national kind=renew code=%s", old.code);
    } else {
        es_value p[] = {es_v_int(id), es_v_text(ES_UPSTREAM_CODE_ASSIGN), es_v_int(es_time_now())};
        rv = es_store_exec(m->a->store,
                           "INSERT INTO national_flows (application_id, step, waits, updated_at) "
                           "VALUES (?, 'code_requested', ?, ?)",
                           p, 3, NULL);
        if (rv == ES_ERR_EXISTS) {
            rv = ES_OK; /* a concurrent execution came first */
            goto out;
        }
        if (rv != ES_OK) goto out;
        CHECK(code_body(f, &body));
        snprintf(detail, sizeof detail, "scope=national kind=%s request=code.assign", f->a.kind);
    }
    if (kind) {
        flow_key(id, tries, key, sizeof key);
        es_value pw[] = {es_v_text(kind), es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE national_flows SET waits = ? WHERE application_id = ?", pw, 2,
                            NULL));
        CHECK(es_upstream_enqueue_in(m->a->store, kind, key, es_slice_make(body.p, body.len)));
    }
    es_value pa[] = {es_v_text(renew && !fl.found ? "code_assigned" : f->a.state),
                     es_v_text(renew && !fl.found ? old.code : f->a.made_code),
                     es_v_text(by->name),
                     es_v_int(es_time_now()),
                     did ? es_v_int(did) : es_v_null(),
                     es_v_int(id),
                     es_v_text(f->a.state)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = ?, made_code = ?, executed_by = ?, "
                        "executed_at = ?, execute_decision = ?, version = version + 1 WHERE "
                        "id = ? AND state = ?",
                        pa, 7, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    CHECK(svc_audit(m->a, by, fl.found ? "application.retry" : "application.execute", object,
                    detail));
    CHECK(es_store_commit(m->a->store));
out:
    if (rv != ES_OK || (m->a->store && es_store_in_tx(m->a->store))) es_store_rollback(m->a->store);
    decided_free(&dec);
    flow_free(&fl);
    es_buf_cleanup(&body);
    return rv;
}

/* The application id of a flow key ("application:ID" or "application:ID/try:N"); 0: none. */
static int64_t flow_key_id(const char *key)
{
    const char *p = key && !strncmp(key, "application:", 12) ? key + 12 : NULL;
    char *end = NULL;
    if (!p || *p < '1' || *p > '9') return 0;
    long long v = strtoll(p, &end, 10);
    return end && (*end == 0 || *end == '/') && v > 0 ? (int64_t)v : 0;
}

static es_err seal_blob(es_making *m, const char *place, es_slice plain, es_buf *out)
{
    if (!m->protect) return es_buf_append(out, plain.p, plain.len);
    return es_protect_seal(m->protect, m->a->store, plain,
                           es_slice_make((const uint8_t *)place, strlen(place)), out);
}

es_err es_making_national_answer(es_making *m, const char *kind, const char *key, es_slice answer)
{
    flow_row fl;
    es_upstream_answer ans;
    es_buf pk, pi;
    char why[256] = "", object[64], place[96], detail[128];
    int64_t changes = 0;
    const int64_t id = flow_key_id(key);
    es_err rv = ES_OK;
    if (!id || strcmp(kind, ES_UPSTREAM_SEAL_STATUS) == 0) return ES_OK; /* not a flow's */
    flow_init(&fl);
    es_upstream_answer_init(&ans);
    es_buf_init(&pk, 8192);
    es_buf_init(&pi, 16384);
    CHECK(load_flow(m, id, &fl));
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    if (!strcmp(kind, ES_UPSTREAM_CODE_ASSIGN)) {
        if (!fl.found || strcmp(fl.step, "code_requested") != 0) goto out; /* recorded before */
        CHECK(es_upstream_answer_parse(kind, answer, &ans, why, sizeof why));
        snprintf(place, sizeof place, "national_flows/%lld/police_key", (long long)id);
        CHECK(seal_blob(m, place, es_slice_make(ans.police_key.p, ans.police_key.len), &pk));
        snprintf(place, sizeof place, "national_flows/%lld/police_info", (long long)id);
        CHECK(seal_blob(m, place, es_slice_make(ans.police_info.p, ans.police_info.len), &pi));
        es_value p[] = {es_v_text(ans.code), es_v_blob(pk.p, pk.len), es_v_blob(pi.p, pi.len),
                        es_v_int(es_time_now()), es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE national_flows SET step = 'code_assigned', waits = '', "
                            "code = ?, police_key = ?, police_info = ?, updated_at = ? WHERE "
                            "application_id = ? AND step = 'code_requested'",
                            p, 5, &changes));
        es_value pa[] = {es_v_text(ans.code), es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE applications SET state = 'code_assigned', made_code = ?, "
                            "version = version + 1 WHERE id = ? AND state = 'approved'",
                            pa, 2, &changes));
        snprintf(detail, sizeof detail, "code=%s%s", ans.code,
                 ans.simulator ? " (national platform simulator)" : "");
        CHECK(svc_audit(m->a, &national_system, "application.code_assigned", object, detail));
    } else if (!strcmp(kind, ES_UPSTREAM_SEAL_FILE)) {
        if (!fl.found || strcmp(fl.step, "certified") != 0) goto out;
        CHECK(es_upstream_answer_parse(kind, answer, &ans, why, sizeof why));
        if (strcmp(ans.code, fl.code) != 0) {
            rv = ES_ERR_UPSTREAM_ANSWER; /* retried: the parent must answer for this code */
            goto out;
        }
        es_value p[] = {es_v_int(es_time_now()), es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE national_flows SET step = 'filed', waits = '', updated_at = ? "
                            "WHERE application_id = ? AND step = 'certified'",
                            p, 2, &changes));
        es_value pa[] = {es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE applications SET state = 'filed', version = version + 1 "
                            "WHERE id = ? AND state = 'certified'",
                            pa, 1, NULL));
        snprintf(detail, sizeof detail, "code=%s filed_at=%lld", fl.code, (long long)ans.filed_at);
        CHECK(svc_audit(m->a, &national_system, "application.filed", object, detail));
    }
out:
    es_upstream_answer_cleanup(&ans);
    es_buf_cleanup(&pk);
    es_buf_cleanup(&pi);
    flow_free(&fl);
    return rv;
}

/* ---- the job's steps, each one transaction */

typedef struct flow_ids {
    int64_t id[64];
    size_t n;
} flow_ids;

static es_err flow_id_row(void *ctx, const es_row *r)
{
    flow_ids *l = ctx;
    if (l->n < 64) l->id[l->n++] = es_row_int(r, 0);
    return ES_OK;
}

static es_err flows_at(es_making *m, const char *step, flow_ids *out)
{
    es_value p[1] = {es_v_text(step)};
    out->n = 0;
    return es_store_query(m->a->store,
                          "SELECT application_id FROM national_flows WHERE step = ? ORDER BY "
                          "application_id LIMIT 64",
                          p, 1, flow_id_row, out);
}

/* A request of the flow refused by the parent: the step becomes refused with the reason. */
static es_err flow_check_refused(es_making *m, int64_t id)
{
    flow_row fl;
    es_upstream_state us;
    char key[ES_UPSTREAM_KEY_MAX + 1], object[64], detail[400];
    int64_t changes = 0;
    flow_init(&fl);
    es_err rv = load_flow(m, id, &fl);
    if (rv != ES_OK || !fl.found || !fl.waits[0]) goto done;
    flow_key(id, fl.tries, key, sizeof key);
    rv = es_upstream_state_get(m->a->store, fl.waits, key, &us);
    if (rv == ES_ERR_NOT_FOUND) rv = ES_OK;
    if (rv != ES_OK || strcmp(us.state, "failed") != 0) goto done;
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    snprintf(detail, sizeof detail, "%s refused: %s", fl.waits, us.last_error);
    if ((rv = es_store_begin(m->a->store)) != ES_OK) goto done;
    es_value p[] = {es_v_text(us.last_error), es_v_int(es_time_now()), es_v_int(id),
                    es_v_int(fl.tries), es_v_text(fl.step)};
    rv = es_store_exec(m->a->store,
                       "UPDATE national_flows SET step = 'refused', refusal = ?, updated_at = ? "
                       "WHERE application_id = ? AND tries = ? AND step = ?",
                       p, 5, &changes);
    if (rv == ES_OK && changes == 1)
        rv = svc_audit(m->a, &national_system, "application.refused", object, detail);
    if (rv == ES_OK)
        rv = es_store_commit(m->a->store);
    else
        es_store_rollback(m->a->store);
done:
    flow_free(&fl);
    return rv;
}

/* The server carrier's seal keys between certification and generation: in this process's
 * memory only (docs/delivery.md: never stored). A key lost with the process makes the job
 * certify again (a new key and certificate, the first one revoked). */
typedef struct held_key {
    int64_t id;
    char serial[2 * ES_PKI_SERIAL_MAX + 1];
    es_package_key *pk;
} held_key;
static held_key held[64];
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static void held_put(int64_t id, const char *serial, es_package_key *pk)
{
    pthread_mutex_lock(&held_mu);
    size_t i = 0;
    while (i < 64 && held[i].pk) i++;
    if (i == 64) { /* full: the oldest goes (its application is certified again) */
        i = 0;
        es_package_key_free(held[0].pk);
    }
    held[i].id = id;
    snprintf(held[i].serial, sizeof held[i].serial, "%s", serial);
    held[i].pk = pk;
    pthread_mutex_unlock(&held_mu);
}

static es_package_key *held_take(int64_t id, const char *serial)
{
    es_package_key *pk = NULL;
    pthread_mutex_lock(&held_mu);
    for (size_t i = 0; i < 64 && !pk; i++)
        if (held[i].pk && held[i].id == id && !strcmp(held[i].serial, serial)) {
            pk = held[i].pk;
            held[i].pk = NULL;
        }
    pthread_mutex_unlock(&held_mu);
    return pk;
}

static es_err lock_ca(es_making *m, int *locked)
{
    if (m->ca_lock) {
        pthread_mutex_lock(m->ca_lock);
        *locked = 1;
    }
    return ES_OK;
}

/* code_assigned -> certified: the certificate for the code (CA lock), the seal information,
 * seal.file queued. */
static es_err flow_certify(es_making *m, int64_t id)
{
    full_app f;
    flow_row fl;
    es_buf cert, info, body;
    es_pki_cert pc;
    es_package_key *pk = NULL;
    es_ca_issued ci;
    es_castore_issued ai;
    char serial[2 * ES_PKI_SERIAL_MAX + 1] = "", why[512] = "", object[64], detail[160];
    char code0[ES_SEAL_CODE_MAX] = "";
    char key[ES_UPSTREAM_KEY_MAX + 1];
    int64_t changes = 0;
    int locked = 0;
    es_err rv;
    full_init(&f);
    flow_init(&fl);
    es_buf_init(&cert, ES_MAX_CERT_DER);
    es_buf_init(&info, 8192);
    es_buf_init(&body, 1u << 20);
    es_ca_issued_init(&ci);
    memset(&ai, 0, sizeof ai);
    CHECK(load_full(m, id, &f));
    es_castore cs = {m->a->store, m->a->audit, national_system.name, NULL, NULL};
    es_ca_state st = es_castore_joined_state(&cs);
    /* Issue 10: the certificate and its ca.issue record are signed before the lock, for the
     * code read now; inside, the step and the code are read again and must not have moved
     * (else what was prepared is discarded: nothing was recorded). */
    CHECK(load_flow(m, id, &fl));
    if (!fl.found || strcmp(fl.step, "code_assigned") != 0) goto out;
    snprintf(code0, sizeof code0, "%s", fl.code);
    CHECK(prepare_cert(m, &f, code0, &ci, &pk, why, sizeof why));
    CHECK(es_castore_issue_prepare(&cs, m->ca, &ci, &ai));
    flow_free(&fl);
    flow_init(&fl);
    CHECK(lock_ca(m, &locked));
    CHECK(es_castore_begin_joined(&cs, m->ca));
    CHECK(load_flow(m, id, &fl)); /* inside: the step is read under the write lock */
    if (!fl.found || strcmp(fl.step, "code_assigned") != 0 || strcmp(fl.code, code0) != 0) goto out;
    cs.issued = &ai;
    rv = es_ca_issue_record(m->ca, &st, &ci);
    cs.issued = NULL;
    if (rv != ES_OK) goto out; /* a serial taken: the job certifies again on its next round */
    pause_hook();
    snprintf(serial, sizeof serial, "%s", ci.entry.serial);
    CHECK(es_buf_append(&cert, ci.cert.p, ci.cert.len));
    CHECK(es_pki_cert_parse(es_slice_make(cert.p, cert.len), &pc));
    CHECK(seal_info(&f, fl.code, &pc, &cert, &info));
    CHECK(file_body(fl.code, &cert, &info, &body));
    es_value p[] = {es_v_text(serial),           es_v_blob(cert.p, cert.len),
                    es_v_blob(info.p, info.len), es_v_text(ES_UPSTREAM_SEAL_FILE),
                    es_v_int(es_time_now()),     es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE national_flows SET step = 'certified', cert_serial = ?, cert = ?, "
                        "seal_info = ?, waits = ?, updated_at = ? WHERE application_id = ? AND "
                        "step = 'code_assigned'",
                        p, 6, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    es_value pa[] = {es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = 'certified', version = version + 1 "
                        "WHERE id = ? AND state = 'code_assigned'",
                        pa, 1, NULL));
    flow_key(id, fl.tries, key, sizeof key);
    CHECK(es_upstream_enqueue_in(m->a->store, ES_UPSTREAM_SEAL_FILE, key,
                                 es_slice_make(body.p, body.len)));
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    snprintf(detail, sizeof detail, "code=%s cert=%s request=seal.file", fl.code, serial);
    CHECK(svc_audit(m->a, &national_system, "application.certified", object, detail));
    CHECK(es_store_commit(m->a->store));
    if (pk) {
        held_put(id, serial, pk);
        pk = NULL;
    }
out:
    if (es_store_in_tx(m->a->store)) es_store_rollback(m->a->store);
    if (locked) pthread_mutex_unlock(m->ca_lock);
    es_package_key_free(pk);
    es_ca_issued_free(&ci);
    es_castore_issued_free(&ai);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&info);
    es_buf_cleanup(&body);
    flow_free(&fl);
    full_free(&f);
    return rv;
}

/* filed -> made: the seal generated for the filed certificate, its rows, the old seal's
 * change (change, replace, renew), the status events, in one transaction (CA lock: the old
 * certificate is revoked in it). The server carrier without its key (the process restarted
 * since certification): the certificate is revoked and the flow certifies again. */
static es_err flow_make(es_making *m, int64_t id)
{
    full_app f;
    flow_row fl;
    es_seal_rec old;
    es_buf esl, pkg, pk_sealed, pi_sealed, plain;
    es_pki_cert pc;
    es_package_key *pk = NULL;
    char object[64], detail[160], place[96];
    int64_t changes = 0;
    int locked = 0;
    es_err rv;
    full_init(&f);
    flow_init(&fl);
    es_buf_init(&esl, ES_MAX_SEAL_DER);
    es_buf_init(&pkg, ES_MAX_PACKAGE);
    es_buf_init(&pk_sealed, 8192);
    es_buf_init(&pi_sealed, 16384);
    es_buf_init(&plain, 16384);
    snprintf(object, sizeof object, "application:%lld", (long long)id);
    CHECK(load_full(m, id, &f));
    CHECK(lock_ca(m, &locked));
    es_castore cs = {m->a->store, m->a->audit, national_system.name, NULL};
    es_ca_state st = es_castore_joined_state(&cs);
    CHECK(es_castore_begin_joined(&cs, m->ca));
    CHECK(load_flow(m, id, &fl));
    if (!fl.found || strcmp(fl.step, "filed") != 0) goto out;
    CHECK(es_pki_cert_parse(es_slice_make(fl.cert.p, fl.cert.len), &pc));
    const char *k = f.a.kind;
    if (!strcmp(f.a.carrier, "server") && !(pk = held_take(id, fl.serial))) {
        CHECK(revoke_cert(m, &st, fl.code, fl.serial, ES_REASON_SUPERSEDED));
        es_value p[] = {es_v_int(fl.tries + 1), es_v_int(es_time_now()), es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE national_flows SET step = 'code_assigned', tries = ?, "
                            "cert_serial = '', cert = NULL, seal_info = NULL, updated_at = ? "
                            "WHERE application_id = ? AND step = 'filed'",
                            p, 3, NULL));
        es_value pa[] = {es_v_int(id)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE applications SET state = 'code_assigned', version = version "
                            "+ 1 WHERE id = ? AND state = 'filed'",
                            pa, 1, NULL));
        snprintf(detail, sizeof detail,
                 "the seal key of certificate %s was lost with the process (never stored): "
                 "certified again",
                 fl.serial);
        CHECK(svc_audit(m->a, &national_system, "application.recertify", object, detail));
        CHECK(es_store_commit(m->a->store));
        goto out;
    }
    if (strcmp(k, "apply") != 0) CHECK(load_seal(m, f.a.seal_code, &old));
    CHECK(make_seal(m, &f, fl.code, &fl.cert, &pc, pk, &esl, &pkg));
    es_time now = es_time_now();
    /* The police key and information move to the seal, sealed for their new place. */
    if (fl.pkey.len) {
        snprintf(place, sizeof place, "national_flows/%lld/police_key", (long long)id);
        if (m->protect)
            CHECK(es_protect_open(m->protect, m->a->store, es_slice_make(fl.pkey.p, fl.pkey.len),
                                  es_slice_make((const uint8_t *)place, strlen(place)), &plain));
        else
            CHECK(es_buf_append(&plain, fl.pkey.p, fl.pkey.len));
        snprintf(place, sizeof place, "seals/%s/police_key", fl.code);
        CHECK(seal_blob(m, place, es_slice_make(plain.p, plain.len), &pk_sealed));
        es_wipe(plain.p, plain.len);
        plain.len = 0;
        snprintf(place, sizeof place, "national_flows/%lld/police_info", (long long)id);
        if (m->protect)
            CHECK(es_protect_open(m->protect, m->a->store, es_slice_make(fl.pinfo.p, fl.pinfo.len),
                                  es_slice_make((const uint8_t *)place, strlen(place)), &plain));
        else
            CHECK(es_buf_append(&plain, fl.pinfo.p, fl.pinfo.len));
        snprintf(place, sizeof place, "seals/%s/police_info", fl.code);
        CHECK(seal_blob(m, place, es_slice_make(plain.p, plain.len), &pi_sealed));
    }
    if (!strcmp(k, "renew")) {
        CHECK(revoke_cert(m, &st, old.code, old.cert_serial, ES_REASON_SUPERSEDED));
        CHECK(record_cert(m, fl.code, fl.serial, &fl.cert, &esl, &pc, id));
        es_value p[] = {es_v_text(fl.serial), es_v_int(pc.not_before), es_v_int(pc.not_after),
                        es_v_int(id),         es_v_int(now),           es_v_text(f.a.executed_by),
                        es_v_text(fl.code)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE seals SET state = 'active', cert_serial = ?, valid_start = ?, "
                            "valid_end = ?, application_id = ?, made_at = ?, made_by = ?, "
                            "delivered_at = NULL, delivered_by = '', delivered_to = '', "
                            "deliver_decision = NULL WHERE code = ?",
                            p, sizeof p / sizeof p[0], NULL));
        CHECK(record_package(m, fl.code, &pkg));
        CHECK(status_event(m, fl.code, fl.serial, "active", "renewed", id));
    } else {
        if (strcmp(k, "apply") != 0) {
            /* change, replace: the old seal goes when the new one is made. */
            CHECK(revoke_cert(m, &st, old.code, old.cert_serial, ES_REASON_SUPERSEDED));
            es_value po[] = {es_v_text(old.code)};
            CHECK(es_store_exec(m->a->store, "UPDATE seals SET state = 'cancelled' WHERE code = ?",
                                po, 1, NULL));
            CHECK(status_event(m, old.code, old.cert_serial, "cancelled", "superseded", id));
            CHECK(national_status_in(m, &old, "cancelled", "superseded"));
        }
        es_value p[] = {es_v_text(fl.code),
                        es_v_text(fl.serial),
                        es_v_text(f.a.scope),
                        es_v_text(f.a.carrier),
                        es_v_text(f.a.uscc),
                        es_v_text(f.a.unit_name),
                        es_v_text(f.a.seal_name),
                        es_v_int(f.a.seal_type),
                        es_v_text(f.a.division),
                        es_v_int(pc.not_before),
                        es_v_int(pc.not_after),
                        es_v_int(id),
                        es_v_int(now),
                        es_v_text(f.a.executed_by)};
        CHECK(es_store_exec(m->a->store,
                            "INSERT INTO seals (code, state, cert_serial, scope, carrier, uscc, "
                            "unit_name, seal_name, seal_type, division, valid_start, valid_end, "
                            "application_id, made_at, made_by) VALUES (?, 'active', ?, ?, ?, ?, "
                            "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            p, sizeof p / sizeof p[0], NULL));
        CHECK(record_cert(m, fl.code, fl.serial, &fl.cert, &esl, &pc, id));
        CHECK(record_package(m, fl.code, &pkg));
        CHECK(status_event(m, fl.code, fl.serial, "active", "made", id));
    }
    if (pk_sealed.len) {
        es_value p[] = {es_v_blob(pk_sealed.p, pk_sealed.len),
                        es_v_blob(pi_sealed.p, pi_sealed.len), es_v_text(fl.code)};
        CHECK(es_store_exec(m->a->store,
                            "UPDATE seals SET police_key = ?, police_info = ? WHERE code = ?", p, 3,
                            NULL));
    }
    es_value pf[] = {es_v_int(now), es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE national_flows SET step = 'made', updated_at = ?, police_key = "
                        "NULL, police_info = NULL WHERE application_id = ? AND step = 'filed'",
                        pf, 2, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    es_value pa[] = {es_v_text(fl.code), es_v_int(id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = 'made', open_key = NULL, made_code = ?, "
                        "version = version + 1 WHERE id = ? AND state = 'filed'",
                        pa, 2, &changes));
    if (changes != 1) {
        rv = ES_ERR_MK_STATE;
        goto out;
    }
    snprintf(detail, sizeof detail, "code=%s cert=%s kind=%s", fl.code, fl.serial, k);
    CHECK(svc_audit(m->a, &national_system, "application.made", object, detail));
    CHECK(es_store_commit(m->a->store));
out:
    if (es_store_in_tx(m->a->store)) es_store_rollback(m->a->store);
    if (locked) pthread_mutex_unlock(m->ca_lock);
    es_package_key_free(pk);
    es_buf_cleanup(&esl);
    es_buf_cleanup(&pkg);
    es_buf_cleanup(&pk_sealed);
    es_buf_cleanup(&pi_sealed);
    es_buf_cleanup_secret(&plain);
    flow_free(&fl);
    full_free(&f);
    return rv;
}

es_err es_making_national_advance(es_making *m, size_t *moved)
{
    flow_ids l;
    es_err rv, first = ES_OK;
    if (moved) *moved = 0;
    if (!m->ca || !m->maker || !m->maker_cert.len) return ES_ERR_UNAVAILABLE;
    static const char *const waiting[] = {"code_requested", "certified"};
    for (size_t w = 0; w < 2; w++) {
        if ((rv = flows_at(m, waiting[w], &l)) != ES_OK) return rv;
        for (size_t i = 0; i < l.n; i++)
            if ((rv = flow_check_refused(m, l.id[i])) != ES_OK && first == ES_OK) first = rv;
    }
    if ((rv = flows_at(m, "code_assigned", &l)) != ES_OK) return rv;
    for (size_t i = 0; i < l.n; i++) {
        rv = flow_certify(m, l.id[i]);
        if (rv == ES_OK && moved) (*moved)++;
        if (rv != ES_OK && first == ES_OK) first = rv;
    }
    if ((rv = flows_at(m, "filed", &l)) != ES_OK) return rv;
    for (size_t i = 0; i < l.n; i++) {
        rv = flow_make(m, l.id[i]);
        if (rv == ES_OK && moved) (*moved)++;
        if (rv != ES_OK && first == ES_OK) first = rv;
    }
    return first;
}

es_err es_making_national_progress(es_making *m, const es_actor *by, int64_t id,
                                   es_national_progress *out)
{
    flow_row fl;
    memset(out, 0, sizeof *out);
    if (!may_read(by)) return deny(m, by, "application.get");
    flow_init(&fl);
    es_err rv = load_flow(m, id, &fl);
    if (rv == ES_OK && !fl.found) rv = ES_ERR_NOT_FOUND;
    if (rv == ES_OK) {
        snprintf(out->step, sizeof out->step, "%s", fl.step);
        snprintf(out->waits, sizeof out->waits, "%s", fl.waits);
        snprintf(out->code, sizeof out->code, "%s", fl.code);
        snprintf(out->refusal, sizeof out->refusal, "%s", fl.refusal);
        out->tries = fl.tries;
        out->updated_at = fl.updated_at;
        if (fl.waits[0]) {
            char key[ES_UPSTREAM_KEY_MAX + 1];
            flow_key(id, fl.tries, key, sizeof key);
            rv = es_upstream_state_get(m->a->store, fl.waits, key, &out->request);
            if (rv == ES_ERR_NOT_FOUND) rv = ES_OK;
        }
    }
    flow_free(&fl);
    return rv;
}
/* ---- for the import of other vendors' seals (src/svc/making/import.c, internal.h) */

es_err making_app_imported(es_making *m, const es_actor *by, const es_application *data,
                           es_slice picture, int64_t *id)
{
    full_app f;
    int64_t new_id = 0;
    es_err rv;
    full_init(&f);
    snprintf(f.a.kind, sizeof f.a.kind, "apply");
    snprintf(f.a.scope, sizeof f.a.scope, "%s", data->scope);
    snprintf(f.a.carrier, sizeof f.a.carrier, "%s", data->carrier);
    snprintf(f.a.uscc, sizeof f.a.uscc, "%s", data->uscc);
    snprintf(f.a.division, sizeof f.a.division, "%s", data->division);
    snprintf(f.a.unit_name, sizeof f.a.unit_name, "%s", data->unit_name);
    snprintf(f.a.seal_name, sizeof f.a.seal_name, "%s", data->seal_name);
    snprintf(f.a.reason, sizeof f.a.reason, "%s", data->reason);
    f.a.seal_type = data->seal_type;
    /* The seal's own picture (a PNG; none otherwise): lifecycle applications copy it. */
    if (picture.len) {
        CHECK(es_buf_append(&f.picture, picture.p, picture.len));
        f.a.has_picture = 1;
        f.a.width_mm = data->width_mm;
        f.a.height_mm = data->height_mm;
    }
    es_time now = es_time_now();
    es_value p[] = {es_v_text(f.a.scope), es_v_text(f.a.carrier), es_v_text(by->name),
                    es_v_int(now), es_v_int(now)};
    CHECK(es_store_query_int(m->a->store,
                             "INSERT INTO applications (kind, state, scope, carrier, created_by, "
                             "created_at, updated_at) VALUES ('apply', 'draft', ?, ?, ?, ?, ?) "
                             "RETURNING id",
                             p, sizeof p / sizeof p[0], &new_id));
    f.a.id = new_id;
    CHECK(write_data(m, &f, 1));
    es_value q[] = {es_v_text(data->made_code), es_v_text(by->name), es_v_int(now),
                    es_v_int(new_id)};
    CHECK(es_store_exec(m->a->store,
                        "UPDATE applications SET state = 'made', made_code = ?, executed_by = ?, "
                        "executed_at = ? WHERE id = ?",
                        q, sizeof q / sizeof q[0], NULL));
    *id = new_id;
out:
    full_free(&f);
    return rv;
}

es_err making_status_event(es_making *m, const char *code, const char *serial, const char *state,
                           const char *reason, int64_t app_id)
{
    return status_event(m, code, serial, state, reason, app_id);
}

/* ---- for the self-service renewal (src/svc/making/renewal.c, internal.h) */

es_err making_app_renewal(es_making *m, const char *code, es_slice csr, const char *who,
                          const char *reason, int64_t *id)
{
    full_app f;
    es_seal_rec seal;
    char key[ES_MK_NAME_MAX + 64];
    int64_t new_id = 0, changes = 0;
    es_err rv;
    full_init(&f);
    CHECK(load_seal(m, code, &seal));
    if (!kind_applies("renew", seal.state)) {
        rv = ES_ERR_MK_SEAL_STATE;
        goto out;
    }
    CHECK(load_full(m, seal.application_id, &f));
    if (strcmp(f.a.carrier, "usbkey") != 0) {
        rv = ES_ERR_UNSUPPORTED;
        goto out;
    }
    if (!f.picture.len) { /* an imported seal whose picture was not a PNG (import.c) */
        rv = ES_ERR_MK_NO_PICTURE;
        goto out;
    }
    if (!f.a.uscc[0]) { /* an imported seal whose holder certificate named no credit code */
        rv = ES_ERR_MK_NO_USCC;
        goto out;
    }
    snprintf(f.a.kind, sizeof f.a.kind, "renew");
    snprintf(f.a.seal_code, sizeof f.a.seal_code, "%s", seal.code);
    snprintf(f.a.reason, sizeof f.a.reason, "%s", reason);
    f.csr.len = 0;
    CHECK(es_buf_append(&f.csr, csr.p, csr.len));
    f.a.has_csr = 1;
    es_time now = es_time_now();
    es_value p[] = {es_v_text(f.a.scope), es_v_text(f.a.carrier), es_v_text(f.a.seal_code),
                    es_v_text(who),       es_v_int(now),          es_v_int(now)};
    CHECK(es_store_query_int(m->a->store,
                             "INSERT INTO applications (kind, state, scope, carrier, seal_code, "
                             "created_by, created_at, updated_at) VALUES ('renew', 'draft', ?, ?, "
                             "?, ?, ?, ?) RETURNING id",
                             p, sizeof p / sizeof p[0], &new_id));
    f.a.id = new_id;
    CHECK(write_data(m, &f, 1));
    open_key_of(&f.a, key, sizeof key);
    es_value q[] = {es_v_text(key), es_v_text(who), es_v_int(now), es_v_int(new_id)};
    rv = es_store_exec(m->a->store,
                       "UPDATE applications SET state = 'submitted', open_key = ?, "
                       "submitted_by = ?, submitted_at = ? WHERE id = ? AND state = 'draft'",
                       q, sizeof q / sizeof q[0], &changes);
    if (rv == ES_ERR_EXISTS) rv = ES_ERR_MK_DUPLICATE;
    if (rv == ES_OK && changes != 1) rv = ES_ERR_MK_STATE;
    if (rv == ES_OK) *id = new_id;
out:
    full_free(&f);
    return rv;
}
