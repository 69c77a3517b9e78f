// Light or dark: the system's setting by default; the theme button overrides it (system → light →
// dark), remembered in this browser only (localStorage).
import { byId } from './dom.js';

const KEY = 'nch-theme';
const ORDER = ['system', 'light', 'dark'] as const;
type Theme = (typeof ORDER)[number];
const LABEL: Record<Theme, string> = { system: '◐ auto', light: '☀ light', dark: '☾ dark' };

function stored(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

function apply(t: Theme, button: HTMLElement): void {
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  button.textContent = LABEL[t];
  button.title = `Theme: ${t === 'system' ? 'follows the system' : t} (click to change)`;
}

export function installThemeButton(): void {
  const button = byId('theme');
  let theme = stored();
  apply(theme, button);
  button.addEventListener('click', () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length]!;
    try {
      if (theme === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, theme);
    } catch {
      // storage refused (private mode): the choice lasts for this page
    }
    apply(theme, button);
  });
}
