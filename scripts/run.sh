#!/usr/bin/env bash
# run.sh -- starts cofferd on ./data with an HTTP and an HTTPS listener,
# creating the first account (and printing its keys) on the first start.
set -euo pipefail

DATA=${COFFER_DATA:-./data}
HTTP=${COFFER_LISTEN:-127.0.0.1:9000}
HTTPS=${COFFER_TLS_LISTEN:-127.0.0.1:9443}
ADMIN=${COFFER_ADMIN_LISTEN:-127.0.0.1:9001}
BIN=${BIN:-bin}

# All three ports must be free before anything is created or any key is printed:
# a cofferd that cannot listen would leave the keys on screen for nothing.
for hp in "$HTTP" "$HTTPS" "$ADMIN"; do
    host=${hp%:*}
    port=${hp##*:}
    case $host in '' | 0.0.0.0 | '*') host=127.0.0.1 ;; '[::]') host=::1 ;; esac
    host=${host#[}
    host=${host%]}
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        echo "make run: port $port ($hp) is already in use; stop what listens there" \
            "(another cofferd?) or choose other ports:" \
            "COFFER_LISTEN=127.0.0.1:9100 COFFER_TLS_LISTEN=127.0.0.1:9543" \
            "COFFER_ADMIN_LISTEN=127.0.0.1:9101 make run" >&2
        exit 1
    fi
done
mkdir -p "$DATA"
chmod 700 "$DATA"
if [ "$("$BIN/coffer" --data "$DATA" account list --json)" = "[]" ]; then
    echo "First start: creating account 'admin'"
    "$BIN/coffer" --data "$DATA" account create admin
    echo "(keep these keys: the secret is not shown again; 'coffer key create' makes more)"
fi
cat <<EOT
Endpoints:  http://$HTTP   https://$HTTPS   (CA certificate: $DATA/tls/ca.pem, created on first start)
Try:        aws --endpoint-url http://$HTTP s3 mb s3://my-bucket
            aws --endpoint-url https://$HTTPS --ca-bundle $DATA/tls/ca.pem s3 ls
Health:     curl --cacert $DATA/tls/ca.pem https://$ADMIN/health/ready
Metrics:    curl --cacert $DATA/tls/ca.pem -H "Authorization: Bearer \$($BIN/coffer --data $DATA metrics token)" https://$ADMIN/metrics
Dashboard:  $BIN/coffer --data $DATA dashboard --account admin   (prints a one-time login link)
EOT
exec "$BIN/cofferd" --data "$DATA" --listen "$HTTP" --tls-listen "$HTTPS" --admin-listen "$ADMIN" --access-log "$DATA/access.log"
