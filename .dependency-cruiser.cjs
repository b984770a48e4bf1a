// Which folder may import which (docs/architecture.md explains the layers). `npm test` runs
// this: a wrong-way import fails CI with the rule's name and comment.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-self-contained",
      comment:
        "core/ is runtime-free logic and wire contracts: it imports only core/ and its npm libraries, so edge, relay, app and bench can all use it.",
      severity: "error",
      from: { path: "^core/" },
      to: { pathNot: ["^core/", "^node_modules/(zod|jose|otplib)/"] },
    },
    {
      name: "core-has-no-runtime",
      comment: "core/ runs on Workers, Node and browsers alike: no node:*, no cloudflare:*.",
      severity: "error",
      from: { path: "^core/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "contracts-stay-contracts",
      comment:
        "core/contracts/ are shapes and constants shared over the wire; the logic in core/ may use them, not the other way round (beyond helpers they need like sha256Hex).",
      severity: "error",
      from: { path: "^core/contracts/" },
      to: { path: "^core/", pathNot: ["^core/contracts/", "^core/(tokens|base64url|msisdn)\\.ts$"] },
    },
    {
      name: "objects-below-routes",
      comment: "Durable Objects hold state; routes, domain flows and pages call them, never the reverse.",
      severity: "error",
      from: { path: "^workers/objects/" },
      to: { path: "^workers/(routes|domain|pages)/|^workers/(app|index)\\.tsx?$" },
    },
    {
      name: "objects-through-contracts",
      comment:
        "Outside an object's folder only its contract.ts (RPC arguments and results) is imported: its stored state, store and transitions stay internal.",
      severity: "error",
      from: { path: "^workers/(routes|domain|pages|store|sms|push|config|lib)/|^workers/app\\.tsx?$" },
      to: { path: "^workers/objects/[^/]+/", pathNot: "/contract\\.ts$" },
    },
    {
      name: "objects-keep-to-themselves",
      comment:
        "One object reaches another only through its contract.ts (and its stub from Env), never its internals. session/ is no object: it is the session's code, which AuthSession and the Subscriber both host.",
      severity: "error",
      from: { path: "^workers/objects/([^/]+)/" },
      to: { path: "^workers/objects/[^/]+/", pathNot: ["^workers/objects/$1/", "^workers/objects/session/", "/contract\\.ts$"] },
    },
    {
      name: "domain-below-routes",
      comment: "Flows in domain/ know nothing of HTTP routes or pages.",
      severity: "error",
      from: { path: "^workers/domain/" },
      to: { path: "^workers/(routes|pages)/|^workers/(app|index)\\.tsx?$" },
    },
    {
      name: "adapters-and-stores-are-leaves",
      comment: "SMS and push adapters, D1 stores, config and worker helpers are used by flows and objects; they call none of them.",
      severity: "error",
      from: { path: "^workers/(sms|push|store|config|lib)/" },
      to: { path: "^workers/(routes|domain|pages|objects)/|^workers/(app|index)\\.tsx?$" },
    },
    {
      name: "edge-is-not-imported",
      comment: "The relay, the app, the CLI and benchmarks talk to the edge over HTTP; shared code lives in core/.",
      severity: "error",
      from: { path: "^(relay|client|cli|bench|harness)/" },
      to: { path: "^workers/" },
    },
    {
      name: "relay-app-cli-stay-apart",
      comment: "Each deployable imports only itself and core/ (the relay is not the app, the app is not the CLI).",
      severity: "error",
      from: { path: "^(relay|client|cli)/" },
      to: { path: "^(relay|client|cli|bench|harness|test|scripts)/", pathNot: ["^$1/"] },
    },
    {
      name: "edge-does-not-import-tools",
      comment: "Production code never imports tests, benchmarks, the harness or scripts.",
      severity: "error",
      from: { path: "^(core|workers|relay/src|client|cli)/" },
      to: { path: "^(test|bench|harness|scripts)/" },
    },
    {
      name: "bench-does-not-import-tests",
      comment: "Benchmarks share process runners and fakes with the tests through harness/, not test/.",
      severity: "error",
      from: { path: "^(bench|harness)/" },
      to: { path: "^test/" },
    },
    {
      name: "no-circular",
      comment: "Import cycles hide which module owns what.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^workers/generated/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "workerd", "worker", "browser"],
      extensions: [".ts", ".tsx", ".mjs", ".js", ".d.ts"],
    },
    moduleSystems: ["es6", "cjs"],
  },
};
