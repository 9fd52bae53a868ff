// Mocha's spec output, then the project's plain summary line, which is also
// written to .test-summary so .ci/run can print it last.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const line = `${runner.stats.passes} passed, ${runner.stats.failures} failed, ${runner.stats.pending} skipped`;
      fs.writeFileSync(path.join(process.cwd(), '.test-summary'), `${line}\n`);
      process.stdout.write(`${line}\n`);
    });
  }
}

module.exports = SummaryReporter;
