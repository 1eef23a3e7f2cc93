// Small building blocks: icons, cards, stats, badges, empty and loading states, drawer, segmented control.

import type { ComponentChildren, JSX } from "preact";
import { useEffect } from "preact/hooks";
import { riskLevel, type RiskLevel } from "../lib/risk";

const ICONS: Record<string, string> = {
  radar: "M12 12 19 5M12 3a9 9 0 1 0 9 9M12 7a5 5 0 1 0 5 5",
  map: "M9 4 3 6v14l6-2 6 2 6-2V4l-6 2-6-2Zm0 0v14m6-12v14",
  list: "M4 6h16M4 12h16M4 18h16",
  chart: "M4 19V5m0 14h16M8 15l3-4 3 2 5-6",
  layers: "m12 3 9 5-9 5-9-5 9-5Zm-9 9 9 5 9-5M3 16l9 5 9-5",
  users: "M3 20v-1a6 6 0 0 1 12 0v1M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8Zm8 9v-1a5 5 0 0 0-3-4.6M15 3.3a4 4 0 0 1 0 7.4",
  globe: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Zm-9-9h18M12 3c2.5 2.5 3.5 5.5 3.5 9s-1 6.5-3.5 9c-2.5-2.5-3.5-5.5-3.5-9s1-6.5 3.5-9Z",
  eye: "M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12Zm10 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6Z",
  plug: "M9 2v6m6-6v6M6 8h12v4a6 6 0 0 1-12 0V8Zm6 10v4",
  cpu: "M7 7h10v10H7zM9 2v3m6-3v3M9 19v3m6-3v3M2 9h3m-3 6h3m14-6h3m-3 6h3",
  bell: "M6 16V11a6 6 0 1 1 12 0v5l2 2H4l2-2Zm4 4h4",
  server: "M4 4h16v6H4zM4 14h16v6H4zM8 7h.01M8 17h.01",
  sun: "M12 17a5 5 0 1 0 0-10 5 5 0 0 0 0 10ZM12 1v2m0 18v2M4.2 4.2l1.4 1.4m12.8 12.8 1.4 1.4M1 12h2m18 0h2M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4",
  moon: "M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8Z",
  logout: "M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4m7 14 5-5-5-5m5 5H9",
  pause: "M8 5v14M16 5v14",
  play: "m7 4 13 8-13 8V4Z",
  download: "M12 3v12m0 0-5-5m5 5 5-5M4 21h16",
  close: "M6 6l12 12M18 6 6 18",
  search: "m21 21-4.3-4.3M10.5 18a7.5 7.5 0 1 1 0-15 7.5 7.5 0 0 1 0 15Z",
  shield: "M12 3 4 6v6c0 5 3.5 8 8 9 4.5-1 8-4 8-9V6l-8-3Z",
  dns: "M4 7h16M4 12h16M4 17h10M18 15l2 2-2 2",
  settings: "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm7.4-3a7.4 7.4 0 0 0-.1-1.2l2-1.6-2-3.4-2.4 1a7.5 7.5 0 0 0-2-1.2L14.5 3h-5l-.4 2.6a7.5 7.5 0 0 0-2 1.2l-2.4-1-2 3.4 2 1.6a7.4 7.4 0 0 0 0 2.4l-2 1.6 2 3.4 2.4-1a7.5 7.5 0 0 0 2 1.2l.4 2.6h5l.4-2.6a7.5 7.5 0 0 0 2-1.2l2.4 1 2-3.4-2-1.6c.1-.4.1-.8.1-1.2Z",
  check: "m5 12 5 5L20 7",
  refresh: "M20 11A8 8 0 0 0 5.3 6.3L3 9m0-6v6h6m-5 4a8 8 0 0 0 14.7 4.7L21 15m0 6v-6h-6",
};

export function Icon({ name, size = 16 }: { name: string; size?: number }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d={ICONS[name] ?? ICONS.list} />
    </svg>
  );
}

export function Card(props: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; pad?: boolean; testid?: string }) {
  return (
    <section class={`card ${props.class ?? ""}`} data-testid={props.testid}>
      {(props.title || props.actions) && (
        <header class="card-head">
          <h3>{props.title}</h3>
          <div class="card-actions">{props.actions}</div>
        </header>
      )}
      <div class={props.pad === false ? "card-body flush" : "card-body"}>{props.children}</div>
    </section>
  );
}

export function Stat(props: { label: string; value: ComponentChildren; hint?: ComponentChildren; tone?: string; testid?: string }) {
  return (
    <div class={`stat ${props.tone ? `tone-${props.tone}` : ""}`} data-testid={props.testid}>
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.hint != null && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function RiskBadge({ score, label }: { score: number; label?: string }) {
  const level = riskLevel(score);
  return <span class={`badge risk-${level}`} title={`risk ${score}/100`}>{label ?? `${level} ${score}`}</span>;
}

export function LevelBadge({ level }: { level: string }) {
  const known: Record<string, RiskLevel> = { info: "low", low: "low", medium: "medium", high: "high", critical: "critical" };
  return <span class={`badge risk-${known[level] ?? "low"}`}>{level}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

export function Tag({ children, tone }: { children: ComponentChildren; tone?: string }) {
  return <span class={`tag ${tone ? `tag-${tone}` : ""}`}>{children}</span>;
}

export function Empty(props: { icon?: string; title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      <Icon name={props.icon ?? "radar"} size={28} />
      <div class="empty-title">{props.title}</div>
      {props.children && <div class="empty-text">{props.children}</div>}
    </div>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div class="loading" role="status" data-testid="loading">
      <span class="spinner" />
      <span>{label}…</span>
    </div>
  );
}

export function ErrorNote({ error, onRetry }: { error: string; onRetry?: () => void }) {
  return (
    <div class="error-note" role="alert">
      <span>{error}</span>
      {onRetry && (
        <button class="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Segmented<T extends string>(props: { value: T; options: { value: T; label: string }[]; onChange: (v: T) => void; label?: string }) {
  return (
    <div class="segmented" role="group" aria-label={props.label}>
      {props.options.map((o) => (
        <button type="button" class={o.value === props.value ? "active" : ""} aria-pressed={o.value === props.value} onClick={() => props.onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function Drawer(props: { title: ComponentChildren; subtitle?: ComponentChildren; onClose: () => void; children: ComponentChildren; testid?: string }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && props.onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [props.onClose]);
  return (
    <aside class="drawer" data-testid={props.testid ?? "drawer"}>
      <header class="drawer-head">
        <div>
          <h2>{props.title}</h2>
          {props.subtitle && <div class="drawer-sub">{props.subtitle}</div>}
        </div>
        <button class="icon-btn" onClick={props.onClose} aria-label="Close" title="Close (Esc)">
          <Icon name="close" />
        </button>
      </header>
      <div class="drawer-body">{props.children}</div>
    </aside>
  );
}

/** A definition list of label/value pairs. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items
        .filter(([, v]) => v !== null && v !== undefined && v !== "" && v !== false)
        .map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
    </dl>
  );
}

export function PageHead(props: { title: string; subtitle?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p class="page-sub">{props.subtitle}</p>}
      </div>
      <div class="page-tools">{props.children}</div>
    </div>
  );
}

export function Meter({ value, tone }: { value: number; tone?: string }) {
  const v = Math.max(0, Math.min(100, value));
  const t = tone ?? (v >= 90 ? "critical" : v >= 75 ? "high" : v >= 50 ? "medium" : "low");
  return (
    <div class="meter" title={`${v.toFixed(0)}%`}>
      <div class={`meter-fill risk-bg-${t}`} style={{ width: `${v}%` }} />
    </div>
  );
}

export type Child = JSX.Element | string | number | null;
