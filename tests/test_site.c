/* First start of a site: keys, passphrase, audit public key, seal root; restarts change
 * nothing; a wrong PIN is refused with a clear reason. */
#include <stdlib.h>
#include <sys/stat.h>

#include "test.h"

#include "eseal/pki.h"
#include "eseal/site.h"

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
