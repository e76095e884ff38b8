/* SubjectPublicKeyInfo and PEM text for SM2 public keys, written with our DER writer (no
 * OpenSSL needed): id-ecPublicKey with the SM2 curve, as every SM2 certificate carries it. */
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/der.h"

es_err es_sm2_pub_spki(const uint8_t pub[ES_SM2_PUB_LEN], es_buf *out)
{
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_oid(&w, ES_OID_ID_EC_PUBLIC_KEY);
    es_der_w_oid(&w, ES_OID_ID_SM2);
    es_der_w_end(&w);
    es_der_w_bits(&w, pub, ES_SM2_PUB_LEN);
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

es_err es_pem_encode(const char *label, const uint8_t *der, size_t len, es_buf *out)
{
    es_buf b64;
    es_buf_init(&b64, 4 * (len / 3 + 2));
    es_err rv = es_base64_encode(der, len, &b64);
    if (rv == ES_OK) rv = es_buf_printf(out, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; rv == ES_OK && i < b64.len; i += 64) {
        size_t n = b64.len - i < 64 ? b64.len - i : 64;
        rv = es_buf_append(out, b64.p + i, n);
        if (rv == ES_OK) rv = es_buf_append_byte(out, '\n');
    }
    if (rv == ES_OK) rv = es_buf_printf(out, "-----END %s-----\n", label);
    es_buf_cleanup(&b64);
    return rv;
}
