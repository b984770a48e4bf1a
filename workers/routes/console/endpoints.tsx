import { Hono, type Context } from "hono";
import { z } from "zod";
import { ENDPOINT_NAME, EndpointSettingsSchema } from "../../config/schema";
import { loadConfig } from "../../config/load";
import {
  createApiToken,
  createEndpoint,
  deleteEndpoint,
  regenerateApiToken,
  revokeApiToken,
  updateEndpoint,
} from "../../domain/endpoint-admin";
import { getEndpoint, listEndpoints, listTokens } from "../../store/endpoints";
import {
  fieldErrors,
  formFromSettings,
  formValues,
  settingsInput,
  type FieldErrors,
  type FormValues,
} from "../../pages/console/endpoint-form";
import { EditEndpointPage, EndpointListPage, NewEndpointPage, TokenSecretPage } from "../../pages/console/endpoints";
import { ConsoleMessagePage } from "../../pages/console/layout";
import type { ConsoleEnv } from "./context";

/**
 * Console: endpoints held in D1 and their API tokens (mounted at /admin/endpoints). The same
 * schema and domain functions as the admin API (routes/admin-api.ts): each change is audited
 * under the signed-in operator's name. The gate (gate.tsx) has checked every POST's CSRF token.
 */
export const consoleEndpoints = new Hono<ConsoleEnv>();
type C = Context<ConsoleEnv>;

const session = (c: C) => ({ operator: c.get("operator"), csrfToken: c.get("csrfToken") });
const notFound = (c: C) => c.html(<ConsoleMessagePage title="Not found" text="There is no such endpoint here." />, 404);
const validName = (name: string) => ENDPOINT_NAME.test(name);
const path = (name: string) => `/admin/endpoints/${encodeURIComponent(name)}`;

/** Same rules as the admin API's token body. */
const TokenForm = z.object({
  name: z.string().trim().min(1, "a name is required").max(100),
  expires: z.iso.date("expires must be a date, YYYY-MM-DD (last valid day, UTC)").optional(),
});

/** The settings from a form, validated by EndpointSettingsSchema, or every field's error at once. */
function parseSettings(form: FormValues) {
  const { input, errors } = settingsInput(form);
  const parsed = EndpointSettingsSchema.strict().safeParse(input);
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true as const, input, settings: parsed.data };
  return { ok: false as const, errors: { ...(parsed.success ? {} : fieldErrors(parsed.error)), ...errors } };
}

consoleEndpoints.get("/", async (c) => {
  const config = loadConfig(c.env);
  const fromConfig = config.endpoints.map((e) => ({
    name: e.name,
    timeoutSeconds: e.timeoutSeconds,
    responseStyle: e.responseStyle,
    apiKeys: e.apiKeys.length,
  }));
  // The URL is anyone's to write (a link sent to an operator): only an endpoint name is echoed, never free text.
  const deleted = c.req.query("deleted");
  const notice = deleted && validName(deleted) ? `Endpoint ${deleted} deleted.` : undefined;
  return c.html(<EndpointListPage {...session(c)} endpoints={await listEndpoints(c.env.DB)} fromConfig={fromConfig} notice={notice} />);
});

consoleEndpoints.post("/", async (c) => {
  const form = formValues(await c.req.parseBody());
  const name = (form.name ?? "").trim();
  const parsed = parseSettings(form);
  const errors: FieldErrors = parsed.ok ? {} : { ...parsed.errors };
  if (!validName(name)) errors.name = "1-64 of A-Z a-z 0-9 . _ -";
  if (!parsed.ok || errors.name) return c.html(<NewEndpointPage {...session(c)} values={form} errors={errors} />, 400);
  const created = await createEndpoint(c.env, c.get("operator"), name, parsed.settings);
  if (created.kind !== "created") {
    const error = created.kind === "in_config" ? `"${name}" is defined in MFA_CONFIG` : `"${name}" exists already`;
    return c.html(<NewEndpointPage {...session(c)} values={form} errors={{ name: error }} />, 409);
  }
  return c.redirect(path(name), 303);
});

async function editPage(
  c: C,
  name: string,
  extra: { values?: FormValues; errors?: FieldErrors; tokenErrors?: FieldErrors; notice?: string } = {},
  status: 200 | 400 = 200,
) {
  const row = validName(name) ? await getEndpoint(c.env.DB, name) : null;
  if (!row) return notFound(c);
  const tokens = await listTokens(c.env.DB, name);
  return c.html(
    <EditEndpointPage
      {...session(c)}
      name={name}
      values={extra.values ?? formFromSettings(row.settings)}
      errors={extra.errors ?? {}}
      tokenErrors={extra.tokenErrors}
      tokens={tokens}
      notice={extra.notice}
    />,
    status,
  );
}

// The new-endpoint form is /new, served here rather than as a route of its own: a static path
// beside /:name would keep hono from its RegExpRouter (one regular expression for every route)
// and leave every request of the app to the slower TrieRouter.
consoleEndpoints.get("/:name", (c) => {
  const name = c.req.param("name");
  if (name === "new")
    return c.html(<NewEndpointPage {...session(c)} values={formFromSettings(EndpointSettingsSchema.parse({}))} errors={{}} />);
  return editPage(c, name, { notice: c.req.query("saved") ? "Saved." : undefined });
});

consoleEndpoints.post("/:name", async (c) => {
  const name = c.req.param("name");
  if (!validName(name)) return notFound(c);
  const form = formValues(await c.req.parseBody());
  const parsed = parseSettings(form);
  if (!parsed.ok) return editPage(c, name, { values: form, errors: parsed.errors }, 400);
  // Every setting is sent (cleared optional ones as undefined), so the merge in updateEndpoint replaces them all.
  const updated = await updateEndpoint(c.env, c.get("operator"), name, parsed.input, { texts: "replace" });
  if (updated.kind === "not_found") return notFound(c);
  if (updated.kind === "invalid") return editPage(c, name, { values: form, errors: fieldErrors(updated.error) }, 400);
  return c.redirect(`${path(name)}?saved=1`, 303);
});

consoleEndpoints.post("/:name/delete", async (c) => {
  const name = c.req.param("name");
  if (!validName(name) || !(await deleteEndpoint(c.env, c.get("operator"), name))) return notFound(c);
  return c.redirect(`/admin/endpoints?deleted=${encodeURIComponent(name)}`, 303);
});

consoleEndpoints.post("/:name/tokens", async (c) => {
  const name = c.req.param("name");
  if (!validName(name)) return notFound(c);
  const form = formValues(await c.req.parseBody());
  const parsed = TokenForm.safeParse({ name: form.tokenName ?? "", ...(form.expires ? { expires: form.expires } : {}) });
  if (!parsed.success) return editPage(c, name, { tokenErrors: fieldErrors(parsed.error) }, 400);
  const token = { name: parsed.data.name, expires: parsed.data.expires ?? null };
  const created = await createApiToken(c.env, c.get("operator"), name, token);
  if (!created) return notFound(c);
  return c.html(
    <TokenSecretPage {...session(c)} endpoint={name} tokenName={token.name} secret={created.secret} regenerated={false} />,
    201,
  );
});

consoleEndpoints.post("/:name/tokens/:id/regenerate", async (c) => {
  const { name, id } = c.req.param();
  if (!validName(name) || id.length > 64) return notFound(c);
  const token = (await listTokens(c.env.DB, name)).find((t) => t.id === id);
  const regenerated = token ? await regenerateApiToken(c.env, c.get("operator"), name, id) : null;
  if (!token || !regenerated) return c.html(<ConsoleMessagePage title="Not found" text="There is no such active token." />, 404);
  return c.html(<TokenSecretPage {...session(c)} endpoint={name} tokenName={token.name} secret={regenerated.secret} regenerated={true} />);
});

consoleEndpoints.post("/:name/tokens/:id/revoke", async (c) => {
  const { name, id } = c.req.param();
  if (!validName(name) || id.length > 64 || !(await revokeApiToken(c.env, c.get("operator"), name, id)))
    return c.html(<ConsoleMessagePage title="Not found" text="There is no such active token." />, 404);
  return c.redirect(path(name), 303);
});
