/**
 * `npm run dev` arguments for a test's edge: its MFA_CONFIG and SMS sent to a local gateway
 * (harness/fake-sms-gateway.ts), plus any other vars, as wrangler's `--var NAME:VALUE` pairs.
 */
export function edgeDevArgs(config: unknown, smsGatewayUrl: string, more: Record<string, string> = {}): string[] {
  const vars: Record<string, string> = {
    MFA_CONFIG: JSON.stringify(config),
    SMS_PROVIDER: "http",
    SMS_HTTP_URL: `${smsGatewayUrl}/sms`,
    SMS_HTTP_BODY: '{"to":"{phone}","message":"{text}"}',
    ...more,
  };
  return Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
}
