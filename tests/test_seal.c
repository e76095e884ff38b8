/* The seal layer through its public API: making GB/T 38540 v4 seals and SES_Signatures,
 * reading them back field by field, and a negative test for every verification path
 * (tampered data, tampered bytes inside each signed element, wrong keys, certificates the
 * seal does not list, truncation at every length, trailing bytes, validity windows,
 * parameter errors). Keys and certificates come from tests/data (made by the OpenSSL CLI). */
#include "test.h"

#include "eseal/der.h"
#include "eseal/seal.h"

#define SEAL_NAME "某某市人力资源和社会保障局"
#define ES_ID     "37030000001721"
#define PROPERTY  "/Doc_0/Signs/Sign_0/Signature.xml"
#define DAY       ((es_time)86400)

static es_buf maker_cert, signer_cert, other_cert, png;
static es_signer *maker, *signer, *other;
static es_trust *trust_root, *trust_other;
static es_time now;
static es_slice signer_only[1];

static es_slice sl(const es_buf *b)
{
    return es_slice_make(b->p, b->len);
}

static void die(const char *what)
{
    fprintf(stderr, "setup: %s\n", what);
    exit(2);
}

static es_trust *load_trust(const char *name)
{
    es_buf pem = t_read(t_path("ESEAL_TESTDATA", name));
    es_trust *t = NULL;
    int added = 0;
    if (es_trust_new(&t) != ES_OK || es_trust_add(t, pem.p, pem.len, &added) != ES_OK || added != 1)
        die(name);
    es_buf_cleanup(&pem);
    return t;
}

/* A complete, valid parameter set: every test changes only what it is about. */
static void default_params(es_seal_params *p)
{
    memset(p, 0, sizeof *p);
    p->vid = "eseal-test";
    p->es_id = ES_ID;
    p->type = 1;
    p->name = SEAL_NAME;
    signer_only[0] = sl(&signer_cert);
    p->signer_certs = signer_only;
    p->n_signer_certs = 1;
    p->create_date = now;
    p->valid_start = now - 3600;
    p->valid_end = now + 365 * DAY;
    p->picture = sl(&png);
    p->width_mm = 40;
    p->height_mm = 42;
    p->maker_cert = sl(&maker_cert);
}

/* Makes a seal or aborts: later tests need one. */
static es_buf make_seal(const es_seal_params *p)
{
    es_buf out;
    es_buf_init(&out, ES_MAX_SEAL_DER);
    es_err rv = es_seal_make(p, maker, &out);
    if (rv != ES_OK) {
        fprintf(stderr, "es_seal_make: %s\n", es_err_str(rv));
        exit(2);
    }
    return out;
}

static es_buf make_sig(es_slice seal, es_time t, const uint8_t h[ES_SM3_LEN])
{
    es_buf out;
    es_buf_init(&out, ES_MAX_SEAL_DER);
    es_sign_params sp = {.seal = seal,
                         .time = t,
                         .data_hash = h,
                         .property_info = PROPERTY,
                         .signer_cert = sl(&signer_cert)};
    es_err rv = es_signature_make(&sp, signer, &out);
    if (rv != ES_OK) {
        fprintf(stderr, "es_signature_make: %s\n", es_err_str(rv));
        exit(2);
    }
    return out;
}

/* --- reports --- */
typedef es_err (*verify_fn)(es_slice, const es_verify_opts *, es_report *);

/* Verifies in; 1 when a report with exactly one entry was made. */
static int run(verify_fn f, es_slice in, const es_trust *t, const uint8_t *sm3, es_time at,
               es_report *rep)
{
    es_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = t;
    o.data_sm3 = sm3;
    o.now = at;
    es_report_init(rep);
    es_err rv = f(in, &o, rep);
    es_report_finish(rep);
    return rv == ES_OK && rep->n_entries == 1;
}

static int res(const es_report *rep, const char *check)
{
    if (rep->n_entries != 1) return -1;
    const es_check *c = es_entry_get(&rep->entries[0], check);
    return c ? (int)c->result : -1;
}

/* One ok() per expected result; on failure the detail of the check is printed. */
static int want(const es_report *rep, const char *label, const char *check, es_result r)
{
    int got = res(rep, check);
    const es_check *c = rep->n_entries == 1 ? es_entry_get(&rep->entries[0], check) : NULL;
    ok(got == (int)r, "%s: %s is %s (%s), expected %s", label, check,
       got < 0 ? "absent" : es_result_name((es_result)got), c ? c->detail : "", es_result_name(r));
    return got == (int)r;
}

static void want_indication(const es_report *rep, const char *label, es_result r)
{
    int good = rep->n_entries == 1 && rep->entries[0].indication == r && rep->indication == r;
    ok(good, "%s: indication %s, expected %s", label,
       rep->n_entries == 1 ? es_result_name(rep->entries[0].indication) : "(no entry)",
       es_result_name(r));
    if (!good) t_dump(rep);
}

static int has_quirk(const es_report *rep, const char *name)
{
    return rep->n_entries == 1 && t_has_quirk(&rep->entries[0], name);
}

/* --- a small JSON syntax checker (RFC 8259), enough to catch broken escaping --- */
static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static const char *js_string(const char *p)
{
    if (*p++ != '"') return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!is_hex(p[i])) return NULL;
                p += 5;
                continue;
            }
            if (!*p || !strchr("\"\\/bfnrt", *p)) return NULL;
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *js_number(const char *p)
{
    const char *start;
    if (*p == '-') p++;
    start = p;
    while (*p >= '0' && *p <= '9') p++;
    if (p == start || (*start == '0' && p - start > 1)) return NULL;
    if (*p == '.') {
        start = ++p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == start) return NULL;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        start = p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == start) return NULL;
    }
    return p;
}

static const char *js_container(const char *p, int depth, char close, int object)
{
    p = js_ws(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
        if (object) {
            p = js_string(js_ws(p));
            if (!p) return NULL;
            p = js_ws(p);
            if (*p++ != ':') return NULL;
        }
        p = js_value(p, depth + 1);
        if (!p) return NULL;
        p = js_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        return *p == close ? p + 1 : NULL;
    }
}

static const char *js_value(const char *p, int depth)
{
    if (depth > 64) return NULL;
    p = js_ws(p);
    switch (*p) {
    case '{':
        return js_container(p, depth, '}', 1);
    case '[':
        return js_container(p, depth, ']', 0);
    case '"':
        return js_string(p);
    case 't':
        return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return js_number(p);
    }
}

/* 1 when b holds exactly one JSON object (and b gets a NUL after its bytes). */
static int json_object(es_buf *b)
{
    if (es_buf_nul(b) != ES_OK || b->len == 0 || strlen((char *)b->p) != b->len) return 0;
    const char *s = (const char *)b->p;
    if (*js_ws(s) != '{') return 0;
    const char *end = js_value(s, 0);
    return end && *js_ws(end) == 0;
}

static int contains(es_buf *b, const char *needle)
{
    return es_buf_nul(b) == ES_OK && b->p && strstr((char *)b->p, needle) != NULL;
}

static void test_json_checker(void)
{
    /* The checker itself must be able to fail, or the print tests prove nothing. */
    const char *good[] = {"{}", "{\"a\":[1,-2.5e3,true,null,\"x\\u00e9\\n\"]}", " {\"k\":{}} \n"};
    const char *bad[] = {"{",          "{\"a\":1,}",      "{\"a\" 1}", "{\"a\":\"\x01\"}",
                         "{\"a\":01}", "{\"a\":\"\\q\"}", "{} x",      "[1]"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        es_buf b;
        es_buf_init(&b, 1024);
        ok(es_buf_append_str(&b, good[i]) == ES_OK && json_object(&b), "json checker accepts %s",
           good[i]);
        es_buf_cleanup(&b);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        es_buf b;
        es_buf_init(&b, 1024);
        ok(es_buf_append_str(&b, bad[i]) == ES_OK && !json_object(&b), "json checker refuses %s",
           bad[i]);
        es_buf_cleanup(&b);
    }
}

/* --- hand-built structures (es_der_w_*), to test the verifier against what es_*_make
 *     would not produce --- */

/* SEQUENCE { info, OCTET STRING cert, OID alg, BIT STRING sig }: sig over info by key, as
 * DER or (raw) 64-byte r||s; with_sig 0 leaves out the signature. */
static es_buf build_seal(es_slice info, es_slice cert, const char *alg, es_signer *key, int raw,
                         int with_sig)
{
    es_buf sig, out;
    es_der_w w;
    uint8_t r[32], s[32], rs[64];
    es_buf_init(&sig, 256);
    es_buf_init(&out, ES_MAX_SEAL_DER);
    if (es_signer_sign_message(key, NULL, info.p, info.len, &sig) != ES_OK) die("sign seal");
    if (raw) {
        if (es_sm2_sig_decode(sl(&sig), r, s, NULL) != ES_OK) die("decode");
        memcpy(rs, r, 32);
        memcpy(rs + 32, s, 32);
    }
    es_der_w_init(&w, &out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, info.p, info.len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, cert.p, cert.len);
    es_der_w_oid_text(&w, alg);
    if (with_sig) {
        if (raw)
            es_der_w_bits(&w, rs, 64);
        else
            es_der_w_bits(&w, sig.p, sig.len);
    }
    es_der_w_end(&w);
    if (es_der_w_finish(&w) != ES_OK) die("build seal");
    es_buf_cleanup(&sig);
    return out;
}

/* TBS_Sign { 4, seal, time, hash, property } into tbs; the SES_Signature over it, signed by
 * key and carrying cert, into the return value. */
static es_buf build_sig(es_slice seal, es_time t, const uint8_t h[ES_SM3_LEN], es_signer *key,
                        es_slice cert, es_buf *tbs)
{
    es_buf sig, out;
    es_der_w w;
    es_buf_init(&sig, 256);
    es_buf_init(&out, ES_MAX_SEAL_DER);
    es_der_w_init(&w, tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 4);
    es_der_w_raw(&w, seal.p, seal.len);
    es_der_w_gentime(&w, t);
    es_der_w_bits(&w, h, ES_SM3_LEN);
    es_der_w_prim(&w, ES_DER_IA5_STRING, PROPERTY, strlen(PROPERTY));
    es_der_w_end(&w);
    if (es_der_w_finish(&w) != ES_OK) die("build tbs");
    if (es_signer_sign_message(key, NULL, tbs->p, tbs->len, &sig) != ES_OK) die("sign tbs");
    es_der_w_init(&w, &out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, tbs->p, tbs->len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, cert.p, cert.len);
    es_der_w_oid_text(&w, ES_OID_SM2_SM3);
    es_der_w_bits(&w, sig.p, sig.len);
    es_der_w_end(&w);
    if (es_der_w_finish(&w) != ES_OK) die("build sig");
    es_buf_cleanup(&sig);
    return out;
}

static int oid_is(es_slice oid, const char *dotted)
{
    char txt[64];
    return es_oid_to_text(oid, txt, sizeof txt) == ES_OK && strcmp(txt, dotted) == 0;
}

/* The first child of the outermost SEQUENCE, as stored. */
static es_slice first_child(es_slice in)
{
    es_der d, inner;
    es_der_tlv t;
    es_der_init(&d, in, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &inner) != ES_OK || es_der_read(&inner, &t) != ES_OK)
        return ES_SLICE_NULL;
    return t.raw;
}

static int is_canonical(es_slice in)
{
    es_buf c;
    es_buf_init(&c, ES_MAX_SEAL_DER);
    int same = es_der_canonical(in, &c) == ES_OK && es_slice_eq(sl(&c), in);
    es_buf_cleanup(&c);
    return same;
}

/* A copy of in with the byte at p (a pointer into in) XOR-ed with x. */
static es_buf flipped(es_slice in, const uint8_t *p, uint8_t x)
{
    es_buf b;
    es_buf_init(&b, ES_MAX_SEAL_DER);
    if (es_buf_append(&b, in.p, in.len) != ES_OK) die("copy");
    size_t off = (size_t)(p - in.p);
    if (off >= in.len) die("flip outside the input");
    b.p[off] ^= x;
    return b;
}

/* --- round trips --- */

static void test_seal_roundtrip(void)
{
    es_seal_params p;
    es_ext exts[2];
    es_buf oid1, oid2;
    es_buf_init(&oid1, 64);
    es_buf_init(&oid2, 64);
    if (es_oid_from_text("2.16.156.514556.401", &oid1) != ES_OK ||
        es_oid_from_text("1.2.156.112600.7.1", &oid2) != ES_OK)
        die("oid");
    exts[0] = (es_ext){sl(&oid1), 0, es_slice_make("0", 1)};
    exts[1] = (es_ext){sl(&oid2), 1, es_slice_make("\x01\x02\x03", 3)};
    default_params(&p);
    p.exts = exts;
    p.n_exts = 2;
    es_buf der = make_seal(&p);
    es_slice in = sl(&der);
    es_seal s;

    ok(is_canonical(in), "seal: output is canonical DER");
    ok(es_seal_from_der(in, 0, &s) == ES_OK, "seal: parses back");
    ok(s.layout == ES_LAYOUT_V4, "seal: layout V4 (%d)", (int)s.layout);
    ok(s.version == 4, "seal: version 4 (%ld)", s.version);
    ok(es_slice_eq(s.raw, in), "seal: raw is the whole input");
    ok(es_slice_eq(s.seal_info, first_child(in)), "seal: seal_info is the first child");
    ok(es_slice_eq_str(s.header_id, "ES"), "seal: header ID ES");
    ok(es_slice_eq_str(s.vid, "eseal-test"), "seal: vid");
    ok(es_slice_eq_str(s.es_id, ES_ID), "seal: esID");
    ok(s.type == 1, "seal: type %ld", s.type);
    ok(es_slice_eq_str(s.name, SEAL_NAME), "seal: name (UTF-8)");
    ok(s.cert_list_type == 1, "seal: certListType %ld", s.cert_list_type);
    ok(s.n_certs == 1 && es_slice_eq(s.certs[0], sl(&signer_cert)),
       "seal: certList holds the signer certificate (%zu entries)", s.n_certs);
    ok(s.create_date == now, "seal: createDate");
    ok(s.valid_start == now - 3600, "seal: validStart");
    ok(s.valid_end == now + 365 * DAY, "seal: validEnd");
    ok(es_slice_eq_str(s.picture_type, "PNG"), "seal: picture type sniffed as PNG");
    ok(es_slice_eq(s.picture, sl(&png)), "seal: picture bytes");
    ok(s.picture_width == 40 && s.picture_height == 42, "seal: picture size %ldx%ld",
       s.picture_width, s.picture_height);
    ok(s.n_exts == 2, "seal: 2 extensions (%zu)", s.n_exts);
    if (s.n_exts == 2) {
        ok(es_slice_eq(s.exts[0].oid, sl(&oid1)) && !s.exts[0].critical &&
               es_slice_eq_str(s.exts[0].value, "0"),
           "seal: extension 1 (non-critical)");
        ok(es_slice_eq(s.exts[1].oid, sl(&oid2)) && s.exts[1].critical &&
               es_slice_eq(s.exts[1].value, es_slice_make("\x01\x02\x03", 3)),
           "seal: extension 2 (critical)");
    }
    ok(s.ext_tagged == 0, "seal: extDatas untagged in v4 (%d)", s.ext_tagged);
    ok(s.property_v4 == 1, "seal: property info has certListType");
    ok(s.has_signature, "seal: has the maker signature");
    ok(es_slice_eq(s.maker_cert, sl(&maker_cert)), "seal: maker certificate");
    ok(oid_is(s.sign_alg, ES_OID_SM2_SM3), "seal: signAlgID SM2-with-SM3");
    ok(s.signed_value.len >= 70 && s.signed_value.len <= 72 && s.signed_value.p[0] == 0x30,
       "seal: signedValue is DER SEQUENCE{r,s} (%zu bytes)", s.signed_value.len);
    ok(s.timestamp.len == 0, "seal: no timestamp");
    ok(s.quirks == 0, "seal: no quirks (%llx)", (unsigned long long)s.quirks);

    /* GB/T 38540: the maker signs exactly the SES_SealInfo element (Z with the default ID). */
    uint8_t e[ES_SM3_LEN], r[32], sv[32];
    ok(es_sm2_digest(maker->pub, ES_SM2_DEFAULT_ID, 16, s.seal_info.p, s.seal_info.len, e) ==
               ES_OK &&
           es_sm2_sig_decode(s.signed_value, r, sv, NULL) == ES_OK &&
           es_sm2_verify_digest(maker->pub, e, r, sv) == ES_OK,
       "seal: signedValue verifies over SES_SealInfo with the maker key");

    /* Without extensions, extDatas is left out. */
    default_params(&p);
    es_buf plain = make_seal(&p);
    ok(es_seal_from_der(sl(&plain), 0, &s) == ES_OK && s.n_exts == 0 && s.ext_tagged == -1,
       "seal without extensions: no extDatas");
    ok(is_canonical(sl(&plain)), "seal without extensions: canonical DER");

    /* es_seal_make appends to what the buffer holds. */
    es_buf app;
    es_buf_init(&app, ES_MAX_SEAL_DER);
    ok(es_buf_append_str(&app, "XYZ") == ES_OK && es_seal_make(&p, maker, &app) == ES_OK &&
           memcmp(app.p, "XYZ", 3) == 0 &&
           es_seal_from_der(es_slice_make(app.p + 3, app.len - 3), 0, &s) == ES_OK,
       "seal: es_seal_make appends after existing bytes");
    es_buf_cleanup(&app);

    /* An explicit picture type and the default vendor id. */
    default_params(&p);
    p.vid = NULL;
    p.picture_type = "GIF";
    es_buf gif = make_seal(&p);
    ok(es_seal_from_der(sl(&gif), 0, &s) == ES_OK && es_slice_eq_str(s.vid, "eseal") &&
           es_slice_eq_str(s.picture_type, "GIF") && (s.quirks & ES_QUIRK(ES_QUIRK_PICTURE_TYPE)),
       "seal: explicit picture type kept, mismatch with the bytes noted, default vid eseal");
    es_buf_cleanup(&gif);

    /* Several signer certificates. */
    es_slice two[2] = {sl(&signer_cert), sl(&other_cert)};
    default_params(&p);
    p.signer_certs = two;
    p.n_signer_certs = 2;
    es_buf both = make_seal(&p);
    ok(es_seal_from_der(sl(&both), 0, &s) == ES_OK && s.n_certs == 2 &&
           es_slice_eq(s.certs[0], two[0]) && es_slice_eq(s.certs[1], two[1]),
       "seal: two signer certificates in order");
    {
        uint8_t h[ES_SM3_LEN];
        es_buf sig;
        es_buf_init(&sig, ES_MAX_SEAL_DER);
        es_sign_params sp = {.seal = sl(&both),
                             .time = now,
                             .data_hash = h,
                             .property_info = PROPERTY,
                             .signer_cert = sl(&other_cert)};
        es_report rep;
        memset(h, 0x5a, sizeof h);
        ok(es_signature_make(&sp, other, &sig) == ES_OK, "sign with the second listed cert");
        ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep),
           "second listed cert: report");
        want(&rep, "second listed cert", ES_CHECK_SIGNER_CERT_MATCH, ES_PASSED);
        want_indication(&rep, "second listed cert", ES_PASSED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&sig);
    }
    es_buf_cleanup(&both);

    es_buf_cleanup(&plain);
    es_buf_cleanup(&der);
    es_buf_cleanup(&oid1);
    es_buf_cleanup(&oid2);
}

static void test_seal_verify(void)
{
    es_seal_params p;
    es_report rep;
    default_params(&p);
    es_buf der = make_seal(&p);
    es_slice in = sl(&der);

    ok(run(es_seal_verify, in, NULL, NULL, ES_TIME_NONE, &rep), "seal verify: a report");
    want(&rep, "seal, no trust", ES_CHECK_FORMAT, ES_PASSED);
    want(&rep, "seal, no trust", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    want(&rep, "seal, no trust", ES_CHECK_SEAL_VALIDITY, ES_PASSED);
    want(&rep, "seal, no trust", ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE);
    want(&rep, "seal, no trust", ES_CHECK_STATUS, ES_SKIPPED);
    want_indication(&rep, "seal, no trust", ES_INDETERMINATE);
    ok(rep.n_entries == 1 && strcmp(rep.entries[0].kind, "seal") == 0 &&
           strcmp(es_kv_get(&rep.entries[0].seal, "name"), SEAL_NAME) == 0 &&
           strcmp(es_kv_get(&rep.entries[0].seal, "es_id"), ES_ID) == 0,
       "seal verify: entry kind seal, describes name and esID");
    es_report_cleanup(&rep);

    ok(run(es_seal_verify, in, trust_root, NULL, ES_TIME_NONE, &rep), "seal verify: a report");
    want(&rep, "seal, root trusted", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    want(&rep, "seal, root trusted", ES_CHECK_CHAIN_TRUST, ES_PASSED);
    want_indication(&rep, "seal, root trusted", ES_PASSED);
    es_report_cleanup(&rep);

    ok(run(es_seal_verify, in, trust_other, NULL, ES_TIME_NONE, &rep), "seal verify: a report");
    int r = res(&rep, ES_CHECK_CHAIN_TRUST);
    ok(r == ES_FAILED || r == ES_INDETERMINATE, "seal, unrelated root: chain_trust %s",
       r < 0 ? "absent" : es_result_name((es_result)r));
    want(&rep, "seal, unrelated root", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    ok(rep.indication != ES_PASSED, "seal, unrelated root: not PASSED");
    es_report_cleanup(&rep);

    ok(run(es_verify_any, in, trust_root, NULL, ES_TIME_NONE, &rep), "verify_any seal: report");
    want(&rep, "verify_any seal", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    want_indication(&rep, "verify_any seal", ES_PASSED);
    ok(rep.n_entries == 1 && strcmp(rep.entries[0].kind, "seal") == 0, "verify_any: kind seal");
    es_report_cleanup(&rep);

    /* Tampering inside SES_SealInfo: the name, the picture, the validity end. */
    es_seal s;
    if (es_seal_from_der(in, 0, &s) != ES_OK) die("parse seal");
    const uint8_t *spots[3] = {s.name.p + s.name.len - 1, s.picture.p + s.picture.len / 2,
                               s.seal_info.p + s.seal_info.len - 1};
    const char *what[3] = {"name", "picture", "last byte of SealInfo"};
    for (int i = 0; i < 3; i++) {
        /* 0x01 keeps a UTF-8 continuation byte a continuation byte */
        es_buf t = flipped(in, spots[i], 0x01);
        char label[64];
        snprintf(label, sizeof label, "seal, flipped %s", what[i]);
        ok(run(es_seal_verify, sl(&t), trust_root, NULL, ES_TIME_NONE, &rep), "%s: report", label);
        want(&rep, label, ES_CHECK_FORMAT, ES_PASSED);
        want(&rep, label, ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
        want_indication(&rep, label, ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
    }
    /* Tampered signature value (last byte of s). */
    {
        es_buf t = flipped(in, s.signed_value.p + s.signed_value.len - 1, 0x01);
        ok(run(es_seal_verify, sl(&t), trust_root, NULL, ES_TIME_NONE, &rep), "report");
        want(&rep, "seal, flipped signedValue", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
        want_indication(&rep, "seal, flipped signedValue", ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
    }

    /* Wrong key: SealInfo signed by another key, maker certificate unchanged. */
    es_buf wrong = build_seal(s.seal_info, sl(&maker_cert), ES_OID_SM2_SM3, other, 0, 1);
    ok(run(es_seal_verify, sl(&wrong), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "seal signed by another key", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
    want_indication(&rep, "seal signed by another key", ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&wrong);

    /* The hand-built equivalent verifies (so the failure above is the key's doing). */
    es_buf same = build_seal(s.seal_info, sl(&maker_cert), ES_OID_SM2_SM3, maker, 0, 1);
    ok(run(es_seal_verify, sl(&same), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "hand-built seal", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    want_indication(&rep, "hand-built seal", ES_PASSED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&same);

    /* Raw 64-byte r||s (as Koal writes it) verifies and is named. */
    es_buf raw = build_seal(s.seal_info, sl(&maker_cert), ES_OID_SM2_SM3, maker, 1, 1);
    ok(run(es_seal_verify, sl(&raw), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "raw r||s seal", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    ok(has_quirk(&rep, "raw_signature"), "raw r||s seal: quirk raw_signature");
    es_report_cleanup(&rep);
    es_buf_cleanup(&raw);

    /* Another signature algorithm is refused. */
    es_buf rsa = build_seal(s.seal_info, sl(&maker_cert), "1.2.840.113549.1.1.11", maker, 0, 1);
    ok(run(es_seal_verify, sl(&rsa), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "seal with sha256WithRSA OID", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&rsa);

    /* The maker certificate replaced by another one. */
    es_buf swapped = build_seal(s.seal_info, sl(&other_cert), ES_OID_SM2_SM3, maker, 0, 1);
    ok(run(es_seal_verify, sl(&swapped), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "seal with another maker cert", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&swapped);

    /* No signature at all. */
    es_buf nosig = build_seal(s.seal_info, sl(&maker_cert), ES_OID_SM2_SM3, maker, 0, 0);
    ok(run(es_seal_verify, sl(&nosig), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "seal without signedValue", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
    ok(has_quirk(&rep, "no_signature"), "seal without signedValue: quirk no_signature");
    es_report_cleanup(&rep);
    {
        uint8_t h[ES_SM3_LEN] = {0};
        es_buf out;
        es_buf_init(&out, ES_MAX_SEAL_DER);
        es_sign_params sp = {
            .seal = sl(&nosig), .time = now, .data_hash = h, .signer_cert = sl(&signer_cert)};
        ok(es_signature_make(&sp, signer, &out) == ES_ERR_UNSUPPORTED && out.len == 0,
           "no signing with a seal that has no maker signature");
        es_buf_cleanup(&out);
    }
    es_buf_cleanup(&nosig);

    /* A non-default SM2 ID must be given to the verifier too. */
    default_params(&p);
    p.sm2_id = "ALICE123@YAHOO.COM";
    es_buf alice = make_seal(&p);
    ok(run(es_seal_verify, sl(&alice), NULL, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "seal with another SM2 ID, default verifier", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
    es_report_cleanup(&rep);
    {
        es_verify_opts o;
        memset(&o, 0, sizeof o);
        o.now = ES_TIME_NONE;
        o.sm2_id = "ALICE123@YAHOO.COM";
        es_report_init(&rep);
        ok(es_seal_verify(sl(&alice), &o, &rep) == ES_OK, "report");
        es_report_finish(&rep);
        want(&rep, "seal with another SM2 ID, same ID given", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
        es_report_cleanup(&rep);
    }
    es_buf_cleanup(&alice);
    es_buf_cleanup(&der);
}

static void test_signature(void)
{
    es_seal_params p;
    es_report rep;
    es_signature s;
    const char data[] = "contract text, version 1";
    uint8_t h[ES_SM3_LEN], h2[ES_SM3_LEN];
    const char data2[] = "contract text, version 2";
    if (es_sm3(data, strlen(data), h) != ES_OK || es_sm3(data2, strlen(data2), h2) != ES_OK)
        die("sm3");
    default_params(&p);
    es_buf seal = make_seal(&p);
    es_buf der = make_sig(sl(&seal), now, h);
    es_slice in = sl(&der);

    ok(is_canonical(in), "signature: output is canonical DER");
    ok(es_signature_from_der(in, 0, &s) == ES_OK, "signature: parses back");
    ok(s.layout == ES_LAYOUT_V4 && s.version == 4, "signature: layout V4, version %ld", s.version);
    ok(es_slice_eq(s.raw, in), "signature: raw is the whole input");
    ok(es_slice_eq(s.tbs, first_child(in)), "signature: tbs is the first child");
    ok(es_slice_eq(s.seal.raw, sl(&seal)), "signature: the seal is embedded byte for byte");
    ok(s.seal.layout == ES_LAYOUT_V4 && s.seal.version == 4 &&
           es_slice_eq_str(s.seal.name, SEAL_NAME),
       "signature: embedded seal parsed");
    ok(s.time_info == now, "signature: timeInfo");
    ok(s.time_info_raw.len == 15 && s.time_info_raw.p[14] == 'Z',
       "signature: timeInfo is GeneralizedTime YYYYMMDDHHMMSSZ");
    ok(s.data_hash.len == ES_SM3_LEN && memcmp(s.data_hash.p, h, ES_SM3_LEN) == 0,
       "signature: dataHash");
    ok(es_slice_eq_str(s.property_info, PROPERTY), "signature: propertyInfo");
    ok(es_slice_eq(s.cert, sl(&signer_cert)), "signature: signer certificate");
    ok(oid_is(s.sign_alg, ES_OID_SM2_SM3), "signature: signatureAlgID SM2-with-SM3");
    ok(s.signature.len >= 70 && s.signature.len <= 72 && s.signature.p[0] == 0x30,
       "signature: value is DER SEQUENCE{r,s}");
    ok(s.timestamp.len == 0 && s.n_exts == 0, "signature: no timestamp, no extDatas");
    ok(s.quirks == 0 && s.seal.quirks == 0, "signature: no quirks");

    /* The same TBS_Sign built by hand is byte-identical (the encoding is what we think). */
    es_buf tbs;
    es_buf_init(&tbs, ES_MAX_SEAL_DER);
    es_buf hand = build_sig(sl(&seal), now, h, signer, sl(&signer_cert), &tbs);
    ok(es_slice_eq(sl(&tbs), s.tbs), "signature: TBS_Sign equals a hand-built one");
    /* Only the signature value may differ (70 to 72 bytes). */
    ok(labs((long)hand.len - (long)der.len) <= 2 && es_slice_eq(first_child(sl(&hand)), s.tbs),
       "signature: hand-built SES_Signature of the same shape");
    ok(run(es_signature_verify, sl(&hand), trust_root, h, ES_TIME_NONE, &rep), "report");
    want_indication(&rep, "hand-built signature", ES_PASSED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&hand);
    es_buf_cleanup(&tbs);

    /* Everything passes with trust and the right data. */
    ok(run(es_signature_verify, in, trust_root, h, ES_TIME_NONE, &rep), "signature: report");
    const char *all[] = {ES_CHECK_FORMAT,
                         ES_CHECK_DATA_HASH,
                         ES_CHECK_SIGNATURE,
                         ES_CHECK_SEAL_SIGNATURE,
                         ES_CHECK_SEAL_VALIDITY,
                         ES_CHECK_SIGNER_CERT_MATCH,
                         ES_CHECK_SIGNER_CERT_VALIDITY,
                         ES_CHECK_CHAIN_TRUST};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        want(&rep, "signature, trusted, right data", all[i], ES_PASSED);
    want(&rep, "signature, trusted, right data", ES_CHECK_STATUS, ES_SKIPPED);
    want_indication(&rep, "signature, trusted, right data", ES_PASSED);
    ok(rep.n_entries == 1 && strcmp(rep.entries[0].kind, "ses_signature") == 0 &&
           strcmp(es_kv_get(&rep.entries[0].signer, "property_info"), PROPERTY) == 0 &&
           strstr(es_kv_get(&rep.entries[0].signer, "subject"), "37030000009999") != NULL,
       "signature: entry kind ses_signature, describes signer and propertyInfo");
    {
        const char *src =
            rep.n_entries == 1 ? es_kv_get(&rep.entries[0].signer, "signing_time_source") : NULL;
        ok(src && strstr(src, "claimed by the signer (timeInfo), not proven"),
           "signature: the signing time is said to be claimed, not proven (%s)", src ? src : "");
    }
    ok(rep.n_entries == 1 && rep.entries[0].quirks == 0, "signature: no quirks in the report");
    es_report_cleanup(&rep);

    ok(run(es_verify_any, in, trust_root, h, ES_TIME_NONE, &rep), "verify_any: report");
    want_indication(&rep, "verify_any signature", ES_PASSED);
    es_report_cleanup(&rep);

    ok(run(es_signature_verify, in, NULL, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "signature, no trust", ES_CHECK_SIGNATURE, ES_PASSED);
    want(&rep, "signature, no trust", ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE);
    want_indication(&rep, "signature, no trust", ES_INDETERMINATE);
    es_report_cleanup(&rep);

    ok(run(es_signature_verify, in, trust_other, h, ES_TIME_NONE, &rep), "report");
    int r = res(&rep, ES_CHECK_CHAIN_TRUST);
    ok(r == ES_FAILED || r == ES_INDETERMINATE, "signature, unrelated root: chain_trust %s",
       r < 0 ? "absent" : es_result_name((es_result)r));
    ok(rep.indication != ES_PASSED, "signature, unrelated root: not PASSED");
    es_report_cleanup(&rep);

    ok(run(es_signature_verify, in, trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "signature, no data", ES_CHECK_DATA_HASH, ES_SKIPPED);
    want_indication(&rep, "signature, no data", ES_PASSED);
    es_report_cleanup(&rep);

    /* Tampered data. */
    ok(run(es_signature_verify, in, trust_root, h2, ES_TIME_NONE, &rep), "report");
    want(&rep, "signature, other data", ES_CHECK_DATA_HASH, ES_FAILED);
    want(&rep, "signature, other data", ES_CHECK_SIGNATURE, ES_PASSED);
    want_indication(&rep, "signature, other data", ES_FAILED);
    es_report_cleanup(&rep);

    /* A byte flipped inside TBS_Sign, outside the seal. */
    {
        struct {
            const char *what;
            const uint8_t *p;
            uint8_t x;
            int data_fails;
        } spots[] = {
            {"timeInfo (seconds digit)", s.time_info_raw.p + 13, 0x01, 0},
            {"propertyInfo", s.property_info.p + 1, 0x01, 0},
            {"dataHash", s.data_hash.p + 7, 0x80, 1},
            {"version (4 to 5)", s.tbs.p + 6, 0x01, 0}, /* 30 82 LL LL 02 01 04 */
        };
        ok(s.tbs.p[2] == ((s.tbs.len - 4) >> 8) && s.tbs.p[4] == 0x02 && s.tbs.p[6] == 4,
           "signature: TBS_Sign starts 30 82 LL LL 02 01 04");
        for (size_t i = 0; i < sizeof spots / sizeof *spots; i++) {
            char label[96];
            snprintf(label, sizeof label, "signature, flipped %s", spots[i].what);
            es_buf t = flipped(in, spots[i].p, spots[i].x);
            ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "%s: report",
               label);
            want(&rep, label, ES_CHECK_FORMAT, ES_PASSED);
            want(&rep, label, ES_CHECK_SIGNATURE, ES_FAILED);
            want(&rep, label, ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
            want(&rep, label, ES_CHECK_DATA_HASH, spots[i].data_fails ? ES_FAILED : ES_PASSED);
            want_indication(&rep, label, ES_FAILED);
            es_report_cleanup(&rep);
            es_buf_cleanup(&t);
        }
    }

    /* A byte flipped inside SES_SealInfo (inside TBS_Sign): both signatures break. */
    {
        es_buf t = flipped(in, s.seal.name.p + s.seal.name.len - 1, 0x01);
        ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "report");
        want(&rep, "signature, flipped seal name", ES_CHECK_FORMAT, ES_PASSED);
        want(&rep, "signature, flipped seal name", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
        want(&rep, "signature, flipped seal name", ES_CHECK_SIGNATURE, ES_FAILED);
        want_indication(&rep, "signature, flipped seal name", ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
    }
    /* The seal's signature value (inside TBS_Sign too). */
    {
        es_buf t = flipped(in, s.seal.signed_value.p + s.seal.signed_value.len - 1, 0x01);
        ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "report");
        want(&rep, "signature, flipped seal signedValue", ES_CHECK_SEAL_SIGNATURE, ES_FAILED);
        want(&rep, "signature, flipped seal signedValue", ES_CHECK_SIGNATURE, ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
    }
    /* The signature value (outside TBS_Sign). */
    {
        es_buf t = flipped(in, s.signature.p + s.signature.len - 1, 0x01);
        ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "report");
        want(&rep, "signature, flipped signature value", ES_CHECK_SIGNATURE, ES_FAILED);
        want(&rep, "signature, flipped signature value", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
        want(&rep, "signature, flipped signature value", ES_CHECK_SIGNER_CERT_MATCH, ES_PASSED);
        want_indication(&rep, "signature, flipped signature value", ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
    }

    /* Signed by the listed signer but carrying another certificate. */
    {
        es_buf tb;
        es_buf_init(&tb, ES_MAX_SEAL_DER);
        es_buf t = build_sig(sl(&seal), now, h, signer, sl(&other_cert), &tb);
        ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "report");
        want(&rep, "signature carrying another cert", ES_CHECK_SIGNATURE, ES_FAILED);
        want(&rep, "signature carrying another cert", ES_CHECK_SIGNER_CERT_MATCH, ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
        es_buf_cleanup(&tb);
    }
    /* Signed by someone the seal does not list, with that someone's certificate. */
    {
        es_buf tb;
        es_buf_init(&tb, ES_MAX_SEAL_DER);
        es_buf t = build_sig(sl(&seal), now, h, other, sl(&other_cert), &tb);
        ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "report");
        want(&rep, "signature by an unlisted signer", ES_CHECK_SIGNATURE, ES_PASSED);
        want(&rep, "signature by an unlisted signer", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
        want(&rep, "signature by an unlisted signer", ES_CHECK_SIGNER_CERT_MATCH, ES_FAILED);
        want(&rep, "signature by an unlisted signer", ES_CHECK_CHAIN_TRUST, ES_PASSED);
        want_indication(&rep, "signature by an unlisted signer", ES_FAILED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
        es_buf_cleanup(&tb);
    }

    /* Trailing bytes: tolerated, named, and the cryptography still holds. */
    {
        es_buf t;
        es_buf_init(&t, ES_MAX_SEAL_DER);
        if (es_buf_append(&t, der.p, der.len) != ES_OK ||
            es_buf_append(&t, "\x00\x00GARBAGE\n", 10) != ES_OK)
            die("append");
        ok(es_signature_from_der(sl(&t), 0, &s) == ES_ERR_DER_TRAILING,
           "signature + trailing bytes: refused when not allowed");
        ok(es_signature_from_der(sl(&t), 1, &s) == ES_OK &&
               (s.quirks & ES_QUIRK(ES_QUIRK_TRAILING_BYTES)),
           "signature + trailing bytes: allowed, quirk set");
        ok(run(es_signature_verify, sl(&t), trust_root, h, ES_TIME_NONE, &rep), "report");
        want(&rep, "signature + trailing bytes", ES_CHECK_FORMAT, ES_WARNING);
        ok(has_quirk(&rep, "trailing_bytes"), "signature + trailing bytes: quirk trailing_bytes");
        want(&rep, "signature + trailing bytes", ES_CHECK_SIGNATURE, ES_PASSED);
        want(&rep, "signature + trailing bytes", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
        want(&rep, "signature + trailing bytes", ES_CHECK_DATA_HASH, ES_PASSED);
        want_indication(&rep, "signature + trailing bytes", ES_PASSED);
        es_report_cleanup(&rep);
        ok(es_detect(sl(&t)) == ES_KIND_SIGNATURE, "signature + trailing bytes: detected");
        es_buf_cleanup(&t);

        es_buf_init(&t, ES_MAX_SEAL_DER);
        if (es_buf_append(&t, seal.p, seal.len) != ES_OK || es_buf_append(&t, "junk", 4) != ES_OK)
            die("append");
        es_seal ss;
        ok(es_seal_from_der(sl(&t), 0, &ss) == ES_ERR_DER_TRAILING,
           "seal + trailing bytes: refused when not allowed");
        ok(run(es_seal_verify, sl(&t), trust_root, NULL, ES_TIME_NONE, &rep), "report");
        want(&rep, "seal + trailing bytes", ES_CHECK_FORMAT, ES_WARNING);
        ok(has_quirk(&rep, "trailing_bytes"), "seal + trailing bytes: quirk trailing_bytes");
        want(&rep, "seal + trailing bytes", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
        want(&rep, "seal + trailing bytes", ES_CHECK_CHAIN_TRUST, ES_PASSED);
        want_indication(&rep, "seal + trailing bytes", ES_PASSED);
        es_report_cleanup(&rep);
        es_buf_cleanup(&t);
    }

    es_buf_cleanup(&der);
    es_buf_cleanup(&seal);
}

/* Every proper prefix: no crash (ASan watches the exact-size copy), never PASSED. */
static void test_truncation(void)
{
    es_seal_params p;
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x11, sizeof h);
    default_params(&p);
    es_buf seal = make_seal(&p);
    es_buf sig = make_sig(sl(&seal), now, h);
    struct {
        const char *what;
        es_buf *b;
        verify_fn f;
    } cases[] = {{"seal", &seal, es_seal_verify},
                 {"signature", &sig, es_signature_verify},
                 {"seal (verify_any)", &seal, es_verify_any},
                 {"signature (verify_any)", &sig, es_verify_any}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t bad = 0, first = (size_t)-1, parsed = 0;
        for (size_t len = 0; len < cases[c].b->len; len++) {
            uint8_t *cp = malloc(len ? len : 1);
            if (!cp) die("malloc");
            memcpy(cp, cases[c].b->p, len);
            es_slice in = es_slice_make(len ? cp : NULL, len);
            es_report rep;
            int good = run(cases[c].f, in, trust_root, h, ES_TIME_NONE, &rep) &&
                       res(&rep, ES_CHECK_FORMAT) == ES_FAILED && rep.indication == ES_FAILED &&
                       rep.entries[0].indication == ES_FAILED;
            es_report_cleanup(&rep);
            es_seal s;
            es_signature g;
            if (es_seal_from_der(in, 1, &s) == ES_OK || es_signature_from_der(in, 1, &g) == ES_OK)
                parsed++;
            es_kind k = es_detect(in);
            if (k == ES_KIND_SEAL || k == ES_KIND_SIGNATURE) good = 0;
            if (!good && bad++ == 0) first = len;
            free(cp);
        }
        ok(bad == 0, "truncated %s: %zu of %zu lengths not reported as format FAILED (first %zu)",
           cases[c].what, bad, cases[c].b->len, first);
        ok(parsed == 0, "truncated %s: %zu prefixes parsed", cases[c].what, parsed);
    }
    /* The full length is fine (the loop above stops one short). */
    es_report rep;
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep) &&
           rep.indication == ES_PASSED,
       "untruncated signature PASSED");
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&seal);
}

static void test_validity(void)
{
    es_seal_params p;
    es_report rep;
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x22, sizeof h);

    /* A seal that becomes valid tomorrow, used an hour from now. */
    default_params(&p);
    p.valid_start = now + DAY;
    p.valid_end = now + 30 * DAY;
    es_buf later = make_seal(&p);
    es_buf sig = make_sig(sl(&later), now + 3600, h);
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "signed before the seal's validity", ES_CHECK_SEAL_VALIDITY, ES_FAILED);
    want(&rep, "signed before the seal's validity", ES_CHECK_SIGNATURE, ES_PASSED);
    want(&rep, "signed before the seal's validity", ES_CHECK_SIGNER_CERT_VALIDITY, ES_PASSED);
    want_indication(&rep, "signed before the seal's validity", ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);
    /* Bare, now: not yet usable, but genuine. */
    ok(run(es_seal_verify, sl(&later), trust_root, NULL, ES_TIME_NONE, &rep), "report");
    want(&rep, "bare seal before its validity", ES_CHECK_SEAL_VALIDITY, ES_WARNING);
    want_indication(&rep, "bare seal before its validity", ES_PASSED);
    es_report_cleanup(&rep);
    /* Signed exactly at validStart and at validEnd: inside (both ends inclusive). */
    sig = make_sig(sl(&later), now + DAY, h);
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "signed at validStart", ES_CHECK_SEAL_VALIDITY, ES_PASSED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);
    sig = make_sig(sl(&later), now + 30 * DAY, h);
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "signed at validEnd", ES_CHECK_SEAL_VALIDITY, ES_PASSED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);

    /* A seal that expires tomorrow, used the day after. */
    default_params(&p);
    p.valid_end = now + DAY;
    es_buf soon = make_seal(&p);
    sig = make_sig(sl(&soon), now + 2 * DAY, h);
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "signed after the seal expired", ES_CHECK_SEAL_VALIDITY, ES_INDETERMINATE);
    want(&rep, "signed after the seal expired", ES_CHECK_SIGNATURE, ES_PASSED);
    want_indication(&rep, "signed after the seal expired", ES_INDETERMINATE);
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);
    /* Bare, verified after validEnd: a warning, not a failure. */
    ok(run(es_seal_verify, sl(&soon), trust_root, NULL, now + 2 * DAY, &rep), "report");
    want(&rep, "bare seal after validEnd", ES_CHECK_SEAL_VALIDITY, ES_WARNING);
    want(&rep, "bare seal after validEnd", ES_CHECK_SEAL_SIGNATURE, ES_PASSED);
    want_indication(&rep, "bare seal after validEnd", ES_PASSED);
    es_report_cleanup(&rep);
    ok(run(es_seal_verify, sl(&soon), trust_root, NULL, now + 3600, &rep), "report");
    want(&rep, "bare seal within validity (--at)", ES_CHECK_SEAL_VALIDITY, ES_PASSED);
    es_report_cleanup(&rep);

    /* Signed before the signer certificate existed. */
    es_cert_info ci;
    if (es_cert_parse(sl(&signer_cert), &ci) != ES_OK) die("signer cert");
    default_params(&p);
    p.valid_start = ci.not_before - 30 * DAY;
    es_buf old = make_seal(&p);
    sig = make_sig(sl(&old), ci.not_before - DAY, h);
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "signed before the signer cert's notBefore", ES_CHECK_SIGNER_CERT_VALIDITY,
         ES_FAILED);
    want(&rep, "signed before the signer cert's notBefore", ES_CHECK_SEAL_VALIDITY, ES_PASSED);
    want_indication(&rep, "signed before the signer cert's notBefore", ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);
    es_cert_info_cleanup(&ci);

    es_buf_cleanup(&old);
    es_buf_cleanup(&soon);
    es_buf_cleanup(&later);
}

/* --- the status hook --- */
typedef struct fake_status {
    es_err rv;          /* what the source returns */
    es_seal_status ans; /* what it answers */
    int calls;
    es_time asked_at;
    char es_id[64];
} fake_status;

static es_err fake_source(void *ctx, const es_seal *s, es_time at, es_seal_status *out)
{
    fake_status *f = ctx;
    f->calls++;
    f->asked_at = at;
    size_t n = s->es_id.len < sizeof f->es_id - 1 ? s->es_id.len : sizeof f->es_id - 1;
    memcpy(f->es_id, s->es_id.p, n);
    f->es_id[n] = 0;
    if (f->rv != ES_OK) return f->rv;
    *out = f->ans;
    return ES_OK;
}

/* Verifies with the fake source; the report's status check and detail. */
static int run_status(verify_fn fn, es_slice in, const uint8_t *sm3, fake_status *f, es_time at,
                      es_report *rep)
{
    es_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = trust_root;
    o.data_sm3 = sm3;
    o.now = ES_TIME_NONE;
    o.status = fake_source;
    o.status_ctx = f;
    o.status_at = at;
    f->calls = 0;
    f->asked_at = 0;
    f->es_id[0] = 0;
    es_report_init(rep);
    es_err rv = fn(in, &o, rep);
    es_report_finish(rep);
    return rv == ES_OK && rep->n_entries == 1;
}

static int detail_has(const es_report *rep, const char *check, const char *needle)
{
    const es_check *c = rep->n_entries == 1 ? es_entry_get(&rep->entries[0], check) : NULL;
    return c && strstr(c->detail, needle) != NULL;
}

static void status_case(const char *label, verify_fn fn, es_slice in, const uint8_t *sm3,
                        fake_status *f, es_result want_status, es_result want_ind,
                        const char *needle)
{
    es_report rep;
    ok(run_status(fn, in, sm3, f, now + 7 * DAY, &rep), "%s: report", label);
    ok(f->calls == 1, "%s: the source was asked once (%d)", label, f->calls);
    ok(f->asked_at == now + 7 * DAY, "%s: asked about the time given", label);
    ok(strcmp(f->es_id, ES_ID) == 0, "%s: asked about the seal's code (%s)", label, f->es_id);
    want(&rep, label, ES_CHECK_STATUS, want_status);
    want_indication(&rep, label, want_ind);
    if (needle)
        ok(detail_has(&rep, ES_CHECK_STATUS, needle), "%s: the detail says \"%s\"", label, needle);
    es_report_cleanup(&rep);
}

static void test_status(void)
{
    es_seal_params p;
    es_report rep;
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x33, sizeof h);
    default_params(&p);
    es_buf seal = make_seal(&p);
    es_time signed_at = now + 3600;
    es_buf sig = make_sig(sl(&seal), signed_at, h);
    fake_status f;
    memset(&f, 0, sizeof f);

    /* No source: SKIPPED, saying why; the indication is what the other checks make it. */
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    want(&rep, "no status source", ES_CHECK_STATUS, ES_SKIPPED);
    ok(detail_has(&rep, ES_CHECK_STATUS, "no status source"), "no source: the detail says why");
    want_indication(&rep, "no status source", ES_PASSED);
    es_report_cleanup(&rep);

    f.ans.state = ES_SEAL_GOOD;
    f.ans.since = ES_TIME_NONE;
    status_case("good", es_signature_verify, sl(&sig), h, &f, ES_PASSED, ES_PASSED, "in force");
    status_case("good, bare seal", es_seal_verify, sl(&seal), NULL, &f, ES_PASSED, ES_PASSED,
                "in force");

    /* Revoked before the signing time: the seal was used when it must not have been. */
    f.ans.state = ES_SEAL_REVOKED;
    f.ans.since = signed_at - 60;
    snprintf(f.ans.reason, sizeof f.ans.reason, "单位注销");
    status_case("revoked before signing", es_signature_verify, sl(&sig), h, &f, ES_FAILED,
                ES_FAILED, "单位注销");
    /* Exactly at the signing time: not after it, so FAILED too. */
    f.ans.since = signed_at;
    status_case("revoked at the signing time", es_signature_verify, sl(&sig), h, &f, ES_FAILED,
                ES_FAILED, "not after");
    /* Revoked at an unknown time: not provably after the signature. */
    f.ans.since = ES_TIME_NONE;
    status_case("revoked, time unknown", es_signature_verify, sl(&sig), h, &f, ES_FAILED, ES_FAILED,
                "not provably after");
    /* Revoked after the signing time: what was signed before stands, with a note. */
    f.ans.since = signed_at + 60;
    status_case("revoked after signing", es_signature_verify, sl(&sig), h, &f, ES_PASSED, ES_PASSED,
                "after the signing time");
    /* A bare seal revoked before now: FAILED. */
    f.ans.since = now - 60;
    status_case("bare seal revoked", es_seal_verify, sl(&seal), NULL, &f, ES_FAILED, ES_FAILED,
                "revoked");

    /* Suspended (reported lost) before the signing time: may be lifted, INDETERMINATE. */
    f.ans.state = ES_SEAL_SUSPENDED;
    f.ans.since = signed_at - 60;
    f.ans.reason[0] = 0;
    status_case("suspended before signing", es_signature_verify, sl(&sig), h, &f, ES_INDETERMINATE,
                ES_INDETERMINATE, "suspended");
    f.ans.since = signed_at + 60;
    status_case("suspended after signing", es_signature_verify, sl(&sig), h, &f, ES_PASSED,
                ES_PASSED, "after the signing time");

    /* Unknown to the source, an unknown state, a failing source: INDETERMINATE. */
    f.ans.state = ES_SEAL_UNKNOWN;
    f.ans.since = ES_TIME_NONE;
    status_case("unknown", es_signature_verify, sl(&sig), h, &f, ES_INDETERMINATE, ES_INDETERMINATE,
                "does not know");
    f.ans.state = (es_seal_state)42;
    status_case("unknown state", es_signature_verify, sl(&sig), h, &f, ES_INDETERMINATE,
                ES_INDETERMINATE, "unknown state");
    f.ans.state = ES_SEAL_GOOD;
    f.rv = ES_ERR_IO;
    status_case("source fails", es_signature_verify, sl(&sig), h, &f, ES_INDETERMINATE,
                ES_INDETERMINATE, es_err_str(ES_ERR_IO));
    f.rv = ES_OK;

    /* A reason that fills the whole field without a NUL is cut, not read past. */
    f.ans.state = ES_SEAL_REVOKED;
    f.ans.since = signed_at - 60;
    memset(f.ans.reason, 'x', sizeof f.ans.reason);
    status_case("reason without NUL", es_signature_verify, sl(&sig), h, &f, ES_FAILED, ES_FAILED,
                "xxxx");

    /* A reason with broken UTF-8 and a line break: cleaned, and the JSON report stays valid. */
    snprintf(f.ans.reason, sizeof f.ans.reason, "bad \xff\xfe bytes\nand a break");
    ok(run_status(es_signature_verify, sl(&sig), h, &f, now + 7 * DAY, &rep), "report");
    {
        const es_check *c = es_entry_get(&rep.entries[0], ES_CHECK_STATUS);
        es_buf js;
        es_buf_init(&js, ES_MAX_REPORT);
        ok(c && es_utf8_valid(c->detail, strlen(c->detail)) && !strchr(c->detail, '\n') &&
               strstr(c->detail, "bad ?? bytes?and a break"),
           "the reason is cleaned: %s", c ? c->detail : "(no check)");
        ok(es_report_json(&rep, &js) == ES_OK && json_object(&js), "the JSON report is valid");
        es_buf_cleanup(&js);
    }
    es_report_cleanup(&rep);

    /* The status check does not hide another failure: tampered data with a good status. */
    f.ans.state = ES_SEAL_GOOD;
    uint8_t other_h[ES_SM3_LEN];
    memset(other_h, 0x44, sizeof other_h);
    ok(run_status(es_signature_verify, sl(&sig), other_h, &f, ES_TIME_NONE, &rep), "report");
    want(&rep, "good status, wrong data", ES_CHECK_STATUS, ES_PASSED);
    want(&rep, "good status, wrong data", ES_CHECK_DATA_HASH, ES_FAILED);
    want_indication(&rep, "good status, wrong data", ES_FAILED);
    ok(f.asked_at != ES_TIME_NONE && f.asked_at > now - DAY,
       "status_at ES_TIME_NONE: the source is asked about now");
    es_report_cleanup(&rep);

    es_buf_cleanup(&sig);
    es_buf_cleanup(&seal);
}

/* Parameter errors: the right code and nothing appended. */
static void test_make_errors(void)
{
    static const char prefix[] = "prefix";
    es_seal_params p;
    es_buf out;
    es_buf_init(&out, ES_MAX_SEAL_DER);
    es_slice none[1] = {ES_SLICE_NULL};
    struct {
        const char *what;
        es_err want;
    } cases[] = {
        {"missing name", ES_ERR_ARG},
        {"empty name", ES_ERR_ARG},
        {"missing esID", ES_ERR_ARG},
        {"esID not IA5", ES_ERR_ARG},
        {"validStart == validEnd", ES_ERR_ARG},
        {"validStart > validEnd", ES_ERR_ARG},
        {"no validStart", ES_ERR_ARG},
        {"no validEnd", ES_ERR_ARG},
        {"empty picture", ES_ERR_ARG},
        {"unknown picture format", ES_ERR_ARG},
        {"no signer certificate", ES_ERR_ARG},
        {"zero width", ES_ERR_ARG},
        {"no maker certificate", ES_ERR_ARG},
        {"empty signer certificate", ES_ERR_CERT},
        {"maker key not the maker cert's", ES_ERR_KEY_MISMATCH},
        {"no maker signer", ES_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        es_signer *key = maker;
        default_params(&p);
        switch (i) {
        case 0:
            p.name = NULL;
            break;
        case 1:
            p.name = "";
            break;
        case 2:
            p.es_id = NULL;
            break;
        case 3:
            p.es_id = "编号1";
            break;
        case 4:
            p.valid_end = p.valid_start;
            break;
        case 5:
            p.valid_end = p.valid_start - 1;
            break;
        case 6:
            p.valid_start = ES_TIME_NONE;
            break;
        case 7:
            p.valid_end = ES_TIME_NONE;
            break;
        case 8:
            p.picture = es_slice_make(png.p, 0);
            break;
        case 9:
            p.picture = es_slice_make("hello, not an image", 19);
            break;
        case 10:
            p.n_signer_certs = 0;
            break;
        case 11:
            p.width_mm = 0;
            break;
        case 12:
            p.maker_cert = ES_SLICE_NULL;
            break;
        case 13:
            p.signer_certs = none;
            break;
        case 14:
            key = signer;
            break;
        case 15:
            key = NULL;
            break;
        }
        es_buf_cleanup(&out);
        if (es_buf_append_str(&out, prefix) != ES_OK) die("append");
        es_err rv = es_seal_make(&p, key, &out);
        ok(rv == cases[i].want && out.len == strlen(prefix) && memcmp(out.p, prefix, 6) == 0,
           "es_seal_make, %s: %s (want %s), %zu bytes in out", cases[i].what, es_err_str(rv),
           es_err_str(cases[i].want), out.len);
    }
    ok(es_seal_make(NULL, maker, &out) == ES_ERR_ARG, "es_seal_make(NULL params)");

    /* What es_seal_make writes, its own reader must read: no IA5String with other characters,
     * no OID the reader refuses. */
    {
        es_ext bad_exts[3] = {
            {ES_SLICE_NULL, 0, es_slice_make("0", 1)},                /* empty OID */
            {es_slice_make("\x2a\x86", 2), 0, es_slice_make("0", 1)}, /* unfinished arc */
            {es_slice_make("\x2a\x03", 2), 0, es_slice_make("0", 1)}, /* 1.2.3: fine */
        };
        const char *types[2] = {"图片", ""};
        for (int i = 0; i < 2; i++) {
            default_params(&p);
            p.picture_type = types[i];
            es_buf_cleanup(&out);
            es_err rv = es_seal_make(&p, maker, &out);
            ok(rv == ES_ERR_ARG && out.len == 0, "es_seal_make, picture type '%s': %s", types[i],
               es_err_str(rv));
        }
        for (int i = 0; i < 3; i++) {
            default_params(&p);
            p.exts = &bad_exts[i];
            p.n_exts = 1;
            es_buf_cleanup(&out);
            es_err rv = es_seal_make(&p, maker, &out);
            es_seal s;
            if (i < 2)
                ok(rv == ES_ERR_ARG && out.len == 0,
                   "es_seal_make, extension %d with a bad OID: %s", i + 1, es_err_str(rv));
            else
                ok(rv == ES_OK && es_seal_from_der(sl(&out), 0, &s) == ES_OK && s.n_exts == 1,
                   "es_seal_make, extension with OID 1.2.3: made and read back");
        }
    }

    /* An output buffer too small: an error, and the buffer as it was. */
    {
        es_buf small;
        es_buf_init(&small, 600);
        default_params(&p);
        if (es_buf_append_str(&small, prefix) != ES_OK) die("append");
        es_err rv = es_seal_make(&p, maker, &small);
        ok(rv == ES_ERR_LIMIT && small.len == strlen(prefix),
           "es_seal_make into a 600-byte buffer: %s, %zu bytes in it", es_err_str(rv), small.len);
        es_buf_cleanup(&small);
    }

    /* es_signature_make */
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x33, sizeof h);
    default_params(&p);
    es_buf seal = make_seal(&p);
    es_buf gmt = t_read(t_path("ESEAL_CORPUS", "esl/dms360_v1_seal.esl"));
    struct {
        const char *what;
        es_err want; /* ES_OK: any error */
    } sc[] = {
        {"signer certificate not in the seal's list", ES_ERR_CERT},
        {"signer key not the certificate's", ES_ERR_KEY_MISMATCH},
        {"no data hash", ES_ERR_ARG},
        {"propertyInfo not IA5", ES_ERR_ARG},
        {"not a seal", ES_OK},
        {"seal with trailing bytes", ES_ERR_DER_TRAILING},
        {"GM/T 0031 seal", ES_ERR_UNSUPPORTED},
        {"no signer certificate", ES_ERR_ARG},
    };
    es_buf trailing;
    es_buf_init(&trailing, ES_MAX_SEAL_DER);
    if (es_buf_append(&trailing, seal.p, seal.len) != ES_OK ||
        es_buf_append(&trailing, "\0", 1) != ES_OK)
        die("append");
    for (size_t i = 0; i < sizeof sc / sizeof *sc; i++) {
        es_sign_params sp = {.seal = sl(&seal),
                             .time = now,
                             .data_hash = h,
                             .property_info = PROPERTY,
                             .signer_cert = sl(&signer_cert)};
        es_signer *key = signer;
        switch (i) {
        case 0:
            sp.signer_cert = sl(&other_cert);
            key = other;
            break;
        case 1:
            key = other;
            break;
        case 2:
            sp.data_hash = NULL;
            break;
        case 3:
            sp.property_info = "/文件.xml";
            break;
        case 4:
            sp.seal = sl(&signer_cert);
            break;
        case 5:
            sp.seal = sl(&trailing);
            break;
        case 6:
            sp.seal = sl(&gmt);
            break;
        case 7:
            sp.signer_cert = ES_SLICE_NULL;
            break;
        }
        es_buf_cleanup(&out);
        if (es_buf_append_str(&out, prefix) != ES_OK) die("append");
        es_err rv = es_signature_make(&sp, key, &out);
        int code_ok = sc[i].want == ES_OK ? rv != ES_OK : rv == sc[i].want;
        ok(code_ok && out.len == strlen(prefix) && memcmp(out.p, prefix, 6) == 0,
           "es_signature_make, %s: %s, %zu bytes in out", sc[i].what, es_err_str(rv), out.len);
    }
    {
        es_buf small;
        es_buf_init(&small, seal.len + 20);
        es_sign_params sp = {.seal = sl(&seal),
                             .time = now,
                             .data_hash = h,
                             .property_info = PROPERTY,
                             .signer_cert = sl(&signer_cert)};
        if (es_buf_append_str(&small, prefix) != ES_OK) die("append");
        es_err rv = es_signature_make(&sp, signer, &small);
        ok(rv == ES_ERR_LIMIT && small.len == strlen(prefix),
           "es_signature_make into a too small buffer: %s, %zu bytes in it", es_err_str(rv),
           small.len);
        es_buf_cleanup(&small);
    }
    es_buf_cleanup(&trailing);
    es_buf_cleanup(&gmt);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&out);
}

static void test_detect(void)
{
    es_seal_params p;
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x44, sizeof h);
    default_params(&p);
    es_buf seal = make_seal(&p);
    es_buf sig = make_sig(sl(&seal), now, h);
    es_buf cms = t_read(t_path("ESEAL_CORPUS", "signature/ccb_cms_SignedValue.dat"));
    es_buf pem = t_read(t_path("ESEAL_TESTDATA", "signer.crt"));

    ok(es_detect(sl(&seal)) == ES_KIND_SEAL, "detect: seal");
    ok(es_detect(sl(&sig)) == ES_KIND_SIGNATURE, "detect: signature");
    ok(es_detect(sl(&signer_cert)) == ES_KIND_CERT, "detect: certificate DER");
    ok(es_detect(sl(&cms)) == ES_KIND_CMS, "detect: CMS SignedData");
    ok(es_detect(sl(&pem)) == ES_KIND_UNKNOWN, "detect: PEM text is not DER");
    ok(es_detect(es_slice_make("garbage, not DER at all", 23)) == ES_KIND_UNKNOWN,
       "detect: garbage");
    ok(es_detect(es_slice_make("\x30\x03\x02\x01\x04", 5)) == ES_KIND_UNKNOWN,
       "detect: a SEQUENCE of the wrong shape");
    ok(es_detect(ES_SLICE_NULL) == ES_KIND_UNKNOWN, "detect: empty");
    ok(strcmp(es_kind_name(ES_KIND_SEAL), "seal") == 0 &&
           strcmp(es_kind_name(ES_KIND_SIGNATURE), "signature") == 0 &&
           strcmp(es_kind_name(ES_KIND_CERT), "certificate") == 0 &&
           strcmp(es_kind_name(ES_KIND_UNKNOWN), "unknown") == 0,
       "kind names");

    /* verify_any on what is neither: one FAILED entry, format FAILED. */
    es_report rep;
    ok(run(es_verify_any, es_slice_make("garbage", 7), NULL, NULL, ES_TIME_NONE, &rep),
       "verify_any garbage: one entry");
    want(&rep, "verify_any garbage", ES_CHECK_FORMAT, ES_FAILED);
    want_indication(&rep, "verify_any garbage", ES_FAILED);
    es_report_cleanup(&rep);
    ok(run(es_verify_any, sl(&signer_cert), NULL, NULL, ES_TIME_NONE, &rep),
       "verify_any certificate: one entry");
    want(&rep, "verify_any certificate", ES_CHECK_FORMAT, ES_FAILED);
    es_report_cleanup(&rep);
    ok(run(es_seal_verify, sl(&sig), NULL, NULL, ES_TIME_NONE, &rep),
       "seal_verify on a signature: one entry");
    want(&rep, "seal_verify on a signature", ES_CHECK_FORMAT, ES_FAILED);
    es_report_cleanup(&rep);
    ok(run(es_signature_verify, sl(&seal), NULL, NULL, ES_TIME_NONE, &rep),
       "signature_verify on a seal: one entry");
    want(&rep, "signature_verify on a seal", ES_CHECK_FORMAT, ES_FAILED);
    es_report_cleanup(&rep);

    es_buf_cleanup(&pem);
    es_buf_cleanup(&cms);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&seal);
}

static void test_print(void)
{
    es_seal_params p;
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x55, sizeof h);
    default_params(&p);
    es_buf seal = make_seal(&p);
    es_buf sig = make_sig(sl(&seal), now, h);
    es_seal s;
    es_signature g;
    es_buf out;
    char iso[32];
    es_time_format_iso(now, iso);

    if (es_seal_from_der(sl(&seal), 0, &s) != ES_OK) die("parse seal");
    if (es_signature_from_der(sl(&sig), 0, &g) != ES_OK) die("parse sig");

    es_buf_init(&out, ES_MAX_REPORT);
    ok(es_seal_print(&s, &out) == ES_OK, "seal print");
    ok(contains(&out, SEAL_NAME) && contains(&out, ES_ID) && contains(&out, "eseal-test") &&
           contains(&out, "PNG") && contains(&out, "GB/T 38540-2020 v4") &&
           contains(&out, "eseal test seal making system") && contains(&out, "37030000009999") &&
           contains(&out, iso) && contains(&out, ES_OID_SM2_SM3),
       "seal print: name, esID, vid, picture type, layout, maker, listed signer, date, alg");
    es_buf_cleanup(&out);
    es_buf_init(&out, ES_MAX_REPORT);
    ok(es_seal_print_json(&s, &out) == ES_OK, "seal print JSON");
    ok(json_object(&out), "seal print JSON: valid JSON");
    ok(contains(&out, "\"name\":\"" SEAL_NAME "\"") && contains(&out, "\"es_id\":\"" ES_ID "\"") &&
           contains(&out, "\"version\":4") && contains(&out, "\"kind\":\"seal\""),
       "seal print JSON: fields");
    es_buf_cleanup(&out);

    es_buf_init(&out, ES_MAX_REPORT);
    ok(es_signature_print(&g, &out) == ES_OK, "signature print");
    ok(contains(&out, PROPERTY) && contains(&out, SEAL_NAME) && contains(&out, "37030000009999") &&
           contains(&out, iso),
       "signature print: propertyInfo, seal name, signer, time");
    es_buf_cleanup(&out);
    es_buf_init(&out, ES_MAX_REPORT);
    ok(es_signature_print_json(&g, &out) == ES_OK, "signature print JSON");
    ok(json_object(&out), "signature print JSON: valid JSON");
    ok(contains(&out, "\"property_info\":\"" PROPERTY "\"") &&
           contains(&out, "\"seal.name\":\"" SEAL_NAME "\"") &&
           contains(&out, "\"kind\":\"signature\""),
       "signature print JSON: fields");
    es_buf_cleanup(&out);

    /* A name with characters JSON and the text layout must escape or replace. */
    {
        es_seal_params q;
        default_params(&q);
        q.name = "A \"quoted\" back\\slash\tand\nnew line\x7f";
        es_buf odd = make_seal(&q);
        es_seal os;
        ok(es_seal_from_der(sl(&odd), 0, &os) == ES_OK && es_slice_eq_str(os.name, q.name),
           "odd name: read back");
        es_buf_init(&out, ES_MAX_REPORT);
        ok(es_seal_print_json(&os, &out) == ES_OK && json_object(&out) &&
               contains(&out, "A \\\"quoted\\\" back\\\\slash"),
           "odd name: seal JSON valid, quotes and backslash escaped");
        es_buf_cleanup(&out);
        es_buf_init(&out, ES_MAX_REPORT);
        ok(es_seal_print(&os, &out) == ES_OK && !contains(&out, "\nnew line") &&
               !contains(&out, "\t"),
           "odd name: no raw control characters in the text");
        es_buf_cleanup(&out);
        es_report orep;
        ok(run(es_seal_verify, sl(&odd), NULL, NULL, ES_TIME_NONE, &orep), "odd name: report");
        es_buf_init(&out, ES_MAX_REPORT);
        ok(es_report_json(&orep, &out) == ES_OK && json_object(&out),
           "odd name: report JSON valid");
        es_buf_cleanup(&out);
        es_report_cleanup(&orep);
        es_buf_cleanup(&odd);
    }

    /* The options may be left out altogether. */
    {
        es_report nrep;
        es_report_init(&nrep);
        ok(es_seal_verify(sl(&seal), NULL, &nrep) == ES_OK &&
               es_signature_verify(sl(&sig), NULL, &nrep) == ES_OK && nrep.n_entries == 2,
           "verify with NULL options: two entries");
        es_report_finish(&nrep);
        ok(nrep.n_entries == 2 && nrep.entries[0].indication == ES_INDETERMINATE &&
               nrep.entries[1].indication == ES_INDETERMINATE &&
               nrep.indication == ES_INDETERMINATE,
           "verify with NULL options: INDETERMINATE (no trust anchors)");
        es_report_cleanup(&nrep);
    }

    /* The report renderers. */
    es_report rep;
    ok(run(es_signature_verify, sl(&sig), trust_root, h, ES_TIME_NONE, &rep), "report");
    ok(es_report_set_file(&rep, "dir/\"quoted\".sig") == ES_OK, "report file name");
    es_buf_init(&out, ES_MAX_REPORT);
    ok(es_report_json(&rep, &out) == ES_OK && json_object(&out), "report JSON: valid JSON");
    ok(contains(&out, "\"file\":\"dir/\\\"quoted\\\".sig\"") &&
           contains(&out, "\"indication\":\"PASSED\"") &&
           contains(&out, "\"name\":\"seal_signature\""),
       "report JSON: file escaped, indication, checks");
    es_buf_cleanup(&out);
    es_buf_init(&out, ES_MAX_REPORT);
    ok(es_report_text(&rep, &out) == ES_OK && contains(&out, "signer_cert_match") &&
           contains(&out, "PASSED"),
       "report text");
    es_buf_cleanup(&out);
    es_report_cleanup(&rep);

    es_buf_cleanup(&sig);
    es_buf_cleanup(&seal);
}

/* The policy check (docs/verification.md "Policy") with the fixtures: signer.crt's CN is
 * 37030000009999 (valid 2026-11-26 to 2125-06-20); maker.crt has no extendedKeyUsage, so it
 * is not a making system's certificate under LD/T. */
static int run_policy(verify_fn f, es_slice in, es_policy pol, const uint8_t *sm3, es_report *rep)
{
    es_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = trust_root;
    o.data_sm3 = sm3;
    o.now = ES_TIME_NONE;
    o.policy = pol;
    es_report_init(rep);
    es_err rv = f(in, &o, rep);
    es_report_finish(rep);
    return rv == ES_OK && rep->n_entries == 1;
}

static void test_policy(void)
{
    es_seal_params p;
    es_report rep;
    uint8_t h[ES_SM3_LEN];
    memset(h, 0x33, sizeof h);
    const char *cn = "37030000009999";

    /* The code is the certificate's CN, the validity within it: PASSED by the conventions. */
    default_params(&p);
    p.es_id = cn;
    es_buf good = make_seal(&p);
    ok(run_policy(es_seal_verify, sl(&good), ES_POLICY_CONVENTIONS, NULL, &rep), "report");
    want(&rep, "policy, conventions, bare", ES_CHECK_POLICY, ES_PASSED);
    es_report_cleanup(&rep);
    es_buf sig = make_sig(sl(&good), now, h);
    ok(run_policy(es_signature_verify, sl(&sig), ES_POLICY_CONVENTIONS, h, &rep), "report");
    want(&rep, "policy, conventions, signature", ES_CHECK_POLICY, ES_PASSED);
    want_indication(&rep, "policy, conventions, signature", ES_PASSED);
    es_report_cleanup(&rep);
    /* Under LD/T the same seal fails: maker.crt is no making system's certificate. */
    ok(run_policy(es_signature_verify, sl(&sig), ES_POLICY_LDT, h, &rep), "report");
    want(&rep, "policy, ldt, ordinary maker", ES_CHECK_POLICY, ES_FAILED);
    ok(detail_has(&rep, ES_CHECK_POLICY, "not a making system"), "policy, ldt: the maker named");
    want_indication(&rep, "policy, ldt, ordinary maker", ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&good);

    /* Another code: a WARNING naming the CN (the verdict stands); FAILED under LD/T. */
    default_params(&p);
    es_buf other_code = make_seal(&p);
    ok(run_policy(es_seal_verify, sl(&other_code), ES_POLICY_CONVENTIONS, NULL, &rep), "report");
    want(&rep, "policy, another code", ES_CHECK_POLICY, ES_WARNING);
    ok(detail_has(&rep, ES_CHECK_POLICY, "is not its certificate's CN (37030000009999)"),
       "policy, another code: the CN named");
    want_indication(&rep, "policy, another code", ES_PASSED);
    es_report_cleanup(&rep);
    ok(run_policy(es_seal_verify, sl(&other_code), ES_POLICY_LDT, NULL, &rep), "report");
    want(&rep, "policy, ldt, another code", ES_CHECK_POLICY, ES_FAILED);
    es_report_cleanup(&rep);
    es_buf_cleanup(&other_code);

    /* A seal valid beyond its certificate (notAfter 2125-06-20): a WARNING naming both. */
    default_params(&p);
    p.es_id = cn;
    es_time end = 0;
    ok(es_time_parse_iso("2125-07-01T00:00:00Z", &end) == ES_OK, "a time after the certificate");
    p.valid_end = end;
    es_buf longer = make_seal(&p);
    ok(run_policy(es_seal_verify, sl(&longer), ES_POLICY_CONVENTIONS, NULL, &rep), "report");
    want(&rep, "policy, validity beyond the certificate", ES_CHECK_POLICY, ES_WARNING);
    ok(detail_has(&rep, ES_CHECK_POLICY, "is not within its certificate's"),
       "policy, validity: named");
    es_report_cleanup(&rep);
    es_buf_cleanup(&longer);
    /* ... and one valid from before the certificate. */
    default_params(&p);
    p.es_id = cn;
    p.valid_start = now - 400 * DAY;
    es_buf earlier = make_seal(&p);
    ok(run_policy(es_seal_verify, sl(&earlier), ES_POLICY_CONVENTIONS, NULL, &rep), "report");
    want(&rep, "policy, validity before the certificate", ES_CHECK_POLICY, ES_WARNING);
    es_report_cleanup(&rep);
    es_buf_cleanup(&earlier);
}

int main(void)
{
    now = es_time_now();
    maker = t_signer("maker.key");
    signer = t_signer("signer.key");
    other = t_signer("other.key");
    maker_cert = t_cert("maker.crt");
    signer_cert = t_cert("signer.crt");
    other_cert = t_cert("other.crt");
    png = t_read(t_path("ESEAL_TESTDATA", "seal.png"));
    trust_root = load_trust("root.crt");
    trust_other = load_trust("otherroot.crt");

    test_json_checker();
    test_seal_roundtrip();
    test_seal_verify();
    test_signature();
    test_truncation();
    test_validity();
    test_status();
    test_policy();
    test_make_errors();
    test_detect();
    test_print();

    es_trust_free(trust_root);
    es_trust_free(trust_other);
    es_signer_free(maker);
    es_signer_free(signer);
    es_signer_free(other);
    es_buf_cleanup(&maker_cert);
    es_buf_cleanup(&signer_cert);
    es_buf_cleanup(&other_cert);
    es_buf_cleanup(&png);
    return t_done();
}
