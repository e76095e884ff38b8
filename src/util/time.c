/* Calendar arithmetic without the C library's time zone state (timegm is not portable). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eseal/util.h"

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

es_err es_time_from_fields(int year, int mon, int day, int hour, int min, int sec, es_time *out)
{
    if (year < 1 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
        day > days_in_month(year, mon) || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 ||
        sec > 60)
        return ES_ERR_TIME;
    *out =
        days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec;
    return ES_OK;
}

void es_time_to_fields(es_time t, int *year, int *mon, int *day, int *hour, int *min, int *sec)
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, year, mon, day);
    *hour = (int)(rem / 3600);
    *min = (int)(rem / 60 % 60);
    *sec = (int)(rem % 60);
}

/* Reads exactly n digits. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i])) return 0;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

es_err es_time_parse_iso(const char *s, es_time *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || !digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d))
        return ES_ERR_TIME;
    long off = 0;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi)) return ES_ERR_TIME;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &se)) return ES_ERR_TIME;
            if (*s == '.' || *s == ',') {
                s++;
                if (!isdigit((unsigned char)*s)) return ES_ERR_TIME;
                while (isdigit((unsigned char)*s)) s++;
            }
        }
        if (*s == 'Z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (!digits(&s, 2, &oh)) return ES_ERR_TIME;
            if (*s == ':') s++;
            if (!digits(&s, 2, &om) || oh > 23 || om > 59) return ES_ERR_TIME;
            off = sign * (oh * 3600L + om * 60L);
        }
    }
    if (*s) return ES_ERR_TIME;
    es_err rv = es_time_from_fields(y, mo, d, h, mi, se, out);
    if (rv == ES_OK) *out -= off;
    return rv;
}

void es_time_format_iso(es_time t, char out[32])
{
    int y, mo, d, h, mi, se;
    es_time_to_fields(t, &y, &mo, &d, &h, &mi, &se);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, se);
}

void es_time_format_gentime(es_time t, char out[16])
{
    int y, mo, d, h, mi, se;
    es_time_to_fields(t, &y, &mo, &d, &h, &mi, &se);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d%02d%02d%02d%02d%02dZ", y % 10000, mo, d, h, mi, se);
    memcpy(out, tmp, 15);
    out[15] = 0;
}

es_time es_time_now(void)
{
    return (es_time)time(NULL);
}
