/* eseal token: administration of GB/T 35291 (SKF) smart cryptographic keys (USBKeys) through
 * their vendor library, loaded with dlopen: applications and their PINs, containers, key
 * generation, key import by envelope (ENVELOPEDKEYBLOB), certificates. Signing goes through
 * es_keydev with a skf: reference (keydev.h), which uses the same code; this is what managing
 * a token needs beyond it (the `eseal token` command).
 *
 * References are es_keyref of kind ES_KEYDEV_SKF; each function says which fields it reads.
 * The device "" is the first device the library lists. PINs come from es_secret_src and are
 * wiped after use. After a failure, es_keydev_last_error() names the SKF function and its
 * SAR_ code.
 *
 * Key import and the signing key (docs/keydev.md, "SKF"): an envelope is addressed to the
 * container's signing public key. GM/T 0016 stores the imported pair as the container's
 * encryption key pair; a seal key must sign, so es_token_import (and es_keydev_import_envelope)
 * succeed only when the device then reports the imported public key as the container's
 * signing key, and return ES_ERR_UNSUPPORTED when the device kept it as the encryption pair.
 * libsoftskf.so replaces the signing pair by default (a seal token).
 *
 * A token handle is used by one thread at a time.
 */
#ifndef ESEAL_TOKEN_H
#define ESEAL_TOKEN_H

#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/keydev.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* eseal's default PIN retry counters for a new application. */
#define ES_TOKEN_USER_RETRIES 6
#define ES_TOKEN_SO_RETRIES   10

/* An SKF library with one device connected. */
typedef struct es_token es_token;

typedef struct es_token_info {
    char device[ES_KEYREF_MAX_NAME]; /* the name the device was connected by */
    char manufacturer[65];
    char issuer[65];
    char label[33];
    char serial[33];
    unsigned version[2], hw_version[2], fw_version[2];  /* major, minor */
    uint32_t alg_sym, alg_asym, alg_hash, dev_auth_alg; /* SGD_ capability bits */
    uint32_t total_space, free_space;
    int can_generate; /* SKF_CreateContainer and SKF_GenECCKeyPair exported */
    int can_import;   /* SKF_ImportECCKeyPair */
    int can_decrypt;  /* the vendor extension SKF_ECCDecrypt */
    int can_admin;    /* SKF_CreateApplication, SKF_GetPINInfo, SKF_UnblockPIN, SKF_ChangePIN */
} es_token_info;

typedef struct es_token_pin {
    unsigned max_retries;
    unsigned remaining; /* 0: locked */
    int is_default;     /* the device reports a default (factory) PIN */
} es_token_pin;

/* Appends the names of the devices present, one a line. Reads nothing but lib (a path or a
 * name the loader finds). ES_ERR_LOAD, ES_ERR_SYMBOL, ES_ERR_DEVICE. */
es_err es_token_devices(const char *lib, es_buf *out) ES_MUST_CHECK;

/* Loads ref->path and connects ref->device. ES_ERR_LOAD, ES_ERR_SYMBOL (a required function
 * is missing), ES_ERR_NOT_FOUND (no such device, or none), ES_ERR_DEVICE. */
es_err es_token_open(const es_keyref *ref, es_token **out) ES_MUST_CHECK;
/* Clears the security state, closes what is open, disconnects and unloads. NULL: no-op. */
void es_token_close(es_token *t);

es_err es_token_info_get(es_token *t, es_token_info *out) ES_MUST_CHECK;

/* Appends one line per container, "DEVICE/APPLICATION/CONTAINER"; with apps non-zero also
 * "DEVICE/APPLICATION/" for an application without containers. */
es_err es_token_list(es_token *t, int apps, es_buf *out) ES_MUST_CHECK;

/* Creates the application app with an SO (administrator) PIN and a user PIN, and retry
 * counters (0: ES_TOKEN_SO_RETRIES, ES_TOKEN_USER_RETRIES). Devices may require device
 * authentication first (SKF_DevAuth, with the vendor's tool). ES_ERR_EXISTS, ES_ERR_PIN (no
 * PIN, or a length the device refuses). */
es_err es_token_app_create(es_token *t, const char *app, const es_secret_src *so_pin,
                           unsigned so_retries, const es_secret_src *user_pin,
                           unsigned user_retries) ES_MUST_CHECK;

/* The retry counters of the user PIN (so = 0) or the SO PIN (so = 1) of app. */
es_err es_token_pin_info(es_token *t, const char *app, int so, es_token_pin *out) ES_MUST_CHECK;

/* Verifies the user PIN of app (SKF_VerifyPIN, USER_TYPE). ES_ERR_PIN with *retries the
 * tries left (-1 when unknown), ES_ERR_PIN_LOCKED, ES_ERR_NOT_FOUND (no such application).
 * retries may be NULL. */
es_err es_token_login(es_token *t, const char *app, const es_secret_src *pin,
                      int *retries) ES_MUST_CHECK;

/* Changes the user (so = 0) or SO (so = 1) PIN. Errors as es_token_login. */
es_err es_token_change_pin(es_token *t, const char *app, int so, const es_secret_src *old_pin,
                           const es_secret_src *new_pin, int *retries) ES_MUST_CHECK;

/* Unlocks the user PIN with the SO PIN and sets it to new_pin, with a full retry counter.
 * ES_ERR_PIN with *retries the SO PIN tries left, ES_ERR_PIN_LOCKED when the SO PIN is
 * locked. */
es_err es_token_unblock(es_token *t, const char *app, const es_secret_src *so_pin,
                        const es_secret_src *new_pin, int *retries) ES_MUST_CHECK;

/* Generates the signing key pair of ref's container (application, container), creating the
 * container when it does not exist; after es_token_login. ES_ERR_EXISTS when the container
 * already has a signing key (never overwritten), ES_ERR_SYMBOL when the library cannot. */
es_err es_token_generate(es_token *t, const es_keyref *ref,
                         uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* The signing (sign = 1) or encryption (sign = 0) public key of ref's container.
 * ES_ERR_NO_KEY when there is none (or no such container). */
es_err es_token_public_key(es_token *t, const es_keyref *ref, int sign,
                           uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* Builds the ENVELOPEDKEYBLOB that wraps key for a container whose signing public key is
 * wrap_pub (SGD_SM4_ECB, Version 1, 256 bits; 32-bit ULONG layout of eseal/skf.h). The seal
 * maker's side of the import: it needs only the token's public key. Appended to out. */
es_err es_token_envelope(const es_sm2_key *key, const uint8_t wrap_pub[ES_SM2_PUB_LEN],
                         es_buf *out) ES_MUST_CHECK;

/* Imports an ENVELOPEDKEYBLOB into ref's container (after es_token_login), then checks that
 * the container's signing public key is the envelope's. ES_ERR_FORMAT (not an envelope),
 * ES_ERR_NO_KEY (no container or no signing key to unwrap with), ES_ERR_UNSUPPORTED (the
 * device kept the pair as the encryption key pair, see above), ES_ERR_DEVICE. */
es_err es_token_import(es_token *t, const es_keyref *ref, const uint8_t *blob,
                       size_t len) ES_MUST_CHECK;

/* Stores / reads the signing (sign = 1) or encryption (sign = 0) certificate of ref's
 * container (DER). Storing needs es_token_login. Reading: ES_ERR_NO_KEY when there is none. */
es_err es_token_put_cert(es_token *t, const es_keyref *ref, int sign, es_slice der) ES_MUST_CHECK;
es_err es_token_get_cert(es_token *t, const es_keyref *ref, int sign, es_buf *out) ES_MUST_CHECK;

/* Files of an application (GB/T 35291 7.4; names of 1 to 32 bytes). The SKF file functions
 * are optional in a library: ES_ERR_SYMBOL when it lacks one.
 *
 * es_token_files appends the names, one a line. es_token_file_read appends the content of
 * name (at most max bytes: ES_ERR_LIMIT), ES_ERR_NOT_FOUND when there is no such file.
 * es_token_file_write replaces name with data (after es_token_login): the old file is deleted,
 * a new one created with data's size, readable by anyone and writable with the user PIN, and
 * deleted again when writing fails. es_token_file_delete: ES_ERR_NOT_FOUND when absent. */
es_err es_token_files(es_token *t, const char *app, es_buf *out) ES_MUST_CHECK;
es_err es_token_file_read(es_token *t, const char *app, const char *name, size_t max,
                          es_buf *out) ES_MUST_CHECK;
es_err es_token_file_write(es_token *t, const char *app, const char *name,
                           es_slice data) ES_MUST_CHECK;
es_err es_token_file_delete(es_token *t, const char *app, const char *name) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
