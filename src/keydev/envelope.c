/* GB/T 35291 ENVELOPEDKEYBLOB: the key import envelope (6.4.10, 7.6.12) that LD/T 01.1 calls
 * the key import mechanism for seal key packages. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/skf.h"
#include "keydev/internal.h"

#define ENV_SYMM_KEY_LEN 16

es_err envelope_make(const es_sm2_key *key, const uint8_t wrap_pub[ES_SM2_PUB_LEN], es_buf *out)
{
    uint8_t d[32], field[64], symm[ENV_SYMM_KEY_LEN], pub[ES_SM2_PUB_LEN];
    es_buf ct;
    es_sm2_cipher_parts parts;
    ENVELOPEDKEYBLOB *blob = NULL;
    size_t fixed = offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher), total = 0;
    es_err rv;
    if (!key || !wrap_pub || !out) return ES_ERR_ARG;
    es_buf_init(&ct, 1024);
    memset(field, 0, sizeof field);
    if ((rv = es_sm2_key_private(key, d)) != ES_OK || (rv = es_random(symm, sizeof symm)) != ES_OK)
        goto out;
    /* The private key as ECCPRIVATEKEYBLOB.PrivateKey holds it: right-aligned in 64 bytes.
     * The whole field is encrypted (ECB, no padding), as GmSSL's SKF_ImportECCPrivateKey did;
     * its last 32 bytes are then the encryption of the scalar alone, so a device that
     * decrypts only the right-aligned half reads the same key. */
    memcpy(field + 32, d, 32);
    /* The symmetric key goes to the container's signing public key (GB/T 35291 6.4.10). */
    if ((rv = es_sm2_encrypt(wrap_pub, symm, sizeof symm, &ct)) != ES_OK) goto out;
    if ((rv = sm2_cipher_from_der(es_slice_make(ct.p, ct.len), &parts)) != ES_OK) goto out;
    if (parts.c.len != sizeof symm) {
        rv = ES_ERR_CRYPTO;
        goto out;
    }
    total = fixed + parts.c.len;
    /* A zeroed buffer the size of the structure at least, so that no field is left out. */
    blob = calloc(1, total > sizeof *blob ? total : sizeof *blob);
    if (!blob) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    blob->Version = SKF_ENVELOPEDKEYBLOB_VERSION;
    blob->ulSymmAlgID = SGD_SM4_ECB;
    blob->ulBits = 256;
    if ((rv = es_sm4_ecb(1, symm, field, sizeof field, blob->cbEncryptedPriKey)) != ES_OK) goto out;
    es_sm2_key_pub(key, pub);
    blob->PubKey.BitLen = 256;
    memcpy(blob->PubKey.XCoordinate + 32, pub + 1, 32);
    memcpy(blob->PubKey.YCoordinate + 32, pub + 33, 32);
    memcpy(blob->ECCCipherBlob.XCoordinate + 32, parts.x, 32);
    memcpy(blob->ECCCipherBlob.YCoordinate + 32, parts.y, 32);
    memcpy(blob->ECCCipherBlob.HASH, parts.hash, 32);
    blob->ECCCipherBlob.CipherLen = (ULONG)parts.c.len;
    memcpy(blob->ECCCipherBlob.Cipher, parts.c.p, parts.c.len);
    rv = es_buf_append(out, blob, total);
out:
    es_wipe(d, sizeof d);
    es_wipe(field, sizeof field);
    es_wipe(symm, sizeof symm);
    es_buf_cleanup(&ct);
    free(blob);
    return rv;
}
