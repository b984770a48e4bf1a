import { HOUR_MS, type LatencyRow, type ResultCountRow, latencyBucketSql } from "../../core/auth-stats";

/**
 * The dashboard's aggregates over the audit log's 'auth' rows (migrations/0001_admin.sql), summed
 * in D1 per UTC hour: calls by result, and a latency histogram (core/auth-stats.ts turns them into
 * series and percentiles). Counter rows of refused unauthenticated calls (`count`, see
 * countAuthFailure) count `count` calls each, as BAD_REQUEST; they keep the first call's latency
 * only, so they stay out of the latency histogram.
 */
export async function resultCounts(db: D1Database, from: number, until: number): Promise<ResultCountRow[]> {
  const { results } = await db
    .prepare(
      `SELECT at / ${HOUR_MS} AS hour, result, SUM(COALESCE(count, 1)) AS n
       FROM audit_log WHERE kind = 'auth' AND at >= ? AND at < ? GROUP BY hour, result`,
    )
    .bind(from, until)
    .all<ResultCountRow>();
  return results;
}

const BUCKET = latencyBucketSql("latency_ms");

export async function latencyHistogram(db: D1Database, from: number, until: number): Promise<LatencyRow[]> {
  const { results } = await db
    .prepare(
      // "lat_bucket", not "bucket": that is the counter rows' key column, tested in the WHERE.
      `SELECT at / ${HOUR_MS} AS hour, ${BUCKET} AS lat_bucket, COUNT(*) AS n
       FROM audit_log WHERE kind = 'auth' AND bucket IS NULL AND latency_ms IS NOT NULL AND at >= ? AND at < ?
       GROUP BY hour, lat_bucket`,
    )
    .bind(from, until)
    .all<{ hour: number; lat_bucket: number; n: number }>();
  return results.map((r) => ({ hour: r.hour, bucket: r.lat_bucket, n: r.n }));
}
