export function buildClient(): Promise<{ buildId: string; appBytes: number; swBytes: number; resetBytes: number; chartsBytes: number }>;
