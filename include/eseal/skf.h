/* GB/T 35291-2017 / GM/T 0016 (SKF): the C ABI of a smart cryptographic key (USBKey) library,
 * as a vendor header declares it. eseal loads such a library with dlopen (src/keydev/skf.c)
 * and builds one, libsoftskf.so (devices/softskf/), that keeps its state in files for tests.
 *
 * Only what eseal uses is declared: devices, applications, PINs, files, containers, ECC key
 * pairs, signatures, certificates, and the vendor extension SKF_ECCDecrypt. The layout follows the
 * standard as GmSSL src/skf/skf.h reproduces it; clause numbers are GB/T 35291's. Names are
 * the standard's, not eseal's.
 *
 * Conventions (GB/T 35291 5, 6):
 *   - every function returns SAR_OK (0) or a SAR_ code; handles are void *;
 *   - ULONG is 32 bits (the standard's UINT32); a vendor library built with a 64-bit
 *     `unsigned long` needs its own adapter, since the structures below would differ;
 *   - structures are packed (#pragma pack(1));
 *   - ECC numbers are big-endian and right-aligned in 64-byte fields
 *     (ECC_MAX_XCOORDINATE_BITS_LEN 512): for a 256-bit SM2 value bytes 0..31 are zero and
 *     bytes 32..63 hold it;
 *   - name lists (SKF_EnumDev, SKF_EnumApplication, SKF_EnumContainer) are multi-strings:
 *     NUL-terminated names one after another, ended by an empty name; called with a NULL
 *     buffer they report the size needed;
 *   - SKF_ECCSignData takes the 32-byte digest e = SM3(Z || M), never the message.
 *
 * A library that exports the functions marks them with SKF_API (empty unless defined before
 * this header is included); DEVAPI is the calling convention (__stdcall on Windows).
 */
#ifndef ESEAL_SKF_H
#define ESEAL_SKF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SKF_API
#define SKF_API
#endif
#ifndef DEVAPI
#if defined(_WIN32)
#define DEVAPI __stdcall
#else
#define DEVAPI
#endif
#endif

/* --- Basic types (GB/T 35291 6.2) --- */
typedef int8_t INT8;
typedef int16_t INT16;
typedef int32_t INT32;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef int32_t BOOL;
typedef uint8_t BYTE;
typedef char CHAR;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef uint32_t UINT;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef uint32_t FLAGS;
typedef CHAR *LPSTR;
typedef void *HANDLE;
typedef HANDLE DEVHANDLE;
typedef HANDLE HAPPLICATION;
typedef HANDLE HCONTAINER;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* --- Algorithm identifiers (GM/T 0006; the same text as eseal/sdf.h) --- */
#ifndef SGD_SM2_1
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
#endif
#ifndef SGD_SM1_ECB
#define SGD_SM1_ECB (SGD_SM1 | SGD_ECB)
#endif

/* --- Constants (GB/T 35291 6.4) --- */
#define ADMIN_TYPE 0 /* the security officer (SO) PIN */
#define USER_TYPE  1

#define SECURE_NEVER_ACCOUNT  0x00000000
#define SECURE_ADM_ACCOUNT    0x00000001
#define SECURE_USER_ACCOUNT   0x00000010
#define SECURE_ANYONE_ACCOUNT 0x000000FF

#define DEV_ABSENT_STATE  0x00000000
#define DEV_PRESENT_STATE 0x00000001
#define DEV_UNKNOW_STATE  0x00000002

#define CONTAINER_TYPE_UNDEF 0 /* SKF_GetContainerType: no key pair yet */
#define CONTAINER_TYPE_RSA   1
#define CONTAINER_TYPE_ECC   2

#define MAX_IV_LEN                   32
#define MAX_FILE_NAME_SIZE           32
#define MAX_RSA_MODULUS_LEN          256
#define MAX_RSA_EXPONENT_LEN         4
#define ECC_MAX_XCOORDINATE_BITS_LEN 512
#define ECC_MAX_YCOORDINATE_BITS_LEN 512
#define ECC_MAX_MODULUS_BITS_LEN     512

/* --- Structures (GB/T 35291 6.4) --- */
#pragma pack(push, 1)
typedef struct Struct_Version {
    BYTE major;
    BYTE minor;
} VERSION;

typedef struct Struct_DEVINFO {
    VERSION Version;
    CHAR Manufacturer[64]; /* NUL-terminated when shorter than the field */
    CHAR Issuer[64];
    CHAR Label[32];
    CHAR SerialNumber[32];
    VERSION HWVersion;
    VERSION FirmwareVersion;
    ULONG AlgSymCap;
    ULONG AlgAsymCap;
    ULONG AlgHashCap;
    ULONG DevAuthAlgId;
    ULONG TotalSpace;
    ULONG FreeSpace;
    ULONG MaxECCBufferSize;
    ULONG MaxBufferSize;
    BYTE Reserved[64];
} DEVINFO, *PDEVINFO;

typedef struct Struct_ECCPUBLICKEYBLOB {
    ULONG BitLen; /* 256 for SM2 */
    BYTE XCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE YCoordinate[ECC_MAX_YCOORDINATE_BITS_LEN / 8];
} ECCPUBLICKEYBLOB, *PECCPUBLICKEYBLOB;

typedef struct Struct_ECCPRIVATEKEYBLOB {
    ULONG BitLen;
    BYTE PrivateKey[ECC_MAX_MODULUS_BITS_LEN / 8];
} ECCPRIVATEKEYBLOB, *PECCPRIVATEKEYBLOB;

/* SM2 ciphertext: C1 = (XCoordinate, YCoordinate), HASH = C3, Cipher = C2 of CipherLen bytes.
 * The structure is variable-length: Cipher runs CipherLen bytes past its declared one. */
typedef struct Struct_ECCCIPHERBLOB {
    BYTE XCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE YCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE HASH[32];
    ULONG CipherLen;
    BYTE Cipher[1];
} ECCCIPHERBLOB, *PECCCIPHERBLOB;

typedef struct Struct_ECCSIGNATUREBLOB {
    BYTE r[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE s[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
} ECCSIGNATUREBLOB, *PECCSIGNATUREBLOB;

typedef struct Struct_BLOCKCIPHERPARAM {
    BYTE IV[MAX_IV_LEN];
    ULONG IVLen;
    ULONG PaddingType;
    ULONG FeedBitLen;
} BLOCKCIPHERPARAM, *PBLOCKCIPHERPARAM;

/* The key import envelope (GB/T 35291 6.4.10; the "key import mechanism" LD/T 01.1 points
 * to): an SM2 key pair whose private key is encrypted, ECB, under a random symmetric key, and
 * that key SM2-encrypted to the importing container's signing public key.
 *   Version           1
 *   ulSymmAlgID       the symmetric algorithm, ECB mode (SGD_SM4_ECB, SGD_SM1_ECB)
 *   ulBits            the key pair's size in bits (256)
 *   cbEncryptedPriKey the 64-byte right-aligned private key field, encrypted (ECB, no padding)
 *   PubKey            the key pair's public key
 *   ECCCipherBlob     the symmetric key (16 bytes) encrypted to the container's signing key;
 *                     variable-length, so the whole blob is
 *                     offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher) + CipherLen bytes. */
typedef struct SKF_ENVELOPEDKEYBLOB {
    ULONG Version;
    ULONG ulSymmAlgID;
    ULONG ulBits;
    BYTE cbEncryptedPriKey[64];
    ECCPUBLICKEYBLOB PubKey;
    ECCCIPHERBLOB ECCCipherBlob;
} ENVELOPEDKEYBLOB, *PENVELOPEDKEYBLOB;

/* A file of an application (GB/T 35291 6.4.11, 7.4): its name, size and access rights
 * (SECURE_*_ACCOUNT). */
typedef struct Struct_FILEATTRIBUTE {
    CHAR FileName[32];
    ULONG FileSize;
    ULONG ReadRights;
    ULONG WriteRights;
} FILEATTRIBUTE, *PFILEATTRIBUTE;
#pragma pack(pop)

#define SKF_ENVELOPEDKEYBLOB_VERSION 1

/* --- Return codes (GB/T 35291 Appendix A) --- */
#define SAR_OK                        0x00000000
#define SAR_FAIL                      0x0A000001
#define SAR_UNKNOWNERR                0x0A000002
#define SAR_NOTSUPPORTYETERR          0x0A000003
#define SAR_FILEERR                   0x0A000004
#define SAR_INVALIDHANDLEERR          0x0A000005
#define SAR_INVALIDPARAMERR           0x0A000006
#define SAR_READFILEERR               0x0A000007
#define SAR_WRITEFILEERR              0x0A000008
#define SAR_NAMELENERR                0x0A000009
#define SAR_KEYUSAGEERR               0x0A00000A
#define SAR_MODULUSLENERR             0x0A00000B
#define SAR_NOTINITIALIZEERR          0x0A00000C
#define SAR_OBJERR                    0x0A00000D
#define SAR_MEMORYERR                 0x0A00000E
#define SAR_TIMEOUTERR                0x0A00000F
#define SAR_INDATALENERR              0x0A000010
#define SAR_INDATAERR                 0x0A000011
#define SAR_GENRANDERR                0x0A000012
#define SAR_HASHOBJERR                0x0A000013
#define SAR_HASHERR                   0x0A000014
#define SAR_GENRSAKEYERR              0x0A000015
#define SAR_RSAMODULUSLENERR          0x0A000016
#define SAR_CSPIMPRTPUBKEYERR         0x0A000017
#define SAR_RSAENCERR                 0x0A000018
#define SAR_RSADECERR                 0x0A000019
#define SAR_HASHNOTEQUALERR           0x0A00001A
#define SAR_KEYNOTFOUNTERR            0x0A00001B
#define SAR_CERTNOTFOUNTERR           0x0A00001C
#define SAR_NOTEXPORTERR              0x0A00001D
#define SAR_DECRYPTPADERR             0x0A00001E
#define SAR_MACLENERR                 0x0A00001F
#define SAR_BUFFER_TOO_SMALL          0x0A000020
#define SAR_KEYINFOTYPEERR            0x0A000021
#define SAR_NOT_EVENTERR              0x0A000022
#define SAR_DEVICE_REMOVED            0x0A000023
#define SAR_PIN_INCORRECT             0x0A000024
#define SAR_PIN_LOCKED                0x0A000025
#define SAR_PIN_INVALID               0x0A000026
#define SAR_PIN_LEN_RANGE             0x0A000027
#define SAR_USER_ALREADY_LOGGED_IN    0x0A000028
#define SAR_USER_PIN_NOT_INITIALIZED  0x0A000029
#define SAR_USER_TYPE_INVALID         0x0A00002A
#define SAR_APPLICATION_NAME_INVALID  0x0A00002B
#define SAR_APPLICATION_EXISTS        0x0A00002C
#define SAR_USER_NOT_LOGGED_IN        0x0A00002D
#define SAR_APPLICATION_NOT_EXISTS    0x0A00002E
#define SAR_FILE_ALREADY_EXIST        0x0A00002F
#define SAR_NO_ROOM                   0x0A000030
#define SAR_FILE_NOT_EXIST            0x0A000031
#define SAR_REACH_MAX_CONTAINER_COUNT 0x0A000032

/* --- Functions: a prototype for a library that exports them, and a pointer type for a
 * caller that finds them with dlsym. --- */

/* 7.1.4 Lists the devices (bPresent: only those present). */
SKF_API ULONG DEVAPI SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize);
typedef ULONG(DEVAPI *SKF_EnumDev_fn)(BOOL bPresent, LPSTR szNameList, ULONG *pulSize);
/* 7.1.5 */
SKF_API ULONG DEVAPI SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev);
typedef ULONG(DEVAPI *SKF_ConnectDev_fn)(LPSTR szName, DEVHANDLE *phDev);
/* 7.1.6 */
SKF_API ULONG DEVAPI SKF_DisConnectDev(DEVHANDLE hDev);
typedef ULONG(DEVAPI *SKF_DisConnectDev_fn)(DEVHANDLE hDev);
/* 7.1.9 */
SKF_API ULONG DEVAPI SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo);
typedef ULONG(DEVAPI *SKF_GetDevInfo_fn)(DEVHANDLE hDev, DEVINFO *pDevInfo);

/* 7.2.3 Device authentication (needed by some devices before SKF_CreateApplication). */
SKF_API ULONG DEVAPI SKF_DevAuth(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen);
typedef ULONG(DEVAPI *SKF_DevAuth_fn)(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen);
/* 7.2.4 */
SKF_API ULONG DEVAPI SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin,
                                   LPSTR szNewPin, ULONG *pulRetryCount);
typedef ULONG(DEVAPI *SKF_ChangePIN_fn)(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin,
                                        LPSTR szNewPin, ULONG *pulRetryCount);
/* 7.2.5 */
SKF_API ULONG DEVAPI SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType,
                                    ULONG *pulMaxRetryCount, ULONG *pulRemainRetryCount,
                                    BOOL *pbDefaultPin);
typedef ULONG(DEVAPI *SKF_GetPINInfo_fn)(HAPPLICATION hApplication, ULONG ulPINType,
                                         ULONG *pulMaxRetryCount, ULONG *pulRemainRetryCount,
                                         BOOL *pbDefaultPin);
/* 7.2.6 */
SKF_API ULONG DEVAPI SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN,
                                   ULONG *pulRetryCount);
typedef ULONG(DEVAPI *SKF_VerifyPIN_fn)(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN,
                                        ULONG *pulRetryCount);
/* 7.2.7 */
SKF_API ULONG DEVAPI SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN,
                                    ULONG *pulRetryCount);
typedef ULONG(DEVAPI *SKF_UnblockPIN_fn)(HAPPLICATION hApplication, LPSTR szAdminPIN,
                                         LPSTR szNewUserPIN, ULONG *pulRetryCount);
/* 7.2.8 */
SKF_API ULONG DEVAPI SKF_ClearSecureState(HAPPLICATION hApplication);
typedef ULONG(DEVAPI *SKF_ClearSecureState_fn)(HAPPLICATION hApplication);

/* 7.3.2 */
SKF_API ULONG DEVAPI SKF_CreateApplication(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin,
                                           DWORD dwAdminPinRetryCount, LPSTR szUserPin,
                                           DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
                                           HAPPLICATION *phApplication);
typedef ULONG(DEVAPI *SKF_CreateApplication_fn)(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin,
                                                DWORD dwAdminPinRetryCount, LPSTR szUserPin,
                                                DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
                                                HAPPLICATION *phApplication);
/* 7.3.3 */
SKF_API ULONG DEVAPI SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize);
typedef ULONG(DEVAPI *SKF_EnumApplication_fn)(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize);
/* 7.3.5 */
SKF_API ULONG DEVAPI SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName,
                                         HAPPLICATION *phApplication);
typedef ULONG(DEVAPI *SKF_OpenApplication_fn)(DEVHANDLE hDev, LPSTR szAppName,
                                              HAPPLICATION *phApplication);
/* 7.3.6 */
SKF_API ULONG DEVAPI SKF_CloseApplication(HAPPLICATION hApplication);
typedef ULONG(DEVAPI *SKF_CloseApplication_fn)(HAPPLICATION hApplication);

/* 7.4.2 Creates a file of ulFileSize bytes (zeros) in the application; names are at most
 * MAX_FILE_NAME_SIZE (32) bytes. */
SKF_API ULONG DEVAPI SKF_CreateFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulFileSize,
                                    ULONG ulReadRights, ULONG ulWriteRights);
typedef ULONG(DEVAPI *SKF_CreateFile_fn)(HAPPLICATION hApplication, LPSTR szFileName,
                                         ULONG ulFileSize, ULONG ulReadRights, ULONG ulWriteRights);
/* 7.4.3 */
SKF_API ULONG DEVAPI SKF_DeleteFile(HAPPLICATION hApplication, LPSTR szFileName);
typedef ULONG(DEVAPI *SKF_DeleteFile_fn)(HAPPLICATION hApplication, LPSTR szFileName);
/* 7.4.4 A multi-string of the application's file names. */
SKF_API ULONG DEVAPI SKF_EnumFiles(HAPPLICATION hApplication, LPSTR szFileList, ULONG *pulSize);
typedef ULONG(DEVAPI *SKF_EnumFiles_fn)(HAPPLICATION hApplication, LPSTR szFileList,
                                        ULONG *pulSize);
/* 7.4.5 */
SKF_API ULONG DEVAPI SKF_GetFileInfo(HAPPLICATION hApplication, LPSTR szFileName,
                                     FILEATTRIBUTE *pFileInfo);
typedef ULONG(DEVAPI *SKF_GetFileInfo_fn)(HAPPLICATION hApplication, LPSTR szFileName,
                                          FILEATTRIBUTE *pFileInfo);
/* 7.4.6 Reads at most ulSize bytes from ulOffset; *pulOutLen receives how many. */
SKF_API ULONG DEVAPI SKF_ReadFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
                                  ULONG ulSize, BYTE *pbOutData, ULONG *pulOutLen);
typedef ULONG(DEVAPI *SKF_ReadFile_fn)(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
                                       ULONG ulSize, BYTE *pbOutData, ULONG *pulOutLen);
/* 7.4.7 Writes ulSize bytes at ulOffset, inside the size the file was created with. */
SKF_API ULONG DEVAPI SKF_WriteFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
                                   BYTE *pbData, ULONG ulSize);
typedef ULONG(DEVAPI *SKF_WriteFile_fn)(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
                                        BYTE *pbData, ULONG ulSize);

/* 7.5.2 */
SKF_API ULONG DEVAPI SKF_CreateContainer(HAPPLICATION hApplication, LPSTR szContainerName,
                                         HCONTAINER *phContainer);
typedef ULONG(DEVAPI *SKF_CreateContainer_fn)(HAPPLICATION hApplication, LPSTR szContainerName,
                                              HCONTAINER *phContainer);
/* 7.5.4 */
SKF_API ULONG DEVAPI SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName,
                                       HCONTAINER *phContainer);
typedef ULONG(DEVAPI *SKF_OpenContainer_fn)(HAPPLICATION hApplication, LPSTR szContainerName,
                                            HCONTAINER *phContainer);
/* 7.5.5 */
SKF_API ULONG DEVAPI SKF_CloseContainer(HCONTAINER hContainer);
typedef ULONG(DEVAPI *SKF_CloseContainer_fn)(HCONTAINER hContainer);
/* 7.5.6 */
SKF_API ULONG DEVAPI SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName,
                                       ULONG *pulSize);
typedef ULONG(DEVAPI *SKF_EnumContainer_fn)(HAPPLICATION hApplication, LPSTR szContainerName,
                                            ULONG *pulSize);
/* 7.5.7 */
SKF_API ULONG DEVAPI SKF_GetContainerType(HCONTAINER hContainer, ULONG *pulContainerType);
typedef ULONG(DEVAPI *SKF_GetContainerType_fn)(HCONTAINER hContainer, ULONG *pulContainerType);
/* 7.5.8 bExportSignKey: TRUE for the signing certificate, FALSE for the encryption one. */
SKF_API ULONG DEVAPI SKF_ImportCertificate(HCONTAINER hContainer, BOOL bExportSignKey, BYTE *pbCert,
                                           ULONG ulCertLen);
typedef ULONG(DEVAPI *SKF_ImportCertificate_fn)(HCONTAINER hContainer, BOOL bExportSignKey,
                                                BYTE *pbCert, ULONG ulCertLen);
/* 7.5.9 */
SKF_API ULONG DEVAPI SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert,
                                           ULONG *pulCertLen);
typedef ULONG(DEVAPI *SKF_ExportCertificate_fn)(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert,
                                                ULONG *pulCertLen);

/* 7.6.11 Generates the container's signing key pair (ulAlgId SGD_SM2_1). */
SKF_API ULONG DEVAPI SKF_GenECCKeyPair(HCONTAINER hContainer, ULONG ulAlgId,
                                       ECCPUBLICKEYBLOB *pBlob);
typedef ULONG(DEVAPI *SKF_GenECCKeyPair_fn)(HCONTAINER hContainer, ULONG ulAlgId,
                                            ECCPUBLICKEYBLOB *pBlob);
/* 7.6.12 */
SKF_API ULONG DEVAPI SKF_ImportECCKeyPair(HCONTAINER hContainer,
                                          ENVELOPEDKEYBLOB *pEnvelopedKeyBlob);
typedef ULONG(DEVAPI *SKF_ImportECCKeyPair_fn)(HCONTAINER hContainer,
                                               ENVELOPEDKEYBLOB *pEnvelopedKeyBlob);
/* 7.6.13 pbDigest: the 32-byte e = SM3(Z || M). */
SKF_API ULONG DEVAPI SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbDigest, ULONG ulDigestLen,
                                     ECCSIGNATUREBLOB *pSignature);
typedef ULONG(DEVAPI *SKF_ECCSignData_fn)(HCONTAINER hContainer, BYTE *pbDigest, ULONG ulDigestLen,
                                          ECCSIGNATUREBLOB *pSignature);
/* 7.6.14 */
SKF_API ULONG DEVAPI SKF_ECCVerify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob, BYTE *pbData,
                                   ULONG ulDataLen, ECCSIGNATUREBLOB *pSignature);
typedef ULONG(DEVAPI *SKF_ECCVerify_fn)(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob,
                                        BYTE *pbData, ULONG ulDataLen,
                                        ECCSIGNATUREBLOB *pSignature);
/* 7.6.23 bSignFlag: TRUE for the signing public key, FALSE for the encryption one. */
SKF_API ULONG DEVAPI SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob,
                                         ULONG *pulBlobLen);
typedef ULONG(DEVAPI *SKF_ExportPublicKey_fn)(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob,
                                              ULONG *pulBlobLen);

/* Vendor extension, not in GB/T 35291 (GmSSL guards it with SKF_HAS_ECCDECRYPT): SM2
 * decryption with the container's encryption private key. Optional; eseal looks it up. */
SKF_API ULONG DEVAPI SKF_ECCDecrypt(HCONTAINER hContainer, ECCCIPHERBLOB *pCipherBlob,
                                    BYTE *pbPlainText, ULONG *pulPlainTextLen);
typedef ULONG(DEVAPI *SKF_ECCDecrypt_fn)(HCONTAINER hContainer, ECCCIPHERBLOB *pCipherBlob,
                                         BYTE *pbPlainText, ULONG *pulPlainTextLen);

#ifdef __cplusplus
}
#endif
#endif
