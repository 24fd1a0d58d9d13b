/**
 * The engine names its operators for the log and the CLI ("mask (88.9% observed)": the share of the
 * photo kept as it is). The status bar says the same in the person's terms: the share to restore,
 * which is what they painted.
 */
export function operatorText(name: string): string {
  return name.replace(/mask \((\d+(?:\.\d+)?)% observed\)/g, (_, observed: string) => `mask: ${Math.max(0, 100 - Number(observed)).toFixed(1)}% to restore`);
}
