import { useState } from "preact/hooks";
import { rangeParams, useApi, useApp } from "../app/store";
import { DataTable } from "../components/DataTable";
import { EndpointDrawer } from "../components/Details";
import { Card, ErrorNote, PageHead, Segmented } from "../components/ui";
import * as fmt from "../lib/format";
import type { Aggregate } from "../types";
import { aggregateColumns, BarChart } from "./Aggregates";

type Tab = "remote" | "process" | "asn" | "domain" | "country" | "host";

const TABS: { value: Tab; label: string; path: string; params: Record<string, string | number>; key: string }[] = [
  { value: "remote", label: "Remote hosts", path: "/top-talkers", params: { by: "remote", n: 100 }, key: "Address" },
  { value: "process", label: "Processes", path: "/processes", params: { n: 100 }, key: "Process" },
  { value: "asn", label: "Networks", path: "/asns", params: { n: 100 }, key: "ASN" },
  { value: "domain", label: "Domains", path: "/domains", params: { n: 100 }, key: "Domain" },
  { value: "country", label: "Countries", path: "/countries", params: {}, key: "Country" },
  { value: "host", label: "Local hosts", path: "/top-talkers", params: { by: "host", n: 100 }, key: "Host" },
];

export function TopTalkers() {
  const app = useApp();
  const [tab, setTab] = useState<Tab>("remote");
  const [ip, setIp] = useState<string | null>(null);
  const t = TABS.find((x) => x.value === tab)!;
  const data = useApi<Aggregate[]>(t.path, () => rangeParams(t.params), [tab, app.range.key, app.host], 15_000);
  const label = (a: Aggregate) => (tab === "asn" ? fmt.asn(Number(a.key), a.label) : tab === "country" ? fmt.countryName(a.key) : a.label ? `${a.label} (${a.key})` : a.key);
  const cols = aggregateColumns(t.key, tab === "asn" ? (a) => `AS${a.key}` : tab === "country" ? (a) => `${a.key} ${fmt.countryName(a.key)}` : undefined).filter((c) => (tab === "process" ? true : c.key !== "host"));
  return (
    <div class="view">
      <PageHead title="Top talkers" subtitle={`Who moves the most bytes (${app.range.label.toLowerCase()}${app.host ? `, ${app.host}` : ""}).`}>
        <Segmented label="Group" value={tab} options={TABS.map((x) => ({ value: x.value, label: x.label }))} onChange={setTab} />
      </PageHead>
      {data.error && <ErrorNote error={data.error} onRetry={data.reload} />}
      <div class="grid-2 grow">
        <Card title={`Top ${t.label.toLowerCase()} by bytes`} testid="talkers-chart">
          <BarChart rows={data.data ?? []} label={label} height={420} />
        </Card>
        <Card title={t.label} pad={false}>
          <DataTable
            name={`Top ${t.label}`}
            testid="talkers-table"
            columns={cols}
            rows={data.data ?? []}
            rowKey={(a) => `${a.host ?? ""}|${a.key}`}
            sort={{ key: "bytes", dir: "desc" }}
            loading={data.loading}
            height={460}
            onRowClick={tab === "remote" ? (a) => setIp(a.key) : undefined}
            emptyTitle="No traffic in this range"
          />
        </Card>
      </div>
      {ip && <EndpointDrawer ip={ip} onClose={() => setIp(null)} />}
    </div>
  );
}
