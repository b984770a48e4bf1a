<?php
// Magic Link authentication from PHP (curl extension). Needs MFA_URL, MFA_API_KEY and MSISDN
// (E.164). The call blocks until the user answers or the endpoint's timeout (up to 300 s)
// passes: raise max_execution_time for web requests (CLI has no limit).
set_time_limit(340);
$url = getenv('MFA_URL') . '/api/sfwa/auth?' . http_build_query(['msisdn' => getenv('MSISDN')]);
$curl = curl_init($url);
curl_setopt_array($curl, [
    CURLOPT_HTTPHEADER => ['api-key: ' . getenv('MFA_API_KEY')],
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => 330,
]);
$body = curl_exec($curl);
if ($body === false) {
    fwrite(STDERR, curl_error($curl) . "\n");
    exit(2);
}
$code = json_decode($body, true)['code'] ?? 'BAD_RESPONSE';
echo $code, "\n";
exit($code === 'TOUCH_ACCEPTED' ? 0 : 1);
