/**
 * CPU time from Linux's /proc, for what `process.cpuUsage()` cannot see: the machine as a whole and
 * other processes (the Redis server, the Postgres backends). Figures are microseconds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Busy (not idle, not iowait) CPU time of the whole machine since boot, all cores summed. */
export function machineBusy(): number {
  // cpu  user nice system idle iowait irq softirq steal ...
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return (ticks.reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!) * MICROS_PER_TICK;
}

/** user + system CPU time of each of `pids` (0 for one that has exited), summed. */
export function processesCpu(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ...": comm may hold spaces and parentheses, so count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after "state".
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * MICROS_PER_TICK;
}

// --- internal ---

const MICROS_PER_TICK = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
