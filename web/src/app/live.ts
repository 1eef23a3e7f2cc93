// The WebSocket live feed: connects, reconnects with backoff, and hands parsed events on in batches.

import type { LiveEvent } from "../types";

export type LiveStatus = "connecting" | "live" | "offline" | "unauthorized";

export interface LiveOptions {
  onEvents: (events: { ev: LiveEvent; at: number }[]) => void;
  onStatus: (s: LiveStatus, detail?: string) => void;
  url?: string;
}

export class LiveFeed {
  private ws: WebSocket | null = null;
  private backoff = 500;
  private timer: number | undefined;
  private stopped = false;
  private queue: { ev: LiveEvent; at: number }[] = [];
  private flushTimer: number | undefined;

  constructor(private readonly opts: LiveOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    window.clearTimeout(this.flushTimer);
    this.ws?.close();
    this.ws = null;
  }

  private url(): string {
    if (this.opts.url) return this.opts.url;
    const u = new URL("./api/v1/live", window.location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.toString();
  }

  private connect(): void {
    this.opts.onStatus("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      this.opts.onStatus("live");
    };
    ws.onmessage = (m) => {
      let ev: LiveEvent;
      try {
        ev = JSON.parse(String(m.data)) as LiveEvent;
      } catch {
        return;
      }
      if (!ev || typeof ev !== "object" || typeof (ev as { type?: unknown }).type !== "string") return;
      this.queue.push({ ev, at: Date.now() });
      // hand events on within 100 ms, in one batch (one render for a burst)
      if (this.flushTimer === undefined) this.flushTimer = window.setTimeout(() => this.flush(), 100);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.flush();
      if (this.stopped) return;
      if (e.code === 4401) {
        this.opts.onStatus("unauthorized", e.reason);
        return;
      }
      this.opts.onStatus("offline", e.reason || undefined);
      this.timer = window.setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10_000);
    };
  }

  private flush(): void {
    window.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    this.opts.onEvents(batch);
  }
}
