// A spinner on stderr while a long call runs (billing a large grupo, a CNAB import), with the time
// it has taken; silent when stderr is not a terminal, so scripts and --json see only the result.
import ora from "ora";

export async function withSpinner<T>(text: string, work: () => Promise<T>, json: boolean): Promise<T> {
  const spinner = ora({ text, stream: process.stderr, isSilent: json || process.stderr.isTTY !== true });
  const started = Date.now();
  const ticker = setInterval(() => {
    spinner.text = `${text} (${Math.round((Date.now() - started) / 1000)} s)`;
  }, 1000);
  spinner.start();
  try {
    const result = await work();
    spinner.succeed(`${text}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (error) {
    spinner.fail(`${text}: failed`);
    throw error;
  } finally {
    clearInterval(ticker);
  }
}
