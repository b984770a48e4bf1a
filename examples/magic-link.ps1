# Magic Link authentication from PowerShell 7. Needs MFA_URL, MFA_API_KEY and MSISDN (E.164).
# The call blocks until the user answers or the endpoint's timeout (up to 300 s) passes.
$query = "msisdn=" + [uri]::EscapeDataString($env:MSISDN)
$response = Invoke-WebRequest -Uri "$($env:MFA_URL)/api/sfwa/auth?$query" `
  -Headers @{ "api-key" = $env:MFA_API_KEY } -TimeoutSec 330 -SkipHttpErrorCheck
$code = ($response.Content | ConvertFrom-Json).code
Write-Output $code
exit ($code -eq "TOUCH_ACCEPTED" ? 0 : 1)
