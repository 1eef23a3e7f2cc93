// Detail drawers: one remote endpoint (its flows, processes, place, network and alerts), one flow.

import { useMemo } from "preact/hooks";
import { useApi, useFeed } from "../app/store";
import { alertsOf, flowsOf, toLiveFlow, type LiveFlow } from "../lib/feed";
import * as fmt from "../lib/format";
import type { AlertRow, FlowPage, FlowRow } from "../types";
import { DataTable, type TableColumn } from "./DataTable";
import { Drawer, Facts, LevelBadge, RiskBadge, StatusBadge, Tag } from "./ui";

export const flowColumns: TableColumn<LiveFlow>[] = [
  { key: "ts_last", label: "Last seen", numeric: true, px: 84, text: (f) => fmt.time(f.ts_last), noSearch: true },
  { key: "process", label: "Process", width: 1 },
  { key: "app", label: "App", px: 64 },
  { key: "local", label: "Local address", width: 1.2 },
  { key: "remotePort", label: "Port", numeric: true, px: 58 },
  { key: "bytes", label: "Bytes", numeric: true, px: 80, text: (f) => fmt.bytes(f.bytes), noSearch: true },
  { key: "risk", label: "Risk", numeric: true, px: 92, render: (f) => <RiskBadge score={f.risk} />, noSearch: true },
];

/** A stored row as a flow of the tables (the same normalisation as the live feed's). */
export function rowToLive(r: FlowRow): LiveFlow {
  return toLiveFlow(r, r.host ?? "", 0);
}


function AlertList({ alerts }: { alerts: AlertRow[] }) {
  if (!alerts.length) return <p class="muted small">No alert names this endpoint.</p>;
  return (
    <ul class="alert-mini">
      {alerts.slice(0, 20).map((a) => (
        <li>
          <a href={`#/alerts?uid=${encodeURIComponent(a.uid)}`}>
            <LevelBadge level={a.severity} /> <strong>{a.kind}</strong> <span class="muted">{a.message}</span>
          </a>
          <StatusBadge status={a.status} />
        </li>
      ))}
    </ul>
  );
}

export function EndpointDrawer({ ip, onClose, onFlow }: { ip: string; onClose: () => void; onFlow?: (f: LiveFlow) => void }) {
  const feed = useFeed(1000);
  const ep = feed.endpoints.get(ip);
  const stored = useApi<FlowPage>("/flows", () => ({ ip, limit: 200, sort: "-ts_last" }), [ip]);
  const flows = useMemo(() => {
    const live = flowsOf(feed, ip, 500);
    const seen = new Set(live.map((f) => f.uid));
    for (const r of stored.data?.items ?? []) if (!seen.has(r.uid)) live.push(rowToLive(r));
    return live.sort((a, b) => b.ts_last - a.ts_last);
  }, [feed.version, stored.data, ip]);
  const alerts = alertsOf(feed, ip);
  const first = flows[0];
  const name = ep?.name ?? first?.name ?? null;
  const country = ep?.country ?? first?.country ?? null;
  const asnNum = ep?.asn ?? first?.asn ?? null;
  const org = ep?.org ?? first?.org ?? null;
  const risk = Math.max(ep?.risk ?? 0, ...flows.map((f) => f.risk));
  const processes = [...new Set(flows.map((f) => f.process).filter(Boolean))] as string[];
  const apps = [...new Set(flows.map((f) => f.app).filter(Boolean))] as string[];
  const bytes = ep?.bytes ?? flows.reduce((s, f) => s + f.bytes, 0);
  return (
    <Drawer
      testid="endpoint-drawer"
      title={name ?? ip}
      subtitle={
        <>
          {name && <span class="mono">{ip}</span>} {country && <span>{fmt.countryName(country)}</span>} <RiskBadge score={risk} />
        </>
      }
      onClose={onClose}
    >
      <Facts
        items={[
          ["Address", <span class="mono">{ip}</span>],
          ["Name", name],
          ["Domain", ep?.domain ?? first?.domain],
          ["Where", ep?.internal ? "internal network" : [ep?.city ?? first?.city, country && fmt.countryName(country)].filter(Boolean).join(", ") || "unknown"],
          ["Network", asnNum != null || org ? fmt.asn(asnNum, org) : null],
          ["Processes", processes.length ? processes.map((p) => <Tag>{p}</Tag>) : "unknown"],
          ["Applications", apps.length ? apps.map((p) => <Tag>{p}</Tag>) : null],
          ["Ports", ep?.ports.length ? ep.ports.join(", ") : null],
          ["Traffic", `${fmt.bytes(bytes)} in ${fmt.count(ep?.flows ?? flows.length)} flows`],
          ["First seen", ep ? fmt.time(ep.firstSeen) : null],
          ["Last seen", ep ? `${fmt.time(ep.lastSeen)} (${fmt.ago(ep.lastSeen)})` : null],
          ["Tracker", ep?.tracker ?? first?.tracker],
          ["Threat lists", ep?.intel.length ? ep.intel.map((i) => <Tag tone="critical">{i}</Tag>) : null],
        ]}
      />
      <h4 class="section-title">Alerts</h4>
      <AlertList alerts={alerts} />
      <h4 class="section-title">Flows</h4>
      <DataTable name={`flows of ${ip}`} columns={flowColumns} rows={flows} rowKey={(f) => f.uid} sort={{ key: "ts_last", dir: "desc" }} height={300} loading={stored.loading} onRowClick={onFlow} emptyTitle="No flow in memory" noSearch />
    </Drawer>
  );
}

export function FlowDrawer({ flow, onClose }: { flow: LiveFlow; onClose: () => void }) {
  const r = flow.row;
  return (
    <Drawer testid="flow-drawer" title={flow.name ?? flow.remote} subtitle={<span class="mono">{flow.uid}</span>} onClose={onClose}>
      <Facts
        items={[
          ["Host", flow.host],
          ["Process", flow.process ? `${flow.process}${flow.pid ? ` (pid ${flow.pid})` : ""}` : "unknown"],
          ["Transport", flow.transport],
          ["From", <span class="mono">{fmt.endpoint(flow.src_ip, flow.src_port)}</span>],
          ["To", <span class="mono">{fmt.endpoint(flow.dst_ip, flow.dst_port)}</span>],
          ["Application", flow.app],
          ["Service", flow.service],
          ["Server name", flow.name],
          ["Domain", flow.domain],
          ["Direction", flow.direction],
          ["Country", flow.country ? `${fmt.countryName(flow.country)}${flow.city ? `, ${flow.city}` : ""}` : null],
          ["Network", flow.asn != null || flow.org ? fmt.asn(flow.asn, flow.org) : null],
          ["Started", fmt.time(flow.ts_first)],
          ["Duration", fmt.duration(flow.ts_last - flow.ts_first)],
          ["Bytes", `${fmt.bytes(flow.bytes)}${flow.bytesOut != null ? ` (↑ ${fmt.bytes(flow.bytesOut)} ↓ ${fmt.bytes(flow.bytesIn ?? 0)})` : ""}`],
          ["Packets", fmt.count(flow.packets)],
          ["Mean rate", fmt.bitrate(flow.rate)],
          ["Risk", <RiskBadge score={flow.risk} />],
          ["Privacy score", flow.privacy != null ? `${flow.privacy}/100` : null],
          ["Tracker", flow.tracker ? `${flow.tracker}${flow.trackerCategory ? ` (${flow.trackerCategory})` : ""}` : null],
          ["Threat lists", flow.intel.length ? flow.intel.join(", ") : null],
          ["TLS", r?.tls_version ? `${r.tls_version}${r.tls_alpn?.length ? ` · ${r.tls_alpn.join(", ")}` : ""}` : null],
          ["JA4", r?.tls_ja4 ? <span class="mono">{r.tls_ja4}</span> : null],
          ["HTTP", r?.http_method ? `${r.http_method} ${r.http_host ?? ""}${r.http_path ?? ""} → ${r.http_status ?? "?"}` : null],
          ["User agent", r?.http_user_agent],
          ["DNS", r?.dns_queries?.length ? `${r.dns_queries.join(", ")} (${r.dns_rcode ?? "?"})` : null],
          ["SSH", r?.ssh_client || r?.ssh_server ? `${r?.ssh_client ?? "?"} → ${r?.ssh_server ?? "?"}` : null],
          ["TCP", r?.history ? <span class="mono">{r.history} ({r.tcp_flags})</span> : null],
          ["Ended", r?.end_reason],
          ["Community ID", r?.community_id ? <span class="mono">{r.community_id}</span> : null],
        ]}
      />
    </Drawer>
  );
}
