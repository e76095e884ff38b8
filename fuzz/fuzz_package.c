/* libFuzzer target: the delivery formats of docs/delivery.md on arbitrary bytes, through both
 * parsers (a request package and a server package: one target, so that CI's bounded fuzzing
 * time grows by one slot), with and without a trust list, and the token-side check that a
 * seal names a certificate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/package.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A PEM trust list that holds no usable certificate: trust building runs and refuses. */
static const char junk_trust[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_slice in = es_slice_make(data, size), none = es_slice_make(NULL, 0);
    es_slice junk = es_slice_make(junk_trust, sizeof junk_trust - 1);
    char why[256];
    es_package_req *r = NULL;

    if (es_package_req_parse(in, none, &r, why, sizeof why) == ES_OK) {
        const es_package_req_info *i = es_package_req_info_of(r);
        if (!i || strlen(i->request_id) == 0 || strlen(i->request_id) > ES_PACKAGE_ID_MAX) abort();
        if (es_sm2_pub_check(i->enc_pub) != ES_OK) abort();
        es_package_req_free(r);
        r = NULL;
        /* A trust list without an anchor never accepts it. */
        if (es_package_req_parse(in, junk, &r, why, sizeof why) == ES_OK) abort();
    }
    if (r) abort();

    es_package p;
    if (es_package_parse(in, none, &p, why, sizeof why) == ES_OK) {
        /* What the parser promises: the seal names the certificate, whose key the envelope
         * carries. */
        if (!es_seal_names_cert(p.seal, p.cert)) abort();
        if (p.envelope.len == 0 || p.cert.len == 0 || p.seal.len == 0) abort();
        if (es_package_parse(in, junk, &p, why, sizeof why) == ES_OK) abort();
    }
    (void)es_seal_names_cert(in, in);
    return 0;
}
