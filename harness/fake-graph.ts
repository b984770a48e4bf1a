import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { FAKE_GRAPH, type GraphRequest } from "./fake-graph-fixture.ts";

export { FAKE_GRAPH, type GraphRequest };

/**
 * A local Microsoft identity platform token endpoint and Microsoft Graph, enough for the edge's
 * Entra ID approver directory: POST /{tenant}/oauth2/v2.0/token (client credentials, checks the
 * app's id and secret) and GET /v1.0/groups/{id}/members (checks the bearer token, pages of
 * two with @odata.nextLink). Groups by id, see FAKE_GRAPH (fake-graph-fixture.ts, which worker
 * tests import). GET /_requests lists what arrived.
 */
const MEMBERS = [
  {
    "@odata.type": "#microsoft.graph.user",
    displayName: "Erin Entra",
    mobilePhone: "+46 70 000 00 31",
    userPrincipalName: "erin@contoso.test",
  },
  { "@odata.type": "#microsoft.graph.user", displayName: "Frank Field", mobilePhone: null, userPrincipalName: "frank@contoso.test" },
  { "@odata.type": "#microsoft.graph.group", displayName: "Nested group", mobilePhone: null, userPrincipalName: null },
  {
    "@odata.type": "#microsoft.graph.user",
    displayName: "Gina Graph",
    mobilePhone: "+46-70-000-00-32",
    userPrincipalName: "gina@contoso.test",
    // Synced from AD: her RADIUS or reset name may be this one (Graph returns it only when selected).
    onPremisesSamAccountName: "Gina.G",
  },
  {
    "@odata.type": "#microsoft.graph.user",
    displayName: "Hans National",
    mobilePhone: "070 000 00 34",
    userPrincipalName: "hans@contoso.test",
  },
  {
    "@odata.type": "#microsoft.graph.user",
    displayName: "Ida Identity",
    mobilePhone: "+46700000033",
    userPrincipalName: "ida@contoso.test",
  },
];
const PAGE = 2;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeGraph(): Promise<{ url: string; requests: GraphRequest[] }> {
  const issued = new Set<string>();
  const requests: GraphRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const json = (status: number, body: unknown) => {
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/_requests") return json(200, requests);
    const bearer = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ""))?.[1];
    const authorized = bearer !== undefined && issued.has(bearer);
    requests.push({ method: req.method ?? "", host: String(req.headers.host ?? ""), path: url.pathname, authorized });

    if (req.method === "POST" && url.pathname === `/${FAKE_GRAPH.tenant}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(await readBody(req));
      if (form.get("grant_type") !== "client_credentials" || !form.get("scope")?.endsWith("/.default"))
        return json(400, { error: "invalid_request" });
      if (form.get("client_id") !== FAKE_GRAPH.clientId || form.get("client_secret") !== FAKE_GRAPH.clientSecret)
        return json(401, { error: "invalid_client" });
      const token = randomBytes(24).toString("base64url");
      issued.add(token);
      return json(200, { token_type: "Bearer", expires_in: 3599, access_token: token });
    }
    const m = /^\/v1\.0\/groups\/([^/]+)\/members$/.exec(url.pathname);
    if (req.method === "GET" && m) {
      if (!authorized) return json(401, { error: { code: "InvalidAuthenticationToken" } });
      const group = decodeURIComponent(m[1] ?? "");
      if (group === FAKE_GRAPH.groups.broken) return json(500, { error: { code: "generalException" } });
      if (!group.startsWith("1") && group !== FAKE_GRAPH.groups.escaping) return json(404, { error: { code: "Request_ResourceNotFound" } });
      if (url.searchParams.get("$select") === null) return json(400, { error: { code: "no $select" } });
      const skip = Number(url.searchParams.get("$skiptoken") ?? "0");
      // As Graph: only the properties selected (the nextLink carries the selection on).
      const select = url.searchParams.get("$select") ?? "";
      const keep = new Set(["@odata.type", ...select.split(",")]);
      const value = MEMBERS.slice(skip, skip + PAGE).map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => keep.has(k))));
      const host = group === FAKE_GRAPH.groups.escaping ? `localhost:${(server.address() as AddressInfo).port}` : String(req.headers.host);
      const next =
        skip + PAGE < MEMBERS.length
          ? `http://${host}${url.pathname}?$skiptoken=${skip + PAGE}&$select=${encodeURIComponent(select)}`
          : undefined;
      return json(200, {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
        value,
        ...(next ? { "@odata.nextLink": next } : {}),
      });
    }
    json(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}
