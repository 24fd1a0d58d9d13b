// @vitest-environment happy-dom
/**
 * The small components several panels share: the segmented choice (radio group or tab list) and
 * the modal dialog. Their markup is what the panels wrote by hand before, and so is what a click does.
 */
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import MaskTools from '../../../renderer/src/components/MaskTools.vue';
import ModalDialog from '../../../renderer/src/components/ModalDialog.vue';
import SegmentedChoice from '../../../renderer/src/components/SegmentedChoice.vue';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useMaskStore } from '../../../renderer/src/stores/mask';
import { useSessionStore } from '../../../renderer/src/stores/session';
import { useViewStore } from '../../../renderer/src/stores/view';
import { IMAGE, installFakeApi } from './fake-api';

beforeEach(() => {
  setActivePinia(createPinia());
  installFakeApi();
});

describe('segmented choice', () => {
  const props = { options: ['a', 'b', 'c'] as const, labels: { a: 'A', b: 'B', c: 'C' }, label: 'Pick', testid: 'pick', modelValue: 'b' as const };

  it('is a radio group with the chosen option checked', () => {
    const w = mount(SegmentedChoice, { props: { ...props, titles: { a: 'First' } } });
    const group = w.find('.segmented');
    expect([group.attributes('role'), group.attributes('aria-label'), group.classes('vertical')]).toEqual(['radiogroup', 'Pick', false]);
    const buttons = w.findAll('button');
    expect(buttons.map((b) => [b.attributes('role'), b.attributes('aria-checked'), b.classes('active'), b.attributes('data-testid'), b.text()])).toEqual([
      ['radio', 'false', false, 'pick-a', 'A'],
      ['radio', 'true', true, 'pick-b', 'B'],
      ['radio', 'false', false, 'pick-c', 'C'],
    ]);
    expect(buttons.map((b) => b.attributes('title'))).toEqual(['First', undefined, undefined]);
    expect(buttons.some((b) => b.attributes('aria-selected') !== undefined)).toBe(false);
  });

  it('emits the clicked option, the chosen one included', async () => {
    const w = mount(SegmentedChoice, { props });
    await w.find('[data-testid="pick-c"]').trigger('click');
    await w.find('[data-testid="pick-b"]').trigger('click');
    expect(w.emitted('update:modelValue')).toEqual([['c'], ['b']]);
  });

  it('disables all options or some', () => {
    const all = mount(SegmentedChoice, { props: { ...props, disabled: true } });
    expect(all.findAll('button').every((b) => b.attributes('disabled') !== undefined)).toBe(true);
    const some = mount(SegmentedChoice, { props: { ...props, disabled: (o: string) => o === 'c' } });
    expect(some.findAll('button').map((b) => b.attributes('disabled') !== undefined)).toEqual([false, false, true]);
  });

  it('is a tab list when it switches views, and a column when vertical', () => {
    const w = mount(SegmentedChoice, { props: { ...props, tabs: true, vertical: true } });
    expect([w.find('.segmented').attributes('role'), w.find('.segmented').classes('vertical')]).toEqual(['tablist', true]);
    expect(w.findAll('button').map((b) => [b.attributes('role'), b.attributes('aria-selected'), b.attributes('aria-checked')])).toEqual([
      ['tab', 'false', undefined],
      ['tab', 'true', undefined],
      ['tab', 'false', undefined],
    ]);
  });
});

describe('mask tools', () => {
  it('choosing the brush again goes back to the mask', async () => {
    useDocumentStore().show(IMAGE);
    const view = useViewStore();
    view.mode = 'compare';
    const w = mount(MaskTools);
    expect(useMaskStore().tool).toBe('brush');
    await w.find('[data-testid="tool-brush"]').trigger('click');
    expect(view.mode).toBe('edit');
    await w.find('[data-testid="tool-eraser"]').trigger('click');
    expect(useMaskStore().tool).toBe('eraser');
  });
});

describe('modal dialog', () => {
  it('titles the dialog box, passes attributes to it and closes from outside or Close', async () => {
    const session = useSessionStore();
    session.dialog = 'shortcuts';
    const w = mount(ModalDialog, {
      props: { title: 'Things', titleId: 'things-title' },
      attrs: { 'data-testid': 'things' },
      slots: { default: '<p class="body">Body</p>', actions: '<button type="button" class="extra">Extra</button>' },
    });
    const box = w.find('[role="dialog"]');
    expect([box.attributes('aria-modal'), box.attributes('aria-labelledby'), box.attributes('data-testid')]).toEqual(['true', 'things-title', 'things']);
    expect(w.find('.modal-backdrop').attributes('data-testid')).toBeUndefined();
    expect(w.find('h2#things-title').text()).toBe('Things');
    expect(w.findAll('.button-row.end button').map((b) => b.text())).toEqual(['Extra', 'Close']);
    await w.find('.body').trigger('click');
    expect(session.dialog).toBe('shortcuts');
    await w.find('.modal-backdrop').trigger('click');
    expect(session.dialog).toBe('none');
    session.dialog = 'devices';
    await w.find('button.primary').trigger('click');
    expect(session.dialog).toBe('none');
  });
});
