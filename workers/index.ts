import { app } from "./app";

export { AuthSession } from "../durable-objects/auth-session";
export { DevOutbox } from "../durable-objects/dev-outbox";
export { LoadShard } from "../durable-objects/load-shard";
export { Subscriber } from "../durable-objects/subscriber";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
