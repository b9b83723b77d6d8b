// The journaled states of an armed rollback timer (see CORE-009): `armed` while the op runs,
// then `disarmed` (nixfleet confirmed success over a fresh connection), `fired` (the host's timer
// ran the rollback) or `unknown` (nixfleet could not learn which).

export const ARMED_STATES = ['armed', 'disarmed', 'fired', 'unknown'] as const;
export type ArmedState = (typeof ARMED_STATES)[number];
