"""Magic Link authentication from Python (standard library only).

Needs MFA_URL, MFA_API_KEY and MSISDN (E.164, +46...). The call blocks until the user answers
or the endpoint's timeout (up to 300 s) passes, so the client timeout is longer than that.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

query = urllib.parse.urlencode({"msisdn": os.environ["MSISDN"]})
request = urllib.request.Request(
    f"{os.environ['MFA_URL']}/api/sfwa/auth?{query}",
    headers={"api-key": os.environ["MFA_API_KEY"]},
)
try:
    with urllib.request.urlopen(request, timeout=330) as response:
        code = json.load(response)["code"]
except urllib.error.HTTPError as refused:  # BAD_REQUEST comes with a 4xx/5xx status
    code = json.load(refused)["code"]
print(code)
sys.exit(0 if code == "TOUCH_ACCEPTED" else 1)
