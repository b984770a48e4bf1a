import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Env as HonoEnv, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { type FailureRenderer, validate } from "./validate";

/**
 * Serves `route` (made with createRoute) on `app` and documents it in the app's OpenAPI
 * registry, so GET /openapi.json is generated from the very schemas the route validates with,
 * and the handler may only return the statuses and bodies the route declares (type-checked).
 *
 * Unlike OpenAPIHono.openapi(), input is checked only by validate() with the API's own
 * `onInvalid` renderer (order: path, query, JSON body), so each API keeps its error contract:
 * a body sent with another content type is bad input like any other (Mideye's BAD_REQUEST,
 * or the issue list), not a bare 415, and a JSON body is always validated, present or not.
 */
export function serve<E extends HonoEnv, R extends RouteConfig & { getRoutingPath(): string }>(
  app: OpenAPIHono<E>,
  route: R,
  onInvalid: FailureRenderer,
  handler: RouteHandler<R, E>,
): void {
  const { middleware, hide, getRoutingPath, ...documented } = route;
  if (!hide) app.openAPIRegistry.registerPath(documented);
  const validators: MiddlewareHandler[] = [];
  const request = route.request;
  if (request?.params) validators.push(validate("param", request.params, onInvalid));
  if (request?.query) validators.push(validate("query", request.query, onInvalid));
  const media = request?.body?.content["application/json"];
  if (media && "schema" in media) validators.push(validate("json", media.schema as z.ZodType, onInvalid));
  const before = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
  (app as unknown as Hono<E>).on(
    [route.method.toUpperCase()],
    [getRoutingPath.call(route)],
    ...before,
    ...validators,
    handler as MiddlewareHandler,
  );
}

/** A JSON response of `schema` (what the route's handler must return for that status). */
export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A JSON request body of `schema` (always required: an absent body is bad input). */
export const jsonBody = <S extends z.ZodType>(schema: S, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { "application/json": { schema } },
});
