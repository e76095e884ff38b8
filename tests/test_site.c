/* First start of a site: keys, passphrase, audit public key, seal root; restarts change
 * nothing; a wrong PIN is refused with a clear reason. */
#include <stdlib.h>
#include <sys/stat.h>

#include "test.h"

#include "eseal/pki.h"
#include "eseal/site.h"

static es_err superseded_cb(void *ctx, const es_ca_entry *e)
{
    *(int *)ctx += e->status == ES_CA_REVOKED && e->reason == ES_REASON_SUPERSEDED;
    return ES_OK;
}

static int lines;
static void count(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
    lines++;
}

static unsigned mode_of(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0;
}

int main(void)
{
    char var[] = "/tmp/eseal-site-XXXXXX";
    if (!mkdtemp(var)) return 2;
    unsetenv("ESEAL_SITE_TEST_PIN");
    es_config c;
    es_config_defaults(&c, var);
    snprintf(c.pin_env, sizeof c.pin_env, "ESEAL_SITE_TEST_PIN");
    snprintf(c.site_name, sizeof c.site_name, "测试省人社电子印章系统");
    es_site s;
    char why[512] = "";
    es_err rv = es_site_prepare(&c, &s, count, NULL, why, sizeof why);
    ok(rv == ES_OK && s.created, "first start prepares the site (%s)", why);
    ok(lines >= 5, "and says what it made (%d lines)", lines);
    ok(mode_of(var, "keys") == 0700, "keys directory 0700");
    ok(mode_of(var, "keys/passphrase") == 0600, "passphrase file 0600");
    ok(mode_of(var, "keys/root.key") == 0600 && mode_of(var, "keys/system.key") == 0600 &&
           mode_of(var, "keys/audit.key") == 0600,
       "three keys, 0600");
    ok(mode_of(var, "keys/audit.pub") != 0 && mode_of(var, "ca/ca.crt") != 0,
       "audit public key and seal root");
    uint8_t first_pub[ES_SM2_PUB_LEN];
    memcpy(first_pub, s.audit_pub, sizeof first_pub);
    es_site_cleanup(&s);

    es_ca *ca = NULL;
    ok(es_ca_open(s.ca_dir, &ca, why, sizeof why) == ES_OK, "the CA opens");
    es_ca_close(ca);

    lines = 0;
    rv = es_site_prepare(&c, &s, count, NULL, why, sizeof why);
    ok(rv == ES_OK && !s.created && lines == 0, "a restart makes nothing");
    ok(memcmp(first_pub, s.audit_pub, sizeof first_pub) == 0, "the same audit key");
    es_site_cleanup(&s);

    /* The system certificate: issued for the system key by the root, naming the URL; kept
     * while it does; issued again (the old one revoked) for another URL, or when the file is
     * garbage or for another key. */
    rv = es_site_prepare(&c, &s, NULL, NULL, why, sizeof why);
    ok(rv == ES_OK, "prepared again (%s)", why);
    const char *url1 = "http://10.0.0.1:8440/", *url2 = "https://eseal.example:8443/";
    char path[700], first[41] = "";
    snprintf(path, sizeof path, "%s/keys/system.crt", var);
    es_pki_cert sc, root;
    es_pki_san san[4];
    size_t nsan = 0;
    es_name subj;
    rv = es_site_system_cert(&s, url1, NULL, NULL, why, sizeof why);
    ca = NULL;
    int good = rv == ES_OK && s.system_issued && s.system_serial[0] &&
               es_ca_open(s.ca_dir, &ca, why, sizeof why) == ES_OK &&
               es_pki_cert_parse(es_ca_cert(ca), &root) == ES_OK &&
               es_pki_cert_parse(es_slice_make(s.system_cert.p, s.system_cert.len), &sc) == ES_OK &&
               es_pki_cert_verify(&sc, root.pub) == ES_OK &&
               memcmp(sc.pub, s.system_pub, ES_SM2_PUB_LEN) == 0 &&
               es_pki_san_from_der(sc.san, san, 4, &nsan) == ES_OK && nsan == 1 &&
               strcmp(san[0].value, url1) == 0 && es_pki_name_from_der(sc.subject, &subj) == ES_OK;
    es_ca_close(ca);
    ok(good, "the system certificate: the root's, for the system key, naming %s (%s)", url1, why);
    int st_ok = 0;
    for (size_t i = 0; good && i < subj.n; i++)
        st_ok |= subj.a[i].type == ES_NAME_ST && strcmp(subj.a[i].value, "全国") == 0;
    ok(st_ok, "ST 全国 for the division 000000");
    ok(mode_of(var, "keys/system.crt") != 0, "written to keys/system.crt");
    snprintf(first, sizeof first, "%s", s.system_serial);
    rv = es_site_system_cert(&s, url1, NULL, NULL, why, sizeof why);
    ok(rv == ES_OK && !s.system_issued, "the same URL: kept");
    /* An ephemeral port (system_any_port): the same URL on another port keeps it; without the
     * flag it would be issued again (not tried here: url2 below does that). */
    s.system_any_port = 1;
    rv = es_site_system_cert(&s, "http://10.0.0.1:39001/", NULL, NULL, why, sizeof why);
    ok(rv == ES_OK && !s.system_issued,
       "an ephemeral port: another port on the same host keeps it");
    rv = es_site_system_cert(&s, "http://10.0.0.2:8440/", NULL, NULL, why, sizeof why);
    ok(rv == ES_OK && s.system_issued && strcmp(s.system_replaced, first) == 0,
       "an ephemeral port: another host is issued again");
    snprintf(first, sizeof first, "%s", s.system_serial);
    rv = es_site_system_cert(&s, "http://10.0.0.2:8440/x", NULL, NULL, why, sizeof why);
    ok(rv == ES_OK && s.system_issued && strcmp(s.system_replaced, first) == 0,
       "an ephemeral port: another path is issued again");
    snprintf(first, sizeof first, "%s", s.system_serial);
    s.system_any_port = 0;
    rv = es_site_system_cert(&s, url2, NULL, NULL, why, sizeof why);
    ok(rv == ES_OK && s.system_issued && strcmp(s.system_replaced, first) == 0 &&
           strcmp(s.system_serial, first) != 0,
       "another URL: issued again, %s superseded", first);
    int revoked = 0;
    if (es_ca_open(s.ca_dir, &ca, why, sizeof why) == ES_OK) {
        ok(es_ca_get(ca, NULL, first, superseded_cb, &revoked) == ES_OK, "the CA knows %s", first);
        es_ca_close(ca);
    }
    ok(revoked == 1, "the CA records it revoked as superseded");
    ok(es_file_write(path, "garbage", 7) == ES_OK &&
           es_site_system_cert(&s, url2, NULL, NULL, why, sizeof why) == ES_OK && s.system_issued &&
           !s.system_replaced[0],
       "a garbage file: issued again");
    char ca_crt[700];
    es_buf other_cert;
    es_buf_init(&other_cert, 1 << 16);
    snprintf(ca_crt, sizeof ca_crt, "%s/ca/ca.crt", var);
    ok(es_file_read(ca_crt, &other_cert) == ES_OK &&
           es_file_write(path, other_cert.p, other_cert.len) == ES_OK &&
           es_site_system_cert(&s, url2, NULL, NULL, why, sizeof why) == ES_OK && s.system_issued,
       "a certificate for another key: issued again");
    es_buf_cleanup(&other_cert);
    char long_url[600];
    memset(long_url, 'a', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = 0;
    memcpy(long_url, "http://", 7);
    ok(es_site_system_cert(&s, long_url, NULL, NULL, why, sizeof why) == ES_ERR_CONFIG,
       "a URL no certificate can hold: refused (%s)", why);
    es_site_cleanup(&s);

    /* A PIN in the environment wins over the file; a wrong one is refused, naming the key. */
    setenv("ESEAL_SITE_TEST_PIN", "not the passphrase at all", 1);
    why[0] = 0;
    rv = es_site_prepare(&c, &s, count, NULL, why, sizeof why);
    ok(rv == ES_ERR_PIN && strstr(why, "root") && strstr(why, "PIN"), "a wrong PIN: %s", why);
    unsetenv("ESEAL_SITE_TEST_PIN");

    /* A device key is never generated, and without a PIN nothing is guessed. */
    es_config d = c;
    char other[600];
    snprintf(other, sizeof other, "%s/other", var);
    snprintf(d.pin_file, sizeof d.pin_file, "%s/nopin", var);
    snprintf(d.key_system, sizeof d.key_system, "sdf:/nonexistent/libsdf.so#1");
    rv = es_site_prepare(&d, &s, NULL, NULL, why, sizeof why);
    ok(rv == ES_ERR_PIN && strstr(why, "ESEAL_SITE_TEST_PIN"), "no PIN for a device key: %s", why);
    snprintf(d.key_system, sizeof d.key_system, "no reference");
    snprintf(d.pin_file, sizeof d.pin_file, "%s", c.pin_file);
    rv = es_site_prepare(&d, &s, NULL, NULL, why, sizeof why);
    ok(rv == ES_ERR_CONFIG && strstr(why, "system"), "a bad reference: %s", why);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", var);
    if (system(cmd) != 0) return 2;
    return t_done();
}
