/* First start of a site: directories, key passphrase, keys, the seal root (site.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eseal/auth.h"
#include "eseal/pki.h"
#include "eseal/site.h"

static void say(es_site_log log, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(es_site_log log, void *ctx, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!log) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(ctx, line);
}

static int make_dir(const char *path, unsigned mode)
{
    if (mkdir(path, (mode_t)mode) == 0) return 1;
    struct stat st;
    return errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static es_err memory_get(void *ctx, const char *what, char *buf, size_t cap)
{
    (void)what;
    size_t n = strlen(ctx);
    if (n >= cap) return ES_ERR_LIMIT;
    memcpy(buf, ctx, n + 1);
    return ES_OK;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The PIN: the environment first, then the passphrase file, else a new file when every key
 * is a soft key of this site. */
static es_err prepare_pin(es_site *s, int all_soft, es_site_log log, void *ctx, char *why,
                          size_t whylen)
{
    const es_config *c = &s->cfg;
    if (getenv(c->pin_env)) {
        s->pin = es_secret_env(c->pin_env);
        return ES_OK;
    }
    es_buf b;
    es_buf_init(&b, ES_SECRET_MAX - 1);
    es_err rv = es_file_read(c->pin_file, &b);
    if (rv == ES_OK) {
        size_t n = b.len;
        while (n && (b.p[n - 1] == '\n' || b.p[n - 1] == '\r')) n--;
        if (n == 0) {
            snprintf(why, whylen, "%s is empty", c->pin_file);
            rv = ES_ERR_PIN;
        } else {
            memcpy(s->pin_buf, b.p, n);
            s->pin_buf[n] = 0;
        }
    } else if (rv == ES_ERR_NOT_FOUND && all_soft) {
        char gen[32];
        if ((rv = es_password_generate(gen)) == ES_OK) {
            char line[40];
            int k = snprintf(line, sizeof line, "%s\n", gen);
            rv = es_file_write_mode(c->pin_file, line, (size_t)k, 0600);
            es_wipe(line, sizeof line);
        }
        if (rv == ES_OK) {
            snprintf(s->pin_buf, sizeof s->pin_buf, "%s", gen);
            say(log, ctx, "created the key passphrase file %s (mode 0600)", c->pin_file);
            s->created = 1;
        } else {
            snprintf(why, whylen, "cannot write %s: %s", c->pin_file, es_err_str(rv));
        }
        es_wipe(gen, sizeof gen);
    } else if (rv == ES_ERR_NOT_FOUND) {
        snprintf(why, whylen, "no key PIN: set %s (or write it to %s)", c->pin_env, c->pin_file);
        rv = ES_ERR_PIN;
    } else {
        snprintf(why, whylen, "%s: %s", c->pin_file, es_err_str(rv));
    }
    es_buf_cleanup_secret(&b);
    if (rv != ES_OK) return rv;
    s->pin.get = memory_get;
    s->pin.ctx = s->pin_buf;
    return ES_OK;
}

/* Generates a missing soft key; opens every key to check the PIN. */
static es_err prepare_key(es_site *s, const char *role, const char *text,
                          uint8_t pub[ES_SM2_PUB_LEN], es_site_log log, void *ctx, char *why,
                          size_t whylen)
{
    es_keyref ref;
    es_keydev *d = NULL;
    es_err rv = es_keyref_parse(text, &ref);
    if (rv != ES_OK) {
        snprintf(why, whylen, "[keys] %s: '%s' is not a key reference", role, text);
        return ES_ERR_CONFIG;
    }
    if (ref.kind == ES_KEYDEV_SOFT) {
        char path[ES_KEYREF_MAX_PATH + ES_KEYREF_MAX_NAME + 8];
        snprintf(path, sizeof path, "%s/%s.key", ref.path, ref.name);
        if (!make_dir(ref.path, 0700)) {
            snprintf(why, whylen, "cannot create %s: %s", ref.path, strerror(errno));
            return ES_ERR_IO;
        }
        if (!file_exists(path)) {
            if ((rv = es_keydev_open(&ref, &d)) == ES_OK)
                rv = es_keydev_generate(d, &ref, &s->pin, pub);
            es_keydev_close(d);
            d = NULL;
            if (rv != ES_OK) {
                snprintf(why, whylen, "cannot generate the %s key %s: %s", role, text,
                         es_err_str(rv));
                return rv;
            }
            say(log, ctx, "generated the %s key %s", role, text);
            s->created = 1;
        }
    }
    int retries = -1;
    if ((rv = es_keydev_open(&ref, &d)) == ES_OK &&
        (rv = es_keydev_login(d, &ref, &s->pin, &retries)) == ES_OK)
        rv = es_keydev_public_key(d, &ref, pub);
    es_keydev_close(d);
    if (rv != ES_OK)
        snprintf(why, whylen, "the %s key %s: %s%s", role, text, es_err_str(rv),
                 rv == ES_ERR_PIN ? " (the PIN or passphrase does not open it)" : "");
    return rv;
}

static es_err prepare_ca(es_site *s, es_site_log log, void *ctx, char *why, size_t whylen)
{
    char cfg[ES_CONFIG_PATH + 16];
    snprintf(cfg, sizeof cfg, "%s/config", s->ca_dir);
    if (file_exists(cfg)) return ES_OK;
    es_name subject;
    es_pki_lint lint;
    char cn[ES_PKI_VALUE_MAX + 1];
    memset(&subject, 0, sizeof subject);
    memset(&lint, 0, sizeof lint);
    /* "<site> 电子印章根": the seal root of this site (LD/T 01.1 6: issued seal certificates
     * chain to it). */
    snprintf(cn, sizeof cn, "%.*s 电子印章根", (int)(sizeof cn - 32), s->cfg.site_name);
    es_err rv = es_pki_name_add(&subject, ES_NAME_C, "CN");
    if (rv == ES_OK) rv = es_pki_name_add(&subject, ES_NAME_O, s->cfg.site_name);
    if (rv == ES_OK) rv = es_pki_name_add(&subject, ES_NAME_CN, cn);
    if (rv != ES_OK) {
        snprintf(why, whylen, "[server] name cannot be a certificate name: %s", es_err_str(rv));
        return ES_ERR_CONFIG;
    }
    es_ca_init_params p = {
        .dir = s->ca_dir, .key_ref = s->cfg.key_root, .pin = &s->pin, .subject = &subject};
    rv = es_ca_init(&p, &lint);
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot create the seal root in %s: %s%s%s", s->ca_dir,
                 es_err_str(rv), lint.n ? ": " : "", lint.n ? lint.msg[0] : "");
        return rv;
    }
    say(log, ctx, "created the seal root CA in %s", s->ca_dir);
    s->created = 1;
    return ES_OK;
}

/* 1 when path (resolved) is dir itself or inside it. */
static int path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* "var/keys" for /abs/var/keys when var_dir is "var" (/abs/var): the configured names. */
static void show_path(const char *abs, const char *var_abs, const char *var, char *out,
                      size_t outlen)
{
    if (path_within(abs, var_abs))
        snprintf(out, outlen, "%s%s", var, abs + strlen(var_abs));
    else
        snprintf(out, outlen, "%s", abs);
}

/* Issue 13, item 3 b: the passphrase that opens the root or audit key must not lie beside
 * the key, nor anywhere under var: with the site's files an attacker would hold the keys. */
static void check_passphrase(es_site *s, const char *role, const char *ref_text)
{
    const es_config *c = &s->cfg;
    if (getenv(c->pin_env)) return; /* from the service's environment, not a file */
    char pin_abs[PATH_MAX], var_abs[PATH_MAX], key_abs[PATH_MAX], shown[ES_CONFIG_PATH + 64];
    if (!realpath(c->pin_file, pin_abs) || !realpath(c->var_dir, var_abs)) return;
    char pin_dir[PATH_MAX];
    snprintf(pin_dir, sizeof pin_dir, "%s", pin_abs);
    char *slash = strrchr(pin_dir, '/');
    if (slash) *slash = 0;
    es_keyref ref;
    const char *w = NULL;
    if (es_keyref_parse(ref_text, &ref) == ES_OK && ref.kind == ES_KEYDEV_SOFT &&
        realpath(ref.path, key_abs) && strcmp(key_abs, pin_dir) == 0) {
        show_path(key_abs, var_abs, c->var_dir, shown, sizeof shown);
        w = "beside the key in";
    } else if (path_within(pin_abs, var_abs)) {
        show_path(pin_abs, var_abs, c->var_dir, shown, sizeof shown);
        w = "in var:";
    }
    if (!w || s->n_warnings >= ES_SITE_MAX_WARNINGS) return;
    snprintf(s->warnings[s->n_warnings], sizeof s->warnings[0], "%s key passphrase %s %s", role, w,
             shown);
    s->warning_list[s->n_warnings] = s->warnings[s->n_warnings];
    s->n_warnings++;
}

es_err es_site_prepare(const es_config *c, es_site *s, es_site_log log, void *ctx, char *why,
                       size_t whylen)
{
    memset(s, 0, sizeof *s);
    s->cfg = *c;
    snprintf(s->ca_dir, sizeof s->ca_dir, "%s/ca", c->var_dir);
    snprintf(s->audit_pub_path, sizeof s->audit_pub_path, "%s/keys/audit.pub", c->var_dir);
    snprintf(s->system_cert_path, sizeof s->system_cert_path, "%s/keys/system.crt", c->var_dir);
    es_buf_init(&s->system_cert, 64u << 10);
    snprintf(s->status_cert_path, sizeof s->status_cert_path, "%s/keys/status.crt", c->var_dir);
    es_buf_init(&s->status_cert, 64u << 10);
    char keys[ES_CONFIG_PATH + 8];
    snprintf(keys, sizeof keys, "%s/keys", c->var_dir);
    if (!make_dir(c->var_dir, 0750) || !make_dir(keys, 0700)) {
        snprintf(why, whylen, "cannot create %s: %s", keys, strerror(errno));
        return ES_ERR_IO;
    }
    const char *refs[3] = {c->key_root, c->key_system, c->key_audit};
    const char *roles[3] = {"root", "system", "audit"};
    int all_soft = 1;
    for (int i = 0; i < 3; i++) all_soft &= strncmp(refs[i], "soft:", 5) == 0;
    es_err rv = prepare_pin(s, all_soft, log, ctx, why, whylen);
    uint8_t pub[ES_SM2_PUB_LEN];
    for (int i = 0; rv == ES_OK && i < 3; i++) {
        rv = prepare_key(s, roles[i], refs[i], pub, log, ctx, why, whylen);
        if (rv == ES_OK && i == 1) memcpy(s->system_pub, pub, sizeof pub);
        if (rv == ES_OK && i == 2) memcpy(s->audit_pub, pub, sizeof pub);
    }
    /* The status system's own key (ST10: a certificate of its own, status-system profile). */
    if (rv == ES_OK && (c->systems & ES_SYS_STATUS)) {
        rv = prepare_key(s, "status", c->key_status, s->status_pub, log, ctx, why, whylen);
        if (rv == ES_OK) s->has_status_key = 1;
    }
    if (rv == ES_OK && !file_exists(s->audit_pub_path)) {
        es_buf der, pem;
        es_buf_init(&der, 256);
        es_buf_init(&pem, 1024);
        rv = es_sm2_pub_spki(s->audit_pub, &der);
        if (rv == ES_OK) rv = es_pem_encode("PUBLIC KEY", der.p, der.len, &pem);
        if (rv == ES_OK) rv = es_file_write_mode(s->audit_pub_path, pem.p, pem.len, 0644);
        if (rv == ES_OK)
            say(log, ctx, "wrote the audit public key %s", s->audit_pub_path);
        else
            snprintf(why, whylen, "cannot write %s", s->audit_pub_path);
        es_buf_cleanup(&der);
        es_buf_cleanup(&pem);
    }
    if (rv == ES_OK) rv = prepare_ca(s, log, ctx, why, whylen);
    if (rv == ES_OK) {
        check_passphrase(s, "root", c->key_root);
        check_passphrase(s, "audit", c->key_audit);
    }
    if (rv != ES_OK) es_site_cleanup(s);
    return rv;
}

void es_site_cleanup(es_site *s)
{
    es_wipe(s->pin_buf, sizeof s->pin_buf);
    es_buf_cleanup(&s->system_cert);
    es_buf_cleanup(&s->status_cert);
}

const char *es_division_province(const char *division)
{
    static const struct {
        char code[3];
        const char *name;
    } t[] = {
        {"11", "北京市"},           {"12", "天津市"},         {"13", "河北省"},
        {"14", "山西省"},           {"15", "内蒙古自治区"},   {"21", "辽宁省"},
        {"22", "吉林省"},           {"23", "黑龙江省"},       {"31", "上海市"},
        {"32", "江苏省"},           {"33", "浙江省"},         {"34", "安徽省"},
        {"35", "福建省"},           {"36", "江西省"},         {"37", "山东省"},
        {"41", "河南省"},           {"42", "湖北省"},         {"43", "湖南省"},
        {"44", "广东省"},           {"45", "广西壮族自治区"}, {"46", "海南省"},
        {"50", "重庆市"},           {"51", "四川省"},         {"52", "贵州省"},
        {"53", "云南省"},           {"54", "西藏自治区"},     {"61", "陕西省"},
        {"62", "甘肃省"},           {"63", "青海省"},         {"64", "宁夏回族自治区"},
        {"65", "新疆维吾尔自治区"}, {"71", "台湾省"},         {"81", "香港特别行政区"},
        {"82", "澳门特别行政区"},
    };
    if (!division || strlen(division) < 2) return NULL;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (division[0] == t[i].code[0] && division[1] == t[i].code[1]) return t[i].name;
    return NULL;
}

/* 1 when the certificate in der is for pub, names url and is valid for 30 days more. */
/* 1 when a and b are the same URL but for the port ("http://h:1/x" and "http://h:2/x"). */
static int same_but_port(const char *a, const char *b)
{
    const char *ha = strstr(a, "://"), *hb = strstr(b, "://");
    if (!ha || !hb) return 0;
    const char *pa = strchr(ha + 3, '/'), *pb = strchr(hb + 3, '/');
    if (!pa) pa = a + strlen(a);
    if (!pb) pb = b + strlen(b);
    const char *ca = memchr(ha + 3, ':', (size_t)(pa - ha - 3));
    const char *cb = memchr(hb + 3, ':', (size_t)(pb - hb - 3));
    if (!ca || !cb || ca - a != cb - b || memcmp(a, b, (size_t)(ca - a)) != 0) return 0;
    return strcmp(pa, pb) == 0;
}

static int system_cert_current(es_slice der, const uint8_t pub[ES_SM2_PUB_LEN], const char *url,
                               int any_port, char serial[2 * ES_PKI_SERIAL_MAX + 1])
{
    es_pki_cert c;
    es_pki_san san[16];
    size_t n = 0;
    serial[0] = 0;
    if (es_pki_cert_parse(der, &c) != ES_OK || !c.is_sm2) return 0;
    es_slice sn = c.serial;
    while (sn.len > 1 && sn.p[0] == 0) {
        sn.p++;
        sn.len--;
    }
    if (sn.len <= ES_PKI_SERIAL_MAX) es_hex_encode(sn.p, sn.len, serial);
    if (memcmp(c.pub, pub, ES_SM2_PUB_LEN) != 0) return 0;
    if (c.not_after < es_time_now() + 30 * 86400) return 0;
    if (c.san.len == 0 || es_pki_san_from_der(c.san, san, 16, &n) != ES_OK) return 0;
    for (size_t i = 0; i < n; i++)
        if (san[i].type == ES_SAN_URI &&
            (strcmp(san[i].value, url) == 0 || (any_port && same_but_port(san[i].value, url))))
            return 1;
    return 0;
}

/* The certificate of one of the site's system keys (pub) at path, kept or issued under profile
 * (CN: the site name and what): the system certificate and the status system's. */
typedef struct sys_cert {
    const char *path, *profile, *what;
    const uint8_t *pub;
    es_buf *out;
    int *issued;
    char *serial_out, *replaced;
} sys_cert;

static es_err site_cert(es_site *s, const sys_cert *sc, const char *url, es_site_log log, void *ctx,
                        char *why, size_t whylen)
{
    es_buf file, der;
    char old_serial[2 * ES_PKI_SERIAL_MAX + 1] = "", serial[2 * ES_PKI_SERIAL_MAX + 1];
    es_ca *ca = NULL;
    es_err rv;
    es_buf_init(&file, 64u << 10);
    es_buf_init(&der, 64u << 10);
    sc->out->len = 0;
    *sc->issued = 0;
    sc->serial_out[0] = sc->replaced[0] = 0;
    rv = es_file_read(sc->path, &file);
    if (rv == ES_OK && es_cert_to_der(file.p, file.len, &der) == ES_OK &&
        system_cert_current(es_slice_make(der.p, der.len), sc->pub, url, s->system_any_port,
                            old_serial)) {
        rv = es_buf_append(sc->out, der.p, der.len);
        goto out;
    }
    const char *profile = sc->profile;
    const char *st = s->cfg.province[0] ? s->cfg.province : es_division_province(s->cfg.division);
    char cn[ES_PKI_VALUE_MAX + 1];
    es_name subject;
    es_pki_san san;
    es_pki_lint lint;
    memset(&subject, 0, sizeof subject);
    memset(&lint, 0, sizeof lint);
    snprintf(cn, sizeof cn, "%.*s %s", (int)(sizeof cn - 40), s->cfg.site_name, sc->what);
    rv = es_pki_name_add(&subject, ES_NAME_C, "CN");
    /* The ministry's division code 000000 names no province: the certificate says 全国. */
    if (rv == ES_OK) rv = es_pki_name_add(&subject, ES_NAME_ST, st ? st : "全国");
    if (rv == ES_OK) rv = es_pki_name_add(&subject, ES_NAME_O, s->cfg.site_name);
    if (rv == ES_OK) rv = es_pki_name_add(&subject, ES_NAME_CN, cn);
    memset(&san, 0, sizeof san);
    san.type = ES_SAN_URI;
    if (rv == ES_OK && strlen(url) >= sizeof san.value) rv = ES_ERR_CONFIG;
    if (rv == ES_OK) snprintf(san.value, sizeof san.value, "%s", url);
    if (rv != ES_OK) {
        snprintf(why, whylen, "the system certificate cannot name '%s' / '%s'", s->cfg.site_name,
                 url);
        rv = ES_ERR_CONFIG;
        goto out;
    }
    if (!s->ca) {
        if ((rv = es_ca_open(s->ca_dir, &ca, why, whylen)) != ES_OK) goto out;
        if ((rv = es_ca_login(ca, &s->pin)) != ES_OK) {
            snprintf(why, whylen, "the seal root key does not open: %s", es_err_str(rv));
            goto out;
        }
    }
    es_ca *use = s->ca ? s->ca : ca;
    const es_ca_state *state = s->ca ? s->ca_state : NULL;
    es_ca_request req = {.profile = profile,
                         .subject = &subject,
                         .pub = sc->pub,
                         .san = &san,
                         .n_san = 1,
                         .not_before = ES_TIME_NONE};
    der.len = 0;
    rv = state ? es_ca_issue_in(use, state, &req, &lint, &der, serial)
               : es_ca_issue(use, &req, &lint, &der, serial);
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot issue the system certificate (%s): %s%s%s", profile,
                 es_err_str(rv), lint.n ? ": " : "", lint.n ? lint.msg[0] : "");
        goto out;
    }
    file.len = 0;
    if ((rv = es_pem_encode("CERTIFICATE", der.p, der.len, &file)) != ES_OK ||
        (rv = es_file_write_mode(sc->path, file.p, file.len, 0644)) != ES_OK) {
        snprintf(why, whylen, "cannot write %s: %s", sc->path, es_err_str(rv));
        goto out;
    }
    say(log, ctx, "issued the system certificate %s (%s, serial %s, %s)", sc->path, profile, serial,
        url);
    s->created = 1;
    *sc->issued = 1;
    snprintf(sc->serial_out, 41, "%s", serial);
    /* The one it replaces, when this CA issued it, is superseded. */
    if (old_serial[0] &&
        (state ? es_ca_revoke_in(use, state, old_serial, ES_REASON_SUPERSEDED, ES_TIME_NONE)
               : es_ca_revoke(use, old_serial, ES_REASON_SUPERSEDED, ES_TIME_NONE)) == ES_OK) {
        say(log, ctx, "revoked the system certificate it replaces (serial %s, superseded)",
            old_serial);
        snprintf(sc->replaced, 41, "%s", old_serial);
    }
    rv = es_buf_append(sc->out, der.p, der.len);
out:
    es_ca_close(ca);
    es_buf_cleanup(&file);
    es_buf_cleanup(&der);
    return rv;
}

es_err es_site_system_cert(es_site *s, const char *url, es_site_log log, void *ctx, char *why,
                           size_t whylen)
{
    const int making = (s->cfg.systems & ES_SYS_MAKING) != 0;
    sys_cert sc = {s->system_cert_path,
                   making ? "maker-system" : "status-system",
                   making ? "电子印章制作系统" : "电子印章状态发布系统",
                   s->system_pub,
                   &s->system_cert,
                   &s->system_issued,
                   s->system_serial,
                   s->system_replaced};
    return site_cert(s, &sc, url, log, ctx, why, whylen);
}

es_err es_site_status_cert(es_site *s, const char *url, es_site_log log, void *ctx, char *why,
                           size_t whylen)
{
    if (!s->has_status_key) return ES_ERR_ARG;
    sys_cert sc = {s->status_cert_path, "status-system",   "电子印章状态发布系统",
                   s->status_pub,       &s->status_cert,   &s->status_issued,
                   s->status_serial,    s->status_replaced};
    return site_cert(s, &sc, url, log, ctx, why, whylen);
}
