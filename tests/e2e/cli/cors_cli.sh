#!/usr/bin/env bash
# Bucket CORS with real clients: s3cmd setcors/info/delcors, the AWS CLI's put-bucket-cors,
# get-bucket-cors and delete-bucket-cors (HTTP and HTTPS), and curl preflights (OPTIONS) that
# follow what each configuration allows.
CLI_NAME=cors
. "$(dirname "$0")/common.sh"

export AWS_CONFIG_FILE=$WORK/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_ACCESS_KEY_ID=$E2E_AK AWS_SECRET_ACCESS_KEY=$E2E_SK AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
: >"$AWS_SHARED_CREDENTIALS_FILE"
cat >"$AWS_CONFIG_FILE" <<'EOF'
[default]
region = us-east-1
retry_mode = standard
max_attempts = 1
s3 =
    signature_version = s3v4
    addressing_style = path
EOF
cat >"$WORK/s3cmd.cfg" <<EOF
[default]
access_key = $E2E_AK
secret_key = $E2E_SK
host_base = 127.0.0.1:$E2E_HTTP_PORT
host_bucket = 127.0.0.1:$E2E_HTTP_PORT
bucket_location = us-east-1
use_https = False
signature_v2 = False
progress_meter = False
EOF
A() { aws --endpoint-url "$HTTP_EP" "$@"; }
AS() { aws --endpoint-url "$HTTPS_EP" --ca-bundle "$CA" "$@"; }
S() { s3cmd -c "$WORK/s3cmd.cfg" "$@"; }

B=$(rand_bucket cors)
cat >"$WORK/cors.xml" <<'EOF'
<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>http://app.example</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds>120</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>
EOF
cat >"$WORK/cors.json" <<'EOF'
{"CORSRules": [{"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["DELETE"],
                "ExposeHeaders": ["ETag"], "ID": "org"}]}
EOF
echo '{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}' >"$WORK/bad.json"

check mb S mb "s3://$B"
check info_no_cors sh -c "s3cmd -c '$WORK/s3cmd.cfg' info 's3://$B' | grep -q 'CORS: *none'"
check_fails aws_get_none NoSuchCORSConfiguration A s3api get-bucket-cors --bucket "$B"
check preflight_403_without_cors sh -c "curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: GET' '$HTTP_EP/$B/k' | grep -q 403"

check s3cmd_setcors S setcors "$WORK/cors.xml" "s3://$B"
check s3cmd_info_shows_rule sh -c "s3cmd -c '$WORK/s3cmd.cfg' info 's3://$B' | grep -q '<AllowedOrigin>http://app.example</AllowedOrigin>'"
check aws_get_after_setcors sh -c "aws --endpoint-url '$HTTP_EP' s3api get-bucket-cors --bucket '$B' --query 'CORSRules[0].[AllowedOrigins[0],MaxAgeSeconds,AllowedMethods[1]]' --output text | grep -q 'http://app.example[[:space:]]*120[[:space:]]*PUT'"
check preflight_allowed sh -c "curl -s -o /dev/null -D - -X OPTIONS -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: Content-Type' '$HTTP_EP/$B/k' | tr -d '\r' > '$WORK/pre.txt' && grep -q '^HTTP/1.1 200' '$WORK/pre.txt' && grep -qi '^access-control-allow-origin: http://app.example\$' '$WORK/pre.txt' && grep -qi '^access-control-allow-headers: content-type\$' '$WORK/pre.txt' && grep -qi '^access-control-max-age: 120\$' '$WORK/pre.txt'"
check error_with_origin_has_header sh -c "s3cmd -c '$WORK/s3cmd.cfg' put '$WORK/cors.xml' 's3://$B/k' >/dev/null && curl -s -o /dev/null -D - -H 'Origin: http://app.example' '$HTTP_EP/$B/k' | tr -d '\r' | grep -qi '^access-control-allow-origin: http://app.example\$'"

check aws_put_json A s3api put-bucket-cors --bucket "$B" --cors-configuration "file://$WORK/cors.json"
check aws_get_json sh -c "aws --endpoint-url '$HTTP_EP' s3api get-bucket-cors --bucket '$B' --query 'CORSRules[0].[ID,AllowedOrigins[0],ExposeHeaders[0]]' --output text | grep -q 'org[[:space:]]*https://\*.example.org[[:space:]]*ETag'"
check preflight_follows_new_rules sh -c "curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://www.example.org' -H 'Access-Control-Request-Method: DELETE' '$HTTP_EP/$B/k' | grep -q 200 && curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: PUT' '$HTTP_EP/$B/k' | grep -q 403"
check_fails aws_put_unsupported_method "Unsupported method is PATCH" A s3api put-bucket-cors --bucket "$B" --cors-configuration "file://$WORK/bad.json"
check tls_get AS s3api get-bucket-cors --bucket "$B"
check tls_delete AS s3api delete-bucket-cors --bucket "$B"
check_fails tls_get_deleted NoSuchCORSConfiguration AS s3api get-bucket-cors --bucket "$B"

check s3cmd_setcors_again S setcors "$WORK/cors.xml" "s3://$B"
check s3cmd_delcors S delcors "s3://$B"
check info_none_after_delcors sh -c "s3cmd -c '$WORK/s3cmd.cfg' info 's3://$B' | grep -q 'CORS: *none'"
check preflight_403_after_delcors sh -c "curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: GET' '$HTTP_EP/$B/k' | grep -q 403"
check cleanup sh -c "s3cmd -c '$WORK/s3cmd.cfg' del --recursive --force 's3://$B' >/dev/null && s3cmd -c '$WORK/s3cmd.cfg' rb 's3://$B' >/dev/null"
exit 0
