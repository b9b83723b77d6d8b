// How a rollout's wave is named wherever it is shown (CORE-008): `canary` for batch 0, else
// `batch 2/4`.

export function waveName(batch: number, batches: number): string {
  return batch === 0 ? 'canary' : `batch ${batch}/${batches}`;
}
