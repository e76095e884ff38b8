/* INTERIM: replaced by branch h10-X at merge; delete this file then. */
/* What the making core calls from the other parts of issue 10 (national, decisions, protect,
 * upstream, delivery; /work/wt/prompts/s3/interfaces.md), in the simplest honest form until
 * each provider is merged:
 *   - national (h10-national): the GB 11643 / GB 32100 / mobile checks in full; divisions
 *     known by their province only (no GB/T 2260 table yet); built-in tables; industry codes
 *     from a counter row in making_counters.
 *   - decisions (h10-decisions): NOTHING IS SIGNED. es_decision_sign only builds the bytes a
 *     person would sign and requires a PIN or signature to be given; it checks neither.
 *     es_decision_store_in stores nothing (id 0).
 *   - protect (h10-protect): NOTHING IS ENCRYPTED. es_protect_seal keeps the value in the
 *     clear, bound to its place (aad) only; the index and the integrity value are plain,
 *     unkeyed SM3.
 *   - upstream (h10-upstream): nothing is queued: national scope is refused.
 *   - delivery (h10-delivery): the server carrier is refused.
 * docs/making.md "Interim parts" says the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/crypto.h"
#include "eseal/decision.h"
#include "eseal/national.h"
#include "eseal/package.h"
#include "eseal/pki.h"
#include "eseal/protect.h"
#include "eseal/site.h"
#include "eseal/upstream.h"

/* ---- national */

static es_err refuse(es_reason *why, const char *en, const char *zh)
{
    if (why) {
        why->en = en;
        why->zh = zh;
    }
    return ES_ERR_ARG;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

es_err es_idno_check(const char *id, es_reason *why)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    if (!id || strlen(id) != 18 || !all_digits(id, 17) ||
        !((id[17] >= '0' && id[17] <= '9') || id[17] == 'X'))
        return refuse(why, "a citizen ID number is 17 digits and a check character (digit or X)",
                      "公民身份号码应为17位数字加1位校验码（数字或X）");
    char prov[7];
    snprintf(prov, sizeof prov, "%.2s0000", id);
    if (!es_division_province(prov))
        return refuse(why, "the citizen ID number names no known province",
                      "公民身份号码的地址码不是已知的省级行政区划");
    int y = (id[6] - '0') * 1000 + (id[7] - '0') * 100 + (id[8] - '0') * 10 + (id[9] - '0');
    int mo = (id[10] - '0') * 10 + (id[11] - '0'), d = (id[12] - '0') * 10 + (id[13] - '0');
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int bad = y < 1900 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
              (mo == 2 && d == 29 && !leap);
    if (!bad) {
        es_time born;
        if (es_time_from_fields(y, mo, d, 0, 0, 0, &born) != ES_OK || born > es_time_now()) bad = 1;
    }
    if (bad)
        return refuse(why,
                      "the birth date in the citizen ID number does not exist or is in the future",
                      "公民身份号码中的出生日期不存在或晚于今天");
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (id[i] - '0') * w[i];
    if (check[sum % 11] != id[17])
        return refuse(why, "the check character of the citizen ID number is wrong (GB 11643)",
                      "公民身份号码校验码错误（GB 11643）");
    return ES_OK;
}

es_err es_mobile_check(const char *m, es_reason *why)
{
    if (!m || strlen(m) != 11 || !all_digits(m, 11) || m[0] != '1' || m[1] < '3')
        return refuse(why, "a mobile number is 11 digits starting with 13 to 19",
                      "手机号码应为以13至19开头的11位数字");
    return ES_OK;
}

es_err es_uscc_check(const char *code, es_reason *why)
{
    const char *w = NULL;
    if (!code || es_pki_uscc_check(code, strlen(code), &w) != ES_OK)
        return refuse(why,
                      "not a unified social credit code: 18 characters with the GB 32100 check "
                      "character",
                      "统一社会信用代码无效：应为18位且校验码符合 GB 32100");
    return ES_OK;
}

es_err es_division_find(const char *code, es_division *out, es_reason *why)
{
    if (!code || strlen(code) != 6 || !all_digits(code, 6))
        return refuse(why, "a division code is 6 digits (GB/T 2260)",
                      "行政区划代码应为6位数字（GB/T 2260）");
    const char *prov = es_division_province(code);
    if (!prov) {
        if (why) {
            why->en = "the division code names no known province (GB/T 2260)";
            why->zh = "行政区划代码不是已知省级行政区划（GB/T 2260）";
        }
        return ES_ERR_NOT_FOUND;
    }
    if (out) {
        memset(out, 0, sizeof *out);
        memcpy(out->code, code, 6);
        snprintf(out->name, sizeof out->name, "%s", prov);
        snprintf(out->full, sizeof out->full, "%s", prov);
        out->level = strcmp(code + 2, "0000") == 0 ? 1 : strcmp(code + 4, "00") == 0 ? 2 : 3;
    }
    return ES_OK;
}

#define MB      (1024u * 1024u)
#define ANY_DOC "pdf,ofd,jpeg,png"
static const es_material_spec m_apply[] = {
    {"application_form", "电子印章申请表", "application form", 1, ANY_DOC, 10 * MB},
    {"licence", "法人登记证书或机构设立文件", "registration certificate", 1, ANY_DOC, 10 * MB},
    {"agent_id", "经办人身份证件", "agent's identity document", 1, ANY_DOC, 10 * MB},
    {"authorization", "授权委托书", "letter of authorisation", 0, ANY_DOC, 10 * MB},
};
static const es_material_spec m_change[] = {
    {"application_form", "电子印章变更申请表", "change application form", 1, ANY_DOC, 10 * MB},
    {"change_proof", "变更证明文件", "proof of the change", 1, ANY_DOC, 10 * MB},
    {"agent_id", "经办人身份证件", "agent's identity document", 1, ANY_DOC, 10 * MB},
};
static const es_material_spec m_loss[] = {
    {"application_form", "电子印章挂失申请表", "loss report form", 1, ANY_DOC, 10 * MB},
    {"agent_id", "经办人身份证件", "agent's identity document", 1, ANY_DOC, 10 * MB},
};
static const es_material_spec m_cancel[] = {
    {"application_form", "电子印章注销申请表", "cancellation form", 1, ANY_DOC, 10 * MB},
    {"cancel_proof", "注销证明文件", "proof of the reason", 0, ANY_DOC, 10 * MB},
    {"agent_id", "经办人身份证件", "agent's identity document", 1, ANY_DOC, 10 * MB},
};
static const es_material_spec m_renew[] = {
    {"application_form", "电子印章续期申请表", "renewal form", 1, ANY_DOC, 10 * MB},
    {"agent_id", "经办人身份证件", "agent's identity document", 1, ANY_DOC, 10 * MB},
};
static const es_material_spec m_replace[] = {
    {"application_form", "电子印章更换申请表", "replacement form", 1, ANY_DOC, 10 * MB},
    {"agent_id", "经办人身份证件", "agent's identity document", 1, ANY_DOC, 10 * MB},
};
static const es_material_spec m_state[] = {
    {"application_form", "电子印章状态变更申请表", "state change form", 1, ANY_DOC, 10 * MB},
};
static const es_seal_type_spec seal_types[] = {
    {1, "法定名称章", "legal-name seal"},  {2, "内设机构章", "internal body seal"},
    {3, "分支机构章", "branch seal"},      {4, "业务专用章", "business seal"},
    {5, "财务专用章", "finance seal"},     {6, "合同专用章", "contract seal"},
    {7, "个人名章", "personal name seal"},
};

struct es_tables {
    int builtin;
};

es_err es_tables_load(const char *path, es_tables **out, char *why, size_t whylen)
{
    if (path) {
        if (why && whylen) snprintf(why, whylen, "interim tables: only the built-in ones");
        return ES_ERR_UNSUPPORTED;
    }
    *out = calloc(1, sizeof **out);
    if (!*out) return ES_ERR_NOMEM;
    (*out)->builtin = 1;
    return ES_OK;
}

void es_tables_free(es_tables *t)
{
    free(t);
}

const es_material_spec *es_tables_materials(const es_tables *t, const char *kind, size_t *n)
{
    static const struct {
        const char *kind;
        const es_material_spec *m;
        size_t n;
    } k[] = {
#define K(name, arr) {name, arr, sizeof arr / sizeof arr[0]}
        K("apply", m_apply), K("change", m_change),   K("loss", m_loss),     K("cancel", m_cancel),
        K("renew", m_renew), K("replace", m_replace), K("suspend", m_state), K("restore", m_state),
#undef K
    };
    (void)t;
    *n = 0;
    for (size_t i = 0; kind && i < sizeof k / sizeof k[0]; i++)
        if (strcmp(kind, k[i].kind) == 0) {
            *n = k[i].n;
            return k[i].m;
        }
    return NULL;
}

const es_seal_type_spec *es_tables_seal_types(const es_tables *t, size_t *n)
{
    (void)t;
    *n = sizeof seal_types / sizeof seal_types[0];
    return seal_types;
}

const es_seal_type_spec *es_tables_seal_type(const es_tables *t, int code)
{
    size_t n;
    const es_seal_type_spec *s = es_tables_seal_types(t, &n);
    for (size_t i = 0; i < n; i++)
        if (s[i].code == code) return &s[i];
    return NULL;
}

int es_tables_unit_type_ok(const es_tables *t, const char *unit_type)
{
    (void)t;
    return unit_type && (strcmp(unit_type, "organ") == 0 || strcmp(unit_type, "institution") == 0);
}

/* A counter row per division in making_counters, moved on by one UPDATE: the row lock orders
 * concurrent transactions on PostgreSQL (SQLite has one writer); a rollback gives it back. */
es_err es_code_next_in(es_store *st, const char *division6, char out[ES_SEAL_CODE_MAX])
{
    char name[32];
    int64_t v = 0;
    if (!division6 || strlen(division6) != 6 || !all_digits(division6, 6)) return ES_ERR_ARG;
    snprintf(name, sizeof name, "code:%s", division6);
    es_value p[1] = {es_v_text(name)};
    es_err rv = es_store_exec(st,
                              "INSERT INTO making_counters (name, value) VALUES (?, 0) "
                              "ON CONFLICT (name) DO NOTHING",
                              p, 1, NULL);
    if (rv == ES_OK)
        rv = es_store_exec(st, "UPDATE making_counters SET value = value + 1 WHERE name = ?", p, 1,
                           NULL);
    if (rv == ES_OK)
        rv = es_store_query_int(st, "SELECT value FROM making_counters WHERE name = ?", p, 1, &v);
    if (rv != ES_OK) return rv;
    if (v > 99999999) return ES_ERR_LIMIT;
    snprintf(out, ES_SEAL_CODE_MAX, "RS%s%08lld", division6, (long long)v);
    return ES_OK;
}

/* ---- decisions: nothing is signed */

es_err es_decision_tbs(const es_decision *d, const char *actor, es_buf *der)
{
    /* Not DER: a stable text of the fields, until h10-decisions defines the real encoding. */
    char hex[65], head[512];
    es_hex_encode(d->subject_sm3, 32, hex);
    int k = snprintf(head, sizeof head, "interim-decision\n%s\n%s\n%s\n%s\n%lld\n%s\n",
                     d->action ? d->action : "", d->object ? d->object : "",
                     d->verdict ? d->verdict : "", actor ? actor : "", (long long)d->at, hex);
    if (k < 0 || (size_t)k >= sizeof head) return ES_ERR_LIMIT;
    es_err rv = es_buf_append(der, head, (size_t)k);
    if (rv == ES_OK && d->opinion) rv = es_buf_append(der, d->opinion, strlen(d->opinion));
    return rv;
}

void es_decision_sig_init(es_decision_sig *s)
{
    memset(s, 0, sizeof *s);
    es_buf_init(&s->tbs, 64u << 10);
    es_buf_init(&s->sig, 256);
}

void es_decision_sig_free(es_decision_sig *s)
{
    es_buf_cleanup(&s->tbs);
    es_buf_cleanup(&s->sig);
}

es_err es_decision_sign(es_decisions *ds, es_store *st, const es_actor *by, const es_decision *d,
                        const es_decision_proof *p, es_decision_sig *out, char *why, size_t whylen)
{
    (void)ds;
    (void)st;
    int has_pin = p && p->pin && p->pin[0], has_sig = p && p->signature.len;
    if (has_pin == has_sig) {
        if (why && whylen) snprintf(why, whylen, "give either pin or signature");
        return ES_ERR_ARG;
    }
    snprintf(out->actor, sizeof out->actor, "%s", by && by->name ? by->name : "");
    out->cert_serial[0] = 0;
    out->tbs.len = 0;
    out->sig.len = 0; /* interim: not signed */
    return es_decision_tbs(d, out->actor, &out->tbs);
}

es_err es_decision_store_in(es_store *st, const es_decision_sig *s, int64_t *id)
{
    (void)st;
    (void)s;
    *id = 0; /* interim: nothing stored */
    return ES_OK;
}

/* ---- protect: nothing is encrypted */

/* 'P' '0', the aad's length (2 octets), the aad, the value in the clear. */
es_err es_protect_seal(es_protect *p, es_store *st, es_slice plain, es_slice aad, es_buf *out)
{
    (void)p;
    (void)st;
    if (aad.len > 0xffff) return ES_ERR_LIMIT;
    uint8_t h[4] = {'P', '0', (uint8_t)(aad.len >> 8), (uint8_t)aad.len};
    es_err rv = es_buf_append(out, h, 4);
    if (rv == ES_OK && aad.len) rv = es_buf_append(out, aad.p, aad.len);
    if (rv == ES_OK && plain.len) rv = es_buf_append(out, plain.p, plain.len);
    return rv;
}

es_err es_protect_open(es_protect *p, es_store *st, es_slice sealed, es_slice aad, es_buf *plain)
{
    (void)p;
    (void)st;
    if (sealed.len < 4 || sealed.p[0] != 'P' || sealed.p[1] != '0') return ES_ERR_FORMAT;
    size_t n = ((size_t)sealed.p[2] << 8) | sealed.p[3];
    if (sealed.len < 4 + n || n != aad.len || (n && memcmp(sealed.p + 4, aad.p, n) != 0))
        return ES_ERR_VERIFY;
    return es_buf_append(plain, sealed.p + 4 + n, sealed.len - 4 - n);
}

static es_err sm3_hex(const void *a, size_t alen, const void *b, size_t blen, char out[65])
{
    es_buf t;
    uint8_t h[ES_SM3_LEN];
    es_buf_init(&t, alen + blen + 1);
    es_err rv = es_buf_append(&t, a, alen);
    if (rv == ES_OK) rv = es_buf_append(&t, "", 1);
    if (rv == ES_OK && blen) rv = es_buf_append(&t, b, blen);
    if (rv == ES_OK) rv = es_sm3(t.p, t.len, h);
    es_buf_cleanup(&t);
    if (rv == ES_OK) es_hex_encode(h, sizeof h, out);
    return rv;
}

es_err es_protect_index(es_protect *p, const char *purpose, es_slice value, char out[65])
{
    (void)p;
    return sm3_hex(purpose, strlen(purpose), value.p, value.len, out);
}

es_err es_protect_mac(es_protect *p, es_slice record, char out[65])
{
    (void)p;
    return sm3_hex("record", 6, record.p, record.len, out);
}

es_err es_protect_mac_check(es_protect *p, es_slice record, const char *mac)
{
    char m[65];
    es_err rv = es_protect_mac(p, record, m);
    if (rv != ES_OK) return rv;
    return mac && strcmp(m, mac) == 0 ? ES_OK : ES_ERR_VERIFY;
}

/* Keeps the first `head` and last `tail` characters (bytes: these values are ASCII). */
static void mask_ascii(const char *in, char *out, size_t n, size_t head, size_t tail)
{
    size_t len = strlen(in), k = 0;
    if (!n) return;
    for (size_t i = 0; i < len && k + 1 < n; i++)
        out[k++] = (len <= head + tail || i < head || i >= len - tail) ? in[i] : '*';
    out[k] = 0;
}

void es_mask_idno(const char *in, char *out, size_t n)
{
    mask_ascii(in ? in : "", out, n, 4, 4);
}

void es_mask_mobile(const char *in, char *out, size_t n)
{
    mask_ascii(in ? in : "", out, n, 3, 4);
}

/* The first six characters (UTF-8 aware), then "***". */
void es_mask_text(const char *in, char *out, size_t n)
{
    size_t k = 0, chars = 0;
    if (!n) return;
    in = in ? in : "";
    while (in[k] && chars < 6) {
        size_t c = 1;
        unsigned char b = (unsigned char)in[k];
        if (b >= 0xf0)
            c = 4;
        else if (b >= 0xe0)
            c = 3;
        else if (b >= 0xc0)
            c = 2;
        if (k + c + 4 > n) break;
        k += c;
        chars++;
    }
    snprintf(out, n, "%.*s%s", (int)k, in, in[k] ? "***" : "");
}

/* ---- upstream: nothing is queued */

es_err es_upstream_enqueue_in(es_store *st, const char *kind, const char *key, es_slice body)
{
    (void)st;
    (void)kind;
    (void)key;
    (void)body;
    return ES_ERR_UNSUPPORTED;
}

es_err es_upstream_on_done(es_upstream *u, const char *kind, es_upstream_done_fn fn, void *ctx)
{
    (void)u;
    (void)kind;
    (void)fn;
    (void)ctx;
    return ES_ERR_UNSUPPORTED;
}

es_err es_upstream_state_get(es_store *st, const char *kind, const char *key,
                             es_upstream_state *out)
{
    (void)st;
    (void)kind;
    (void)key;
    (void)out;
    return ES_ERR_NOT_FOUND;
}

/* ---- delivery: the server carrier is refused */

es_err es_package_req_parse(es_slice der, es_slice trust_pem, es_package_req **out, char *why,
                            size_t whylen)
{
    (void)der;
    (void)trust_pem;
    *out = NULL;
    if (why && whylen)
        snprintf(why, whylen, "the server carrier is not available yet (seal key delivery)");
    return ES_ERR_UNSUPPORTED;
}

void es_package_req_free(es_package_req *r)
{
    (void)r;
}

es_err es_package_key_new(const es_package_req *r, es_package_key **out,
                          uint8_t pub[ES_SM2_PUB_LEN])
{
    (void)r;
    (void)pub;
    *out = NULL;
    return ES_ERR_UNSUPPORTED;
}

es_err es_package_finish(es_package_key *k, es_slice cert_der, es_slice seal_der, es_signer *maker,
                         es_buf *pkg)
{
    (void)k;
    (void)cert_der;
    (void)seal_der;
    (void)maker;
    (void)pkg;
    return ES_ERR_UNSUPPORTED;
}

void es_package_key_free(es_package_key *k)
{
    (void)k;
}
