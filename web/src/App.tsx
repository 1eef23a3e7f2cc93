import { useEffect, useState } from "preact/hooks";
import { api, cookie } from "./app/api";
import { RANGES, setRange, setTheme, startLive, state, stopLive, update, useApi, useApp, useFeed } from "./app/store";
import { Icon, Loading } from "./components/ui";
import * as fmt from "./lib/format";
import type { HostRow, Me } from "./types";
import { Alerts } from "./views/Alerts";
import { Bandwidth } from "./views/Bandwidth";
import { Connections } from "./views/Connections";
import { Dns } from "./views/Dns";
import { Hosts } from "./views/Hosts";
import { Login } from "./views/Login";
import { Ports } from "./views/Ports";
import { Privacy } from "./views/Privacy";
import { Protocols } from "./views/Protocols";
import { Radar } from "./views/Radar";
import { System } from "./views/System";
import { TopTalkers } from "./views/TopTalkers";
import { WorldMap } from "./views/WorldMap";

export interface Route {
  key: string;
  label: string;
  icon: string;
  view: () => preact.JSX.Element;
  group: string;
}

export const ROUTES: Route[] = [
  { key: "radar", label: "Radar", icon: "radar", view: Radar, group: "Live" },
  { key: "map", label: "World map", icon: "globe", view: WorldMap, group: "Live" },
  { key: "connections", label: "Connections", icon: "list", view: Connections, group: "Live" },
  { key: "bandwidth", label: "Bandwidth", icon: "chart", view: Bandwidth, group: "Traffic" },
  { key: "protocols", label: "Protocols & apps", icon: "layers", view: Protocols, group: "Traffic" },
  { key: "talkers", label: "Top talkers", icon: "users", view: TopTalkers, group: "Traffic" },
  { key: "dns", label: "DNS & names", icon: "dns", view: Dns, group: "Traffic" },
  { key: "privacy", label: "Trackers & privacy", icon: "eye", view: Privacy, group: "Security" },
  { key: "ports", label: "Listening ports", icon: "plug", view: Ports, group: "Security" },
  { key: "alerts", label: "Alerts", icon: "bell", view: Alerts, group: "Security" },
  { key: "system", label: "System", icon: "cpu", view: System, group: "Fleet" },
  { key: "hosts", label: "Hosts", icon: "server", view: Hosts, group: "Fleet" },
];

function currentRoute(): string {
  const key = window.location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return ROUTES.some((r) => r.key === key) ? key : "radar";
}

export function navigate(key: string): void {
  window.location.hash = `#/${key}`;
}

function LiveIndicator() {
  const app = useApp();
  const feed = useFeed(1000);
  const [, tick] = useState(0);
  useEffect(() => {
    const t = window.setInterval(() => tick((n) => n + 1), 1000);
    return () => window.clearInterval(t);
  }, []);
  const label = app.live === "live" ? "Live" : app.live === "connecting" ? "Connecting" : app.live === "unauthorized" ? "Signed out" : "Offline";
  const quiet = app.live === "live" && feed.lastEventAt > 0 && Date.now() - feed.lastEventAt > 15_000;
  return (
    <div class={`live-indicator live-${app.live}${quiet ? " quiet" : ""}`} data-testid="live-indicator" title={app.liveDetail ?? (feed.latency != null ? `server to browser: ${fmt.duration(feed.latency)}` : undefined)}>
      <span class="dot" />
      <span>{label}</span>
      {app.live === "live" && feed.latency != null && <span class="live-latency">{fmt.duration(feed.latency)}</span>}
      {feed.dropped > 0 && <span class="live-dropped" title="events dropped because the browser was too slow">−{fmt.count(feed.dropped, true)}</span>}
    </div>
  );
}

function HostPicker() {
  const app = useApp();
  const feed = useFeed(5000);
  const hosts = useApi<HostRow[]>("/hosts", () => ({}), [], 30_000);
  const names = new Set<string>([...(hosts.data ?? []).map((h) => h.name), ...feed.hosts.keys()]);
  if (app.host) names.add(app.host);
  return (
    <label class="select" title="Show one host of the fleet, or all">
      <Icon name="server" size={14} />
      <select value={app.host ?? ""} onChange={(e) => update({ host: (e.target as HTMLSelectElement).value || null })} aria-label="Host" data-testid="host-picker">
        <option value="">All hosts</option>
        {[...names].sort().map((n) => (
          <option value={n}>{n}</option>
        ))}
      </select>
    </label>
  );
}

function Shell() {
  const app = useApp();
  const feed = useFeed(2000);
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  const openAlerts = [...feed.alerts.values()].filter((a) => a.status === "open").length;
  const current = ROUTES.find((r) => r.key === route) ?? ROUTES[0];
  const View = current.view;
  const logout = async () => {
    try {
      await api("/auth/logout", { method: "POST" });
    } catch {
      /* the session may be gone already */
    }
    stopLive();
    update({ me: null });
  };
  let group = "";
  return (
    <div class="shell">
      <nav class="sidebar" aria-label="Views">
        <a class="brand" href="#/radar">
          <span class="brand-mark">
            <Icon name="radar" size={20} />
          </span>
          <span class="brand-name">flowradar</span>
        </a>
        <div class="nav-items">
          {ROUTES.map((r) => {
            const head = r.group !== group ? ((group = r.group), <div class="nav-group">{r.group}</div>) : null;
            return (
              <>
                {head}
                <a href={`#/${r.key}`} class={`nav-item ${r.key === route ? "active" : ""}`} data-testid={`nav-${r.key}`} aria-current={r.key === route ? "page" : undefined}>
                  <Icon name={r.icon} />
                  <span>{r.label}</span>
                  {r.key === "alerts" && openAlerts > 0 && <span class="nav-count">{openAlerts > 99 ? "99+" : openAlerts}</span>}
                </a>
              </>
            );
          })}
        </div>
        <div class="nav-foot">
          <div class="user-chip" data-testid="user-chip">
            <div class="avatar">{app.me?.name.slice(0, 1).toUpperCase()}</div>
            <div class="user-text">
              <div class="user-name">{app.me?.name}</div>
              <div class="user-role">{app.me?.role}</div>
            </div>
            <button class="icon-btn" onClick={logout} title="Sign out" aria-label="Sign out" data-testid="logout">
              <Icon name="logout" />
            </button>
          </div>
        </div>
      </nav>
      <div class="main">
        <header class="topbar">
          <div class="crumb">
            <Icon name={current.icon} />
            <span>{current.label}</span>
          </div>
          <div class="topbar-tools">
            <HostPicker />
            <label class="select" title="Time range of history and totals">
              <Icon name="chart" size={14} />
              <select value={app.range.key} onChange={(e) => setRange((e.target as HTMLSelectElement).value)} aria-label="Time range" data-testid="range-picker">
                {RANGES.map((r) => (
                  <option value={r.key}>{r.label}</option>
                ))}
              </select>
            </label>
            <LiveIndicator />
            <button class="icon-btn" onClick={() => setTheme(app.theme === "dark" ? "light" : "dark")} title={app.theme === "dark" ? "Light theme" : "Dark theme"} aria-label="Toggle theme" data-testid="theme-toggle">
              <Icon name={app.theme === "dark" ? "sun" : "moon"} />
            </button>
          </div>
        </header>
        <main class="content" data-view={route} key={`${route}`}>
          <View />
        </main>
      </div>
    </div>
  );
}

export function App() {
  const app = useApp();
  useEffect(() => {
    // without the CSRF cookie there is no session: go to the login page without a 401 round trip
    if (!cookie("flowradar_csrf")) {
      update({ me: null, checked: true });
      return;
    }
    api<Me>("/auth/me")
      .then((me) => {
        update({ me, checked: true });
        void startLive();
      })
      .catch(() => update({ me: null, checked: true }));
  }, []);
  if (!app.checked) return <Loading label="Starting" />;
  if (!app.me) return <Login />;
  return <Shell />;
}

export const isAdmin = (): boolean => state.me?.role === "admin";
