import type { LabContainer, LabContainerStats } from '../../../src/labs/types.js';

/** What the provisioner reads of one sample of Docker's stats API. */
export interface DockerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  pids_stats?: { current?: number };
}

/** One container's sample as `docker stats` shows it: CPU in percent of one core, memory without reclaimable cache. */
export function containerStats(container: LabContainer, s: DockerStats): LabContainerStats {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus ?? 1;
  // As `docker stats` shows it: page cache the kernel can drop is not counted as used.
  const cache = s.memory_stats?.stats?.total_inactive_file ?? s.memory_stats?.stats?.inactive_file ?? 0;
  let rxBytes = 0;
  let txBytes = 0;
  for (const net of Object.values(s.networks ?? {})) {
    rxBytes += net.rx_bytes ?? 0;
    txBytes += net.tx_bytes ?? 0;
  }
  return {
    name: container.name,
    id: container.id ?? '',
    cpuPercent: cpuDelta > 0 && systemDelta > 0 ? Math.round((cpuDelta / systemDelta) * cpus * 10_000) / 100 : 0,
    memoryBytes: Math.max(0, (s.memory_stats?.usage ?? 0) - cache),
    memoryLimitBytes: s.memory_stats?.limit ?? 0,
    rxBytes,
    txBytes,
    pids: s.pids_stats?.current ?? 0,
  };
}

/** The endpoints of a network as `inspect()` reports them: name and IPv4 address (without the prefix). */
export function networkEndpoints(network: unknown): { name: string; ip: string | null }[] {
  const containers = (network as { Containers?: Record<string, { Name?: string; IPv4Address?: string }> } | null)?.Containers ?? {};
  return Object.values(containers).map((e) => ({ name: e.Name ?? '', ip: e.IPv4Address ? e.IPv4Address.split('/')[0]! : null }));
}
