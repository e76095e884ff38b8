/* A helper of tests/cli/audit.sh (not a test itself): makes stores with signed audit
 * records, as the daemon would, and tampers with them below the API.
 *
 *   audit_fixture pgdb NAME                 a fresh PostgreSQL database in the cluster of
 *                                           $ESEAL_PG_URL; prints its URL (exit 4: none)
 *   audit_fixture dropdb NAME               removes it
 *   audit_fixture make URL N KEY.pem PUB.pem
 *                                           migrates URL, makes an audit key (both files)
 *                                           and appends N records
 *   audit_fixture append URL N KEY.pem      appends N more records with that key
 *   audit_fixture tamper URL SQL...         drops the append-only guards, runs each SQL
 *   audit_fixture forge URL KEYREF SEQ TEXT rewrites record SEQ's detail and signs every
 *                                           record, checkpoint and the head again with the
 *                                           key KEYREF (PIN in $ESEAL_PIN): issue 13's attack
 *   audit_fixture wipe URL                  deletes every record and checkpoint, resets the
 *                                           head to the genesis state
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/audit.h"
#include "eseal/crypto.h"
#include "eseal/signer.h"
#include "eseal/store.h"
#include "audit_forge.h"
#include "eseal/keydev.h"
#include "store_test.h"

static int usage(void)
{
    fprintf(stderr, "usage: audit_fixture pgdb NAME | dropdb NAME | make URL N KEY PUB | "
                    "append URL N KEY | tamper URL SQL... | forge URL KEYREF SEQ TEXT | "
                    "wipe URL\n");
    return 2;
}

static void append(es_store *s, es_signer *key, int n)
{
    static const char *const actors[] = {"alice", "bob", "张三"};
    static const char *const actions[] = {"user.create", "session.login", "seal.make"};
    es_audit_head h;
    if (es_audit_head_get(s, &h) != ES_OK) st_die("no audit head: %s", es_store_last_error(s));
    for (int i = (int)h.tip_seq + 1; i <= (int)h.tip_seq + n; i++) {
        char obj[32], detail[96];
        snprintf(obj, sizeof obj, "user:u%d", i);
        snprintf(detail, sizeof detail, "detail-%d 某某市人力资源和社会保障局", i);
        es_audit_record r = {0};
        r.actor = actors[i % 3];
        r.role = "business_admin";
        r.action = actions[i % 3];
        r.object = obj;
        r.detail = detail;
        if (es_store_begin(s) != ES_OK || es_audit_append(s, key, &r) != ES_OK ||
            es_store_commit(s) != ES_OK)
            st_die("append %d: %s", i, es_store_last_error(s));
    }
    /* As the daemon does at least every N records or T ms. */
    if (es_audit_checkpoint(s, key, NULL) != ES_OK)
        st_die("checkpoint: %s", es_store_last_error(s));
}

static es_signer *load_key(const char *path)
{
    es_buf b;
    es_buf_init(&b, ES_MAX_KEY_FILE);
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    if (es_file_read(path, &b) != ES_OK || es_sm2_key_from_pem(b.p, b.len, NULL, &k) != ES_OK ||
        es_signer_from_key(k, &s) != ES_OK)
        st_die("%s: cannot load the key", path);
    es_buf_cleanup_secret(&b);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 3) return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "pgdb") || !strcmp(cmd, "dropdb")) {
        const char *base = getenv("ESEAL_PG_URL");
        PGconn *c = base && *base ? PQconnectdb(base) : NULL;
        int up = c && PQstatus(c) == CONNECTION_OK;
        PQfinish(c);
        if (!up) {
            fprintf(stderr, "audit_fixture: no PostgreSQL (%s)\n",
                    base && *base ? "cannot connect" : "ESEAL_PG_URL is not set");
            return 4;
        }
        char sql[200], url[1024];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%.60s\" WITH (FORCE)", argv[2]);
        st_pg_admin(sql);
        if (!strcmp(cmd, "dropdb")) return 0;
        snprintf(sql, sizeof sql, "CREATE DATABASE \"%.60s\"", argv[2]);
        st_pg_admin(sql);
        st_pg_url_of(base, argv[2], url, sizeof url);
        printf("%s\n", url);
        return 0;
    }
    if (!strcmp(cmd, "make") && argc == 6) {
        es_store *s = st_open_migrated(argv[2]);
        es_sm2_key *k = NULL;
        es_signer *key = NULL;
        es_buf pem, pub;
        es_buf_init(&pem, ES_MAX_KEY_FILE);
        es_buf_init(&pub, ES_MAX_KEY_FILE);
        if (es_sm2_key_generate(&k) != ES_OK || es_sm2_key_to_pem(k, NULL, &pem) != ES_OK ||
            es_sm2_key_pub_pem(k, &pub) != ES_OK ||
            es_file_write_mode(argv[4], pem.p, pem.len, 0600) != ES_OK ||
            es_file_write(argv[5], pub.p, pub.len) != ES_OK || es_signer_from_key(k, &key) != ES_OK)
            st_die("cannot make the audit key");
        append(s, key, atoi(argv[3]));
        es_buf_cleanup_secret(&pem);
        es_buf_cleanup(&pub);
        es_signer_free(key);
        es_store_close(s);
        return 0;
    }
    if (!strcmp(cmd, "append") && argc == 5) {
        es_store *s = st_open(argv[2]);
        es_signer *key = load_key(argv[4]);
        append(s, key, atoi(argv[3]));
        es_signer_free(key);
        es_store_close(s);
        return 0;
    }
    if (!strcmp(cmd, "tamper") && argc >= 4) {
        es_store *s = st_open(argv[2]);
        forge_unguard(s);
        for (int i = 3; i < argc; i++) st_sql(s, argv[i]);
        es_store_close(s);
        return 0;
    }
    if (!strcmp(cmd, "forge") && argc == 6) {
        es_store *s = st_open(argv[2]);
        es_secret_src pin = es_secret_env("ESEAL_PIN");
        es_signer *key = NULL;
        if (es_keydev_signer(argv[3], &pin, &key) != ES_OK) st_die("%s: cannot open it", argv[3]);
        forge_rewrite(s, key, atoi(argv[4]), argv[5]);
        es_signer_free(key);
        es_store_close(s);
        return 0;
    }
    if (!strcmp(cmd, "wipe") && argc == 3) {
        es_store *s = st_open(argv[2]);
        forge_wipe(s);
        es_store_close(s);
        return 0;
    }
    return usage();
}
