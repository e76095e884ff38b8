/* libFuzzer target: the pki parsers that take outside input, on arbitrary bytes: PKCS#10
 * requests (and their proof of possession), certificates, CRLs, names, GeneralNames, PEM,
 * SubjectPublicKeyInfo, profiles files, subject text, the old CA index and serials. Invariants: a
 * Name read from DER and written again reads back to the same attributes; a profiles file that
 * parses has profiles that find themselves by name; an index entry's serial is in normal form
 * (normalising it again changes nothing) and a revoked entry has a revocation time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/pki.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void name_round_trip(es_slice der)
{
    static es_name n, back;
    es_buf b;
    if (es_pki_name_from_der(der, &n) != ES_OK) return;
    es_buf_init(&b, 1 << 20);
    if (es_pki_name_to_der(&n, &b) == ES_OK) {
        if (es_pki_name_from_der(es_slice_make(b.p, b.len), &back) != ES_OK || back.n != n.n)
            abort();
        for (size_t i = 0; i < n.n; i++)
            if (back.a[i].type != n.a[i].type || strcmp(back.a[i].value, n.a[i].value) != 0)
                abort();
    }
    b.len = 0;
    (void)es_pki_name_print(&n, &b);
    es_buf_cleanup(&b);
}

static es_err index_entry(void *ctx, const es_ca_entry *e)
{
    char again[2 * ES_PKI_SERIAL_MAX + 1];
    (void)ctx;
    if (!es_ca_serial_norm(e->serial, again) || strcmp(again, e->serial) != 0) abort();
    if ((e->status == ES_CA_REVOKED) != (e->revoked_at != ES_TIME_NONE)) abort();
    if (!e->subject) abort();
    return ES_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_slice in = es_slice_make(data, size);
    es_buf tmp;
    es_buf_init(&tmp, 1 << 20);

    es_pki_csr csr;
    if (es_pki_csr_parse(data, size, &tmp, &csr) == ES_OK) {
        (void)es_pki_csr_verify(&csr);
        name_round_trip(csr.subject);
        if (csr.san.len) {
            es_pki_san san[ES_PKI_SAN_MAX];
            size_t n;
            (void)es_pki_san_from_der(csr.san, san, ES_PKI_SAN_MAX, &n);
        }
    }
    es_pki_cert c;
    if (es_pki_cert_parse(in, &c) == ES_OK) {
        name_round_trip(c.subject);
        name_round_trip(c.issuer);
        if (c.is_sm2) (void)es_pki_cert_verify(&c, c.pub);
        if (c.san.len) {
            es_pki_san san[ES_PKI_SAN_MAX];
            size_t n;
            (void)es_pki_san_from_der(c.san, san, ES_PKI_SAN_MAX, &n);
        }
    }
    es_pki_crl crl;
    tmp.len = 0;
    if (es_pki_crl_parse(data, size, &tmp, &crl) == ES_OK) es_pki_crl_cleanup(&crl);
    /* The verifier's CRL reader (es_trust_add_crl: `--crl FILE`): what it takes it counts. */
    es_trust *t = NULL;
    if (es_trust_new(&t) == ES_OK) {
        int added = 0;
        es_err rv = es_trust_add_crl(t, data, size, &added);
        if (es_trust_crl_count(t) != (size_t)added || (rv == ES_OK && !added)) abort();
        es_trust_free(t);
    }
    name_round_trip(in);
    uint8_t pub[ES_SM2_PUB_LEN];
    (void)es_pki_spki_read(data, size, pub);

    /* The index of a CA directory of the old layout (imported into the store). */
    char iwhy[256];
    (void)es_ca_index_read(in, index_entry, NULL, iwhy, sizeof iwhy);

    /* Text inputs: a profiles file, a subject, a SAN. */
    static es_profiles ps;
    char why[256];
    if (es_pki_profiles_parse(in, &ps, why, sizeof why) == ES_OK)
        for (size_t i = 0; i < ps.n; i++)
            if (es_pki_profile_find(&ps, ps.p[i].name) != &ps.p[i]) abort();
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = 0;
        static es_name n;
        es_pki_san s;
        (void)es_pki_name_parse(text, &n, why, sizeof why);
        (void)es_pki_san_parse(text, &s);
        (void)es_pki_uscc_check(text, strlen(text), NULL);
        char serial[2 * ES_PKI_SERIAL_MAX + 1], again[2 * ES_PKI_SERIAL_MAX + 1];
        if (es_ca_serial_norm(text, serial) &&
            (!es_ca_serial_norm(serial, again) || strcmp(serial, again) != 0))
            abort();
        free(text);
    }
    es_buf_cleanup(&tmp);
    return 0;
}
