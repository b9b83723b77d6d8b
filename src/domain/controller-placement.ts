// Where a `runsOn: controller` op runs in a rollout of several waves (see CORE-008, "Controller
// ops in a rollout"). It runs once per run, so it belongs to one wave: an op that comes before
// every host op belongs to the first (a build the canary and every batch then use), one that
// comes after every host op to the last (a report once every batch is done). One between host
// ops has no such wave, and a rollout of several waves refuses it.

export type ControllerPlacement = 'first' | 'last' | 'between';

/** `onController[i]`: whether stage i's op runs on the controller. */
export function controllerPlacement(onController: readonly boolean[], stage: number): ControllerPlacement {
  if (!onController.slice(0, stage).includes(false)) return 'first';
  if (!onController.slice(stage + 1).includes(false)) return 'last';
  return 'between';
}

/** The first controller op placed between host ops, if any. */
export function controllerOpBetweenHostOps(onController: readonly boolean[]): number | undefined {
  const stage = onController.findIndex((c, i) => c && controllerPlacement(onController, i) === 'between');
  return stage < 0 ? undefined : stage;
}
