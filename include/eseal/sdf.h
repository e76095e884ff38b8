/* GB/T 36322-2018 / GM/T 0018 (SDF): the C ABI of a crypto device library, as a vendor
 * header declares it. eseal loads such a library with dlopen (src/keydev/sdf.c) and builds
 * one, libsoftsdf.so (devices/softsdf/), that keeps its keys in files for tests.
 *
 * Only what eseal uses is declared: device and session, device information, random, key
 * access rights, ECC public key export, internal signing, external verification, ECC
 * encryption and internal decryption. The layout follows GmSSL src/sdf/sdf.h (GM/T 0018-2012);
 * vendor headers differ in places (SANSEC's ECCCipher, for one), so a vendor library whose
 * structures differ needs its own adapter. Names are the standard's, not eseal's.
 *
 * Conventions (GB/T 36322 5, 6):
 *   - every function returns SDR_OK (0) or an SDR_ code; handles are void *;
 *   - structures are packed (#pragma pack(1));
 *   - ECC numbers are big-endian and right-aligned in ECCref_MAX_LEN (64) byte fields: for a
 *     256-bit SM2 value bytes 0..31 are zero and bytes 32..63 hold it;
 *   - SDF_InternalSign_ECC and SDF_ExternalVerify_ECC take the 32-byte digest
 *     e = SM3(Z || M), never the message.
 *
 * A library that exports the functions marks them with SDF_API (empty unless defined before
 * this header is included).
 */
#ifndef ESEAL_SDF_H
#define ESEAL_SDF_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SDF_API
#define SDF_API
#endif

/* --- Algorithm identifiers (GM/T 0006) --- */
#define SGD_SM1     0x00000100
#define SGD_SM4     0x00000400
#define SGD_ECB     0x00000001
#define SGD_CBC     0x00000002
#define SGD_CFB     0x00000004
#define SGD_OFB     0x00000008
#define SGD_MAC     0x00000010
#define SGD_SM4_ECB (SGD_SM4 | SGD_ECB)
#define SGD_SM4_CBC (SGD_SM4 | SGD_CBC)
#define SGD_SM4_CFB (SGD_SM4 | SGD_CFB)
#define SGD_SM4_OFB (SGD_SM4 | SGD_OFB)
#define SGD_SM4_MAC (SGD_SM4 | SGD_MAC)

#define SGD_SM3 0x00000001

#define SGD_SM2     0x00020100 /* SM2 */
#define SGD_SM2_1   0x00020200 /* SM2 signature; the signing key pair */
#define SGD_SM2_2   0x00020400 /* SM2 key exchange */
#define SGD_SM2_3   0x00020800 /* SM2 encryption; the encryption key pair */
#define SGD_SM3_SM2 0x00020101

/* --- Return codes (GB/T 36322 Appendix A) --- */
#define SDR_OK               0x00000000
#define SDR_BASE             0x01000000
#define SDR_UNKNOWERR        (SDR_BASE + 0x00000001)
#define SDR_NOTSUPPORT       (SDR_BASE + 0x00000002)
#define SDR_COMMFAIL         (SDR_BASE + 0x00000003)
#define SDR_HARDFAIL         (SDR_BASE + 0x00000004)
#define SDR_OPENDEVICE       (SDR_BASE + 0x00000005)
#define SDR_OPENSESSION      (SDR_BASE + 0x00000006)
#define SDR_PARDENY          (SDR_BASE + 0x00000007) /* no access right / wrong password */
#define SDR_KEYNOTEXIST      (SDR_BASE + 0x00000008)
#define SDR_ALGNOTSUPPORT    (SDR_BASE + 0x00000009)
#define SDR_ALGMODNOTSUPPORT (SDR_BASE + 0x0000000A)
#define SDR_PKOPERR          (SDR_BASE + 0x0000000B)
#define SDR_SKOPERR          (SDR_BASE + 0x0000000C)
#define SDR_SIGNERR          (SDR_BASE + 0x0000000D)
#define SDR_VERIFYERR        (SDR_BASE + 0x0000000E)
#define SDR_SYMOPERR         (SDR_BASE + 0x0000000F)
#define SDR_STEPERR          (SDR_BASE + 0x00000010)
#define SDR_FILESIZEERR      (SDR_BASE + 0x00000011)
#define SDR_FILENOEXIST      (SDR_BASE + 0x00000012)
#define SDR_FILEOFSERR       (SDR_BASE + 0x00000013)
#define SDR_KEYTYPEERR       (SDR_BASE + 0x00000014)
#define SDR_KEYERR           (SDR_BASE + 0x00000015)
#define SDR_ENCDATAERR       (SDR_BASE + 0x00000016)
#define SDR_RANDERR          (SDR_BASE + 0x00000017)
#define SDR_PRKRERR          (SDR_BASE + 0x00000018)
#define SDR_MACERR           (SDR_BASE + 0x00000019)
#define SDR_FILEEXSITS       (SDR_BASE + 0x0000001A)
#define SDR_FILEWERR         (SDR_BASE + 0x0000001B)
#define SDR_NOBUFFER         (SDR_BASE + 0x0000001C)
#define SDR_INARGERR         (SDR_BASE + 0x0000001D)
#define SDR_OUTARGERR        (SDR_BASE + 0x0000001E)

/* --- Structures --- */
#define ECCref_MAX_BITS 512
#define ECCref_MAX_LEN  ((ECCref_MAX_BITS + 7) / 8)

#pragma pack(1)
typedef struct DeviceInfo_st {
    unsigned char IssuerName[40]; /* not NUL-terminated when full */
    unsigned char DeviceName[16];
    unsigned char DeviceSerial[16]; /* 8-digit date, 3-digit batch, 5-digit serial */
    unsigned int DeviceVersion;
    unsigned int StandardVersion;
    unsigned int AsymAlgAbility[2]; /* [0] algorithm IDs OR-ed, [1] modulus lengths */
    unsigned int SymAlgAbility;
    unsigned int HashAlgAbility;
    unsigned int BufferSize;
} DEVICEINFO;

typedef struct ECCrefPublicKey_st {
    unsigned int bits; /* 256 for SM2 */
    unsigned char x[ECCref_MAX_LEN];
    unsigned char y[ECCref_MAX_LEN];
} ECCrefPublicKey;

typedef struct ECCrefPrivateKey_st {
    unsigned int bits;
    unsigned char K[ECCref_MAX_LEN];
} ECCrefPrivateKey;

typedef struct ECCSignature_st {
    unsigned char r[ECCref_MAX_LEN];
    unsigned char s[ECCref_MAX_LEN];
} ECCSignature;

/* SM2 ciphertext: C1 = (x, y), M = C3 (the SM3 check value), C = C2 of L bytes. C is
 * declared with one element, as GmSSL does; the caller allocates
 * offsetof(ECCCipher, C) + L bytes (at least sizeof(ECCCipher)). */
typedef struct ECCCipher_st {
    unsigned char x[ECCref_MAX_LEN];
    unsigned char y[ECCref_MAX_LEN];
    unsigned char M[32];
    unsigned int L;
    unsigned char C[1];
} ECCCipher;
#pragma pack()

/* --- Functions (GB/T 36322 6.2 device management, 6.3 key management, 6.4 asymmetric
 * operations). Each has a function-pointer type for dlsym. --- */

typedef int (*SDF_OpenDevice_fn)(void **phDeviceHandle);
typedef int (*SDF_CloseDevice_fn)(void *hDeviceHandle);
typedef int (*SDF_OpenSession_fn)(void *hDeviceHandle, void **phSessionHandle);
typedef int (*SDF_CloseSession_fn)(void *hSessionHandle);
typedef int (*SDF_GetDeviceInfo_fn)(void *hSessionHandle, DEVICEINFO *pstDeviceInfo);
typedef int (*SDF_GenerateRandom_fn)(void *hSessionHandle, unsigned int uiLength,
                                     unsigned char *pucRandom);
typedef int (*SDF_GetPrivateKeyAccessRight_fn)(void *hSessionHandle, unsigned int uiKeyIndex,
                                               unsigned char *pucPassword,
                                               unsigned int uiPwdLength);
typedef int (*SDF_ReleasePrivateKeyAccessRight_fn)(void *hSessionHandle, unsigned int uiKeyIndex);
typedef int (*SDF_ExportSignPublicKey_ECC_fn)(void *hSessionHandle, unsigned int uiKeyIndex,
                                              ECCrefPublicKey *pucPublicKey);
typedef int (*SDF_ExportEncPublicKey_ECC_fn)(void *hSessionHandle, unsigned int uiKeyIndex,
                                             ECCrefPublicKey *pucPublicKey);
typedef int (*SDF_InternalSign_ECC_fn)(void *hSessionHandle, unsigned int uiISKIndex,
                                       unsigned char *pucData, unsigned int uiDataLength,
                                       ECCSignature *pucSignature);
typedef int (*SDF_ExternalVerify_ECC_fn)(void *hSessionHandle, unsigned int uiAlgID,
                                         ECCrefPublicKey *pucPublicKey, unsigned char *pucDataInput,
                                         unsigned int uiInputLength, ECCSignature *pucSignature);
typedef int (*SDF_ExternalEncrypt_ECC_fn)(void *hSessionHandle, unsigned int uiAlgID,
                                          ECCrefPublicKey *pucPublicKey, unsigned char *pucData,
                                          unsigned int uiDataLength, ECCCipher *pucEncData);
/* uiAlgID selects the key pair at uiISKIndex: SGD_SM2_3 the encryption key (the usual case),
 * SGD_SM2_1 the signing key where a device allows it. *puiDataLength receives L. */
typedef int (*SDF_InternalDecrypt_ECC_fn)(void *hSessionHandle, unsigned int uiISKIndex,
                                          unsigned int uiAlgID, ECCCipher *pucEncData,
                                          unsigned char *pucData, unsigned int *puiDataLength);

/* Not in GB/T 36322: a vendor extension, as cards offer under various names and signatures
 * (an ENVELOPEDKEYBLOB import into a key index), in the form eseal's software device
 * (libsoftsdf.so) exports it; a card whose function differs needs an adapter library.
 * pucEnvelopedKeyBlob holds uiBlobLength bytes of a GB/T 35291 ENVELOPEDKEYBLOB (include/eseal/
 * skf.h: 32-bit ULONG layout) whose symmetric key is SM2-encrypted to the ENCRYPTION public
 * key of uiKeyIndex; the device unwraps it inside with that key's private key (the access
 * right of uiKeyIndex is needed: SDR_PARDENY), checks the private key against the blob's
 * PubKey (SDR_KEYERR), and keeps the pair as the signing key pair of uiKeyIndex
 * (uiAlgID SGD_SM2_1; SDR_FILEEXSITS when the index has a signing key already: never
 * overwritten). SDR_ENCDATAERR when the envelope does not open with that key. */
typedef int (*SDF_ImportKeyPair_ECC_fn)(void *hSessionHandle, unsigned int uiKeyIndex,
                                        unsigned int uiAlgID,
                                        const unsigned char *pucEnvelopedKeyBlob,
                                        unsigned int uiBlobLength);

SDF_API int SDF_OpenDevice(void **phDeviceHandle);
SDF_API int SDF_CloseDevice(void *hDeviceHandle);
SDF_API int SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle);
SDF_API int SDF_CloseSession(void *hSessionHandle);
SDF_API int SDF_GetDeviceInfo(void *hSessionHandle, DEVICEINFO *pstDeviceInfo);
SDF_API int SDF_GenerateRandom(void *hSessionHandle, unsigned int uiLength,
                               unsigned char *pucRandom);
SDF_API int SDF_GetPrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex,
                                         unsigned char *pucPassword, unsigned int uiPwdLength);
SDF_API int SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex);
SDF_API int SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                        ECCrefPublicKey *pucPublicKey);
SDF_API int SDF_ExportEncPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                       ECCrefPublicKey *pucPublicKey);
SDF_API int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiISKIndex,
                                 unsigned char *pucData, unsigned int uiDataLength,
                                 ECCSignature *pucSignature);
SDF_API int SDF_ExternalVerify_ECC(void *hSessionHandle, unsigned int uiAlgID,
                                   ECCrefPublicKey *pucPublicKey, unsigned char *pucDataInput,
                                   unsigned int uiInputLength, ECCSignature *pucSignature);
SDF_API int SDF_ExternalEncrypt_ECC(void *hSessionHandle, unsigned int uiAlgID,
                                    ECCrefPublicKey *pucPublicKey, unsigned char *pucData,
                                    unsigned int uiDataLength, ECCCipher *pucEncData);
SDF_API int SDF_InternalDecrypt_ECC(void *hSessionHandle, unsigned int uiISKIndex,
                                    unsigned int uiAlgID, ECCCipher *pucEncData,
                                    unsigned char *pucData, unsigned int *puiDataLength);
SDF_API int SDF_ImportKeyPair_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                  unsigned int uiAlgID, const unsigned char *pucEnvelopedKeyBlob,
                                  unsigned int uiBlobLength);

#ifdef __cplusplus
}
#endif
#endif
