/** One request the fake SMS gateway received (shared by the Node server and workerd tests). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  to: string | null;
  text: string | null;
  receivedAt: number;
}
