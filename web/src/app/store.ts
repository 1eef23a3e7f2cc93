// Application state shared by the views: who is logged in, theme, host filter, time range, site
// location, and the live feed state (lib/feed.ts) with its WebSocket. Views subscribe with hooks.

import { useEffect, useRef, useState } from "preact/hooks";
import { applyEvent, applyRows, createFeed, mergeAlert, undetailed, type FeedState } from "../lib/feed";
import { siteLocation, type LatLon } from "../lib/geo";
import type { AlertPage, FlowPage, Me } from "../types";
import { api, ApiError, type Params } from "./api";
import { LiveFeed, type LiveStatus } from "./live";

export type Theme = "dark" | "light";

export interface RangeChoice {
  key: string;
  label: string;
  seconds: number;
  step: number;
}

export const RANGES: RangeChoice[] = [
  { key: "15m", label: "15 min", seconds: 900, step: 60 },
  { key: "1h", label: "1 hour", seconds: 3600, step: 60 },
  { key: "6h", label: "6 hours", seconds: 6 * 3600, step: 300 },
  { key: "24h", label: "24 hours", seconds: 86400, step: 900 },
  { key: "7d", label: "7 days", seconds: 7 * 86400, step: 3600 },
  { key: "all", label: "All time", seconds: 0, step: 86400 },
];

export interface AppState {
  me: Me | null;
  checked: boolean;
  theme: Theme;
  host: string | null;
  range: RangeChoice;
  site: (LatLon & { source: string }) | null;
  live: LiveStatus;
  liveDetail?: string;
}

const stored = (k: string): string | null => {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
};
const save = (k: string, v: string | null): void => {
  try {
    if (v == null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
  } catch {
    /* private mode */
  }
};

const prefersLight = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: light)").matches;

export const state: AppState = {
  me: null,
  checked: false,
  theme: (stored("flowradar.theme") as Theme | null) ?? (prefersLight ? "light" : "dark"),
  host: null,
  range: RANGES.find((r) => r.key === stored("flowradar.range")) ?? RANGES[1],
  site: siteLocation(stored("flowradar.site"), Intl.DateTimeFormat().resolvedOptions().timeZone),
  live: "connecting",
};

export const feed: FeedState = createFeed();

const listeners = new Set<() => void>();
let version = 0;

export function update(patch: Partial<AppState>): void {
  Object.assign(state, patch);
  version++;
  for (const l of listeners) l();
}

/** Re-render when the app state changes. */
export function useApp(): AppState {
  const [, set] = useState(0);
  useEffect(() => {
    const l = () => set((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return state;
}

// ------------------------------------------------------------------ live feed

const feedListeners = new Set<() => void>();

function feedChanged(): void {
  for (const l of feedListeners) l();
}

/** Re-render when the feed changes, at most every `everyMs` (unless paused). */
export function useFeed(everyMs = 500, paused = false): FeedState {
  const [, set] = useState(0);
  const last = useRef(0);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (paused) return;
    const l = () => {
      const now = performance.now();
      const wait = everyMs - (now - last.current);
      if (wait <= 0) {
        last.current = now;
        set((n) => n + 1);
      } else if (timer.current === undefined) {
        timer.current = window.setTimeout(() => {
          timer.current = undefined;
          last.current = performance.now();
          set((n) => n + 1);
        }, wait);
      }
    };
    feedListeners.add(l);
    set((n) => n + 1);
    return () => {
      feedListeners.delete(l);
      window.clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [everyMs, paused]);
  return feed;
}

let live: LiveFeed | null = null;
let detailTimer: number | undefined;
let detailBusy = false;
const detailTries = new Map<string, number>();

/** Fetch the stored rows (enrichment: ASN, location, domain, risk) of live flows that lack them. */
async function fetchDetails(): Promise<void> {
  detailTimer = undefined;
  if (detailBusy) return scheduleDetails(500);
  const pending = undetailed(feed, 1000).filter((f) => (detailTries.get(f.uid) ?? 0) < 3);
  if (!pending.length) return;
  detailBusy = true;
  try {
    const start = Math.min(...pending.map((f) => f.ts_first)) - 1;
    const page = await api<FlowPage>("/flows", { params: { start, limit: 1000, sort: "-ts_first" } });
    for (const f of pending) detailTries.set(f.uid, (detailTries.get(f.uid) ?? 0) + 1);
    if (detailTries.size > 50_000) detailTries.clear();
    const wanted = new Set(pending.map((f) => f.uid));
    applyRows(
      feed,
      page.items.filter((r) => wanted.has(r.uid)),
      Date.now(),
    );
    feedChanged();
  } catch {
    /* retried with the next event */
  } finally {
    detailBusy = false;
  }
  if (undetailed(feed, 1000).some((f) => (detailTries.get(f.uid) ?? 0) < 3)) scheduleDetails(1500);
}

function scheduleDetails(ms = 250): void {
  if (detailTimer === undefined) detailTimer = window.setTimeout(() => void fetchDetails(), ms);
}

/** Load recent history (flows, alerts) and open the live feed. */
export async function startLive(): Promise<void> {
  live?.stop();
  live = new LiveFeed({
    onEvents: (batch) => {
      let flows = false;
      for (const { ev, at } of batch) {
        applyEvent(feed, ev, at);
        flows ||= ev.type === "flows";
      }
      if (flows) scheduleDetails();
      feedChanged();
    },
    onStatus: (s, detail) => {
      update({ live: s, liveDetail: detail });
      if (s === "unauthorized") update({ me: null });
    },
  });
  live.start();
  try {
    const [flows, alerts] = await Promise.all([
      api<FlowPage>("/flows", { params: { limit: 1000, sort: "-ts_last" } }),
      api<AlertPage>("/alerts", { params: { limit: 500 } }),
    ]);
    applyRows(feed, flows.items.slice().reverse(), Date.now());
    for (const a of alerts.items.slice().reverse()) mergeAlert(feed, a);
    feed.version++;
    feedChanged();
  } catch {
    /* views show their own errors */
  }
}

export function stopLive(): void {
  live?.stop();
  live = null;
}

// ------------------------------------------------------------------ settings

export function setTheme(theme: Theme): void {
  save("flowradar.theme", theme);
  document.documentElement.dataset.theme = theme;
  update({ theme });
}

export function setRange(key: string): void {
  const range = RANGES.find((r) => r.key === key) ?? RANGES[1];
  save("flowradar.range", range.key);
  update({ range });
}

export function setSite(text: string | null): void {
  save("flowradar.site", text);
  update({ site: siteLocation(text, Intl.DateTimeFormat().resolvedOptions().timeZone) });
}

/** start/end of the chosen range (and the host filter) as query parameters. */
export function rangeParams(extra: Params = {}): Params {
  const end = Math.ceil(Date.now() / 1000) + 1;
  const start = state.range.seconds ? end - state.range.seconds : 1;
  return { start, end, host: state.host ?? undefined, ...extra };
}

// ------------------------------------------------------------------ data hook

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GET a path with parameters; refetch when `key` changes and every `refreshMs` (0: never).
 * Keeps the last data while reloading, so a refresh does not flash an empty state.
 */
export function useApi<T>(path: string | null, params: () => Params, key: unknown[], refreshMs = 0): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const paramsRef = useRef(params);
  paramsRef.current = params;
  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    api<T>(path, { params: paramsRef.current(), signal: ctl.signal })
      .then((d) => {
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if ((e as Error).name === "AbortError") return;
        setError(e instanceof ApiError ? e.message : String(e));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [path, tick, ...key]);
  useEffect(() => {
    if (!refreshMs) return;
    const t = window.setInterval(() => {
      if (document.visibilityState === "visible") setTick((n) => n + 1);
    }, refreshMs);
    return () => window.clearInterval(t);
  }, [refreshMs]);
  return { data, error, loading, reload: () => setTick((n) => n + 1) };
}
