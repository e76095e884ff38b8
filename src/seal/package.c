/* Seal delivery (LD/T 01.1 7.5): the server package and its request, and seals in USBKeys.
 * The formats are in docs/delivery.md; the contract in include/eseal/package.h.
 *
 * Both packages are signed SEQUENCEs { tbs, signatureAlgorithm OID, signature BIT STRING }
 * verified over the to-be-signed element as stored (never re-encoded) with SM2 and the default
 * ID, and refused unless the whole input is canonical DER: they are our own formats, so there
 * is no producer to be tolerant of. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/der.h"
#include "eseal/package.h"
#include "eseal/seal.h"
#include "eseal/skf.h" /* the ENVELOPEDKEYBLOB layout */

#define DAY_SECONDS      86400
#define DEFAULT_REQ_DAYS 7

static void say(char *why, size_t whylen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || !whylen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static int id_ok(const char *id, size_t n)
{
    if (n == 0 || n > ES_PACKAGE_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

/* ES_OK when in is canonical DER (definite minimal lengths: what es_der_canonical writes). */
static es_err canonical(es_slice in, size_t max)
{
    es_buf c;
    if (!in.len) return ES_ERR_DER;
    es_buf_init(&c, max);
    es_err rv = es_der_canonical(in, &c);
    if (rv == ES_OK && (c.len != in.len || memcmp(c.p, in.p, in.len) != 0)) rv = ES_ERR_DER;
    es_buf_cleanup(&c);
    return rv;
}

/* Signs tbs (an encoded element) and writes SEQUENCE { tbs, sm2-with-sm3, BIT STRING }. */
static es_err sign_wrap(es_slice tbs, es_signer *key, es_buf *out)
{
    es_buf sig;
    es_der_w w;
    es_buf_init(&sig, 128);
    es_err rv = es_signer_sign_message(key, NULL, tbs.p, tbs.len, &sig);
    if (rv == ES_OK) {
        es_der_w_init(&w, out);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        es_der_w_raw(&w, tbs.p, tbs.len);
        es_der_w_oid(&w, ES_OID_ID_SM2_SM3);
        es_der_w_bits(&w, sig.p, sig.len);
        es_der_w_end(&w);
        rv = es_der_w_finish(&w);
    }
    es_buf_cleanup(&sig);
    return rv;
}

/* Reads SEQUENCE { tbs, OID, BIT STRING } that is all of in; tbs is the element as stored. */
static es_err read_signed(es_slice in, es_der_tlv *tbs, es_der *tbs_in, es_slice *sig)
{
    es_der d, outer;
    es_der_tlv t;
    es_slice alg;
    uint8_t unused = 0;
    es_der_init(&d, in, NULL);
    es_err rv = es_der_open(&d, ES_DER_SEQUENCE, &t, &outer);
    if (rv == ES_OK) rv = es_der_done(&d);
    if (rv == ES_OK) rv = es_der_expect(&outer, ES_DER_SEQUENCE, tbs);
    if (rv == ES_OK) rv = es_der_enter(&outer, tbs, tbs_in);
    if (rv == ES_OK) rv = es_der_read_oid(&outer, &alg);
    if (rv == ES_OK) rv = es_der_read_bits(&outer, sig, &unused);
    if (rv == ES_OK) rv = es_der_done(&outer);
    if (rv == ES_OK && (!es_oid_is(alg, ES_OID_ID_SM2_SM3) || unused != 0)) rv = ES_ERR_FORMAT;
    return rv;
}

/* Verifies sig (DER SEQUENCE{r, s}) over tbs with pub and the default ID. */
static es_err verify_sig(const uint8_t pub[ES_SM2_PUB_LEN], es_slice tbs, es_slice sig)
{
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    es_err rv = es_sm2_sig_decode(sig, r, s, NULL);
    if (rv != ES_OK) return ES_ERR_VERIFY;
    rv = es_sm2_digest(pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), tbs.p, tbs.len, e);
    if (rv != ES_OK) return rv;
    return es_sm2_verify_digest(pub, e, r, s);
}

/* Checks cert up to an anchor of trust_pem (when given). */
static es_err check_trust(es_slice trust_pem, es_slice cert, const char *what, char *why,
                          size_t whylen)
{
    es_trust *t = NULL;
    char reason[256] = "";
    int added = 0;
    if (!trust_pem.len) return ES_OK;
    es_err rv = es_trust_new(&t);
    if (rv == ES_OK) rv = es_trust_add(t, trust_pem.p, trust_pem.len, &added);
    if (rv == ES_OK && added == 0) rv = ES_ERR_CERT;
    if (rv != ES_OK) {
        say(why, whylen, "trust: no certificate could be read");
        goto out;
    }
    rv = es_trust_verify(t, cert, NULL, 0, ES_TIME_NONE, reason, sizeof reason);
    if (rv != ES_OK) say(why, whylen, "%s: not trusted: %s", what, reason);
out:
    es_trust_free(t);
    return rv;
}

/* --- the request --- */

struct es_package_req {
    es_package_req_info info;
    es_buf cert; /* the requester certificate (info.requester_cert points into it) */
};

const es_package_req_info *es_package_req_info_of(const es_package_req *r)
{
    return r ? &r->info : NULL;
}

es_err es_package_req_make(const es_package_req_params *p, es_signer *key, es_buf *der, char *why,
                           size_t whylen)
{
    es_x509 c;
    es_buf tbs, spki;
    es_der_w w;
    es_err rv = ES_ERR_ARG;
    if (!p || !key || !der) return ES_ERR_ARG;
    es_buf_init(&tbs, ES_MAX_PACKAGE_REQ);
    es_buf_init(&spki, 256);
    es_time nb = p->not_before == ES_TIME_NONE ? es_time_now() : p->not_before;
    es_time na = p->not_after == ES_TIME_NONE ? nb + DEFAULT_REQ_DAYS * DAY_SECONDS : p->not_after;
    if (!p->request_id || !id_ok(p->request_id, strlen(p->request_id))) {
        say(why, whylen, "request_id: 1 to %d of A-Z a-z 0-9 . _ : -", ES_PACKAGE_ID_MAX);
        goto out;
    }
    if (!p->enc_pub || es_sm2_pub_check(p->enc_pub) != ES_OK) {
        say(why, whylen, "enc_pub: not an SM2 public key");
        goto out;
    }
    if (na <= nb || na - nb > ES_PACKAGE_MAX_DAYS * DAY_SECONDS) {
        say(why, whylen, "validity: not_after after not_before, at most %d days",
            ES_PACKAGE_MAX_DAYS);
        goto out;
    }
    if (es_x509_parse(p->requester_cert, 0, &c) != ES_OK || !c.is_sm2) {
        rv = ES_ERR_CERT;
        say(why, whylen, "requester_cert: not an SM2 certificate");
        goto out;
    }
    if (memcmp(c.pub, key->pub, ES_SM2_PUB_LEN) != 0) {
        rv = ES_ERR_KEY_MISMATCH;
        say(why, whylen, "the signing key is not the requester certificate's");
        goto out;
    }
    if ((rv = es_sm2_pub_spki(p->enc_pub, &spki)) != ES_OK) goto out;
    es_der_w_init(&w, &tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, ES_PACKAGE_VERSION);
    es_der_w_prim(&w, ES_DER_UTF8_STRING, p->request_id, strlen(p->request_id));
    es_der_w_raw(&w, p->requester_cert.p, p->requester_cert.len);
    es_der_w_raw(&w, spki.p, spki.len);
    es_der_w_gentime(&w, nb);
    es_der_w_gentime(&w, na);
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) goto out;
    rv = sign_wrap(es_slice_make(tbs.p, tbs.len), key, der);
out:
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&spki);
    return rv;
}

void es_package_req_free(es_package_req *r)
{
    if (!r) return;
    es_buf_cleanup(&r->cert);
    free(r);
}

es_err es_package_req_parse(es_slice der, es_slice trust_pem, es_package_req **out, char *why,
                            size_t whylen)
{
    es_der_tlv tbs, ct, kt;
    es_der body;
    es_slice sig, id;
    long version = 0;
    es_x509 c;
    es_package_req *r = NULL;
    es_err rv;
    if (!out) return ES_ERR_ARG;
    *out = NULL;
    if (der.len > ES_MAX_PACKAGE_REQ) {
        say(why, whylen, "a request package of more than %u bytes", ES_MAX_PACKAGE_REQ);
        return ES_ERR_LIMIT;
    }
    if ((rv = canonical(der, ES_MAX_PACKAGE_REQ)) != ES_OK ||
        (rv = read_signed(der, &tbs, &body, &sig)) != ES_OK) {
        say(why, whylen, "not a request package (docs/delivery.md)");
        return rv;
    }
    r = calloc(1, sizeof *r);
    if (!r) return ES_ERR_NOMEM;
    es_buf_init(&r->cert, ES_MAX_CERT_DER);
    unsigned tag = 0;
    if ((rv = es_der_read_long(&body, &version)) != ES_OK ||
        (rv = es_der_read_string(&body, &id, &tag)) != ES_OK ||
        (rv = es_der_expect(&body, ES_DER_SEQUENCE, &ct)) != ES_OK ||
        (rv = es_der_expect(&body, ES_DER_SEQUENCE, &kt)) != ES_OK ||
        (rv = es_der_read_time(&body, &r->info.not_before, NULL)) != ES_OK ||
        (rv = es_der_read_time(&body, &r->info.not_after, NULL)) != ES_OK ||
        (rv = es_der_done(&body)) != ES_OK) {
        say(why, whylen, "not a request package (docs/delivery.md)");
        goto out;
    }
    rv = ES_ERR_FORMAT;
    if (version != ES_PACKAGE_VERSION) {
        say(why, whylen, "version: %ld, not %d", version, ES_PACKAGE_VERSION);
        goto out;
    }
    if (tag != ES_DER_UTF8_STRING || !id_ok((const char *)id.p, id.len)) {
        say(why, whylen, "request_id: 1 to %d of A-Z a-z 0-9 . _ : -", ES_PACKAGE_ID_MAX);
        goto out;
    }
    memcpy(r->info.request_id, id.p, id.len);
    r->info.request_id[id.len] = 0;
    if (es_spki_sm2(kt.raw, ES_X509_STRICT, r->info.enc_pub) != ES_OK ||
        es_sm2_pub_check(r->info.enc_pub) != ES_OK) {
        rv = ES_ERR_KEY;
        say(why, whylen, "encryption_key: not an SM2 public key on the curve");
        goto out;
    }
    if ((rv = es_buf_append(&r->cert, ct.raw.p, ct.raw.len)) != ES_OK) goto out;
    r->info.requester_cert = es_slice_make(r->cert.p, r->cert.len);
    if (es_x509_parse(r->info.requester_cert, 0, &c) != ES_OK || !c.is_sm2) {
        rv = ES_ERR_CERT;
        say(why, whylen, "requester: not an SM2 certificate");
        goto out;
    }
    size_t sn = c.serial.len > 41 ? 41 : c.serial.len;
    es_hex_encode(c.serial.p, sn, r->info.requester_serial);
    if (verify_sig(c.pub, tbs.raw, sig) != ES_OK) {
        rv = ES_ERR_VERIFY;
        say(why, whylen, "signature: does not verify with the requester certificate's key");
        goto out;
    }
    es_time now = es_time_now();
    if (r->info.not_after <= r->info.not_before ||
        r->info.not_after - r->info.not_before > ES_PACKAGE_MAX_DAYS * DAY_SECONDS) {
        rv = ES_ERR_FORMAT;
        say(why, whylen, "validity: more than %d days, or none", ES_PACKAGE_MAX_DAYS);
        goto out;
    }
    if (now < r->info.not_before || now > r->info.not_after) {
        rv = ES_ERR_PACKAGE_EXPIRED;
        say(why, whylen, "validity: the request is not in force now");
        goto out;
    }
    if ((rv = check_trust(trust_pem, r->info.requester_cert, "requester", why, whylen)) != ES_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    es_package_req_free(r);
    return rv;
}

/* --- the seal key --- */

struct es_package_key {
    es_sm2_key *key; /* NULL once enveloped or wiped */
    char request_id[ES_PACKAGE_ID_MAX + 1];
    uint8_t enc_pub[ES_SM2_PUB_LEN];
    uint8_t pub[ES_SM2_PUB_LEN];
};

es_err es_package_key_new(const es_package_req *r, es_package_key **out,
                          uint8_t pub[ES_SM2_PUB_LEN])
{
    if (!r || !out || !pub) return ES_ERR_ARG;
    *out = NULL;
    es_time now = es_time_now();
    if (now < r->info.not_before || now > r->info.not_after) return ES_ERR_PACKAGE_EXPIRED;
    es_package_key *k = calloc(1, sizeof *k);
    if (!k) return ES_ERR_NOMEM;
    es_err rv = es_sm2_key_generate(&k->key);
    if (rv != ES_OK) {
        free(k);
        return rv;
    }
    memcpy(k->request_id, r->info.request_id, sizeof k->request_id);
    memcpy(k->enc_pub, r->info.enc_pub, sizeof k->enc_pub);
    es_sm2_key_pub(k->key, k->pub);
    memcpy(pub, k->pub, ES_SM2_PUB_LEN);
    *out = k;
    return ES_OK;
}

void es_package_key_free(es_package_key *k)
{
    if (!k) return;
    es_sm2_key_free(k->key); /* OpenSSL clears the private scalar as it frees it */
    es_wipe(k, sizeof *k);
    free(k);
}

int es_seal_names_cert(es_slice seal_der, es_slice cert_der)
{
    es_seal s;
    uint8_t h[ES_SM3_LEN];
    if (es_seal_from_der(seal_der, 0, &s) != ES_OK || !cert_der.len) return 0;
    if (s.cert_list_type == 2 && es_sm3(cert_der.p, cert_der.len, h) != ES_OK) return 0;
    for (size_t i = 0; i < s.n_certs; i++) {
        if (s.cert_list_type == 2) {
            if (es_oid_is(s.cert_digest_type[i], ES_OID_ID_SM3) &&
                es_slice_eq(s.certs[i], es_slice_make(h, sizeof h)))
                return 1;
        } else if (es_slice_eq(s.certs[i], cert_der)) {
            return 1;
        }
    }
    return 0;
}

es_err es_package_finish(es_package_key *k, es_slice cert_der, es_slice seal_der, es_signer *maker,
                         es_buf *pkg)
{
    es_x509 c, mc;
    es_seal s;
    es_buf env, tbs, spki;
    es_der_w w;
    es_err rv;
    if (!k) return ES_ERR_ARG;
    if (!k->key) return ES_ERR_PACKAGE_USED;
    if (!maker || !pkg) {
        es_sm2_key_free(k->key); /* whatever the outcome (package.h) */
        k->key = NULL;
        return ES_ERR_ARG;
    }
    es_buf_init(&env, 4096);
    es_buf_init(&tbs, ES_MAX_PACKAGE);
    es_buf_init(&spki, 256);
    if (es_x509_parse(cert_der, 0, &c) != ES_OK || !c.is_sm2) {
        rv = ES_ERR_CERT;
        goto out;
    }
    if (memcmp(c.pub, k->pub, ES_SM2_PUB_LEN) != 0) {
        rv = ES_ERR_KEY_MISMATCH;
        goto out;
    }
    if (es_seal_from_der(seal_der, 0, &s) != ES_OK || !s.has_signature) {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    if (!es_seal_names_cert(seal_der, cert_der)) {
        rv = ES_ERR_SEAL_CERT;
        goto out;
    }
    if (es_x509_parse(s.maker_cert, 0, &mc) != ES_OK || !mc.is_sm2 ||
        memcmp(mc.pub, maker->pub, ES_SM2_PUB_LEN) != 0) {
        rv = ES_ERR_KEY_MISMATCH;
        goto out;
    }
    /* GB/T 35291 6.4.10: the private key under a fresh SM4 key, that key SM2-encrypted to the
     * request's encryption key. */
    if ((rv = es_token_envelope(k->key, k->enc_pub, &env)) != ES_OK ||
        (rv = es_sm2_pub_spki(k->enc_pub, &spki)) != ES_OK)
        goto out;
    es_der_w_init(&w, &tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, ES_PACKAGE_VERSION);
    es_der_w_prim(&w, ES_DER_UTF8_STRING, k->request_id, strlen(k->request_id));
    es_der_w_raw(&w, spki.p, spki.len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, env.p, env.len);
    es_der_w_raw(&w, cert_der.p, cert_der.len);
    es_der_w_raw(&w, s.raw.p, s.raw.len);
    es_der_w_gentime(&w, es_time_now());
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) goto out;
    rv = sign_wrap(es_slice_make(tbs.p, tbs.len), maker, pkg);
out:
    /* No copy is kept, and a failed call leaves nothing to retry with. */
    es_sm2_key_free(k->key);
    k->key = NULL;
    es_buf_cleanup(&env);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&spki);
    return rv;
}

/* --- receiving --- */

/* The seal's own checks: its maker signature, and the chain when trust is given. */
static es_err check_seal(es_slice seal, es_slice trust_pem, char *why, size_t whylen)
{
    es_trust *t = NULL;
    es_report rep;
    es_verify_opts o;
    int added = 0;
    memset(&o, 0, sizeof o);
    o.now = ES_TIME_NONE;
    o.status_at = ES_TIME_NONE;
    es_report_init(&rep);
    es_err rv = ES_OK;
    if (trust_pem.len) {
        rv = es_trust_new(&t);
        if (rv == ES_OK) rv = es_trust_add(t, trust_pem.p, trust_pem.len, &added);
        if (rv != ES_OK) goto out;
        o.trust = t;
    }
    if ((rv = es_seal_verify(seal, &o, &rep)) != ES_OK) goto out;
    const char *need[] = {ES_CHECK_FORMAT, ES_CHECK_SEAL_SIGNATURE, ES_CHECK_CHAIN_TRUST};
    for (size_t i = 0; i < (trust_pem.len ? 3u : 2u); i++) {
        const es_check *ck = rep.n_entries ? es_entry_get(&rep.entries[0], need[i]) : NULL;
        if (!ck || ck->result != ES_PASSED) {
            rv = ES_ERR_VERIFY;
            say(why, whylen, "seal: %s %s%s%s", need[i],
                ck ? es_result_name(ck->result) : "missing", ck && ck->detail ? ": " : "",
                ck && ck->detail ? ck->detail : "");
            break;
        }
    }
out:
    es_report_cleanup(&rep);
    es_trust_free(t);
    return rv;
}

es_err es_package_parse(es_slice der, es_slice trust_pem, es_package *out, char *why, size_t whylen)
{
    es_der_tlv tbs, kt, ct, st;
    es_der body;
    es_slice sig, id, env;
    long version = 0;
    unsigned tag = 0;
    es_x509 c, mc;
    es_seal s;
    es_err rv;
    if (!out) return ES_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (der.len > ES_MAX_PACKAGE) {
        say(why, whylen, "a server package of more than %u bytes", ES_MAX_PACKAGE);
        return ES_ERR_LIMIT;
    }
    if ((rv = canonical(der, ES_MAX_PACKAGE)) != ES_OK ||
        (rv = read_signed(der, &tbs, &body, &sig)) != ES_OK ||
        (rv = es_der_read_long(&body, &version)) != ES_OK ||
        (rv = es_der_read_string(&body, &id, &tag)) != ES_OK ||
        (rv = es_der_expect(&body, ES_DER_SEQUENCE, &kt)) != ES_OK ||
        (rv = es_der_read_octets(&body, &env)) != ES_OK ||
        (rv = es_der_expect(&body, ES_DER_SEQUENCE, &ct)) != ES_OK ||
        (rv = es_der_expect(&body, ES_DER_SEQUENCE, &st)) != ES_OK ||
        (rv = es_der_read_time(&body, &out->produced_at, NULL)) != ES_OK ||
        (rv = es_der_done(&body)) != ES_OK) {
        say(why, whylen, "not a server package (docs/delivery.md)");
        return rv;
    }
    if (version != ES_PACKAGE_VERSION) {
        say(why, whylen, "version: %ld, not %d", version, ES_PACKAGE_VERSION);
        return ES_ERR_FORMAT;
    }
    if (tag != ES_DER_UTF8_STRING || !id_ok((const char *)id.p, id.len)) {
        say(why, whylen, "request_id: 1 to %d of A-Z a-z 0-9 . _ : -", ES_PACKAGE_ID_MAX);
        return ES_ERR_FORMAT;
    }
    memcpy(out->request_id, id.p, id.len);
    out->request_id[id.len] = 0;
    if (es_spki_sm2(kt.raw, ES_X509_STRICT, out->recipient_pub) != ES_OK) {
        say(why, whylen, "recipient_key: not an SM2 public key");
        return ES_ERR_KEY;
    }
    out->envelope = env;
    out->cert = ct.raw;
    out->seal = st.raw;
    if (es_x509_parse(out->cert, 0, &c) != ES_OK || !c.is_sm2) {
        say(why, whylen, "certificate: not an SM2 certificate");
        return ES_ERR_CERT;
    }
    memcpy(out->seal_pub, c.pub, ES_SM2_PUB_LEN);
    if (es_seal_from_der(out->seal, 0, &s) != ES_OK || !s.has_signature) {
        say(why, whylen, "seal: not a signed seal");
        return ES_ERR_FORMAT;
    }
    out->maker_cert = s.maker_cert;
    if (es_x509_parse(s.maker_cert, 0, &mc) != ES_OK || !mc.is_sm2) {
        say(why, whylen, "seal: its maker certificate is not an SM2 certificate");
        return ES_ERR_CERT;
    }
    if (verify_sig(mc.pub, tbs.raw, sig) != ES_OK) {
        say(why, whylen, "signature: does not verify with the seal's maker certificate");
        return ES_ERR_VERIFY;
    }
    /* The envelope's frame and public key (GB/T 35291 6.4.10, the 32-bit ULONG layout of
     * eseal/skf.h): X and Y right-aligned in 64 bytes each. */
    static const uint8_t zero[32];
    const size_t fixed = offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher);
    const size_t px = offsetof(ENVELOPEDKEYBLOB, PubKey.XCoordinate);
    const size_t py = offsetof(ENVELOPEDKEYBLOB, PubKey.YCoordinate);
    ULONG bits = 0, clen = 0;
    if (env.len > fixed) {
        memcpy(&bits, env.p + offsetof(ENVELOPEDKEYBLOB, PubKey.BitLen), sizeof bits);
        memcpy(&clen, env.p + offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.CipherLen), sizeof clen);
    }
    if (env.len <= fixed || bits != 256 || clen != env.len - fixed ||
        memcmp(env.p + px, zero, 32) != 0 || memcmp(env.p + py, zero, 32) != 0) {
        say(why, whylen, "envelope: not a GB/T 35291 ENVELOPEDKEYBLOB");
        return ES_ERR_FORMAT;
    }
    uint8_t env_pub[ES_SM2_PUB_LEN];
    env_pub[0] = 0x04;
    memcpy(env_pub + 1, env.p + px + 32, 32);
    memcpy(env_pub + 33, env.p + py + 32, 32);
    if (memcmp(env_pub, out->seal_pub, ES_SM2_PUB_LEN) != 0) {
        say(why, whylen, "envelope: its key is not the certificate's");
        return ES_ERR_KEY_MISMATCH;
    }
    if (!es_seal_names_cert(out->seal, out->cert)) {
        say(why, whylen, "seal: does not name the package's certificate");
        return ES_ERR_SEAL_CERT;
    }
    if ((rv = check_seal(out->seal, trust_pem, why, whylen)) != ES_OK) return rv;
    if ((rv = check_trust(trust_pem, out->cert, "certificate", why, whylen)) != ES_OK) return rv;
    return ES_OK;
}

es_err es_package_import(const es_package *p, es_keydev *d, const es_keyref *ref, char *why,
                         size_t whylen)
{
    uint8_t enc[ES_SM2_PUB_LEN], pub[ES_SM2_PUB_LEN], e[ES_SM3_LEN], r[32], s[32], nonce[32];
    if (!p || !d || !ref) return ES_ERR_ARG;
    es_err rv = es_keydev_enc_public_key(d, ref, enc);
    if (rv != ES_OK) {
        say(why, whylen, "the device has no encryption key at the reference: %s",
            es_keydev_last_error());
        return rv;
    }
    if (memcmp(enc, p->recipient_pub, ES_SM2_PUB_LEN) != 0) {
        say(why, whylen, "the package is for another encryption key than the device's");
        return ES_ERR_PACKAGE_RECIPIENT;
    }
    if ((rv = es_keydev_import_envelope(d, ref, p->envelope.p, p->envelope.len)) != ES_OK) {
        say(why, whylen, "the device refused the envelope: %s", es_keydev_last_error());
        return rv;
    }
    /* The imported key must be the certificate's and must sign. */
    if ((rv = es_keydev_public_key(d, ref, pub)) != ES_OK) return rv;
    if (memcmp(pub, p->seal_pub, ES_SM2_PUB_LEN) != 0) {
        say(why, whylen, "after the import the device's signing key is not the certificate's");
        return ES_ERR_KEY_MISMATCH;
    }
    if ((rv = es_random(nonce, sizeof nonce)) != ES_OK ||
        (rv = es_sm2_digest(pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), nonce, sizeof nonce,
                            e)) != ES_OK ||
        (rv = es_keydev_sign(d, ref, e, r, s)) != ES_OK)
        return rv;
    if (es_sm2_verify_digest(p->seal_pub, e, r, s) != ES_OK) {
        say(why, whylen, "the imported key's signature does not verify with the certificate");
        return ES_ERR_KEY_MISMATCH;
    }
    return ES_OK;
}

/* --- the USBKey --- */

es_err es_token_seal_put(es_token *t, const es_keyref *ref, const char *file, es_slice cert,
                         es_slice seal, char *why, size_t whylen)
{
    es_x509 c;
    uint8_t pub[ES_SM2_PUB_LEN];
    if (!t || !ref) return ES_ERR_ARG;
    if (es_x509_parse(cert, 0, &c) != ES_OK || !c.is_sm2) {
        say(why, whylen, "certificate: not an SM2 certificate");
        return ES_ERR_CERT;
    }
    es_seal s;
    if (es_seal_from_der(seal, 0, &s) != ES_OK) {
        say(why, whylen, "seal: not a seal");
        return ES_ERR_FORMAT;
    }
    es_err rv = es_token_public_key(t, ref, 1, pub);
    if (rv != ES_OK) {
        say(why, whylen, "the container has no signing key: %s", es_keydev_last_error());
        return rv;
    }
    if (memcmp(pub, c.pub, ES_SM2_PUB_LEN) != 0) {
        say(why, whylen, "the certificate does not certify the container's signing key");
        return ES_ERR_KEY_MISMATCH;
    }
    if (!es_seal_names_cert(seal, cert)) {
        say(why, whylen, "the seal does not name the certificate");
        return ES_ERR_SEAL_CERT;
    }
    if ((rv = es_token_put_cert(t, ref, 1, cert)) != ES_OK ||
        (rv = es_token_file_write(t, ref->application, file ? file : ES_TOKEN_SEAL_FILE, seal)) !=
            ES_OK)
        say(why, whylen, "%s", es_keydev_last_error());
    return rv;
}

es_err es_token_seal_get(es_token *t, const es_keyref *ref, const char *file, es_buf *cert,
                         es_buf *seal, char *why, size_t whylen)
{
    es_x509 c;
    uint8_t pub[ES_SM2_PUB_LEN];
    if (!t || !ref || !cert || !seal) return ES_ERR_ARG;
    size_t c0 = cert->len, s0 = seal->len;
    const char *name = file ? file : ES_TOKEN_SEAL_FILE;
    es_err rv = es_token_file_read(t, ref->application, name, ES_MAX_SEAL_DER, seal);
    if (rv == ES_ERR_NOT_FOUND) {
        say(why, whylen, "no file %s in the application %s", name, ref->application);
        rv = ES_ERR_TOKEN_NO_SEAL;
        goto out;
    }
    if (rv != ES_OK) {
        say(why, whylen, "%s", es_keydev_last_error());
        goto out;
    }
    if ((rv = es_token_get_cert(t, ref, 1, cert)) != ES_OK) {
        say(why, whylen, "no signing certificate in the container: %s", es_keydev_last_error());
        goto out;
    }
    es_slice cs = es_slice_make(cert->p + c0, cert->len - c0);
    es_slice ss = es_slice_make(seal->p + s0, seal->len - s0);
    if (es_x509_parse(cs, 0, &c) != ES_OK || !c.is_sm2) {
        say(why, whylen, "the container's certificate is not an SM2 certificate");
        rv = ES_ERR_CERT;
    } else if ((rv = es_token_public_key(t, ref, 1, pub)) != ES_OK) {
        say(why, whylen, "the container has no signing key");
    } else if (memcmp(pub, c.pub, ES_SM2_PUB_LEN) != 0) {
        say(why, whylen, "the container's certificate is not its signing key's");
        rv = ES_ERR_KEY_MISMATCH;
    } else if (!es_seal_names_cert(ss, cs)) {
        say(why, whylen, "the seal in %s does not name the container's certificate", name);
        rv = ES_ERR_SEAL_CERT;
    }
out:
    if (rv != ES_OK) {
        cert->len = c0;
        seal->len = s0;
    }
    return rv;
}
