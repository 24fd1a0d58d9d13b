/** Painting in the page as a person does: one diagonal stroke across the photo, pressed and dragged. */
import type { Page } from 'playwright-core';

export async function paintDiagonalStroke(page: Page): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = (await page.getByTestId('original').boundingBox())!;
  const at = (u: number): [number, number] => [box.x + box.width * u, box.y + box.height * (0.15 + 0.7 * u)];
  await page.mouse.move(...at(0.05));
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(...at(0.05 + (0.9 * i) / 12));
  await page.mouse.up();
  // Off the stroke, so that the brush cursor does not hide it.
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.85);
  return box;
}
