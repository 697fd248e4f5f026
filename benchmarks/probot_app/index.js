// The minimal Probot peer for benchmarks/bench_intake.py: Probot verifies and parses each
// delivery, then runs this no-op handler, the same work the App does with an empty router.
export default (app) => {
  app.on("workflow_run.completed", async () => {});
};
