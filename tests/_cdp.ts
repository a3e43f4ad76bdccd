/**
 * A headless Chromium driven over the DevTools protocol, for the HTML
 * report test: Deno's built-in WebSocket, no dependency.
 *
 * @module
 */

import { chromiumAdvice, chromiumInstalled, chromiumPath } from "../tools/ensure_chromium.ts";

/** Where the test looks for Chromium (Debian's `chromium` package, or `MMBISECT_CHROMIUM`). */
export const CHROMIUM: string = chromiumPath();

/** A DevTools protocol event. */
export interface CdpEvent {
  /** The event name, e.g. `Network.requestWillBeSent`. */
  method: string;
  /** Its parameters. */
  params: Record<string, unknown>;
  /** The session (page) it comes from. */
  sessionId?: string;
}

/** A running headless Chromium with one page attached. */
export interface Browser {
  /** Sends a command to the page and returns its result. */
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Evaluates an expression in the page and returns its value (awaiting promises). */
  evaluate<T>(expression: string): Promise<T>;
  /** Resolves with the first event of that name the page sends from now on. */
  next(method: string): Promise<CdpEvent>;
  /** Every event the page sent so far. */
  events: CdpEvent[];
  /** Closes the browser, waits for the process to end and removes its profile. */
  close(): Promise<void>;
}

/** Fails with a message that says how to install Chromium. */
export function requireChromium(): void {
  if (!chromiumInstalled(CHROMIUM)) throw new Error(chromiumAdvice(CHROMIUM));
}

async function waitFor<T>(what: string, ms: number, poll: () => T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = poll();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts headless Chromium with networking features off and a fresh
 * profile, connects to it and opens one blank page.
 *
 * @param opts The window size.
 * @returns The browser.
 */
export async function launch(opts: { width: number; height: number }): Promise<Browser> {
  requireChromium();
  const profile = Deno.makeTempDirSync({ prefix: "mmbisect-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--window-size=${opts.width},${opts.height}`,
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let ws: WebSocket | undefined;
  const closeAll = async () => {
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((r) => ws!.addEventListener("close", r, { once: true }));
      if (ws.readyState !== WebSocket.CLOSING) ws.close();
      await closed;
    }
    if (!exited) child.kill("SIGTERM");
    await status;
    await stderr;
    Deno.removeSync(profile, { recursive: true });
  };
  try {
    // Chromium writes the port it chose and the browser's path to this file.
    const active = await waitFor("DevToolsActivePort", 10_000, () => {
      if (exited) throw new Error(`Chromium exited at start`);
      try {
        const [port, path] = Deno.readTextFileSync(`${profile}/DevToolsActivePort`).split("\n");
        return port && path ? `ws://127.0.0.1:${port}${path}` : undefined;
      } catch {
        return undefined;
      }
    });
    ws = new WebSocket(active);
    await new Promise((resolve, reject) => {
      ws!.addEventListener("open", resolve, { once: true });
      ws!.addEventListener("error", () => reject(new Error(`Cannot connect to ${active}`)), {
        once: true,
      });
    });
    let id = 0;
    const pending = new Map<
      number,
      { resolve: (v: unknown) => void; reject: (e: Error) => void }
    >();
    const events: CdpEvent[] = [];
    const waiters: { method: string; resolve: (e: CdpEvent) => void }[] = [];
    ws.addEventListener("message", (m) => {
      const msg = JSON.parse(m.data as string);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${msg.error.message} (${msg.error.code})`));
        else p?.resolve(msg.result);
        return;
      }
      const ev = msg as CdpEvent;
      events.push(ev);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].method === ev.method) waiters.splice(i, 1)[0].resolve(ev);
      }
    });
    const raw = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve: (v) => resolve(v as Record<string, unknown>), reject });
        ws!.send(JSON.stringify({ id: n, method, params, ...(sessionId ? { sessionId } : {}) }));
      });
    const { targetId } = await raw("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await raw("Target.attachToTarget", { targetId, flatten: true });
    const send = (method: string, params: Record<string, unknown> = {}) =>
      raw(method, params, sessionId as string);
    return {
      send,
      events,
      next: (method) => new Promise((resolve) => waiters.push({ method, resolve })),
      async evaluate<T>(expression: string): Promise<T> {
        const r = await send("Runtime.evaluate", {
          expression,
          awaitPromise: true,
          returnByValue: true,
        });
        if (r.exceptionDetails) {
          throw new Error(`In the page: ${JSON.stringify(r.exceptionDetails)}`);
        }
        return (r.result as { value: T }).value;
      },
      async close() {
        try {
          await raw("Browser.close");
        } catch {
          // The browser may close the connection before it answers.
        }
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
