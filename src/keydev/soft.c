/* soft:DIR#NAME, the software key store: DIR/NAME.key holds the private key as PKCS#8
 * EncryptedPrivateKeyInfo (scrypt + SM4-CBC, crypto.h), DIR/NAME.crt an optional certificate.
 * Files are written atomically with mode 0600; an existing key is never overwritten.
 * A login decrypts the key into memory for the handle's lifetime. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keydev/internal.h"

#define SOFT_MAX_KEYS 16

typedef struct soft {
    char dir[ES_KEYREF_MAX_PATH];
    struct {
        char name[ES_KEYREF_MAX_NAME];
        es_sm2_key *key;
    } keys[SOFT_MAX_KEYS];
    size_t n;
} soft;

static es_err soft_open(const es_keyref *ref, void **state)
{
    struct stat st;
    if (stat(ref->path, &st) != 0) return errno == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO;
    if (!S_ISDIR(st.st_mode)) return ES_ERR_NOT_FOUND;
    soft *s = calloc(1, sizeof *s);
    if (!s) return ES_ERR_NOMEM;
    snprintf(s->dir, sizeof s->dir, "%s", ref->path);
    *state = s;
    return ES_OK;
}

static void soft_close(void *state)
{
    soft *s = state;
    for (size_t i = 0; i < s->n; i++) es_sm2_key_free(s->keys[i].key);
    free(s);
}

static es_err soft_info(void *state, es_keydev_info *out)
{
    soft *s = state;
    snprintf(out->manufacturer, sizeof out->manufacturer, "eseal");
    snprintf(out->label, sizeof out->label, "software key store");
    snprintf(out->serial, sizeof out->serial, "%.64s", s->dir);
    out->can_generate = 1;
    out->can_decrypt = 1;
    return ES_OK;
}

static void file_of(const soft *s, const es_keyref *ref, const char *ext, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.%s", s->dir, ref->name, ext);
}

static es_sm2_key *loaded(soft *s, const es_keyref *ref)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].name, ref->name) == 0) return s->keys[i].key;
    return NULL;
}

static es_err soft_login(void *state, const es_keyref *ref, const char *pin, int *retries)
{
    soft *s = state;
    char path[ES_KEYREF_MAX_PATH + ES_KEYREF_MAX_NAME + 8];
    (void)retries; /* a passphrase has no retry counter */
    if (loaded(s, ref)) return ES_OK;
    if (s->n == SOFT_MAX_KEYS) return ES_ERR_LIMIT;
    file_of(s, ref, "key", path, sizeof path);
    es_buf b;
    es_buf_init(&b, ES_MAX_KEY_FILE);
    es_err rv = es_file_read(path, &b);
    if (rv == ES_ERR_NOT_FOUND) rv = ES_ERR_NO_KEY;
    es_sm2_key *k = NULL;
    /* An encrypted key that does not decrypt is a wrong passphrase. */
    if (rv == ES_OK && es_sm2_key_from_pem(b.p, b.len, pin, &k) != ES_OK) rv = ES_ERR_PIN;
    es_buf_cleanup_secret(&b);
    if (rv != ES_OK) return rv;
    snprintf(s->keys[s->n].name, sizeof s->keys[s->n].name, "%s", ref->name);
    s->keys[s->n++].key = k;
    return ES_OK;
}

static es_err soft_list(void *state, es_buf *out)
{
    soft *s = state;
    DIR *d = opendir(s->dir);
    if (!d) return ES_ERR_IO;
    es_err rv = ES_OK;
    struct dirent *de;
    while (rv == ES_OK && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && de->d_name[0] != '.' && strcmp(de->d_name + l - 4, ".key") == 0)
            rv = es_buf_printf(out, "%.*s\n", (int)(l - 4), de->d_name);
    }
    closedir(d);
    return rv;
}

static es_err soft_public_key(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_sm2_key *k = loaded(state, ref);
    if (!k) return ES_ERR_LOGIN;
    es_sm2_key_pub(k, pub);
    return ES_OK;
}

static es_err soft_generate(void *state, const es_keyref *ref, const char *pin,
                            uint8_t pub[ES_SM2_PUB_LEN])
{
    soft *s = state;
    char path[ES_KEYREF_MAX_PATH + ES_KEYREF_MAX_NAME + 8];
    struct stat st;
    if (!pin || strlen(pin) < 8) return ES_ERR_PIN; /* a passphrase of 8 characters at least */
    file_of(s, ref, "key", path, sizeof path);
    if (stat(path, &st) == 0) return ES_ERR_EXISTS;
    es_sm2_key *k = NULL;
    es_buf pem;
    es_buf_init(&pem, ES_MAX_KEY_FILE);
    es_err rv = es_sm2_key_generate(&k);
    if (rv == ES_OK) rv = es_sm2_key_to_pem(k, pin, &pem);
    if (rv == ES_OK) rv = es_file_write_mode(path, pem.p, pem.len, 0600);
    if (rv == ES_OK) es_sm2_key_pub(k, pub);
    es_buf_cleanup_secret(&pem);
    es_sm2_key_free(k);
    return rv;
}

static es_err soft_sign(void *state, const es_keyref *ref, const uint8_t e[ES_SM3_LEN],
                        uint8_t r[32], uint8_t s[32])
{
    es_sm2_key *k = loaded(state, ref);
    return k ? es_sm2_key_sign_digest(k, e, r, s) : ES_ERR_LOGIN;
}

static es_err soft_decrypt(void *state, const es_keyref *ref, const uint8_t *in, size_t len,
                           es_buf *out)
{
    es_sm2_key *k = loaded(state, ref);
    return k ? es_sm2_key_decrypt(k, in, len, out) : ES_ERR_LOGIN;
}

static es_err soft_put_cert(void *state, const es_keyref *ref, es_slice der)
{
    char path[ES_KEYREF_MAX_PATH + ES_KEYREF_MAX_NAME + 8];
    file_of(state, ref, "crt", path, sizeof path);
    return es_file_write_mode(path, der.p, der.len, 0644);
}

static es_err soft_get_cert(void *state, const es_keyref *ref, es_buf *out)
{
    char path[ES_KEYREF_MAX_PATH + ES_KEYREF_MAX_NAME + 8];
    file_of(state, ref, "crt", path, sizeof path);
    es_err rv = es_file_read(path, out);
    return rv == ES_ERR_NOT_FOUND ? ES_ERR_NO_KEY : rv;
}

const es_keydev_ops keydev_soft_ops = {
    .kind = "soft",
    .open = soft_open,
    .info = soft_info,
    .login = soft_login,
    .list = soft_list,
    .public_key = soft_public_key,
    .generate = soft_generate,
    .sign = soft_sign,
    .decrypt = soft_decrypt,
    .put_cert = soft_put_cert,
    .get_cert = soft_get_cert,
    .close = soft_close,
};
