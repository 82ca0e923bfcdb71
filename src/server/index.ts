// The embedded Noukai-compatible server (`noukai-top serve` and `noukai-top demo`).
export { startServer, type RunningServer, type ServerOptions, type ServerStats } from "./server.js";
export { loadFlowsFile, type FlowDefinition } from "./flows.js";
export { BUILTIN_FLOWS, DEMO_FLOW_REF } from "./builtin-flows.js";
export { LIST_PRICES, type ModelPrice } from "./pricing.js";
