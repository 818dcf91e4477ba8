/* keys.h -- new access keys, shaped like AWS's: an id of a two-letter
 * prefix and 18 of [A-Z0-9] ("CK" for long-term keys, "CS" for session
 * credentials), and a secret of 40 of [A-Za-z0-9/+]. */
#ifndef COFFER_AUTH_KEYS_H
#define COFFER_AUTH_KEYS_H

#define AUTH_KEY_ID_LEN 20
#define AUTH_SECRET_LEN 40

/* Fills id and secret, both NUL-terminated: 0, or -EIO when the random
 * generator fails. The caller wipes secret when done with it. */
int auth_key_new(const char prefix[2], char id[AUTH_KEY_ID_LEN + 1],
                 char secret[AUTH_SECRET_LEN + 1]);

#endif
