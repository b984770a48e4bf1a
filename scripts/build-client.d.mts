export function buildClient(): Promise<{ buildId: string; appBytes: number; swBytes: number }>;
