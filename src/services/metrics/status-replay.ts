import type { StatusChange } from '../../db/resource-history.repository.ts';

/**
 * Replays status changes (oldest first after sorting) and calls `visit` at each instant with the
 * status every resource had then and since when. A `Deleted` event removes the resource.
 */
export function replayStatuses(
  changes: StatusChange[],
  times: Date[],
  visit: (statuses: Map<string, { status: string; since: Date }>, t: Date, index: number) => void,
) {
  const statuses = new Map<string, { status: string; since: Date }>();
  const ordered = [...changes].sort((a, b) => a.at.getTime() - b.at.getTime());
  let next = 0;
  times.forEach((t, index) => {
    while (next < ordered.length && (ordered[next] as StatusChange).at.getTime() <= t.getTime()) {
      const change = ordered[next++] as StatusChange;
      const current = statuses.get(change.resource_id);
      if (change.status === 'Deleted') statuses.delete(change.resource_id);
      else if (current?.status !== change.status)
        statuses.set(change.resource_id, { status: change.status, since: change.at });
    }
    visit(statuses, t, index);
  });
}
