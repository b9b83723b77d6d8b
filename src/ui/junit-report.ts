// `--junit FILE`: the run as JUnit XML so CI systems show it like a test run (see CORE-002):
// one testsuite per stage, one testcase per host. SUCCESS passes; ERROR, TIMEOUT, BLOCKED and
// ORPHANED are failures; SKIPPED and CANCELLED are skipped, with the reason. The shape is the
// common junit-4 schema (test/fixtures/junit/junit-4.xsd): `skipped` counts only on testsuites.

import { lastLines } from '../domain/terminal-text.js';
import type { RunView } from './run-view.js';
import { type CommandView, commandsOfStage, isFailure, notRunReason, rollbackOfCommand } from './run-view.js';

const EXCERPT_LINES = 40;

export function junitXml(view: RunView): string {
  const seconds = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(3);
  const suites: string[] = [];
  let total = 0;
  let failures = 0;
  view.stages.forEach((op, stage) => {
    const ops = commandsOfStage(view, stage);
    // CORE-009: a rollback is its own testcase, `HOST rollback`, right after the op it undid.
    const commands = ops.flatMap((c) => {
      const rollback = rollbackOfCommand(view, c.commandId);
      return rollback ? [c, rollback] : [c];
    });
    // A rollback that did not succeed is a failure, even a killed one: the host needs a person.
    const failed = (c: CommandView) => isFailure(c.status) || (c.rollbackOf !== null && c.status !== 'SUCCESS');
    const cases = commands.map((c) => {
      const name = c.rollbackOf === null ? c.hostId : `${c.hostId} rollback`;
      const open = `    <testcase classname="${attr(`${view.target}.${op}`)}" name="${attr(name)}" time="${seconds(c.durationMs)}"`;
      if (failed(c)) {
        const message = c.error ?? c.status;
        const body = lastLines(c.tail, EXCERPT_LINES).join('\n');
        return `${open}>\n      <failure type="${c.status}" message="${attr(message)}">${text(body)}</failure>\n    </testcase>`;
      }
      if (c.status !== 'SUCCESS') {
        // CORE-008: a rollout's SKIPPED carries its own reason (budget exceeded, canary failed).
        return `${open}>\n      <skipped message="${attr(`${c.status}: ${notRunReason(view, c)}`)}"/>\n    </testcase>`;
      }
      return `${open}/>`;
    });
    const suiteFailures = commands.filter(failed).length;
    const suiteSkipped = commands.filter((c) => !failed(c) && c.status !== 'SUCCESS').length;
    const time = commands.reduce((sum, c) => sum + (c.durationMs ?? 0), 0);
    total += commands.length;
    failures += suiteFailures;
    suites.push(
      `  <testsuite name="${attr(`${stage + 1}. ${op}`)}" tests="${commands.length}" failures="${suiteFailures}" errors="0" skipped="${suiteSkipped}" time="${seconds(time)}">\n${cases.join('\n')}${cases.length ? '\n' : ''}  </testsuite>`,
    );
  });
  const elapsed = view.finishedAt !== null ? view.finishedAt - view.startedAt : null;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`nixfleet ${view.target} (${view.runId}) ${view.status}`)}" tests="${total}" failures="${failures}" errors="0" time="${seconds(elapsed)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

// XML 1.0 forbids most control characters even when escaped; drop them.
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

function text(value: string): string {
  return value.replace(INVALID_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;');
}
