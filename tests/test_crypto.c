/* crypto: SM3 known answers, SM2 Z/e and interop with the OpenSSL command line, signing and
 * verifying, signature value decoding, key PEM, certificates, chain trust and the in-memory
 * signer. Fixtures are in tests/data (made by make-fixtures.sh with the OpenSSL CLI). */
#include "test.h"

#include "eseal/crypto.h"
#include "eseal/der.h"
#include "eseal/signer.h"

#define Q(bit) ES_QUIRK(bit)

/* t_rnd's state: a fixed seed, so that a failure can be reproduced. */
static uint32_t rnd_state = 0x2545f491u;

static int unhex(const char *hex, uint8_t *out, size_t n)
{
    es_buf b;
    es_buf_init(&b, n);
    int good = es_hex_decode(hex, strlen(hex), &b) == ES_OK && b.len == n;
    if (good) memcpy(out, b.p, n);
    es_buf_cleanup(&b);
    return good;
}

static int eq_hex(const uint8_t *p, size_t n, const char *hex)
{
    char tmp[256];
    if (2 * n + 1 > sizeof tmp) return 0;
    es_hex_encode(p, n, tmp);
    return strcmp(tmp, hex) == 0;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0) return hay + i;
    return NULL;
}

static void cert_pub(const char *name, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_buf der = t_cert(name);
    es_cert_info ci;
    if (es_cert_parse(es_slice_make(der.p, der.len), &ci) != ES_OK || !ci.is_sm2) {
        fprintf(stderr, "no SM2 key in %s\n", name);
        exit(2);
    }
    memcpy(pub, ci.pub, ES_SM2_PUB_LEN);
    es_cert_info_cleanup(&ci);
    es_buf_cleanup(&der);
}

/* The body of a PEM block, base64-decoded. */
static int pem_body(const uint8_t *pem, size_t len, es_buf *der)
{
    const char *end = (const char *)pem + len;
    const char *a = (const char *)find(pem, len, "-----\n", 6);
    if (!a) return 0;
    a += 6;
    const char *z = (const char *)find((const uint8_t *)a, (size_t)(end - a), "-----END", 8);
    return z && es_base64_decode(a, (size_t)(z - a), der) == ES_OK;
}

static void test_sm3(void)
{
    uint8_t h[ES_SM3_LEN];
    /* GB/T 32905-2016 Appendix A. */
    ok(es_sm3("abc", 3, h) == ES_OK &&
           eq_hex(h, 32, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
       "SM3(\"abc\")");
    char abcd[65] = "";
    for (int i = 0; i < 16; i++) strcat(abcd, "abcd");
    ok(es_sm3(abcd, 64, h) == ES_OK &&
           eq_hex(h, 32, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
       "SM3(\"abcd\" x 16)");
    ok(es_sm3("", 0, h) == ES_OK &&
           eq_hex(h, 32, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"),
       "SM3(\"\")");

    es_sm3_ctx *c = NULL;
    ok(es_sm3_new(&c) == ES_OK && es_sm3_update(c, "ab", 2) == ES_OK &&
           es_sm3_update(c, "", 0) == ES_OK && es_sm3_update(c, "c", 1) == ES_OK &&
           es_sm3_final(c, h) == ES_OK &&
           eq_hex(h, 32, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
       "streaming SM3(\"abc\")");
    es_sm3_free(c);
    es_sm3_free(NULL);

    /* Streaming equals one-shot over random splits of random data. */
    static uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)t_rnd(&rnd_state);
    int same = 1;
    for (int trial = 0; trial < 60; trial++) {
        size_t n =
            trial < 10 ? (size_t)trial * 64 + (size_t)trial : t_rnd(&rnd_state) % (sizeof data + 1);
        uint8_t one[32], two[32];
        if (es_sm3(data, n, one) != ES_OK || es_sm3_new(&c) != ES_OK) {
            same = 0;
            break;
        }
        size_t pos = 0;
        while (pos < n) {
            size_t k = t_rnd(&rnd_state) % 3 == 0 ? t_rnd(&rnd_state) % 3 : t_rnd(&rnd_state) % 200;
            if (k > n - pos) k = n - pos;
            if (es_sm3_update(c, data + pos, k) != ES_OK) same = 0;
            pos += k;
        }
        if (es_sm3_final(c, two) != ES_OK || memcmp(one, two, 32) != 0) {
            same = 0;
            fprintf(stderr, "  streaming differs for %zu bytes\n", n);
        }
        es_sm3_free(c);
    }
    ok(same, "streaming SM3 equals one-shot over random splits");
}

/* GM/T 0003.5-2012 Appendix A: signature example on the recommended curve. */
static const char *std_d = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
static const char *std_pub = "04"
                             "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
                             "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
static const char *std_z = "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3";
static const char *std_e = "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640";
static const char *std_r = "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3";
static const char *std_s = "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa";

static void test_z_digest(void)
{
    uint8_t pub[65], z[32], e[32], r[32], s[32];
    (void)std_d;
    ok(unhex(std_pub, pub, 65) && unhex(std_r, r, 32) && unhex(std_s, s, 32), "vector parses");
    ok(es_sm2_z(pub, ES_SM2_DEFAULT_ID, 16, z) == ES_OK && eq_hex(z, 32, std_z),
       "Z of the standard example");
    ok(es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, "message digest", 14, e) == ES_OK &&
           eq_hex(e, 32, std_e),
       "e of the standard example");
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_OK, "the standard example's signature verifies");
    e[31] ^= 1;
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_ERR_VERIFY, "standard example, other digest");

    /* e = SM3(Z || M), computed here from the pieces. */
    es_sm3_ctx *c = NULL;
    uint8_t e2[32];
    ok(es_sm3_new(&c) == ES_OK && es_sm3_update(c, z, 32) == ES_OK &&
           es_sm3_update(c, "message digest", 14) == ES_OK && es_sm3_final(c, e2) == ES_OK &&
           es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, "message digest", 14, e) == ES_OK &&
           memcmp(e, e2, 32) == 0,
       "e = SM3(Z || M)");
    es_sm3_free(c);

    uint8_t z2[32];
    ok(es_sm2_z(pub, "1234567812345679", 16, z2) == ES_OK && memcmp(z, z2, 32) != 0,
       "the ID changes Z");
    ok(es_sm2_z(pub, "", 0, z2) == ES_OK && memcmp(z, z2, 32) != 0, "an empty ID is allowed");
    static char long_id[ES_SM2_MAX_ID + 1];
    memset(long_id, 'i', sizeof long_id);
    ok(es_sm2_z(pub, long_id, ES_SM2_MAX_ID, z2) == ES_OK, "ID of %d bytes allowed", ES_SM2_MAX_ID);
    ok(es_sm2_z(pub, long_id, ES_SM2_MAX_ID + 1, z2) == ES_ERR_ARG,
       "ID longer than ENTL can count refused");
    pub[0] = 0x02;
    ok(es_sm2_z(pub, "1", 1, z2) == ES_ERR_ARG, "a compressed point refused");
}

static void test_openssl_interop(void)
{
    es_buf msg = t_data("openssl_msg.bin"), sig = t_data("openssl_msg.sig");
    uint8_t pub[65], e[32], r[32], s[32];
    cert_pub("signer.crt", pub);
    es_quirks q = 0;
    ok(es_sm2_sig_decode(es_slice_make(sig.p, sig.len), r, s, &q) == ES_OK && q == 0,
       "the OpenSSL signature is canonical DER");
    ok(es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, msg.p, msg.len, e) == ES_OK, "digest");
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_OK,
       "signature made by `openssl dgst -sm3 -sign` verifies");

    ok(es_sm2_digest(pub, "1234567812345679", 16, msg.p, msg.len, e) == ES_OK &&
           es_sm2_verify_digest(pub, e, r, s) == ES_ERR_VERIFY,
       "with another ID it does not");
    msg.p[msg.len - 1] ^= 1;
    ok(es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, msg.p, msg.len, e) == ES_OK &&
           es_sm2_verify_digest(pub, e, r, s) == ES_ERR_VERIFY,
       "over a changed message it does not");
    msg.p[msg.len - 1] ^= 1;
    uint8_t other[65];
    cert_pub("other.crt", other);
    ok(es_sm2_digest(other, ES_SM2_DEFAULT_ID, 16, msg.p, msg.len, e) == ES_OK &&
           es_sm2_verify_digest(other, e, r, s) == ES_ERR_VERIFY,
       "under another key it does not");

    /* Truncated and trailing signature values. */
    ok(es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, msg.p, msg.len, e) == ES_OK, "digest again");
    int refused = 1;
    for (size_t n = 0; n < sig.len; n++) {
        uint8_t *cut = malloc(n ? n : 1), r2[32], s2[32];
        if (!cut) exit(2);
        memcpy(cut, sig.p, n);
        q = 0;
        es_err rv = es_sm2_sig_decode(es_slice_make(cut, n), r2, s2, &q);
        /* 64 bytes are read as raw r||s, which cannot verify. */
        if (rv == ES_OK && !(n == 64 && q == Q(ES_QUIRK_RAW_SIGNATURE) &&
                             es_sm2_verify_digest(pub, e, r2, s2) == ES_ERR_VERIFY)) {
            refused = 0;
            fprintf(stderr, "  prefix of %zu bytes accepted\n", n);
        }
        free(cut);
    }
    ok(refused, "every truncation of the OpenSSL signature is refused");
    ok(es_buf_append_byte(&sig, 0x00) == ES_OK &&
           es_sm2_sig_decode(es_slice_make(sig.p, sig.len), r, s, NULL) == ES_ERR_SIG_FORMAT,
       "a trailing byte is refused");
    es_buf_cleanup(&msg);
    es_buf_cleanup(&sig);
}

/* Signs and verifies with k; flips every bit of e, r and s and expects each to fail. */
static void sign_verify(es_sm2_key *k, const uint8_t other_pub[65], const char *what)
{
    uint8_t pub[65], e[32], r[32], s[32];
    es_sm2_key_pub(k, pub);
    ok(pub[0] == 0x04, "%s: uncompressed public key", what);
    ok(es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, what, strlen(what), e) == ES_OK &&
           es_sm2_key_sign_digest(k, e, r, s) == ES_OK,
       "%s: sign", what);
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_OK, "%s: verify", what);
    uint8_t r2[32], s2[32];
    ok(es_sm2_key_sign_digest(k, e, r2, s2) == ES_OK && memcmp(r, r2, 32) != 0 &&
           es_sm2_verify_digest(pub, e, r2, s2) == ES_OK,
       "%s: a second signature is fresh and verifies too", what);

    int bad_e = 0, bad_r = 0, bad_s = 0;
    for (int bit = 0; bit < 256; bit++) {
        e[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        bad_e += es_sm2_verify_digest(pub, e, r, s) == ES_ERR_VERIFY;
        e[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        r[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        bad_r += es_sm2_verify_digest(pub, e, r, s) != ES_OK;
        r[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        bad_s += es_sm2_verify_digest(pub, e, r, s) != ES_OK;
        s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    ok(bad_e == 256, "%s: every flipped digest bit fails (%d/256)", what, bad_e);
    ok(bad_r == 256, "%s: every flipped r bit fails (%d/256)", what, bad_r);
    ok(bad_s == 256, "%s: every flipped s bit fails (%d/256)", what, bad_s);
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_OK, "%s: unchanged after the flips", what);
    ok(es_sm2_verify_digest(pub, e, s, r) != ES_OK, "%s: r and s swapped fail", what);
    ok(es_sm2_verify_digest(other_pub, e, r, s) == ES_ERR_VERIFY, "%s: another key fails", what);

    /* Out-of-range values: 0 and the group order n. */
    static const char *n_hex = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123";
    uint8_t zero[32] = {0}, n[32];
    ok(unhex(n_hex, n, 32), "n parses");
    ok(es_sm2_verify_digest(pub, e, zero, s) != ES_OK, "%s: r = 0 fails", what);
    ok(es_sm2_verify_digest(pub, e, r, zero) != ES_OK, "%s: s = 0 fails", what);
    ok(es_sm2_verify_digest(pub, e, n, s) != ES_OK, "%s: r = n fails", what);
    ok(es_sm2_verify_digest(pub, e, r, n) != ES_OK, "%s: s = n fails", what);

    /* A point off the curve. */
    uint8_t bad_pub[65];
    memcpy(bad_pub, pub, 65);
    bad_pub[64] ^= 1;
    ok(es_sm2_verify_digest(bad_pub, e, r, s) != ES_OK, "%s: a point off the curve fails", what);
}

static void test_sign_verify(void)
{
    es_sm2_key *a = NULL, *b = NULL;
    uint8_t pa[65], pb[65];
    ok(es_sm2_key_generate(&a) == ES_OK && es_sm2_key_generate(&b) == ES_OK, "generate two keys");
    es_sm2_key_pub(a, pa);
    es_sm2_key_pub(b, pb);
    ok(memcmp(pa, pb, 65) != 0, "they differ");
    sign_verify(a, pb, "generated key");
    es_sm2_key_free(a);
    es_sm2_key_free(b);
    es_sm2_key_free(NULL);

    static const char *names[] = {"root", "maker", "signer", "other"};
    for (size_t i = 0; i < 4; i++) {
        char kf[32], cf[32], of[32];
        snprintf(kf, sizeof kf, "%s.key", names[i]);
        snprintf(cf, sizeof cf, "%s.crt", names[i]);
        snprintf(of, sizeof of, "%s.crt", names[(i + 1) % 4]);
        es_sm2_key *k = t_key(kf);
        uint8_t pub[65], cp[65], op[65];
        es_sm2_key_pub(k, pub);
        cert_pub(cf, cp);
        cert_pub(of, op);
        ok(memcmp(pub, cp, 65) == 0, "%s belongs to %s", kf, cf);
        sign_verify(k, op, kf);
        es_sm2_key_free(k);
    }
}

/* es_sm2_key_from_pair: d with its public point, without d*G: signs as the original key;
 * refuses d = 0, d >= n and a point that is not one. */
static void test_key_from_pair(void)
{
    es_sm2_key *a = NULL, *b = NULL;
    uint8_t d[32], pub[65], pb[65], e[32], r[32], s[32];
    ok(es_sm2_key_generate(&a) == ES_OK && es_sm2_key_private(a, d) == ES_OK, "pair: a key");
    es_sm2_key_pub(a, pub);
    ok(es_sm2_key_from_pair(d, pub, &b) == ES_OK, "pair: from d and its point");
    es_sm2_key_pub(b, pb);
    ok(memcmp(pub, pb, 65) == 0, "pair: the same public key");
    ok(es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, "pair", 4, e) == ES_OK &&
           es_sm2_key_sign_digest(b, e, r, s) == ES_OK &&
           es_sm2_verify_digest(pub, e, r, s) == ES_OK,
       "pair: signs, verified under the original point");
    es_sm2_key_free(b);
    b = NULL;
    uint8_t zero[32] = {0}, big[32];
    memset(big, 0xff, sizeof big);
    ok(es_sm2_key_from_pair(zero, pub, &b) == ES_ERR_KEY && !b, "pair: d = 0 refused");
    ok(es_sm2_key_from_pair(big, pub, &b) == ES_ERR_KEY && !b, "pair: d >= n refused");
    uint8_t off[65];
    memcpy(off, pub, 65);
    off[64] ^= 1;
    ok(es_sm2_key_from_pair(d, off, &b) == ES_ERR_KEY && !b, "pair: a point off the curve refused");
    off[64] ^= 1;
    off[0] = 0x02;
    ok(es_sm2_key_from_pair(d, off, &b) == ES_ERR_KEY && !b, "pair: not an uncompressed point");
    es_wipe(d, sizeof d);
    es_sm2_key_free(a);
}

static void test_sig_codec(void)
{
    uint8_t r[32], s[32], r2[32], s2[32];
    for (int i = 0; i < 32; i++) r[i] = (uint8_t)(0x81 + i), s[i] = (uint8_t)(0x11 + i);
    es_buf b;
    es_buf_init(&b, 256);
    es_quirks q = 0;

    /* Canonical DER: r needs a sign octet, s does not. */
    ok(es_sm2_sig_encode(r, s, &b) == ES_OK && b.len == 2 + 35 + 34 && b.p[0] == 0x30 &&
           b.p[1] == 69 && b.p[2] == 0x02 && b.p[3] == 33 && b.p[4] == 0x00 && b.p[37] == 0x02 &&
           b.p[38] == 32 && memcmp(b.p + 5, r, 32) == 0 && memcmp(b.p + 39, s, 32) == 0,
       "sig_encode: SEQUENCE { INTEGER 00||r, INTEGER s }");
    ok(es_sm2_sig_decode(es_slice_make(b.p, b.len), r2, s2, &q) == ES_OK && q == 0 &&
           memcmp(r, r2, 32) == 0 && memcmp(s, s2, 32) == 0,
       "sig_decode of canonical DER, no quirks");
    ok(es_sm2_sig_decode(es_slice_make(b.p, b.len), r2, s2, NULL) == ES_OK, "quirks may be NULL");

    /* Leading zeros are stripped. */
    uint8_t rz[32] = {0}, sz[32] = {0};
    rz[31] = 1;
    sz[30] = 0x80;
    b.len = 0;
    static const uint8_t small[] = {0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x03, 0x00, 0x80, 0x00};
    ok(es_sm2_sig_encode(rz, sz, &b) == ES_OK && b.len == sizeof small &&
           memcmp(b.p, small, sizeof small) == 0,
       "sig_encode strips leading zeros: 30 08 02 01 01 02 03 00 80 00");
    ok(es_sm2_sig_decode(es_slice_make(b.p, b.len), r2, s2, &q) == ES_OK &&
           memcmp(r2, rz, 32) == 0 && memcmp(s2, sz, 32) == 0,
       "and decodes back right-aligned");

    /* Raw 64-byte r||s. */
    uint8_t raw[64];
    memcpy(raw, r, 32);
    memcpy(raw + 32, s, 32);
    q = 0;
    ok(es_sm2_sig_decode(es_slice_make(raw, 64), r2, s2, &q) == ES_OK &&
           q == Q(ES_QUIRK_RAW_SIGNATURE) && memcmp(r, r2, 32) == 0 && memcmp(s, s2, 32) == 0,
       "raw r||s, quirk raw_signature");

    /* r without its sign octet. */
    uint8_t nosign[2 + 34 + 34];
    size_t k = 0;
    nosign[k++] = 0x30, nosign[k++] = 68;
    nosign[k++] = 0x02, nosign[k++] = 32;
    memcpy(nosign + k, r, 32), k += 32;
    nosign[k++] = 0x02, nosign[k++] = 32;
    memcpy(nosign + k, s, 32), k += 32;
    q = 0;
    ok(es_sm2_sig_decode(es_slice_make(nosign, k), r2, s2, &q) == ES_OK &&
           q == Q(ES_QUIRK_INT_NO_SIGN_OCTET) && memcmp(r, r2, 32) == 0 && memcmp(s, s2, 32) == 0,
       "r without sign octet: quirk integer_no_sign_octet (%llx)", (unsigned long long)q);

    /* s padded with two zero octets. */
    uint8_t padded[2 + 35 + 36];
    k = 0;
    padded[k++] = 0x30, padded[k++] = 71;
    padded[k++] = 0x02, padded[k++] = 33, padded[k++] = 0x00;
    memcpy(padded + k, r, 32), k += 32;
    padded[k++] = 0x02, padded[k++] = 34, padded[k++] = 0x00, padded[k++] = 0x00;
    memcpy(padded + k, s, 32), k += 32;
    q = 0;
    ok(es_sm2_sig_decode(es_slice_make(padded, k), r2, s2, &q) == ES_OK &&
           q == Q(ES_QUIRK_INT_PADDED) && memcmp(r, r2, 32) == 0 && memcmp(s, s2, 32) == 0,
       "zero-padded s: quirk integer_padded (%llx)", (unsigned long long)q);

    /* A DER value of exactly 64 bytes (r and s of 29 bytes each) is DER, not raw. */
    uint8_t der64[64];
    k = 0;
    der64[k++] = 0x30, der64[k++] = 62;
    der64[k++] = 0x02, der64[k++] = 29;
    memcpy(der64 + k, s + 3, 29), k += 29;
    der64[k++] = 0x02, der64[k++] = 29;
    memcpy(der64 + k, s + 3, 29), k += 29;
    uint8_t expect[32] = {0};
    memcpy(expect + 3, s + 3, 29);
    q = 0;
    ok(k == 64 && es_sm2_sig_decode(es_slice_make(der64, 64), r2, s2, &q) == ES_OK && q == 0 &&
           memcmp(r2, expect, 32) == 0 && memcmp(s2, expect, 32) == 0,
       "a 64-byte DER signature is read as DER (quirks %llx)", (unsigned long long)q);

    /* Refused. */
    uint8_t buf[80];
    memset(buf, 0, sizeof buf);
    ok(es_sm2_sig_decode(ES_SLICE_NULL, r2, s2, NULL) == ES_ERR_SIG_FORMAT, "empty refused");
    ok(es_sm2_sig_decode(es_slice_make("hello", 5), r2, s2, NULL) == ES_ERR_SIG_FORMAT,
       "text refused");
    ok(es_sm2_sig_decode(es_slice_make(raw, 63), r2, s2, NULL) == ES_ERR_SIG_FORMAT,
       "63 raw bytes refused");
    memcpy(buf, raw, 64);
    ok(es_sm2_sig_decode(es_slice_make(buf, 65), r2, s2, NULL) == ES_ERR_SIG_FORMAT,
       "65 raw bytes refused");
    static const struct {
        const char *what;
        uint8_t b[16];
        size_t n;
    } bad[] = {
        {"one INTEGER", {0x30, 0x03, 0x02, 0x01, 0x01}, 5},
        {"three INTEGERs", {0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 11},
        {"NULL inside", {0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00}, 10},
        {"trailing byte", {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}, 9},
        {"SET", {0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 8},
        {"OCTET STRING r", {0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01}, 8},
        {"empty INTEGER", {0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01}, 7},
        {"length past input", {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 8},
        {"empty SEQUENCE", {0x30, 0x00}, 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(es_sm2_sig_decode(es_slice_make(bad[i].b, bad[i].n), r2, s2, NULL) == ES_ERR_SIG_FORMAT,
           "%s refused", bad[i].what);
    /* r of 33 significant bytes. */
    uint8_t big[2 + 35 + 3];
    k = 0;
    big[k++] = 0x30, big[k++] = 38;
    big[k++] = 0x02, big[k++] = 33, big[k++] = 0x01;
    memcpy(big + k, r, 32), k += 32;
    big[k++] = 0x02, big[k++] = 0x01, big[k++] = 0x01;
    ok(es_sm2_sig_decode(es_slice_make(big, k), r2, s2, NULL) == ES_ERR_SIG_FORMAT,
       "r of 33 bytes refused");
    es_buf_cleanup(&b);
}

static void test_key_pem(void)
{
    es_sm2_key *k = NULL, *k2 = NULL;
    uint8_t pub[65], pub2[65];
    ok(es_sm2_key_generate(&k) == ES_OK, "generate");
    es_sm2_key_pub(k, pub);
    es_buf pem;
    es_buf_init(&pem, ES_MAX_KEY_FILE);

    ok(es_sm2_key_to_pem(k, NULL, &pem) == ES_OK &&
           find(pem.p, pem.len, "-----BEGIN PRIVATE KEY-----", 27) != NULL,
       "plain PEM PKCS#8");
    ok(es_sm2_key_from_pem(pem.p, pem.len, NULL, &k2) == ES_OK, "read it back");
    if (k2) {
        es_sm2_key_pub(k2, pub2);
        ok(memcmp(pub, pub2, 65) == 0, "same public key");
        uint8_t e[32] = {1, 2, 3}, r[32], s[32];
        ok(es_sm2_key_sign_digest(k2, e, r, s) == ES_OK &&
               es_sm2_verify_digest(pub, e, r, s) == ES_OK,
           "the key read back signs for the original public key");
        es_sm2_key_free(k2);
        k2 = NULL;
    }
    /* A passphrase given for a plain key is ignored. */
    ok(es_sm2_key_from_pem(pem.p, pem.len, "unused", &k2) == ES_OK, "plain key with a pass");
    es_sm2_key_free(k2);
    k2 = NULL;

    /* DER PKCS#8 (the same bytes without the PEM armour). */
    es_buf der;
    es_buf_init(&der, ES_MAX_KEY_FILE);
    ok(pem_body(pem.p, pem.len, &der) && der.p[0] == 0x30, "PEM body decodes");
    ok(es_sm2_key_from_pem(der.p, der.len, NULL, &k2) == ES_OK, "DER PKCS#8 reads");
    if (k2) {
        es_sm2_key_pub(k2, pub2);
        ok(memcmp(pub, pub2, 65) == 0, "DER: same public key");
        es_sm2_key_free(k2);
        k2 = NULL;
    }
    es_buf_cleanup(&der);

    pem.len = 0;
    ok(es_sm2_key_to_pem(k, "", &pem) == ES_OK &&
           find(pem.p, pem.len, "-----BEGIN PRIVATE KEY-----", 27) != NULL,
       "an empty passphrase writes a plain key");

    /* Encrypted. */
    pem.len = 0;
    ok(es_sm2_key_to_pem(k, "s3cret passphrase", &pem) == ES_OK &&
           find(pem.p, pem.len, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) != NULL,
       "encrypted PEM PKCS#8");
    es_buf_init(&der, ES_MAX_KEY_FILE);
    /* PBES2 with scrypt (memory-hard) and SM4-CBC, as the contract says. */
    static const uint8_t pbes2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d};
    static const uint8_t pbkdf2[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                     0xda, 0x47, 0x04, 0x0b}; /* scrypt 1.3.6.1.4.1.11591.4.11 */
    static const uint8_t sm4cbc[] = {0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x02};
    ok(pem_body(pem.p, pem.len, &der) && find(der.p, der.len, pbes2, sizeof pbes2) &&
           find(der.p, der.len, pbkdf2, sizeof pbkdf2) &&
           find(der.p, der.len, sm4cbc, sizeof sm4cbc),
       "encrypted with PBES2, scrypt and SM4-CBC");
    es_buf_cleanup(&der);
    ok(es_sm2_key_from_pem(pem.p, pem.len, "s3cret passphrase", &k2) == ES_OK,
       "read with the right passphrase");
    if (k2) {
        es_sm2_key_pub(k2, pub2);
        ok(memcmp(pub, pub2, 65) == 0, "encrypted: same public key");
        es_sm2_key_free(k2);
        k2 = NULL;
    }
    ok(es_sm2_key_from_pem(pem.p, pem.len, "s3cret passphrasE", &k2) == ES_ERR_KEY,
       "wrong passphrase: ES_ERR_KEY");
    ok(es_sm2_key_from_pem(pem.p, pem.len, NULL, &k2) == ES_ERR_KEY, "no passphrase: ES_ERR_KEY");
    ok(es_sm2_key_from_pem(pem.p, pem.len, "", &k2) == ES_ERR_KEY, "empty passphrase: ES_ERR_KEY");

    /* Public key PEM: SubjectPublicKeyInfo ending in the point. */
    es_buf pp;
    es_buf_init(&pp, 4096);
    es_buf_init(&der, 4096);
    ok(es_sm2_key_pub_pem(k, &pp) == ES_OK &&
           find(pp.p, pp.len, "-----BEGIN PUBLIC KEY-----", 26) != NULL &&
           pem_body(pp.p, pp.len, &der) && der.len > 65 &&
           memcmp(der.p + der.len - 65, pub, 65) == 0,
       "public key PEM holds the point");
    es_buf_cleanup(&pp);
    es_buf_cleanup(&der);

    /* Not SM2 keys, and not keys at all. */
    static const char p256[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkFwiL4PPsxkptU5I\n"
                               "3QrJ75IUgvSCnN7jAegE/PIY9MahRANCAATtqpCuohoySijDta9G3cGh4HHUyXuK\n"
                               "EwLnv1VMb3itdBiXKTo+t0NZ04THMdpBQiw1cQ6QOwMTGZFWrGiFO8Fc\n"
                               "-----END PRIVATE KEY-----\n";
    ok(es_sm2_key_from_pem((const uint8_t *)p256, strlen(p256), NULL, &k2) == ES_ERR_KEY,
       "a P-256 key is refused");
    ok(es_sm2_key_from_pem((const uint8_t *)"garbage", 7, NULL, &k2) == ES_ERR_KEY,
       "garbage is refused");
    es_buf plain = t_data("signer.key");
    ok(es_sm2_key_from_pem(plain.p, plain.len / 2, NULL, &k2) == ES_ERR_KEY,
       "a truncated PEM key is refused");
    es_buf crt = t_data("signer.crt");
    ok(es_sm2_key_from_pem(crt.p, crt.len, NULL, &k2) == ES_ERR_KEY, "a certificate is not a key");
    es_buf_cleanup(&crt);
    es_buf_cleanup(&plain);
    es_buf_cleanup(&pem);
    es_sm2_key_free(k);
}

static void test_cert(void)
{
    es_buf pem = t_data("signer.crt");
    es_buf der;
    es_buf_init(&der, ES_MAX_CERT_DER);
    ok(es_cert_to_der(pem.p, pem.len, &der) == ES_OK && der.len > 100 && der.p[0] == 0x30,
       "es_cert_to_der from PEM");
    es_buf der2;
    es_buf_init(&der2, ES_MAX_CERT_DER);
    ok(es_cert_to_der(der.p, der.len, &der2) == ES_OK && der2.len == der.len &&
           memcmp(der.p, der2.p, der.len) == 0,
       "es_cert_to_der from DER: the same bytes");
    ok(es_cert_to_der((const uint8_t *)"not a cert", 10, &der2) == ES_ERR_CERT,
       "es_cert_to_der of garbage: ES_ERR_CERT");
    /* A bundle: the first certificate. */
    es_buf root_pem = t_data("root.crt"), bundle;
    es_buf_init(&bundle, 1 << 20);
    es_buf root = t_cert("root.crt");
    der2.len = 0;
    ok(es_buf_append(&bundle, root_pem.p, root_pem.len) == ES_OK &&
           es_buf_append(&bundle, pem.p, pem.len) == ES_OK &&
           es_cert_to_der(bundle.p, bundle.len, &der2) == ES_OK && der2.len == root.len &&
           memcmp(der2.p, root.p, root.len) == 0,
       "es_cert_to_der of a bundle takes the first certificate");
    es_buf_cleanup(&bundle);
    es_buf_cleanup(&root_pem);
    es_buf_cleanup(&der2);

    es_cert_info ci;
    ok(es_cert_parse(es_slice_make(der.p, der.len), &ci) == ES_OK, "parse signer.crt");
    ok(ci.subject && strstr(ci.subject, "O=91370000MA3C5EXAMPLE某某市人力资源和社会保障局"),
       "subject has the Chinese O as UTF-8: %s", ci.subject ? ci.subject : "(null)");
    ok(ci.subject && strstr(ci.subject, "CN=37030000009999") && strstr(ci.subject, "C=CN"),
       "subject has CN and C");
    ok(ci.issuer && strstr(ci.issuer, "CN=eseal test seal root"), "issuer is the root: %s",
       ci.issuer ? ci.issuer : "(null)");
    ok(ci.is_sm2, "SM2 key");
    es_sm2_key *k = t_key("signer.key");
    uint8_t pub[65];
    es_sm2_key_pub(k, pub);
    es_sm2_key_free(k);
    ok(memcmp(ci.pub, pub, 65) == 0, "the certificate's key is signer.key's");
    ok(!ci.is_ca, "not a CA");
    ok(ci.has_key_usage && ci.key_usage == (ES_KU_DIGITAL_SIGNATURE | ES_KU_NON_REPUDIATION),
       "key usage digitalSignature, nonRepudiation (%x)", ci.key_usage);
    ok(strcmp(ci.sig_alg, ES_OID_SM2_SM3) == 0, "signed with SM2-with-SM3: %s", ci.sig_alg);
    /* make-fixtures.sh issues with -days 36000. */
    ok(ci.not_after - ci.not_before == (es_time)36000 * 86400, "validity of 36000 days (%lld s)",
       (long long)(ci.not_after - ci.not_before));
    size_t sl = strlen(ci.serial);
    ok(sl >= 2 && sl % 2 == 0 && strspn(ci.serial, "0123456789abcdef") == sl, "serial in hex: %s",
       ci.serial);
    es_cert_info_cleanup(&ci);
    ok(ci.subject == NULL && ci.issuer == NULL, "cleanup frees the strings");
    es_cert_info_cleanup(&ci);

    ok(es_cert_parse(es_slice_make(root.p, root.len), &ci) == ES_OK, "parse root.crt");
    ok(ci.is_ca, "root is a CA");
    ok(ci.has_key_usage && ci.key_usage == (ES_KU_KEY_CERT_SIGN | ES_KU_CRL_SIGN),
       "root key usage keyCertSign, cRLSign (%x)", ci.key_usage);
    ok(strcmp(ci.subject, ci.issuer) == 0, "root is self-issued");
    ok(ci.not_after - ci.not_before == (es_time)36500 * 86400, "root validity of 36500 days");
    es_cert_info_cleanup(&ci);

    /* Refused: PEM text, garbage, every truncation. */
    ok(es_cert_parse(es_slice_make(pem.p, pem.len), &ci) == ES_ERR_CERT, "PEM is not DER");
    ok(es_cert_parse(ES_SLICE_NULL, &ci) == ES_ERR_CERT, "empty is not a certificate");
    int refused = 1;
    for (size_t n = 0; n < der.len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        if (!cut) exit(2);
        memcpy(cut, der.p, n);
        if (es_cert_parse(es_slice_make(cut, n), &ci) == ES_OK) {
            refused = 0;
            es_cert_info_cleanup(&ci);
        }
        free(cut);
    }
    ok(refused, "every truncation of signer.crt refused");

    /* es_cert_matches_pub */
    uint8_t other[65];
    cert_pub("other.crt", other);
    ok(es_cert_matches_pub(es_slice_make(der.p, der.len), pub) == ES_OK, "matches its key");
    ok(es_cert_matches_pub(es_slice_make(der.p, der.len), other) == ES_ERR_KEY_MISMATCH,
       "another key: ES_ERR_KEY_MISMATCH");
    ok(es_cert_matches_pub(es_slice_make("junk", 4), pub) == ES_ERR_CERT,
       "garbage certificate: ES_ERR_CERT");

    es_buf_cleanup(&root);
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
}

/* The one X.509 reader: strict (the CA's) and tolerant (verification's) over one grammar. */
static void test_x509(void)
{
    es_buf der = t_cert("signer.crt");
    es_x509 x, y;
    ok(es_x509_parse(es_slice_make(der.p, der.len), ES_X509_STRICT, &x) == ES_OK,
       "signer.crt parses strictly");
    ok(es_x509_parse(es_slice_make(der.p, der.len), 0, &y) == ES_OK &&
           memcmp(&x, &y, sizeof x) == 0,
       "a well-formed certificate reads the same in both modes");
    ok(x.is_sm2 && x.has_key_usage && !x.is_ca && x.pathlen == -1 &&
           es_oid_is(x.sig_alg, ES_OID_ID_SM2_SM3) && x.sig.len > 60 && x.tbs.p == der.p + 4 &&
           x.spki.len == 91,
       "fields: SM2 key, keyUsage, not a CA, SM2-with-SM3, tbs inside the DER, spki of 91 bytes");
    es_slice v;
    ok(es_x509_ext_find(&x, ES_OID_ID_CE_KU, &v) == ES_OK && v.len == 4 && v.p[0] == 0x03,
       "ext_find: keyUsage's BIT STRING");
    ok(es_x509_ext_find(&x, ES_OID_ID_SEAL_SOURCE, &v) == ES_ERR_NOT_FOUND,
       "ext_find: an absent extension is ES_ERR_NOT_FOUND");

    /* Trailing bytes: read by verification, refused by the CA. */
    es_buf tr;
    es_buf_init(&tr, ES_MAX_CERT_DER);
    if (es_buf_append(&tr, der.p, der.len) != ES_OK || es_buf_append(&tr, "\0\0", 2) != ES_OK)
        exit(2);
    ok(es_x509_parse(es_slice_make(tr.p, tr.len), 0, &y) == ES_OK && y.is_sm2,
       "trailing bytes: tolerant reads the certificate");
    ok(es_x509_parse(es_slice_make(tr.p, tr.len), ES_X509_STRICT, &y) == ES_ERR_CERT,
       "trailing bytes: strict refuses");

    /* A keyUsage whose value is an OCTET STRING, not a BIT STRING: tolerant leaves the
     * extension out, strict refuses the certificate. */
    tr.len = 0;
    if (es_buf_append(&tr, der.p, der.len) != ES_OK) exit(2);
    static const uint8_t ku[] = {0x06, 0x03, 0x55, 0x1d, 0x0f};
    const uint8_t *at = find(tr.p, tr.len, ku, sizeof ku);
    uint8_t *bits = NULL;
    if (at) {
        /* OID, [BOOLEAN], OCTET STRING { BIT STRING } */
        uint8_t *q = tr.p + (at - tr.p) + sizeof ku;
        if (q[0] == 0x01) q += 3;
        if (q[0] == 0x04) bits = q + 2;
    }
    ok(bits && bits[0] == 0x03, "found keyUsage's BIT STRING in signer.crt");
    if (bits) bits[0] = 0x04;
    ok(es_x509_parse(es_slice_make(tr.p, tr.len), 0, &y) == ES_OK && !y.has_key_usage && y.is_sm2,
       "malformed keyUsage: tolerant reads the rest");
    ok(es_x509_parse(es_slice_make(tr.p, tr.len), ES_X509_STRICT, &y) == ES_ERR_CERT,
       "malformed keyUsage: strict refuses");
    es_cert_info ci;
    ok(es_cert_parse(es_slice_make(tr.p, tr.len), &ci) == ES_OK && !ci.has_key_usage,
       "es_cert_parse is the tolerant reader");
    es_cert_info_cleanup(&ci);

    /* Every truncation is refused in both modes. */
    int refused = 1;
    for (size_t n = 0; n < der.len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        if (!cut) exit(2);
        memcpy(cut, der.p, n);
        if (es_x509_parse(es_slice_make(cut, n), 0, &y) == ES_OK ||
            es_x509_parse(es_slice_make(cut, n), ES_X509_STRICT, &y) == ES_OK)
            refused = 0;
        free(cut);
    }
    ok(refused, "every truncation refused in both modes");
    es_buf_cleanup(&tr);
    es_buf_cleanup(&der);
}

static es_trust *trust_of(const char *name, int *added)
{
    es_trust *t = NULL;
    es_buf b = t_data(name);
    if (es_trust_new(&t) != ES_OK || es_trust_add(t, b.p, b.len, added) != ES_OK) {
        fprintf(stderr, "cannot make a trust store of %s\n", name);
        exit(2);
    }
    es_buf_cleanup(&b);
    return t;
}

static void test_trust(void)
{
    int added = 0;
    es_trust *t = trust_of("root.crt", &added);
    ok(added == 1 && es_trust_count(t) == 1, "one anchor added from PEM");
    es_buf leaf = t_cert("signer.crt");
    es_slice ls = es_slice_make(leaf.p, leaf.len);
    es_cert_info ci;
    if (es_cert_parse(ls, &ci) != ES_OK) exit(2);
    es_time during = ci.not_before + 86400;
    char why[256];

    ok(es_trust_verify(t, ls, NULL, 0, during, why, sizeof why) == ES_OK,
       "signer.crt chains to root.crt (%s)", why);
    static const char *others[] = {"maker.crt", "other.crt", "root.crt"};
    for (size_t i = 0; i < 3; i++) {
        es_buf o = t_cert(others[i]);
        ok(es_trust_verify(t, es_slice_make(o.p, o.len), NULL, 0, during, why, sizeof why) == ES_OK,
           "%s chains to root.crt (%s)", others[i], why);
        es_buf_cleanup(&o);
    }

    es_time y2200 = 0;
    ok(es_time_parse_iso("2200-01-01", &y2200) == ES_OK, "2200");
    why[0] = 0;
    ok(es_trust_verify(t, ls, NULL, 0, y2200, why, sizeof why) == ES_ERR_VERIFY && why[0],
       "in 2200 the certificate has expired: ES_ERR_VERIFY (%s)", why);
    why[0] = 0;
    ok(es_trust_verify(t, ls, NULL, 0, ci.not_before - 86400, why, sizeof why) == ES_ERR_VERIFY &&
           why[0],
       "before notBefore: ES_ERR_VERIFY (%s)", why);

    /* A changed signature and a changed subject break the path. */
    es_buf bad;
    es_buf_init(&bad, ES_MAX_CERT_DER);
    ok(es_buf_append(&bad, leaf.p, leaf.len) == ES_OK, "copy");
    bad.p[bad.len - 1] ^= 1;
    why[0] = 0;
    ok(es_trust_verify(t, es_slice_make(bad.p, bad.len), NULL, 0, during, why, sizeof why) ==
               ES_ERR_VERIFY &&
           why[0],
       "a flipped signature bit: ES_ERR_VERIFY (%s)", why);
    bad.p[bad.len - 1] ^= 1;
    uint8_t *cn = (uint8_t *)find(bad.p, bad.len, "37030000009999", 14);
    ok(cn != NULL, "subject CN found in the DER");
    if (cn) {
        cn[13] = '8';
        why[0] = 0;
        ok(es_trust_verify(t, es_slice_make(bad.p, bad.len), NULL, 0, during, why, sizeof why) ==
                   ES_ERR_VERIFY &&
               why[0],
           "a changed subject: ES_ERR_VERIFY (%s)", why);
    }
    es_buf_cleanup(&bad);
    ok(es_trust_verify(t, es_slice_make("junk", 4), NULL, 0, during, why, sizeof why) ==
           ES_ERR_CERT,
       "garbage: ES_ERR_CERT");
    es_trust_free(t);

    /* Another root: no path. */
    t = trust_of("otherroot.crt", &added);
    why[0] = 0;
    ok(es_trust_verify(t, ls, NULL, 0, during, why, sizeof why) == ES_ERR_NOT_FOUND && why[0],
       "against otherroot.crt: ES_ERR_NOT_FOUND (%s)", why);
    /* The real root as an untrusted helper does not make a path to an anchor either. */
    es_buf root = t_cert("root.crt");
    es_slice extra = es_slice_make(root.p, root.len);
    ok(es_trust_verify(t, ls, &extra, 1, during, why, sizeof why) == ES_ERR_NOT_FOUND,
       "root.crt as an untrusted helper: ES_ERR_NOT_FOUND (%s)", why);
    /* Both anchors, the second from DER. */
    ok(es_trust_add(t, root.p, root.len, &added) == ES_OK && added == 1 && es_trust_count(t) == 2,
       "an anchor added from DER");
    ok(es_trust_verify(t, ls, NULL, 0, during, why, sizeof why) == ES_OK,
       "with both anchors: ES_OK (%s)", why);
    ok(es_trust_add(t, (const uint8_t *)"junk", 4, &added) == ES_ERR_CERT && es_trust_count(t) == 2,
       "garbage is not an anchor");
    es_trust_free(t);
    es_trust_free(NULL);

    /* A PEM bundle of two anchors. */
    es_buf r1 = t_data("root.crt"), r2 = t_data("otherroot.crt");
    ok(es_trust_new(&t) == ES_OK && es_buf_append(&r1, r2.p, r2.len) == ES_OK &&
           es_trust_add(t, r1.p, r1.len, &added) == ES_OK && added == 2 && es_trust_count(t) == 2,
       "a PEM bundle adds both");
    es_trust_free(t);
    es_buf_cleanup(&r1);
    es_buf_cleanup(&r2);

    es_buf_cleanup(&root);
    es_cert_info_cleanup(&ci);
    es_buf_cleanup(&leaf);
}

static void test_signer(void)
{
    es_signer *sg = NULL;
    uint8_t cp[65];
    cert_pub("signer.crt", cp);
    ok(es_signer_from_key(t_key("signer.key"), &sg) == ES_OK, "signer from signer.key");
    ok(memcmp(sg->pub, cp, 65) == 0, "the signer's public key is the certificate's");

    static const char msg[] = "a message to seal";
    es_buf sig;
    es_buf_init(&sig, 256);
    uint8_t e[32], r[32], s[32];
    es_quirks q = 0;
    ok(es_signer_sign_message(sg, NULL, msg, sizeof msg - 1, &sig) == ES_OK, "sign a message");
    ok(es_sm2_sig_decode(es_slice_make(sig.p, sig.len), r, s, &q) == ES_OK && q == 0 &&
           sig.p[0] == 0x30,
       "the signature is canonical DER");
    ok(es_sm2_digest(cp, ES_SM2_DEFAULT_ID, 16, msg, sizeof msg - 1, e) == ES_OK &&
           es_sm2_verify_digest(cp, e, r, s) == ES_OK,
       "es_sm2_verify_digest accepts it under the default ID");
    ok(es_sm2_digest(cp, ES_SM2_DEFAULT_ID, 16, msg, sizeof msg - 2, e) == ES_OK &&
           es_sm2_verify_digest(cp, e, r, s) == ES_ERR_VERIFY,
       "not over another message");

    sig.len = 0;
    ok(es_signer_sign_message(sg, "alice@example.com", msg, sizeof msg - 1, &sig) == ES_OK &&
           es_sm2_sig_decode(es_slice_make(sig.p, sig.len), r, s, NULL) == ES_OK,
       "sign with another ID");
    ok(es_sm2_digest(cp, "alice@example.com", 17, msg, sizeof msg - 1, e) == ES_OK &&
           es_sm2_verify_digest(cp, e, r, s) == ES_OK,
       "verifies under that ID");
    ok(es_sm2_digest(cp, ES_SM2_DEFAULT_ID, 16, msg, sizeof msg - 1, e) == ES_OK &&
           es_sm2_verify_digest(cp, e, r, s) == ES_ERR_VERIFY,
       "not under the default ID");

    ok(es_signer_sign_digest(sg, e, r, s) == ES_OK && es_sm2_verify_digest(cp, e, r, s) == ES_OK,
       "sign a digest");
    ok(es_signer_sign_digest(sg, NULL, r, s) == ES_ERR_ARG, "NULL digest: ES_ERR_ARG");
    ok(es_signer_sign_digest(NULL, e, r, s) == ES_ERR_ARG, "NULL signer: ES_ERR_ARG");
    es_signer_free(sg);
    es_signer_free(NULL);
    ok(es_signer_from_key(NULL, &sg) == ES_ERR_ARG, "NULL key: ES_ERR_ARG");
    es_buf_cleanup(&sig);
}

static void test_random(void)
{
    uint8_t a[32], b[32];
    ok(es_random(a, 32) == ES_OK && es_random(b, 32) == ES_OK && memcmp(a, b, 32) != 0,
       "two random blocks differ");
    ok(es_random(a, 0) == ES_OK, "zero random bytes");
}

int main(void)
{
    test_sm3();
    test_z_digest();
    test_openssl_interop();
    test_sign_verify();
    test_key_from_pair();
    test_sig_codec();
    test_key_pem();
    test_cert();
    test_x509();
    test_trust();
    test_signer();
    test_random();
    return t_done();
}
