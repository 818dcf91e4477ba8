#!/usr/bin/env bash
# run.sh -- starts cofferd on ./data with an HTTP and an HTTPS listener,
# creating the first account (and printing its keys) on the first start.
set -euo pipefail

DATA=${COFFER_DATA:-./data}
HTTP=${COFFER_LISTEN:-127.0.0.1:9000}
HTTPS=${COFFER_TLS_LISTEN:-127.0.0.1:9443}
BIN=${BIN:-bin}

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
EOT
exec "$BIN/cofferd" --data "$DATA" --listen "$HTTP" --tls-listen "$HTTPS" --access-log "$DATA/access.log"
