/**
 * A worker of the pool (see `pool.ts`): everything it does is in
 * `serveUnits()`, which the type checker sees through `pool.ts`; this file
 * only wires it to the worker's message port.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { serveUnits, type ToWorker } from "./_unit.ts";

const handle = serveUnits((m) => self.postMessage(m));
self.onmessage = (e: MessageEvent<ToWorker>) => handle(e.data);
