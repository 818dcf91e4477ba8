/* keys.c -- access key ids and secrets for the admin CLI, IAM's
 * CreateAccessKey and STS's GetSessionToken alike. */
#include "common.h"
#include "auth/keys.h"

#include "crypto/hash.h"

int
auth_key_new(const char prefix[2], char id[AUTH_KEY_ID_LEN + 1], char secret[AUTH_SECRET_LEN + 1])
{
    int rc;

    id[0] = prefix[0];
    id[1] = prefix[1];
    rc = rand_chars(id + 2, AUTH_KEY_ID_LEN - 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (rc == 0)
        rc = rand_chars(secret, AUTH_SECRET_LEN,
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+");
    return rc;
}
