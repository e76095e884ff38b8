/* pki: unified social credit code known answers, names, SANs, profiles, certificates made
 * with our DER writer read back by es_cert_parse (OpenSSL) and es_pki_cert_parse, chains
 * through es_trust (OpenSSL's verifier), PKCS#10 proof of possession (tampered requests
 * refused), the CA directory (lint refusals one by one, serial uniqueness, revocation, CRL
 * contents and signatures). The openssl command line checks are in tests/cli/ca.sh. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "eseal/crypto.h"
#include "eseal/der.h"
#include "eseal/keydev.h"
#include "eseal/castore.h"
#include "eseal/pki.h"
#include "eseal/signer.h"
#include "pki/internal.h"

#define PASS   "test-passphrase"
#define USCC_A "91350100M000100Y43"
#define UNIT   "某某市人力资源和社会保障局"

static es_signer *mem_signer(void)
{
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &s) != ES_OK) {
        fprintf(stderr, "cannot make an SM2 key\n");
        exit(2);
    }
    return s;
}

static es_name name_of(const char *text)
{
    es_name n;
    char why[256];
    if (es_pki_name_parse(text, &n, why, sizeof why) != ES_OK) {
        fprintf(stderr, "bad test subject %s: %s\n", text, why);
        exit(2);
    }
    return n;
}

static int has_msg(const es_pki_lint *l, const char *needle)
{
    for (size_t i = 0; i < l->n && i < ES_PKI_LINT_MAX; i++)
        if (strstr(l->msg[i], needle)) return 1;
    return 0;
}

static void dump_lint(const es_pki_lint *l)
{
    for (size_t i = 0; i < l->n && i < ES_PKI_LINT_MAX; i++)
        fprintf(stderr, "    lint: %s\n", l->msg[i]);
}

/* --- unified social credit codes, seal codes --- */

static void test_uscc(void)
{
    /* Known answers: the codes of spec/national.md and of well-known companies. */
    static const char *valid[] = {USCC_A, "11370306MB2867521U", "91110108551385082Q",
                                  "91440300708461136T"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const char *why = NULL;
        ok(es_pki_uscc_check(valid[i], 18, &why) == ES_OK, "%s valid (%s)", valid[i],
           why ? why : "");
        ok(es_pki_uscc_check_char(valid[i]) == valid[i][17], "%s: check character", valid[i]);
        /* Change any one character: the code is refused. */
        for (int pos = 0; pos < 18; pos++) {
            char c[19];
            memcpy(c, valid[i], 19);
            c[pos] = c[pos] == '1' ? '2' : '1';
            ok(es_pki_uscc_check(c, 18, NULL) != ES_OK, "%s refused", c);
        }
    }
    ok(es_pki_uscc_check_char("91350100M000100Y4") == '3', "check character of " USCC_A);
    const char *why = NULL;
    ok(es_pki_uscc_check("91350100M000100Y44", 18, &why) == ES_ERR_FORMAT && why &&
           strstr(why, "check character"),
       "wrong check character named");
    ok(es_pki_uscc_check("91350100M000100Y4", 17, &why) == ES_ERR_FORMAT, "17 characters");
    ok(es_pki_uscc_check("91350100m000100Y43", 18, &why) == ES_ERR_FORMAT, "lower case");
    ok(es_pki_uscc_check("91350100I000100Y43", 18, &why) == ES_ERR_FORMAT, "I is not used");
    ok(es_pki_uscc_check("913501A0M000100Y43", 18, &why) == ES_ERR_FORMAT && why &&
           strstr(why, "division"),
       "letters in the division code");
    ok(es_pki_uscc_check(USCC_A UNIT, strlen(USCC_A UNIT), NULL) == ES_OK,
       "a code followed by the unit name (the O convention)");
    ok(es_pki_uscc_check(NULL, 0, NULL) == ES_ERR_FORMAT, "NULL");

    ok(es_pki_seal_code_is_national("37030000001721"), "national seal code");
    ok(!es_pki_seal_code_is_national("3703000000172"), "13 digits");
    ok(!es_pki_seal_code_is_national("370300000017210"), "15 digits");
    ok(!es_pki_seal_code_is_national("3703000000172A"), "a letter");
    ok(!es_pki_seal_code_is_national(NULL), "NULL code");
}

/* --- names, SANs --- */

static void test_names(void)
{
    es_name n;
    char why[256];
    es_buf b, d;
    es_buf_init(&b, 65536);
    es_buf_init(&d, 65536);
    ok(es_pki_name_parse("/C=CN/ST=福建省/O=" USCC_A UNIT "/OU=a\\/b/CN=35010000000001", &n, why,
                         sizeof why) == ES_OK,
       "parse: %s", why);
    ok(n.n == 5 && n.a[0].type == ES_NAME_C && n.a[4].type == ES_NAME_CN, "five attributes");
    ok(strcmp(es_pki_name_get(&n, ES_NAME_OU), "a/b") == 0, "escaped '/'");
    ok(es_pki_name_print(&n, &b) == ES_OK && es_buf_nul(&b) == ES_OK &&
           strcmp((char *)b.p, "/C=CN/ST=福建省/O=" USCC_A UNIT "/OU=a\\/b/CN=35010000000001") == 0,
       "print round-trips: %s", (char *)b.p);
    b.len = 0;
    ok(es_pki_name_to_der(&n, &b) == ES_OK, "to DER");
    es_name back;
    ok(es_pki_name_from_der(es_slice_make(b.p, b.len), &back) == ES_OK && back.n == n.n,
       "from DER");
    int same = 1;
    for (size_t i = 0; i < n.n && i < back.n; i++)
        same &= back.a[i].type == n.a[i].type && strcmp(back.a[i].value, n.a[i].value) == 0;
    ok(same, "DER round trip keeps every attribute");
    ok(es_pki_name_to_der(&back, &d) == ES_OK && d.len == b.len && !memcmp(d.p, b.p, b.len),
       "re-encoding is byte-identical (canonical)");
    /* C is a PrintableString, the rest UTF8String. */
    static const uint8_t c_oid[] = {0x06, 0x03, 0x55, 0x04, 0x06};
    const uint8_t *at = NULL;
    for (size_t i = 0; i + sizeof c_oid < b.len && !at; i++)
        if (!memcmp(b.p + i, c_oid, sizeof c_oid)) at = b.p + i + sizeof c_oid;
    ok(at && at[0] == ES_DER_PRINTABLE, "C is PrintableString");

    ok(es_pki_name_parse("C=CN/CN=x", &n, why, sizeof why) == ES_ERR_FORMAT, "no leading '/'");
    ok(es_pki_name_parse("/C=CN/XX=1", &n, why, sizeof why) == ES_ERR_FORMAT && strstr(why, "XX"),
       "unknown type named: %s", why);
    ok(es_pki_name_parse("/CN", &n, why, sizeof why) == ES_ERR_FORMAT, "no '='");
    ok(es_pki_name_parse("/CN=x/", &n, why, sizeof why) == ES_ERR_FORMAT, "trailing '/'");
    ok(es_pki_name_parse("/", &n, why, sizeof why) == ES_ERR_FORMAT, "empty");
    ok(es_pki_name_parse("/commonName=x/countryName=CN", &n, why, sizeof why) == ES_OK &&
           n.a[0].type == ES_NAME_CN && n.a[1].type == ES_NAME_C,
       "long names");

    /* A BMPString attribute (some producers) reads as UTF-8; an unknown type is kept. */
    static const uint8_t bmp[] = {0x30, 0x1a, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04,
                                  0x03, 0x1e, 0x02, 0x4e, 0x2d, 0x31, 0x0b, 0x30, 0x09, 0x06,
                                  0x03, 0x55, 0x04, 0x2a, 0x0c, 0x02, 0x68, 0x69};
    ok(es_pki_name_from_der(es_slice_make(bmp, sizeof bmp), &n) == ES_OK && n.n == 2 &&
           strcmp(n.a[0].value, "中") == 0 && n.a[1].type == ES_NAME_OTHER &&
           strcmp(n.a[1].oid, "2.5.4.42") == 0,
       "BMPString and unknown attribute");
    ok(es_pki_name_from_der(es_slice_make(bmp, sizeof bmp - 1), &n) != ES_OK, "truncated name");

    es_pki_san s[4];
    size_t k = 0;
    ok(es_pki_san_parse("IP:10.1.2.3", &s[0]) == ES_OK && s[0].type == ES_SAN_IP, "IP");
    ok(es_pki_san_parse("ip:2001:db8::1", &s[1]) == ES_OK, "IPv6");
    ok(es_pki_san_parse("DNS:seal.example", &s[2]) == ES_OK, "DNS");
    ok(es_pki_san_parse("URI:https://10.1.2.3:8443/", &s[3]) == ES_OK, "URI");
    ok(es_pki_san_parse("X400:x", &s[3]) == ES_ERR_FORMAT, "unknown SAN type");
    ok(es_pki_san_parse("DNS:", &s[3]) == ES_ERR_FORMAT, "empty SAN");
    ok(es_pki_san_parse("URI:https://10.1.2.3:8443/", &s[3]) == ES_OK, "URI again");
    uint8_t ip[16];
    ok(pki_ip_parse("10.1.2.3", ip) == 4 && ip[3] == 3, "IPv4 octets");
    ok(pki_ip_parse("2001:db8::1", ip) == 16 && ip[0] == 0x20 && ip[15] == 1 && ip[14] == 0,
       "IPv6 octets");
    ok(pki_ip_parse("::ffff:10.0.0.1", ip) == 16 && ip[10] == 0xff && ip[12] == 10, "IPv4-mapped");
    ok(pki_ip_parse("::", ip) == 16 && ip[0] == 0 && ip[15] == 0, "::");
    ok(pki_ip_parse("1::2::3", ip) == 0, "two '::'");
    ok(pki_ip_parse("256.1.1.1", ip) == 0, "octet > 255");
    ok(pki_ip_parse("1.2.3", ip) == 0, "three octets");
    ok(pki_ip_parse("01.2.3.4", ip) == 0, "leading zero");
    /* To DER and back. */
    es_der_w w;
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    int wrote = 1;
    for (int i = 0; i < 4; i++) wrote &= pki_w_general_name(&w, &s[i]) == ES_OK;
    es_der_w_end(&w);
    ok(wrote && es_der_w_finish(&w) == ES_OK, "GeneralNames written");
    es_pki_san back_s[4];
    ok(es_pki_san_from_der(es_slice_make(b.p, b.len), back_s, 4, &k) == ES_OK && k == 4 &&
           strcmp(back_s[0].value, "10.1.2.3") == 0 &&
           strcmp(back_s[1].value, "2001:db8:0:0:0:0:0:1") == 0 &&
           strcmp(back_s[3].value, "https://10.1.2.3:8443/") == 0,
       "GeneralNames read back");
    ok(es_pki_san_from_der(es_slice_make(b.p, b.len), back_s, 3, &k) == ES_ERR_LIMIT,
       "more SANs than room");
    es_buf_cleanup(&b);
    es_buf_cleanup(&d);
}

/* --- profiles --- */

static es_err parse_text(const char *text, es_profiles *ps, char *why, size_t n)
{
    return es_pki_profiles_parse(es_slice_make(text, strlen(text)), ps, why, n);
}

static void test_profiles(void)
{
    static es_profiles ps;
    char why[256] = "";
    ok(es_pki_profiles_parse(es_pki_profiles_builtin(), &ps, why, sizeof why) == ES_OK,
       "built-in profiles (etc/profiles.conf) parse: %s", why);
    static const char *names[] = {"root",         "intermediate",  "seal",
                                  "maker-system", "status-system", "user"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ok(es_pki_profile_find(&ps, names[i]) != NULL, "profile %s", names[i]);
    const es_profile *root = es_pki_profile_find(&ps, "root");
    const es_profile *seal = es_pki_profile_find(&ps, "seal");
    const es_profile *maker = es_pki_profile_find(&ps, "maker-system");
    ok(root && root->is_ca && root->pathlen == 1 &&
           root->key_usage == (ES_KU_KEY_CERT_SIGN | ES_KU_CRL_SIGN),
       "root: CA, pathlen 1, keyCertSign+cRLSign");
    ok(seal && !seal->is_ca && seal->subject_rule == ES_SUBJECT_SEAL &&
           seal->key_usage == (ES_KU_DIGITAL_SIGNATURE | ES_KU_NON_REPUDIATION) &&
           seal->seal_source == ES_PRESENCE_REQUIRED &&
           seal->seal_source_default == ES_SEAL_SOURCE_HRSS,
       "seal profile");
    ok(maker && maker->san == ES_PRESENCE_REQUIRED && maker->san_port &&
           maker->ext_key_usage == (ES_EKU_SERVER_AUTH | ES_EKU_CLIENT_AUTH),
       "maker-system profile");
    ok(es_pki_profile_find(&ps, "nosuch") == NULL, "no such profile");

    ok(parse_text("# c\n\n[a]\nkey_usage = digitalSignature\n; c\n", &ps, why, sizeof why) ==
               ES_OK &&
           ps.n == 1 && ps.p[0].days == 365,
       "minimal profile with defaults: %s", why);
    ok(parse_text("\xef\xbb\xbf[a]\r\nkey_usage = digitalSignature\r\n", &ps, why, sizeof why) ==
           ES_OK,
       "BOM and CRLF");
    struct {
        const char *text, *want;
    } bad[] = {
        {"[a]\nkey_usage = digitalSignature\nfrobnicate = 1\n", "line 3: unknown key"},
        {"[a]\nkey_usage = digitalSignature, sealing\n", "line 2: key_usage: unknown usage"},
        {"key_usage = digitalSignature\n", "before any [section]"},
        {"[a]\nkey_usage = digitalSignature\n[a]\nkey_usage = cRLSign\n", "defined twice"},
        {"[a]\nca = yes\nkey_usage = digitalSignature\n", "needs keyCertSign"},
        {"[a]\nkey_usage = keyCertSign\n", "for CA profiles"},
        {"[a]\nkey_usage = digitalSignature\ndays = 0\n", "days: 1 to 36500"},
        {"[a]\nkey_usage = digitalSignature\ndays = 30\nmax_days = 10\n", "more than max_days"},
        {"[a]\nkey_usage = digitalSignature\ncode_pattern = ([\n", "regular expression"},
        {"[a]\nkey_usage = digitalSignature\nsubject_rule = seal\nsubject_required = CN\n",
         "needs CN and O"},
        {"[a]\nkey_usage = digitalSignature\nsan_port = required\n", "san_port needs san"},
        {"[a]\nkey_usage = digitalSignature\nseal_source_default = hrss\n", "without seal_source"},
        {"[a]\nkey_usage\n", "expected 'key = value'"},
        {"[a b]\n", "section names"},
        {"", "no [profile]"},
        {"[a]\nkey_usage = digitalSignature\nseal_source_oid = 1.2.x\n", "seal_source_oid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        es_err rv = parse_text(bad[i].text, &ps, why, sizeof why);
        ok(rv == ES_ERR_CONFIG && strstr(why, bad[i].want), "bad profiles %zu: want '%s', got %s",
           i, bad[i].want, why);
    }
}

/* --- certificates made in memory --- */

static es_profiles g_profiles;

static es_err make_cert(const char *profile, const es_name *subject, const uint8_t pub[65],
                        es_slice issuer, es_signer *signer, es_time nb, es_time na,
                        const es_pki_san *san, size_t n_san, int source, es_buf *out)
{
    es_pki_tbs t;
    memset(&t, 0, sizeof t);
    t.profile = es_pki_profile_find(&g_profiles, profile);
    t.subject = subject;
    memcpy(t.pub, pub, 65);
    t.issuer = issuer;
    if (es_pki_key_id(signer->pub, t.issuer_key_id) != ES_OK) return ES_ERR_CRYPTO;
    t.issuer_key_id_len = ES_PKI_KEY_ID_LEN;
    t.not_before = nb;
    t.not_after = na;
    t.serial[0] = 0x4a;
    t.serial[1] = 0x01;
    t.serial_len = 2;
    t.san = san;
    t.n_san = n_san;
    t.seal_source = source;
    t.crl_url = "http://ca.example/ca.crl";
    return es_pki_cert_make(&t, signer, out);
}

static void test_certs(void)
{
    char why[256];
    ok(es_pki_profiles_parse(es_pki_profiles_builtin(), &g_profiles, why, sizeof why) == ES_OK,
       "profiles");
    es_signer *ca = mem_signer(), *leaf = mem_signer(), *other = mem_signer();
    es_name ca_name = name_of("/C=CN/O=eseal test/CN=pki test root");
    es_name seal_name = name_of("/C=CN/O=" USCC_A UNIT "/CN=35010000000001");
    es_buf ca_der, ca_subj, leaf_der;
    es_buf_init(&ca_der, ES_MAX_CERT_DER);
    es_buf_init(&ca_subj, ES_MAX_CERT_DER);
    es_buf_init(&leaf_der, ES_MAX_CERT_DER);
    ok(es_pki_name_to_der(&ca_name, &ca_subj) == ES_OK, "CA name");
    es_slice issuer = es_slice_make(ca_subj.p, ca_subj.len);
    es_time nb = 1780000000, na = nb + 3650 * 86400; /* 2026 to 2036 */
    ok(make_cert("root", &ca_name, ca->pub, issuer, ca, nb, na, NULL, 0, 0, &ca_der) == ES_OK,
       "root made");
    es_pki_san san[1];
    ok(es_pki_san_parse("URI:https://10.1.2.3:8443/", &san[0]) == ES_OK, "san");
    ok(make_cert("seal", &seal_name, leaf->pub, issuer, ca, nb + 60, nb + 365 * 86400, san, 1,
                 ES_SEAL_SOURCE_GOVERNMENT, &leaf_der) == ES_OK,
       "seal certificate made");

    /* Read back by OpenSSL (es_cert_parse). */
    es_cert_info ci;
    ok(es_cert_parse(es_slice_make(leaf_der.p, leaf_der.len), &ci) == ES_OK, "es_cert_parse");
    ok(strcmp(ci.subject, "CN=35010000000001,O=" USCC_A UNIT ",C=CN") == 0, "subject: %s",
       ci.subject);
    ok(strcmp(ci.issuer, "CN=pki test root,O=eseal test,C=CN") == 0, "issuer: %s", ci.issuer);
    ok(strcmp(ci.serial, "4a01") == 0, "serial %s", ci.serial);
    ok(ci.not_before == nb + 60 && ci.not_after == nb + 365 * 86400, "validity");
    ok(ci.is_sm2 && memcmp(ci.pub, leaf->pub, 65) == 0, "SM2 key");
    ok(!ci.is_ca && ci.has_key_usage &&
           ci.key_usage == (ES_KU_DIGITAL_SIGNATURE | ES_KU_NON_REPUDIATION),
       "key usage %x", ci.key_usage);
    ok(strcmp(ci.sig_alg, ES_OID_SM2_SM3) == 0, "signature algorithm");
    es_cert_info_cleanup(&ci);
    ok(es_cert_parse(es_slice_make(ca_der.p, ca_der.len), &ci) == ES_OK && ci.is_ca &&
           ci.key_usage == (ES_KU_KEY_CERT_SIGN | ES_KU_CRL_SIGN),
       "root: CA, keyCertSign+cRLSign");
    es_cert_info_cleanup(&ci);

    /* Read back by our reader: the extensions. */
    es_pki_cert pc, pr;
    ok(es_pki_cert_parse(es_slice_make(leaf_der.p, leaf_der.len), &pc) == ES_OK, "parse leaf");
    ok(es_pki_cert_parse(es_slice_make(ca_der.p, ca_der.len), &pr) == ES_OK, "parse root");
    uint8_t kid[20];
    ok(es_pki_key_id(leaf->pub, kid) == ES_OK && pc.ski.len == 20 && !memcmp(pc.ski.p, kid, 20),
       "SKI = SM3(key)[0..20)");
    ok(pc.aki.len == 20 && es_slice_eq(pc.aki, pr.ski), "AKI = issuer SKI");
    ok(pr.is_ca && pr.pathlen == 1 && pc.has_basic_constraints && !pc.is_ca, "basicConstraints");
    ok(pc.seal_source == ES_SEAL_SOURCE_GOVERNMENT, "seal source extension");
    ok(pr.seal_source == ES_SEAL_SOURCE_NONE, "no seal source in the root");
    ok(es_slice_eq_str(pc.crl_url, "http://ca.example/ca.crl"), "cRLDistributionPoints");
    ok(pr.crl_url.len == 0, "root profile: crl_dp = no");
    es_pki_san got[2];
    size_t n = 0;
    ok(es_pki_san_from_der(pc.san, got, 2, &n) == ES_OK && n == 1 &&
           strcmp(got[0].value, "https://10.1.2.3:8443/") == 0,
       "SAN");
    ok(es_slice_eq(pc.issuer, pr.subject), "issuer name copied byte for byte");
    ok(es_pki_cert_verify(&pc, ca->pub) == ES_OK, "leaf verifies with the CA key");
    ok(es_pki_cert_verify(&pr, ca->pub) == ES_OK, "root verifies with itself");
    ok(es_pki_cert_verify(&pc, other->pub) == ES_ERR_VERIFY, "wrong key refused");

    /* Tampered: flip a byte of the subject; truncated; trailing. */
    es_buf bad;
    es_buf_init(&bad, ES_MAX_CERT_DER);
    ok(es_buf_append(&bad, leaf_der.p, leaf_der.len) == ES_OK, "copy");
    uint8_t *cn = NULL;
    for (size_t i = 0; i + 14 <= bad.len; i++)
        if (!memcmp(bad.p + i, "35010000000001", 14)) cn = bad.p + i;
    ok(cn != NULL, "CN found");
    if (cn) cn[13] ^= 1;
    ok(es_pki_cert_parse(es_slice_make(bad.p, bad.len), &pc) == ES_OK &&
           es_pki_cert_verify(&pc, ca->pub) == ES_ERR_VERIFY,
       "tampered certificate refused");
    ok(es_pki_cert_parse(es_slice_make(leaf_der.p, leaf_der.len - 1), &pc) == ES_ERR_CERT,
       "truncated");
    ok(es_buf_append_byte(&leaf_der, 0) == ES_OK &&
           es_pki_cert_parse(es_slice_make(leaf_der.p, leaf_der.len), &pc) == ES_ERR_CERT,
       "trailing byte");
    leaf_der.len--;

    /* OpenSSL's chain verifier agrees (default ID set by es_trust). */
    es_trust *tr = NULL;
    ok(es_trust_new(&tr) == ES_OK && es_trust_add(tr, ca_der.p, ca_der.len, NULL) == ES_OK,
       "anchor");
    ok(es_trust_verify(tr, es_slice_make(leaf_der.p, leaf_der.len), NULL, 0, nb + 86400, why,
                       sizeof why) == ES_OK,
       "chain verifies: %s", why);
    ok(es_trust_verify(tr, es_slice_make(bad.p, bad.len), NULL, 0, nb + 86400, why, sizeof why) !=
           ES_OK,
       "tampered chain refused");
    es_trust_free(tr);

    /* Dates from 2050 are GeneralizedTime (RFC 5280 4.1.2.5); both read back. */
    es_buf late;
    es_buf_init(&late, ES_MAX_CERT_DER);
    es_time y2049 = 2524521600 - 3600, y2060 = 2871763200; /* 2049-12-31T23:00Z, 2061 */
    ok(make_cert("user", &ca_name, leaf->pub, issuer, ca, y2049, y2060, NULL, 0, 0, &late) == ES_OK,
       "certificate across 2050");
    ok(es_cert_parse(es_slice_make(late.p, late.len), &ci) == ES_OK && ci.not_before == y2049 &&
           ci.not_after == y2060,
       "UTCTime 2049 and GeneralizedTime 2061 read back");
    es_cert_info_cleanup(&ci);
    ok(es_pki_cert_parse(es_slice_make(late.p, late.len), &pc) == ES_OK && pc.not_after == y2060,
       "our reader too");

    /* SubjectPublicKeyInfo: written, read as DER and PEM. */
    es_buf spki, pem;
    es_buf_init(&spki, 4096);
    es_buf_init(&pem, 4096);
    uint8_t pub[65];
    ok(es_pki_spki_to_der(leaf->pub, &spki) == ES_OK &&
           es_pki_spki_read(spki.p, spki.len, pub) == ES_OK && !memcmp(pub, leaf->pub, 65),
       "SPKI DER round trip");
    ok(es_pki_pem_encode("PUBLIC KEY", es_slice_make(spki.p, spki.len), &pem) == ES_OK &&
           es_pki_spki_read(pem.p, pem.len, pub) == ES_OK && !memcmp(pub, leaf->pub, 65),
       "SPKI PEM round trip");
    spki.p[spki.len - 1] ^= 1; /* a point off the curve */
    ok(es_pki_spki_read(spki.p, spki.len, pub) == ES_ERR_KEY, "point off the curve refused");

    es_buf_cleanup(&spki);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&late);
    es_buf_cleanup(&bad);
    es_buf_cleanup(&ca_der);
    es_buf_cleanup(&ca_subj);
    es_buf_cleanup(&leaf_der);
    es_signer_free(ca);
    es_signer_free(leaf);
    es_signer_free(other);
}

/* --- PKCS#10 --- */

static void test_csr(void)
{
    es_signer *key = mem_signer();
    es_name subj = name_of("/C=CN/O=" USCC_A UNIT "/CN=35010000000001");
    es_pki_san san[2];
    ok(es_pki_san_parse("IP:10.0.0.1", &san[0]) == ES_OK &&
           es_pki_san_parse("DNS:maker.example", &san[1]) == ES_OK,
       "sans");
    es_buf der, tmp, pem;
    es_buf_init(&der, ES_MAX_CERT_DER);
    es_buf_init(&tmp, ES_MAX_CERT_DER);
    es_buf_init(&pem, ES_MAX_CERT_DER);
    ok(es_pki_csr_make(&subj, san, 2, key, &der) == ES_OK, "request made");
    es_pki_csr c;
    ok(es_pki_csr_parse(der.p, der.len, &tmp, &c) == ES_OK, "request parsed");
    ok(memcmp(c.pub, key->pub, 65) == 0, "its key");
    ok(es_pki_csr_verify(&c) == ES_OK && !c.empty_id, "proof of possession (default ID)");
    es_name back;
    ok(es_pki_name_from_der(c.subject, &back) == ES_OK &&
           strcmp(es_pki_name_get(&back, ES_NAME_CN), "35010000000001") == 0,
       "its subject");
    es_pki_san got[4];
    size_t n = 0;
    ok(c.san.len && es_pki_san_from_der(c.san, got, 4, &n) == ES_OK && n == 2 &&
           strcmp(got[1].value, "maker.example") == 0,
       "its extensionRequest SAN");

    ok(es_pki_pem_encode("CERTIFICATE REQUEST", es_slice_make(der.p, der.len), &pem) == ES_OK,
       "PEM");
    tmp.len = 0;
    ok(es_pki_csr_parse(pem.p, pem.len, &tmp, &c) == ES_OK && es_pki_csr_verify(&c) == ES_OK,
       "PEM request");

    /* Tampered: each byte of the subject's CN, and the signature. */
    es_buf bad;
    es_buf_init(&bad, ES_MAX_CERT_DER);
    ok(es_buf_append(&bad, der.p, der.len) == ES_OK, "copy");
    size_t at = 0;
    for (size_t i = 0; i + 14 <= bad.len; i++)
        if (!memcmp(bad.p + i, "35010000000001", 14)) at = i;
    bad.p[at + 5] ^= 1;
    tmp.len = 0;
    ok(es_pki_csr_parse(bad.p, bad.len, &tmp, &c) == ES_OK &&
           es_pki_csr_verify(&c) == ES_ERR_VERIFY,
       "tampered subject refused");
    bad.p[at + 5] ^= 1;
    bad.p[bad.len - 3] ^= 0x40;
    tmp.len = 0;
    ok(es_pki_csr_parse(bad.p, bad.len, &tmp, &c) == ES_OK &&
           es_pki_csr_verify(&c) == ES_ERR_VERIFY,
       "tampered signature refused");
    tmp.len = 0;
    ok(es_pki_csr_parse(der.p, der.len - 1, &tmp, &c) != ES_OK, "truncated request");
    ok(es_buf_append(&bad, "x", 1) == ES_OK, "trailing");
    bad.p[bad.len - 4] ^= 0x40;
    tmp.len = 0;
    ok(es_pki_csr_parse(bad.p, bad.len, &tmp, &c) != ES_OK, "trailing byte refused");
    tmp.len = 0;
    ok(es_pki_csr_parse((const uint8_t *)"-----BEGIN CERTIFICATE REQUEST-----\n!!\n", 40, &tmp,
                        &c) != ES_OK,
       "broken PEM");

    /* Signed with the empty ID (OpenSSL 3.0 without -sigopt distid): accepted, flagged; the
     * wrong key still fails. */
    tmp.len = 0;
    ok(es_pki_csr_parse(der.p, der.len, &tmp, &c) == ES_OK, "parse again");
    es_buf req;
    es_buf_init(&req, ES_MAX_CERT_DER);
    ok(pki_w_signed(&req, c.info, key, "") == ES_OK, "request signed with the empty ID");
    es_pki_csr e;
    tmp.len = 0;
    ok(es_pki_csr_parse(req.p, req.len, &tmp, &e) == ES_OK && es_pki_csr_verify(&e) == ES_OK &&
           e.empty_id,
       "empty-ID request accepted and flagged");

    es_buf_cleanup(&req);
    es_buf_cleanup(&bad);
    es_buf_cleanup(&der);
    es_buf_cleanup(&tmp);
    es_buf_cleanup(&pem);
    es_signer_free(key);
}

/* --- the CA directory --- */

static char g_tmp[256];

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", g_tmp, name);
}

/* The CA's entries, copied (subjects included) into static storage. */
#define T_ENTRIES 128
static es_ca_entry t_entry[T_ENTRIES];
static char t_subject[T_ENTRIES][512];
static size_t t_n;

static es_err entry_cb(void *ctx, const es_ca_entry *e)
{
    (void)ctx;
    if (t_n == T_ENTRIES) return ES_ERR_LIMIT;
    t_entry[t_n] = *e;
    snprintf(t_subject[t_n], sizeof t_subject[t_n], "%s", e->subject);
    t_entry[t_n].subject = t_subject[t_n];
    t_entry[t_n].cert = ES_SLICE_NULL;
    t_n++;
    return ES_OK;
}

static const es_ca_entry *es_ca_entries(es_ca *ca, size_t *n)
{
    t_n = 0;
    if (es_ca_list(ca, NULL, entry_cb, NULL) != ES_OK) t_n = 0;
    *n = t_n;
    return t_entry;
}

static size_t count_entries(es_ca *ca)
{
    size_t n;
    (void)es_ca_entries(ca, &n);
    return n;
}

static es_err cert_cb(void *ctx, const es_ca_entry *e)
{
    return es_buf_append(ctx, e->cert.p, e->cert.len);
}

/* Issues with a bare key; returns the status, lint in l. */
static es_err issue_pub(es_ca *ca, const char *profile, const char *subject, const uint8_t pub[65],
                        const char *const *sans, int source, long days, es_pki_lint *l, es_buf *out)
{
    es_name n = name_of(subject);
    es_pki_san san[ES_PKI_SAN_MAX];
    size_t k = 0;
    for (; sans && sans[k]; k++)
        if (es_pki_san_parse(sans[k], &san[k]) != ES_OK) exit(2);
    es_ca_request r;
    memset(&r, 0, sizeof r);
    r.profile = profile;
    r.subject = &n;
    r.pub = pub;
    r.san = san;
    r.n_san = k;
    r.seal_source = source;
    r.days = days;
    r.not_before = ES_TIME_NONE;
    out->len = 0;
    return es_ca_issue(ca, &r, l, out, NULL);
}

static const char *const maker_san[] = {"IP:10.1.2.3", "URI:https://10.1.2.3:8443/", NULL};

static void test_ca(void)
{
    char dir[512], keys[512], ref[600], sub[512], why[256];
    es_secret_src good = t_pin(PASS), wrong = t_pin("not-the-passphrase");
    path_in(dir, sizeof dir, "root");
    path_in(keys, sizeof keys, "keys");
    path_in(sub, sizeof sub, "sub");
    snprintf(ref, sizeof ref, "soft:%s#root", keys);
    es_name root_name = name_of("/C=CN/O=人力资源和社会保障部/CN=人社电子印章根 (test)");

    es_ca_init_params p;
    memset(&p, 0, sizeof p);
    p.dir = dir;
    p.key_ref = ref;
    p.pin = &good;
    p.generate_key = 1;
    p.subject = &root_name;
    p.days = 3650;
    p.crl_url = "http://ca.example/root.crl";
    es_pki_lint lint;
    es_err rv = es_ca_init(&p, &lint);
    ok(rv == ES_OK, "init root: %s", es_err_str(rv));
    dump_lint(&lint);
    ok(es_ca_init(&p, &lint) == ES_ERR_EXISTS, "init twice refused");

    es_ca *ca = NULL;
    ok(es_ca_open(dir, &ca, why, sizeof why) == ES_OK, "open: %s", why);
    if (!ca) return;
    uint8_t dummy[65] = {0};
    es_buf out;
    es_buf_init(&out, ES_MAX_CERT_DER);
    ok(issue_pub(ca, "user", "/CN=x", dummy, NULL, 0, 0, &lint, &out) == ES_ERR_LOGIN,
       "issuing needs the key");
    ok(es_ca_login(ca, &wrong) == ES_ERR_PIN, "wrong passphrase");
    ok(es_ca_login(ca, &good) == ES_OK, "login");

    es_signer *k1 = mem_signer(), *k2 = mem_signer();
    /* A seal certificate; the CRL URL from the config is in it. */
    rv = issue_pub(ca, "seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000001", k1->pub, NULL, 0, 0,
                   &lint, &out);
    ok(rv == ES_OK, "seal certificate issued: %s", es_err_str(rv));
    dump_lint(&lint);
    es_pki_cert pc, cac;
    ok(es_pki_cert_parse(es_slice_make(out.p, out.len), &pc) == ES_OK &&
           es_pki_cert_parse(es_ca_cert(ca), &cac) == ES_OK,
       "parse");
    ok(pc.seal_source == ES_SEAL_SOURCE_HRSS, "seal source defaults to hrss");
    ok(es_slice_eq_str(pc.crl_url, "http://ca.example/root.crl"), "CRL URL from the config");
    ok(pc.not_after - pc.not_before == 1095 * 86400, "profile days");
    ok(es_pki_cert_verify(&pc, cac.pub) == ES_OK, "verifies with the CA certificate's key");
    ok(es_slice_eq(pc.aki, cac.ski), "AKI = CA SKI");
    ok(count_entries(ca) == 1, "one index entry");

    /* An industry code matches the profile's pattern. */
    ok(issue_pub(ca, "seal", "/C=CN/O=" USCC_A UNIT "/CN=RS35010000000001", k1->pub, NULL,
                 ES_SEAL_SOURCE_GOVERNMENT, 0, &lint, &out) == ES_OK,
       "industry seal code accepted");
    ok(issue_pub(ca, "maker-system", "/C=CN/ST=福建省/O=福建省人社厅/CN=福建省电子印章制作系统",
                 k2->pub, maker_san, 0, 0, &lint, &out) == ES_OK,
       "maker-system certificate");
    ok(es_pki_cert_parse(es_slice_make(out.p, out.len), &pc) == ES_OK &&
           pc.ext_key_usage == (ES_EKU_SERVER_AUTH | ES_EKU_CLIENT_AUTH) && pc.san.len,
       "maker-system: EKU and SAN");
    size_t before = count_entries(ca);

    /* Lint: each rule refused on its own, with its message, and nothing recorded. */
    struct {
        const char *profile, *subject, *want;
        const char *const *san;
        int source;
        long days;
        int use_k2; /* 0 k1, 1 the CA's own key, 2 an invalid point */
    } cases[] = {
        {"seal", "/C=CN/O=" USCC_A UNIT "/CN=3501000000001", "neither a 14-digit", NULL, 0, 0, 0},
        {"seal", "/C=CN/O=91350100M000100Y44" UNIT "/CN=35010000000001", "check character", NULL, 0,
         0, 0},
        {"seal", "/C=CN/O=" USCC_A "/CN=35010000000001", "no unit name", NULL, 0, 0, 0},
        {"seal", "/C=CN/O=某某单位/CN=35010000000001", "unified social credit code", NULL, 0, 0, 0},
        {"seal", "/C=CHN/O=" USCC_A UNIT "/CN=35010000000001", "two-letter", NULL, 0, 0, 0},
        {"seal", "/O=" USCC_A UNIT "/CN=35010000000001", "C is required", NULL, 0, 0, 0},
        {"seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000001/emailAddress=a@b.c",
         "emailAddress is not allowed", NULL, 0, 0, 0},
        {"seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000001/CN=35010000000002", "more than one CN",
         NULL, 0, 0, 0},
        {"seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000001", "more than max_days", NULL, 0, 2000,
         0},
        {"seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000001", "takes none", maker_san, 0, 0, 0},
        {"user", "/CN=张三", "seal source: profile user takes none", NULL, ES_SEAL_SOURCE_HRSS, 0,
         0},
        {"user", "/CN= 张三", "leading or trailing spaces", NULL, 0, 0, 0},
        {"user", "/CN=a\x01z", "control character", NULL, 0, 0, 0},
        {"user", "/CN=\xff\xfe", "not valid UTF-8", NULL, 0, 0, 0},
        {"user",
         "/CN="
         "0123456789012345678901234567890123456789012345678901234567890123456789",
         "more than 64", NULL, 0, 0, 0},
        {"maker-system", "/C=CN/ST=福建省/O=福建省人社厅/CN=制作系统", "subjectAltName: required",
         NULL, 0, 0, 0},
        {"maker-system", "/C=CN/O=福建省人社厅/CN=制作系统", "ST is required", maker_san, 0, 0, 0},
        {"user", "/CN=张三", "the issuer's own key", NULL, 0, 0, 1},
        {"user", "/CN=张三", "not a point on the SM2 curve", NULL, 0, 0, 2},
        {"user", "/C=CN/O=人力资源和社会保障部/CN=人社电子印章根 (test)", "same name as the issuer",
         NULL, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t pub[65];
        memcpy(pub, cases[i].use_k2 == 1 ? cac.pub : k1->pub, 65);
        if (cases[i].use_k2 == 2) pub[64] ^= 1;
        rv = issue_pub(ca, cases[i].profile, cases[i].subject, pub, cases[i].san, cases[i].source,
                       cases[i].days, &lint, &out);
        int found = has_msg(&lint, cases[i].want);
        ok(rv == ES_ERR_LINT && found, "lint %zu (%s): want '%s'", i, cases[i].profile,
           cases[i].want);
        if (!found) dump_lint(&lint);
        ok(count_entries(ca) == before && out.len == 0, "lint %zu: nothing issued", i);
    }
    /* Every failure at once. */
    ok(issue_pub(ca, "seal", "/C=cn/O=x/CN=y/emailAddress=z", k1->pub, maker_san,
                 ES_SEAL_SOURCE_NONE, 5000, &lint, &out) == ES_ERR_LINT &&
           lint.n >= 5,
       "every failure listed (%zu)", lint.n);
    ok(issue_pub(ca, "nosuch", "/CN=x", k1->pub, NULL, 0, 0, &lint, &out) == ES_ERR_NOT_FOUND,
       "unknown profile");

    /* The root's pathlen 1 allows an intermediate, whose pathlen 0 forbids a further CA. */
    ok(issue_pub(ca, "intermediate", "/C=CN/O=x/CN=y", k2->pub, NULL, 0, 1000, &lint, &out) ==
           ES_OK,
       "intermediate certificate issued");
    before = count_entries(ca);

    /* Serials: explicit ones linted, random ones unique. */
    es_name un = name_of("/CN=serial test");
    es_ca_request r;
    memset(&r, 0, sizeof r);
    r.profile = "user";
    r.subject = &un;
    r.pub = k1->pub;
    r.not_before = ES_TIME_NONE;
    size_t n;
    const es_ca_entry *e = es_ca_entries(ca, &n);
    es_buf sb;
    es_buf_init(&sb, 64);
    ok(es_hex_decode(e[0].serial, strlen(e[0].serial), &sb) == ES_OK, "serial hex");
    r.serial = sb.p;
    r.serial_len = sb.len;
    out.len = 0;
    ok(es_ca_issue(ca, &r, &lint, &out, NULL) == ES_ERR_LINT && has_msg(&lint, "already issued"),
       "duplicate serial refused");
    static const uint8_t zero[1] = {0}, big[21] = {1};
    r.serial = zero;
    r.serial_len = 1;
    ok(es_ca_issue(ca, &r, &lint, &out, NULL) == ES_ERR_LINT && has_msg(&lint, "positive"),
       "zero serial refused");
    r.serial = big;
    r.serial_len = 21;
    ok(es_ca_issue(ca, &r, &lint, &out, NULL) == ES_ERR_LINT && has_msg(&lint, "20 octets"),
       "21-octet serial refused");
    static const uint8_t top[20] = {0x80};
    r.serial = top;
    r.serial_len = 20;
    ok(es_ca_issue(ca, &r, &lint, &out, NULL) == ES_ERR_LINT && has_msg(&lint, "20 octets"),
       "20 octets with the top bit set need 21 in DER: refused");
    r.serial = NULL;
    r.serial_len = 0;
    int all_ok = 1;
    for (int i = 0; i < 40; i++) {
        char s[2 * ES_PKI_SERIAL_MAX + 1];
        out.len = 0;
        all_ok &= es_ca_issue(ca, &r, &lint, &out, s) == ES_OK && strlen(s) == 32 && s[0] >= '4' &&
                  s[0] <= '7';
    }
    ok(all_ok, "40 certificates issued with 16-octet positive serials");
    e = es_ca_entries(ca, &n);
    int unique = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) unique &= strcmp(e[i].serial, e[j].serial) != 0;
    ok(unique && n == before + 40, "serials unique (%zu entries)", n);
    es_buf kept;
    es_buf_init(&kept, ES_MAX_CERT_DER);
    ok(es_ca_get(ca, NULL, e[n - 1].serial, cert_cb, &kept) == ES_OK && kept.len == out.len &&
           memcmp(kept.p, out.p, out.len) == 0,
       "the certificate is kept in the state");
    es_buf_cleanup(&kept);
    ok(es_ca_get(ca, NULL, "4abc", cert_cb, &kept) == ES_ERR_NOT_FOUND, "get: unknown serial");

    /* Revocation. */
    char s0[64], s1[64], s2[64];
    snprintf(s0, sizeof s0, "0x%s", e[0].serial);
    snprintf(s1, sizeof s1, "%s", e[1].serial);
    for (char *c = s1; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
    snprintf(s2, sizeof s2, "%s", e[2].serial);
    ok(es_ca_revoke(ca, s0, ES_REASON_KEY_COMPROMISE, ES_TIME_NONE) == ES_OK, "revoke (0x...)");
    ok(es_ca_revoke(ca, s0, ES_REASON_SUPERSEDED, ES_TIME_NONE) == ES_ERR_REVOKED,
       "revoked twice refused (ES_ERR_REVOKED)");
    ok(es_ca_revoke(ca, s1, ES_REASON_CERTIFICATE_HOLD, 1790000000) == ES_OK,
       "hold (upper-case serial)");
    ok(es_ca_revoke(ca, s1, ES_REASON_CESSATION, ES_TIME_NONE) == ES_OK, "held, then revoked");
    ok(es_ca_revoke(ca, s2, ES_REASON_REMOVE_FROM_CRL, ES_TIME_NONE) == ES_ERR_ARG,
       "removeFromCRL refused");
    ok(es_ca_revoke(ca, "4abc", ES_REASON_UNSPECIFIED, ES_TIME_NONE) == ES_ERR_NOT_FOUND,
       "unknown serial");
    ok(es_ca_revoke(ca, "xyz", ES_REASON_UNSPECIFIED, ES_TIME_NONE) == ES_ERR_ARG, "not hex");
    ok(es_ca_revoke(ca, s2, ES_REASON_UNSPECIFIED, ES_TIME_NONE) == ES_OK, "unspecified");
    /* A hold released (removeFromCRL): valid again, left out of the CRLs below. */
    ok(es_ca_revoke(ca, e[3].serial, ES_REASON_CERTIFICATE_HOLD, ES_TIME_NONE) == ES_OK &&
           es_ca_revoke(ca, e[3].serial, ES_REASON_REMOVE_FROM_CRL, ES_TIME_NONE) == ES_OK,
       "held, then released (removeFromCRL)");
    ok(es_ca_revoke(ca, e[3].serial, ES_REASON_REMOVE_FROM_CRL, ES_TIME_NONE) == ES_ERR_ARG,
       "released twice: nothing on hold (ES_ERR_ARG)");
    ok(es_ca_revoke(ca, s0, ES_REASON_REMOVE_FROM_CRL, ES_TIME_NONE) == ES_ERR_REVOKED,
       "a certificate revoked for keyCompromise is not released (ES_ERR_REVOKED)");

    /* CRLs: numbered, signed, listing the three with their reasons. */
    es_buf crl, tmp;
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    es_buf_init(&tmp, ES_PKI_MAX_CRL);
    ok(es_ca_crl(ca, 3, NULL, &crl) == ES_OK, "CRL 1");
    es_pki_crl c;
    ok(es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK, "CRL parsed");
    ok(c.has_crl_number && c.crl_number == 1, "cRLNumber 1");
    ok(c.next_update - c.this_update == 3 * 86400, "nextUpdate after 3 days");
    ok(es_slice_eq(c.aki, cac.ski), "CRL AKI = CA SKI");
    ok(es_slice_eq(c.issuer, cac.subject), "CRL issuer = CA subject");
    ok(es_pki_crl_verify(&c, cac.pub, NULL) == ES_OK, "CRL signature (default ID)");
    ok(es_pki_crl_verify(&c, cac.pub, "") == ES_ERR_VERIFY, "not with the empty ID");
    ok(es_pki_crl_verify(&c, k1->pub, NULL) == ES_ERR_VERIFY, "not with another key");
    ok(c.n_revoked == 3, "three revoked (%zu)", c.n_revoked);
    int reasons_ok = c.n_revoked == 3;
    for (size_t i = 0; i < c.n_revoked && reasons_ok; i++) {
        char hex[64];
        es_hex_encode(c.revoked[i].serial, c.revoked[i].serial_len, hex);
        int want = !strcmp(hex, e[0].serial)   ? ES_REASON_KEY_COMPROMISE
                   : !strcmp(hex, e[1].serial) ? ES_REASON_CESSATION
                   : !strcmp(hex, e[2].serial) ? ES_REASON_UNSPECIFIED
                                               : -1;
        reasons_ok &= c.revoked[i].reason == want;
        if (want == ES_REASON_CESSATION) reasons_ok &= c.revoked[i].when == 1790000000;
    }
    ok(reasons_ok, "serials, reasons, and the hold date kept");
    es_pki_crl_cleanup(&c);
    crl.len = tmp.len = 0;
    ok(es_ca_crl(ca, 0, "", &crl) == ES_OK && es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK &&
           c.crl_number == 2 && c.next_update - c.this_update == 7 * 86400,
       "CRL 2, default 7 days");
    ok(es_pki_crl_verify(&c, cac.pub, "") == ES_OK &&
           es_pki_crl_verify(&c, cac.pub, NULL) == ES_ERR_VERIFY,
       "--sm2-id '' CRL signed with the empty ID");
    es_pki_crl_cleanup(&c);
    tmp.len = 0;
    crl.p[crl.len / 2] ^= 1;
    ok(es_pki_crl_parse(crl.p, crl.len, &tmp, &c) != ES_OK ||
           es_pki_crl_verify(&c, cac.pub, "") != ES_OK,
       "tampered CRL refused");
    es_pki_crl_cleanup(&c);
    es_ca_close(ca);

    /* Reopened: the index and the CRL number persisted. */
    ok(es_ca_open(dir, &ca, why, sizeof why) == ES_OK, "reopen");
    e = es_ca_entries(ca, &n);
    ok(n == before + 40 && e[0].status == ES_CA_REVOKED &&
           e[0].reason == ES_REASON_KEY_COMPROMISE && e[3].status == ES_CA_VALID,
       "index read back");
    ok(strcmp(e[0].subject, "/C=CN/O=" USCC_A UNIT "/CN=35010000000001") == 0, "index subject: %s",
       e[0].subject);
    ok(es_ca_login(ca, &good) == ES_OK, "login again");
    crl.len = tmp.len = 0;
    ok(es_ca_crl(ca, 0, NULL, &crl) == ES_OK &&
           es_pki_crl_parse(crl.p, crl.len, &tmp, &c) == ES_OK && c.crl_number == 3,
       "CRL 3 after reopening");
    es_pki_crl_cleanup(&c);

    /* An intermediate CA, issued and recorded by the root. */
    char subref[600];
    snprintf(subref, sizeof subref, "soft:%s#sub", keys);
    es_name sub_name = name_of("/C=CN/ST=福建省/O=福建省人社厅/CN=福建人社印章CA (test)");
    es_ca_init_params sp = p;
    sp.dir = sub;
    sp.key_ref = subref;
    sp.subject = &sub_name;
    sp.parent = ca;
    sp.days = 1000;
    sp.crl_url = NULL;
    rv = es_ca_init(&sp, &lint);
    ok(rv == ES_OK, "init intermediate: %s", es_err_str(rv));
    dump_lint(&lint);
    es_ca *sca = NULL;
    ok(es_ca_open(sub, &sca, why, sizeof why) == ES_OK && es_ca_login(sca, &good) == ES_OK,
       "open intermediate");
    if (sca) {
        ok(es_ca_chain(sca).len > 0, "chain.crt kept");
        rv = issue_pub(sca, "seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000009", k1->pub, NULL, 0,
                       365, &lint, &out);
        ok(rv == ES_OK, "seal certificate from the intermediate");
        dump_lint(&lint);
        es_trust *tr = NULL;
        es_slice extra = es_ca_cert(sca);
        ok(es_trust_new(&tr) == ES_OK &&
               es_trust_add(tr, es_ca_cert(ca).p, es_ca_cert(ca).len, NULL) == ES_OK,
           "root anchor");
        ok(es_trust_verify(tr, es_slice_make(out.p, out.len), &extra, 1, ES_TIME_NONE, why,
                           sizeof why) == ES_OK,
           "leaf -> intermediate -> root verifies (OpenSSL): %s", why);
        ok(es_trust_verify(tr, es_slice_make(out.p, out.len), NULL, 0, ES_TIME_NONE, why,
                           sizeof why) != ES_OK,
           "without the intermediate: no path");
        es_trust_free(tr);
        ok(issue_pub(sca, "intermediate", "/C=CN/O=x/CN=z", k2->pub, NULL, 0, 0, &lint, &out) ==
                   ES_ERR_LINT &&
               has_msg(&lint, "pathlen 0 forbids"),
           "pathlen 0 forbids a further CA");
        ok(issue_pub(sca, "seal", "/C=CN/O=" USCC_A UNIT "/CN=35010000000009", k1->pub, NULL, 0,
                     1500, &lint, &out) == ES_ERR_LINT &&
               has_msg(&lint, "after the issuer's"),
           "outliving the issuing CA refused");
        es_ca_close(sca);
    }
    size_t root_n = count_entries(ca);
    e = es_ca_entries(ca, &n);
    ok(root_n == before + 41 && !strcmp(e[root_n - 1].profile, "intermediate"),
       "the intermediate recorded in the root's index");
    es_ca_close(ca);

    /* A key that does not belong to ca.crt. */
    char cfg[1024], buf[4096];
    path_in(cfg, sizeof cfg, "root/config");
    es_buf text = t_read(cfg);
    ok(es_buf_nul(&text) == ES_OK, "config");
    char *hash = strstr((char *)text.p, "#root");
    ok(hash != NULL, "config names the key");
    if (hash) {
        memcpy(hash, "#sub\n", 5);
        memmove(hash + 4, hash + 5, strlen(hash + 5) + 1);
        snprintf(buf, sizeof buf, "%s", (char *)text.p);
        ok(es_file_write(cfg, buf, strlen(buf)) == ES_OK, "rewrite config");
        ok(es_ca_open(dir, &ca, why, sizeof why) == ES_OK &&
               es_ca_login(ca, &good) == ES_ERR_KEY_MISMATCH,
           "key mismatch refused");
        es_ca_close(ca);
        const char *badcfg = "[ca]\nkey = soft:x#y\nfrob = 1\n";
        ok(es_file_write(cfg, badcfg, strlen(badcfg)) == ES_OK, "bad config");
        ca = NULL;
        ok(es_ca_open(dir, &ca, why, sizeof why) == ES_ERR_CONFIG && strstr(why, "frob"),
           "bad config named: %s", why);
    }
    ok(es_ca_open(g_tmp, &ca, why, sizeof why) == ES_ERR_NOT_FOUND, "no CA in a directory");
    es_buf_cleanup(&text);
    es_buf_cleanup(&sb);
    es_buf_cleanup(&crl);
    es_buf_cleanup(&tmp);
    es_buf_cleanup(&out);
    es_signer_free(k1);
    es_signer_free(k2);
}

/* Empty PEM blocks (found by fuzz_pki: an empty block left no buffer, and the DER reader got
 * NULL + 0): refused as malformed. */
static void test_empty_pem(void)
{
    static const char *const in[] = {
        "-----BEGIN X509 CRL----------END X509 CRL-----",
        "-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        es_buf tmp;
        es_buf_init(&tmp, 4096);
        es_pki_crl crl;
        es_pki_csr csr;
        es_err a = es_pki_crl_parse((const uint8_t *)in[i], strlen(in[i]), &tmp, &crl);
        tmp.len = 0;
        es_err b = es_pki_csr_parse((const uint8_t *)in[i], strlen(in[i]), &tmp, &csr);
        ok(a != ES_OK && b != ES_OK, "an empty PEM block is no CRL and no request (%zu)", i);
        es_buf_cleanup(&tmp);
    }
}

/* es_trust with CRLs (es_trust_add_crl), the times that decide: tests/data's root signs CRLs
 * about signer.crt, which it issued. */
static es_buf crl_of(es_signer *root, const es_x509 *rc, es_time tu, es_time nu,
                     const es_pki_revoked *rev, size_t n, const char *id)
{
    es_buf out;
    es_buf_init(&out, 1u << 16);
    es_pki_tbs_crl t;
    memset(&t, 0, sizeof t);
    t.issuer = rc->subject;
    t.this_update = tu;
    t.next_update = nu;
    t.crl_number = 1;
    t.revoked = rev;
    t.n_revoked = n;
    t.sm2_id = id;
    if (es_pki_crl_make(&t, root, &out) != ES_OK) {
        fprintf(stderr, "cannot make a CRL\n");
        exit(2);
    }
    return out;
}

static es_err trust_with(const es_buf *root_der, const es_buf *crl, const es_buf *leaf, es_time at,
                         char *why, size_t whylen)
{
    es_trust *t = NULL;
    int added = 0;
    es_err rv = es_trust_new(&t);
    if (rv == ES_OK) rv = es_trust_add(t, root_der->p, root_der->len, &added);
    if (rv == ES_OK && crl) rv = es_trust_add_crl(t, crl->p, crl->len, &added);
    if (rv == ES_OK)
        rv = es_trust_verify(t, es_slice_make(leaf->p, leaf->len), NULL, 0, at, why, whylen);
    es_trust_free(t);
    return rv;
}

static void test_crl_trust(void)
{
    const es_time day = 86400, now = es_time_now();
    es_signer *root = t_signer("root.key");
    es_buf root_der = t_cert("root.crt"), leaf = t_cert("signer.crt");
    es_x509 rc, lc;
    char why[300];
    if (es_x509_parse(es_slice_make(root_der.p, root_der.len), 0, &rc) != ES_OK ||
        es_x509_parse(es_slice_make(leaf.p, leaf.len), 0, &lc) != ES_OK) {
        fprintf(stderr, "fixtures\n");
        exit(2);
    }
    es_pki_revoked rev;
    memset(&rev, 0, sizeof rev);
    memcpy(rev.serial, lc.serial.p, lc.serial.len);
    rev.serial_len = lc.serial.len;
    rev.when = now - 2 * day;
    rev.reason = 1; /* keyCompromise */
    ok(trust_with(&root_der, NULL, &leaf, ES_TIME_NONE, why, sizeof why) == ES_OK,
       "crl: no CRL, the chain alone");
    /* A current CRL listing the certificate since two days ago. */
    es_buf cur = crl_of(root, &rc, now - day, now + 6 * day, &rev, 1, NULL);
    ok(trust_with(&root_der, &cur, &leaf, ES_TIME_NONE, why, sizeof why) == ES_ERR_REVOKED &&
           strstr(why, "keyCompromise"),
       "crl: revoked now (%s)", why);
    ok(trust_with(&root_der, &cur, &leaf, now - 3 * day, why, sizeof why) == ES_OK,
       "crl: not yet revoked three days ago (a revocation after the time does not undo it)");
    es_buf_cleanup(&cur);
    /* The same with the empty ID (CRLs made for OpenSSL 3.0). */
    es_buf empty = crl_of(root, &rc, now - day, now + 6 * day, &rev, 1, "");
    ok(trust_with(&root_der, &empty, &leaf, ES_TIME_NONE, why, sizeof why) == ES_ERR_REVOKED,
       "crl: the empty-ID signature is accepted");
    es_buf_cleanup(&empty);
    /* Not listed, but out of date: issued an hour after the certificate, next update an hour
     * later (the fixtures are days old). */
    const es_time nb = lc.not_before;
    es_buf old = crl_of(root, &rc, nb + 3600, nb + 7200, NULL, 0, NULL);
    ok(trust_with(&root_der, &old, &leaf, ES_TIME_NONE, why, sizeof why) == ES_ERR_NOT_FOUND &&
           strstr(why, "out of date"),
       "crl: an out-of-date CRL speaks not for now (%s)", why);
    ok(trust_with(&root_der, &old, &leaf, nb + 60, why, sizeof why) == ES_OK,
       "crl: ... but for a time before it was issued");
    es_buf_cleanup(&old);
    /* A CRL another key signed (the issuer's name, not its key) is ignored. */
    es_signer *other = t_signer("other.key");
    es_buf forged = crl_of(other, &rc, now - day, now + 6 * day, NULL, 0, NULL);
    ok(trust_with(&root_der, &forged, &leaf, ES_TIME_NONE, why, sizeof why) == ES_ERR_NOT_FOUND &&
           strstr(why, "no CRL signed by its issuer"),
       "crl: a CRL in the issuer's name signed by another key is not believed (%s)", why);
    es_buf_cleanup(&forged);
    es_signer_free(other);
    /* Not a CRL. */
    es_trust *t = NULL;
    int added = -1;
    ok(es_trust_new(&t) == ES_OK &&
           es_trust_add_crl(t, root_der.p, root_der.len, &added) == ES_ERR_FORMAT && added == 0 &&
           es_trust_crl_count(t) == 0,
       "crl: a certificate is no CRL");
    es_trust_free(t);
    es_buf_cleanup(&root_der);
    es_buf_cleanup(&leaf);
    es_signer_free(root);
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "%s/eseal-pki.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_uscc();
    test_names();
    test_profiles();
    test_certs();
    test_csr();
    test_ca();
    test_empty_pem();
    test_crl_trust();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return t_done();
}
