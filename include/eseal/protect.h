/* eseal protect: personal and important data at rest (GB/T 39786 level 3): SM4 envelope
 * encryption under data keys wrapped by a key in the key device, a keyed SM3 index for
 * exact-value search, integrity of records. aad binds a ciphertext to its place
 * ("applications/42/idno"). Interface fixed for issue 10 (provider: branch h10-protect);
 * until it is merged the making core carries an interim implementation in
 * src/svc/making/interim.c, which does NOT encrypt (docs/making.md says so). */
#ifndef ESEAL_PROTECT_H
#define ESEAL_PROTECT_H

#include <stddef.h>

#include "eseal/err.h"
#include "eseal/store.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef struct es_protect es_protect; /* made at node start from the config's key device */

es_err es_protect_seal(es_protect *p, es_store *st, es_slice plain, es_slice aad,
                       es_buf *out) ES_MUST_CHECK; /* self-describing: names its data key */
es_err es_protect_open(es_protect *p, es_store *st, es_slice sealed, es_slice aad,
                       es_buf *plain) ES_MUST_CHECK; /* ES_ERR_VERIFY when tampered or moved */
/* Keyed SM3 of a normalised value for exact search: purpose separates the spaces
 * ("idno", "mobile"); out: 64 hex digits + NUL. */
es_err es_protect_index(es_protect *p, const char *purpose, es_slice value,
                        char out[65]) ES_MUST_CHECK;
/* Integrity of a record's canonical bytes (keyed SM3): 64 hex digits + NUL; check returns
 * ES_ERR_VERIFY on mismatch. */
es_err es_protect_mac(es_protect *p, es_slice record, char out[65]) ES_MUST_CHECK;
es_err es_protect_mac_check(es_protect *p, es_slice record, const char *mac) ES_MUST_CHECK;
/* Masked forms for lists: "4403**********123X", "138****5678", "广东省深圳市***". */
void es_mask_idno(const char *in, char *out, size_t n);
void es_mask_mobile(const char *in, char *out, size_t n);
void es_mask_text(const char *in, char *out, size_t n);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
