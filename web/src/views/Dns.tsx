import { useMemo, useState } from "preact/hooks";
import { rangeParams, useApi, useApp, useFeed } from "../app/store";
import { DataTable, type TableColumn } from "../components/DataTable";
import { ErrorNote, PageHead, Segmented, Stat, Tag } from "../components/ui";
import * as fmt from "../lib/format";
import { names, type Question, type ServerName } from "../lib/aggregate";
import type { FlowPage, FlowRow } from "../types";

const qCols: TableColumn<Question>[] = [
  { key: "name", label: "Question", width: 2.4 },
  { key: "types", label: "Types", px: 90 },
  { key: "count", label: "Asked", numeric: true, px: 70 },
  { key: "rcodes", label: "Answer code", px: 110, render: (q) => q.rcodes.map((c) => <Tag tone={c === "NOERROR" ? undefined : "high"}>{c}</Tag>) },
  { key: "answers", label: "Answers", width: 2 },
  { key: "clients", label: "Clients", width: 1 },
  { key: "lastSeen", label: "Last", numeric: true, px: 86, text: (q) => fmt.time(q.lastSeen), noSearch: true },
];
const sCols: TableColumn<ServerName>[] = [
  { key: "name", label: "Server name", width: 2.4 },
  { key: "sources", label: "From", px: 80, render: (s) => s.sources.map((x) => <Tag>{x}</Tag>) },
  { key: "processes", label: "Processes", width: 1 },
  { key: "addresses", label: "Addresses", width: 1.4 },
  { key: "flows", label: "Flows", numeric: true, px: 70 },
  { key: "bytes", label: "Bytes", numeric: true, px: 86, text: (s) => fmt.bytes(s.bytes) },
  { key: "lastSeen", label: "Last", numeric: true, px: 86, text: (s) => fmt.time(s.lastSeen), noSearch: true },
];

export function Dns() {
  const app = useApp();
  const feed = useFeed(2000);
  const [tab, setTab] = useState<"servers" | "questions">("servers");
  const dns = useApi<FlowPage>("/flows", () => ({ ...rangeParams(), app: "dns", limit: 1000, sort: "-ts_last" }), [app.range.key, app.host], 10_000);
  const recent = useApi<FlowPage>("/flows", () => ({ ...rangeParams(), limit: 1000, sort: "-ts_last" }), [app.range.key, app.host], 10_000);
  const data = useMemo(() => {
    const byUid = new Map<string, FlowRow>();
    for (const r of [...(dns.data?.items ?? []), ...(recent.data?.items ?? [])]) byUid.set(r.uid, r);
    for (const f of feed.flows.values()) if (f.row && (!app.host || f.host === app.host)) byUid.set(f.uid, f.row);
    return names([...byUid.values()]);
  }, [dns.data, recent.data, feed.version, app.host]);
  const nx = data.questions.filter((q) => q.rcodes.includes("NXDOMAIN")).length;
  return (
    <div class="view">
      <PageHead title="DNS and server names" subtitle="The names behind the addresses: DNS questions and answers, TLS/QUIC server names and HTTP hosts.">
        <Segmented
          label="Table"
          value={tab}
          options={[
            { value: "servers", label: `Server names (${data.servers.length})` },
            { value: "questions", label: `DNS questions (${data.questions.length})` },
          ]}
          onChange={setTab}
        />
      </PageHead>
      {(dns.error || recent.error) && <ErrorNote error={(dns.error ?? recent.error)!} onRetry={() => (dns.reload(), recent.reload())} />}
      <div class="stat-row">
        <Stat label="Server names" value={fmt.count(data.servers.length)} testid="stat-names" />
        <Stat label="DNS questions" value={fmt.count(data.questions.length)} />
        <Stat label="Unanswered (NXDOMAIN)" value={fmt.count(nx)} tone={nx > 20 ? "high" : undefined} hint="many: a typo, a blocker or generated domains" />
        <Stat label="TLS / QUIC names" value={fmt.count(data.servers.filter((s) => s.sources.includes("sni") || s.sources.includes("quic")).length)} />
      </div>
      <div class="fill-card card">
        {tab === "servers" ? (
          <DataTable name="Server names" testid="names-table" columns={sCols} rows={data.servers} rowKey={(s) => s.name} sort={{ key: "lastSeen", dir: "desc" }} loading={recent.loading} emptyTitle="No server name yet" emptyText="TLS and QUIC server names and HTTP hosts appear as flows end." />
        ) : (
          <DataTable name="DNS questions" testid="questions-table" columns={qCols} rows={data.questions} rowKey={(q) => q.name} sort={{ key: "count", dir: "desc" }} loading={dns.loading} emptyTitle="No DNS question yet" />
        )}
      </div>
    </div>
  );
}
