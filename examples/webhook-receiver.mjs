// Receives the async API's webhooks in Node.js (no dependencies). Needs WEBHOOK_SECRET (the
// endpoint's whsec_… secret) and PORT. Checks the Standard Webhooks signature over
// "id.timestamp.body" and the timestamp (5 min), answers 2xx once it has the result, and
// handles each webhook-id once (retries repeat it). Prints "<id> <code>" per result.
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";

const key = Buffer.from(process.env.WEBHOOK_SECRET.replace(/^whsec_/, ""), "base64");
const seen = new Set();

function verified(headers, body) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (!id || !/^\d+$/.test(timestamp ?? "") || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return (headers["webhook-signature"] ?? "").split(" ").some((part) => {
    const [version, signature] = part.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

http
  .createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      if (request.method !== "POST" || !verified(request.headers, body)) return response.writeHead(401).end();
      const id = request.headers["webhook-id"];
      if (!seen.has(id)) {
        seen.add(id);
        const { data } = JSON.parse(body);
        console.log(`${data.id} ${data.code}`); // e.g. act on TOUCH_ACCEPTED here
      }
      response.writeHead(204).end();
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
