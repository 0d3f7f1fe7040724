export { startFakeUpstream } from './server.js';
export type { FakeUpstream, RecordedRequest } from './server.js';
export { BEHAVIOURS, DEFAULT_MODELS, isBehaviour } from './behaviour.js';
export type { Behaviour, FakeUpstreamOptions } from './behaviour.js';
export type { FakeEvent } from './events.js';
export { runFakeUpstreamCli, parseFakeUpstreamArgs, FAKE_UPSTREAM_USAGE } from './cli.js';
export type { CliParse } from './cli.js';
