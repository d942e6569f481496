// Every keyboard shortcut in one table: the key handler dispatches from it and the "?"
// overlay lists it, so the two never disagree.

export const SHORTCUTS = [
  { group: 'Verdict', keys: ['t'], action: 'threat', text: 'Confirm a threat (with any boxes you drew)' },
  { group: 'Verdict', keys: ['c'], action: 'clear', text: 'Clear the parcel' },
  { group: 'Verdict', keys: ['d'], action: 'draw', text: 'Draw a box around a missed object, then name its class' },
  { group: 'Verdict', keys: ['u'], action: 'undo', text: 'Remove the last box you drew' },
  { group: 'Queue', keys: ['n', 'j'], action: 'next', text: 'Next parcel' },
  { group: 'Queue', keys: ['p', 'k'], action: 'previous', text: 'Previous parcel' },
  { group: 'Boxes', keys: ['b'], action: 'boxes', text: 'All boxes on or off' },
  { group: 'Boxes', keys: ['1', '2', '3', '4'], action: 'class', text: 'One class on or off (in the order of the buttons; while naming a drawn box: its class)' },
  { group: 'Image', keys: ['i'], action: 'negative', text: 'Negative' },
  { group: 'Image', keys: ['o'], action: 'organic', text: 'Organic only (orange)' },
  { group: 'Image', keys: ['g'], action: 'inorganic', text: 'Inorganic only (green)' },
  { group: 'Image', keys: ['m'], action: 'metal', text: 'Metal only (blue and dense)' },
  { group: 'Image', keys: ['e'], action: 'edges', text: 'Edge enhancement' },
  { group: 'Image', keys: ['h'], action: 'dense', text: 'High-density alert: outline what the X-ray cannot see through' },
  { group: 'Image', keys: ['[', ']'], action: 'contrast', text: 'Contrast down, up' },
  { group: 'Image', keys: [',', '.'], action: 'brightness', text: 'Brightness down, up' },
  { group: 'Image', keys: ['r'], action: 'reset', text: 'Reset the image tools' },
  { group: 'View', keys: ['+', '-'], action: 'zoom', text: 'Zoom in, out (or the mouse wheel)' },
  { group: 'View', keys: ['0'], action: 'fit', text: 'Fit the scan (or double-click)' },
  { group: 'View', keys: ['←', '↑', '→', '↓'], action: 'pan', text: 'Pan (or drag; Shift: further)' },
  { group: 'Help', keys: ['?'], action: 'help', text: 'These shortcuts' },
  { group: 'Help', keys: ['Esc'], action: 'escape', text: 'Close, or stop drawing' },
];

const ARROWS = { ArrowLeft: '←', ArrowUp: '↑', ArrowRight: '→', ArrowDown: '↓' };
const ALIASES = { '=': '+', Escape: 'Esc', ...ARROWS };

/** The shortcut of a keydown event: ``{action, key, index}`` or null. */
export function shortcutOf(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const key = ALIASES[event.key] || event.key;
  for (const shortcut of SHORTCUTS) {
    const index = shortcut.keys.indexOf(key);
    if (index >= 0) return { action: shortcut.action, key, index };
  }
  return null;
}

/** Fill the help overlay's body from the table. */
export function renderHelp(container) {
  const groups = new Map();
  for (const shortcut of SHORTCUTS) {
    if (!groups.has(shortcut.group)) groups.set(shortcut.group, []);
    groups.get(shortcut.group).push(shortcut);
  }
  const sections = [...groups].map(([group, shortcuts]) => {
    const section = document.createElement('section');
    const heading = document.createElement('h3');
    heading.textContent = group;
    const list = document.createElement('dl');
    for (const shortcut of shortcuts) {
      const keys = document.createElement('dt');
      for (const key of shortcut.keys) {
        const kbd = document.createElement('kbd');
        kbd.textContent = key;
        keys.append(kbd, ' ');
      }
      const text = document.createElement('dd');
      text.textContent = shortcut.text;
      text.dataset.action = shortcut.action;
      list.append(keys, text);
    }
    section.append(heading, list);
    return section;
  });
  container.replaceChildren(...sections);
}
