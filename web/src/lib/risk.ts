// One risk score per flow or endpoint, 0-100, from what the server's enrichers and detectors found.

export type RiskLevel = "low" | "medium" | "high" | "critical";

export const RISK_LEVELS: RiskLevel[] = ["low", "medium", "high", "critical"];

/** Colours of the risk levels (also used by the CSS badges). */
export const RISK_COLORS: Record<RiskLevel, string> = {
  low: "#22c55e",
  medium: "#eab308",
  high: "#f97316",
  critical: "#ef4444",
};

const SEVERITY_SCORE: Record<string, number> = { info: 10, low: 30, medium: 55, high: 80, critical: 95 };

export interface RiskFacts {
  privacy_score?: number | null;
  threat_level?: number | null;
  intel?: string[] | null;
  tracker?: string | null;
}

/** Risk of a flow: its privacy score, raised by threat intelligence (a listed endpoint is at least high). */
export function flowRisk(f: RiskFacts): number {
  let score = f.privacy_score ?? 0;
  const threat = f.threat_level ?? 0;
  if (threat > 0) score = Math.max(score, 50 + threat);
  if (f.intel && f.intel.length) score = Math.max(score, 81);
  if (f.tracker) score = Math.max(score, 21);
  return Math.max(0, Math.min(100, Math.round(score)));
}

/** Score of an alert severity (info 10 ... critical 95). */
export function severityScore(severity: string | null | undefined): number {
  return SEVERITY_SCORE[severity ?? ""] ?? 0;
}

/** Level of a score, as the privacy levels: 0-20 low, 21-50 medium, 51-80 high, 81-100 critical. */
export function riskLevel(score: number): RiskLevel {
  if (score <= 20) return "low";
  if (score <= 50) return "medium";
  if (score <= 80) return "high";
  return "critical";
}

export function riskColor(score: number): string {
  return RISK_COLORS[riskLevel(score)];
}
