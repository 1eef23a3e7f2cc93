import { useApi, useApp } from "../app/store";
import { DataTable, type TableColumn } from "../components/DataTable";
import { Card, ErrorNote, LevelBadge, PageHead, Stat, Tag } from "../components/ui";
import * as fmt from "../lib/format";
import type { ListeningPort } from "../types";

const RISK_ORDER: Record<string, number> = { low: 1, medium: 2, high: 3, critical: 4 };

const cols: TableColumn<ListeningPort>[] = [
  { key: "risk", label: "Risk", px: 90, value: (p) => RISK_ORDER[p.risk] ?? 0, text: (p) => p.risk, render: (p) => <LevelBadge level={p.risk} /> },
  { key: "port", label: "Port", numeric: true, px: 70 },
  { key: "transport", label: "Proto", px: 64 },
  { key: "address", label: "Address", width: 1, value: (p) => fmt.endpoint(p.address) },
  { key: "scope", label: "Exposure", px: 100, render: (p) => <Tag tone={p.scope === "all" ? "medium" : undefined}>{p.scope === "all" ? "all interfaces" : p.scope}</Tag> },
  { key: "service", label: "Service", width: 0.8 },
  { key: "process", label: "Process", width: 1, text: (p) => (p.process ? `${p.process}${p.pid ? ` (${p.pid})` : ""}` : "") },
  { key: "user", label: "User", px: 90 },
  { key: "risk_reason", label: "Why", width: 2 },
];

export function Ports() {
  const app = useApp();
  const data = useApi<ListeningPort[]>("/ports", () => ({ host: app.host ?? undefined }), [app.host], 10_000);
  const rows = data.data ?? [];
  const count = (r: string) => rows.filter((p) => p.risk === r).length;
  return (
    <div class="view">
      <PageHead title="Listening ports" subtitle="Services this host offers, who runs them, how far they are exposed, and the risk of each (the [ports] rules)." />
      {data.error && <ErrorNote error={data.error} onRetry={data.reload} />}
      <div class="stat-row">
        <Stat label="Listening" value={fmt.count(rows.length)} testid="stat-ports" />
        <Stat label="On all interfaces" value={fmt.count(rows.filter((p) => p.scope === "all").length)} hint="reachable from the network" />
        <Stat label="High risk" value={fmt.count(count("high") + count("critical"))} tone={count("high") + count("critical") ? "high" : undefined} />
        <Stat label="Medium risk" value={fmt.count(count("medium"))} tone={count("medium") ? "medium" : undefined} />
      </div>
      <Card pad={false} class="fill">
        <DataTable name="Listening ports" testid="ports-table" columns={cols} rows={rows} rowKey={(p) => `${p.transport}|${p.address}|${p.port}|${p.pid}`} sort={{ key: "risk", dir: "desc" }} loading={data.loading} emptyTitle="No listening socket reported" emptyText="Socket tables are polled every few seconds on each host." />
      </Card>
    </div>
  );
}
