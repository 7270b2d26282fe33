// Placeholder until the command lands: says so instead of pretending.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('tidepool: this command is not built yet\n');
  return 1;
}
