#!/bin/sh
# Magic Link authentication with curl. Needs MFA_URL, MFA_API_KEY and MSISDN (E.164, +46…).
# The call blocks until the user answers or the endpoint's timeout (up to 300 s) passes.
code=$(curl --silent --show-error --fail-with-body --max-time 330 --get "$MFA_URL/api/sfwa/auth" \
  --data-urlencode "msisdn=$MSISDN" -H "api-key: $MFA_API_KEY" | sed -n 's/.*"code" *: *"\([A-Z_]*\)".*/\1/p')
echo "$code"
[ "$code" = "TOUCH_ACCEPTED" ]
