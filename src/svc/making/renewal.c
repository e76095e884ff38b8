/* Online self-service renewal (include/eseal/renewal.h, docs/making.md "Self-service renewal";
 * LD/T 01.1 7.9 note; issue 10, MK48, CA12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/pki.h"
#include "eseal/renewal.h"
#include "svc/internal.h"
#include "svc/making/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

void es_renewal_req_init(es_renewal_req *r)
{
    memset(r, 0, sizeof *r);
    es_buf_init(&r->csr, ES_MK_CSR_MAX);
}

void es_renewal_req_free(es_renewal_req *r)
{
    es_buf_cleanup(&r->csr);
}

static es_err refuse(const char **field, es_reason *why, const char *f, const char *en,
                     const char *zh)
{
    if (field) *field = f;
    if (why) {
        why->en = en;
        why->zh = zh;
    }
    return ES_ERR_RENEWAL_FORMAT;
}

static const char head[] = "eseal-renewal-1\n";
static const char *const names[] = {"code", "serial", "valid_until", "contact",
                                    "time", "nonce",  "csr"};

static int is_hex_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* A time in the one form the text allows: YYYY-MM-DDTHH:MM:SSZ. */
static int time_of(const char *v, es_time *out)
{
    char back[32];
    if (strlen(v) != 20 || es_time_parse_iso(v, out) != ES_OK) return 0;
    es_time_format_iso(*out, back);
    return strcmp(back, v) == 0;
}

es_err es_renewal_parse(es_slice text, es_renewal_req *out, const char **field, es_reason *why)
{
    char v[ES_RENEWAL_MAX + 1];
    const char *p = (const char *)text.p, *end = p + text.len;
    if (field) *field = NULL;
    if (text.len > ES_RENEWAL_MAX || !es_utf8_valid(text.p, text.len) ||
        text.len < sizeof head - 1 || memcmp(p, head, sizeof head - 1) != 0)
        return refuse(field, why, "request",
                      "the request is the canonical text of docs/making.md, beginning "
                      "eseal-renewal-1, at most 32 KiB of UTF-8",
                      "续期申请应为 docs/making.md 所述规范文本，以 eseal-renewal-1 开头，"
                      "不超过 32 KiB 的 UTF-8");
    p += sizeof head - 1;
    out->csr.len = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t nl = strlen(names[k]);
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        if (!lf || (size_t)(lf - p) <= nl || memcmp(p, names[k], nl) != 0 || p[nl] != '=')
            return refuse(field, why, names[k], "a line is missing, out of order or not NAME=VALUE",
                          "缺少某行、顺序错误或不是“名称=值”形式");
        size_t vl = (size_t)(lf - p) - nl - 1;
        memcpy(v, p + nl + 1, vl);
        v[vl] = 0;
        if (memchr(v, '\r', vl) || strlen(v) != vl)
            return refuse(field, why, names[k], "a value holds a control character",
                          "字段值含有控制字符");
        p = lf + 1;
        switch (k) {
        case 0:
            if (!vl || vl >= sizeof out->code)
                return refuse(field, why, "code", "the seal code is 1 to 32 characters",
                              "印章编码应为1至32个字符");
            for (size_t i = 0; i < vl; i++) {
                char c = v[i];
                if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      c == '-' || c == '_' || c == '.'))
                    return refuse(field, why, "code",
                                  "the seal code has letters, digits, '-', '_' and '.' only",
                                  "印章编码只能含字母、数字、“-”、“_”、“.”");
            }
            memcpy(out->code, v, vl + 1);
            break;
        case 1: {
            char norm[2 * ES_PKI_SERIAL_MAX + 1];
            if (vl >= sizeof out->serial || !is_hex_lower(v, vl) || !es_ca_serial_norm(v, norm) ||
                strcmp(norm, v) != 0)
                return refuse(field, why, "serial",
                              "the certificate serial is lower-case hex without leading zeros",
                              "证书序列号应为不含前导零的小写十六进制");
            memcpy(out->serial, v, vl + 1);
            break;
        }
        case 2:
        case 4:
            if (!time_of(v, k == 2 ? &out->valid_until : &out->time))
                return refuse(field, why, names[k], "a time is YYYY-MM-DDTHH:MM:SSZ",
                              "时间格式应为 YYYY-MM-DDTHH:MM:SSZ");
            break;
        case 3:
            if (!vl || vl > ES_RENEWAL_CONTACT)
                return refuse(field, why, "contact", "contact is 1 to 200 bytes",
                              "联系方式应为1至200字节");
            for (size_t i = 0; i < vl; i++)
                if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
                    return refuse(field, why, "contact", "contact holds a control character",
                                  "联系方式含有控制字符");
            memcpy(out->contact, v, vl + 1);
            break;
        case 5:
            if (vl < 32 || vl > 64 || !is_hex_lower(v, vl))
                return refuse(field, why, "nonce", "the nonce is 32 to 64 lower-case hex digits",
                              "随机数应为32至64位小写十六进制数字");
            memcpy(out->nonce, v, vl + 1);
            break;
        case 6: {
            es_pki_csr c;
            es_buf pem;
            es_buf_init(&pem, ES_MK_CSR_MAX);
            es_err rv = es_base64_decode(v, vl, &out->csr);
            if (rv == ES_OK && out->csr.len)
                rv = es_pki_csr_parse(out->csr.p, out->csr.len, &pem, &c);
            else if (rv == ES_OK)
                rv = ES_ERR_FORMAT;
            if (rv == ES_OK) rv = es_pki_csr_verify(&c);
            es_buf_cleanup(&pem);
            if (rv != ES_OK)
                return refuse(field, why, "csr",
                              "csr is the base64 of the new key's PKCS#10 request, signed by it",
                              "csr 应为新密钥签名的 PKCS#10 证书请求的 base64");
            break;
        }
        }
    }
    if (p != end) return refuse(field, why, "request", "a line after csr", "csr 之后不应有其他行");
    return ES_OK;
}

es_err es_renewal_text(const es_renewal_req *r, es_buf *out)
{
    char until[32], at[32];
    es_buf b64;
    es_buf_init(&b64, 2 * ES_MK_CSR_MAX);
    es_time_format_iso(r->valid_until, until);
    es_time_format_iso(r->time, at);
    es_err rv = es_base64_encode(r->csr.p, r->csr.len, &b64);
    if (rv == ES_OK) rv = es_buf_nul(&b64);
    if (rv == ES_OK)
        rv = es_buf_printf(out,
                           "%scode=%s\nserial=%s\nvalid_until=%s\ncontact=%s\ntime=%s\nnonce=%s\n"
                           "csr=%s\n",
                           head, r->code, r->serial, until, r->contact, at, r->nonce,
                           (const char *)b64.p);
    es_buf_cleanup(&b64);
    return rv;
}

/* ---- the request */

typedef struct seal_row {
    int found;
    char state[16], serial[41];
    int64_t valid_end;
} seal_row;

static es_err seal_cb(void *ctx, const es_row *r)
{
    seal_row *s = ctx;
    s->found = 1;
    snprintf(s->state, sizeof s->state, "%s", es_row_text(r, 0, NULL));
    snprintf(s->serial, sizeof s->serial, "%s", es_row_text(r, 1, NULL));
    s->valid_end = es_row_int(r, 2);
    return ES_OK;
}

typedef struct cert_row {
    es_buf cert;
    int found, revoked;
} cert_row;

static es_err cert_cb(void *ctx, const es_row *r)
{
    cert_row *c = ctx;
    c->found = 1;
    c->revoked = !es_row_is_null(r, 1);
    es_slice s = es_row_blob(r, 0);
    c->cert.len = 0;
    return s.len ? es_buf_append(&c->cert, s.p, s.len) : ES_OK;
}

/* ES_OK when sig is the SM2 signature (default ID) of text by the certificate's key. */
static es_err verify_by(es_slice cert, es_slice text, es_slice sig)
{
    es_pki_cert pc;
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    if (es_pki_cert_parse(cert, &pc) != ES_OK || !pc.is_sm2) return ES_ERR_RENEWAL_SIGNATURE;
    if (es_sm2_sig_decode(sig, r, s, NULL) != ES_OK) return ES_ERR_RENEWAL_SIGNATURE;
    es_err rv =
        es_sm2_digest(pc.pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), text.p, text.len, e);
    if (rv != ES_OK) return rv;
    return es_sm2_verify_digest(pc.pub, e, r, s) == ES_OK ? ES_OK : ES_ERR_RENEWAL_SIGNATURE;
}

es_err es_making_renewal_request(es_making *m, es_slice text, es_slice signature,
                                 const es_renewal_opts *o, int64_t *id, const char **field,
                                 es_reason *why)
{
    es_renewal_req rq;
    seal_row sr;
    cert_row cr;
    char who[ES_SEAL_CODE_MAX + 16], reason[400], object[64], detail[400], until[32];
    int64_t app = 0, used = 0;
    es_err rv;
    if (field) *field = NULL;
    es_renewal_req_init(&rq);
    memset(&sr, 0, sizeof sr);
    memset(&cr, 0, sizeof cr);
    es_buf_init(&cr.cert, 64u << 10);
    CHECK(es_renewal_parse(text, &rq, field, why));
    if (!signature.len || signature.len > 160) {
        rv = refuse(field, why, "signature", "the signature is a DER SM2 signature",
                    "签名值应为 DER 编码的 SM2 签名");
        goto out;
    }
    es_time now = o && o->now != ES_TIME_NONE ? o->now : es_time_now();
    /* The seal and the certificate named: the signature is checked before anything about the
     * seal is told. */
    es_value p[1] = {es_v_text(rq.code)};
    CHECK(es_store_query(m->a->store,
                         "SELECT state, cert_serial, valid_end FROM seals WHERE code = ?", p, 1,
                         seal_cb, &sr));
    es_value q[2] = {es_v_text(rq.code), es_v_text(rq.serial)};
    CHECK(es_store_query(
        m->a->store, "SELECT cert, revoked_at FROM seal_certs WHERE code = ? AND cert_serial = ?",
        q, 2, cert_cb, &cr));
    if (!sr.found || !cr.found || !cr.cert.len) {
        rv = sr.found ? ES_ERR_RENEWAL_CERT : ES_ERR_NOT_FOUND;
        goto out;
    }
    CHECK(verify_by(es_slice_make(cr.cert.p, cr.cert.len), text, signature));
    if (strcmp(sr.state, "active") != 0) {
        rv = ES_ERR_MK_SEAL_STATE;
        goto out;
    }
    if (strcmp(sr.serial, rq.serial) != 0 || cr.revoked) {
        rv = ES_ERR_RENEWAL_CERT;
        goto out;
    }
    if (rq.time < now - ES_RENEWAL_SKEW || rq.time > now + ES_RENEWAL_SKEW) {
        rv = ES_ERR_RENEWAL_TIME;
        goto out;
    }
    unsigned days = o && o->window_days ? o->window_days : 90;
    if (now >= sr.valid_end || now < sr.valid_end - (int64_t)days * 86400) {
        rv = ES_ERR_RENEWAL_WINDOW;
        goto out;
    }
    if (rq.valid_until <= sr.valid_end) {
        rv = refuse(field, why, "valid_until", "the validity wanted ends after the current one",
                    "申请的有效期应晚于当前有效期");
        goto out;
    }
    es_value n[1] = {es_v_text(rq.nonce)};
    CHECK(es_store_query_int(m->a->store, "SELECT COUNT(*) FROM renewal_requests WHERE nonce = ?",
                             n, 1, &used));
    if (used) {
        rv = ES_ERR_RENEWAL_REPLAY;
        goto out;
    }
    snprintf(who, sizeof who, "self-service:%s", rq.code);
    es_time_format_iso(rq.valid_until, until);
    snprintf(reason, sizeof reason,
             "self-service renewal signed with the seal's key (certificate %s); validity wanted "
             "until %s; contact %.200s",
             rq.serial, until, rq.contact);
    CHECK(es_store_begin(m->a->store));
    CHECK(making_app_renewal(m, rq.code, es_slice_make(rq.csr.p, rq.csr.len), who, reason, &app));
    es_value e[] = {es_v_text(rq.nonce),
                    es_v_text(rq.code),
                    es_v_text(rq.serial),
                    es_v_blob(text.p, text.len),
                    es_v_blob(signature.p, signature.len),
                    es_v_text(o && o->address ? o->address : ""),
                    es_v_int(app),
                    es_v_int(es_time_now())};
    rv =
        es_store_exec(m->a->store,
                      "INSERT INTO renewal_requests (nonce, code, cert_serial, request, signature, "
                      "address, application_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      e, sizeof e / sizeof e[0], NULL);
    if (rv == ES_ERR_EXISTS) rv = ES_ERR_RENEWAL_REPLAY;
    CHECK(rv);
    es_actor by;
    memset(&by, 0, sizeof by);
    by.name = who;
    snprintf(object, sizeof object, "application:%lld", (long long)app);
    snprintf(detail, sizeof detail, "kind=renew seal=%s serial=%s nonce=%s address=%.60s", rq.code,
             rq.serial, rq.nonce, o && o->address ? o->address : "");
    CHECK(svc_audit(m->a, &by, "application.self_renew", object, detail));
    CHECK(es_store_commit(m->a->store));
    if (id) *id = app;
out:
    if (rv != ES_OK) es_store_rollback(m->a->store);
    es_renewal_req_free(&rq);
    es_buf_cleanup(&cr.cert);
    return rv;
}
