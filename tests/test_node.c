/* The node layer: the scheduler (jobs by period, run now, failures logged, a clean stop while a
 * job runs) and a node started and stopped inside this process twice on the same site (no
 * new administrator, no new system certificate), with a bad --listen and a bad configuration
 * refused before anything is made. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eseal/castore.h"
#include "eseal/api.h"
#include "eseal/node.h"
#include "eseal/store.h"
#include "http_client.h"

static atomic_int runs_a, runs_slow, logged;

static es_err job_a(void *arg)
{
    (void)arg;
    atomic_fetch_add(&runs_a, 1);
    return ES_OK;
}

static es_err job_fail(void *arg)
{
    (void)arg;
    return ES_ERR_IO;
}

static es_err job_slow(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&runs_slow, 1);
    return ES_OK;
}

static void on_log(void *arg, const char *line)
{
    (void)arg;
    if (strstr(line, "job broken failed")) atomic_fetch_add(&logged, 1);
}

static void test_sched(void)
{
    es_sched *s = NULL;
    ok(es_sched_new(&s) == ES_OK, "a scheduler");
    ok(es_sched_add(s, "a", 3600000, job_a, NULL) == ES_OK &&
           es_sched_add(s, "broken", 3600000, job_fail, NULL) == ES_OK &&
           es_sched_add(s, "slow", 1000, job_slow, NULL) == ES_OK,
       "three jobs");
    ok(es_sched_add(s, "zero", 0, job_a, NULL) == ES_ERR_ARG, "period 0 refused");
    ok(es_sched_run_now(s, "a") == ES_ERR_UNAVAILABLE, "run now before start: unavailable");
    ok(es_sched_start(s, on_log, NULL) == ES_OK, "started");
    ok(es_sched_add(s, "late", 10000, job_a, NULL) == ES_ERR_ARG, "no job added after the start");
    ok(atomic_load(&runs_a) == 0, "a job waits for its period");
    ok(es_sched_run_now(s, "a") == ES_OK && atomic_load(&runs_a) == 1 && es_sched_runs(s, "a") == 1,
       "run now: ran once, counted");
    ok(es_sched_run_now(s, "broken") == ES_ERR_IO && atomic_load(&logged) == 1,
       "a failing job: its error returned and logged");
    ok(es_sched_run_now(s, "nope") == ES_ERR_NOT_FOUND, "an unknown job");
    /* The 1 s job runs by itself. */
    for (int i = 0; i < 50 && atomic_load(&runs_slow) < 2; i++) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ok(atomic_load(&runs_slow) >= 2, "a 1 s job ran by its period (%d)", atomic_load(&runs_slow));
    ok(atomic_load(&runs_a) == 1, "the hourly job did not run again");
    es_sched_free(s); /* may be in the middle of the slow job: it finishes first */
    int after = atomic_load(&runs_slow);
    struct timespec ts = {1, 200 * 1000000L};
    nanosleep(&ts, NULL);
    ok(atomic_load(&runs_slow) == after, "nothing runs after the stop");
    es_sched_free(NULL);
}

static int count_in(const char *path, const char *needle)
{
    es_buf b;
    int n = 0;
    es_buf_init(&b, 1u << 20);
    if (es_file_read(path, &b) == ES_OK && es_buf_nul(&b) == ES_OK)
        for (const char *p = (const char *)b.p; (p = strstr(p, needle)); p++) n++;
    es_buf_cleanup(&b);
    return n;
}

static void test_node(void)
{
    char var[] = "/tmp/eseal-node-XXXXXX", out[64], why[600] = "";
    if (!mkdtemp(var)) return;
    snprintf(out, sizeof out, "%s.out", var);
    FILE *f = fopen(out, "w");
    es_node *n = NULL;
    es_node_opts o = {NULL, "127.0.0.1:0", var, f};

    es_node_opts bad = {NULL, "nonsense", var, f};
    ok(es_node_start(&bad, &n, why, sizeof why) == ES_ERR_CONFIG && !n && strstr(why, "--listen"),
       "a bad --listen: ES_ERR_CONFIG (%s)", why);
    struct stat st;
    ok(stat(var, &st) == 0 && count_in(out, "site:") == 0, "nothing made for it");
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s.conf", var);
    if (es_file_write(cfg, "[limits]\nthreads = many\n", 24) != ES_OK) return;
    es_node_opts badcfg = {cfg, "127.0.0.1:0", var, f};
    ok(es_node_start(&badcfg, &n, why, sizeof why) == ES_ERR_CONFIG && !n && strstr(why, cfg),
       "a bad configuration: ES_ERR_CONFIG naming the file (%s)", why);

    ok(es_node_start(&o, &n, why, sizeof why) == ES_OK && n, "a node starts in-process (%s)", why);
    unsigned port = es_node_port(n);
    t_resp r;
    t_resp_init(&r);
    ok(port > 0 && t_req(port, "GET", "/healthz", NULL, NULL, &r) == 200, "it serves /healthz");
    ok(t_req(port, "GET", "/api/v1/ca/crl", NULL, NULL, &r) == 200 && r.body.len > 100,
       "and the CRL");
    t_resp_free(&r);
    es_node_stop(n);
    fflush(f);
    ok(count_in(out, "one-time password for admin") == 1 &&
           count_in(out, "issued the system certificate") >= 1,
       "first start: the administrator and the system certificate");
    int certs = count_in(out, "issued the system certificate");
    n = NULL;
    ok(es_node_start(&o, &n, why, sizeof why) == ES_OK, "started again (%s)", why);
    es_node_stop(n);
    fflush(f);
    ok(count_in(out, "one-time password for admin") == 1, "no second administrator");
    ok(count_in(out, "issued the system certificate") == certs,
       "no new system certificate on another ephemeral port");
    /* [server] metrics = token (issue 13, item 16): no start without the token, then /metrics
     * for its bearer only. */
    static const char tokcfg[] = "[server]\nmetrics = token\n"
                                 "metrics_token_env = ESEAL_TEST_METRICS_TOKEN\n";
    if (es_file_write(cfg, tokcfg, sizeof tokcfg - 1) != ES_OK) return;
    es_node_opts tok = {cfg, "127.0.0.1:0", var, f};
    unsetenv("ESEAL_TEST_METRICS_TOKEN");
    n = NULL;
    ok(es_node_start(&tok, &n, why, sizeof why) == ES_ERR_CONFIG && !n &&
           strstr(why, "ESEAL_TEST_METRICS_TOKEN"),
       "metrics = token without the token in the environment: refused (%s)", why);
    setenv("ESEAL_TEST_METRICS_TOKEN", "node-metrics-token-0123456789", 1);
    ok(es_node_start(&tok, &n, why, sizeof why) == ES_OK && n, "with it, the node starts (%s)",
       why);
    if (n) {
        t_resp_init(&r);
        port = es_node_port(n);
        ok(t_req(port, "GET", "/metrics", NULL, NULL, &r) == 401, "/metrics without it: 401");
        ok(t_req(port, "GET", "/metrics", "Authorization: Bearer node-metrics-token-0123456789\r\n",
                 NULL, &r) == 200 &&
               strstr((const char *)r.body.p, "eseal_http_connections"),
           "/metrics with it: 200");
        t_resp_free(&r);
        es_node_stop(n);
    }
    unsetenv("ESEAL_TEST_METRICS_TOKEN");
    es_node_stop(NULL);
    /* The seal root keeps its state in the node's store: a directory open of var/ca would start
     * a second state beside it, so it is refused, naming --store. */
    char cadir[128];
    es_ca *ca = NULL;
    snprintf(cadir, sizeof cadir, "%s/ca", var);
    ok(es_ca_open(cadir, &ca, why, sizeof why) == ES_ERR_CONFIG && !ca && strstr(why, "--store"),
       "eseal ca --dir on the daemon's CA: refused (%s)", why);
    struct stat db;
    snprintf(cadir, sizeof cadir, "%s/ca/ca.db", var);
    ok(stat(cadir, &db) != 0, "no ca.db beside the store's state");
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", var, out, cfg);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", var);
}

/* A logged value cannot forge a log line (hardening 12): a sign-in name with a newline, over
 * the per-account limit, is logged with the newline written as \x0a. */
static void test_log_injection(void)
{
    char var[] = "/tmp/eseal-nodelog-XXXXXX", cfg[64], errpath[64], why[600] = "";
    if (!mkdtemp(var)) return;
    snprintf(cfg, sizeof cfg, "%s.conf", var);
    snprintf(errpath, sizeof errpath, "%s.err", var);
    static const char conf[] = "[accounts]\nsignin_rate_account = 1\n[log]\nlevel = warn\n";
    if (es_file_write(cfg, conf, sizeof conf - 1) != ES_OK) return;
    FILE *out = fopen("/dev/null", "w");
    fflush(stderr);
    int saved = dup(2);
    FILE *ef = fopen(errpath, "w");
    if (!out || saved < 0 || !ef) return;
    dup2(fileno(ef), 2);
    es_node *n = NULL;
    es_node_opts o = {cfg, "127.0.0.1:0", var, out};
    es_err rv = es_node_start(&o, &n, why, sizeof why);
    static const char body[] =
        "{\"username\":\"ghost\\nFORGED esealsd error: all is lost\",\"password\":\"x-2026-Pass\"}";
    t_resp r;
    t_resp_init(&r);
    int st1 = 0, st2 = 0;
    if (rv == ES_OK) {
        st1 = t_req(es_node_port(n), "POST", "/api/v1/sessions",
                    "Content-Type: application/json\r\n", body, &r);
        st2 = t_req(es_node_port(n), "POST", "/api/v1/sessions",
                    "Content-Type: application/json\r\n", body, &r);
    }
    t_resp_free(&r);
    es_node_stop(n);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(ef);
    fclose(out);
    ok(rv == ES_OK && st1 == 401 && st2 == 429, "the name over its limit (%d, %d): %s", st1, st2,
       why);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    int forged = 1, escaped = 0;
    if (es_file_read(errpath, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        const char *t = (const char *)b.p;
        forged = strncmp(t, "FORGED", 6) == 0 || strstr(t, "\nFORGED") != NULL;
        escaped = strstr(t, "ghost\\x0aFORGED") != NULL;
    }
    es_buf_cleanup(&b);
    ok(!forged && escaped, "no forged log line; the newline logged as \\x0a");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", var, cfg, errpath);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", var);
}

/* A signed-in user cannot flood the audit trail with refusals (hardening 9): the system
 * administrator asks for the audit trail 100 times; every call is refused (403), the first
 * ES_API_REFUSAL_AUDIT_RATE of them are audited, the rest logged only. */
static void test_refusal_flood(void)
{
    char var[] = "/tmp/eseal-nodeflood-XXXXXX", outp[64], cfg[64], why[600] = "", otp[64] = "";
    if (!mkdtemp(var)) return;
    snprintf(outp, sizeof outp, "%s.out", var);
    /* The refusals of a signed-in administrator, not the second factor (tests/test_otp.c). */
    snprintf(cfg, sizeof cfg, "%s.conf", var);
    static const char conf[] = "[factors]\nenforce = false\n";
    if (es_file_write(cfg, conf, sizeof conf - 1) != ES_OK) return;
    FILE *out = fopen(outp, "w");
    if (!out) return;
    es_node *n = NULL;
    es_node_opts o = {cfg, "127.0.0.1:0", var, out};
    es_err rv = es_node_start(&o, &n, why, sizeof why);
    fflush(out);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    if (es_file_read(outp, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        const char *p = strstr((const char *)b.p, "one-time password for admin: ");
        if (p) sscanf(p + 29, "%63s", otp);
    }
    es_buf_cleanup(&b);
    unsigned port = es_node_port(n);
    char body[256], hdr[200], tok[80] = "";
    t_resp r;
    t_resp_init(&r);
    snprintf(body, sizeof body, "{\"username\":\"admin\",\"password\":\"%s\"}", otp);
    if (rv == ES_OK && t_req(port, "POST", "/api/v1/sessions", "Content-Type: application/json\r\n",
                             body, &r) == 201) {
        json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
        const char *t = json_string_value(json_object_get(v, "token"));
        if (t) snprintf(tok, sizeof tok, "%s", t);
        json_decref(v);
    }
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             tok);
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"Flood-Test-2026!\"}",
             otp);
    int changed = tok[0] && t_req(port, "POST", "/api/v1/users/me/password", hdr, body, &r) == 200;
    ok(rv == ES_OK && changed, "the administrator signs in and changes the password (%s)", why);
    int refused = 0;
    for (int i = 0; i < 100; i++)
        refused += t_req(port, "GET", "/api/v1/audit", hdr, NULL, &r) == 403;
    t_resp_free(&r);
    es_node_stop(n);
    fclose(out);
    ok(refused == 100, "100 calls outside the role: all refused (%d)", refused);
    char url[128];
    snprintf(url, sizeof url, "sqlite:%s/eseal.db", var);
    es_store *s = NULL;
    int64_t denied = -1;
    if (es_store_open(url, &s) == ES_OK &&
        es_store_query_int(s, "SELECT count(*) FROM audit WHERE action = 'access.denied'", NULL, 0,
                           &denied) != ES_OK)
        denied = -1;
    es_store_close(s);
    ok(denied == ES_API_REFUSAL_AUDIT_RATE,
       "%lld of them audited: the trail is not flooded (rate %d a minute)", (long long)denied,
       ES_API_REFUSAL_AUDIT_RATE);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", var, outp, cfg);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", var);
}

int main(void)
{
    unsetenv("ESEAL_PIN");
    test_sched();
    test_node();
    test_log_injection();
    test_refusal_flood();
    return t_done();
}
