/**
 * A test hook for the interruption tests: with LIFEBOAT_TEST_STOP_AT naming a point of the build (a stage id or a
 * step of the commit), the process stops itself there (SIGSTOP), so a test can deliver a signal at exactly that
 * point. Without the variable this does nothing.
 */
export async function stopHook(point: string): Promise<void> {
  const wanted = process.env.LIFEBOAT_TEST_STOP_AT;
  if (!wanted || wanted !== point || process.platform === 'win32') return;
  process.kill(process.pid, 'SIGSTOP');
  // give a signal sent while stopped the chance to be handled before going on
  await new Promise((r) => setTimeout(r, 50));
}
