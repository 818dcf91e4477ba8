/* tm.h -- clocks and the time formats S3 speaks. */
#ifndef COFFER_UTIL_TM_H
#define COFFER_UTIL_TM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/str.h"

int64_t tm_now_ms(void);      /* wall clock, ms since the epoch */
int64_t tm_mono_ms(void);     /* monotonic */
/* "2006-02-03T16:45:09.000Z" into out (>= 25 bytes). */
void tm_iso8601(int64_t ms, char out[32]);
/* "Fri, 03 Feb 2006 16:45:09 GMT" into out (>= 30 bytes). */
void tm_http_date(int64_t ms, char out[32]);
/* "20060203T164509Z" (SigV4 x-amz-date) -> seconds since epoch; -EINVAL. */
int tm_parse_amz(struct str s, int64_t *out_s);
/* RFC 1123 / RFC 850 / asctime / ISO 8601 -> seconds; -EINVAL. */
int tm_parse_http(struct str s, int64_t *out_s);
/* An ISO 8601 date or date-time as xsd:dateTime takes it:
 * YYYY-MM-DD[Thh:mm:ss[.f+][Z|+hh:mm|-hh:mm]] (a date alone, or no zone,
 * is UTC), on a real calendar day. *out_ms: ms since the epoch of the whole
 * second (the fraction dropped); *frac (may be NULL): the fraction had a
 * nonzero digit. 0 or -EINVAL. */
int tm_parse_iso8601(struct str s, int64_t *out_ms, bool *frac);

#endif
