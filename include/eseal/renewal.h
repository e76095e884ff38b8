/* eseal making: online self-service renewal (LD/T 01.1 7.9 note; docs/making.md "Self-service
 * renewal"; issue 10, MK48, CA12).
 *
 * The holder's seal key signs a renewal request; the daemon checks it against the certificate
 * the registry holds for the seal and, when it holds, enters a renew application in the state
 * a reviewer picks up (submitted), entered by "self-service:CODE", keeping the request and its
 * signature as the evidence. The rest is the ordinary renew flow (review with four eyes,
 * execution: a new certificate for the request's new key and a new seal with the same code).
 *
 * The request is canonical text (UTF-8, LF line ends, every line present, in this order, no
 * other line, at most ES_RENEWAL_MAX bytes):
 *
 *   eseal-renewal-1
 *   code=<the seal code>
 *   serial=<the seal's current certificate serial, lower-case hex>
 *   valid_until=<the end of validity wanted, YYYY-MM-DDTHH:MM:SSZ>
 *   contact=<who to call: 1 to 200 bytes, no control character>
 *   time=<when it was signed, YYYY-MM-DDTHH:MM:SSZ>
 *   nonce=<32 to 64 lower-case hex digits, never used twice>
 *   csr=<base64 of the DER PKCS#10 request of the token's new key, signed by it>
 *
 * and its signature is SM2 with SM3, ID 1234567812345678, DER SEQUENCE{r, s}, by the key of the
 * seal's current certificate (proof of possession of the seal); the CSR's own signature proves
 * possession of the new key.
 */
#ifndef ESEAL_RENEWAL_H
#define ESEAL_RENEWAL_H

#include "eseal/making.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_RENEWAL_MAX     32768
#define ES_RENEWAL_CONTACT 200
#define ES_RENEWAL_SKEW    600 /* seconds either way */

typedef struct es_renewal_req {
    char code[ES_SEAL_CODE_MAX];
    char serial[41];
    es_time valid_until;
    char contact[ES_RENEWAL_CONTACT + 1];
    es_time time;
    char nonce[65];
    es_buf csr; /* DER */
} es_renewal_req;
void es_renewal_req_init(es_renewal_req *r);
void es_renewal_req_free(es_renewal_req *r);

/* Reads the canonical text. ES_ERR_RENEWAL_FORMAT with *field (the line's name) and *why. */
es_err es_renewal_parse(es_slice text, es_renewal_req *out, const char **field,
                        es_reason *why) ES_MUST_CHECK;
/* Appends the canonical text of r (its fields as es_renewal_parse would accept them). */
es_err es_renewal_text(const es_renewal_req *r, es_buf *out) ES_MUST_CHECK;

typedef struct es_renewal_opts {
    unsigned window_days; /* renewable this many days before valid_end */
    const char *address;  /* the requester's address, kept with the evidence */
    es_time now;          /* ES_TIME_NONE: the clock */
} es_renewal_opts;

/* Checks the signed request and enters the renew application (no session: the seal key is
 * the proof). ES_ERR_RENEWAL_FORMAT (*field, *why), ES_ERR_NOT_FOUND (no such seal),
 * ES_ERR_MK_SEAL_STATE (not active: suspended, lost, cancelled), ES_ERR_RENEWAL_CERT (not its
 * current certificate, or that certificate is revoked), ES_ERR_RENEWAL_SIGNATURE,
 * ES_ERR_RENEWAL_TIME, ES_ERR_RENEWAL_WINDOW, ES_ERR_RENEWAL_REPLAY, ES_ERR_MK_DUPLICATE (an
 * open application for the seal), ES_ERR_UNSUPPORTED (a server seal: renewed through the
 * ordinary flow with a new request package), ES_ERR_MK_NO_PICTURE (an imported seal whose
 * picture was not kept: not a PNG of 10 to 100 mm; docs/making.md), ES_ERR_MK_NO_USCC (an
 * imported seal whose standing application has no credit code). Nothing is stored on a
 * refusal; the application, the evidence (request, signature, address) under its nonce and the
 * audit record commit together. *id the application. */
es_err es_making_renewal_request(es_making *m, es_slice text, es_slice signature,
                                 const es_renewal_opts *o, int64_t *id, const char **field,
                                 es_reason *why) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
