/* Accounts on both backends: bootstrap, one-time passwords, separation of duties, refusals
 * audited, lockout, sessions; the audit trail verifies at the end. */
#include "test.h"

#include <pthread.h>

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "store_test.h"

static es_err count_user(void *ctx, const es_user *u)
{
    (void)u;
    (*(int *)ctx)++;
    return ES_OK;
}

static void suite(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *audit_key = st_signer();
    es_accounts a = {s, audit_key, 30, 3, 15, NULL, NULL, NULL};
    es_actor sys = {"system", 0, 0, 1};
    char otp[32] = "", tok[ES_SESSION_TOKEN_HEX + 1], tok2[ES_SESSION_TOKEN_HEX + 1];
    const char *why = NULL;
    es_user admin, u;

    ok(es_acct_create(&a, &sys, "admin", "Administrator", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), NULL,
                      otp, &admin, &why) == ES_OK &&
           strlen(otp) == 24 && admin.must_change_password,
       "%s: the first administrator, with a one-time password", kind);
    ok(es_acct_login(&a, "admin", otp, "127.0.0.1", tok, &u) == ES_OK && u.must_change_password &&
           strlen(tok) == 64,
       "%s: sign in with it; a password change is due", kind);
    es_actor by = es_actor_of(&u);
    char other[ES_SESSION_TOKEN_HEX + 1];
    es_user ou;
    ok(es_acct_login(&a, "admin", otp, "127.0.0.2", other, &ou) == ES_OK,
       "%s: a second session of the same account", kind);
    ok(es_acct_change_password(&a, &by, tok, "wrong", "Brand-New-Pass-1", &why) == ES_ERR_PASSWORD,
       "%s: change with a wrong current password refused", kind);
    ok(es_acct_change_password(&a, &by, tok, otp, "short", &why) == ES_ERR_ARG && why,
       "%s: the policy applies: %s", kind, why ? why : "");
    ok(es_acct_change_password(&a, &by, tok, otp, "Brand-New-Pass-1", &why) == ES_OK,
       "%s: password changed", kind);
    ok(es_acct_session(&a, tok, &u) == ES_OK && !u.must_change_password &&
           u.roles == ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN),
       "%s: the session knows the user and its roles", kind);
    ok(es_acct_session(&a, other, &ou) == ES_ERR_AUTH,
       "%s: the account's other session ended with the change (hardening 11)", kind);

    /* Separation of duties and least privilege. */
    char otp2[32];
    ok(es_acct_create(&a, &by, "mixer", "",
                      ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN) | ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER), NULL,
                      otp2, NULL, &why) == ES_ERR_ARG &&
           why && strstr(why, "audit"),
       "%s: audit + business duties refused: %s", kind, why ? why : "");
    ok(es_acct_create(&a, &by, "biz", "业务管理员", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), NULL, otp2,
                      NULL, &why) == ES_OK,
       "%s: a business administrator", kind);
    ok(es_acct_create(&a, &by, "biz", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL, otp2, NULL, &why) ==
           ES_ERR_EXISTS,
       "%s: a duplicate name refused", kind);
    ok(es_acct_create(&a, &by, "Bad Name", "", 0, NULL, otp2, NULL, &why) == ES_ERR_ARG,
       "%s: a bad name refused", kind);
    /* No role: refused in the service itself, whoever calls it, and nothing is stored. */
    int users_before = 0;
    ok(es_acct_list(&a, &by, NULL, 0, count_user, &users_before) == ES_OK && users_before == 2,
       "%s: two accounts so far (%d)", kind, users_before);
    why = NULL;
    ok(es_acct_create(&a, &by, "noroles", "", 0, NULL, otp2, NULL, &why) == ES_ERR_ARG && why &&
           strstr(why, "at least one role"),
       "%s: an account with no role refused: %s", kind, why ? why : "(no reason)");
    ok(es_acct_create(&a, &sys, "noroles", "", 0, "Some-Pass-2026", NULL, NULL, &why) == ES_ERR_ARG,
       "%s: even by the system", kind);
    int users_after = 0;
    ok(es_acct_list(&a, &by, NULL, 0, count_user, &users_after) == ES_OK &&
           users_after == users_before,
       "%s: and no account was stored (%d)", kind, users_after);
    why = NULL;
    ok(es_acct_set_roles(&a, &by, "biz", 0, &why) == ES_ERR_ARG && why &&
           strstr(why, "at least one role"),
       "%s: taking every role away refused: %s", kind, why ? why : "(no reason)");
    ok(es_acct_login(&a, "biz", otp2, "127.0.0.1", tok2, &u) == ES_OK &&
           u.roles == ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN),
       "%s: the roles stay as they were", kind);
    ok(es_acct_logout(&a, tok2) == ES_OK, "%s: logout", kind);
    ok(es_acct_create(&a, &by, "auditor", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), "Audit-Pass-2026",
                      NULL, NULL, &why) == ES_ERR_DENIED,
       "%s: the system administrator cannot create an audit administrator (hardening 13.4)", kind);
    ok(es_acct_create(&a, &sys, "auditor", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), "Audit-Pass-2026",
                      NULL, NULL, &why) == ES_OK,
       "%s: the first audit administrator is the daemon's (first start)", kind);
    int denied0 = st_audit_count(s, "access.denied");
    ok(es_acct_set_roles(&a, &by, "admin", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), &why) == ES_ERR_DENIED,
       "%s: nobody changes their own roles", kind);
    ok(es_acct_set_disabled(&a, &by, "admin", 1) == ES_ERR_DENIED, "%s: nobody disables themselves",
       kind);

    es_user biz;
    ok(es_acct_login(&a, "biz", otp2, "127.0.0.1", tok2, &biz) == ES_OK, "%s: biz signs in", kind);
    es_actor bizby = es_actor_of(&biz);
    char otp3[32];
    ok(es_acct_create(&a, &bizby, "x1", "", 0, NULL, otp3, NULL, &why) == ES_ERR_DENIED,
       "%s: a business administrator cannot create accounts", kind);
    int n = 0;
    ok(es_acct_list(&a, &bizby, NULL, 0, count_user, &n) == ES_ERR_DENIED && n == 0,
       "%s: nor list them", kind);
    ok(st_audit_count(s, "access.denied") == denied0 + 4, "%s: every refusal is audited (%d)", kind,
       st_audit_count(s, "access.denied") - denied0);
    n = 0;
    ok(es_acct_list(&a, &by, NULL, 0, count_user, &n) == ES_OK && n == 3, "%s: list (%d)", kind, n);
    n = 0;
    ok(es_acct_list(&a, &by, "auditor", 1, count_user, &n) == ES_OK && n == 1, "%s: paging", kind);
    ok(es_acct_set_roles(&a, &by, "biz", ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER), &why) == ES_OK &&
           es_acct_session(&a, tok2, &u) == ES_OK && u.roles == ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER),
       "%s: a role change applies to the live session", kind);

    /* Lockout after 3 failures; the right password is refused while locked, with the answer
     * of a wrong one (hardening 13.8); a reset unlocks. Unknown accounts get the same answer
     * as wrong passwords. */
    char tok3[ES_SESSION_TOKEN_HEX + 1], otpc[32];
    ok(es_acct_create(&a, &by, "clerk", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), "Opera-Pass-2026", NULL,
                      NULL, &why) == ES_OK,
       "%s: an operator with a given password", kind);
    ok(es_acct_login(&a, "nobody", "whatever", "x", tok3, NULL) == ES_ERR_AUTH,
       "%s: unknown account: ES_ERR_AUTH", kind);
    for (int i = 0; i < 3; i++)
        ok(es_acct_login(&a, "clerk", "Wrong-Pass-2026", "x", tok3, NULL) == ES_ERR_AUTH,
           "%s: wrong password %d", kind, i + 1);
    int refused0 = st_audit_count(s, "session.login_refused");
    ok(es_acct_login(&a, "clerk", "Opera-Pass-2026", "x", tok3, NULL) == ES_ERR_AUTH &&
           st_audit_count(s, "session.login_refused") == refused0 + 1,
       "%s: locked after 3 failures: the right password gets ES_ERR_AUTH, the trail says why",
       kind);
    ok(st_audit_count(s, "user.locked") == 1 && st_audit_count(s, "session.login_failed") >= 4,
       "%s: the failures and the lock are audited", kind);
    ok(es_acct_reset_password(&a, &by, "clerk", otpc) == ES_OK &&
           es_acct_login(&a, "clerk", otpc, "x", tok3, &u) == ES_OK && u.must_change_password,
       "%s: a reset unlocks, with a new one-time password", kind);

    /* Sessions: logout and disabling end them. */
    ok(es_acct_logout(&a, tok3) == ES_OK && es_acct_session(&a, tok3, &u) == ES_ERR_AUTH,
       "%s: logout ends the session", kind);
    ok(es_acct_set_disabled(&a, &by, "biz", 1) == ES_OK &&
           es_acct_session(&a, tok2, &u) == ES_ERR_AUTH &&
           es_acct_login(&a, "biz", otp2, "x", tok3, NULL) == ES_ERR_AUTH,
       "%s: a disabled account has no session and cannot sign in", kind);
    ok(es_acct_session(&a, "00", &u) == ES_ERR_AUTH &&
           es_acct_session(&a, "00000000000000000000000000000000000000000000000000000000000000zz",
                           &u) == ES_ERR_AUTH &&
           es_acct_session(&a, NULL, &u) == ES_ERR_AUTH,
       "%s: malformed tokens refused", kind);

    /* Guessing the current password through a session counts like sign-in failures
     * (hardening 5): lockout_failures (3) wrong guesses lock the account; then even the right
     * password changes nothing, and signing in is refused. */
    {
        char gotp[32] = "", gt[ES_SESSION_TOKEN_HEX + 1];
        es_user g;
        ok(es_acct_create(&a, &sys, "guesser", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL, gotp, NULL,
                          &why) == ES_OK &&
               es_acct_login(&a, "guesser", gotp, "x", gt, &g) == ES_OK,
           "%s: an operator signs in", kind);
        es_actor gb = es_actor_of(&g);
        int refused = 0;
        for (int i = 0; i < 3; i++)
            refused += es_acct_change_password(&a, &gb, gt, "Not-The-Password-1",
                                               "Another-Pass-2026", &why) == ES_ERR_PASSWORD;
        ok(refused == 3, "%s: three wrong guesses refused", kind);
        ok(es_acct_change_password(&a, &gb, gt, gotp, "Another-Pass-2026", &why) == ES_ERR_LOCKED,
           "%s: then locked: even the right password changes nothing", kind);
        ok(es_acct_login(&a, "guesser", gotp, "x", gt, &g) == ES_ERR_AUTH,
           "%s: and signing in is refused", kind);
    }

    /* Everything above is in the audit trail, and it verifies. */
    es_audit_report rep;
    memset(&rep, 0, sizeof rep);
    ok(es_audit_verify_store(s, audit_key->pub, &rep) == ES_OK && rep.n_findings == 0 &&
           rep.records > 20,
       "%s: the audit chain verifies (%lld records)", kind, (long long)rep.records);
    es_audit_report_cleanup(&rep);
    es_signer_free(audit_key);
    es_store_close(s);
}

/* ---- Separation of duties through account management (hardening 13, item 4). */

/* What the rule says, written apart from the code that enforces it: an audit administrator's
 * account is managed by audit administrators only; any other account by the system
 * administrator only; nobody else manages accounts. */
static int spec_may(es_role actor, es_roles target)
{
    int audit_target = (target & ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN)) != 0;
    if (actor == ES_ROLE_SYSTEM_ADMIN) return !audit_target;
    if (actor == ES_ROLE_AUDIT_ADMIN) return audit_target;
    return 0;
}

static es_user user_of(es_accounts *a, const char *name)
{
    es_user u;
    es_actor sys = {"system", 0, 0, 1};
    memset(&u, 0, sizeof u);
    if (es_acct_get(a, &sys, name, &u) != ES_OK) u.id = 0;
    return u;
}

/* An account of roles made by the daemon itself, with a known password. */
static int made(es_accounts *a, const char *name, es_roles roles)
{
    es_actor sys = {"system", 0, 0, 1};
    const char *why = NULL;
    return es_acct_create(a, &sys, name, "", roles, "Given-Pass-2026", NULL, NULL, &why) == ES_OK;
}

static void duties(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *key = st_signer();
    es_accounts a = {s, key, 30, 5, 15, NULL, NULL, NULL};
    const char *why = NULL;
    char otp[32];
    /* The targets: one account of each duty (the system one is not the actor). */
    static const struct {
        const char *name;
        es_role role;
    } targets[] = {
        {"t-audit", ES_ROLE_AUDIT_ADMIN},
        {"t-business", ES_ROLE_SEAL_ISSUER},
        {"t-system", ES_ROLE_SYSTEM_ADMIN},
    };
    int setup = 1;
    for (size_t t = 0; t < 3; t++) setup &= made(&a, targets[t].name, ES_ROLE_BIT(targets[t].role));
    /* One actor per role. */
    es_actor actors[ES_ROLE_COUNT];
    char names[ES_ROLE_COUNT][40];
    for (int r = 0; r < ES_ROLE_COUNT; r++) {
        snprintf(names[r], sizeof names[r], "actor-%d", r);
        setup &= made(&a, names[r], ES_ROLE_BIT(r));
        es_user u = user_of(&a, names[r]);
        actors[r] = es_actor_of(&u);
        actors[r].name = names[r];
    }
    ok(setup, "%s: duties: one target of each duty, one actor of each role", kind);

    /* Every account-management call x every role x every duty of target. */
    int calls = 0, right = 0, unchanged = 0, refusals = 0,
        audited0 = st_audit_count(s, "access.denied");
    for (int r = 0; r < ES_ROLE_COUNT; r++) {
        const es_actor *by = &actors[r];
        for (size_t t = 0; t < 3; t++) {
            es_roles tr = ES_ROLE_BIT(targets[t].role);
            int want = spec_may((es_role)r, tr);
            const char *tn = targets[t].name;
            char created[48];
            snprintf(created, sizeof created, "new-%d-%zu", r, t);
            es_err got[6];
            es_user before = user_of(&a, tn);
            got[0] = es_acct_create(&a, by, created, "", tr, NULL, otp, NULL, &why);
            got[1] = es_acct_set_roles(&a, by, tn, tr, &why);
            got[2] = es_acct_set_disabled(&a, by, tn, 1);
            got[3] = es_acct_set_disabled(&a, by, tn, 0);
            got[4] = es_acct_reset_password(&a, by, tn, otp);
            es_user g;
            got[5] = es_acct_get(&a, by, tn, &g);
            static const char *const what[] = {"create", "set roles", "disable",
                                               "enable", "reset",     "get"};
            for (int c = 0; c < 6; c++) {
                /* Reading: the system administrator reads any account, an audit administrator
                 * the audit administrators'. */
                int w = c == 5 ? (r == ES_ROLE_SYSTEM_ADMIN || want) : want;
                int good = w ? got[c] == ES_OK : got[c] == ES_ERR_DENIED;
                calls++;
                right += good;
                refusals += !w;
                if (!good)
                    fprintf(stderr, "  %s %s %s (%s): %s, expected %s\n", kind, names[r], what[c],
                            tn, es_err_name(got[c]), w ? "ok" : "forbidden");
            }
            es_user after = user_of(&a, tn);
            es_user c = user_of(&a, created);
            if (!want)
                unchanged += after.roles == before.roles && !after.disabled &&
                             after.must_change_password == before.must_change_password && c.id == 0;
        }
    }
    ok(right == calls,
       "%s: duties: %d of %d calls answered as the rule says (8 roles x 3 duties x 6 "
       "calls)",
       kind, right, calls);
    ok(unchanged == ES_ROLE_COUNT * 3 - 3, "%s: duties: a refused call changed nothing (%d of %d)",
       kind, unchanged, ES_ROLE_COUNT * 3 - 3);
    ok(st_audit_count(s, "access.denied") - audited0 == refusals,
       "%s: duties: every refusal audited (%d of %d)", kind,
       st_audit_count(s, "access.denied") - audited0, refusals);

    /* Sequences. */
    es_actor admin = actors[ES_ROLE_SYSTEM_ADMIN], aud = actors[ES_ROLE_AUDIT_ADMIN];
    char tok[ES_SESSION_TOKEN_HEX + 1];
    es_user u;
    /* 1. Create a business account, then give it audit duties. */
    ok(es_acct_create(&a, &admin, "seq-biz", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL, otp, NULL,
                      &why) == ES_OK &&
           es_acct_set_roles(&a, &admin, "seq-biz", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), &why) ==
               ES_ERR_DENIED &&
           user_of(&a, "seq-biz").roles == ES_ROLE_BIT(ES_ROLE_OPERATOR),
       "%s: seq: the system administrator makes an operator, cannot make it an auditor", kind);
    /* 2. Demote itself or another system administrator to reach audit duties. */
    ok(es_acct_set_roles(&a, &admin, names[ES_ROLE_SYSTEM_ADMIN], ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN),
                         &why) == ES_ERR_DENIED &&
           es_acct_set_roles(&a, &admin, "t-system", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), &why) ==
               ES_ERR_DENIED &&
           user_of(&a, "t-system").roles == ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN),
       "%s: seq: nor itself nor another system administrator", kind);
    {
        /* ... nor through a second system administrator it makes. */
        char o2[32], t2[ES_SESSION_TOKEN_HEX + 1];
        es_user a2;
        ok(es_acct_create(&a, &admin, "seq-admin2", "", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), NULL, o2,
                          NULL, &why) == ES_OK &&
               es_acct_login(&a, "seq-admin2", o2, "x", t2, &a2) == ES_OK,
           "%s: seq: a second system administrator", kind);
        es_actor by2 = es_actor_of(&a2);
        ok(es_acct_set_roles(&a, &by2, names[ES_ROLE_SYSTEM_ADMIN],
                             ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), &why) == ES_ERR_DENIED &&
               es_acct_reset_password(&a, &by2, "t-audit", o2) == ES_ERR_DENIED,
           "%s: seq: which cannot make the first an auditor nor reset an auditor either", kind);
    }
    /* 3. Disable the last (every) audit administrator. */
    int disabled = 0;
    for (int k = 0; k < 2; k++)
        disabled += es_acct_set_disabled(&a, &admin, k ? "t-audit" : names[ES_ROLE_AUDIT_ADMIN],
                                         1) == ES_OK;
    ok(disabled == 0 && !user_of(&a, "t-audit").disabled &&
           es_acct_login(&a, names[ES_ROLE_AUDIT_ADMIN], "Given-Pass-2026", "x", tok, &u) == ES_OK,
       "%s: seq: the system administrator disables no audit administrator; they still sign in",
       kind);
    /* 4. Reset an audit administrator's password, then sign in as it. */
    memset(otp, 0, sizeof otp);
    ok(es_acct_reset_password(&a, &admin, names[ES_ROLE_AUDIT_ADMIN], otp) == ES_ERR_DENIED &&
           otp[0] == 0 &&
           es_acct_login(&a, names[ES_ROLE_AUDIT_ADMIN], "Given-Pass-2026", "x", tok, &u) == ES_OK,
       "%s: seq: no reset of an auditor's password (no one-time password given; the old one "
       "still works)",
       kind);
    /* 5. The audit administrator grants itself or another auditor system or business duties. */
    ok(es_acct_set_roles(&a, &aud, names[ES_ROLE_AUDIT_ADMIN], ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN),
                         &why) == ES_ERR_DENIED &&
           es_acct_set_roles(&a, &aud, "t-audit", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), &why) ==
               ES_ERR_DENIED &&
           es_acct_set_roles(&a, &aud, "t-audit", ES_ROLE_BIT(ES_ROLE_OPERATOR), &why) ==
               ES_ERR_DENIED &&
           es_acct_create(&a, &aud, "seq-sys", "", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), NULL, otp,
                          NULL, &why) == ES_ERR_DENIED &&
           user_of(&a, "t-audit").roles == ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN) &&
           user_of(&a, "seq-sys").id == 0,
       "%s: seq: an audit administrator gives no one (itself included) another duty", kind);
    /* 6. ... but manages audit administrators: a new one, its reset, its disabling. */
    char o3[32], t3[ES_SESSION_TOKEN_HEX + 1];
    ok(es_acct_create(&a, &aud, "seq-aud", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), NULL, o3, NULL,
                      &why) == ES_OK &&
           es_acct_login(&a, "seq-aud", o3, "x", t3, &u) == ES_OK && u.must_change_password,
       "%s: seq: an audit administrator makes another, with a one-time password", kind);
    int listed = 0;
    /* t-audit, actor-2, new-2-0 (made in the matrix) and seq-aud. */
    ok(es_acct_list(&a, &aud, NULL, 0, count_user, &listed) == ES_OK && listed == 4,
       "%s: seq: an audit administrator lists the audit administrators only (%d)", kind, listed);
    ok(es_acct_set_disabled(&a, &aud, "seq-aud", 1) == ES_OK &&
           es_acct_session(&a, t3, &u) == ES_ERR_AUTH,
       "%s: seq: and disables it (its session ends)", kind);
    /* 7. A business administrator tries each. */
    es_actor biz = actors[ES_ROLE_BUSINESS_ADMIN];
    int bizok = es_acct_create(&a, &biz, "seq-x", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), NULL, otp,
                               NULL, &why) == ES_ERR_DENIED;
    bizok &= es_acct_set_roles(&a, &biz, "t-business", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), &why) ==
             ES_ERR_DENIED;
    bizok &= es_acct_set_roles(&a, &biz, names[ES_ROLE_BUSINESS_ADMIN],
                               ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), &why) == ES_ERR_DENIED;
    bizok &= es_acct_reset_password(&a, &biz, "t-audit", otp) == ES_ERR_DENIED;
    bizok &= es_acct_set_disabled(&a, &biz, "t-system", 1) == ES_ERR_DENIED;
    ok(bizok, "%s: seq: a business administrator can do none of it", kind);

    es_audit_report rep;
    memset(&rep, 0, sizeof rep);
    ok(es_audit_verify_store(s, key->pub, &rep) == ES_OK && rep.n_findings == 0,
       "%s: duties: the trail verifies", kind);
    es_audit_report_cleanup(&rep);
    es_signer_free(key);
    es_store_close(s);
}

/* ---- Lockout (hardening 13, item 6) and one answer for every failure (item 8). */

/* A sign-in whose outcome the test reads elsewhere (the account's state, the trail). */
static void attempt(es_accounts *a, const char *name, const char *password, const char *from)
{
    char tok[ES_SESSION_TOKEN_HEX + 1];
    if (es_acct_login(a, name, password, from, tok, NULL) == ES_OK) tok[0] = 0;
}

static es_time fake_now_v = 1800000000;
static es_time fake_now(void)
{
    return fake_now_v;
}

static uint64_t verifications(uint64_t *real, uint64_t *dummy)
{
    uint64_t r = 0, d = 0;
    es_password_verifications(&r, &d);
    if (real) *real = r;
    if (dummy) *dummy = d;
    return r + d;
}

static void lockout_expiry(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *key = st_signer();
    es_accounts a = {s, key, 30, 3, 15, NULL, NULL, fake_now};
    char tok[ES_SESSION_TOKEN_HEX + 1];
    ok(made(&a, "slow", ES_ROLE_BIT(ES_ROLE_OPERATOR)), "%s: expiry: an account", kind);
    for (int i = 0; i < 3; i++) attempt(&a, "slow", "Wrong-Pass-2026", "x");
    ok(user_of(&a, "slow").locked_until > fake_now_v, "%s: expiry: locked after 3 failures", kind);
    /* Someone tries one wrong password a little after each lock would have ended, for two
     * hours, and the owner signs in between: the count starts again when the lock expires, so
     * that the wrong attempt does not lock the account again (before: it did, every time). */
    int relocked = 0, owner = 0;
    for (int k = 0; k < 8; k++) {
        fake_now_v += 16 * 60;
        attempt(&a, "slow", "Wrong-Pass-2026", "x");
        relocked += user_of(&a, "slow").locked_until > fake_now_v;
        fake_now_v += 60;
        owner += es_acct_login(&a, "slow", "Given-Pass-2026", "x", tok, NULL) == ES_OK;
    }
    ok(relocked == 0 && owner == 8,
       "%s: expiry: one wrong attempt after each expiry locks nothing (%d locks); the owner "
       "signs in each time (%d of 8)",
       kind, relocked, owner);
    ok(st_audit_count(s, "user.locked") == 1, "%s: expiry: one lock in the trail (%d)", kind,
       st_audit_count(s, "user.locked"));
    es_signer_free(key);
    es_store_close(s);
}

/* The audit key, shared by the threads below: one signature at a time (as the node does). */
typedef struct locked_key {
    es_signer *inner;
    pthread_mutex_t mu;
} locked_key;

static es_err locked_sign(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                          uint8_t s[32])
{
    locked_key *l = self->ctx;
    pthread_mutex_lock(&l->mu);
    es_err rv = es_signer_sign_digest(l->inner, e, r, s);
    pthread_mutex_unlock(&l->mu);
    return rv;
}

typedef struct racer {
    const char *url;
    es_signer *key;
    pthread_barrier_t *go;
    const es_actor *by; /* NULL: sign in; else change by's password */
    es_err rv;
} racer;

static void *race_login(void *arg)
{
    racer *r = arg;
    es_store *s = st_open(r->url);
    es_accounts a = {s, r->key, 30, 5, 15, NULL, NULL, NULL};
    char tok[ES_SESSION_TOKEN_HEX + 1];
    const char *why = NULL;
    pthread_barrier_wait(r->go);
    if (r->by)
        r->rv =
            es_acct_change_password(&a, r->by, NULL, "Wrong-Pass-2026", "Another-Pass-2027", &why);
    else
        r->rv = es_acct_login(&a, "target", "Wrong-Pass-2026", "10.0.0.1", tok, NULL);
    es_store_close(s);
    return NULL;
}

static void parallel_guesses(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    locked_key lk = {st_signer(), PTHREAD_MUTEX_INITIALIZER};
    es_signer key = {{0}, locked_sign, NULL, &lk};
    memcpy(key.pub, lk.inner->pub, sizeof key.pub);
    es_accounts a = {s, &key, 30, 5, 15, NULL, NULL, NULL};
    ok(made(&a, "target", ES_ROLE_BIT(ES_ROLE_OPERATOR)), "%s: race: an account", kind);
    enum { N = 10 };
    pthread_t th[N];
    racer rc[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    uint64_t real0, dummy0, real1, dummy1;
    verifications(&real0, &dummy0);
    for (int i = 0; i < N; i++) {
        rc[i] = (racer){url, &key, &go, NULL, ES_OK};
        pthread_create(&th[i], NULL, race_login, &rc[i]);
    }
    int auth = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        auth += rc[i].rv == ES_ERR_AUTH;
    }
    pthread_barrier_destroy(&go);
    verifications(&real1, &dummy1);
    es_user u = user_of(&a, "target");
    ok(auth == N, "%s: race: 10 wrong passwords at once, 10 refusals (%d)", kind, auth);
    ok(real1 - real0 == 5 && dummy1 - dummy0 == N - 5,
       "%s: race: 5 (the threshold) verified against the account's hash, the rest against the "
       "dummy (%llu, %llu)",
       kind, (unsigned long long)(real1 - real0), (unsigned long long)(dummy1 - dummy0));
    ok(u.failed_logins == 5 && u.locked_until > es_time_now(),
       "%s: race: no lost update: the count is 5 and the account locked (%d)", kind,
       u.failed_logins);
    ok(st_audit_count(s, "user.locked") == 1 && st_audit_count(s, "session.login_failed") == 5 &&
           st_audit_count(s, "session.login_refused") == N - 5,
       "%s: race: 5 failures, one lock, 5 refusals in the trail", kind);
    /* The same through a session: 10 wrong current passwords at once in a password change
     * (hardening 13, items 5 and 6). */
    es_user ch;
    char tok[ES_SESSION_TOKEN_HEX + 1];
    ok(made(&a, "changer", ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           es_acct_login(&a, "changer", "Given-Pass-2026", "x", tok, &ch) == ES_OK,
       "%s: race: an account signed in", kind);
    es_actor chby = es_actor_of(&ch);
    pthread_barrier_init(&go, NULL, N);
    verifications(&real0, &dummy0);
    for (int i = 0; i < N; i++) {
        rc[i] = (racer){url, &key, &go, &chby, ES_OK};
        pthread_create(&th[i], NULL, race_login, &rc[i]);
    }
    int wrong = 0, lockedout = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        wrong += rc[i].rv == ES_ERR_PASSWORD;
        lockedout += rc[i].rv == ES_ERR_LOCKED;
    }
    pthread_barrier_destroy(&go);
    verifications(&real1, &dummy1);
    u = user_of(&a, "changer");
    ok(wrong == 5 && lockedout == N - 5 && real1 - real0 == 5 && u.failed_logins == 5 &&
           u.locked_until > es_time_now(),
       "%s: race: 10 wrong current passwords at once: 5 verified and refused, 5 refused as "
       "locked, the count 5 (%d, %d, %llu, %d)",
       kind, wrong, lockedout, (unsigned long long)(real1 - real0), u.failed_logins);
    es_audit_report rep;
    memset(&rep, 0, sizeof rep);
    ok(es_audit_verify_store(s, key.pub, &rep) == ES_OK && rep.n_findings == 0,
       "%s: race: the trail verifies", kind);
    es_audit_report_cleanup(&rep);
    es_signer_free(lk.inner);
    pthread_mutex_destroy(&lk.mu);
    es_store_close(s);
}

static void same_answer(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *key = st_signer();
    es_accounts a = {s, key, 30, 2, 15, NULL, NULL, NULL};
    es_actor sys = {"system", 0, 0, 1};
    char tok[ES_SESSION_TOKEN_HEX + 1];
    ok(made(&a, "known", ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           made(&a, "locked1", ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           made(&a, "off", ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           es_acct_set_disabled(&a, &sys, "off", 1) == ES_OK,
       "%s: answer: a known, a locked and a disabled account", kind);
    for (int i = 0; i < 2; i++) attempt(&a, "locked1", "Wrong-Pass-2026", "x");
    static const struct {
        const char *name, *password, *what;
    } tries[] = {
        {"nobody", "Given-Pass-2026", "an unknown name"},
        {"known", "Wrong-Pass-2026", "a wrong password"},
        {"locked1", "Given-Pass-2026", "a locked account, right password"},
        {"locked1", "Wrong-Pass-2026", "a locked account, wrong password"},
        {"off", "Given-Pass-2026", "a disabled account, right password"},
        {"off", "Wrong-Pass-2026", "a disabled account, wrong password"},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        uint64_t before = verifications(NULL, NULL), hashes = es_password_hashes();
        es_err rv = es_acct_login(&a, tries[i].name, tries[i].password, "x", tok, NULL);
        uint64_t work = verifications(NULL, NULL) - before;
        ok(rv == ES_ERR_AUTH && work == 1 && es_password_hashes() == hashes,
           "%s: answer: %s: ES_ERR_AUTH after one verification and no hash "
           "(%s, %llu)",
           kind, tries[i].what, es_err_name(rv), (unsigned long long)work);
    }
    ok(st_audit_count(s, "session.login_refused") == 4,
       "%s: answer: the trail says locked or disabled (%d)", kind,
       st_audit_count(s, "session.login_refused"));
    es_signer_free(key);
    es_store_close(s);
}

/* Per-address back-off: one outside address cannot lock an account; two can; the owner's
 * address counts fully and never backs off. */
static void backoff(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *key = st_signer();
    es_signin_guard *g = NULL;
    ok(es_signin_guard_new(5, &g) == ES_OK, "%s: backoff: a guard (share 3 of 5)", kind);
    es_accounts a = {s, key, 30, 5, 15, NULL, g, fake_now};
    char tok[ES_SESSION_TOKEN_HEX + 1];
    es_user u;
    ok(made(&a, "boss", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN)) &&
           es_acct_login(&a, "boss", "Given-Pass-2026", "10.0.0.9", tok, &u) == ES_OK,
       "%s: backoff: the owner signs in from 10.0.0.9", kind);
    /* An outsider, for six hours. */
    int auth = 0, rate = 0, locked = 0;
    for (int k = 0; k < 60; k++) {
        es_err rv = es_acct_login(&a, "boss", "Guess-Pass-2026", "10.6.6.6", tok, NULL);
        auth += rv == ES_ERR_AUTH;
        rate += rv == ES_ERR_RATE;
        locked += user_of(&a, "boss").locked_until > fake_now_v;
        fake_now_v += 6 * 60;
    }
    unsigned retry = 0;
    ok(auth >= 3 && auth <= 15 && rate >= 45 && locked == 0,
       "%s: backoff: one address, 60 tries in six hours: %d verified, %d refused (back-off), "
       "never locked",
       kind, auth, rate);
    ok(es_signin_guard_check(g, "10.6.6.6", "boss", fake_now_v, &retry) == ES_ERR_RATE &&
           retry > 0 && retry <= 3600,
       "%s: backoff: the check says so (retry in %u s, an hour at most)", kind, retry);
    ok(es_acct_login(&a, "boss", "Given-Pass-2026", "10.0.0.9", tok, &u) == ES_OK,
       "%s: backoff: the owner signs in all along", kind);
    /* Unknown names back off alike (no probing by the back-off). */
    int urate = 0;
    for (int k = 0; k < 4; k++)
        urate +=
            es_acct_login(&a, "ghost", "Guess-Pass-2026", "10.6.6.7", tok, NULL) == ES_ERR_RATE;
    int krate = 0;
    for (int k = 0; k < 4; k++)
        krate += es_acct_login(&a, "boss", "Guess-Pass-2026", "10.6.6.7", tok, NULL) == ES_ERR_RATE;
    ok(urate == 1 && krate == 1, "%s: backoff: the 4th try backs off, known name or not (%d, %d)",
       kind, urate, krate);
    /* A second outside address: together they lock (failures from many addresses). */
    for (int k = 0; k < 3; k++) attempt(&a, "boss", "Guess-Pass-2026", "10.6.6.8");
    ok(user_of(&a, "boss").locked_until > fake_now_v,
       "%s: backoff: two outside addresses together lock it (3 + 2)", kind);
    /* The owner's address: every failure counts, no back-off. */
    fake_now_v += 16 * 60;
    int orate = 0;
    for (int k = 0; k < 5; k++)
        orate += es_acct_login(&a, "boss", "Typo-Pass-2026", "10.0.0.9", tok, NULL) == ES_ERR_RATE;
    ok(orate == 0 && user_of(&a, "boss").locked_until > fake_now_v,
       "%s: backoff: the owner's address: five typos, no back-off, locked", kind);
    es_signin_guard_free(g);
    es_signer_free(key);
    es_store_close(s);
}

static void all(const char *kind, const char *(*db)(const char *))
{
    duties(kind, db("duties"));
    lockout_expiry(kind, db("expiry"));
    parallel_guesses(kind, db("race"));
    same_answer(kind, db("answer"));
    backoff(kind, db("backoff"));
}

int main(void)
{
    suite("sqlite", st_sqlite_db("accounts"));
    all("sqlite", st_sqlite_db);
    if (st_pg_ready()) {
        suite("postgresql", st_pg_db("accounts"));
        all("postgresql", st_pg_db);
    }
    return t_done();
}
