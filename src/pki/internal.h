/* Private to pki: DER helpers shared by certificates, requests and CRLs, and
 * the name tables of key usages. */
#ifndef ESEAL_PKI_INTERNAL_H
#define ESEAL_PKI_INTERNAL_H

#include "eseal/der.h"
#include "eseal/pki.h"

/* The profiles file embedded at build time (cmake/pki.cmake, from etc/profiles.conf). */
extern const unsigned char es_pki_profiles_text[];
extern const size_t es_pki_profiles_text_len;

/* AlgorithmIdentifier SEQUENCE { 1.2.156.10197.1.501 } (no parameters, as OpenSSL writes). */
void pki_w_sig_alg(es_der_w *w);
/* UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
void pki_w_time(es_der_w *w, es_time t);
/* Extension SEQUENCE { extnID, critical (only when TRUE), extnValue OCTET STRING { ... } }:
 * begin writes up to the opened OCTET STRING, end closes both. oid_der: content octets. */
void pki_w_ext_begin(es_der_w *w, const uint8_t *oid_der, size_t oid_len, int critical);
void pki_w_ext_begin_text(es_der_w *w, const char *oid, int critical);
void pki_w_ext_end(es_der_w *w);
/* IP text to octets (4 or 16); 0 when it is neither form. */
size_t pki_ip_parse(const char *s, uint8_t out[16]);
/* GeneralName of a SAN entry ([1] [2] [6] IA5String, [7] 4 or 16 octets). */
es_err pki_w_general_name(es_der_w *w, const es_pki_san *s) ES_MUST_CHECK;
/* Appends the signed structure SEQUENCE { tbs, AlgorithmIdentifier SM2-with-SM3, BIT STRING
 * holding the signature DER SEQUENCE{r, s} } that certificates, CRLs and requests share, signed
 * with the signer's key and id (NULL: default). On failure nothing is left appended. */
es_err pki_w_signed(es_buf *out, es_slice tbs, es_signer *signer, const char *id) ES_MUST_CHECK;
/* Reads one Extension SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET
 * STRING } from a list (critical is checked for form and not kept: the readers act on each
 * extension they know, whatever its flag). oid and value are borrowed. ES_ERR_FORMAT when it
 * is not one. */
es_err pki_read_ext(es_der *list, es_slice *oid, es_slice *value) ES_MUST_CHECK;
/* Verifies sig (DER SEQUENCE{r,s} or raw r||s) over msg with pub and id. */
es_err pki_verify(const uint8_t pub[ES_SM2_PUB_LEN], const char *id, es_slice msg,
                  es_slice sig) ES_MUST_CHECK;
/* 1 when oid (content octets) equals the dotted text. */
int pki_oid_is(es_slice oid, const char *dotted);
/* Reads SubjectPublicKeyInfo from a cursor; ES_ERR_KEY when it is not SM2. */
es_err pki_read_spki(es_der *d, uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* Key usage and extended key usage names ("digitalSignature", "serverAuth"). */
unsigned pki_ku_from_name(const char *name);  /* 0 when unknown */
unsigned pki_eku_from_name(const char *name); /* 0 when unknown */
const char *pki_eku_oid(unsigned bit);        /* dotted OID of one ES_EKU_* bit */
unsigned pki_eku_bit(es_slice oid);           /* the ES_EKU_* bit of an OID; 0 for others */
/* Appends "digitalSignature, nonRepudiation" for a mask. */
es_err pki_ku_print(unsigned ku, es_buf *out) ES_MUST_CHECK;

/* Adds a lint message (printf-style); drops messages past ES_PKI_LINT_MAX but counts them in
 * the last one. */
void pki_lint_add(es_pki_lint *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Everything lint looks at. */
typedef struct pki_lint_in {
    const es_profile *profile;
    const es_pki_tbs *tbs;
    const es_pki_cert *issuer; /* NULL for a self-signed certificate */
    int self_signed;
    es_time now;
    int serial_taken; /* the serial is in the index already */
} pki_lint_in;
/* Runs every rule of docs/ca.md, adding one message per failure. */
void pki_lint(const pki_lint_in *in, es_pki_lint *l);

#endif
