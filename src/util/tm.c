/* tm.c -- time formatting and parsing without locale dependence. */
#include "common.h"
#include "util/tm.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static const char *wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int64_t
tm_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
tm_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fixed-width decimal: these run for every response (Date, Last-Modified,
 * the access log), where snprintf() showed up in profiles. */
static char *
put_dec(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* gmtime_r() of ms, with the year clamped to four digits. */
static void
utc(int64_t ms, struct tm *tm)
{
    time_t s = (time_t)(ms / 1000);

    if (ms < 0 || gmtime_r(&s, tm) == NULL || tm->tm_year + 1900 > 9999) {
        s = 0;
        gmtime_r(&s, tm);
    }
}

void
tm_iso8601(int64_t ms, char out[32])
{
    struct tm tm;
    char *p = out;

    utc(ms, &tm);
    p = put_dec(p, tm.tm_year + 1900, 4);
    *p++ = '-';
    p = put_dec(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_dec(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_dec(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_dec(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_dec(p, tm.tm_sec, 2);
    *p++ = '.';
    p = put_dec(p, ms < 0 ? 0 : (int)(ms % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}

void
tm_http_date(int64_t ms, char out[32])
{
    struct tm tm;
    char *p = out;

    utc(ms, &tm);
    memcpy(p, wdays[tm.tm_wday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_dec(p, tm.tm_mday, 2);
    *p++ = ' ';
    memcpy(p, months[tm.tm_mon], 3);
    p += 3;
    *p++ = ' ';
    p = put_dec(p, tm.tm_year + 1900, 4);
    *p++ = ' ';
    p = put_dec(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_dec(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_dec(p, tm.tm_sec, 2);
    memcpy(p, " GMT", 5);
}

static int
digits(const char *p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -EINVAL;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int
to_epoch(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    struct tm tm = {0};

    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int
tm_parse_amz(struct str s, int64_t *out_s)
{
    int y, mo, d, h, mi, sec;

    if (s.n != 16 || s.p[8] != 'T' || s.p[15] != 'Z')
        return -EINVAL;
    if (digits(s.p, 4, &y) || digits(s.p + 4, 2, &mo) || digits(s.p + 6, 2, &d) ||
        digits(s.p + 9, 2, &h) || digits(s.p + 11, 2, &mi) || digits(s.p + 13, 2, &sec))
        return -EINVAL;
    return to_epoch(y, mo, d, h, mi, sec, out_s);
}

static int
month_index(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, months[i], 3) == 0)
            return i + 1;
    return -1;
}

int
tm_parse_http(struct str s, int64_t *out_s)
{
    char b[64];
    int y, mo, d, h, mi, sec;
    const char *p;

    if (s.p == NULL || s.n == 0 || s.n >= sizeof(b))
        return -EINVAL;
    memcpy(b, s.p, s.n);
    b[s.n] = '\0';
    /* ISO 8601: 2006-02-03T16:45:09[.000]Z */
    if (s.n >= 20 && b[4] == '-' && b[10] == 'T') {
        if (digits(b, 4, &y) || digits(b + 5, 2, &mo) || digits(b + 8, 2, &d) ||
            digits(b + 11, 2, &h) || digits(b + 14, 2, &mi) || digits(b + 17, 2, &sec))
            return -EINVAL;
        return to_epoch(y, mo, d, h, mi, sec, out_s);
    }
    p = strchr(b, ',');
    if (p != NULL) {
        p++;
        while (*p == ' ')
            p++;
        /* RFC 1123 "03 Feb 2006 16:45:09 GMT" or RFC 850 "03-Feb-06 16:45:09 GMT" */
        if (strlen(p) >= 20 && p[2] == ' ' && p[6] == ' ') {
            if (digits(p, 2, &d) || (mo = month_index(p + 3)) < 0 || digits(p + 7, 4, &y) ||
                p[11] != ' ' || digits(p + 12, 2, &h) || digits(p + 15, 2, &mi) ||
                digits(p + 18, 2, &sec))
                return -EINVAL;
            return to_epoch(y, mo, d, h, mi, sec, out_s);
        }
        if (strlen(p) >= 18 && p[2] == '-' && p[6] == '-') {
            if (digits(p, 2, &d) || (mo = month_index(p + 3)) < 0 || digits(p + 7, 2, &y) ||
                digits(p + 10, 2, &h) || digits(p + 13, 2, &mi) || digits(p + 16, 2, &sec))
                return -EINVAL;
            return to_epoch(y < 70 ? 2000 + y : 1900 + y, mo, d, h, mi, sec, out_s);
        }
        return -EINVAL;
    }
    /* asctime: "Fri Feb  3 16:45:09 2006" */
    if (s.n == 24 && b[3] == ' ' && b[7] == ' ') {
        if ((mo = month_index(b + 4)) < 0)
            return -EINVAL;
        if (b[8] == ' ')
            b[8] = '0';
        if (digits(b + 8, 2, &d) || digits(b + 11, 2, &h) || digits(b + 14, 2, &mi) ||
            digits(b + 17, 2, &sec) || digits(b + 20, 4, &y))
            return -EINVAL;
        return to_epoch(y, mo, d, h, mi, sec, out_s);
    }
    return -EINVAL;
}

static int
month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): no timegm(), whose range and locale this need not
 * share. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
tm_parse_iso8601(struct str s, int64_t *out_ms, bool *frac)
{
    const char *p = s.p;
    size_t n = s.n, i = 10;
    int y, mo, d, h = 0, mi = 0, se = 0, off = 0;
    bool nonzero = false;

    if (n < 10 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' ||
        digits(p + 8, 2, &d))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return -EINVAL;
    if (i < n) {
        if (n - i < 9 || p[i] != 'T' || digits(p + i + 1, 2, &h) || p[i + 3] != ':' ||
            digits(p + i + 4, 2, &mi) || p[i + 6] != ':' || digits(p + i + 7, 2, &se))
            return -EINVAL;
        if (h > 23 || mi > 59 || se > 59)
            return -EINVAL;
        i += 9;
        if (i < n && p[i] == '.') {
            size_t start = ++i;
            while (i < n && p[i] >= '0' && p[i] <= '9')
                nonzero |= p[i++] != '0';
            if (i == start)
                return -EINVAL;
        }
        if (i < n && p[i] == 'Z') {
            i++;
        } else if (i < n && (p[i] == '+' || p[i] == '-')) {
            int oh, om;
            if (n - i != 6 || digits(p + i + 1, 2, &oh) || p[i + 3] != ':' ||
                digits(p + i + 4, 2, &om) || oh > 23 || om > 59)
                return -EINVAL;
            off = (oh * 60 + om) * 60 * (p[i] == '-' ? -1 : 1);
            i += 6;
        }
    }
    if (i != n)
        return -EINVAL;
    *out_ms = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off) * 1000;
    if (frac != NULL)
        *frac = nonzero;
    return 0;
}

