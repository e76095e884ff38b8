/* The daemon's configuration file: defaults, the shipped example, and every refusal. */
#include "test.h"

#include "eseal/config.h"

static es_err parse(const char *text, es_config *c, char *why)
{
    es_config_defaults(c, NULL);
    return es_config_parse(text, strlen(text), c, why, 256);
}

int main(void)
{
    es_config c, d;
    char why[256];
    es_config_defaults(&d, NULL);
    ok(strcmp(d.listen, "127.0.0.1:8440") == 0 && d.tier == ES_TIER_PROVINCE &&
           strcmp(d.store_url, "sqlite:var/eseal.db") == 0 &&
           strcmp(d.key_audit, "soft:var/keys#audit") == 0,
       "embedded defaults");
    es_config_defaults(&c, "/srv/eseal");
    ok(strcmp(c.store_url, "sqlite:/srv/eseal/eseal.db") == 0 &&
           strcmp(c.pin_file, "/srv/eseal/keys/passphrase") == 0,
       "defaults follow the var directory");

    /* The shipped example states the defaults: reading it changes nothing. */
    es_config_defaults(&c, NULL);
    es_err rv =
        es_config_load(t_path("ESEAL_TESTDATA", "../../etc/esealsd.conf"), &c, why, sizeof why);
    ok(rv == ES_OK, "etc/esealsd.conf reads (%s)", why);
    ok(memcmp(&c, &d, sizeof c) == 0, "and states exactly the defaults");

    ok(parse("[server]\ntier = ministry\n", &c, why) == ES_OK && c.tier == ES_TIER_MINISTRY &&
           (c.systems & ES_SYS_MGMT) && (c.systems & ES_SYS_CONFORMANCE),
       "the ministry runs every system");
    ok(parse("[server]\nsystems = app\ntier = city\n", &c, why) == ES_OK && c.systems == ES_SYS_APP,
       "explicit systems win over the tier's");
    char sys[64];
    es_systems_format(ES_SYS_MAKING | ES_SYS_APP, sys, sizeof sys);
    ok(strcmp(sys, "making,app") == 0, "systems format: %s", sys);
    ok(parse("[store]\nurl = postgresql://eseal@db/eseal\n[limits]\nthreads = 4\n", &c, why) ==
               ES_OK &&
           strcmp(c.store_url, "postgresql://eseal@db/eseal") == 0 && c.threads == 4,
       "store and limits");
    ok(parse("[server]\nmetrics = token\nmetrics_token_env = MT\n[limits]\n"
             "connections_per_address = 8\nhead_timeout_seconds = 5\n"
             "request_timeout_seconds = 30\nbody_memory = 2097152\n"
             "body_memory_per_address = 1048576\n[log]\naccess_rate = 7\n"
             "access_error_rate = 9\naccess_summary_seconds = 10\n",
             &c, why) == ES_OK &&
           c.metrics == ES_CONFIG_METRICS_TOKEN && strcmp(c.metrics_token_env, "MT") == 0 &&
           c.per_address == 8 && c.head_timeout_seconds == 5 && c.request_timeout_seconds == 30 &&
           c.body_memory == 2097152 && c.body_memory_per_address == 1048576 &&
           c.log_access_rate == 7 && c.log_access_error_rate == 9 && c.log_summary_seconds == 10,
       "the outsider limits, the access log and /metrics (issue 13, items 1, 2, 16)");
    ok(parse("[server]\nmetrics = off\n", &c, why) == ES_OK && c.metrics == ES_CONFIG_METRICS_OFF,
       "metrics off");

    static const struct {
        const char *text;
        const char *says;
    } bad[] = {
        {"[server]\nlisten = 8440\n", "ADDRESS:PORT"},
        {"[server]\nlisten = 127.0.0.1:70000\n", "65535"},
        {"[server]\ntier = county\n", "tier is"},
        {"[server]\nsystems = making,printing\n", "printing"},
        {"[server]\ndivision = 35010\n", "6-digit"},
        {"[store]\nurl = mysql://x\n", "sqlite:PATH"},
        {"[limits]\nthreads = 0\n", "from 1 to 256"},
        {"[limits]\nthreads = -3\n", "whole number"},
        {"[limits]\nmax_body = 12k\n", "whole number"},
        {"[log]\nlevel = verbose\n", "level is"},
        {"[server]\nmetrics = public\n", "metrics is local, off or token"},
        {"[limits]\nconnections_per_address = 0\n", "from 1 to"},
        {"[limits]\nbody_memory = 1000\n", "from 1048576"},
        {"[server]\nlisten_port = 1\n", "unknown key 'listen_port'"},
        {"[sever]\n", "unknown section [sever]"},
        {"listen = 1.2.3.4:5\n", "before any [section]"},
        {"[server]\nno equals sign\n", "key = value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        rv = parse(bad[i].text, &c, why);
        ok(rv == ES_ERR_CONFIG && strstr(why, bad[i].says) && strstr(why, "line "),
           "refused with '%s': %s", bad[i].says, why);
    }
    ok(es_config_load("/nonexistent/esealsd.conf", &c, why, sizeof why) == ES_ERR_NOT_FOUND &&
           strstr(why, "/nonexistent/esealsd.conf"),
       "a missing file is named: %s", why);
    return t_done();
}
