// Magic Link authentication from Node.js (no dependencies). Needs MFA_URL, MFA_API_KEY and
// MSISDN (E.164, +46…). The call blocks until the user answers or the endpoint's timeout (up to
// 300 s) passes. node:http(s) rather than fetch: fetch gives up on response headers after 300 s.
import http from "node:http";
import https from "node:https";

const url = new URL("/api/sfwa/auth", process.env.MFA_URL);
url.searchParams.set("msisdn", process.env.MSISDN);
const client = url.protocol === "https:" ? https : http;

const code = await new Promise((resolve, reject) => {
  const request = client.get(url, { headers: { "api-key": process.env.MFA_API_KEY }, timeout: 330_000 }, (response) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => resolve(JSON.parse(body).code));
  });
  request.on("timeout", () => request.destroy(new Error("no answer within 330 s")));
  request.on("error", reject);
});
console.log(code);
process.exitCode = code === "TOUCH_ACCEPTED" ? 0 : 1;
